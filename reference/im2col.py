"""im2col and its adjoint col2im: IM2COL-1 ... IM2COL-3."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _window as win
from ._errors import fail
from ._params import as_array, as_int, ieee


@ieee
def im2col(x: Any, kernel_size: Any, *, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1) -> np.ndarray:
    """Unfold every window of an NCHW batch into one row (IM2COL-1).

    Formula: ``col[(n*OH + i)*OW + j, (c*KH + p)*KW + q] = x_pad[n, c, i*Sh + p*Dh, j*Sw + q*Dw]``
    with zero padding. Shapes: x (N, C, H, W) -> float64 (N*OH*OW, C*KH*KW).
    Memory: the result itself (this op's purpose is to materialise it) plus the padded input.
    Raises :class:`SpecError` like conv2d for bad shapes or parameters.
    """
    xa = win.input4d(x, clause="IM2COL-1")
    g = win.geometry(xa.shape, kernel_size, stride, padding, dilation)
    cols = win.windows(win.pad(xa, g, 0.0), g)  # (N, C, KH, KW, OH, OW)
    n, c = xa.shape[:2]
    return cols.transpose(0, 4, 5, 1, 2, 3).reshape(n * g.out_hw[0] * g.out_hw[1], c * g.taps)


def _x_shape(x_shape: Any) -> tuple[int, ...]:
    """col2im's x_shape as a 4-tuple of ints (IM2COL-2), C, H and W at least 1 (SPEC-7)."""
    if not isinstance(x_shape, (tuple, list)) or len(x_shape) != 4:
        fail("x_shape", x_shape, "IM2COL-2", "must be a 4-tuple (N, C, H, W)")
    shape = tuple(as_int(v, "x_shape", "IM2COL-2", 0) for v in x_shape)
    if min(shape[1:]) < 1:
        fail("x_shape", x_shape, "SPEC-7", "C, H and W must be >= 1")
    return shape


@ieee
def col2im(col: Any, x_shape: Any, kernel_size: Any, *, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1) -> np.ndarray:
    """Fold rows back into an image, summing overlaps: the adjoint of im2col (IM2COL-2).

    Shapes: col (N*OH*OW, C*KH*KW), x_shape (N, C, H, W) -> float64 x_shape; entries that
    fall in the padding are dropped. Raises :class:`SpecError` for a malformed x_shape or a
    col whose shape does not match it.
    """
    shape = _x_shape(x_shape)
    g = win.geometry(shape, kernel_size, stride, padding, dilation)
    n, c = shape[:2]
    oh, ow = g.out_hw
    ca = as_array(col, "col", 2, "IM2COL-2")
    if ca.shape != (n * oh * ow, c * g.taps):
        fail("col.shape", ca.shape, "IM2COL-2", f"must be {(n * oh * ow, c * g.taps)} for x_shape {shape}")
    cols = ca.reshape(n, oh, ow, c, g.kernel[0], g.kernel[1]).transpose(0, 3, 4, 5, 1, 2)
    out = np.zeros((n, c) + g.padded_hw())
    win.scatter_windows(cols, g, out)
    return np.ascontiguousarray(win.crop(out, g))


@ieee
def col2im_definitional(col: Any, x_shape: Any, kernel_size: Any, *, stride: Any = 1, padding: Any = 0,
                        dilation: Any = 1) -> np.ndarray:
    """IM2COL-2 as written, one entry of col at a time: each is added to the input position
    ``(i·Sh + p·Dh − P_top, j·Sw + q·Dw − P_left)`` it was read from, or dropped in the padding."""
    shape = _x_shape(x_shape)
    g = win.geometry(shape, kernel_size, stride, padding, dilation)
    n_, c_, h_, w_ = shape
    (oh, ow), (kh, kw) = g.out_hw, g.kernel
    ca = as_array(col, "col", 2, "IM2COL-2")
    if ca.shape != (n_ * oh * ow, c_ * kh * kw):
        fail("col.shape", ca.shape, "IM2COL-2", f"must be {(n_ * oh * ow, c_ * kh * kw)} for x_shape {shape}")
    out = np.zeros(shape)
    for n, i, j, c, p, q in np.ndindex(n_, oh, ow, c_, kh, kw):
        u = i * g.stride[0] + p * g.dilation[0] - g.pads[0][0]
        v = j * g.stride[1] + q * g.dilation[1] - g.pads[1][0]
        if 0 <= u < h_ and 0 <= v < w_:
            out[n, c, u, v] += ca[(n * oh + i) * ow + j, (c * kh + p) * kw + q]
    return out


@ieee
def im2col_definitional(x: Any, kernel_size: Any, *, stride: Any = 1, padding: Any = 0,
                        dilation: Any = 1) -> np.ndarray:
    """IM2COL-1 as written, one entry at a time."""
    xa = win.input4d(x, clause="IM2COL-1")
    g = win.geometry(xa.shape, kernel_size, stride, padding, dilation)
    n_, c_ = xa.shape[:2]
    (oh, ow), (kh, kw) = g.out_hw, g.kernel
    out = np.zeros((n_ * oh * ow, c_ * kh * kw))
    for n, i, j, c, p, q in np.ndindex(n_, oh, ow, c_, kh, kw):
        h = i * g.stride[0] + p * g.dilation[0] - g.pads[0][0]
        v = j * g.stride[1] + q * g.dilation[1] - g.pads[1][0]
        if 0 <= h < g.in_hw[0] and 0 <= v < g.in_hw[1]:
            out[(n * oh + i) * ow + j, (c * kh + p) * kw + q] = xa[n, c, h, v]
    return out
