"""The reference against torch.nn.functional in float64, op by op, on the shared strategies.

Each op of conformance.ops.OPS is mapped onto PyTorch by hand, using only what PyTorch can
express honestly: symmetric padding goes to PyTorch's own ``padding`` argument; asymmetric
and string padding (resolved here by the SIZE-5/SIZE-6 formula, not by the reference) is
applied with ``F.pad`` first, or, for the transposed convolution, by cropping PyTorch's
unpadded result. Each output is judged by conformance.tolerance.compare at float64.
Where PyTorch differs from the spec on purpose, a strict xfail test asserts the spec.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is not installed: the PyTorch cross-check is skipped")
F = torch.nn.functional

from hypothesis import given, note  # noqa: E402
from spec_helpers import explicit_pads, pair  # noqa: E402

import reference as ref  # noqa: E402
from conformance.ops import OPS  # noqa: E402
from conformance.strategies.conv import CASES, im2col_cases  # noqa: E402
from conformance.tolerance import compare  # noqa: E402

# PyTorch warns that "same" with an even kernel pads a copy of the input: expected here.
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")


def _t(a, grad=False):
    return torch.tensor(np.ascontiguousarray(a), dtype=torch.float64, requires_grad=grad)


def _np(t):
    return t.detach().numpy()


def _judge(op, case, outputs):
    """compare() each torch output with the reference's measure of the case."""
    spec = OPS[op]
    measured = spec.measure(case)
    assert len(measured) == len(outputs)
    for (name, want, scale, terms), got in zip(measured, outputs, strict=True):
        if got is None:
            continue
        if scale is None and want.dtype.kind in "iu":
            got = got.astype(np.int64)
        verdict = compare(want, got, dtype="float64", scale=scale, terms=terms,
                          exact=case.exact and spec.exact_capable, divides=spec.divides)
        assert verdict.ok, (name, verdict)


# --- conv2d and its backward -------------------------------------------------------------------------


def _torch_conv2d(x, w, b, p, grad=False):
    s, d = pair(p["stride"]), pair(p["dilation"])
    (t, bo), (l, r) = explicit_pads(p["padding"], x.shape[2:], w.shape[2:], s, d)
    xt, wt = _t(x, grad), _t(w, grad)
    bt = _t(np.zeros(w.shape[0]) if b is None else b, grad)
    if t == bo and l == r:
        y = F.conv2d(xt, wt, bt, stride=s, padding=(t, l), dilation=d, groups=p["groups"])
    else:
        y = F.conv2d(F.pad(xt, (l, r, t, bo)), wt, bt, stride=s, padding=0, dilation=d, groups=p["groups"])
    return y, (xt, wt, bt)


@pytest.mark.clause("CONV-1", "CONV-2", "CONV-3", "CONV-4", "CONV-5", "CONV-6", "SIZE-3", "SIZE-5", "SIZE-6")
@given(CASES["conv2d"]())
def test_conv2d_agrees_with_torch(case):
    note(case.describe())
    y, _ = _torch_conv2d(case.arrays["x"], case.arrays["w"], case.arrays.get("b"), case.params)
    _judge("conv2d", case, [_np(y)])


@pytest.mark.clause("CONV-7")
@given(CASES["conv2d_backward"]())
def test_conv2d_backward_agrees_with_torch_autograd(case):
    note(case.describe())
    dy, x, w = case.arrays["dy"], case.arrays["x"], case.arrays["w"]
    y, (xt, wt, bt) = _torch_conv2d(x, w, None, case.params, grad=True)
    y.backward(_t(dy))
    _judge("conv2d_backward", case, [_np(xt.grad), _np(wt.grad), _np(bt.grad)])


@pytest.mark.clause("SIZE-5", "CONV-5")
@given(CASES["conv2d"]())
def test_torch_same_padding_at_stride_one_is_the_spec_same_padding(case):
    p = dict(case.params, stride=1, padding="same")
    x, w = case.arrays["x"], case.arrays["w"]
    b = case.arrays.get("b")
    y = F.conv2d(_t(x), _t(w), None if b is None else _t(b), stride=1, padding="same",
                 dilation=pair(p["dilation"]), groups=p["groups"])
    _judge("conv2d", type(case)("conv2d", case.arrays, p, case.exact), [_np(y)])


# --- conv_transpose2d ---------------------------------------------------------------------------------


@pytest.mark.clause("CONVT-1", "CONVT-2", "CONVT-3", "SIZE-8")
@given(CASES["conv_transpose2d"]())
def test_conv_transpose2d_agrees_with_torch(case):
    note(case.describe())
    x, w = case.arrays["x"], case.arrays["w"]
    b = case.arrays.get("b")
    p = case.params
    s, d, op = pair(p["stride"]), pair(p["dilation"]), pair(p["output_padding"])
    (t, bo), (l, r) = explicit_pads(p["padding"], None, None, None, None)
    bt = None if b is None else _t(b)
    if t == bo and l == r:
        y = F.conv_transpose2d(_t(x), _t(w), bt, stride=s, padding=(t, l), output_padding=op,
                               groups=p["groups"], dilation=d)
    else:
        # asymmetric padding crops the unpadded result: rows [P_top, P_top + OH) (CONVT-3)
        full = F.conv_transpose2d(_t(x), _t(w), bt, stride=s, padding=0, output_padding=op,
                                  groups=p["groups"], dilation=d)
        y = full[:, :, t:full.shape[2] - bo, l:full.shape[3] - r]
    _judge("conv_transpose2d", case, [_np(y)])


