"""The onnxruntime target: agreement with the reference, its Unsupported cases and its disagreements.

Property tests draw the runner's own cases (conformance.ops.OPS[op].strategy()), round the inputs
to the dtype, run them through ONNX Runtime and compare with the reference computed on the rounded
inputs, through conformance.tolerance.compare. A case the adapter refuses must raise Unsupported.

Where onnxruntime really disagrees with the spec, the property tests leave exactly those cases
out (:func:`known_disagreement`, each branch naming its xfail test) and a strict xfail test below
pins a minimal case, so a fixed onnxruntime turns the xfail into a failure and the exclusion gets
removed. Nothing is compared with a widened tolerance.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
pytest.importorskip("onnx", reason="onnx is not installed")

import onnxruntime as ort  # noqa: E402
from hypothesis import settings  # noqa: E402
from onnxruntime.capi.onnxruntime_pybind11_state import RuntimeException as OrtRuntimeException  # noqa: E402
from spec_helpers import Judged, pair  # noqa: E402

import reference as ref  # noqa: E402
from conformance.ops import OPS  # noqa: E402
from conformance.strategies.conv import Case  # noqa: E402
from conformance.targets import Unsupported, load_target  # noqa: E402
from conformance.targets import _onnx_models as om  # noqa: E402
from conformance.targets.onnxruntime_target import CACHE_SIZE, OnnxRuntimeTarget  # noqa: E402
from conformance.tolerance import compare  # noqa: E402


def target(dtype: str = "float32") -> OnnxRuntimeTarget:
    t = OnnxRuntimeTarget()
    t.setup(dtype, "cpu")
    return t


def known_disagreement(case: Case, expected) -> str | None:
    """Why onnxruntime is known to get this case wrong, or None. Each reason has an xfail test."""
    if case.op not in ("max_pool2d", "avg_pool2d"):
        return None
    p = case.params
    if p["padding"] in ("same", "same_lower"):
        k = pair(p["kernel_size"])
        s = pair(p["stride"] if p["stride"] is not None else p["kernel_size"])
        if pair(p.get("dilation", 1)) != (1, 1):
            return "SAME pooling ignores dilation (test_same_pooling_pads_for_the_undilated_kernel)"
        for n, kk, ss in zip(case.arrays["x"].shape[2:], k, s, strict=True):
            if (math.ceil(n / ss) - 1) * ss + kk - n < 0:
                return "negative ONNX SAME pad is not clamped (test_same_pooling_with_a_stride_above_...)"
    if case.op == "max_pool2d" and (expected[1][1] < 0).any():
        return "window wholly in padding (test_a_max_pool_window_wholly_in_padding_gives_minus_infinity)"
    return None


def run_property(op: str, dtype: str) -> Judged:
    """Draw the op's cases; float32 gets the profile's examples, the other dtypes a third of them.
    Each is judged by the runner in process; a known disagreement (pinned below) is counted apart."""
    n = settings.default.max_examples
    judged = Judged(target(dtype), dtype, known=lambda c: known_disagreement(c, OPS[c.op].measure(c)))
    return judged.run(OPS[op].strategy(), n if dtype == "float32" else max(10, n // 3))


# --- agreement on drawn cases -------------------------------------------------------------------

@pytest.mark.clause("CONV-1", "CONV-2", "CONV-3", "CONV-4", "CONV-5", "CONV-6", "SIZE-3", "SIZE-5", "SIZE-6",
                    "SIZE-9", "TOL-1", "TOL-2", "TOL-6")
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_conv2d_agrees_with_the_reference_wherever_onnxruntime_runs_it(dtype):
    run_property("conv2d", dtype).assert_some_supported_and_rms()


@pytest.mark.clause("CONVT-1", "CONVT-2", "CONVT-3", "SIZE-8", "TOL-1", "TOL-2")
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_conv_transpose2d_agrees_with_the_reference_wherever_onnxruntime_runs_it(dtype):
    run_property("conv_transpose2d", dtype).assert_some_supported_and_rms()


@pytest.mark.clause("POOL-1", "POOL-2", "POOL-MAX-1", "POOL-MAX-3", "POOL-MAX-5", "SIZE-7", "TOL-4")
@pytest.mark.parametrize("dtype", ["float32", "float16", "float64"])
def test_max_pool2d_values_and_indices_agree_with_the_reference_outside_the_known_disagreements(dtype):
    run_property("max_pool2d", dtype).assert_some_supported_and_rms()


@pytest.mark.clause("POOL-1", "POOL-AVG-1", "POOL-AVG-2", "POOL-AVG-3", "SIZE-7", "TOL-1", "TOL-2")
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_avg_pool2d_agrees_with_the_reference_outside_the_known_disagreements(dtype):
    run_property("avg_pool2d", dtype).assert_some_supported_and_rms()


def test_the_default_graph_optimisations_give_the_same_conv2d_results():
    """ORT_ENABLE_ALL may swap in NCHWc kernels; the adapter's choice of DISABLE_ALL hides nothing."""
    plain, opt = target(), target()
    opt.optimization = "all"
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 16, 9, 9)).astype(np.float32)
    w = rng.standard_normal((16, 16, 3, 3)).astype(np.float32)
    b = rng.standard_normal(16).astype(np.float32)
    for kw in ({}, {"stride": 2, "padding": 1}, {"padding": "same"}, {"dilation": 2, "padding": (2, 1)}):
        r = ref.conv2d(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64), **kw)
        scale = ref.conv2d(np.abs(x.astype(np.float64)), np.abs(w.astype(np.float64)), np.abs(b), **kw)
        for t in (plain, opt):
            v = compare(r, t.conv2d(x, w, b, **kw), dtype="float32", scale=scale, terms=16 * 9 + 1)
            assert v.ok, (t.optimization, kw, v.reason)


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
def test_max_pool_ties_go_to_the_first_maximum_in_row_major_order():
    x = np.array([[[[1, 2, 2], [2, 0, 2], [1, 2, 2]]]], dtype=np.float32)
    _, idx = target().max_pool2d(x, 2, stride=1, return_indices=True)
    np.testing.assert_array_equal(idx, ref.max_pool2d(x, 2, stride=1, return_indices=True)[1])


