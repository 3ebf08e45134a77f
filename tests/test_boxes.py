"""Tests of the box and IoU clauses (BOX-1 ... BOX-6, IOU-1 ... IOU-4, spec/boxes.md).

Properties run on clustered boxes whose coordinates are multiples of 1/4
(conformance.strategies.boxes), where conversions and translations are exact, so most
laws are checked bit for bit; literal examples are computed by hand in the comments.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from spec_helpers import spec_error

from conformance.strategies.boxes import QUANTUM, boxes
from reference._errors import SpecError
from reference.boxes import (
    BOX_VARIANTS,
    FORMATS,
    box_area,
    box_area_definitional,
    box_convert,
    box_convert_definitional,
    box_iou,
    box_iou_definitional,
    box_iou_variant,
)

EPS = np.finfo(np.float64).eps




def swap_xy(b: np.ndarray) -> np.ndarray:
    return b[:, [1, 0, 3, 2]]


# --- BOX-1: box arrays ------------------------------------------------------------------------------

@pytest.mark.clause("BOX-1")
@pytest.mark.parametrize("bad", [np.zeros(4), np.zeros((2, 3)), np.zeros((2, 5)),
                                 np.zeros((1, 4, 1)), np.float64(1.0)], ids=str)
def test_box_arrays_that_are_not_n_by_4_raise(bad):
    with spec_error("BOX-1", "boxes"):
        box_area(bad)
    with spec_error("BOX-1", "boxes2"):
        box_iou(np.zeros((1, 4)), bad)
    with spec_error("BOX-1", "boxes"):
        box_convert(bad, "xyxy", "xywh")


@pytest.mark.clause("BOX-1", "SPEC-5")
@pytest.mark.parametrize("dtype", [bool, complex, object])
def test_box_arrays_of_a_non_real_dtype_raise(dtype):
    with spec_error("SPEC-5", "boxes1"):
        box_iou(np.zeros((1, 4), dtype=dtype), np.zeros((1, 4)))


@pytest.mark.clause("BOX-1")
def test_empty_box_arrays_give_empty_results():
    e = np.zeros((0, 4))
    assert box_area(e).shape == (0,)
    assert box_convert(e, "xyxy", "cxcywh").shape == (0, 4)
    assert box_iou(e, np.ones((3, 4))).shape == (0, 3)
    assert box_iou(np.ones((2, 4)), e).shape == (2, 0)
    assert box_iou_definitional(e, e).shape == (0, 0)


@pytest.mark.clause("BOX-1", "SPEC-4")
def test_integer_boxes_are_read_as_float64_and_inputs_are_not_mutated():
    b = np.array([[0, 0, 2, 3]], dtype=np.int32)
    b.setflags(write=False)
    before = b.copy()
    assert box_area(b).dtype == np.float64 and box_area(b)[0] == 6.0
    assert box_convert(b, "xyxy", "xywh").dtype == np.float64
    assert np.array_equal(b, before) and b.dtype == np.int32


# --- BOX-2: formats ---------------------------------------------------------------------------------

@pytest.mark.clause("BOX-2")
@pytest.mark.parametrize("fmt", ["XYXY", "xyxy ", "xywh2", "", None, 0])
def test_unknown_formats_raise(fmt):
    b = np.zeros((1, 4))
    with spec_error("BOX-2", "fmt"):
        box_area(b, fmt=fmt)
    with spec_error("BOX-2", "fmt"):
        box_iou(b, b, fmt=fmt)
    with spec_error("BOX-2", "in_fmt"):
        box_convert(b, fmt, "xyxy")
    with spec_error("BOX-2", "out_fmt"):
        box_convert(b, "xyxy", fmt)


# --- BOX-3: conversion ------------------------------------------------------------------------------

@pytest.mark.clause("BOX-2", "BOX-3")
def test_box_convert_matches_hand_computed_examples():
    xyxy = np.array([[1.0, 2.0, 5.0, 8.0]])
    # width 4, height 6, centre (3, 5)
    expected = {"xyxy": [1, 2, 5, 8], "xywh": [1, 2, 4, 6], "cxcywh": [3, 5, 4, 6],
                "yxyx": [2, 1, 8, 5]}
    for fmt, row in expected.items():
        assert box_convert(xyxy, "xyxy", fmt).tolist() == [row]
        assert box_convert(np.array([row], float), fmt, "xyxy").tolist() == xyxy.tolist()
        assert box_area(np.array([row], float), fmt=fmt).tolist() == [24.0]


@pytest.mark.clause("BOX-3")
@given(boxes(fmt="xyxy"), st.sampled_from(FORMATS), st.sampled_from(FORMATS))
def test_conversion_round_trips_are_exact_on_quarter_grid_boxes(b, f, g):
    there = box_convert(b, "xyxy", f)
    assert np.array_equal(box_convert(box_convert(there, f, g), g, f), there)
    assert np.array_equal(box_convert(there, f, "xyxy"), b)


@pytest.mark.clause("BOX-3")
@given(st.integers(0, 2**32 - 1), st.sampled_from(FORMATS), st.sampled_from(FORMATS),
       st.sampled_from([1.0, 1e3, 1e8]))
def test_conversion_round_trips_are_exact_up_to_rounding_on_any_reals(seed, f, g, scale):
    rng = np.random.default_rng(seed)
    lo = rng.normal(0, scale, (6, 2))
    xyxy = np.concatenate([lo, lo + rng.exponential(scale, (6, 2))], axis=1)
    b = box_convert(xyxy, "xyxy", f)
    back = box_convert(box_convert(b, f, g), g, f)
    # Each step rounds once per coordinate, to within half an ulp of the largest coordinate
    # in its row; two conversions through xyxy and back take at most eight such steps.
    bound = 8 * EPS * np.abs(xyxy).max(axis=1, keepdims=True)
    assert (np.abs(back - b) <= bound).all()


@pytest.mark.clause("BOX-3")
@given(st.integers(0, 2**32 - 1), st.sampled_from(FORMATS), st.sampled_from(FORMATS))
def test_conversion_between_two_formats_is_the_composition_through_xyxy(seed, f, g):
    rng = np.random.default_rng(seed)
    lo = rng.normal(0, 100, (5, 2))
    b = box_convert(np.concatenate([lo, lo + rng.exponential(50, (5, 2))], axis=1), "xyxy", f)
    direct = box_convert(b, f, g)
    assert np.array_equal(direct, box_convert(box_convert(b, f, "xyxy"), "xyxy", g))
    assert np.array_equal(direct, box_convert_definitional(b, f, g))


# --- BOX-4: area ------------------------------------------------------------------------------------

@pytest.mark.clause("BOX-4")
@given(boxes(fmt=None))
def test_box_area_is_width_times_height_of_the_xyxy_form(case):
    b, fmt = case
    xyxy = box_convert(b, fmt, "xyxy")
    area = box_area(b, fmt=fmt)
    assert np.array_equal(area, (xyxy[:, 2] - xyxy[:, 0]) * (xyxy[:, 3] - xyxy[:, 1]))
    assert np.array_equal(area, box_area_definitional(b, fmt=fmt))
    assert (area >= 0).all()


@pytest.mark.clause("BOX-4", "BOX-5")
def test_zero_width_and_zero_height_boxes_are_valid_with_zero_area():
    b = np.array([[1.0, 1.0, 1.0, 5.0], [0.0, 2.0, 3.0, 2.0], [4.0, 4.0, 4.0, 4.0]])
    assert box_area(b).tolist() == [0.0, 0.0, 0.0]
    assert box_area(np.array([[1.0, 1.0, -0.0, 0.0]]), fmt="xywh").tolist() == [0.0]


@pytest.mark.clause("BOX-4", "IOU-2")
def test_plus_one_pixel_variant_adds_one_to_widths_heights_and_intersections():
    a = np.array([[0.0, 0.0, 1.0, 1.0]])
    b = np.array([[1.0, 0.0, 2.0, 1.0]])
    # Touching: IoU 0 by the spec. With +1: each box is 2 x 2 pixels, they share one
    # column of 2 pixels: 2 / (4 + 4 - 2) = 1/3.
    assert box_iou(a, b)[0, 0] == 0.0
    for definitional in (False, True):
        assert box_iou_variant(a, b, variant="plus-one-pixel",
                               definitional=definitional)[0, 0] == pytest.approx(1 / 3, rel=EPS)
    # A point box becomes one pixel of area 1: IoU with itself is 1.
    p = np.array([[3.0, 3.0, 3.0, 3.0]])
    assert box_iou_variant(p, p, variant="plus-one-pixel")[0, 0] == 1.0


@pytest.mark.clause("BOX-4")
@pytest.mark.parametrize("variant", ["plus-one", "normalize-corners", "suppress-on-equal", 3])
def test_unknown_box_variants_raise(variant):
    b = np.zeros((1, 4))
    with spec_error("BOX-4", "variant"):
        box_iou_variant(b, b, variant=variant)


# --- BOX-5: inverted corners ------------------------------------------------------------------------

INVERTED = {"xyxy": [[2.0, 0.0, 1.0, 1.0], [0.0, 2.0, 1.0, 1.0]],
            "yxyx": [[2.0, 0.0, 1.0, 1.0], [0.0, 2.0, 1.0, 1.0]],
            "xywh": [[0.0, 0.0, -1.0, 1.0], [0.0, 0.0, 1.0, -0.25]],
            "cxcywh": [[0.0, 0.0, -1.0, 1.0], [0.0, 0.0, 1.0, -0.25]]}


@pytest.mark.clause("BOX-5")
@pytest.mark.parametrize("fmt", FORMATS)
def test_inverted_boxes_raise_in_every_format(fmt):
    for row in INVERTED[fmt]:
        b = np.array([[0.0, 0.0, 1.0, 1.0], row])
        with pytest.raises(SpecError, match=r"row 1.*\(BOX-5\)$"):
            box_area(b, fmt=fmt)
        with spec_error("BOX-5", "boxes1"):
            box_iou(b, b, fmt=fmt)
        with spec_error("BOX-5", "boxes"):
            box_convert(b, fmt, "xyxy")


@pytest.mark.clause("BOX-5")
@given(boxes(fmt="xyxy"), boxes(fmt="xyxy"), st.integers(0, 2**32 - 1))
def test_normalise_corners_variant_equals_iou_of_the_swapped_boxes(a, b, seed):
    rng = np.random.default_rng(seed)

    def invert(x):
        x = x.copy()
        flip_x, flip_y = rng.random(x.shape[0]) < 0.5, rng.random(x.shape[0]) < 0.5
        x[flip_x] = x[flip_x][:, [2, 1, 0, 3]]
        x[flip_y] = x[flip_y][:, [0, 3, 2, 1]]
        return x

    for definitional in (False, True):
        got = box_iou_variant(invert(a), invert(b), variant="normalise-corners",
                              definitional=definitional)
        assert np.array_equal(got, box_iou(a, b))


# --- BOX-6: non-finite coordinates ------------------------------------------------------------------

@pytest.mark.clause("BOX-6")
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("col", range(4))
def test_non_finite_coordinates_raise(value, col):
    b = np.array([[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0]])
    b[1, col] = value
    for fmt in FORMATS:
        with spec_error("BOX-6", "boxes2"):
            box_iou(np.zeros((1, 4)), b, fmt=fmt)
    with spec_error("BOX-6", "boxes"):
        box_area_definitional(b)


@pytest.mark.clause("BOX-6")
def test_conversions_and_areas_that_overflow_raise():
    with spec_error("BOX-6", "boxes"):
        box_convert(np.array([[1e308, 0.0, 1e308, 1.0]]), "xywh", "xyxy")
    with spec_error("BOX-6", "boxes"):
        box_area(np.array([[0.0, 0.0, 1e200, 1e200]]))
    with spec_error("BOX-6", "boxes"):
        box_convert(np.array([[-1e308, 0.0, 1e308, 1.0]]), "xyxy", "xywh")
    with spec_error("BOX-6", "boxes"):
        box_convert_definitional(np.array([[-1e308, 0.0, 1e308, 1.0]]), "xyxy", "cxcywh")


# --- IOU-1 ... IOU-3 --------------------------------------------------------------------------------

@pytest.mark.clause("IOU-1")
def test_box_iou_matches_hand_computed_values():
    a = np.array([[0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 4.0, 4.0]])
    b = np.array([[1.0, 1.0, 3.0, 3.0], [1.0, 1.0, 2.0, 2.0], [2.0, 0.0, 6.0, 2.0]])
    # (0,0,2,2)/(1,1,3,3): inter 1, union 4 + 4 - 1 = 7.   (0,0,2,2)/(1,1,2,2): 1 / 4.
    # (0,0,2,2)/(2,0,6,2): touching, 0.  (0,0,4,4)/(1,1,3,3): 4 / 16.
    # (0,0,4,4)/(1,1,2,2): 1 / 16.  (0,0,4,4)/(2,0,6,2): inter 2 x 2 = 4, union 16 + 8 - 4 = 20.
    expected = np.array([[1 / 7, 1 / 4, 0.0], [4 / 16, 1 / 16, 4 / 20]])
    for fn in (box_iou, box_iou_definitional):
        got = fn(a, b)
        assert got.shape == (2, 3) and got.dtype == np.float64
        assert np.array_equal(got, expected)


@pytest.mark.clause("IOU-1")
@given(boxes(fmt=None), st.data())
def test_box_iou_equals_its_definitional_form_bit_for_bit(case, data):
    a, fmt = case
    b = data.draw(boxes(fmt=fmt))
    assert np.array_equal(box_iou(a, b, fmt=fmt), box_iou_definitional(a, b, fmt=fmt))


@pytest.mark.clause("IOU-2")
@pytest.mark.parametrize("other", [[2.0, 0.0, 3.0, 2.0], [0.0, 2.0, 2.0, 3.0], [2.0, 2.0, 3.0, 3.0],
                                   [5.0, 5.0, 9.0, 9.0], [-3.0, 0.0, 0.0, 2.0]])
def test_disjoint_and_touching_boxes_have_iou_exactly_zero(other):
    a = np.array([[0.0, 0.0, 2.0, 2.0]])
    for fn in (box_iou, box_iou_definitional):
        assert fn(a, np.array([other]))[0, 0] == 0.0


@pytest.mark.clause("IOU-2")
@given(boxes(fmt="xyxy"), boxes(fmt="xyxy"))
def test_boxes_moved_apart_by_their_extent_have_zero_iou(a, b):
    if a.size and b.size:
        # Put b to the right of every box of a: touching at most.
        shift = a[:, 2].max() - b[:, 0].min()
        moved = b + np.array([shift, 0.0, shift, 0.0])
        assert (box_iou(a, moved) == 0.0).all()


@pytest.mark.clause("IOU-3")
def test_two_zero_area_boxes_have_iou_zero_without_warnings():
    point = np.array([[1.0, 1.0, 1.0, 1.0]])
    segment = np.array([[0.0, 1.0, 3.0, 1.0]])
    big = np.array([[0.0, 0.0, 4.0, 4.0]])
    with np.errstate(all="raise"):
        for fn in (box_iou, box_iou_definitional):
            assert fn(point, point)[0, 0] == 0.0  # identical, union 0: 0, not NaN or 1
            assert fn(segment, segment)[0, 0] == 0.0
            assert fn(point, segment)[0, 0] == 0.0
            assert fn(point, big)[0, 0] == 0.0
            assert fn(segment, big)[0, 0] == 0.0


# --- IOU-4: invariances -----------------------------------------------------------------------------

@pytest.mark.clause("IOU-4")
@given(boxes(fmt="xyxy"), boxes(fmt="xyxy"))
def test_iou_is_symmetric_and_lies_in_the_unit_interval(a, b):
    ab, ba = box_iou(a, b), box_iou(b, a)
    assert np.array_equal(ab, ba.T)
    assert ((ab >= 0) & (ab <= 1)).all()


@pytest.mark.clause("IOU-4")
@given(boxes(fmt="xyxy", degenerate=False))
def test_iou_of_a_box_with_itself_is_one(a):
    assert (np.diagonal(box_iou(a, a)) == 1.0).all()


@pytest.mark.clause("IOU-4")
@given(boxes(fmt="xyxy"), boxes(fmt="xyxy"), st.integers(-400, 400), st.integers(-400, 400))
def test_iou_is_invariant_to_translating_both_boxes(a, b, dx, dy):
    v = np.array([dx, dy, dx, dy]) * QUANTUM  # exact: the coordinates stay on the grid
    assert np.array_equal(box_iou(a + v, b + v), box_iou(a, b))


@pytest.mark.clause("IOU-4")
@given(st.integers(0, 2**32 - 1))
def test_iou_is_invariant_to_swapping_x_and_y_bit_for_bit(seed):
    rng = np.random.default_rng(seed)
    lo = rng.normal(0, 10, (7, 2))
    a = np.concatenate([lo, lo + rng.exponential(5, (7, 2))], axis=1)
    assert np.array_equal(box_iou(swap_xy(a), swap_xy(a)), box_iou(a, a))
    # xyxy read as yxyx is the same swap.
    assert np.array_equal(box_iou(a, a, fmt="yxyx"), box_iou(a, a))


@pytest.mark.clause("IOU-4", "BOX-3")
@given(boxes(fmt="xyxy"), boxes(fmt="xyxy"), st.sampled_from(FORMATS))
def test_iou_is_the_same_in_every_format(a, b, fmt):
    got = box_iou(box_convert(a, "xyxy", fmt), box_convert(b, "xyxy", fmt), fmt=fmt)
    assert np.array_equal(got, box_iou(a, b))


@pytest.mark.clause("BOX-2", "BOX-4", "BOX-5")
def test_formats_and_box_variants_are_the_ones_the_spec_names():
    spec = (Path(__file__).resolve().parent.parent / "spec" / "boxes.md").read_text(encoding="utf-8")
    assert FORMATS == ("xyxy", "xywh", "cxcywh", "yxyx")
    assert all(f'"{f}"' in spec for f in FORMATS)
    assert set(BOX_VARIANTS) == {"plus-one-pixel", "normalise-corners"}
    assert all(f"- `{v}` —" in spec for v in BOX_VARIANTS)
