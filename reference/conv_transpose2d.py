"""Transposed convolution: the adjoint of conv2d in its input (CONVT-1 ... CONVT-5)."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _window as win
from ._errors import fail
from ._params import as_array, as_int, explicit_padding, ieee, pair
from .conv2d import ConvProblem, ShapeOnly, _bias, conv2d, conv_problem, input_grad
from .output_size import _transpose_len


def _problem(x: np.ndarray, w: np.ndarray, stride: Any, padding: Any, output_padding: Any,
             dilation: Any, groups: Any) -> tuple[ConvProblem, tuple[int, ...]]:
    """The forward conv2d whose input gradient this transposed convolution is, and y's shape."""
    g = as_int(groups, "groups", "CONVT-2", 1)
    n, c = x.shape[:2]
    if x.shape[2] < 1 or x.shape[3] < 1:
        fail("x.shape", x.shape, "SPEC-7", "H and W must be >= 1")
    if min(w.shape[1:]) < 1:
        fail("w.shape", w.shape, "SPEC-7", "M/groups, KH and KW must be >= 1")
    if c != w.shape[0]:
        fail("w.shape", w.shape, "CONVT-2", f"w.shape[0] must equal the input channels C={c}")
    if c % g:
        fail("groups", g, "CONVT-2", f"must divide the input channels C={c}")
    if padding in ("same", "same_lower"):
        fail("padding", padding, "CONVT-5", "transposed convolution takes numeric padding or 'valid'")
    pads = explicit_padding(0 if padding == "valid" else padding)
    assert pads is not None
    kernel, s, d = pair(w.shape[2:], "w.shape[2:]"), pair(stride, "stride"), pair(dilation, "dilation")
    op = pair(output_padding, "output_padding", "SIZE-8", minimum=0)
    out_hw = tuple(_transpose_len(x.shape[2 + a], kernel[a], s[a], *pads[a], d[a], op[a],
                                  f"x.shape[{2 + a}]") for a in (0, 1))
    y_shape = (n, w.shape[1] * g) + out_hw
    # The forward conv maps y_shape to x's shape with the same geometry; output_padding
    # rows at the bottom/right are exactly those its floor() leaves unread (CONVT-3).
    pr = conv_problem(ShapeOnly(y_shape), w, s, pads, d, g)  # type: ignore[arg-type]
    return pr, y_shape



@ieee
def conv_transpose2d(x: Any, w: Any, b: Any = None, *, stride: Any = 1, padding: Any = 0,
                     output_padding: Any = 0, dilation: Any = 1, groups: int = 1) -> np.ndarray:
    """Transposed 2-D convolution ("deconvolution"), the adjoint of conv2d in its input.

    Clauses: CONVT-1 (definition as adjoint, scatter form), CONVT-2 (weight layout),
    CONVT-3 / SIZE-8 (output size, output_padding at the end), CONVT-5 (padding forms).

    Formula (scatter form)::

        y[n, g*M/G + m, i*Sh + p*Dh - Pt, j*Sw + q*Dw - Pl] += x[n, g*C/G + c, i, j] * w[g*C/G + c, m, p, q]
        then y += b[m]; positions outside the output are dropped.

    Shapes: x (N, C, H, W), w (C, M/G, KH, KW), b (M,) or None -> float64 (N, M, OH, OW) with
    OH = (H - 1)*Sh - Pt - Pb + Dh*(KH - 1) + output_padding_h + 1.
    Method: :func:`reference.conv2d.input_grad` (per stride phase of y, a unit-stride
    correlation of x by GEMM; the scatter form by blocks when a weight is not finite).
    Memory (peak extra, besides y): the zero-padded phase planes of x (~ x padded by the
    kernel's reach), one tile of columns of at most ``BLOCK_BYTES`` (32 MiB) and its GEMM
    result (at most that tile's share of y).
    Raises :class:`SpecError` on wrong ndim, C != w.shape[0], groups not dividing C,
    output_padding >= max(stride, dilation), an output size < 1, or string padding other
    than "valid".
    """
    xa, wa = win.input4d(x, clause="CONVT-2"), as_array(w, "w", 4, "CONVT-2")
    pr, _ = _problem(xa, wa, stride, padding, output_padding, dilation, groups)
    ba = _bias(b, pr.c, "CONVT-2")
    # output_padding >= stride (allowed when dilation > stride) makes the forward conv of y's
    # shape one row longer than x: input_grad takes the row as absent (no terms, CONVT-1).
    y = input_grad(xa, wa, pr)
    if ba is not None:
        y += ba[None, :, None, None]
    return y


