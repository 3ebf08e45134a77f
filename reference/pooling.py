"""Max and average pooling, forward and backward: POOL-1, POOL-2, POOL-MAX-*, POOL-AVG-*."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _window as win
from ._errors import fail
from ._params import as_array, as_int, ieee


def _geometry(x: np.ndarray, kernel_size: Any, stride: Any, padding: Any, dilation: Any,
              ceil_mode: bool, ceil_rule: str = "spec") -> win.Geometry:
    return win.geometry(x.shape, kernel_size, kernel_size if stride is None else stride,
                        padding, dilation, ceil_mode, ceil_rule)


def _real_mask(g: win.Geometry, p: int, q: int) -> np.ndarray:
    """(OH, OW) mask: does tap (p, q) read a real input element (not padding)?"""
    rows, cols = g.tap_rows(0, p), g.tap_rows(1, q)
    return ((rows >= 0) & (rows < g.in_hw[0]))[:, None] & ((cols >= 0) & (cols < g.in_hw[1]))[None, :]


def max_pool_core(x: np.ndarray, g: win.Geometry, *, pad_value: float = -np.inf,
                  nan_ignored: bool = False, last_max: bool = False,
                  last_nan: bool = False, nan_first: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Values and flat indices (-1: window wholly in padding) of max pooling.

    The keywords are the named variants of POOL-MAX-1..3 (``zero-pad``, ``nan-ignored``,
    ``last-max``, ``last-nan``, ``nan-if-first``); the spec's behaviour is the default. Taps are scanned in row-major
    window order, so the first maximum wins unless ``last_max``. The spec's behaviour goes
    through :func:`max_pool_fast`; a variant through the tap loop below (full-size
    temporaries: it serves diagnosis, not speed).
    """
    if pad_value == -np.inf and not (nan_ignored or last_max or last_nan or nan_first):
        y, idx = max_pool_fast(x, g, with_indices=True)
        assert idx is not None
        return y, idx
    cols = win.windows(win.pad(x, g, pad_value), g)
    shape = x.shape[:2] + g.out_hw
    best = np.full(shape, -np.inf)
    idx = np.full(shape, -1, dtype=np.int64)
    have = np.zeros(shape, dtype=bool)
    best_nan = np.zeros(shape, dtype=bool)
    for p in range(g.kernel[0]):
        for q in range(g.kernel[1]):
            v = cols[:, :, p, q]
            real = _real_mask(g, p, q)
            flat = np.where(real, g.tap_rows(0, p)[:, None] * g.in_hw[1] + g.tap_rows(1, q)[None, :], -1)
            # Padding competes only in the zero-pad variant (a finite pad value).
            cand = np.broadcast_to(real, shape) if pad_value == -np.inf else np.ones(shape, bool)
            nan_v = np.isnan(v)
            if nan_ignored:
                cand = cand & ~nan_v
            elif nan_first:  # `best = first tap; if v > best` : a NaN survives only as the first tap read
                cand = cand & (~nan_v | ~have)
            better = (v >= best) if last_max else (v > best)
            take = cand & ~best_nan & (~have | better | nan_v)
            if last_nan:
                take = take | (cand & nan_v)
            best = np.where(take, v, best)
            idx = np.where(take, flat, idx)
            have |= cand
            best_nan = np.isnan(best)
    return best, idx


