"""Data-augmentation transforms (AUG-1 ... AUG-23, spec/augmentation.md).

Every function is deterministic: the parameters a pipeline would draw at random are
explicit arguments. The geometric transforms (:func:`rotate`, :func:`translate`,
:func:`zoom`, :func:`shear`) build the clause's matrix (:func:`rotation_matrix`, ...)
and hand it to :func:`affine`, the one sampler (AUG-4), which has a per-pixel loop twin,
:func:`affine_definitional`, that the tests hold equal to it.

Every function takes a keyword-only ``variants=("name", ...)``: the named variants of
the clauses it implements (listed per clause in :data:`AUG_VARIANTS` and per function in
:data:`AUG_OP_VARIANTS`). The conformance runner recomputes the reference under each to
name the convention a library follows; ordinary callers leave it empty.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np

from ._errors import fail
from ._params import as_array, as_int

LAYOUTS = ("NCHW", "HWC")
INTERPOLATIONS = ("nearest", "bilinear")
FILL_MODES = ("constant", "nearest", "reflect", "wrap")
DEFAULT_EPS = 1e-6

#: Clause id -> the variant names its ``**Variants.**`` list defines (the tests hold the
#: two equal).
AUG_VARIANTS: dict[str, tuple[str, ...]] = {
    "AUG-2": ("truncate-to-uint8", "clip-unit-interval"),
    "AUG-3": ("integer-centres", "corner-pivot", "pivot-off-by-half"),
    "AUG-4": ("inverse-matrix", "yx-order"),
    "AUG-5": ("round-half-down", "round-half-even", "round-half-away"),
    "AUG-7": ("constant-outside-centres",),
    "AUG-9": ("reflect-101",),
    "AUG-11": ("radians", "turns"),
    "AUG-12": ("clockwise",),
    "AUG-13": ("inverse-translation",),
    "AUG-14": ("zoom-shrinks",),
    "AUG-15": ("clockwise", "shear-y", "shear-factor"),
    "AUG-18": ("additive-brightness",),
    "AUG-19": ("clip-to-input-range",),
    "AUG-20": ("zero-disables",),
    "AUG-21": ("per-pixel-statistics", "sample-std"),
    "AUG-22": ("epsilon-in-sqrt",),
    "AUG-23": ("sample-std", "epsilon-in-sqrt", "std-floor", "per-channel-samplewise"),
}

_V = AUG_VARIANTS
# What the sampler (AUG-4 ... AUG-10) understands; the pivots only matter to matrices.
_SAMPLING = _V["AUG-2"] + ("integer-centres",) + _V["AUG-5"] + _V["AUG-7"] + _V["AUG-9"]
_PIVOTS = ("corner-pivot", "pivot-off-by-half")

#: Function name -> the variant names it accepts.
AUG_OP_VARIANTS: dict[str, frozenset[str]] = {
    "affine": frozenset(_SAMPLING + _V["AUG-4"]),
    "affine_definitional": frozenset(_SAMPLING + _V["AUG-4"]),
    "rotate": frozenset(_SAMPLING + _PIVOTS + _V["AUG-11"] + _V["AUG-12"]),
    "translate": frozenset(_SAMPLING + _V["AUG-13"]),
    "zoom": frozenset(_SAMPLING + _PIVOTS + _V["AUG-14"]),
    "shear": frozenset(_SAMPLING + _PIVOTS + _V["AUG-11"] + _V["AUG-15"]),
    "hflip": frozenset(),
    "vflip": frozenset(),
    "rotation_matrix": frozenset(("integer-centres",) + _PIVOTS + _V["AUG-11"] + _V["AUG-12"]),
    "translation_matrix": frozenset(("integer-centres",) + _V["AUG-13"]),
    "zoom_matrix": frozenset(("integer-centres",) + _PIVOTS + _V["AUG-14"]),
    "shear_matrix": frozenset(("integer-centres",) + _PIVOTS + _V["AUG-11"] + _V["AUG-15"]),
    "hflip_matrix": frozenset(("integer-centres",)),
    "vflip_matrix": frozenset(("integer-centres",)),
    "adjust_brightness": frozenset(_V["AUG-2"] + _V["AUG-18"]),
    "channel_shift": frozenset(_V["AUG-2"] + _V["AUG-19"]),
    "rescale": frozenset(_V["AUG-20"]),
    "featurewise_fit": frozenset(_V["AUG-21"]),
    "featurewise_standardize": frozenset(_V["AUG-22"]),
    "samplewise_standardize": frozenset(_V["AUG-23"]),
}

# The clause whose number a bad ``variants`` argument of each function cites.
_OP_CLAUSE = {
    "affine": "AUG-4", "affine_definitional": "AUG-4", "rotate": "AUG-12",
    "translate": "AUG-13", "zoom": "AUG-14", "shear": "AUG-15", "hflip": "AUG-16",
    "vflip": "AUG-17", "rotation_matrix": "AUG-12", "translation_matrix": "AUG-13",
    "zoom_matrix": "AUG-14", "shear_matrix": "AUG-15", "hflip_matrix": "AUG-16",
    "vflip_matrix": "AUG-17", "adjust_brightness": "AUG-18", "channel_shift": "AUG-19",
    "rescale": "AUG-20", "featurewise_fit": "AUG-21", "featurewise_standardize": "AUG-22",
    "samplewise_standardize": "AUG-23",
}

# Variants that answer the same question differently, so at most one may be given.
_EXCLUSIVE: tuple[tuple[str, frozenset[str]], ...] = (
    ("AUG-3", frozenset(_PIVOTS)),
    ("AUG-5", frozenset(_V["AUG-5"])),
    ("AUG-11", frozenset(_V["AUG-11"])),
    ("AUG-15", frozenset({"shear-factor", "radians"})),
    ("AUG-15", frozenset({"shear-factor", "turns"})),
    ("AUG-23", frozenset({"std-floor", "epsilon-in-sqrt"})),
)


# --------------------------------------------------------------------------- parsing


def _variants(variants: Any, op: str) -> frozenset[str]:
    """The validated variant set of ``op`` (a bare string counts as one name)."""
    clause = _OP_CLAUSE[op]
    if isinstance(variants, str):
        names: tuple[Any, ...] = (variants,)
    else:
        try:
            names = tuple(variants)
        except TypeError:
            fail("variants", variants, clause, "must be a sequence of variant names")
    allowed = AUG_OP_VARIANTS[op]
    for name in names:
        if not isinstance(name, str) or name not in allowed:
            known = ", ".join(sorted(allowed)) or "none"
            fail("variants", name, clause, f"is not a variant of {op} (known: {known})")
    chosen = frozenset(names)
    for excl_clause, group in _EXCLUSIVE:
        both = sorted(chosen & group)
        if len(both) > 1:
            fail("variants", tuple(both), excl_clause, "exclude each other; give at most one")
    return chosen


def _batch(x: Any, layout: Any) -> tuple[np.ndarray, np.dtype]:
    """``x`` as a float64 NCHW view (AUG-1) and its original dtype."""
    if not isinstance(layout, str) or layout not in LAYOUTS:
        fail("layout", layout, "AUG-1", "must be 'NCHW' or 'HWC'")
    try:
        raw = np.asarray(x)
    except (ValueError, TypeError):
        # Ragged nested lists: report them ourselves rather than NumPy's message.
        fail("x", type(x).__name__, "AUG-1", "is not a rectangular array")
    arr = as_array(raw, "x")
    want = 4 if layout == "NCHW" else 3
    if arr.ndim != want:
        axes = "(N, C, H, W)" if layout == "NCHW" else "(H, W, C)"
        fail("x", raw, "AUG-1", f"must be {want}-D {axes} for layout={layout!r}, got {arr.ndim}-D")
    if 0 in arr.shape:
        fail("x", raw, "AUG-1", "every axis must be at least 1 long")
    x4 = arr if layout == "NCHW" else arr.transpose(2, 0, 1)[None]
    return x4, raw.dtype


def _finish(y4: np.ndarray, dtype: np.dtype, layout: str, variants: frozenset[str],
            value_preserving: bool) -> np.ndarray:
    """Output dtype, rounding and clipping (AUG-2), then back to ``layout``."""
    if value_preserving and dtype.kind in "iu":
        info = np.iinfo(dtype)
        lo, hi = float(info.min), float(info.max)
        # float(2**63 - 1) rounds up to 2**63, which would overflow the cast.
        if int(hi) > info.max:
            hi = float(np.nextafter(hi, -np.inf))
        y4 = np.clip(y4, lo, hi)
        y4 = np.trunc(y4) if "truncate-to-uint8" in variants else np.rint(y4)
        y4 = y4.astype(dtype)
    elif value_preserving and "clip-unit-interval" in variants:
        y4 = np.clip(y4, 0.0, 1.0)
    if layout == "HWC":
        y4 = y4[0].transpose(1, 2, 0)
    return np.ascontiguousarray(y4)


def _real(value: Any, name: str, clause: str) -> float:
    """A finite Python float from a real scalar; bools, strings and arrays are refused."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        fail(name, value, clause, "must be a real number")
    v = float(value)
    if not math.isfinite(v):
        fail(name, value, clause, "must be finite")
    return v


