"""Hypothesis strategies for the augmentation clauses (AUG-1 ... AUG-23).

Every strategy builds valid cases by construction, never by filtering: sizes are drawn
independently so images are non-square and of both parities, batches and channel counts
go above 1, and sub-pixel parameters (quarter pixels, arbitrary fractions) are drawn on
purpose next to the whole-pixel and quarter-turn values where conventions diverge most
visibly. Each docstring says what the strategy shrinks towards, so a failure found by
the runner or by a property test reads the same.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from reference.augmentation import AUG_OP_VARIANTS, FILL_MODES, INTERPOLATIONS, LAYOUTS

Shape = tuple[int, int, int, int]


def image_shapes(*, min_side: int = 1, max_side: int = 8, min_batch: int = 1, max_batch: int = 3,
                 max_channels: int = 3) -> st.SearchStrategy[Shape]:
    """``(N, C, H, W)`` with ``H`` and ``W`` drawn independently (square or not, even or odd).

    Shrinks towards ``(min_batch, 1, min_side, min_side)``.
    """
    return st.tuples(st.integers(min_batch, max_batch), st.integers(1, max_channels),
                     st.integers(min_side, max_side), st.integers(min_side, max_side))


def square_shapes(*, min_side: int = 1, max_side: int = 8, max_batch: int = 3,
                  max_channels: int = 3) -> st.SearchStrategy[Shape]:
    """``(N, C, S, S)``, both parities of ``S``. Shrinks towards ``(1, 1, min_side, min_side)``."""
    return st.tuples(st.integers(1, max_batch), st.integers(1, max_channels),
                     st.integers(min_side, max_side)).map(lambda t: (t[0], t[1], t[2], t[2]))


def pixel_values(dtype: str = "float64") -> st.SearchStrategy[Any]:
    """Finite pixel values: floats in ``[-1000, 1000]`` or the full integer range.

    Shrinks towards 0.
    """
    if dtype == "uint8":
        return st.integers(0, 255)
    if dtype == "int16":
        return st.integers(-32768, 32767)
    return st.floats(-1000, 1000, allow_nan=False, allow_infinity=False, width=64)


def images(shape: Shape | st.SearchStrategy[Shape] | None = None, *,
           dtype: str = "float64") -> st.SearchStrategy[np.ndarray]:
    """An NCHW image batch of ``dtype`` (``"float64"``, ``"uint8"`` or ``"int16"``).

    ``shape`` is fixed, a strategy, or ``None`` for :func:`image_shapes`. Shrinks towards
    the smallest shape filled with zeros.
    """
    shapes = image_shapes() if shape is None else shape
    if isinstance(shapes, tuple):
        shapes = st.just(shapes)
    return shapes.flatmap(lambda s: arrays(np.dtype(dtype), s, elements=pixel_values(dtype)))


def ramp_images(shape: Shape | st.SearchStrategy[Shape] | None = None
                ) -> st.SearchStrategy[tuple[np.ndarray, np.ndarray]]:
    """``(x, coeffs)`` with ``x[n, c, i, j] = α (j + 1/2) + β (i + 1/2) + γ`` per ``(n, c)``.

    ``coeffs`` has shape ``(N, C, 3)`` holding ``(α, β, γ)``: an image that is an affine
    function of the pixel centres (AUG-3), which bilinear interpolation (AUG-6)
    reproduces exactly, so composition laws can be checked without blur. Coefficients are
    multiples of 1/8 in ``[-4, 4]`` (γ in ``[-16, 16]``) so the ramp itself is exact.
    Shrinks towards the smallest shape with all coefficients 0.
    """
    shapes = image_shapes(min_side=4, max_side=10) if shape is None else shape
    if isinstance(shapes, tuple):
        shapes = st.just(shapes)

    def build(s: Shape) -> st.SearchStrategy[tuple[np.ndarray, np.ndarray]]:
        n, c, h, w = s
        eighth = st.integers(-32, 32).map(lambda k: k / 8)
        const = st.integers(-128, 128).map(lambda k: k / 8)
        coeffs = st.lists(st.tuples(eighth, eighth, const), min_size=n * c, max_size=n * c)
        return coeffs.map(lambda cs: _ramp(s, np.array(cs, dtype=np.float64).reshape(n, c, 3)))

    return shapes.flatmap(build)


def _ramp(shape: Shape, coeffs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    _, _, h, w = shape
    xs = np.arange(w) + 0.5
    ys = np.arange(h) + 0.5
    x = (coeffs[..., 0, None, None] * xs[None, None, None, :]
         + coeffs[..., 1, None, None] * ys[None, None, :, None] + coeffs[..., 2, None, None])
    return x, coeffs


def layouts() -> st.SearchStrategy[str]:
    """``"NCHW"`` or ``"HWC"``. Shrinks towards ``"NCHW"``."""
    return st.sampled_from(LAYOUTS)


def interpolations() -> st.SearchStrategy[str]:
    """``"nearest"`` or ``"bilinear"``. Shrinks towards ``"nearest"``."""
    return st.sampled_from(INTERPOLATIONS)


def fill_modes() -> st.SearchStrategy[str]:
    """One of the AUG-7 ... AUG-10 fill modes. Shrinks towards ``"constant"``."""
    return st.sampled_from(FILL_MODES)


def fill_values() -> st.SearchStrategy[float]:
    """Finite fill values in ``[-10, 10]``, sub-unit ones included. Shrinks towards 0."""
    return st.one_of(st.just(0.0), st.floats(-10, 10, allow_nan=False, allow_infinity=False))


def quarter_turns() -> st.SearchStrategy[float]:
    """Multiples of 90 degrees in ``[-720, 720]``. Shrinks towards 0."""
    return st.integers(-8, 8).map(lambda k: 90.0 * k)


def angles(*, max_abs: float = 360.0) -> st.SearchStrategy[float]:
    """Rotation angles in degrees: quarter and eighth turns, whole degrees, and arbitrary
    sub-degree fractions, in ``[-max_abs, max_abs]``. Shrinks towards 0.
    """
    return st.one_of(
        st.integers(-int(max_abs // 90), int(max_abs // 90)).map(lambda k: 90.0 * k),
        st.integers(-int(max_abs // 45), int(max_abs // 45)).map(lambda k: 45.0 * k),
        st.integers(-int(max_abs), int(max_abs)).map(float),
        st.floats(-max_abs, max_abs, allow_nan=False, allow_infinity=False),
    )


def shear_angles(*, max_abs: float = 60.0) -> st.SearchStrategy[float]:
    """Shear angles in degrees inside ``(-90, 90)``: 0, ±45 when allowed, whole degrees and
    sub-degree fractions in ``[-max_abs, max_abs]``. Shrinks towards 0.
    """
    special = [0.0] + ([45.0, -45.0] if max_abs >= 45 else [])
    return st.one_of(st.sampled_from(special),
                     st.integers(-int(max_abs), int(max_abs)).map(float),
                     st.floats(-max_abs, max_abs, allow_nan=False, allow_infinity=False))


def shifts(*, max_abs: float = 10.0) -> st.SearchStrategy[float]:
    """One translation in pixels: whole pixels, half and quarter pixels, and arbitrary
    fractions in ``[-max_abs, max_abs]``. Shrinks towards 0.
    """
    m = int(max_abs)
    return st.one_of(st.integers(-m, m).map(float),
                     st.integers(-4 * m, 4 * m).map(lambda k: k / 4),
                     st.floats(-max_abs, max_abs, allow_nan=False, allow_infinity=False))


def translations(*, max_abs: float = 10.0) -> st.SearchStrategy[tuple[float, float]]:
    """``(tx, ty)`` pairs of :func:`shifts`. Shrinks towards ``(0, 0)``."""
    return st.tuples(shifts(max_abs=max_abs), shifts(max_abs=max_abs))


def whole_pixel_translations(*, max_abs: int = 10) -> st.SearchStrategy[tuple[int, int]]:
    """``(tx, ty)`` whole-pixel shifts. Shrinks towards ``(0, 0)``."""
    return st.tuples(st.integers(-max_abs, max_abs), st.integers(-max_abs, max_abs))


def zoom_factors(*, low: float = 0.25, high: float = 4.0) -> st.SearchStrategy[float]:
    """Positive zoom factors in ``[low, high]``: 1, powers of two, and arbitrary values
    on both sides of 1. Shrinks towards 1.
    """
    special = [f for f in (1.0, 2.0, 0.5, 4.0, 0.25) if low <= f <= high]
    return st.one_of(st.sampled_from(special),
                     st.floats(low, high, allow_nan=False, allow_infinity=False))


def zoom_pairs(*, low: float = 0.25, high: float = 4.0) -> st.SearchStrategy[tuple[float, float]]:
    """Anisotropic ``(f_x, f_y)`` zooms. Shrinks towards ``(1, 1)``."""
    return st.tuples(zoom_factors(low=low, high=high), zoom_factors(low=low, high=high))


def affine_matrices(*, max_shift: float = 4.0) -> st.SearchStrategy[np.ndarray]:
    """Well-conditioned 2x3 input-to-output matrices (AUG-4), built (never filtered) as
    ``translation · rotation · shear · zoom`` from drawn parameters: any angle, shear
    within ±45°, zooms ``(f_x, f_y)`` in ``[0.5, 2]`` and shifts within ``max_shift``
    pixels, so the determinant is ``f_x f_y`` in ``[0.25, 4]``.

    Shrinks towards the identity.
    """
    def build(p: tuple[float, float, tuple[float, float], tuple[float, float]]) -> np.ndarray:
        angle, shear, (fx, fy), (tx, ty) = p
        t = math.radians(angle)
        rot = np.array([[math.cos(t), math.sin(t)], [-math.sin(t), math.cos(t)]])
        sh = np.array([[1.0, math.tan(math.radians(shear))], [0.0, 1.0]])
        lin = rot @ sh @ np.diag([fx, fy])
        return np.hstack([lin, [[tx], [ty]]])

    return st.tuples(angles(), shear_angles(max_abs=45.0), zoom_pairs(low=0.5, high=2.0),
                     translations(max_abs=max_shift)).map(build)


def brightness_factors() -> st.SearchStrategy[float]:
    """Non-negative brightness factors in ``[0, 4]``: 0, 1, halves and arbitrary values.
    Shrinks towards 1.
    """
    return st.one_of(st.just(1.0), st.integers(0, 8).map(lambda k: k / 2),
                     st.floats(0, 4, allow_nan=False, allow_infinity=False))


def channel_offsets(channels: int) -> st.SearchStrategy[Any]:
    """An AUG-19 offset for ``channels`` channels: one float, or a list of ``channels``.
    Shrinks towards the scalar 0.
    """
    value = st.floats(-300, 300, allow_nan=False, allow_infinity=False)
    return st.one_of(value, st.lists(value, min_size=channels, max_size=channels))


def rescale_factors() -> st.SearchStrategy[float]:
    """Finite rescale factors: 1/255, 1/127.5, 0, and arbitrary ones in ``[-4, 4]``.
    Shrinks towards 1/255.
    """
    return st.one_of(st.sampled_from([1 / 255, 1 / 127.5, 1.0, 0.0, 2.0]),
                     st.floats(-4, 4, allow_nan=False, allow_infinity=False))


def standardizable_batches(shape: Shape | st.SearchStrategy[Shape] | None = None, *,
                           across_samples: bool = False) -> st.SearchStrategy[np.ndarray]:
    """NCHW float batches with a spread of at least 1 where the standardisations measure it.

    Built, not filtered, from a batch drawn in ``[-100, 100]``. By default every
    ``(n, c)`` gets its first pixel set to ``lo`` and its last to ``lo + gap`` (``gap`` in
    ``[1, 50]``, needs ``H·W >= 2``), bounding the per-channel (AUG-21) and per-sample
    (AUG-23) deviations away from 0. With ``across_samples`` (for per-pixel statistics)
    sample 1 becomes sample 0 plus a gap in ``[1, 50]`` at every pixel instead (needs
    ``N >= 2``; the default shapes then start at 2 samples). The "std 1" laws are then
    not dominated by ``eps``. Shrinks towards zeros with gaps of 1.
    """
    if shape is None:
        shapes = image_shapes(min_side=2, max_side=6, min_batch=2 if across_samples else 1)
    else:
        shapes = st.just(shape) if isinstance(shape, tuple) else shape
    value = st.floats(-100, 100, allow_nan=False, allow_infinity=False)
    gap = st.floats(1, 50, allow_nan=False)

    def build(s: Shape) -> st.SearchStrategy[np.ndarray]:
        if across_samples:
            return st.tuples(arrays(np.float64, s, elements=value),
                             arrays(np.float64, s[1:], elements=gap)).map(_spread_samples)
        return st.tuples(arrays(np.float64, s, elements=value), value, gap).map(_spread)

    return shapes.flatmap(build)


def _spread(t: tuple[np.ndarray, float, float]) -> np.ndarray:
    x, lo, gap = t
    x = x.copy()
    x[:, :, 0, 0] = lo
    x[:, :, -1, -1] = lo + gap
    return x


def _spread_samples(t: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    x, gaps = t
    x = x.copy()
    x[1] = x[0] + gaps
    return x


def variant_names(op: str) -> st.SearchStrategy[str]:
    """One variant name that ``op`` accepts (``AUG_OP_VARIANTS``). Shrinks towards the
    alphabetically first."""
    return st.sampled_from(sorted(AUG_OP_VARIANTS[op]))


GEOMETRIC_OPS = ("rotate", "translate", "zoom", "shear", "hflip", "vflip")


@st.composite
def geometric_cases(draw: st.DrawFn, *, max_side: int = 8) -> dict[str, Any]:
    """A complete call of one geometric transform, for the conformance runner.

    Returns ``{"op", "x" (NCHW float64), "args" (positional parameters after x),
    "kwargs" (interpolation, fill_mode, fill_value; none for flips)}``. Shrinks towards
    ``rotate`` by 0 of a ``1×1`` zero image, nearest, constant 0.
    """
    op = draw(st.sampled_from(GEOMETRIC_OPS))
    x = draw(images(image_shapes(max_side=max_side)))
    if op == "rotate":
        args: tuple[Any, ...] = (draw(angles()),)
    elif op == "translate":
        args = draw(translations(max_abs=float(max_side)))
    elif op == "zoom":
        args = (draw(st.one_of(zoom_factors(), zoom_pairs())),)
    elif op == "shear":
        args = (draw(shear_angles()),)
    else:
        return {"op": op, "x": x, "args": (), "kwargs": {}}
    kwargs = {"interpolation": draw(interpolations()), "fill_mode": draw(fill_modes()),
              "fill_value": draw(fill_values())}
    return {"op": op, "x": x, "args": args, "kwargs": kwargs}


__all__ = [
    "image_shapes", "square_shapes", "pixel_values", "images", "ramp_images", "layouts",
    "interpolations", "fill_modes", "fill_values", "quarter_turns", "angles", "shear_angles",
    "shifts", "translations", "whole_pixel_translations", "zoom_factors", "zoom_pairs",
    "affine_matrices", "brightness_factors", "channel_offsets", "rescale_factors",
    "standardizable_batches", "variant_names", "geometric_cases", "GEOMETRIC_OPS",
]
