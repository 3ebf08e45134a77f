"""Detection ops in the runner's registry: box_iou, nms, batched_nms, soft_nms (issue 4).

Each op of reference/boxes.py and reference/nms.py that a library can be asked to compute
is an :class:`~conformance.ops.OpSpec` here, with its cases, its error model, its
``ambiguous`` hook and the named variants of spec/boxes.md and spec/nms.md that
diagnose a failing target. The curated edge cases are :data:`DETECTION_CORPUS`.

Targets' methods take the reference's names and keywords:

- ``box_iou(boxes1, boxes2, *, fmt="xyxy")`` -> (N, M) IoU in the run dtype (or float64);
- ``nms(boxes, scores, iou_threshold, *, score_threshold=None, max_output=None, fmt="xyxy")``
  -> 1-D integer indices in selection order;
- ``batched_nms(boxes, scores, classes, iou_threshold, *, score_threshold=None,
  max_output_per_class=None, fmt="xyxy")`` -> 1-D integer indices (NMS-BATCH-3 order);
- ``soft_nms(boxes, scores, *, sigma=0.5, iou_threshold=0.3, score_threshold=0.001,
  method="gaussian", fmt="xyxy")`` -> (indices, scores at selection).

A case passes only the keywords that differ from the reference's defaults, so a user
module with ``def nms(boxes, scores, iou_threshold)`` is checked on every case that needs
nothing more (the others fail with its TypeError, which names the missing keyword).

Cases. Boxes come from conformance/strategies/boxes.py: clustered, in all four formats,
multiples of 1/4 (exact in every run dtype, and so are their areas in float32), with score
ties, thresholds at 0 and 1, at IoUs the boxes really have and at the float64 neighbours of
those IoUs, and score thresholds equal to a score, all drawn on purpose. ``box_iou`` also
draws "real" boxes (the clustered boxes scaled and shifted by arbitrary floats), whose IoUs
carry rounding error. Integer ``classes`` travel unchanged (the runner never rounds integer
arrays).

Error model. NMS indices are exact (TOL-4). IoU values are judged by TOL-2 with this
op's magnitude: each coordinate difference may be off by ~u·M (M the largest coordinate
magnitude of the pair), so ``scale = M·(iw⁺ + ih⁺ + IoU·(wa + ha + wb + hb + iw⁺ + ih⁺)) /
union + IoU`` with 4 terms (``iw⁺``, ``ih⁺`` the clamped intersection extents, ``wa`` …
the sides); a pair whose union is 0 must give exactly 0 (IOU-3). Soft-NMS scores at
selection are products of decays; each decay contributes a relative error of a few
roundings plus the IoU's error amplified by the decay's slope (``~12·u²/σ`` Gaussian,
``~4·u/(1 − u)`` linear).

Ambiguity (NMS-11). A target's NMS differs legitimately from the reference only where an
IoU lies within the rounding of its own computation of the threshold test. The hook
replays the greedy loop along the target's output and accepts it when every decision that
differs from NMS-3's ``IoU > t`` involves a pair with ``|IoU − t| <= 8·eps(float32)`` (the
precision of every library's NMS kernel; the hook is not told the run dtype) — except that
an IoU exactly equal to ``t`` is not ambiguous when the IoU is exactly representable in
float32 and its intersection and union are too (0, 1/2, 1, …: every correctly rounded
computation then gets exactly ``t``, so ``>`` against ``>=`` is a real difference). The
tie rule of NMS-2 is exact and never ambiguous: equal scores are equal in every dtype. For
Soft-NMS, the replay also accepts a selection between two current scores within their
rounding bound of each other, a score within that bound of ``score_threshold`` kept or
dropped, and (linear) a decay at an IoU within rounding of ``iou_threshold``.

Variants (spec names only): box_iou ``plus-one-pixel`` (BOX-4); nms and batched_nms
``suppress-on-equal`` (NMS-3), ``plus-one-pixel`` (NMS-3, the IoU of BOX-4),
``no-tie-rule`` (NMS-2), ``score-threshold-inclusive`` (NMS-5); soft_nms
``tf-half-sigma`` (NMS-SOFT-2), ``suppress-on-equal`` (NMS-SOFT-3), ``no-tie-rule``,
``plus-one-pixel`` (NMS-SOFT-1), ``score-threshold-inclusive`` (NMS-SOFT-4). The variants
``normalise-corners``, ``unchecked-threshold`` and ``nan-scores-dropped`` equal the spec on
every valid case, and the reference rejects the others (BOX-5, NMS-7 and NMS-10 say MUST
raise, so they are not implementation-defined): no case can tell them apart, and they are
not registered.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np
from hypothesis import strategies as st

import reference.boxes as RB
from reference.nms import (
    batched_nms,
    batched_nms_variant,
    nms,
    nms_variant,
    soft_nms,
    soft_nms_variant,
)

from .strategies import boxes as SB
from .types import Case, Expected, OpSpec, Variant

#: NMS-11: a decision on an IoU within this many eps of the threshold may go either way.
NEAR_ULPS = 8
#: The dtype whose eps the hook allows: every library's NMS kernel computes IoU in float32.
AMBIGUITY_DTYPE = "float32"
#: Terms of the IoU error model (TOL-2's n): the differences and products of IOU-1.
IOU_TERMS = 4

#: Keywords of each op with the reference's defaults: a case passes only those that differ.
DEFAULTS: dict[str, dict[str, Any]] = {
    "box_iou": {"fmt": "xyxy"},
    "nms": {"score_threshold": None, "max_output": None, "fmt": "xyxy"},
    "batched_nms": {"score_threshold": None, "max_output_per_class": None, "fmt": "xyxy"},
    "soft_nms": {"sigma": 0.5, "iou_threshold": 0.3, "score_threshold": 0.001, "method": "gaussian",
                 "fmt": "xyxy"},
}

OPS_HERE = ("box_iou", "nms", "batched_nms", "soft_nms")


def _params(op: str, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` without the keywords that equal the reference's defaults."""
    d = DEFAULTS[op]
    return {k: v for k, v in params.items() if not (k in d and type(v) is type(d[k]) and v == d[k])}


