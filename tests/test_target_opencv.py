"""The opencv target: agreement with the reference, its Unsupported cases and its disagreements.

Property tests draw the runner's own cases (conformance.ops.OPS[op].strategy()), round the inputs
to float32, run them through cv2.dnn (OpenCV 5's graph engine) and compare with the reference
computed on the rounded inputs, through conformance.tolerance.compare. A case the adapter refuses
must raise Unsupported.

OpenCV disagrees with the spec on several documented points. The property tests leave exactly
those cases out (:func:`known_disagreement`, each branch naming its xfail test) and a strict xfail
test below pins a minimal case of each, so an OpenCV that fixes one turns its xfail into a failure
and the exclusion gets removed. Nothing is compared with a widened tolerance.

The pins are those of OpenCV 5.1 (the locked version). Disagreements that OpenCV 5.0 had and 5.1
fixed are strict xfails under 5.0 only (:func:`fixed_in_5_1`): under 5.1 the same tests are plain
agreement tests, so a regression fails them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("cv2", reason="opencv (cv2) is not installed")
pytest.importorskip("onnx", reason="onnx is not installed")

import cv2  # noqa: E402
from spec_helpers import Judged, pair  # noqa: E402

import reference as ref  # noqa: E402
from conformance.ops import OPS  # noqa: E402
from conformance.strategies.conv import Case  # noqa: E402
from conformance.targets import Unsupported, load_target  # noqa: E402
from conformance.targets import _onnx_models as om  # noqa: E402
from conformance.targets.opencv_target import CACHE_SIZE, OpenCVTarget, dnn_engine  # noqa: E402
from reference import conv_output_size  # noqa: E402
from reference.output_size import resolve_padding  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DTYPE = "float32"
FLT_MAX = float(np.finfo(np.float32).max)
#: OpenCV before 5.1 (5.0): the disagreements that 5.1 fixed are still there.
BEFORE_5_1 = tuple(int(v) for v in cv2.__version__.split(".")[:2]) < (5, 1)


def fixed_in_5_1(reason: str):
    """A strict xfail under OpenCV 5.0 only: 5.0 disagrees (``reason``), 5.1 agrees with the spec."""
    return pytest.mark.xfail(BEFORE_5_1, strict=True, raises=AssertionError,
                             reason=f"OpenCV 5.0 (fixed in 5.1): {reason}")


def target() -> OpenCVTarget:
    t = OpenCVTarget()
    t.setup(DTYPE, "cpu")
    return t


def _geometry(case: Case) -> tuple[tuple[int, int], tuple, tuple, tuple]:
    """(H, W), kernel, stride, dilation of a conv2d or pooling case."""
    p, x = case.params, case.arrays["x"]
    if case.op == "conv2d":
        k = tuple(case.arrays["w"].shape[2:])
        s = pair(p.get("stride", 1))
    else:
        k = pair(p["kernel_size"])
        s = pair(p["stride"] if p.get("stride") is not None else p["kernel_size"])
    return tuple(x.shape[2:]), k, s, pair(p.get("dilation", 1))


def known_disagreement(case: Case, expected) -> str | None:
    """Why OpenCV is known to get this case wrong, or None. Each reason has an xfail test."""
    if case.op not in ("conv2d", "max_pool2d", "avg_pool2d"):
        return None
    p = case.params
    hw, k, s, d = _geometry(case)
    pads = resolve_padding(p.get("padding", 0), hw, k, s, d)
    if isinstance(p.get("padding"), str) and p["padding"] != "valid":
        if case.op == "max_pool2d" and p.get("return_indices"):
            if any(before for before, _ in pads):
                return "MaxPool with Indices pads nothing at the start (test_max_pool_with_indices_same_*)"
        elif BEFORE_5_1:
            opencv_pads = tuple(((kk - 1) // 2, kk - 1 - (kk - 1) // 2) for kk in k)
            if pads != opencv_pads:
                return "OpenCV 5.0's SAME pads K-1 whatever S, D and LOWER (test_same_padding_*)"
    if case.op == "conv2d":
        if BEFORE_5_1 and k == (1, 1) and any(sum(axis) for axis in pads):
            return "OpenCV 5.0's 1x1 Conv ignores its padding (test_a_1x1_conv2d_pads_with_zeros)"
        return None
    if BEFORE_5_1 and p["ceil_mode"]:
        for n, kk, ss, dd, (before, after) in zip(hw, k, s, d, pads, strict=True):
            span = n + before + after - dd * (kk - 1) - 1
            naive = -(-span // ss) + 1
            spec = conv_output_size(n, kk, stride=ss, padding=(before, after), dilation=dd, ceil_mode=True)
            if naive != spec:
                return "OpenCV 5.0's ceil_mode keeps a window starting in the end padding (test_ceil_mode_*)"
            clipped = (spec - 1) * ss + kk > n + before + after
            if case.op == "avg_pool2d" and p["count_include_pad"] and clipped:
                return "OpenCV 5.0's full-kernel divisor for a clipped ceil_mode window (test_avg_pool_ceil_mode_*)"
    if case.op == "max_pool2d" and (expected[1][1] < 0).any():
        return "window wholly in padding (test_a_max_pool_window_wholly_in_padding_*)"
    return None


def run_property(op: str) -> Judged:
    """Each drawn case judged by the runner in process; a known disagreement (pinned below) is
    counted apart."""
    judged = Judged(target(), DTYPE, known=lambda c: known_disagreement(c, OPS[c.op].measure(c)))
    return judged.run(OPS[op].strategy())


# --- agreement on drawn cases -------------------------------------------------------------------

@pytest.mark.clause("CONV-1", "CONV-2", "CONV-3", "CONV-4", "CONV-5", "CONV-6", "SIZE-3", "SIZE-9",
                    "TOL-1", "TOL-2", "TOL-6")
def test_conv2d_agrees_with_the_reference_outside_the_known_disagreements():
    run_property("conv2d").assert_some_supported_and_rms()


@pytest.mark.clause("CONVT-1", "CONVT-2", "CONVT-3", "SIZE-8", "TOL-1", "TOL-2")
def test_conv_transpose2d_agrees_with_the_reference_on_every_drawn_case():
    judged = run_property("conv_transpose2d")
    judged.assert_some_supported_and_rms()
    assert judged.seen["pass"] == sum(judged.seen.values()), judged.seen


@pytest.mark.clause("POOL-1", "POOL-2", "POOL-MAX-1", "POOL-MAX-3", "POOL-MAX-5", "SIZE-7", "TOL-4")
def test_max_pool2d_values_and_indices_agree_with_the_reference_outside_the_known_disagreements():
    run_property("max_pool2d").assert_some_supported_and_rms()


@pytest.mark.clause("POOL-1", "POOL-2", "POOL-AVG-1", "POOL-AVG-2", "POOL-AVG-3", "SIZE-7", "TOL-1", "TOL-2")
def test_avg_pool2d_agrees_with_the_reference_outside_the_known_disagreements():
    run_property("avg_pool2d").assert_some_supported_and_rms()


# --- mapping details ------------------------------------------------------------------------------

@pytest.mark.clause("POOL-MAX-3")
def test_max_pool_indices_are_mapped_to_per_plane_flat_indices():
    x = np.random.default_rng(3).permutation(2 * 3 * 4 * 5).reshape(2, 3, 4, 5).astype(np.float32)
    y, idx = target().max_pool2d(x, 2, stride=1, return_indices=True)
    ry, ridx = ref.max_pool2d(x, 2, stride=1, return_indices=True)
    assert idx.dtype == np.int64
    np.testing.assert_array_equal(y, ry)
    np.testing.assert_array_equal(idx, ridx)


@pytest.mark.clause("POOL-MAX-3")
def test_the_adapter_reads_the_maxpool_indices_layout_of_the_installed_opencv():
    """The format the adapter maps from: OpenCV 5.1 flattens Indices over the whole tensor, as ONNX
    says; 5.0 flattened them over one image, c·H·W + h·W + w, without ONNX's n·C·H·W term."""
    x = np.zeros((2, 3, 1, 1), np.float32)
    spec = om.max_pool_model(x.shape, DTYPE, 1, return_indices=True)
    net = cv2.dnn.readNetFromONNX(np.frombuffer(spec.build().SerializeToString(), np.uint8), dnn_engine(cv2))
    net.setInput(x, "x")
    _, raw = net.forward(["y", "indices"])
    assert raw.ravel().tolist() == ([0, 1, 2, 0, 1, 2] if BEFORE_5_1 else [0, 1, 2, 3, 4, 5])
    assert target()._indices_per_image() is BEFORE_5_1


