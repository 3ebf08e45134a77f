"""The pytest plugin behind ``cnnspec run``: options, the runner fixture, the final report.

``cnnspec run`` is a thin front over ``pytest conformance/suite -p conformance.plugin``;
running pytest directly works too, so selection (``-k``), parallel runs (``-n``, with
pytest-xdist) and JUnit XML come from pytest itself. Under xdist every worker writes its
tallies to a shared folder and the controller merges them into one report.
"""

from __future__ import annotations

import os
import pickle
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from .config import GENERATIONS
from .corpus import CORPUS
from .ops import OPS
from .runner import PROFILES, RunConfig, Runner, Tally, diagnose


def pytest_addoption(parser: Any) -> None:
    g = parser.getgroup("cnnspec", "cnnspec conformance run")
    g.addoption("--target", default="reference", help="target name, module[:obj] or file.py")
    g.addoption("--ops", default="", help="comma-separated ops (default: every op)")
    g.addoption("--dtype", default="float64", choices=["float32", "float64", "float16", "bfloat16"])
    g.addoption("--device", default="cpu", choices=["cpu", "cuda"])
    g.addoption("--examples", type=int, default=None, help="generated cases per op")
    g.addoption("--seed", type=int, default=0)
    g.addoption("--profile", default="default", choices=sorted(PROFILES))
    g.addoption("--generation", default="fast", choices=list(GENERATIONS),
                help="fast: a seeded sweep, Hypothesis only to shrink a failure; hypothesis: every case")
    g.addoption("--case-timeout", type=float, default=60.0, help="seconds per case before 'timeout'")
    g.addoption("--report-json", default=None)
    g.addoption("--report-markdown", default=None)
    g.addoption("--report-junit", default=None)
    g.addoption("--report-html", default=None, help="a page with images of failing cases (needs matplotlib)")
    g.addoption("--cnnspec-partials", default=None,
                help="folder for xdist workers' partial results (set by the controller)")


def _config(pc: Any) -> RunConfig:
    ops = [o for o in pc.getoption("--ops").split(",") if o] or list(OPS)
    unknown = [o for o in ops if o not in OPS]
    if unknown:
        raise pytest.UsageError(f"--ops: unknown op(s) {unknown}; known: {', '.join(OPS)}")
    profile = pc.getoption("--profile")
    examples = pc.getoption("--examples") or PROFILES[profile]
    return RunConfig(pc.getoption("--target"), ops, pc.getoption("--dtype"), pc.getoption("--device"),
                     examples, pc.getoption("--seed"), profile, pc.getoption("--case-timeout"),
                     pc.getoption("--generation"))


def pytest_configure(config: Any) -> None:
    config.addinivalue_line("markers", "clause(*ids): spec clauses")
    config._cnnspec = _config(config)
    config._cnnspec_started = time.perf_counter()
    if not hasattr(config, "workerinput") and config.getoption("--cnnspec-partials") is None:
        config._cnnspec_partials = tempfile.mkdtemp(prefix="cnnspec-")
        config.option.cnnspec_partials = config._cnnspec_partials
    else:
        config._cnnspec_partials = config.getoption("--cnnspec-partials") or \
            config.workerinput.get("cnnspec_partials")


@pytest.hookimpl(optionalhook=True)  # an xdist hook: unknown (and unused) without pytest-xdist
def pytest_configure_node(node: Any) -> None:  # hand the partials folder to the workers
    node.workerinput["cnnspec_partials"] = node.config._cnnspec_partials


def pytest_generate_tests(metafunc: Any) -> None:
    cfg: RunConfig = metafunc.config._cnnspec
    if "corpus_case" in metafunc.fixturenames:
        params = [(op, i) for op in cfg.ops for i in range(len(CORPUS.get(op, [])))]
        ids = [f"{op}-{i}-{_slug(CORPUS[op][i].note)}" for op, i in params]
        metafunc.parametrize("corpus_case", params, ids=ids)
    elif "op" in metafunc.fixturenames:
        metafunc.parametrize("op", cfg.ops)


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text)[:40].strip("_")


_RUNNER: Runner | None = None


@pytest.fixture(scope="session")
def runner(request: Any) -> Any:
    global _RUNNER
    cfg: RunConfig = request.config._cnnspec
    _RUNNER = Runner(cfg)
    _RUNNER.start()
    yield _RUNNER
    _RUNNER.close()


def _progress(runner: Runner, op: str) -> None:
    if sys.stderr.isatty():
        t = runner.tallies[op]
        sys.stderr.write(f"\r\x1b[K[{runner.config.target} {runner.config.dtype}] {op}: "
                         f"{t.cases} cases, {t.failed} failed")
        sys.stderr.flush()


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    config = session.config
    folder = config._cnnspec_partials
    if _RUNNER is not None and folder:
        state = {"tallies": _RUNNER.tallies, "start": _RUNNER.start_reply, "version": _RUNNER.worker.version,
                 "restarts": _RUNNER.worker.restarts, "pid": os.getpid()}
        with open(Path(folder) / f"part-{os.getpid()}.pkl", "wb") as fh:
            pickle.dump(state, fh)
    if hasattr(config, "workerinput"):
        return
    if sys.stderr.isatty():
        sys.stderr.write("\r\x1b[K")
    from .report import build, emit

    cfg: RunConfig = config._cnnspec
    tallies = {op: Tally(op) for op in cfg.ops}
    start, version = None, ""
    for part in sorted(Path(folder).glob("part-*.pkl")) if folder else []:
        with open(part, "rb") as fh:
            state = pickle.load(fh)  # written by this run's own processes just now
        for op, t in state["tallies"].items():
            tallies[op].merge(t)
        start = start if start is not None and start.kind == "ready" else state["start"]
        version = version or state["version"]
    for t in tallies.values():
        t.diagnosis = diagnose(t, cfg.dtype)
    elapsed = time.perf_counter() - config._cnnspec_started
    report = build(cfg, tallies, start, version, elapsed)
    config._cnnspec_report = report
    emit(report, config)
    html = config.getoption("--report-html")
    if html:
        from .html_report import write_html

        write_html(html, cfg, tallies, report)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: Any) -> None:
    from .report import terminal

    report = getattr(config, "_cnnspec_report", None)
    if report is not None:
        terminalreporter.write_line("")
        for line in terminal(report).splitlines():
            terminalreporter.write_line(line)
