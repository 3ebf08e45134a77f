"""conv2d forward and backward (CONV-1 ... CONV-7), with SPEC-2, SPEC-5, SPEC-6, SPEC-7.

Identities are checked on exact data (small integers: every sum is exact in float64, in any
order), where they must hold bit for bit; real-data checks use the TOL-2 bound at the float64
unit roundoff, as SPEC-2 prescribes for two float64 implementations.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, note
from hypothesis import strategies as st
from spec_helpers import explicit_pads, pair

import reference as ref
from conformance.ops import OPS
from conformance.strategies.conv import (
    channels,
    conv2d_backward_cases,
    conv2d_cases,
    data,
    special_values,
    windows,
)
from conformance.tolerance import C_SAFETY, UNIT_ROUNDOFF, compare
from reference.conv2d import conv2d_backward_definitional, conv2d_definitional

U64 = UNIT_ROUNDOFF["float64"]


def _assert_matches(expected, got, scale, terms, exact):
    """The TOL-1/TOL-2 judgement at float64 (SPEC-2), with NaN/inf positions per TOL-5."""
    verdict = compare(expected, got, dtype="float64", scale=scale, terms=terms, exact=exact)
    assert verdict.ok, verdict


def _dot(a, b):
    return float(np.sum(a * b))


# --- CONV-1: the definition -----------------------------------------------------------------------


@pytest.mark.clause("CONV-1", "CONV-3", "CONV-4", "CONV-5", "CONV-6")
@given(conv2d_cases())
def test_conv2d_equals_the_direct_sum_of_conv_1(case):
    note(case.describe())
    (_, y, scale, terms), = OPS["conv2d"].measure(case)
    direct = case.call(conv2d_definitional)
    _assert_matches(direct, y, scale, terms, case.exact)


@pytest.mark.clause("CONV-1")
def test_conv2d_is_cross_correlation_not_convolution():
    # x (1, 1, 3, 3) = 1..9, w (1, 1, 2, 2) = [[1, 0], [0, -1]]: y[i, j] = x[i, j] - x[i+1, j+1] = -4
    x = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    w = np.array([[1.0, 0.0], [0.0, -1.0]]).reshape(1, 1, 2, 2)
    np.testing.assert_array_equal(ref.conv2d(x, w), np.full((1, 1, 2, 2), -4.0))
    # the flipped-kernel variant reads w[1-p, 1-q]: x[i+1, j+1] - x[i, j] = +4
    np.testing.assert_array_equal(conv2d_definitional(x, w, flip_kernel=True), np.full((1, 1, 2, 2), 4.0))
    # a kernel symmetric under a 180 degree rotation cannot tell them apart
    ws = np.array([[1.0, 2.0], [2.0, 1.0]]).reshape(1, 1, 2, 2)
    np.testing.assert_array_equal(ref.conv2d(x, ws), conv2d_definitional(x, ws, flip_kernel=True))


@pytest.mark.clause("CONV-1")
@given(conv2d_cases(exact=True))
def test_the_flipped_kernel_variant_is_conv2d_with_the_kernel_rotated(case):
    w = case.arrays["w"]
    y = case.call(ref.conv2d)
    flipped = case.call(lambda *a, **k: conv2d_definitional(*a, **k, flip_kernel=True))
    # conv with w flipped equals the variant exactly; the spec equals it only for symmetric w
    w_rot = w[:, :, ::-1, ::-1].copy()
    arrays = dict(case.arrays, w=w_rot)
    np.testing.assert_array_equal(flipped, ref.conv2d(*arrays.values(), **case.params))
    if np.array_equal(w, w_rot):
        np.testing.assert_array_equal(flipped, y)


@pytest.mark.clause("CONV-1", "CONV-2", "CONV-4")
def test_conv2d_of_a_hand_computed_batch_with_channels_and_bias():
    # x (2, 2, 1, 2): image 0 channels [1, 2], [3, 4]; image 1 channels [0, -1], [2, 0]
    x = np.array([[[[1.0, 2.0]], [[3.0, 4.0]]], [[[0.0, -1.0]], [[2.0, 0.0]]]])
    # w (3, 2, 1, 1): m0 = c0, m1 = c1, m2 = c0 - 2*c1;  b (3,)
    w = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, -2.0]]).reshape(3, 2, 1, 1)
    b = np.array([10.0, 20.0, 30.0])
    expected = np.array([[[[11, 12]], [[23, 24]], [[25, 24]]],
                         [[[10, 9]], [[22, 20]], [[26, 29]]]], dtype=float)  # (2, 3, 1, 2)
    np.testing.assert_array_equal(ref.conv2d(x, w, b), expected)


@pytest.mark.clause("CONV-3")
def test_conv2d_of_hand_computed_grouped_and_depthwise_examples():
    x = np.array([1.0, 2.0, 3.0, 4.0]).reshape(1, 4, 1, 1)  # (1, 4, 1, 1)
    # groups=2, w (2, 2, 1, 1): m0 reads c0, c1; m1 reads c2, c3
    w = np.array([[1.0, 10.0], [100.0, 1000.0]]).reshape(2, 2, 1, 1)
    np.testing.assert_array_equal(ref.conv2d(x, w, groups=2).ravel(), [1 + 20, 300 + 4000])
    # depthwise, multiplier 2: groups=4, w (8, 1, 1, 1); m reads channel m // 2
    wd = np.arange(1.0, 9.0).reshape(8, 1, 1, 1)
    np.testing.assert_array_equal(ref.conv2d(x, wd, groups=4).ravel(), [1, 2, 6, 8, 15, 18, 28, 32])


@pytest.mark.clause("CONV-5", "CONV-6")
def test_conv2d_of_hand_computed_stride_padding_and_dilation_examples():
    x = np.array([1.0, 2.0, 3.0, 4.0]).reshape(1, 1, 1, 4)  # (1, 1, 1, 4)
    w = np.array([1.0, 10.0]).reshape(1, 1, 1, 2)
    # padded width [0, 1, 2, 3, 4], stride 2: windows (0, 1), (2, 3) -> 0 + 10, 2 + 30
    np.testing.assert_array_equal(ref.conv2d(x, w, stride=(1, 2), padding=((0, 0), (1, 0))).ravel(), [10, 32])
    # dilation 2 on the width: taps (0, 2), (1, 3) -> 1 + 30, 2 + 40
    np.testing.assert_array_equal(ref.conv2d(x, w, dilation=(1, 2)).ravel(), [31, 42])
    # x (1, 1, 3, 3) = 1..9, w [[1, 2], [3, 4]], stride (2, 1), dilation (1, 2): one output
    # reading x[0,0], x[0,2], x[1,0], x[1,2] = 1, 3, 4, 6
    x2 = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    w2 = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 1, 2, 2)
    np.testing.assert_array_equal(ref.conv2d(x2, w2, stride=(2, 1), dilation=(1, 2)),
                                  [[[[1 + 6 + 12 + 24]]]])


@pytest.mark.clause("CONV-5", "CONV-4")
def test_a_window_wholly_in_padding_gives_the_bias():
    x = np.array([[[[5.0]]]])  # (1, 1, 1, 1)
    y = ref.conv2d(x, np.array([[[[2.0]]]]), np.array([7.0]), padding=1)
    np.testing.assert_array_equal(y[0, 0], [[7, 7, 7], [7, 17, 7], [7, 7, 7]])


# --- algebraic properties -------------------------------------------------------------------------


coefficients = st.integers(-3, 3)


@pytest.mark.clause("CONV-1")
@given(conv2d_cases(exact=True), st.data(), coefficients, coefficients)
def test_conv2d_is_linear_in_x_and_in_w(case, draw, a, b):
    x1, w1 = case.arrays["x"], case.arrays["w"]
    x2, w2 = data(draw.draw, x1.shape, True), data(draw.draw, w1.shape, True)
    p = case.params
    np.testing.assert_array_equal(ref.conv2d(a * x1 + b * x2, w1, **p),
                                  a * ref.conv2d(x1, w1, **p) + b * ref.conv2d(x2, w1, **p))
    np.testing.assert_array_equal(ref.conv2d(x1, a * w1 + b * w2, **p),
                                  a * ref.conv2d(x1, w1, **p) + b * ref.conv2d(x1, w2, **p))


@pytest.mark.clause("CONV-4")
@given(conv2d_cases(exact=True), st.data())
def test_the_bias_adds_once_per_output_channel(case, draw):
    x, w = case.arrays["x"], case.arrays["w"]
    b = data(draw.draw, (w.shape[0],), True)
    p = case.params
    without = ref.conv2d(x, w, **p)
    np.testing.assert_array_equal(ref.conv2d(x, w, None, **p), without)
    np.testing.assert_array_equal(ref.conv2d(x, w, np.zeros(w.shape[0]), **p), without)
    np.testing.assert_array_equal(ref.conv2d(x, w, b, **p) - without,
                                  np.broadcast_to(b[None, :, None, None], without.shape))


@pytest.mark.clause("CONV-3")
@given(conv2d_cases(exact=True))
def test_a_grouped_conv2d_is_independent_convolutions_concatenated(case):
    x, w = case.arrays["x"], case.arrays["w"]
    g = case.params["groups"]
    p = dict(case.params, groups=1)
    cg, mg = x.shape[1] // g, w.shape[0] // g
    parts = [ref.conv2d(x[:, i * cg:(i + 1) * cg], w[i * mg:(i + 1) * mg], **p) for i in range(g)]
    np.testing.assert_array_equal(ref.conv2d(x, w, **case.params), np.concatenate(parts, axis=1))


@pytest.mark.clause("CONV-5", "SIZE-2", "SIZE-5", "SIZE-6")
@given(conv2d_cases(exact=True))
def test_padding_is_zero_rows_and_columns_on_the_named_sides(case):
    x, w = case.arrays["x"], case.arrays["w"]
    p = case.params
    s, d = pair(p["stride"]), pair(p["dilation"])
    (t, bo), (l, r) = explicit_pads(p["padding"], x.shape[2:], w.shape[2:], s, d)
    xp = np.pad(x, ((0, 0), (0, 0), (t, bo), (l, r)))
    np.testing.assert_array_equal(ref.conv2d(x, w, **p), ref.conv2d(xp, w, **dict(p, padding=0)))


@st.composite
def unpadded_convs_with_room_for_one_stride(draw):
    """conv2d without padding on an input at least one stride larger than the kernel extent."""
    geo = draw(windows(max_pad=0, strings=False))
    c, m, g = draw(channels())
    n = draw(st.integers(1, 2))
    (h, w), (sh, sw) = geo["hw"], geo["stride"]
    x = data(draw, (n, c, h + sh, w + sw), True)
    wt = data(draw, (m, c // g) + geo["kernel"], True)
    return x, wt, {"stride": geo["stride"], "dilation": geo["dilation"], "groups": g}


@pytest.mark.clause("CONV-6")
@given(unpadded_convs_with_room_for_one_stride())
def test_shifting_the_input_by_one_stride_shifts_the_output_by_one(args):
    x, w, p = args
    sh, sw = p["stride"]
    y = ref.conv2d(x, w, **p)
    assert y.shape[2] >= 2 and y.shape[3] >= 2
    np.testing.assert_array_equal(ref.conv2d(x[:, :, sh:], w, **p), y[:, :, 1:])
    np.testing.assert_array_equal(ref.conv2d(x[:, :, :, sw:], w, **p), y[:, :, :, 1:])


# --- CONV-7: backward -----------------------------------------------------------------------------


@pytest.mark.clause("CONV-7")
@given(conv2d_backward_cases())
def test_conv2d_backward_equals_the_definitional_form(case):
    note(case.describe())
    direct = case.call(conv2d_backward_definitional)
    for (name, got, scale, terms), want in zip(OPS["conv2d_backward"].measure(case), direct, strict=True):
        assert got.shape == want.shape, name
        _assert_matches(want, got, scale, terms, case.exact)


@pytest.mark.clause("CONV-7")
@given(conv2d_backward_cases(exact=True))
def test_db_is_the_sum_of_dy_and_dx_dw_satisfy_the_adjoint_identities(case):
    dy, x, w = case.arrays["dy"], case.arrays["x"], case.arrays["w"]
    p = case.params
    dx, dw, db = ref.conv2d_backward(dy, x, w, **p)
    np.testing.assert_array_equal(db, dy.sum(axis=(0, 2, 3)))
    rng = np.random.default_rng(int(abs(x).sum() * 7 + abs(w).sum()))
    vx = rng.integers(-2, 3, x.shape).astype(float)
    vw = rng.integers(-2, 3, w.shape).astype(float)
    # exact data: every product and sum below is an exact integer, so equality is exact
    assert _dot(dx, vx) == _dot(ref.conv2d(vx, w, **p), dy)
    assert _dot(dw, vw) == _dot(ref.conv2d(x, vw, **p), dy)


@pytest.mark.clause("CONV-7")
@given(conv2d_backward_cases(exact=False))
def test_conv2d_backward_agrees_with_central_differences(case):
    """Directional central differences of L(x, w, b) = <conv2d(x, w, b), dy>.

    L is linear in each argument, so a central difference has no truncation error at any
    step; a unit step keeps the rounding error at the size of the forward sum. The bound
    is TOL-2's, c*n*u*A, on each side, with A the same sums over absolute values.
    """
    dy, x, w = case.arrays["dy"], case.arrays["x"], case.arrays["w"]
    p = case.params
    b = np.random.default_rng(0).standard_normal(w.shape[0])
    dx, dw, db = ref.conv2d_backward(dy, x, w, **p)
    loss = lambda x_, w_, b_: _dot(ref.conv2d(x_, w_, b_, **p), dy)  # noqa: E731
    rng = np.random.default_rng(1)
    n = w.shape[1] * w.shape[2] * w.shape[3] + 1 + dy.size
    for _ in range(2):
        vx, vw, vb = rng.standard_normal(x.shape), rng.standard_normal(w.shape), rng.standard_normal(b.shape)
        for grad, v, plus, minus in ((dx, vx, (x + vx, w, b), (x - vx, w, b)),
                                     (dw, vw, (x, w + vw, b), (x, w - vw, b)),
                                     (db, vb, (x, w, b + vb), (x, w, b - vb))):
            fd = (loss(*plus) - loss(*minus)) / 2.0  # unit step, see the docstring
            mag = _dot(ref.conv2d(np.abs(x) + np.abs(vx), np.abs(w) + np.abs(vw),
                                  np.abs(b) + np.abs(vb), **p), np.abs(dy))
            assert abs(fd - _dot(grad, v)) <= 2 * C_SAFETY * n * U64 * mag


@pytest.mark.clause("CONV-7", "CONVT-1")
@given(conv2d_backward_cases())
def test_dx_is_conv_transpose2d_of_dy_with_the_leftover_rows_as_output_padding(case):
    dy, x, w = case.arrays["dy"], case.arrays["x"], case.arrays["w"]
    p = case.params
    s, d = pair(p["stride"]), pair(p["dilation"])
    pads = explicit_pads(p["padding"], x.shape[2:], w.shape[2:], s, d)
    r = tuple((x.shape[2 + a] + sum(pads[a]) - d[a] * (w.shape[2 + a] - 1) - 1) % s[a] for a in (0, 1))
    dx = ref.conv2d_backward(dy, x, w, **p)[0]
    dxt = ref.conv_transpose2d(dy, w, stride=s, padding=pads, output_padding=r, dilation=d,
                               groups=p["groups"])
    assert dxt.shape == x.shape
    scale = ref.conv_transpose2d(np.abs(dy), np.abs(w), stride=s, padding=pads, output_padding=r,
                                 dilation=d, groups=p["groups"])
    _assert_matches(dx, dxt, scale, (w.shape[0] // p["groups"]) * w.shape[2] * w.shape[3], case.exact)


@pytest.mark.clause("CONV-7", "SIZE-3")
def test_rows_no_window_reaches_get_zero_gradient():
    # x (2, 2, 5, 5), 2x2 kernel, stride 3: windows read rows 0-1 and 3-4; row/column 2 by none
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((2, 2, 5, 5)), rng.standard_normal((3, 2, 2, 2))
    dy = rng.standard_normal((2, 3, 2, 2))
    dx = ref.conv2d_backward(dy, x, w, stride=3)[0]
    assert np.all(dx[:, :, 2] == 0) and np.all(dx[:, :, :, 2] == 0)
    assert np.all(dx[:, :, :2, :2] != 0)


@pytest.mark.clause("CONV-7")
def test_conv2d_backward_of_a_hand_computed_example():
    # x (1, 2, 2, 2), w (1, 2, 1, 2), dy (1, 1, 2, 1): y[i] = sum_c x[c, i, 0]*w[c, 0] + x[c, i, 1]*w[c, 1]
    x = np.array([[[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]]])
    w = np.array([[[[1.0, -1.0]], [[2.0, 0.5]]]])
    dy = np.array([[[[1.0], [10.0]]]])
    dx, dw, db = ref.conv2d_backward(dy, x, w)
    # dx[c, i, q] = dy[i] * w[c, q]
    np.testing.assert_array_equal(dx, [[[[1, -1], [10, -10]], [[2, 0.5], [20, 5]]]])
    # dw[c, q] = sum_i dy[i] * x[c, i, q]
    np.testing.assert_array_equal(dw, [[[[1 + 30, 2 + 40]], [[5 + 70, 6 + 80]]]])
    np.testing.assert_array_equal(db, [11.0])


# --- SPEC-2, SPEC-5, SPEC-6, SPEC-7 ---------------------------------------------------------------


@pytest.mark.clause("SPEC-2", "SPEC-5")
@pytest.mark.parametrize("xdt, wdt, bdt", [(np.int8, np.uint8, np.int64), (np.float32, np.float16, np.int32),
                                           (np.uint16, np.float32, np.float64),
                                           (np.int64, np.int64, np.int16)])
def test_integer_and_low_precision_inputs_are_computed_in_float64(xdt, wdt, bdt):
    rng = np.random.default_rng(4)
    x = rng.integers(0, 5, (2, 3, 4, 4))  # (N=2, C=3)
    w = rng.integers(0, 3, (2, 3, 2, 2))
    b = rng.integers(0, 4, (2,))
    want = ref.conv2d(x.astype(float), w.astype(float), b.astype(float), padding=1)
    got = ref.conv2d(x.astype(xdt), w.astype(wdt), b.astype(bdt), padding=1)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, want)
    # float32 data is not rounded to float32 along the way: (1 + 2**-23)**2 needs 47 bits
    xf = np.full((1, 1, 1, 1), 1 + 2.0**-23, dtype=np.float32)
    wf = np.full((1, 1, 1, 1), 1 + 2.0**-23, dtype=np.float32)
    assert ref.conv2d(xf, wf)[0, 0, 0, 0] == (1 + 2.0**-23) ** 2


@pytest.mark.clause("SPEC-5")
def test_python_lists_are_accepted_as_arrays():
    np.testing.assert_array_equal(ref.conv2d([[[[1, 2], [3, 4]]]], [[[[1]]]], [0.5]),
                                  [[[[1.5, 2.5], [3.5, 4.5]]]])


@pytest.mark.clause("SPEC-6", "CONV-1")
def test_nan_and_inf_propagate_through_conv2d():
    # x (2, 2, 3, 3) of ones with one NaN at image 1, channel 0, (1, 1); w (2, 2, 2, 2) of ones
    x = np.ones((2, 2, 3, 3))
    x[1, 0, 1, 1] = np.nan
    w = np.ones((2, 2, 2, 2))
    y = ref.conv2d(x, w)
    assert np.isfinite(y[0]).all()
    assert np.isnan(y[1]).all()  # every 2x2 window of a 3x3 input contains (1, 1)
    y = ref.conv2d(x, w, stride=2, padding=((0, 1), (0, 1)))  # windows at 0 and 2 on each axis
    assert np.isnan(y[1, :, 0, 0]).all()
    assert np.isfinite(y[1, :, 1, :]).all() and np.isfinite(y[1, :, :, 1]).all()
    # an infinite bias makes its channel infinite everywhere
    y = ref.conv2d(np.ones((2, 1, 2, 2)), np.ones((2, 1, 1, 1)), np.array([np.inf, 0.0]))
    assert np.all(y[:, 0] == np.inf) and np.all(y[:, 1] == 1)


@pytest.mark.clause("SPEC-6", "CONV-1")
def test_a_padding_tap_times_an_infinite_weight_is_nan():
    # x (1, 1, 2, 2) of ones, w (1, 1, 2, 2) = [[inf, 1], [1, 1]], padding 1: the inf tap reads
    # padding (0 * inf = NaN) in the first output row and column, the input (inf) elsewhere
    x = np.ones((1, 1, 2, 2))
    w = np.array([[np.inf, 1.0], [1.0, 1.0]]).reshape(1, 1, 2, 2)
    expected = np.array([[np.nan, np.nan, np.nan], [np.nan, np.inf, np.inf], [np.nan, np.inf, np.inf]])
    np.testing.assert_array_equal(ref.conv2d(x, w, padding=1)[0, 0], expected)
    np.testing.assert_array_equal(conv2d_definitional(x, w, padding=1)[0, 0], expected)


@pytest.mark.clause("SPEC-6", "CONV-1", "CONV-7")
@given(st.data())
def test_the_definitional_forms_agree_with_conv2d_on_special_values(draw):
    case = special_values(draw.draw(conv2d_backward_cases()), draw.draw)
    note(case.describe())
    dy, x, w = case.arrays.values()
    fast = ref.conv2d(x, w, **case.params)
    with np.errstate(all="ignore"):
        direct = conv2d_definitional(x, w, **case.params)
    np.testing.assert_array_equal(np.isnan(direct), np.isnan(fast))
    np.testing.assert_array_equal(np.isinf(direct) * np.sign(direct), np.isinf(fast) * np.sign(fast))
    fast_b = ref.conv2d_backward(dy, x, w, **case.params)
    with np.errstate(all="ignore"):
        direct_b = conv2d_backward_definitional(dy, x, w, **case.params)
    for name, got, want in zip(("dx", "dw", "db"), fast_b, direct_b, strict=True):
        np.testing.assert_array_equal(np.isnan(want), np.isnan(got), err_msg=name)


@pytest.mark.clause("SPEC-7", "CONV-2", "CONV-7")
def test_an_empty_batch_gives_empty_outputs_and_zero_weight_gradients():
    x = np.zeros((0, 4, 5, 6))  # N = 0, C = 4
    w = np.ones((6, 2, 3, 2))  # M = 6, groups = 2
    y = ref.conv2d(x, w, np.ones(6), stride=(2, 1), padding="same", groups=2)
    assert y.shape == (0, 6, 3, 6) and y.dtype == np.float64
    dx, dw, db = ref.conv2d_backward(np.ones((0, 6, 3, 6)), x, w, stride=(2, 1), padding="same", groups=2)
    assert dx.shape == x.shape and dx.dtype == np.float64
    np.testing.assert_array_equal(dw, np.zeros(w.shape))
    np.testing.assert_array_equal(db, np.zeros(6))