#: Machine epsilon (one ulp of 1.0) per run dtype.
EPS = {"float64": 2.0**-52, "float32": 2.0**-23, "float16": 2.0**-10, "bfloat16": 2.0**-7}


def _eps(dtype: str | None) -> float:
    return EPS[dtype or AMBIGUITY_DTYPE]


# ----------------------------------------------------------------------------- strategies


@st.composite
def box_iou_cases(draw: Any) -> Case:
    """Two box arrays drawn from one cluster set (so they overlap), in any format; a third of
    the time scaled and shifted by arbitrary floats (real data, rounding in every IoU)."""
    fmt = draw(st.sampled_from(RB.FORMATS))
    b = draw(SB.box_arrays((0, 12), "xyxy"))
    k = draw(st.integers(0, b.shape[0]))
    real = draw(st.integers(0, 2)) == 0
    if real:
        scale = draw(st.floats(0.01, 100.0))
        ox, oy = draw(st.floats(-1000.0, 1000.0)), draw(st.floats(-1000.0, 1000.0))
        b = b * scale + np.array([ox, oy, ox, oy])
    if fmt != "xyxy":
        b = RB.box_convert(b, "xyxy", fmt)
    return Case("box_iou", {"boxes1": b[:k], "boxes2": b[k:]}, _params("box_iou", {"fmt": fmt}), not real,
                "real data" if real else "")


@st.composite
def nms_cases(draw: Any) -> Case:
    """``SB.nms_cases`` (ties, thresholds at and next to real IoUs, score thresholds equal to a
    score) in all four formats, as a Case."""
    d = draw(SB.nms_cases(12, fmt=None))
    params = {k: d[k] for k in ("iou_threshold", "score_threshold", "max_output", "fmt")}
    return Case("nms", {"boxes": d["boxes"], "scores": d["scores"]}, _params("nms", params), False)


@st.composite
def batched_nms_cases(draw: Any) -> Case:
    """``SB.batched_nms_cases``: NMS cases with integer classes (negative ones included)."""
    d = draw(SB.batched_nms_cases(12, fmt=None))
    params = {k: d[k] for k in ("iou_threshold", "score_threshold", "max_output_per_class", "fmt")}
    return Case("batched_nms", {"boxes": d["boxes"], "scores": d["scores"], "classes": d["classes"]},
                _params("batched_nms", params), False)


@st.composite
def soft_nms_cases(draw: Any) -> Case:
    """``SB.soft_nms_cases``: Gaussian and linear, sigma from the paper's values and anywhere,
    score thresholds 0.001, 0 and equal to a score."""
    d = draw(SB.soft_nms_cases(10, fmt=None))
    params = {k: d[k] for k in ("sigma", "iou_threshold", "score_threshold", "method", "fmt")}
    return Case("soft_nms", {"boxes": d["boxes"], "scores": d["scores"]}, _params("soft_nms", params), False)


# ------------------------------------------------------------------------ reference outputs


def _pair_geometry(p1: RB.Prepared, p2: RB.Prepared) -> dict[str, np.ndarray]:
    """Broadcast (N, M) intersection extents, sides, union and coordinate magnitude."""
    a = [v[:, None] for v in p1]
    b = [v[None, :] for v in p2]
    iw = np.maximum(np.minimum(a[2], b[2]) - np.maximum(a[0], b[0]), 0.0)
    ih = np.maximum(np.minimum(a[3], b[3]) - np.maximum(a[1], b[1]), 0.0)
    inter = iw * ih
    union = a[4] + b[4] - inter
    mag_a = np.max(np.abs(np.stack(list(p1)[:4])), axis=0) if p1.x1.size else np.zeros(0)
    mag_b = np.max(np.abs(np.stack(list(p2)[:4])), axis=0) if p2.x1.size else np.zeros(0)
    return {"iw": iw, "ih": ih, "inter": inter, "union": union,
            "sides": (a[2] - a[0]) + (a[3] - a[1]) + (b[2] - b[0]) + (b[3] - b[1]),
            "mag": np.maximum(mag_a[:, None], mag_b[None, :])}


def _magnitude(boxes: np.ndarray) -> np.ndarray:
    return np.max(np.abs(boxes), axis=1) if boxes.shape[0] else np.zeros(0)


