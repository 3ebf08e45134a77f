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

from .clauses import default_clause, semantic_clause
from .config import PROFILES, RunConfig  # noqa: F401  (re-exported)
from .dtypes import round_to
from .ops import OPS
from .tally import KEEP_FAILURES, MAX_BAD, Finding, Record, Tally, _rank, judge, signature  # noqa: F401  (re-exported)
from .tolerance import compare, rms_reason
from .types import Case
from .variants import invalid_variants_for, variants_for
from .worker import Worker

#: Failures of one kind per op matched against every variant; later ones only against those met.
DIAGNOSE_IN_FULL = 64


def _ambiguous(spec: Any, case: Case, outs: tuple[Any, ...], dtype: str) -> str | None:
    """The op's ambiguity hook, always given the run dtype (NMS-11's rounding depends on it); the
    same call ``cnnspec golden check`` makes."""
    if spec.ambiguous is None:
        return None
    return spec.ambiguous(case, outs, dtype=dtype)


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
        self.started = time.perf_counter()
        self.shrinking: set[str] = set()
        self._diagnosed: dict[tuple[str, tuple[str, str]], int] = {}  # failures diagnosed per (op, kind)
        self._met: dict[str, set[str]] = {}  # the variants met so far, per op

    def start(self, probe: bool = True) -> Any:
        if self.start_reply is None:
            self.start_reply = self.worker.start()
            if probe and self.start_reply.kind == "ready" and getattr(self.worker, "adapter", False):
                self.probe()
        return self.start_reply

    def probe(self) -> None:
        """The adapter's self-probe: one trivial case per op (the simplest the op's strategy draws with
        non-empty arrays). A probe that fails in the adapter's own code (worker.adapter_fault: a renamed
        library constant, the adapter's reshape) means the adapter is broken: the op is reported as an
        adapter error, never as a finding about the library, and its cases are not run. A probe the
        library itself raises on is left to the run, where it is a finding like any other case."""
        from .strategies.fast import NotFastDrawable, draw_cases

        for op in self.config.ops:
            if op not in self.worker.implemented:
                continue
            try:
                drawn = draw_cases(OPS[op].strategy(), 4, 0, op)
            except NotFastDrawable:
                continue
            case = next((c for c in drawn if all(a.size for a in c.arrays.values())), None)
            if case is None:
                continue
            sent, _ = rounded(case, self.config.dtype)
            reply = self.worker.call(op, list(sent.arrays.values()), dict(sent.params))
            if reply.kind == "adapter-error":
                tally = self.tallies[op]
                tally.adapter_errors += 1
                first = reply.detail.splitlines()[0] if reply.detail else reply.kind
                tally.adapter_error = f"self-probe {case.describe()} failed: {first}"

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
            records[i] = self._tally(tally, rec, expected[i])
            tally.compare_s += time.perf_counter() - t2
        for i, maybe in enumerate(records):
            if maybe is None:  # not run: MAX_BAD crashes and timeouts came first
                tally.abandoned += 1
                records[i] = Record(op, "abandoned", source, cases[i],
                                    reason=f"not run after {MAX_BAD} crashes/timeouts")
        return records  # type: ignore[return-value]

    def check_invalid(self, op: str, invalids: list[Any]) -> list[Record]:
        """Send cases the spec rules out (conformance/strategies/invalid.py) and judge the answers:
        raising is conforming (``rejected``); returning a value is an ``accepts-invalid`` finding under
        the clause the reference names; a crash or a hang is a crash or timeout finding."""
        tally = self.tallies[op]
        left = max(0, MAX_BAD - tally.crashes - tally.timeouts)
        if not left or not invalids:
            return []
        calls = []
        for inv in invalids:
            sent, _ = rounded(inv.case, self.config.dtype)
            calls.append((list(sent.arrays.values()), dict(sent.params)))
        replies = self.worker.call_many(op, calls, max_bad=left)
        records = []
        for inv, reply in zip(invalids, replies):
            tally.invalid += 1
            _, mine = rounded(inv.case, self.config.dtype)
            if reply.kind == "error":
                tally.rejected += 1
                records.append(Record(op, "rejected", "invalid", mine, inv.clause, reply.detail.splitlines()[0]))
                continue
            if reply.kind in ("unsupported", "not-implemented"):
                tally.invalid_unsupported += 1
                records.append(Record(op, reply.kind, "invalid", mine, reason=reply.detail))
                continue
            if reply.kind == "adapter-error":  # the adapter could not pass this input on: not the library's answer
                tally.invalid_unsupported += 1
                records.append(Record(op, "unsupported", "invalid", mine, reason=reply.detail))
                continue
            if reply.kind in ("crash", "timeout"):
                rec = Record(op, reply.kind, "invalid", mine, inv.clause,
                             f"{reply.detail} on {inv.broken}, which the spec rules out ({inv.message})",
                             kind=reply.kind)
                tally.crashes += reply.kind == "crash"
                tally.timeouts += reply.kind == "timeout"
                tally.crash_records = (tally.crash_records + [rec])[-KEEP_FAILURES:]
                tally.add_finding(rec, inv.clause, "", rec.reason)
                records.append(rec)
                continue
            rec = Record(op, "fail", "invalid", mine, "SPEC-3",
                         f"accepted {inv.broken} ({inv.message}) and returned {_summary(reply.value)}",
                         got=reply.value if isinstance(reply.value, tuple) else (reply.value,),
                         kind="accepts-invalid", output=OPS[op].outputs[0])
            tally.failed += 1
            tally.accepted += 1
            variant, describe = self._invalid_variant(rec)
            tally.add_finding(rec, inv.clause if not variant else variant[1], variant[0] if variant else "",
                              describe or f"returns a value for inputs the spec rules out ({inv.clause})")
            records.append(rec)
        return records

    def _invalid_variant(self, rec: Record) -> tuple[tuple[str, str] | None, str]:
        """The documented convention (conformance.variants.INVALID_VARIANTS) the accepted case matches."""
        for v in invalid_variants_for(rec.op):
            if matches(v, rec, self.config.dtype, all_outputs=True):
                return (v.name, v.clause), v.describe
        return None, ""

    def _judge(self, op: str, case: Case, source: str, expected: Any, reply: Any) -> Record:
        spec = OPS[op]
        return judge(expected, reply, op=op, source=source, case=case, dtype=self.config.dtype, exact=case.exact,
                     divides=spec.divides, ambiguous=lambda outs: _ambiguous(spec, case, outs, self.config.dtype),
                     size_clause=_size_clause(case, spec.size_clause))

    def _tally(self, tally: Tally, rec: Record, expected: Any = None) -> Record:
        counted = rec.source != "shrink"
        if counted:
            tally.cases += 1
            attr = {"pass": "passed", "ambiguous": "ambiguous", "fail": "failed", "unsupported": "unsupported",
                    "not-implemented": "not_implemented", "error": "errors", "crash": "crashes",
                    "timeout": "timeouts", "adapter-error": "adapter_errors"}[rec.status]
            setattr(tally, attr, getattr(tally, attr) + 1)
        if rec.status == "pass":
            tally.worst = max(tally.worst, rec.worst)
            tally.sumsq += rec.sumsq
            tally.count += rec.count
        elif rec.status == "fail":
            tally.worst = max(tally.worst, rec.worst)
            self._file(tally, rec, expected, counted)
        elif rec.status in ("crash", "timeout"):
            tally.crash_records = (tally.crash_records + [rec])[-KEEP_FAILURES:]
            clause = semantic_clause(rec.op, rec.kind, params=_c(rec).params, arrays=_c(rec).arrays)
            tally.add_finding(rec, clause, "", rec.reason.splitlines()[0] if rec.reason else rec.status, counted)
        elif rec.status == "adapter-error":
            tally.adapter_error = tally.adapter_error or rec.reason
        elif rec.status == "unsupported":
            key = rec.reason.splitlines()[0][:120] if rec.reason else "unsupported"
            tally.unsupported_reasons[key] = tally.unsupported_reasons.get(key, 0) + 1
        return rec

    def _file(self, tally: Tally, rec: Record, expected: Any, counted: bool) -> None:
        """File a failing record under its finding: diagnose its variant, name the clause it breaks."""
        cheap = (rec.kind, rec.output)
        if not counted:  # a shrinking step: worth diagnosing only as a smaller example of its finding
            same = [f for f in tally.findings.values() if (f.kind, f.output) == cheap and f.example is not None]
            if same and all(_rank(rec) >= _rank(f.example) for f in same):  # type: ignore[arg-type]
                return
        clause, differs = self._default_differs(rec, expected) if rec.kind in ("value", "shape", "nonfinite", "index",
                                                                               "raised") else ("", "")
        if differs:
            rec.kind = "default"
            tally.add_finding(rec, clause, "", differs, counted)
            return
        variant, vclause, describe = self._variant(rec, cheap)
        ref = got = None
        if expected and not isinstance(expected, Exception) and rec.output:
            names = [e[0] for e in expected]
            if rec.output in names and isinstance(rec.got, tuple) and len(rec.got) == len(names):
                ref, got = expected[names.index(rec.output)][1], rec.got[names.index(rec.output)]
        clause = vclause or semantic_clause(rec.op, rec.kind, output=rec.output, params=_c(rec).params,
                                            arrays=_c(rec).arrays, ref=ref, got=got)
        if not counted and signature(rec.op, clause, variant, rec.kind) not in tally.findings:
            tally.cases += 1  # met only while shrinking another failure: a finding of its own, counted
            tally.failed += 1
            counted = True
        tally.add_finding(rec, clause, variant, describe or rec.reason, counted)

    def _default_differs(self, rec: Record, expected: Any) -> tuple[str, str]:
        """For a failing case that leaves keywords out (a curated case, or a generated one that
        omitted them at their spec defaults): the keyword whose spec default, written out, makes the
        target conform — the target's own default differs. (clause, description), or ("", "")."""
        d = _defaults(rec.op)
        left_out = {k: v for k, v in d.items() if k not in _c(rec).params and k not in ("variants", "layout")}
        if not left_out or not expected or isinstance(expected, Exception):
            return ("", "")
        for key, value in left_out.items():
            full = Case(_c(rec).op, dict(_c(rec).arrays), {**_c(rec).params, key: value}, _c(rec).exact, "")
            sent, _ = rounded(full, self.config.dtype)
            reply = self.worker.call(rec.op, list(sent.arrays.values()), dict(sent.params))
            again = self._judge(rec.op, _c(rec), rec.source, expected, reply)
            if again.status in ("pass", "ambiguous"):
                return (default_clause(rec.op, key), f"leaving out {key} (the spec's default {value!r}) changes the "
                        f"result: the target's default for {key} differs")
        return ("", "")

    def _variant(self, rec: Record, cheap: tuple[str, str]) -> tuple[str, str, str]:
        """(variant name(s), their clause, description) of the named variants that explain ``rec``.

        Every variant of the op is tried on the first DIAGNOSE_IN_FULL failures of a kind; later
        failures of that kind only against the variants already met (the cost stays bounded)."""
        if rec.kind not in ("value", "shape", "nonfinite", "index") or rec.got is None:
            return ("", "", "")
        n = self._diagnosed.get((rec.op, cheap), 0)
        self._diagnosed[(rec.op, cheap)] = n + 1
        candidates = variants_for(rec.op)
        if n >= DIAGNOSE_IN_FULL:
            met = self._met.get(rec.op, set())
            candidates = [v for v in candidates if v.name in met]
        hits = [v for v in candidates if matches(v, rec, self.config.dtype)]
        names = {v.name for v in hits}
        # A combined variant ("a+b") adds nothing when one of its parts alone explains the case.
        hits = [v for v in hits if "+" not in v.name or not any(p in names for p in v.name.split("+"))]
        if not hits:
            return ("", "", "")
        self._met.setdefault(rec.op, set()).update(v.name for v in hits)
        return (" or ".join(dict.fromkeys(v.name for v in hits)), hits[0].clause, hits[0].describe)