def test_maxpool_indices_in_neither_layout_are_an_adapter_error_not_a_guess(monkeypatch):
    t = target()
    monkeypatch.setattr(t, "_run", lambda spec, arrays: [None, np.zeros((2, 2, 1, 1), np.int64)])
    with pytest.raises(RuntimeError, match="neither flattened over the tensor"):
        t._indices_per_image()


def test_nets_are_read_with_opencv_s_own_graph_engine_looked_up_by_name():
    """ENGINE_NEW in OpenCV 5.0, ENGINE_OPENCV in 5.1 (which dropped ENGINE_NEW and renumbered the
    enum); never ENGINE_ORT (ONNX Runtime inside OpenCV) nor a number."""
    engine = dnn_engine(cv2)
    assert engine == (cv2.dnn.ENGINE_NEW if BEFORE_5_1 else cv2.dnn.ENGINE_OPENCV)
    assert engine not in (cv2.dnn.ENGINE_ORT, cv2.dnn.ENGINE_AUTO)


def test_an_opencv_without_the_graph_engine_is_unsupported():
    from types import SimpleNamespace

    old = SimpleNamespace(__version__="4.9.0", dnn=SimpleNamespace(DNN_BACKEND_OPENCV=3))
    with pytest.raises(Unsupported, match="ENGINE_NEW / ENGINE_OPENCV"):
        dnn_engine(old)


