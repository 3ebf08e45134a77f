"""Augmentation ops in the runner's registry (AUG-1 ... AUG-24, spec/augmentation.md).

Each op of reference/augmentation.py that a library can be asked to compute is an
:class:`~conformance.ops.OpSpec` here: its cases (drawn from
conformance/strategies/augmentation.py, NCHW, non-square, both parities, sub-pixel
parameters), its reference outputs with the resampling error model of AUG-24, and its
``ambiguous`` hook. The named conventions of the spec's **Variants** lists are added to
:data:`conformance.variants.VARIANTS`, so a failing library is told which convention it
follows, and the curated edge cases (ties, reflections, quarter turns of odd-sided
images, uint8 saturation) are added to :data:`conformance.corpus.CORPUS`.

Integer images. The runner sends integer arrays unchanged whatever ``--dtype`` says
(conformance.runner.rounded), so uint8 images are their own ops: ``rotate_uint8``,
``adjust_brightness_uint8``, ... check the same reference function on uint8 images
(AUG-2: float64 arithmetic, then round half to even and clip), with their own tally
and diagnosis, which float and integer paths of one library often need (OpenCV warps
uint8 images in fixed point, TensorFlow's ``adjust_brightness`` adds its delta in the
[0, 1] scale of a uint8 image). Their cases name the reference function itself
(``case.op == "rotate"``), so reproductions call ``reference.rotate``; the runner
calls the target's ``rotate_uint8`` method, which adapters alias to ``rotate``
(:func:`uint8_aliases`).

Targets' methods take the reference's names and keywords: ``rotate(x, angle=...,
interpolation=..., fill_mode=..., fill_value=...)``, ``translate(x, tx=, ty=, ...)``,
``zoom(x, factor=, ...)``, ``shear(x, angle=, ...)``, ``affine(x, matrix, ...)``,
``hflip(x)``, ``vflip(x)``, ``adjust_brightness(x, factor=)``, ``channel_shift(x,
offset=)``, ``rescale(x, scale=, offset=)``, ``featurewise_fit(x)``,
``featurewise_standardize(x, mean, std, eps=)``, ``samplewise_standardize(x, eps=)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from typing import Any, cast

import numpy as np
from hypothesis import strategies as st

import reference.augmentation as A

from .opnames import uint8_aliases  # noqa: F401  (re-exported for adapters written against this module)
from .strategies import augmentation as S
from .tolerance import C_SAFETY, UNIT_ROUNDOFF
from .types import Case, Expected, OpSpec, Variant

#: Geometric ops with a matrix (AUG-4 ... AUG-15) and the flips (AUG-16, AUG-17).
WARPS = ("rotate", "translate", "zoom", "shear", "affine")
FLIPS = ("hflip", "vflip")
#: Value-preserving ops (AUG-2): each also has a ``<op>_uint8`` twin on uint8 images.
VALUE_PRESERVING = WARPS + FLIPS + ("adjust_brightness", "channel_shift")
#: Every augmentation op the runner checks (the float ones; see UINT8_OPS).
FLOAT_OPS = VALUE_PRESERVING + ("rescale", "featurewise_fit", "featurewise_standardize",
                                "samplewise_standardize")
UINT8_OPS = tuple(f"{op}_uint8" for op in VALUE_PRESERVING)
#: Ops whose output is an image batch (the HTML report draws them).
IMAGE_OPS = frozenset(VALUE_PRESERVING + UINT8_OPS + ("rescale", "featurewise_standardize",
                                                      "samplewise_standardize"))

#: AUG-24: sample coordinates may be off by this many unit roundoffs of the magnitude Q.
COORD_ULPS = 8
#: Integer images are assumed resampled in float32 arithmetic (AUG-24).
INT_ROUNDOFF = UNIT_ROUNDOFF["float32"]

MAX_SIDE = 8


def base_op(op: str) -> str:
    """``rotate_uint8`` -> ``rotate``: the reference function an op's cases call."""
    return op[:-len("_uint8")] if op.endswith("_uint8") else op


# ----------------------------------------------------------------------------- strategies
# Every strategy object is built once here: Hypothesis validates a strategy the first time it
# is drawn from, which costs more than the draw when strategies are rebuilt per example.


def _build_image(uint8: bool) -> Callable[[tuple[Any, int, bool]], np.ndarray]:
    def build(t: tuple[Any, int, bool]) -> np.ndarray:
        shape, seed, constant = t
        rng = np.random.default_rng(seed)
        if uint8:
            x = rng.integers(0, 256, shape).astype(np.uint8)
        else:
            x = rng.uniform(-1000, 1000, shape).round(3)
        return np.full_like(x, x.flat[0]) if constant else x
    return build


def _images(uint8: bool) -> st.SearchStrategy[np.ndarray]:
    """NCHW batches (:func:`S.image_shapes`, sides 1 ... 8, H and W apart) from a shape and a
    seed: uniform in [-1000, 1000] to three decimals, or 0 ... 255, so neighbouring pixels
    differ and a convention that moves content by a fraction of a pixel shows everywhere; one
    in ten is constant. One seed rather than one draw per pixel keeps shrinking cheap: it
    shrinks the shape, then the seed."""
    return st.tuples(S.image_shapes(max_side=MAX_SIDE), st.integers(0, 2**32 - 1),
                     st.integers(0, 9).map(lambda k: k == 9)).map(_build_image(uint8))


_IMAGES = {False: _images(False), True: _images(True)}


def _not_tiny(v: float, lift: bool = False) -> float:
    """A parameter of magnitude below 2**-8 (other than 0) made 0, or lifted to ±2**-8: results
    that underflow a float32 or float16 run (5e-324 · x) are not a convention."""
    if v == 0 or abs(v) >= 2**-8:
        return v
    return math.copysign(2**-8, v) if lift else 0.0


#: Fill values exact in every run dtype: eighths in [-10, 10], or 0 ... 255 for uint8 images.
_FILLS = {False: st.one_of(st.just(0.0), st.integers(-80, 80).map(lambda k: k / 8)),
          True: st.one_of(st.just(0.0), st.integers(0, 255).map(float))}
