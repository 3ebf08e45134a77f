"""``cnnspec``: the command line (also ``python -m conformance``).

    cnnspec run --target TARGET [--ops ...] [--dtype ...] [--device ...] [--examples N] [--seed S]
                [--profile quick|default|thorough] [--json PATH] [--markdown PATH] [--junit PATH]
                [--html PATH] [--baseline FILE] [--write-baseline FILE] [--timeout SECONDS]
                [--generation fast|hypothesis] [-- PYTEST_ARGS...]
    cnnspec targets | ops | spec CLAUSE
    cnnspec expectations update|diff|table ...   (known findings of the built-in targets)
    cnnspec golden write|check|verify ...        (golden vectors: see conformance/golden.py)

Exit status of ``run`` (the same on every pytest version the package allows):
0 at least one case checked and every checked case conforms (or is in the baseline);
1 a non-conformance; 2 a usage error; 3 nothing was checked; 4 an adapter or internal error.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from tabulate import tabulate

from .config import GENERATIONS, PROFILES
from .dtypes import DTYPES

EPILOG = """exit status of `cnnspec run`:
  0  at least one case was checked and every checked case conforms (or is a known finding of --baseline)
  1  a non-conformance: a finding (not in the baseline, when one is given)
  2  usage error: unknown target, a target module that fails to import, a missing :obj, an
     unwritable report path, a malformed baseline, a bad option (all checked before any case runs)
  3  nothing was checked (library missing, dtype or device not supported, every case refused)
  4  an adapter error or an internal error: the library was not judged