@pytest.mark.clause("POOL-MAX-3")
def test_max_pool_ties_go_to_the_first_maximum_in_row_major_order():
    x = np.array([[[[1, 2, 2], [2, 0, 2], [1, 2, 2]]]], dtype=np.float32)
    _, idx = target().max_pool2d(x, 2, stride=1, return_indices=True)
    np.testing.assert_array_equal(idx, ref.max_pool2d(x, 2, stride=1, return_indices=True)[1])


@pytest.mark.clause("SIZE-5")
def test_same_padding_with_stride_one_and_an_odd_total_puts_the_odd_pad_at_the_end():
    x = np.arange(1, 6, dtype=np.float32).reshape(1, 1, 1, 5)
    w = np.ones((1, 1, 1, 2), dtype=np.float32)
    np.testing.assert_array_equal(target().conv2d(x, w, padding="same"), ref.conv2d(x, w, padding="same"))


@pytest.mark.clause("TOL-6")
def test_results_come_back_as_float32():
    x = np.ones((1, 1, 3, 3), dtype=np.float32)
    t = target()
    assert t.conv2d(x, np.ones((1, 1, 2, 2), np.float32)).dtype == np.float32
    assert t.avg_pool2d(x, 2).dtype == np.float32


def test_a_cached_net_gives_fresh_results_for_new_inputs():
    t = target()
    x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    first = t.max_pool2d(x, 2)
    second = t.max_pool2d(-x, 2)
    assert len(t._nets) == 1
    np.testing.assert_array_equal(first, ref.max_pool2d(x, 2))
    np.testing.assert_array_equal(second, ref.max_pool2d(-x, 2))


def test_the_net_cache_is_bounded():
    t = target()
    for k in range(1, CACHE_SIZE + 10):
        t.avg_pool2d(np.ones((1, 1, 1, k), dtype=np.float32), 1)
    assert len(t._nets) == CACHE_SIZE


def test_the_target_is_the_builtin_opencv_target():
    t = load_target("opencv")
    assert isinstance(t, OpenCVTarget)
    assert (t.name, t.requires, t.devices) == ("opencv", ("cv2", "onnx"), ("cpu",))
    assert t.version() == cv2.__version__
    assert not t.implements("max_pool2d_backward") and not t.implements("im2col")


@pytest.mark.clause("AUG-1", "AUG-2", "AUG-18", "AUG-19")
@pytest.mark.parametrize("dtype", ["float32", "uint8"])
def test_brightness_and_channel_shift_keep_every_plane_shape(dtype):
    """OpenCV's binding reads a tiny plane as a Scalar (5.1: a 1x1 plane times a float gives a 4x1
    result; 5.0 refuses a 4x1 plane): every plane shape comes back as it went, with the values that
    the same pixels get inside a larger plane."""
    t = target()
    for h in range(1, 6):
        for w in range(1, 6):
            x = (np.arange(2 * 3 * h * w).reshape(2, 3, h, w) * 7 % 256).astype(dtype)
            big = np.tile(x, (1, 1, 3, 3))
            for op, kw in (("adjust_brightness", {"factor": 1.5}),
                           ("channel_shift", {"offset": [21.5, -3.25, 0.5]})):
                got = getattr(t, op)(x, **kw)
                assert got.shape == x.shape and got.dtype == x.dtype, (op, h, w, got.shape, got.dtype)
                np.testing.assert_array_equal(got, getattr(t, op)(big, **kw)[:, :, :h, :w], err_msg=f"{op} {h}x{w}")


