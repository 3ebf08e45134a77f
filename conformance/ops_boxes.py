"""box_convert and box_area in the runner's registry (issue 13; spec/boxes.md BOX-1 ... BOX-4).

Exports plain values, composed by conformance/ops.py, variants.py and corpus.py: :data:`SPECS`,
:data:`VARIANTS`, :data:`INVALID_VARIANTS` and :data:`CORPUS`.

Targets' methods take the reference's names and keywords:
``box_convert(boxes, in_fmt, out_fmt)`` -> (N, 4) and ``box_area(boxes, *, fmt="xyxy")`` -> (N,),
in the run dtype or float64.

Error model (TOL-2; neither op is exact-capable: a conversion through ``xyxy`` rounds, and the
quarter-grid boxes of the strategy are exact only in the wider dtypes). Let M be the largest
magnitude in a box's row (as given, after the inputs are rounded to the run dtype).

* box_convert goes through ``xyxy`` (BOX-3): the first step rounds each coordinate it computes
  (``x1 + w``, ``cx ± w/2``, all of magnitude <= 2M) once, by at most 2uM (1.5uM for ``cx ± w/2``);
  the second step combines two of them (a difference carries at most 2uM from ``x1 + w``, 3uM
  from ``cx ± w/2``; an average half that) and rounds once more, which is the bound's u·|ref|
  term. So |err| <= 4uM + u·|ref|: ``scale = M`` per element, ``terms = 2`` (C·terms·u·scale = 4uM).
* box_area multiplies the two sides of the ``xyxy`` box: each side carries <= 4·u·M (the
  conversion above and the subtraction) and the product's rounding is u·|area|, so
  |err| <= 4uM·(|w| + |h|) + 3u·|area| + u·|ref|: ``scale = M·(|w| + |h|) + |area|``, ``terms = 2``.
  A zero-width or zero-height box must give exactly 0 (its bound is 0 when M·h = 0 too; with
  x1 = x2 every dtype computes x2 - x1 = 0 exactly).

Variants: box_area ``plus-one-pixel`` (BOX-4, +1 on width and height). ``normalise-corners``
(BOX-5) equals the spec on every valid box and names what a target that accepts inverted corners
computes (:data:`INVALID_VARIANTS`). BOX-3 names none.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import reference.boxes as RB

from .strategies.box_ops import CASES
from .types import Case, Expected, OpSpec, Variant

#: TOL-2's n for both ops (see the module docstring).
TERMS = 2


def _rows(b: np.ndarray) -> np.ndarray:
    return np.max(np.abs(b), axis=1) if b.shape[0] else np.zeros(0)


def _convert(case: Case, normalise: bool = False) -> Expected:
    b = case.arrays["boxes"]
    p = case.params
    if normalise:
        q = RB.prepare(b, "boxes", p["in_fmt"], normalise=True)
        out = RB.box_convert(np.stack([q.x1, q.y1, q.x2, q.y2], axis=1).reshape(-1, 4), "xyxy", p["out_fmt"])
    else:
        out = RB.box_convert(b, p["in_fmt"], p["out_fmt"])
    m = np.maximum(_rows(b), _rows(out))
    return [("boxes", out, np.repeat(m[:, None], 4, axis=1), TERMS)]


def _area(case: Case, plus_one: bool = False, normalise: bool = False) -> Expected:
    b = case.arrays["boxes"]
    fmt = case.params.get("fmt", "xyxy")
    q = RB.prepare(b, "boxes", fmt, plus_one=plus_one, normalise=normalise)
    xyxy = np.stack([q.x1, q.y1, q.x2, q.y2], axis=1).reshape(-1, 4)
    m = np.maximum(_rows(b), _rows(xyxy))
    scale = m * (np.abs(q.x2 - q.x1) + np.abs(q.y2 - q.y1)) + np.abs(q.area)
    return [("area", q.area, scale, TERMS)]


SPECS: list[OpSpec] = [
    OpSpec("box_convert", ("boxes",), ("BOX-1", "BOX-2", "BOX-3"), CASES["box_convert"], _convert,
           size_clause="BOX-1", exact_capable=False),
    OpSpec("box_area", ("area",), ("BOX-1", "BOX-2", "BOX-3", "BOX-4"), CASES["box_area"], _area,
           size_clause="BOX-1", exact_capable=False),
]

VARIANTS: list[Variant] = [
    Variant("plus-one-pixel", "BOX-4", "box_area", lambda c: _area(c, plus_one=True),
            "widths and heights get +1 (integer-pixel convention: R-CNN, Detectron, old OpenCV)"),
]

INVALID_VARIANTS: list[Variant] = [
    Variant("normalise-corners", "BOX-5", "box_area", lambda c: _area(c, normalise=True),
            "inverted corners are swapped (their min and max taken) instead of rejected"),
    Variant("normalise-corners", "BOX-5", "box_convert", lambda c: _convert(c, normalise=True),
            "inverted corners are swapped (their min and max taken) instead of rejected"),
]


# --- corpus ------------------------------------------------------------------------------------

def _b(rows: Any) -> np.ndarray:
    return np.array(rows, dtype=np.float64).reshape(-1, 4)


def _in(fmt: str, rows: Any) -> np.ndarray:
    return RB.box_convert(_b(rows), "xyxy", fmt)


#: A point, a vertical and a horizontal segment, an ordinary box, one left of the origin (xyxy).
_DEGENERATE = [[1, 1, 1, 1], [2, 0, 2, 3], [0, 5, 4, 5], [0, 0, 3, 2], [-3.5, -2, -1, 0.25]]
_FAR = (np.array(_DEGENERATE[3:]) + 4096.25).tolist()
_THIRDS = [[0.1, 0.2, 1.0 / 3.0, 0.7], [-2.2, 1e3 / 7.0, 5.5, 150.0]]  # inexact sums


def _cv(note: str, boxes: np.ndarray, in_fmt: str, out_fmt: str) -> Case:
    return Case("box_convert", {"boxes": boxes}, {"in_fmt": in_fmt, "out_fmt": out_fmt}, False, note)


def _ar(note: str, boxes: np.ndarray, fmt: str = "xyxy") -> Case:
    return Case("box_area", {"boxes": boxes}, {} if fmt == "xyxy" else {"fmt": fmt}, False, note)


def _corpus() -> dict[str, list[Case]]:
    convert = [_cv(f"zero-width and zero-height boxes, xyxy to {f}", _b(_DEGENERATE), "xyxy", f)
               for f in ("xywh", "cxcywh", "yxyx")]
    convert += [
        _cv("cxcywh to xywh goes through xyxy (BOX-3)", _in("cxcywh", _DEGENERATE), "cxcywh", "xywh"),
        _cv("xywh to cxcywh", _in("xywh", _DEGENERATE), "xywh", "cxcywh"),
        _cv("yxyx to xyxy is a column swap", _in("yxyx", _DEGENERATE), "yxyx", "xyxy"),
        _cv("the identity conversion is a copy", _in("cxcywh", _DEGENERATE), "cxcywh", "cxcywh"),
        _cv("inexact sums round (real data)", _b(_THIRDS), "xyxy", "cxcywh"),
        _cv("inexact sums, cxcywh to xywh", _in("cxcywh", _THIRDS), "cxcywh", "xywh"),
        _cv("far from the origin (cancellation in the sizes)", _b(_FAR), "xyxy", "xywh"),
        _cv("no boxes", np.zeros((0, 4)), "xywh", "cxcywh"),
    ]
    area = [
        _ar("zero-area boxes (a point, segments) have area 0, no +1 pixel (BOX-4)", _b(_DEGENERATE)),
        _ar("integer boxes: the +1 pixel convention differs everywhere (BOX-4)", _b([[0, 0, 4, 3], [2, 2, 5, 9]])),
        *[_ar(f"areas of {f} boxes are computed after conversion (BOX-4)", _in(f, _DEGENERATE), f)
          for f in ("xywh", "cxcywh", "yxyx")],
        _ar("inexact coordinates (real data)", _b(_THIRDS)),
        _ar("far from the origin: x2 - x1 rounds", _b(_FAR), "xyxy"),
        _ar("no boxes", np.zeros((0, 4))),
    ]
    return {"box_convert": convert, "box_area": area}


CORPUS: dict[str, list[Case]] = _corpus()
