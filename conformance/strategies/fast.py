"""Draw cases from the shared strategies without Hypothesis's engine, for the runner's sweep.

Hypothesis spends 1.5–5 ms per example on bookkeeping that only pays off when a test
fails (spans for the shrinker, the data tree that avoids duplicates, saving and restoring
global random state). A default conformance run checks 60 cases per op against targets
that answer a small case in under a millisecond, so that bookkeeping would be most of the
run (issue 6). :func:`draw_cases` therefore walks the *same* strategy objects the tests
use and draws every primitive (integer, boolean, element, float, list size) from one
seeded NumPy generator: about 0.1–0.3 ms per case, reproducible from ``(seed, op)``.

Nothing else changes: the strategies stay valid by construction, so a fast draw is as
valid as a Hypothesis draw (tests/test_fast_draw.py checks it op by op), and when the
sweep finds a failure the runner hands the op to Hypothesis to search and shrink.

The walk reads the public attributes Hypothesis keeps on its strategy objects (``start``
and ``end`` of ``integers``, ``elements`` of ``sampled_from``, ``definition`` of a
``@composite``...). A strategy it does not know raises :class:`NotFastDrawable`, and the
runner then draws that op with Hypothesis as before — slower, never wrong.

Primitives are biased the way Hypothesis biases them, enough to keep the edges in play:
an integer is its lower bound one time in eight and its upper bound one time in sixteen,
a float is one of its bounds, zero or a small integer one time in six. The first case of a
sweep is the simplest one (every integer nearest 0, every choice its first option), as
Hypothesis's first example is.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np
from hypothesis import strategies as st

#: A filter that rejects this many draws in a row makes the op fall back to Hypothesis.
MAX_REJECTIONS = 100
#: Uniform doubles drawn from NumPy at a time.
BLOCK = 1024
#: List size when a list strategy has no ``max_size``: Hypothesis's average is small, too.
UNBOUNDED_LIST = 8


class NotFastDrawable(Exception):
    """The strategy uses something the fast walk does not know; draw it with Hypothesis."""


def op_seed(seed: int, op: str) -> list[int]:
    """The generator seed of one op's sweep: stable across processes (no ``hash()``)."""
    return [int(seed) & 0xFFFFFFFF, zlib.crc32(op.encode())]


def draw_cases(strategy: st.SearchStrategy[Any], count: int, seed: int, op: str) -> list[Any]:
    """``count`` values of ``strategy``, reproducible from ``(seed, op)``. The first is the
    simplest value (what the strategy shrinks towards), as Hypothesis's first example is."""
    rng = np.random.default_rng(op_seed(seed, op))
    return [FastDraw(rng, simplest=i == 0)(strategy) for i in range(count)]


class FastDraw:
    """A ``draw`` callable, as a ``@composite`` function receives one, backed by a NumPy generator."""

    def __init__(self, rng: np.random.Generator, simplest: bool = False) -> None:
        self.rng = rng
        self.simplest = simplest
        self._block: list[float] = []

    def uniform(self) -> float:
        """One double in [0, 1): taken from a block, since one NumPy call per number costs ~2 µs.
        Always 0 for the simplest draw: every choice then takes its first, smallest option."""
        if self.simplest:
            return 0.0
        if not self._block:
            self._block = self.rng.random(BLOCK).tolist()[::-1]
        return self._block.pop()

    def __call__(self, strategy: Any, label: Any = None) -> Any:
        return self.draw(strategy)

    def draw(self, s: Any) -> Any:
        name = type(s).__name__
        handler = _HANDLERS.get(name)
        if handler is None:
            raise NotFastDrawable(f"no fast draw for {name} ({s!r})")
        return handler(self, s)

    # --- primitives ------------------------------------------------------------------------

    def integer(self, lo: int | None, hi: int | None) -> int:
        lo = hi - 2**16 if lo is None and hi is not None else lo
        hi = lo + 2**16 if hi is None and lo is not None else hi
        if lo is None or hi is None:
            lo, hi = -(2**16), 2**16
        if self.simplest:  # towards 0, as Hypothesis shrinks an integer
            return int(min(max(0, lo), hi))
        u = self.uniform()
        if u < 0.125:
            return int(lo)
        if u < 0.1875:
            return int(hi)
        return int(lo) + min(int(self.uniform() * (hi - lo + 1)), hi - lo)

    def real(self, s: Any) -> float:
        lo, hi = float(s.min_value), float(s.max_value)
        if self.simplest:
            return min(max(0.0, lo), hi)
        special = [v for v in (lo, hi, 0.0, 1.0, -1.0, 0.5) if lo <= v <= hi and np.isfinite(v)]
        if s.allow_nan:
            special.append(float("nan"))
        special += [v for v in (lo, hi) if np.isinf(v)]
        if special and self.uniform() < 1 / 6:
            return float(special[self.index(len(special))])
        if np.isfinite(lo) and np.isfinite(hi):
            v = lo + (hi - lo) * self.uniform()
        else:  # a half-open or open range: magnitudes spread over many binades
            mag = float(np.exp2(self.rng.uniform(-20, 20)))
            v = lo + mag if np.isfinite(lo) else hi - mag if np.isfinite(hi) else mag * self.rng.choice([-1, 1])
        v = min(max(v, lo), hi)
        tiny = getattr(s, "smallest_nonzero_magnitude", 0.0)
        return 0.0 if 0 < abs(v) < tiny else float(v)

    def index(self, n: int) -> int:
        return min(int(self.uniform() * n), n - 1)

    def size(self, lo: int, hi: int | None) -> int:
        hi = lo + UNBOUNDED_LIST if hi is None or hi == float("inf") else int(hi)
        return self.integer(lo, hi)

    def transformed(self, value: Any, transformations: Any) -> tuple[bool, Any]:
        for kind, f, *_ in transformations:
            if kind == "map":
                value = f(value)
            elif not f(value):
                return False, None
        return True, value


