"""The ``opencv`` target: each op as a one-node ONNX model run by OpenCV's dnn module (float32, CPU).

The models are the ones the onnxruntime target runs (:mod:`conformance.targets._onnx_models`,
opset 22), read with ``cv2.dnn.readNetFromONNX(buffer, engine)``, ``engine`` being OpenCV 5's own
graph engine under the name the installed version gives it (:func:`dnn_engine`): ``ENGINE_NEW`` in
OpenCV 5.0 (what its default ``ENGINE_AUTO`` picks for these nodes; ``ENGINE_CLASSIC``, the 4.x
importer, cannot parse a ConvTranspose whose weight is a graph input) and ``ENGINE_OPENCV`` in 5.1
(which dropped ``ENGINE_NEW`` and ``ENGINE_CLASSIC``; its ``ENGINE_AUTO`` resolves to
``ENGINE_OPENCV``). The enum's numbers differ between the two (5.1's ``ENGINE_OPENCV`` = 1 is 5.0's
``ENGINE_CLASSIC``), so the engine is looked up by name, never passed as a number. ``ENGINE_ORT``
(ONNX Runtime wrapped by OpenCV) is never used: that would test ONNX Runtime, and a build without it
silently falls back to OpenCV's engine.

Mapping (the same ONNX nodes and attributes as the onnxruntime target):

* ``conv2d``           -> ``Conv`` (x, w[, b]); ``groups`` -> ``group``.
* ``conv_transpose2d`` -> ``ConvTranspose`` (x, w[, b]) with ``output_padding``.
* ``max_pool2d``       -> ``MaxPool`` with ``dilations``, ``ceil_mode``, ``storage_order=0``; with
  ``return_indices`` the node's ``Indices`` output is requested, and the adapter subtracts each
  plane's offset to get the spec's per-plane ``h·W + w`` (POOL-MAX-3), a change of notation. OpenCV
  5.1 flattens the index over the whole tensor as ONNX says (offset ``(n·C + c)·H·W``); 5.0 flattens
  it over one image (offset ``c·H·W``). Which one the installed OpenCV uses is read once per worker
  from a (2, 2, 1, 1) MaxPool (:meth:`OpenCVTarget._indices_per_image`); any other answer is an
  adapter error, not a guess.
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

Augmentation ops (AUG-*, spec/augmentation.md). Each (n, c) plane of the
NCHW batch is one single-channel ``cv2`` image (float32 in a float32 run, uint8 for the
``*_uint8`` ops, whose arrays the runner sends unchanged); parameters are passed the way
OpenCV's documentation and tutorials pass them, not converted to the spec's conventions:

* ``rotate``    -> ``cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), angle, 1.0)`` (the
  centre as the OpenCV-Python tutorial writes it, angle counter-clockwise in degrees) then
  ``cv2.warpAffine(plane, M, (w, h), flags, borderMode, borderValue)``.
* ``translate`` -> ``warpAffine`` with ``[[1, 0, tx], [0, 1, ty]]``.
* ``zoom``      -> ``getRotationMatrix2D(centre, 0, f)`` for one factor; a pair ``(f_x, f_y)``
  -> the matrix ``[[f_x, 0, (1 - f_x) c_x], [0, f_y, (1 - f_y) c_y]]`` about the same centre.
* ``shear``     -> ``[[1, tan(angle), -tan(angle) c_y], [0, 1, 0]]`` about that centre.
* ``affine``    -> ``warpAffine(plane, matrix[:2])``: the spec's matrix as it is.
* interpolation ``nearest`` / ``bilinear`` -> ``INTER_NEAREST`` / ``INTER_LINEAR``; fill mode
  ``constant`` / ``nearest`` / ``reflect`` / ``wrap`` -> ``BORDER_CONSTANT`` (``borderValue``
  = fill_value) / ``BORDER_REPLICATE`` / ``BORDER_REFLECT`` (``fedcba|abcdefgh``, the spec's
  half-sample reflect; ``BORDER_REFLECT_101`` would be the ``reflect-101`` variant) /
  ``BORDER_WRAP``.
* ``hflip`` / ``vflip`` -> ``cv2.flip(plane, 1)`` / ``cv2.flip(plane, 0)``.
* ``adjust_brightness`` -> ``cv2.multiply(plane, factor)`` (saturating for uint8, like the
  tutorials' ``convertScaleAbs(alpha=factor)``, which for a non-negative factor on uint8 is
  the same operation).
* ``channel_shift`` -> ``cv2.add(plane, offset[c])``, the offset a Scalar (a Python float) as
  users pass it.
* For both, a plane of a Scalar's own shape (n x 1, n <= 4) that the binding reads as a Scalar (a
  result of another shape or a cv2.error: 1x1 in OpenCV 5.1, whose result is 4x1; 4x1 in 5.0) gets
  the factor / offset as a float64 array of the plane's shape, with ``dtype`` = the plane's depth:
  still OpenCV's arithmetic, with a result of the plane's shape.
* rescale and the standardisations: OpenCV has no such function (not implemented).
* ``layout="HWC"`` is not mapped (the runner sends NCHW): Unsupported.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np

from ..opnames import uint8_aliases
from . import Target, Unsupported
from . import _onnx_models as om

#: How many imported networks one worker keeps.
CACHE_SIZE = 64

#: The names OpenCV gives its own ONNX graph engine: ENGINE_NEW in 5.0, ENGINE_OPENCV from 5.1 on.
ENGINE_NAMES = ("ENGINE_NEW", "ENGINE_OPENCV")


def dnn_engine(cv2: Any) -> int:
    """The ``engine`` argument of ``cv2.dnn.readNetFromONNX`` that selects OpenCV's own graph engine."""
    for name in ENGINE_NAMES:
        if hasattr(cv2.dnn, name):
            return int(getattr(cv2.dnn, name))
    raise Unsupported(f"OpenCV {cv2.__version__} has none of cv2.dnn.{' / '.join(ENGINE_NAMES)} (OpenCV 5's "
                      f"graph engine, which the adapter runs)")


