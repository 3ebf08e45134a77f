"""Fault: confusion_matrix does not skip ignore_index; it counts every pixel whose target is a class
(and drops out-of-range targets silently), so only an ignore_index inside [0, C) shows (SEG-4)."""

import numpy as np


def confusion_matrix(pred, target, num_classes, *, ignore_index=None):
    p = np.asarray(pred, dtype=np.int64).ravel()
    t = np.asarray(target, dtype=np.int64).ravel()
    keep = (t >= 0) & (t < num_classes)
    return np.bincount(t[keep] * num_classes + p[keep], minlength=num_classes ** 2).reshape(
        num_classes, num_classes).astype(np.int64)
