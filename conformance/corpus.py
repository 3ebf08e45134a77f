"""The curated corpus: the spec's edge cases, run before any generated case (composed, for every
family, at the end of this module).

Each entry is a :class:`Case` with a note naming the edge it probes. Every entry has
N > 1 or C > 1 somewhere and most vary H ≠ W and stride_h ≠ stride_w, because a fault
that shows only there must still be found.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import reference

from . import ops_augmentation, ops_boxes, ops_detection, ops_segmentation, ops_sizes
from .strategies.conv import EXACT_MAX, Case


def _data(seed: int, shape: tuple[int, ...], exact: bool = True) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if exact:
        return rng.integers(-EXACT_MAX, EXACT_MAX + 1, shape).astype(np.float64)
    return rng.standard_normal(shape)


def _special(a: np.ndarray) -> np.ndarray:
    a = a.copy()
    flat = a.reshape(-1)
    flat[1], flat[len(flat) // 2], flat[-2] = np.nan, np.inf, -np.inf
    return a


def _conv(note: str, x: tuple[int, ...], w: tuple[int, ...], bias: bool = True, exact: bool = True,
          special: bool = False, **params: Any) -> Case:
    seed = len(note)
    arrays = {"x": _data(seed, x, exact), "w": _data(seed + 1, w, exact)}
    if special:
        arrays["x"] = _special(arrays["x"])
    if bias:
        arrays["b"] = _data(seed + 2, (w[0],), exact)
    return Case("conv2d", arrays, params, exact and not special, note)


def _convt(note: str, x: tuple[int, ...], w: tuple[int, ...], **params: Any) -> Case:
    seed = len(note)
    return Case("conv_transpose2d", {"x": _data(seed, x), "w": _data(seed + 1, w),
                                     "b": _data(seed + 2, (w[1] * params.get("groups", 1),))},
                params, True, note)


def _pool(op: str, note: str, x: np.ndarray | tuple[int, ...], exact: bool = True, **params: Any) -> Case:
    arr = _data(len(note), x) if isinstance(x, tuple) else x
    if op == "max_pool2d":
        params.setdefault("return_indices", True)
    return Case(op, {"x": arr}, params, exact and bool(np.isfinite(arr).all()), note)


def _backward(fwd: Case, op: str) -> Case:
    params = {k: v for k, v in fwd.params.items() if k != "return_indices"}
    fn = getattr(reference, op.replace("_backward", ""))
    y = fn(*fwd.arrays.values(), **params)
    dy = _data(len(fwd.note) + 7, y.shape)
    if op == "conv2d_backward":
        return Case(op, {"dy": dy, "x": fwd.arrays["x"], "w": fwd.arrays["w"]}, params, fwd.exact, fwd.note)
    return Case(op, {"dy": dy, "x": fwd.arrays["x"]}, params, fwd.exact, fwd.note)


_NEG = -np.arange(1, 2 * 3 * 5 * 4 + 1, dtype=np.float64).reshape(2, 3, 5, 4)  # all negative
_TIES = np.ones((2, 2, 4, 5))
_TIES[1, 1] = np.array([[3, 3, 1, 3, 0], [3, 3, 0, 0, 3], [1, 1, 1, 1, 1], [2, 0, 2, 0, 2]])
_NAN = _data(11, (2, 3, 5, 6))
_NAN[0, 1, 2, 3], _NAN[1, 0, 0, 0], _NAN[1, 2, 4, 5] = np.nan, np.inf, -np.inf

_NAN2 = _data(12, (2, 2, 4, 6))
_NAN2[0, 0, 0, 0] = _NAN2[0, 0, 1, 0] = np.nan  # two NaNs in one window: the first is the index
_NAN2[1, 1, 2, 3] = _NAN2[1, 1, 3, 2] = np.nan

CONV2D = [
    _conv("every dimension > 1, groups, asymmetric everything", (2, 4, 7, 5), (6, 2, 3, 2),
          stride=(2, 1), padding=((1, 0), (2, 1)), dilation=(1, 2), groups=2),
    _conv("1x1 kernel, stride larger than the kernel", (2, 3, 5, 6), (4, 3, 1, 1), stride=(2, 3)),
    _conv("kernel exactly as large as the padded input", (2, 2, 3, 4), (3, 2, 5, 6), padding=1),
    _conv("padding larger than half the kernel", (2, 3, 4, 5), (2, 3, 3, 2), padding=(3, 2)),
    _conv("depthwise with channel multiplier 2", (2, 3, 6, 5), (6, 1, 3, 3), groups=3, padding=1,
          stride=(1, 2)),
    _conv("'same' with stride 2 puts the odd pad at the end", (2, 3, 7, 6), (2, 3, 4, 3),
          stride=(2, 1), padding="same"),
    _conv("'same_lower' puts the odd pad at the start", (2, 3, 7, 6), (2, 3, 4, 3),
          stride=(2, 1), padding="same_lower"),
    _conv("asymmetric kernel reveals a flipped kernel", (2, 2, 5, 4), (3, 2, 2, 3), padding=(1, 0)),
    _conv("NaN and infinities propagate", (2, 3, 5, 4), (2, 3, 2, 2), special=True, exact=False),
    _conv("empty batch", (0, 3, 5, 4), (2, 3, 3, 3), padding=1),
    _conv("real data, dilation 2 on both axes", (2, 3, 9, 8), (4, 3, 3, 3), exact=False,
          dilation=2, padding=((2, 1), (0, 3))),
]

CONV_TRANSPOSE2D = [
    _convt("stride 2, output_padding 1, groups 2", (2, 4, 3, 4), (4, 3, 3, 2), stride=(2, 3),
           padding=(1, 0), output_padding=(1, 2), groups=2),
    _convt("output_padding >= stride when dilation > stride", (2, 2, 3, 4), (2, 3, 2, 3), stride=1,
           dilation=2, output_padding=(1, 0)),
    _convt("1x1 kernel with stride 3", (2, 3, 2, 3), (3, 2, 1, 1), stride=(3, 2)),
    _convt("asymmetric padding", (2, 3, 4, 3), (3, 2, 3, 3), stride=2, padding=((2, 1), (0, 1))),
    _convt("asymmetric kernel reveals an unflipped kernel", (2, 2, 3, 3), (2, 2, 2, 3), stride=(1, 2)),
]

MAX_POOL2D = [
    _pool("max_pool2d", "ceil_mode: the last window would start in the end padding", (2, 3, 5, 6),
          kernel_size=2, stride=2, padding=1, ceil_mode=True),
    _pool("max_pool2d", "ceil_mode boundary on one axis only", (2, 2, 6, 5), kernel_size=(3, 2),
          stride=(2, 2), ceil_mode=True),
    _pool("max_pool2d", "all-negative input with padding: padding never wins", _NEG, kernel_size=3,
          stride=(2, 1), padding=1),
    _pool("max_pool2d", "ties resolve to the first maximum", _TIES, kernel_size=(2, 3), stride=(1, 2)),
    _pool("max_pool2d", "NaN and infinities", _NAN, exact=False, kernel_size=2, stride=(2, 1), padding=1),
    _pool("max_pool2d", "two NaNs in a window: the first one's index", _NAN2, exact=False, kernel_size=2,
          stride=2),
    _pool("max_pool2d", "padding larger than half the kernel", (2, 3, 5, 4), kernel_size=2, padding=(2, 1)),
    _pool("max_pool2d", "dilation 2, stride 1", (2, 2, 7, 6), kernel_size=(2, 3), stride=1, dilation=2),
    _pool("max_pool2d", "stride larger than the kernel", (2, 3, 7, 9), kernel_size=2, stride=(3, 4)),
    _pool("max_pool2d", "kernel exactly as large as the padded input", (2, 3, 3, 2), kernel_size=(5, 4),
          padding=1),
    _pool("max_pool2d", "'same' padding", (2, 3, 7, 6), kernel_size=3, stride=2, padding="same"),
    _pool("max_pool2d", "'same' with dilation 2: the pad covers the dilated kernel", (2, 2, 5, 6),
          kernel_size=2, stride=1, dilation=2, padding="same"),
    _pool("max_pool2d", "'same' with stride larger than the kernel: no negative pad", (2, 3, 3, 4),
          kernel_size=1, stride=3, padding="same"),
    _pool("max_pool2d", "empty batch", (0, 3, 5, 4), kernel_size=2),
]

AVG_POOL2D = [
    _pool("avg_pool2d", f"ceil_mode divisor, count_include_pad={cip}", (2, 3, 5, 6), kernel_size=3,
          stride=2, padding=1, ceil_mode=True, count_include_pad=cip) for cip in (True, False)
] + [
    _pool("avg_pool2d", "ceil_mode: the last window would start in the end padding", (2, 3, 5, 6),
          kernel_size=2, stride=2, padding=1, ceil_mode=True),
    _pool("avg_pool2d", "padding larger than half the kernel", (2, 2, 4, 5), kernel_size=2, padding=(2, 1),
          count_include_pad=False),
    _pool("avg_pool2d", "divisor_override", (2, 3, 5, 4), kernel_size=(2, 3), stride=(1, 2), padding=1,
          divisor_override=5),
    _pool("avg_pool2d", "count_include_pad with asymmetric stride", (2, 3, 6, 7), kernel_size=(3, 2),
          stride=(2, 3), padding=(1, 1), count_include_pad=True),
    _pool("avg_pool2d", "NaN and infinities", _NAN, exact=False, kernel_size=2, stride=(2, 1)),
    _pool("avg_pool2d", "'same' padding excluded from the count", (2, 3, 7, 6), kernel_size=3, stride=2,
          padding="same", count_include_pad=False),
    _pool("avg_pool2d", "'same' with stride larger than the kernel: no negative pad", (2, 3, 3, 4),
          kernel_size=1, stride=3, padding="same"),
    _pool("avg_pool2d", "empty batch", (0, 3, 5, 4), kernel_size=2),
]

CONV_CORPUS: dict[str, list[Case]] = {
    "conv2d": CONV2D,
    "conv2d_backward": [_backward(c, "conv2d_backward") for c in CONV2D if c.exact],
    "conv_transpose2d": CONV_TRANSPOSE2D,
    "max_pool2d": MAX_POOL2D,
    "avg_pool2d": AVG_POOL2D,
    # NaN stays in: the gradient goes to the first NaN of a window (POOL-MAX-4 with POOL-MAX-3).
    "max_pool2d_backward": [_backward(c, "max_pool2d_backward") for c in MAX_POOL2D],
    "avg_pool2d_backward": [_backward(c, "avg_pool2d_backward") for c in AVG_POOL2D
                            if np.isfinite(c.arrays["x"]).all()],
    "im2col": [Case("im2col", {"x": _data(3, (2, 3, 5, 6))},
                    {"kernel_size": (2, 3), "stride": (2, 1), "padding": ((1, 0), (0, 2)), "dilation": (1, 2)},
                    True, "asymmetric everything")],
}

#: Every op's curated cases: the convolution family's above and the other families', composed here.
CORPUS: dict[str, list[Case]] = {**CONV_CORPUS, **ops_augmentation.CORPUS, **ops_detection.CORPUS,
                                 **ops_sizes.CORPUS, **ops_boxes.CORPUS, **ops_segmentation.CORPUS}