# --- Unsupported ---------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float64", "float16", "bfloat16"])
def test_dtypes_other_than_float32_are_unsupported_rather_than_converted(dtype):
    with pytest.raises(Unsupported, match="float32"):
        OpenCVTarget().setup(dtype, "cpu")


@pytest.mark.clause("POOL-AVG-4")
def test_divisor_override_is_unsupported_because_averagepool_has_no_divisor_attribute():
    with pytest.raises(Unsupported, match="divisor"):
        target().avg_pool2d(np.ones((1, 1, 4, 4), dtype=np.float32), 2, divisor_override=3)


@pytest.mark.clause("CONVT-5")
def test_same_padding_for_conv_transpose2d_is_unsupported():
    with pytest.raises(Unsupported, match="CONVT-5"):
        target().conv_transpose2d(np.ones((1, 1, 3, 3), np.float32), np.ones((1, 1, 2, 2), np.float32),
                                  padding="same_lower")


# --- disagreements with the spec (strict xfail: a fixed OpenCV makes them fail) -------------------
#
# Those of OpenCV 5.0 that 5.1 fixed (SIZE-5/SIZE-6 auto_pad of Conv, AveragePool and MaxPool without
# Indices; SIZE-7 naive-ceil; POOL-AVG-2 full-kernel-divisor; CONV-5 1x1 pads; N = 0) carry
# fixed_in_5_1: strict xfails under 5.0, agreement tests under 5.1. The others are strict in both.

def _same(got, want) -> None:
    got, want = (got if isinstance(got, tuple) else (got,)), (want if isinstance(want, tuple) else (want,))
    for g, w in zip(got, want, strict=True):
        assert g.shape == w.shape
        np.testing.assert_array_equal(g, w)


ROW5 = np.arange(1, 6, dtype=np.float32).reshape(1, 1, 1, 5)


def _call(fn, op: str, k: int, **kw):
    """op on ROW5 with a 1×k window (a ones kernel for conv2d)."""
    if op == "conv2d":
        return fn.conv2d(ROW5, np.ones((1, 1, 1, k), np.float32), **kw)
    return getattr(fn, op)(ROW5, (1, k), **kw)


@pytest.mark.clause("SIZE-5")
@pytest.mark.parametrize("op", ["conv2d", "max_pool2d", "avg_pool2d"])
@fixed_in_5_1("auto_pad SAME_UPPER pads K-1 in total whatever the stride: W=5, K=3, S=3 gets (1, 1); "
              "SIZE-5 says total = (ceil(W/S)-1)*S + K - W = 1, i.e. (0, 1)")
def test_same_padding_with_a_stride_pads_for_the_stride(op):
    _same(_call(target(), op, 3, stride=(1, 3), padding="same"),
          _call(ref, op, 3, stride=(1, 3), padding="same"))  # conv2d: OpenCV [3, 12], spec [6, 9]


@pytest.mark.clause("SIZE-5", "CONV-6", "POOL-MAX-5")
@pytest.mark.parametrize("op", ["conv2d", "max_pool2d"])
@fixed_in_5_1("auto_pad SAME_UPPER ignores the dilation: K=2, D=2 gets pads (0, 1); SIZE-5 pads for the "
              "dilated extent D*(K-1)+1 = 3, i.e. (1, 1)")
def test_same_padding_with_dilation_pads_for_the_dilated_kernel(op):
    _same(_call(target(), op, 2, padding="same", dilation=2),
          _call(ref, op, 2, padding="same", dilation=2))  # conv2d: OpenCV [4 6 8 4 5], spec [2 4 6 8 4]


@pytest.mark.clause("SIZE-6")
@pytest.mark.parametrize("op", ["conv2d", "max_pool2d", "avg_pool2d"])
@fixed_in_5_1("auto_pad SAME_LOWER is read as SAME_UPPER: with an odd total the extra pad goes at the end; "
              "SIZE-6 (ONNX's SAME_LOWER) puts it at the start")
def test_same_lower_puts_the_odd_pad_at_the_start(op):
    _same(_call(target(), op, 2, stride=1, padding="same_lower"),
          _call(ref, op, 2, stride=1, padding="same_lower"))  # conv2d: OpenCV [3 5 7 9 5], spec [1 3 5 7 9]


@pytest.mark.clause("SIZE-7")
@pytest.mark.parametrize("op,extra", [("max_pool2d", {}), ("max_pool2d", {"return_indices": True}),
                                      ("avg_pool2d", {})], ids=["max_pool2d", "max_pool2d-indices", "avg_pool2d"])