@pytest.mark.clause("SIZE-5", "SIZE-6")
@pytest.mark.parametrize("padding", ["same", "same_lower"])
def test_same_and_same_lower_map_to_onnx_auto_pad_for_conv2d(padding):
    x = np.arange(1, 6, dtype=np.float32).reshape(1, 1, 1, 5)
    w = np.ones((1, 1, 1, 2), dtype=np.float32)
    np.testing.assert_array_equal(target().conv2d(x, w, padding=padding), ref.conv2d(x, w, padding=padding))


@pytest.mark.clause("CONV-1", "CONVT-1", "POOL-1")
@pytest.mark.parametrize("op", ["conv2d", "conv_transpose2d", "max_pool2d", "avg_pool2d"])
def test_an_empty_batch_gives_an_empty_output(op):
    x = np.zeros((0, 3, 5, 4), np.float32)
    if op.startswith("conv"):
        w = np.ones((2, 3, 3, 3) if op == "conv2d" else (3, 2, 3, 3), np.float32)
        args, kw = (x, w), {"padding": 1}
    else:
        args, kw = (x, 2), ({"return_indices": True} if op == "max_pool2d" else {})
    got, want = getattr(target(), op)(*args, **kw), getattr(ref, op)(*args, **kw)
    _same(got, want)


@pytest.mark.clause("TOL-6")
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_results_come_back_in_the_dtype_of_the_inputs(dtype):
    x = np.ones((1, 1, 3, 3), dtype=dtype)
    t = target(dtype)
    assert t.conv2d(x, np.ones((1, 1, 2, 2), dtype=dtype)).dtype == np.dtype(dtype)
    assert t.avg_pool2d(x, 2).dtype == np.dtype(dtype)


def test_sessions_are_cached_per_model_and_the_cache_is_bounded():
    t = target()
    x = np.ones((1, 1, 4, 4), dtype=np.float32)
    t.max_pool2d(x, 2)
    sessions = dict(t._sessions)
    t.max_pool2d(x + 1, 2)
    assert dict(t._sessions) == sessions
    for k in range(1, CACHE_SIZE + 10):
        t.avg_pool2d(np.ones((1, 1, 1, k), dtype=np.float32), 1)
    assert len(t._sessions) == CACHE_SIZE


def test_the_target_is_the_builtin_onnxruntime_target():
    t = load_target("onnxruntime")
    assert isinstance(t, OnnxRuntimeTarget)
    assert (t.name, t.requires, t.devices) == ("onnxruntime", ("onnxruntime", "onnx"), ("cpu",))
    assert t.version() == ort.__version__
    assert not t.implements("conv2d_backward") and not t.implements("im2col")


def test_every_model_the_adapter_builds_passes_the_onnx_checker():
    spec = om.max_pool_model((1, 2, 5, 5), "float32", (2, 3), stride=(1, 2), padding=((0, 1), (1, 0)),
                             dilation=(2, 1), ceil_mode=True, return_indices=True)
    model = spec.build()  # raises if onnx.checker rejects it
    attrs = {a.name: a for a in model.graph.node[0].attribute}
    assert list(attrs["pads"].ints) == [0, 1, 1, 0]  # [top, left, bottom, right]
    assert attrs["storage_order"].i == 0 and attrs["ceil_mode"].i == 1


