"""Operation counts of conv2d (COST-1 ... COST-4)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import reference as ref
from conformance.strategies.conv import conv2d_cases


def _instrumented_direct_sum(x, w, b, stride, padding, dilation, groups):
    """CONV-1 written out, counting its multiply-adds (padding taps are terms: COST-1) and bias adds.

    Returns (y, macs, bias_adds); y is checked against conv2d so the loop is known to be the sum.
    """
    n_, c_, h_, w_ = x.shape
    m_, cg, kh, kw = w.shape
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    dh, dw = (dilation, dilation) if isinstance(dilation, int) else dilation
    if isinstance(padding, str):
        if padding == "valid":
            pads = ((0, 0), (0, 0))
        else:
            pads = tuple(ref.same_padding(size, k, stride=s, dilation=d, lower=padding == "same_lower")
                         for size, k, s, d in ((h_, kh, sh, dh), (w_, kw, sw, dw)))
    elif isinstance(padding, int):
        pads = ((padding, padding), (padding, padding))
    else:
        pads = tuple(p if isinstance(p, (tuple, list)) else (p, p) for p in padding)
    (pt, pb), (pl, pr) = pads
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    oh = (h_ + pt + pb - dh * (kh - 1) - 1) // sh + 1
    ow = (w_ + pl + pr - dw * (kw - 1) - 1) // sw + 1
    mg = m_ // groups
    y = np.zeros((n_, m_, oh, ow))
    macs = bias_adds = 0
    for n in range(n_):
        for m in range(m_):
            g = m // mg
            for i in range(oh):
                for j in range(ow):
                    acc = 0.0
                    for c in range(cg):
                        for p in range(kh):
                            for q in range(kw):
                                acc += xp[n, g * cg + c, i * sh + p * dh, j * sw + q * dw] * w[m, c, p, q]
                                macs += 1
                    if b is not None:
                        acc += b[m]
                        bias_adds += 1
                    y[n, m, i, j] = acc
    return y, macs, bias_adds


@pytest.mark.clause("COST-1", "COST-2", "COST-3")
@given(conv2d_cases(exact=True, max_batch=2), st.booleans())
def test_the_counts_equal_those_of_the_direct_sum(case, with_bias):
    x, w = case.arrays["x"], case.arrays["w"]
    b = np.arange(w.shape[0], dtype=float) if with_bias else None
    y, macs, bias_adds = _instrumented_direct_sum(x, w, b, **case.params)
    np.testing.assert_array_equal(y, ref.conv2d(x, w, b, **case.params))  # it is CONV-1's sum
    cost = ref.conv2d_cost(x.shape, w.shape, bias=with_bias, **case.params)
    assert cost.macs == macs
    assert cost.flops == 2 * macs + bias_adds  # a multiply and an add per term, one add per bias
    assert cost.params == w.size + (b.size if with_bias else 0)
    assert all(type(v) is int for v in cost)


@pytest.mark.clause("COST-1", "COST-2", "COST-3")
def test_the_counts_of_a_hand_computed_layer():
    # x (2, 4, 5, 6), w (6, 2, 3, 3), groups 2, stride 2, padding 1: OH = 3, OW = 3
    cost = ref.conv2d_cost((2, 4, 5, 6), (6, 2, 3, 3), stride=2, padding=1, groups=2)
    macs = 2 * 3 * 3 * 6 * 2 * 3 * 3  # N * OH * OW * M * (C/G) * KH * KW = 1944
    assert cost == (macs, 2 * macs + 2 * 3 * 3 * 6, 6 * 2 * 3 * 3 + 6)
    assert ref.conv2d_cost((2, 4, 5, 6), (6, 2, 3, 3), stride=2, padding=1, groups=2, bias=False) == \
        (macs, 2 * macs, 6 * 2 * 3 * 3)
    # depthwise 3x3 on C = 8 channels: 9 * C weights (COST-3), N*OH*OW*C*9 MACs
    dw = ref.conv2d_cost((1, 8, 7, 7), (8, 1, 3, 3), padding="same", groups=8, bias=False)
    assert dw == (7 * 7 * 8 * 9, 2 * 7 * 7 * 8 * 9, 9 * 8)


@pytest.mark.clause("COST-1")
def test_padding_taps_count_so_same_and_valid_cost_the_same_per_output():
    same = ref.conv2d_cost((1, 3, 8, 8), (4, 3, 3, 3), padding="same")
    valid = ref.conv2d_cost((1, 3, 8, 8), (4, 3, 3, 3), padding="valid")
    assert same.macs / (8 * 8 * 4) == valid.macs / (6 * 6 * 4) == 3 * 3 * 3


@pytest.mark.clause("COST-1", "COST-2", "COST-3", "SPEC-7")
def test_an_empty_batch_costs_nothing_but_keeps_its_parameters():
    assert ref.conv2d_cost((0, 3, 8, 8), (4, 3, 3, 3)) == (0, 0, 4 * 3 * 3 * 3 + 4)


@pytest.mark.clause("COST-3")
@given(conv2d_cases(), st.booleans(), st.integers(0, 4), st.integers(1, 4))
def test_the_parameter_count_depends_on_the_weights_alone(case, with_bias, n, stretch):
    x, w = case.arrays["x"], case.arrays["w"]
    p = case.params
    base = ref.conv2d_cost(x.shape, w.shape, bias=with_bias, **p).params
    assert base == w.size + (w.shape[0] if with_bias else 0)
    bigger = (n, x.shape[1], x.shape[2] * stretch, x.shape[3] + stretch)
    assert ref.conv2d_cost(bigger, w.shape, bias=with_bias, **p).params == base
    other = dict(p, stride=1, dilation=1, padding="same")
    assert ref.conv2d_cost(bigger, w.shape, bias=with_bias, **other).params == base


@pytest.mark.clause("COST-4")
@given(st.integers(1, 40), st.integers(1, 40), st.integers(1, 7), st.integers(1, 16), st.integers(1, 16),
       st.integers(1, 3))
def test_the_textbook_count_is_the_stride_one_same_padded_dense_special_case(h, w, k, c, m, d):
    cost = ref.conv2d_cost((1, c, h, w), (m, c, k, k), padding="same", dilation=d, bias=False)
    assert cost.macs == h * w * k * k * c * m


@pytest.mark.clause("COST-4")
def test_the_textbook_count_overstates_strided_valid_and_grouped_layers():
    textbook = 224 * 224 * 3 * 3 * 64 * 64  # H*W*K*K*C*M of a VGG-style 3x3 layer
    assert ref.conv2d_cost((1, 64, 224, 224), (64, 64, 3, 3), padding="same").macs == textbook
    assert ref.conv2d_cost((1, 64, 224, 224), (64, 64, 3, 3), padding="same", stride=2).macs == textbook // 4
    assert ref.conv2d_cost((1, 64, 224, 224), (64, 64, 3, 3)).macs == 222 * 222 * 9 * 64 * 64
    assert ref.conv2d_cost((1, 64, 224, 224), (64, 1, 3, 3), padding="same", groups=64).macs == textbook // 64
