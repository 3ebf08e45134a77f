"""Bad inputs (SPEC-3 and every clause's Errors), input handling (SPEC-4 ... SPEC-7), and a fuzz test.

Every invalid input must raise reference.SpecError, a ValueError whose message names the
parameter and the clause (SPEC-3); the fuzz test draws arbitrary, mostly invalid, arguments
and accepts only a result or a SpecError.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
from hypothesis import event, given, note
from hypothesis import strategies as st

import reference as ref
from conformance.strategies.conv import CASES, im2col_cases, special_values
from reference import SpecError

X = np.zeros((2, 3, 5, 5))  # N=2, C=3
W = np.zeros((4, 3, 3, 3))  # M=4
XT = np.zeros((2, 4, 3, 3))  # transposed conv input, C=4
WT = np.zeros((4, 2, 3, 3))  # (C, M/G, KH, KW)
Z = np.zeros


def _bad(name, call, param, clause):
    return pytest.param(call, param, clause, id=name)


BAD = [
    # --- conv2d: CONV-2 ... CONV-6, SIZE-*, SPEC-5
    _bad("conv2d-x-3d", lambda: ref.conv2d(Z((3, 5, 5)), W), "x", "CONV-2"),
    _bad("conv2d-x-5d", lambda: ref.conv2d(Z((1, 2, 3, 5, 5)), W), "x", "CONV-2"),
    _bad("conv2d-w-3d", lambda: ref.conv2d(X, Z((3, 3, 3))), "w", "CONV-2"),
    _bad("conv2d-channel-mismatch", lambda: ref.conv2d(X, Z((4, 2, 3, 3))), "w", "CONV-2"),
    _bad("conv2d-groups-not-dividing-C", lambda: ref.conv2d(X, Z((4, 1, 3, 3)), groups=2),
         "groups", "CONV-3"),
    _bad("conv2d-groups-not-dividing-M", lambda: ref.conv2d(Z((2, 4, 5, 5)), Z((3, 2, 3, 3)), groups=2),
         "groups", "CONV-3"),
    _bad("conv2d-groups-0", lambda: ref.conv2d(X, W, groups=0), "groups", "CONV-3"),
    _bad("conv2d-groups-bool", lambda: ref.conv2d(X, W, groups=True), "groups", "CONV-3"),
    _bad("conv2d-groups-float", lambda: ref.conv2d(X, W, groups=1.0), "groups", "CONV-3"),
    _bad("conv2d-stride-0", lambda: ref.conv2d(X, W, stride=0), "stride", "SIZE-1"),
    _bad("conv2d-stride-pair-0", lambda: ref.conv2d(X, W, stride=(1, 0)), "stride", "SIZE-1"),
    _bad("conv2d-stride-float", lambda: ref.conv2d(X, W, stride=2.0), "stride", "SIZE-1"),
    _bad("conv2d-stride-bool", lambda: ref.conv2d(X, W, stride=True), "stride", "SIZE-1"),
    _bad("conv2d-stride-triple", lambda: ref.conv2d(X, W, stride=(1, 2, 3)), "stride", "SIZE-1"),
    _bad("conv2d-stride-none", lambda: ref.conv2d(X, W, stride=None), "stride", "SIZE-1"),
    _bad("conv2d-stride-str", lambda: ref.conv2d(X, W, stride="2"), "stride", "SIZE-1"),
    _bad("conv2d-stride-0d-array", lambda: ref.conv2d(X, W, stride=np.array(2)), "stride", "SIZE-1"),
    _bad("conv2d-dilation-0", lambda: ref.conv2d(X, W, dilation=0), "dilation", "SIZE-1"),
    _bad("conv2d-dilation-negative", lambda: ref.conv2d(X, W, dilation=(1, -1)), "dilation", "SIZE-1"),
    _bad("conv2d-dilation-float-entry", lambda: ref.conv2d(X, W, dilation=(1.5, 1)), "dilation", "SIZE-1"),
    _bad("conv2d-padding-negative", lambda: ref.conv2d(X, W, padding=-1), "padding", "SIZE-2"),
    _bad("conv2d-padding-pair-negative", lambda: ref.conv2d(X, W, padding=(1, -1)), "padding", "SIZE-2"),
    _bad("conv2d-padding-explicit-negative", lambda: ref.conv2d(X, W, padding=((0, 1), (2, -1))),
         "padding", "SIZE-2"),
    _bad("conv2d-padding-upper-case", lambda: ref.conv2d(X, W, padding="SAME"), "padding", "SIZE-2"),
    _bad("conv2d-padding-capitalised", lambda: ref.conv2d(X, W, padding="Valid"), "padding", "SIZE-2"),
    _bad("conv2d-padding-mixed", lambda: ref.conv2d(X, W, padding=(1, (2, 3))), "padding", "SIZE-2"),
    _bad("conv2d-padding-triple", lambda: ref.conv2d(X, W, padding=(1, 2, 3)), "padding", "SIZE-2"),
    _bad("conv2d-padding-short-inner", lambda: ref.conv2d(X, W, padding=((1, 2), (3,))), "padding", "SIZE-2"),
    _bad("conv2d-padding-three-pairs", lambda: ref.conv2d(X, W, padding=((1, 2), (3, 4), (5, 6))),
         "padding", "SIZE-2"),
    _bad("conv2d-padding-float", lambda: ref.conv2d(X, W, padding=1.0), "padding", "SIZE-2"),
    _bad("conv2d-padding-bool", lambda: ref.conv2d(X, W, padding=True), "padding", "SIZE-2"),
    _bad("conv2d-padding-none", lambda: ref.conv2d(X, W, padding=None), "padding", "SIZE-2"),
    _bad("conv2d-kernel-taller-than-input", lambda: ref.conv2d(Z((2, 3, 2, 5)), W), "x.shape[2]", "SIZE-4"),
    _bad("conv2d-kernel-wider-than-input", lambda: ref.conv2d(Z((2, 3, 5, 2)), W), "x.shape[3]", "SIZE-4"),
    _bad("conv2d-dilated-kernel-too-large", lambda: ref.conv2d(X, W, dilation=4, padding=1), "x.shape[2]",
         "SIZE-4"),
    _bad("conv2d-valid-kernel-too-large", lambda: ref.conv2d(Z((2, 3, 2, 2)), W, padding="valid"),
         "x.shape[2]", "SIZE-4"),
    _bad("conv2d-bias-2d", lambda: ref.conv2d(X, W, Z((4, 1))), "b", "CONV-4"),
    _bad("conv2d-bias-scalar", lambda: ref.conv2d(X, W, np.float64(1.0)), "b", "CONV-4"),
    _bad("conv2d-bias-broadcast", lambda: ref.conv2d(X, W, Z((1,))), "b", "CONV-4"),
    _bad("conv2d-bias-short", lambda: ref.conv2d(X, W, Z((3,))), "b", "CONV-4"),
    _bad("conv2d-bias-M11", lambda: ref.conv2d(X, W, Z((4, 1, 1))), "b", "CONV-4"),
    # --- conv2d_backward: CONV-7
    _bad("conv2d-backward-dy-shape", lambda: ref.conv2d_backward(Z((2, 4, 3, 4)), X, W), "dy", "CONV-7"),
    _bad("conv2d-backward-dy-channels", lambda: ref.conv2d_backward(Z((2, 3, 3, 3)), X, W), "dy", "CONV-7"),
    _bad("conv2d-backward-dy-3d", lambda: ref.conv2d_backward(Z((4, 3, 3)), X, W), "dy", "CONV-7"),
    _bad("conv2d-backward-groups", lambda: ref.conv2d_backward(Z((2, 4, 3, 3)), X, W, groups=2),
         "groups", "CONV-3"),
    # --- conv_transpose2d: CONVT-2, CONVT-5, SIZE-8
    _bad("convT-x-3d", lambda: ref.conv_transpose2d(Z((4, 3, 3)), WT), "x", "CONVT-2"),
    _bad("convT-w-3d", lambda: ref.conv_transpose2d(XT, Z((4, 2, 3))), "w", "CONVT-2"),
    _bad("convT-channel-mismatch", lambda: ref.conv_transpose2d(XT, Z((3, 2, 3, 3))), "w", "CONVT-2"),
    _bad("convT-groups-not-dividing-C", lambda: ref.conv_transpose2d(XT, WT, groups=3), "groups", "CONVT-2"),
    _bad("convT-groups-0", lambda: ref.conv_transpose2d(XT, WT, groups=0), "groups", "CONVT-2"),
    _bad("convT-groups-float", lambda: ref.conv_transpose2d(XT, WT, groups=2.0), "groups", "CONVT-2"),
    _bad("convT-bias-short", lambda: ref.conv_transpose2d(XT, WT, Z((3,))), "b", "CONVT-2"),
    _bad("convT-bias-2d", lambda: ref.conv_transpose2d(XT, WT, Z((2, 1))), "b", "CONVT-2"),
    _bad("convT-same", lambda: ref.conv_transpose2d(XT, WT, padding="same"), "padding", "CONVT-5"),
    _bad("convT-same-lower", lambda: ref.conv_transpose2d(XT, WT, padding="same_lower"),
         "padding", "CONVT-5"),
    _bad("convT-padding-other-string", lambda: ref.conv_transpose2d(XT, WT, padding="full"), "padding",
         "SIZE-2"),
    _bad("convT-padding-negative", lambda: ref.conv_transpose2d(XT, WT, padding=-1), "padding", "SIZE-2"),
    _bad("convT-padding-mixed", lambda: ref.conv_transpose2d(XT, WT, padding=((1, 1), 1)),
         "padding", "SIZE-2"),
    _bad("convT-output-padding-equal-stride",
         lambda: ref.conv_transpose2d(XT, WT, stride=2, output_padding=2),
         "output_padding", "SIZE-8"),
    _bad("convT-output-padding-no-stride", lambda: ref.conv_transpose2d(XT, WT, output_padding=1),
         "output_padding", "SIZE-8"),
    _bad("convT-output-padding-per-axis",
         lambda: ref.conv_transpose2d(XT, WT, stride=(2, 1), output_padding=(1, 1)),
         "output_padding", "SIZE-8"),
    _bad("convT-output-padding-negative", lambda: ref.conv_transpose2d(XT, WT, stride=2, output_padding=-1),
         "output_padding", "SIZE-8"),
    _bad("convT-output-padding-float", lambda: ref.conv_transpose2d(XT, WT, stride=2, output_padding=1.0),
         "output_padding", "SIZE-8"),
    _bad("convT-output-smaller-than-1",
         lambda: ref.conv_transpose2d(Z((1, 1, 1, 1)), Z((1, 1, 1, 1)), padding=1),
         "x.shape[2]", "SIZE-8"),
    _bad("convT-stride-0", lambda: ref.conv_transpose2d(XT, WT, stride=0), "stride", "SIZE-1"),
    _bad("convT-dilation-bool", lambda: ref.conv_transpose2d(XT, WT, dilation=False), "dilation", "SIZE-1"),
    # --- pooling: POOL-1, SIZE-*, POOL-AVG-4, POOL-MAX-4, POOL-AVG-5
    _bad("max-x-3d", lambda: ref.max_pool2d(Z((3, 5, 5)), 2), "x", "POOL-1"),
    _bad("avg-x-3d", lambda: ref.avg_pool2d(Z((3, 5, 5)), 2), "x", "POOL-1"),
    _bad("max-kernel-0", lambda: ref.max_pool2d(X, 0), "kernel_size", "SIZE-1"),
    _bad("avg-kernel-short", lambda: ref.avg_pool2d(X, (2,)), "kernel_size", "SIZE-1"),
    _bad("avg-kernel-float", lambda: ref.avg_pool2d(X, 2.0), "kernel_size", "SIZE-1"),
    _bad("max-stride-0", lambda: ref.max_pool2d(X, 2, stride=0), "stride", "SIZE-1"),
    _bad("max-dilation-0", lambda: ref.max_pool2d(X, 2, dilation=0), "dilation", "SIZE-1"),
    _bad("max-padding-negative", lambda: ref.max_pool2d(X, 2, padding=-1), "padding", "SIZE-2"),
    _bad("avg-padding-string", lambda: ref.avg_pool2d(X, 2, padding="full"), "padding", "SIZE-2"),
    _bad("max-window-too-large", lambda: ref.max_pool2d(Z((1, 1, 2, 2)), 3), "x.shape[2]", "SIZE-4"),
    _bad("avg-window-too-large", lambda: ref.avg_pool2d(Z((1, 1, 4, 2)), 3), "x.shape[3]", "SIZE-4"),
    _bad("avg-divisor-override-0", lambda: ref.avg_pool2d(X, 2, divisor_override=0), "divisor_override",
         "POOL-AVG-4"),
    _bad("avg-divisor-override-negative", lambda: ref.avg_pool2d(X, 2, divisor_override=-2),
         "divisor_override",
         "POOL-AVG-4"),
    _bad("avg-divisor-override-bool", lambda: ref.avg_pool2d(X, 2, divisor_override=True), "divisor_override",
         "POOL-AVG-4"),
    _bad("avg-divisor-override-float", lambda: ref.avg_pool2d(X, 2, divisor_override=2.0), "divisor_override",
         "POOL-AVG-4"),
    _bad("avg-backward-divisor-override-0",
         lambda: ref.avg_pool2d_backward(Z((2, 3, 2, 2)), X, 2, divisor_override=0), "divisor_override",
         "POOL-AVG-4"),
    _bad("max-backward-dy-shape", lambda: ref.max_pool2d_backward(Z((2, 3, 3, 3)), X, 2), "dy", "POOL-MAX-4"),
    _bad("max-backward-dy-3d", lambda: ref.max_pool2d_backward(Z((3, 2, 2)), X, 2), "dy", "POOL-MAX-4"),
    _bad("avg-backward-dy-shape", lambda: ref.avg_pool2d_backward(Z((2, 3, 2, 3)), X, 2), "dy", "POOL-AVG-5"),
    _bad("avg-backward-dy-ceil-shape",
         lambda: ref.avg_pool2d_backward(Z((2, 3, 2, 2)), X, 2, ceil_mode=True), "dy", "POOL-AVG-5"),
    # --- im2col / col2im
    _bad("im2col-x-3d", lambda: ref.im2col(Z((3, 5, 5)), 2), "x", "IM2COL-1"),
    _bad("im2col-kernel-0", lambda: ref.im2col(X, (2, 0)), "kernel_size", "SIZE-1"),
    _bad("im2col-window-too-large", lambda: ref.im2col(X, 6), "x.shape[2]", "SIZE-4"),
    _bad("col2im-x-shape-3", lambda: ref.col2im(Z((50, 12)), (2, 3, 5), 2), "x_shape", "IM2COL-2"),
    _bad("col2im-x-shape-array", lambda: ref.col2im(Z((32, 12)), np.array([2, 3, 5, 5]), 2), "x_shape",
         "IM2COL-2"),
    _bad("col2im-x-shape-float", lambda: ref.col2im(Z((32, 12)), (2, 3, 5.0, 5), 2), "x_shape", "IM2COL-2"),
    _bad("col2im-x-shape-negative", lambda: ref.col2im(Z((32, 12)), (-2, 3, 5, 5), 2), "x_shape", "IM2COL-2"),
    _bad("col2im-col-shape", lambda: ref.col2im(Z((32, 11)), (2, 3, 5, 5), 2), "col", "IM2COL-2"),
    _bad("col2im-col-1d", lambda: ref.col2im(Z((384,)), (2, 3, 5, 5), 2), "col", "IM2COL-2"),
    _bad("col2im-col-transposed", lambda: ref.col2im(Z((27, 32)), (2, 3, 5, 5), 3), "col", "IM2COL-2"),
    # --- the one-axis helpers
    _bad("size-float", lambda: ref.conv_output_size(2.0, 1), "size", "SIZE-1"),
    _bad("size-bool", lambda: ref.conv_output_size(True, 1), "size", "SIZE-1"),
    _bad("size-0", lambda: ref.conv_output_size(0, 1), "size", "SIZE-1"),
    _bad("size-kernel-0", lambda: ref.conv_output_size(5, 0), "kernel_size", "SIZE-1"),
    _bad("size-stride-float", lambda: ref.conv_output_size(5, 2, stride=1.0), "stride", "SIZE-1"),
    _bad("size-padding-negative", lambda: ref.conv_output_size(5, 2, padding=-1), "padding", "SIZE-2"),
    _bad("size-padding-triple", lambda: ref.conv_output_size(5, 2, padding=(1, 2, 3)), "padding", "SIZE-2"),
    _bad("size-padding-two-axes", lambda: ref.conv_output_size(5, 2, padding=((1, 2), (3, 4))), "padding",
         "SIZE-2"),
    _bad("size-padding-upper", lambda: ref.conv_output_size(5, 2, padding="SAME"), "padding", "SIZE-2"),
    _bad("size-kernel-exceeds", lambda: ref.conv_output_size(2, 3, stride=2), "size", "SIZE-4"),
    _bad("transpose-size-output-padding", lambda: ref.conv_transpose_output_size(3, 3, output_padding=1),
         "output_padding", "SIZE-8"),
    _bad("transpose-size-output-padding-negative",
         lambda: ref.conv_transpose_output_size(3, 3, stride=2, output_padding=-1),
         "output_padding", "SIZE-8"),
    _bad("transpose-size-below-1", lambda: ref.conv_transpose_output_size(1, 1, padding=1), "size", "SIZE-8"),
    _bad("transpose-size-same", lambda: ref.conv_transpose_output_size(3, 3, padding="same"),
         "padding", "SIZE-2"),
    _bad("same-padding-float", lambda: ref.same_padding(5.0, 3), "size", "SIZE-1"),
    _bad("same-padding-kernel-0", lambda: ref.same_padding(5, 0), "kernel_size", "SIZE-1"),
    _bad("same-padding-stride-bool", lambda: ref.same_padding(5, 3, stride=True), "stride", "SIZE-1"),
    # --- cost: validated as conv2d
    _bad("cost-x-shape-3", lambda: ref.conv2d_cost((3, 5, 5), (4, 3, 3, 3)), "x_shape", "CONV-2"),
    _bad("cost-w-shape-float", lambda: ref.conv2d_cost((2, 3, 5, 5), (4, 3, 3.0, 3)), "w_shape", "CONV-2"),
    _bad("cost-groups", lambda: ref.conv2d_cost((2, 3, 5, 5), (4, 1, 3, 3), groups=2), "groups", "CONV-3"),
    _bad("cost-kernel-too-large", lambda: ref.conv2d_cost((2, 3, 2, 5), (4, 3, 3, 3)),
         "x.shape[2]", "SIZE-4"),
]


@pytest.mark.clause("SPEC-3", "CONV-2", "CONV-3", "CONV-4", "CONV-5", "CONV-6", "CONV-7", "SIZE-1",
                    "SIZE-2", "SIZE-4", "SIZE-8", "CONVT-2", "CONVT-5", "POOL-1", "POOL-MAX-4",
                    "POOL-AVG-4", "POOL-AVG-5", "IM2COL-1", "IM2COL-2", "COST-1")
@pytest.mark.parametrize("call, param, clause", BAD)
def test_a_bad_input_raises_a_spec_error_naming_the_parameter_and_the_clause(call, param, clause):
    with pytest.raises(SpecError) as err:
        call()
    e = err.value
    assert isinstance(e, ValueError)
    assert e.clause == clause, str(e)
    assert e.param.startswith(param), str(e)
    message = str(e)
    assert message.startswith(param) and message.endswith(f"({clause})"), message


# --- SPEC-5: dtypes ------------------------------------------------------------------------------------


BAD_DTYPES = [np.bool_, np.complex128, object, np.str_, np.bytes_, np.dtype([("a", "f8")])]


def _calls_with(name, bad):
    """Each op called with argument ``name`` replaced by ``bad`` and everything else valid."""
    x, w, dy = np.ones((2, 3, 5, 5)), np.ones((4, 3, 3, 3)), np.ones((2, 4, 3, 3))
    pick = lambda key, good: bad if key == name else good  # noqa: E731
    return {
        "conv2d": lambda: ref.conv2d(pick("x", x), pick("w", w), pick("b", np.ones(4))),
        "conv2d_backward": lambda: ref.conv2d_backward(pick("dy", dy), pick("x", x), pick("w", w)),
        "conv_transpose2d": lambda: ref.conv_transpose2d(pick("x", np.ones((2, 4, 3, 3))), pick("w", w),
                                                         pick("b", np.ones(3))),
        "max_pool2d": lambda: ref.max_pool2d(pick("x", x), 2),
        "max_pool2d_backward": lambda: ref.max_pool2d_backward(pick("dy", np.ones((2, 3, 2, 2))),
                                                               pick("x", x), 2),
        "avg_pool2d": lambda: ref.avg_pool2d(pick("x", x), 2),
        "avg_pool2d_backward": lambda: ref.avg_pool2d_backward(pick("dy", np.ones((2, 3, 2, 2))),
                                                               pick("x", x), 2),
        "im2col": lambda: ref.im2col(pick("x", x), 2),
        "col2im": lambda: ref.col2im(pick("col", np.ones((32, 12))), (2, 3, 5, 5), 2),
    }


ARRAY_ARGUMENTS = [("conv2d", "x"), ("conv2d", "w"), ("conv2d", "b"), ("conv2d_backward", "dy"),
                   ("conv2d_backward", "x"), ("conv2d_backward", "w"), ("conv_transpose2d", "x"),
                   ("conv_transpose2d", "w"), ("conv_transpose2d", "b"), ("max_pool2d", "x"),
                   ("max_pool2d_backward", "dy"), ("avg_pool2d", "x"), ("avg_pool2d_backward", "dy"),
                   ("avg_pool2d_backward", "x"), ("im2col", "x"), ("col2im", "col")]
DTYPE_CASES = [pytest.param(op, name, dt, id=f"{op}-{name}-{np.dtype(dt).name}")
               for op, name in ARRAY_ARGUMENTS for dt in BAD_DTYPES]


@pytest.mark.clause("SPEC-5", "SPEC-3")
@pytest.mark.parametrize("op, name, dtype", DTYPE_CASES)
def test_a_non_numeric_dtype_raises_spec_5_naming_the_argument(op, name, dtype):
    good = {"x": (2, 3, 5, 5), "w": (4, 3, 3, 3), "b": (4,), "dy": (2, 4, 3, 3), "col": (32, 12)}[name]
    if op == "conv_transpose2d":
        good = {"x": (2, 4, 3, 3), "w": (4, 3, 3, 3), "b": (3,)}[name]
    if op.endswith("pool2d_backward") and name == "dy":
        good = (2, 3, 2, 2)
    bad = np.zeros(good, dtype=dtype)
    with pytest.raises(SpecError) as err:
        _calls_with(name, bad)[op]()
    assert err.value.clause == "SPEC-5" and err.value.param == name, str(err.value)


@pytest.mark.clause("SPEC-5")
def test_python_lists_of_bools_raise_and_lists_of_numbers_are_accepted():
    with pytest.raises(SpecError, match="SPEC-5"):
        ref.max_pool2d([[[[True, False]]]], 1)
    np.testing.assert_array_equal(ref.max_pool2d([[[[1, 2]]]], (1, 2)), [[[[2.0]]]])
    assert ref.avg_pool2d(np.ones((1, 1, 2, 2), dtype=np.longdouble), 2).dtype == np.float64


# --- SPEC-7: zero-length axes -----------------------------------------------------------------------


ZERO = [
    pytest.param(lambda: ref.conv2d(Z((2, 0, 5, 5)), Z((4, 0, 3, 3))), "x", id="conv2d-C0"),
    pytest.param(lambda: ref.conv2d(Z((2, 3, 0, 5)), W), "x", id="conv2d-H0"),
    pytest.param(lambda: ref.conv2d(Z((2, 3, 5, 0)), W), "x", id="conv2d-W0"),
    pytest.param(lambda: ref.conv2d(X, Z((0, 3, 3, 3))), "w", id="conv2d-M0"),
    pytest.param(lambda: ref.conv2d(X, Z((4, 3, 0, 3))), "w", id="conv2d-KH0"),
    pytest.param(lambda: ref.conv2d(X, Z((4, 3, 3, 0))), "w", id="conv2d-KW0"),
    pytest.param(lambda: ref.conv_transpose2d(Z((2, 0, 3, 3)), Z((0, 2, 3, 3))), "x", id="convT-C0"),
    pytest.param(lambda: ref.conv_transpose2d(Z((2, 4, 0, 3)), WT), "x", id="convT-H0"),
    pytest.param(lambda: ref.conv_transpose2d(Z((1, 1, 0, 1)), np.ones((1, 1, 2, 1)), dilation=(3, 1),
                                              output_padding=(2, 0)), "x", id="convT-H0-output-padding"),
    pytest.param(lambda: ref.conv_transpose2d(Z((2, 4, 3, 0)), WT), "x", id="convT-W0"),
    pytest.param(lambda: ref.conv_transpose2d(XT, Z((4, 0, 3, 3))), "w", id="convT-M0"),
    pytest.param(lambda: ref.conv_transpose2d(XT, Z((4, 2, 0, 3))), "w", id="convT-KH0"),
    pytest.param(lambda: ref.max_pool2d(Z((2, 0, 5, 5)), 2), "x", id="max-C0"),
    pytest.param(lambda: ref.max_pool2d(Z((2, 3, 0, 5)), 2), "x", id="max-H0"),
    pytest.param(lambda: ref.avg_pool2d(Z((2, 3, 5, 0)), 2), "x", id="avg-W0"),
    pytest.param(lambda: ref.im2col(Z((2, 0, 5, 5)), 2), "x", id="im2col-C0"),
    pytest.param(lambda: ref.col2im(Z((0, 0)), (2, 0, 5, 5), 2), "x_shape", id="col2im-C0"),
    pytest.param(lambda: ref.col2im(Z((0, 12)), (2, 3, 0, 5), 2), "x_shape", id="col2im-H0"),
]


@pytest.mark.clause("SPEC-7")
@pytest.mark.parametrize("call, name", ZERO)
def test_a_zero_length_channel_spatial_or_kernel_axis_raises_spec_7(call, name):
    with pytest.raises(SpecError) as err:
        call()
    assert err.value.clause == "SPEC-7" and err.value.param.startswith(name), str(err.value)


@pytest.mark.clause("COST-1", "SPEC-7", "SPEC-3")
@pytest.mark.parametrize("x_shape, w_shape, params", [
    ((2, 3, 5, 5), (4, 2, 3, 3), {}),
    ((2, 3, 5, 5), (4, 1, 3, 3), {"groups": 2}),
    ((2, 4, 5, 5), (3, 2, 3, 3), {"groups": 2}),
    ((2, 3, 5, 5), (4, 3, 3, 3), {"stride": 0}),
    ((2, 3, 5, 5), (4, 3, 3, 3), {"padding": -1}),
    ((2, 3, 5, 5), (4, 3, 3, 3), {"padding": "SAME"}),
    ((2, 3, 2, 5), (4, 3, 3, 3), {}),
    ((2, 3, 5, 5), (4, 3, 3, 3), {"dilation": (1, 3)}),
    ((2, 3, 0, 5), (4, 3, 3, 3), {}),
    ((2, 0, 5, 5), (4, 0, 3, 3), {}),
    ((2, 0, 5, 5), (4, 1, 3, 3), {}),
], ids=lambda v: str(v).replace(" ", ""))
def test_conv2d_cost_rejects_exactly_what_conv2d_rejects(x_shape, w_shape, params):
    with pytest.raises(SpecError) as conv_err:
        ref.conv2d(np.zeros(x_shape), np.zeros(w_shape), **params)
    with pytest.raises(SpecError) as cost_err:
        ref.conv2d_cost(x_shape, w_shape, **params)
    assert cost_err.value.clause == conv_err.value.clause, (str(conv_err.value), str(cost_err.value))


# --- SPEC-3: message format --------------------------------------------------------------------------


@pytest.mark.clause("SPEC-3")
def test_error_messages_never_show_array_contents_and_cut_long_values():
    x = np.full((3, 5, 5), 7.25, dtype=np.float32)
    with pytest.raises(SpecError) as err:
        ref.conv2d(x, W)
    assert "(3, 5, 5)" in str(err.value) and "7.25" not in str(err.value)
    with pytest.raises(SpecError) as err:
        ref.conv2d(X, W, padding="p" * 200)
    shown = re.match(r"padding=(.*?): ", str(err.value)).group(1)
    assert len(shown) <= 80 and shown.endswith("...")
    assert err.value.param == "padding" and err.value.value == "p" * 200 and err.value.clause == "SIZE-2"


@pytest.mark.clause("SPEC-3")
def test_error_messages_show_an_array_by_shape_and_dtype():
    with pytest.raises(SpecError) as err:
        ref.conv2d(np.zeros((3, 5, 5), dtype=np.float32), W)
    assert str(err.value).startswith("x=<array shape=(3, 5, 5) dtype=float32>: "), str(err.value)


# --- SPEC-4: inputs are never mutated ----------------------------------------------------------------


def _snapshot(arrays):
    return {k: (v.copy(), v.dtype, v.shape, v.strides, v.flags.writeable, v.flags.c_contiguous)
            for k, v in arrays.items()}


def _unchanged(arrays, snap):
    for k, v in arrays.items():
        copy, dtype, shape, strides, writeable, contiguous = snap[k]
        assert (v.dtype, v.shape, v.strides, v.flags.writeable, v.flags.c_contiguous) == \
            (dtype, shape, strides, writeable, contiguous), k
        assert v.tobytes() == copy.tobytes(), f"{k} was modified"


@pytest.mark.clause("SPEC-4")
@pytest.mark.parametrize("op", sorted(CASES) + ["col2im"])
@given(data=st.data())
def test_no_op_modifies_its_inputs_and_every_op_accepts_read_only_inputs(op, data):
    case = data.draw((im2col_cases() if op == "col2im" else CASES[op]()), label="case")
    if data.draw(st.booleans(), label="special values"):
        case = special_values(case, data.draw)
    if op == "col2im":
        x_shape = case.arrays["x"].shape
        arrays = {"col": case.call(ref.im2col) + 1.0}
        call = lambda: ref.col2im(arrays["col"], x_shape, **case.params)  # noqa: E731
    else:
        arrays = case.arrays
        call = lambda: case.call(getattr(ref, op))  # noqa: E731
    note(f"{op} {[a.shape for a in arrays.values()]} {case.params}")
    snap = _snapshot(arrays)
    with np.errstate(all="ignore"):
        first = call()
    _unchanged(arrays, snap)
    for v in arrays.values():
        v.flags.writeable = False
    snap = _snapshot(arrays)
    with np.errstate(all="ignore"):
        second = call()
    _unchanged(arrays, snap)
    firsts = first if isinstance(first, tuple) else (first,)
    seconds = second if isinstance(second, tuple) else (second,)
    for a, b in zip(firsts, seconds, strict=True):
        np.testing.assert_array_equal(a, b)
        assert not any(np.may_share_memory(a, v) for v in arrays.values())


def _specials(shape, seed):
    """Normal data with about a third of the entries NaN, +inf or -inf, at seeded positions."""
    rng = np.random.default_rng(seed)
    v = rng.standard_normal(shape)
    mask = rng.random(shape) < 0.35
    v[mask] = rng.choice([np.nan, np.inf, -np.inf], size=int(mask.sum()))
    return v


SPECIAL_CALLS = {
    "conv2d": lambda: ref.conv2d(_specials((2, 3, 5, 5), 0), _specials((4, 3, 3, 3), 1), _specials((4,), 2),
                                 padding=1),
    "conv2d-depthwise": lambda: ref.conv2d(_specials((2, 3, 5, 5), 3), _specials((6, 1, 3, 3), 4), padding=1,
                                           groups=3),
    "conv2d_backward": lambda: ref.conv2d_backward(_specials((2, 4, 5, 5), 5), _specials((2, 3, 5, 5), 6),
                                                   _specials((4, 3, 3, 3), 7), padding=1),
    "conv_transpose2d": lambda: ref.conv_transpose2d(_specials((2, 4, 3, 3), 8), _specials((4, 3, 3, 3), 9),
                                                     _specials((3,), 10), stride=2, padding=1),
    "max_pool2d": lambda: ref.max_pool2d(_specials((2, 3, 5, 5), 11), 3, stride=1, padding=1,
                                         return_indices=True),
    "max_pool2d_backward": lambda: ref.max_pool2d_backward(
        _specials((2, 3, 5, 5), 12), _specials((2, 3, 5, 5), 13), 3, stride=1, padding=1),
    "avg_pool2d": lambda: ref.avg_pool2d(_specials((2, 3, 5, 5), 14), 3, stride=1, padding=2,
                                         count_include_pad=False),
    "avg_pool2d_backward": lambda: ref.avg_pool2d_backward(
        _specials((2, 3, 7, 7), 15), _specials((2, 3, 5, 5), 16), 3, stride=1, padding=2,
        count_include_pad=False),
    "im2col": lambda: ref.im2col(_specials((2, 3, 5, 5), 17), 3, padding=1),
    "col2im": lambda: ref.col2im(_specials((50, 27), 18), (2, 3, 5, 5), 3, padding=1),
}


@pytest.mark.clause("SPEC-6")
@pytest.mark.parametrize("op", sorted(SPECIAL_CALLS))
def test_non_finite_inputs_neither_raise_nor_warn(op):
    """A floating-point warning that the caller's filter turns into an error aborts the computation."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SPECIAL_CALLS[op]()