def _choice(value: Any, name: str, options: tuple[str, ...], clause: str) -> str:
    if not isinstance(value, str) or value not in options:
        fail(name, value, clause, "must be one of " + ", ".join(repr(o) for o in options))
    return value


def _size(h: Any, w: Any) -> tuple[int, int]:
    return as_int(h, "h", "AUG-1", 1), as_int(w, "w", "AUG-1", 1)


# ------------------------------------------------------------------------ matrices


def _offset(variants: frozenset[str]) -> float:
    """Coordinate of pixel 0's centre: 1/2, or 0 under ``integer-centres`` (AUG-3)."""
    return 0.0 if "integer-centres" in variants else 0.5


def _pivot(h: int, w: int, variants: frozenset[str]) -> tuple[float, float]:
    """The point rotation, zoom and shear act about (AUG-3)."""
    if "corner-pivot" in variants:
        return 0.0, 0.0
    o = _offset(variants)
    cx, cy = (w - 1) / 2 + o, (h - 1) / 2 + o
    if "pivot-off-by-half" in variants:
        cx, cy = cx + 0.5, cy + 0.5
    return cx, cy


def _about(a: float, b: float, d: float, e: float, c: tuple[float, float]) -> np.ndarray:
    """``T(c) · [[a, b], [d, e]] · T(-c)`` as a 3x3 matrix."""
    cx, cy = c
    return np.array([[a, b, cx - (a * cx + b * cy)],
                     [d, e, cy - (d * cx + e * cy)],
                     [0.0, 0.0, 1.0]])


def _turns(angle: Any, variants: frozenset[str]) -> float:
    """The angle as a fraction of a full turn (AUG-11)."""
    a = _real(angle, "angle", "AUG-11")
    if "radians" in variants:
        return a / (2 * math.pi)
    if "turns" in variants:
        return a
    return a / 360.0


def _cos_sin(turns: float) -> tuple[float, float]:
    """cos and sin of ``turns`` full turns, exact at quarter turns (AUG-11)."""
    r = turns % 1.0
    q = r * 4
    if q == math.floor(q):
        # cos(pi/2) is 6e-17 in floating point, enough to move a point off a tie.
        return ((1.0, 0.0), (0.0, 1.0), (-1.0, 0.0), (0.0, -1.0))[int(q) % 4]
    theta = 2 * math.pi * r
    return math.cos(theta), math.sin(theta)


