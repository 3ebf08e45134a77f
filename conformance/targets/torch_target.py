"""The ``torch`` target: PyTorch's ``torch.nn.functional`` ops, forward and autograd backward.

Every op calls exactly one PyTorch function with the spec's parameters written in PyTorch's
argument form; nothing is padded, flipped or re-derived here. Inputs arrive as NumPy arrays
in the carrier dtype (conformance.dtypes) and become tensors of ``self.dtype`` on
``self.device``; results come back as NumPy arrays in that dtype (bfloat16 as float32).
On CUDA, PyTorch's defaults are kept (cuDNN may use TF32 for float32 convolutions): the
runner is meant to see what a user of the library gets.

Mapping (parameters: ints and (h, w) pairs pass through as (h, w) tuples):

``conv2d``
    ``F.conv2d(x, w, b, stride, padding, dilation, groups)``. Padding: int or (ph, pw) as
    (ph, pw); ((t, b), (l, r)) with t == b and l == r as (t, l); ``"valid"`` as ``"valid"``;
    ``"same"`` as ``"same"`` when both strides are 1.
``conv2d_backward``
    autograd through ``F.conv2d`` with a zero bias that requires grad:
    ``torch.autograd.grad(y, (x, w, b), dy)`` gives (dx, dw, db). Padding as conv2d.
``conv_transpose2d``
    ``F.conv_transpose2d(x, w, b, stride, padding, output_padding, groups, dilation)``;
    padding as conv2d, ``"valid"`` as 0.
``max_pool2d``
    ``F.max_pool2d(x, kernel_size, stride, padding, dilation, ceil_mode, return_indices)``
    (stride None stays None, PyTorch's "stride = kernel_size"); the indices PyTorch returns
    are already flat ``h * W + w`` per input plane.
``max_pool2d_backward``, ``avg_pool2d_backward``
    autograd through ``F.max_pool2d`` / ``F.avg_pool2d``: ``torch.autograd.grad(y, x, dy)``.
``avg_pool2d``
    ``F.avg_pool2d(x, kernel_size, stride, padding, ceil_mode, count_include_pad,
    divisor_override)``.
``im2col``
    ``F.unfold(x, kernel_size, dilation, padding, stride)`` gives (N, C*KH*KW, L) with
    columns already in the spec's (c, kh, kw) order; it is transposed to (N, L, C*KH*KW)
    and reshaped to (N*L, C*KH*KW), the spec's row order (n, i, j).

``conv_output_size``, ``conv_transpose_output_size`` (issue 13)
    the output height PyTorch's shape inference gives a (1, 1, size, 1) tensor on the ``meta``
    device (no data, no kernel): ``F.conv2d`` in floor mode, ``F.max_pool2d(ceil_mode=True)`` in
    ceil mode (the pooling limits below apply), ``F.conv_transpose2d`` for the transposed size.
``conv2d_cost``
    ``torch.utils.flop_counter.FlopCounterMode`` around a meta ``torch.nn.Conv2d`` of the case's
    shapes and options called on a meta input: FLOPs as the counter reports them, MACs as half of
    them (its convolution formula counts a multiply-add as 2 FLOPs) and the parameters as the
    layer's ``parameters()`` sizes.
``segmentation_labels``
    ``torch.argmax(logits, dim=-3)``.

Unsupported (raised as :class:`Unsupported`, with PyTorch's documented limitation):

* asymmetric padding ((t, b), (l, r)) with t != b or l != r, in every op: PyTorch's
  ``padding`` is "implicit paddings on both sides of the input" (one number per axis).
* ``padding="same"`` in conv2d with a stride other than 1: PyTorch documents that "this
  mode doesn't support any stride values other than 1".
* ``padding="same_lower"`` in conv2d and im2col, and ``"same"`` / ``"same_lower"`` in
  pooling and im2col: ``F.conv2d`` has only ``'valid'`` and ``'same'``; ``F.unfold``,
  ``F.max_pool2d`` and ``F.avg_pool2d`` take no string padding at all.
* pooling padding larger than half the kernel (``padding > kernel_size // 2`` on an
  axis): PyTorch documents "must be >= 0 and <= kernel_size / 2" and raises otherwise
  (POOL-2 names this case).

Known divergences from the spec are data, not prose: conformance/expectations/torch.toml
(checked by tests/test_expectations.py; the README's findings table is generated from it).

"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import Target, Unsupported
from ._geometry import explicit_pads
from ._geometry import pair as _pair


def _explicit(padding: Any) -> tuple[tuple[int, int], tuple[int, int]] | str:
    """A SIZE-2 padding -> ((t, b), (l, r)), or the string itself."""
    return explicit_pads(padding) or padding


def _symmetric(padding: Any, op: str, strings: tuple[str, ...] = ()) -> Any:
    """PyTorch's one-number-per-axis padding, or one of the strings the op accepts."""
    pads = _explicit(padding)
    if isinstance(pads, str):
        if pads in strings:
            return pads
        if pads == "valid":
            return (0, 0)
        raise Unsupported(f"torch.nn.functional.{op} has no padding={pads!r}")
    (t, b), (l, r) = pads
    if t != b or l != r:
        raise Unsupported(f"torch.nn.functional.{op} pads both sides of an axis equally; "
                          f"asymmetric padding {padding!r} cannot be expressed")
    return (t, l)