def _tap_tables(g: win.Geometry) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Index tables over the (OH, OW) outputs: per tap, whether it reads a real input element
    (not padding); per output, the flat index ``h * W + w`` its window's tap (0, 0) would have;
    per tap, what the tap adds to it (with one more entry, for "no real tap", far below -1)."""
    (sh, sw), (dh, dw), ((pt, _), (pl, _)), w = g.stride, g.dilation, g.pads, g.in_hw[1]
    oh, ow = g.out_hw
    (kh, kw), (h, _) = g.kernel, g.in_hw
    rows = (np.arange(oh) * sh - pt)[None, :] + (np.arange(kh) * dh)[:, None]  # (KH, OH): tap_rows
    cols = (np.arange(ow) * sw - pl)[None, :] + (np.arange(kw) * dw)[:, None]  # (KW, OW)
    real = (((rows >= 0) & (rows < h))[:, None, :, None]
            & ((cols >= 0) & (cols < w))[None, :, None, :]).reshape(g.taps, oh, ow)  # _real_mask per tap
    base = ((np.arange(oh) * sh - pt) * w)[:, None] + (np.arange(ow) * sw - pl)[None, :]
    offset = np.array([p * dh * w + q * dw for p in range(g.kernel[0]) for q in range(g.kernel[1])]
                      + [-(2 ** 62)], dtype=np.int64)
    return real, base, offset


def max_pool_fast(x: np.ndarray, g: win.Geometry, with_indices: bool = False
                  ) -> tuple[np.ndarray, np.ndarray | None]:
    """POOL-MAX-1..3 (the spec's behaviour) by cache-sized chunks; bit-identical to the tap loop.

    Per chunk (a few input planes): the planes copied into a reused −inf-bordered buffer, and
    a running ``np.maximum`` over the taps' strided windows written straight into the output.
    ``np.maximum`` agrees with the first maximum exactly except where the result is 0 (which
    zero's sign) or NaN (which NaN); those positions, found by two cheap passes over the
    chunk's result, are recomputed from their taps by the rule itself (the first NaN, else the
    first tap equal to the maximum). Indices, when asked for: a reverse scan of the taps marks
    the first real tap equal to the maximum; index = window base + tap offset.
    Extra memory: one chunk buffer (about ``2 * CHUNK_ELEMENTS`` elements, at least one padded
    plane), no padded copy of the whole input; with indices also per-chunk masks and per-tap
    tables of one plane's outputs.
    """
    n, c = x.shape[:2]
    oh, ow = g.out_hw
    y = np.empty((n, c, oh, ow))
    idx = np.empty((n, c, oh, ow), dtype=np.int64) if with_indices else None
    if y.size == 0:
        return y, idx
    (h, w), ((pt, _), (pl, _)), hp_wp = g.in_hw, g.pads, g.padded_hw()
    (sh, sw), (dh, dw), (kh, kw) = g.stride, g.dilation, g.kernel
    planes = x.reshape(n * c, h, w)
    y_planes = y.reshape(n * c, oh, ow)
    gc = max(1, min(n * c, 2 * win.CHUNK_ELEMENTS // (hp_wp[0] * hp_wp[1])))
    buf = np.full((gc,) + hp_wp, -np.inf)  # the border stays -inf; only the inside is rewritten
    if with_indices:
        real, base, offset = _tap_tables(g)
        idx_planes = idx.reshape(n * c, oh, ow)  # type: ignore[union-attr]
        tap_buf = np.empty((gc, oh, ow), dtype=np.uint8 if g.taps < 255 else np.int64)
        hit_buf = np.empty((gc, oh, ow), dtype=bool)
    for c0 in range(0, n * c, gc):
        c1 = min(n * c, c0 + gc)
        k = c1 - c0
        chunk = buf[:k]
        chunk[:, pt:pt + h, pl:pl + w] = planes[c0:c1]
        views = [chunk[:, p * dh:p * dh + sh * (oh - 1) + 1:sh, q * dw:q * dw + sw * (ow - 1) + 1:sw]
                 for p in range(kh) for q in range(kw)]
        acc = y_planes[c0:c1]
        np.copyto(acc, views[0])
        for v in views[1:]:
            np.maximum(acc, v, out=acc)
        if with_indices:
            # Which tap: the first real one equal to the maximum (a reverse scan, so that the
            # first writes last); T where none is (a window wholly in padding).
            tap, hit = tap_buf[:k], hit_buf[:k]
            tap.fill(g.taps)
            for t in range(g.taps - 1, -1, -1):
                np.equal(views[t], acc, out=hit)
                hit &= real[t]
                np.copyto(tap, t, where=hit)
        odd = np.equal(acc, 0.0)
        if np.isnan(np.sum(acc)):
            odd |= np.isnan(acc)
        if odd.any():
            # Zero (of which sign?) or NaN (which one?): the first NaN tap, else the first tap
            # equal to 0, as the rule scans them. Padding reads -inf: never chosen.
            cc, ii, jj = np.nonzero(odd)
            vals = np.stack([v[cc, ii, jj] for v in views], axis=1)
            nan = np.isnan(vals)
            first = np.where(nan.any(axis=1), nan.argmax(axis=1), (vals == 0).argmax(axis=1))
            acc[cc, ii, jj] = vals[np.arange(first.size), first]
            if with_indices:
                tap[cc, ii, jj] = first
        if with_indices:
            # flat index = base (of the window) + offset (of the tap); the offset of "no real
            # tap" is so negative that the clamp makes it -1.
            ib = idx_planes[c0:c1]
            np.take(offset, tap, out=ib)
            ib += base
            np.maximum(ib, -1, out=ib)
    return y, idx


@ieee
def max_pool2d(x: Any, kernel_size: Any, *, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """2-D max pooling over NCHW input.

    Clauses: POOL-1 (shapes, stride=None), POOL-2 (any padding), POOL-MAX-1 (−inf padding),
    POOL-MAX-2 (NaN propagates), POOL-MAX-3 (first maximum, flat indices), POOL-MAX-5
    (dilation), SIZE-3/SIZE-7 (output size, ceil_mode).

    Formula: ``y[n, c, i, j] = max_{p, q} x_pad[n, c, i*Sh + p*Dh, j*Sw + q*Dw]`` with the
    padding at −inf; a window with a NaN gives NaN; a window wholly in padding gives −inf.

    Returns float64 (N, C, OH, OW), and with ``return_indices`` also int64 flat indices
    ``h * W + w`` into each input plane (−1 for a window wholly in padding).
    Method: :func:`max_pool_fast` (chunks of a few planes; indices only when asked for).
    Memory (peak extra, besides the result): one chunk buffer of about 2 * ``CHUNK_ELEMENTS``
    = 64 Ki elements (at least one padded plane); with indices also two chunk-sized masks
    and per-tap tables of one plane's outputs (KH*KW + 8 bytes per output position of a
    plane); a non-contiguous x is first copied.
    Raises :class:`SpecError` for a non-4-D input, bad kernel/stride/dilation/padding, or a
    kernel larger than the padded input.
    """
    xa = win.input4d(x, clause="POOL-1")
    g = _geometry(xa, kernel_size, stride, padding, dilation, ceil_mode)
    y, idx = max_pool_fast(xa, g, with_indices=bool(return_indices))
    return (y, idx) if return_indices else y


@ieee
def max_pool2d_backward(dy: Any, x: Any, kernel_size: Any, *, stride: Any = None, padding: Any = 0,
                        dilation: Any = 1, ceil_mode: bool = False) -> np.ndarray:
    """Gradient of max_pool2d in x (POOL-MAX-4): dy routed to each window's POOL-MAX-3 index.

    Overlapping windows accumulate; windows wholly in padding contribute nothing. Shapes:
    dy equal to max_pool2d's output -> float64 dx of x's shape. Raises as max_pool2d, and
    when dy's shape differs from the forward output (POOL-MAX-4).
    """
    xa = win.input4d(x, clause="POOL-1")
    g = _geometry(xa, kernel_size, stride, padding, dilation, ceil_mode)
    dya = _check_dy(dy, xa.shape[:2] + g.out_hw, "POOL-MAX-4")
    _, idx = max_pool_core(xa, g)
    return route_max_grad(dya, idx, xa.shape)


def route_max_grad(dy: np.ndarray, idx: np.ndarray, x_shape: tuple[int, ...]) -> np.ndarray:
    n, c, h, w = x_shape
    plane = np.arange(n * c).reshape(n, c, 1, 1) * (h * w)
    keep = idx >= 0
    flat = (idx + plane)[keep]
    # (bincount returns int64 when no weight at all is given: keep the result float64)
    return np.bincount(flat, weights=dy[keep], minlength=n * c * h * w).astype(np.float64, copy=False).reshape(x_shape)


def _check_dy(dy: Any, shape: tuple[int, ...], clause: str) -> np.ndarray:
    dya = as_array(dy, "dy", 4, clause)
    if dya.shape != shape:
        fail("dy.shape", dya.shape, clause, f"must equal the forward output shape {shape}")
    return dya


def avg_divisor(g: win.Geometry, count_include_pad: bool, divisor_override: Any = None,
                full_kernel: bool = False) -> np.ndarray:
    """(OH, OW) divisors of POOL-AVG-2/3/4 (``full_kernel`` is variant ``full-kernel-divisor``)."""
    if divisor_override is not None:
        return np.full(g.out_hw, float(divisor_override))
    if full_kernel:
        return np.full(g.out_hw, float(g.taps))
    counts = []
    for ax in (0, 1):
        taps = g.tap_rows(ax, 0)[:, None] + np.arange(g.kernel[ax])[None, :] * g.dilation[ax]
        lo, hi = (-g.pads[ax][0], g.in_hw[ax] + g.pads[ax][1]) if count_include_pad else (0, g.in_hw[ax])
        counts.append(((taps >= lo) & (taps < hi)).sum(axis=1))
    return (counts[0][:, None] * counts[1][None, :]).astype(np.float64)


def _avg_args(x: Any, kernel_size: Any, stride: Any, padding: Any, ceil_mode: bool,
              divisor_override: Any) -> tuple[np.ndarray, win.Geometry]:
    xa = win.input4d(x, clause="POOL-1")
    if divisor_override is not None:
        as_int(divisor_override, "divisor_override", "POOL-AVG-4", 1)
    return xa, _geometry(xa, kernel_size, stride, padding, 1, ceil_mode)


@ieee
def avg_pool2d(x: Any, kernel_size: Any, *, stride: Any = None, padding: Any = 0,
               ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: Any = None) -> np.ndarray:
    """2-D average pooling over NCHW input.

    Clauses: POOL-1, POOL-2, POOL-AVG-1 (sum over the zero-padded window / divisor),
    POOL-AVG-2 (count_include_pad=True: positions inside the padded extent, a ceil_mode
    window clipped to it), POOL-AVG-3 (False: real input positions; a window wholly in
    padding gives NaN), POOL-AVG-4 (divisor_override), SIZE-3/SIZE-7.

    Returns float64 (N, C, OH, OW). Memory: the padded input plus O(output).
    Raises :class:`SpecError` for bad shapes or parameters, or divisor_override < 1.
    """
    xa, g = _avg_args(x, kernel_size, stride, padding, ceil_mode, divisor_override)
    cols = win.windows(win.pad(xa, g, 0.0), g)
    total = np.zeros(xa.shape[:2] + g.out_hw)
    for p in range(g.kernel[0]):
        for q in range(g.kernel[1]):
            total += cols[:, :, p, q]
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / avg_divisor(g, count_include_pad, divisor_override)


@ieee
def avg_pool2d_backward(dy: Any, x: Any, kernel_size: Any, *, stride: Any = None, padding: Any = 0,
                        ceil_mode: bool = False, count_include_pad: bool = True,
                        divisor_override: Any = None) -> np.ndarray:
    """Gradient of avg_pool2d in x (POOL-AVG-5): each dy / divisor spread over its window.

    Shapes: dy equal to avg_pool2d's output -> float64 dx of x's shape. Raises as
    avg_pool2d, and when dy's shape differs from the forward output.
    """
    xa, g = _avg_args(x, kernel_size, stride, padding, ceil_mode, divisor_override)
    dya = _check_dy(dy, xa.shape[:2] + g.out_hw, "POOL-AVG-5")
    div = avg_divisor(g, count_include_pad, divisor_override)
    # A window wholly in padding (divisor 0) reads no input, so it sends nothing back.
    share = np.where(div > 0, dya / np.where(div > 0, div, 1.0), 0.0)
    cols = np.broadcast_to(share[:, :, None, None], share.shape[:2] + g.kernel + g.out_hw)
    out = np.zeros(xa.shape[:2] + g.padded_hw())
    win.scatter_windows(cols, g, out)
    return np.ascontiguousarray(win.crop(out, g))


# --- definitional forms -------------------------------------------------------------------------

def _window_items(x: np.ndarray, g: win.Geometry, n: int, c: int, i: int, j: int):
    """(value or None for padding, flat index) of each tap of one window, in row-major order."""
    for p in range(g.kernel[0]):
        for q in range(g.kernel[1]):
            h = i * g.stride[0] + p * g.dilation[0] - g.pads[0][0]
            v = j * g.stride[1] + q * g.dilation[1] - g.pads[1][0]
            inside = 0 <= h < g.in_hw[0] and 0 <= v < g.in_hw[1]
            padded = (-g.pads[0][0] <= h < g.in_hw[0] + g.pads[0][1]
                      and -g.pads[1][0] <= v < g.in_hw[1] + g.pads[1][1])
            yield (x[n, c, h, v] if inside else None), h * g.in_hw[1] + v, padded


@ieee
def max_pool2d_definitional(x: Any, kernel_size: Any, *, stride: Any = None, padding: Any = 0,
                            dilation: Any = 1, ceil_mode: bool = False
                            ) -> tuple[np.ndarray, np.ndarray]:
    """POOL-MAX-1..3 as written, one window at a time: (values, indices)."""
    xa = win.input4d(x, clause="POOL-1")
    g = _geometry(xa, kernel_size, stride, padding, dilation, ceil_mode)
    y = np.full(xa.shape[:2] + g.out_hw, -np.inf)
    idx = np.full(y.shape, -1, dtype=np.int64)
    for n, c, i, j in np.ndindex(*y.shape):
        for v, flat, _ in _window_items(xa, g, n, c, i, j):
            if v is None or np.isnan(y[n, c, i, j]):
                continue
            if idx[n, c, i, j] < 0 or np.isnan(v) or v > y[n, c, i, j]:
                y[n, c, i, j], idx[n, c, i, j] = v, flat
    return y, idx


@ieee
def avg_pool2d_definitional(x: Any, kernel_size: Any, *, stride: Any = None, padding: Any = 0,
                            ceil_mode: bool = False, count_include_pad: bool = True,
                            divisor_override: Any = None) -> np.ndarray:
    """POOL-AVG-1..4 as written, one window at a time."""
    xa, g = _avg_args(x, kernel_size, stride, padding, ceil_mode, divisor_override)
    y = np.zeros(xa.shape[:2] + g.out_hw)
    for n, c, i, j in np.ndindex(*y.shape):
        items = list(_window_items(xa, g, n, c, i, j))
        total = sum(v for v, _, _ in items if v is not None)
        if divisor_override is not None:
            div = divisor_override
        elif count_include_pad:
            div = sum(1 for _, _, padded in items if padded)
        else:
            div = sum(1 for v, _, _ in items if v is not None)
        y[n, c, i, j] = total / div if div else np.nan
    return y


@ieee
def max_pool2d_backward_definitional(dy: Any, x: Any, kernel_size: Any, *, stride: Any = None,
                                     padding: Any = 0, dilation: Any = 1,
                                     ceil_mode: bool = False) -> np.ndarray:
    """POOL-MAX-4 as written: each dy goes to its window's first maximum, one at a time."""
    xa = win.input4d(x, clause="POOL-1")
    _, idx = max_pool2d_definitional(xa, kernel_size, stride=stride, padding=padding,
                                     dilation=dilation, ceil_mode=ceil_mode)
    dya = _check_dy(dy, idx.shape, "POOL-MAX-4")
    dx = np.zeros(xa.shape)
    for n, c, i, j in np.ndindex(*idx.shape):
        if idx[n, c, i, j] >= 0:
            h, v = divmod(int(idx[n, c, i, j]), xa.shape[3])
            dx[n, c, h, v] += dya[n, c, i, j]
    return dx


@ieee
def avg_pool2d_backward_definitional(dy: Any, x: Any, kernel_size: Any, *, stride: Any = None,
                                     padding: Any = 0, ceil_mode: bool = False,
                                     count_include_pad: bool = True,
                                     divisor_override: Any = None) -> np.ndarray:
    """POOL-AVG-5 as written: each dy / divisor added to every real element of its window."""
    xa, g = _avg_args(x, kernel_size, stride, padding, ceil_mode, divisor_override)
    dya = _check_dy(dy, xa.shape[:2] + g.out_hw, "POOL-AVG-5")
    dx = np.zeros(xa.shape)
    for n, c, i, j in np.ndindex(*dya.shape):
        items = list(_window_items(xa, g, n, c, i, j))
        if divisor_override is not None:
            div = divisor_override
        elif count_include_pad:
            div = sum(1 for _, _, padded in items if padded)
        else:
            div = sum(1 for v, _, _ in items if v is not None)
        for v, flat, _ in items:
            if v is not None and div:
                h, w = divmod(flat, xa.shape[3])
                dx[n, c, h, w] += dya[n, c, i, j] / div
    return dx