def rotation_matrix(angle: Any, h: Any, w: Any, *, variants: Iterable[str] = ()) -> np.ndarray:
    """The 3x3 input-to-output matrix of a rotation by ``angle`` of an ``h × w`` image.

    Clauses: AUG-12 (rotation about the centre, positive = counter-clockwise as
    displayed), AUG-11 (degrees), AUG-3 (frame and pivot).

    Formula: ``T(c) · [[cos θ, sin θ, 0], [-sin θ, cos θ, 0], [0, 0, 1]] · T(-c)`` with
    ``c = (w/2, h/2)``; cos and sin are exact at multiples of 90°.

    Variants: ``clockwise`` (θ negated), ``radians``, ``turns``, ``integer-centres``,
    ``corner-pivot``, ``pivot-off-by-half``: the matrix in the frame they select.

    Raises :class:`SpecError` for a non-finite or non-real angle (AUG-11), non-positive
    sizes (AUG-1) and unknown variants (AUG-12).
    """
    v = _variants(variants, "rotation_matrix")
    return _rotation(angle, *_size(h, w), v)


def _rotation(angle: Any, h: int, w: int, v: frozenset[str]) -> np.ndarray:
    t = _turns(angle, v)
    if "clockwise" in v:
        t = -t
    cs, sn = _cos_sin(t)
    return _about(cs, sn, -sn, cs, _pivot(h, w, v))


def translation_matrix(tx: Any, ty: Any, h: Any, w: Any, *,
                       variants: Iterable[str] = ()) -> np.ndarray:
    """The 3x3 matrix of a translation by ``tx`` pixels right and ``ty`` down (AUG-13).

    Formula: ``[[1, 0, tx], [0, 1, ty], [0, 0, 1]]``, whatever the frame; ``h`` and ``w``
    are taken (and checked) only so that every matrix helper has the same signature.
    Variant ``inverse-translation`` negates the shift.

    Raises :class:`SpecError` for non-finite shifts (AUG-13).
    """
    v = _variants(variants, "translation_matrix")
    _size(h, w)
    return _translation(tx, ty, v)


def _translation(tx: Any, ty: Any, v: frozenset[str]) -> np.ndarray:
    dx, dy = _real(tx, "tx", "AUG-13"), _real(ty, "ty", "AUG-13")
    if "inverse-translation" in v:
        dx, dy = -dx, -dy
    return np.array([[1.0, 0.0, dx], [0.0, 1.0, dy], [0.0, 0.0, 1.0]])


def zoom_matrix(factor: Any, h: Any, w: Any, *, variants: Iterable[str] = ()) -> np.ndarray:
    """The 3x3 matrix of a zoom about the centre by ``factor`` (AUG-14, AUG-3).

    ``factor`` is a scalar or a pair ``(f_x, f_y)``; above 1 magnifies. Formula:
    ``T(c) · diag(f_x, f_y, 1) · T(-c)``. Variant ``zoom-shrinks`` uses ``1/f``; the
    frame and pivot variants of AUG-3 move ``c``.

    Raises :class:`SpecError` for a factor that is not finite and positive, or a sequence
    not of length 2 (AUG-14).
    """
    v = _variants(variants, "zoom_matrix")
    return _zoom(factor, *_size(h, w), v)


def _zoom(factor: Any, h: int, w: int, v: frozenset[str]) -> np.ndarray:
    if isinstance(factor, (tuple, list, np.ndarray)) and np.ndim(factor) == 1:
        if len(factor) != 2:
            fail("factor", factor, "AUG-14", "must be a number or a pair (f_x, f_y)")
        fx, fy = (_real(f, "factor", "AUG-14") for f in factor)
    else:
        fx = fy = _real(factor, "factor", "AUG-14")
    for f in (fx, fy):
        if f <= 0:
            fail("factor", factor, "AUG-14", "must be > 0 (a zoom of 0 or below is not a zoom)")
    if "zoom-shrinks" in v:
        fx, fy = 1.0 / fx, 1.0 / fy
    return _about(fx, 0.0, 0.0, fy, _pivot(h, w, v))


def shear_matrix(angle: Any, h: Any, w: Any, *, variants: Iterable[str] = ()) -> np.ndarray:
    """The 3x3 matrix of a shear along ``x`` by ``angle`` degrees about the centre (AUG-15).

    Formula: ``T(c) · [[1, tan φ, 0], [0, 1, 0], [0, 0, 1]] · T(-c)``: rows below the
    centre move right for a positive angle; tan is exact at multiples of 45°.

    Variants: ``clockwise`` (φ negated), ``shear-y`` (``[[1, 0], [-tan φ, 1]]``),
    ``shear-factor`` (the parameter is ``tan φ`` itself), the units of AUG-11 and the
    frame and pivot of AUG-3.

    Raises :class:`SpecError` for a non-finite angle (AUG-11) or one outside
    ``(-90°, 90°)`` (AUG-15).
    """
    v = _variants(variants, "shear_matrix")
    return _shear(angle, *_size(h, w), v)


def _shear(angle: Any, h: int, w: int, v: frozenset[str]) -> np.ndarray:
    if "shear-factor" in v:
        m = _real(angle, "angle", "AUG-15")
    else:
        t = _turns(angle, v)
        if not -0.25 < t < 0.25:
            fail("angle", angle, "AUG-15", "must lie strictly between -90 and 90 degrees")
        eighths = t * 8
        if eighths == math.floor(eighths):
            m = float(eighths)  # tan(0) = 0, tan(±45°) = ±1 exactly
        else:
            m = math.tan(2 * math.pi * t)
    if "clockwise" in v:
        m = -m
    if "shear-y" in v:
        return _about(1.0, 0.0, -m, 1.0, _pivot(h, w, v))
    return _about(1.0, m, 0.0, 1.0, _pivot(h, w, v))


def hflip_matrix(h: Any, w: Any, *, variants: Iterable[str] = ()) -> np.ndarray:
    """``[[-1, 0, W], [0, 1, 0], [0, 0, 1]]`` (``W - 1`` under integer-centres) (AUG-16)."""
    v = _variants(variants, "hflip_matrix")
    hh, ww = _size(h, w)
    cx, _ = _pivot(hh, ww, v)
    return np.array([[-1.0, 0.0, 2 * cx], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])