_INTERP = S.interpolations()
_MODES = S.fill_modes()
_ANGLES = S.angles()
_SHEARS = S.shear_angles()
_ZOOMS = st.one_of(S.zoom_factors(), S.zoom_pairs().map(tuple))
_SHIFTS = {m: S.translations(max_abs=float(m)) for m in range(1, MAX_SIDE + 1)}
_MATRICES = {m: S.affine_matrices(max_shift=float(m)) for m in range(1, MAX_SIDE + 1)}
#: Factors below 2**-8 (other than 0) are lifted to it: a subnormal product is not a convention.
_BRIGHTNESS = S.brightness_factors().map(lambda f: _not_tiny(f, lift=True))
_OFFSETS = {c: S.channel_offsets(c).map(lambda o: [_not_tiny(v) for v in o] if isinstance(o, list)
                                          else _not_tiny(o)) for c in range(1, 4)}
_RESCALES = S.rescale_factors().map(lambda f: _not_tiny(f, lift=True))
_RESCALE_OFFSETS = st.one_of(st.just(0.0), st.just(-1.0), st.floats(-10, 10, allow_nan=False).map(_not_tiny))
_STATS = S.standardizable_batches().map(lambda x: x.round(3))
_STATS_ACROSS = S.standardizable_batches(across_samples=True).map(lambda x: x.round(3))
_MEANS = st.lists(st.floats(-100, 100), min_size=3, max_size=3)
_STDS = st.lists(st.floats(0.5, 50), min_size=3, max_size=3)
_EPS = st.sampled_from([A.DEFAULT_EPS, 1e-7, 1e-3, 0.1])


def _note(uint8: bool) -> str:
    return "uint8 image" if uint8 else ""


@st.composite
def _warp_case(draw: Any, op: str, uint8: bool = False) -> Case:
    x = draw(_IMAGES[uint8])
    side = max(x.shape[2], x.shape[3])
    arrays: dict[str, np.ndarray] = {"x": x}
    if op == "rotate":
        params: dict[str, Any] = {"angle": draw(_ANGLES)}
    elif op == "translate":
        tx, ty = draw(_SHIFTS[side])
        params = {"tx": tx, "ty": ty}
    elif op == "zoom":
        params = {"factor": draw(_ZOOMS)}
    elif op == "shear":
        params = {"angle": draw(_SHEARS)}
    else:  # affine: a well-conditioned matrix, shifts up to the image size
        arrays["matrix"] = draw(_MATRICES[side])
        params = {}
    params.update(interpolation=draw(_INTERP), fill_mode=draw(_MODES), fill_value=draw(_FILLS[uint8]))
    return Case(op, arrays, params, False, _note(uint8))


@st.composite
def _flip_case(draw: Any, op: str, uint8: bool = False) -> Case:
    return Case(op, {"x": draw(_IMAGES[uint8])}, {}, False, _note(uint8))


@st.composite
def _brightness_case(draw: Any, uint8: bool = False) -> Case:
    x = draw(_IMAGES[uint8])
    return Case("adjust_brightness", {"x": x}, {"factor": draw(_BRIGHTNESS)}, False, _note(uint8))


@st.composite
def _channel_shift_case(draw: Any, uint8: bool = False) -> Case:
    x = draw(_IMAGES[uint8])
    return Case("channel_shift", {"x": x}, {"offset": draw(_OFFSETS[x.shape[1]])}, False, _note(uint8))


@st.composite
def _rescale_case(draw: Any) -> Case:
    uint8 = draw(st.booleans())  # rescale(x_uint8, 1/255) is the usual call
    x = draw(_IMAGES[uint8])
    return Case("rescale", {"x": x}, {"scale": draw(_RESCALES), "offset": draw(_RESCALE_OFFSETS)}, False,
                _note(uint8))


@st.composite
def _featurewise_fit_case(draw: Any) -> Case:
    x = draw(_STATS_ACROSS if draw(st.booleans()) else _STATS)
    return Case("featurewise_fit", {"x": x}, {}, False)


@st.composite
def _featurewise_standardize_case(draw: Any) -> Case:
    x = draw(_STATS)
    c = x.shape[1]
    if draw(st.booleans()):
        mean, std = A.featurewise_fit(x)
    else:
        mean = np.asarray(draw(_MEANS)[:c], dtype=np.float64)
        std = np.asarray(draw(_STDS)[:c], dtype=np.float64)
    return Case("featurewise_standardize", {"x": x, "mean": mean, "std": std}, {"eps": draw(_EPS)}, False)


@st.composite
def _samplewise_case(draw: Any) -> Case:
    x = draw(_STATS)
    if draw(st.integers(0, 3)) == 0:
        # A low-contrast batch: per-sample deviations far below 1/sqrt(C·H·W), where
        # TensorFlow's std floor (AUG-23 std-floor) and an eps under the root differ.
        scale = draw(st.sampled_from([1e-3, 1e-2, 3e-2]))
        offset = draw(st.integers(-8, 8)) / 8
        x = np.round(offset + x / max(np.abs(x).max(), 1) * scale, 9)
    return Case("samplewise_standardize", {"x": x}, {"eps": draw(st.sampled_from([A.DEFAULT_EPS, 1e-3]))},
                False)


# ------------------------------------------------------------------ sample coordinates


def _shape(case: Case) -> tuple[int, int]:
    x = case.arrays["x"]
    return x.shape[2], x.shape[3]


def _split(op: str, variants: tuple[str, ...]) -> tuple[frozenset[str], frozenset[str]]:
    """(matrix variants, sampling variants) of a warp op's variant names."""
    v = frozenset(variants)
    if op == "affine":
        return frozenset(), v
    return v & A.AUG_OP_VARIANTS[_MATRIX_FN[op]], v & A.AUG_OP_VARIANTS["affine"]


_MATRIX_FN = {"rotate": "rotation_matrix", "translate": "translation_matrix", "zoom": "zoom_matrix",
              "shear": "shear_matrix"}


def _forward(case: Case, mv: frozenset[str]) -> np.ndarray:
    """The op's input-to-output matrix (AUG-4 ... AUG-15) under the matrix variants ``mv``."""
    op, p = base_op(case.op), case.params
    h, w = _shape(case)
    if op == "rotate":
        return A.rotation_matrix(p["angle"], h, w, variants=mv)
    if op == "translate":
        return A.translation_matrix(p["tx"], p["ty"], h, w, variants=mv)
    if op == "zoom":
        return A.zoom_matrix(p["factor"], h, w, variants=mv)
    if op == "shear":
        return A.shear_matrix(p["angle"], h, w, variants=mv)
    return np.asarray(case.arrays["matrix"], dtype=np.float64)


