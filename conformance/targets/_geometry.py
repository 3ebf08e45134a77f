"""The adapters' own geometry: padding forms, 'same' padding, output lengths and box formats.

Adapters never compute with the reference (a check that borrowed the reference's arithmetic
would agree with it by construction): when an adapter must turn a spec parameter into a
library's (explicit pads for a library that takes only those, a box format a library does
not read), it uses this module, written from the spec's formulas and tested against them
written out once more in tests/test_adapter_geometry.py.
"""

from __future__ import annotations

from typing import Any

import numpy as np

Pads = tuple[tuple[int, int], tuple[int, int]]


def pair(v: Any) -> tuple[int, int]:
    """An int or an (h, w) pair (SIZE-1) as (h, w)."""
    if isinstance(v, (tuple, list)):
        return (int(v[0]), int(v[1]))
    return (int(v), int(v))


def explicit_pads(padding: Any) -> Pads | None:
    """The numeric padding forms of SIZE-2 as ((top, bottom), (left, right)); None for a string."""
    if isinstance(padding, str):
        return None
    if isinstance(padding, (tuple, list)) and all(isinstance(p, (tuple, list)) for p in padding):
        (t, b), (l, r) = padding
        return ((int(t), int(b)), (int(l), int(r)))
    ph, pw = pair(padding)
    return ((ph, ph), (pw, pw))


def same_pads(size: int, kernel: int, stride: int, dilation: int, lower: bool = False) -> tuple[int, int]:
    """SIZE-5 / SIZE-6 on one axis: total = max((ceil(n/s) - 1)·s + d·(k - 1) + 1 - n, 0), the odd
    pad at the end ('same') or at the start ('same_lower')."""
    total = max((-(-size // stride) - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)
    small = total // 2
    return (total - small, small) if lower else (small, total - small)


def resolve_pads(padding: Any, hw: tuple[int, int], kernel: tuple[int, int], stride: tuple[int, int],
                 dilation: tuple[int, int]) -> Pads:
    """Any padding form of SIZE-2 as explicit ((top, bottom), (left, right))."""
    pads = explicit_pads(padding)
    if pads is not None:
        return pads
    if padding == "valid":
        return ((0, 0), (0, 0))
    lower = padding == "same_lower"
    h, w = (same_pads(n, k, s, d, lower) for n, k, s, d in zip(hw, kernel, stride, dilation))
    return (h, w)


def out_len(size: int, kernel: int, stride: int, before: int, after: int, dilation: int, ceil_mode: bool) -> int:
    """SIZE-3 / SIZE-7 on one axis: floor or ceil of (n + pads - d·(k - 1) - 1) / s, plus one; in ceil
    mode a last window that would start in the end padding is dropped."""
    span = size + before + after - dilation * (kernel - 1) - 1
    if not ceil_mode:
        return span // stride + 1
    out = -(-span // stride) + 1
    if (out - 1) * stride >= size + before:
        out -= 1
    return out


def convert_boxes(boxes: Any, fmt: str, out_fmt: str) -> np.ndarray:
    """Boxes (N, 4) from one BOX-2 format to another, in float64 (through xyxy)."""
    a = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    c0, c1, c2, c3 = a[:, 0], a[:, 1], a[:, 2], a[:, 3]
    with np.errstate(over="ignore", invalid="ignore"):
        if fmt == "xyxy":
            x1, y1, x2, y2 = c0, c1, c2, c3
        elif fmt == "xywh":
            x1, y1, x2, y2 = c0, c1, c0 + c2, c1 + c3
        elif fmt == "cxcywh":
            x1, y1, x2, y2 = c0 - c2 / 2, c1 - c3 / 2, c0 + c2 / 2, c1 + c3 / 2
        elif fmt == "yxyx":
            x1, y1, x2, y2 = c1, c0, c3, c2
        else:
            raise ValueError(f"unknown box format {fmt!r}")
        cols = {"xyxy": (x1, y1, x2, y2), "xywh": (x1, y1, x2 - x1, y2 - y1),
                "cxcywh": ((x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1), "yxyx": (y1, x1, y2, x2)}[out_fmt]
    return np.stack(cols, axis=1) if a.shape[0] else np.empty((0, 4))
