"""The pytest plugin behind ``cnnspec run``: options, the runner fixture, the final report.

``cnnspec run`` is a thin front over ``pytest conformance/suite -p conformance.plugin``;
running pytest directly works too, so selection (``-k``), parallel runs (``-n``, with
pytest-xdist) and JUnit XML come from pytest itself. Under xdist every worker writes its
tallies to a shared folder and the controller merges them into one report.
"""

from __future__ import annotations

import os
import pickle
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from .config import GENERATIONS
from .corpus import CORPUS
from .ops import OPS
from .runner import PROFILES, RunConfig, Runner, Tally


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
    g.addoption("--baseline", default=None, help="a baseline of accepted findings (cnnspec run --baseline)")
    g.addoption("--write-baseline", default=None, help="write this run's findings as a baseline")
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


#: The plugin's state, kept in pytest's own per-config stash (never in module globals).
CONFIG = pytest.StashKey[RunConfig]()
STARTED = pytest.StashKey[float]()
PARTIALS = pytest.StashKey[str]()
OWNS_PARTIALS = pytest.StashKey[bool]()
RUNNER = pytest.StashKey[Runner]()
REPORT = pytest.StashKey[dict]()
BASELINE = pytest.StashKey[Any]()


def pytest_configure(config: Any) -> None:
    config.addinivalue_line("markers", "clause(*ids): spec clauses")
    # Hypothesis keeps no example database in the user's working directory (the suite asks for none).
    from hypothesis import settings

    settings.register_profile("cnnspec-run", database=None)
    settings.load_profile("cnnspec-run")
    _no_local_constants()
    config.stash[CONFIG] = _config(config)
    config.stash[STARTED] = time.perf_counter()
    baseline = config.getoption("--baseline")
    if baseline:
        from .expectations import BaselineError, load

        try:
            config.stash[BASELINE] = load(baseline)
        except BaselineError as exc:
            raise pytest.UsageError(f"--baseline: {exc}") from exc
    if not hasattr(config, "workerinput") and config.getoption("--cnnspec-partials") is None:
        config.stash[PARTIALS] = tempfile.mkdtemp(prefix="cnnspec-")
        config.stash[OWNS_PARTIALS] = True
        config.option.cnnspec_partials = config.stash[PARTIALS]
    else:
        config.stash[PARTIALS] = config.getoption("--cnnspec-partials") or \
            config.workerinput.get("cnnspec_partials")


def _no_local_constants() -> None:
    """Keep Hypothesis from drawing constants it collects from the loaded modules' source (cnnspec's
    own among them): with them, editing any line of cnnspec could change which cases a search and a
    shrink meet, and so a run's findings. A run's cases then depend on its seed alone."""
    try:
        from hypothesis.internal.conjecture import providers

        floats_set: Any = type(providers._local_constants.floats)  # a sorted set taking a key
        empty = providers._local_constants.__class__(
            integers=type(providers._local_constants.integers)(),
            floats=floats_set(key=providers.float_to_int),
            bytes=type(providers._local_constants.bytes)(),
            strings=type(providers._local_constants.strings)())
        providers._get_local_constants = lambda: empty
    except Exception:  # another Hypothesis version: its internals differ; runs stay valid, only less stable
        pass


@pytest.hookimpl(optionalhook=True)  # an xdist hook: unknown (and unused) without pytest-xdist
def pytest_configure_node(node: Any) -> None:  # hand the partials folder to the workers
    node.workerinput["cnnspec_partials"] = node.config.stash[PARTIALS]


def pytest_generate_tests(metafunc: Any) -> None:
    cfg: RunConfig = metafunc.config.stash[CONFIG]
    if "corpus_case" in metafunc.fixturenames:
        params = [(op, i) for op in cfg.ops for i in range(len(CORPUS.get(op, [])))]
        ids = [f"{op}-{i}-{_slug(CORPUS[op][i].note)}" for op, i in params]
        metafunc.parametrize("corpus_case", params, ids=ids)
    elif "op" in metafunc.fixturenames:
        metafunc.parametrize("op", cfg.ops)


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text)[:40].strip("_")


@pytest.fixture(scope="session")
def runner(request: Any) -> Any:
    cfg: RunConfig = request.config.stash[CONFIG]
    run = Runner(cfg)
    request.config.stash[RUNNER] = run
    run.start()
    yield run
    run.close()


def _terminal() -> Any:
    """The real terminal (pytest captures sys.stderr; the progress line goes past it), or None."""
    err = sys.__stderr__
    try:
        return err if err is not None and err.isatty() and os.environ.get("TERM") != "dumb" else None
    except (AttributeError, ValueError):
        return None


def progress(runner: Runner, op: str) -> None:
    """A live line: op, cases done, failures so far, elapsed (on a terminal, without -s)."""
    out = _terminal()
    if out is None:
        return
    t = runner.tallies[op]
    total = sum(x.cases for x in runner.tallies.values())
    fails = sum(x.failed for x in runner.tallies.values())
    elapsed = time.perf_counter() - runner.started
    line = (f"[{runner.config.target} {runner.config.dtype}] {op}: {t.cases} cases, {t.failed} failed"
            f" · run: {total} cases, {fails} failed · {elapsed:.0f} s")
    out.write("\r\x1b[K" + line[:119])
    out.flush()


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    config = session.config
    folder = config.stash.get(PARTIALS, None)
    run = config.stash.get(RUNNER, None)
    if run is not None and folder:
        state = {"tallies": run.tallies, "start": run.start_reply, "version": run.worker.version,
                 "restarts": run.worker.restarts, "pid": os.getpid()}
        with open(Path(folder) / f"part-{os.getpid()}.pkl", "wb") as fh:
            pickle.dump(state, fh)
    if hasattr(config, "workerinput"):
        return
    out = _terminal()
    if out is not None:
        out.write("\r\x1b[K")
        out.flush()
    from .report import build, emit

    cfg: RunConfig = config.stash[CONFIG]
    tallies = {op: Tally(op) for op in cfg.ops}
    start, version = None, ""
    for part in sorted(Path(folder).glob("part-*.pkl")) if folder else []:
        with open(part, "rb") as fh:
            state = pickle.load(fh)  # written by this run's own processes just now
        for op, t in state["tallies"].items():
            tallies[op].merge(t)
        start = start if start is not None and start.kind == "ready" else state["start"]
        version = version or state["version"]
    if folder and config.stash.get(OWNS_PARTIALS, False):
        shutil.rmtree(folder, ignore_errors=True)
    elapsed = time.perf_counter() - config.stash[STARTED]
    report = build(cfg, tallies, start, version, elapsed, config.stash.get(BASELINE, None))
    config.stash[REPORT] = report
    emit(report, config)
    written = config.getoption("--write-baseline")
    if written:
        from .expectations import from_report, write

        write(from_report(report), written)
    html = config.getoption("--report-html")
    if html:
        from .html_report import write_html

        write_html(html, cfg, tallies, report)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: Any) -> None:
    from .report import terminal

    report = config.stash.get(REPORT, None)
    if report is not None:
        terminalreporter.write_line("")
        for line in terminal(report).splitlines():
            terminalreporter.write_line(line)