@uint8_aliases
class OpenCVTarget(Target):
    name = "opencv"
    requires = ("cv2", "onnx")
    #: Rejection conformance: node attributes and inputs cv2.dnn receives as they are; NMS thresholds
    #: and boxes as cv2.dnn.NMSBoxes receives them (issue 13).
    passes_invalid = {**{op: ("stride", "dilation", "padding", "groups", "kernel_size", "x-3d", "w-channels",
                              "b-short", "groups-not-dividing", "kernel-too-large", "output-padding-at-stride")
                         for op in ("conv2d", "conv_transpose2d", "max_pool2d", "avg_pool2d")},
                      **{op: ("iou_threshold", "inverted-box", "nan-box", "nan-score")
                         for op in ("nms", "batched_nms", "soft_nms")}}
    devices = ("cpu",)

    def __init__(self) -> None:
        super().__init__()
        self._nets: OrderedDict[Any, Any] = OrderedDict()
        self._per_image: bool | None = None

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
        self._per_image = None

    def _net(self, spec: om.NodeModel) -> Any:
        net = self._nets.get(spec)
        if net is not None:
            self._nets.move_to_end(spec)
            return net
        import cv2

        model = np.frombuffer(spec.build().SerializeToString(), dtype=np.uint8)
        net = cv2.dnn.readNetFromONNX(model, dnn_engine(cv2))
        self._nets[spec] = net
        if len(self._nets) > CACHE_SIZE:
            self._nets.popitem(last=False)
        return net

    def _run(self, spec: om.NodeModel, arrays: dict[str, Any]) -> list[np.ndarray | None]:
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
            idx = om.plane_indices(idx, np.shape(x), per_image=self._indices_per_image())
        return out[0], idx

    def _indices_per_image(self) -> bool:
        """Whether OpenCV flattens MaxPool's Indices over one image (5.0: ``c·H·W + h·W + w``) rather
        than over the whole tensor as ONNX says (5.1): read from a 1x1 MaxPool of a (2, 2, 1, 1) input,
        whose indices are [0, 1, 2, 3] flattened over the tensor and [0, 1, 0, 1] over each image."""
        if self._per_image is None:
            spec = om.max_pool_model((2, 2, 1, 1), "float32", 1, return_indices=True)
            raw = self._run(spec, {"x": np.zeros((2, 2, 1, 1), np.float32)})[1]
            got = None if raw is None else np.asarray(raw).ravel().tolist()
            if got == [0, 1, 2, 3]:
                self._per_image = False
            elif got == [0, 1, 0, 1]:
                self._per_image = True
            else:
                raise RuntimeError(f"OpenCV's MaxPool Indices of a 1x1 window over a (2, 2, 1, 1) input are {got}: "
                                   f"neither flattened over the tensor [0, 1, 2, 3] nor over each image [0, 1, 0, 1]")
        return self._per_image

    def avg_pool2d(self, x, kernel_size, *, stride=None, padding=0, ceil_mode=False,
                   count_include_pad=True, divisor_override=None):
        spec = om.avg_pool_model(np.shape(x), self.dtype, kernel_size, stride=stride, padding=padding,
                                 ceil_mode=ceil_mode, count_include_pad=count_include_pad,
                                 divisor_override=divisor_override)
        return self._run(spec, {"x": x})[0]

    # --- augmentation (AUG-*) ------------------------------------------------------------------

    _INTER = {"nearest": "INTER_NEAREST", "bilinear": "INTER_LINEAR"}
    _BORDER = {"constant": "BORDER_CONSTANT", "nearest": "BORDER_REPLICATE", "reflect": "BORDER_REFLECT",
               "wrap": "BORDER_WRAP"}

    @staticmethod
    def _planes(x: Any, fn: Any, layout: str = "NCHW") -> np.ndarray:
        """``fn`` on every (n, c) plane of an NCHW batch, as OpenCV images."""
        if layout != "NCHW":
            raise Unsupported("the adapter maps NCHW batches only")
        x = np.ascontiguousarray(x)
        out = [[fn(np.ascontiguousarray(x[n, c])) for c in range(x.shape[1])] for n in range(x.shape[0])]
        return np.ascontiguousarray(np.array(out, dtype=x.dtype).reshape(x.shape))

    def _warp(self, x, m, interpolation="bilinear", fill_mode="constant", fill_value=0.0, layout="NCHW"):
        import cv2

        flags = getattr(cv2, self._INTER[interpolation])
        border = getattr(cv2, self._BORDER[fill_mode])
        h, w = x.shape[2], x.shape[3]
        m = np.asarray(m, dtype=np.float64)[:2]
        return self._planes(x, lambda p: cv2.warpAffine(p, m, (w, h), flags=flags, borderMode=border,
                                                        borderValue=float(fill_value)), layout)

    @staticmethod
    def _centre(x) -> tuple[float, float]:
        return ((x.shape[3] - 1) / 2, (x.shape[2] - 1) / 2)

    def rotate(self, x, angle, **kw):
        import cv2

        return self._warp(x, cv2.getRotationMatrix2D(self._centre(x), float(angle), 1.0), **kw)

    def translate(self, x, tx, ty, **kw):
        return self._warp(x, [[1.0, 0.0, float(tx)], [0.0, 1.0, float(ty)]], **kw)

    def zoom(self, x, factor, **kw):
        import cv2

        cx, cy = self._centre(x)
        if isinstance(factor, (tuple, list)):
            fx, fy = (float(f) for f in factor)
            m = [[fx, 0.0, (1 - fx) * cx], [0.0, fy, (1 - fy) * cy]]
        else:
            m = cv2.getRotationMatrix2D((cx, cy), 0.0, float(factor))
        return self._warp(x, m, **kw)

    def shear(self, x, angle, **kw):
        import math

        t = math.tan(math.radians(float(angle)))
        _, cy = self._centre(x)
        return self._warp(x, [[1.0, t, -t * cy], [0.0, 1.0, 0.0]], **kw)

    def affine(self, x, matrix, **kw):
        return self._warp(x, matrix, **kw)

    def hflip(self, x, layout="NCHW"):
        import cv2

        return self._planes(x, lambda p: cv2.flip(p, 1), layout)

    def vflip(self, x, layout="NCHW"):
        import cv2

        return self._planes(x, lambda p: cv2.flip(p, 0), layout)

    @staticmethod
    def _arithmetic(fn: Any, plane: np.ndarray, value: float) -> np.ndarray:
        """``fn(plane, value)``: cv2.multiply or cv2.add with ``value`` a Scalar, as users call them. A
        plane of a Scalar's own shape (n x 1, n <= 4) may be read as a Scalar by the binding (OpenCV 5.1
        returns a 4x1 result for a 1x1 plane, 5.0 refuses a 4x1 one); such a plane, when that happens,
        gets ``value`` as a float64 array of its shape, with ``dtype`` = its depth (on larger planes both
        forms give the same uint8 results in 5.0 and 5.1)."""
        import cv2

        if not (plane.ndim == 2 and plane.shape[1] == 1 and plane.shape[0] <= 4):
            return fn(plane, value)
        try:
            out = fn(plane, value)
            if out.shape == plane.shape:
                return out
        except cv2.error:
            pass
        depth = {np.dtype(np.uint8): cv2.CV_8U, np.dtype(np.float32): cv2.CV_32F,
                 np.dtype(np.float64): cv2.CV_64F}[plane.dtype]
        return fn(plane, np.full(plane.shape, value, dtype=np.float64), dtype=depth)

    def adjust_brightness(self, x, factor, layout="NCHW"):
        import cv2

        return self._planes(x, lambda p: self._arithmetic(cv2.multiply, p, float(factor)), layout)

    def channel_shift(self, x, offset, layout="NCHW"):
        import cv2

        if layout != "NCHW":
            raise Unsupported("the adapter maps NCHW batches only")
        off = np.broadcast_to(np.asarray(offset, dtype=np.float64), (x.shape[1],))
        out = np.empty_like(x)
        for n in range(x.shape[0]):
            for c in range(x.shape[1]):
                out[n, c] = self._arithmetic(cv2.add, np.ascontiguousarray(x[n, c]), float(off[c]))
        return out

    # --- detection (NMS-*: issue 4) --------------------------------------------------------------
    #
    # cv2.dnn.NMSBoxes / NMSBoxesBatched / softNMSBoxes take (x, y, w, h) rectangles ("xywh"): the
    # case's boxes are converted by _box_formats.to_format in float64 (Rect2d holds doubles; from xyxy
    # it is a subtraction, Unsupported where it would round). Scores are float32 (runs are float32).
    # Parameters are mapped by the functions' documentation:
    # - score_threshold: OpenCV asserts score_threshold >= 0 and keeps scores > it; a threshold >= 0
    #   goes through as the largest float32 <= it; None -> 0.0 when every score is > 0 (the same
    #   candidates), else Unsupported; a negative threshold is Unsupported.
    # - max_output -> top_k ("if > 0, keep at most top_k picked indices"); None -> 0 (no limit);
    #   max_output = 0 has no spelling (top_k = 0 means no limit): Unsupported. eta = 1 (no adaptive
    #   threshold); nms_threshold = iou_threshold.
    # - batched_nms -> NMSBoxesBatched(class_ids=classes); its top_k counts all classes together, so
    #   max_output_per_class is Unsupported unless it is >= N (no limit at all).
    # - soft_nms -> softNMSBoxes, which takes integer Rect boxes only: a case whose xywh numbers are
    #   not all int32 integers is Unsupported; gaussian / linear -> SOFT_NMSMETHOD_SOFTNMS_GAUSSIAN /
    #   _LINEAR, sigma as given, top_k = 0.
    # OpenCV has no box IoU function in Python: box_iou is not implemented.

    @staticmethod
    def _nms_threshold(scores: np.ndarray, score_threshold: Any) -> float:
        from ._box_formats import down32

        if score_threshold is None:
            if scores.size and not (scores > 0).all():
                raise Unsupported("no score threshold with a score <= 0: cv2.dnn NMS requires score_threshold "
                                  ">= 0 and keeps only scores above it")
            return 0.0
        if score_threshold < 0:
            raise Unsupported(f"score_threshold={score_threshold!r}: cv2.dnn NMS asserts score_threshold >= 0")
        return down32(float(score_threshold))

    def _nms_rects(self, boxes: Any, fmt: str) -> list[tuple[float, ...]]:
        from ._box_formats import to_format

        if self.dtype != "float32":
            raise Unsupported(f"cv2.dnn NMS takes float32 scores; the opencv target runs float32 only, "
                              f"not {self.dtype}")
        return [tuple(r) for r in to_format(boxes, fmt, "xywh", np.float64).tolist()]

    def nms(self, boxes, scores, iou_threshold, *, score_threshold=None, max_output=None, fmt="xyxy"):
        import cv2

        rects = self._nms_rects(boxes, fmt)
        s = np.asarray(scores, dtype=np.float32)
        if max_output == 0:
            raise Unsupported("max_output=0: NMSBoxes's top_k = 0 means no limit")
        top_k = 0 if max_output is None else int(max_output)
        out = cv2.dnn.NMSBoxes(rects, s.tolist(), self._nms_threshold(s, score_threshold), float(iou_threshold),
                               1.0, top_k)
        return np.asarray(out, dtype=np.int64).reshape(-1)

    def batched_nms(self, boxes, scores, classes, iou_threshold, *, score_threshold=None,
                    max_output_per_class=None, fmt="xyxy"):
        import cv2

        rects = self._nms_rects(boxes, fmt)
        s = np.asarray(scores, dtype=np.float32)
        if max_output_per_class is not None and max_output_per_class < len(rects):
            raise Unsupported("max_output_per_class: NMSBoxesBatched's top_k limits all classes together")
        ids = np.asarray(classes, dtype=np.int64)
        if ids.size and (ids.min() < -2**31 or ids.max() >= 2**31):
            raise Unsupported("class ids beyond int32")
        out = cv2.dnn.NMSBoxesBatched(rects, s.tolist(), ids.astype(np.int32).tolist(),
                                      self._nms_threshold(s, score_threshold), float(iou_threshold), 1.0, 0)
        return np.asarray(out, dtype=np.int64).reshape(-1)

    def soft_nms(self, boxes, scores, *, sigma=0.5, iou_threshold=0.3, score_threshold=0.001,
                 method="gaussian", fmt="xyxy"):
        import cv2

        rects = np.asarray(self._nms_rects(boxes, fmt), dtype=np.float64).reshape(-1, 4)
        if not (np.all(rects == np.round(rects)) and np.all(np.abs(rects) < 2**31)):
            raise Unsupported("cv2.dnn.softNMSBoxes takes integer (x, y, w, h) rectangles only")
        s = np.asarray(scores, dtype=np.float32)
        kind = {"gaussian": cv2.dnn.SOFT_NMSMETHOD_SOFTNMS_GAUSSIAN,
                "linear": cv2.dnn.SOFT_NMSMETHOD_SOFTNMS_LINEAR}[method]
        new_scores, idx = cv2.dnn.softNMSBoxes([tuple(int(v) for v in r) for r in rects], s.tolist(),
                                               self._nms_threshold(s, score_threshold), float(iou_threshold),
                                               0, float(sigma), kind)
        return (np.asarray(idx, dtype=np.int64).reshape(-1),
                np.asarray(new_scores, dtype=np.float32).reshape(-1))


TARGET = OpenCVTarget