def vflip_matrix(h: Any, w: Any, *, variants: Iterable[str] = ()) -> np.ndarray:
    """``[[1, 0, 0], [0, -1, H], [0, 0, 1]]`` (``H - 1`` under integer-centres) (AUG-17)."""
    v = _variants(variants, "vflip_matrix")
    hh, ww = _size(h, w)
    _, cy = _pivot(hh, ww, v)
    return np.array([[1.0, 0.0, 0.0], [0.0, -1.0, 2 * cy], [0.0, 0.0, 1.0]])


# ------------------------------------------------------------------------- sampler


def _sampling_map(matrix: Any, v: frozenset[str]) -> tuple[float, ...]:
    """``(a, b, t_x, d, e, t_y)`` of the output-to-input map ``M⁻¹`` (AUG-4)."""
    try:
        m = np.asarray(matrix)
    except (ValueError, TypeError):
        fail("matrix", type(matrix).__name__, "AUG-4", "is not a rectangular array")
    if m.dtype == np.bool_ or m.dtype.kind not in "iuf":
        fail("matrix", m, "AUG-4", "must be a real 2x3 or 3x3 array")
    m = m.astype(np.float64)
    if m.shape not in ((2, 3), (3, 3)):
        fail("matrix", m, "AUG-4", f"must be 2x3 or 3x3, got shape {m.shape}")
    if not np.isfinite(m).all():
        fail("matrix", m, "AUG-4", "has a non-finite entry")
    if m.shape == (3, 3) and not (m[2, 0] == 0 and m[2, 1] == 0 and m[2, 2] == 1):
        fail("matrix", m, "AUG-4", "a 3x3 matrix must have last row [0, 0, 1] (affine only)")
    if "yx-order" in v:
        m = m[[1, 0]][:, [1, 0, 2]]
    a, b, tx, d, e, ty = (float(t) for t in m[:2].ravel())
    det = a * e - b * d
    if det == 0 or not math.isfinite(det):
        fail("matrix", m, "AUG-4", "its linear part is singular")
    if "inverse-matrix" in v:
        return a, b, tx, d, e, ty
    # Closed form rather than numpy.linalg.inv: it keeps quarter-turn matrices exact.
    ia, ib, id_, ie = e / det, -b / det, -d / det, a / det
    itx, ity = -(ia * tx + ib * ty), -(id_ * tx + ie * ty)
    inv = (ia, ib, itx, id_, ie, ity)
    if not all(math.isfinite(t) for t in inv):
        fail("matrix", m, "AUG-4", "is too ill-conditioned: its inverse is not finite")
    return inv


def _warp_args(x: Any, matrix: Any, interpolation: Any, fill_mode: Any, fill_value: Any,
               layout: Any, variants: Any, op: str):
    x4, dtype = _batch(x, layout)
    v = _variants(variants, op)
    inv = _sampling_map(matrix, v)
    interp = _choice(interpolation, "interpolation", INTERPOLATIONS, "AUG-4")
    mode = _choice(fill_mode, "fill_mode", FILL_MODES, "AUG-4")
    fill = _real(fill_value, "fill_value", "AUG-4")
    return x4, dtype, v, inv, interp, mode, fill


def affine(x: Any, matrix: Any, *, interpolation: str = "bilinear",
           fill_mode: str = "constant", fill_value: float = 0.0, layout: str = "NCHW",
           variants: Iterable[str] = ()) -> np.ndarray:
    """Warp ``x`` by the affine ``matrix`` that maps input points to output points.

    Clauses: AUG-4 (inverse mapping), AUG-3 (frame), AUG-5 / AUG-6 (interpolation),
    AUG-7 ... AUG-10 (fill modes), AUG-2 (output dtype), AUG-1 (layouts).

    Formula: for each output pixel ``(i, j)``, ``q = (j + 1/2, i + 1/2)``,
    ``p = M⁻¹ q``, ``out[..., i, j] = sample(x, p_x - 1/2, p_y - 1/2)``.

    ``matrix``: 2x3, or 3x3 with last row ``[0, 0, 1]``, acting on ``(x, y, 1)`` with
    ``x`` horizontal. ``interpolation``: ``"nearest"`` (ties round up) or
    ``"bilinear"``. ``fill_mode``: ``"constant"`` (with ``fill_value``), ``"nearest"``,
    ``"reflect"`` (half-sample, ``dcba|abcd``) or ``"wrap"``. Output: the input's shape;
    the input's dtype for integer images (rounded half to even, clipped), float64 else.

    Variants: ``inverse-matrix``, ``yx-order`` (AUG-4), ``integer-centres`` (AUG-3),
    ``round-half-down``, ``round-half-even``, ``round-half-away`` (AUG-5),
    ``constant-outside-centres`` (AUG-7), ``reflect-101`` (AUG-9),
    ``truncate-to-uint8``, ``clip-unit-interval`` (AUG-2).

    Raises :class:`SpecError` for a malformed, non-finite or singular matrix, an unknown
    interpolation or fill mode, a non-finite fill value (AUG-4), and bad images (AUG-1).
    """
    x4, dtype, v, inv, interp, mode, fill = _warp_args(
        x, matrix, interpolation, fill_mode, fill_value, layout, variants, "affine")
    return _finish(_warp(x4, inv, interp, mode, fill, v), dtype, layout, v, True)


