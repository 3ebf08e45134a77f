"""Non-maximum suppression: NMS-1 ... NMS-11, NMS-BATCH-*, NMS-SOFT-* (spec/nms.md).

Each op has two computations:

* the definitional form (``*_definitional``), the loop the clause writes down, in
  Python floats;
* the fast form the public API uses: for hard NMS, candidates are visited in score
  order in blocks; a block is first tested against the boxes already kept (only those
  whose centre lies in a window that can still reach IoU > t, found through a grid of
  the kept boxes' centres), and the survivors are then resolved greedily among
  themselves (a dense IoU matrix for a few survivors, the same grid search otherwise).

Both evaluate IOU-1 with the same float64 operations (:mod:`reference.boxes`), so their
results are identical, not merely close (NMS-11). The ``*_variant`` functions recompute
a result under the named variants of the spec, for diagnosing a target that disagrees.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._errors import fail
from ._params import as_array, as_int
from .boxes import Prepared, Row, check_fmt, iou_arrays, iou_rows, parse_variants, prepare, prepare_rows

#: Every named variant of spec/nms.md (and the box variants NMS inherits) -> what it changes.
NMS_VARIANTS = {
    "suppress-on-equal": "NMS-3 / NMS-SOFT-3: suppress (decay) when IoU >= iou_threshold",
    "plus-one-pixel": "BOX-4: widths, heights and intersections get +1",
    "no-tie-rule": "NMS-2 / NMS-SOFT-1: equal scores in order of descending index",
    "normalise-corners": "BOX-5: inverted corners are swapped instead of raising",
    "score-threshold-inclusive": "NMS-5 / NMS-SOFT-4: keep scores >= score_threshold",
    "unchecked-threshold": "NMS-7: any real iou_threshold is used in the formula unchanged",
    "tf-half-sigma": "NMS-SOFT-2: Gaussian decay exp(-u^2 / (2 sigma)) (TensorFlow)",
    "nan-scores-dropped": "NMS-10: a NaN-scored box is no candidate (ONNX Runtime, TensorFlow)",
}
_HARD = tuple(v for v in NMS_VARIANTS if v != "tf-half-sigma")
_SOFT = tuple(v for v in NMS_VARIANTS if v != "nan-scores-dropped")

#: Candidates per block of the fast NMS (visited together, in score order).
BLOCK = 512
#: Most candidate-kept pairs whose IoU the fast NMS holds at once (8 MiB per float64 temp).
PAIR_BUDGET = 1 << 20


@dataclass(frozen=True)
class Rules:
    """The behaviour to compute: the spec's (all False) or a combination of variants."""

    iou_ge: bool = False
    plus_one: bool = False
    ties_high_first: bool = False
    normalise: bool = False
    score_ge: bool = False
    unchecked: bool = False
    half_sigma: bool = False
    nan_dropped: bool = False

    @classmethod
    def of(cls, variant: Any, allowed: tuple[str, ...] = _SOFT) -> Rules:
        names = parse_variants(variant, allowed, "NMS-11")
        return cls(iou_ge="suppress-on-equal" in names, plus_one="plus-one-pixel" in names,
                   ties_high_first="no-tie-rule" in names, normalise="normalise-corners" in names,
                   score_ge="score-threshold-inclusive" in names,
                   unchecked="unchecked-threshold" in names, half_sigma="tf-half-sigma" in names,
                   nan_dropped="nan-scores-dropped" in names)


SPEC = Rules()


# --- argument validation --------------------------------------------------------------------------