"""


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("cnnspec")
    except Exception:  # running from a checkout that was never installed
        return "0.1.0 (checkout)"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cnnspec", description="Conformance of CNN operations to cnnspec.",
                                epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"cnnspec {_version()}")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="check a target against the reference", epilog=EPILOG,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("--target", required=True,
                     help="a built-in target (see `cnnspec targets`), pkg.module[:obj] or path/to/file.py[:obj]")
    run.add_argument("--ops", default="", help="comma-separated ops (default: every op; see `cnnspec ops`)")
    run.add_argument("--dtype", default="float64", choices=DTYPES, help="the run's dtype (default: %(default)s)")
    run.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="default: %(default)s")
    run.add_argument("--examples", type=int, default=None, help="generated cases per op (overrides --profile)")
    run.add_argument("--seed", type=int, default=0, help="default: %(default)s")
    run.add_argument("--profile", default="default", choices=sorted(PROFILES),
                     help="generated cases per op: " + ", ".join(f"{k} {v}" for k, v in PROFILES.items())
                     + " (default: %(default)s)")
    run.add_argument("--json", metavar="PATH", help="the report as JSON (conformance/report_schema.json)")
    run.add_argument("--markdown", metavar="PATH", help="the report as Markdown")
    run.add_argument("--junit", metavar="PATH", help="the report as JUnit XML")
    run.add_argument("--html", metavar="PATH",
                     help="a page showing reference, target and difference images of failing cases "
                          "(pip install 'cnnspec[html]')")
    run.add_argument("--baseline", metavar="FILE",
                     help="accepted findings (JSON or .toml): exit 0 when every finding is in it, 1 when one "
                          "is new; entries that no longer occur are listed to prune")
    run.add_argument("--write-baseline", metavar="FILE", help="write this run's findings as a baseline")
    run.add_argument("--timeout", type=float, default=60.0,
                     help="seconds per case before it counts as a timeout (default: %(default)s)")
    run.add_argument("--generation", default="fast", choices=GENERATIONS,
                     help="fast (default): draw the generated cases with a seeded sweep of the shared "
                          "strategies and use Hypothesis only to search and shrink once one fails; "
                          "hypothesis: draw every case with Hypothesis (slower, its own edge-case search)")
    run.add_argument("pytest_args", nargs=argparse.REMAINDER,
                     help="after --: passed to pytest (-k EXPR, -n auto with pytest-xdist, -x, ...)")
    sub.add_parser("targets", help="the built-in targets, whether each is installed, its version")
    sub.add_parser("ops", help="the ops and clauses the runner checks")
    spec = sub.add_parser("spec", help="print a clause of the spec (e.g. cnnspec spec POOL-MAX-2)")
    spec.add_argument("clause", nargs="?", help="a clause id; none: list every clause")
    exp = sub.add_parser("expectations", help="the known findings of the built-in targets (conformance/expectations)")
    exp.add_argument("action", choices=["update", "diff", "table"],
                     help="update: rewrite a target's file from a run; diff: run and print what appeared, "
                          "vanished or changed; table: print the README's findings table")
    exp.add_argument("--target", action="append", default=[], help="a built-in target (repeatable)")
    exp.add_argument("--all", action="store_true", help="every target that has an expectations file")
    exp.add_argument("--dtype", default=None, help="update: the run's dtype (default: the file's, else float64)")
    exp.add_argument("--profile", default=None, help="update: the profile (default: the file's, else default)")
    exp.add_argument("--readme", metavar="PATH", help="table: rewrite the findings section of this README")
    from .golden import add_arguments as _golden_arguments  # golden vectors (spec/golden.md)
    _golden_arguments(sub.add_parser("golden", help="write, check or verify a golden-vector corpus"))
    return p


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:  # `cnnspec targets | head -3`: the reader left; say nothing more
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


def _main(argv: list[str] | None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on a usage error, 0 on --help
        return int(exc.code or 0)
    if args.command == "targets":
        return _targets()
    if args.command == "ops":
        return _ops()
    if args.command == "spec":
        return _spec(args.clause)
    if args.command == "expectations":
        from .expectations_cli import main as expectations_main

        return expectations_main(args)
    if args.command == "golden":
        from .golden import main as golden_main
        return golden_main(args)
    return _run(args)


def _targets() -> int:
    from .targets import BUILTIN, library, target_class

    rows = []
    for name in BUILTIN:
        cls = target_class(name)
        missing = cls.missing()
        version = "" if missing else cls.installed_version()
        hint = getattr(cls, "install_hint", "") or f"pip install 'cnnspec[{library(name)}]'"
        rows.append([name, "no" if missing else "yes", version, hint if missing else "",
                     ", ".join(cls.devices)])
    print(tabulate(rows, headers=["target", "installed", "version", "install", "devices"]))
    return 0


def _ops() -> int:
    from .ops import OPS
    from .variants import variants_for

    rows = [[o.name, ", ".join(o.outputs), ", ".join(o.clauses),
             ", ".join(sorted({v.name for v in variants_for(o.name)}))] for o in OPS.values()]
    print(tabulate(rows, headers=["op", "outputs", "clauses", "diagnosable variants"], maxcolwidths=[None, 16, 40, 50]))
    return 0


def _spec(clause: str | None) -> int:
    from . import spec_text

    if not clause:
        for cid, (fname, title) in spec_text.all_clauses().items():
            print(f"{cid:14} {title}  ({fname})")
        return 0
    try:
        print(spec_text.clause(clause))
    except KeyError as exc:
        print(f"cnnspec spec: error: {exc.args[0] if exc.args else clause}", file=sys.stderr)
        return 2
    return 0


def _usage(message: str) -> int:
    print(f"cnnspec run: error: {message}", file=sys.stderr)
    return 2


def _check_target(target: str) -> str | None:
    """Why ``target`` names nothing runnable (a usage error, found before the run), or None."""
    from .targets import BUILTIN, TargetUnavailable, load_target

    if target in BUILTIN:
        return None
    path_part, _, attr = target.partition(":")
    if not (path_part.endswith(".py") or "/" in path_part):
        import importlib.util

        try:
            found = importlib.util.find_spec(path_part)
        except (ImportError, ValueError):
            found = None
        if found is None:
            return (f"--target {target}: not a built-in target ({', '.join(BUILTIN)}) and no importable "
                    f"module {path_part!r}")
    try:
        load_target(target)
    except TargetUnavailable:
        return None  # a Target class whose library is missing: the run reports it skipped (exit 3)
    except SyntaxError as exc:
        return f"--target {target}: syntax error in {exc.filename}, line {exc.lineno}: {exc.msg}"
    except ValueError as exc:
        return str(exc).splitlines()[0]
    except Exception as exc:  # the module runs code at import that fails
        return f"--target {target}: importing it failed: {type(exc).__name__}: {exc}"
    return None


def _run(args: Any) -> int:
    import pytest

    from .expectations import BaselineError, check_writable, load
    from .targets import BUILTIN

    ops = [o for o in args.ops.split(",") if o]
    if ops:
        from .ops import OPS

        unknown = [o for o in ops if o not in OPS]
        if unknown:
            return _usage(f"--ops: unknown op(s) {', '.join(unknown)}; see `cnnspec ops`")
    target = args.target
    if target not in BUILTIN and (target.partition(":")[0].endswith(".py") or "/" in target):
        path = Path(target.partition(":")[0])
        if not path.is_file():
            return _usage(f"--target {target}: no such file")
        target = str(path.resolve()) + (":" + target.partition(":")[2] if ":" in target else "")
    if args.examples is not None and args.examples < 1:
        return _usage("--examples must be >= 1")
    if not args.timeout > 0:
        return _usage(f"--timeout {args.timeout:g}: must be > 0 seconds")
    for opt in ("json", "markdown", "junit", "html", "write_baseline"):
        path = getattr(args, opt)
        why = check_writable(path) if path else None
        if why:
            return _usage(f"--{opt.replace('_', '-')} {path}: {why}")
    if args.baseline:
        try:
            load(args.baseline)
        except BaselineError as exc:
            return _usage(f"--baseline: {exc}")
    why = _check_target(target)
    if why:
        return _usage(why)
    # Hypothesis keeps its files in the user's cache folder, never in the working directory.
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cnnspec" / "hypothesis"
    os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(cache))
    suite = Path(__file__).parent / "suite"
    extra = [a for a in args.pytest_args if a != "--"]
    pytest_args = [str(suite), "-c", str(suite / "pytest.ini"), "--rootdir", str(suite),
                   "-p", "conformance.plugin", "-p", "no:cacheprovider", "-q", "--no-header", "-rN", "--tb=no",
                   f"--target={target}", f"--dtype={args.dtype}", f"--device={args.device}",
                   f"--seed={args.seed}", f"--profile={args.profile}", f"--case-timeout={args.timeout}",
                   f"--generation={args.generation}"]
    if ops:
        pytest_args.append(f"--ops={','.join(ops)}")
    if args.examples:
        pytest_args.append(f"--examples={args.examples}")
    for opt, val in (("--report-json", args.json), ("--report-markdown", args.markdown),
                     ("--report-junit", args.junit), ("--report-html", args.html),
                     ("--baseline", args.baseline), ("--write-baseline", args.write_baseline)):
        if val:
            pytest_args.append(f"{opt}={val}")
    holder = _Holder()
    try:
        code = pytest.main(pytest_args + extra, plugins=[holder])
    except Exception as exc:  # a failure of cnnspec itself (or of pytest) outside any case
        print(f"cnnspec run: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 4
    if code == pytest.ExitCode.USAGE_ERROR:
        return 2
    if code == pytest.ExitCode.INTERRUPTED and holder.report is None:
        return 2 if any(a.startswith("-p") for a in extra) else 4
    if holder.report is None:
        return 4  # the run itself did not happen: never report that as a pass
    return int(holder.report["exit_status"])


class _Holder:
    """Catches the report the plugin builds, so the exit status comes from it."""

    report: dict[str, Any] | None = None

    def pytest_unconfigure(self, config: Any) -> None:
        from .plugin import REPORT

        self.report = config.stash.get(REPORT, None)


if __name__ == "__main__":
    sys.exit(main())