# --- Unsupported ---------------------------------------------------------------------------------

@pytest.mark.clause("POOL-AVG-4")
def test_divisor_override_is_unsupported_because_averagepool_has_no_divisor_attribute():
    with pytest.raises(Unsupported, match="divisor"):
        target().avg_pool2d(np.ones((1, 1, 4, 4), dtype=np.float32), 2, divisor_override=3)


@pytest.mark.clause("CONVT-5")
def test_same_padding_for_conv_transpose2d_is_unsupported():
    with pytest.raises(Unsupported, match="CONVT-5"):
        target().conv_transpose2d(np.ones((1, 1, 3, 3), np.float32), np.ones((1, 1, 2, 2), np.float32),
                                  padding="same")


@pytest.mark.parametrize("op", ["conv2d", "conv_transpose2d", "avg_pool2d"])
def test_float64_ops_without_an_onnxruntime_cpu_kernel_are_unsupported(op):
    x, w = np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2))
    args = (x, w) if op.startswith("conv") else (x, 2)
    with pytest.raises(Unsupported, match="NOT_IMPLEMENTED"):
        getattr(target("float64"), op)(*args)


@pytest.mark.parametrize("op", ["conv2d", "conv_transpose2d", "max_pool2d", "avg_pool2d"])
def test_bfloat16_is_unsupported_for_every_op(op):
    x, w = np.ones((1, 1, 3, 3), np.float32), np.ones((1, 1, 2, 2), np.float32)
    args = (x, w) if op.startswith("conv") else (x, 2)
    with pytest.raises(Unsupported, match="bfloat16"):
        getattr(target("bfloat16"), op)(*args)


def _ort_refuses(spec: om.NodeModel, feeds: dict[str, np.ndarray]) -> None:
    """ORT itself (not the adapter) rejects the model when building or running it."""
    opts = ort.SessionOptions()
    opts.log_severity_level = 4
    with pytest.raises(Exception) as info:
        model = spec.build().SerializeToString()
        sess = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
        sess.run(None, feeds)
    assert not isinstance(info.value, AssertionError)


@pytest.mark.clause("POOL-2")
@pytest.mark.parametrize("op", ["max_pool2d", "avg_pool2d"])
def test_pooling_padding_not_smaller_than_the_kernel_is_unsupported_as_onnxruntime_refuses_it(op):
    x = np.ones((1, 1, 1, 1), np.float32)
    with pytest.raises(Unsupported, match="Pad should be smaller than kernel"):
        getattr(target(), op)(x, 1, padding=1)
    make = om.max_pool_model if op == "max_pool2d" else om.avg_pool_model
    _ort_refuses(make(x.shape, "float32", 1, padding=1), {"x": x})


@pytest.mark.clause("SIZE-5", "CONV-6")
def test_conv2d_same_padding_with_dilation_is_unsupported_as_onnxruntime_refuses_it():
    x, w = np.ones((1, 1, 5, 5), np.float32), np.ones((1, 1, 2, 2), np.float32)
    with pytest.raises(Unsupported, match="Dilation not supported"):
        target().conv2d(x, w, padding="same", dilation=(1, 2))
    _ort_refuses(om.conv_model(x.shape, w.shape, False, "float32", padding="same", dilation=(1, 2)),
                 {"x": x, "w": w})


@pytest.mark.clause("SIZE-8", "CONVT-3")
def test_output_padding_not_smaller_than_the_stride_is_unsupported_as_onnxruntime_refuses_it():
    x, w = np.ones((1, 1, 3, 3), np.float32), np.ones((1, 1, 2, 2), np.float32)
    kw = {"stride": 1, "dilation": 2, "output_padding": 1}  # valid: output_padding < max(S, D) = 2
    assert ref.conv_transpose2d(x, w, **kw).shape == (1, 1, 6, 6)
    with pytest.raises(Unsupported, match="output_padding"):
        target().conv_transpose2d(x, w, **kw)
    _ort_refuses(om.conv_transpose_model(x.shape, w.shape, False, "float32", **kw), {"x": x, "w": w})


# --- disagreements with the spec (strict xfail: a fixed onnxruntime makes them fail) -------------

def _same(got, want) -> None:
    got, want = (got if isinstance(got, tuple) else (got,)), (want if isinstance(want, tuple) else (want,))
    for g, w in zip(got, want, strict=True):
        assert g.shape == w.shape
        np.testing.assert_array_equal(g, w)


@pytest.mark.clause("SIZE-5", "POOL-MAX-5")
@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="onnxruntime's pooling computes the SAME_UPPER/SAME_LOWER pad from the "
                   "undilated kernel (pad_needed = (OH-1)*S + K - H), so a dilated max pool with 'same' "
                   "padding returns fewer outputs; SIZE-5 says total = (ceil(H/S)-1)*S + D*(K-1) + 1 - H, "
                   "giving OH = ceil(H/S)")
