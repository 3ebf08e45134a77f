"""Strategies for boxes, IoU, NMS (hard, batched, soft) and segmentation.

Every case is valid by construction, nothing is filtered. Boxes are drawn the way
detectors produce them: a few cluster centres, each box a jittered copy of one of them,
so that most boxes overlap and many pairs sit near any IoU threshold. Coordinates are
multiples of 1/4 in a small range, so conversions between formats are exact and ties
(equal scores, equal IoUs, IoU exactly at the threshold) occur often. Thresholds are
drawn from the ends of [0, 1], from the IoUs the boxes actually have, and from the
float64 neighbours of those IoUs, on purpose.

Shrinking goes towards few boxes, all copies of the first centre with no jitter (so
identical boxes), unit-free small coordinates, equal scores, threshold 0, no score
threshold and no output limit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from reference.boxes import FORMATS, box_convert, box_iou

from . import booleans, floats, integers

#: Coordinates are multiples of QUANTUM: every format conversion of such boxes is exact.
QUANTUM = 0.25
#: Box centres lie in [0, SPAN] and sizes in [0, MAX_SIZE] (in units of QUANTUM * 4).
SPAN = 32
MAX_SIZE = 12
#: Score levels are k / SCORE_LEVELS: few levels, so equal scores are common.
SCORE_LEVELS = 8


def _q(draw: Any, lo: int, hi: int) -> float:
    """A multiple of QUANTUM in [lo, hi] (in QUANTUM units); shrinks towards lo (or 0)."""
    return draw(integers(lo, hi)) * QUANTUM


@st.composite
def box_arrays(draw: Any, n: Any = (0, 10), fmt: str = "xyxy", *, degenerate: bool = True,
               clusters: tuple[int, int] = (1, 3), jitter: int = 6) -> np.ndarray:
    """An (N, 4) float64 box array in ``fmt``, clustered, valid by construction.

    ``n`` is an int or a (min, max) range. A few centre boxes are drawn; each box copies
    one of them and moves each of its four edges by up to ``amplitude`` quanta (drawn in
    [0, jitter]), keeping x2 >= x1 and y2 >= y1 (sizes are clamped at 0, or at one quantum
    when ``degenerate`` is False). Which centre and which jitter come from a drawn seed,
    so a case costs a handful of draws. Shrinks towards N = min, one centre, amplitude 0
    (identical boxes), seed 0.
    """
    lo, hi = (n, n) if isinstance(n, int) else n
    count = draw(integers(lo, hi))
    k = draw(integers(*clusters))
    min_size = 0 if degenerate else 1
    centres = np.array([[draw(integers(0, 4 * SPAN)), draw(integers(0, 4 * SPAN)),
                         draw(integers(min_size, 4 * MAX_SIZE)),
                         draw(integers(min_size, 4 * MAX_SIZE))] for _ in range(k)])
    amplitude = draw(integers(0, jitter))
    rng = np.random.default_rng(draw(integers(0, 2**32 - 1)))
    x, y, w, h = centres[rng.integers(0, k, count)].T
    dx1, dy1, dx2, dy2 = rng.integers(-amplitude, amplitude + 1, (4, count))
    x1, y1 = x + dx1, y + dy1
    x2 = x1 + np.maximum(w + dx2 - dx1, min_size)
    y2 = y1 + np.maximum(h + dy2 - dy1, min_size)
    xyxy = np.stack([x1, y1, x2, y2], axis=1).astype(np.float64).reshape(count, 4) * QUANTUM
    return xyxy if fmt == "xyxy" else box_convert(xyxy, "xyxy", fmt)


def boxes(n: Any = (0, 10), fmt: str | None = "xyxy", **kw: Any) -> st.SearchStrategy[Any]:
    """:func:`box_arrays` in ``fmt``; with ``fmt=None`` a pair (array, fmt) over all formats."""
    if fmt is None:
        return st.sampled_from(FORMATS).flatmap(lambda f: box_arrays(n, f, **kw).map(lambda b: (b, f)))
    return box_arrays(n, fmt, **kw)


@st.composite
def scores(draw: Any, n: int, *, distinct: bool = False, lo: float = 0.0) -> np.ndarray:
    """(n,) float64 scores in [lo, lo + 1]: levels k / SCORE_LEVELS (ties), or all distinct.

    Tied scores use a drawn number of distinct levels (1 level: all equal); distinct
    scores are a permutation of n evenly spaced values (no filtering). Both come from a
    drawn seed. Shrinks towards all scores equal, or seed 0.
    """
    rng = np.random.default_rng(draw(integers(0, 2**32 - 1)))
    if distinct:
        return lo + rng.permutation(n).astype(np.float64) / max(n, 1)
    levels = draw(integers(1, SCORE_LEVELS + 1))
    values = rng.choice(SCORE_LEVELS + 1, size=levels, replace=False)
    return lo + values[rng.integers(0, levels, n)].astype(np.float64) / SCORE_LEVELS


@st.composite
def iou_thresholds(draw: Any, b: np.ndarray, fmt: str = "xyxy") -> float:
    """A threshold in [0, 1]: an end, a round value, an IoU of two of the boxes ``b``, or the
    float64 neighbour of one (near-threshold decisions). Shrinks towards 0."""
    kind = draw(st.sampled_from(["end", "round", "pair", "neighbour", "any"]))
    ious = np.unique(box_iou(b, b, fmt=fmt)) if b.shape[0] else np.array([0.5])
    if kind == "end":
        return draw(st.sampled_from([0.0, 1.0]))
    if kind == "round":
        return draw(st.sampled_from([0.3, 0.5, 0.7]))
    if kind == "any":
        return draw(floats(0.0, 1.0))
    u = float(ious[draw(integers(0, ious.size - 1))])
    if kind == "pair":
        return u
    return float(np.nextafter(u, draw(st.sampled_from([0.0, 1.0]))))


@st.composite
def nms_cases(draw: Any, max_n: int = 12, *, fmt: str | None = "xyxy", distinct: bool = False,
              degenerate: bool = True) -> dict[str, Any]:
    """Arguments of ``nms``: {boxes, scores, iou_threshold, score_threshold, max_output, fmt}.

    ``fmt=None`` draws the format too. ``score_threshold`` is None, one of the scores
    (a tie with the threshold) or an arbitrary value; ``max_output`` is None or in
    [0, N + 1]. Shrinks towards identical boxes, equal scores, t = 0, no limits.
    """
    f = draw(st.sampled_from(FORMATS)) if fmt is None else fmt
    b = draw(box_arrays((0, max_n), f, degenerate=degenerate))
    n = b.shape[0]
    s = draw(scores(n, distinct=distinct))
    t = draw(iou_thresholds(b, f))
    kind = draw(st.sampled_from(["none", "score", "any"]))
    if kind == "none" or n == 0:
        thr = None
    elif kind == "score":
        thr = float(s[draw(integers(0, n - 1))])
    else:
        thr = draw(floats(-0.5, 1.5))
    max_output = draw(st.none() | integers(0, n + 1))
    return {"boxes": b, "scores": s, "iou_threshold": t, "score_threshold": thr,
            "max_output": max_output, "fmt": f}


@st.composite
def batched_nms_cases(draw: Any, max_n: int = 12, *, max_classes: int = 3,
                      fmt: str | None = "xyxy") -> dict[str, Any]:
    """Arguments of ``batched_nms``: :func:`nms_cases` plus integer ``classes`` (some
    negative) and ``max_output_per_class`` instead of ``max_output``. Shrinks towards one class."""
    case = draw(nms_cases(max_n, fmt=fmt))
    n = case["boxes"].shape[0]
    cls = draw(st.lists(integers(-1, max_classes - 2), min_size=n, max_size=n))
    case["classes"] = np.array(cls, dtype=np.int64).reshape(n)
    case["max_output_per_class"] = case.pop("max_output")
    return case


@st.composite
def soft_nms_cases(draw: Any, max_n: int = 10, *, fmt: str | None = "xyxy") -> dict[str, Any]:
    """Arguments of ``soft_nms``: {boxes, scores, sigma, iou_threshold, score_threshold,
    method, fmt}; scores are non-negative levels (ties), ``score_threshold`` is 0.001, 0
    or one of the scores. Shrinks towards the Gaussian method with sigma 0.5."""
    f = draw(st.sampled_from(FORMATS)) if fmt is None else fmt
    b = draw(box_arrays((0, max_n), f))
    n = b.shape[0]
    s = draw(scores(n))
    method = draw(st.sampled_from(["gaussian", "linear"]))
    sigma = draw(st.sampled_from([0.5, 0.1, 1.0]) | floats(0.01, 4.0))
    t = draw(iou_thresholds(b, f))
    thr = draw(st.sampled_from([0.001, 0.0]) | (integers(0, n - 1).map(lambda i: float(s[i]))
                                                 if n else st.just(0.001)))
    return {"boxes": b, "scores": s, "sigma": sigma, "iou_threshold": t, "score_threshold": thr,
            "method": method, "fmt": f}


@st.composite
def label_maps(draw: Any, shape: tuple[int, ...], num_classes: int, *,
               ignore_index: int | None = None) -> np.ndarray:
    """An int64 map of ``shape`` with values in [0, num_classes) (and ``ignore_index`` when
    given, on about a fifth of the pixels), drawn from a seed so large maps stay cheap.
    Shrinks towards seed 0."""
    rng = np.random.default_rng(draw(integers(0, 2**32 - 1)))
    labels = rng.integers(0, num_classes, shape)
    if ignore_index is not None:
        labels = np.where(rng.random(shape) < 0.2, ignore_index, labels)
    return labels.astype(np.int64)


@st.composite
def segmentation_cases(draw: Any, max_classes: int = 5, max_side: int = 6) -> dict[str, Any]:
    """Arguments of ``confusion_matrix``: {pred, target, num_classes, ignore_index}.

    Shape (H, W) or (N, H, W); ``ignore_index`` None, 255, -1 or a class in range; pred
    is often a noisy copy of target, so classes are both hit and missed, and some
    classes are absent from both (NaN per-class IoU). Shrinks towards one class, 1 x 1.
    """
    c = draw(integers(1, max_classes))
    shape = draw(st.sampled_from(["hw", "nhw"]))
    h, w = draw(integers(1, max_side)), draw(integers(1, max_side))
    dims = (h, w) if shape == "hw" else (draw(integers(1, 2)), h, w)
    ig = draw(st.none() | st.sampled_from([255, -1]) | integers(0, c - 1))
    # Classes actually used: the first `used` of a drawn permutation, so some may be absent.
    used = draw(integers(1, c))
    perm = np.array(draw(st.permutations(range(c))), dtype=np.int64)
    target = perm[draw(label_maps(dims, used))]
    noise = perm[draw(label_maps(dims, used))]
    rng = np.random.default_rng(draw(integers(0, 2**32 - 1)))
    pred = np.where(rng.random(dims) < 0.6, target, noise)
    if ig is not None:
        target = np.where(rng.random(dims) < 0.2, ig, target)
    return {"pred": pred.astype(np.int64), "target": target.astype(np.int64),
            "num_classes": c, "ignore_index": ig}


@st.composite
def segmentation_logits(draw: Any, max_classes: int = 4, max_side: int = 4,
                        batch: bool | None = None) -> np.ndarray:
    """Logits (C, H, W) or (N, C, H, W) of small integers, so per-pixel ties are common;
    sometimes with ±inf. Shrinks towards all zeros (all ties: every label 0)."""
    c = draw(integers(1, max_classes))
    h, w = draw(integers(1, max_side)), draw(integers(1, max_side))
    nb = draw(booleans()) if batch is None else batch
    shape = (draw(integers(0, 2)), c, h, w) if nb else (c, h, w)
    size = int(np.prod(shape))
    vals = draw(st.lists(st.sampled_from([0.0, 1.0, 2.0, -1.0, np.inf, -np.inf]),
                         min_size=size, max_size=size))
    return np.array(vals, dtype=np.float64).reshape(shape)


@st.composite
def crf_cases(draw: Any, max_classes: int = 3, max_side: int = 4, max_iterations: int = 3
              ) -> dict[str, Any]:
    """Arguments of ``dense_crf``: {unary_logits, image, iterations, theta_alpha, theta_beta,
    theta_gamma, w_appearance, w_smoothness}, small enough for the O(P**2) loop form.
    Shrinks towards 1 class, a 1 x 1 image, 0 iterations and zero weights."""
    c = draw(integers(1, max_classes))
    h, w = draw(integers(1, max_side)), draw(integers(1, max_side))
    k = draw(integers(1, 3))
    rng = np.random.default_rng(draw(integers(0, 2**32 - 1)))
    return {"unary_logits": rng.normal(0, 2, (c, h, w)),
            "image": rng.integers(0, 256, (k, h, w)).astype(np.float64),
            "iterations": draw(integers(0, max_iterations)),
            "theta_alpha": draw(st.sampled_from([1.0, 3.0, 80.0])),
            "theta_beta": draw(st.sampled_from([5.0, 13.0, 50.0])),
            "theta_gamma": draw(st.sampled_from([1.0, 3.0])),
            "w_appearance": draw(st.sampled_from([0.0, 1.0, 10.0]) | floats(0.0, 10.0)),
            "w_smoothness": draw(st.sampled_from([0.0, 1.0, 3.0]) | floats(0.0, 10.0))}


__all__ = ["QUANTUM", "box_arrays", "boxes", "scores", "iou_thresholds", "nms_cases",
           "batched_nms_cases", "soft_nms_cases", "label_maps", "segmentation_cases",
           "segmentation_logits", "crf_cases"]