@ieee
def conv_transpose2d_fourstep(x: Any, w: Any, b: Any = None, *, stride: Any = 1, padding: Any = 0,
                              output_padding: Any = 0, dilation: Any = 1, groups: int = 1,
                              flip_kernel: bool = True) -> np.ndarray:
    """CONVT-4, the textbook's construction: dilate x by stride, pad, conv2d with the flipped kernel.

    ``flip_kernel=False`` is variant ``unflipped-kernel``.
    """
    xa, wa = win.input4d(x, clause="CONVT-2"), as_array(w, "w", 4, "CONVT-2")
    pr, y_shape = _problem(xa, wa, stride, padding, output_padding, dilation, groups)
    ba = _bias(b, pr.c, "CONVT-2")
    (sh, sw), (dh, dw), (kh, kw) = pr.geo.stride, pr.geo.dilation, pr.geo.kernel
    n, c, h, wd = xa.shape
    # Step 1: S - 1 zeros between input pixels.
    up = np.zeros((n, c, (h - 1) * sh + 1, (wd - 1) * sw + 1))
    up[:, :, ::sh, ::sw] = xa
    # Step 2: pad by D*(K-1) - P (crop where negative); output_padding extends the end.
    (pt, pb), (pl, pr_) = pr.geo.pads
    oph, opw = y_shape[2] - ((h - 1) * sh - pt - pb + dh * (kh - 1) + 1), \
        y_shape[3] - ((wd - 1) * sw - pl - pr_ + dw * (kw - 1) + 1)
    edges = [dh * (kh - 1) - pt, dh * (kh - 1) - pb + oph, dw * (kw - 1) - pl, dw * (kw - 1) - pr_ + opw]
    grown = np.pad(up, ((0, 0), (0, 0), (max(edges[0], 0), max(edges[1], 0)),
                        (max(edges[2], 0), max(edges[3], 0))))
    grown = grown[:, :, max(-edges[0], 0):grown.shape[2] - max(-edges[1], 0),
                  max(-edges[2], 0):grown.shape[3] - max(-edges[3], 0)]
    # Step 3: flip spatially and swap in/out channels within each group.
    g, cg, mg = pr.groups, c // pr.groups, wa.shape[1]
    wf = wa.reshape(g, cg, mg, kh, kw).transpose(0, 2, 1, 3, 4).reshape(g * mg, cg, kh, kw)
    if flip_kernel:
        wf = wf[:, :, ::-1, ::-1]
    return conv2d(grown, wf, ba, stride=1, padding=0, dilation=(dh, dw), groups=g)


@ieee
def conv_transpose2d_definitional(x: Any, w: Any, b: Any = None, *, stride: Any = 1,
                                  padding: Any = 0, output_padding: Any = 0, dilation: Any = 1,
                                  groups: int = 1) -> np.ndarray:
    """CONVT-1's scatter form, one term at a time (small cases only)."""
    xa, wa = win.input4d(x, clause="CONVT-2"), as_array(w, "w", 4, "CONVT-2")
    pr, y_shape = _problem(xa, wa, stride, padding, output_padding, dilation, groups)
    ba = _bias(b, pr.c, "CONVT-2")
    (sh, sw), (dh, dw), (kh, kw) = pr.geo.stride, pr.geo.dilation, pr.geo.kernel
    (pt, _), (pl, _) = pr.geo.pads
    cg, mg = pr.mg, wa.shape[1]  # the forward problem's M/G is this op's C/G
    y = np.zeros(y_shape)
    for n, c, i, j in np.ndindex(*xa.shape):
        g = c // cg
        for m, p, q in np.ndindex(mg, kh, kw):
            oi, oj = i * sh + p * dh - pt, j * sw + q * dw - pl
            if 0 <= oi < y_shape[2] and 0 <= oj < y_shape[3]:
                y[n, g * mg + m, oi, oj] += xa[n, c, i, j] * wa[c, m, p, q]
    if ba is not None:
        y += ba[None, :, None, None]
    return y