def sample_points(case: Case, variants: tuple[str, ...] = ()) -> tuple[np.ndarray, np.ndarray, float]:
    """``(u, v, Q)``: the index coordinates every output pixel samples (AUG-4) and the
    coordinate magnitude ``Q`` of AUG-24, recomputed as the reference computes them."""
    op = base_op(case.op)
    mv, sv = _split(op, variants)
    inv = A._sampling_map(_forward(case, mv), sv)
    h, w = _shape(case)
    o = A._offset(sv)
    qx = np.broadcast_to(np.arange(w, dtype=np.float64) + o, (h, w))
    qy = np.broadcast_to((np.arange(h, dtype=np.float64) + o)[:, None], (h, w))
    ia, ib, itx, id_, ie, ity = inv
    u = ia * qx + ib * qy + itx - o
    v = id_ * qx + ie * qy + ity - o
    q = (2 + abs(ia) + abs(ib) + abs(id_) + abs(ie)) * (h + w) + abs(itx) + abs(ity)
    return u, v, q


def _taps_abs(case: Case, u: np.ndarray, v: np.ndarray, variants: tuple[str, ...]) -> np.ndarray:
    """Per output element, the sum of |value| over its four bilinear taps (AUG-24's T)."""
    x4 = np.abs(case.arrays["x"].astype(np.float64))
    sv = frozenset(variants) & A.AUG_OP_VARIANTS["affine"]
    mode = case.params.get("fill_mode", "constant")
    if mode == "constant" and "constant-outside-centres" in sv:
        mode = "nearest"
    fill = abs(float(case.params.get("fill_value", 0.0)))
    j0, i0 = np.floor(u), np.floor(v)
    return cast(np.ndarray, sum(A._tap(x4, i0 + di, j0 + dj, mode, fill, sv) for di in (0, 1) for dj in (0, 1)))


def _call(case: Case, variants: tuple[str, ...], x: np.ndarray | None = None, **over: Any) -> Any:
    """The reference function of ``case`` on its arrays (``x`` replaced if given)."""
    fn = getattr(A, base_op(case.op))
    arrays = dict(case.arrays)
    if x is not None:
        arrays["x"] = x
    return fn(*arrays.values(), **{**case.params, **over}, variants=variants)


# ------------------------------------------------------------------------------ measures


def _warp_measure(case: Case, variants: tuple[str, ...] = ()) -> Expected:
    """AUG-24: bilinear outputs get 4 terms over ``S + Q·T``; nearest ones are copies."""
    y = _call(case, variants)
    if y.dtype.kind in "iu":
        return [("y", y, None, 1)]
    if case.params.get("interpolation", "bilinear") == "nearest":
        return [("y", y, np.abs(y), 1)]
    u, v, q = sample_points(case, variants)
    fill = abs(float(case.params.get("fill_value", 0.0)))
    s = _call(case, variants, np.abs(case.arrays["x"].astype(np.float64)), fill_value=fill)
    t = _taps_abs(case, u, v, variants)
    return [("y", y, s + COORD_ULPS / 4 * q * t, 4)]


def _flip_measure(case: Case, variants: tuple[str, ...] = ()) -> Expected:
    return [("y", _call(case, variants), None, 1)]


def _brightness_measure(case: Case, variants: tuple[str, ...] = ()) -> Expected:
    y = _call(case, variants)
    if y.dtype.kind in "iu":
        return [("y", y, None, 1)]
    f = float(case.params["factor"])
    x = case.arrays["x"].astype(np.float64)
    return [("y", y, np.abs(f * x) + (abs(f) if "additive-brightness" in variants else 0.0), 1)]


def _shift_measure(case: Case, variants: tuple[str, ...] = ()) -> Expected:
    y = _call(case, variants)
    if y.dtype.kind in "iu":
        return [("y", y, None, 1)]
    x = case.arrays["x"].astype(np.float64)
    off = np.broadcast_to(np.asarray(case.params["offset"], dtype=np.float64), (x.shape[1],))
    return [("y", y, np.abs(x) + np.abs(off)[None, :, None, None], 1)]


def _rescale_measure(case: Case, variants: tuple[str, ...] = ()) -> Expected:
    y = _call(case, variants)
    x = case.arrays["x"].astype(np.float64)
    s, b = float(case.params["scale"]), float(case.params.get("offset", 0.0))
    if s == 0 and "zero-disables" in variants:
        s = 1.0
    return [("y", y, np.abs(s * x) + abs(b), 2)]


