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
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import reference.augmentation as A

from .ops import Expected, OpSpec, register
from .strategies import augmentation as S
from .strategies.conv import Case
from .tolerance import C_SAFETY, UNIT_ROUNDOFF

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


def uint8_aliases(cls: type) -> type:
    """Class decorator for adapters: ``<op>_uint8`` calls ``<op>`` for every value-preserving
    op the class defines (the runner calls a uint8 op's cases through that name)."""
    for op in VALUE_PRESERVING:
        if callable(getattr(cls, op, None)) and not hasattr(cls, f"{op}_uint8"):
            setattr(cls, f"{op}_uint8", _alias(op))
    return cls


def _alias(op: str) -> Callable[..., Any]:
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        return getattr(self, op)(*args, **kwargs)
    method.__name__ = f"{op}_uint8"
    return method


# ----------------------------------------------------------------------------- strategies


def _fill(uint8: bool) -> st.SearchStrategy[float]:
    """Fill values exact in every run dtype: eighths in [-10, 10], or 0..255 for uint8."""
    if uint8:
        return st.one_of(st.just(0.0), st.integers(0, 255).map(float))
    return st.one_of(st.just(0.0), st.integers(-80, 80).map(lambda k: k / 8))


def _image(uint8: bool, max_side: int = MAX_SIDE) -> st.SearchStrategy[np.ndarray]:
    shapes = S.image_shapes(max_side=max_side)
    if uint8:
        return S.images(shapes, dtype="uint8")
    # Seeded uniform data: every pixel differs from its neighbours (a convention that
    # moves content by a fraction of a pixel shows everywhere), with Hypothesis' own
    # arrays (zeros, repeats, extremes) a third of the time.
    seeded = st.tuples(shapes, st.integers(0, 2**32 - 1)).map(
        lambda t: np.random.default_rng(t[1]).uniform(-1000, 1000, t[0]).round(3))
    return st.one_of(seeded, seeded, S.images(shapes))


def _sampling(draw: Any, uint8: bool) -> dict[str, Any]:
    return {"interpolation": draw(S.interpolations()), "fill_mode": draw(S.fill_modes()),
            "fill_value": draw(_fill(uint8))}


def _zoom_factor(draw: Any) -> Any:
    f = draw(st.one_of(S.zoom_factors(), S.zoom_pairs()))
    return tuple(f) if isinstance(f, (tuple, list)) else f


@st.composite
def _warp_case(draw: Any, op: str, uint8: bool = False) -> Case:
    x = draw(_image(uint8))
    h, w = x.shape[2], x.shape[3]
    arrays: dict[str, np.ndarray] = {"x": x}
    if op == "rotate":
        params: dict[str, Any] = {"angle": draw(S.angles())}
    elif op == "translate":
        tx, ty = draw(S.translations(max_abs=float(max(h, w))))
        params = {"tx": tx, "ty": ty}
    elif op == "zoom":
        params = {"factor": _zoom_factor(draw)}
    elif op == "shear":
        params = {"angle": draw(S.shear_angles())}
    else:  # affine: a well-conditioned matrix, shifts up to the image size
        arrays["matrix"] = draw(S.affine_matrices(max_shift=float(max(h, w))))
        params = {}
    params.update(_sampling(draw, uint8))
    return Case(op, arrays, params, False, "uint8 image" if uint8 else "")


@st.composite
def _flip_case(draw: Any, op: str, uint8: bool = False) -> Case:
    return Case(op, {"x": draw(_image(uint8))}, {}, False, "uint8 image" if uint8 else "")


@st.composite
def _brightness_case(draw: Any, uint8: bool = False) -> Case:
    x = draw(_image(uint8))
    return Case("adjust_brightness", {"x": x}, {"factor": draw(S.brightness_factors())}, False,
                "uint8 image" if uint8 else "")


@st.composite
def _channel_shift_case(draw: Any, uint8: bool = False) -> Case:
    x = draw(_image(uint8))
    off = draw(S.channel_offsets(x.shape[1]))
    return Case("channel_shift", {"x": x}, {"offset": off}, False, "uint8 image" if uint8 else "")


@st.composite
def _rescale_case(draw: Any) -> Case:
    x = draw(st.one_of(_image(False), _image(True)))  # rescale(x_uint8, 1/255) is the usual call
    offset = draw(st.one_of(st.just(0.0), st.just(-1.0), st.floats(-10, 10, allow_nan=False)))
    return Case("rescale", {"x": x}, {"scale": draw(S.rescale_factors()), "offset": offset}, False,
                "uint8 image" if x.dtype == np.uint8 else "")


