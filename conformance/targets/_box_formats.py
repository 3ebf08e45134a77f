"""Box formats and thresholds as detection libraries take them: a plain change of notation.

The detection adapters (tensorflow, onnxruntime, opencv, torchvision) receive boxes in
the case's ``fmt`` (BOX-2) and hand them to their library in the format its API takes
(TensorFlow and ONNX ``center_point_box=0``: ``yxyx``; OpenCV: ``xywh``; torchvision:
``xyxy``). :func:`to_format` does that, and refuses (Unsupported) when the library's
format cannot hold the very same rectangles in the run dtype: a conversion that rounds
would change the case, and the difference would be blamed on the library.

Score thresholds: a library compares float32 scores with a float32 threshold. For a
float32 score ``s`` and any real ``t``, ``s > t`` holds exactly when ``s > down32(t)``
(:func:`down32`: the largest float32 <= t), so passing ``down32(t)`` states the spec's
strict comparison (NMS-5) exactly, where rounding ``t`` to nearest could move it onto a
score (:func:`down` does the same for a library comparing in float16 or float64).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import Unsupported
from ._geometry import convert_boxes as box_convert

#: xyxy <-> yxyx and a format to itself are column permutations: exact in any dtype.
_SWAPS = {("xyxy", "yxyx"), ("yxyx", "xyxy")}


def to_format(boxes: Any, fmt: str, out_fmt: str, dtype: Any) -> np.ndarray:
    """``boxes`` (in ``fmt``) as ``out_fmt`` numbers of NumPy ``dtype``, describing the same rectangles.

    A column permutation is always exact. Any other conversion is computed in float64 by the
    formulas of BOX-3 and cast to ``dtype``; if the cast boxes, read back in ``out_fmt``, are not
    exactly the rectangles of the input (both taken to ``xyxy`` in float64), the case is
    Unsupported: the library's format cannot state it in this dtype.
    """
    arr = np.asarray(boxes)
    if fmt == out_fmt:
        return np.ascontiguousarray(arr, dtype=dtype)
    if (fmt, out_fmt) in _SWAPS:
        return np.ascontiguousarray(arr[:, [1, 0, 3, 2]], dtype=dtype)
    b64 = arr.astype(np.float64)
    out = box_convert(b64, fmt, out_fmt).astype(dtype)
    if out.shape[0] and not np.array_equal(box_convert(out.astype(np.float64), out_fmt, "xyxy"),
                                           box_convert(b64, fmt, "xyxy")):
        raise Unsupported(f"boxes given as {fmt!r} have no exact {out_fmt!r} form in {np.dtype(dtype)} "
                          f"(the library takes {out_fmt!r}; converting would round them)")
    return np.ascontiguousarray(out)


def down(t: float, dtype: Any = np.float32) -> float:
    """The largest ``dtype`` number <= ``t``: ``s > t`` <=> ``s > down(t)`` for every ``s`` of ``dtype``
    (and of any narrower float type), and ``down(t)`` is exact in ``dtype`` and every wider type."""
    dt = np.dtype(dtype).type
    f = dt(t)
    if float(f) > t:
        f = np.nextafter(f, dt(-np.inf))
    return float(f)


def down32(t: float) -> float:
    """:func:`down` for float32, the type of most libraries' score thresholds."""
    return down(t, np.float32)


def class_slots(classes: Any) -> tuple[np.ndarray, np.ndarray]:
    """(sorted distinct labels, each box's position among them): arbitrary integer labels as a
    contiguous class axis 0 .. C-1, for APIs that index classes (a change of notation)."""
    labels, slot = np.unique(np.asarray(classes, dtype=np.int64), return_inverse=True)
    return labels, slot.reshape(-1).astype(np.int64)


def rank_sort(indices: Any, scores: Any) -> np.ndarray:
    """``indices`` in the order of NMS-2 (descending score, ties by ascending index): how
    NMS-BATCH-3 compares a library that returns its per-class lists class by class (ONNX)."""
    idx = np.asarray(indices, dtype=np.int64).reshape(-1)
    s = np.asarray(scores, dtype=np.float64)[idx]
    return idx[np.lexsort((idx, -s))]