# --- pooling ----------------------------------------------------------------------------------------


def _pool_geometry(x, p):
    k = pair(p["kernel_size"])
    s = k if p.get("stride") is None else pair(p["stride"])
    d = pair(p.get("dilation", 1))
    pads = explicit_pads(p["padding"], x.shape[2:], k, s, d)
    (t, bo), (l, r) = pads
    native = t == bo and l == r and t <= k[0] // 2 and l <= k[1] // 2  # PyTorch's padding rule
    return k, s, d, pads, native


def _torch_max_pool(x, p, grad=False):
    """(values, indices or None, input tensor). Indices only when PyTorch takes the padding itself:
    after F.pad they would index the padded plane, so those cases compare values only."""
    k, s, d, ((t, bo), (l, r)), native = _pool_geometry(x, p)
    xt = _t(x, grad)
    if native:
        y, idx = F.max_pool2d(xt, k, s, (t, l), d, ceil_mode=p["ceil_mode"], return_indices=True)
        return y, idx, xt
    y = F.max_pool2d(F.pad(xt, (l, r, t, bo), value=-np.inf), k, s, 0, d, ceil_mode=p["ceil_mode"])
    return y, None, xt


def _crop_to(y, shape):
    """PyTorch without padding applies ceil_mode's correction against the padded size, so it can
    keep one more window than the spec (one starting in the end padding); the spec's windows are
    its first ones, identical tap for tap."""
    assert y.shape[2] >= shape[2] and y.shape[3] >= shape[3]
    return y[:, :, :shape[2], :shape[3]]


@pytest.mark.clause("POOL-MAX-1", "POOL-MAX-3", "POOL-MAX-5", "POOL-1", "POOL-2", "SIZE-7")
@given(CASES["max_pool2d"]())
def test_max_pool2d_agrees_with_torch(case):
    note(case.describe())
    x = case.arrays["x"]
    y, idx, _ = _torch_max_pool(x, case.params)
    want = ref.max_pool2d(x, **case.params)[0]
    if idx is None:
        note("padding PyTorch cannot take: pre-padded with -inf, values compared, indices not")
        _judge("max_pool2d", case, [_np(_crop_to(y, want.shape)), None])
    else:
        _judge("max_pool2d", case, [_np(y), _np(idx)])


@pytest.mark.clause("POOL-MAX-4")
@given(CASES["max_pool2d_backward"]())
def test_max_pool2d_backward_agrees_with_torch_autograd(case):
    note(case.describe())
    dy, x = case.arrays["dy"], case.arrays["x"]
    y, _, xt = _torch_max_pool(x, case.params, grad=True)
    grown = np.zeros(tuple(y.shape))  # extra PyTorch windows (see _crop_to) get no gradient
    grown[:, :, :dy.shape[2], :dy.shape[3]] = dy
    y.backward(_t(grown))
    _judge("max_pool2d_backward", case, [_np(xt.grad)])


def _torch_avg_pool(x, p, grad=False):
    """(output, input tensor), or None where PyTorch cannot express the case: padding it does not
    take, with count_include_pad=False and no divisor_override (pre-padding with zeros would
    count the padding as input)."""
    k, s, _, ((t, bo), (l, r)), native = _pool_geometry(x, p)
    xt = _t(x, grad)
    kw = {"ceil_mode": p["ceil_mode"], "count_include_pad": p["count_include_pad"],
          "divisor_override": p["divisor_override"]}
    if native:
        return F.avg_pool2d(xt, k, s, (t, l), **kw), xt
    if p["count_include_pad"] or p["divisor_override"] is not None:
        # zeros inside the padded extent count with count_include_pad=True, and the divisor of a
        # ceil_mode window is clipped to that extent either way (POOL-AVG-2)
        return F.avg_pool2d(F.pad(xt, (l, r, t, bo)), k, s, 0, **kw), xt
    return None


@pytest.mark.clause("POOL-AVG-1", "POOL-AVG-2", "POOL-AVG-3", "POOL-AVG-4", "POOL-1", "SIZE-7")
def test_avg_pool2d_agrees_with_torch_wherever_torch_can_express_it():
    seen = {"expressible": 0, "not": 0}

    @given(CASES["avg_pool2d"]())
    def check(case):
        note(case.describe())
        x = case.arrays["x"]
        out = _torch_avg_pool(x, case.params)
        if out is None:
            note("inexpressible in PyTorch: asymmetric or large padding with count_include_pad=False")
            seen["not"] += 1
            return
        seen["expressible"] += 1
        want_shape = ref.avg_pool2d(x, **case.params).shape
        _judge("avg_pool2d", case, [_np(_crop_to(out[0], want_shape))])

    check()
    assert seen["expressible"] > 0, seen