def _warp(x4: np.ndarray, inv: tuple[float, ...], interp: str, mode: str, fill: float,
          v: frozenset[str]) -> np.ndarray:
    """Vectorised AUG-4: every output pixel's input point, then one gather per tap."""
    _, _, h, w = x4.shape
    ia, ib, itx, id_, ie, ity = inv
    o = _offset(v)
    qx = np.broadcast_to(np.arange(w, dtype=np.float64) + o, (h, w))
    qy = np.broadcast_to((np.arange(h, dtype=np.float64) + o)[:, None], (h, w))
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported just below
        px = ia * qx + ib * qy + itx
        py = id_ * qx + ie * qy + ity
    if not (np.isfinite(px).all() and np.isfinite(py).all()):
        fail("matrix", np.array(inv), "AUG-4", "maps output pixel centres to non-finite points")
    outside_only = mode == "constant" and "constant-outside-centres" in v
    # Under constant-outside-centres taps never leave the image with a nonzero weight, so
    # clamping them is only a safe way to index.
    tap_mode = "nearest" if outside_only else mode
    if interp == "nearest":
        out = _tap(x4, _round_half(py + (0.5 - o), v), _round_half(px + (0.5 - o), v),
                   tap_mode, fill, v)
    else:
        u, vv = px - o, py - o
        j0, i0 = np.floor(u), np.floor(vv)
        a, b = u - j0, vv - i0
        v00 = _tap(x4, i0, j0, tap_mode, fill, v)
        v01 = _tap(x4, i0, j0 + 1, tap_mode, fill, v)
        v10 = _tap(x4, i0 + 1, j0, tap_mode, fill, v)
        v11 = _tap(x4, i0 + 1, j0 + 1, tap_mode, fill, v)
        out = (1 - b) * ((1 - a) * v00 + a * v01) + b * ((1 - a) * v10 + a * v11)
    if outside_only:
        u, vv = px - o, py - o
        inside = (u >= 0) & (u <= w - 1) & (vv >= 0) & (vv <= h - 1)
        out = np.where(inside, out, fill)
    return out


def _round_half(t: np.ndarray, v: frozenset[str]) -> np.ndarray:
    """``floor(t)`` with ``t = u + 1/2``; a tie (integral ``t``) per the AUG-5 variant."""
    k = np.floor(t)
    tie = t == k
    if "round-half-down" in v:
        k = k - tie
    elif "round-half-even" in v:
        k = k - (tie & (np.mod(k, 2) == 1))
    elif "round-half-away" in v:
        k = k - (tie & (k <= 0))
    return k


def _tap(x4: np.ndarray, row: np.ndarray, col: np.ndarray, mode: str, fill: float,
         v: frozenset[str]) -> np.ndarray:
    """``X_ext[row, col]`` for integral float index arrays (AUG-7 ... AUG-10)."""
    _, _, h, w = x4.shape
    if mode == "constant":
        valid = (row >= 0) & (row <= h - 1) & (col >= 0) & (col <= w - 1)
        rr = np.clip(row, 0, h - 1).astype(np.intp)
        cc = np.clip(col, 0, w - 1).astype(np.intp)
        return np.where(valid, x4[:, :, rr, cc], fill)
    # Indices are brought into range while still floats: a huge float would overflow intp.
    return x4[:, :, _extend(row, h, mode, v), _extend(col, w, mode, v)]


def _extend(k: np.ndarray, n: int, mode: str, v: frozenset[str]) -> np.ndarray:
    if mode == "nearest":
        r = np.clip(k, 0, n - 1)
    elif mode == "wrap":
        r = np.mod(k, n)
    elif "reflect-101" in v:
        if n == 1:
            r = np.zeros_like(k)
        else:
            m = np.mod(k, 2 * n - 2)
            r = np.where(m >= n, 2 * n - 2 - m, m)
    else:
        m = np.mod(k, 2 * n)
        r = np.where(m >= n, 2 * n - 1 - m, m)
    return r.astype(np.intp)


def affine_definitional(x: Any, matrix: Any, *, interpolation: str = "bilinear",
                        fill_mode: str = "constant", fill_value: float = 0.0,
                        layout: str = "NCHW", variants: Iterable[str] = ()) -> np.ndarray:
    """:func:`affine` written as the clauses read: a plain loop over output pixels.

    Same contract, variants and errors as :func:`affine` (AUG-4 ... AUG-10, AUG-2); it
    exists so that the vectorised form can be checked against something obviously
    right. Slow (Python loop per pixel, sample and channel): small images only.
    """
    x4, dtype, v, inv, interp, mode, fill = _warp_args(
        x, matrix, interpolation, fill_mode, fill_value, layout, variants,
        "affine_definitional")
    n_, c_, h, w = x4.shape
    ia, ib, itx, id_, ie, ity = inv
    o = _offset(v)
    outside_only = mode == "constant" and "constant-outside-centres" in v
    out = np.empty(x4.shape, dtype=np.float64)
    for i in range(h):
        for j in range(w):
            qx, qy = j + o, i + o                          # the output pixel's centre
            px = ia * qx + ib * qy + itx                   # p = M⁻¹ q
            py = id_ * qx + ie * qy + ity
            if not (math.isfinite(px) and math.isfinite(py)):
                fail("matrix", np.array(inv), "AUG-4",
                     "maps output pixel centres to non-finite points")
            u, vv = px - o, py - o                         # index coordinates
            inside = 0 <= u <= w - 1 and 0 <= vv <= h - 1
            for n in range(n_):
                for c in range(c_):
                    img = x4[n, c]
                    if outside_only and not inside:
                        out[n, c, i, j] = fill
                    elif interp == "nearest":
                        out[n, c, i, j] = _pixel1(img, _round_half1(py + (0.5 - o), v),
                                                  _round_half1(px + (0.5 - o), v),
                                                  mode, fill, v, outside_only)
                    else:
                        j0, i0 = math.floor(u), math.floor(vv)
                        a, b = u - j0, vv - i0
                        p00, p01, p10, p11 = (_pixel1(img, i0 + di, j0 + dj, mode, fill, v,
                                                      outside_only)
                                              for di, dj in ((0, 0), (0, 1), (1, 0), (1, 1)))
                        out[n, c, i, j] = ((1 - b) * ((1 - a) * p00 + a * p01)
                                           + b * ((1 - a) * p10 + a * p11))
    return _finish(out, dtype, layout, v, True)


