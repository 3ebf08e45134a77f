"""Helpers shared by the test modules (not collected: no ``test_`` prefix)."""

from __future__ import annotations

from contextlib import contextmanager

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
