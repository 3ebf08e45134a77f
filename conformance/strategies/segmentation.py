"""Strategies for the segmentation ops (spec/segmentation.md): labels, confusion matrix, the
metrics of a confusion matrix and the dense CRF, as runner cases.

They wrap the drawing strategies of conformance/strategies/boxes.py (label maps with classes
absent from prediction, truth or both, ``ignore_index`` None, 255, -1 or a class; logits of small
integers with ties and ±inf; small CRF problems) and add what the runner needs: real-valued
logits, empty label maps, and confusion matrices of counts (int64) or of weighted counts
(float64, SEG-8). Valid by construction. Shrinking goes towards one class and one pixel.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from ..types import Case
from . import booleans, integers
from .boxes import crf_cases, segmentation_cases, segmentation_logits


@st.composite
def segmentation_labels_cases(draw: Any) -> Case:
    """segmentation_labels(logits): (C, H, W) or (N, C, H, W) with N from 0, small-integer logits
    (ties, ±inf) or, a third of the time, standard normals."""
    x = draw(segmentation_logits(max_classes=5, max_side=5))
    real = draw(integers(0, 2)) == 2
    seed = draw(integers(0, 2**32 - 1))
    if real:
        x = np.random.default_rng(seed).standard_normal(x.shape)
    return Case("segmentation_labels", {"logits": x}, {}, False, "real data" if real else "")


@st.composite
def _label_maps(draw: Any) -> dict[str, Any]:
    d = draw(segmentation_cases(max_classes=5, max_side=6))
    if draw(integers(0, 9)) == 9:  # empty label maps: a zero matrix (SEG-2)
        d = {**d, "pred": d["pred"].reshape(-1)[:0], "target": d["target"].reshape(-1)[:0]}
    return d


@st.composite
def confusion_matrix_cases(draw: Any) -> Case:
    """confusion_matrix(pred, target, num_classes, ignore_index): (H, W) or (N, H, W) int64 maps."""
    d = draw(_label_maps())
    params = {"num_classes": d["num_classes"], "ignore_index": d["ignore_index"]}
    return Case("confusion_matrix", {"pred": d["pred"], "target": d["target"]}, params)


@st.composite
def confusion_matrices(draw: Any) -> np.ndarray:
    """A (C, C) confusion matrix: the counts of a drawn segmentation (int64; classes absent from
    both maps, all-ignored images), or those counts weighted by positive reals (float64)."""
    from reference import confusion_matrix

    d = draw(_label_maps())
    cm = confusion_matrix(d["pred"], d["target"], d["num_classes"], ignore_index=d["ignore_index"])
    weighted, seed = draw(booleans()), draw(integers(0, 2**32 - 1))
    if weighted:
        w = np.random.default_rng(seed).uniform(0.05, 4.0, cm.shape)
        return cm * w
    return cm


def metric_cases(op: str) -> st.SearchStrategy[Case]:
    """``op(cm)`` (pixel_accuracy, per_class_iou, mean_iou) on :func:`confusion_matrices`."""
    return confusion_matrices().map(lambda cm: Case(op, {"cm": cm}, {}, False,
                                                    "weighted counts" if cm.dtype.kind == "f" else ""))


@st.composite
def dense_crf_cases(draw: Any) -> Case:
    """dense_crf(unary_logits, image, iterations, theta_*, w_*): up to 3 classes on a 4 x 4 image of
    1 to 3 channels (0 ... 255), 0 to 5 iterations, the paper's thetas and weights from 0."""
    d = draw(crf_cases(max_classes=3, max_side=4, max_iterations=5))
    arrays = {"unary_logits": d.pop("unary_logits"), "image": d.pop("image")}
    return Case("dense_crf", arrays, d)


CASES = {
    "segmentation_labels": segmentation_labels_cases,
    "confusion_matrix": confusion_matrix_cases,
    "pixel_accuracy": lambda: metric_cases("pixel_accuracy"),
    "per_class_iou": lambda: metric_cases("per_class_iou"),
    "mean_iou": lambda: metric_cases("mean_iou"),
    "dense_crf": dense_crf_cases,
}

__all__ = ["CASES", "segmentation_labels_cases", "confusion_matrix_cases", "confusion_matrices",
           "metric_cases", "dense_crf_cases"]
