"""The ``reference`` target: the reference's definitional forms, checked against its fast path.

Running the runner against this target checks the reference itself: the fast forms the
public API uses (strided views, BLAS) against direct transcriptions of the clauses.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np

import reference
import reference.augmentation as aug
import reference.segmentation as seg
from reference._params import as_int
from reference.boxes import box_area_definitional, box_convert_definitional, box_iou_definitional
from reference.conv2d import conv2d_backward_definitional, conv2d_definitional
from reference.conv_transpose2d import conv_transpose2d_definitional
from reference.im2col import col2im_definitional, im2col_definitional
from reference.nms import batched_nms_definitional, nms_definitional, soft_nms_definitional
from reference.pooling import (
    avg_pool2d_backward_definitional,
    avg_pool2d_definitional,
    max_pool2d_backward_definitional,
    max_pool2d_definitional,
)

from ..opnames import uint8_aliases
from . import Target


def _f64(*arrays: Any) -> list[np.ndarray | None]:
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

    # --- sizes and costs: read off the ops that use them --------------------------------------------
    #
    # The one-axis helpers are the sizes every op uses (SIZE-3 ... SIZE-8): here they are read off the
    # output shape of the definitional max pooling / transposed convolution on a (1, 1, size, 1)
    # input, so the helpers are checked against the ops' own geometry. same_padding is SIZE-5 /
    # SIZE-6 transcribed; conv2d_cost counts COST-1's terms as (outputs of conv2d) x (taps per output).

    def conv_output_size(self, size, kernel_size, *, stride=1, padding=0, dilation=1, ceil_mode=False):
        pads = padding if isinstance(padding, str) else (
            (padding, (0, 0)) if isinstance(padding, (tuple, list)) else ((padding, padding), (0, 0)))
        x = np.zeros((1, 1, as_int(size, "size", "SIZE-1", 1), 1))
        y, _ = max_pool2d_definitional(x, (kernel_size, 1), stride=(stride, 1), padding=pads,
                                       dilation=(dilation, 1), ceil_mode=ceil_mode)
        return np.int64(y.shape[2])

    def conv_transpose_output_size(self, size, kernel_size, *, stride=1, padding=0, output_padding=0,
                                   dilation=1):
        pads = (padding, (0, 0)) if isinstance(padding, (tuple, list)) else ((padding, padding), (0, 0))
        x = np.zeros((1, 1, as_int(size, "size", "SIZE-1", 1), 1))
        w = np.zeros((1, 1, as_int(kernel_size, "kernel_size", "SIZE-1", 1), 1))
        y = conv_transpose2d_definitional(x, w, stride=(stride, 1), padding=pads,
                                          output_padding=(output_padding, 0), dilation=(dilation, 1))
        return np.int64(y.shape[2])

    def same_padding(self, size, kernel_size, *, stride=1, dilation=1, lower=False):
        n, k = as_int(size, "size", "SIZE-1", 1), as_int(kernel_size, "kernel_size", "SIZE-1", 1)
        s, d = as_int(stride, "stride", "SIZE-1", 1), as_int(dilation, "dilation", "SIZE-1", 1)
        out = math.ceil(Fraction(n, s))  # OH = ceil(H / S)
        total = max((out - 1) * s + d * (k - 1) + 1 - n, 0)
        floor_half = total // 2
        return (total - floor_half, floor_half) if lower else (floor_half, total - floor_half)

    def conv2d_cost(self, x_shape, w_shape, *, stride=1, padding=0, dilation=1, groups=1, bias=True):
        n = as_int(x_shape[0], "x_shape", "CONV-2", 0)
        # conv2d itself validates the shapes and options and gives (0, M, OH, OW) for an empty batch.
        y = reference.conv2d(np.zeros((0,) + tuple(x_shape[1:])), np.zeros(tuple(w_shape)), stride=stride,
                             padding=padding, dilation=dilation, groups=groups)
        outputs = n * int(np.prod(y.shape[1:]))
        taps = int(np.prod(w_shape[1:]))  # C/G·KH·KW multiply-adds per output (CONV-1)
        macs = outputs * taps
        return (macs, 2 * macs + (outputs if bias else 0), int(np.prod(w_shape)) + (int(w_shape[0]) if bias else 0))

    def col2im(self, col, x_shape, kernel_size, **kw):
        return col2im_definitional(*_f64(col), x_shape, kernel_size, **kw)

    # --- boxes and segmentation ---------------------------------------------------------------------

    def box_convert(self, boxes, in_fmt, out_fmt):
        return box_convert_definitional(*_f64(boxes), in_fmt, out_fmt)

    def box_area(self, boxes, **kw):
        return box_area_definitional(*_f64(boxes), **kw)

    segmentation_labels = staticmethod(seg.segmentation_labels_definitional)
    confusion_matrix = staticmethod(seg.confusion_matrix_definitional)

    def pixel_accuracy(self, cm):
        maps = _label_maps(cm)
        if maps is not None:
            return np.float64(seg.pixel_accuracy_definitional(*maps))
        a = seg._cm(cm)
        total = sum(float(v) for v in a.ravel())
        return np.float64(sum(float(a[c, c]) for c in range(a.shape[0])) / total if total else math.nan)

    def per_class_iou(self, cm):
        maps = _label_maps(cm)
        return seg.per_class_iou_definitional(*maps) if maps is not None else np.array(_iou_loops(cm))

    def mean_iou(self, cm):
        maps = _label_maps(cm)
        if maps is not None:
            return np.float64(seg.mean_iou_definitional(*maps))
        vals = [v for v in _iou_loops(cm) if not math.isnan(v)]
        return np.float64(sum(vals) / len(vals) if vals else math.nan)

    def dense_crf(self, unary_logits, image, **kw):
        return seg.dense_crf_definitional(*_f64(unary_logits, image), **kw)

    adjust_brightness = staticmethod(aug.adjust_brightness)
    channel_shift = staticmethod(aug.channel_shift)
    rescale = staticmethod(aug.rescale)
    featurewise_fit = staticmethod(aug.featurewise_fit)
    featurewise_standardize = staticmethod(aug.featurewise_standardize)
    samplewise_standardize = staticmethod(aug.samplewise_standardize)


def _label_maps(cm: Any) -> tuple[np.ndarray, np.ndarray, int] | None:
    """A matrix of counts as the label maps it counts: (pred, target, C), one pixel per count, so the
    metrics' definitional forms (which count pixel sets) check the matrix forms; None for weighted
    (non-integer) counts."""
    a = seg._cm(cm)  # SEG-8's argument checks
    if not np.all(a == np.round(a)) or a.sum() > 1e6:
        return None
    c = a.shape[0]
    counts = a.astype(np.int64).ravel()
    truth = np.repeat(np.repeat(np.arange(c), c), counts)
    pred = np.repeat(np.tile(np.arange(c), c), counts)
    return pred, truth, c


def _iou_loops(cm: Any) -> list[float]:
    """SEG-6 as the clause reads, on a matrix of weighted counts: TP / (TP + FP + FN) per class."""
    a = seg._cm(cm)
    c = a.shape[0]
    out = []
    for k in range(c):
        tp = float(a[k, k])
        fn = sum(float(a[k, p]) for p in range(c) if p != k)
        fp = sum(float(a[t, k]) for t in range(c) if t != k)
        out.append(tp / (tp + fp + fn) if tp + fp + fn > 0 else math.nan)
    return out


def _flip_raw(x: Any, axis: int) -> np.ndarray:
    """AUG-16/17 as the clause reads: ``out[..., j] = x[..., W - 1 - j]`` by index arithmetic."""
    x = np.asarray(x)
    n = x.shape[axis]
    out = np.take(x, [n - 1 - j for j in range(n)], axis=axis)
    return out if out.dtype.kind in "iu" else out.astype(np.float64)


TARGET = ReferenceTarget
