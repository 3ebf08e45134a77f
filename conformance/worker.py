"""Target isolation: every target call runs in a worker process.

A case that segfaults, aborts or runs past the timeout kills only its worker: the
parent records ``crash`` or ``timeout`` with the case, starts a fresh worker and goes
on, so the run always finishes and its report is always written.
"""

from __future__ import annotations

import multiprocessing as mp
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .opnames import SCALAR_RESULTS


@dataclass
class Reply:
    """What one call gave: ``kind`` is ok / unsupported / not-implemented / error / crash / timeout."""

    kind: str
    value: Any = None
    detail: str = ""
    seconds: float = 0.0  # the target's own time (a crash or a timeout: the time until it was noticed)


def _serve(conn: Any, spec: str, dtype: str, device: str) -> None:
    from .targets import TargetUnavailable, Unsupported, load_target

    try:
        target = load_target(spec)
        target.setup(dtype, device)
    except (Unsupported, TargetUnavailable) as exc:
        conn.send(("setup-unsupported", str(exc)))
        return
    except Exception as exc:  # the target cannot even start: report it, don't hang the parent
        conn.send(("setup-error", f"{type(exc).__name__}: {exc}"))
        return
    from .opnames import OP_NAMES  # the names only: a worker loads neither the reference nor Hypothesis

    ops = sorted(op for op in OP_NAMES if target.implements(op))
    conn.send(("ready", (target.version(), ops, is_adapter(target), {op: target.invalid_keys(op) for op in ops})))
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            return
        if msg is None:
            return
        # One call, or a batch whose replies stream back one by one: the parent then knows
        # which case a crash or a hang belongs to, and one message carries a whole sweep.
        op, calls = msg
        for arrays, params in calls:
            conn.send(_answer(target, op, arrays, params))


def _answer(target: Any, op: str, arrays: list[Any], params: dict[str, Any]) -> tuple[str, Any, str, float]:
    """(kind, value, detail, seconds): seconds is the target's own time, conversions included."""
    from .targets import Unsupported

    if not target.implements(op):
        return ("not-implemented", None, "", 0.0)
    t0 = time.perf_counter()
    try:
        out = getattr(target, op)(*arrays, **params)
        out = _plain(_numbers_as_arrays(out) if op in SCALAR_RESULTS else out)
        return ("ok", out, "", time.perf_counter() - t0)
    except Unsupported as exc:
        return ("unsupported", None, str(exc), time.perf_counter() - t0)
    except Exception as exc:
        where = adapter_fault(target, exc)
        if where:
            return ("adapter-error", None, f"{type(exc).__name__}: {exc} (in the adapter, {where})",
                    time.perf_counter() - t0)
        return ("error", None, f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=4)}",
                time.perf_counter() - t0)


#: Exceptions that, raised by the adapter's own line, mean the adapter is broken (a renamed library
#: constant, a typo, a wrong index or key) rather than the library rejecting a case.
ADAPTER_EXCEPTIONS = (AttributeError, NameError, ImportError, KeyError, IndexError, UnboundLocalError)
#: ValueError messages of NumPy's own array handling, raised on an adapter's line (its reshape, its stack).
NUMPY_MESSAGES = ("cannot reshape array", "could not broadcast", "operands could not be broadcast",
                  "setting an array element with a sequence", "all the input array dimensions",
                  "all input arrays must have the same shape")


def is_adapter(target: Any) -> bool:
    """Whether ``target`` is an adapter around a library (a Target subclass) rather than a user's own
    implementation module, whose every line is the implementation under test."""
    from .targets import ModuleTarget

    return not isinstance(target, ModuleTarget)


def _adapter_files(target: Any) -> set[str]:
    import inspect
    import os

    files = {os.path.dirname(os.path.abspath(__file__)) + os.sep + "targets"}
    try:
        files.add(os.path.abspath(inspect.getfile(type(target))))
    except (TypeError, OSError):
        pass
    return files


