"""What a run records: one :class:`Record` per checked case, one :class:`Tally` per op, and
:func:`judge`, which makes the one judgement of a target's reply against the reference's outputs.

Shared by the runner (conformance/runner.py) and ``cnnspec golden check``
(conformance/golden.py); it imports neither the reference nor Hypothesis, so a golden check
needs neither (GOLD-9).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .tolerance import RMS_LIMIT, compare

if TYPE_CHECKING:
    from .strategies.conv import Case

#: Failing cases kept per op for diagnosis and the report.
KEEP_FAILURES = 40
#: After this many crashes and timeouts in one op, its remaining cases are not run: a target
#: that hangs on every case would otherwise cost a timeout per case.
MAX_BAD = 4


@dataclass
class Record:
    """One checked case."""

    op: str
    status: str  # pass / ambiguous / fail / unsupported / not-implemented / error / crash / timeout
    source: str  # corpus / generated / shrink; "stored" for a golden case (conformance/golden.py)
    case: Case | None  # None for a stored golden case: golden.py keeps it as a dict
    clause: str = ""
    reason: str = ""
    worst: float = 0.0
    got: Any = None
    diffs: list[tuple[tuple[int, ...], float, float]] = field(default_factory=list)
    output: str = ""
    sumsq: float = 0.0  # a real-data pass's squared errors in bound units, for TOL-3's pooled RMS
    count: int = 0

    @property
    def message(self) -> str:
        where = f" in output {self.output!r}" if self.output else ""
        on = self.case.describe() if self.case is not None else "a stored case"
        return f"{self.status}{where}: {self.reason} [{self.clause}] on {on}"


@dataclass
class Tally:
    """What one op's cases gave."""

    op: str
    cases: int = 0
    passed: int = 0
    failed: int = 0
    unsupported: int = 0
    not_implemented: int = 0
    errors: int = 0
    crashes: int = 0
    timeouts: int = 0
    worst: float = 0.0
    sumsq: float = 0.0
    count: int = 0
    failures: list[Record] = field(default_factory=list)
    minimal: Record | None = None
    unsupported_reasons: dict[str, int] = field(default_factory=dict)
    crash_records: list[Record] = field(default_factory=list)
    target_s: float = 0.0
    reference_s: float = 0.0
    compare_s: float = 0.0
    total_s: float = 0.0
    generate_s: float = 0.0  # drawing the generated cases (the fast sweep's, or Hypothesis's)
    diagnosis: list[tuple[str, str, str, int, int]] = field(default_factory=list)  # see diagnose()
    abandoned: int = 0  # cases not run once MAX_BAD crashes/timeouts were reached
    ambiguous: int = 0  # cases where the spec allows the target's different answer (OpSpec.ambiguous)

    @property
    def rms(self) -> float:
        return float(np.sqrt(self.sumsq / self.count)) if self.count else 0.0

    def merge(self, other: Tally) -> None:
        for name in ("cases", "passed", "failed", "unsupported", "not_implemented", "errors", "crashes",
                     "timeouts", "abandoned", "ambiguous", "sumsq", "count", "target_s", "reference_s",
                     "compare_s", "total_s", "generate_s"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.worst = max(self.worst, other.worst)
        self.failures = (self.failures + other.failures)[-KEEP_FAILURES:]
        self.crash_records = (self.crash_records + other.crash_records)[-KEEP_FAILURES:]
        if other.minimal is not None and (self.minimal is None or _size(other.minimal) < _size(self.minimal)):
            self.minimal = other.minimal
        for k, v in other.unsupported_reasons.items():
            self.unsupported_reasons[k] = self.unsupported_reasons.get(k, 0) + v

    @property
    def status(self) -> str:
        if self.failed or (self.count and self.rms > RMS_LIMIT):
            return "fail"
        if self.crashes:
            return "crash"
        if self.timeouts:
            return "timeout"
        if self.errors:
            return "error"
        if self.not_implemented and not (self.passed or self.ambiguous):
            return "not-implemented"
        if self.unsupported and not (self.passed or self.ambiguous):
            return "unsupported"
        return "pass"


def judge(expected: Any, reply: Any, *, op: str, source: str, case: Case | None, dtype: str, exact: bool,
          divides: bool = False, ambiguous: Any = None, size_clause: str = "SIZE-3") -> Record:
    """The record of one target reply against the reference's ``(name, ref, scale, terms)``
    outputs (TOL-1 ... TOL-6): the one judgement the runner and ``cnnspec golden check`` both make.

    ``ambiguous(outs)`` gives the reason a differing answer is one the spec allows (the case is
    then "ambiguous"), or None. A wrong shape breaks ``size_clause``; an exception, SPEC-3.
    """
    def record(status: str, clause: str = "", reason: str = "", **rest: Any) -> Record:
        return Record(op, status, source, case, clause, reason, **rest)

    if reply.kind in ("unsupported", "not-implemented", "crash", "timeout"):
        return record(reply.kind, reason=reply.detail)
    if reply.kind != "ok":
        first = reply.detail.splitlines()[0] if reply.detail else "error"
        return record("fail", "SPEC-3", f"target raised {first}")
    outs = reply.value if len(expected) > 1 else (reply.value,)
    if not isinstance(outs, tuple) or len(outs) != len(expected):
        return record("fail", "TOL-6", f"returned {type(reply.value).__name__}, expected {len(expected)} arrays",
                      got=reply.value)
    worst, sumsq, count = 0.0, 0.0, 0
    for (name, ref, scale, terms), got in zip(expected, outs):
        verdict = compare(ref, got, dtype=dtype, scale=scale, terms=terms, exact=exact, divides=divides,
                          check_rms=False)
        if not verdict.ok:
            why = ambiguous(outs) if ambiguous is not None else None
            if why:
                return record("ambiguous", verdict.clause, why, got=outs, output=name)
            clause = verdict.clause
            if clause == "TOL-6" and isinstance(got, np.ndarray) and got.shape != ref.shape:
                clause = size_clause
            return record("fail", clause, verdict.reason, worst=verdict.worst, got=outs, diffs=verdict.diffs,
                          output=name)
        worst = max(worst, verdict.worst)
        sumsq += verdict.sumsq
        count += verdict.count
    if exact:
        sumsq, count = 0.0, 0  # TOL-3 pools real-data cases only
    return record("pass", worst=worst, got=outs, sumsq=sumsq, count=count)


def _size(rec: Record) -> int:
    return sum(int(a.size) for a in rec.case.arrays.values())