@pytest.mark.clause("SPEC-4")
def test_an_output_never_aliases_an_input():
    # the cheapest possible ops: a 1x1 window over a float64 input, where a view would be tempting
    x = np.arange(2 * 3 * 4 * 4, dtype=float).reshape(2, 3, 4, 4)
    before = x.copy()
    for out in (ref.max_pool2d(x, 1), ref.avg_pool2d(x, 1), ref.im2col(x, 1),
                ref.conv2d(x, np.eye(3).reshape(3, 3, 1, 1)),
                ref.conv_transpose2d(x, np.eye(3).reshape(3, 3, 1, 1)),
                ref.col2im(ref.im2col(x, 1), x.shape, 1)):
        assert not np.shares_memory(out, x)
    np.testing.assert_array_equal(x, before)


# --- fuzz: arbitrary arguments give a result or a SpecError, nothing else --------------------------


JUNK = st.one_of(
    st.integers(-2, 4), st.booleans(), st.none(), st.floats(-2, 4), st.just(float("nan")),
    st.sampled_from(["same", "valid", "same_lower", "SAME", "full", ""]),
    st.builds(np.int64, st.integers(-1, 3)), st.builds(np.array, st.integers(0, 2)),
)
PARAM = st.one_of(
    st.integers(1, 3), st.integers(0, 2), JUNK,
    st.tuples(st.integers(0, 3), st.integers(0, 3)),
    st.lists(JUNK, max_size=3), st.lists(JUNK, max_size=3).map(tuple),
    st.tuples(st.tuples(JUNK, JUNK), st.tuples(JUNK, JUNK)),
    st.tuples(st.tuples(st.integers(0, 2), st.integers(0, 2)),
              st.tuples(st.integers(0, 2), st.integers(0, 2))),
    st.tuples(JUNK, st.tuples(JUNK, JUNK)),
)
DTYPES = [np.float64, np.float64, np.float32, np.float16, np.int8, np.uint8, np.int64, np.bool_,
          np.complex128, object, np.str_]