def adapter_fault(target: Any, exc: BaseException) -> str:
    """"file:line" when ``exc`` arose in the adapter's own code rather than in the library it calls:
    raised on a line of the adapter (its innermost Python frame is the adapter's) and of a kind that
    only the adapter's own mistakes raise there (ADAPTER_EXCEPTIONS, or NumPy's shape errors). "" otherwise."""
    import os

    if not is_adapter(target):
        return ""
    frames = []
    tb = exc.__traceback__
    while tb is not None:
        frames.append(tb)
        tb = tb.tb_next
    files = _adapter_files(target)

    def ours(t: Any) -> bool:
        path = os.path.abspath(t.tb_frame.f_code.co_filename)
        return any(path == f or path.startswith(f + os.sep) for f in files)

    mine = [i for i, t in enumerate(frames) if ours(t)]
    if not mine:
        return ""
    last = frames[mine[-1]]
    beyond = frames[mine[-1] + 1:]
    # A module's own __getattr__ (NumPy's, a lazy loader's) raises the AttributeError of a misspelled name.
    lookup = isinstance(exc, AttributeError) and all(t.tb_frame.f_code.co_name in ("__getattr__", "__getattribute__")
                                                     for t in beyond)
    if beyond and not lookup:
        return ""
    numpy_shape = isinstance(exc, ValueError) and any(m in str(exc) for m in NUMPY_MESSAGES)
    if not (isinstance(exc, ADAPTER_EXCEPTIONS) or numpy_shape):
        return ""
    return f"{os.path.abspath(last.tb_frame.f_code.co_filename)}:{last.tb_lineno}"


def _numbers_as_arrays(out: Any) -> Any:
    """The result of an op whose outputs are numbers (conformance.opnames.SCALAR_RESULTS): every
    number (a Python or NumPy int or float, a bool) as a 0-d array, the items of a tuple (a pair of
    pads, a named tuple of counts) one by one; anything else unchanged, for the comparison to judge."""
    if isinstance(out, tuple):
        return tuple(_numbers_as_arrays(o) for o in out)
    if isinstance(out, (int, float, np.generic)):
        return np.asarray(out)
    return out


def _plain(out: Any) -> Any:
    """Make results picklable without importing the target's library in the parent."""
    if isinstance(out, tuple):
        return tuple(_plain(o) for o in out)
    if isinstance(out, list):
        return out  # reported as "not an array" by the comparison
    if isinstance(out, np.ndarray) or out is None or isinstance(out, (int, float, str)):
        return out
    try:
        return np.asarray(out)
    except Exception:
        return repr(out)