@fixed_in_5_1("ceil_mode keeps a last window that starts in the end padding (SIZE-7 variant naive-ceil): "
              "W=5, K=2, S=2, P=1 gives 4 outputs; SIZE-7 gives 3")
def test_ceil_mode_drops_a_window_that_starts_in_the_end_padding(op, extra):
    kw = {"stride": (1, 2), "padding": ((0, 0), (1, 1)), "ceil_mode": True, **extra}
    _same(_call(target(), op, 2, **kw), _call(ref, op, 2, **kw))


@pytest.mark.clause("POOL-AVG-2", "SIZE-7")
@fixed_in_5_1("AveragePool with count_include_pad=1 divides a ceil_mode window that hangs past the input by "
              "KH*KW (variant full-kernel-divisor): W=6, K=3, S=2 gives 11/3 for the last window; POOL-AVG-2 "
              "divides by the 2 taps inside the padded extent, 11/2")
def test_avg_pool_ceil_mode_window_is_divided_by_its_taps_inside_the_padded_extent():
    x = np.arange(1, 7, dtype=np.float32).reshape(1, 1, 1, 6)
    kw = {"stride": (1, 2), "ceil_mode": True, "count_include_pad": True}
    _same(target().avg_pool2d(x, (1, 3), **kw), ref.avg_pool2d(x, (1, 3), **kw))  # [2, 4, 5.5]


@pytest.mark.clause("SIZE-5", "POOL-MAX-3")
@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="OpenCV's MaxPool with Indices and auto_pad SAME_UPPER/SAME_LOWER pads nothing at "
                   "the start (W=7, K=3 reads x[0..2] in window 0); SIZE-5 pads (1, 1), so window 0 is "
                   "[pad, x0, x1] (without Indices OpenCV pads (1, 1) here)")
def test_max_pool_with_indices_same_padding_pads_at_the_start():
    x = np.arange(1, 8, dtype=np.float32).reshape(1, 1, 1, 7)
    kw = {"stride": 1, "padding": "same", "return_indices": True}
    _same(target().max_pool2d(x, (1, 3), **kw), ref.max_pool2d(x, (1, 3), **kw))  # OpenCV [3 4 5 6 7 7 7]


@pytest.mark.clause("CONV-5", "SIZE-3")
@fixed_in_5_1("a 1x1 Conv ignores pads (unless C = M = 1 or depthwise): x 1x1, w (2, 1, 1, 1), padding 1 "
              "writes the 1x1 result at the top-left of the 3x3 output and leaves the rest uninitialised; "
              "CONV-5 zero-pads: the result at the centre, 0 around it")
def test_a_1x1_conv2d_pads_with_zeros():
    x = np.full((1, 1, 1, 1), 2.0, np.float32)
    w = np.array([1.0, 3.0], np.float32).reshape(2, 1, 1, 1)
    _same(target().conv2d(x, w, padding=1), ref.conv2d(x, w, padding=1))


WHOLLY_IN_PADDING = {"stride": 1, "dilation": (2, 1), "padding": ((3, 3), (0, 0))}  # taps -3, -1, 1, 3


@pytest.mark.clause("POOL-MAX-1", "POOL-2")
@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="OpenCV's MaxPool with Indices gives 0 for a window wholly in padding; POOL-MAX-1 "
                   "says -inf")
def test_a_max_pool_window_wholly_in_padding_gives_minus_infinity_with_indices():
    x = -np.ones((1, 1, 1, 1), np.float32)
    y, _ = target().max_pool2d(x, (4, 1), return_indices=True, **WHOLLY_IN_PADDING)
    np.testing.assert_array_equal(y, [[[[-np.inf]]]])


@pytest.mark.clause("POOL-MAX-1", "POOL-2")
@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="OpenCV's MaxPool without Indices gives -FLT_MAX for a window wholly in padding; "
                   "POOL-MAX-1 says -inf")
def test_a_max_pool_window_wholly_in_padding_gives_minus_infinity_without_indices():
    x = -np.ones((1, 1, 1, 1), np.float32)
    np.testing.assert_array_equal(target().max_pool2d(x, (4, 1), **WHOLLY_IN_PADDING), [[[[-np.inf]]]])


@pytest.mark.clause("POOL-MAX-3", "POOL-2")
@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="OpenCV's MaxPool Indices for a window wholly in padding is 0 (the plane's first "
                   "element); POOL-MAX-3 says -1")