def _real(value: Any, name: str, clause: str) -> float:
    """A real scalar (int or float, Python or NumPy; not bool) that is not NaN."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        fail(name, value, clause, "must be a real number")
    v = float(value)
    if np.isnan(v):
        fail(name, value, clause, "must not be NaN")
    return v


def _iou_threshold(value: Any, rules: Rules, clause: str = "NMS-7") -> float:
    t = _real(value, "iou_threshold", clause)
    if not rules.unchecked and not 0.0 <= t <= 1.0:
        fail("iou_threshold", value, clause, "must lie in [0, 1]")
    return t


def _score_threshold(value: Any, clause: str = "NMS-5") -> float | None:
    return None if value is None else _real(value, "score_threshold", clause)


def _max_output(value: Any, name: str, clause: str = "NMS-6") -> int | None:
    return None if value is None else as_int(value, name, clause, 0)


def _scores(scores: Any, n: int, shape_clause: str = "NMS-1", nan_clause: str = "NMS-10",
            nan_ok: bool = False) -> np.ndarray:
    s = as_array(scores, "scores")
    if s.ndim != 1 or s.shape[0] != n:
        fail("scores", s, shape_clause, f"must have shape ({n},) to match boxes, got {s.shape}")
    if not nan_ok and np.isnan(s).any():
        fail("scores", s, nan_clause, f"must not contain NaN (index {int(np.flatnonzero(np.isnan(s))[0])})")
    return s


def _classes(classes: Any, n: int) -> np.ndarray:
    c = np.asarray(classes)
    if c.dtype == np.bool_ or c.dtype.kind not in "iu":
        fail("classes", c, "NMS-BATCH-1", f"must have an integer dtype, got {c.dtype}")
    if c.ndim != 1 or c.shape[0] != n:
        fail("classes", c, "NMS-BATCH-1", f"must have shape ({n},) to match boxes, got {c.shape}")
    return c


def _boxes(boxes: Any, fmt: str, rules: Rules, definitional: bool) -> tuple[list[Row], Prepared]:
    """Validated boxes: Python-float rows for the definitional form, else prepared columns."""
    if definitional:
        return prepare_rows(boxes, "boxes", fmt, normalise=rules.normalise,
                            plus_one=rules.plus_one), _EMPTY
    return [], prepare(boxes, "boxes", fmt, normalise=rules.normalise, plus_one=rules.plus_one)


_EMPTY = Prepared(*(np.empty(0) for _ in range(5)))


def _candidates(s: np.ndarray, threshold: float | None, rules: Rules) -> np.ndarray:
    """Indices, ascending, whose score passes NMS-5 (strict, or >= under the variant).

    A NaN score passes no threshold; without one it is only present under the
    ``nan-scores-dropped`` variant, which drops it too (the spec raises earlier).
    """
    if threshold is None:
        return np.flatnonzero(~np.isnan(s)) if rules.nan_dropped else np.arange(s.size)
    return np.flatnonzero(s >= threshold if rules.score_ge else s > threshold)


def _rank_order(s: np.ndarray, ties_high_first: bool) -> np.ndarray:
    """Positions of ``s`` in NMS-2 order: descending score, ties by ascending position."""
    if not ties_high_first:
        return np.argsort(-s, kind="stable")
    # A stable sort of the reversed array orders ties by descending position.
    return s.size - 1 - np.argsort(-s[::-1], kind="stable")


# --- hard NMS: fast form --------------------------------------------------------------------------

# Slack on t and 1 - t in the pruning bounds below: far above the rounding of a float64
# IoU (~1e-15), so pruning never hides a pair whose computed IoU passes the test.
_SLACK = 1e-9
#: Cells per axis of the box grid, at most (keeps cell keys and column counts small).
_MAX_CELLS = 1024
#: Grid cell side as a fraction of the median box side. Any value is correct (cells only
#: coarsen the search window); tests make it tiny so that the window's edge is sharp.
_CELL_FRACTION = 0.5
#: Blocks with at most this many survivors are resolved with a dense IoU matrix; larger
#: ones with the grid (their matrix would cost more than the search).
_DENSE_MAX = 48


class _Grid:
    """A uniform grid over the centres of all candidates, one layer per class.

    A box's key is ``(class * nx + column) * ny + row``. In an array of keys kept sorted,
    the cells of one grid column between two rows of one class are a contiguous range,
    found with one binary search. Every float step (subtract, divide, floor, clip) is
    monotone, so a centre inside a window always lands in a cell its range covers.
    """

    def __init__(self, p: Prepared, cls: np.ndarray) -> None:
        self.w, self.h = p.x2 - p.x1, p.y2 - p.y1
        self.cx, self.cy = (p.x1 + p.x2) / 2, (p.y1 + p.y2) / 2
        self.cls = cls
        self.x0, self.y0 = float(self.cx.min()), float(self.cy.min())
        ext_x, ext_y = float(self.cx.max()) - self.x0, float(self.cy.max()) - self.y0
        self.gx, self.gy = self._side(ext_x, self.w), self._side(ext_y, self.h)
        self.nx, self.ny = int(ext_x // self.gx) + 1, int(ext_y // self.gy) + 1

    @staticmethod
    def _side(extent: float, size: np.ndarray) -> float:
        # Half a typical box per cell side: a window spans a few columns and the cells
        # it covers add little area to it.
        g = max(float(np.median(size)) * _CELL_FRACTION, extent / _MAX_CELLS)
        return g if g > 0 else 1.0

    def col(self, v: np.ndarray) -> np.ndarray:
        return np.clip(np.floor((v - self.x0) / self.gx), 0, self.nx - 1).astype(np.int64)

    def row(self, v: np.ndarray) -> np.ndarray:
        return np.clip(np.floor((v - self.y0) / self.gy), 0, self.ny - 1).astype(np.int64)

    def keys(self, c: np.ndarray) -> np.ndarray:
        return (self.cls[c] * self.nx + self.col(self.cx[c])) * self.ny + self.row(self.cy[c])


class _Index:
    """Boxes (positions) filed under their grid keys, sorted, with their largest sizes."""

    def __init__(self, grid: _Grid, c: np.ndarray | None = None) -> None:
        self.grid = grid
        self.keys = np.empty(0, dtype=np.int64)
        self.pos = np.empty(0, dtype=np.int64)
        self.wmax = self.hmax = 0.0
        if c is not None:
            self.add(c)

    def add(self, c: np.ndarray) -> None:
        k = self.grid.keys(c)
        o = np.argsort(k, kind="stable")
        at = np.searchsorted(self.keys, k[o])
        self.keys = np.insert(self.keys, at, k[o])
        self.pos = np.insert(self.pos, at, c[o])
        self.wmax = max(self.wmax, float(self.grid.w[c].max()))
        self.hmax = max(self.hmax, float(self.grid.h[c].max()))


def _half_window(size: np.ndarray, centre: np.ndarray, kept_max: float, t: float) -> np.ndarray:
    """Largest centre distance along one axis at which an indexed box can still reach IoU > t.

    The IoU of two boxes is at most the IoU of their intervals on each axis. Two
    intervals of lengths a, b with intersection I, union U and IoU > t overlap, so
    2 |centre distance| <= |a1 - b1| + |a2 - b2| = U - I = a + b - 2 I, and I > t U gives
    I > t (a + b) / (1 + t), hence 2 |centre distance| < (a + b) (1 - t) / (1 + t); also
    b < a / t. The bound is reached by two equal intervals shifted against each other.
    """
    t_lo = t - _SLACK
    other = np.minimum(kept_max, size / t_lo) if t_lo > 0 else kept_max
    half = (1.0 - t + _SLACK) / (1.0 + t_lo) * (size + other) / 2
    return half * (1 + _SLACK) + 4 * np.spacing(np.abs(centre) + half)


def _ranges(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Concatenated ``range(s, s + k)`` for each (s, k), and which range each element is from."""
    owner = np.repeat(np.arange(counts.size), counts)
    first = np.cumsum(counts) - counts
    return np.arange(owner.size) - first[owner] + starts[owner], owner