class Worker:
    """One target in one child process, restarted after a crash or a timeout."""

    def __init__(self, spec: str, dtype: str, device: str, timeout: float = 60.0,
                 start_timeout: float = 300.0) -> None:
        self.spec, self.dtype, self.device = spec, dtype, device
        self.timeout, self.start_timeout = timeout, start_timeout
        self.version = ""
        self.implemented: list[str] = []  # the ops the target defines, reported when it starts
        self.adapter = False  # whether the target is an adapter (its own faults are adapter errors)
        self.invalid_keys: dict[str, Any] = {}  # per op, the invalid-case breaks its adapter passes on
        self.restarts = 0
        self._proc: Any = None
        self._conn: Any = None

    def start(self) -> Reply:
        """Start the child; a ``Reply`` of kind ready / unsupported / error."""
        ctx = mp.get_context("spawn")  # no fork: targets like torch and TF are not fork-safe
        parent, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child, self.spec, self.dtype, self.device),
                                 daemon=True)
        self._proc.start()
        child.close()
        self._conn = parent
        if not parent.poll(self.start_timeout):
            self.close()
            return Reply("error", detail=f"target did not start within {self.start_timeout:.0f} s")
        try:
            kind, detail = parent.recv()
        except EOFError:
            code = self._proc.exitcode
            self.close()
            return Reply("error", detail=f"target process died while starting (exit code {code})")
        if kind == "ready":
            self.version, self.implemented, self.adapter, self.invalid_keys = detail
            return Reply("ready", detail=self.version)
        self.close()
        return Reply("unsupported" if kind == "setup-unsupported" else "error", detail=detail)

    def call(self, op: str, arrays: list[np.ndarray | None], params: dict[str, Any]) -> Reply:
        return self.call_many(op, [(arrays, params)])[0]

    def call_many(self, op: str, calls: list[tuple[list[Any], dict[str, Any]]],
                  max_bad: int | None = None, meanwhile: Callable[[], None] | None = None) -> list[Reply]:
        """One reply per call, in order. A crash or a timeout is that call's reply; the worker is
        restarted and the calls after it go on, until ``max_bad`` crashes and timeouts: then the
        replies stop short and the caller counts the rest as not run.

        ``meanwhile`` runs once, after the calls are sent and while the target works on them (the
        runner computes the reference then: on two cores the two overlap). ``Reply.seconds`` is
        the target's own time, measured in the worker; a timeout counts from the end of
        ``meanwhile``.
        """
        replies: list[Reply] = []
        bad = 0
        pending = list(calls)
        ran = False

        def once() -> None:
            nonlocal ran
            if meanwhile is not None and not ran:
                ran = True
                meanwhile()

        try:
            while pending and (max_bad is None or bad < max_bad):
                if self._proc is None or not self._proc.is_alive():
                    started = self.start()
                    if started.kind != "ready":
                        return replies + [started] * len(pending)
                answered = self._exchange(op, pending, replies, once)
                if answered < len(pending):
                    bad += 1
                    pending = pending[answered + 1:]
                else:
                    pending = []
            return replies
        finally:
            once()

    def _exchange(self, op: str, pending: list[Any], replies: list[Reply], meanwhile: Callable[[], None]) -> int:
        """Send ``pending``, append the replies (a crash's or a timeout's last); how many were answered."""
        answered = 0
        t0 = time.perf_counter()
        try:
            self._conn.send((op, pending))
            meanwhile()
            t0 = time.perf_counter()
            for _ in pending:
                if not self._conn.poll(self.timeout):
                    self._restart()
                    replies.append(Reply("timeout", detail=f"no answer within {self.timeout:g} s",
                                         seconds=time.perf_counter() - t0))
                    return answered
                kind, value, detail, seconds = self._conn.recv()
                replies.append(Reply(kind, value, detail, seconds))
                t0 = time.perf_counter()
                answered += 1
        except (EOFError, BrokenPipeError, ConnectionResetError, OSError):
            code = self._proc.exitcode if self._proc is not None else None
            self._proc.join(5)
            code = self._proc.exitcode if code is None else code
            self._restart()
            replies.append(Reply("crash", detail=_describe_exit(code), seconds=time.perf_counter() - t0))
        return answered

    def _restart(self) -> None:
        self.close()
        self.restarts += 1

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.send(None)
            except Exception:
                pass
            self._conn.close()
        if self._proc is not None:
            self._proc.join(0.5)
            if self._proc.is_alive():
                self._proc.kill()
                self._proc.join(5)
        self._proc = self._conn = None


class InProcess:
    """The :class:`Worker` interface without a process: the target is called in this one.

    For tests and notebooks that want to know what the runner would record for a case
    (``Runner(config, worker=InProcess(target))``); a crash or a hang is not contained."""

    def __init__(self, target: Any) -> None:
        from .opnames import OP_NAMES

        self.target = target
        self.version = target.version()
        self.implemented = sorted(op for op in OP_NAMES if target.implements(op))
        self.adapter = is_adapter(target)
        self.invalid_keys = {op: target.invalid_keys(op) for op in self.implemented}
        self.restarts = 0

    def start(self) -> Reply:
        return Reply("ready", detail=self.version)

    def call(self, op: str, arrays: list[Any], params: dict[str, Any]) -> Reply:
        return Reply(*_answer(self.target, op, arrays, params))

    def call_many(self, op: str, calls: list[tuple[list[Any], dict[str, Any]]], max_bad: int | None = None,
                  meanwhile: Callable[[], None] | None = None) -> list[Reply]:
        if meanwhile is not None:
            meanwhile()
        return [self.call(op, arrays, params) for arrays, params in calls]

    def close(self) -> None:
        pass


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "the target process died"
    if code < 0:
        import signal

        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = str(-code)
        return f"the target process was killed by {name}"
    return f"the target process exited with code {code}"
