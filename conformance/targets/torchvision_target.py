"""The ``torchvision`` target: augmentation ops (AUG-*) through ``torchvision.transforms.v2.functional``.

Written from torchvision's documentation (0.16 ... 0.28): it is not exercised where torchvision
cannot be installed beside the local torch build, and it is not in ``BUILTIN`` until it has
been run (``--target conformance.targets.torchvision_target:TorchvisionTarget`` meanwhile).

Images are NCHW ``torch`` tensors, which is torchvision's own layout (``[..., C, H, W]``):
float32 or float64 as the run says (float16 and bfloat16 too, where torchvision's kernels take
them), uint8 for the ``*_uint8`` ops. Parameters are passed as torchvision's documentation
describes them, not converted to the spec's conventions:

* ``rotate``    -> ``F.rotate(img, angle, interpolation, expand=False, center=None, fill=[v])``:
  degrees, documented as counter-clockwise, about the image centre.
* ``translate`` -> ``F.affine(img, angle=0.0, translate=[tx, ty], scale=1.0, shear=[0.0, 0.0],
  ...)``: the post-rotation translation in pixels (float in v2).
* ``zoom``      -> ``F.affine(img, angle=0.0, translate=[0, 0], scale=f, shear=[0.0, 0.0])``: one
  scale only, so an anisotropic ``(f_x, f_y)`` with f_x != f_y is Unsupported.
* ``shear``     -> ``F.affine(img, angle=0.0, translate=[0, 0], scale=1.0, shear=[angle, 0.0])``:
  a shear parallel to the x axis, in degrees, documented as clockwise (AUG-15 names that
  ``clockwise``).
* ``affine``    -> not implemented: torchvision's ``affine`` takes angle/translate/scale/shear,
  not a matrix.
* interpolation ``nearest`` / ``bilinear`` -> ``InterpolationMode.NEAREST`` / ``BILINEAR``.
  torchvision fills with a constant only (``fill``): fill modes ``nearest``, ``reflect`` and
  ``wrap`` are Unsupported.
* ``hflip`` / ``vflip`` -> ``F.horizontal_flip`` / ``F.vertical_flip``.
* ``adjust_brightness`` -> ``F.adjust_brightness(img, brightness_factor=factor)``: torchvision
  clamps float images to [0, 1] (AUG-2 ``clip-unit-interval``).
* ``featurewise_standardize`` -> ``F.normalize(img, mean, std)``: torchvision has no eps, so
  the spec's ``std + eps`` shows where eps is not negligible; float images only.
* ``channel_shift``, ``rescale``, ``featurewise_fit``, ``samplewise_standardize``: torchvision
  has no such function (not implemented).
* ``layout="HWC"`` is not mapped (the runner sends NCHW): Unsupported.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..opnames import uint8_aliases
from . import Target, Unsupported


@uint8_aliases
class TorchvisionTarget(Target):
    name = "torchvision"
    requires = ("torchvision",)
    #: No extra: PyPI's torchvision needs a torch release other than the pinned CPU build.
    install_hint = "pip install torchvision (with its matching torch)"
    devices = ("cpu", "cuda")

    def version(self) -> str:
        import torchvision

        return str(torchvision.__version__)

    def setup(self, dtype: str, device: str) -> None:
        super().setup(dtype, device)
        import torch
        import torchvision.transforms.v2.functional as F
        from torchvision.transforms import InterpolationMode

        if device == "cuda" and not torch.cuda.is_available():
            raise Unsupported("torch sees no CUDA device")
        self.torch, self.F, self.modes = torch, F, InterpolationMode
        self._dtype = {"float32": torch.float32, "float64": torch.float64, "float16": torch.float16,
                       "bfloat16": torch.bfloat16}[dtype]

    # --- conversion ------------------------------------------------------------------------------

    def _tensor(self, x: np.ndarray, layout: str) -> Any:
        if layout != "NCHW":
            raise Unsupported("the adapter maps NCHW batches only")
        t = self.torch.from_numpy(np.ascontiguousarray(x)).to(self.device)
        # bfloat16 travels as float32 holding bfloat16 values (conformance.dtypes)
        return t.to(self._dtype) if t.is_floating_point() else t

    def _numpy(self, t: Any) -> np.ndarray:
        t = t.detach().cpu()
        if t.dtype == self.torch.bfloat16:
            t = t.to(self.torch.float32)
        return np.ascontiguousarray(t.numpy())

    def _interp(self, interpolation: str) -> Any:
        return {"nearest": self.modes.NEAREST, "bilinear": self.modes.BILINEAR}[interpolation]

    @staticmethod
    def _fill(fill_mode: str, fill_value: float, x: np.ndarray) -> list[float]:
        if fill_mode != "constant":
            raise Unsupported(f"torchvision fills with a constant only (fill), not fill_mode={fill_mode!r}")
        return [float(fill_value)] * x.shape[1]

    def _affine(self, x, interpolation, fill_mode, fill_value, layout, *, angle=0.0, translate=(0.0, 0.0),
                scale=1.0, shear=(0.0, 0.0)):
        fill = self._fill(fill_mode, fill_value, x)
        out = self.F.affine(self._tensor(x, layout), angle=float(angle), translate=[float(t) for t in translate],
                            scale=float(scale), shear=[float(s) for s in shear],
                            interpolation=self._interp(interpolation), fill=fill)
        return self._numpy(out)

    # --- geometric ---------------------------------------------------------------------------------

    def rotate(self, x, angle, *, interpolation="bilinear", fill_mode="constant", fill_value=0.0,
               layout="NCHW"):
        fill = self._fill(fill_mode, fill_value, x)
        out = self.F.rotate(self._tensor(x, layout), float(angle), interpolation=self._interp(interpolation),
                            expand=False, center=None, fill=fill)
        return self._numpy(out)

    def translate(self, x, tx, ty, *, interpolation="bilinear", fill_mode="constant", fill_value=0.0,
                  layout="NCHW"):
        return self._affine(x, interpolation, fill_mode, fill_value, layout, translate=(tx, ty))

    def zoom(self, x, factor, *, interpolation="bilinear", fill_mode="constant", fill_value=0.0,
             layout="NCHW"):
        if isinstance(factor, (tuple, list)):
            if float(factor[0]) != float(factor[1]):
                raise Unsupported("torchvision's affine takes one scale for both axes")
            factor = factor[0]
        return self._affine(x, interpolation, fill_mode, fill_value, layout, scale=factor)

    def shear(self, x, angle, *, interpolation="bilinear", fill_mode="constant", fill_value=0.0,
              layout="NCHW"):
        return self._affine(x, interpolation, fill_mode, fill_value, layout, shear=(angle, 0.0))

    def hflip(self, x, layout="NCHW"):
        return self._numpy(self.F.horizontal_flip(self._tensor(x, layout)))

    def vflip(self, x, layout="NCHW"):
        return self._numpy(self.F.vertical_flip(self._tensor(x, layout)))

    # --- photometric ---------------------------------------------------------------------------------

    def adjust_brightness(self, x, factor, layout="NCHW"):
        return self._numpy(self.F.adjust_brightness(self._tensor(x, layout), float(factor)))

    def featurewise_standardize(self, x, mean, std, *, eps=1e-6, layout="NCHW"):
        if x.dtype.kind != "f":
            raise Unsupported("torchvision's normalize takes float images only")
        if np.ndim(mean) > 1 or np.ndim(std) > 1:
            raise Unsupported("torchvision's normalize takes per-channel statistics only")
        c = x.shape[1]
        m = [float(v) for v in np.broadcast_to(np.asarray(mean, dtype=np.float64), (c,))]
        s = [float(v) for v in np.broadcast_to(np.asarray(std, dtype=np.float64), (c,))]
        return self._numpy(self.F.normalize(self._tensor(x, layout), mean=m, std=s))

    # --- detection (BOX-*, IOU-*, NMS-*: issue 4) ------------------------------------------------------
    #
    # From the torchvision.ops documentation (boxes there are (x1, y1, x2, y2)):
    # - box_iou(boxes1, boxes2, fmt) -> torchvision.ops.box_iou on xyxy boxes: "xyxy" as given; "xywh"
    #   and "cxcywh" through torchvision.ops.box_convert(boxes, in_fmt=fmt, out_fmt="xyxy"),
    #   torchvision's own conversion (checked with it); "yxyx", which torchvision does not name, by a
    #   column swap (a change of notation).
    # - nms -> torchvision.ops.nms(boxes, scores, iou_threshold); batched_nms ->
    #   torchvision.ops.batched_nms(boxes, scores, idxs, iou_threshold) with idxs the int64 labels as
    #   they are. Neither has a score threshold or an output limit: score_threshold, max_output and
    #   max_output_per_class other than None are Unsupported, not emulated (filtering or slicing in
    #   the adapter would test the adapter). No Soft-NMS in torchvision (not implemented).
    # - Boxes and scores get the run dtype (setup's mapping), labels stay int64; results come back
    #   as NumPy (bfloat16 as float32). A kernel torchvision lacks for a dtype or device ("not
    #   implemented for 'Half'", "Could not run 'torchvision::nms' ...") becomes Unsupported; any
    #   other exception propagates and is recorded as a failure.
    # The spec expects (IOU-3) box_iou of two zero-area boxes to be 0/0 = NaN here, and batched_nms
    # on few CPU boxes to offset each class by label * (max coordinate + 1) in the boxes' dtype,
    # which the curated case "class offsets far beyond float32's integers" probes (NMS-BATCH-2).

    _DET_UNSUPPORTED = ("not implemented for", "could not run", "no kernel", "not supported")

    def _det_tensor(self, a: Any, dtype: Any = None) -> Any:
        t = self.torch.from_numpy(np.ascontiguousarray(a))
        return t.to(device=self.device, dtype=self._dtype if dtype is None else dtype)

    def _det_call(self, fn: Any) -> Any:
        """Run ``fn``; torchvision's "no kernel for this dtype/device" answers become Unsupported."""
        try:
            return fn()
        except (RuntimeError, NotImplementedError) as exc:
            msg = str(exc).strip()
            if any(w in msg.lower() for w in self._DET_UNSUPPORTED):
                raise Unsupported(f"torchvision: {msg.splitlines()[0][:300]}") from exc
            raise

    def _det_xyxy(self, boxes: Any, fmt: str) -> Any:
        import torchvision.ops

        t = self._det_tensor(boxes)
        if fmt == "xyxy":
            return t
        if fmt == "yxyx":
            return t[:, [1, 0, 3, 2]].contiguous()
        return torchvision.ops.box_convert(t, in_fmt=fmt, out_fmt="xyxy")

    @staticmethod
    def _det_no_options(**options: Any) -> None:
        given = [k for k, v in options.items() if v is not None]
        if given:
            raise Unsupported(f"torchvision.ops NMS has no {' or '.join(given)} (only boxes, scores and "
                              f"iou_threshold)")

    def box_iou(self, boxes1, boxes2, *, fmt="xyxy"):
        import torchvision.ops

        return self._numpy(self._det_call(
            lambda: torchvision.ops.box_iou(self._det_xyxy(boxes1, fmt), self._det_xyxy(boxes2, fmt))))

    def nms(self, boxes, scores, iou_threshold, *, score_threshold=None, max_output=None, fmt="xyxy"):
        import torchvision.ops

        self._det_no_options(score_threshold=score_threshold, max_output=max_output)
        keep = self._det_call(lambda: torchvision.ops.nms(self._det_xyxy(boxes, fmt), self._det_tensor(scores),
                                                           float(iou_threshold)))
        return self._numpy(keep).astype(np.int64)

    def batched_nms(self, boxes, scores, classes, iou_threshold, *, score_threshold=None,
                    max_output_per_class=None, fmt="xyxy"):
        import torchvision.ops

        self._det_no_options(score_threshold=score_threshold, max_output_per_class=max_output_per_class)
        keep = self._det_call(lambda: torchvision.ops.batched_nms(
            self._det_xyxy(boxes, fmt), self._det_tensor(scores),
            self._det_tensor(np.asarray(classes, dtype=np.int64), self.torch.int64), float(iou_threshold)))
        return self._numpy(keep).astype(np.int64)


TARGET = TorchvisionTarget