def _iou_scale(b1: np.ndarray, b2: np.ndarray, fmt: str, iou: np.ndarray) -> np.ndarray:
    p1, p2 = RB.prepare(b1, "boxes1", fmt), RB.prepare(b2, "boxes2", fmt)
    g = _pair_geometry(p1, p2)
    # M also covers the numbers as given (a centre plus a half size, in cxcywh).
    m = np.maximum(g["mag"], np.maximum(_magnitude(b1)[:, None], _magnitude(b2)[None, :]))
    ext = g["iw"] + g["ih"]
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(g["union"] > 0, m * (ext + iou * (g["sides"] + ext)) / g["union"], 0.0)
    return s + iou


def _box_iou_measure(case: Case, variant: tuple[str, ...] = ()) -> Expected:
    b1, b2 = case.arrays["boxes1"], case.arrays["boxes2"]
    fmt = case.params.get("fmt", "xyxy")
    iou = RB.box_iou_variant(b1, b2, variant=variant, fmt=fmt) if variant else RB.box_iou(b1, b2, fmt=fmt)
    return [("iou", iou, _iou_scale(b1, b2, fmt, iou), IOU_TERMS)]


def _nms_measure(case: Case, variant: tuple[str, ...] = ()) -> Expected:
    a = case.arrays
    keep = (nms_variant(a["boxes"], a["scores"], variant=variant, **case.params) if variant
            else nms(a["boxes"], a["scores"], **case.params))
    return [("indices", keep, None, 1)]


def _batched_measure(case: Case, variant: tuple[str, ...] = ()) -> Expected:
    a = case.arrays
    keep = (batched_nms_variant(a["boxes"], a["scores"], a["classes"], variant=variant, **case.params)
            if variant else batched_nms(a["boxes"], a["scores"], a["classes"], **case.params))
    return [("indices", keep, None, 1)]


def _soft_setting(case: Case) -> dict[str, Any]:
    return {**DEFAULTS["soft_nms"], **case.params}


def _decay_terms(u: np.ndarray, p: dict[str, Any], half_sigma: bool = False) -> np.ndarray:
    """Relative error, in units of u, that one decay at IoU ``u`` may add to a score."""
    if p["method"] == "gaussian":
        sigma = float(p["sigma"]) * (2.0 if half_sigma else 1.0)
        return 2.0 + 12.0 * u * u / sigma
    t = float(p["iou_threshold"])
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.where(u < 1.0, u / (1.0 - u), 0.0)
    return np.where(u > t, 2.0 + 4.0 * slope, 0.0)


def _soft_measure(case: Case, variant: tuple[str, ...] = ()) -> Expected:
    a, p = case.arrays, _soft_setting(case)
    fn = (lambda *x, **k: soft_nms_variant(*x, variant=variant, **k)) if variant else soft_nms
    idx, scores = fn(a["boxes"], a["scores"], **case.params)
    # Each selected box was decayed once by every box selected before it.
    sel = a["boxes"][idx]
    u = RB.box_iou(sel, sel, fmt=p["fmt"])
    terms = _decay_terms(u, p, "tf-half-sigma" in variant)
    hist = np.array([terms[:q, q].sum() for q in range(idx.size)])
    return [("indices", idx, None, 1), ("scores", scores, np.abs(scores) * (1.0 + hist), 1)]


MEASURE: dict[str, Callable[..., Expected]] = {
    "box_iou": _box_iou_measure, "nms": _nms_measure, "batched_nms": _batched_measure,
    "soft_nms": _soft_measure,
}


# ------------------------------------------------------------------------------- ambiguity


class _Pairs:
    """IoU of any two boxes of a case, and whether a decision on it is within rounding (NMS-11)."""

    def __init__(self, boxes: np.ndarray, fmt: str, t: float, dtype: str | None = None) -> None:
        self.p = RB.prepare(boxes, "boxes", fmt)
        self.t = t
        self.delta = NEAR_ULPS * _eps(dtype or AMBIGUITY_DTYPE)
        # IoUs are exact when every step is exact in the precision the target computes in.
        self.f32 = np.float16 if dtype == "float16" else np.float32

    def iou(self, i: int, j: int) -> float:
        return float(self.iou_row(i, np.array([j]))[0])

    def iou_row(self, i: int, js: np.ndarray) -> np.ndarray:
        p = self.p
        return RB.iou_arrays(p.x1[i], p.y1[i], p.x2[i], p.y2[i], p.area[i],
                             p.x1[js], p.y1[js], p.x2[js], p.y2[js], p.area[js])

    def _exact(self, i: int, j: int, u: float) -> bool:
        """Is the IoU of (i, j) exactly what any correctly rounded computation gives?"""
        p, f = self.p, self.f32
        coords = [p.x1[i], p.y1[i], p.x2[i], p.y2[i], p.x1[j], p.y1[j], p.x2[j], p.y2[j]]
        iw = max(min(p.x2[i], p.x2[j]) - max(p.x1[i], p.x1[j]), 0.0)
        ih = max(min(p.y2[i], p.y2[j]) - max(p.y1[i], p.y1[j]), 0.0)
        inter = iw * ih
        union = p.area[i] + p.area[j] - inter
        values = coords + [iw, ih, inter, p.area[i], p.area[j], union, u]
        if any(float(f(v)) != float(v) for v in values):
            return False
        if union <= 0:
            return u == 0.0
        return Fraction(float(inter)) / Fraction(float(union)) == Fraction(u)

    def near(self, i: int, j: int, u: float) -> bool:
        if abs(u - self.t) > self.delta:
            return False
        return u != self.t or not self._exact(i, j, u)


