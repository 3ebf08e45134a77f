"""The ``pillow`` target: the augmentation ops (AUG-*, spec/augmentation.md) through Pillow.

Pillow images are 2-D: each (n, c) plane of the NCHW batch becomes one image, mode ``"F"``
(32-bit float) for float data and ``"L"`` (8-bit) for the ``*_uint8`` ops, whose arrays the
runner sends unchanged. Pillow computes ``"F"`` images in float32, so the target takes
``--dtype float32`` only (``setup`` raises Unsupported otherwise).

Parameters are passed the way Pillow's documentation describes them, not converted to the
spec's conventions; what Pillow does with them is what the runner reports:

* ``rotate``    -> ``Image.rotate(angle, resample, expand=False, fillcolor=fill_value)``: degrees,
  counter-clockwise, about Pillow's default centre.
* ``translate`` -> ``Image.rotate(0, resample, translate=(tx, ty), fillcolor=...)``: Pillow's one
  API that takes a translation ("post-rotate translation").
* ``zoom``      -> ``Image.transform(size, AFFINE, (1/f_x, 0, c_x - c_x/f_x, 0, 1/f_y,
  c_y - c_y/f_y))`` with ``c = (W/2, H/2)``, the centre ``rotate`` uses: AFFINE's data map each
  output pixel to the input point it shows, so a magnification by f is 1/f there, as the
  documentation of ``Image.transform`` says.
* ``shear``     -> ``Image.transform(size, AFFINE, (1, -tan φ, tan φ · c_y, 0, 1, 0))``: each
  output row reads the input ``tan φ · (y - c_y)`` to its left (the same output-to-input
  reading, about the same centre).
* ``affine``    -> ``Image.transform(size, AFFINE, matrix[:2].ravel())``: the spec's matrix as
  it is, which Pillow reads as the output-to-input map (AUG-4 ``inverse-matrix``).
* interpolation ``nearest`` / ``bilinear`` -> ``Resampling.NEAREST`` / ``Resampling.BILINEAR``.
  Pillow fills only with a constant (``fillcolor``): fill modes ``nearest``, ``reflect`` and
  ``wrap`` are Unsupported.
* ``hflip`` / ``vflip`` -> ``Image.transpose(FLIP_LEFT_RIGHT / FLIP_TOP_BOTTOM)``.
* ``adjust_brightness`` -> ``ImageEnhance.Brightness(image).enhance(factor)`` (8-bit images
  only: Pillow's ``blend`` refuses mode "F", so float images are Unsupported).
* ``channel_shift`` -> ``Image.point(lambda v: v + offset[c])`` per channel.
* ``rescale``   -> ``image.convert("F").point(lambda v: v * scale + offset)`` (float32 out).
* the standardisations: Pillow has none (not implemented).
* ``layout="HWC"`` is not mapped (the runner sends NCHW): Unsupported.

Known divergences from the spec are data, not prose: conformance/expectations/pillow.toml
(checked by tests/test_expectations.py; the README's findings table is generated from it).

"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..opnames import uint8_aliases
from . import Target, Unsupported


@uint8_aliases
class PillowTarget(Target):
    name = "pillow"
    requires = ("PIL",)
    devices = ("cpu",)

    def version(self) -> str:
        import PIL

        return str(PIL.__version__)

    @classmethod
    def installed_version(cls) -> str:
        from importlib import metadata

        try:
            return metadata.version("pillow")
        except metadata.PackageNotFoundError:
            return "?"

    def setup(self, dtype: str, device: str) -> None:
        super().setup(dtype, device)
        if dtype != "float32":
            raise Unsupported(f"Pillow computes float images in mode 'F' (float32); {dtype} data would be "
                              f"converted to float32, not computed in {dtype}")
        from PIL import Image

        self.Image = Image

    # --- planes ---------------------------------------------------------------------------------

    def _planes(self, x: np.ndarray, fn: Any, layout: str = "NCHW", out_dtype: Any = None) -> np.ndarray:
        """``fn(image)`` on every (n, c) plane as a Pillow image; the planes back as an NCHW batch."""
        if layout != "NCHW":
            raise Unsupported("the adapter maps NCHW batches only")
        if x.dtype not in (np.float32, np.uint8):
            raise Unsupported(f"Pillow has no single-channel mode for {x.dtype} planes")
        out = np.empty(x.shape, dtype=out_dtype or x.dtype)
        for n in range(x.shape[0]):
            for c in range(x.shape[1]):
                img = self.Image.fromarray(np.ascontiguousarray(x[n, c]))
                out[n, c] = np.asarray(fn(img, c))
        return out

    def _resample(self, interpolation: str) -> Any:
        r = self.Image.Resampling
        return {"nearest": r.NEAREST, "bilinear": r.BILINEAR}[interpolation]

    @staticmethod
    def _fill(x: np.ndarray, fill_mode: str, fill_value: float) -> Any:
        if fill_mode != "constant":
            raise Unsupported(f"Pillow fills with a constant only (fillcolor), not fill_mode={fill_mode!r}")
        return int(fill_value) if x.dtype == np.uint8 else float(fill_value)

    def _affine(self, x, data, interpolation, fill_mode, fill_value, layout):
        fill = self._fill(x, fill_mode, fill_value)
        resample = self._resample(interpolation)
        size = (x.shape[3], x.shape[2])
        data = tuple(float(v) for v in data)
        return self._planes(x, lambda im, c: im.transform(size, self.Image.Transform.AFFINE, data,
                                                          resample=resample, fillcolor=fill), layout)

    # --- geometric --------------------------------------------------------------------------------

    def rotate(self, x, angle, *, interpolation="bilinear", fill_mode="constant", fill_value=0.0,
               layout="NCHW"):
        fill = self._fill(x, fill_mode, fill_value)
        resample = self._resample(interpolation)
        return self._planes(x, lambda im, c: im.rotate(float(angle), resample=resample, expand=False,
                                                       fillcolor=fill), layout)

    def translate(self, x, tx, ty, *, interpolation="bilinear", fill_mode="constant", fill_value=0.0,
                  layout="NCHW"):
        fill = self._fill(x, fill_mode, fill_value)
        resample = self._resample(interpolation)
        t = (float(tx), float(ty))
        return self._planes(x, lambda im, c: im.rotate(0.0, resample=resample, translate=t, fillcolor=fill),
                            layout)

    def zoom(self, x, factor, *, interpolation="bilinear", fill_mode="constant", fill_value=0.0,
             layout="NCHW"):
        fx, fy = (float(factor[0]), float(factor[1])) if isinstance(factor, (tuple, list)) else (float(factor),) * 2
        cx, cy = x.shape[3] / 2, x.shape[2] / 2
        data = (1 / fx, 0.0, cx - cx / fx, 0.0, 1 / fy, cy - cy / fy)
        return self._affine(x, data, interpolation, fill_mode, fill_value, layout)

    def shear(self, x, angle, *, interpolation="bilinear", fill_mode="constant", fill_value=0.0,
              layout="NCHW"):
        t = math.tan(math.radians(float(angle)))
        cy = x.shape[2] / 2
        return self._affine(x, (1.0, -t, t * cy, 0.0, 1.0, 0.0), interpolation, fill_mode, fill_value, layout)

    def affine(self, x, matrix, *, interpolation="bilinear", fill_mode="constant", fill_value=0.0,
               layout="NCHW"):
        data = np.asarray(matrix, dtype=np.float64)[:2].reshape(-1)
        return self._affine(x, data, interpolation, fill_mode, fill_value, layout)

    def hflip(self, x, layout="NCHW"):
        t = self.Image.Transpose.FLIP_LEFT_RIGHT
        return self._planes(x, lambda im, c: im.transpose(t), layout)

    def vflip(self, x, layout="NCHW"):
        t = self.Image.Transpose.FLIP_TOP_BOTTOM
        return self._planes(x, lambda im, c: im.transpose(t), layout)

    # --- photometric --------------------------------------------------------------------------------

    def adjust_brightness(self, x, factor, layout="NCHW"):
        from PIL import ImageEnhance

        if x.dtype != np.uint8:
            raise Unsupported("ImageEnhance.Brightness blends with Image.blend, which refuses mode 'F'")
        return self._planes(x, lambda im, c: ImageEnhance.Brightness(im).enhance(float(factor)), layout)

    def channel_shift(self, x, offset, layout="NCHW"):
        off = np.broadcast_to(np.asarray(offset, dtype=np.float64), (x.shape[1],))
        return self._planes(x, lambda im, c: im.point(lambda v: v + float(off[c])), layout)

    def rescale(self, x, scale, *, offset=0.0, layout="NCHW"):
        s, b = float(scale), float(offset)
        return self._planes(x, lambda im, c: im.convert("F").point(lambda v: v * s + b), layout,
                            out_dtype=np.float32)


TARGET = PillowTarget
