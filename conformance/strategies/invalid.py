"""Invalid cases: valid cases broken in one way each, for rejection conformance (issue 13).

The spec's Errors items rule inputs out (a negative padding, a stride of 0, an IoU threshold
above 1, a NaN score, inverted boxes …): the reference raises SpecError for each. A library
may raise, crash, or quietly return something; the runner sends such cases to the target and
reports a returned value as a finding of kind ``accepts-invalid`` under the clause the
reference names, and a signal or a hang as a crash or timeout.

:func:`invalid_cases` takes the first valid cases of an op's sweep and applies the mutations
of :data:`PARAM_BREAKS` and :data:`ARRAY_BREAKS` that apply to each, round robin. Every
mutated case is kept only when the reference rejects it, and it carries the clause and the
message of the reference's SpecError: the table proposes, the reference decides, so a
mutation that is still valid for some op is simply dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..types import Case


@dataclass(frozen=True)
class Invalid:
    """One invalid case: what was broken, and the clause and message the reference rejects it with."""

    case: Case
    broken: str
    clause: str
    message: str
    key: str = ""  # the keyword broken, or the array break's id (what an adapter declares it passes on)


def _pair_of(v: Any) -> tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, (int, np.integer)) else (int(v[0]), int(v[1]))


#: Keyword -> (bad value, what it breaks) pairs, tried where a case has that keyword.
PARAM_BREAKS: dict[str, list[tuple[Any, str]]] = {
    "stride": [(0, "stride 0"), ((1, -1), "a negative stride")],
    "dilation": [(0, "dilation 0")],
    "padding": [(-1, "a negative padding"), ("SAME", "an upper-case padding name")],
    "groups": [(0, "groups 0")],
    "kernel_size": [(0, "kernel_size 0"), ((1, -2), "a negative kernel size")],
    "divisor_override": [(0, "divisor_override 0")],
    "iou_threshold": [(1.5, "an IoU threshold above 1"), (-0.25, "a negative IoU threshold"),
                      (float("nan"), "a NaN IoU threshold")],
    "score_threshold": [(float("nan"), "a NaN score threshold")],
    "max_output": [(-1, "a negative max_output")],
    "max_output_per_class": [(-1, "a negative max_output_per_class")],
    "sigma": [(0.0, "sigma 0"), (-0.5, "a negative sigma")],
    "method": [("cubic", "an unknown Soft-NMS method")],
    "fmt": [("XYXY", "an unknown box format")],
    "interpolation": [("bicubic-ish", "an unknown interpolation")],
    "fill_mode": [("mirror-ish", "an unknown fill mode")],
    "angle": [(float("nan"), "a NaN angle"), (float("inf"), "an infinite angle")],
    "factor": [(float("nan"), "a NaN factor")],
    "eps": [(-1.0, "a negative eps")],
}


def _groups_not_dividing(case: Case) -> Case | None:
    x = case.arrays.get("x")
    if x is None or x.ndim != 4 or case.op not in ("conv2d", "conv_transpose2d", "conv2d_backward"):
        return None
    g = x.shape[1] + 1
    return Case(case.op, dict(case.arrays), {**case.params, "groups": g}, case.exact, case.note)


def _output_padding_at_stride(case: Case) -> Case | None:
    if case.op != "conv_transpose2d":
        return None
    s = _pair_of(case.params.get("stride", 1))
    return Case(case.op, dict(case.arrays), {**case.params, "output_padding": s}, case.exact, case.note)


def _same_transpose(case: Case) -> Case | None:
    if case.op != "conv_transpose2d":
        return None
    return Case(case.op, dict(case.arrays), {**case.params, "padding": "same"}, case.exact, case.note)


def _with_array(case: Case, name: str, value: np.ndarray) -> Case:
    arrays = dict(case.arrays)
    arrays[name] = value
    return Case(case.op, arrays, dict(case.params), case.exact, case.note)


def _x_3d(case: Case) -> Case | None:
    x = case.arrays.get("x")
    if x is None or x.ndim != 4 or x.shape[0] == 0:
        return None
    return _with_array(case, "x", np.ascontiguousarray(x[0]))


def _channel_mismatch(case: Case) -> Case | None:
    w = case.arrays.get("w")
    if w is None or case.op not in ("conv2d", "conv2d_backward"):
        return None
    return _with_array(case, "w", np.concatenate([w, w[:, :1]], axis=1))


def _bias_short(case: Case) -> Case | None:
    b = case.arrays.get("b")
    if b is None or b.size < 1:
        return None
    return _with_array(case, "b", np.ascontiguousarray(b[:-1]))


def _kernel_too_large(case: Case) -> Case | None:
    x, w = case.arrays.get("x"), case.arrays.get("w")
    if case.op != "conv2d" or x is None or w is None or x.ndim != 4:
        return None
    big = np.zeros(w.shape[:2] + (x.shape[2] + 9, w.shape[3]), dtype=w.dtype)
    return Case(case.op, {**case.arrays, "w": big}, {**case.params, "padding": 0}, case.exact, case.note)


def _box_key(case: Case) -> str | None:
    """The name of a case's (first) box array, or None."""
    return "boxes" if "boxes" in case.arrays else "boxes1" if "boxes1" in case.arrays else None


