"""im2col and col2im (IM2COL-1 ... IM2COL-3)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, note
from hypothesis import strategies as st

import reference as ref
from conformance.strategies.conv import conv2d_cases, data, im2col_cases, special_values
from conformance.tolerance import compare
from reference.im2col import im2col_definitional


def _kernel(params):
    k = params["kernel_size"]
    return (k, k) if isinstance(k, int) else tuple(k)


@pytest.mark.clause("IM2COL-1")
@given(im2col_cases(), st.data())
def test_im2col_equals_the_definitional_layout(case, draw):
    if draw.draw(st.booleans(), label="special values"):
        case = special_values(case, draw.draw)  # entries are copies: NaN and inf travel unchanged
    note(case.describe())
    col = case.call(ref.im2col)
    assert col.dtype == np.float64
    np.testing.assert_array_equal(col, case.call(im2col_definitional))  # exact on any data (TOL-4)


@pytest.mark.clause("IM2COL-1")
def test_im2col_of_a_hand_computed_batch():
    # x (2, 2, 2, 3): image 0 channel 0 = [[1, 2, 3], [4, 5, 6]], channel 1 = 6 + channel 0;
    # image 1 = 100 + image 0. kernel (1, 2): OH = 2, OW = 2; rows (n, i, j), columns (c, p, q)
    x0 = np.array([[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], [[7.0, 8.0, 9.0], [10.0, 11.0, 12.0]]])
    x = np.stack([x0, x0 + 100])
    block = np.array([[1, 2, 7, 8], [2, 3, 8, 9], [4, 5, 10, 11], [5, 6, 11, 12]], dtype=float)
    np.testing.assert_array_equal(ref.im2col(x, (1, 2)), np.concatenate([block, block + 100]))  # (8, 4)
    # stride (1, 2), padding ((0, 0), (1, 0)): padded first row [0, 1, 2, 3] -> windows (0, 1), (2, 3)
    got = ref.im2col(x[:1, :1], (1, 2), stride=(1, 2), padding=((0, 0), (1, 0)))
    np.testing.assert_array_equal(got, [[0, 1], [2, 3], [0, 4], [5, 6]])  # (1*2*2, 1*1*2)


@pytest.mark.clause("IM2COL-1")
def test_im2col_of_a_pointwise_kernel_is_the_nhwc_matrix():
    x = np.arange(2 * 3 * 4 * 5, dtype=float).reshape(2, 3, 4, 5)  # N=2, C=3
    np.testing.assert_array_equal(ref.im2col(x, 1), x.transpose(0, 2, 3, 1).reshape(2 * 4 * 5, 3))


@pytest.mark.clause("IM2COL-2")
@given(im2col_cases(), st.data())
def test_col2im_is_the_adjoint_of_im2col(case, draw):
    note(case.describe())
    x = case.arrays["x"]
    col = case.call(ref.im2col)
    c = data(draw.draw, col.shape, case.exact)
    back = ref.col2im(c, x.shape, **case.params)
    assert back.shape == x.shape and back.dtype == np.float64
    lhs, rhs = float(np.sum(col * c)), float(np.sum(x * back))
    if case.exact:
        assert lhs == rhs
    else:
        mag = float(np.sum(np.abs(col) * np.abs(c)))
        assert abs(lhs - rhs) <= 1e-12 * mag


@pytest.mark.clause("IM2COL-2")
@given(im2col_cases(exact=True))
def test_col2im_of_im2col_multiplies_each_input_by_the_windows_that_read_it(case):
    x = case.arrays["x"]
    counts = ref.col2im(ref.im2col(np.ones(x.shape), **case.params), x.shape, **case.params)
    np.testing.assert_array_equal(ref.col2im(case.call(ref.im2col), x.shape, **case.params), x * counts)


@pytest.mark.clause("IM2COL-2")
def test_col2im_of_hand_computed_examples():
    # x (2, 3, 4, 4): kernel 2, stride 2 tiles the input exactly, so col2im(im2col(x)) = x
    x = np.arange(2 * 3 * 4 * 4, dtype=float).reshape(2, 3, 4, 4)
    np.testing.assert_array_equal(ref.col2im(ref.im2col(x, 2, stride=2), x.shape, 2, stride=2), x)
    # x (1, 1, 1, 3), kernel (1, 2), stride 1, padding (0, 1): windows over columns -1..0, 0..1,
    # 1..2, 2..3; col of ones -> counts [2, 2, 2] (the padding entries are dropped)
    counts = ref.col2im(np.ones((4, 2)), (1, 1, 1, 3), (1, 2), padding=(0, 1))
    np.testing.assert_array_equal(counts, [[[[2, 2, 2]]]])
    # stride 3 skips column 2 of x (1, 1, 1, 5) with kernel (1, 2): positions read by no window are 0
    np.testing.assert_array_equal(ref.col2im(np.ones((2, 2)), (1, 1, 1, 5), (1, 2), stride=3),
                                  [[[[1, 1, 0, 1, 1]]]])
    # an empty batch
    assert ref.col2im(np.ones((0, 4)), (0, 1, 3, 3), 2).shape == (0, 1, 3, 3)


@pytest.mark.clause("IM2COL-3")
@given(conv2d_cases())
def test_im2col_times_the_weight_matrix_is_conv2d(case):
    note(case.describe())
    x, w = case.arrays["x"], case.arrays["w"]
    p = dict(case.params)
    if p["groups"] != 1:  # IM2COL-3 holds per group: take group 0's channels and filters
        g = p.pop("groups")
        x, w = x[:, :x.shape[1] // g], w[:w.shape[0] // g]
        b = case.arrays["b"][:w.shape[0]] if "b" in case.arrays else None
    else:
        p.pop("groups")
        b = case.arrays.get("b")
    m = w.shape[0]
    y = ref.conv2d(x, w, b, **p)
    n, _, oh, ow = y.shape
    prod = ref.im2col(x, w.shape[2:], **p) @ w.reshape(m, -1).T + (0 if b is None else b)
    got = prod.reshape(n, oh, ow, m).transpose(0, 3, 1, 2)
    scale = ref.conv2d(np.abs(x), np.abs(w), None if b is None else np.abs(b), **p)
    verdict = compare(y, got, dtype="float64", scale=scale, terms=w[0].size + (b is not None),
                      exact=case.exact)
    assert verdict.ok, verdict
