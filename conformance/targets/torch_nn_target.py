"""The ``torch:nn`` surface: PyTorch's layer classes (torch.nn.Conv2d, ConvTranspose2d, MaxPool2d,
AvgPool2d) rather than torch.nn.functional. A layer is built per case with the case's options and
its ``weight`` and ``bias`` set to the case's arrays; bugs can live in a layer's own argument
handling (its defaults, its padding modes), which the functional surface never meets.

Mapping: the spec's keywords are the layer's constructor arguments of the same names
(``kernel_size`` from the weight's shape for convolutions); everything else is the torch
target's (dtypes, devices, what is Unsupported).
"""

from __future__ import annotations

from typing import Any

from .torch_target import TorchTarget, _pair, _symmetric

#: The ops this surface's entry points compute.
OPS = ("conv2d", "conv_transpose2d", "max_pool2d", "avg_pool2d")


class TorchNNTarget(TorchTarget):
    name = "torch:nn"
    # The bias is copied into the layer's own parameter (a copy that would broadcast a short one): a
    # short bias never reaches the layer, so that break is not sent.
    passes_invalid = {op: tuple(b for b in breaks if b != "b-short")
                      for op, breaks in TorchTarget.passes_invalid.items() if op in OPS}

    def implements(self, op: str) -> bool:
        return op in OPS

    def _layer(self, layer: Any, w: Any, b: Any) -> Any:
        torch = self._torch
        layer = layer.to(device=self._dev, dtype=self._dt)
        with torch.no_grad():
            layer.weight.copy_(self._t(w))
            if b is not None:
                layer.bias.copy_(self._t(b))
        return layer

    def conv2d(self, x, w, b=None, *, stride=1, padding=0, dilation=1, groups=1):
        nn = self._torch.nn
        s = _pair(stride)
        layer = nn.Conv2d(w.shape[1] * groups, w.shape[0], (w.shape[2], w.shape[3]), stride=s,
                          padding=self._conv_padding(padding, s), dilation=_pair(dilation), groups=groups,
                          bias=b is not None)
        with self._torch.no_grad():
            return self._np(self._layer(layer, w, b)(self._t(x)))

    def conv_transpose2d(self, x, w, b=None, *, stride=1, padding=0, output_padding=0, dilation=1, groups=1):
        nn = self._torch.nn
        layer = nn.ConvTranspose2d(w.shape[0], w.shape[1] * groups, (w.shape[2], w.shape[3]), stride=_pair(stride),
                                   padding=_symmetric(padding, "conv_transpose2d"),
                                   output_padding=_pair(output_padding), groups=groups, bias=b is not None,
                                   dilation=_pair(dilation))
        with self._torch.no_grad():
            return self._np(self._layer(layer, w, b)(self._t(x)))

    def max_pool2d(self, x, kernel_size, *, stride=None, padding=0, dilation=1, ceil_mode=False,
                   return_indices=False):
        layer = self._torch.nn.MaxPool2d(**self._max_args(kernel_size, stride, padding, dilation, ceil_mode),
                                         return_indices=bool(return_indices))
        out = layer(self._t(x))
        if return_indices:
            import numpy as np

            return self._np(out[0]), out[1].cpu().numpy().astype(np.int64)
        return self._np(out)

    def avg_pool2d(self, x, kernel_size, *, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                   divisor_override=None):
        layer = self._torch.nn.AvgPool2d(**self._avg_args(kernel_size, stride, padding, ceil_mode,
                                                          count_include_pad, divisor_override))
        return self._np(layer(self._t(x)))


TARGET = TorchNNTarget
