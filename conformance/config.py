"""Run settings, kept free of heavy imports so the command line starts fast."""

from __future__ import annotations

from dataclasses import dataclass

#: Generated cases per op for each --profile (curated edge cases are always added).
PROFILES = {"quick": 15, "default": 60, "thorough": 1000}

#: How generated cases are drawn (--generation): "fast" sweeps the shared strategies with a seeded
#: NumPy generator and calls Hypothesis only to search and shrink once the sweep finds a failure
#: (conformance/strategies/fast.py); "hypothesis" draws every case with Hypothesis, as the tests do.
GENERATIONS = ("fast", "hypothesis")


@dataclass
class RunConfig:
    target: str
    ops: list[str]
    dtype: str = "float64"
    device: str = "cpu"
    examples: int = PROFILES["default"]
    seed: int = 0
    profile: str = "default"
    timeout: float = 60.0
    generation: str = "fast"