def _as_indices(got: Any, n: int) -> np.ndarray | None:
    if not isinstance(got, np.ndarray) or got.ndim != 1 or got.dtype.kind not in "iuf":
        return None
    g = got.astype(np.float64)
    if not np.all(np.isfinite(g)) or not np.all(g == np.round(g)):
        return None
    g = g.astype(np.int64)
    if g.size and (g.min() < 0 or g.max() >= n or np.unique(g).size != g.size):
        return None
    return g


def _hard_ambiguous(case: Case, outs: tuple[Any, ...], dtype: str | None = None) -> str | None:
    """NMS-11 for nms and batched_nms: replay NMS-3 along the target's output, allowing any
    decision on a near-threshold pair to go either way; the reason, or None if a decision that
    is not near the threshold differs."""
    a, prm = case.arrays, case.params
    boxes, s = a["boxes"], np.asarray(a["scores"], dtype=np.float64)
    n = s.size
    got = _as_indices(outs[0] if isinstance(outs, tuple) and outs else outs, n)
    if got is None:
        return None
    t = float(prm["iou_threshold"])
    thr = prm.get("score_threshold")
    limit = prm.get("max_output", prm.get("max_output_per_class"))
    cls = np.asarray(a["classes"]) if "classes" in a else np.zeros(n, dtype=np.int64)
    pairs = _Pairs(boxes, prm.get("fmt", "xyxy"), t, dtype)
    cand = np.arange(n) if thr is None else np.flatnonzero(s > thr)
    order = cand[np.argsort(-s[cand], kind="stable")]
    rank = np.full(n, -1)
    rank[order] = np.arange(order.size)
    if got.size and (rank[got] < 0).any():
        return None  # a box that is no candidate (NMS-5) is never ambiguous
    if np.any(np.diff(rank[got]) <= 0):
        return None  # the output order (NMS-4, NMS-BATCH-3) is exact
    flips = 0
    for c in np.unique(cls[order]) if order.size else []:
        members = order[cls[order] == c]
        seq = got[cls[got] == c]
        kept: list[int] = []
        pos = 0
        for m in members:
            if limit is not None and len(kept) >= limit:
                break
            forced = near = spec_suppress = False
            if kept:
                ks = np.array(kept)
                u = pairs.iou_row(m, ks)
                close = np.abs(u - t) <= pairs.delta
                close[close] = [pairs.near(int(k), int(m), float(v)) for k, v in zip(ks[close], u[close])]
                forced = bool(np.any((u > t) & ~close))
                near = bool(close.any())
                spec_suppress = bool(np.any(u > t))
            keeps = pos < seq.size and seq[pos] == m
            if forced and keeps:
                return None
            if not forced and not near and not keeps:
                return None
            if not forced and keeps == spec_suppress:
                flips += 1
            if keeps:
                kept.append(int(m))
                pos += 1
        if pos != seq.size:
            return None
    if not flips:
        return None
    return (f"{flips} suppression decision(s) on an IoU within {NEAR_ULPS} eps ({dtype or AMBIGUITY_DTYPE}) "
            f"of iou_threshold={t!r} went the other way (NMS-11)")


def _soft_ambiguous(case: Case, outs: tuple[Any, ...], dtype: str | None = None) -> str | None:
    """NMS-11 for Soft-NMS: replay NMS-SOFT-1 along the target's selections, allowing a choice
    between scores within rounding of each other, a score within rounding of score_threshold
    kept or dropped, and a linear decay at an IoU within rounding of iou_threshold."""
    if not (isinstance(outs, tuple) and len(outs) == 2):
        return None
    a, p = case.arrays, _soft_setting(case)
    s = np.asarray(a["scores"], dtype=np.float64)
    n = s.size
    gi = _as_indices(outs[0], n)
    gs = outs[1]
    if gi is None or not isinstance(gs, np.ndarray) or gs.shape != gi.shape or gs.dtype.kind != "f":
        return None
    gs = gs.astype(np.float64)
    u_r = _eps(dtype or AMBIGUITY_DTYPE) / 2
    thr, t = float(p["score_threshold"]), float(p["iou_threshold"])
    pairs = _Pairs(a["boxes"], p["fmt"], t, dtype)
    cur = s.copy()
    hist = np.zeros(n)
    live = s > thr  # the initial test is on exact inputs: not ambiguous
    maybe = np.zeros(n, dtype=bool)
    flips = 0

    def bound(i: Any) -> Any:
        return (2.0 * (1.0 + hist[i]) + 1.0) * u_r * np.abs(cur[i])

    for q, g in enumerate(gi.tolist()):
        cand = np.flatnonzero(live | maybe)
        if not (live[g] or maybe[g]):
            return None
        best = cand[np.argmax(cur[cand])]  # argmax: the first maximum, the lowest index
        if g != best:
            if cur[g] == cur[best] or cur[best] - cur[g] > bound(best) + bound(g):
                return None
            flips += 1
        if abs(gs[q] - cur[g]) > bound(g):
            return None
        if maybe[g] and not cur[g] > thr:
            flips += 1  # kept a score the reference dropped
        live[g] = maybe[g] = False
        rest = np.flatnonzero(live | maybe)
        if rest.size == 0:
            continue
        u = pairs.iou_row(g, rest)
        if p["method"] == "gaussian":
            f = np.exp(-((u * u) / float(p["sigma"])))
        else:
            if any(pairs.near(g, int(j), float(uj)) for j, uj in zip(rest, u)):
                return (f"a linear decay at an IoU within {NEAR_ULPS} eps of iou_threshold={t!r} "
                        f"(NMS-SOFT-3, NMS-11)")
            f = np.where(u > t, 1.0 - u, 1.0)
        cur[rest] = cur[rest] * f
        hist[rest] += _decay_terms(u, p)
        tol = bound(rest)
        above, below = cur[rest] > thr + tol, cur[rest] <= thr - tol
        live[rest] = above
        maybe[rest] = ~above & ~below
    if live.any():
        return None  # a candidate clearly above the threshold was never selected
    flips += int(np.sum(maybe & (cur > thr)))  # dropped a score the reference kept
    if not flips:
        return None
    return (f"{flips} Soft-NMS decision(s) between scores within rounding of each other or of "
            f"score_threshold (NMS-SOFT-1, NMS-SOFT-4, NMS-11)")


