"""The runner's core: check cases against a target, tally per op, diagnose failures.

The pytest suite (conformance/suite) drives this module and decides which cases to
check (the curated corpus, a generated sweep, Hypothesis's search). A :class:`Runner`
owns one worker process for its target (or an in-process stand-in, :func:`in_process`)
and a :class:`Tally` per op; what a check records and how a reply is judged live in
conformance/tally.py.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from reference import SpecError

from .config import PROFILES, RunConfig  # noqa: F401  (re-exported)
from .dtypes import round_to
from .ops import OPS
from .strategies.conv import Case
from .tally import KEEP_FAILURES, MAX_BAD, Record, Tally, judge  # noqa: F401  (re-exported)
from .tolerance import compare, rms_reason
from .variants import variants_for
from .worker import Worker


def _ambiguous(spec: Any, case: Case, outs: tuple[Any, ...], dtype: str) -> str | None:
    """The op's ambiguity hook, given the run dtype when it takes one (NMS-11's rounding depends on it)."""
    if spec.ambiguous is None:
        return None
    import inspect

    if "dtype" in inspect.signature(spec.ambiguous).parameters:
        return spec.ambiguous(case, outs, dtype=dtype)
    return spec.ambiguous(case, outs)


def _size_clause(case: Case, default: str) -> str:
    """The output-size clause a wrong shape breaks: ceil_mode's, "same"'s or the op's own."""
    if case.params.get("ceil_mode"):
        return "SIZE-7"
    return {"same": "SIZE-5", "same_lower": "SIZE-6"}.get(str(case.params.get("padding")), default)


def rounded(case: Case, dtype: str) -> tuple[Case, Case]:
    """(what the target gets, what the reference computes on): inputs rounded to ``dtype``."""
    # Integer arrays (uint8 images, class ids) are data of their own type: sent unchanged.
    sent = {k: v if v.dtype.kind in "iub" else round_to(v, dtype) for k, v in case.arrays.items()}
    back = {k: v if v.dtype.kind in "iub" else v.astype(np.float64) for k, v in sent.items()}
    return (Case(case.op, sent, dict(case.params), case.exact, case.note),
            Case(case.op, back, dict(case.params), case.exact, case.note))