def _pixel1(img: np.ndarray, row: int, col: int, mode: str, fill: float, v: frozenset[str],
            outside_only: bool) -> float:
    """Scalar ``X_ext[row, col]``: the pixel a tap reads, or the fill value."""
    h, w = img.shape
    if outside_only:  # inside the centre rectangle, off-image taps only ever get weight 0
        return float(img[min(max(row, 0), h - 1), min(max(col, 0), w - 1)])
    r, c = _extend1(row, h, mode, v), _extend1(col, w, mode, v)
    return fill if r is None or c is None else float(img[r, c])


def _round_half1(t: float, v: frozenset[str]) -> int:
    """Scalar AUG-5: the index nearest to ``u = t - 1/2``, ties by the chosen rule."""
    k = math.floor(t)
    if t == k:
        if "round-half-down" in v:
            k -= 1
        elif "round-half-even" in v and k % 2 == 1:
            k -= 1
        elif "round-half-away" in v and k <= 0:
            k -= 1
    return k


def _extend1(k: int, n: int, mode: str, v: frozenset[str]) -> int | None:
    """Scalar AUG-7 ... AUG-10: the in-image index tap ``k`` reads, None for the fill."""
    if mode == "constant":
        return k if 0 <= k < n else None
    if mode == "nearest":
        return min(max(k, 0), n - 1)
    if mode == "wrap":
        return k % n
    if "reflect-101" in v:
        if n == 1:
            return 0
        m = k % (2 * n - 2)
        return m if m < n else 2 * n - 2 - m
    m = k % (2 * n)
    return m if m < n else 2 * n - 1 - m


# ------------------------------------------------------------- geometric transforms

def _geometric(x4: np.ndarray, dtype: np.dtype, matrix: np.ndarray, interpolation: Any,
               fill_mode: Any, fill_value: Any, layout: str, v: frozenset[str]) -> np.ndarray:
    sampling = v & AUG_OP_VARIANTS["affine"]
    inv = _sampling_map(matrix, sampling)
    interp = _choice(interpolation, "interpolation", INTERPOLATIONS, "AUG-4")
    mode = _choice(fill_mode, "fill_mode", FILL_MODES, "AUG-4")
    fill = _real(fill_value, "fill_value", "AUG-4")
    return _finish(_warp(x4, inv, interp, mode, fill, sampling), dtype, layout, sampling, True)


def rotate(x: Any, angle: Any, *, interpolation: str = "bilinear",
           fill_mode: str = "constant", fill_value: float = 0.0, layout: str = "NCHW",
           variants: Iterable[str] = ()) -> np.ndarray:
    """Rotate the content by ``angle`` degrees counter-clockwise (as displayed) about the centre.

    Clause AUG-12: ``affine(x, rotation_matrix(angle, H, W))``; AUG-11 (degrees, exact
    at quarter turns). Nearest rotations by multiples of 90° of square images are exact
    ``numpy.rot90`` permutations; 180° is exact for any shape.

    Variants: ``clockwise``, ``radians``, ``turns``, ``corner-pivot``,
    ``pivot-off-by-half``, plus the sampling variants of :func:`affine`.

    Raises :class:`SpecError`: non-finite angle (AUG-11), unknown variant (AUG-12), and
    the errors of :func:`affine`.
    """
    x4, dtype = _batch(x, layout)
    v = _variants(variants, "rotate")
    m = _rotation(angle, x4.shape[2], x4.shape[3], v)
    return _geometric(x4, dtype, m, interpolation, fill_mode, fill_value, layout, v)


def translate(x: Any, tx: Any, ty: Any, *, interpolation: str = "bilinear",
              fill_mode: str = "constant", fill_value: float = 0.0, layout: str = "NCHW",
              variants: Iterable[str] = ()) -> np.ndarray:
    """Move the content ``tx`` pixels right and ``ty`` pixels down (sub-pixel allowed).

    Clause AUG-13: ``affine(x, [[1, 0, tx], [0, 1, ty]])``. Whole-pixel shifts are exact
    (``numpy.roll`` with ``fill_mode="wrap"``). Variant ``inverse-translation`` moves the
    content by ``(-tx, -ty)``; the sampling variants are those of :func:`affine`.

    Raises :class:`SpecError` for non-finite shifts (AUG-13) and the errors of :func:`affine`.
    """
    x4, dtype = _batch(x, layout)
    v = _variants(variants, "translate")
    m = _translation(tx, ty, v)
    return _geometric(x4, dtype, m, interpolation, fill_mode, fill_value, layout, v)


def zoom(x: Any, factor: Any, *, interpolation: str = "bilinear",
         fill_mode: str = "constant", fill_value: float = 0.0, layout: str = "NCHW",
         variants: Iterable[str] = ()) -> np.ndarray:
    """Scale the content about the centre by ``factor`` (> 1 magnifies); same output size.

    Clause AUG-14: ``affine(x, zoom_matrix(factor, H, W))``; ``factor`` is a positive
    scalar or a pair ``(f_x, f_y)``. Variants: ``zoom-shrinks``, ``corner-pivot``,
    ``pivot-off-by-half``, plus the sampling variants of :func:`affine`.

    Raises :class:`SpecError` for a zero, negative or non-finite factor (AUG-14) and the
    errors of :func:`affine`.
    """
    x4, dtype = _batch(x, layout)
    v = _variants(variants, "zoom")
    m = _zoom(factor, x4.shape[2], x4.shape[3], v)
    return _geometric(x4, dtype, m, interpolation, fill_mode, fill_value, layout, v)


def shear(x: Any, angle: Any, *, interpolation: str = "bilinear",
          fill_mode: str = "constant", fill_value: float = 0.0, layout: str = "NCHW",
          variants: Iterable[str] = ()) -> np.ndarray:
    """Shear along ``x`` by ``angle`` degrees about the centre: ``x' = x + tan φ (y - c_y)``.

    Clause AUG-15: ``affine(x, shear_matrix(angle, H, W))``; ``-90 < angle < 90``.
    Variants: ``clockwise``, ``shear-y``, ``shear-factor``, ``radians``, ``turns``,
    ``corner-pivot``, ``pivot-off-by-half``, plus the sampling variants of :func:`affine`.

    Raises :class:`SpecError` for a non-finite angle (AUG-11), one outside
    ``(-90°, 90°)`` (AUG-15) and the errors of :func:`affine`.
    """
    x4, dtype = _batch(x, layout)
    v = _variants(variants, "shear")
    m = _shear(angle, x4.shape[2], x4.shape[3], v)
    return _geometric(x4, dtype, m, interpolation, fill_mode, fill_value, layout, v)


