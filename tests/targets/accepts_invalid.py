"""Fault: validates nothing — a negative padding is clamped to 0, a NaN score is dropped, an IoU threshold
above 1 is used as it is. Every valid case conforms; the spec's Errors items (SIZE-2, NMS-10, NMS-7) are not."""

import numpy as np

import reference
from reference.nms import nms_variant


def _clamp(padding):
    if isinstance(padding, int):
        return max(padding, 0)
    if isinstance(padding, (tuple, list)):
        return type(padding)(_clamp(p) for p in padding)
    return padding


def conv2d(x, w, b=None, *, padding=0, **kw):
    return reference.conv2d(x, w, b, padding=_clamp(padding), **kw)


def nms(boxes, scores, iou_threshold, **kw):
    return nms_variant(np.asarray(boxes), np.asarray(scores), iou_threshold,
                       variant=("nan-scores-dropped", "unchecked-threshold"), **kw)
