"""The ``onnxruntime`` target: each op as a one-node ONNX model run by ONNX Runtime's CPU provider.

Mapping (models built by :mod:`conformance.targets._onnx_models`, opset 22):

* ``conv2d``           -> ``Conv`` (x, w[, b]); ``groups`` -> ``group``.
* ``conv_transpose2d`` -> ``ConvTranspose`` (x, w[, b]) with ``output_padding``; never ``output_shape``.
* ``max_pool2d``       -> ``MaxPool`` with ``dilations``, ``ceil_mode``, ``storage_order=0``; with
  ``return_indices`` the node's second output ``Indices`` is requested. ONNX flattens it over
  the whole (N, C, H, W) tensor; it is mapped to the spec's per-plane ``h·W + w`` by subtracting
  ``(n·C + c)·H·W`` (a change of notation, POOL-MAX-3).
* ``avg_pool2d``       -> ``AveragePool`` with ``ceil_mode`` and ``count_include_pad``.
* padding: ints and pairs -> ``pads = [t, l, b, r]``; "valid" / "same" / "same_lower" ->
  ``auto_pad = VALID / SAME_UPPER / SAME_LOWER`` (ONNX's own resolution of SAME is what is tested).
* ``conv_output_size`` / ``conv_transpose_output_size`` (issue 13): the output height that ONNX's
  strict shape inference (``onnx.shape_inference.infer_shapes``) gives a one-node ``Conv`` (floor
  mode), ``MaxPool`` with ``ceil_mode=1`` (ceil mode) or ``ConvTranspose`` model on a (1, 1, size, 1)
  input; no session runs. (With onnx 1.23 it conforms, ceil_mode's correction included.)
* No backward ops: an ONNX inference session has no gradients, so ``conv2d_backward``,
  ``max_pool2d_backward`` and ``avg_pool2d_backward`` are left undefined ("not implemented");
  ``im2col`` has no ONNX operator and is undefined too.

Unsupported (raised as :class:`~conformance.targets.Unsupported`, never emulated):

* ``avg_pool2d(divisor_override=...)``: AveragePool has no divisor attribute (POOL-AVG-4).
* ``conv_transpose2d(padding="same" | "same_lower")``: not a transposed-convolution padding in the
  spec (CONVT-5); ONNX's SAME_* on ConvTranspose means an output of H·S.
* Cases onnxruntime refuses although the spec defines them, checked before the call (as the
  runner treats PyTorch's ``padding <= K/2`` rule, POOL-2) and pinned by tests that feed the same
  model to ORT directly:
  - pooling with an explicit pad >= the kernel size on any side ("Pad should be smaller than
    kernel", pool_attributes.h; POOL-2 allows any padding);
  - ``conv2d`` with "same"/"same_lower" and a dilation > 1 ("Dilation not supported for
    AutoPadType::SAME_UPPER or AutoPadType::SAME_LOWER");
  - ``conv_transpose2d`` with ``output_padding >= stride`` on an axis, which SIZE-8 allows when the
    dilation is larger ("Computed output shape is inconsistent with input spatial dimensions").
* a dtype for which the CPU provider registers no kernel: ORT raises NOT_IMPLEMENTED ("Could not
  find an implementation for Conv(22)") when the session is created, and exactly that exception
  (``onnxruntime.capi.onnxruntime_pybind11_state.NotImplemented``) becomes Unsupported; it is probed
  once per op and dtype on a 1×1 model, so every case of such an op gets the same reason. With
  onnxruntime 1.32 on x86-64 that is float64 Conv, ConvTranspose and AveragePool (MaxPool has a
  double kernel; float16 has all four) and bfloat16 for all four ops. Any other ORT exception
  propagates, so the runner records it as a failure with ORT's message.
* bfloat16, should a future ORT register such kernels: ORT's Python API returns no NumPy array for
  bfloat16 outputs, so the adapter cannot read the result and says so.

Known divergences from the spec are data, not prose: conformance/expectations/onnxruntime.toml
(checked by tests/test_expectations.py; the README's findings table is generated from it).

Session settings (decided, not defaults):

* ``graph_optimization_level = ORT_DISABLE_ALL``. The point is to test the kernel registered for the
  ONNX operator. At the default level (ENABLE_ALL) ORT's NCHWc layout transformer may rewrite a Conv
  or pooling node into ``com.microsoft.nchwc`` kernels wrapped in reorder nodes, a different code path
  chosen by CPU features and channel counts; a one-node graph has nothing else to optimise. Set
  :attr:`OnnxRuntimeTarget.optimization` (``"all"``) in a subclass to test that path instead.
* ``intra_op_num_threads = inter_op_num_threads = 1``: reproducible results, no thread-pool start-up
  per session, and no oversubscription when the runner runs several worker processes. ORT's CPU
  kernels split work over output elements, so the arithmetic of an element does not depend on the
  thread count and nothing is lost.
* Weights and bias are graph inputs, not initializers, so one session serves every drawn weight of a
  shape: sessions are cached per (op, attributes, shapes, dtype) in an LRU of 64 entries. (ORT's
  pre-packing of constant weights is therefore not exercised.)
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np

from . import Target, Unsupported
from . import _onnx_models as om

#: How many compiled sessions one worker keeps.
CACHE_SIZE = 64


class OnnxRuntimeTarget(Target):
    name = "onnxruntime"
    requires: tuple[str, ...] = ("onnxruntime", "onnx")
    #: Rejection conformance: node attributes and inputs ONNX Runtime receives as they are (issue 13).
    passes_invalid = {**{op: ("stride", "dilation", "padding", "groups", "kernel_size", "x-3d", "w-channels",
                              "b-short", "groups-not-dividing", "kernel-too-large", "output-padding-at-stride")
                         for op in ("conv2d", "conv_transpose2d", "max_pool2d", "avg_pool2d")},
                      **{op: ("iou_threshold", "score_threshold", "max_output", "max_output_per_class",
                              "inverted-box", "nan-box", "nan-score", "scores-short")
                         for op in ("nms", "batched_nms")},
                      **{op: ("stride", "dilation", "padding", "kernel_size")
                         for op in ("conv_output_size", "conv_transpose_output_size")}}
    devices = ("cpu",)
    #: Graph optimisation level: "disable_all" (default, see the module docstring), "basic",
    #: "extended" or "all".
    optimization = "disable_all"

    def __init__(self) -> None:
        super().__init__()
        self._sessions: OrderedDict[Any, Any] = OrderedDict()
        self._kernels: dict[str, str | None] = {}

    def version(self) -> str:
        import onnxruntime

        return onnxruntime.__version__

    def setup(self, dtype: str, device: str) -> None:
        super().setup(dtype, device)
        if dtype not in om.ELEM_TYPES:
            raise Unsupported(f"no ONNX element type for {dtype}")
        self._sessions.clear()
        self._kernels.clear()

    # --- sessions ----------------------------------------------------------------------------

    def _session(self, spec: om.NodeModel | om.NmsModel) -> Any:
        key = (spec, self.optimization)
        sess = self._sessions.get(key)
        if sess is not None:
            self._sessions.move_to_end(key)
            return sess
        import onnxruntime as ort
        from onnxruntime.capi.onnxruntime_pybind11_state import NotImplemented as OrtNotImplemented

        opts = ort.SessionOptions()
        opts.graph_optimization_level = {
            "disable_all": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
            "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
            "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
            "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL}[self.optimization]
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 4  # fatal only: the exceptions ORT raises carry its error messages
        model = spec.build().SerializeToString()
        try:
            sess = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
        except OrtNotImplemented as exc:
            raise Unsupported(f"onnxruntime CPU has no {spec.dtype} {spec.op_type} kernel: {exc}") from exc
        if spec.dtype == "bfloat16":
            raise Unsupported("onnxruntime's Python API returns no NumPy array for bfloat16 outputs")
        self._sessions[key] = sess
        if len(self._sessions) > CACHE_SIZE:
            self._sessions.popitem(last=False)
        return sess

    def _require_kernel(self, op_type: str) -> None:
        """Unsupported when ORT's CPU provider has no ``op_type`` kernel for this dtype.

        Checked once per op and dtype on a 1×1 model, before any option-specific check, so that a
        dtype without a kernel is reported as such for every case of the op.
        """
        if op_type not in self._kernels:
            one = (1, 1, 1, 1)
            probe = {"Conv": om.conv_model(one, one, False, self.dtype),
                     "ConvTranspose": om.conv_transpose_model(one, one, False, self.dtype),
                     "MaxPool": om.max_pool_model(one, self.dtype, 1),
                     "AveragePool": om.avg_pool_model(one, self.dtype, 1)}[op_type]
            try:
                self._session(probe)
                self._kernels[op_type] = None
            except Unsupported as exc:
                self._kernels[op_type] = str(exc)
        reason = self._kernels[op_type]
        if reason is not None:
            raise Unsupported(reason)

    def _run(self, spec: om.NodeModel, arrays: dict[str, Any]) -> list[np.ndarray]:
        sess = self._session(spec)
        dt = np.dtype(self.dtype)  # float16 / float32 / float64 (bfloat16 never gets here)
        feeds = {name: np.ascontiguousarray(arrays[name], dtype=dt) for name, _ in spec.inputs}
        return sess.run(list(spec.outputs), feeds)

    # --- ops ---------------------------------------------------------------------------------

    def conv2d(self, x, w, b=None, *, stride=1, padding=0, dilation=1, groups=1):
        self._require_kernel("Conv")
        if padding in ("same", "same_lower") and om.pair(dilation, "dilation") != (1, 1):
            raise Unsupported(f"padding={padding!r} with dilation={dilation!r}: onnxruntime's Conv refuses "
                              "auto_pad SAME_* with dilation ('Dilation not supported for AutoPadType::"
                              "SAME_UPPER or AutoPadType::SAME_LOWER')")
        spec = om.conv_model(np.shape(x), np.shape(w), b is not None, self.dtype, stride=stride,
                             padding=padding, dilation=dilation, groups=groups)
        return self._run(spec, {"x": x, "w": w, "b": b})[0]

    def conv_transpose2d(self, x, w, b=None, *, stride=1, padding=0, output_padding=0, dilation=1,
                         groups=1):
        self._require_kernel("ConvTranspose")
        s, op = om.pair(stride, "stride"), om.pair(output_padding, "output_padding")
        if op[0] >= s[0] or op[1] >= s[1]:
            raise Unsupported(f"output_padding={output_padding!r} >= stride={stride!r}: the spec allows it "
                              "when dilation > stride (SIZE-8) but onnxruntime's ConvTranspose refuses it "
                              "('Computed output shape is inconsistent with input spatial dimensions')")
        spec = om.conv_transpose_model(np.shape(x), np.shape(w), b is not None, self.dtype, stride=stride,
                                       padding=padding, output_padding=output_padding,
                                       dilation=dilation, groups=groups)
        return self._run(spec, {"x": x, "w": w, "b": b})[0]

    def max_pool2d(self, x, kernel_size, *, stride=None, padding=0, dilation=1, ceil_mode=False,
                   return_indices=False):
        self._require_kernel("MaxPool")
        _check_pool_pads(kernel_size, padding)
        spec = om.max_pool_model(np.shape(x), self.dtype, kernel_size, stride=stride, padding=padding,
                                 dilation=dilation, ceil_mode=ceil_mode, return_indices=return_indices)
        out = self._run(spec, {"x": x})
        if not return_indices:
            return out[0]
        return out[0], om.plane_indices(out[1], np.shape(x))

    def avg_pool2d(self, x, kernel_size, *, stride=None, padding=0, ceil_mode=False,
                   count_include_pad=True, divisor_override=None):
        self._require_kernel("AveragePool")
        _check_pool_pads(kernel_size, padding)
        spec = om.avg_pool_model(np.shape(x), self.dtype, kernel_size, stride=stride, padding=padding,
                                 ceil_mode=ceil_mode, count_include_pad=count_include_pad,
                                 divisor_override=divisor_override)
        return self._run(spec, {"x": x})[0]

    # --- detection (NMS-*: issue 4) -----------------------------------------------------------
    #
    # NonMaxSuppression (om.NmsModel) is defined for float only: float32 runs; other dtypes are
    # Unsupported. Boxes: fmt "cxcywh" -> center_point_box=1 with the boxes as given; any other fmt
    # -> center_point_box=0 with yxyx corners (_box_formats.to_format: a column swap from xyxy; xywh
    # only where the corners are exact in float32). max_output None -> max_output_boxes_per_class = N
    # (ONNX's 0 means none, as the spec's max_output=0, NMS-6); score_threshold None -> the input is
    # left out, else it is the largest float32 <= the threshold (the strict test of NMS-5, exactly);
    # iou_threshold goes through as float32. ONNX has no IoU operator and no Soft-NMS: box_iou and
    # soft_nms are not implemented.
    # batched_nms uses the classes axis: scores (1, C, N) hold each box's score in its class's row
    # (distinct labels in ascending order, a change of notation) and -inf in the others; without a
    # score threshold the adapter passes -inf, which keeps every real score but no -inf entry, so a
    # case whose own scores include -inf has no ONNX spelling (Unsupported). ONNX lists the triples
    # class by class; they are put in NMS-2 order across classes (_box_formats.rank_sort), the
    # comparison NMS-BATCH-3 prescribes for ONNX.

    def _nms_boxes(self, boxes: Any, fmt: str) -> tuple[int, np.ndarray]:
        from ._box_formats import to_format

        if self.dtype != "float32":
            raise Unsupported(f"ONNX NonMaxSuppression takes float (float32) boxes and scores only, not {self.dtype}")
        if fmt == "cxcywh":
            return 1, np.ascontiguousarray(boxes, dtype=np.float32)
        return 0, to_format(boxes, fmt, "yxyx", np.float32)

    def _nms_select(self, cpb: int, b: np.ndarray, table: np.ndarray, iou_threshold: Any,
                    score_threshold: Any, limit: int) -> np.ndarray:
        from ._box_formats import down32

        spec = om.NmsModel(cpb, score_threshold is not None)
        feeds = {"boxes": b.reshape(1, -1, 4), "scores": table[None],
                 "max_output_boxes_per_class": np.array(limit, dtype=np.int64),
                 "iou_threshold": np.array(iou_threshold, dtype=np.float32)}
        if score_threshold is not None:
            feeds["score_threshold"] = np.array(down32(float(score_threshold)), dtype=np.float32)
        return self._session(spec).run(["selected_indices"], feeds)[0]

    def nms(self, boxes, scores, iou_threshold, *, score_threshold=None, max_output=None, fmt="xyxy"):
        cpb, b = self._nms_boxes(boxes, fmt)
        s = np.ascontiguousarray(scores, dtype=np.float32)
        limit = b.shape[0] if max_output is None else int(max_output)
        sel = self._nms_select(cpb, b, s[None], iou_threshold, score_threshold, limit)
        return np.ascontiguousarray(sel[:, 2], dtype=np.int64)

    def batched_nms(self, boxes, scores, classes, iou_threshold, *, score_threshold=None,
                    max_output_per_class=None, fmt="xyxy"):
        from ._box_formats import class_slots, rank_sort

        cpb, b = self._nms_boxes(boxes, fmt)
        s = np.ascontiguousarray(scores, dtype=np.float32)
        if score_threshold is None:
            if np.isneginf(s).any():
                raise Unsupported("a -inf score with no score threshold: the classes axis needs -inf in the "
                                  "other classes' rows and a -inf threshold to drop them, which drops it too")
            score_threshold = -np.inf
        labels, slot = class_slots(classes)
        n = b.shape[0]
        table = np.full((max(labels.size, 1), n), -np.inf, dtype=np.float32)
        table[slot, np.arange(n)] = s
        limit = n if max_output_per_class is None else int(max_output_per_class)
        sel = self._nms_select(cpb, b, table, iou_threshold, score_threshold, limit)
        return rank_sort(sel[:, 2], s)

    # --- output sizes: ONNX shape inference (SIZE-3 ... SIZE-8) -------------------------------
    #
    # A one-axis size is the H that ``onnx.shape_inference.infer_shapes`` (strict mode) gives the
    # output of a one-node model on a (1, 1, size, 1) input: Conv in floor mode, MaxPool (ceil_mode=1)
    # in ceil mode, ConvTranspose for the transposed size, attributes mapped by _onnx_models as for
    # the ops themselves. No session runs: this is the shape inference a runtime applies when it loads
    # a model, checked apart from the kernels' own output sizes.

    def _inferred_h(self, spec: om.NodeModel) -> np.int64:
        from onnx import shape_inference

        model = shape_inference.infer_shapes(spec.build(), strict_mode=True)
        dim = model.graph.output[0].type.tensor_type.shape.dim[2]
        if not dim.HasField("dim_value"):
            raise ValueError(f"ONNX shape inference left the output height unknown ({dim})")
        return np.int64(dim.dim_value)

    @staticmethod
    def _axis_pads(padding: Any) -> Any:
        """One axis's padding as the 2-D form _onnx_models maps: ((before, after), (0, 0)), or a string."""
        if isinstance(padding, str):
            return padding
        before, after = padding if isinstance(padding, (tuple, list)) else (padding, padding)
        return ((before, after), (0, 0))

    def conv_output_size(self, size, kernel_size, *, stride=1, padding=0, dilation=1, ceil_mode=False):
        if ceil_mode:
            spec = om.max_pool_model((1, 1, size, 1), self.dtype, (kernel_size, 1), stride=(stride, 1),
                                     padding=self._axis_pads(padding), dilation=(dilation, 1), ceil_mode=True)
        else:
            spec = om.conv_model((1, 1, size, 1), (1, 1, kernel_size, 1), False, self.dtype, stride=(stride, 1),
                                 padding=self._axis_pads(padding), dilation=(dilation, 1))
        return self._inferred_h(spec)

    def conv_transpose_output_size(self, size, kernel_size, *, stride=1, padding=0, output_padding=0, dilation=1):
        spec = om.conv_transpose_model((1, 1, size, 1), (1, 1, kernel_size, 1), False, self.dtype,
                                       stride=(stride, 1), padding=self._axis_pads(padding),
                                       output_padding=(output_padding, 0), dilation=(dilation, 1))
        return self._inferred_h(spec)


def _check_pool_pads(kernel_size: Any, padding: Any) -> None:
    """onnxruntime's pooling kernels enforce ``pads < kernel_shape`` on every side (pool_attributes.h:
    "Pad should be smaller than kernel"); the spec allows any padding (POOL-2), so larger explicit
    padding is Unsupported, as PyTorch's ``padding <= K/2`` rule is."""
    pads = om.padding_attrs(padding).get("pads")
    if pads is None:
        return
    kh, kw = om.pair(kernel_size, "kernel_size")
    if max(pads[0], pads[2]) >= kh or max(pads[1], pads[3]) >= kw:
        raise Unsupported(f"padding={padding!r} with kernel_size={kernel_size!r}: onnxruntime's pooling "
                          "requires every pad < the kernel size ('Pad should be smaller than kernel')")


TARGET = OnnxRuntimeTarget