def _stat_batches(**kw: Any) -> st.SearchStrategy[np.ndarray]:
    return S.standardizable_batches(**kw).map(lambda x: x.round(3))


@st.composite
def _featurewise_fit_case(draw: Any) -> Case:
    x = draw(st.one_of(_stat_batches(), _stat_batches(across_samples=True)))
    return Case("featurewise_fit", {"x": x}, {}, False)


@st.composite
def _featurewise_standardize_case(draw: Any) -> Case:
    x = draw(_stat_batches())
    c = x.shape[1]
    if draw(st.booleans()):
        mean, std = A.featurewise_fit(x)
    else:
        mean = np.asarray(draw(st.lists(st.floats(-100, 100), min_size=c, max_size=c)), dtype=np.float64)
        std = np.asarray(draw(st.lists(st.floats(0.5, 50), min_size=c, max_size=c)), dtype=np.float64)
    eps = draw(st.sampled_from([A.DEFAULT_EPS, 1e-7, 1e-3, 0.1]))
    return Case("featurewise_standardize", {"x": x, "mean": mean, "std": std}, {"eps": eps}, False)


@st.composite
def _samplewise_case(draw: Any) -> Case:
    x = draw(_stat_batches())
    if draw(st.integers(0, 3)) == 0:
        # A low-contrast batch: per-sample deviations far below 1/sqrt(C·H·W), where
        # TensorFlow's std floor (AUG-23 std-floor) and an eps under the root differ.
        scale = draw(st.sampled_from([1e-3, 1e-2, 3e-2]))
        x = np.round(x[:, :, :1, :1] + (x - x.mean()) / max(np.abs(x - x.mean()).max(), 1) * scale, 9)
    eps = draw(st.sampled_from([A.DEFAULT_EPS, 1e-3]))
    return Case("samplewise_standardize", {"x": x}, {"eps": eps}, False)


# ------------------------------------------------------------------ sample coordinates


def _shape(case: Case) -> tuple[int, int]:
    x = case.arrays["x"]
    return x.shape[2], x.shape[3]


def _split(op: str, variants: tuple[str, ...]) -> tuple[frozenset[str], frozenset[str]]:
    """(matrix variants, sampling variants) of a warp op's variant names."""
    v = frozenset(variants)
    if op == "affine":
        return frozenset(), v
    return v & A.AUG_OP_VARIANTS[f"{op}_matrix"], v & A.AUG_OP_VARIANTS["affine"]


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
    return sum(A._tap(x4, i0 + di, j0 + dj, mode, fill, sv) for di in (0, 1) for dj in (0, 1))


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


def _fragile(case: Case) -> bool:
    """Whether an exact tie of this case exists only through exact trigonometry (AUG-11):
    a quarter-turn rotation or a shear by a multiple of 45°, where a library's cos(π/2)
    = 6e-17 or tan(π/4) = 0.9999999999999999 legitimately moves the point off the tie."""
    op, p = base_op(case.op), case.params
    if op == "rotate":
        return float(p["angle"]) % 90 == 0 and float(p["angle"]) % 180 != 0
    if op == "shear":
        return float(p["angle"]) % 45 == 0 and float(p["angle"]) != 0
    return False


def _tie_distance(t: np.ndarray) -> np.ndarray:
    """Distance of ``t = u + 1/2`` from the nearest integer, where nearest rounding flips."""
    return np.abs(t - np.round(t))


