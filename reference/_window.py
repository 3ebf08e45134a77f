"""Sliding-window machinery shared by convolution, pooling and im2col.

A window view is a read-only strided view of the padded input with shape
``(N, C, KH, KW, OH, OW)``: element ``[n, c, p, q, i, j]`` is
``x_pad[n, c, i*Sh + p*Dh, j*Sw + q*Dw]``. Nothing is copied until a caller asks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ._errors import fail
from ._params import Pads, Pair, as_array, pair
from .output_size import output_hw, resolve_padding

#: Upper bound, in bytes, on any temporary a fast path materialises per block.
BLOCK_BYTES = 64 * 2**20


@dataclass(frozen=True)
class Geometry:
    """Parsed, validated window geometry of one forward op."""

    in_hw: Pair
    kernel: Pair
    stride: Pair
    dilation: Pair
    pads: Pads
    out_hw: Pair
    ceil_mode: bool = False

    @property
    def taps(self) -> int:
        return self.kernel[0] * self.kernel[1]

    def padded_hw(self) -> Pair:
        """Size of the padded buffer: the padding plus whatever a ceil_mode window hangs past it."""
        dims = []
        for ax in (0, 1):
            need = (self.out_hw[ax] - 1) * self.stride[ax] + self.dilation[ax] * (self.kernel[ax] - 1) + 1
            dims.append(max(self.in_hw[ax] + sum(self.pads[ax]), need))
        return (dims[0], dims[1])

    def tap_rows(self, axis: int, tap: int) -> np.ndarray:
        """Input coordinate (may be outside [0, size)) read by tap ``tap`` at each output position."""
        return (np.arange(self.out_hw[axis]) * self.stride[axis] + tap * self.dilation[axis]
                - self.pads[axis][0])


def geometry(x_shape: tuple[int, ...], kernel_size: Any, stride: Any, padding: Any, dilation: Any,
             ceil_mode: bool = False, ceil_rule: str = "spec") -> Geometry:
    """Parse and validate kernel/stride/padding/dilation against a 4-D input shape."""
    if x_shape[2] < 1 or x_shape[3] < 1:
        fail("x.shape", tuple(x_shape), "SPEC-7", "H and W must be >= 1")
    kernel = pair(kernel_size, "kernel_size")
    stride_ = pair(stride, "stride")
    dil = pair(dilation, "dilation")
    in_hw = (int(x_shape[2]), int(x_shape[3]))
    pads = resolve_padding(padding, in_hw, kernel, stride_, dil)
    out = output_hw(in_hw, kernel, stride_, pads, dil, ceil_mode, ceil_rule)
    return Geometry(in_hw, kernel, stride_, dil, pads, out, bool(ceil_mode))


def input4d(x: Any, name: str = "x", clause: str = "CONV-2") -> np.ndarray:
    arr = as_array(x, name, 4, clause)
    if arr.shape[1] < 1:
        fail(name, arr.shape, "SPEC-7", "the channel dimension must be >= 1")
    return arr


def pad(x: np.ndarray, g: Geometry, value: float) -> np.ndarray:
    """A new padded copy of ``x`` sized for every window of ``g`` (the input is never touched)."""
    ph, pw = g.padded_hw()
    (t, _), (l, _) = g.pads
    out = np.full(x.shape[:2] + (ph, pw), value, dtype=np.float64)
    out[:, :, t:t + g.in_hw[0], l:l + g.in_hw[1]] = x
    return out


def windows(xp: np.ndarray, g: Geometry) -> np.ndarray:
    """Read-only ``(N, C, KH, KW, OH, OW)`` view of a padded buffer."""
    sn, sc, sh, sw = xp.strides
    shape = xp.shape[:2] + g.kernel + g.out_hw
    strides = (sn, sc, sh * g.dilation[0], sw * g.dilation[1], sh * g.stride[0], sw * g.stride[1])
    return as_strided(xp, shape=shape, strides=strides, writeable=False)


def scatter_windows(cols: np.ndarray, g: Geometry, out: np.ndarray) -> None:
    """Adjoint of :func:`windows`: add ``cols`` (N, C, KH, KW, OH, OW) into padded buffer ``out``."""
    (sh, sw), (dh, dw), (oh, ow) = g.stride, g.dilation, g.out_hw
    for p in range(g.kernel[0]):
        for q in range(g.kernel[1]):
            out[:, :, p * dh:p * dh + sh * (oh - 1) + 1:sh,
                q * dw:q * dw + sw * (ow - 1) + 1:sw] += cols[:, :, p, q]


def crop(xp: np.ndarray, g: Geometry) -> np.ndarray:
    (t, _), (l, _) = g.pads
    return xp[:, :, t:t + g.in_hw[0], l:l + g.in_hw[1]]


def batch_block(n: int, bytes_per_image: int) -> int:
    """Images per block so that one block's temporaries stay under :data:`BLOCK_BYTES`."""
    return max(1, min(n, BLOCK_BYTES // max(bytes_per_image, 1)))
