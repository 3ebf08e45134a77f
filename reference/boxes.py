"""Box formats, conversion, area and IoU: BOX-1 ... BOX-6, IOU-1 ... IOU-4 (spec/boxes.md).

Every op that takes boxes (here and in :mod:`reference.nms`) validates them with
:func:`as_boxes` and brings them to ``xyxy`` with :func:`prepare` (fast form) or
:func:`prepare_rows` (definitional form), so all ops accept exactly the same boxes
and raise the same errors. The two forms evaluate IOU-1 with the same float64
operations in the same order, which is what makes the fast NMS bit-identical to
the definitional loop (NMS-11).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

import numpy as np

from ._errors import fail
from ._params import as_array

#: The box formats of BOX-2, in the order the spec lists them.
FORMATS = ("xyxy", "xywh", "cxcywh", "yxyx")

#: Named variants of the box clauses (BOX-4, BOX-5) and what each changes.
BOX_VARIANTS = {
    "plus-one-pixel": "BOX-4: widths, heights and intersections get +1 (legacy integer pixels)",
    "normalise-corners": "BOX-5: inverted corners are swapped (TensorFlow) instead of raising",
}


class Prepared(NamedTuple):
    """Validated ``xyxy`` columns and areas of a box array, each a float64 (N,) array."""

    x1: np.ndarray
    y1: np.ndarray
    x2: np.ndarray
    y2: np.ndarray
    area: np.ndarray


Row = tuple[float, float, float, float, float]  # x1, y1, x2, y2, area as Python floats


# --- validation -------------------------------------------------------------------------------

def check_fmt(fmt: Any, name: str = "fmt") -> str:
    """``fmt`` if it names a BOX-2 format; SpecError (BOX-2) otherwise."""
    if not isinstance(fmt, str) or fmt not in FORMATS:
        fail(name, fmt, "BOX-2", f"must be one of {', '.join(map(repr, FORMATS))}")
    return fmt


def parse_variants(variant: Any, allowed: Iterable[str], clause: str) -> frozenset[str]:
    """A variant name or an iterable of names -> a frozenset; unknown names raise ``clause``."""
    names = (variant,) if isinstance(variant, str) else variant
    try:
        names = tuple(names)
    except TypeError:
        fail("variant", variant, clause, "must be a variant name or a sequence of names")
    allowed = tuple(allowed)
    for v in names:
        if not isinstance(v, str) or v not in allowed:
            fail("variant", v, clause, f"unknown here; known: {', '.join(allowed)}")
    return frozenset(names)


def as_boxes(boxes: Any, name: str = "boxes", fmt: str = "xyxy", *,
             normalise: bool = False) -> np.ndarray:
    """Float64 (N, 4) view of ``boxes`` in ``fmt`` after the BOX-1, BOX-5 and BOX-6 checks.

    ``normalise`` (variant ``normalise-corners``) skips the BOX-5 check; the corners are
    then swapped by :func:`prepare`. Raises SpecError naming ``name`` and the clause.
    """
    check_fmt(fmt)
    arr = as_array(boxes, name)
    if arr.ndim != 2 or arr.shape[1] != 4:
        fail(name, arr, "BOX-1", f"must have shape (N, 4), got {arr.shape}")
    finite = np.isfinite(arr).all(axis=1)
    if not finite.all():
        row = int(np.flatnonzero(~finite)[0])
        fail(name, arr, "BOX-6", f"coordinates must be finite; row {row} is {arr[row].tolist()}")
    if not normalise:
        # In xyxy and yxyx columns 2, 3 are the far corner of columns 0, 1; in xywh and
        # cxcywh they are sizes. Either way the rule is a comparison of those columns.
        if fmt in ("xyxy", "yxyx"):
            bad = (arr[:, 2] < arr[:, 0]) | (arr[:, 3] < arr[:, 1])
            what = "corners are inverted (x2 < x1 or y2 < y1)"
        else:
            bad = (arr[:, 2] < 0) | (arr[:, 3] < 0)
            what = "width or height is negative"
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            fail(name, arr, "BOX-5", f"{what} in row {row}: {arr[row].tolist()}")
    return arr


# --- conversion (BOX-3) -----------------------------------------------------------------------

def _to_xyxy(a: np.ndarray, fmt: str) -> np.ndarray:
    # Overflow is reported by _check_converted as BOX-6, not as a NumPy warning.
    with np.errstate(over="ignore", invalid="ignore"):
        return _to_xyxy_raw(a, fmt)


def _to_xyxy_raw(a: np.ndarray, fmt: str) -> np.ndarray:
    c0, c1, c2, c3 = a[:, 0], a[:, 1], a[:, 2], a[:, 3]
    if fmt == "xyxy":
        cols = (c0, c1, c2, c3)
    elif fmt == "xywh":
        cols = (c0, c1, c0 + c2, c1 + c3)
    elif fmt == "cxcywh":
        cols = (c0 - c2 / 2, c1 - c3 / 2, c0 + c2 / 2, c1 + c3 / 2)
    else:  # yxyx
        cols = (c1, c0, c3, c2)
    return np.stack(cols, axis=1) if a.shape[0] else np.empty((0, 4))


def _from_xyxy(a: np.ndarray, fmt: str) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        return _from_xyxy_raw(a, fmt)


def _from_xyxy_raw(a: np.ndarray, fmt: str) -> np.ndarray:
    x1, y1, x2, y2 = a[:, 0], a[:, 1], a[:, 2], a[:, 3]
    if fmt == "xyxy":
        cols = (x1, y1, x2, y2)
    elif fmt == "xywh":
        cols = (x1, y1, x2 - x1, y2 - y1)
    elif fmt == "cxcywh":
        cols = ((x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1)
    else:  # yxyx
        cols = (y1, x1, y2, x2)
    return np.stack(cols, axis=1) if a.shape[0] else np.empty((0, 4))


def _row_to_xyxy(r: list[float], fmt: str) -> tuple[float, float, float, float]:
    c0, c1, c2, c3 = r
    if fmt == "xyxy":
        return (c0, c1, c2, c3)
    if fmt == "xywh":
        return (c0, c1, c0 + c2, c1 + c3)
    if fmt == "cxcywh":
        return (c0 - c2 / 2, c1 - c3 / 2, c0 + c2 / 2, c1 + c3 / 2)
    return (c1, c0, c3, c2)


def _row_from_xyxy(r: tuple[float, float, float, float], fmt: str) -> tuple[float, ...]:
    x1, y1, x2, y2 = r
    if fmt == "xyxy":
        return (x1, y1, x2, y2)
    if fmt == "xywh":
        return (x1, y1, x2 - x1, y2 - y1)
    if fmt == "cxcywh":
        return ((x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1)
    return (y1, x1, y2, x2)


def _check_converted(xyxy: np.ndarray, name: str) -> None:
    """BOX-6 on what the conversion made: coordinates and areas must stay finite."""
    with np.errstate(over="ignore", invalid="ignore"):
        area = (xyxy[:, 2] - xyxy[:, 0]) * (xyxy[:, 3] - xyxy[:, 1])
    ok = np.isfinite(xyxy).all(axis=1) & np.isfinite(area)
    if not ok.all():
        row = int(np.flatnonzero(~ok)[0])
        fail(name, xyxy, "BOX-6", f"row {row} overflows float64 in its xyxy form or area")


def box_convert(boxes: Any, in_fmt: str, out_fmt: str) -> np.ndarray:
    """Convert boxes between the formats of BOX-2.

    Clauses: BOX-1, BOX-2, BOX-3 (formulas, via ``xyxy``), BOX-5, BOX-6.

    Formula: ``out = from_xyxy(to_xyxy(boxes, in_fmt), out_fmt)`` with e.g.
    ``xywh -> xyxy: (x1, y1, x1 + w, y1 + h)`` and ``xyxy -> cxcywh:
    ((x1 + x2)/2, (y1 + y2)/2, x2 - x1, y2 - y1)``; ``in_fmt == out_fmt`` copies.

    Shapes: (N, 4) -> (N, 4) float64, N >= 0. Round trips are exact up to rounding
    (exact for dyadic coordinates of moderate size).
    Raises SpecError for a bad shape (BOX-1), format (BOX-2), inverted box (BOX-5, checked
    in ``in_fmt``) or non-finite coordinate or result (BOX-6).
    """
    check_fmt(in_fmt, "in_fmt")
    check_fmt(out_fmt, "out_fmt")
    arr = as_boxes(boxes, "boxes", in_fmt)
    xyxy = _to_xyxy(arr, in_fmt)
    _check_converted(xyxy, "boxes")
    out = _from_xyxy(xyxy, out_fmt)
    if not np.isfinite(out).all():
        fail("boxes", arr, "BOX-6", f"converting to {out_fmt} overflows float64")
    return out


def box_convert_definitional(boxes: Any, in_fmt: str, out_fmt: str) -> np.ndarray:
    """:func:`box_convert` written as a loop over rows in Python floats (BOX-3)."""
    check_fmt(in_fmt, "in_fmt")
    check_fmt(out_fmt, "out_fmt")
    arr = as_boxes(boxes, "boxes", in_fmt)
    _check_converted(_to_xyxy(arr, in_fmt), "boxes")
    rows = [_row_from_xyxy(_row_to_xyxy(r, in_fmt), out_fmt) for r in arr.tolist()]
    out = np.array(rows, dtype=np.float64).reshape(len(rows), 4)
    if not np.isfinite(out).all():
        fail("boxes", arr, "BOX-6", f"converting to {out_fmt} overflows float64")
    return out


# --- prepared xyxy columns, shared with reference.nms ------------------------------------------

def prepare(boxes: Any, name: str = "boxes", fmt: str = "xyxy", *, normalise: bool = False,
            plus_one: bool = False) -> Prepared:
    """Validated ``xyxy`` columns and areas (BOX-1 ... BOX-6), vectorised.

    ``normalise`` is the ``normalise-corners`` variant (BOX-5): corners are replaced by
    their min/max after conversion. ``plus_one`` is ``plus-one-pixel`` (BOX-4): x2 and y2
    move one unit, which turns the ordinary formulas into the +1 ones.
    """
    arr = as_boxes(boxes, name, fmt, normalise=normalise)
    xyxy = _to_xyxy(arr, fmt)
    if normalise:
        lo = np.minimum(xyxy[:, :2], xyxy[:, 2:])
        hi = np.maximum(xyxy[:, :2], xyxy[:, 2:])
        xyxy = np.concatenate([lo, hi], axis=1)
    if plus_one:
        xyxy = xyxy + np.array([0.0, 0.0, 1.0, 1.0])
    _check_converted(xyxy, name)
    x1, y1, x2, y2 = (np.ascontiguousarray(xyxy[:, k]) for k in range(4))
    return Prepared(x1, y1, x2, y2, (x2 - x1) * (y2 - y1))


def prepare_rows(boxes: Any, name: str = "boxes", fmt: str = "xyxy", *, normalise: bool = False,
                 plus_one: bool = False) -> list[Row]:
    """:func:`prepare` as a list of Python-float rows ``(x1, y1, x2, y2, area)``."""
    arr = as_boxes(boxes, name, fmt, normalise=normalise)
    rows = []
    for r in arr.tolist():
        x1, y1, x2, y2 = _row_to_xyxy(r, fmt)
        if normalise:
            x1, x2 = min(x1, x2), max(x1, x2)
            y1, y2 = min(y1, y2), max(y1, y2)
        if plus_one:
            x2, y2 = x2 + 1.0, y2 + 1.0
        rows.append((x1, y1, x2, y2, (x2 - x1) * (y2 - y1)))
    # BOX-6 on the converted values: the same check, and message, as the fast form.
    xyxy = np.array([r[:4] for r in rows], dtype=np.float64).reshape(len(rows), 4)
    _check_converted(xyxy, name)
    return rows


# --- IoU (IOU-1 ... IOU-3) ---------------------------------------------------------------------

def iou_arrays(ax1: Any, ay1: Any, ax2: Any, ay2: Any, aa: Any,
               bx1: Any, by1: Any, bx2: Any, by2: Any, ba: Any) -> np.ndarray:
    """IOU-1 on broadcasting arrays of prepared columns, in the clause's operation order."""
    iw = np.minimum(ax2, bx2) - np.maximum(ax1, bx1)
    np.maximum(iw, 0.0, out=iw)
    ih = np.minimum(ay2, by2) - np.maximum(ay1, by1)
    np.maximum(ih, 0.0, out=ih)
    inter = iw * ih
    union = aa + ba - inter
    out = np.zeros_like(inter)
    # IOU-3: a zero union (two zero-area boxes) gives 0, not 0/0.
    np.divide(inter, union, out=out, where=union > 0)
    return out