# ------------------------------------------------------------------------------- registry

SPECS = [
    OpSpec("box_iou", ("iou",), ("IOU-1", "IOU-2", "IOU-3", "IOU-4", "BOX-1", "BOX-2", "BOX-3", "BOX-4"),
           box_iou_cases, _box_iou_measure, size_clause="BOX-1", exact_capable=False),
    OpSpec("nms", ("indices",), ("NMS-1", "NMS-2", "NMS-3", "NMS-4", "NMS-5", "NMS-6", "NMS-8", "NMS-9",
                                 "NMS-11", "IOU-1", "BOX-2", "TOL-4"),
           nms_cases, _nms_measure, size_clause="NMS-4", ambiguous=_hard_ambiguous),
    OpSpec("batched_nms", ("indices",), ("NMS-BATCH-1", "NMS-BATCH-2", "NMS-BATCH-3", "NMS-2", "NMS-3",
                                         "NMS-5", "NMS-6", "NMS-11", "TOL-4"),
           batched_nms_cases, _batched_measure, size_clause="NMS-BATCH-2", ambiguous=_hard_ambiguous),
    OpSpec("soft_nms", ("indices", "scores"), ("NMS-SOFT-1", "NMS-SOFT-2", "NMS-SOFT-3", "NMS-SOFT-4",
                                               "NMS-SOFT-6", "NMS-11"),
           soft_nms_cases, _soft_measure, size_clause="NMS-SOFT-4", exact_capable=False,
           ambiguous=_soft_ambiguous),
]


# ------------------------------------------------------------------------------- variants

#: (op, variant name, clause, description): the spec's named variants each op can show.
VARIANT_TABLE: list[tuple[str, str, str, str]] = [
    ("box_iou", "plus-one-pixel", "BOX-4",
     "widths, heights and intersections get +1 (integer-pixel convention: R-CNN, Detectron, old OpenCV)"),
    *[(op, name, clause, text) for op in ("nms", "batched_nms") for name, clause, text in [
        ("suppress-on-equal", "NMS-3", "suppresses when IoU >= iou_threshold instead of >"),
        ("plus-one-pixel", "NMS-3", "IoU with the +1 pixel widths and heights of BOX-4 (py-faster-rcnn era)"),
        ("no-tie-rule", "NMS-2", "equal scores visited by descending index (an unstable sort)"),
        ("score-threshold-inclusive", "NMS-5", "keeps scores >= score_threshold instead of >"),
    ]],
    ("soft_nms", "tf-half-sigma", "NMS-SOFT-2", "Gaussian decay exp(-u^2 / (2 sigma)) (TensorFlow's soft_nms_sigma)"),
    ("soft_nms", "suppress-on-equal", "NMS-SOFT-3", "linear decay also at IoU == iou_threshold (the paper's >=)"),
    ("soft_nms", "no-tie-rule", "NMS-SOFT-1", "equal current scores selected by descending index"),
    ("soft_nms", "plus-one-pixel", "NMS-SOFT-1", "IoU with the +1 pixel widths and heights of BOX-4"),
    ("soft_nms", "score-threshold-inclusive", "NMS-SOFT-4", "keeps scores >= score_threshold instead of >"),
]


def _variant_compute(op: str, name: str) -> Callable[[Case], Expected]:
    return lambda case: MEASURE[op](case, (name,))


def make_variants() -> list[Variant]:
    return [Variant(name, clause, op, _variant_compute(op, name), text)
            for op, name, clause, text in VARIANT_TABLE]


# --------------------------------------------------------------------------------- corpus


def _b(rows: Any) -> np.ndarray:
    return np.array(rows, dtype=np.float64).reshape(-1, 4)


def _s(values: Any) -> np.ndarray:
    return np.array(values, dtype=np.float64)


