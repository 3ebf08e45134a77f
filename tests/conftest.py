"""Shared test configuration: Hypothesis profiles and the clause marker.

Profiles (choose with HYPOTHESIS_PROFILE or ``--hypothesis-profile``):
``ci`` (default: 100 examples, derandomized so CI is reproducible),
``dev`` (fast, 20 examples), ``thorough`` (2,000 examples, for nightly runs).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=100, derandomize=True, deadline=None,
                          print_blob=True, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=20, deadline=None)
settings.register_profile("thorough", max_examples=2000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


