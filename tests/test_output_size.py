"""Output sizes and padding forms (SIZE-1 ... SIZE-9), and every op's output shape.

The size formulas are checked two ways: against the formula as the spec writes it, and
against an independent count of the windows that fit (so a formula copied wrongly into
both the code and this file would still be caught). Bad forms are in test_errors.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from spec_helpers import pair

import reference as ref
from conformance.strategies.conv import CASES, Case
from reference import SpecError, conv_output_size, conv_transpose_output_size, same_padding

# --- helpers --------------------------------------------------------------------------------------


def _axis_padding(padding, axis):
    """One axis's padding in the form conv_output_size takes: a string, or (before, after)."""
    if isinstance(padding, str):
        return padding
    if isinstance(padding, (int, np.integer)):
        return (padding, padding)
    entry = padding[axis]
    return tuple(entry) if isinstance(entry, (tuple, list)) else (entry, entry)


def _count_windows(size, k, s, before, after, d):
    """Windows i >= 0 whose dilated extent lies inside the padded axis (counted, not computed)."""
    eff = d * (k - 1) + 1
    i = 0
    while i * s + eff <= size + before + after:
        i += 1
    return i


# sizes small enough to enumerate, large enough for every interaction of S, D, K and padding
sizes = st.integers(1, 20)
kernels = st.integers(1, 5)
strides = st.integers(1, 5)
dilations = st.integers(1, 3)
pads = st.integers(0, 4)


# --- SIZE-3, SIZE-4 ------------------------------------------------------------------------------


@pytest.mark.clause("SIZE-3")
@given(sizes, kernels, strides, dilations, pads, pads)
def test_output_length_is_the_number_of_windows_that_fit(size, k, s, d, before, after):
    eff = d * (k - 1) + 1
    if size + before + after < eff:
        with pytest.raises(SpecError):
            conv_output_size(size, k, stride=s, padding=(before, after), dilation=d)
        return
    got = conv_output_size(size, k, stride=s, padding=(before, after), dilation=d)
    assert got == _count_windows(size, k, s, before, after, d)
    # the formula as SIZE-3 writes it
    assert got == (size + before + after - d * (k - 1) - 1) // s + 1


@pytest.mark.clause("SIZE-3")
@pytest.mark.parametrize(
    "size, k, s, p, d, expected",
    [
        (7, 3, 2, 0, 1, 3),  # windows at rows 0, 2, 4
        (7, 3, 1, 1, 1, 7),  # the classic 3x3 pad-1 "same"
        (9, 1, 1, 0, 1, 9),  # K = 1, S = 1: OH = H
        (5, 3, 7, 0, 1, 1),  # stride past the numerator: one window
        (7, 3, 1, 0, 2, 3),  # dilated extent 5: rows 0..4, 1..5, 2..6
        (8, 3, 3, 0, 1, 2),  # row 6, 7 are left over: windows 0..2, 3..5
        (2, 3, 1, 1, 1, 2),  # padding lets a kernel larger than the input fit (SIZE-4 edge)
    ],
)
def test_output_length_of_hand_computed_examples(size, k, s, p, d, expected):
    assert conv_output_size(size, k, stride=s, padding=p, dilation=d) == expected


@pytest.mark.clause("SIZE-4")
@given(kernels, strides, dilations, st.data())
def test_a_padded_input_exactly_the_kernel_extent_gives_one_window(k, s, d, data):
    eff = d * (k - 1) + 1
    size = data.draw(st.integers(1, eff), label="size")
    before = data.draw(st.integers(0, eff - size), label="before")
    after = eff - size - before
    assert conv_output_size(size, k, stride=s, padding=(before, after), dilation=d) == 1