def test_a_max_pool_window_wholly_in_padding_has_index_minus_one():
    x = -np.ones((1, 1, 1, 1), np.float32)
    _, idx = target().max_pool2d(x, (4, 1), return_indices=True, **WHOLLY_IN_PADDING)
    np.testing.assert_array_equal(idx, [[[[-1]]]])


@pytest.mark.clause("POOL-MAX-1", "POOL-MAX-3")
@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="OpenCV's MaxPool with Indices gives 0 for a window whose values are all -inf; "
                   "POOL-MAX-1 says -inf (and POOL-MAX-3 index 0, the first tap)")
def test_a_max_pool_window_of_minus_infinities_gives_minus_infinity():
    x = np.array([[[[-np.inf, -np.inf]]]], np.float32)
    y, idx = target().max_pool2d(x, (1, 2), return_indices=True)
    _same((y, idx), ref.max_pool2d(x, (1, 2), return_indices=True))


@pytest.mark.clause("POOL-MAX-2")
@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="OpenCV's MaxPool with Indices skips NaN (variant nan-ignored: [NaN, 1] and "
                   "[1, NaN] both give 1); POOL-MAX-2 says a window with a NaN gives NaN")
def test_max_pool_with_indices_propagates_nan():
    y, _ = target().max_pool2d(np.array([[[[1.0, np.nan]]]], np.float32), (1, 2), return_indices=True)
    assert np.isnan(y).all()


@pytest.mark.clause("POOL-MAX-2")
@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="OpenCV's MaxPool without Indices drops a NaN in the first tap ([NaN, 3] gives 3); "
                   "POOL-MAX-2 says a window with a NaN gives NaN")
def test_max_pool_without_indices_propagates_nan():
    assert np.isnan(target().max_pool2d(np.array([[[[np.nan, 3.0]]]], np.float32), (1, 2))).all()


@pytest.mark.clause("TOL-5", "CONV-1")
@pytest.mark.parametrize("special", [np.nan, np.inf])
@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="OpenCV's Conv turns a NaN or +inf output into +FLT_MAX (3.4028235e38); TOL-5 says "
                   "NaN stays NaN and +inf stays +inf")
def test_conv2d_keeps_nan_and_infinity(special):
    x = np.array([[[[special, 0.0, 3.0]]]], np.float32)
    w = np.ones((1, 1, 1, 2), np.float32)
    _same(target().conv2d(x, w), ref.conv2d(x, w))  # OpenCV [[[[3.4028235e38, 3.]]]]


EMPTY = np.zeros((0, 3, 5, 4), np.float32)


@pytest.mark.clause("CONVT-1", "POOL-1")
@pytest.mark.parametrize("op", ["conv_transpose2d", "max_pool2d", "avg_pool2d"])
@fixed_in_5_1("no output (None) for an empty batch; CONVT-1 and POOL-1 say N = 0 gives an output of shape "
              "(0, C, OH, OW)")
def test_an_empty_batch_gives_an_empty_output(op):
    if op == "conv_transpose2d":
        args, kw = (EMPTY, np.ones((3, 2, 3, 3), np.float32)), {}
    else:
        args, kw = (EMPTY, 2), ({"return_indices": True} if op == "max_pool2d" else {})
    got, want = getattr(target(), op)(*args, **kw), getattr(ref, op)(*args, **kw)
    for g, w in zip(got if isinstance(got, tuple) else (got,), want if isinstance(want, tuple) else (want,),
                    strict=True):
        assert isinstance(g, np.ndarray) and g.shape == w.shape, (type(g), w.shape)


@pytest.mark.clause("CONV-1", "CONV-2")
@fixed_in_5_1("Conv kills the process with SIGFPE on an empty batch (N = 0); CONV-1 says N = 0 gives an "
              "output of shape (0, M, OH, OW)")
def test_conv2d_on_an_empty_batch_returns_an_empty_output():
    code = ("import numpy as np\n"
            "from conformance.targets.opencv_target import OpenCVTarget\n"
            "t = OpenCVTarget(); t.setup('float32', 'cpu')\n"
            "y = t.conv2d(np.zeros((0, 3, 5, 4), np.float32), np.ones((2, 3, 3, 3), np.float32), padding=1)\n"
            "print(y.shape)\n")
    # In a child process: the crash must not take pytest down with it.
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, f"exit status {run.returncode}: {run.stderr[-300:]}"
    assert run.stdout.strip() == "(0, 2, 5, 4)"
