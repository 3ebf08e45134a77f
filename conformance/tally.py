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

from .clauses import kind_of
from .tolerance import RMS_LIMIT, compare

if TYPE_CHECKING:
    from .types import Case

#: Crash and timeout records kept per op for the report (each is also a finding, counted in full).
KEEP_FAILURES = 40
#: Besides its minimal example, a finding keeps this many of its largest cases (the HTML report draws them).
EXTRA_EXAMPLES = 2
#: After this many crashes and timeouts in one op, its remaining cases are not run: a target
#: that hangs on every case would otherwise cost a timeout per case.
MAX_BAD = 4


@dataclass
class Record:
    """One checked case."""

    op: str
    status: str  # pass / ambiguous / fail / unsupported / not-implemented / error / crash / timeout
    source: str  # corpus / generated / shrink / invalid / probe; "stored" for a golden case (golden.py)
    case: Case | None  # None for a stored golden case: golden.py keeps it as a dict
    clause: str = ""
    reason: str = ""
    worst: float = 0.0
    got: Any = None
    diffs: list[tuple[tuple[int, ...], float, float]] = field(default_factory=list)
    output: str = ""
    sumsq: float = 0.0  # a real-data pass's squared errors in bound units, for TOL-3's pooled RMS
    count: int = 0
    kind: str = ""  # a failure's kind (conformance.clauses.KINDS): value, shape, nonfinite, index, raised …

    @property
    def message(self) -> str:
        where = f" in output {self.output!r}" if self.output else ""
        on = self.case.describe() if self.case is not None else "a stored case"
        return f"{self.status}{where}: {self.reason} [{self.clause}] on {on}"


def signature(op: str, clause: str, variant: str, kind: str) -> tuple[str, str, str, str]:
    """A finding's identity. A named variant explains its cases whatever kind of difference each
    shows (a zero-padded max pool gives wrong values, infinities and indices alike), so the kind
    is part of the identity only where no variant is named."""
    return (op, clause, variant, "" if variant else kind)


@dataclass
class Finding:
    """One distinct way an op fails: every failing case of one signature (op, clause, variant, kind).

    ``clause`` is the semantic rule broken (CONV-3, POOL-MAX-2 …); ``measured_by`` the comparison
    rule that caught it (TOL-2, TOL-5, SPEC-3 …). ``variant`` is the named convention that explains
    every case of the finding ("" when none does). ``example`` is its smallest counterexample, a
    curated case first.
    """

    op: str
    clause: str
    variant: str
    kind: str
    measured_by: str = ""
    output: str = ""
    describe: str = ""
    count: int = 0
    example: Record | None = None
    kinds: set[str] = field(default_factory=set)  # every kind of difference its cases showed
    others: list[Record] = field(default_factory=list)  # up to EXTRA_EXAMPLES of its largest cases (HTML)

    @property
    def key(self) -> tuple[str, str, str, str]:
        return signature(self.op, self.clause, self.variant, self.kind)

    def offer(self, rec: Record) -> None:
        """Keep ``rec`` as the example when it is better: curated before generated, then smaller;
        keep the largest few besides (a picture of a large case shows the most)."""
        if self.example is None or _rank(rec) < _rank(self.example):
            if self.example is not None:
                self._other(self.example)
            self.example = rec
        else:
            self._other(rec)

    def _other(self, rec: Record) -> None:
        if rec.case is None or any(o.case is not None and o.case.describe() == rec.case.describe()
                                   for o in self.others):
            return
        self.others = sorted(self.others + [rec], key=lambda r: -_size(r))[:EXTRA_EXAMPLES]


