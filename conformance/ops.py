"""The registry of checked ops: for each, its reference, strategy, outputs and error model.

The runner, the golden-vector writer and the tests all read this table, so an op is
described once: how to draw cases, which clauses it exercises, and how the tolerance
model (conformance.tolerance) measures each of its outputs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import reference as ref

from .strategies.conv import CASES, Case

Expected = list[tuple[str, np.ndarray, "np.ndarray | None", int]]


@dataclass(frozen=True)
class OpSpec:
    """One checked op. ``measure`` gives, per output: name, reference, scale (None: exact), terms."""

    name: str
    outputs: tuple[str, ...]
    clauses: tuple[str, ...]
    strategy: Callable[..., Any]
    measure: Callable[[Case], Expected]
    size_clause: str = "SIZE-3"
    #: Average pooling divides once: on exact data its result may differ by that rounding (TOL-1).
    divides: bool = False
    #: Whether exact data make every result exact; a sum of quotients (avg_pool2d_backward) does not.
    exact_capable: bool = True
    #: ``ambiguous(case, outputs, dtype=run dtype)`` -> a reason when a target's differing outputs are
    #: explained by a
    #: choice the spec leaves open (an IoU within rounding of the NMS threshold, a nearest-neighbour
    #: tie), else None. Such cases are counted as ambiguous, not failed.
    ambiguous: Callable[[Case, tuple[Any, ...]], str | None] | None = None
    #: ``fallback(case)`` -> a reduced case to try when the target calls the full one unsupported
    #: (max pooling values without indices), or None.
    fallback: Callable[[Case], Case | None] | None = None


def _abs(case: Case) -> dict[str, np.ndarray]:
    return {k: np.abs(v) for k, v in case.arrays.items()}


def _conv2d(case: Case) -> Expected:
    w = case.arrays["w"]
    y = case.call(ref.conv2d)
    scale = ref.conv2d(*_abs(case).values(), **case.params)
    terms = w.shape[1] * w.shape[2] * w.shape[3] + ("b" in case.arrays)
    return [("y", y, scale, terms)]


def _conv2d_backward(case: Case) -> Expected:
    dy, x, w = case.arrays["dy"], case.arrays["x"], case.arrays["w"]
    out = case.call(ref.conv2d_backward)
    scale = ref.conv2d_backward(np.abs(dy), np.abs(x), np.abs(w), **case.params)
    g = case.params.get("groups", 1)
    kk = w.shape[2] * w.shape[3]
    n_dw = dy.shape[0] * dy.shape[2] * dy.shape[3]
    return [("dx", out[0], scale[0], (w.shape[0] // g) * kk), ("dw", out[1], scale[1], n_dw),
            ("db", out[2], scale[2], n_dw)]


def _conv_transpose2d(case: Case) -> Expected:
    x, w = case.arrays["x"], case.arrays["w"]
    y = case.call(ref.conv_transpose2d)
    scale = ref.conv_transpose2d(*_abs(case).values(), **case.params)
    g = case.params.get("groups", 1)
    terms = (x.shape[1] // g) * w.shape[2] * w.shape[3] + ("b" in case.arrays)
    return [("y", y, scale, terms)]


def _max_pool2d(case: Case) -> Expected:
    y, idx = ref.max_pool2d(case.arrays["x"], **{**case.params, "return_indices": True})
    if not case.params.get("return_indices"):
        return [("y", y, None, 1)]
    return [("y", y, None, 1), ("indices", idx, None, 1)]


def _values_only(case: Case) -> Case | None:
    """max_pool2d without indices, for a target that has none (JAX): its values are still checked."""
    if not case.params.get("return_indices"):
        return None
    return Case(case.op, dict(case.arrays), {**case.params, "return_indices": False}, case.exact, case.note)


def _avg_pool2d(case: Case) -> Expected:
    y = case.call(ref.avg_pool2d)
    scale = ref.avg_pool2d(np.abs(case.arrays["x"]), **case.params)
    k = _kernel(case)
    return [("y", y, scale, k[0] * k[1])]  # TOL-2: n = KH*KW; the division is the u*|ref| term


def _kernel(case: Case) -> tuple[int, int]:
    k = case.params["kernel_size"]
    return (k, k) if isinstance(k, int) else tuple(k)  # type: ignore[return-value]


def _pool_backward(case: Case) -> Expected:
    fn = getattr(ref, case.op)
    dx = case.call(fn)
    scale = fn(np.abs(case.arrays["dy"]), case.arrays["x"], **case.params)
    k = _kernel(case)
    return [("dx", dx, scale, k[0] * k[1])]


def _im2col(case: Case) -> Expected:
    return [("col", case.call(ref.im2col), None, 1)]


OPS: dict[str, OpSpec] = {o.name: o for o in [
    OpSpec("conv2d", ("y",), ("CONV-1", "CONV-2", "CONV-3", "CONV-4", "CONV-5", "CONV-6", "SIZE-3"),
           CASES["conv2d"], _conv2d),
    OpSpec("conv2d_backward", ("dx", "dw", "db"), ("CONV-7",), CASES["conv2d_backward"], _conv2d_backward),
    OpSpec("conv_transpose2d", ("y",), ("CONVT-1", "CONVT-2", "CONVT-3", "SIZE-8"),
           CASES["conv_transpose2d"], _conv_transpose2d, "SIZE-8"),
    OpSpec("max_pool2d", ("y", "indices"), ("POOL-MAX-1", "POOL-MAX-2", "POOL-MAX-3", "POOL-MAX-5", "SIZE-7"),
           CASES["max_pool2d"], _max_pool2d, fallback=_values_only),
    OpSpec("avg_pool2d", ("y",), ("POOL-AVG-1", "POOL-AVG-2", "POOL-AVG-3", "POOL-AVG-4", "SIZE-7"),
           CASES["avg_pool2d"], _avg_pool2d, divides=True),
    OpSpec("max_pool2d_backward", ("dx",), ("POOL-MAX-4",), CASES["max_pool2d_backward"], _pool_backward),
    OpSpec("avg_pool2d_backward", ("dx",), ("POOL-AVG-5",), CASES["avg_pool2d_backward"], _pool_backward,
           exact_capable=False),
    OpSpec("im2col", ("col",), ("IM2COL-1",), CASES["im2col"], _im2col),
]}


def register(*specs: OpSpec) -> None:
    """Add the ops of another family (detection, augmentation) to the one registry."""
    for spec in specs:
        OPS[spec.name] = spec


# The other op families register themselves (they import OpSpec and register from here).
from . import ops_augmentation, ops_detection  # noqa: E402,F401