@st.composite
def any_array(draw):
    ndim = draw(st.sampled_from([4, 4, 4, 4, 0, 1, 2, 3, 5]))
    shape = tuple(draw(st.integers(0, 4)) for _ in range(ndim))
    dtype = draw(st.sampled_from(DTYPES))
    values = (np.arange(int(np.prod(shape))) % 3).reshape(shape)
    arr = values.astype(dtype) if dtype is not np.str_ else values.astype(str)
    return arr.tolist() if draw(st.integers(0, 9)) == 0 else arr


@st.composite
def mutated_array(draw, arr):
    """``arr`` with one thing wrong (or not): dtype, an axis length, the number of axes, a view."""
    arr = np.asarray(arr)  # an earlier mutation may have made it a list
    how = draw(st.sampled_from(["dtype", "axis", "drop-axis", "add-axis", "other", "list", "view",
                                "special"]))
    if how == "dtype":
        dtype = draw(st.sampled_from(DTYPES))
        with np.errstate(invalid="ignore"):  # NaN cast to an integer dtype: any value will do
            return arr.astype(dtype) if dtype is not np.str_ else arr.astype(str)
    if how == "axis" and arr.ndim:
        shape = list(arr.shape)
        shape[draw(st.integers(0, arr.ndim - 1))] = draw(st.integers(0, 5))
        return np.ones(shape)
    if how == "drop-axis" and arr.ndim:
        return arr[..., 0] if arr.shape[-1] else np.ones(arr.shape[:-1])
    if how == "add-axis":
        return arr[None]
    if how == "list":
        return arr.tolist()
    if how == "view":  # read-only, non-contiguous, negative strides: still a valid input
        v = arr[..., ::-1] if arr.ndim else arr
        v = np.asfortranarray(v)
        v.flags.writeable = False
        return v
    if how == "special" and arr.size:
        out = arr.astype(float)
        out.flat[draw(st.integers(0, out.size - 1))] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
        return out
    return draw(any_array())


