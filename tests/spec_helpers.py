"""Helpers shared by the test modules (not collected: no ``test_`` prefix)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest

from reference import SpecError


@contextmanager
def spec_error(clause: str, param: str):
    """The block raises SpecError for ``param``, citing ``clause`` in its message."""
    with pytest.raises(SpecError) as info:
        yield
    err = info.value
    assert err.clause == clause, str(err)
    assert err.param == param, str(err)
    assert str(err).startswith(f"{param}=") and str(err).endswith(f"({clause})"), str(err)


class Judged:
    """Cases judged by the runner itself, in this process (``conformance.runner.in_process``):
    what a ``cnnspec run`` would record, with the runner's per-op tally (TOL-3's pooled RMS).

    ``known(case)`` names a failure the test module pins elsewhere as a strict xfail (it is
    counted as "known", not asserted), or returns None.
    """

    def __init__(self, target: Any, dtype: str, known: Callable[[Any], str | None] | None = None) -> None:
        from conformance.runner import in_process

        self.runner = in_process(target, dtype)
        self.dtype = dtype
        self.known = known
        self.seen: Counter[str] = Counter()

    def check(self, case: Any, op: str | None = None) -> str:
        """pass / ambiguous / unsupported / known; anything else fails the test with the runner's message."""
        rec = self.runner.check(op or case.op, case, "generated")
        status = rec.status
        if status == "fail" and self.known is not None and self.known(rec.case):
            status = "known"
        assert status in ("pass", "ambiguous", "unsupported", "known"), \
            f"[{self.dtype}] {rec.message}; first differences (index, reference, target): {rec.diffs}"
        self.seen[status] += 1
        return status

    def run(self, strategy: Any, examples: int | None = None) -> Judged:
        """Check every case Hypothesis draws from ``strategy``: ``examples`` of them, or the
        profile's number when None."""
        from hypothesis import given, settings

        def each(case: Any) -> None:
            self.check(case)

        prop = given(case=strategy)(each)
        (settings(max_examples=examples)(prop) if examples is not None else prop)()
        return self

    @property
    def supported(self) -> int:
        return self.seen["pass"] + self.seen["ambiguous"]

    def assert_rms(self) -> None:
        """TOL-3 over every op checked: the pooled RMS of error/bound of the real-data passes."""
        from conformance.tolerance import RMS_LIMIT

        for op, tally in self.runner.tallies.items():
            assert tally.rms <= RMS_LIMIT, f"TOL-3: {op} pooled RMS error {tally.rms:.3g}x the bound " \
                                           f"(limit {RMS_LIMIT})"

    def assert_some_supported_and_rms(self) -> None:
        assert self.supported > 0, f"no drawn case ran: {dict(self.seen)}"
        self.assert_rms()


def scaled_examples(examples: int) -> int:
    """Examples for one test: ``examples`` on the ci profile (100), scaled with the profile,
    never below half (so that the "some cases supported" check is not left to luck)."""
    from hypothesis import settings

    return max(examples // 2, examples * settings.default.max_examples // 100)


def assert_agrees(case: Any, name: str, expected: Any, got: Any, dtype: str, scale: Any, terms: int) -> None:
    """One output of ``case`` judged as the runner judges it: conformance.tolerance.compare with the
    op's ``exact_capable`` and ``divides`` (TOL-1: average pooling's quotient may carry one
    division's rounding; its backward pass's exact-data cases are judged by TOL-2 alone)."""
    from conformance.ops import OPS
    from conformance.tolerance import compare

    spec = OPS[case.op]
    v = compare(expected, got, dtype=dtype, scale=scale, terms=terms, exact=case.exact and spec.exact_capable,
                divides=spec.divides)
    assert v.ok, f"{case.describe()} [{dtype}] output {name}: {v.clause} {v.reason}; first diffs {v.diffs}"


def pair(v: Any) -> tuple[int, int]:
    """``k`` or ``(h, w)`` as ``(h, w)`` (SIZE-1)."""
    return (v, v) if isinstance(v, (int, np.integer)) else tuple(v)  # type: ignore[return-value]


def same_pads(size: int, k: int, s: int, d: int, lower: bool) -> tuple[int, int]:
    """SIZE-5 / SIZE-6 for one axis, written out here so that tests do not lean on the reference."""
    total = max((-(-size // s) - 1) * s + d * (k - 1) + 1 - size, 0)
    small, big = total // 2, total - total // 2
    return (big, small) if lower else (small, big)


def explicit_pads(padding: Any, hw: Any = None, k: Any = None, s: Any = None, d: Any = None) -> Any:
    """``((top, bottom), (left, right))`` of any padding form (SIZE-2); "same" and "same_lower"
    need the input ``hw``, kernel, stride and dilation pairs."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0), (0, 0))
        return tuple(same_pads(hw[a], k[a], s[a], d[a], padding == "same_lower") for a in (0, 1))
    if isinstance(padding, (int, np.integer)):
        return ((padding, padding), (padding, padding))
    return tuple(tuple(p) if isinstance(p, (tuple, list)) else (p, p) for p in padding)