def hflip(x: Any, *, layout: str = "NCHW", variants: Iterable[str] = ()) -> np.ndarray:
    """Reverse the columns: ``out[..., i, j] = x[..., i, W - 1 - j]`` (AUG-16).

    Equal to ``affine(x, hflip_matrix(H, W))`` under any interpolation; an integer dtype
    is kept bit for bit, floats become float64.
    Raises :class:`SpecError` for bad images (AUG-1).
    """
    _batch(x, layout)
    _variants(variants, "hflip")
    return _flip(x, axis=3 if layout == "NCHW" else 1)


def vflip(x: Any, *, layout: str = "NCHW", variants: Iterable[str] = ()) -> np.ndarray:
    """Reverse the rows: ``out[..., i, j] = x[..., H - 1 - i, j]`` (AUG-17).

    Equal to ``affine(x, vflip_matrix(H, W))`` under any interpolation; an integer dtype
    is kept bit for bit, floats become float64.
    Raises :class:`SpecError` for bad images (AUG-1).
    """
    _batch(x, layout)
    _variants(variants, "vflip")
    return _flip(x, axis=2 if layout == "NCHW" else 0)


def _flip(x: Any, axis: int) -> np.ndarray:
    """Reverse ``axis`` of the raw array: integers keep every bit (an int64 above 2**53
    would not survive float64), floats come back as float64 (AUG-2)."""
    raw = np.flip(np.asarray(x), axis=axis)
    return np.ascontiguousarray(raw if raw.dtype.kind in "iu" else raw.astype(np.float64))


# ----------------------------------------------------------------------- photometric


def adjust_brightness(x: Any, factor: Any, *, layout: str = "NCHW",
                      variants: Iterable[str] = ()) -> np.ndarray:
    """Multiply every value by ``factor >= 0`` (AUG-18), then round and clip per AUG-2.

    ``uint8`` in, ``uint8`` out (half to even, saturating at 255); float in, float64 out.
    Variant ``additive-brightness`` adds ``factor`` (any finite real) instead;
    ``truncate-to-uint8`` and ``clip-unit-interval`` are the AUG-2 variants.

    Raises :class:`SpecError` for a negative or non-finite factor (AUG-18).
    """
    x4, dtype = _batch(x, layout)
    v = _variants(variants, "adjust_brightness")
    f = _real(factor, "factor", "AUG-18")
    if "additive-brightness" in v:
        y = x4 + f
    else:
        if f < 0:
            fail("factor", factor, "AUG-18", "must be >= 0")
        y = f * x4
    return _finish(y, dtype, layout, v, True)


def channel_shift(x: Any, offset: Any, *, layout: str = "NCHW",
                  variants: Iterable[str] = ()) -> np.ndarray:
    """Add ``offset[c]`` to every value of channel ``c`` (AUG-19), then AUG-2.

    ``offset``: one finite real for all channels, or a 1-D sequence of ``C``. Variant
    ``clip-to-input-range`` clips each sample to its own input ``[min, max]``.

    Raises :class:`SpecError` for an offset of the wrong length or non-finite (AUG-19).
    """
    x4, dtype = _batch(x, layout)
    v = _variants(variants, "channel_shift")
    c = x4.shape[1]
    if isinstance(offset, numbers.Real) and not isinstance(offset, (bool, np.bool_)):
        off = np.full(c, _real(offset, "offset", "AUG-19"))
    else:
        try:
            arr = np.asarray(offset)
        except (ValueError, TypeError):
            fail("offset", type(offset).__name__, "AUG-19", "is not a number or a sequence")
        if arr.dtype == np.bool_ or arr.dtype.kind not in "iuf":
            fail("offset", offset, "AUG-19", "must be real numbers")
        if arr.shape != (c,):
            fail("offset", arr, "AUG-19", f"must be a number or a 1-D sequence of C={c} numbers")
        off = arr.astype(np.float64)
        if not np.isfinite(off).all():
            fail("offset", arr, "AUG-19", "must be finite")
    y = x4 + off[None, :, None, None]
    if "clip-to-input-range" in v:
        y = np.clip(y, x4.min(axis=(1, 2, 3), keepdims=True), x4.max(axis=(1, 2, 3), keepdims=True))
    return _finish(y, dtype, layout, v, True)


def rescale(x: Any, scale: Any, *, offset: Any = 0.0, layout: str = "NCHW",
            variants: Iterable[str] = ()) -> np.ndarray:
    """``scale · x + offset`` in float64, never rounded or clipped (AUG-20, AUG-2).

    Variant ``zero-disables``: ``scale = 0`` leaves the values as they are (plus
    ``offset``), as Keras' ``rescale=0`` does.

    Raises :class:`SpecError` for a non-finite ``scale`` or ``offset`` (AUG-20).
    """
    x4, dtype = _batch(x, layout)
    v = _variants(variants, "rescale")
    s = _real(scale, "scale", "AUG-20")
    b = _real(offset, "offset", "AUG-20")
    if s == 0 and "zero-disables" in v:
        s = 1.0
    return _finish(s * x4 + b, dtype, layout, v, False)


# ------------------------------------------------------------------- standardisation


def _ddof_std(x4: np.ndarray, axis: tuple[int, ...], count: int, sample: bool) -> np.ndarray:
    """Population std, or Bessel-corrected under ``sample-std`` (0 for a single value)."""
    if sample and count == 1:
        return np.zeros_like(x4.mean(axis=axis, keepdims=True))
    return x4.std(axis=axis, ddof=1 if sample else 0, keepdims=True)