def test_same_pooling_pads_for_the_undilated_kernel():
    x = np.arange(1, 7, dtype=np.float32).reshape(1, 1, 1, 6)
    kw = {"stride": 1, "padding": "same", "dilation": 2, "return_indices": True}
    _same(target().max_pool2d(x, (1, 2), **kw), ref.max_pool2d(x, (1, 2), **kw))  # ORT: 5 outputs, not 6


@pytest.mark.clause("SIZE-5")
@pytest.mark.parametrize("op, kw", [("max_pool2d", {"return_indices": True}), ("avg_pool2d", {})])
@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="onnxruntime's pooling does not clamp ONNX's SAME pad at 0: with H=3, K=1, S=3 it "
                   "pads -1 at the top and reads row 1 instead of row 0; SIZE-5 says "
                   "total = max((ceil(H/S)-1)*S + D*(K-1) + 1 - H, 0) (Conv clamps and is right)")
def test_same_pooling_with_a_stride_above_the_kernel_shifts_the_windows(op, kw):
    x = np.arange(1, 4, dtype=np.float32).reshape(1, 1, 3, 1)
    _same(getattr(target(), op)(x, 1, stride=(3, 1), padding="same", **kw),
          getattr(ref, op)(x, 1, stride=(3, 1), padding="same", **kw))  # ORT: [[2.]], spec [[1.]]


@pytest.mark.clause("SIZE-5")
@pytest.mark.xfail(strict=True, raises=OrtRuntimeException,
                   reason="onnxruntime's MaxPool without Indices raises 'padding values must be "
                   "non-negative' when ONNX's SAME pad formula goes negative (H=3, K=1, S=3); SIZE-5 clamps "
                   "the total at 0 and the case is valid")
def test_same_max_pool_without_indices_with_a_stride_above_the_kernel_runs():
    x = np.arange(1, 4, dtype=np.float32).reshape(1, 1, 3, 1)
    _same(target().max_pool2d(x, 1, stride=(3, 1), padding="same"),
          ref.max_pool2d(x, 1, stride=(3, 1), padding="same"))


@pytest.mark.clause("POOL-MAX-1", "POOL-2")
@pytest.mark.parametrize("return_indices", [False, True])
@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="onnxruntime's MaxPool gives the lowest finite value (-3.4028235e38 in "
                   "float32) for a window wholly in padding; POOL-MAX-1 says it is -inf")
def test_a_max_pool_window_wholly_in_padding_gives_minus_infinity(return_indices):
    x = -np.ones((1, 1, 1, 1), np.float32)
    kw = {"stride": 1, "dilation": (2, 1), "padding": ((3, 3), (0, 0))}  # taps -3, -1, 1, 3: none in x
    y = target().max_pool2d(x, (4, 1), return_indices=return_indices, **kw)
    y = y[0] if return_indices else y
    np.testing.assert_array_equal(y, ref.max_pool2d(x, (4, 1), **kw))  # [[[[-inf]]]]


@pytest.mark.clause("POOL-MAX-3", "POOL-2")
@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="onnxruntime's MaxPool Indices for a window wholly in padding is not -1 "
                   "(plane offset - 2 in 1.32: an index outside the plane, or into another plane); "
                   "POOL-MAX-3 says -1")
def test_a_max_pool_window_wholly_in_padding_has_index_minus_one():
    x = -np.ones((1, 1, 1, 1), np.float32)
    kw = {"stride": 1, "dilation": (2, 1), "padding": ((3, 3), (0, 0)), "return_indices": True}
    np.testing.assert_array_equal(target().max_pool2d(x, (4, 1), **kw)[1], [[[[-1]]]])


@pytest.mark.clause("POOL-MAX-2")
@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="onnxruntime's MaxPool with Indices skips a NaN that follows a number "
                   "(window [1, NaN] gives 1, index 0); POOL-MAX-2 says a window with a NaN gives NaN")
def test_max_pool_with_indices_propagates_nan():
    x = np.array([[[[1.0, np.nan]]]], np.float32)
    y, idx = target().max_pool2d(x, (1, 2), return_indices=True)
    assert np.isnan(y).all() and idx.ravel().tolist() == [1]


@pytest.mark.clause("POOL-MAX-2")
@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="onnxruntime's MaxPool without Indices drops a NaN in the first tap "
                   "(window [NaN, 3] gives 3); POOL-MAX-2 says a window with a NaN gives NaN")
def test_max_pool_without_indices_propagates_nan():
    assert np.isnan(target().max_pool2d(np.array([[[[np.nan, 3.0]]]], np.float32), (1, 2))).all()
