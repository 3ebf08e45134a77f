"""The names of the runner's ops, as data: what a worker lists and an adapter aliases.

No reference, no Hypothesis, no strategy: a worker process and an adapter import this
module, not the op table (conformance/ops.py), so checking a golden corpus or loading one
adapter stays light (GOLD-9). tests/test_registry.py holds it equal to the op table.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

CONV_OPS = ("conv2d", "conv2d_backward", "conv_transpose2d", "max_pool2d", "avg_pool2d", "max_pool2d_backward",
            "avg_pool2d_backward", "im2col")
#: Augmentation ops that keep the value range: each has a ``<op>_uint8`` twin checked on uint8 images.
VALUE_PRESERVING = ("rotate", "translate", "zoom", "shear", "affine", "hflip", "vflip", "adjust_brightness",
                    "channel_shift")
AUGMENTATION_OPS = tuple(o for op in VALUE_PRESERVING for o in (op, f"{op}_uint8")) + (
    "rescale", "featurewise_fit", "featurewise_standardize", "samplewise_standardize")
DETECTION_OPS = ("box_iou", "nms", "batched_nms", "soft_nms")
SIZE_OPS = ("conv_output_size", "conv_transpose_output_size", "same_padding", "conv2d_cost", "col2im")
BOX_OPS = ("box_convert", "box_area")
SEGMENTATION_OPS = ("segmentation_labels", "confusion_matrix", "pixel_accuracy", "per_class_iou", "mean_iou",
                    "dense_crf")
#: Every op the runner checks, in the op table's order.
OP_NAMES = CONV_OPS + AUGMENTATION_OPS + DETECTION_OPS + SIZE_OPS + BOX_OPS + SEGMENTATION_OPS
#: Ops whose results are numbers, not arrays (an int, a pair of ints, a Cost, a float): the worker
#: turns each number a target returns into a 0-d array, so the comparison judges it like any output.
SCALAR_RESULTS = ("conv_output_size", "conv_transpose_output_size", "same_padding", "conv2d_cost",
                  "pixel_accuracy", "mean_iou")


def uint8_aliases(cls: type) -> type:
    """Class decorator for adapters: ``<op>_uint8`` calls ``<op>`` for every value-preserving
    op the class defines (the runner calls a uint8 op's cases through that name)."""
    for op in VALUE_PRESERVING:
        if callable(getattr(cls, op, None)) and not hasattr(cls, f"{op}_uint8"):
            setattr(cls, f"{op}_uint8", _alias(op))
    return cls


def _alias(op: str) -> Callable[..., Any]:
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        return getattr(self, op)(*args, **kwargs)
    method.__name__ = f"{op}_uint8"
    return method
