"""The conformance suite: curated edge cases and generated cases, per op.

Run through ``cnnspec run`` (or ``pytest conformance/suite -p conformance.plugin``).
Generated cases come from the shared Hypothesis strategies, drawn by a fast seeded sweep
(conformance/strategies/fast.py) or, with ``--generation hypothesis``, by Hypothesis. A
generated failure is shrunk by Hypothesis to a minimal counterexample, which the report
prints with a one-paste reproduction.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hseed

from conformance.corpus import CORPUS
from conformance.ops import OPS
from conformance.plugin import progress
from conformance.runner import omit_defaults
from conformance.strategies.fast import NotFastDrawable, draw_cases
from conformance.strategies.triggers import _accepts, with_triggers


def _ready(runner, op):
    reply = runner.start_reply
    if reply is None or reply.kind != "ready":
        pytest.skip(f"target {runner.config.target} not run: {reply.detail if reply else 'not started'}")
    if op not in runner.worker.implemented:
        # No case is drawn for an op the target lacks: generating them would cost the run for nothing.
        runner.tallies[op].not_implemented = 1
        pytest.skip(f"{runner.config.target} does not implement {op}")
    if runner.tallies[op].adapter_errors:
        pytest.fail(f"adapter error (not a finding about the library): {runner.tallies[op].adapter_error}")


def test_curated_case_conforms(runner, corpus_case):
    op, i = corpus_case
    _ready(runner, op)
    t0 = time.perf_counter()
    rec = runner.check(op, CORPUS[op][i], "corpus")
    runner.tallies[op].total_s += time.perf_counter() - t0
    progress(runner, op)
    if rec.status in ("unsupported", "not-implemented", "abandoned"):
        pytest.skip(f"{rec.status}: {rec.reason}")
    assert rec.status in ("pass", "ambiguous"), rec.message


def test_generated_cases_conform(runner, op):
    _ready(runner, op)
    cfg = runner.config
    tally = runner.tallies[op]
    t0 = time.perf_counter()
    try:
        found = _sweep(runner, op) if cfg.generation == "fast" else None
        if found is None or found:
            # Hypothesis draws the cases (asked for, or the op's strategy has no fast draw), or it
            # searches for and shrinks a failure the sweep found. In the second case its cases are
            # not counted again (Runner.shrinking), only its failures are kept.
            if found:
                runner.shrinking.add(op)
            _hypothesis(runner, op)
            if found:  # Hypothesis did not meet the sweep's failure within its budget: report it unshrunk
                smallest = min(found, key=lambda r: sum(a.size for a in r.case.arrays.values()))
                pytest.fail(f"{smallest.message} (found by the sweep; not shrunk)")
    finally:
        tally.total_s += time.perf_counter() - t0
    if tally.crashes or tally.timeouts:
        pytest.fail(f"{tally.crashes} crashed and {tally.timeouts} timed-out cases: "
                    + "; ".join(r.message for r in tally.crash_records[:3]))
    if tally.not_implemented and not tally.passed:
        pytest.skip(f"{cfg.target} does not implement {op}")
    if tally.unsupported and not tally.passed:
        pytest.skip(f"every case unsupported by {cfg.target}: {next(iter(tally.unsupported_reasons))}")


#: Coverage: a target that refuses cases gets more drawn, up to this many times the profile's number.
DRAW_CAP = 4


def _sweep(runner, op):
    """The fast path: draw the op's cases with a seeded sweep and check them in batches until the
    profile's number of cases is checked (a target that refuses options gets more cases drawn, up to
    DRAW_CAP times as many). The failing records, or None when the op's strategy cannot be drawn fast.

    Every fourth case leaves out the keywords at their spec defaults (the target's defaults are
    checked: runner.omit_defaults); every sixth carries a trigger (NaN in pooling, far boxes, zero
    spread …: strategies/triggers.py)."""
    cfg = runner.config
    tally = runner.tallies[op]
    tally.wanted = cfg.examples
    t0 = time.perf_counter()
    try:
        cases = draw_cases(OPS[op].strategy(), cfg.examples * DRAW_CAP, cfg.seed, op)
    except NotFastDrawable:
        return None
    cases = [(omit_defaults(c) or c) if i % 4 == 3 else c for i, c in enumerate(cases)]
    cases = with_triggers(op, cases, cfg.seed, lambda c: _accepts(c, OPS[op].measure))
    tally.generate_s += time.perf_counter() - t0
    failing, done, checked = [], 0, 0
    while done < len(cases) and checked < cfg.examples:
        batch = cases[done:done + (cfg.examples if done == 0 else max(cfg.examples - checked, 8))]
        done += len(batch)
        records = runner.check_many(op, batch, "generated")
        checked += sum(r.status in ("pass", "fail", "ambiguous") for r in records)
        failing += [r for r in records if r.status in ("fail", "error")]
        progress(runner, op)
        if any(r.status == "abandoned" for r in records) or all(r.status == "not-implemented" for r in records):
            break  # the op was given up after repeated crashes, or the target lacks it
    return failing


def _hypothesis(runner, op):
    """Hypothesis draws and checks the op's cases; a failure is shrunk and raised."""
    cfg = runner.config
    checking = [0.0]

    # No explain phase: it re-runs a failing case many times to annotate it, which costs most of
    # a failing op's time; the report's minimal case and diagnosis already say what it would.
    @settings(max_examples=cfg.examples, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck), print_blob=True,
              phases=[p for p in Phase if p is not Phase.explain])
    @hseed(cfg.seed)
    @given(case=OPS[op].strategy())
    def each(case):
        t = time.perf_counter()
        rec = runner.check(op, case, "generated")
        checking[0] += time.perf_counter() - t
        progress(runner, op)
        # Crashes and timeouts are tallied, not raised: shrinking them would restart the
        # worker over and over. Unsupported cases are neither passes nor failures.
        assert rec.status not in ("fail", "error"), rec.message

    t0 = time.perf_counter()
    try:
        each()
    finally:
        runner.tallies[op].generate_s += time.perf_counter() - t0 - checking[0]