@st.composite
def any_shape(draw, base=(2, 3, 4, 4)):
    if not isinstance(base, (tuple, list)) or len(base) < 4:  # an earlier mutation broke it already
        base = (2, 3, 4, 4)
    how = draw(st.sampled_from(["same", "same", "axis", "junk", "length"]))
    if how == "same":
        return tuple(base)
    if how == "axis":
        shape = list(base)
        shape[draw(st.integers(0, 3))] = draw(st.one_of(st.integers(-1, 5), JUNK))
        return tuple(shape)
    if how == "length":
        return tuple(base) + (1,) if draw(st.booleans()) else tuple(base[:3])
    return draw(JUNK)


#: op -> the keyword parameters a fuzz case may replace
FUZZ_PARAMS = {
    "conv2d": ("stride", "padding", "dilation", "groups"),
    "conv2d_backward": ("stride", "padding", "dilation", "groups"),
    "conv_transpose2d": ("stride", "padding", "output_padding", "dilation", "groups"),
    "max_pool2d": ("kernel_size", "stride", "padding", "dilation"),
    "max_pool2d_backward": ("kernel_size", "stride", "padding", "dilation"),
    "avg_pool2d": ("kernel_size", "stride", "padding", "divisor_override"),
    "avg_pool2d_backward": ("kernel_size", "stride", "padding", "divisor_override"),
    "im2col": ("kernel_size", "stride", "padding", "dilation"),
    "col2im": ("kernel_size", "stride", "padding", "dilation"),
    "conv2d_cost": ("stride", "padding", "dilation", "groups"),
}


