"""The one comparison model (TOL-1 ... TOL-6): every comparison in cnnspec goes through here.

Semantics and precision are judged apart. On exact data (small integers whose partial
sums are all representable in the target dtype) a conforming result is exact, so any
difference is a semantic failure. On real data each element may differ from the
float64 reference by at most

    bound = C * n * u * scale + u * |ref|

where ``u`` is the unit roundoff of the target dtype, ``n`` the number of terms summed
into the element, and ``scale`` the same op applied to the absolute values of its inputs
(so each element carries its own magnitude, as in the TOSA and WebNN suites). Errors
are reported in units of this bound, and the root-mean-square of error/bound must stay
below RMS_LIMIT so that a target living at its bound (e.g. TF32) is caught too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .dtypes import carrier

#: Unit roundoff (half an ulp of 1.0) per dtype name.
UNIT_ROUNDOFF = {"float64": 2.0**-53, "float32": 2.0**-24, "float16": 2.0**-11, "bfloat16": 2.0**-8}
#: Significand bits: integers below 2**bits are exact in the dtype (TOL-1).
SIGNIFICAND_BITS = {"float64": 53, "float32": 24, "float16": 11, "bfloat16": 8}
#: The safety constant of TOL-2, fixed by the spec and never tuned per target.
C_SAFETY = 2.0
#: TOL-3: the RMS of error/bound over all compared elements.
RMS_LIMIT = 0.5


@dataclass
class Verdict:
    """The outcome of comparing one output array."""

    ok: bool
    clause: str = ""
    reason: str = ""
    worst: float = 0.0  # worst |error| / bound (inf where the bound is 0 and values differ)
    rms: float = 0.0
    diffs: list[tuple[tuple[int, ...], float, float]] = field(default_factory=list)
    sumsq: float = 0.0  # sum of (error/bound)^2 over the finite elements, for pooled TOL-3
    count: int = 0


def _first_diffs(mask: np.ndarray, ref: np.ndarray, got: np.ndarray, k: int = 5
                 ) -> list[tuple[tuple[int, ...], float, float]]:
    idx = np.argwhere(mask)[:k]
    return [(tuple(int(v) for v in i), float(ref[tuple(i)]), float(got[tuple(i)])) for i in idx]


def compare(ref: np.ndarray, got: Any, *, dtype: str = "float64", scale: np.ndarray | None = None,
            terms: int = 1, exact: bool = False, divides: bool = False,
            check_rms: bool = True) -> Verdict:
    """Compare a target's output with the reference's (TOL-1 ... TOL-6).

    ``scale=None`` marks an exact output (max pooling, indices, im2col: TOL-4). ``exact``
    says the inputs were exact data (TOL-1): elements whose scale is below 2**bits must then
    match exactly, or within the rounding of one final division when ``divides`` (average
    pooling). ``ref`` is the reference computed on the inputs as rounded to ``dtype``.
    ``check_rms=False`` leaves TOL-3 to the caller, who pools ``Verdict.sumsq``/``count``
    over every case of an op (the runner does).
    """
    if not isinstance(got, np.ndarray):
        return Verdict(False, "TOL-6", f"returned {type(got).__name__}, not an array")
    ref = np.asarray(ref)
    if got.shape != ref.shape:
        return Verdict(False, "TOL-6", f"shape {got.shape} != expected {ref.shape}")
    allowed = {carrier(dtype), np.dtype(np.float64)}
    if ref.dtype.kind == "f" and got.dtype not in allowed:
        names = " or ".join(sorted(str(d) for d in allowed))
        return Verdict(False, "TOL-6", f"dtype {got.dtype}; a {dtype} run must return {names}")
    if ref.dtype.kind in "iu" or scale is None:
        if got.dtype.kind not in "iuf":
            return Verdict(False, "TOL-6", f"dtype {got.dtype} is not numeric")
        same = (got == ref) | (np.isnan(got.astype(np.float64)) & np.isnan(ref.astype(np.float64)))
        if same.all():
            return Verdict(True)
        return Verdict(False, "TOL-4", f"{int((~same).sum())} of {same.size} elements differ (exact op)",
                       float("inf"), diffs=_first_diffs(~same, ref, got))
    g = got.astype(np.float64)
    r = ref.astype(np.float64)
    special = ~np.isfinite(r) | ~np.isfinite(g)
    bad_special = special & ~((g == r) | (np.isnan(g) & np.isnan(r)))
    if bad_special.any():
        return Verdict(False, "TOL-5", f"{int(bad_special.sum())} NaN/inf elements differ",
                       float("inf"), diffs=_first_diffs(bad_special, r, g))
    fin = ~special
    u = UNIT_ROUNDOFF[dtype]
    with np.errstate(invalid="ignore", over="ignore"):
        sc = np.where(fin, np.abs(np.asarray(scale, dtype=np.float64)), 0.0)
        err = np.where(fin, np.abs(g - r), 0.0)
        bound = C_SAFETY * max(terms, 1) * u * sc + u * np.abs(np.where(fin, r, 0.0))
    if exact:
        must = fin & (sc < 2.0 ** SIGNIFICAND_BITS[dtype])
        # A division rounds once (twice as a reciprocal times the sum): 2u|ref| at most.
        slack = 2 * u * np.abs(np.where(fin, r, 0.0)) if divides else 0.0
        wrong = must & (err > slack)
        if wrong.any():
            return Verdict(False, "TOL-1", f"{int(wrong.sum())} elements differ on exact data",
                           float("inf"), diffs=_first_diffs(wrong, r, g))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(err == 0, 0.0, err / bound)
    worst = float(ratio.max()) if ratio.size else 0.0
    count = int(fin.sum())
    sumsq = float(np.sum(np.square(ratio[fin]))) if np.isfinite(worst) else float("inf")
    rms = float(np.sqrt(sumsq / count)) if count else 0.0
    if worst > 1.0:
        why = (f"error up to {worst:.3g}x the {dtype} bound" if np.isfinite(worst) else
               "a nonzero value where every term is zero (bound 0)")
        return Verdict(False, "TOL-2", why, worst, rms,
                       _first_diffs(ratio > 1.0, r, g), sumsq, count)
    if check_rms and rms > RMS_LIMIT:
        return Verdict(False, "TOL-3", rms_reason(rms, dtype), worst, rms,
                       _first_diffs(ratio > RMS_LIMIT, r, g), sumsq, count)
    return Verdict(True, worst=worst, rms=rms, sumsq=sumsq, count=count)


def rms_reason(rms: float, dtype: str) -> str:
    return f"RMS error {rms:.3g}x the {dtype} bound (TOL-3 limit {RMS_LIMIT})"