def _rank(rec: Record) -> tuple[int, int]:
    return (0 if rec.source in ("corpus", "probe") else 1, _size(rec) if rec.case is not None else 0)


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
    findings: dict[tuple[str, str, str, str], Finding] = field(default_factory=dict)
    unsupported_reasons: dict[str, int] = field(default_factory=dict)
    crash_records: list[Record] = field(default_factory=list)
    target_s: float = 0.0
    reference_s: float = 0.0
    compare_s: float = 0.0
    total_s: float = 0.0
    generate_s: float = 0.0  # drawing the generated cases (the fast sweep's, or Hypothesis's)
    abandoned: int = 0  # cases not run once MAX_BAD crashes/timeouts were reached
    ambiguous: int = 0  # cases where the spec allows the target's different answer (OpSpec.ambiguous)
    wanted: int = 0  # generated cases the profile asks to be checked (the sweep draws more until then)
    invalid: int = 0  # cases the spec rules out, sent to see that the target rejects them (issue 13)
    rejected: int = 0  # … and that it rejected (raised on)
    accepted: int = 0  # … and that it accepted (counted in ``failed``: each is an accepts-invalid finding)
    invalid_unsupported: int = 0  # … that the adapter could not pass to the library
    adapter_errors: int = 0  # cases where the adapter's own code failed (not the library): never a finding
    adapter_error: str = ""  # the first such error: exception, adapter file and line

    @property
    def failures(self) -> list[Record]:
        """Each finding's example, most frequent finding first, then the findings' larger cases."""
        ranked = self.ranked()
        return [f.example for f in ranked if f.example is not None] + [r for f in ranked for r in f.others]

    def ranked(self) -> list[Finding]:
        """The findings, most cases first (then by clause, for a stable order)."""
        return sorted(self.findings.values(), key=lambda f: (-f.count, f.clause, f.variant, f.kind))

    def add_finding(self, rec: Record, clause: str, variant: str, describe: str = "", counted: bool = True
                    ) -> Finding:
        """File the failing ``rec`` under its signature; memory grows with signatures, not failures."""
        key = signature(rec.op, clause, variant, rec.kind)
        f = self.findings.get(key)
        if f is None:
            measured = "TOL-6" if rec.kind == "shape" else rec.clause
            f = self.findings[key] = Finding(rec.op, clause, variant, rec.kind, measured, rec.output, describe)
        if counted:
            f.count += 1
        f.kinds.add(rec.kind)
        f.offer(rec)
        return f

    def consolidate(self) -> None:
        """Fold findings that are one behaviour seen from several cases. Idempotent; order-free.

        * A finding whose cases several variants explain ("a or b") goes into the finding of one of
          those variants alone, where there is one: the same convention, met on a case that cannot
          tell it from another.
        * Findings with no variant and the same kind of difference are one finding, named by the
          clause most of its cases point at (the clause of each case is a probe of that case alone:
          a fault of the batch shows as CONV-5 on a case whose only wrong elements are on the border).
        """
        loose: dict[str, list[Finding]] = {}
        for f in self.findings.values():
            if not f.variant:
                loose.setdefault(f.kind, []).append(f)
        for group in loose.values():
            if len(group) < 2:
                continue
            target = max(group, key=lambda g: (g.count, g.key))
            for f in group:
                if f is not target:
                    target.count += f.count
                    target.kinds |= f.kinds
                    for rec in ([f.example] if f.example is not None else []) + f.others:
                        target.offer(rec)
                    del self.findings[f.key]
        for f in sorted(self.findings.values(), key=lambda f: f.key):
            if " or " not in f.variant:
                continue
            names = set(f.variant.split(" or "))
            candidates = [g for g in self.findings.values() if g.variant in names]
            if not candidates:
                continue
            g = max(candidates, key=lambda g: (g.count, g.key))
            g.count += f.count
            g.kinds |= f.kinds
            for rec in ([f.example] if f.example is not None else []) + f.others:
                g.offer(rec)
            del self.findings[f.key]

    @property
    def checked(self) -> int:
        """Valid cases whose outputs were judged (a pass, a failure or an ambiguous case)."""
        return self.passed + self.failed - self.accepted + self.ambiguous

    @property
    def rms(self) -> float:
        return float(np.sqrt(self.sumsq / self.count)) if self.count else 0.0

    def merge(self, other: Tally) -> None:
        for name in ("cases", "passed", "failed", "unsupported", "not_implemented", "errors", "crashes",
                     "timeouts", "abandoned", "ambiguous", "adapter_errors", "invalid", "rejected", "accepted",
                     "invalid_unsupported", "sumsq", "count", "target_s",
                     "reference_s",
                     "compare_s", "total_s", "generate_s"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.worst = max(self.worst, other.worst)
        self.adapter_error = self.adapter_error or other.adapter_error
        self.wanted = max(self.wanted, other.wanted)
        for key, f in other.findings.items():
            mine = self.findings.get(key)
            if mine is None:
                self.findings[key] = f
            else:
                mine.count += f.count
                mine.kinds |= f.kinds
                for rec in ([f.example] if f.example is not None else []) + f.others:
                    mine.offer(rec)
        self.crash_records = (self.crash_records + other.crash_records)[-KEEP_FAILURES:]
        for k, v in other.unsupported_reasons.items():
            self.unsupported_reasons[k] = self.unsupported_reasons.get(k, 0) + v

    @property
    def status(self) -> str:
        if self.adapter_errors:
            return "adapter-error"
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
        if self.weak:
            return "weak"
        return "pass"

    @property
    def weak(self) -> bool:
        """Coverage as a verdict: fewer than half of the cases wanted (the profile's number, when the
        sweep drew more cases for a target that refuses some) could be checked; without a profile
        number, fewer than half of the cases tried."""
        if self.wanted:
            return 0 < self.checked < self.wanted / 2
        return 0 < self.checked < self.unsupported


def judge(expected: Any, reply: Any, *, op: str, source: str, case: Case | None, dtype: str, exact: bool,
          divides: bool = False, ambiguous: Any = None, size_clause: str = "SIZE-3") -> Record:
    """The record of one target reply against the reference's ``(name, ref, scale, terms)``
    outputs (TOL-1 ... TOL-6): the one judgement the runner and ``cnnspec golden check`` both make.

    ``ambiguous(outs)`` gives the reason a differing answer is one the spec allows (the case is
    then "ambiguous"), or None. A wrong shape breaks ``size_clause``; an exception, SPEC-3.
    """
    def record(status: str, clause: str = "", reason: str = "", **rest: Any) -> Record:
        return Record(op, status, source, case, clause, reason, **rest)

    if reply.kind in ("unsupported", "not-implemented"):
        return record(reply.kind, reason=reply.detail)
    if reply.kind in ("crash", "timeout"):
        return record(reply.kind, "SPEC-3", reply.detail, kind=reply.kind)
    if reply.kind == "adapter-error":
        return record("adapter-error", reason=reply.detail, kind="adapter-error")
    if reply.kind != "ok":
        first = reply.detail.splitlines()[0] if reply.detail else "error"
        return record("fail", "SPEC-3", f"target raised {first}", kind="raised")
    outs = reply.value if len(expected) > 1 else (reply.value,)
    if not isinstance(outs, tuple) or len(outs) != len(expected):
        return record("fail", "TOL-6", f"returned {type(reply.value).__name__}, expected {len(expected)} arrays",
                      got=reply.value, kind="type")
    worst, sumsq, count = 0.0, 0.0, 0
    for (name, ref, scale, terms), got in zip(expected, outs):
        verdict = compare(ref, got, dtype=dtype, scale=scale, terms=terms, exact=exact, divides=divides,
                          check_rms=False)
        if not verdict.ok:
            why = ambiguous(outs) if ambiguous is not None else None
            if why:
                return record("ambiguous", verdict.clause, why, got=outs, output=name)
            clause = verdict.clause
            shape = clause == "TOL-6" and isinstance(got, np.ndarray) and got.shape != ref.shape
            if shape:
                clause = size_clause  # the measuring rule is TOL-6; Finding.measured_by says so
            kind = kind_of(clause if not shape else "TOL-6", name, verdict.reason, shape)
            if kind in ("value", "index") and verdict.diffs and all(
                    not (np.isfinite(e) and np.isfinite(g)) for _, e, g in verdict.diffs):
                kind = "nonfinite"  # an exact op (max pooling) whose differences are all NaN or infinities
            return record("fail", clause, verdict.reason, worst=verdict.worst, got=outs, diffs=verdict.diffs,
                          output=name, kind=kind)
        worst = max(worst, verdict.worst)
        sumsq += verdict.sumsq
        count += verdict.count
    if exact:
        sumsq, count = 0.0, 0  # TOL-3 pools real-data cases only
    return record("pass", worst=worst, got=outs, sumsq=sumsq, count=count)


def _size(rec: Record) -> int:
    return sum(int(a.size) for a in rec.case.arrays.values()) if rec.case is not None else 0
