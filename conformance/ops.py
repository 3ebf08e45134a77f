"""The registry of checked ops: for each, its reference, strategy, outputs and error model.

The runner, the golden-vector writer and the tests all read this table, so an op is
described once: how to draw cases, which clauses it exercises, and how the tolerance
model (conformance.tolerance) measures each of its outputs. The table is composed here,
explicitly, from the families' plain values; no module adds to it when imported.
"""

from __future__ import annotations

from . import ops_augmentation, ops_boxes, ops_conv, ops_detection, ops_segmentation, ops_sizes
from .types import Case, Expected, OpSpec  # noqa: F401  (re-exported: the registry's types)

#: The op families, in the table's order.
FAMILIES = (ops_conv, ops_augmentation, ops_detection, ops_sizes, ops_boxes, ops_segmentation)

OPS: dict[str, OpSpec] = {spec.name: spec for family in FAMILIES for spec in family.SPECS}