# --- one handler per strategy class ------------------------------------------------------------

def _lazy(d: FastDraw, s: Any) -> Any:
    return d.draw(s.wrapped_strategy)


def _sampled(d: FastDraw, s: Any) -> Any:
    elements = s.elements
    if not elements:
        raise NotFastDrawable("sampled_from of nothing")
    for _ in range(MAX_REJECTIONS):
        ok, v = d.transformed(elements[d.index(len(elements))], s._transformations)
        if ok:
            return v
    raise NotFastDrawable(f"{s!r}: its filter rejected {MAX_REJECTIONS} draws")


def _filtered(d: FastDraw, s: Any) -> Any:
    for _ in range(MAX_REJECTIONS):
        v = d.draw(s.filtered_strategy)
        if all(f(v) for f in s.flat_conditions):
            return v
    raise NotFastDrawable(f"{s!r}: its filter rejected {MAX_REJECTIONS} draws")


def _one_of(d: FastDraw, s: Any) -> Any:
    branches = s.original_strategies
    return d.draw(branches[d.index(len(branches))])


def _list(d: FastDraw, s: Any) -> list[Any]:
    return [d.draw(s.element_strategy) for _ in range(d.size(s.min_size, s.max_size))]


def _array(d: FastDraw, s: Any) -> np.ndarray:
    if s.unique:
        raise NotFastDrawable("arrays(unique=True)")
    elements = s.element_strategy
    inner = elements.wrapped_strategy if type(elements).__name__ == "LazyStrategy" else elements
    n = int(np.prod(s.shape, dtype=np.int64))
    kind = type(inner).__name__
    # Plain integer and float elements are drawn as one vector: an image of a few hundred
    # pixels would otherwise cost a few hundred Python calls.
    if d.simplest:
        flat = np.array([d.draw(elements)] * n, dtype=object)
    elif kind == "IntegersStrategy" and inner.start is not None and inner.end is not None:
        flat = d.rng.integers(inner.start, inner.end, size=n, endpoint=True)
        edge = d.rng.random(n)
        flat = np.where(edge < 0.05, inner.start, np.where(edge > 0.97, inner.end, flat))
    elif kind == "FloatStrategy" and np.isfinite(inner.min_value) and np.isfinite(inner.max_value) \
            and not inner.allow_nan:
        flat = inner.min_value + (inner.max_value - inner.min_value) * d.rng.random(n)
        flat = np.clip(flat, inner.min_value, inner.max_value)
    else:
        flat = np.array([d.draw(elements) for _ in range(n)], dtype=object)
    return np.asarray(flat).astype(s.dtype).reshape(s.shape)


_HANDLERS = {
    "LazyStrategy": _lazy,
    "DeferredStrategy": _lazy,
    "IntegersStrategy": lambda d, s: d.integer(s.start, s.end),
    "BooleansStrategy": lambda d, s: d.uniform() >= 0.5,  # the simplest draw gives False
    "SampledFromStrategy": _sampled,
    "JustStrategy": _sampled,
    "FilteredStrategy": _filtered,
    "TupleStrategy": lambda d, s: tuple(d.draw(e) for e in s.element_strategies),
    "MappedStrategy": lambda d, s: s.pack(d.draw(s.mapped_strategy)),
    "FlatMapStrategy": lambda d, s: d.draw(s.expand(d.draw(s.base))),
    "OneOfStrategy": _one_of,
    "ListStrategy": _list,
    "PermutationStrategy": lambda d, s: list(s.values) if d.simplest else
                                        [s.values[int(i)] for i in d.rng.permutation(len(s.values))],
    "FloatStrategy": lambda d, s: d.real(s),
    "ArrayStrategy": _array,
    "CompositeStrategy": lambda d, s: s.definition(d, *s.args, **s.kwargs),
    "BuildsStrategy": lambda d, s: s.target(*(d.draw(a) for a in s.args),
                                            **{k: d.draw(v) for k, v in s.kwargs.items()}),
}
