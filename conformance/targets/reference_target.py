"""The ``reference`` target: the reference's definitional forms, checked against its fast path.

Running the runner against this target checks the reference itself: the fast forms the
public API uses (strided views, BLAS) against direct transcriptions of the clauses.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import reference
import reference.augmentation as aug
from reference.boxes import box_iou_definitional
from reference.conv2d import conv2d_backward_definitional, conv2d_definitional
from reference.conv_transpose2d import conv_transpose2d_definitional
from reference.im2col import im2col_definitional
from reference.nms import batched_nms_definitional, nms_definitional, soft_nms_definitional
from reference.pooling import (
    avg_pool2d_backward_definitional,
    avg_pool2d_definitional,
    max_pool2d_backward_definitional,
    max_pool2d_definitional,
)

from ..opnames import uint8_aliases
from . import Target


def _f64(*arrays: Any) -> list[np.ndarray]:
    return [None if a is None else np.asarray(a, dtype=np.float64) for a in arrays]


@uint8_aliases
class ReferenceTarget(Target):
    name = "reference"
    requires = ()

    def invalid_keys(self, op: str) -> tuple[str, ...]:
        # The raw clause forms here (hflip by index arithmetic …) check nothing: the reference's
        # rejections are tested by tests/test_errors.py, not by this target.
        return ()

    def version(self) -> str:
        return reference.__version__

    def conv2d(self, x, w, b=None, **kw):
        return conv2d_definitional(*_f64(x, w, b), **kw)

    def box_iou(self, boxes1, boxes2, **kw):
        return box_iou_definitional(*_f64(boxes1, boxes2), **kw)

    def nms(self, boxes, scores, iou_threshold, **kw):
        return nms_definitional(*_f64(boxes, scores), iou_threshold, **kw)

    def batched_nms(self, boxes, scores, classes, iou_threshold, **kw):
        return batched_nms_definitional(*_f64(boxes, scores), classes, iou_threshold, **kw)  # classes: ints

    def soft_nms(self, boxes, scores, **kw):
        return soft_nms_definitional(*_f64(boxes, scores), **kw)

    def conv2d_backward(self, dy, x, w, **kw):
        return conv2d_backward_definitional(*_f64(dy, x, w), **kw)

    def conv_transpose2d(self, x, w, b=None, **kw):
        return conv_transpose2d_definitional(*_f64(x, w, b), **kw)

    def max_pool2d(self, x, kernel_size, *, return_indices=False, **kw):
        y, idx = max_pool2d_definitional(*_f64(x), kernel_size, **kw)
        return (y, idx) if return_indices else y

    def max_pool2d_backward(self, dy, x, kernel_size, **kw):
        return max_pool2d_backward_definitional(*_f64(dy, x), kernel_size, **kw)

    def avg_pool2d(self, x, kernel_size, **kw):
        return avg_pool2d_definitional(*_f64(x), kernel_size, **kw)

    def avg_pool2d_backward(self, dy, x, kernel_size, **kw):
        return avg_pool2d_backward_definitional(*_f64(dy, x), kernel_size, **kw)

    def im2col(self, x, kernel_size, **kw):
        return im2col_definitional(*_f64(x), kernel_size, **kw)

    # --- augmentation: the per-pixel loop of AUG-4 with each clause's matrix --------------------

    def rotate(self, x, angle, **kw):
        return self._warp(x, aug.rotation_matrix, (angle,), kw)

    def translate(self, x, tx, ty, **kw):
        return self._warp(x, aug.translation_matrix, (tx, ty), kw)

    def zoom(self, x, factor, **kw):
        return self._warp(x, aug.zoom_matrix, (factor,), kw)

    def shear(self, x, angle, **kw):
        return self._warp(x, aug.shear_matrix, (angle,), kw)

    def affine(self, x, matrix, **kw):
        return aug.affine_definitional(x, matrix, **kw)

    @staticmethod
    def _warp(x, matrix_fn, params, kw):
        layout = kw.get("layout", "NCHW")
        h, w = np.shape(x)[2:] if layout == "NCHW" else np.shape(x)[:2]
        return aug.affine_definitional(x, matrix_fn(*params, h, w), **kw)

    def hflip(self, x, layout="NCHW"):
        return np.ascontiguousarray(_flip_raw(x, 3 if layout == "NCHW" else 1))

    def vflip(self, x, layout="NCHW"):
        return np.ascontiguousarray(_flip_raw(x, 2 if layout == "NCHW" else 0))

    adjust_brightness = staticmethod(aug.adjust_brightness)
    channel_shift = staticmethod(aug.channel_shift)
    rescale = staticmethod(aug.rescale)
    featurewise_fit = staticmethod(aug.featurewise_fit)
    featurewise_standardize = staticmethod(aug.featurewise_standardize)
    samplewise_standardize = staticmethod(aug.samplewise_standardize)


def _flip_raw(x: Any, axis: int) -> np.ndarray:
    """AUG-16/17 as the clause reads: ``out[..., j] = x[..., W - 1 - j]`` by index arithmetic."""
    x = np.asarray(x)
    n = x.shape[axis]
    out = np.take(x, [n - 1 - j for j in range(n)], axis=axis)
    return out if out.dtype.kind in "iu" else out.astype(np.float64)


TARGET = ReferenceTarget