def _inverted_box(case: Case) -> Case | None:
    key = _box_key(case)
    if key is None or case.arrays[key].shape[0] == 0 or case.params.get("fmt", "xyxy") != "xyxy":
        return None
    b = case.arrays[key].copy()
    b[0, 0], b[0, 2] = b[0, 2] + 1.0, b[0, 0]  # x1 > x2
    return _with_array(case, key, b)


def _nonfinite_box(case: Case) -> Case | None:
    key = _box_key(case)
    if key is None or case.arrays[key].shape[0] == 0:
        return None
    b = case.arrays[key].copy()
    b[0, 1] = np.nan
    return _with_array(case, key, b)


def _nan_score(case: Case) -> Case | None:
    s = case.arrays.get("scores")
    if s is None or s.shape[0] == 0:
        return None
    s = s.copy()
    s[0] = np.nan
    return _with_array(case, "scores", s)


def _scores_short(case: Case) -> Case | None:
    s = case.arrays.get("scores")
    if s is None or s.shape[0] == 0:
        return None
    return _with_array(case, "scores", np.ascontiguousarray(s[:-1]))


def _boxes_five_columns(case: Case) -> Case | None:
    key = _box_key(case)
    if key is None:
        return None
    b = case.arrays[key]
    return _with_array(case, key, np.concatenate([b, np.zeros((b.shape[0], 1), dtype=b.dtype)], axis=1))


#: (id, name, mutation): a case -> an invalid case, or None where it does not apply.
ARRAY_BREAKS: list[tuple[str, str, Callable[[Case], Case | None]]] = [
    ("x-3d", "x without its batch axis", _x_3d),
    ("w-channels", "a weight with one channel too many", _channel_mismatch),
    ("b-short", "a bias one element short", _bias_short),
    ("groups-not-dividing", "groups not dividing the channels", _groups_not_dividing),
    ("kernel-too-large", "a kernel taller than the input", _kernel_too_large),
    ("output-padding-at-stride", "output_padding equal to the stride", _output_padding_at_stride),
    ("same-transpose", "'same' padding for a transposed convolution", _same_transpose),
    ("inverted-box", "an inverted box (x1 > x2)", _inverted_box),
    ("nan-box", "a NaN box coordinate", _nonfinite_box),
    ("nan-score", "a NaN score", _nan_score),
    ("scores-short", "one score fewer than boxes", _scores_short),
    ("boxes-5-columns", "boxes with five columns", _boxes_five_columns),
]
#: Every break's key: the keywords of PARAM_BREAKS and the ids of ARRAY_BREAKS.
ALL_KEYS = frozenset(PARAM_BREAKS) | frozenset(k for k, _, _ in ARRAY_BREAKS)


def _mutations(case: Case, keys: Any) -> list[tuple[str, str, Callable[[], Case | None]]]:
    out: list[tuple[str, str, Callable[[], Case | None]]] = []

    def with_param(k: str, v: Any) -> Callable[[], Case | None]:
        return lambda: Case(case.op, dict(case.arrays), {**case.params, k: v}, case.exact, case.note)

    def with_array(f: Callable[[Case], Case | None]) -> Callable[[], Case | None]:
        return lambda: f(case)

    for key, breaks in PARAM_BREAKS.items():
        if key in case.params and (keys is None or key in keys):
            for value, what in breaks:
                out.append((key, what, with_param(key, value)))
    for key, what, fn in ARRAY_BREAKS:
        if keys is None or key in keys:
            out.append((key, what, with_array(fn)))
    return out


def invalid_cases(valid: list[Case], rejects: Callable[[Case], Any], limit: int,
                  keys: Any = None) -> list[Invalid]:
    """Up to ``limit`` invalid cases made from ``valid``: one break of each key (keyword or array
    break) before a second of any, so a small budget still covers every kind of invalid input.
    ``rejects(case)`` is the reference's verdict: the SpecError it raises (with ``.clause``), or
    None when it accepts the case (the mutation is then dropped). ``keys``: the breaks to use (those a
    target's adapter passes to its library as they are); None: every one."""
    queues: dict[str, list[tuple[str, Callable[[], Case | None]]]] = {}
    for case in valid:
        for key, what, make in _mutations(case, keys):
            queues.setdefault(key, []).append((what, make))
    out: list[Invalid] = []
    while queues and len(out) < limit:
        for key in list(queues):
            if len(out) >= limit:
                break
            while queues[key]:
                what, make = queues[key].pop(0)
                bad = make()
                if bad is None:
                    continue
                err = rejects(bad)
                if err is None:
                    continue
                out.append(Invalid(Case(bad.op, bad.arrays, bad.params, bad.exact, f"invalid: {what}"), what,
                                   getattr(err, "clause", "SPEC-3"), str(err).splitlines()[0], key))
                break
            if not queues[key]:
                del queues[key]
    return out
