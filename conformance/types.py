"""The records every layer passes: a case, an op's description, a named variant.

A leaf module: NumPy and the standard library only, so the registry, the runner, the
reports, ``golden check`` and the adapters can all name these types without loading the
reference, Hypothesis or a strategy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: What an op's ``measure`` (and a variant's ``compute``) gives, per output: its name, the
#: reference values, the TOL-2 scale (None: an exact output) and the number of terms.
Expected = list[tuple[str, np.ndarray, "np.ndarray | None", int]]


@dataclass
class Case:
    """One call of one op: its arrays (in positional order) and its keyword options."""

    op: str
    arrays: dict[str, np.ndarray]
    params: dict[str, Any] = field(default_factory=dict)
    exact: bool = False
    note: str = ""

    def call(self, fn: Any) -> Any:
        return fn(*self.arrays.values(), **self.params)

    def describe(self) -> str:
        shapes = ", ".join(f"{k}{tuple(v.shape)}" for k, v in self.arrays.items())
        opts = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{self.op}({shapes}{', ' if shapes and opts else ''}{opts})"


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
    #: explained by a choice the spec leaves open (an IoU within rounding of the NMS threshold, a
    #: nearest-neighbour tie), else None. Such cases are counted as ambiguous, not failed.
    ambiguous: Callable[..., str | None] | None = None
    #: ``fallback(case)`` -> a reduced case to try when the target calls the full one unsupported
    #: (max pooling values without indices), or None.
    fallback: Callable[[Case], Case | None] | None = None


@dataclass(frozen=True)
class Variant:
    """A convention the spec names (a clause's Variants): the op recomputed that way."""

    name: str
    clause: str
    op: str
    compute: Callable[[Case], Expected]
    describe: str