def _overlapping(c: np.ndarray, p: Prepared, t: float, ge: bool, index: _Index,
                 pair_budget: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Pairs (query position, indexed position) of the same class with IoU > t (>= t).

    Only indexed boxes whose centre lies within :func:`_half_window` of the query's on
    both axes are compared, at most ``pair_budget`` pairs (or one query's) at a time.
    """
    g = index.grid
    hx = _half_window(g.w[c], g.cx[c], index.wmax, t)
    hy = _half_window(g.h[c], g.cy[c], index.hmax, t)
    c0, c1 = g.col(g.cx[c] - hx), g.col(g.cx[c] + hx)
    r0, r1 = g.row(g.cy[c] - hy), g.row(g.cy[c] + hy)
    # One query per (candidate, grid column): the key range of rows r0 .. r1 in that column.
    cols, who = _ranges(c0, c1 - c0 + 1)
    base = (g.cls[c[who]] * g.nx + cols) * g.ny
    lo = np.searchsorted(index.keys, base + r0[who], "left")
    cnt = np.searchsorted(index.keys, base + r1[who], "right") - lo
    ends = np.cumsum(cnt)
    i = 0
    while i < cnt.size:
        start = ends[i - 1] if i else 0
        j = max(int(np.searchsorted(ends, start + pair_budget, "right")), i + 1)
        off, q = _ranges(lo[i:j], cnt[i:j])
        if off.size:
            k, a = index.pos[off], c[who[i + q]]
            iou = iou_arrays(p.x1[a], p.y1[a], p.x2[a], p.y2[a], p.area[a],
                             p.x1[k], p.y1[k], p.x2[k], p.y2[k], p.area[k])
            over = iou >= t if ge else iou > t
            yield a[over], k[over]
        i = j


def _resolve_block(c: np.ndarray, p: Prepared, t: float, ge: bool, grid: _Grid,
                   pair_budget: int) -> np.ndarray:
    """NMS-3 among the candidates ``c`` (rank order, ascending) alone: the ones that survive.

    Suppression edges go from a higher-ranked box to a lower one of the same class; the
    Python loop visits only boxes that have an edge, in rank order.
    """
    if c.size <= _DENSE_MAX:
        cols = [v[c] for v in p]
        iou = iou_arrays(*(v[:, None] for v in cols), *(v[None, :] for v in cols))
        over = np.triu(iou >= t if ge else iou > t, 1) & (grid.cls[c][:, None] == grid.cls[c][None, :])
        alive = np.ones(c.size, dtype=bool)
        for i in np.flatnonzero(over.any(axis=1)):
            if alive[i]:
                alive &= ~over[i]
        return c[alive]
    src_l, dst_l = [], []
    for a, k in _overlapping(c, p, t, ge, _Index(grid, c), pair_budget):
        down = k < a  # each pair is found from both ends; keep higher rank -> lower rank
        src_l.append(k[down])
        dst_l.append(a[down])
    src = np.searchsorted(c, np.concatenate(src_l)) if src_l else np.empty(0, dtype=np.int64)
    dst = np.searchsorted(c, np.concatenate(dst_l)) if dst_l else np.empty(0, dtype=np.int64)
    alive = np.ones(c.size, dtype=bool)
    if src.size:
        o = np.argsort(src, kind="stable")
        src, dst = src[o], dst[o]
        heads = np.flatnonzero(np.concatenate([[True], src[1:] != src[:-1]]))
        tails = np.append(heads[1:], src.size)
        for head, lo, hi in zip(src[heads].tolist(), heads.tolist(), tails.tolist(), strict=True):
            if alive[head]:
                alive[dst[lo:hi]] = False
    return c[alive]


def _greedy(p: Prepared, t: float, ge: bool, limit: int | None, cls: np.ndarray | None = None,
            block: int = BLOCK, pair_budget: int = PAIR_BUDGET) -> np.ndarray:
    """NMS-3 on boxes already in rank order: positions of the kept boxes, in order.

    ``cls`` (class numbers 0 .. C-1 per position, or None for one class) makes boxes of
    different classes invisible to each other (NMS-BATCH-2); ``limit`` then applies per
    class. Blocks of ``block`` candidates are processed in rank order. (1) A block is
    tested against the boxes kept so far, but only those of its class whose centre lies
    within :func:`_half_window`, which can never miss a suppressing box. (2) The survivors
    are resolved among themselves, greedily in rank order. Only kept boxes suppress, so
    this is exactly NMS-3 (per class).

    Memory: O(N) for the sorted columns, grid keys and kept index, plus a dense matrix of
    at most _DENSE_MAX**2 entries, plus at most max(pair_budget, K) box pairs at a time
    (K = kept boxes): never O(N**2).
    """
    n = p.x1.size
    per_class = cls is not None
    if not per_class and limit is not None:
        limit = min(limit, n)
    if n == 0 or limit == 0:
        return np.empty(0, dtype=np.int64)
    cls = np.zeros(n, dtype=np.int64) if cls is None else cls
    if (ge and t <= 0.0) or (not ge and t < 0.0):
        # Every IoU passes the test (IoU >= 0 always): each class's first box suppresses
        # the rest of its class.
        keep = np.flatnonzero(_first_of_class(cls))
    elif (ge and t > 1.0) or (not ge and t >= 1.0):
        # No IoU passes (IoU <= 1 holds bit for bit, see IOU-1): nothing is suppressed.
        keep = np.arange(n if per_class or limit is None else limit, dtype=np.int64)
    else:
        keep = _greedy_blocks(p, t, ge, None if per_class else limit, cls, block, pair_budget)
    if limit is None:
        return keep
    if not per_class:
        return keep[:limit]
    return keep[_rank_in_class(cls[keep]) < limit]


def _first_of_class(cls: np.ndarray) -> np.ndarray:
    first = np.zeros(cls.size, dtype=bool)
    first[np.unique(cls, return_index=True)[1]] = True
    return first


def _rank_in_class(cls: np.ndarray) -> np.ndarray:
    """For each entry, how many earlier entries have the same class."""
    o = np.argsort(cls, kind="stable")
    sc = cls[o]
    heads = np.flatnonzero(np.concatenate([[True], sc[1:] != sc[:-1]]))
    rank = np.arange(cls.size) - np.repeat(heads, np.diff(np.append(heads, cls.size)))
    out = np.empty(cls.size, dtype=np.int64)
    out[o] = rank
    return out


def _greedy_blocks(p: Prepared, t: float, ge: bool, limit: int | None, cls: np.ndarray,
                   block: int, pair_budget: int) -> np.ndarray:
    n = p.x1.size
    grid = _Grid(p, cls)
    kept_index = _Index(grid)
    kept: list[np.ndarray] = []
    n_kept = 0
    for start in range(0, n, block):
        c = np.arange(start, min(start + block, n))
        if kept_index.pos.size:
            hit = np.zeros(c.size, dtype=bool)
            for a, _ in _overlapping(c, p, t, ge, kept_index, pair_budget):
                hit[a - start] = True
            c = c[~hit]
        if c.size > 1:
            c = _resolve_block(c, p, t, ge, grid, pair_budget)
        if c.size == 0:
            continue
        kept.append(c)
        n_kept += c.size
        if limit is not None and n_kept >= limit:
            break
        kept_index.add(c)
    return np.concatenate(kept).astype(np.int64) if kept else np.empty(0, dtype=np.int64)


def _nms_fast(p: Prepared, s: np.ndarray, idx: np.ndarray, t: float, limit: int | None,
              rules: Rules, cls: np.ndarray | None = None, block: int = BLOCK,
              pair_budget: int = PAIR_BUDGET) -> np.ndarray:
    """Kept input indices among candidates ``idx`` (ascending), in selection order.

    With ``cls`` (a class label per input box) this is batched NMS: one pass over all
    classes in global rank order, which is also the output order of NMS-BATCH-3.
    """
    order = idx[_rank_order(s[idx], rules.ties_high_first)]
    sub = Prepared(*(v[order] for v in p))
    dense = None if cls is None else np.unique(cls[order], return_inverse=True)[1].astype(np.int64)
    return order[_greedy(sub, t, rules.iou_ge, limit, dense, block, pair_budget)]


# --- hard NMS: definitional form ------------------------------------------------------------------

def _passes(score: float, threshold: float | None, rules: Rules) -> bool:
    if score != score:  # NaN: only reachable under nan-scores-dropped
        return False
    if threshold is None:
        return True
    return score >= threshold if rules.score_ge else score > threshold


def _rank_key(s: list[float], rules: Rules) -> Callable[[int], tuple[float, int]]:
    return (lambda i: (-s[i], -i)) if rules.ties_high_first else (lambda i: (-s[i], i))


def _nms_loop(rows: list[Row], s: list[float], idx: list[int], t: float, limit: int | None,
              rules: Rules) -> list[int]:
    """NMS-3 as written: select the first remaining candidate, drop all it overlaps."""
    remaining = sorted(idx, key=_rank_key(s, rules))
    keep: list[int] = []
    while remaining and (limit is None or len(keep) < limit):
        m = remaining[0]
        keep.append(m)
        survivors = []
        for c in remaining[1:]:
            u = iou_rows(rows[m], rows[c])
            if not (u >= t if rules.iou_ge else u > t):
                survivors.append(c)
        remaining = survivors
    return keep


# --- hard NMS: public -----------------------------------------------------------------------------

def _nms(boxes: Any, scores: Any, iou_threshold: Any, score_threshold: Any, max_output: Any,
         fmt: str, rules: Rules, definitional: bool, block: int = BLOCK,
         pair_budget: int = PAIR_BUDGET) -> np.ndarray:
    check_fmt(fmt)
    rows, p = _boxes(boxes, fmt, rules, definitional)
    n = len(rows) if definitional else p.x1.size
    s = _scores(scores, n, nan_ok=rules.nan_dropped)
    t = _iou_threshold(iou_threshold, rules)
    thr = _score_threshold(score_threshold)
    limit = _max_output(max_output, "max_output")
    if definitional:
        sl = s.tolist()
        idx = [i for i in range(n) if _passes(sl[i], thr, rules)]
        return np.array(_nms_loop(rows, sl, idx, t, limit, rules), dtype=np.int64)
    return _nms_fast(p, s, _candidates(s, thr, rules), t, limit, rules, block=block,
                     pair_budget=pair_budget)


def nms(boxes: Any, scores: Any, iou_threshold: Any, *, score_threshold: Any = None,
        max_output: Any = None, fmt: str = "xyxy") -> np.ndarray:
    """Greedy non-maximum suppression.

    Clauses: NMS-1 (inputs), NMS-2 (descending score, ties by lower index), NMS-3 (suppress
    IoU strictly > ``iou_threshold``), NMS-4 (output), NMS-5 (``score_threshold``, strict),
    NMS-6 (``max_output``), NMS-7/NMS-8 (threshold in [0, 1]), NMS-9 (zero-area boxes are
    kept), NMS-10 (NaN scores raise), NMS-11 (exact); boxes per BOX-1 ... BOX-6, IoU per IOU-1.

    Formula: visit candidates ``{i : s_i > score_threshold}`` in NMS-2 order; keep the first
    remaining, drop every remaining box with ``IoU(kept, box) > iou_threshold``; repeat.

    Shapes: boxes (N, 4) in ``fmt``, scores (N,) -> int64 (K,) indices into the input, in
    selection order, K <= min(N, max_output).

    Time and memory: blocks of 512 candidates in score order, each tested only against
    the kept boxes whose centres lie close enough to reach IoU > ``iou_threshold`` (a
    bound from the interval IoU on each axis, looked up in a grid of the kept centres),
    then resolved among themselves. Peak extra memory is O(N) plus at most
    max(2**20, K) box pairs at a time (K = number kept), never O(N**2). About 0.15-0.4 s
    of CPU for 50,000 clustered boxes at IoU 0.5.
    The result equals :func:`nms_definitional` exactly.

    Raises SpecError: bad boxes (BOX-1, BOX-2, BOX-5, BOX-6), scores of the wrong shape
    (NMS-1) or with NaN (NMS-10), ``score_threshold`` NaN or non-real (NMS-5),
    ``max_output`` negative or non-int (NMS-6), ``iou_threshold`` outside [0, 1] (NMS-7).
    """
    return _nms(boxes, scores, iou_threshold, score_threshold, max_output, fmt, SPEC, False)


def nms_definitional(boxes: Any, scores: Any, iou_threshold: Any, *, score_threshold: Any = None,
                     max_output: Any = None, fmt: str = "xyxy") -> np.ndarray:
    """:func:`nms` as the plain loop of NMS-3 (O(N**2) time, O(N) memory), Python floats."""
    return _nms(boxes, scores, iou_threshold, score_threshold, max_output, fmt, SPEC, True)


def nms_variant(boxes: Any, scores: Any, iou_threshold: Any, *, variant: Any,
                score_threshold: Any = None, max_output: Any = None, fmt: str = "xyxy",
                definitional: bool = False) -> np.ndarray:
    """:func:`nms` recomputed under named variants (NMS-11), for diagnosing a target.

    ``variant``: one name or a sequence of names among ``suppress-on-equal``,
    ``plus-one-pixel``, ``no-tie-rule``, ``normalise-corners``,
    ``score-threshold-inclusive``, ``unchecked-threshold``, ``nan-scores-dropped``; ``()`` is
    the spec. Unknown
    names (and ``tf-half-sigma``, which is Soft-NMS only) raise SpecError (NMS-11).
    """
    rules = Rules.of(variant, _HARD)
    return _nms(boxes, scores, iou_threshold, score_threshold, max_output, fmt, rules, definitional)


# --- batched (per-class) NMS ----------------------------------------------------------------------

def _batched(boxes: Any, scores: Any, classes: Any, iou_threshold: Any, score_threshold: Any,
             max_output_per_class: Any, fmt: str, rules: Rules, definitional: bool,
             block: int = BLOCK, pair_budget: int = PAIR_BUDGET) -> np.ndarray:
    check_fmt(fmt)
    rows, p = _boxes(boxes, fmt, rules, definitional)
    n = len(rows) if definitional else p.x1.size
    s = _scores(scores, n, nan_ok=rules.nan_dropped)
    cls = _classes(classes, n)
    t = _iou_threshold(iou_threshold, rules)
    thr = _score_threshold(score_threshold)
    limit = _max_output(max_output_per_class, "max_output_per_class")
    if definitional:
        sl, cl = s.tolist(), cls.tolist()
        keep: list[int] = []
        for c in sorted(set(cl)):
            members = [i for i in range(n) if cl[i] == c and _passes(sl[i], thr, rules)]
            keep += _nms_loop(rows, sl, members, t, limit, rules)
        keep.sort(key=_rank_key(sl, rules))
        return np.array(keep, dtype=np.int64)
    return _nms_fast(p, s, _candidates(s, thr, rules), t, limit, rules, cls, block=block,
                     pair_budget=pair_budget)


def batched_nms(boxes: Any, scores: Any, classes: Any, iou_threshold: Any, *,
                score_threshold: Any = None, max_output_per_class: Any = None,
                fmt: str = "xyxy") -> np.ndarray:
    """Per-class NMS: boxes of different classes never suppress each other.

    Clauses: NMS-BATCH-1 (``classes``: 1-D integer, length N), NMS-BATCH-2 (result for
    class c = :func:`nms` on class c alone, ``max_output_per_class`` per class),
    NMS-BATCH-3 (union sorted by descending score, ties by lower index); NMS-1 ... NMS-10
    for everything else.

    Shapes: boxes (N, 4), scores (N,), classes (N,) -> int64 (K,) input indices.
    Time and memory as :func:`nms` per class. Equals :func:`batched_nms_definitional`.
    Raises SpecError as :func:`nms`, and NMS-BATCH-1 for a bad ``classes``.
    """
    return _batched(boxes, scores, classes, iou_threshold, score_threshold, max_output_per_class,
                    fmt, SPEC, False)


def batched_nms_definitional(boxes: Any, scores: Any, classes: Any, iou_threshold: Any, *,
                             score_threshold: Any = None, max_output_per_class: Any = None,
                             fmt: str = "xyxy") -> np.ndarray:
    """:func:`batched_nms` as a loop over classes of the loop of NMS-3, then one sort."""
    return _batched(boxes, scores, classes, iou_threshold, score_threshold, max_output_per_class,
                    fmt, SPEC, True)


def batched_nms_variant(boxes: Any, scores: Any, classes: Any, iou_threshold: Any, *,
                        variant: Any, score_threshold: Any = None,
                        max_output_per_class: Any = None, fmt: str = "xyxy",
                        definitional: bool = False) -> np.ndarray:
    """:func:`batched_nms` under named variants (the names of :func:`nms_variant`)."""
    rules = Rules.of(variant, _HARD)
    return _batched(boxes, scores, classes, iou_threshold, score_threshold, max_output_per_class,
                    fmt, rules, definitional)


# --- Soft-NMS -------------------------------------------------------------------------------------

def _decay(method: str, sigma: float, t: float, rules: Rules) -> Callable[[np.ndarray], np.ndarray]:
    """The decay f(IoU) of NMS-SOFT-2 / NMS-SOFT-3 (or the step of NMS-SOFT-5) on arrays."""
    if method == "gaussian":
        denom = 2.0 * sigma if rules.half_sigma else sigma
        return lambda u: np.exp(-((u * u) / denom))
    if method == "linear":
        return lambda u: np.where(u >= t if rules.iou_ge else u > t, 1.0 - u, 1.0)
    # "step": hard NMS written as a decay (NMS-SOFT-5); reachable only through _soft_nms.
    return lambda u: np.where(u >= t if rules.iou_ge else u > t, 0.0, 1.0)


def _soft_fast(p: Prepared, s: np.ndarray, thr: float, f: Callable, rules: Rules
               ) -> tuple[np.ndarray, np.ndarray]:
    keep = (s >= thr) if rules.score_ge else (s > thr)
    idx = np.flatnonzero(keep)
    cur = s[idx]
    cols = [v[idx] for v in p]
    out_i: list[int] = []
    out_s: list[float] = []
    while idx.size:
        # argmax returns the first maximum: the lowest index, since idx stays ascending.
        m = idx.size - 1 - int(np.argmax(cur[::-1])) if rules.ties_high_first else int(np.argmax(cur))
        out_i.append(int(idx[m]))
        out_s.append(float(cur[m]))
        u = iou_arrays(*(v[m] for v in cols), *cols)
        cur = cur * f(u)
        alive = (cur >= thr) if rules.score_ge else (cur > thr)
        alive[m] = False
        idx, cur = idx[alive], cur[alive]
        cols = [v[alive] for v in cols]
    return np.array(out_i, dtype=np.int64), np.array(out_s, dtype=np.float64)


def _soft_loop(rows: list[Row], s: list[float], thr: float, f: Callable, rules: Rules
               ) -> tuple[np.ndarray, np.ndarray]:
    """NMS-SOFT-1 as written, one candidate at a time."""
    cur = list(s)
    cand = [i for i in range(len(s)) if _passes(cur[i], thr, rules)]
    key = (lambda i: (cur[i], i)) if rules.ties_high_first else (lambda i: (cur[i], -i))
    out_i: list[int] = []
    out_s: list[float] = []
    while cand:
        m = max(cand, key=key)
        out_i.append(m)
        out_s.append(cur[m])
        cand.remove(m)
        for i in cand:
            # f on a one-element array: the same exp as the fast form, bit for bit.
            cur[i] = cur[i] * float(f(np.array([iou_rows(rows[m], rows[i])]))[0])
        cand = [i for i in cand if _passes(cur[i], thr, rules)]
    return np.array(out_i, dtype=np.int64), np.array(out_s, dtype=np.float64)


def _soft_nms(boxes: Any, scores: Any, *, sigma: Any = 0.5, iou_threshold: Any = 0.3,
              score_threshold: Any = 0.001, method: str = "gaussian", fmt: str = "xyxy",
              rules: Rules = SPEC, definitional: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Soft-NMS with every hook: ``method`` may also be ``"step"`` (NMS-SOFT-5's decay)."""
    check_fmt(fmt)
    rows, p = _boxes(boxes, fmt, rules, definitional)
    n = len(rows) if definitional else p.x1.size
    s = _scores(scores, n, "NMS-SOFT-6", "NMS-SOFT-6")
    if not (np.isfinite(s).all() and (s >= 0).all()):
        fail("scores", s, "NMS-SOFT-6", "Soft-NMS scores must be finite and >= 0")
    sg = _real(sigma, "sigma", "NMS-SOFT-6")
    if not 0.0 < sg < np.inf:
        fail("sigma", sigma, "NMS-SOFT-6", "must be a finite real > 0")
    t = _iou_threshold(iou_threshold, rules, "NMS-SOFT-6")
    thr = _real(score_threshold, "score_threshold", "NMS-SOFT-6")
    if method not in ("gaussian", "linear", "step"):
        fail("method", method, "NMS-SOFT-6", "must be 'gaussian' or 'linear'")
    f = _decay(method, sg, t, rules)
    if definitional:
        return _soft_loop(rows, s.tolist(), thr, f, rules)
    return _soft_fast(p, s, thr, f, rules)


def _public_method(method: Any) -> str:
    if not isinstance(method, str) or method not in ("gaussian", "linear"):
        fail("method", method, "NMS-SOFT-6", "must be 'gaussian' or 'linear'")
    return method


def soft_nms(boxes: Any, scores: Any, *, sigma: Any = 0.5, iou_threshold: Any = 0.3,
             score_threshold: Any = 0.001, method: str = "gaussian", fmt: str = "xyxy"
             ) -> tuple[np.ndarray, np.ndarray]:
    """Soft-NMS (Bodla et al. 2017): decay the scores of overlapping boxes instead of dropping them.

    Clauses: NMS-SOFT-1 (select the highest current score, ties by lower index; decay the
    rest), NMS-SOFT-2 (``gaussian``: ``f(u) = exp(-u**2 / sigma)`` for every box),
    NMS-SOFT-3 (``linear``: ``f(u) = 1 - u`` if ``u > iou_threshold`` else 1),
    NMS-SOFT-4 (keep while score > ``score_threshold``; output), NMS-SOFT-5 (hard NMS as the
    step limit), NMS-SOFT-6 (parameters); boxes per BOX-1 ... BOX-6.

    Shapes: boxes (N, 4), scores (N,) -> (indices int64 (K,), scores float64 (K,)), in
    selection order; the scores are those at selection and are non-increasing.
    Time O(N * K), memory O(N). Equals :func:`soft_nms_definitional` exactly.
    Raises SpecError (NMS-SOFT-6) for negative, NaN or infinite scores, a wrong scores
    shape, ``sigma`` <= 0, ``iou_threshold`` outside [0, 1], a NaN ``score_threshold`` or an
    unknown ``method``; BOX-* for bad boxes.
    """
    return _soft_nms(boxes, scores, sigma=sigma, iou_threshold=iou_threshold,
                     score_threshold=score_threshold, method=_public_method(method), fmt=fmt)


def soft_nms_definitional(boxes: Any, scores: Any, *, sigma: Any = 0.5, iou_threshold: Any = 0.3,
                          score_threshold: Any = 0.001, method: str = "gaussian",
                          fmt: str = "xyxy") -> tuple[np.ndarray, np.ndarray]:
    """:func:`soft_nms` as the loop of NMS-SOFT-1 in Python floats (O(N**2))."""
    return _soft_nms(boxes, scores, sigma=sigma, iou_threshold=iou_threshold,
                     score_threshold=score_threshold, method=_public_method(method), fmt=fmt,
                     definitional=True)


def soft_nms_variant(boxes: Any, scores: Any, *, variant: Any, sigma: Any = 0.5,
                     iou_threshold: Any = 0.3, score_threshold: Any = 0.001,
                     method: str = "gaussian", fmt: str = "xyxy", definitional: bool = False
                     ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`soft_nms` under named variants: those of :data:`NMS_VARIANTS` but
    ``nan-scores-dropped`` (Soft-NMS scores are never NaN), with ``tf-half-sigma``."""
    return _soft_nms(boxes, scores, sigma=sigma, iou_threshold=iou_threshold,
                     score_threshold=score_threshold, method=_public_method(method), fmt=fmt,
                     rules=Rules.of(variant, _SOFT), definitional=definitional)


__all__ = ["NMS_VARIANTS", "nms", "nms_definitional", "nms_variant", "batched_nms",
           "batched_nms_definitional", "batched_nms_variant", "soft_nms", "soft_nms_definitional",
           "soft_nms_variant"]
