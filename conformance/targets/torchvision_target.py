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

from . import Target, Unsupported
from ..ops_augmentation import uint8_aliases


@uint8_aliases
class TorchvisionTarget(Target):
    name = "torchvision"
    requires = ("torchvision",)
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


TARGET = TorchvisionTarget
