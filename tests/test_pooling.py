"""Max and average pooling, forward and backward (POOL-1, POOL-2, POOL-MAX-*, POOL-AVG-*)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, note
from hypothesis import strategies as st
from spec_helpers import pair

import reference as ref
from conformance.ops import OPS
from conformance.strategies.conv import (
    avg_pool2d_cases,
    data,
    max_pool2d_cases,
    pool_backward_cases,
    special_values,
)
from conformance.tolerance import compare
from reference.pooling import avg_pool2d_definitional, max_pool2d_definitional

ADJOINT_RTOL = 1e-12
inf, nan = np.inf, np.nan


def _window_taps(x_shape, params, out_hw):
    """{(i, j): [(u, v) or None for each tap in row-major order]}, None = padding or outside."""
    k = pair(params["kernel_size"])
    s = pair(params["stride"]) if params.get("stride") is not None else k
    d = pair(params.get("dilation", 1))
    padding = params["padding"]
    h, w = x_shape[2:]
    if isinstance(padding, str):
        pads = ((0, 0), (0, 0)) if padding == "valid" else tuple(
            ref.same_padding((h, w)[a], k[a], stride=s[a], dilation=d[a], lower=padding == "same_lower")
            for a in (0, 1))
    elif isinstance(padding, int):
        pads = ((padding, padding), (padding, padding))
    else:
        pads = tuple(tuple(p) if isinstance(p, (tuple, list)) else (p, p) for p in padding)
    taps = {}
    for i in range(out_hw[0]):
        for j in range(out_hw[1]):
            row = []
            for p in range(k[0]):
                for q in range(k[1]):
                    u, v = i * s[0] + p * d[0] - pads[0][0], j * s[1] + q * d[1] - pads[1][0]
                    row.append((u, v) if 0 <= u < h and 0 <= v < w else None)
            taps[(i, j)] = row
    return taps


def _with_specials(draw, case):
    return special_values(case, draw.draw) if draw.draw(st.booleans(), label="special values") else case


# --- max pooling -----------------------------------------------------------------------------------


@pytest.mark.clause("POOL-MAX-1", "POOL-MAX-2", "POOL-MAX-3", "POOL-MAX-5", "POOL-1", "POOL-2", "SPEC-6")
@given(max_pool2d_cases(), st.data())
def test_max_pool2d_equals_the_definitional_form(case, draw):
    case = _with_specials(draw, case)
    note(case.describe())
    y, idx = case.call(ref.max_pool2d)
    params = {k: v for k, v in case.params.items() if k != "return_indices"}
    y_def, idx_def = max_pool2d_definitional(case.arrays["x"], **params)
    np.testing.assert_array_equal(y, y_def)  # NaN == NaN here; values are exact (TOL-4)
    np.testing.assert_array_equal(idx, idx_def)
    assert idx.dtype == np.int64 and y.dtype == np.float64


@pytest.mark.clause("POOL-MAX-1", "POOL-MAX-2", "POOL-MAX-3", "POOL-1")
@given(max_pool2d_cases(exact=True), st.data())
def test_each_max_is_the_first_maximum_of_its_window_and_its_index_points_at_it(case, draw):
    case = _with_specials(draw, case)
    note(case.describe())
    x = case.arrays["x"]
    y, idx = case.call(ref.max_pool2d)
    assert y.shape[:2] == x.shape[:2]  # channels unchanged
    taps = _window_taps(x.shape, case.params, y.shape[2:])
    for n in range(x.shape[0]):
        for c in range(x.shape[1]):
            for (i, j), window in taps.items():
                vals = [(x[n, c, t[0], t[1]], t[0] * x.shape[3] + t[1]) for t in window if t is not None]
                got, at = y[n, c, i, j], idx[n, c, i, j]
                if not vals:  # wholly in padding (POOL-MAX-1)
                    assert got == -inf and at == -1
                    continue
                nans = [f for v, f in vals if np.isnan(v)]
                if nans:  # POOL-MAX-2: NaN wins, the first NaN is named
                    assert np.isnan(got) and at == nans[0]
                    continue
                best = max(v for v, _ in vals)
                assert got == best
                assert at == next(f for v, f in vals if v == best)  # first in row-major order
                assert x[n, c].flat[at] == got


@pytest.mark.clause("POOL-MAX-1", "POOL-2")
@given(max_pool2d_cases())
def test_padding_never_wins_in_max_pooling(case):
    x = -1.0 - np.abs(case.arrays["x"])  # all negative
    y, idx = ref.max_pool2d(x, **case.params)
    assert np.all(y < 0)
    assert np.all(np.isfinite(y) == (idx >= 0))  # only windows wholly in padding give -inf


@pytest.mark.clause("POOL-MAX-3", "POOL-1")
def test_max_pool2d_of_a_hand_computed_batch_with_ties():
    # x (2, 2, 3, 3), kernel 2, stride 1: four windows per plane
    x = np.zeros((2, 2, 3, 3))
    x[0, 0] = [[1, 5, 2], [4, 3, 6], [0, 7, 1]]
    x[0, 1] = -x[0, 0]
    x[1, 0] = 2  # every tap ties: the first tap of each window wins
    x[1, 1, 1, 1] = 9  # every window holds the centre
    y, idx = ref.max_pool2d(x, 2, stride=1, return_indices=True)
    np.testing.assert_array_equal(y, [[[[5, 6], [7, 7]], [[-1, -2], [0, -1]]],
                                      [[[2, 2], [2, 2]], [[9, 9], [9, 9]]]])
    np.testing.assert_array_equal(idx, [[[[1, 5], [7, 7]], [[0, 2], [6, 8]]],
                                        [[[0, 1], [3, 4]], [[4, 4], [4, 4]]]])


@pytest.mark.clause("POOL-MAX-1", "POOL-MAX-3", "POOL-2")
def test_max_pool2d_windows_wholly_in_padding_give_minus_inf_and_index_minus_one():
    # x (2, 1, 1, 1), kernel 1, padding 1: eight border windows lie wholly in padding
    x = np.array([-5.0, 3.0]).reshape(2, 1, 1, 1)
    y, idx = ref.max_pool2d(x, 1, padding=1, return_indices=True)
    border = np.ones((3, 3), bool)
    border[1, 1] = False
    assert np.all(y[:, 0][:, border] == -inf) and np.all(idx[:, 0][:, border] == -1)
    np.testing.assert_array_equal(y[:, 0, 1, 1], [-5, 3])
    np.testing.assert_array_equal(idx[:, 0, 1, 1], [0, 0])
    # all -inf input: the index is the window's first tap in the input, never padding
    xi = np.full((1, 1, 1, 3), -inf)
    yi, ii = ref.max_pool2d(xi, (1, 2), stride=1, padding=(0, 1), return_indices=True)
    np.testing.assert_array_equal(yi.ravel(), [-inf] * 4)
    np.testing.assert_array_equal(ii.ravel(), [0, 0, 1, 2])  # taps (-1, 0), (0, 1), (1, 2), (2, 3)


@pytest.mark.clause("POOL-MAX-2", "POOL-MAX-3", "SPEC-6")
def test_nan_propagates_through_max_pooling_and_names_the_first_nan():
    # x (1, 2, 1, 4): channel 0 [1, nan, inf, nan], channel 1 [inf, 3, -inf, 2]; kernel (1, 4)
    x = np.array([[[[1.0, nan, inf, nan]], [[inf, 3.0, -inf, 2.0]]]])
    y, idx = ref.max_pool2d(x, (1, 4), return_indices=True)
    assert np.isnan(y[0, 0, 0, 0]) and idx[0, 0, 0, 0] == 1  # NaN beats +inf; first NaN
    assert y[0, 1, 0, 0] == inf and idx[0, 1, 0, 0] == 0
    # a NaN affects only the windows that contain it: kernel (1, 2), stride (1, 2)
    y2 = ref.max_pool2d(x, (1, 2))
    assert np.isnan(y2[0, 0, 0]).all() and np.array_equal(y2[0, 1, 0], [inf, 2.0])


@pytest.mark.clause("POOL-MAX-5", "POOL-1")
def test_max_pool2d_of_a_hand_computed_dilated_example():
    # x (1, 1, 1, 5) = [5, 1, 4, 2, 3], kernel (1, 2), dilation (1, 2): taps two columns apart
    x = np.array([5.0, 1.0, 4.0, 2.0, 3.0]).reshape(1, 1, 1, 5)
    y, idx = ref.max_pool2d(x, (1, 2), stride=1, dilation=(1, 2), return_indices=True)
    np.testing.assert_array_equal(y.ravel(), [5, 2, 4])  # taps (0, 2), (1, 3), (2, 4)
    np.testing.assert_array_equal(idx.ravel(), [0, 3, 2])
    # the default stride is the kernel size (2), not the dilated extent (3): windows overlap
    y, idx = ref.max_pool2d(x, (1, 2), dilation=(1, 2), return_indices=True)
    np.testing.assert_array_equal(y.ravel(), [5, 4])  # taps (0, 2), (2, 4)
    np.testing.assert_array_equal(idx.ravel(), [0, 2])


@pytest.mark.clause("POOL-MAX-4")
@given(pool_backward_cases("max_pool2d_backward", exact=True))
def test_max_pool2d_backward_routes_each_dy_to_its_window_index(case):
    note(case.describe())
    dy, x = case.arrays["dy"], case.arrays["x"]
    dx = case.call(ref.max_pool2d_backward)
    _, idx = ref.max_pool2d(x, **case.params, return_indices=True)
    want = np.zeros(x.shape)
    for n, c, i, j in np.ndindex(*dy.shape):
        k = idx[n, c, i, j]
        if k >= 0:
            want[n, c, k // x.shape[3], k % x.shape[3]] += dy[n, c, i, j]
    np.testing.assert_array_equal(dx, want)  # exact data: every sum is exact
    assert dx.sum() == dy[idx >= 0].sum()


@pytest.mark.clause("POOL-MAX-4")
def test_max_pool2d_backward_of_hand_computed_ties_overlaps_and_nan():
    # x (2, 2, 1, 3), kernel (1, 2), stride 1: windows (0, 1) and (1, 2)
    x = np.array([[[[1.0, 3.0, 3.0]], [[4.0, 1.0, 2.0]]], [[[nan, 1.0, nan]], [[0.0, 0.0, 0.0]]]])
    dy = np.array([[[[10.0, 100.0]], [[1.0, 2.0]]], [[[5.0, 7.0]], [[3.0, 4.0]]]])
    dx = ref.max_pool2d_backward(dy, x, (1, 2), stride=1)
    # tie 3, 3: both windows name column 1 (first maximum); overlaps accumulate
    # [4, 1, 2]: window maxima at 0 and 2; NaN windows route to their first NaN; ties of 0: first tap
    np.testing.assert_array_equal(dx, [[[[0, 110, 0]], [[1, 0, 2]]], [[[5, 0, 7]], [[3, 4, 0]]]])


@pytest.mark.clause("POOL-MAX-4", "SPEC-2", "SPEC-7")
def test_max_pool2d_backward_is_float64_even_when_no_window_reaches_the_input():
    # x (1, 1, 1, 1), kernel 1, padding 1, stride 2: windows at padded rows/columns 0 and 2,
    # so every window lies wholly in padding and no dy reaches the input
    x = np.ones((1, 1, 1, 1))
    y, idx = ref.max_pool2d(x, 1, stride=2, padding=1, return_indices=True)
    assert np.all(idx == -1)
    dx = ref.max_pool2d_backward(np.ones(y.shape), x, 1, stride=2, padding=1)
    assert dx.dtype == np.float64 and dx.shape == x.shape and np.all(dx == 0)
    # and an empty batch
    dx0 = ref.max_pool2d_backward(np.ones((0, 3, 2, 2)), np.ones((0, 3, 4, 4)), 2)
    assert dx0.dtype == np.float64 and dx0.shape == (0, 3, 4, 4)


# --- average pooling -------------------------------------------------------------------------------


@pytest.mark.clause("POOL-AVG-1", "POOL-AVG-2", "POOL-AVG-3", "POOL-AVG-4", "POOL-1", "POOL-2")
@given(avg_pool2d_cases())
def test_avg_pool2d_equals_the_definitional_form(case):
    note(case.describe())
    (_, y, scale, terms), = OPS["avg_pool2d"].measure(case)
    y_def = case.call(avg_pool2d_definitional)
    if case.exact:  # exact window sums divided once by the same divisor: bit for bit
        np.testing.assert_array_equal(y, y_def)
    else:
        verdict = compare(y_def, y, dtype="float64", scale=scale, terms=terms)
        assert verdict.ok, verdict


# x = ones((2, 3, 6, 4)), kernel 3, stride 2, padding 1. Per axis, windows start at input rows
# -1, 1, 3 (, 5 with ceil_mode) and columns -1, 1 (, 3). Taps in the input per window:
# rows 2, 3, 3 (, 1), columns 2, 3 (, 1); taps in the padded extent [-1, 7) x [-1, 5):
# rows 3, 3, 3 (, 2: row 7 is outside), columns 3, 3 (, 2). With ones, y = in-count / divisor.
AVG_TABLE = [
    # count_include_pad, ceil_mode, divisor_override, expected (OH, OW) plane
    (True, False, None, [[4 / 9, 6 / 9], [6 / 9, 1], [6 / 9, 1]]),
    (False, False, None, np.ones((3, 2))),
    (True, True, None, [[4 / 9, 2 / 3, 1 / 3], [2 / 3, 1, 1 / 2], [2 / 3, 1, 1 / 2], [1 / 3, 1 / 2, 1 / 4]]),
    (False, True, None, np.ones((4, 3))),
    (True, True, 2, np.array([[4, 6, 2], [6, 9, 3], [6, 9, 3], [2, 3, 1]]) / 2),
    (False, False, 1, [[4, 6], [6, 9], [6, 9]]),  # divisor 1: sum pooling
]


@pytest.mark.clause("POOL-AVG-1", "POOL-AVG-2", "POOL-AVG-3", "POOL-AVG-4", "SIZE-7")
@pytest.mark.parametrize("count_include_pad, ceil_mode, divisor_override, plane", AVG_TABLE)
def test_avg_pool2d_divisor_of_hand_computed_geometry(count_include_pad, ceil_mode, divisor_override, plane):
    x = np.ones((2, 3, 6, 4))  # N=2, C=3
    y = ref.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=ceil_mode, count_include_pad=count_include_pad,
                       divisor_override=divisor_override)
    np.testing.assert_array_equal(y, np.broadcast_to(np.asarray(plane, float), (2, 3) + np.shape(plane)))


@pytest.mark.clause("POOL-AVG-2", "SIZE-7")
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_a_ceil_mode_window_past_the_input_is_clipped_without_padding(count_include_pad):
    # x (2, 3, 6, 4), kernel 3, stride 2, padding 0, ceil_mode: the last row window covers rows
    # 4, 5 and one row outside; the last column window columns 2, 3 and one outside: the divisor
    # counts 2 rows / 2 columns there, so the mean of ones is 1 (full-kernel-divisor gives 6/9)
    y = ref.avg_pool2d(np.ones((2, 3, 6, 4)), 3, stride=2, ceil_mode=True,
                       count_include_pad=count_include_pad)
    np.testing.assert_array_equal(y, np.ones((2, 3, 3, 2)))


@pytest.mark.clause("POOL-AVG-2", "POOL-AVG-3", "POOL-AVG-4", "POOL-2")
def test_avg_pool2d_windows_wholly_in_padding():
    # x (2, 2, 1, 1) of ones, kernel 1, padding 1: the 8 border windows read padding only
    x = np.ones((2, 2, 1, 1))
    centre = np.zeros((3, 3))
    centre[1, 1] = 1
    np.testing.assert_array_equal(ref.avg_pool2d(x, 1, stride=1, padding=1),
                                  np.broadcast_to(centre, (2, 2, 3, 3)))
    y = ref.avg_pool2d(x, 1, stride=1, padding=1, count_include_pad=False)
    assert np.isnan(y[:, :, 0]).all() and np.isnan(y[:, :, :, 2]).all() and np.all(y[:, :, 1, 1] == 1)
    y = ref.avg_pool2d(x, 1, stride=1, padding=1, count_include_pad=False, divisor_override=3)
    np.testing.assert_array_equal(y, np.broadcast_to(centre / 3, (2, 2, 3, 3)))


@pytest.mark.clause("POOL-AVG-1", "SPEC-6")
def test_non_finite_values_propagate_through_average_pooling():
    # x (1, 2, 1, 4): channel 0 [1, inf, -inf, 2], channel 1 [nan, 1, 1, 1]; kernel (1, 2), stride 1
    x = np.array([[[[1.0, inf, -inf, 2.0]], [[nan, 1.0, 1.0, 1.0]]]])
    y = ref.avg_pool2d(x, (1, 2), stride=1)
    np.testing.assert_array_equal(y[0, 0, 0], [inf, nan, -inf])  # inf + -inf = NaN
    np.testing.assert_array_equal(y[0, 1, 0], [nan, 1, 1])


@pytest.mark.clause("POOL-AVG-5")
@given(pool_backward_cases("avg_pool2d_backward"))
def test_avg_pool2d_backward_is_the_adjoint_of_the_forward_pass(case):
    note(case.describe())
    dy, x = case.arrays["dy"], case.arrays["x"]
    dx = case.call(ref.avg_pool2d_backward)
    assert dx.shape == x.shape and np.isfinite(dx).all()
    y = ref.avg_pool2d(x, **case.params)
    fin = np.isfinite(y)  # NaN only for windows wholly in padding (count_include_pad=False)
    lhs, rhs = float(np.sum(y[fin] * dy[fin])), float(np.sum(x * dx))
    mag = float(np.sum(ref.avg_pool2d(np.abs(x), **case.params)[fin] * np.abs(dy[fin])))
    assert abs(lhs - rhs) <= ADJOINT_RTOL * mag


@pytest.mark.clause("POOL-AVG-5")
@pytest.mark.parametrize("count_include_pad, expected", [(True, [1.5, 3, 6]), (False, [2, 3, 10])])
def test_avg_pool2d_backward_of_a_hand_computed_example(count_include_pad, expected):
    # x (2, 2, 1, 3), kernel (1, 2), stride 1, padding (0, 1): windows over columns
    # {-1, 0}, {0, 1}, {1, 2}, {2, 3}; divisors 2 everywhere (True) or 1, 2, 2, 1 (False)
    # dy = [1, 2, 4, 8] scaled by (n + 1) * (c + 1)
    scale = np.array([1.0, 2.0, 2.0, 4.0]).reshape(2, 2, 1, 1)
    dy = np.array([1.0, 2.0, 4.0, 8.0]).reshape(1, 1, 1, 4) * scale
    dx = ref.avg_pool2d_backward(dy, np.zeros((2, 2, 1, 3)), (1, 2), stride=1, padding=(0, 1),
                                 count_include_pad=count_include_pad)
    np.testing.assert_array_equal(dx, np.asarray(expected).reshape(1, 1, 1, 3) * scale)


@pytest.mark.clause("POOL-AVG-5", "POOL-AVG-3")
def test_avg_pool2d_backward_sends_nothing_from_windows_with_divisor_zero():
    x = np.ones((1, 1, 1, 1))
    dy = np.full((1, 1, 3, 3), 5.0)
    dx = ref.avg_pool2d_backward(dy, x, 1, stride=1, padding=1, count_include_pad=False)
    np.testing.assert_array_equal(dx, [[[[5.0]]]])


@pytest.mark.clause("POOL-MAX-5", "SPEC-3")
def test_avg_pool2d_has_no_dilation_parameter():
    with pytest.raises(TypeError):
        ref.avg_pool2d(np.ones((1, 1, 4, 4)), 2, dilation=2)
    with pytest.raises(TypeError):
        ref.avg_pool2d_backward(np.ones((1, 1, 2, 2)), np.ones((1, 1, 4, 4)), 2, dilation=2)


@pytest.mark.clause("POOL-1", "SPEC-7")
def test_pooling_an_empty_batch():
    x = np.zeros((0, 3, 5, 5))
    y, idx = ref.max_pool2d(x, 2, padding="same", return_indices=True)
    assert y.shape == idx.shape == (0, 3, 3, 3)
    assert ref.avg_pool2d(x, 2, ceil_mode=True).shape == (0, 3, 3, 3)
    assert ref.avg_pool2d_backward(np.zeros((0, 3, 2, 2)), x, 2).shape == x.shape


@pytest.mark.clause("POOL-AVG-1")
@given(avg_pool2d_cases(exact=True), st.data())
def test_avg_pool2d_is_linear(case, draw):
    x1 = case.arrays["x"]
    x2 = data(draw.draw, x1.shape, True)
    y = ref.avg_pool2d(x1 + x2, **case.params)
    want = ref.avg_pool2d(x1, **case.params) + ref.avg_pool2d(x2, **case.params)
    fin = np.isfinite(want)
    np.testing.assert_array_equal(np.isnan(y), ~fin)
    # each side rounds each quotient once: they agree to a few units in the last place
    assert np.all(np.abs(y[fin] - want[fin]) <= 4 * np.finfo(float).eps * (
        np.abs(ref.avg_pool2d(np.abs(x1) + np.abs(x2), **case.params)[fin])))