class Runner:
    """Checks cases of a config's ops against its target, one worker process for all of them."""

    def __init__(self, config: RunConfig, worker: Any = None) -> None:
        self.config = config
        # a Worker (the target in its own process), or conformance.worker.InProcess for tests
        self.worker = worker or Worker(config.target, config.dtype, config.device, config.timeout)
        self.tallies = {op: Tally(op) for op in config.ops}
        self.start_reply: Any = None
        self.shrinking: set[str] = set()

    def start(self) -> Any:
        if self.start_reply is None:
            self.start_reply = self.worker.start()
        return self.start_reply

    def close(self) -> None:
        self.worker.close()

    def check(self, op: str, case: Case, source: str) -> Record:
        """Run ``case`` on the target and judge it against the reference (TOL-*)."""
        return self.check_many(op, [case], source)[0]

    def check_many(self, op: str, cases: list[Case], source: str) -> list[Record]:
        """Check ``cases`` in one exchange with the worker (a whole sweep costs one message out and
        one reply per case, not a round trip each). One record per case, in order."""
        tally = self.tallies[op]
        spec = OPS[op]
        if source == "generated" and op in self.shrinking:
            source = "shrink"
        records: list[Record | None] = [None] * len(cases)
        left = max(0, MAX_BAD - tally.crashes - tally.timeouts)
        pairs = [rounded(case, self.config.dtype) for case in cases] if left else []
        expected: list[Any] = [None] * len(pairs)

        def references() -> None:  # while the target works on the same cases
            for i, (_, mine) in enumerate(pairs):
                t0 = time.perf_counter()
                try:
                    expected[i] = spec.measure(mine)
                except SpecError as exc:  # the generator drew an invalid case: a defect of cnnspec
                    expected[i] = exc
                tally.reference_s += time.perf_counter() - t0

        calls = [(list(sent.arrays.values()), dict(sent.params)) for sent, _ in pairs]
        replies = self.worker.call_many(op, calls, max_bad=left, meanwhile=references) if calls else []
        for i, ((sent, mine), reply) in enumerate(zip(pairs, replies)):
            if isinstance(expected[i], SpecError):
                exc = expected[i]
                rec = Record(op, "error", source, mine, exc.clause, f"reference rejected the case: {exc}")
                records[i] = self._tally(tally, rec)
                continue
            tally.target_s += reply.seconds
            reduced = spec.fallback(cases[i]) if reply.kind == "unsupported" and spec.fallback else None
            if reduced is not None:
                sent, mine = rounded(reduced, self.config.dtype)
                t0 = time.perf_counter()
                expected[i] = spec.measure(mine)
                tally.reference_s += time.perf_counter() - t0
                reply = self.worker.call(op, list(sent.arrays.values()), dict(sent.params))
                tally.target_s += reply.seconds
            t2 = time.perf_counter()
            if not spec.exact_capable:
                mine.exact = False
            rec = self._judge(op, mine, source, expected[i], reply)
            tally.compare_s += time.perf_counter() - t2
            records[i] = self._tally(tally, rec)
        for i, rec in enumerate(records):
            if rec is None:  # not run: MAX_BAD crashes and timeouts came first
                tally.abandoned += 1
                records[i] = Record(op, "abandoned", source, cases[i],
                                    reason=f"not run after {MAX_BAD} crashes/timeouts")
        return records  # type: ignore[return-value]

    def _judge(self, op: str, case: Case, source: str, expected: Any, reply: Any) -> Record:
        spec = OPS[op]
        return judge(expected, reply, op=op, source=source, case=case, dtype=self.config.dtype, exact=case.exact,
                     divides=spec.divides, ambiguous=lambda outs: _ambiguous(spec, case, outs, self.config.dtype),
                     size_clause=_size_clause(case, spec.size_clause))

    def _tally(self, tally: Tally, rec: Record) -> Record:
        if rec.source != "shrink":
            tally.cases += 1
            attr = {"pass": "passed", "ambiguous": "ambiguous", "fail": "failed", "unsupported": "unsupported",
                    "not-implemented": "not_implemented", "error": "errors", "crash": "crashes",
                    "timeout": "timeouts"}[rec.status]
            setattr(tally, attr, getattr(tally, attr) + 1)
        if rec.status == "pass":
            tally.worst = max(tally.worst, rec.worst)
            tally.sumsq += rec.sumsq
            tally.count += rec.count
        elif rec.status == "fail":
            tally.worst = max(tally.worst, rec.worst)
            tally.failures = (tally.failures + [rec])[-KEEP_FAILURES:]
            if rec.source != "corpus":
                self.shrinking.add(rec.op)
                tally.minimal = rec  # Hypothesis replays the shrunk example last
            elif tally.minimal is None:
                tally.minimal = rec
        elif rec.status in ("crash", "timeout"):
            tally.crash_records = (tally.crash_records + [rec])[-KEEP_FAILURES:]
        elif rec.status == "unsupported":
            key = rec.reason.splitlines()[0][:120] if rec.reason else "unsupported"
            tally.unsupported_reasons[key] = tally.unsupported_reasons.get(key, 0) + 1
        return rec

    def diagnose(self) -> None:
        """Name the variant(s) each failing op matches on all of its failing cases."""
        for tally in self.tallies.values():
            tally.diagnosis = diagnose(tally, self.config.dtype)


def diagnose(tally: Tally, dtype: str) -> list[tuple[str, str, str, int, int]]:
    """(variant, clause, description, failing cases it explains, failing cases) per variant that
    explains at least one failure; those explaining every failure come first."""
    fails = [r for r in tally.failures if r.got is not None]
    if not fails:
        return []
    found = []
    for variant in variants_for(tally.op):
        hits = sum(matches(variant, rec, dtype) for rec in fails)
        if hits:
            found.append((variant.name, variant.clause, variant.describe, hits, len(fails)))
    return sorted(found, key=lambda v: -v[3])


def in_process(target: Any, dtype: str, ops: list[str] | None = None) -> Runner:
    """A runner calling an already set-up ``target`` (a Target, or a module or object with the
    reference's function names) in this process: ``in_process(t, "float32").check(op, case,
    "corpus")`` is the record a run would make of ``case``."""
    from .targets import ModuleTarget, Target
    from .worker import InProcess

    if not isinstance(target, Target):
        target = ModuleTarget(target, getattr(target, "__name__", type(target).__name__))
    runner = Runner(RunConfig(type(target).__name__, list(ops or OPS), dtype), InProcess(target))
    runner.start()
    return runner


def matches(variant: Any, rec: Record, dtype: str) -> bool:
    """Whether the failing record ``rec``'s outputs are what ``variant`` computes (within TOL-*)."""
    try:
        expected = variant.compute(rec.case)
    except (SpecError, ValueError, IndexError):
        return False
    outs = rec.got if isinstance(rec.got, tuple) else (rec.got,)
    if len(outs) != len(expected):
        return False
    for (_, ref, scale, terms), got in zip(expected, outs):
        if not isinstance(got, np.ndarray):
            return False
        if not compare(ref, got, dtype=dtype, scale=scale, terms=terms, exact=rec.case.exact,
                       divides=OPS[rec.op].divides, check_rms=False).ok:
            return False
    return True


def rms_failure(tally: Tally, dtype: str) -> str:
    return rms_reason(tally.rms, dtype)