@pytest.mark.clause("SIZE-4")
def test_a_kernel_larger_than_the_padded_input_raises_where_textbook_truncation_gives_one():
    # H = 2, K = 3, P = 0, S = 2: the textbook int((H + 2P - K) / S) + 1 = int(-0.5) + 1 = 1
    textbook = int((2 + 0 - 3) / 2) + 1
    assert textbook == 1
    with pytest.raises(SpecError, match=r"SIZE-4") as err:
        conv_output_size(2, 3, stride=2, padding=0)
    assert err.value.param == "size"
    # and every op raises on the same geometry: x (2, 3, 2, 2) with a 3x3 window, stride 2
    x = np.zeros((2, 3, 2, 2))
    for call in (lambda: ref.conv2d(x, np.zeros((1, 3, 3, 3)), stride=2),
                 lambda: ref.max_pool2d(x, 3, stride=2),
                 lambda: ref.avg_pool2d(x, 3, stride=2),
                 lambda: ref.im2col(x, 3, stride=2)):
        with pytest.raises(SpecError, match=r"x\.shape\[2\] \(H\).*SIZE-4"):
            call()


@pytest.mark.clause("SIZE-4", "SPEC-7")
def test_an_empty_batch_still_checks_that_the_window_fits():
    with pytest.raises(SpecError, match="SIZE-4"):
        ref.conv2d(np.zeros((0, 1, 2, 5)), np.zeros((1, 1, 3, 3)))


# --- SIZE-5, SIZE-6 ------------------------------------------------------------------------------


