"""cnnspec's pure-NumPy reference: one module per op family, float64 throughout.

Every public function here implements clauses of spec/ and cites them in its
docstring; invalid input raises :class:`SpecError` (a ValueError) naming the
parameter, its value and the clause.
"""

from ._errors import SpecError
from .augmentation import (
    AUG_OP_VARIANTS,
    AUG_VARIANTS,
    adjust_brightness,
    affine,
    channel_shift,
    featurewise_fit,
    featurewise_standardize,
    hflip,
    rescale,
    rotate,
    rotation_matrix,
    samplewise_standardize,
    shear,
    shear_matrix,
    translate,
    translation_matrix,
    vflip,
    zoom,
    zoom_matrix,
)
from .boxes import box_area, box_convert, box_iou
from .conv2d import conv2d, conv2d_backward
from .conv_transpose2d import conv_transpose2d
from .cost import Cost, conv2d_cost
from .im2col import col2im, im2col
from .nms import batched_nms, nms, soft_nms
from .output_size import conv_output_size, conv_transpose_output_size, same_padding
from .pooling import avg_pool2d, avg_pool2d_backward, max_pool2d, max_pool2d_backward
from .segmentation import (
    confusion_matrix,
    dense_crf,
    mean_iou,
    per_class_iou,
    pixel_accuracy,
    segmentation_labels,
)

__version__ = "0.1.0"

__all__ = [
    "SpecError", "Cost",
    "conv2d", "conv2d_backward", "conv_transpose2d",
    "max_pool2d", "max_pool2d_backward", "avg_pool2d", "avg_pool2d_backward",
    "im2col", "col2im",
    "conv_output_size", "conv_transpose_output_size", "same_padding", "conv2d_cost",
    "box_convert", "box_area", "box_iou", "nms", "batched_nms", "soft_nms",
    "segmentation_labels", "confusion_matrix", "pixel_accuracy", "per_class_iou", "mean_iou", "dense_crf",
    "affine", "rotate", "translate", "zoom", "shear", "hflip", "vflip", "adjust_brightness",
    "channel_shift", "rescale", "featurewise_fit", "featurewise_standardize", "samplewise_standardize",
    "rotation_matrix", "translation_matrix", "zoom_matrix", "shear_matrix", "AUG_VARIANTS",
    "AUG_OP_VARIANTS",
]
