"""2-D convolution (cross-correlation), forward and backward: CONV-1 ... CONV-7."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from . import _window as win
from ._errors import fail
from ._params import as_array, as_int, ieee


@dataclass(frozen=True)
class ConvProblem:
    """A validated convolution: shapes, groups and window geometry."""

    n: int
    c: int
    m: int
    groups: int
    geo: win.Geometry

    @property
    def cg(self) -> int:
        return self.c // self.groups

    @property
    def mg(self) -> int:
        return self.m // self.groups

    @property
    def out_shape(self) -> tuple[int, int, int, int]:
        return (self.n, self.m) + self.geo.out_hw


class ShapeOnly:
    """Shape-only stand-in, so a problem can be validated without allocating an array."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape


def conv_problem(x: np.ndarray, w: np.ndarray, stride: Any, padding: Any, dilation: Any,
                 groups: Any) -> ConvProblem:
    """Validate conv2d's arguments (CONV-2, CONV-3, CONV-6, SIZE-*)."""
    g = as_int(groups, "groups", "CONV-3", 1)
    n, c = x.shape[:2]
    m = w.shape[0]
    if min(w.shape) < 1:
        fail("w.shape", w.shape, "SPEC-7", "M, C/groups, KH and KW must be >= 1")
    if c % g:
        fail("groups", g, "CONV-3", f"must divide the input channels C={c}")
    if m % g:
        fail("groups", g, "CONV-3", f"must divide the output channels M={m}")
    if w.shape[1] * g != c:
        fail("w.shape", w.shape, "CONV-2",
             f"w.shape[1] * groups = {w.shape[1] * g} must equal the input channels C={c}")
    geo = win.geometry(x.shape, w.shape[2:], stride, padding, dilation)
    return ConvProblem(n, c, m, g, geo)


def _bias(b: Any, m: int, clause: str) -> np.ndarray | None:
    if b is None:
        return None
    arr = as_array(b, "b", 1, clause)
    if arr.shape != (m,):
        fail("b.shape", arr.shape, clause, f"must be ({m},), one value per output channel")
    return arr


@ieee
def conv2d(x: Any, w: Any, b: Any = None, *, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1) -> np.ndarray:
    """2-D cross-correlation of an NCHW batch with OIHW filters.

    Clauses: CONV-1 (definition), CONV-2 (shapes), CONV-3 (groups), CONV-4 (bias),
    CONV-5 (zero padding), CONV-6 (stride, dilation), SIZE-3/SIZE-4 (output size).

    Formula::

        y[n, m, i, j] = b[m] + sum_{c, p, q} x_pad[n, g*C/G + c, i*Sh + p*Dh, j*Sw + q*Dw] * w[m, c, p, q]
        with g = m // (M/G)

    Shapes: x (N, C, H, W), w (M, C/G, KH, KW), b (M,) or None -> float64 (N, M, OH, OW).
    Any real dtype is accepted and computed in float64; NaN/inf propagate (SPEC-6).

    Method: the zero-padded input split by stride into phase planes (about the size of the
    padded input), im2col columns of a tile of images (or of output rows) copied from them
    in contiguous runs, one GEMM per group and tile; depthwise-like groups (one input or one
    output channel per group) accumulate taps in cache-sized chunks instead.
    Memory (peak extra, besides the output): the phase planes (~ the padded input) plus one
    tile's columns of at most ``BLOCK_BYTES`` (32 MiB) and its GEMM result (at most the
    output of that tile); a 1x1 kernel at stride 1 without padding needs only the GEMM
    result (the output's size); the depthwise path one chunk of about ``CHUNK_ELEMENTS``
    (32 Ki) elements per buffer.

    Raises :class:`SpecError` on wrong ndim, a channel mismatch, groups not dividing C or M,
    stride/dilation < 1, negative or malformed padding, or a kernel larger than the
    padded input.
    """
    xa, wa = win.input4d(x), as_array(w, "w", 4, "CONV-2")
    pr = conv_problem(xa, wa, stride, padding, dilation, groups)
    ba = _bias(b, pr.m, "CONV-4")
    y = np.empty(pr.out_shape)
    if y.size == 0:
        return y
    wmat = wa.reshape(pr.groups, pr.mg, pr.cg * pr.geo.taps)
    correlate(xa, wmat, win.conv_taps(pr.geo), y, ba)
    return y