_CONV_FAMILY = ("conv2d", "conv2d_backward", "conv_transpose2d", "max_pool2d", "avg_pool2d",
                "max_pool2d_backward", "avg_pool2d_backward")


class TorchTarget(Target):
    name = "torch"
    requires = ("torch",)
    #: Rejection conformance: torch.nn.functional receives these as they are (issue 13).
    passes_invalid = {**{op: ("stride", "dilation", "padding", "groups", "kernel_size", "divisor_override", "x-3d",
                              "w-channels", "b-short", "groups-not-dividing", "kernel-too-large",
                              "output-padding-at-stride") for op in _CONV_FAMILY},
                      **{op: ("stride", "dilation", "padding", "kernel_size")
                         for op in ("conv_output_size", "conv_transpose_output_size")},
                      "conv2d_cost": ("stride", "dilation", "padding", "groups")}
    devices = ("cpu", "cuda")

    def setup(self, dtype: str, device: str) -> None:
        super().setup(dtype, device)
        import torch

        if device == "cuda" and not torch.cuda.is_available():
            raise Unsupported("torch: CUDA is not available (torch.cuda.is_available() is False)")
        self._torch = torch
        self._dev = torch.device(device)
        self._dt = {"float32": torch.float32, "float64": torch.float64, "float16": torch.float16,
                    "bfloat16": torch.bfloat16}[dtype]

    def version(self) -> str:
        import torch

        return str(torch.__version__)

    # --- conversions -------------------------------------------------------------------------

    def _t(self, a: Any, grad: bool = False) -> Any:
        if a is None:
            return None
        t = self._torch.from_numpy(np.ascontiguousarray(a)).to(device=self._dev, dtype=self._dt)
        return t.requires_grad_() if grad else t

    def _np(self, t: Any) -> np.ndarray:
        t = t.detach()
        if t.dtype == self._torch.bfloat16:
            t = t.to(self._torch.float32)
        return t.cpu().numpy()

    def _pool_padding(self, padding: Any, kernel: tuple[int, int], op: str) -> tuple[int, int]:
        pad = _symmetric(padding, op)
        for p, k in zip(pad, kernel, strict=True):
            if p > k // 2:
                raise Unsupported(f"torch.nn.functional.{op} requires padding <= kernel_size / 2 "
                                  f"(got padding {pad} for kernel {kernel})")
        return pad

    # --- convolution -------------------------------------------------------------------------

    def _conv_padding(self, padding: Any, stride: tuple[int, int]) -> Any:
        if padding == "same" and stride != (1, 1):
            raise Unsupported("torch.nn.functional.conv2d: padding='same' does not support "
                              f"strides other than 1 (stride {stride})")
        return _symmetric(padding, "conv2d", ("valid", "same"))

    def conv2d(self, x, w, b=None, *, stride=1, padding=0, dilation=1, groups=1):
        F = self._torch.nn.functional
        s = _pair(stride)
        y = F.conv2d(self._t(x), self._t(w), self._t(b), stride=s,
                     padding=self._conv_padding(padding, s), dilation=_pair(dilation), groups=groups)
        return self._np(y)

    def conv2d_backward(self, dy, x, w, *, stride=1, padding=0, dilation=1, groups=1):
        torch = self._torch
        s = _pair(stride)
        pad = self._conv_padding(padding, s)
        xt, wt = self._t(x, grad=True), self._t(w, grad=True)
        bt = torch.zeros(wt.shape[0], dtype=self._dt, device=self._dev, requires_grad=True)
        y = torch.nn.functional.conv2d(xt, wt, bt, stride=s, padding=pad, dilation=_pair(dilation),
                                       groups=groups)
        dx, dw, db = torch.autograd.grad(y, (xt, wt, bt), self._t(dy))
        return self._np(dx), self._np(dw), self._np(db)

    def conv_transpose2d(self, x, w, b=None, *, stride=1, padding=0, output_padding=0, dilation=1,
                         groups=1):
        F = self._torch.nn.functional
        y = F.conv_transpose2d(self._t(x), self._t(w), self._t(b), stride=_pair(stride),
                               padding=_symmetric(padding, "conv_transpose2d"),
                               output_padding=_pair(output_padding), groups=groups,
                               dilation=_pair(dilation))
        return self._np(y)

    # --- pooling -----------------------------------------------------------------------------

    def _max_args(self, kernel_size, stride, padding, dilation, ceil_mode) -> dict[str, Any]:
        k = _pair(kernel_size)
        return {"kernel_size": k, "stride": None if stride is None else _pair(stride),
                "padding": self._pool_padding(padding, k, "max_pool2d"),
                "dilation": _pair(dilation), "ceil_mode": bool(ceil_mode)}

    def max_pool2d(self, x, kernel_size, *, stride=None, padding=0, dilation=1, ceil_mode=False,
                   return_indices=False):
        F = self._torch.nn.functional
        kw = self._max_args(kernel_size, stride, padding, dilation, ceil_mode)
        if return_indices:
            y, idx = F.max_pool2d(self._t(x), **kw, return_indices=True)
            return self._np(y), idx.cpu().numpy().astype(np.int64)
        return self._np(F.max_pool2d(self._t(x), **kw))

    def max_pool2d_backward(self, dy, x, kernel_size, *, stride=None, padding=0, dilation=1,
                            ceil_mode=False):
        torch = self._torch
        kw = self._max_args(kernel_size, stride, padding, dilation, ceil_mode)
        xt = self._t(x, grad=True)
        y = torch.nn.functional.max_pool2d(xt, **kw)
        (dx,) = torch.autograd.grad(y, (xt,), self._t(dy))
        return self._np(dx)

    def _avg_args(self, kernel_size, stride, padding, ceil_mode, count_include_pad,
                  divisor_override) -> dict[str, Any]:
        k = _pair(kernel_size)
        return {"kernel_size": k, "stride": None if stride is None else _pair(stride),
                "padding": self._pool_padding(padding, k, "avg_pool2d"), "ceil_mode": bool(ceil_mode),
                "count_include_pad": bool(count_include_pad), "divisor_override": divisor_override}

    def avg_pool2d(self, x, kernel_size, *, stride=None, padding=0, ceil_mode=False,
                   count_include_pad=True, divisor_override=None):
        F = self._torch.nn.functional
        kw = self._avg_args(kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
        return self._np(F.avg_pool2d(self._t(x), **kw))

    def avg_pool2d_backward(self, dy, x, kernel_size, *, stride=None, padding=0, ceil_mode=False,
                            count_include_pad=True, divisor_override=None):
        torch = self._torch
        kw = self._avg_args(kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
        xt = self._t(x, grad=True)
        y = torch.nn.functional.avg_pool2d(xt, **kw)
        (dx,) = torch.autograd.grad(y, (xt,), self._t(dy))
        return self._np(dx)

    # --- im2col ------------------------------------------------------------------------------

    def im2col(self, x, kernel_size, *, stride=1, padding=0, dilation=1):
        F = self._torch.nn.functional
        cols = F.unfold(self._t(x), kernel_size=_pair(kernel_size), dilation=_pair(dilation),
                        padding=_symmetric(padding, "unfold"), stride=_pair(stride))
        n, ckk, length = cols.shape
        return self._np(cols.transpose(1, 2).reshape(n * length, ckk))

    # --- output sizes and cost: PyTorch's shape inference on meta tensors ---------------------
    #
    # A one-axis size is the H of the output PyTorch infers for a (1, 1, size, 1) meta tensor (no
    # data, no arithmetic: the shape functions of the ops run alone), so these check the formulas
    # PyTorch's kernels size their outputs with, separately from the kernels' values.

    def _meta(self, *shape: Any) -> Any:
        return self._torch.empty(shape, device="meta")

    def _axis_padding(self, padding: Any, op: str, strings: tuple[str, ...] = ()) -> Any:
        """One axis's padding (an int, (before, after) or a string) as PyTorch's 2-D padding."""
        if isinstance(padding, str):
            return _symmetric(padding, op, strings)
        pair = padding if isinstance(padding, (tuple, list)) else (padding, padding)
        p = _symmetric((tuple(pair), (0, 0)), op, strings)
        return p

    def conv_output_size(self, size, kernel_size, *, stride=1, padding=0, dilation=1, ceil_mode=False):
        """floor mode: ``F.conv2d`` (no padding limit; "same" with stride 1); ceil_mode: ``F.max_pool2d``
        (the only op with a ceil_mode whose shape takes a dilation)."""
        F = self._torch.nn.functional
        x = self._meta(1, 1, size, 1)
        if ceil_mode:
            pad = self._pool_padding(self._axis_padding(padding, "max_pool2d"), (kernel_size, 1), "max_pool2d")
            y = F.max_pool2d(x, (kernel_size, 1), (stride, 1), pad, (dilation, 1), ceil_mode=True)
        else:
            pad = self._conv_padding(self._axis_padding(padding, "conv2d", ("valid", "same")), (stride, 1))
            y = F.conv2d(x, self._meta(1, 1, kernel_size, 1), stride=(stride, 1), padding=pad, dilation=(dilation, 1))
        return np.int64(y.shape[2])

    def conv_transpose_output_size(self, size, kernel_size, *, stride=1, padding=0, output_padding=0, dilation=1):
        """``F.conv_transpose2d`` on meta tensors."""
        y = self._torch.nn.functional.conv_transpose2d(
            self._meta(1, 1, size, 1), self._meta(1, 1, kernel_size, 1), stride=(stride, 1),
            padding=self._axis_padding(padding, "conv_transpose2d"), output_padding=(output_padding, 0),
            dilation=(dilation, 1))
        return np.int64(y.shape[2])

    def conv2d_cost(self, x_shape, w_shape, *, stride=1, padding=0, dilation=1, groups=1, bias=True):
        """``torch.utils.flop_counter.FlopCounterMode`` around a meta ``torch.nn.Conv2d`` of these shapes
        called on a meta input: its total FLOPs, half of them as MACs (the counter's convolution
        formula counts each multiply-add as 2 FLOPs), and the layer's ``parameters()`` sizes."""
        torch = self._torch
        from torch.utils.flop_counter import FlopCounterMode

        m, cg, kh, kw = w_shape
        pad = self._conv_padding(padding, _pair(stride))
        layer = torch.nn.Conv2d(x_shape[1], m, (kh, kw), stride=_pair(stride), padding=pad,
                                dilation=_pair(dilation), groups=groups, bias=bool(bias), device="meta")
        if tuple(layer.weight.shape) != tuple(w_shape):
            raise ValueError(f"torch.nn.Conv2d({x_shape[1]}, {m}, groups={groups}) has weights "
                             f"{tuple(layer.weight.shape)}, not w_shape {tuple(w_shape)}")
        with FlopCounterMode(display=False) as counter:
            layer(self._meta(*x_shape))
        flops = int(counter.get_total_flops())
        return flops // 2, flops, sum(int(p.numel()) for p in layer.parameters())

    # --- segmentation -------------------------------------------------------------------------

    def segmentation_labels(self, logits):
        """``torch.argmax(logits, dim=-3)`` (PyTorch documents the first maximal index on ties)."""
        return self._torch.argmax(self._t(logits), dim=-3).cpu().numpy().astype(np.int64)


TARGET = TorchTarget