#: Invalid cases sent per op (rejection conformance), as a share of the profile's generated cases.
INVALID_SHARE = 0.4


def test_invalid_cases_are_rejected(runner, op):
    """Cases the spec rules out (a negative padding, an IoU threshold above 1, a NaN score …) must be
    rejected: a target that returns a value instead has an ``accepts-invalid`` finding."""
    from conformance.strategies.invalid import invalid_cases
    from reference import SpecError

    _ready(runner, op)
    cfg = runner.config
    tally = runner.tallies[op]
    t0 = time.perf_counter()
    try:
        valid = [c for c in draw_cases(OPS[op].strategy(), 8, cfg.seed, op)
                 if all(a.size for a in c.arrays.values())]
    except NotFastDrawable:
        pytest.skip("the op's strategy has no fast draw")

    def rejects(case):
        try:
            OPS[op].measure(case)
        except SpecError as exc:
            return exc
        except (ValueError, TypeError, IndexError, ArithmeticError):
            return None  # a reference that fails otherwise does not say which clause: not used
        return None

    keys = runner.worker.invalid_keys.get(op, ())
    if keys is not None and not keys:
        pytest.skip(f"{cfg.target}'s adapter declares no invalid input it passes to its library for {op}")
    invalids = invalid_cases(valid, rejects, max(8, int(cfg.examples * INVALID_SHARE)), keys)
    tally.generate_s += time.perf_counter() - t0
    records = runner.check_invalid(op, invalids)
    tally.total_s += time.perf_counter() - t0
    progress(runner, op)
    accepted = [r for r in records if r.status in ("fail", "crash", "timeout")]
    if not records:
        pytest.skip("no invalid case applies")
    assert not accepted, accepted[0].message