def iou_rows(a: Row, b: Row) -> float:
    """IOU-1 for two prepared rows in Python floats: the definitional form of :func:`iou_arrays`."""
    iw = min(a[2], b[2]) - max(a[0], b[0])
    if not iw > 0.0:
        iw = 0.0
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if not ih > 0.0:
        ih = 0.0
    inter = iw * ih
    union = a[4] + b[4] - inter
    return inter / union if union > 0.0 else 0.0


def _box_variant_flags(variant: Any) -> tuple[bool, bool]:
    names = parse_variants(variant, BOX_VARIANTS, "BOX-4")
    return "normalise-corners" in names, "plus-one-pixel" in names


def box_area(boxes: Any, *, fmt: str = "xyxy") -> np.ndarray:
    """Areas of boxes (BOX-4), after conversion to ``xyxy`` (BOX-3).

    Formula: ``(x2 - x1) * (y2 - y1)``. Shapes: (N, 4) -> (N,) float64.
    Edge cases: zero-width or zero-height boxes have area 0.
    Raises SpecError per BOX-1, BOX-2, BOX-5, BOX-6.
    """
    return prepare(boxes, "boxes", fmt).area


def box_area_definitional(boxes: Any, *, fmt: str = "xyxy") -> np.ndarray:
    """:func:`box_area` as a loop over rows (BOX-4)."""
    rows = prepare_rows(boxes, "boxes", fmt)
    return np.array([r[4] for r in rows], dtype=np.float64)