def correlate(src: np.ndarray, wmat: np.ndarray, taps: win.Taps, out: np.ndarray,
              bias: np.ndarray | None = None) -> None:
    """``out[n, g*Mo + m, u, v] = bias + sum_{c, t} wmat[g, m, c*T + t] * src[n, g*Cs + c, tap t at (u, v)]``.

    The engine of every conv fast path. ``src`` is (N, G*Cs, H, W), ``wmat`` (G, Mo, Cs*T), and
    ``out`` a writable (N, G*Mo, OH, OW) array or view (strided views allowed). Tap ``t`` reads
    zero outside ``src`` (see :class:`reference._window.Taps`), so a padding tap is a term
    0 * w, as CONV-1 has it.
    """
    n, groups, mo = out.shape[0], wmat.shape[0], wmat.shape[1]
    cs = wmat.shape[2] // taps.count
    if groups > 1 and min(cs, mo) == 1:
        _accumulate_taps(src, wmat, taps, out, bias)
        return
    if taps.count == 1 and taps.rows == taps.cols == (0,) and taps.stride == (1, 1) \
            and taps.out_hw == src.shape[2:]:
        # A 1x1 kernel at stride 1 without padding: src itself is the column matrix.
        hw = taps.out_hw[0] * taps.out_hw[1]
        for g in range(groups):
            res = np.matmul(wmat[g], src[:, g * cs:(g + 1) * cs].reshape(n, cs, hw))
            dst = out[:, g * mo:(g + 1) * mo]
            got = res.reshape(dst.shape)
            if bias is None:
                np.copyto(dst, got)
            else:
                np.add(got, bias[g * mo:(g + 1) * mo, None, None], out=dst)
        return
    ph = win.Phases(src, taps)
    oh, ow = taps.out_hw
    wide = win.wide_pays(ph)
    width = ph.width(wide)
    k = cs * taps.count
    nb, rows = win.tiles(n, oh, 8 * k * width)
    cols = np.empty(k * nb * rows * width)
    res = np.empty(mo * nb * rows * width)
    for n0 in range(0, n, nb):
        nn = min(nb, n - n0)
        for r0 in range(0, oh, rows):
            rr = min(rows, oh - r0)
            size = nn * rr * width
            c2 = cols[:k * size].reshape(k, size)
            r2 = res[:mo * size].reshape(mo, size)
            for g in range(groups):
                ph.columns(c2.reshape(cs, taps.count, nn, rr * width), n0, nn, g * cs, cs, r0, rr, wide)
                np.matmul(wmat[g], c2, out=r2)
                got = r2.reshape(mo, nn, rr, width)[..., :ow].transpose(1, 0, 2, 3)
                dst = out[n0:n0 + nn, g * mo:(g + 1) * mo, r0:r0 + rr]
                if bias is None:
                    np.copyto(dst, got)
                else:
                    np.add(got, bias[g * mo:(g + 1) * mo, None, None], out=dst)


