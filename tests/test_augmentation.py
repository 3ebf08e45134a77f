"""Tests of the augmentation clauses (AUG-1 ... AUG-23, spec/augmentation.md).

Laws are checked against oracles that do not share the reference's code path where one
exists (``numpy.rot90``, ``numpy.roll``, ``numpy.pad``, ``numpy.repeat``, matrices
written out from the clause formulas, affine "ramp" images that bilinear interpolation
must reproduce exactly), and literal examples are computed by hand in the comments.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from spec_helpers import spec_error

from conformance.strategies.augmentation import (
    affine_matrices,
    angles,
    fill_modes,
    fill_values,
    image_shapes,
    images,
    interpolations,
    quarter_turns,
    ramp_images,
    shear_angles,
    square_shapes,
    standardizable_batches,
    translations,
    whole_pixel_translations,
    zoom_factors,
    zoom_pairs,
)
from reference._errors import SpecError
from reference.augmentation import (
    AUG_OP_VARIANTS,
    AUG_VARIANTS,
    adjust_brightness,
    affine,
    affine_definitional,
    channel_shift,
    featurewise_fit,
    featurewise_standardize,
    hflip,
    hflip_matrix,
    rescale,
    rotate,
    rotation_matrix,
    samplewise_standardize,
    shear,
    shear_matrix,
    translate,
    translation_matrix,
    vflip,
    vflip_matrix,
    zoom,
    zoom_matrix,
)

SPEC = Path(__file__).resolve().parent.parent / "spec" / "augmentation.md"
NEAREST = {"interpolation": "nearest"}




def T(tx: float, ty: float) -> np.ndarray:
    return np.array([[1.0, 0.0, tx], [0.0, 1.0, ty], [0.0, 0.0, 1.0]])


def hand_matrix(op: str, param, h: int, w: int) -> np.ndarray:
    """The clause's matrix written out from spec/augmentation.md, independently of the
    reference's helpers: ``T(c) · L · T(-c)`` with ``c = (W/2, H/2)``."""
    c = T(w / 2, h / 2)
    c_inv = T(-w / 2, -h / 2)
    if op == "translate":
        return T(*param)
    if op == "rotate":  # AUG-12
        t = math.radians(param)
        lin = np.array([[math.cos(t), math.sin(t), 0], [-math.sin(t), math.cos(t), 0], [0, 0, 1]])
    elif op == "zoom":  # AUG-14
        fx, fy = param if isinstance(param, tuple) else (param, param)
        lin = np.diag([fx, fy, 1.0])
    else:  # shear, AUG-15
        lin = np.array([[1, math.tan(math.radians(param)), 0], [0, 1, 0], [0, 0, 1.0]])
    return c @ lin @ c_inv


OPS = {"rotate": rotate, "translate": translate, "zoom": zoom, "shear": shear}


def call(op: str, x, param, **kw):
    return translate(x, *param, **kw) if op == "translate" else OPS[op](x, param, **kw)


def centres(h: int, w: int) -> np.ndarray:
    """Homogeneous pixel centres ``(j + 1/2, i + 1/2, 1)``, shape (3, h, w) (AUG-3)."""
    jj, ii = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
    return np.stack([jj, ii, np.ones_like(jj)])


def apply(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return np.einsum("ab,bhw->ahw", m, pts)


def ramp_at(coeffs: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """The ramp ``α x + β y + γ`` of every (n, c) evaluated at points (3, h, w)."""
    return (coeffs[..., 0, None, None] * pts[0] + coeffs[..., 1, None, None] * pts[1]
            + coeffs[..., 2, None, None])


def taps_read_only_ramp(first_inv: np.ndarray | None, second_inv: np.ndarray,
                        h: int, w: int) -> np.ndarray:
    """Output pixels of ``second ∘ first`` whose bilinear taps all hold exact ramp values.

    ``second_inv`` is the output-to-input map of the last warp. Each of the four taps
    around its point must be inside the grid and, when there was a ``first`` warp, that
    tap's centre must itself have been sampled inside the input's centre hull, so that
    its value is the ramp exactly (AUG-6).
    """
    p = apply(second_inv, centres(h, w))
    j0, i0 = np.floor(p[0] - 0.5), np.floor(p[1] - 0.5)
    ok = np.ones((h, w), dtype=bool)
    for di in (0, 1):
        for dj in (0, 1):
            ti, tj = i0 + di, j0 + dj
            ok &= (ti >= 0) & (ti <= h - 1) & (tj >= 0) & (tj <= w - 1)
            if first_inv is not None:
                t = np.stack([tj + 0.5, ti + 0.5, np.ones_like(ti)])
                q = apply(first_inv, t)
                ok &= (q[0] >= 0.5) & (q[0] <= w - 0.5) & (q[1] >= 0.5) & (q[1] <= h - 0.5)
    return ok


def to_hwc(x: np.ndarray) -> np.ndarray:
    return x[0].transpose(1, 2, 0)


# ---------------------------------------------------------------------------- AUG-1


LAYOUT_CASES = {
    "affine": lambda x, **k: affine(x, [[0.9, 0.2, 0.3], [-0.1, 1.1, -0.7]], **k),
    "rotate": lambda x, **k: rotate(x, 33.3, **k),
    "translate": lambda x, **k: translate(x, 1.25, -0.5, **k),
    "zoom": lambda x, **k: zoom(x, (1.5, 0.75), **k),
    "shear": lambda x, **k: shear(x, 20.0, **k),
    "hflip": hflip,
    "vflip": vflip,
    "adjust_brightness": lambda x, **k: adjust_brightness(x, 1.3, **k),
    "channel_shift": lambda x, layout="NCHW": channel_shift(
        x, 1.5 * np.arange(x.shape[1 if layout == "NCHW" else 2]), layout=layout),
    "rescale": lambda x, **k: rescale(x, 0.5, offset=1.0, **k),
    "featurewise_standardize": lambda x, **k: featurewise_standardize(x, 1.0, 2.0, **k),
    "samplewise_standardize": samplewise_standardize,
}


@pytest.mark.clause("AUG-1")
@given(x=images(image_shapes(max_batch=1, max_side=5)), name=st.sampled_from(sorted(LAYOUT_CASES)))
def test_an_hwc_image_gives_the_transposed_nchw_result(x, name):
    fn = LAYOUT_CASES[name]
    np.testing.assert_array_equal(fn(to_hwc(x), layout="HWC"), to_hwc(fn(x)))


@pytest.mark.clause("AUG-1", "AUG-21")
@given(x=images(image_shapes(max_batch=1, max_side=5)), per_pixel=st.booleans())
def test_featurewise_fit_of_an_hwc_image_is_that_of_a_batch_of_one(x, per_pixel):
    v = ("per-pixel-statistics",) if per_pixel else ()
    mean, std = featurewise_fit(to_hwc(x), layout="HWC", variants=v)
    mean4, std4 = featurewise_fit(x, variants=v)
    if per_pixel:  # (C, H, W) for NCHW becomes (H, W, C) for HWC
        mean4, std4 = mean4.transpose(1, 2, 0), std4.transpose(1, 2, 0)
    np.testing.assert_array_equal(mean, mean4)
    np.testing.assert_array_equal(std, std4)


@pytest.mark.clause("AUG-1")
@pytest.mark.parametrize("name", sorted(LAYOUT_CASES))
def test_no_transform_writes_to_its_input(name):
    x = np.arange(2 * 3 * 4 * 5, dtype=np.float64).reshape(2, 3, 4, 5) / 7
    before = x.copy()
    x.flags.writeable = False  # any in-place write would raise
    LAYOUT_CASES[name](x)
    np.testing.assert_array_equal(x, before)


@pytest.mark.clause("AUG-1", "AUG-12", "AUG-14", "AUG-15")
@given(x=images(image_shapes(max_side=1)), angle=angles(), factor=zoom_factors(),
       sh=shear_angles(), mode=fill_modes(), fill=fill_values())
def test_a_one_pixel_image_is_unchanged_by_transforms_about_its_centre(x, angle, factor, sh,
                                                                        mode, fill):
    kw = {"fill_mode": mode, "fill_value": fill}
    for out in (rotate(x, angle, **NEAREST, **kw), zoom(x, factor, **NEAREST, **kw),
                shear(x, sh, **NEAREST, **kw)):
        np.testing.assert_array_equal(out, x)
    for out in (rotate(x, angle, **kw), zoom(x, factor, **kw), shear(x, sh, **kw)):
        # The matrix entries are rounded, so the centre maps to itself within an ulp.
        np.testing.assert_allclose(out, x, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------- AUG-2


@pytest.mark.clause("AUG-2", "AUG-18")
def test_uint8_brightness_rounds_half_to_even_and_saturates():
    x = np.array([0, 100, 101, 103, 200], dtype=np.uint8).reshape(1, 5, 1)  # HWC
    out = adjust_brightness(x, 1.5, layout="HWC")
    # 0, 150, 151.5 -> 152 (even), 154.5 -> 154 (even), 300 -> 255
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out[0, :, 0], [0, 150, 152, 154, 255])


@pytest.mark.clause("AUG-2", "AUG-18")
def test_truncate_to_uint8_variant_rounds_towards_zero():
    x = np.array([0, 100, 101, 103, 200], dtype=np.uint8).reshape(1, 5, 1)  # HWC
    out = adjust_brightness(x, 1.5, layout="HWC", variants=("truncate-to-uint8",))
    np.testing.assert_array_equal(out[0, :, 0], [0, 150, 151, 154, 255])


@pytest.mark.clause("AUG-2", "AUG-19")
def test_integer_results_clip_at_both_ends_of_the_dtype():
    x = np.array([[[[0, 250]], [[100, -32768]]]], dtype=np.int16)     # (1, 2, 1, 2)
    out = channel_shift(x, [-40000.0, 0.5])
    # ch0: -40000 -> -32768, 250 - 40000 -> -32768; ch1: 100.5 -> 100 (even), -32767.5 -> -32768
    assert out.dtype == np.int16
    np.testing.assert_array_equal(out[0, :, 0], [[-32768, -32768], [100, -32768]])


@pytest.mark.clause("AUG-2", "AUG-18")
def test_float_results_are_float64_and_unclipped_unless_the_variant_asks():
    x = np.array([[[[0.8, -0.25]]]], dtype=np.float32)
    out = adjust_brightness(x, 1.5)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out[0, 0, 0], [1.2, -0.375], rtol=1e-7)   # float32 input
    clipped = adjust_brightness(x, 1.5, variants=("clip-unit-interval",))
    np.testing.assert_array_equal(clipped[0, 0, 0], [1.0, 0.0])


@pytest.mark.clause("AUG-2", "AUG-4")
@given(x=images(image_shapes(max_side=6), dtype="uint8"), m=affine_matrices(),
       interp=interpolations(), mode=fill_modes(), fill=fill_values(),
       truncate=st.booleans())
def test_an_integer_image_is_warped_in_float64_then_rounded_and_clipped(x, m, interp, mode,
                                                                       fill, truncate):
    v = ("truncate-to-uint8",) if truncate else ()
    kw = {"interpolation": interp, "fill_mode": mode, "fill_value": fill}
    out = affine(x, m, **kw, variants=v)
    real = affine(x.astype(np.float64), m, **kw)
    clipped = np.clip(real, 0, 255)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, np.trunc(clipped) if truncate else np.rint(clipped))