@pytest.mark.clause("SIZE-5", "SIZE-6")
@given(sizes, kernels, strides, dilations, st.booleans())
def test_same_padding_gives_ceil_of_size_over_stride_with_the_least_total_padding(size, k, s, d, lower):
    before, after = same_padding(size, k, stride=s, dilation=d, lower=lower)
    total = before + after
    oh = -(-size // s)
    assert conv_output_size(size, k, stride=s, padding=(before, after), dilation=d) == oh
    eff = d * (k - 1) + 1
    # the last of the ceil(H/S) windows fits, and one row less of padding would not do
    assert (oh - 1) * s + eff <= size + total
    assert total == 0 or (oh - 1) * s + eff > size + total - 1
    # the odd pad: at the end for "same" (SIZE-5), at the start for "same_lower" (SIZE-6)
    small, big = total // 2, total - total // 2
    assert (before, after) == ((big, small) if lower else (small, big))
    mode = "same_lower" if lower else "same"
    assert conv_output_size(size, k, stride=s, padding=mode, dilation=d) == oh


@pytest.mark.clause("SIZE-5", "SIZE-6")
@pytest.mark.parametrize(
    "size, k, s, d, same, same_lower",
    [
        (5, 4, 1, 1, (1, 2), (2, 1)),  # S = 1: total = D(K - 1) = 3
        (5, 1, 2, 1, (0, 0), (0, 0)),  # strided windows already cover the input
        (6, 3, 2, 1, (0, 1), (1, 0)),  # OH = 3: (3 - 1)*2 + 3 - 6 = 1
        (7, 3, 2, 1, (1, 1), (1, 1)),  # even total: the two agree
        (5, 2, 1, 3, (1, 2), (2, 1)),  # dilated extent 4: total 3
    ],
)
def test_same_padding_of_hand_computed_examples(size, k, s, d, same, same_lower):
    assert same_padding(size, k, stride=s, dilation=d) == same
    assert same_padding(size, k, stride=s, dilation=d, lower=True) == same_lower


@pytest.mark.clause("SIZE-5", "SIZE-6", "CONV-5")
def test_same_and_same_lower_place_the_odd_pad_in_conv2d():
    # x (1, 1, 1, 4) = [1, 2, 3, 4]; w (1, 1, 1, 2) = [1, 10]: "same" pads (0, 1) on the width
    x = np.array([1.0, 2, 3, 4]).reshape(1, 1, 1, 4)
    w = np.array([1.0, 10]).reshape(1, 1, 1, 2)
    # "same": [1, 2, 3, 4, 0] -> 1+20, 2+30, 3+40, 4+0
    np.testing.assert_array_equal(ref.conv2d(x, w, padding="same")[0, 0, 0], [21, 32, 43, 4])
    # "same_lower": [0, 1, 2, 3, 4] -> 0+10, 1+20, 2+30, 3+40
    np.testing.assert_array_equal(ref.conv2d(x, w, padding="same_lower")[0, 0, 0], [10, 21, 32, 43])


# --- SIZE-7 --------------------------------------------------------------------------------------


@pytest.mark.clause("SIZE-7")
@given(sizes, kernels, strides, dilations, pads, pads)
def test_ceil_mode_is_the_ceiling_less_a_last_window_starting_in_the_end_padding(
        size, k, s, d, before, after):
    eff = d * (k - 1) + 1
    if size + before + after < eff:
        return
    span = size + before + after - eff
    # counted: the windows needed to reach the end of the padded input (start < span + S)
    naive = sum(1 for i in range(span // s + 2) if i * s < span + s)
    assert naive == -(-span // s) + 1
    got = conv_output_size(size, k, stride=s, padding=(before, after), dilation=d, ceil_mode=True)
    # the correction is applied once, as written (it can leave fewer windows than floor mode)
    assert got == (naive - 1 if (naive - 1) * s >= size + before else naive)
    floor_ = conv_output_size(size, k, stride=s, padding=(before, after), dilation=d)
    if after < eff:  # end padding narrower than the window: ceil_mode adds at most one window
        assert got in (floor_, floor_ + 1)


@pytest.mark.clause("SIZE-7")
@pytest.mark.parametrize(
    "size, k, s, p, floor_, ceil_, naive",
    [
        (6, 3, 2, 0, 2, 3, 3),  # last window covers rows 4-6, row 6 past the input
        (5, 2, 2, 1, 3, 3, 4),  # naive ceil's 4th window would start at padded row 6 = H + P_top
        (1, 1, 1, 1, 3, 2, 3),  # padding >= the kernel: ceil_mode gives fewer than floor
        (7, 3, 2, 0, 3, 3, 3),  # S divides the span: no change
    ],
)
def test_ceil_mode_of_hand_computed_examples_drops_the_window_starting_in_end_padding(
        size, k, s, p, floor_, ceil_, naive):
    assert conv_output_size(size, k, stride=s, padding=p) == floor_
    assert conv_output_size(size, k, stride=s, padding=p, ceil_mode=True) == ceil_
    assert -(-(size + 2 * p - k) // s) + 1 == naive  # the naive-ceil variant, for the record
    # pooling has the same size: x (2, 3, size, size)
    x = np.zeros((2, 3, size, size))
    assert ref.max_pool2d(x, k, stride=s, padding=p, ceil_mode=True).shape == (2, 3, ceil_, ceil_)
    assert ref.avg_pool2d(x, k, stride=s, padding=p, ceil_mode=True).shape == (2, 3, ceil_, ceil_)


# --- SIZE-8 --------------------------------------------------------------------------------------


@pytest.mark.clause("SIZE-8")
@given(st.integers(1, 8), kernels, strides, dilations, pads, pads, st.integers(0, 4))
def test_transposed_output_length_is_the_adjoint_size(size, k, s, d, before, after, op):
    expected = (size - 1) * s - before - after + d * (k - 1) + op + 1
    call = lambda: conv_transpose_output_size(size, k, stride=s, padding=(before, after),  # noqa: E731
                                              output_padding=op, dilation=d)
    if op >= max(s, d):
        with pytest.raises(SpecError, match="SIZE-8") as err:
            call()
        assert err.value.param == "output_padding"
    elif expected < 1:
        with pytest.raises(SpecError, match="SIZE-8"):
            call()
    else:
        got = call()
        assert got == expected
        # it is a conv2d input length that maps back to `size` (output_padding picks which)
        assert conv_output_size(got, k, stride=s, padding=(before, after), dilation=d) == size + op // s


@pytest.mark.clause("SIZE-8")
@pytest.mark.parametrize(
    "size, k, s, p, op, d, expected",
    [
        (3, 3, 2, 1, 1, 1, 6),  # (3-1)*2 - 2 + 2 + 1 + 1
        (3, 3, 2, 1, 0, 1, 5),
        (4, 1, 1, 0, 0, 1, 4),  # S = D = 1, K = 1: identity size
        (2, 2, 1, 0, 2, 3, 7),  # D > S allows output_padding >= S: 1 + 3 + 2 + 1
        (1, 3, 1, 0, 0, 1, 3),  # "full" convolution: H + K - 1
    ],
)
def test_transposed_output_length_of_hand_computed_examples(size, k, s, p, op, d, expected):
    assert conv_transpose_output_size(size, k, stride=s, padding=p, output_padding=op,
                                      dilation=d) == expected


# --- SIZE-9, SIZE-1, SIZE-2 ----------------------------------------------------------------------


@pytest.mark.clause("SIZE-9")
@given(sizes, kernels, strides, dilations)
def test_valid_padding_is_zero_padding(size, k, s, d):
    if size < d * (k - 1) + 1:
        with pytest.raises(SpecError, match="SIZE-4"):
            conv_output_size(size, k, stride=s, padding="valid", dilation=d)
        return
    assert conv_output_size(size, k, stride=s, padding="valid", dilation=d) == \
        conv_output_size(size, k, stride=s, padding=0, dilation=d)


@pytest.mark.clause("SIZE-9", "CONVT-5")
def test_valid_padding_means_zero_padding_in_every_op():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 5, 4))  # N=2, C=3
    w = rng.standard_normal((4, 3, 2, 3))
    np.testing.assert_array_equal(ref.conv2d(x, w, padding="valid"), ref.conv2d(x, w, padding=0))
    np.testing.assert_array_equal(ref.max_pool2d(x, 2, padding="valid"), ref.max_pool2d(x, 2))
    np.testing.assert_array_equal(ref.avg_pool2d(x, 2, padding="valid"), ref.avg_pool2d(x, 2))
    np.testing.assert_array_equal(ref.im2col(x, 2, padding="valid"), ref.im2col(x, 2))
    wt = rng.standard_normal((3, 2, 2, 2))
    np.testing.assert_array_equal(ref.conv_transpose2d(x, wt, padding="valid"),
                                  ref.conv_transpose2d(x, wt, padding=0))


@pytest.mark.clause("SIZE-1")
def test_kernel_stride_and_dilation_accept_ints_pairs_lists_and_numpy_integers():
    x = np.arange(2 * 2 * 9 * 8, dtype=float).reshape(2, 2, 9, 8)  # N=2, C=2
    base = ref.max_pool2d(x, (2, 3), stride=(2, 1), dilation=(1, 2))
    for k, s, d in [([2, 3], [2, 1], [1, 2]),
                    ((np.int64(2), np.int32(3)), (np.int8(2), 1), (1, np.uint8(2)))]:
        np.testing.assert_array_equal(ref.max_pool2d(x, k, stride=s, dilation=d), base)
    # an int is the pair (v, v)
    np.testing.assert_array_equal(ref.avg_pool2d(x, 2, stride=2), ref.avg_pool2d(x, (2, 2), stride=(2, 2)))
    assert conv_output_size(np.int64(7), np.int16(3), stride=np.uint8(2)) == 3
    # height and width are independent: kernel (1, 7), stride (1, 2), dilation (2, 1)
    assert ref.im2col(x, (1, 7), stride=(1, 2), dilation=(2, 1)).shape == (2 * 9 * 1, 2 * 7)


@pytest.mark.clause("SIZE-2", "CONV-5")
def test_padding_forms_int_pair_explicit_and_lists_mean_the_same():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 2, 4, 5))  # N=2, C=2
    w = rng.standard_normal((3, 2, 2, 2))
    forms_1 = [1, (1, 1), [1, 1], ((1, 1), (1, 1)), [[1, 1], [1, 1]], np.int64(1)]
    base = ref.conv2d(x, w, padding=forms_1[0])
    for p in forms_1[1:]:
        np.testing.assert_array_equal(ref.conv2d(x, w, padding=p), base)
    np.testing.assert_array_equal(ref.conv2d(x, w, padding=(2, 0)),
                                  ref.conv2d(x, w, padding=((2, 2), (0, 0))))
    # asymmetric padding is zero rows/columns on the named sides: ((0, 1), (2, 0))
    xp = np.pad(x, ((0, 0), (0, 0), (0, 1), (2, 0)))
    np.testing.assert_array_equal(ref.conv2d(x, w, padding=((0, 1), (2, 0))), ref.conv2d(xp, w))


# --- every op's output shape -------------------------------------------------------------------


def _expected_shapes(case):
    """The output shape(s) of a case, from the one-axis size functions alone."""
    a, p = case.arrays, case.params
    if case.op == "conv_transpose2d":
        x, w = a["x"], a["w"]
        s, d, op = pair(p["stride"]), pair(p["dilation"]), pair(p["output_padding"])
        hw = tuple(conv_transpose_output_size(x.shape[2 + ax], w.shape[2 + ax], stride=s[ax],
                                              padding=_axis_padding(p["padding"], ax),
                                              output_padding=op[ax], dilation=d[ax]) for ax in (0, 1))
        return [(x.shape[0], w.shape[1] * p["groups"]) + hw]
    if case.op == "conv2d_backward":
        return [a["x"].shape, a["w"].shape, (a["w"].shape[0],)]
    if case.op.endswith("_backward"):
        return [a["x"].shape]
    x = a["x"]
    if case.op == "conv2d":
        k = a["w"].shape[2:]
    else:
        k = pair(p["kernel_size"])
    s = pair(p.get("stride") if p.get("stride") is not None else k)
    d = pair(p.get("dilation", 1))
    hw = tuple(conv_output_size(x.shape[2 + ax], k[ax], stride=s[ax], padding=_axis_padding(p["padding"], ax),
                                dilation=d[ax], ceil_mode=p.get("ceil_mode", False)) for ax in (0, 1))
    if case.op == "conv2d":
        return [(x.shape[0], a["w"].shape[0]) + hw]
    if case.op == "im2col":
        return [(x.shape[0] * hw[0] * hw[1], x.shape[1] * k[0] * k[1])]
    if case.op == "max_pool2d":
        return [x.shape[:2] + hw, x.shape[:2] + hw]
    return [x.shape[:2] + hw]


@pytest.mark.clause("SIZE-3", "SIZE-7", "SIZE-8", "CONV-2", "CONVT-3", "POOL-1", "IM2COL-1", "SPEC-2",
                    "SPEC-7")
@pytest.mark.parametrize("op", sorted(CASES))
@given(data=st.data())
def test_every_op_output_shape_equals_the_output_size_function_for_any_batch_size(op, data):
    case = data.draw(CASES[op](), label="case")
    # the same call with an empty batch (SPEC-7): N = 0 in x and dy, never in w or b
    empty = Case(op, {k: v if k in ("w", "b") else v[:0] for k, v in case.arrays.items()}, case.params)
    for c in (case, empty):
        out = c.call(getattr(ref, op))
        outs = list(out) if isinstance(out, tuple) else [out]
        assert [o.shape for o in outs] == _expected_shapes(c)
        if op == "max_pool2d":
            assert outs[0].dtype == np.float64 and outs[1].dtype == np.int64
        else:
            assert all(o.dtype == np.float64 for o in outs)


@pytest.mark.clause("POOL-1")
def test_pooling_stride_none_means_the_kernel_size():
    x = np.arange(2 * 3 * 7 * 8, dtype=float).reshape(2, 3, 7, 8)  # N=2, C=3
    assert math.prod(ref.max_pool2d(x, (2, 3)).shape) == 2 * 3 * 3 * 2
    np.testing.assert_array_equal(ref.max_pool2d(x, (2, 3), dilation=2),
                                  ref.max_pool2d(x, (2, 3), stride=(2, 3), dilation=2))
    np.testing.assert_array_equal(ref.avg_pool2d(x, (3, 2), padding=1),
                                  ref.avg_pool2d(x, (3, 2), stride=(3, 2), padding=1))