@pytest.mark.clause("POOL-AVG-5")
def test_avg_pool2d_backward_agrees_with_torch_autograd_wherever_torch_can_express_it():
    seen = {"expressible": 0, "not": 0}

    @given(CASES["avg_pool2d_backward"]())
    def check(case):
        note(case.describe())
        dy, x = case.arrays["dy"], case.arrays["x"]
        out = _torch_avg_pool(x, case.params, grad=True)
        if out is None:
            seen["not"] += 1
            return
        seen["expressible"] += 1
        y, xt = out
        grown = np.zeros(tuple(y.shape))
        grown[:, :, :dy.shape[2], :dy.shape[3]] = dy
        y.backward(_t(grown))
        _judge("avg_pool2d_backward", case, [_np(xt.grad)])

    check()
    assert seen["expressible"] > 0, seen


# --- im2col / col2im ------------------------------------------------------------------------------


def _unfold_args(x_shape, p):
    k, s, d = pair(p["kernel_size"]), pair(p["stride"]), pair(p["dilation"])
    return k, s, d, explicit_pads(p["padding"], x_shape[2:], k, s, d)


@pytest.mark.clause("IM2COL-1")
@given(im2col_cases())
def test_im2col_is_torch_unfold_transposed_to_rows(case):
    note(case.describe())
    x = case.arrays["x"]
    k, s, d, ((t, bo), (l, r)) = _unfold_args(x.shape, case.params)
    xt = _t(x)
    if t == bo and l == r:
        cols = F.unfold(xt, k, dilation=d, padding=(t, l), stride=s)
    else:
        cols = F.unfold(F.pad(xt, (l, r, t, bo)), k, dilation=d, padding=0, stride=s)
    n, ckk, length = cols.shape
    _judge("im2col", case, [_np(cols.transpose(1, 2).reshape(n * length, ckk))])


@pytest.mark.clause("IM2COL-2")
@given(im2col_cases())
def test_col2im_is_torch_fold(case):
    note(case.describe())
    x = case.arrays["x"]
    col = case.call(ref.im2col) * 3.0 - 1.0
    k, s, d, ((t, bo), (l, r)) = _unfold_args(x.shape, case.params)
    n, c, h, w = x.shape
    length = col.shape[0] // n
    blocks = _t(col.reshape(n, length, -1).transpose(0, 2, 1))
    folded = F.fold(blocks, (h + t + bo, w + l + r), k, dilation=d, padding=0, stride=s)
    got = _np(folded[:, :, t:t + h, l:l + w])
    want = ref.col2im(col, x.shape, **case.params)
    scale = ref.col2im(np.abs(col), x.shape, **case.params)
    verdict = compare(want, got, dtype="float64", scale=scale, terms=k[0] * k[1], exact=case.exact)
    assert verdict.ok, verdict


# --- where PyTorch differs from the spec -------------------------------------------------------------


@pytest.mark.clause("POOL-MAX-3", "POOL-MAX-2")
@pytest.mark.xfail(strict=True, reason="POOL-MAX-3: the index of a NaN window is its first NaN; PyTorch's "
                                       "CPU kernel (`val > maxval || isnan(val)`) moves on to the last NaN")
def test_torch_names_the_first_nan_of_a_window():
    x = np.array([np.nan, 1.0, np.nan, 2.0]).reshape(1, 1, 1, 4)  # (1, 1, 1, 4), one (1, 4) window
    want_y, want_idx = ref.max_pool2d(x, (1, 4), return_indices=True)
    assert want_idx.item() == 0
    y, idx = F.max_pool2d(_t(x), (1, 4), return_indices=True)
    assert np.isnan(_np(y)).all()
    assert idx.item() == want_idx.item()


@pytest.mark.clause("POOL-MAX-4", "POOL-MAX-2")
@pytest.mark.xfail(strict=True, reason="POOL-MAX-4: a NaN window sends its gradient to its first NaN; "
                                       "PyTorch routes it by its index, the last NaN")
def test_torch_routes_the_gradient_of_a_nan_window_to_its_first_nan():
    x = np.array([np.nan, 1.0, np.nan, 2.0]).reshape(1, 1, 1, 4)
    want = ref.max_pool2d_backward(np.ones((1, 1, 1, 1)), x, (1, 4))
    np.testing.assert_array_equal(want.ravel(), [1, 0, 0, 0])
    xt = _t(x, True)
    F.max_pool2d(xt, (1, 4)).backward(torch.ones(1, 1, 1, 1, dtype=torch.float64))
    np.testing.assert_array_equal(_np(xt.grad), want)