@pytest.mark.clause("AUG-2", "AUG-20", "AUG-22", "AUG-23")
def test_rescale_and_standardisations_return_float64_for_integer_input():
    x = np.array([[[[0, 51, 255]]]], dtype=np.uint8)
    for out in (rescale(x, 1 / 255), featurewise_standardize(x, 0, 1),
                samplewise_standardize(x)):
        assert out.dtype == np.float64
    assert featurewise_standardize(x, 300, 1)[0, 0, 0, 0] < 0   # no clipping to uint8


@pytest.mark.clause("AUG-2", "AUG-16", "AUG-17")
def test_flips_keep_wide_integers_bit_for_bit():
    big = np.array([[[[2**62 + 1, -(2**62) - 3, 7]]]], dtype=np.int64)
    np.testing.assert_array_equal(hflip(big)[0, 0, 0], [7, -(2**62) - 3, 2**62 + 1])
    assert hflip(big).dtype == np.int64 and vflip(big).dtype == np.int64
    assert hflip(big.astype(np.float32)).dtype == np.float64


# ---------------------------------------------------------------------------- AUG-3


def spec_pivot(h: int, w: int, variants: tuple[str, ...]) -> tuple[float, float]:
    """AUG-3's pivot table, written out."""
    if "corner-pivot" in variants:
        return 0.0, 0.0
    if "integer-centres" in variants:
        c = ((w - 1) / 2, (h - 1) / 2)
    else:
        c = (w / 2, h / 2)
    if "pivot-off-by-half" in variants:
        c = (c[0] + 0.5, c[1] + 0.5)
    return c


@pytest.mark.clause("AUG-3", "AUG-12", "AUG-14", "AUG-15")
@given(shape=image_shapes(), angle=angles(), factor=zoom_pairs(), sh=shear_angles(),
       frame=st.sampled_from([(), ("integer-centres",)]),
       pivot=st.sampled_from([(), ("corner-pivot",), ("pivot-off-by-half",)]))
def test_rotation_zoom_and_shear_matrices_fix_the_pivot_of_their_frame(shape, angle, factor,
                                                                      sh, frame, pivot):
    _, _, h, w = shape
    v = frame + pivot
    cx, cy = spec_pivot(h, w, v)
    for m in (rotation_matrix(angle, h, w, variants=v), zoom_matrix(factor, h, w, variants=v),
              shear_matrix(sh, h, w, variants=v)):
        np.testing.assert_allclose(m @ [cx, cy, 1.0], [cx, cy, 1.0], atol=1e-12 * (h + w))
        # and the pivot is the only fixed point that matters: a unit step is moved by
        # the linear part alone
        step = m @ [cx + 1, cy, 1.0] - m @ [cx, cy, 1.0]
        np.testing.assert_allclose(step[:2], m[:2, 0], atol=1e-12 * (h + w))


@pytest.mark.clause("AUG-3", "AUG-12", "AUG-14", "AUG-15")
@given(x=images(image_shapes(max_side=7)), op=st.sampled_from(["rotate", "zoom", "shear"]),
       data=st.data(), mode=fill_modes())
def test_the_two_frames_agree_for_transforms_about_the_centre(x, op, data, mode):
    param = data.draw({"rotate": angles(), "zoom": zoom_pairs(), "shear": shear_angles()}[op])
    spec = call(op, x, param, fill_mode=mode)
    other = call(op, x, param, fill_mode=mode, variants=("integer-centres",))
    # Only the rounding of the matrix entries differs (values are below 1000).
    np.testing.assert_allclose(other, spec, rtol=0, atol=1e-8)


@pytest.mark.clause("AUG-3")
@given(x=images(image_shapes(max_side=7)), k=quarter_turns())
def test_the_two_frames_agree_exactly_on_nearest_quarter_turns_even_at_ties(x, k):
    spec = rotate(x, k, **NEAREST)
    np.testing.assert_array_equal(rotate(x, k, **NEAREST, variants=("integer-centres",)), spec)


@pytest.mark.clause("AUG-3", "AUG-4", "AUG-6")
def test_integer_centres_changes_what_an_absolute_matrix_means():
    x = np.array([[[[0.0, 10, 20, 30]], [[0.0, 1, 2, 3]]]])           # (1, 2, 1, 4)
    m = [[2.0, 0, 0], [0, 1, 0]]                                         # x' = 2x about x = 0
    # spec frame: u = (j + 1/2)/2 - 1/2 = -0.25, 0.25, 0.75, 1.25
    out = affine(x, m, fill_mode="nearest")
    np.testing.assert_allclose(out[0, 0, 0], [0.0, 2.5, 7.5, 12.5], rtol=1e-15)
    np.testing.assert_allclose(out[0, 1, 0], [0.0, 0.25, 0.75, 1.25], rtol=1e-15)
    # integer centres: u = j / 2 = 0, 0.5, 1, 1.5
    out = affine(x, m, fill_mode="nearest", variants=("integer-centres",))
    np.testing.assert_allclose(out[0, 0, 0], [0.0, 5.0, 10.0, 15.0], rtol=1e-15)


@pytest.mark.clause("AUG-3", "AUG-14")
@given(x=images(image_shapes(max_side=9)))
def test_a_corner_pivot_zoom_by_two_replicates_pixels_from_the_top_left(x):
    _, _, h, w = x.shape
    out = zoom(x, 2, **NEAREST, variants=("corner-pivot",))
    np.testing.assert_array_equal(out, np.repeat(np.repeat(x, 2, axis=2), 2, axis=3)[:, :, :h, :w])


@pytest.mark.clause("AUG-3", "AUG-12")
@given(x=images(image_shapes(max_side=7)), mode=fill_modes())
def test_a_pivot_off_by_half_quarter_turn_is_the_rule_s_turn_moved_down_a_pixel(x, mode):
    # T(c + h) R T(-c - h) = T(h - R h) · T(c) R T(-c), with h = (1/2, 1/2) and
    # R h = (1/2, -1/2) at 90°: the same picture one row lower. Row 0 shows what the
    # rule's turn puts in row -1, which depends on the fill, so it is not compared.
    kw = {"interpolation": "nearest", "fill_mode": mode}
    off = rotate(x, 90, **kw, variants=("pivot-off-by-half",))
    np.testing.assert_array_equal(off[:, :, 1:, :], rotate(x, 90, **kw)[:, :, :-1, :])


# ---------------------------------------------------------------------------- AUG-4


SAMPLING_VARIANT_SETS = st.tuples(
    st.sampled_from([(), ("round-half-down",), ("round-half-even",), ("round-half-away",)]),
    st.sampled_from([(), ("integer-centres",)]),
    st.sampled_from([(), ("constant-outside-centres",)]),
    st.sampled_from([(), ("reflect-101",)]),
    st.sampled_from([(), ("inverse-matrix",)]),
    st.sampled_from([(), ("yx-order",)]),
    st.sampled_from([(), ("truncate-to-uint8",)]),
).map(lambda parts: sum(parts, ()))

QUARTER_TURN = np.array([[0.0, 1, 0], [-1, 0, 0], [0, 0, 1]])


def tie_heavy_matrices() -> st.SearchStrategy[np.ndarray]:
    """Quarter turns, half-pixel shifts and zooms by 2 and 1/2: points land on ties."""
    def build(k: int, tx: float, ty: float, f: float) -> np.ndarray:
        return (np.linalg.matrix_power(QUARTER_TURN, k) @ np.diag([f, f, 1.0]) @ T(tx, ty))[:2]

    half = st.integers(-6, 6).map(lambda t: t / 2)
    return st.builds(build, st.integers(0, 3), half, half, st.sampled_from([1.0, 2.0, 0.5]))


