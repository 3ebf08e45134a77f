"""The conformance suite: curated edge cases and Hypothesis-generated cases, per op.

Run through ``cnnspec run`` (or ``pytest conformance/suite -p conformance.plugin``).
A generated failure is shrunk by Hypothesis to a minimal counterexample, which the
report prints with a one-paste reproduction.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hseed

from conformance.corpus import CORPUS
from conformance.ops import OPS
from conformance.plugin import _progress


def _ready(runner, op):
    reply = runner.start_reply
    if reply is None or reply.kind != "ready":
        pytest.skip(f"target {runner.config.target} not run: {reply.detail if reply else 'not started'}")
    if op not in runner.worker.implemented:
        # No case is drawn for an op the target lacks: generating them would cost the run for nothing.
        runner.tallies[op].not_implemented = 1
        pytest.skip(f"{runner.config.target} does not implement {op}")


def test_curated_case_conforms(runner, corpus_case):
    op, i = corpus_case
    _ready(runner, op)
    t0 = time.perf_counter()
    rec = runner.check(op, CORPUS[op][i], "corpus")
    runner.tallies[op].total_s += time.perf_counter() - t0
    _progress(runner, op)
    if rec.status in ("unsupported", "not-implemented", "abandoned"):
        pytest.skip(f"{rec.status}: {rec.reason}")
    assert rec.status in ("pass", "ambiguous"), rec.message


def test_generated_cases_conform(runner, op):
    _ready(runner, op)
    cfg = runner.config

    # No explain phase: it re-runs a failing case many times to annotate it, which costs most of
    # a failing op's time; the report's minimal case and diagnosis already say what it would.
    @settings(max_examples=cfg.examples, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck), print_blob=True,
              phases=[p for p in Phase if p is not Phase.explain])
    @hseed(cfg.seed)
    @given(case=OPS[op].strategy())
    def each(case):
        rec = runner.check(op, case, "generated")
        _progress(runner, op)
        # Crashes and timeouts are tallied, not raised: shrinking them would restart the
        # worker over and over. Unsupported cases are neither passes nor failures.
        assert rec.status not in ("fail", "error"), rec.message

    t0 = time.perf_counter()
    try:
        each()
    finally:
        runner.tallies[op].total_s += time.perf_counter() - t0
    tally = runner.tallies[op]
    if tally.crashes or tally.timeouts:
        pytest.fail(f"{tally.crashes} crashed and {tally.timeouts} timed-out cases: "
                    + "; ".join(r.message for r in tally.crash_records[:3]))
    if tally.not_implemented and not tally.passed:
        pytest.skip(f"{cfg.target} does not implement {op}")
    if tally.unsupported and not tally.passed:
        pytest.skip(f"every case unsupported by {cfg.target}: {next(iter(tally.unsupported_reasons))}")
