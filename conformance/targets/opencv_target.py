"""The ``opencv`` target: each op as a one-node ONNX model run by OpenCV's dnn module (float32, CPU).

The models are the ones the onnxruntime target runs (:mod:`conformance.targets._onnx_models`,
opset 22), read with ``cv2.dnn.readNetFromONNX(buffer, cv2.dnn.ENGINE_NEW)``: the graph engine of
OpenCV 5, which is what ``readNetFromONNX``'s default ``ENGINE_AUTO`` picks for these nodes. The
classic engine is not used: in OpenCV 5.0.0 ``readNetFromONNX(buffer, ENGINE_CLASSIC)`` still builds
a new-engine net, and the classic importer (reached through a file) cannot parse a ConvTranspose
whose weight is a graph input.

Mapping (the same ONNX nodes and attributes as the onnxruntime target):

* ``conv2d``           -> ``Conv`` (x, w[, b]); ``groups`` -> ``group``.
* ``conv_transpose2d`` -> ``ConvTranspose`` (x, w[, b]) with ``output_padding``.
* ``max_pool2d``       -> ``MaxPool`` with ``dilations``, ``ceil_mode``, ``storage_order=0``; with
  ``return_indices`` the node's ``Indices`` output is requested. OpenCV flattens it over one image,
  ``c·H·W + h·W + w`` (not over the whole tensor as ONNX says; it leaves n out), and the adapter
  subtracts ``c·H·W`` to get the spec's per-plane ``h·W + w`` (POOL-MAX-3), a change of notation.
* ``avg_pool2d``       -> ``AveragePool`` with ``ceil_mode`` and ``count_include_pad``.
* padding: numbers -> ``pads = [t, l, b, r]``; "valid" / "same" / "same_lower" -> ``auto_pad =
  VALID / SAME_UPPER / SAME_LOWER``, so OpenCV's own reading of auto_pad is what is tested.
* Weights and bias are graph inputs set with ``Net.setInput``, so one imported net serves every
  weight of a shape; nets are cached per (op, attributes, shapes) in an LRU of 64 entries, and
  outputs are copied out of the net's buffers. ``setup`` calls ``cv2.setNumThreads(1)`` (the runner's
  workers are processes of their own; results then do not depend on the machine's core count).
* No backward ops and no im2col: left undefined ("not implemented").

Unsupported (raised as :class:`~conformance.targets.Unsupported`, never emulated):

* every dtype but float32: cv2.dnn computes ONNX models in float32 on the CPU; float64, float16 and
  bfloat16 inputs would be converted, not computed in that dtype (``setup`` raises).
* ``avg_pool2d(divisor_override=...)``: ONNX AveragePool has no divisor attribute (POOL-AVG-4).
* ``conv_transpose2d(padding="same" | "same_lower")``: not a transposed-convolution padding in the
  spec (CONVT-5).

Disagreements with the spec found with OpenCV 5.0.0 (each pinned by a strict xfail test in
tests/test_target_opencv.py; the runner reports them as failures):

* auto_pad SAME_UPPER / SAME_LOWER (Conv, AveragePool, MaxPool without Indices) always pads K − 1
  in total, split with the odd pad at the end, whatever the stride, the dilation and UPPER/LOWER
  (SIZE-5, SIZE-6); MaxPool with Indices pads nothing at the start instead (SIZE-5).
* a 1×1 Conv with padding (unless C = M = 1 or depthwise) ignores the pads: the unpadded result is
  written at the top-left of the larger output and the rest is left uninitialised (CONV-5).
* ceil_mode keeps a last window that starts in the end padding (SIZE-7 ``naive-ceil``).
* AveragePool with count_include_pad=1 divides a ceil_mode window that hangs past the padded extent
  by KH·KW (POOL-AVG-2 ``full-kernel-divisor``).
* MaxPool with Indices: a window with no value above −FLT_MAX (wholly in padding, or all −∞) gives 0
  and index 0 instead of −∞ and −1 (POOL-MAX-1, POOL-MAX-3); NaN is skipped (POOL-MAX-2
  ``nan-ignored``). MaxPool without Indices gives −FLT_MAX for such windows and drops a NaN in a
  window's first tap.
* Conv turns NaN and +∞ outputs into +FLT_MAX (TOL-5).
* an empty batch (N = 0): Conv kills the process with SIGFPE (the runner reports a crash), and
  ConvTranspose, MaxPool and AveragePool return no array (None) instead of shape (0, C, OH, OW).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np

from . import Target, Unsupported
from . import _onnx_models as om

#: How many imported networks one worker keeps.
CACHE_SIZE = 64


class OpenCVTarget(Target):
    name = "opencv"
    requires = ("cv2", "onnx")
    devices = ("cpu",)

    def __init__(self) -> None:
        super().__init__()
        self._nets: OrderedDict[Any, Any] = OrderedDict()

    def version(self) -> str:
        import cv2

        return cv2.__version__

    def setup(self, dtype: str, device: str) -> None:
        super().setup(dtype, device)
        if dtype != "float32":
            raise Unsupported(f"cv2.dnn computes ONNX models in float32 on the CPU; {dtype} inputs would be "
                              f"converted to float32, not computed in {dtype}")
        import cv2

        cv2.setNumThreads(1)
        self._nets.clear()

    def _net(self, spec: om.NodeModel) -> Any:
        net = self._nets.get(spec)
        if net is not None:
            self._nets.move_to_end(spec)
            return net
        import cv2

        model = np.frombuffer(spec.build().SerializeToString(), dtype=np.uint8)
        net = cv2.dnn.readNetFromONNX(model, cv2.dnn.ENGINE_NEW)
        self._nets[spec] = net
        if len(self._nets) > CACHE_SIZE:
            self._nets.popitem(last=False)
        return net

    def _run(self, spec: om.NodeModel, arrays: dict[str, Any]) -> list[np.ndarray]:
        if self.dtype != "float32":  # setup refused it; an op called anyway is refused the same way
            raise Unsupported(f"cv2.dnn computes in float32 only, not {self.dtype}")
        net = self._net(spec)
        for name, _ in spec.inputs:
            net.setInput(np.ascontiguousarray(arrays[name], dtype=np.float32), name)
        # Copies, since a cached net reuses its buffers; an output OpenCV leaves empty (None, as for
        # an N = 0 batch) is passed on as it is, for the runner to report.
        return [None if o is None else np.array(o, copy=True) for o in net.forward(list(spec.outputs))]

    # --- ops ---------------------------------------------------------------------------------

    def conv2d(self, x, w, b=None, *, stride=1, padding=0, dilation=1, groups=1):
        spec = om.conv_model(np.shape(x), np.shape(w), b is not None, self.dtype, stride=stride,
                             padding=padding, dilation=dilation, groups=groups)
        return self._run(spec, {"x": x, "w": w, "b": b})[0]

    def conv_transpose2d(self, x, w, b=None, *, stride=1, padding=0, output_padding=0, dilation=1,
                         groups=1):
        spec = om.conv_transpose_model(np.shape(x), np.shape(w), b is not None, self.dtype, stride=stride,
                                       padding=padding, output_padding=output_padding,
                                       dilation=dilation, groups=groups)
        return self._run(spec, {"x": x, "w": w, "b": b})[0]

    def max_pool2d(self, x, kernel_size, *, stride=None, padding=0, dilation=1, ceil_mode=False,
                   return_indices=False):
        spec = om.max_pool_model(np.shape(x), self.dtype, kernel_size, stride=stride, padding=padding,
                                 dilation=dilation, ceil_mode=ceil_mode, return_indices=return_indices)
        out = self._run(spec, {"x": x})
        if not return_indices:
            return out[0]
        idx = out[1]
        if isinstance(idx, np.ndarray) and idx.shape == np.shape(out[0]) and idx.ndim == 4:
            idx = om.plane_indices(idx, np.shape(x), per_image=True)
        return out[0], idx

    def avg_pool2d(self, x, kernel_size, *, stride=None, padding=0, ceil_mode=False,
                   count_include_pad=True, divisor_override=None):
        spec = om.avg_pool_model(np.shape(x), self.dtype, kernel_size, stride=stride, padding=padding,
                                 ceil_mode=ceil_mode, count_include_pad=count_include_pad,
                                 divisor_override=divisor_override)
        return self._run(spec, {"x": x})[0]


TARGET = OpenCVTarget
