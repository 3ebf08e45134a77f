"""The sweep meets every edge case the spec lists on its own, at the default profile (issue 13: triggers).

The curated corpus stays; these count what a default run's generated cases reach without it, drawn
exactly as the runner draws them (conformance/strategies/triggers.py on the seeded sweep).
"""

from __future__ import annotations

import numpy as np
import pytest

import reference
from conformance.config import PROFILES
from conformance.ops import OPS
from conformance.strategies.fast import draw_cases
from conformance.strategies.triggers import _accepts, with_triggers

N = PROFILES["default"]


def _sweep(op: str) -> list:
    cases = draw_cases(OPS[op].strategy(), N, 0, op)
    out = with_triggers(op, cases, 0, lambda c: _accepts(c, OPS[op].measure))
    for c in out:  # every case stays valid
        OPS[op].measure(c)
    return out


def _all_padding_window(case) -> bool:
    p = {k: v for k, v in case.params.items() if k not in ("return_indices", "count_include_pad",
                                                            "divisor_override")}
    _, idx = reference.max_pool2d(case.arrays["x"], **p, return_indices=True)
    return bool((idx < 0).any())


@pytest.mark.clause("POOL-MAX-1", "POOL-MAX-2", "POOL-MAX-4", "POOL-AVG-1", "POOL-AVG-5")
@pytest.mark.parametrize("op", ["max_pool2d", "avg_pool2d", "max_pool2d_backward", "avg_pool2d_backward"])
def test_a_default_sweep_of_pooling_meets_nan_infinities_and_windows_wholly_in_padding(op):
    cases = _sweep(op)
    x = [c.arrays["x"] for c in cases]
    assert sum(bool(np.isnan(a).any()) for a in x) >= 2
    assert sum(bool(np.isposinf(a).any()) for a in x) >= 2 and sum(bool(np.isneginf(a).any()) for a in x) >= 2
    if not op.endswith("backward"):
        assert sum(_all_padding_window(c) for c in cases) >= 2


@pytest.mark.clause("BOX-4", "NMS-BATCH-2")
@pytest.mark.parametrize("op", ["box_iou", "nms", "batched_nms", "soft_nms"])
def test_a_default_sweep_of_detection_meets_negative_and_far_boxes(op):
    cases = _sweep(op)
    boxes = [c.arrays.get("boxes", c.arrays.get("boxes1")) for c in cases]
    assert sum(b.size > 0 and b.min() < -500 for b in boxes) >= 1
    assert sum(b.size > 0 and np.abs(b).max() > 10_000 for b in boxes) >= 1
    if op == "batched_nms":
        assert sum(len(set(c.arrays["classes"].tolist())) >= 2 and np.abs(c.arrays["boxes"]).max() > 500
                   for c in cases) >= 1


@pytest.mark.clause("AUG-21", "AUG-22", "AUG-23")
@pytest.mark.parametrize("op,axes", [("featurewise_fit", (0, 2, 3)), ("featurewise_standardize", (0, 2, 3)),
                                     ("samplewise_standardize", (1, 2, 3))])
def test_a_default_sweep_of_standardisation_meets_zero_spread(op, axes):
    cases = _sweep(op)
    assert sum(bool((c.arrays["x"].std(axis=axes) == 0).any()) for c in cases) >= 2