@pytest.mark.clause("AUG-4", "AUG-5", "AUG-6", "AUG-7", "AUG-8", "AUG-9", "AUG-10")
@given(x=st.one_of(images(image_shapes(max_batch=2, max_channels=2, max_side=6)),
                   images(image_shapes(max_batch=2, max_channels=2, max_side=6), dtype="uint8")),
       m=st.one_of(affine_matrices(), tie_heavy_matrices()), interp=interpolations(),
       mode=fill_modes(), fill=fill_values(), v=SAMPLING_VARIANT_SETS, hwc=st.booleans())
def test_fast_affine_equals_the_definitional_loop_exactly(x, m, interp, mode, fill, v, hwc):
    kw = {"interpolation": interp, "fill_mode": mode, "fill_value": fill, "variants": v}
    if hwc:
        x, kw["layout"] = to_hwc(x), "HWC"
    fast = affine(x, m, **kw)
    slow = affine_definitional(x, m, **kw)
    assert fast.dtype == slow.dtype
    np.testing.assert_array_equal(fast, slow)


@pytest.mark.clause("AUG-4", "AUG-6")
@given(x=images(), interp=interpolations(), mode=fill_modes(), as3=st.booleans())
def test_the_identity_matrix_returns_the_input_exactly(x, interp, mode, as3):
    m = np.eye(3) if as3 else np.eye(3)[:2]
    np.testing.assert_array_equal(affine(x, m, interpolation=interp, fill_mode=mode), x)


@pytest.mark.clause("AUG-4")
@given(x=images(image_shapes(max_side=6)), m=affine_matrices(), interp=interpolations(),
       mode=fill_modes())
def test_a_2x3_matrix_and_its_3x3_form_give_the_same_warp(x, m, interp, mode):
    m3 = np.vstack([m, [0, 0, 1]])
    kw = {"interpolation": interp, "fill_mode": mode}
    np.testing.assert_array_equal(affine(x, m3, **kw), affine(x, m, **kw))
    np.testing.assert_array_equal(affine(x, m.tolist(), **kw), affine(x, m, **kw))


@pytest.mark.clause("AUG-4", "AUG-12", "AUG-13", "AUG-14", "AUG-15")
@given(x=images(image_shapes(max_side=7)), data=st.data(), mode=fill_modes(),
       fill=fill_values(), op=st.sampled_from(sorted(OPS)))
def test_every_geometric_transform_is_affine_with_its_clause_matrix(x, data, mode, fill, op):
    param = data.draw({"rotate": angles(), "translate": translations(), "zoom": st.one_of(
        zoom_factors(), zoom_pairs()), "shear": shear_angles()}[op])
    _, _, h, w = x.shape
    m = hand_matrix(op, param, h, w)
    helper = {"rotate": lambda: rotation_matrix(param, h, w),
              "translate": lambda: translation_matrix(*param, h, w),
              "zoom": lambda: zoom_matrix(param, h, w),
              "shear": lambda: shear_matrix(param, h, w)}[op]()
    np.testing.assert_allclose(helper, m, rtol=0, atol=1e-12 * (h + w))
    kw = {"fill_mode": mode, "fill_value": fill}
    # bilinear is Lipschitz in the point, so matrices equal to rounding give values equal
    # to rounding (pixels are below 1000)
    np.testing.assert_allclose(call(op, x, param, **kw), affine(x, m, **kw), rtol=0, atol=1e-8)
    np.testing.assert_array_equal(call(op, x, param, **kw), affine(x, helper, **kw))


@pytest.mark.clause("AUG-4", "AUG-6")
@given(ramp=ramp_images(), m=affine_matrices())
def test_bilinear_warps_reproduce_affine_ramps_wherever_the_taps_are_inside(ramp, m):
    x, coeffs = ramp
    _, _, h, w = x.shape
    m3 = np.vstack([m, [0, 0, 1]])
    inv = np.linalg.inv(m3)
    out = affine(x, m)
    ok = taps_read_only_ramp(None, inv, h, w)
    expected = ramp_at(coeffs, apply(inv, centres(h, w)))
    np.testing.assert_allclose(out[..., ok], expected[..., ok], rtol=0, atol=1e-9)


@pytest.mark.clause("AUG-4")
@given(x=images(image_shapes(max_side=6)), m=affine_matrices(), mode=fill_modes())
def test_inverse_matrix_variant_samples_through_the_given_matrix_directly(x, m, mode):
    inv = np.linalg.inv(np.vstack([m, [0, 0, 1]]))
    np.testing.assert_allclose(affine(x, inv, fill_mode=mode, variants=("inverse-matrix",)),
                               affine(x, m, fill_mode=mode), rtol=0, atol=1e-8)


@pytest.mark.clause("AUG-4", "AUG-13")
def test_inverse_matrix_and_yx_order_variants_on_a_one_pixel_shift():
    x = np.arange(12.0).reshape(1, 1, 3, 4)
    shift = [[1.0, 0, 1], [0, 1, 0]]                 # one pixel along the first coordinate
    right = affine(x, shift)                          # content moves right
    np.testing.assert_array_equal(right[0, 0], [[0, 0, 1, 2], [0, 4, 5, 6], [0, 8, 9, 10]])
    left = affine(x, shift, variants=("inverse-matrix",))   # output x reads input x + 1
    np.testing.assert_array_equal(left[0, 0], [[1, 2, 3, 0], [5, 6, 7, 0], [9, 10, 11, 0]])
    down = affine(x, shift, variants=("yx-order",))         # first coordinate is y
    np.testing.assert_array_equal(down[0, 0], [[0, 0, 0, 0], [0, 1, 2, 3], [4, 5, 6, 7]])


# ---------------------------------------------------------------------------- AUG-5


@pytest.mark.clause("AUG-5", "AUG-13")
def test_nearest_tie_rules_on_a_half_pixel_shift():
    x = np.array([[[[1.0, 2, 3, 4]]], [[[10.0, 20, 30, 40]]]])       # (2, 1, 1, 4)
    # tx = 0.5: output column j reads u = j - 1/2, a tie between j - 1 and j
    expected = {
        (): [1, 2, 3, 4],                          # half up: j
        ("round-half-down",): [0, 1, 2, 3],        # j - 1 (column -1 is fill 0)
        ("round-half-even",): [1, 1, 3, 3],        # even of (j - 1, j)
        ("round-half-away",): [0, 2, 3, 4],        # -0.5 -> -1, else up
    }
    for v, row in expected.items():
        out = translate(x, 0.5, 0, **NEAREST, variants=v)
        np.testing.assert_array_equal(out[0, 0, 0], row, err_msg=str(v))
        np.testing.assert_array_equal(out[1, 0, 0], np.array(row) * 10, err_msg=str(v))


@pytest.mark.clause("AUG-5", "AUG-13")
@given(x=images(image_shapes(max_side=7)), t=translations(max_abs=8.0), fill=fill_values())
def test_nearest_takes_the_pixel_whose_square_contains_the_point(x, t, fill):
    tx, ty = t
    _, _, h, w = x.shape
    out = translate(x, tx, ty, **NEAREST, fill_value=fill)
    cols = np.floor(np.arange(w) + 0.5 - tx).astype(int)     # p_x = j + 1/2 - tx
    rows = np.floor(np.arange(h) + 0.5 - ty).astype(int)
    expected = np.full_like(x, fill)
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            if 0 <= r < h and 0 <= c < w:
                expected[:, :, i, j] = x[:, :, r, c]
    np.testing.assert_array_equal(out, expected)


# ---------------------------------------------------------------------------- AUG-6


@pytest.mark.clause("AUG-6", "AUG-14")
def test_bilinear_zoom_by_two_literal():
    x = np.array([[[[0.0, 10, 20, 30]]]])                              # (1, 1, 1, 4)
    # c_x = 2, p_x = 2 + (j + 1/2 - 2)/2 = 1.25, 1.75, 2.25, 2.75; u = p_x - 1/2
    out = zoom(x, 2, fill_mode="nearest")
    np.testing.assert_allclose(out[0, 0, 0], [7.5, 12.5, 17.5, 22.5], rtol=1e-15)
    # anisotropic: f_y does nothing to a single row whose centre is the pivot
    np.testing.assert_array_equal(zoom(x, (2, 3), fill_mode="nearest"), out)


@pytest.mark.clause("AUG-6", "AUG-12")
def test_bilinear_rotation_by_45_degrees_literal():
    x = np.broadcast_to(np.arange(9.0).reshape(3, 3), (2, 2, 3, 3)) * np.array(
        [1.0, -2.0]).reshape(1, 2, 1, 1)                                # N = 2, C = 2
    # Pixel (0, 1): q - c = (0, -1); p - c = R(-45°)(q - c) = (s, -s) with s = √2/2, so
    # u = 1 + s, v = 1 - s; the image is the ramp 3 v + u, so the value is 4 - √2.
    out = rotate(x, 45)
    np.testing.assert_allclose(out[:, 0, 0, 1], 4 - math.sqrt(2), rtol=1e-14)
    np.testing.assert_allclose(out[:, 1, 0, 1], -2 * (4 - math.sqrt(2)), rtol=1e-14)
    np.testing.assert_allclose(out[:, 0, 1, 1], 4.0, rtol=1e-15)          # the centre stays


# ---------------------------------------------------------------------- AUG-7 ... 10


