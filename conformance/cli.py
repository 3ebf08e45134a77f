"""``cnnspec``: the command line (also ``python -m conformance``).

    cnnspec run --target TARGET [--ops ...] [--dtype ...] [--device ...] [--examples N] [--seed S]
                [--profile quick|default|thorough] [--json PATH] [--markdown PATH] [--junit PATH]
                [--timeout SECONDS] [--generation fast|hypothesis] [-- PYTEST_ARGS...]
    cnnspec targets
    cnnspec ops
    cnnspec golden write|check|verify ...   (golden vectors: see conformance/golden.py)

Exit status: 0 when every checked case conforms, 1 when any fails (or crashes, or
times out), 2 for a usage error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from tabulate import tabulate

from .config import GENERATIONS, PROFILES
from .dtypes import DTYPES


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cnnspec", description="Conformance of CNN operations to cnnspec.")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="check a target against the reference")
    run.add_argument("--target", required=True,
                     help="a built-in target (see `cnnspec targets`), pkg.module[:obj] or path/to/file.py")
    run.add_argument("--ops", default="", help="comma-separated ops (default: every op; see `cnnspec ops`)")
    run.add_argument("--dtype", default="float64", choices=DTYPES)
    run.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    run.add_argument("--examples", type=int, default=None, help="generated cases per op (overrides --profile)")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--profile", default="default", choices=sorted(PROFILES),
                     help="generated cases per op: " + ", ".join(f"{k} {v}" for k, v in PROFILES.items()))
    run.add_argument("--json", metavar="PATH")
    run.add_argument("--markdown", metavar="PATH")
    run.add_argument("--junit", metavar="PATH")
    run.add_argument("--html", metavar="PATH",
                     help="a page showing reference, target and difference images of failing cases "
                          "(pip install 'cnnspec[html]')")
    run.add_argument("--timeout", type=float, default=60.0, help="seconds per case before it counts as a timeout")
    run.add_argument("--generation", default="fast", choices=GENERATIONS,
                     help="fast (default): draw the generated cases with a seeded sweep of the shared "
                          "strategies and use Hypothesis only to search and shrink once one fails; "
                          "hypothesis: draw every case with Hypothesis (slower, its own edge-case search)")
    run.add_argument("pytest_args", nargs=argparse.REMAINDER,
                     help="after --: passed to pytest (-k EXPR, -n auto with pytest-xdist, -x, ...)")
    sub.add_parser("targets", help="the built-in targets, whether each is installed, its version")
    sub.add_parser("ops", help="the ops and clauses the runner checks")
    from .golden import add_arguments as _golden_arguments  # golden vectors (spec/golden.md)
    _golden_arguments(sub.add_parser("golden", help="write, check or verify a golden-vector corpus"))
    return p


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on a usage error, 0 on --help
        return int(exc.code or 0)
    if args.command == "targets":
        return _targets()
    if args.command == "ops":
        return _ops()
    if args.command == "golden":
        from .golden import main as golden_main
        return golden_main(args)
    return _run(args)


def _targets() -> int:
    import importlib

    from .targets import BUILTIN

    rows = []
    for name, module in BUILTIN.items():
        cls = importlib.import_module(module).TARGET
        missing = cls.missing()
        version = "" if missing else cls.installed_version()
        hint = getattr(cls, "install_hint", "") or f"pip install 'cnnspec[{name.split('-')[0]}]'"
        rows.append([name, "no" if missing else "yes", version, hint if missing else "",
                     ", ".join(cls.devices)])
    print(tabulate(rows, headers=["target", "installed", "version", "install", "devices"]))
    return 0


def _ops() -> int:
    from .ops import OPS
    from .variants import variants_for

    rows = [[o.name, ", ".join(o.outputs), ", ".join(o.clauses),
             ", ".join(sorted({v.name for v in variants_for(o.name)}))] for o in OPS.values()]
    print(tabulate(rows, headers=["op", "outputs", "clauses", "diagnosable variants"]))
    return 0


def _run(args: Any) -> int:
    import pytest

    from .targets import BUILTIN

    ops = [o for o in args.ops.split(",") if o]  # the plugin rejects unknown ops (exit 2)
    target = args.target
    if target not in BUILTIN and (target.endswith(".py") or "/" in target):
        path = Path(target.partition(":")[0])
        if not path.is_file():
            print(f"cnnspec run: error: --target {target}: no such file", file=sys.stderr)
            return 2
        target = str(path.resolve()) + (":" + target.partition(":")[2] if ":" in target else "")
    if args.examples is not None and args.examples < 1:
        print("cnnspec run: error: --examples must be >= 1", file=sys.stderr)
        return 2
    suite = Path(__file__).parent / "suite"
    extra = [a for a in args.pytest_args if a != "--"]
    pytest_args = [str(suite), "-c", str(suite / "pytest.ini"), "--rootdir", str(suite),
                   "-p", "conformance.plugin", "-q", "--no-header", "-rN", "--tb=no",
                   f"--target={target}", f"--dtype={args.dtype}", f"--device={args.device}",
                   f"--seed={args.seed}", f"--profile={args.profile}", f"--case-timeout={args.timeout}",
                   f"--generation={args.generation}"]
    if ops:
        pytest_args.append(f"--ops={','.join(ops)}")
    if args.examples:
        pytest_args.append(f"--examples={args.examples}")
    for opt, val in (("--report-json", args.json), ("--report-markdown", args.markdown),
                     ("--report-junit", args.junit), ("--report-html", args.html)):
        if val:
            pytest_args.append(f"{opt}={val}")
    holder = _Holder()
    code = pytest.main(pytest_args + extra, plugins=[holder])
    if code in (pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.INTERRUPTED):
        return 2  # the run itself did not happen: never report that as a pass
    if holder.report is None:
        return int(code) or 2
    return int(holder.report["exit_status"])


class _Holder:
    """Catches the report the plugin builds, so the exit status comes from it."""

    report: dict[str, Any] | None = None

    def pytest_unconfigure(self, config: Any) -> None:
        self.report = getattr(config, "_cnnspec_report", None)


if __name__ == "__main__":
    sys.exit(main())