def box_iou(boxes1: Any, boxes2: Any, *, fmt: str = "xyxy") -> np.ndarray:
    """Pairwise intersection over union (IOU-1 ... IOU-4).

    Formula (on ``xyxy``): ``iw = max(0, min(x2a, x2b) - max(x1a, x1b))``, likewise ``ih``,
    ``inter = iw * ih``, ``union = area_a + area_b - inter``, ``IoU = inter / union``, and
    0 when ``union == 0`` (IOU-3). Disjoint and touching boxes give 0 (IOU-2).

    Shapes: (N, 4), (M, 4) -> (N, M) float64; N or M may be 0. Memory O(N * M).
    The result is symmetric bit for bit and lies in [0, 1].
    Raises SpecError per BOX-1, BOX-2, BOX-5, BOX-6 naming ``boxes1`` or ``boxes2``.
    """
    return _box_iou(boxes1, boxes2, fmt, normalise=False, plus_one=False)


def _box_iou(boxes1: Any, boxes2: Any, fmt: str, *, normalise: bool, plus_one: bool) -> np.ndarray:
    a = prepare(boxes1, "boxes1", fmt, normalise=normalise, plus_one=plus_one)
    b = prepare(boxes2, "boxes2", fmt, normalise=normalise, plus_one=plus_one)
    col = [v[:, None] for v in a]
    row = [v[None, :] for v in b]
    return iou_arrays(*col, *row)


