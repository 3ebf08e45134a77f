"""conv_transpose2d (CONVT-1 ... CONVT-5): the adjoint of conv2d, its three forms, its sizes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, note
from hypothesis import strategies as st
from spec_helpers import explicit_pads, pair

import reference as ref
from conformance.ops import OPS
from conformance.strategies.conv import conv2d_cases, conv_transpose2d_cases, data
from conformance.tolerance import compare
from reference.conv_transpose2d import conv_transpose2d_definitional, conv_transpose2d_fourstep

#: CONVT-1's adjoint identity in float64: |<Ax, z> - <x, A*z>| <= ADJOINT_RTOL * sum |terms|
ADJOINT_RTOL = 1e-12


def _dot(a, b):
    return float(np.sum(a * b))


# --- CONVT-1: the adjoint --------------------------------------------------------------------------


@pytest.mark.clause("CONVT-1", "CONVT-2")
@given(conv_transpose2d_cases(), st.data())
def test_conv_transpose2d_is_the_adjoint_of_conv2d(case, draw):
    """<conv2d(z, w)[:, :, :H, :W], x> = <z, conv_transpose2d(x, w)>, w read as conv2d's OIHW weight."""
    note(case.describe())
    x, w = case.arrays["x"], case.arrays["w"]
    p = {k: v for k, v in case.params.items() if k != "output_padding"}
    y = ref.conv_transpose2d(x, w, **case.params)
    z = data(draw.draw, y.shape, case.exact)
    h, wd = x.shape[2:]
    fwd = ref.conv2d(z, w, **p)
    assert fwd.shape[:2] == x.shape[:2] and fwd.shape[2] >= h and fwd.shape[3] >= wd
    lhs, rhs = _dot(fwd[:, :, :h, :wd], x), _dot(z, y)
    if case.exact:
        assert lhs == rhs
    else:
        mag = _dot(ref.conv2d(np.abs(z), np.abs(w), **p)[:, :, :h, :wd], np.abs(x))
        assert abs(lhs - rhs) <= ADJOINT_RTOL * mag