FILL_TABLE = {
    # half-pixel shift right of [10, 20, 30, 40]: j reads u = j - 1/2, taps j - 1 and j
    ("constant", ()): [5, 15, 25, 35],                      # tap -1 is fill 0
    ("constant", ("constant-outside-centres",)): [0, 15, 25, 35],   # u = -0.5 < 0: fill
    ("nearest", ()): [10, 15, 25, 35],                      # tap -1 reads a
    ("reflect", ()): [10, 15, 25, 35],                      # dcba|abcd: tap -1 reads a
    ("reflect", ("reflect-101",)): [15, 15, 25, 35],        # dcb|abcd: tap -1 reads b
    ("wrap", ()): [25, 15, 25, 35],                         # tap -1 reads d
}


@pytest.mark.clause("AUG-7", "AUG-8", "AUG-9", "AUG-10", "AUG-6")
@pytest.mark.parametrize("mode,v", sorted(FILL_TABLE))
def test_fill_modes_on_a_half_pixel_shift(mode, v):
    k = np.array([1.0, 2, 3, 4]).reshape(2, 2, 1, 1)              # N = 2, C = 2 scales
    x = k * np.array([10.0, 20, 30, 40]).reshape(1, 1, 1, 4)       # (2, 2, 1, 4)
    out = translate(x, 0.5, 0, fill_mode=mode, variants=v)
    np.testing.assert_allclose(out, k * np.array(FILL_TABLE[mode, v]).reshape(1, 1, 1, 4),
                               rtol=1e-15)


@pytest.mark.clause("AUG-7")
def test_constant_fill_value_is_used_and_rounded_for_integer_images():
    x = np.full((1, 1, 2, 2), 100, dtype=np.uint8)
    out = translate(x, 1, 0, **NEAREST, fill_value=7.5)       # 7.5 -> 8 (half to even)
    np.testing.assert_array_equal(out[0, 0], [[8, 100], [8, 100]])
    out = translate(x, 0, 1, **NEAREST, fill_value=-3.0)      # clipped to 0
    np.testing.assert_array_equal(out[0, 0], [[0, 0], [100, 100]])


NP_PAD = {("constant", ()): "constant", ("nearest", ()): "edge",
          ("reflect", ()): "symmetric", ("reflect", ("reflect-101",)): "reflect",
          ("wrap", ()): "wrap"}


@pytest.mark.clause("AUG-7", "AUG-8", "AUG-9", "AUG-10", "AUG-13")
@given(x=images(image_shapes(max_side=6)), t=whole_pixel_translations(max_abs=13),
       key=st.sampled_from(sorted(NP_PAD)), interp=interpolations(), fill=fill_values())
def test_whole_pixel_shifts_read_the_extension_numpy_pad_builds(x, t, key, interp, fill):
    mode, v = key
    tx, ty = t
    _, _, h, w = x.shape
    p = max(abs(tx), abs(ty))
    kw = {"constant_values": fill} if mode == "constant" else {}
    ext = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), mode=NP_PAD[key], **kw)
    expected = ext[:, :, p - ty:p - ty + h, p - tx:p - tx + w]
    out = translate(x, tx, ty, interpolation=interp, fill_mode=mode, fill_value=fill, variants=v)
    np.testing.assert_array_equal(out, expected)


@pytest.mark.clause("AUG-10", "AUG-13")
@given(x=images(image_shapes(max_side=6)), t=whole_pixel_translations(max_abs=20),
       interp=interpolations())
def test_a_whole_pixel_shift_with_wrap_is_numpy_roll(x, t, interp):
    tx, ty = t
    np.testing.assert_array_equal(translate(x, tx, ty, interpolation=interp, fill_mode="wrap"),
                                  np.roll(x, (ty, tx), axis=(2, 3)))


@pytest.mark.clause("AUG-9", "AUG-6")
@given(x=images(image_shapes(min_side=2, max_side=6)), data=st.data())
def test_reflect_mirrors_the_image_about_its_continuous_edges(x, data):
    _, _, _, w = x.shape
    d = data.draw(st.floats(0.01, w - 0.5))
    # column 0 reads the point x = -d, then the point x = +d; at the right edge the
    # last column reads x = W + d, then x = W - d
    left = translate(x, 0.5 + d, 0, fill_mode="reflect")[..., 0]
    left_mirror = translate(x, 0.5 - d, 0, fill_mode="reflect")[..., 0]
    right = translate(x, -0.5 - d, 0, fill_mode="reflect")[..., -1]
    right_mirror = translate(x, -0.5 + d, 0, fill_mode="reflect")[..., -1]
    np.testing.assert_allclose(left, left_mirror, rtol=0, atol=1e-9)
    np.testing.assert_allclose(right, right_mirror, rtol=0, atol=1e-9)


# --------------------------------------------------------------------------- AUG-11


@pytest.mark.clause("AUG-11", "AUG-12")
@given(shape=image_shapes(max_side=9), k=st.integers(-9, 9))
def test_quarter_turn_matrices_are_exact(shape, k):
    _, _, h, w = shape
    m = rotation_matrix(90 * k, h, w)
    cs, sn = [(1, 0), (0, 1), (-1, 0), (0, -1)][k % 4]
    cx, cy = w / 2, h / 2
    expected = [[cs, sn, cx - cx * cs - cy * sn], [-sn, cs, cy + cx * sn - cy * cs], [0, 0, 1]]
    np.testing.assert_array_equal(m, expected)


@pytest.mark.clause("AUG-11", "AUG-15")
@given(shape=image_shapes(max_side=9), k=st.integers(-1, 1))
def test_shear_by_multiples_of_45_degrees_is_exact(shape, k):
    _, _, h, w = shape
    np.testing.assert_array_equal(shear_matrix(45 * k, h, w)[0, :2], [1.0, float(k)])


@pytest.mark.clause("AUG-11", "AUG-12")
@given(x=images(image_shapes(max_side=7)), angle=angles())
def test_radians_and_turns_name_the_same_rotation(x, angle):
    deg = rotate(x, angle)
    np.testing.assert_allclose(rotate(x, math.radians(angle), variants=("radians",)), deg,
                               rtol=0, atol=1e-8)
    np.testing.assert_allclose(rotate(x, angle / 360, variants=("turns",)), deg,
                               rtol=0, atol=1e-8)


@pytest.mark.clause("AUG-11", "AUG-12")
@given(x=images(square_shapes(max_side=7)), k=st.integers(-4, 4))
def test_quarter_turns_in_radians_and_turns_are_exact_permutations(x, k):
    rot = np.rot90(x, k, axes=(2, 3))
    np.testing.assert_array_equal(rotate(x, k * math.pi / 2, **NEAREST, variants=("radians",)), rot)
    np.testing.assert_array_equal(rotate(x, k / 4, **NEAREST, variants=("turns",)), rot)


# --------------------------------------------------------------------------- AUG-12


@pytest.mark.clause("AUG-12")
def test_a_positive_angle_turns_content_counter_clockwise_as_displayed():
    x = np.array([[1.0, 2], [3, 4]]).reshape(1, 1, 2, 2)
    np.testing.assert_array_equal(rotate(x, 90, **NEAREST)[0, 0], [[2, 4], [1, 3]])
    np.testing.assert_array_equal(rotate(x, -90, **NEAREST)[0, 0], [[3, 1], [4, 2]])
    # A pixel right of the centre goes up: (i, j) = (1, 2) -> (0, 1); N = 2, C = 3.
    dot = np.zeros((2, 3, 3, 3))
    dot[:, :, 1, 2] = 5.0
    out = rotate(dot, 90, **NEAREST)
    expected = np.zeros((2, 3, 3, 3))
    expected[:, :, 0, 1] = 5.0
    np.testing.assert_array_equal(out, expected)


@pytest.mark.clause("AUG-12", "AUG-5")
@given(x=images(square_shapes(max_side=8)), k=quarter_turns(), mode=fill_modes(),
       tie=st.sampled_from(AUG_VARIANTS["AUG-5"] + ("",)))