def box_iou_definitional(boxes1: Any, boxes2: Any, *, fmt: str = "xyxy") -> np.ndarray:
    """:func:`box_iou` as a double loop over box pairs in Python floats (IOU-1)."""
    return _box_iou_definitional(boxes1, boxes2, fmt, normalise=False, plus_one=False)


def _box_iou_definitional(boxes1: Any, boxes2: Any, fmt: str, *, normalise: bool,
                          plus_one: bool) -> np.ndarray:
    ra = prepare_rows(boxes1, "boxes1", fmt, normalise=normalise, plus_one=plus_one)
    rb = prepare_rows(boxes2, "boxes2", fmt, normalise=normalise, plus_one=plus_one)
    out = np.zeros((len(ra), len(rb)))
    for i, a in enumerate(ra):
        for j, b in enumerate(rb):
            out[i, j] = iou_rows(a, b)
    return out


def box_iou_variant(boxes1: Any, boxes2: Any, *, variant: Any, fmt: str = "xyxy",
                    definitional: bool = False) -> np.ndarray:
    """:func:`box_iou` recomputed under named variants, for diagnosing a target.

    ``variant`` is a name of :data:`BOX_VARIANTS` (``"plus-one-pixel"``,
    ``"normalise-corners"``) or a sequence of them; ``()`` is the spec's behaviour.
    ``definitional`` selects the loop form. Unknown names raise SpecError (BOX-4).
    """
    normalise, plus_one = _box_variant_flags(variant)
    fn = _box_iou_definitional if definitional else _box_iou
    return fn(boxes1, boxes2, check_fmt(fmt), normalise=normalise, plus_one=plus_one)


__all__ = ["FORMATS", "BOX_VARIANTS", "box_convert", "box_convert_definitional", "box_area",
           "box_area_definitional", "box_iou", "box_iou_definitional", "box_iou_variant"]