def _accumulate_taps(src: np.ndarray, wmat: np.ndarray, taps: win.Taps, out: np.ndarray,
                     bias: np.ndarray | None) -> None:
    """:func:`correlate` when each group has one input or one output channel (depthwise and its
    adjoint): no GEMM, a multiply-add per (input channel, tap) over cache-sized chunks (a few
    groups of one image). Each chunk's phase planes are refilled in place (their zero borders
    stay), each tap read from them in the wide layout (one contiguous run per channel, so NumPy's inner loops are long),
    accumulated in a scratch buffer, and the valid columns copied out.
    Extra memory: one chunk (its planes and two buffers), about ``CHUNK_ELEMENTS`` each."""
    n, (oh, ow) = out.shape[0], taps.out_hw
    groups, mo, k = wmat.shape
    cs = k // taps.count
    probe = win.Phases(src[:0, :0], taps)  # plane geometry only
    wph = probe.wph
    gc = max(1, min(groups, win.CHUNK_ELEMENTS // max(mo * oh * wph, cs * (probe.hph + 1) * wph, 1)))
    acc_buf = np.empty((gc, mo, oh * wph))
    tmp_buf = np.empty((gc, mo, oh * wph))
    ph = win.Phases(src[:1, :gc * cs], taps)  # one chunk's planes, refilled chunk by chunk
    runs = [ph.flat_view(t, 0, 0, gc * cs) for t in range(taps.count)]  # views of those planes
    for i in range(n):
        for g0 in range(0, groups, gc):
            g1 = min(groups, g0 + gc)
            ph.refill(src[i:i + 1, g0 * cs:g1 * cs])
            acc, tmp = acc_buf[:g1 - g0], tmp_buf[:g1 - g0]
            first = True
            for c in range(cs):
                for t in range(taps.count):
                    v = runs[t][c:(g1 - g0) * cs:cs, None]
                    wv = wmat[g0:g1, :, c * taps.count + t, None]
                    np.multiply(v, wv, out=acc if first else tmp)
                    if not first:
                        acc += tmp
                    first = False
            got = acc.reshape(g1 - g0, mo, oh, wph)[..., :ow]
            dst = out[i, g0 * mo:g1 * mo].reshape(g1 - g0, mo, oh, ow)
            if bias is None:
                np.copyto(dst, got)
            else:
                np.add(got, bias[g0 * mo:g1 * mo].reshape(g1 - g0, mo, 1, 1), out=dst)


def _finite(a: np.ndarray) -> bool:
    return bool(np.isfinite(a).all())


def input_grad(dy: np.ndarray, w: np.ndarray, pr: ConvProblem) -> np.ndarray:
    """The adjoint of conv2d in x (CONV-7, CONVT-1): shared by conv2d_backward and conv_transpose2d.

    Method: each stride phase of dx (rows u with (u + P_top) % Sh fixed, columns likewise) is
    a unit-stride correlation of dy with the taps that land on it, computed by
    :func:`correlate` (dy's zero padding reads as 0, and CONVT-1 has no padding taps, so
    with finite weights this is the scatter form exactly up to summation order). With a
    non-finite weight a zero of dy's padding would make 0 * inf = NaN where the scatter form
    has no term, so that case scatters instead (:func:`_input_grad_scatter`).
    Memory: as :func:`correlate` on dy.
    """
    if not _finite(w):
        return _input_grad_scatter(dy, w, pr)
    # dy may be smaller than the forward output (see _input_grad_scatter): rows it lacks read
    # as zeros here, which with finite weights add exact zeros.
    geo = pr.geo
    (sh, sw), (dh, dw_), (kh, kw) = geo.stride, geo.dilation, geo.kernel
    (pt, _), (pl, _) = geo.pads
    h, wd = geo.in_hw
    dx = np.empty((pr.n, pr.c, h, wd))
    if dx.size == 0:
        return dx
    w5 = w.reshape(pr.groups, pr.mg, pr.cg, kh, kw)
    for r in range(sh):
        h0 = (r - pt) % sh  # first row u >= 0 with (u + P_top) % Sh == r
        ps = [p for p in range(kh) if (p * dh) % sh == r]
        for s in range(sw):
            w0 = (s - pl) % sw
            qs = [q for q in range(kw) if (q * dw_) % sw == s]
            part = dx[:, :, h0::sh, w0::sw]
            if part.size == 0:
                continue
            if not ps or not qs:
                part.fill(0.0)  # no window reaches these rows or columns (CONV-7)
                continue
            rows = [(h0 + pt - p * dh) // sh for p in ps]
            cols = [(w0 + pl - q * dw_) // sw for q in qs]
            taps = win.Taps(tuple(a for a in rows for _ in cols), tuple(b for _ in rows for b in cols),
                            (1, 1), part.shape[2:])
            wmat = w5[:, :, :, ps][:, :, :, :, qs].transpose(0, 2, 1, 3, 4)
            correlate(dy, wmat.reshape(pr.groups, pr.cg, pr.mg * len(ps) * len(qs)), taps, part)
    return dx


def _input_grad_scatter(dy: np.ndarray, w: np.ndarray, pr: ConvProblem) -> np.ndarray:
    """CONVT-1's scatter form by blocks: columns W^T dy (one GEMM per group), then col2im.

    ``dy`` may have fewer rows or columns than the forward output (conv_transpose2d with
    output_padding >= stride): the missing ones are no terms at all, not zeros.
    Memory: the padded dx plus one block of columns of at most ``BLOCK_BYTES``."""
    geo = replace(pr.geo, out_hw=(int(dy.shape[2]), int(dy.shape[3])))
    oh, ow = geo.out_hw
    dxp = np.zeros((pr.n, pr.c) + geo.padded_hw())
    wg = w.reshape(pr.groups, pr.mg, pr.cg * geo.taps)
    step = win.batch_block(pr.n, 8 * pr.cg * geo.taps * oh * ow)
    for n0 in range(0, pr.n, step):
        d = dy[n0:n0 + step]
        nb = d.shape[0]
        part_out = dxp[n0:n0 + nb]
        if pr.cg == 1 and pr.groups > 1:
            cols = np.zeros((nb, pr.c) + geo.kernel + (oh, ow))
            for p in range(geo.kernel[0]):
                for q in range(geo.kernel[1]):
                    contrib = d * w[:, 0, p, q][None, :, None, None]
                    if pr.mg == 1:
                        cols[:, :, p, q] = contrib
                    else:
                        cols[:, :, p, q] = contrib.reshape(nb, pr.c, pr.mg, oh, ow).sum(axis=2)
            win.scatter_windows(cols, geo, part_out)
            continue
        for gi in range(pr.groups):
            dmat = d[:, gi * pr.mg:(gi + 1) * pr.mg].transpose(1, 0, 2, 3).reshape(pr.mg, nb * oh * ow)
            cols = (wg[gi].T @ dmat).reshape((pr.cg,) + geo.kernel + (nb, oh, ow))
            win.scatter_windows(cols.transpose(3, 0, 1, 2, 4, 5),
                                geo, part_out[:, gi * pr.cg:(gi + 1) * pr.cg])
    return np.ascontiguousarray(win.crop(dxp, geo))


def weight_grad(dy: np.ndarray, x: np.ndarray, pr: ConvProblem) -> np.ndarray:
    """dw of CONV-7: per group and tile, the columns of x times dy (one GEMM), accumulated.

    The wide column layout's garbage entries meet dy zeros; a non-finite garbage entry would
    make them NaN, so the wide layout is used only when x is finite. Depthwise (one input
    channel per group) reduces tap by tap instead. Memory: as :func:`conv2d` (phase planes
    plus one tile of columns of at most ``BLOCK_BYTES``, and dy in the same tile layout).
    """
    geo = pr.geo
    taps = win.conv_taps(geo)
    t_count, (oh, ow) = taps.count, geo.out_hw
    dw = np.zeros((pr.groups, pr.mg, pr.cg * t_count))
    if pr.n == 0 or dw.size == 0:
        return dw.reshape((pr.m, pr.cg) + geo.kernel)
    ph = win.Phases(x, taps)
    if pr.cg == 1 and pr.groups > 1:
        # dw[g*Mo + m, 0, t] = sum over n, u, v of dy * tap t of channel g.
        gc = max(1, min(pr.groups, win.CHUNK_ELEMENTS // max(pr.mg * oh * ow, 1)))
        tmp = np.empty((gc, pr.mg, oh, ow))
        for i in range(pr.n):
            for g0 in range(0, pr.groups, gc):
                g1 = min(pr.groups, g0 + gc)
                d = dy[i, g0 * pr.mg:g1 * pr.mg].reshape(g1 - g0, pr.mg, oh, ow)
                for t in range(t_count):
                    v = ph.tap_view(t, i, i + 1, g0, g1)[0][:, None]
                    np.multiply(d, v, out=tmp[:g1 - g0])
                    dw[g0:g1, :, t] += tmp[:g1 - g0].sum(axis=(2, 3))
        return dw.reshape((pr.m, pr.cg) + geo.kernel)
    wide = win.wide_pays(ph) and _finite(x)
    width = ph.width(wide)
    k = pr.cg * t_count
    nb, rows = win.tiles(pr.n, oh, 8 * k * width)
    cols = np.empty(k * nb * rows * width)
    dmat = np.empty(pr.mg * nb * rows * width)
    part = np.empty((k, pr.mg))
    for n0 in range(0, pr.n, nb):
        nn = min(nb, pr.n - n0)
        for r0 in range(0, oh, rows):
            rr = min(rows, oh - r0)
            size = nn * rr * width
            c2 = cols[:k * size].reshape(k, size)
            d4 = dmat[:pr.mg * size].reshape(pr.mg, nn, rr, width)
            if wide:
                d4[..., ow:] = 0.0
            for g in range(pr.groups):
                ph.columns(c2.reshape(pr.cg, t_count, nn, rr * width), n0, nn, g * pr.cg, pr.cg, r0, rr, wide)
                np.copyto(d4[..., :ow], dy[n0:n0 + nn, g * pr.mg:(g + 1) * pr.mg, r0:r0 + rr].transpose(1, 0, 2, 3))
                np.matmul(c2, d4.reshape(pr.mg, size).T, out=part)
                dw[g] += part.T
    return dw.reshape((pr.m, pr.cg) + geo.kernel)


@ieee
def conv2d_backward(dy: Any, x: Any, w: Any, *, stride: Any = 1, padding: Any = 0,
                    dilation: Any = 1, groups: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of conv2d with respect to x, w and b (CONV-7).

    Formula::

        dx = the adjoint of conv2d in x applied to dy (= conv_transpose2d(dy, w), cropped)
        dw[m, c, p, q] = sum_{n, i, j} dy[n, m, i, j] * x_pad[n, g*C/G + c, i*Sh + p*Dh, j*Sw + q*Dw]
        db[m] = sum_{n, i, j} dy[n, m, i, j]

    Shapes: dy (N, M, OH, OW) equal to conv2d's output shape; returns float64 dx (N, C, H, W),
    dw (M, C/G, KH, KW), db (M,). Input positions no window reaches get dx = 0.
    Method: dx by :func:`input_grad` (per stride phase, a correlation of dy), dw by
    :func:`weight_grad` (im2col columns of x times dy, per tile).
    Memory (peak extra, besides dx, dw, db): the phase planes of dy or of x (~ their padded
    size, one at a time), one tile of columns of at most ``BLOCK_BYTES`` (32 MiB), and dy or
    the GEMM result in that tile's layout (at most the size of dy / dx of the tile).
    Raises as conv2d, and when dy's shape is not the forward output shape (CONV-7).
    """
    xa, wa = win.input4d(x), as_array(w, "w", 4, "CONV-2")
    pr = conv_problem(xa, wa, stride, padding, dilation, groups)
    dya = as_array(dy, "dy", 4, "CONV-7")
    if dya.shape != pr.out_shape:
        fail("dy.shape", dya.shape, "CONV-7", f"must equal conv2d's output shape {pr.out_shape}")
    dx = input_grad(dya, wa, pr)
    dw = weight_grad(dya, xa, pr)
    db = dya.sum(axis=(0, 2, 3))
    return dx, dw, db


# --- definitional forms: direct transcriptions of the clauses, for small cases only -------------

@ieee
def conv2d_definitional(x: Any, w: Any, b: Any = None, *, stride: Any = 1, padding: Any = 0,
                        dilation: Any = 1, groups: int = 1, flip_kernel: bool = False) -> np.ndarray:
    """CONV-1 as written: one multiply-add per term. ``flip_kernel`` is variant ``flipped-kernel``."""
    xa, wa = win.input4d(x), as_array(w, "w", 4, "CONV-2")
    pr = conv_problem(xa, wa, stride, padding, dilation, groups)
    ba = _bias(b, pr.m, "CONV-4")
    geo = pr.geo
    (kh, kw), (sh, sw), (dh, dw_) = geo.kernel, geo.stride, geo.dilation
    (pt, _), (pl, _) = geo.pads
    if flip_kernel:
        wa = wa[:, :, ::-1, ::-1]
    y = np.zeros(pr.out_shape)
    for n in range(pr.n):
        for m in range(pr.m):
            g = m // pr.mg
            for i in range(geo.out_hw[0]):
                for j in range(geo.out_hw[1]):
                    s = 0.0 if ba is None else ba[m]
                    for c in range(pr.cg):
                        for p in range(kh):
                            for q in range(kw):
                                h, v = i * sh + p * dh - pt, j * sw + q * dw_ - pl
                                inside = 0 <= h < geo.in_hw[0] and 0 <= v < geo.in_hw[1]
                                # a padding tap is a term too: 0 * w (NaN for an infinite w)
                                s += (xa[n, g * pr.cg + c, h, v] if inside else 0.0) * wa[m, c, p, q]
                    y[n, m, i, j] = s
    return y


@ieee
def conv2d_backward_definitional(dy: Any, x: Any, w: Any, *, stride: Any = 1, padding: Any = 0,
                                 dilation: Any = 1, groups: int = 1
                                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CONV-7 as written: every term of CONV-1 sends dy to the x and w it multiplied."""
    xa, wa = win.input4d(x), as_array(w, "w", 4, "CONV-2")
    pr = conv_problem(xa, wa, stride, padding, dilation, groups)
    dya = as_array(dy, "dy", 4, "CONV-7")
    geo = pr.geo
    (kh, kw), (sh, sw), (dh, dw_) = geo.kernel, geo.stride, geo.dilation
    (pt, _), (pl, _) = geo.pads
    dx, dw = np.zeros(xa.shape), np.zeros(wa.shape)
    for n, m, i, j in np.ndindex(*pr.out_shape):
        g = m // pr.mg
        for c, p, q in np.ndindex(pr.cg, kh, kw):
            h, v = i * sh + p * dh - pt, j * sw + q * dw_ - pl
            if 0 <= h < geo.in_hw[0] and 0 <= v < geo.in_hw[1]:
                dx[n, g * pr.cg + c, h, v] += dya[n, m, i, j] * wa[m, c, p, q]
                dw[m, c, p, q] += dya[n, m, i, j] * xa[n, g * pr.cg + c, h, v]
            else:  # the padding tap's term dy * 0 reaches dw (NaN for an infinite dy)
                dw[m, c, p, q] += dya[n, m, i, j] * 0.0
    return dx, dw, dya.sum(axis=(0, 2, 3))