def test_a_nearest_quarter_turn_of_a_square_image_is_rot90(x, k, mode, tie):
    v = (tie,) if tie else ()
    out = rotate(x, k, **NEAREST, fill_mode=mode, variants=v)
    np.testing.assert_array_equal(out, np.rot90(x, int(k // 90), axes=(2, 3)))


@pytest.mark.clause("AUG-12", "AUG-17")
@given(x=images(), interp=interpolations(), mode=fill_modes())
def test_a_half_turn_of_any_image_is_a_flip_of_both_axes(x, interp, mode):
    out = rotate(x, 180, interpolation=interp, fill_mode=mode)
    np.testing.assert_array_equal(out, np.flip(x, axis=(2, 3)))
    np.testing.assert_array_equal(vflip(hflip(x)), out)


@pytest.mark.clause("AUG-12", "AUG-5", "AUG-3")
@given(x=images(image_shapes(max_side=7)), fill=fill_values(), down=st.booleans())
def test_a_quarter_turn_of_a_non_square_image_is_a_centred_rot90_shifted_by_the_tie_rule(
        x, fill, down):
    _, _, h, w = x.shape
    out = rotate(x, 90, **NEAREST, fill_value=fill,
                 variants=("round-half-down",) if down else ())
    r = np.rot90(x, 1, axes=(2, 3))                                   # (N, C, W, H)
    # Exact when H - W is even; when odd the centres land on pixel boundaries and the
    # tie rule picks the side: k = floor((W - H)/2) (half up) or ceil (half down).
    k = -((h - w) // 2) if down else (w - h) // 2
    expected = np.full_like(x, fill)
    for i in range(h):
        for j in range(w):
            a, b = i + k, j - k
            if 0 <= a < w and 0 <= b < h:
                expected[:, :, i, j] = r[:, :, a, b]
    np.testing.assert_array_equal(out, expected)


@pytest.mark.clause("AUG-12")
@given(shape=image_shapes(), a=angles(), b=angles(),
       pivot=st.sampled_from([(), ("corner-pivot",), ("pivot-off-by-half",),
                              ("integer-centres",)]))
def test_rotation_matrices_compose_by_adding_angles(shape, a, b, pivot):
    _, _, h, w = shape
    ab = rotation_matrix(a, h, w, variants=pivot) @ rotation_matrix(b, h, w, variants=pivot)
    np.testing.assert_allclose(ab, rotation_matrix(a + b, h, w, variants=pivot),
                               rtol=0, atol=1e-12 * (h + w))


@pytest.mark.clause("AUG-12", "AUG-6")
@given(ramp=ramp_images(image_shapes(min_side=6, max_side=10, max_batch=2, max_channels=2)),
       a=angles(), b=angles())
def test_rotating_by_a_then_b_is_rotating_by_a_plus_b_away_from_the_fill(ramp, a, b):
    x, coeffs = ramp
    _, _, h, w = x.shape
    inv_a = np.linalg.inv(hand_matrix("rotate", a, h, w))
    inv_b = np.linalg.inv(hand_matrix("rotate", b, h, w))
    ok = taps_read_only_ramp(inv_a, inv_b, h, w)
    assert ok.any()  # the centre pixels always qualify from 6 pixels on
    expected = ramp_at(coeffs, apply(inv_a @ inv_b, centres(h, w)))
    twice = rotate(rotate(x, a), b)
    once = rotate(x, a + b)
    np.testing.assert_allclose(twice[..., ok], expected[..., ok], rtol=0, atol=1e-9)
    np.testing.assert_allclose(once[..., ok], expected[..., ok], rtol=0, atol=1e-9)


@pytest.mark.clause("AUG-12")
@given(x=images(square_shapes(max_side=7)), a=quarter_turns(), b=quarter_turns())
def test_nearest_quarter_turns_compose_exactly(x, a, b):
    np.testing.assert_array_equal(rotate(rotate(x, a, **NEAREST), b, **NEAREST),
                                  rotate(x, a + b, **NEAREST))


@pytest.mark.clause("AUG-12", "AUG-15")
@given(x=images(image_shapes(max_side=7)), angle=angles(), sh=shear_angles(),
       interp=interpolations())
def test_clockwise_variant_negates_the_angle(x, angle, sh, interp):
    cw = ("clockwise",)
    np.testing.assert_array_equal(rotate(x, angle, interpolation=interp, variants=cw),
                                  rotate(x, -angle, interpolation=interp))
    np.testing.assert_array_equal(shear(x, sh, interpolation=interp, variants=cw),
                                  shear(x, -sh, interpolation=interp))


# --------------------------------------------------------------------------- AUG-13


@pytest.mark.clause("AUG-13")
def test_positive_shifts_move_content_right_and_down():
    x = np.arange(6.0).reshape(1, 1, 2, 3) + np.array([0.0, 100]).reshape(1, 2, 1, 1)  # C = 2
    out = translate(x, 1, 1, **NEAREST, fill_value=-1)
    np.testing.assert_array_equal(out[0, 0], [[-1, -1, -1], [-1, 0, 1]])
    np.testing.assert_array_equal(out[0, 1], [[-1, -1, -1], [-1, 100, 101]])
    back = translate(x, 1, 1, **NEAREST, fill_value=-1, variants=("inverse-translation",))
    np.testing.assert_array_equal(back[0, 0], [[4, 5, -1], [-1, -1, -1]])


@pytest.mark.clause("AUG-13")
@given(x=images(image_shapes(max_side=6)), t=translations(), interp=interpolations(),
       mode=fill_modes())
def test_inverse_translation_variant_is_the_opposite_shift(x, t, interp, mode):
    kw = {"interpolation": interp, "fill_mode": mode}
    np.testing.assert_array_equal(translate(x, *t, **kw, variants=("inverse-translation",)),
                                  translate(x, -t[0], -t[1], **kw))


@pytest.mark.clause("AUG-13", "AUG-6")
@given(ramp=ramp_images(), t1=translations(max_abs=2.0), t2=translations(max_abs=2.0))
def test_translations_compose_by_adding_shifts_away_from_the_fill(ramp, t1, t2):
    x, coeffs = ramp
    _, _, h, w = x.shape
    inv1, inv2 = T(-t1[0], -t1[1]), T(-t2[0], -t2[1])
    ok = taps_read_only_ramp(inv1, inv2, h, w)
    expected = ramp_at(coeffs, apply(inv1 @ inv2, centres(h, w)))
    twice = translate(translate(x, *t1), *t2)
    once = translate(x, t1[0] + t2[0], t1[1] + t2[1])
    np.testing.assert_allclose(twice[..., ok], expected[..., ok], rtol=0, atol=1e-9)
    np.testing.assert_allclose(once[..., ok], expected[..., ok], rtol=0, atol=1e-9)


# --------------------------------------------------------------------------- AUG-14


@pytest.mark.clause("AUG-14", "AUG-5")
@given(x=images(image_shapes(min_side=6, max_side=10)), s=st.floats(1.25, 3.0),
       tie=st.sampled_from(["", "round-half-down"]))
def test_zooming_in_then_out_with_nearest_gives_back_the_central_pixels(x, s, tie):
    v = (tie,) if tie else ()
    back = zoom(zoom(x, s, **NEAREST, variants=v), 1 / s, **NEAREST, variants=v)
    _, _, h, w = x.shape
    # pixels whose zoomed-in point stays at least a pixel inside the image
    ax = np.abs(np.arange(w) + 0.5 - w / 2) * s <= w / 2 - 1
    ay = np.abs(np.arange(h) + 0.5 - h / 2) * s <= h / 2 - 1
    mask = ay[:, None] & ax[None, :]
    assert mask.any()
    np.testing.assert_array_equal(back[..., mask], x[..., mask])


@pytest.mark.clause("AUG-14", "AUG-6")
@given(ramp=ramp_images(image_shapes(min_side=6, max_side=10, max_batch=2, max_channels=2)),
       f=zoom_pairs(low=0.5, high=3.0))
def test_zooming_by_f_then_by_1_over_f_is_the_identity_away_from_the_fill(ramp, f):
    x, coeffs = ramp
    _, _, h, w = x.shape
    inv_f = np.linalg.inv(hand_matrix("zoom", f, h, w))
    inv_back = np.linalg.inv(hand_matrix("zoom", (1 / f[0], 1 / f[1]), h, w))
    ok = taps_read_only_ramp(inv_f, inv_back, h, w)
    assert ok.any()
    back = zoom(zoom(x, f), (1 / f[0], 1 / f[1]))
    np.testing.assert_allclose(back[..., ok], x[..., ok], rtol=0, atol=1e-9)


@pytest.mark.clause("AUG-14")
@given(x=images(image_shapes(max_side=6)), f=st.one_of(zoom_factors(), zoom_pairs()),
       interp=interpolations())
def test_zoom_shrinks_variant_is_the_reciprocal_zoom(x, f, interp):
    recip = 1 / f if not isinstance(f, tuple) else (1 / f[0], 1 / f[1])
    np.testing.assert_array_equal(zoom(x, f, interpolation=interp, variants=("zoom-shrinks",)),
                                  zoom(x, recip, interpolation=interp))


@pytest.mark.clause("AUG-14")
def test_a_zoom_out_by_half_leaves_a_border_of_fill():
    x = np.arange(16.0).reshape(1, 1, 4, 4) + 1
    # p = 2 + 2 (q - 2): columns read u = -1.5 (fill), 0.5, 2.5, 4.5 (fill)
    out = zoom(x, 0.5, **NEAREST, fill_value=0)
    np.testing.assert_array_equal(out[0, 0], [[0, 0, 0, 0], [0, 6, 8, 0], [0, 14, 16, 0],
                                              [0, 0, 0, 0]])


# --------------------------------------------------------------------------- AUG-15


@pytest.mark.clause("AUG-15")
def test_a_45_degree_shear_moves_each_row_by_its_distance_below_the_centre():
    x = np.arange(1.0, 10.0).reshape(1, 1, 3, 3) * np.array([1.0, 10]).reshape(1, 2, 1, 1)
    out = shear(x, 45, **NEAREST)                                     # (1, 2, 3, 3)
    # row 0 is one pixel above the centre: moves left; row 2 moves right
    np.testing.assert_array_equal(out[0, 0], [[2, 3, 0], [4, 5, 6], [0, 7, 8]])
    np.testing.assert_array_equal(out[0, 1], [[20, 30, 0], [40, 50, 60], [0, 70, 80]])
    # shear-y: column 2 (right of the centre) moves up, column 0 moves down
    y = shear(x, 45, **NEAREST, variants=("shear-y",))
    np.testing.assert_array_equal(y[0, 0], [[0, 2, 6], [1, 5, 9], [4, 8, 0]])


@pytest.mark.clause("AUG-15")
@given(x=images(image_shapes(max_side=7)), sh=shear_angles())
def test_shear_y_is_the_transposed_shear_by_the_opposite_angle(x, sh):
    t = np.swapaxes(x, 2, 3)
    expected = np.swapaxes(shear(t, -sh), 2, 3)
    np.testing.assert_allclose(shear(x, sh, variants=("shear-y",)), expected, rtol=0, atol=1e-8)


@pytest.mark.clause("AUG-15")
@given(x=images(image_shapes(max_side=7)), m=st.floats(-3, 3, allow_nan=False))
def test_shear_factor_variant_takes_the_tangent_itself(x, m):
    np.testing.assert_allclose(shear(x, m, variants=("shear-factor",)),
                               shear(x, math.degrees(math.atan(m))), rtol=0, atol=1e-8)


# ---------------------------------------------------------------------- AUG-16, 17


@pytest.mark.clause("AUG-16", "AUG-17")
def test_flip_literals():
    x = np.arange(6).reshape(1, 2, 3).astype(np.uint8)               # HWC (1, 2, 3): C = 3
    np.testing.assert_array_equal(hflip(x, layout="HWC"), [[[3, 4, 5], [0, 1, 2]]])
    np.testing.assert_array_equal(vflip(x, layout="HWC"), x)          # H = 1
    y = np.arange(6.0).reshape(1, 1, 2, 3)
    np.testing.assert_array_equal(vflip(y)[0, 0], [[3, 4, 5], [0, 1, 2]])
    np.testing.assert_array_equal(hflip(y)[0, 0], [[2, 1, 0], [5, 4, 3]])


@pytest.mark.clause("AUG-16", "AUG-17", "AUG-4", "AUG-3")
@given(x=images(), interp=interpolations(), mode=fill_modes(),
       frame=st.sampled_from([(), ("integer-centres",)]))
def test_flips_are_involutions_and_affine_warps_with_their_matrices(x, interp, mode, frame):
    _, _, h, w = x.shape
    kw = {"interpolation": interp, "fill_mode": mode, "variants": frame}
    np.testing.assert_array_equal(hflip(hflip(x)), x)
    np.testing.assert_array_equal(vflip(vflip(x)), x)
    np.testing.assert_array_equal(affine(x, hflip_matrix(h, w, variants=frame), **kw), hflip(x))
    np.testing.assert_array_equal(affine(x, vflip_matrix(h, w, variants=frame), **kw), vflip(x))


# --------------------------------------------------------------------------- AUG-18


@pytest.mark.clause("AUG-18")
@given(x=images(), f=st.floats(0, 4, allow_nan=False))
def test_brightness_scales_every_value(x, f):
    np.testing.assert_array_equal(adjust_brightness(x, f), f * x)
    np.testing.assert_array_equal(adjust_brightness(x, 1.0), x)


@pytest.mark.clause("AUG-18")
def test_additive_brightness_variant_adds_a_delta():
    x = np.array([[[[10, 250]]]], dtype=np.uint8)
    out = adjust_brightness(x, -20.5, variants=("additive-brightness",))
    np.testing.assert_array_equal(out[0, 0, 0], [0, 230])       # -10.5 -> 0, 229.5 -> 230


# --------------------------------------------------------------------------- AUG-19


@pytest.mark.clause("AUG-19")
def test_channel_shift_adds_one_offset_per_channel():
    x = np.array([[[[5, 250]], [[5, 250]]], [[[0, 1]], [[2, 3]]]], dtype=np.uint8)  # (2, 2, 1, 2)
    out = channel_shift(x, (10, -10))
    np.testing.assert_array_equal(out[:, :, 0], [[[15, 255], [0, 240]], [[10, 11], [0, 0]]])
    np.testing.assert_array_equal(channel_shift(x, 0), x)


@pytest.mark.clause("AUG-19")
def test_clip_to_input_range_variant_clips_each_sample_to_its_own_range():
    x = np.array([[[[1.0, 5]], [[2, 3]]], [[[0, 0.5]], [[0.25, 0.5]]]])   # (2, 2, 1, 2)
    out = channel_shift(x, 3.0, variants=("clip-to-input-range",))
    # sample 0 range [1, 5]: [4, 8] -> [4, 5], [5, 6] -> [5, 5]; sample 1 range [0, 0.5]
    np.testing.assert_array_equal(out[:, :, 0], [[[4, 5], [5, 5]], [[0.5, 0.5], [0.5, 0.5]]])


@pytest.mark.clause("AUG-19")
@given(x=images(), data=st.data())
def test_channel_shift_with_a_scalar_equals_the_same_offset_for_every_channel(x, data):
    o = data.draw(st.floats(-300, 300, allow_nan=False))
    np.testing.assert_array_equal(channel_shift(x, o), channel_shift(x, [o] * x.shape[1]))
    np.testing.assert_array_equal(channel_shift(x, o), x + o)


# --------------------------------------------------------------------------- AUG-20


@pytest.mark.clause("AUG-20")
def test_rescale_literals():
    x = np.array([[[[0, 51, 255]]]], dtype=np.uint8)
    out = rescale(x, 1 / 255)
    assert out[0, 0, 0, 2] == 1.0                                     # exactly
    np.testing.assert_allclose(out[0, 0, 0], [0.0, 0.2, 1.0], rtol=1e-15)
    np.testing.assert_allclose(rescale(x, 1 / 127.5, offset=-1)[0, 0, 0], [-1, -0.6, 1],
                               rtol=1e-15, atol=1e-15)
    np.testing.assert_array_equal(rescale(x, 0)[0, 0, 0], [0, 0, 0])
    np.testing.assert_array_equal(rescale(x, 0, variants=("zero-disables",))[0, 0, 0],
                                  [0.0, 51.0, 255.0])


# --------------------------------------------------------------------- AUG-21 ... 23


def fit_literal_batch() -> np.ndarray:
    # (N=2, C=2, H=1, W=2): channel 0 holds 1, 3 | 5, 7; channel 1 is constant 2
    return np.array([[[[1.0, 3]], [[2, 2]]], [[[5, 7]], [[2, 2]]]])


@pytest.mark.clause("AUG-21")
def test_featurewise_fit_literal():
    mean, std = featurewise_fit(fit_literal_batch())
    np.testing.assert_array_equal(mean, [4.0, 2.0])
    np.testing.assert_allclose(std, [math.sqrt(5), 0.0], rtol=1e-15)  # (9+1+1+9)/4 = 5
    _, std1 = featurewise_fit(fit_literal_batch(), variants=("sample-std",))
    np.testing.assert_allclose(std1, [math.sqrt(20 / 3), 0.0], rtol=1e-15)
    mean_p, std_p = featurewise_fit(fit_literal_batch(), variants=("per-pixel-statistics",))
    assert mean_p.shape == (2, 1, 2)
    np.testing.assert_array_equal(mean_p, [[[3.0, 5.0]], [[2.0, 2.0]]])   # (1+5)/2, (3+7)/2
    np.testing.assert_array_equal(std_p, [[[2.0, 2.0]], [[0.0, 0.0]]])


@pytest.mark.clause("AUG-22")
def test_featurewise_standardize_literal():
    y = featurewise_standardize(fit_literal_batch(), [4.0, 2.0], [math.sqrt(5), 0.0])
    d = math.sqrt(5) + 1e-6
    np.testing.assert_allclose(y[:, 0, 0], [[-3 / d, -1 / d], [1 / d, 3 / d]], rtol=1e-15)
    np.testing.assert_array_equal(y[:, 1], 0.0)                       # constant channel
    y = featurewise_standardize(fit_literal_batch(), 4.0, 4.0, eps=0.5,
                                variants=("epsilon-in-sqrt",))        # sqrt(16 + 0.5)
    np.testing.assert_allclose(y[0, 0, 0], [-3 / math.sqrt(16.5), -1 / math.sqrt(16.5)],
                               rtol=1e-15)


@pytest.mark.clause("AUG-21", "AUG-22")
@given(data=st.data(), eps=st.sampled_from([1e-6, 1e-7, 1e-3]), per_pixel=st.booleans())
def test_featurewise_standardisation_of_its_own_fit_has_mean_0_and_std_sigma_over_sigma_plus_eps(
        data, eps, per_pixel):
    # per-pixel statistics need a spread across the samples at every pixel
    x = data.draw(standardizable_batches(across_samples=per_pixel))
    v = ("per-pixel-statistics",) if per_pixel else ()
    mean, std = featurewise_fit(x, variants=v)
    y = featurewise_standardize(x, mean, std, eps=eps)
    axis = (0,) if per_pixel else (0, 2, 3)
    np.testing.assert_allclose(y.mean(axis=axis), 0.0, atol=1e-9)
    np.testing.assert_allclose(y.std(axis=axis), std / (std + eps), rtol=1e-9, atol=1e-12)


@pytest.mark.clause("AUG-21", "AUG-22")
@given(x=standardizable_batches())
def test_featurewise_standardisation_with_a_negligible_eps_gives_std_1(x):
    y = featurewise_standardize(x, *featurewise_fit(x), eps=1e-300)
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0.0, atol=1e-9)
    np.testing.assert_allclose(y.std(axis=(0, 2, 3)), 1.0, rtol=1e-12)


@pytest.mark.clause("AUG-23")
def test_samplewise_standardize_literals():
    x = np.array([[[[1.0, 3.0]]]])                                    # (1, 1, 1, 2): μ 2, σ 1
    np.testing.assert_allclose(samplewise_standardize(x)[0, 0, 0],
                               [-1 / (1 + 1e-6), 1 / (1 + 1e-6)], rtol=1e-15)
    np.testing.assert_allclose(samplewise_standardize(x, variants=("sample-std",))[0, 0, 0],
                               [-1 / (math.sqrt(2) + 1e-6), 1 / (math.sqrt(2) + 1e-6)], rtol=1e-15)
    np.testing.assert_allclose(samplewise_standardize(x, variants=("epsilon-in-sqrt",))[0, 0, 0],
                               [-1 / math.sqrt(1 + 1e-6), 1 / math.sqrt(1 + 1e-6)], rtol=1e-15)
    # std-floor: σ = 0.25 < 1/sqrt(2), so divide by 1/sqrt(2): ±0.25·√2
    flat = np.array([[[[1.0, 1.5]]]])
    np.testing.assert_allclose(samplewise_standardize(flat, variants=("std-floor",))[0, 0, 0],
                               [-0.25 * math.sqrt(2), 0.25 * math.sqrt(2)], rtol=1e-15)
    np.testing.assert_array_equal(samplewise_standardize(np.full((1, 1, 2, 2), 5.0)), 0.0)


@pytest.mark.clause("AUG-23")
def test_samplewise_statistics_span_all_channels_unless_per_channel():
    x = np.array([[[[1.0, 3.0]], [[10.0, 30.0]]]])                   # (1, 2, 1, 2)
    joint = samplewise_standardize(x)
    s = math.sqrt((100 + 64 + 1 + 361) / 4)                           # μ = 11
    np.testing.assert_allclose(joint[0, :, 0], np.array([[-10, -8], [-1, 19]]) / (s + 1e-6),
                               rtol=1e-14)
    per = samplewise_standardize(x, variants=("per-channel-samplewise",))
    np.testing.assert_allclose(per[0, :, 0], [[-1 / (1 + 1e-6), 1 / (1 + 1e-6)],
                                              [-10 / (10 + 1e-6), 10 / (10 + 1e-6)]], rtol=1e-14)


@pytest.mark.clause("AUG-23")
@given(x=standardizable_batches(), eps=st.sampled_from([1e-6, 1e-300]),
       per_channel=st.booleans())
def test_every_sample_standardises_to_mean_0_and_std_sigma_over_sigma_plus_eps(x, eps,
                                                                              per_channel):
    v = ("per-channel-samplewise",) if per_channel else ()
    y = samplewise_standardize(x, eps=eps, variants=v)
    axis = (2, 3) if per_channel else (1, 2, 3)
    sigma = x.std(axis=axis)
    np.testing.assert_allclose(y.mean(axis=axis), 0.0, atol=1e-9)
    np.testing.assert_allclose(y.std(axis=axis), sigma / (sigma + eps), rtol=1e-9)


@pytest.mark.clause("AUG-23")
@given(x=standardizable_batches())
def test_std_floor_variant_matches_the_per_image_standardization_formula(x):
    m = x[0].size
    y = samplewise_standardize(x, variants=("std-floor",))
    mu = x.mean(axis=(1, 2, 3), keepdims=True)
    den = np.maximum(x.std(axis=(1, 2, 3), keepdims=True), 1 / math.sqrt(m))
    np.testing.assert_allclose(y, (x - mu) / den, rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------------ variants


def spec_variants() -> dict[str, tuple[str, ...]]:
    """Clause id -> the variant names in its ``**Variants.**`` bullets."""
    text = SPEC.read_text(encoding="utf-8")
    found: dict[str, tuple[str, ...]] = {}
    for block in re.split(r"^### ", text, flags=re.M)[1:]:
        cid = block.split(":", 1)[0].strip()
        if "**Variants.**" not in block:
            continue
        body = block.split("**Variants.**", 1)[1].split("\n**", 1)[0]
        found[cid] = tuple(re.findall(r"^- `([a-z0-9-]+)` —", body, flags=re.M))
    return found


@pytest.mark.clause("AUG-2", "AUG-3", "AUG-4", "AUG-5", "AUG-7", "AUG-9", "AUG-11", "AUG-12",
                    "AUG-13", "AUG-14", "AUG-15", "AUG-18", "AUG-19", "AUG-20", "AUG-21",
                    "AUG-22", "AUG-23")
def test_the_spec_and_the_reference_name_the_same_variants():
    assert spec_variants() == AUG_VARIANTS
    every = {n for names in AUG_VARIANTS.values() for n in names}
    accepted = set().union(*AUG_OP_VARIANTS.values())
    assert every == accepted


def _x() -> np.ndarray:
    return np.arange(2 * 2 * 4 * 5, dtype=np.float64).reshape(2, 2, 4, 5) ** 1.5 / 9


WITNESSES = {
    # variant: (function of variants, what the witness is)
    "truncate-to-uint8": lambda v: adjust_brightness(np.full((1, 1, 1, 1), 101, np.uint8), 1.5,
                                                     variants=v),
    "clip-unit-interval": lambda v: adjust_brightness(np.full((1, 1, 1, 1), 0.8), 1.5, variants=v),
    "integer-centres": lambda v: affine(_x(), [[2.0, 0, 0], [0, 1, 0]], variants=v),
    "corner-pivot": lambda v: zoom(_x(), 2, variants=v),
    "pivot-off-by-half": lambda v: rotate(_x(), 90, variants=v),
    "inverse-matrix": lambda v: affine(_x(), [[1.0, 0, 1], [0, 1, 0]], variants=v),
    "yx-order": lambda v: affine(_x(), [[1.0, 0, 1], [0, 1, 0]], variants=v),
    "round-half-down": lambda v: translate(_x(), 0.5, 0, **NEAREST, variants=v),
    "round-half-even": lambda v: translate(_x(), 0.5, 0, **NEAREST, variants=v),
    "round-half-away": lambda v: translate(_x(), 0.5, 0, **NEAREST, variants=v),
    "constant-outside-centres": lambda v: translate(_x(), 0.5, 0, variants=v),
    "reflect-101": lambda v: translate(_x(), 0.5, 0, fill_mode="reflect", variants=v),
    "radians": lambda v: rotate(_x(), 30, variants=v),
    "turns": lambda v: rotate(_x(), 0.1, variants=v),
    "clockwise": lambda v: (rotate(_x(), 30, variants=v), shear(_x(), 30, variants=v)),
    "inverse-translation": lambda v: translate(_x(), 1, 0, variants=v),
    "zoom-shrinks": lambda v: zoom(_x(), 2, variants=v),
    "shear-y": lambda v: shear(_x(), 30, variants=v),
    "shear-factor": lambda v: shear(_x(), 0.5, variants=v),
    "additive-brightness": lambda v: adjust_brightness(_x(), 2, variants=v),
    "clip-to-input-range": lambda v: channel_shift(_x(), 5, variants=v),
    "zero-disables": lambda v: rescale(_x(), 0, variants=v),
    "per-pixel-statistics": lambda v: featurewise_fit(_x(), variants=v)[0].size,
    "sample-std": lambda v: (featurewise_fit(_x(), variants=v)[1],
                             samplewise_standardize(_x(), variants=v)),
    "epsilon-in-sqrt": lambda v: (featurewise_standardize(_x(), 1.0, 0.0, variants=v),
                                  samplewise_standardize(_x(), variants=v)),
    "std-floor": lambda v: samplewise_standardize(np.full((1, 1, 2, 2), 3.0) + [[0, 0], [0, 0.1]],
                                                  variants=v),
    "per-channel-samplewise": lambda v: samplewise_standardize(_x(), variants=v),
}


def _differs(a, b) -> bool:
    if isinstance(a, tuple):
        return all(_differs(p, q) for p, q in zip(a, b, strict=True))
    return np.shape(a) != np.shape(b) or not np.array_equal(a, b)


@pytest.mark.clause("AUG-2", "AUG-3", "AUG-4", "AUG-5", "AUG-7", "AUG-9", "AUG-11", "AUG-12",
                    "AUG-13", "AUG-14", "AUG-15", "AUG-18", "AUG-19", "AUG-20", "AUG-21",
                    "AUG-22", "AUG-23")
@pytest.mark.parametrize("name", sorted({n for ns in AUG_VARIANTS.values() for n in ns}))
def test_every_variant_changes_the_reference_answer_on_its_witness(name):
    witness = WITNESSES[name]
    assert _differs(witness((name,)), witness(()))


# -------------------------------------------------------------------------- errors


X = np.zeros((1, 2, 3, 4))


def case(clause: str, param: str, fn, label: str):
    return pytest.param(clause, param, fn, id=f"{clause}-{label}")


BAD_INPUTS = [
    case("AUG-1", "layout", lambda: rotate(X, 0, layout="NHWC"), "unknown-layout"),
    case("AUG-1", "layout", lambda: vflip(X, layout=None), "layout-none"),
    case("AUG-1", "x", lambda: rotate(X[0], 0), "3d-as-nchw"),
    case("AUG-1", "x", lambda: samplewise_standardize(X, layout="HWC"), "4d-as-hwc"),
    case("AUG-1", "x", lambda: hflip(np.zeros((1, 1, 0, 3))), "empty-axis"),
    case("AUG-1", "x", lambda: featurewise_fit(np.zeros((2, 3))), "2d"),
    case("AUG-1", "x", lambda: adjust_brightness([[[1, 2]], [[1]]], 1.0, layout="HWC"), "ragged"),
    case("AUG-1", "h", lambda: rotation_matrix(0, 0, 3), "zero-height"),
    case("AUG-1", "w", lambda: zoom_matrix(2, 3, 2.5), "float-width"),
    case("SPEC-5", "x", lambda: rotate(np.zeros((1, 1, 2, 2), dtype=bool), 0), "bool-image"),
    case("SPEC-5", "x", lambda: rescale(np.zeros((1, 1, 2, 2), dtype=complex), 1), "complex-image"),
    case("AUG-4", "matrix", lambda: affine(X, np.eye(2)), "2x2"),
    case("AUG-4", "matrix", lambda: affine(X, [[1, 0, 0], [0, 1, 0], [0, 0, 2]]), "projective"),
    case("AUG-4", "matrix", lambda: affine(X, [[1, 2, 0], [2, 4, 0]]), "singular"),
    case("AUG-4", "matrix", lambda: affine(X, [[1, 0, np.nan], [0, 1, 0]]), "nan-entry"),
    case("AUG-4", "matrix", lambda: affine(X, [[1e-300, 0, 1e10], [0, 1, 0]]), "inverse-overflows"),
    case("AUG-4", "matrix", lambda: affine(X, [[1e-308, 0, 0], [0, 1, 0]]), "points-overflow"),
    case("AUG-4", "matrix", lambda: affine_definitional(X, [[1e-308, 0, 0], [0, 1, 0]]),
         "points-overflow-definitional"),
    case("AUG-4", "matrix", lambda: affine(X, [["a", "b", "c"], ["d", "e", "f"]]), "strings"),
    case("AUG-4", "matrix", lambda: affine(X, [[1, 0], [0, 1, 0]]), "ragged"),
    case("AUG-4", "interpolation", lambda: rotate(X, 10, interpolation="cubic"), "cubic"),
    case("AUG-4", "fill_mode", lambda: affine(X, np.eye(3), fill_mode="mirror"), "mirror"),
    case("AUG-4", "fill_value", lambda: zoom(X, 2, fill_value=np.nan), "nan-fill"),
    case("AUG-4", "variants", lambda: affine(X, np.eye(3), variants=("clockwise",)), "variant"),
    case("AUG-5", "variants", lambda: translate(X, 0.5, 0, variants=(
        "round-half-down", "round-half-even")), "two-tie-rules"),
    case("AUG-3", "variants", lambda: rotate(X, 0, variants=("corner-pivot", "pivot-off-by-half")),
         "two-pivots"),
    case("AUG-11", "angle", lambda: rotate(X, np.nan), "nan"),
    case("AUG-11", "angle", lambda: rotate(X, np.inf), "inf"),
    case("AUG-11", "angle", lambda: rotate(X, "90"), "string"),
    case("AUG-11", "angle", lambda: rotate(X, True), "bool"),
    case("AUG-11", "angle", lambda: rotate(X, np.array([90.0])), "array"),
    case("AUG-11", "angle", lambda: shear(X, -np.inf), "shear-inf"),
    case("AUG-11", "variants", lambda: rotate(X, 1, variants=("radians", "turns")), "two-units"),
    case("AUG-12", "variants", lambda: rotate(X, 0, variants=("zoom-shrinks",)), "variant"),
    case("AUG-12", "variants", lambda: rotation_matrix(0, 2, 2, variants=5), "not-a-sequence"),
    case("AUG-13", "tx", lambda: translate(X, np.nan, 0), "nan"),
    case("AUG-13", "ty", lambda: translate(X, 0, "1"), "string"),
    case("AUG-13", "variants", lambda: translate(X, 1, 1, variants=("corner-pivot",)), "pivot"),
    case("AUG-14", "factor", lambda: zoom(X, 0), "zero"),
    case("AUG-14", "factor", lambda: zoom(X, -1.5), "negative"),
    case("AUG-14", "factor", lambda: zoom(X, np.inf), "inf"),
    case("AUG-14", "factor", lambda: zoom(X, (1, 0)), "zero-in-pair"),
    case("AUG-14", "factor", lambda: zoom(X, (1, 2, 3)), "triple"),
    case("AUG-14", "factor", lambda: zoom(X, "2"), "string"),
    case("AUG-14", "factor", lambda: zoom_matrix(np.array(2.0), 2, 2), "0d-array"),
    case("AUG-15", "angle", lambda: shear(X, 90), "90"),
    case("AUG-15", "angle", lambda: shear(X, -90), "minus-90"),
    case("AUG-15", "angle", lambda: shear(X, 135), "135"),
    case("AUG-15", "angle", lambda: shear(X, 0.25, variants=("turns",)), "quarter-turn"),
    case("AUG-15", "angle", lambda: shear(X, np.inf, variants=("shear-factor",)), "inf-factor"),
    case("AUG-15", "variants", lambda: shear(X, 1, variants=("shear-factor", "radians")),
         "factor-with-units"),
    case("AUG-16", "variants", lambda: hflip(X, variants=("clockwise",)), "variant"),
    case("AUG-17", "variants", lambda: vflip(X, variants="x"), "variant"),
    case("AUG-18", "factor", lambda: adjust_brightness(X, -0.5), "negative"),
    case("AUG-18", "factor", lambda: adjust_brightness(X, np.nan), "nan"),
    case("AUG-18", "factor", lambda: adjust_brightness(X, "1"), "string"),
    case("AUG-18", "factor", lambda: adjust_brightness(X, np.inf, variants=(
        "additive-brightness",)), "inf-delta"),
    case("AUG-19", "offset", lambda: channel_shift(X, [1, 2, 3]), "wrong-length"),
    case("AUG-19", "offset", lambda: channel_shift(X, [[1, 2]]), "2d"),
    case("AUG-19", "offset", lambda: channel_shift(X, np.nan), "nan"),
    case("AUG-19", "offset", lambda: channel_shift(X, [1, np.inf]), "inf-entry"),
    case("AUG-19", "offset", lambda: channel_shift(X, ["a", "b"]), "strings"),
    case("AUG-19", "offset", lambda: channel_shift(X, True), "bool"),
    case("AUG-20", "scale", lambda: rescale(X, np.nan), "nan"),
    case("AUG-20", "scale", lambda: rescale(X, True), "bool"),
    case("AUG-20", "offset", lambda: rescale(X, 1, offset=np.inf), "inf-offset"),
    case("AUG-21", "variants", lambda: featurewise_fit(X, variants=("epsilon-in-sqrt",)),
         "variant"),
    case("AUG-22", "mean", lambda: featurewise_standardize(X, np.zeros(3), 1.0), "mean-shape"),
    case("AUG-22", "std", lambda: featurewise_standardize(X, 0.0, np.ones((2, 3))), "std-shape"),
    case("AUG-22", "std", lambda: featurewise_standardize(X, 0.0, [1.0, -1.0]), "negative-std"),
    case("AUG-22", "std", lambda: featurewise_standardize(X, 0.0, np.nan), "nan-std"),
    case("AUG-22", "mean", lambda: featurewise_standardize(X, [True, False], 1.0), "bool-mean"),
    case("AUG-22", "eps", lambda: featurewise_standardize(X, 0.0, 1.0, eps=0), "zero-eps"),
    case("AUG-22", "eps", lambda: featurewise_standardize(X, 0.0, 1.0, eps=-1e-6), "negative-eps"),
    case("AUG-23", "eps", lambda: samplewise_standardize(X, eps=np.nan), "nan-eps"),
    case("AUG-23", "eps", lambda: samplewise_standardize(X, eps=0.0), "zero-eps"),
    case("AUG-23", "variants", lambda: samplewise_standardize(X, variants=(
        "std-floor", "epsilon-in-sqrt")), "floor-and-sqrt"),
]


@pytest.mark.clause("AUG-1", "AUG-3", "AUG-4", "AUG-5", "AUG-11", "AUG-12", "AUG-13", "AUG-14",
                    "AUG-15", "AUG-16", "AUG-17", "AUG-18", "AUG-19", "AUG-20", "AUG-21",
                    "AUG-22", "AUG-23")
@pytest.mark.parametrize("clause,param,fn", BAD_INPUTS)
def test_every_bad_input_raises_a_spec_error_naming_parameter_and_clause(clause, param, fn):
    with spec_error(clause, param):
        fn()


@pytest.mark.clause("AUG-1")
@pytest.mark.parametrize("op", sorted(AUG_OP_VARIANTS))
def test_every_function_rejects_a_variant_name_it_does_not_know(op):
    import reference.augmentation as aug
    fn = getattr(aug, op)
    args = {"affine": (X, np.eye(3)), "affine_definitional": (X, np.eye(3)),
            "rotate": (X, 0), "translate": (X, 0, 0), "zoom": (X, 1), "shear": (X, 0),
            "hflip": (X,), "vflip": (X,), "rotation_matrix": (0, 2, 2),
            "translation_matrix": (0, 0, 2, 2), "zoom_matrix": (1, 2, 2),
            "shear_matrix": (0, 2, 2), "hflip_matrix": (2, 2), "vflip_matrix": (2, 2),
            "adjust_brightness": (X, 1), "channel_shift": (X, 0), "rescale": (X, 1),
            "featurewise_fit": (X,), "featurewise_standardize": (X, 0, 1),
            "samplewise_standardize": (X,)}[op]
    fn(*args)  # the arguments themselves are valid
    with pytest.raises(SpecError) as info:
        fn(*args, variants=("no-such-variant",))
    assert info.value.param == "variants" and "AUG-" in info.value.clause
    for name in AUG_OP_VARIANTS[op]:  # and every advertised variant is accepted
        fn(*args, variants=(name,))