def _differing(case: Case, got: np.ndarray, expected: Expected) -> np.ndarray | None:
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
    u_run = _roundoff(got)
    uu, vv, q = sample_points(case)
    eps = COORD_ULPS * u_run * q
    nearest = case.params.get("interpolation", "bilinear") == "nearest"
    explained = np.zeros(bad.shape[2:], dtype=bool)[None, None] & bad
    reasons = []
    if nearest:
        d = np.minimum(_tie_distance(uu + 0.5), _tie_distance(vv + 0.5))
        near = (d <= eps) & ((d > 0) | _fragile(case))
        explained = explained | near[None, None]
        reasons.append(f"sample points within {eps:.2g} px of a nearest-neighbour rounding tie "
                       f"(AUG-5, AUG-24)")
    y_ref = expected[0][1]
    if y_ref.dtype.kind in "iu" and not nearest:
        yf = _call(Case(case.op, {**case.arrays, "x": case.arrays["x"].astype(np.float64)},
                        case.params), ())
        fill = abs(float(case.params.get("fill_value", 0.0)))
        s = _call(case, (), np.abs(case.arrays["x"].astype(np.float64)), fill_value=fill)
        slack = C_SAFETY * 4 * u_run * (s + COORD_ULPS / 4 * q * _taps_abs(case, uu, vv, ()))
        half = np.abs(yf - np.floor(yf) - 0.5) <= slack
        one_off = np.abs(got.astype(np.float64) - y_ref.astype(np.float64)) <= 1
        explained = explained | (half & one_off)
        reasons.append("uint8 results within float32 rounding of a .5 tie (AUG-2, AUG-24)")
    if (bad & ~explained).any():
        return None
    return f"{int(bad.sum())} differing pixels, all at " + " or ".join(reasons)


def _photometric_ambiguous(case: Case, outs: tuple[Any, ...]) -> str | None:
    """uint8 results off by one where the float64 value is within float32 rounding of .5."""
    got = outs[0] if outs else None
    expected = OPS_MEASURE[base_op(case.op)](case)
    bad = _differing(case, got, expected)
    y_ref = expected[0][1]
    if bad is None or not bad.any() or y_ref.dtype.kind not in "iu":
        return None
    yf = _call(Case(case.op, {**case.arrays, "x": case.arrays["x"].astype(np.float64)}, case.params), ())
    half = np.abs(yf - np.floor(yf) - 0.5) <= 4 * INT_ROUNDOFF * (np.abs(yf) + 1)
    one_off = np.abs(got.astype(np.float64) - y_ref.astype(np.float64)) <= 1
    if (bad & ~(half & one_off)).any():
        return None
    return f"{int(bad.sum())} uint8 results off by one at a value within float32 rounding of .5 (AUG-2, AUG-24)"


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
        return lambda: _warp_case(op, uint8)
    if op in FLIPS:
        return lambda: _flip_case(op, uint8)
    return {"adjust_brightness": lambda: _brightness_case(uint8),
            "channel_shift": lambda: _channel_shift_case(uint8),
            "rescale": _rescale_case,
            "featurewise_fit": _featurewise_fit_case,
            "featurewise_standardize": _featurewise_standardize_case,
            "samplewise_standardize": _samplewise_case}[op]


def _ambiguous(op: str) -> Callable[[Case, tuple[Any, ...]], str | None] | None:
    if op in WARPS:
        return _warp_ambiguous
    if op in ("adjust_brightness", "channel_shift"):
        return _photometric_ambiguous
    return None


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
register(*SPECS)


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
    "zoom": (("zoom-shrinks", "round-half-even"),),
    "affine": (("integer-centres", "round-half-even"), ("integer-centres", "reflect-101"),
               ("integer-centres", "constant-outside-centres"), ("inverse-matrix", "yx-order"),
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
    return lambda case: measure(case, names)


def _variants() -> list[Any]:
    from .variants import Variant

    out = []
    for op in FLOAT_OPS:
        names = _OP_VARIANTS.get(op, ())
        for suffix, extra, drop in (("", (), _INTEGER_ONLY), ("_uint8", _INTEGER_ONLY, _FLOAT_ONLY)):
            if suffix and op not in VALUE_PRESERVING:
                continue
            for name in names + extra:
                if name in drop:
                    continue
                out.append(Variant(name, _clause_of(op, name), op + suffix, _variant_compute((name,)),
                                   DESCRIBE[name]))
            for combo in COMBINED.get(op, ()):
                out.append(Variant("+".join(combo), _clause_of(op, combo[0]), op + suffix,
                                   _variant_compute(combo), "; ".join(DESCRIBE[n] for n in combo)))
    return out


def _register_variants() -> None:
    from .variants import VARIANTS

    VARIANTS.extend(_variants())


def _register_corpus() -> None:
    from .corpus import CORPUS
    from .corpus_augmentation import cases

    for case in cases():
        op = case.op + ("_uint8" if case.arrays["x"].dtype == np.uint8 and case.op in VALUE_PRESERVING
                        else "")
        CORPUS.setdefault(op, []).append(case)
