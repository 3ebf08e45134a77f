"""Hypothesis strategies shared by the tests and the conformance runner.

One set of strategies serves both: a failure the runner finds shrinks exactly as
a failing property test does. The runner's default sweep draws from these same objects
without Hypothesis's engine (:mod:`conformance.strategies.fast`). Each strategy builds valid cases by construction
(never by filtering) and documents what it shrinks towards.
"""

import functools

from hypothesis import strategies as st

# Strategy objects built once per distinct argument list: building one costs Hypothesis about
# 40 µs (its own cache is thread-safe and LRU-balanced), more than the runner's fast sweep
# spends drawing from it (conformance/strategies/fast.py). Strategies are immutable, so sharing
# them is safe.
integers = functools.lru_cache(maxsize=4096)(st.integers)
booleans = functools.lru_cache(maxsize=1)(st.booleans)
floats = functools.lru_cache(maxsize=1024)(st.floats)
