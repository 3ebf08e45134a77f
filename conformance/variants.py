"""Named variants: the reference recomputed under each convention the spec names.

When a target fails cases of an op, the runner recomputes every failing case under
each variant of that op and reports the variant whose results the target matches:
"this library pads max pooling with zeros (POOL-MAX-1, zero-pad)". A variant returns
the same list of outputs as the op's ``measure``. The list is composed here, explicitly,
from the families' plain values (conformance/ops_conv.py, ops_augmentation.py,
ops_detection.py, ops_sizes.py, ops_boxes.py, ops_segmentation.py).
"""

from __future__ import annotations

from . import ops_augmentation, ops_boxes, ops_conv, ops_detection, ops_segmentation, ops_sizes
from .types import Variant  # noqa: F401  (re-exported)

VARIANTS: list[Variant] = [*ops_conv.VARIANTS, *ops_augmentation.VARIANTS, *ops_detection.VARIANTS,
                           *ops_sizes.VARIANTS, *ops_boxes.VARIANTS, *ops_segmentation.VARIANTS]
#: Conventions for inputs the spec rejects: they name what a target that accepts an invalid case did.
INVALID_VARIANTS: list[Variant] = [*ops_conv.INVALID_VARIANTS, *ops_detection.INVALID_VARIANTS,
                                   *ops_sizes.INVALID_VARIANTS, *ops_boxes.INVALID_VARIANTS]

_BY_OP: dict[str, list[Variant]] = {}
for _v in VARIANTS:
    _BY_OP.setdefault(_v.op, []).append(_v)


def variants_for(op: str) -> list[Variant]:
    return list(_BY_OP.get(op, ()))


def invalid_variants_for(op: str) -> list[Variant]:
    return [v for v in INVALID_VARIANTS if v.op == op]
