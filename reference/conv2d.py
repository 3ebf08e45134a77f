"""2-D convolution (cross-correlation), forward and backward: CONV-1 ... CONV-7."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _window as win
from ._errors import fail
from ._params import as_array, as_int


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
    if m < 1 or w.shape[1] < 1:
        fail("w.shape", w.shape, "CONV-2", "M and C/groups must be >= 1")
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

    Memory: besides the padded input and the output, one block of im2col columns of at
    most ``BLOCK_BYTES`` (64 MiB), or a single image's columns if one image needs more.

    Raises :class:`SpecError` on wrong ndim, a channel mismatch, groups not dividing C or M,
    stride/dilation < 1, negative or malformed padding, or a kernel larger than the
    padded input.
    """
    xa, wa = win.input4d(x), as_array(w, "w", 4, "CONV-2")
    pr = conv_problem(xa, wa, stride, padding, dilation, groups)
    ba = _bias(b, pr.m, "CONV-4")
    geo, (oh, ow) = pr.geo, pr.geo.out_hw
    y = np.empty(pr.out_shape)
    xp = win.pad(xa, geo, 0.0)
    wg = wa.reshape(pr.groups, pr.mg, pr.cg * geo.taps)
    step = win.batch_block(pr.n, 8 * pr.cg * geo.taps * oh * ow)
    for n0 in range(0, pr.n, step):
        cols = win.windows(xp[n0:n0 + step], geo)  # (n, C, KH, KW, OH, OW), a view
        nb = cols.shape[0]
        if pr.cg == 1 and pr.groups > 1:
            # Depthwise: per-group GEMMs would be 1-row products; accumulate taps instead.
            src = cols[:, np.arange(pr.m) // pr.mg]
            acc = np.zeros((nb, pr.m, oh, ow))
            for p in range(geo.kernel[0]):
                for q in range(geo.kernel[1]):
                    acc += src[:, :, p, q] * wa[:, 0, p, q][None, :, None, None]
            y[n0:n0 + nb] = acc
            continue
        for gi in range(pr.groups):
            part = cols[:, gi * pr.cg:(gi + 1) * pr.cg]
            mat = part.transpose(1, 2, 3, 0, 4, 5).reshape(pr.cg * geo.taps, nb * oh * ow)
            out = wg[gi] @ mat  # (M/G, n*OH*OW)
            y[n0:n0 + nb, gi * pr.mg:(gi + 1) * pr.mg] = out.reshape(pr.mg, nb, oh, ow).transpose(1, 0, 2, 3)
    if ba is not None:
        y += ba[None, :, None, None]
    return y


def input_grad(dy: np.ndarray, w: np.ndarray, pr: ConvProblem) -> np.ndarray:
    """The adjoint of conv2d in x (CONV-7, CONVT-1): shared by conv2d_backward and conv_transpose2d."""
    geo, (oh, ow) = pr.geo, pr.geo.out_hw
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


def conv2d_backward(dy: Any, x: Any, w: Any, *, stride: Any = 1, padding: Any = 0,
                    dilation: Any = 1, groups: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of conv2d with respect to x, w and b (CONV-7).

    Formula::

        dx = the adjoint of conv2d in x applied to dy (= conv_transpose2d(dy, w), cropped)
        dw[m, c, p, q] = sum_{n, i, j} dy[n, m, i, j] * x_pad[n, g*C/G + c, i*Sh + p*Dh, j*Sw + q*Dw]
        db[m] = sum_{n, i, j} dy[n, m, i, j]

    Shapes: dy (N, M, OH, OW) equal to conv2d's output shape; returns float64 dx (N, C, H, W),
    dw (M, C/G, KH, KW), db (M,). Input positions no window reaches get dx = 0.
    Memory: as conv2d (one column block of at most 64 MiB). Raises as conv2d, and when
    dy's shape is not the forward output shape (CONV-7).
    """
    xa, wa = win.input4d(x), as_array(w, "w", 4, "CONV-2")
    pr = conv_problem(xa, wa, stride, padding, dilation, groups)
    dya = as_array(dy, "dy", 4, "CONV-7")
    if dya.shape != pr.out_shape:
        fail("dy.shape", dya.shape, "CONV-7", f"must equal conv2d's output shape {pr.out_shape}")
    geo, (oh, ow) = pr.geo, pr.geo.out_hw
    dx = input_grad(dya, wa, pr)
    dw = np.zeros((pr.groups, pr.mg, pr.cg * geo.taps))
    xp = win.pad(xa, geo, 0.0)
    step = win.batch_block(pr.n, 8 * pr.cg * geo.taps * oh * ow)
    for n0 in range(0, pr.n, step):
        cols = win.windows(xp[n0:n0 + step], geo)
        nb = cols.shape[0]
        if pr.cg == 1 and pr.groups > 1:
            src = cols[:, np.arange(pr.m) // pr.mg]
            d = dya[n0:n0 + nb]
            for p in range(geo.kernel[0]):
                for q in range(geo.kernel[1]):
                    tap = np.einsum("nmij,nmij->m", d, src[:, :, p, q])
                    dw.reshape(pr.m, geo.kernel[0], geo.kernel[1])[:, p, q] += tap
            continue
        for gi in range(pr.groups):
            mat = cols[:, gi * pr.cg:(gi + 1) * pr.cg].transpose(1, 2, 3, 0, 4, 5)
            mat = mat.reshape(pr.cg * geo.taps, nb * oh * ow)
            dmat = dya[n0:n0 + nb, gi * pr.mg:(gi + 1) * pr.mg].transpose(1, 0, 2, 3).reshape(pr.mg, -1)
            dw[gi] += dmat @ mat.T
    db = dya.sum(axis=(0, 2, 3))
    return dx, dw.reshape(wa.shape), db


# --- definitional forms: direct transcriptions of the clauses, for small cases only -------------

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
                                if 0 <= h < geo.in_hw[0] and 0 <= v < geo.in_hw[1]:
                                    s += xa[n, g * pr.cg + c, h, v] * wa[m, c, p, q]
                    y[n, m, i, j] = s
    return y


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
    return dx, dw, dya.sum(axis=(0, 2, 3))