def featurewise_fit(x: Any, *, layout: str = "NCHW",
                    variants: Iterable[str] = ()) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and population std over samples, rows and columns (AUG-21).

    Returns ``(mean, std)``, float64 arrays of shape ``(C,)``. Under
    ``per-pixel-statistics`` they are per ``(c, i, j)`` over the samples only, shaped
    ``(C, H, W)`` (``(H, W, C)`` for ``HWC``); ``sample-std`` uses ddof = 1. An ``HWC``
    image is a data set of one sample.

    Raises :class:`SpecError` for bad images (AUG-1).
    """
    x4, _ = _batch(x, layout)
    v = _variants(variants, "featurewise_fit")
    n, _, h, w = x4.shape
    per_pixel = "per-pixel-statistics" in v
    axis = (0,) if per_pixel else (0, 2, 3)
    count = n if per_pixel else n * h * w
    mean = x4.mean(axis=axis, keepdims=True)
    std = _ddof_std(x4, axis, count, "sample-std" in v)
    if per_pixel:
        mean, std = mean[0], std[0]
        if layout == "HWC":
            mean, std = mean.transpose(1, 2, 0), std.transpose(1, 2, 0)
    else:
        mean, std = mean.reshape(-1), std.reshape(-1)
    return np.ascontiguousarray(mean), np.ascontiguousarray(std)


def _stat(value: Any, name: str, shape4: tuple[int, ...], layout: str) -> np.ndarray:
    """``mean`` / ``std`` of AUG-22 as an array broadcasting against NCHW."""
    _, c, h, w = shape4
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError):
        fail(name, type(value).__name__, "AUG-22", "is not a number or an array")
    if arr.dtype == np.bool_ or arr.dtype.kind not in "iuf":
        fail(name, value, "AUG-22", "must be real numbers")
    arr = arr.astype(np.float64)
    pixel_shape = (c, h, w) if layout == "NCHW" else (h, w, c)
    if arr.shape == ():
        out = arr.reshape(1, 1, 1, 1)
    elif arr.shape == (c,):
        out = arr.reshape(1, c, 1, 1)
    elif arr.shape == pixel_shape:
        out = (arr if layout == "NCHW" else arr.transpose(2, 0, 1))[None]
    else:
        fail(name, arr, "AUG-22",
             f"must be a scalar, shape ({c},) or per-pixel shape {pixel_shape}")
    if not np.isfinite(out).all():
        fail(name, arr, "AUG-22", "must be finite")
    return out


def _eps(eps: Any, clause: str) -> float:
    e = _real(eps, "eps", clause)
    if e <= 0:
        fail("eps", eps, clause, "must be > 0")
    return e


def featurewise_standardize(x: Any, mean: Any, std: Any, *, eps: float = DEFAULT_EPS,
                            layout: str = "NCHW", variants: Iterable[str] = ()) -> np.ndarray:
    """``(x - mean) / (std + eps)`` with fitted statistics given explicitly (AUG-22).

    ``mean``, ``std``: scalars, per-channel ``(C,)`` or per-pixel (``(C, H, W)``, or
    ``(H, W, C)`` for ``HWC``), e.g. from :func:`featurewise_fit`. Returns float64.
    Variant ``epsilon-in-sqrt`` divides by ``sqrt(std² + eps)``.

    Raises :class:`SpecError` for mis-shaped or non-finite statistics, a negative std, or
    ``eps <= 0`` (AUG-22).
    """
    x4, dtype = _batch(x, layout)
    v = _variants(variants, "featurewise_standardize")
    mu = _stat(mean, "mean", x4.shape, layout)
    sd = _stat(std, "std", x4.shape, layout)
    if (sd < 0).any():
        fail("std", std, "AUG-22", "must be >= 0")
    e = _eps(eps, "AUG-22")
    den = np.sqrt(sd * sd + e) if "epsilon-in-sqrt" in v else sd + e
    return _finish((x4 - mu) / den, dtype, layout, v, False)


def samplewise_standardize(x: Any, *, eps: float = DEFAULT_EPS, layout: str = "NCHW",
                           variants: Iterable[str] = ()) -> np.ndarray:
    """Each sample minus its mean, over its population std plus ``eps``, both over ``(C, H, W)``.

    Clause AUG-23.

    Returns float64. Variants: ``sample-std`` (ddof = 1), ``epsilon-in-sqrt``,
    ``std-floor`` (``max(σ, 1/sqrt(C·H·W))``, no eps; TensorFlow's
    ``per_image_standardization``), ``per-channel-samplewise`` (statistics per channel).

    Raises :class:`SpecError` for ``eps <= 0`` or non-finite (AUG-23) and bad images (AUG-1).
    """
    x4, dtype = _batch(x, layout)
    v = _variants(variants, "samplewise_standardize")
    e = _eps(eps, "AUG-23")
    _, c, h, w = x4.shape
    per_channel = "per-channel-samplewise" in v
    axis = (2, 3) if per_channel else (1, 2, 3)
    count = h * w if per_channel else c * h * w
    mu = x4.mean(axis=axis, keepdims=True)
    sd = _ddof_std(x4, axis, count, "sample-std" in v)
    if "std-floor" in v:
        den = np.maximum(sd, 1.0 / math.sqrt(count))
    elif "epsilon-in-sqrt" in v:
        den = np.sqrt(sd * sd + e)
    else:
        den = sd + e
    return _finish((x4 - mu) / den, dtype, layout, v, False)


__all__ = [
    "affine", "affine_definitional", "rotate", "translate", "zoom", "shear", "hflip", "vflip",
    "rotation_matrix", "translation_matrix", "zoom_matrix", "shear_matrix", "hflip_matrix",
    "vflip_matrix", "adjust_brightness", "channel_shift", "rescale", "featurewise_fit",
    "featurewise_standardize", "samplewise_standardize", "AUG_VARIANTS", "AUG_OP_VARIANTS",
]
