"""The one error type of the reference (SPEC-3).

Every invalid input raises :class:`SpecError`, a :class:`ValueError` whose
message names the parameter, its value and the clause that rules it out, so a
user reads "padding=-1 ... (SIZE-2)" instead of a broadcasting error from deep
inside NumPy.
"""

from __future__ import annotations

from typing import Any, NoReturn


class SpecError(ValueError):
    """An input the spec rules out. ``param``, ``value`` and ``clause`` say which."""

    def __init__(self, param: str, value: Any, clause: str, why: str) -> None:
        self.param = param
        self.value = value
        self.clause = clause
        super().__init__(f"{param}={_short(value)}: {why} ({clause})")


def fail(param: str, value: Any, clause: str, why: str) -> NoReturn:
    raise SpecError(param, value, clause, why)


def _short(value: Any) -> str:
    shape = getattr(value, "shape", None)
    if shape is not None and getattr(value, "ndim", 0) > 0:
        return f"<array shape={tuple(shape)} dtype={value.dtype}>"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
