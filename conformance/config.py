"""Run settings, kept free of heavy imports so the command line starts fast."""

from __future__ import annotations

from dataclasses import dataclass

#: Generated cases per op for each --profile (curated edge cases are always added).
PROFILES = {"quick": 15, "default": 60, "thorough": 1000}


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


