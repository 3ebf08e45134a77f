"""Sliding-window machinery shared by convolution, pooling and im2col.

A window view is a read-only strided view of the padded input with shape
``(N, C, KH, KW, OH, OW)``: element ``[n, c, p, q, i, j]`` is
``x_pad[n, c, i*Sh + p*Dh, j*Sw + q*Dw]``. Nothing is copied until a caller asks.

The fast paths use a second form of the same sampling, :class:`Taps` and :class:`Phases`:
the source split by stride into zero-filled phase planes, in which every tap reads a
window of unit stride, so that im2col columns are built from contiguous runs (whole
rows, or with the "wide" layout whole planes) instead of element-wise gathers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ._errors import fail
from ._params import Pads, Pair, as_array, pair
from .output_size import output_hw, resolve_padding

#: Upper bound, in bytes, on any temporary a fast path materialises per block (im2col columns
#: of a tile). 32 MiB keeps a tile within a server CPU's last-level cache, where the GEMM
#: that reads the columns right after they are written finds them.
BLOCK_BYTES = 32 * 2**20
#: Elements per chunk of the element-wise fast paths (tap accumulation, pooling): small
#: enough that a chunk's accumulator and temporaries stay in a core's L2 cache.
CHUNK_ELEMENTS = 1 << 15


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


# --- phase-split sources: the fast paths' form of a window ---------------------------------------

@dataclass(frozen=True)
class Taps:
    """The sampling pattern of a strided correlation.

    Tap ``t`` of output position ``(u, v)`` reads ``src[Sh*u + rows[t], Sw*v + cols[t]]``, and
    reads 0 where that lies outside ``src`` (the zero padding, on any side, of any width).
    """

    rows: tuple[int, ...]
    cols: tuple[int, ...]
    stride: Pair
    out_hw: Pair

    @property
    def count(self) -> int:
        return len(self.rows)


def conv_taps(g: Geometry) -> Taps:
    """The taps of a forward window geometry, in row-major window order ``t = p*KW + q``."""
    (kh, kw), (dh, dw), ((pt, _), (pl, _)) = g.kernel, g.dilation, g.pads
    return Taps(tuple(p * dh - pt for p in range(kh) for _ in range(kw)),
                tuple(q * dw - pl for _ in range(kh) for q in range(kw)), g.stride, g.out_hw)


class Phases:
    """``src`` (N, C, H, W) split by stride into zero-filled planes in which every tap has unit stride.

    Plane ``(a, b)`` holds ``src[Sh*(u + r0) + a, Sw*(v + c0) + b]`` at ``[u, v]`` (0 outside src),
    where ``r0``/``c0`` are the smallest tap offsets; tap ``t`` reads plane
    ``(rows[t] % Sh, cols[t] % Sw)`` at offset ``(rows[t] // Sh - r0, cols[t] // Sw - c0)``.
    Only the planes some tap reads are built. Each plane has ``hph = OH + spread`` rows plus
    one spare (read only by the garbage columns of the wide layout) and ``wph`` columns;
    together the planes are about the size of the padded source.

    Columns come in two layouts. ``exact``: ``(C, T, n, rows, OW)``, the im2col matrix itself.
    ``wide``: ``(C, T, n, rows * wph)``, each tap's plane read as one contiguous run per
    (image, channel); the last ``wph - OW`` entries of each output row are garbage (finite
    or not, whatever the plane holds there) that the caller must drop or zero-weight.
    """

    def __init__(self, src: np.ndarray, taps: Taps) -> None:
        (sh, sw), (oh, ow) = taps.stride, taps.out_hw
        ro = [r // sh for r in taps.rows]
        co = [c // sw for c in taps.cols]
        self.taps = taps
        self.r0, self.c0 = min(ro), min(co)
        self.hph, self.wph = oh + max(ro) - self.r0, ow + max(co) - self.c0
        self.offsets = [(r - self.r0, c - self.c0) for r, c in zip(ro, co, strict=True)]
        self.phase = [(r % sh, c % sw) for r, c in zip(taps.rows, taps.cols, strict=True)]
        self.shape = tuple(src.shape)
        self.planes = {key: self._plane(src, *key) for key in sorted(set(self.phase))}

    def _extent(self, a: int, b: int) -> tuple[int, int, int, int]:
        """Plane rows u0 .. u1 and columns v0 .. v1 that hold source elements (rows u with
        0 <= Sh*(u + r0) + a < H, clipped to the plane; likewise columns)."""
        (sh, sw), (h, w) = self.taps.stride, self.shape[2:]
        u0, u1 = max(-self.r0, 0), min(-((a - h) // sh) - self.r0, self.hph + 1)
        v0, v1 = max(-self.c0, 0), min(-((b - w) // sw) - self.c0, self.wph)
        return u0, u1, v0, v1

    def _source_slices(self, a: int, b: int, u0: int, u1: int, v0: int, v1: int) -> tuple[slice, slice]:
        (sh, sw) = self.taps.stride
        r, c = sh * (u0 + self.r0) + a, sw * (v0 + self.c0) + b
        return slice(r, r + sh * (u1 - u0 - 1) + 1, sh), slice(c, c + sw * (v1 - v0 - 1) + 1, sw)

    def _plane(self, src: np.ndarray, a: int, b: int) -> np.ndarray:
        out = np.empty(src.shape[:2] + (self.hph + 1, self.wph))
        u0, u1, v0, v1 = self._extent(a, b)
        if u0 >= u1 or v0 >= v1:
            out.fill(0.0)
            return out
        out[:, :, :u0] = 0.0
        out[:, :, u1:] = 0.0
        out[:, :, u0:u1, :v0] = 0.0
        out[:, :, u0:u1, v1:] = 0.0
        rs, cs = self._source_slices(a, b, u0, u1, v0, v1)
        out[:, :, u0:u1, v0:v1] = src[:, :, rs, cs]
        return out

    def refill(self, src: np.ndarray) -> None:
        """Overwrite the planes' source elements with those of ``src`` (same H and W, at most as
        many images and channels; the rest keep stale values): the zero borders stay, so a
        chunked caller reuses one set of planes instead of building new ones per chunk."""
        for (a, b), plane in self.planes.items():
            u0, u1, v0, v1 = self._extent(a, b)
            if u0 < u1 and v0 < v1:
                rs, cs = self._source_slices(a, b, u0, u1, v0, v1)
                plane[:src.shape[0], :src.shape[1], u0:u1, v0:v1] = src[:, :, rs, cs]

    def width(self, wide: bool) -> int:
        return self.wph if wide else self.taps.out_hw[1]

    def tap_view(self, t: int, n0: int, n1: int, c0: int, c1: int, cstep: int = 1) -> np.ndarray:
        """Tap ``t``'s (n, c, OH, OW) window, unit stride in the last axis (a view)."""
        (oh, ow), (orow, ocol) = self.taps.out_hw, self.offsets[t]
        return self.planes[self.phase[t]][n0:n1, c0:c1:cstep, orow:orow + oh, ocol:ocol + ow]

    def flat_view(self, t: int, n: int, c0: int, c1: int, cstep: int = 1) -> np.ndarray:
        """Tap ``t``'s window of image ``n`` in the wide layout: (c, OH * wph), each row one
        contiguous run (the last ``wph - OW`` entries of each output row are garbage)."""
        (oh, _), (orow, ocol) = self.taps.out_hw, self.offsets[t]
        plane = self.planes[self.phase[t]]
        start = orow * self.wph + ocol
        return plane[n, c0:c1:cstep].reshape(-1, plane.shape[2] * plane.shape[3])[:, start:start + oh * self.wph]

    def columns(self, out: np.ndarray, n0: int, nb: int, c0: int, cg: int, r0: int, rows: int,
                wide: bool) -> None:
        """Write the columns of images ``n0 .. n0+nb``, channels ``c0 .. c0+cg`` and output rows
        ``r0 .. r0+rows`` into ``out``, of shape (cg, T, nb, rows * width(wide)).

        Channels go in chunks whose share of the planes stays cache-sized while every tap
        reads it, so that the planes come from memory once, not once per tap."""
        ow = self.taps.out_hw[1]
        step = max(1, CHUNK_ELEMENTS // max(nb * (self.hph + 1) * self.wph * len(self.planes), 1))
        for k0 in range(0, cg, step):
            k1 = min(cg, k0 + step)
            for t, (orow, ocol) in enumerate(self.offsets):
                plane = self.planes[self.phase[t]][n0:n0 + nb, c0 + k0:c0 + k1]
                dst = out[k0:k1, t]
                if wide:
                    start = (r0 + orow) * self.wph + ocol
                    src = plane.reshape(nb, k1 - k0, -1)[:, :, start:start + rows * self.wph]
                    np.copyto(dst, src.transpose(1, 0, 2))
                else:
                    src = plane[:, :, r0 + orow:r0 + orow + rows, ocol:ocol + ow]
                    np.copyto(dst.reshape(k1 - k0, nb, rows, ow), src.transpose(1, 0, 2, 3))


def wide_pays(ph: Phases) -> bool:
    """Whether the wide layout's garbage columns (at most 1/8 extra) cost less than gathering rows."""
    ow = ph.taps.out_hw[1]
    return (ph.wph - ow) * 8 <= ow


def tiles(n: int, rows: int, bytes_per_row: int) -> tuple[int, int]:
    """(images, output rows) per tile so that one tile's columns stay under :data:`BLOCK_BYTES`:
    whole images while one fits, else bands of rows of a single image."""
    per_image = bytes_per_row * rows
    if per_image <= BLOCK_BYTES:
        return max(1, min(n, BLOCK_BYTES // max(per_image, 1))), rows
    return 1, max(1, min(rows, BLOCK_BYTES // max(bytes_per_row, 1)))