@st.composite
def fuzz_calls(draw, op):
    """A valid case of ``op`` from the shared strategies with up to three arguments replaced."""
    if op in ("col2im", "conv2d_cost"):
        base = draw(im2col_cases() if op == "col2im" else CASES["conv2d"](), label="valid case")
        if op == "col2im":
            arrays = {"col": base.call(ref.im2col)}
            shapes = {"x_shape": base.arrays["x"].shape}
        else:
            arrays = {}
            shapes = {"x_shape": base.arrays["x"].shape, "w_shape": base.arrays["w"].shape}
    else:
        base = draw(CASES[op](), label="valid case")
        arrays, shapes = dict(base.arrays), {}
    params = {k: v for k, v in base.params.items() if k in FUZZ_PARAMS[op] or k not in ("return_indices",)}
    names = sorted(arrays) + sorted(shapes) + list(FUZZ_PARAMS[op])
    if op in ("conv2d", "conv_transpose2d") and "b" not in arrays:
        names.append("b")
    for _ in range(draw(st.integers(0, 3), label="mutations")):
        name = draw(st.sampled_from(names), label="replace")
        if name in arrays:
            arrays[name] = draw(mutated_array(arrays[name]), label=name)
        elif name in shapes:
            shapes[name] = draw(any_shape(shapes[name]), label=name)
        elif name == "b":
            arrays["b"] = draw(st.one_of(any_array(), st.builds(np.ones, st.integers(0, 4))), label="b")
        else:
            params[name] = draw(PARAM, label=name)
    positional = list(arrays.values()) + list(shapes.values())
    if op == "conv2d" and "b" in arrays:  # keep conv2d's (x, w, b) order
        positional = [arrays["x"], arrays["w"], arrays["b"]]
    if "kernel_size" in params:
        positional.append(params.pop("kernel_size"))
    return positional, params


