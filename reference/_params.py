"""Parsing and validation of the parameters every op shares (SPEC-*, SIZE-1, SIZE-2).

Kept in one place so that every op accepts exactly the same forms and rejects
bad ones with the same message.
"""

from __future__ import annotations

import functools
import numbers
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from ._errors import fail

F = TypeVar("F", bound=Callable[..., Any])

Pair = tuple[int, int]


def ieee(fn: F) -> F:
    """NaN and infinities are data (SPEC-6): compute without floating-point warnings."""
    @functools.wraps(fn)
    def quiet(*args: Any, **kwargs: Any) -> Any:
        with np.errstate(all="ignore"):
            return fn(*args, **kwargs)
    return quiet  # type: ignore[return-value]
Pads = tuple[tuple[int, int], tuple[int, int]]


def as_array(x: Any, name: str, ndim: int | None = None, clause: str = "SPEC-5") -> np.ndarray:
    """Float64 copy-free view of ``x`` (never written to), after the dtype and ndim checks.

    Real numeric dtypes are accepted (SPEC-5); bool, complex, strings and objects are not,
    because the spec defines the ops over the reals only.
    """
    arr = np.asarray(x)
    if arr.dtype == np.bool_ or arr.dtype.kind not in "iuf":
        fail(name, arr, "SPEC-5", "must have a real numeric dtype (int, uint or float)")
    if ndim is not None and arr.ndim != ndim:
        fail(name, arr, clause, f"must be {ndim}-D, got {arr.ndim}-D")
    return arr.astype(np.float64, copy=False)


def as_int(value: Any, name: str, clause: str, minimum: int | None = None) -> int:
    """A Python int from an int-like value; bools and floats are rejected (SIZE-1)."""
    if type(value) is int:  # the common case, without the abstract-class check (cheap on tiny cases)
        if minimum is not None and value < minimum:
            fail(name, value, clause, f"must be >= {minimum}")
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        fail(name, value, clause, "must be an integer")
    v = int(value)
    if minimum is not None and v < minimum:
        fail(name, value, clause, f"must be >= {minimum}")
    return v


def pair(value: Any, name: str, clause: str = "SIZE-1", minimum: int = 1) -> Pair:
    """``int`` or ``(h, w)`` -> ``(h, w)``."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            fail(name, value, clause, "must be an int or a pair (h, w)")
        return (as_int(value[0], name, clause, minimum), as_int(value[1], name, clause, minimum))
    v = as_int(value, name, clause, minimum)
    return (v, v)


def explicit_padding(padding: Any, name: str = "padding") -> Pads | None:
    """Numeric padding forms -> ``((top, bottom), (left, right))`` (SIZE-2).

    Returns ``None`` for the string forms, which depend on the input size and are
    resolved by :func:`reference.output_size.resolve_padding`.
    """
    if isinstance(padding, str):
        if padding not in ("valid", "same", "same_lower"):
            fail(name, padding, "SIZE-2", "must be an int, (ph, pw), ((top, bottom), (left, right)), "
                 "'valid', 'same' or 'same_lower'")
        return None
    if isinstance(padding, (tuple, list)):
        if len(padding) != 2:
            fail(name, padding, "SIZE-2", "a sequence must have two entries (h, w)")
        if all(isinstance(p, (tuple, list)) for p in padding):
            if any(len(p) != 2 for p in padding):
                fail(name, padding, "SIZE-2", "explicit form is ((top, bottom), (left, right))")
            (t, b), (l, r) = padding
            vals = [as_int(v, name, "SIZE-2", 0) for v in (t, b, l, r)]
            return ((vals[0], vals[1]), (vals[2], vals[3]))
        if any(isinstance(p, (tuple, list)) for p in padding):
            fail(name, padding, "SIZE-2", "mixes ints and pairs")
        ph, pw = pair(padding, name, "SIZE-2", 0)
        return ((ph, ph), (pw, pw))
    p = as_int(padding, name, "SIZE-2", 0)
    return ((p, p), (p, p))