def in_process(target: Any, dtype: str, ops: list[str] | None = None, probe: bool = False) -> Runner:
    """A runner calling an already set-up ``target`` (a Target, or a module or object with the
    reference's function names) in this process: ``in_process(t, "float32").check(op, case,
    "corpus")`` is the record a run would make of ``case``."""
    from .targets import ModuleTarget, Target
    from .worker import InProcess

    if not isinstance(target, Target):
        target = ModuleTarget(target, getattr(target, "__name__", type(target).__name__))
    runner = Runner(RunConfig(type(target).__name__, list(ops or OPS), dtype), InProcess(target))
    runner.start(probe=probe)
    return runner


def matches(variant: Any, rec: Record, dtype: str, all_outputs: bool = False) -> bool:
    """Whether the failing record ``rec``'s outputs are what ``variant`` computes (within TOL-*),
    up to the failing output (``all_outputs``: every one)."""
    try:
        with np.errstate(all="ignore"):
            expected = variant.compute(rec.case)
    except (SpecError, ValueError, IndexError, TypeError, ArithmeticError):
        return False
    outs = rec.got if isinstance(rec.got, tuple) else (rec.got,)
    if len(outs) != len(expected):
        return False
    for (name, ref, scale, terms), got in zip(expected, outs):
        if not isinstance(got, np.ndarray):
            return False
        if not compare(ref, got, dtype=dtype, scale=scale, terms=terms, exact=_c(rec).exact,
                       divides=OPS[rec.op].divides, check_rms=False).ok:
            return False
        if name == rec.output and not all_outputs:  # outputs after the failing one (indices after values)
            break  # need not match: a value convention is named whatever the target's index convention
    return True


