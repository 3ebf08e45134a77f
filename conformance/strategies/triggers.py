"""Triggers: edge cases the spec lists that plain draws reach too rarely, added to a sweep (issue 13).

A default run must meet each of these on its own, curated corpus aside (tests/test_triggers.py
counts them): NaN and ±inf in pooling forward and backward, windows wholly in padding, boxes far
from the origin and at negative coordinates (with two or more classes, where class-offset tricks
of batched NMS break), and images with zero spread. :func:`with_triggers` rewrites some cases of
a sweep — every case stays valid (the reference accepts it) — and leaves the strategies the
property tests draw from as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..types import Case

#: Offsets for a whole box array: negative, and far from the origin (2^14: still finite in float16).
BOX_OFFSETS = (-1024.0, 16384.0)


def _nonfinite(case: Case, rng: np.random.Generator) -> Case | None:
    x = case.arrays["x"].copy()
    if x.size == 0:
        return None
    mask = rng.random(x.shape) < 0.25
    mask.flat[rng.integers(0, x.size)] = True
    x[mask] = rng.choice([np.nan, np.inf, -np.inf], size=int(mask.sum()))
    return Case(case.op, {**case.arrays, "x": x}, dict(case.params), False, "trigger: NaN and infinities in x")


def _padding_window(case: Case, rng: np.random.Generator) -> Case | None:
    """A 1x1 window below a padding row: the first row of windows reads padding only."""
    if "dy" in case.arrays:
        return None  # dy's shape follows the geometry: the forward op carries this trigger
    params: dict[str, Any] = {**case.params, "kernel_size": 1, "padding": ((1, 0), (0, 0)),
                              "stride": case.params.get("stride") or 1}
    if "dilation" in params:
        params["dilation"] = 1
    params.pop("divisor_override", None) if params.get("divisor_override") == 0 else None
    return Case(case.op, dict(case.arrays), params, case.exact, "trigger: windows wholly in padding")


def _far_boxes(case: Case, rng: np.random.Generator) -> Case | None:
    keys = [k for k in ("boxes", "boxes1", "boxes2") if k in case.arrays]
    if not keys or all(case.arrays[k].size == 0 for k in keys):
        return None
    offset = BOX_OFFSETS[int(rng.integers(0, len(BOX_OFFSETS)))]
    fmt = case.params.get("fmt", "xyxy")
    shift = {"xyxy": [1, 1, 1, 1], "yxyx": [1, 1, 1, 1], "xywh": [1, 1, 0, 0], "cxcywh": [1, 1, 0, 0]}[fmt]
    arrays: dict[str, np.ndarray] = dict(case.arrays)
    for k in keys:
        arrays[k] = case.arrays[k] + offset * np.array(shift, dtype=np.float64)
    return Case(case.op, arrays, dict(case.params), case.exact, f"trigger: boxes moved by {offset:g}")


def _zero_spread(axes: tuple[int, ...]) -> Callable[[Case, np.random.Generator], Case | None]:
    def make(case: Case, rng: np.random.Generator) -> Case | None:
        x = case.arrays["x"]
        if x.size == 0:
            return None
        flat = np.broadcast_to(x.mean(axis=axes, keepdims=True).round(3), x.shape).copy()
        return Case(case.op, {**case.arrays, "x": flat}, dict(case.params), case.exact, "trigger: zero spread")
    return make


#: op -> the triggers rewritten into its sweep, in turn.
TRIGGERS: dict[str, list[Callable[[Case, np.random.Generator], Case | None]]] = {
    "max_pool2d": [_nonfinite, _padding_window],
    "avg_pool2d": [_nonfinite, _padding_window],
    "max_pool2d_backward": [_nonfinite],
    "avg_pool2d_backward": [_nonfinite],
    "box_iou": [_far_boxes],
    "nms": [_far_boxes],
    "batched_nms": [_far_boxes],
    "soft_nms": [_far_boxes],
    "featurewise_fit": [_zero_spread((0, 2, 3))],
    "featurewise_standardize": [_zero_spread((0, 2, 3))],
    "samplewise_standardize": [_zero_spread((1, 2, 3))],
}

#: One case in EVERY of a sweep carries a trigger (the first case, the simplest, never does).
EVERY = 6


def with_triggers(op: str, cases: list[Case], seed: int, valid: Callable[[Case], bool] | None = None) -> list[Case]:
    """``cases`` with every EVERY-th one rewritten by the op's triggers, in turn; a rewrite the
    reference refuses (``valid`` says no) keeps the original case."""
    triggers = TRIGGERS.get(op)
    if not triggers:
        return cases
    rng = np.random.default_rng([seed, len(op), sum(map(ord, op))])
    out = list(cases)
    turn = 0
    for i in range(EVERY - 1, len(out), EVERY):
        made = triggers[turn % len(triggers)](out[i], rng)
        turn += 1
        if made is not None and (valid is None or valid(made)):
            out[i] = made
    return out


def _accepts(case: Case, measure: Callable[[Case], Any]) -> bool:
    from reference import SpecError

    try:
        measure(case)
    except (SpecError, ValueError, ArithmeticError):
        return False
    return True