HELPERS = {
    "conv_output_size": ("stride", "padding", "dilation"),
    "conv_transpose_output_size": ("stride", "padding", "output_padding", "dilation"),
    "same_padding": ("stride", "dilation"),
}


@st.composite
def helper_calls(draw, op):
    """A valid one-axis call of ``op`` with up to two arguments replaced."""
    values = {"size": draw(st.integers(1, 9)), "kernel_size": draw(st.integers(1, 4)),
              "stride": draw(st.integers(1, 3)), "dilation": draw(st.integers(1, 2))}
    if "padding" in HELPERS[op]:
        values["padding"] = draw(st.one_of(st.integers(0, 2),
                                           st.tuples(st.integers(0, 2), st.integers(0, 2))))
    if op == "conv_transpose_output_size":
        values["output_padding"] = draw(st.integers(0, max(values["stride"], values["dilation"]) - 1))
    if op == "conv_output_size" and draw(st.booleans()):
        values["padding"] = draw(st.sampled_from(["same", "same_lower", "valid"]))
    for _ in range(draw(st.integers(0, 2), label="mutations")):
        values[draw(st.sampled_from(sorted(values)), label="replace")] = draw(PARAM, label="with")
    flag = {"conv_output_size": "ceil_mode", "same_padding": "lower"}.get(op)
    if flag:
        values[flag] = draw(st.booleans())
    return [values.pop("size"), values.pop("kernel_size")], values


@pytest.mark.clause("SPEC-3")
@pytest.mark.parametrize("op", sorted(FUZZ_PARAMS) + sorted(HELPERS))
@given(data=st.data())
def test_arbitrary_arguments_give_a_result_or_a_spec_error_and_nothing_else(op, data):
    args, kwargs = data.draw(helper_calls(op) if op in HELPERS else fuzz_calls(op), label="call")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            getattr(ref, op)(*args, **kwargs)
            event("result")
        except SpecError as e:
            event(f"SpecError {e.clause}")