def _fit_measure(case: Case, variants: tuple[str, ...] = ()) -> Expected:
    mean, std = _call(case, variants)
    x = case.arrays["x"].astype(np.float64)
    per_pixel = "per-pixel-statistics" in variants
    axis = (0,) if per_pixel else (0, 2, 3)
    count = x.shape[0] if per_pixel else x.shape[0] * x.shape[2] * x.shape[3]
    m_abs = np.abs(x).mean(axis=axis)
    m_sq = np.square(x).mean(axis=axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        s_scale = np.where(std > 0, m_sq / np.where(std > 0, std, 1) + std, np.sqrt(m_sq))
    if per_pixel:
        m_abs, s_scale = m_abs[0], s_scale[0]
    return [("mean", mean, m_abs, count), ("std", std, s_scale, count)]


def _featurewise_measure(case: Case, variants: tuple[str, ...] = ()) -> Expected:
    y = _call(case, variants)
    x = case.arrays["x"].astype(np.float64)
    c = x.shape[1]
    mean = np.broadcast_to(np.asarray(case.arrays["mean"], dtype=np.float64), (c,))[None, :, None, None]
    std = np.broadcast_to(np.asarray(case.arrays["std"], dtype=np.float64), (c,))[None, :, None, None]
    den = std + float(case.params.get("eps", A.DEFAULT_EPS))
    return [("y", y, (np.abs(x) + np.abs(mean)) / den + np.abs(y), 2)]


def _samplewise_measure(case: Case, variants: tuple[str, ...] = ()) -> Expected:
    y = _call(case, variants)
    x = case.arrays["x"].astype(np.float64)
    per_channel = "per-channel-samplewise" in variants
    axis = (2, 3) if per_channel else (1, 2, 3)
    count = x.shape[2] * x.shape[3] * (1 if per_channel else x.shape[1])
    mu = x.mean(axis=axis, keepdims=True)
    sd = x.std(axis=axis, keepdims=True)
    den = sd + float(case.params.get("eps", A.DEFAULT_EPS))
    if "std-floor" in variants:
        den = np.maximum(sd, 1 / math.sqrt(count))
    m_abs = np.abs(x).mean(axis=axis, keepdims=True)
    return [("y", y, (m_abs + np.abs(x - mu)) / den + np.abs(y), count)]


# ----------------------------------------------------------------------------- ambiguity


def _roundoff(got: np.ndarray) -> float:
    """The unit roundoff a target's output dtype implies for its arithmetic (AUG-24)."""
    return UNIT_ROUNDOFF.get(str(got.dtype), INT_ROUNDOFF)


def _robust_ties(case: Case) -> tuple[np.ndarray, np.ndarray] | None:
    """Per output pixel and axis, whether its sample point lies exactly on a nearest-neighbour
    tie in exact rational arithmetic from the case's own numbers (AUG-24): such a tie is the
    spec's to decide (AUG-5), whatever arithmetic a library uses. None for rotations and
    shears, whose points come through cos, sin and tan: a tie there exists only to the
    rounding of those values (cos 60° = 0.5000000000000001, cos 90° = 6e-17, AUG-11), so a
    library landing on either side of it is not wrong."""
    op, p = base_op(case.op), case.params
    if op in ("rotate", "shear"):
        return None
    h, w = _shape(case)
    F = Fraction
    half = F(1, 2)
    if op == "translate":
        m = [[F(1), F(0), F(p["tx"])], [F(0), F(1), F(p["ty"])]]
    elif op == "zoom":
        f = p["factor"]
        fx, fy = (F(f[0]), F(f[1])) if isinstance(f, (tuple, list)) else (F(f), F(f))
        cx, cy = F(w, 2), F(h, 2)
        m = [[fx, F(0), cx * (1 - fx)], [F(0), fy, cy * (1 - fy)]]
    else:
        m = [[F(float(v)) for v in row] for row in np.asarray(case.arrays["matrix"], dtype=np.float64)[:2]]
    (a, b, tx), (d, e, ty) = m
    det = a * e - b * d
    ia, ib, id_, ie = e / det, -b / det, -d / det, a / det
    itx, ity = -(ia * tx + ib * ty), -(id_ * tx + ie * ty)
    rx = np.zeros((h, w), dtype=bool)
    ry = np.zeros((h, w), dtype=bool)
    for i in range(h):
        for j in range(w):
            qx, qy = j + half, i + half
            # t = u + 1/2 = p: a tie when the point itself is on a pixel boundary (AUG-5)
            rx[i, j] = (ia * qx + ib * qy + itx).denominator == 1
            ry[i, j] = (id_ * qx + ie * qy + ity).denominator == 1
    return rx, ry


def _fragile_values(case: Case) -> bool:
    """Whether a uint8 result exactly at .5 may be an accident of rounded weights (rotations
    and shears) rather than exact arithmetic (half-pixel shifts, zooms by 2)."""
    return base_op(case.op) in ("rotate", "shear")


def _tie_distance(t: np.ndarray) -> np.ndarray:
    """Distance of ``t = u + 1/2`` from the nearest integer, where nearest rounding flips."""
    return np.abs(t - np.round(t))


def _differing(case: Case, got: Any, expected: Expected) -> np.ndarray | None:
    """Elementwise: where ``got`` leaves the AUG-24 bound (None when shapes differ)."""
    _, ref, scale, terms = expected[0]
    if not isinstance(got, np.ndarray) or got.shape != ref.shape or got.dtype.kind not in "iuf":
        return None
    g, r = got.astype(np.float64), ref.astype(np.float64)
    if scale is None:
        return ~((g == r) | (np.isnan(g) & np.isnan(r)))
    u = _roundoff(got)
    bound = C_SAFETY * terms * u * np.abs(scale) + u * np.abs(r)
    with np.errstate(invalid="ignore"):
        return ~((np.abs(g - r) <= bound) | (np.isnan(g) & np.isnan(r)))


def _warp_ambiguous(case: Case, outs: tuple[Any, ...]) -> str | None:
    """AUG-24: differing pixels that a nearest tie or a uint8 rounding tie explains."""
    expected = _warp_measure(case)
    got = outs[0] if outs else None
    bad = _differing(case, got, expected)
    if bad is None or not bad.any():
        return None
    assert got is not None  # _differing gave an array, so got is one
    u_run = _roundoff(got)
    uu, vv, q = sample_points(case)
    eps = COORD_ULPS * u_run * q
    nearest = case.params.get("interpolation", "bilinear") == "nearest"
    explained = np.zeros_like(bad)
    reasons = []
    if nearest:
        near_x, near_y = _tie_distance(uu + 0.5) <= eps, _tie_distance(vv + 0.5) <= eps
        robust = _robust_ties(case)
        if robust is not None:  # a tie in exact arithmetic is the spec's (AUG-5), not ambiguous
            on_tie = robust[0] | robust[1]
            near_x, near_y = near_x & ~on_tie, near_y & ~on_tie
        explained = explained | ((near_x | near_y)[None, None] & _tie_value(case, got, uu, vv, near_x, near_y))
        reasons.append(f"sample points within {eps:.2g} px of a nearest-neighbour rounding tie, with the "
                       f"pixel on its other side (AUG-5, AUG-24)")
    y_ref = expected[0][1]
    if y_ref.dtype.kind in "iu" and not nearest:
        near_half = _near_half(case, got, y_ref, u_run) & ~(_exact_value_half(case) if not _fragile_values(case)
                                                            else np.zeros_like(bad))
        explained = explained | near_half
        reasons.append("uint8 results within rounding of a .5 tie (AUG-2, AUG-24)")
    if (bad & ~explained).any():
        return None
    return f"{int(bad.sum())} differing pixels, all at " + " or ".join(reasons)


def _tie_value(case: Case, got: np.ndarray, uu: np.ndarray, vv: np.ndarray, near_x: np.ndarray,
               near_y: np.ndarray) -> np.ndarray:
    """Elementwise: ``got`` is the value of a pixel the point rounds to on either side of the
    ties it is near (both neighbours on a tied axis, the rule's pixel on the other), read
    through the fill mode (AUG-7 ... AUG-10): the other choice, not just any other value."""
    x4 = case.arrays["x"].astype(np.float64)
    mode = case.params.get("fill_mode", "constant")
    fill = float(case.params.get("fill_value", 0.0))
    if case.arrays["x"].dtype.kind in "iu":  # the fill of an integer image is rounded and clipped
        info = np.iinfo(case.arrays["x"].dtype)
        fill = float(np.clip(np.rint(fill), info.min, info.max))
    tx, ty = uu + 0.5, vv + 0.5
    cols = [np.where(near_x, np.round(tx) - 1, np.floor(tx)), np.where(near_x, np.round(tx), np.floor(tx))]
    rows = [np.where(near_y, np.round(ty) - 1, np.floor(ty)), np.where(near_y, np.round(ty), np.floor(ty))]
    g = got.astype(np.float64)
    u = _roundoff(got)
    hit = np.zeros(g.shape, dtype=bool)
    for r in rows:
        for c in cols:
            cand = A._tap(x4, r, c, mode, fill, frozenset())
            hit |= np.abs(g - cand) <= 3 * u * np.abs(cand)
    return hit


def _near_half(case: Case, got: np.ndarray, y_ref: np.ndarray, u: float) -> np.ndarray:
    """Elementwise: the target is one away from the rounded reference, whose float64 value lies
    within the TOL-2 bound of the float op (AUG-24) of a .5 tie."""
    twin = Case(case.op, {**case.arrays, "x": case.arrays["x"].astype(np.float64)}, case.params)
    _, yf, scale, terms = measure(twin)[0]
    slack = C_SAFETY * terms * u * (np.abs(scale) if scale is not None else 0.0) + u * np.abs(yf)
    near = np.abs(yf - np.floor(yf) - 0.5) <= slack
    return near & (np.abs(got.astype(np.float64) - y_ref.astype(np.float64)) <= 1)


def _exact_value_half(case: Case) -> np.ndarray:
    """Elementwise: whether the op's exact rational result, from the case's own float numbers,
    ends in exactly .5 (a tie AUG-2 decides: half to even). For warps, the bilinear weights of
    a translation or zoom are computed exactly from the sample point."""
    x = case.arrays["x"]
    p = case.params
    op = base_op(case.op)
    if op == "adjust_brightness":
        f = Fraction(float(p["factor"]))
        vals = [Fraction(int(v)) * f for v in x.reshape(-1)]
        return np.array([v - math.floor(v) == Fraction(1, 2) for v in vals]).reshape(x.shape)
    if op == "channel_shift":
        off = np.broadcast_to(np.asarray(p["offset"], dtype=np.float64), (x.shape[1],))
        chan = np.broadcast_to(np.arange(x.shape[1])[None, :, None, None], x.shape).reshape(-1)
        vals = [Fraction(int(v)) + Fraction(float(off[c])) for v, c in zip(x.reshape(-1), chan)]
        return np.array([v - math.floor(v) == Fraction(1, 2) for v in vals]).reshape(x.shape)
    # Warps: a float64 result exactly at .5 whose weights are binary fractions (translations by
    # quarter pixels, zooms by powers of two) is exact; call every exact-.5 result exact here.
    yf = _call(Case(case.op, {**case.arrays, "x": x.astype(np.float64)}, p), ())
    return yf - np.floor(yf) == 0.5


def _photometric_ambiguous(case: Case, outs: tuple[Any, ...]) -> str | None:
    """AUG-24: uint8 results off by one where the value is within float32 rounding of .5,
    but not exactly .5 (an exact tie is AUG-2's: half to even)."""
    got = outs[0] if outs else None
    expected = OPS_MEASURE[base_op(case.op)](case)
    bad = _differing(case, got, expected)
    y_ref = expected[0][1]
    if bad is None or not bad.any() or y_ref.dtype.kind not in "iu":
        return None
    assert got is not None  # _differing gave an array, so got is one
    explained = _near_half(case, got, y_ref, INT_ROUNDOFF) & ~_exact_value_half(case)
    if (bad & ~explained).any():
        return None
    return (f"{int(bad.sum())} uint8 results off by one at values within float32 rounding of .5 "
            f"(AUG-2, AUG-24)")


OPS_MEASURE: dict[str, Callable[..., Expected]] = {
    **{op: _warp_measure for op in WARPS},
    **{op: _flip_measure for op in FLIPS},
    "adjust_brightness": _brightness_measure,
    "channel_shift": _shift_measure,
    "rescale": _rescale_measure,
    "featurewise_fit": _fit_measure,
    "featurewise_standardize": _featurewise_measure,
    "samplewise_standardize": _samplewise_measure,
}


def measure(case: Case, variants: tuple[str, ...] = ()) -> Expected:
    """The reference outputs of ``case`` (under ``variants``) with their AUG-24 error model."""
    return OPS_MEASURE[base_op(case.op)](case, variants)


# ------------------------------------------------------------------------------ registry

_CLAUSES: dict[str, tuple[str, ...]] = {
    "rotate": ("AUG-12", "AUG-11", "AUG-3", "AUG-4", "AUG-5", "AUG-6", "AUG-7", "AUG-8", "AUG-9",
               "AUG-10", "AUG-24"),
    "translate": ("AUG-13", "AUG-4", "AUG-5", "AUG-6", "AUG-7", "AUG-8", "AUG-9", "AUG-10", "AUG-24"),
    "zoom": ("AUG-14", "AUG-3", "AUG-4", "AUG-5", "AUG-6", "AUG-7", "AUG-8", "AUG-9", "AUG-10",
             "AUG-24"),
    "shear": ("AUG-15", "AUG-11", "AUG-3", "AUG-4", "AUG-5", "AUG-6", "AUG-7", "AUG-8", "AUG-9",
              "AUG-10", "AUG-24"),
    "affine": ("AUG-4", "AUG-3", "AUG-5", "AUG-6", "AUG-7", "AUG-8", "AUG-9", "AUG-10", "AUG-24"),
    "hflip": ("AUG-16",),
    "vflip": ("AUG-17",),
    "adjust_brightness": ("AUG-18", "AUG-2"),
    "channel_shift": ("AUG-19", "AUG-2"),
    "rescale": ("AUG-20",),
    "featurewise_fit": ("AUG-21",),
    "featurewise_standardize": ("AUG-22",),
    "samplewise_standardize": ("AUG-23",),
}


def _strategy(op: str, uint8: bool = False) -> Callable[[], st.SearchStrategy[Case]]:
    if op in WARPS:
        strategy = _warp_case(op, uint8)
    elif op in FLIPS:
        strategy = _flip_case(op, uint8)
    else:
        strategy = {"adjust_brightness": lambda: _brightness_case(uint8),
                    "channel_shift": lambda: _channel_shift_case(uint8),
                    "rescale": _rescale_case,
                    "featurewise_fit": _featurewise_fit_case,
                    "featurewise_standardize": _featurewise_standardize_case,
                    "samplewise_standardize": _samplewise_case}[op]()
    return lambda: strategy


def _ambiguous(op: str) -> Callable[[Case, tuple[Any, ...]], str | None] | None:
    hook = {**{w: _warp_ambiguous for w in WARPS}, "adjust_brightness": _photometric_ambiguous,
            "channel_shift": _photometric_ambiguous}.get(op)
    if hook is None:
        return None

    def ambiguous(case: Case, outs: tuple[Any, ...], dtype: str | None = None) -> str | None:
        try:
            return hook(case, outs)
        except (ArithmeticError, ValueError, TypeError, IndexError):  # outputs it cannot read: not ambiguous
            return None
    return ambiguous


def _outputs(op: str) -> tuple[str, ...]:
    return ("mean", "std") if op == "featurewise_fit" else ("y",)


SPECS: list[OpSpec] = []
for _op in FLOAT_OPS:
    _clauses = _CLAUSES[_op]
    SPECS.append(OpSpec(_op, _outputs(_op), _clauses, _strategy(_op), measure, size_clause="AUG-1",
                        exact_capable=False, ambiguous=_ambiguous(_op)))
    if _op in VALUE_PRESERVING:
        SPECS.append(OpSpec(f"{_op}_uint8", ("y",), _clauses + ("AUG-2",) * ("AUG-2" not in _clauses),
                            _strategy(_op, True), measure, size_clause="AUG-1", exact_capable=False,
                            ambiguous=_ambiguous(_op)))


# ------------------------------------------------------------------------------ variants

#: Per op, the spec's named variants the runner tries (each with the clause that names it
#: for that op), leaving out those that cannot change the op's result (``integer-centres``
#: of a transform about the centre, AUG-3).
_SAMPLING_VARIANTS = ("round-half-down", "round-half-even", "round-half-away", "constant-outside-centres",
                      "reflect-101")
_OP_VARIANTS: dict[str, tuple[str, ...]] = {
    "rotate": ("clockwise", "radians", "turns", "corner-pivot", "pivot-off-by-half") + _SAMPLING_VARIANTS,
    "translate": ("inverse-translation",) + _SAMPLING_VARIANTS,
    "zoom": ("zoom-shrinks", "corner-pivot", "pivot-off-by-half") + _SAMPLING_VARIANTS,
    "shear": ("clockwise", "shear-y", "shear-factor", "radians", "corner-pivot", "pivot-off-by-half")
    + _SAMPLING_VARIANTS,
    "affine": ("integer-centres", "inverse-matrix", "yx-order") + _SAMPLING_VARIANTS,
    "adjust_brightness": ("additive-brightness", "clip-unit-interval"),
    "channel_shift": ("clip-to-input-range", "clip-unit-interval"),
    "rescale": ("zero-disables",),
    "featurewise_fit": ("per-pixel-statistics", "sample-std"),
    "featurewise_standardize": ("epsilon-in-sqrt",),
    "samplewise_standardize": ("sample-std", "epsilon-in-sqrt", "std-floor", "per-channel-samplewise"),
}
#: Conventions libraries are seen to combine (a frame and a tie rule, say): tried as one
#: variant ``a+b``, since the diagnosis needs one variant that explains every failure.
COMBINED: dict[str, tuple[tuple[str, ...], ...]] = {
    "rotate": (("clockwise", "round-half-even"), ("corner-pivot", "clockwise")),
    "translate": (("inverse-translation", "round-half-even"),),
    "zoom": (("zoom-shrinks", "round-half-even"), ("zoom-shrinks", "round-half-away")),
    "affine": (("integer-centres", "round-half-even"), ("integer-centres", "reflect-101"),
               ("integer-centres", "constant-outside-centres"), ("inverse-matrix", "integer-centres"),
               ("inverse-matrix", "integer-centres", "round-half-away"), ("inverse-matrix", "yx-order"),
               ("inverse-matrix", "yx-order", "integer-centres"),
               ("inverse-matrix", "yx-order", "integer-centres", "constant-outside-centres")),
}
_INTEGER_ONLY = ("truncate-to-uint8",)
_FLOAT_ONLY = ("clip-unit-interval",)

#: Variant name -> what it means, for the report (from the spec's Variants lists).
DESCRIBE = {
    "integer-centres": "pixel centres at integer coordinates: an absolute matrix is read in a frame "
                       "half a pixel off the spec's (OpenCV warpAffine, SciPy ndimage, TF ImageProjectiveTransform)",
    "corner-pivot": "rotation/zoom/shear about the origin (top-left) instead of the image centre",
    "pivot-off-by-half": "the pivot is half a pixel right of and below the centre "
                         "(cv2.getRotationMatrix2D((w/2, h/2), ...) in OpenCV's integer-centre frame)",
    "inverse-matrix": "the matrix is used as the output-to-input map as given (PIL AFFINE, SciPy affine_transform)",
    "yx-order": "the matrix acts on (row, column) coordinates (SciPy ndimage)",
    "round-half-down": "nearest-neighbour ties go to the smaller index",
    "round-half-even": "nearest-neighbour ties go to the even index (rint, nearbyint)",
    "round-half-away": "nearest-neighbour ties go away from zero (C round)",
    "constant-outside-centres": "constant fill for points outside the outer pixel centres, no blending "
                                "with the fill (SciPy mode='constant')",
    "reflect-101": "'reflect' without repeating the edge pixel, dcb|abcd|cba (OpenCV REFLECT_101, "
                   "SciPy 'mirror', NumPy pad 'reflect')",
    "clockwise": "a positive angle turns clockwise",
    "radians": "the angle is read in radians",
    "turns": "the angle is read in fractions of a turn",
    "inverse-translation": "the shift is applied as the output-to-input offset: content moves by (-tx, -ty)",
    "zoom-shrinks": "the factor divides: above 1 shrinks the content (Keras zoom_range)",
    "shear-y": "the shear is along y",
    "shear-factor": "the parameter is the shear factor tan(angle) itself",
    "truncate-to-uint8": "integer results truncated towards zero instead of rounded half to even",
    "clip-unit-interval": "float results clipped to [0, 1]",
    "additive-brightness": "brightness adds its factor instead of multiplying (tf.image.adjust_brightness)",
    "clip-to-input-range": "each sample clipped to its own input range (Keras apply_channel_shift)",
    "zero-disables": "scale 0 means no rescaling (Keras rescale=0)",
    "per-pixel-statistics": "one mean/std per (c, i, j) over the samples (StandardScaler on flattened images)",
    "sample-std": "Bessel-corrected standard deviation (ddof = 1)",
    "epsilon-in-sqrt": "divides by sqrt(std² + eps), batch-norm style",
    "std-floor": "divides by max(std, 1/sqrt(C·H·W)) with no eps (tf.image.per_image_standardization)",
    "per-channel-samplewise": "statistics per sample and channel (instance normalisation)",
}


def _clause_of(op: str, name: str) -> str:
    """The clause naming variant ``name`` for ``op`` (``clockwise`` is AUG-12 for rotate,
    AUG-15 for shear; ``sample-std`` AUG-21 or AUG-23, ...)."""
    fn = base_op(op)
    for clause, names in A.AUG_VARIANTS.items():
        if name in names and name in A.AUG_OP_VARIANTS[fn] and clause in _CLAUSES[fn]:
            return clause
    return next(c for c, names in A.AUG_VARIANTS.items() if name in names)


def _variant_compute(names: tuple[str, ...]) -> Callable[[Case], Expected]:
    def compute(case: Case) -> Expected:
        try:
            return measure(case, names)
        except (ArithmeticError, TypeError) as exc:  # the diagnosis skips a variant it cannot compute
            raise ValueError(f"{'+'.join(names)}: {exc}") from exc
    return compute


def _variants() -> list[Variant]:
    out = []
    for op in FLOAT_OPS:
        names = _OP_VARIANTS.get(op, ())
        for suffix, extra, drop in (("", (), _INTEGER_ONLY), ("_uint8", _INTEGER_ONLY, _FLOAT_ONLY)):
            if suffix and op not in VALUE_PRESERVING:
                continue
            for name in names + (extra if op not in FLIPS else ()):
                if name in drop:
                    continue
                out.append(Variant(name, _clause_of(op, name), op + suffix, _variant_compute((name,)),
                                   DESCRIBE[name]))
            for combo in COMBINED.get(op, ()):
                out.append(Variant("+".join(combo), _clause_of(op, combo[0]), op + suffix,
                                   _variant_compute(combo), "; ".join(DESCRIBE[n] for n in combo)))
    return out


_MY_OPS = frozenset(FLOAT_OPS + UINT8_OPS)


# -------------------------------------------------------------------------------- corpus


def _img(seed: int, shape: tuple[int, int, int, int], uint8: bool = False) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if uint8:
        return rng.integers(0, 256, shape).astype(np.uint8)
    return rng.uniform(-1000, 1000, shape).round(3)


def _picture(seed: int, shape: tuple[int, int, int, int], uint8: bool = False) -> np.ndarray:
    """A corpus image a reader can follow in the HTML report: a diagonal ramp, a bright L in
    the top-left quarter (which way it turns or moves shows at a glance), and seeded noise so
    that no two pixels are equal. In [0, 255] for uint8, [-1000, 1000] otherwise."""
    n, c, h, w = shape
    rng = np.random.default_rng(seed)
    ii, jj = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    base = 0.2 * (ii / max(h - 1, 1)) + 0.1 * (jj / max(w - 1, 1))
    mark = ((jj == 0) & (ii < (h + 1) // 2)) | ((ii == (h + 1) // 2 - 1) & (jj < (w + 1) // 2))
    pic = base + 0.6 * mark
    x = pic[None, None] + rng.uniform(0, 0.05, shape) + 0.02 * np.arange(c)[None, :, None, None]
    if uint8:
        return np.clip(np.rint(x * 255), 0, 255).astype(np.uint8)
    return (x * 2000 - 1000).round(3)


def _warp(op: str, note: str, shape: tuple[int, int, int, int], interp: str, mode: str,
          fill: float = 0.0, uint8: bool = False, matrix: Any = None, **params: Any) -> Case:
    arrays = {"x": _picture(len(note), shape, uint8)}
    if matrix is not None:
        arrays["matrix"] = np.asarray(matrix, dtype=np.float64)
    params.update(interpolation=interp, fill_mode=mode, fill_value=fill)
    return Case(op, arrays, params, False, note + (" (uint8)" if uint8 else ""))


def corpus_cases() -> list[Case]:
    """The curated augmentation cases: where the conventions of AUG-3 ... AUG-23 part."""
    lowc = _img(5, (2, 2, 3, 4)) / 1000 * 0.01 + 0.25
    stat = np.round(_img(6, (3, 2, 4, 5)) / 10, 3)
    mean, std = A.featurewise_fit(stat)
    cases = [
        _warp("translate", "half-pixel shift: every point on a nearest tie", (2, 3, 5, 6), "nearest",
              "constant", tx=0.5, ty=-0.5),
        _warp("translate", "half-pixel shift, negative side of the tie", (2, 2, 4, 5), "nearest", "nearest",
              tx=-1.5, ty=0.5),
        _warp("translate", "reflect fill: edge pixel repeated or not", (2, 2, 5, 6), "bilinear", "reflect",
              tx=2.25, ty=-1.5),
        _warp("translate", "ties outside the image, read through reflect", (2, 2, 4, 6), "nearest", "reflect",
              tx=2.5, ty=0.0),
        _warp("translate", "wrap fill", (1, 3, 4, 7), "bilinear", "wrap", tx=1.5, ty=0.75),
        _warp("translate", "constant fill blends within half a pixel", (2, 2, 5, 4), "bilinear",
              "constant", fill=2.5, tx=0.25, ty=-0.25),
        _warp("translate", "sub-pixel shift, nearest fill", (2, 3, 4, 6), "bilinear", "nearest",
              tx=-1.25, ty=2.0),
        _warp("translate", "half-pixel shift averages neighbours: .5 ties round to even", (2, 2, 4, 5),
              "bilinear", "nearest", uint8=True, tx=0.5, ty=0.0),
        _warp("translate", "half-pixel shift: every point on a nearest tie", (2, 3, 5, 6), "nearest",
              "constant", uint8=True, tx=0.5, ty=-0.5),
        _warp("rotate", "quarter turn of an odd H-W image: centres land on ties", (2, 2, 4, 7), "nearest",
              "constant", angle=90.0),
        _warp("rotate", "30 degrees counter-clockwise", (2, 3, 5, 6), "bilinear", "constant", angle=30.0),
        _warp("rotate", "quarter turn of a square image is rot90", (1, 2, 5, 5), "nearest", "reflect",
              angle=90.0),
        _warp("rotate", "arbitrary angle, nearest, wrap", (1, 2, 6, 5), "nearest", "wrap", angle=-37.5),
        _warp("rotate", "arbitrary angle, bilinear, reflect", (2, 1, 7, 6), "bilinear", "reflect",
              angle=200.25),
        _warp("rotate", "30 degrees, rounded to uint8", (2, 3, 5, 6), "bilinear", "constant", uint8=True,
              angle=30.0),
        _warp("zoom", "zoom by 2: nearest ties on the odd axis", (2, 2, 5, 6), "nearest", "nearest",
              factor=2.0),
        _warp("zoom", "anisotropic zoom, reflect", (2, 2, 5, 6), "bilinear", "reflect", factor=(1.5, 0.75)),
        _warp("zoom", "zoom out by 2 leaves a border of fill", (2, 2, 6, 7), "bilinear", "constant",
              fill=-1.0, factor=0.5),
        _warp("zoom", "zoom out by 2 samples half-way between pixels: .5 ties round to even", (2, 2, 6, 8),
              "bilinear", "nearest", uint8=True, factor=0.5),
        _warp("shear", "45 degrees: rows move by their distance below the centre", (2, 2, 6, 5), "nearest",
              "constant", angle=45.0),
        _warp("shear", "20 degrees, bilinear", (2, 3, 5, 6), "bilinear", "nearest", angle=20.0),
        _warp("affine", "absolute matrix: the frame matters", (2, 2, 5, 6), "bilinear", "constant",
              matrix=[[0.8, 0.3, 1.0], [-0.2, 1.1, -0.5]]),
        _warp("affine", "absolute matrix, nearest, reflect", (2, 2, 6, 5), "nearest", "reflect",
              matrix=[[1.2, -0.4, 0.7], [0.3, 0.9, 1.1]]),
        _warp("affine", "a translation matrix: which way does it map?", (2, 2, 5, 6), "nearest", "constant",
              fill=-2.0, matrix=[[1.0, 0.0, 1.25], [0.0, 1.0, -0.75]]),
        _warp("affine", "absolute matrix, rounded to uint8", (2, 3, 5, 4), "bilinear", "nearest", uint8=True,
              matrix=[[0.8, 0.3, 1.0], [-0.2, 1.1, -0.5]]),
        Case("hflip", {"x": _picture(1, (2, 3, 4, 5))}, {}, False, "non-square batch"),
        Case("vflip", {"x": _picture(2, (2, 3, 5, 4))}, {}, False, "non-square batch"),
        Case("hflip", {"x": _picture(1, (2, 3, 4, 5), True)}, {}, False, "non-square batch (uint8)"),
        Case("vflip", {"x": _picture(2, (2, 3, 5, 4), True)}, {}, False, "non-square batch (uint8)"),
        Case("adjust_brightness", {"x": _img(3, (2, 3, 4, 5))}, {"factor": 0.7}, False, "factor 0.7"),
        Case("adjust_brightness", {"x": np.arange(2 * 3 * 4 * 5, dtype=np.uint8).reshape(2, 3, 4, 5) * 2 + 1},
             {"factor": 1.5}, False, "odd values times 1.5: .5 ties and saturation (uint8)"),
        Case("channel_shift", {"x": _img(4, (2, 3, 4, 5))}, {"offset": [-50.0, 20.5, 300.0]}, False,
             "one offset per channel"),
        Case("channel_shift", {"x": _img(4, (2, 3, 4, 5), True)}, {"offset": [-50.0, 21.5, 300.0]}, False,
             "offsets saturate at 0 and 255, a .5 offset makes ties (uint8)"),
        Case("rescale", {"x": _img(5, (2, 3, 4, 5), True)}, {"scale": 1 / 255, "offset": 0.0}, False,
             "uint8 to [0, 1] (uint8)"),
        Case("rescale", {"x": _img(5, (2, 3, 4, 5))}, {"scale": 0.0, "offset": 1.0}, False,
             "scale 0 gives the offset"),
        Case("featurewise_fit", {"x": stat}, {}, False, "per-channel statistics over N, H, W"),
        Case("featurewise_standardize", {"x": stat, "mean": mean, "std": std}, {"eps": 1e-3}, False,
             "with its own fit, eps 1e-3"),
        Case("samplewise_standardize", {"x": stat}, {"eps": 1e-3}, False, "statistics over C, H, W"),
        Case("samplewise_standardize", {"x": lowc}, {"eps": 1e-6}, False,
             "low contrast: std far below 1/sqrt(CHW)"),
    ]
    return cases


def _corpus() -> dict[str, list[Case]]:
    out: dict[str, list[Case]] = {}
    for case in corpus_cases():
        uint8 = case.arrays["x"].dtype == np.uint8 and case.op in VALUE_PRESERVING
        out.setdefault(case.op + ("_uint8" if uint8 else ""), []).append(case)
    return out


#: This family's named variants and curated cases (composed into conformance.variants.VARIANTS and
#: conformance.corpus.CORPUS).
VARIANTS: list[Variant] = _variants()
CORPUS: dict[str, list[Case]] = _corpus()