def _nms(note: str, boxes: Any, scores: Any, t: float, **params: Any) -> Case:
    return Case("nms", {"boxes": _b(boxes), "scores": _s(scores)},
                _params("nms", {"iou_threshold": t, **params}), False, note)


def _batched(note: str, boxes: Any, scores: Any, classes: Any, t: float, **params: Any) -> Case:
    return Case("batched_nms", {"boxes": _b(boxes), "scores": _s(scores),
                                "classes": np.array(classes, dtype=np.int64)},
                _params("batched_nms", {"iou_threshold": t, **params}), False, note)


def _soft(note: str, boxes: Any, scores: Any, **params: Any) -> Case:
    return Case("soft_nms", {"boxes": _b(boxes), "scores": _s(scores)}, _params("soft_nms", params), False, note)


def _iou(note: str, b1: Any, b2: Any, **params: Any) -> Case:
    return Case("box_iou", {"boxes1": _b(b1), "boxes2": _b(b2)}, _params("box_iou", params), False, note)


def _in(fmt: str, boxes: Any) -> np.ndarray:
    return RB.box_convert(_b(boxes), "xyxy", fmt)


def _crowd(seed: int, n: int, span: float = 200.0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` clustered boxes on a quarter grid and scores with ties (many candidates)."""
    rng = np.random.default_rng(seed)
    centres = rng.integers(0, int(span * 4), (n // 8 + 1, 2))
    c = centres[rng.integers(0, centres.shape[0], n)] + rng.integers(-6, 7, (n, 2))
    wh = rng.integers(8, 48, (n, 2))
    xyxy = np.concatenate([c, c + wh], axis=1) / 4.0
    return xyxy, rng.integers(1, 65, n) / 64.0  # positive: libraries that need a threshold >= 0 take it


# A chain: IoU(A, B) = IoU(B, C) = 0.6 > 0.5 and IoU(A, C) = 0.25: A and C are kept (NMS-3).
_CHAIN = [[0, 0, 4, 4], [1, 0, 5, 4], [2.5, 0, 6.5, 4]]
_IDENT = [[0, 0, 2, 2]] * 3
_HALF = [[0, 0, 2, 2], [0, 0, 2, 4]]           # IoU exactly 1/2 (dyadic: exact in float32)
_THIRD = [[0, 0, 2, 2], [0, 1, 2, 3]]          # IoU exactly 1/3 in float64 (not in float32)
_TOUCH = [[0, 0, 2, 2], [2, 0, 4, 2], [0, 2, 2, 4], [2, 2, 4, 4]]  # edges and a corner
_ZERO = [[1, 1, 1, 3], [1, 1, 1, 3], [5, 5, 5, 5], [8, 0, 9, 0], [1, 1, 1, 3]]
_CROWD_B, _CROWD_S = _crowd(7, 600)


def _nms_corpus() -> list[Case]:
    third = float(RB.box_iou(_b(_THIRD)[:1], _b(_THIRD)[1:])[0, 0])
    mixed = _CHAIN + [[10, 10, 12, 12], [10.5, 10, 12.5, 12]]
    cases = [
        _nms("identical boxes, equal scores: the lowest index is kept (NMS-2)", _IDENT, [0.5, 0.5, 0.5], 0.5),
        _nms("equal scores decide which of two overlapping boxes survives (NMS-2)",
             _CHAIN + [[1, 0, 5, 4]], [0.5, 0.5, 0.5, 0.5], 0.5),
        _nms("IoU exactly 1/2 at iou_threshold 1/2 does not suppress (NMS-3)", _HALF, [0.9, 0.8], 0.5),
        _nms("IoU one float64 ulp above the threshold suppresses (NMS-3, NMS-11)", _HALF, [0.9, 0.8],
             float(np.nextafter(0.5, 0.0))),
        _nms("IoU 1/3 at iou_threshold 1/3, not a float32 number (NMS-11)", _THIRD, [0.9, 0.8], third),
        _nms("a chain: only kept boxes suppress (NMS-3)", _CHAIN, [0.9, 0.8, 0.7], 0.5),
        _nms("touching boxes at threshold 0 do not suppress (IOU-2, NMS-8)", _TOUCH, [0.9, 0.8, 0.7, 0.6], 0.0),
        _nms("threshold 0 suppresses every positive overlap (NMS-8)", mixed, [0.5, 0.9, 0.1, 0.7, 0.6], 0.0),
        _nms("threshold 1 suppresses nothing, identical boxes included (NMS-8)", _IDENT + _HALF,
             [0.2, 0.9, 0.5, 0.9, 0.1], 1.0),
        _nms("zero-area boxes are always kept (IOU-3, NMS-9)", _ZERO + [[0, 0, 4, 4]],
             [0.9, 0.8, 0.7, 0.6, 0.5, 0.4], 0.0),
        _nms("zero-area boxes at threshold 1/2 (NMS-9)", _ZERO, [0.9, 0.8, 0.7, 0.6, 0.5], 0.5),
        _nms("score_threshold equal to a score drops it (NMS-5)", _CHAIN + [[9, 9, 10, 10]],
             [0.9, 0.5, 0.7, 0.5], 0.5, score_threshold=0.5),
        _nms("score_threshold between scores", _CHAIN, [0.9, 0.8, 0.7], 0.5, score_threshold=0.75),
        _nms("max_output 0 returns nothing (NMS-6)", _CHAIN, [0.9, 0.8, 0.7], 0.5, max_output=0),
        _nms("max_output cuts the unbounded result, not the candidates (NMS-6)",
             _IDENT[:2] + [[9, 9, 10, 10]], [0.9, 0.8, 0.7], 0.5, max_output=2),
        _nms("+inf ranks first, -inf last and is still a candidate, -0.0 ties 0.0 (NMS-2)",
             [[0, 0, 2, 2], [0, 0, 2, 2], [5, 5, 7, 7], [9, 9, 11, 11], [9, 9, 11, 11]],
             [0.5, np.inf, -np.inf, -0.0, 0.0], 0.5),
        _nms("negative scores", _CHAIN, [-0.5, -0.25, -1.0], 0.3),
        _nms("boxes at and left of the origin", [[0, 0, 0, 0], [-3, -3, -1, -1], [-3, -3, -1, -2], [0, 0, 2, 2]],
             [0.9, 0.8, 0.7, 0.6], 0.3),
        _nms("boxes far from the origin", np.array(_CHAIN) + 4096.25, [0.9, 0.8, 0.7], 0.5),
        _nms("no boxes", np.zeros((0, 4)), [], 0.5),
        _nms("one box", [[1, 2, 3, 4]], [0.5], 0.5),
        _nms(f"{_CROWD_B.shape[0]} clustered boxes (more than one block or tile)", _CROWD_B, _CROWD_S, 0.5),
        _nms("the same crowd at threshold 0.3 with a score threshold and max_output", _CROWD_B, _CROWD_S, 0.3,
             score_threshold=0.25, max_output=50),
    ]
    for fmt in ("xywh", "cxcywh", "yxyx"):
        cases.append(_nms(f"chain and touching boxes given as {fmt} (BOX-2, BOX-3)", _in(fmt, _CHAIN + _TOUCH),
                          [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3], 0.0 if fmt == "yxyx" else 0.5, fmt=fmt))
        cases.append(_nms(f"IoU exactly 1/2 at threshold 1/2, {fmt}", _in(fmt, _HALF), [0.9, 0.8], 0.5, fmt=fmt))
    return cases


def _batched_corpus() -> list[Case]:
    return [
        _batched("identical boxes of different classes are all kept (NMS-BATCH-2)", _IDENT, [0.9, 0.8, 0.7],
                 [0, 1, 2], 0.5),
        _batched("negative and far-apart class labels (NMS-BATCH-1)", _IDENT + _CHAIN, [0.9, 0.8, 0.7, 0.6, 0.5, 0.4],
                 [-5, 7, -5, 7, 1000, 7], 0.5),
        _batched("equal scores across classes are ordered by index (NMS-BATCH-3)", _IDENT + [[9, 9, 10, 10]],
                 [0.5, 0.5, 0.5, 0.5], [1, 0, 1, 0], 0.5),
        _batched("equal scores within a class: the lowest index survives (NMS-2)", _IDENT + _IDENT,
                 [0.5] * 6, [0, 1, 0, 1, 0, 1], 0.5),
        _batched("IoU exactly 1/2 at threshold 1/2 within a class (NMS-3)", _HALF + _HALF, [0.9, 0.8, 0.7, 0.6],
                 [0, 0, 1, 1], 0.5),
        _batched("touching boxes at threshold 0 (IOU-2, NMS-8)", _TOUCH, [0.9, 0.8, 0.7, 0.6], [0, 0, 0, 1], 0.0),
        _batched("score_threshold equal to a score (NMS-5)", _CHAIN + _HALF, [0.9, 0.5, 0.7, 0.5, 0.6],
                 [0, 0, 0, 1, 1], 0.5, score_threshold=0.5),
        _batched("max_output_per_class applies per class (NMS-BATCH-2, NMS-6)", _TOUCH + _TOUCH,
                 [0.9, 0.8, 0.7, 0.6, 0.55, 0.45, 0.35, 0.25], [0, 0, 0, 0, 1, 1, 1, 1], 0.5,
                 max_output_per_class=2),
        _batched("zero-area boxes in two classes (NMS-9)", _ZERO, [0.9, 0.8, 0.7, 0.6, 0.5], [0, 0, 1, 1, 0], 0.5),
        _batched("class offsets far beyond float32's integers (coordinate-offset implementations)",
                 np.array(_HALF + _CHAIN) + 1000.25, [0.9, 0.8, 0.7, 0.6, 0.5], [20000, 20000, 0, 0, 0], 0.5),
        _batched("no boxes", np.zeros((0, 4)), [], np.zeros(0, dtype=np.int64), 0.5),
        _batched(f"{_CROWD_B.shape[0]} clustered boxes in 5 classes", _CROWD_B, _CROWD_S,
                 np.arange(_CROWD_B.shape[0]) % 5, 0.5),
        _batched("chain given as cxcywh", _in("cxcywh", _CHAIN + _HALF), [0.9, 0.8, 0.7, 0.6, 0.5],
                 [3, 3, 3, 4, 4], 0.5, fmt="cxcywh"),
    ]


_INT_OVERLAP = [[0, 0, 4, 4], [0, 0, 4, 8], [0, 2, 4, 6], [20, 20, 24, 24]]  # IoUs 1/2, 1/3, 1/3


def _soft_corpus() -> list[Case]:
    return [
        _soft("Gaussian decay with the default sigma (NMS-SOFT-2)", _INT_OVERLAP, [0.9, 0.8, 0.7, 0.6]),
        _soft("Gaussian, sigma 0.1, threshold 0 (NMS-SOFT-2)", _INT_OVERLAP, [0.9, 0.8, 0.7, 0.6], sigma=0.1,
              score_threshold=0.0),
        _soft("linear decay at IoU exactly equal to the threshold does not decay (NMS-SOFT-3)",
              [[0, 0, 4, 4], [0, 0, 4, 8]], [0.9, 0.8], method="linear", iou_threshold=0.5),
        _soft("linear decay above the threshold", _INT_OVERLAP, [0.9, 0.8, 0.7, 0.6], method="linear",
              iou_threshold=0.3),
        _soft("identical boxes with equal scores: the lowest index first (NMS-SOFT-1)",
              [[0, 0, 4, 4]] * 3, [0.5, 0.5, 0.5]),
        _soft("a score equal to score_threshold is dropped (NMS-SOFT-4)", [[0, 0, 4, 4], [10, 10, 14, 14]],
              [0.9, 0.5], score_threshold=0.5),
        _soft("identical boxes decay to exactly 0, dropped at threshold 0 (NMS-SOFT-3, NMS-SOFT-4)",
              [[0, 0, 4, 4]] * 2, [0.9, 0.8], method="linear", iou_threshold=0.5, score_threshold=0.0),
        _soft("touching boxes do not decay (IOU-2)", [[0, 0, 4, 4], [4, 0, 8, 4], [0, 4, 4, 8]], [0.9, 0.8, 0.7],
              method="linear", iou_threshold=0.0),
        _soft("zero-area boxes never decay (IOU-3)", [[1, 1, 1, 5], [8, 8, 8, 8], [1, 1, 1, 5]], [0.9, 0.8, 0.7]),
        _soft("a decayed box falls below a lower one: the order changes (NMS-SOFT-1)",
              [[0, 0, 4, 4], [0, 0, 4, 5], [10, 10, 14, 14]], [0.9, 0.85, 0.5]),
        _soft("no boxes", np.zeros((0, 4)), []),
        _soft("given as cxcywh", _in("cxcywh", _INT_OVERLAP), [0.9, 0.8, 0.7, 0.6], fmt="cxcywh"),
    ]


def _box_iou_corpus() -> list[Case]:
    a = [[0, 0, 2, 2], [1, 1, 1, 3], [0, 0, 2, 2], [-1, -1, 0.5, 4]]
    b = [[2, 0, 4, 2], [1, 1, 1, 3], [0, 0, 2, 2], [0, 1, 2, 3], [2, 2, 3, 3]]
    return [
        _iou("touching, identical, zero-area and nested boxes (IOU-1 ... IOU-3)", a, b),
        _iou("two identical zero-area boxes have IoU 0, not NaN (IOU-3)", [[1, 1, 1, 3], [4, 4, 4, 4]],
             [[1, 1, 1, 3], [4, 4, 4, 4]]),
        _iou("touching boxes have IoU 0 (IOU-2)", _TOUCH, _TOUCH),
        _iou("empty first array", np.zeros((0, 4)), b),
        _iou("empty second array", a, np.zeros((0, 4))),
        _iou("far from the origin (cancellation)", np.array(a) + 4096.25, np.array(b) + 4096.25),
        *[_iou(f"given as {fmt}", _in(fmt, a), _in(fmt, b), fmt=fmt) for fmt in ("xywh", "cxcywh", "yxyx")],
    ]


#: The curated detection cases, per op (composed into conformance.corpus.CORPUS).
CORPUS: dict[str, list[Case]] = {
    "box_iou": _box_iou_corpus(),
    "nms": _nms_corpus(),
    "batched_nms": _batched_corpus(),
    "soft_nms": _soft_corpus(),
}
DETECTION_CORPUS = CORPUS

#: This family's named variants (composed into conformance.variants.VARIANTS).
VARIANTS: list[Variant] = make_variants()

#: Conventions a library may document for inputs the spec rejects (BOX-5, NMS-7, NMS-10 say MUST
#: raise): they equal the spec on every valid case, so they only name what a target that accepts an
#: invalid case did with it (rejection conformance, composed into conformance.variants.INVALID_VARIANTS).
INVALID_VARIANTS: list[Variant] = [
    Variant(name, clause, op, _variant_compute(op, name), text)
    for op, names in (("box_iou", ("normalise-corners",)),
                      ("nms", ("normalise-corners", "unchecked-threshold", "nan-scores-dropped")),
                      ("batched_nms", ("normalise-corners", "unchecked-threshold", "nan-scores-dropped")),
                      ("soft_nms", ("normalise-corners", "unchecked-threshold")))
    for name, clause, text in [
        ("normalise-corners", "BOX-5", "inverted corners are swapped (their min and max taken) instead of rejected"),
        ("unchecked-threshold", "NMS-7", "any real iou_threshold is used in the formula unchanged"),
        ("nan-scores-dropped", "NMS-10", "a NaN-scored box is no candidate")]
    if name in names]