@pytest.mark.clause("CONVT-1", "CONVT-3", "CONV-7", "SIZE-8")
@given(conv2d_cases(), st.data())
def test_conv_transpose2d_with_the_matching_output_padding_is_the_adjoint_of_a_conv2d(case, draw):
    """conv_transpose2d(dy, w) with w of shape (M, C/G, KH, KW) is the adjoint of conv2d(., w) on x."""
    note(case.describe())
    x, w = case.arrays["x"], case.arrays["w"]
    p = {k: v for k, v in case.params.items()}
    s, d = pair(p["stride"]), pair(p["dilation"])
    pads = explicit_pads(p["padding"], x.shape[2:], w.shape[2:], s, d)
    y = ref.conv2d(x, w, **p)
    dy = data(draw.draw, y.shape, case.exact)
    # output_padding = H - (the SIZE-8 length with output_padding 0). That length is taken from
    # the formula: it can be < 1 (a conv2d whose windows read padding only), where
    # conv_transpose_output_size rightly refuses it, yet H - it is a valid output_padding.
    base = tuple((y.shape[2 + a] - 1) * s[a] - sum(pads[a]) + d[a] * (w.shape[2 + a] - 1) + 1 for a in (0, 1))
    op = tuple(x.shape[2 + a] - base[a] for a in (0, 1))
    assert all(0 <= op[a] < max(s[a], d[a]) for a in (0, 1))
    for a in (0, 1):
        if base[a] >= 1:
            assert ref.conv_transpose_output_size(y.shape[2 + a], w.shape[2 + a], stride=s[a],
                                                  padding=pads[a], dilation=d[a]) == base[a]
    t = ref.conv_transpose2d(dy, w, stride=s, padding=pads, output_padding=op, dilation=d, groups=p["groups"])
    assert t.shape == x.shape
    lhs, rhs = _dot(y, dy), _dot(x, t)
    if case.exact:
        assert lhs == rhs
    else:
        mag = _dot(ref.conv2d(np.abs(x), np.abs(w), **p), np.abs(dy))
        assert abs(lhs - rhs) <= ADJOINT_RTOL * mag
    # and it is conv2d_backward's dx (CONV-7)
    dx = ref.conv2d_backward(dy, x, w, **p)[0]
    scale = ref.conv_transpose2d(np.abs(dy), np.abs(w), stride=s, padding=pads, output_padding=op,
                                 dilation=d, groups=p["groups"])
    verdict = compare(dx, t, dtype="float64", scale=scale,
                      terms=(w.shape[0] // p["groups"]) * w.shape[2] * w.shape[3], exact=case.exact)
    assert verdict.ok, verdict


# --- CONVT-1, CONVT-4: three forms -----------------------------------------------------------------


@pytest.mark.clause("CONVT-1", "CONVT-4", "CONVT-2")
@given(conv_transpose2d_cases())
def test_conv_transpose2d_equals_the_scatter_sum_and_the_four_step_construction(case):
    note(case.describe())
    (_, y, scale, terms), = OPS["conv_transpose2d"].measure(case)
    for form in (conv_transpose2d_definitional, conv_transpose2d_fourstep):
        other = case.call(form)
        verdict = compare(other, y, dtype="float64", scale=scale, terms=terms, exact=case.exact)
        assert verdict.ok, (form.__name__, verdict)


@pytest.mark.clause("CONVT-1", "CONVT-4")
def test_conv_transpose2d_of_a_hand_computed_full_convolution():
    # S = 1, D = 1, P = 0: the "full" true convolution, OH = H + KH - 1
    x = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 1, 2, 2)  # (1, 1, 2, 2)
    w = np.array([[1.0, 10.0], [100.0, 1000.0]]).reshape(1, 1, 2, 2)  # (C=1, M=1, 2, 2)
    full = np.array([[1, 12, 20], [103, 1234, 2040], [300, 3400, 4000]], dtype=float)
    np.testing.assert_array_equal(ref.conv_transpose2d(x, w)[0, 0], full)
    np.testing.assert_array_equal(conv_transpose2d_fourstep(x, w)[0, 0], full)
    # the unflipped-kernel variant correlates instead: its first element is x[0,0]*w[1,1]
    unflipped = conv_transpose2d_fourstep(x, w, flip_kernel=False)[0, 0]
    assert unflipped[0, 0] == 1000 and not np.array_equal(unflipped, full)
    # padding crops: 1 on every side leaves the centre; ((1, 0), (0, 1)) the lower-left 2x2
    np.testing.assert_array_equal(ref.conv_transpose2d(x, w, padding=1)[0, 0], [[1234]])
    np.testing.assert_array_equal(ref.conv_transpose2d(x, w, padding=((1, 0), (0, 1)))[0, 0],
                                  [[103, 1234], [300, 3400]])


@pytest.mark.clause("CONVT-1", "CONVT-2", "CONVT-3")
def test_conv_transpose2d_of_a_hand_computed_strided_batch_with_bias_and_output_padding():
    # x (2, 2, 1, 2), w (2, 1, 1, 2) (C=2 in, M=1 out), stride (1, 2), b = [5], output_padding (0, 1)
    x = np.array([[[[1.0, 2.0]], [[3.0, 4.0]]], [[[0.0, 1.0]], [[1.0, 0.0]]]])
    w = np.array([[[[1.0, 1.0]]], [[[10.0, -1.0]]]])
    # image 0: c0 scatters [1, 1, 2, 2], c1 [30, -3, 40, -4]; + 5; the extra column holds b alone
    # image 1: c0 [0, 0, 1, 1], c1 [10, -1, 0, 0]
    expected = np.array([[[[36, 3, 47, 3, 5]]], [[[15, 4, 6, 6, 5]]]], dtype=float)  # (2, 1, 1, 5)
    got = ref.conv_transpose2d(x, w, np.array([5.0]), stride=(1, 2), output_padding=(0, 1))
    np.testing.assert_array_equal(got, expected)


@pytest.mark.clause("CONVT-2")
def test_conv_transpose2d_of_hand_computed_grouped_examples():
    x = np.array([2.0, 3.0]).reshape(1, 2, 1, 1)  # (1, 2, 1, 1)
    w = np.array([10.0, 100.0]).reshape(2, 1, 1, 1)  # (C=2, M/G=1, 1, 1)
    np.testing.assert_array_equal(ref.conv_transpose2d(x, w, groups=2).ravel(), [20, 300])  # M = 2
    np.testing.assert_array_equal(ref.conv_transpose2d(x, w).ravel(), [320])  # G = 1: M = 1
    # depthwise with multiplier 2: channel c scatters into outputs 2c, 2c + 1
    wd = np.array([1.0, 2.0, 3.0, 4.0]).reshape(2, 2, 1, 1)
    np.testing.assert_array_equal(ref.conv_transpose2d(x, wd, groups=2).ravel(), [2, 4, 9, 12])


# --- CONVT-3: output_padding -----------------------------------------------------------------------


@pytest.mark.clause("CONVT-3", "SIZE-8")
@given(conv_transpose2d_cases(exact=True))
def test_output_padding_extends_the_output_at_the_bottom_and_right_only(case):
    p = case.params
    y = case.call(ref.conv_transpose2d)
    oph, opw = pair(p["output_padding"])
    if y.shape[2] - oph < 1 or y.shape[3] - opw < 1:
        return  # without output_padding the size would be < 1 (SIZE-8): nothing to compare with
    y0 = ref.conv_transpose2d(*case.arrays.values(), **dict(p, output_padding=0))
    assert y.shape[2:] == (y0.shape[2] + oph, y0.shape[3] + opw)
    np.testing.assert_array_equal(y[:, :, :y0.shape[2], :y0.shape[3]], y0)
    # with no bottom (right) padding no scatter term reaches the added rows: they hold b alone
    b = case.arrays.get("b", np.zeros(y.shape[1]))[None, :, None, None]
    (_, pb), (_, pr) = explicit_pads(p["padding"])
    if pb == 0:
        np.testing.assert_array_equal(y[:, :, y0.shape[2]:], np.broadcast_to(b, y[:, :, y0.shape[2]:].shape))
    if pr == 0:
        np.testing.assert_array_equal(y[:, :, :, y0.shape[3]:],
                                      np.broadcast_to(b, y[:, :, :, y0.shape[3]:].shape))


@pytest.mark.clause("CONVT-3")
def test_output_padding_rows_receive_the_terms_cropped_by_bottom_padding():
    # x (1, 1, 2, 1) = [1, 2], w (1, 1, 2, 1) = [1, 10], stride 2, padding ((0, 1), (0, 0)):
    # uncropped rows [1, 10, 2, 20], P_bottom = 1 crops the 20; output_padding 1 brings it back
    x = np.array([1.0, 2.0]).reshape(1, 1, 2, 1)
    w = np.array([1.0, 10.0]).reshape(1, 1, 2, 1)
    pads = ((0, 1), (0, 0))
    np.testing.assert_array_equal(ref.conv_transpose2d(x, w, stride=2, padding=pads).ravel(), [1, 10, 2])
    np.testing.assert_array_equal(ref.conv_transpose2d(x, w, stride=2, padding=pads,
                                                       output_padding=(1, 0)).ravel(), [1, 10, 2, 20])


@pytest.mark.clause("CONVT-3", "SIZE-8")
def test_output_padding_may_reach_the_dilation_when_it_exceeds_the_stride():
    # S = 1, D = 3, output_padding 2: x (1, 2, 1, 1) = [1, 2], w (2, 1, 2, 1) = [[1], [10]], [[3], [30]]
    # uncropped: taps at rows 0 and 3 -> [1*1 + 2*3, 0, 0, 1*10 + 2*30] then two rows of bias 0
    x = np.array([1.0, 2.0]).reshape(1, 2, 1, 1)
    w = np.array([1.0, 10.0, 3.0, 30.0]).reshape(2, 1, 2, 1)
    y = ref.conv_transpose2d(x, w, dilation=(3, 1), output_padding=(2, 0))
    np.testing.assert_array_equal(y.ravel(), [7, 0, 0, 70, 0, 0])


# --- SPEC-6, SPEC-7 --------------------------------------------------------------------------------


@pytest.mark.clause("SPEC-6", "CONVT-1", "CONVT-4")
def test_an_infinite_weight_meets_no_padding_zero_in_conv_transpose2d():
    # x (1, 1, 1, 1) = 1, w (1, 1, 1, 2) = [inf, 1], left padding 1 crops the inf: y = [1]
    x = np.ones((1, 1, 1, 1))
    w = np.array([np.inf, 1.0]).reshape(1, 1, 1, 2)
    np.testing.assert_array_equal(ref.conv_transpose2d(x, w, padding=((0, 0), (1, 0))).ravel(), [1.0])
    # the four-step construction multiplies the inf by a padded zero (CONVT-4 edge case)
    with np.errstate(invalid="ignore"):
        assert np.isnan(conv_transpose2d_fourstep(x, w, padding=((0, 0), (1, 0)))).all()


@pytest.mark.clause("SPEC-6", "CONVT-1", "CONVT-3")
def test_output_padding_beyond_the_stride_adds_no_terms_with_an_infinite_weight():
    # S = 1, D = 2, output_padding 1: x (1, 1, 1, 1) = 1, w (1, 1, 2, 1) = [inf, 1]
    # CONVT-1 has two terms, at rows 0 (inf) and 2 (1); rows 1 and 3 hold no term: 0
    x = np.ones((1, 1, 1, 1))
    w = np.array([np.inf, 1.0]).reshape(1, 1, 2, 1)
    expected = [np.inf, 0.0, 1.0, 0.0]
    np.testing.assert_array_equal(conv_transpose2d_definitional(x, w, dilation=(2, 1),
                                                                output_padding=(1, 0)).ravel(), expected)
    with np.errstate(invalid="ignore"):
        got = ref.conv_transpose2d(x, w, dilation=(2, 1), output_padding=(1, 0))
    np.testing.assert_array_equal(got.ravel(), expected)


@pytest.mark.clause("SPEC-7", "CONVT-2")
def test_conv_transpose2d_of_an_empty_batch_is_empty():
    x = np.zeros((0, 4, 3, 2))  # N = 0, C = 4
    w = np.ones((4, 3, 2, 2))  # groups 2: M = 6
    y = ref.conv_transpose2d(x, w, np.ones(6), stride=2, output_padding=1, groups=2)
    assert y.shape == (0, 6, 7, 5) and y.dtype == np.float64