#: The note of a generated case that leaves keywords out at their spec defaults (issue 13: defaults).
OMITS = "omits defaults: "


def _defaults(op: str) -> dict[str, Any]:
    import inspect

    import reference

    from .clauses import base_op

    fn = getattr(reference, base_op(op), None)
    if fn is None:
        return {}
    return {k: p.default for k, p in inspect.signature(fn).parameters.items()
            if p.default is not inspect.Parameter.empty and p.kind is inspect.Parameter.KEYWORD_ONLY}


def _canon(key: str, v: Any, params: dict[str, Any]) -> Any:
    """A keyword's value in one form: pairs for int-or-pair options, stride None as the kernel size."""
    if key == "stride" and v is None and "kernel_size" in params:
        v = params["kernel_size"]
    if key == "padding" and isinstance(v, (tuple, list)) and all(isinstance(p, (tuple, list)) for p in v):
        (t, b), (l, r) = v
        if t == b and l == r:
            v = (t, l)
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool) and key in (
            "stride", "padding", "dilation", "kernel_size", "output_padding"):
        return (int(v), int(v))
    if isinstance(v, (tuple, list)):
        return tuple(_canon(key, x, params) if isinstance(x, (tuple, list)) else x for x in v)
    return v


def omit_defaults(case: Case) -> Case | None:
    """``case`` with the keywords that equal the reference's defaults left out (as array-api-tests
    does), so that a target's own defaults are checked; None when no keyword is at its default."""
    d = _defaults(case.op)
    omitted = {k: v for k, v in case.params.items() if k in d and type(v) is not bool and
               _canon(k, v, case.params) == _canon(k, d[k], case.params)} | \
        {k: v for k, v in case.params.items() if k in d and type(v) is bool and v is d[k]}
    if not omitted:
        return None
    kept = {k: v for k, v in case.params.items() if k not in omitted}
    note = OMITS + ", ".join(f"{k}={v!r}" for k, v in omitted.items())
    return Case(case.op, dict(case.arrays), kept, case.exact, note)


def _c(rec: Record) -> Case:
    """A runner record's case (only a stored golden case has none)."""
    assert rec.case is not None
    return rec.case


def _summary(value: Any) -> str:
    """What an accepted invalid case came back as: shapes, and whether NaN or inf is in it."""
    outs = value if isinstance(value, tuple) else (value,)
    parts = []
    for v in outs:
        if isinstance(v, np.ndarray):
            bad = " with NaN" if v.dtype.kind == "f" and np.isnan(v).any() else ""
            bad += " with inf" if v.dtype.kind == "f" and np.isinf(v).any() else ""
            parts.append(f"an array of shape {v.shape}{bad}")
        else:
            parts.append(type(v).__name__)
    return ", ".join(parts)


def rms_failure(tally: Tally, dtype: str) -> str:
    return rms_reason(tally.rms, dtype)
