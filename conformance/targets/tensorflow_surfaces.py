"""TensorFlow surfaces other than tf.nn's: ``tensorflow:depthwise`` and ``tensorflow:keras``.

* ``tensorflow:depthwise`` — ``tf.nn.depthwise_conv2d``, TensorFlow's dedicated depthwise kernel, for
  the conv2d cases with groups = C (each input channel its own group; M = C·multiplier). The spec's
  OIHW weight (C·mult, 1, KH, KW) becomes the filter (KH, KW, C, mult) (output channel c·mult + m, as
  in grouped convolution). Padding: "valid"/"same" or explicit pads as tf.nn.conv2d takes them.
  Other groups are Unsupported (not a depthwise convolution).
* ``tensorflow:keras`` — the Keras 3 layers ``Conv2D``, ``MaxPooling2D`` and ``AveragePooling2D``
  (channels_last; the adapter transposes NCHW). Keras layers take padding "valid" or "same" only
  (numeric padding 0 is "valid"; other numeric padding is Unsupported), no dilation for pooling, no
  ceil_mode, no indices, no divisor_override; ``groups`` and ``dilation_rate`` go to Conv2D as they are.

Everything else is the tensorflow target's (dtypes, devices, TensorFlow's own refusals as Unsupported).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import Unsupported
from .tensorflow_target import TensorFlowTarget, _pair, _spell


class DepthwiseTarget(TensorFlowTarget):
    name = "tensorflow:depthwise"
    passes_invalid = {"conv2d": ("stride", "dilation", "padding", "kernel_size", "kernel-too-large")}

    def implements(self, op: str) -> bool:
        return op == "conv2d"

    def conv2d(self, x, w, b=None, *, stride=1, padding=0, dilation=1, groups=1):
        c = x.shape[1] if np.ndim(x) == 4 else 0
        if groups != c or w.shape[1] != 1 or w.shape[0] % max(c, 1):
            raise Unsupported(f"tf.nn.depthwise_conv2d is a depthwise convolution (groups = C = {c}), "
                              f"not groups={groups}")
        s, d = _pair(stride), _pair(dilation)
        k = (w.shape[2], w.shape[3])
        hw = (x.shape[2], x.shape[3])
        mult = w.shape[0] // c
        filt = np.transpose(w.reshape(c, mult, k[0], k[1]), (2, 3, 0, 1))  # (KH, KW, C, mult)

        def fn():
            tf = self.tf
            pad = _spell(padding, hw, k, s, d, explicit=True)
            y = tf.nn.depthwise_conv2d(self._nhwc(x), self._const(filt), strides=[1, s[0], s[1], 1],
                                       padding=pad, dilations=list(d))
            return y if b is None else tf.nn.bias_add(y, self._const(b))

        return self._out(self._run(fn))


def _keras_padding(padding: Any) -> str:
    if padding in ("valid", "same"):
        return padding
    if isinstance(padding, str):
        raise Unsupported(f"Keras layers take padding 'valid' or 'same', not {padding!r}")
    flat = np.asarray(padding, dtype=object).ravel().tolist()
    if all(v == 0 for v in flat):
        return "valid"
    raise Unsupported(f"Keras layers take padding 'valid' or 'same', not the numbers {padding!r}")


class KerasTarget(TensorFlowTarget):
    name = "tensorflow:keras"
    passes_invalid = {"conv2d": ("stride", "dilation", "padding", "groups", "groups-not-dividing"),
                      "max_pool2d": ("stride", "padding", "kernel_size"),
                      "avg_pool2d": ("stride", "padding", "kernel_size")}

    def implements(self, op: str) -> bool:
        return op in ("conv2d", "max_pool2d", "avg_pool2d")

    def conv2d(self, x, w, b=None, *, stride=1, padding=0, dilation=1, groups=1):
        import keras

        if max(_pair(stride)) > 1 and max(_pair(dilation)) > 1:
            raise Unsupported("keras.layers.Conv2D refuses strides > 1 together with dilation_rate > 1")
        layer = keras.layers.Conv2D(w.shape[0], (w.shape[2], w.shape[3]), strides=_pair(stride),
                                    padding=_keras_padding(padding), dilation_rate=_pair(dilation), groups=groups,
                                    use_bias=b is not None, dtype=self.dtype if self.dtype != "bfloat16" else None)
        xt = np.ascontiguousarray(np.transpose(x, (0, 2, 3, 1)))
        layer.build(xt.shape)
        weights = [np.transpose(w, (2, 3, 1, 0))] + ([b] if b is not None else [])
        layer.set_weights(weights)
        return self._out(self._run(lambda: layer(self._nhwc(x))))

    def _pool(self, kind: str, x, kernel_size, stride, padding):
        import keras

        cls = {"max": keras.layers.MaxPooling2D, "avg": keras.layers.AveragePooling2D}[kind]
        layer = cls(pool_size=_pair(kernel_size), strides=None if stride is None else _pair(stride),
                    padding=_keras_padding(padding))
        return self._out(self._run(lambda: layer(self._nhwc(x))))

    def max_pool2d(self, x, kernel_size, *, stride=None, padding=0, dilation=1, ceil_mode=False,
                   return_indices=False):
        if return_indices:
            raise Unsupported("keras.layers.MaxPooling2D returns no indices")
        if _pair(dilation) != (1, 1) or ceil_mode:
            raise Unsupported("keras.layers.MaxPooling2D has no dilation and no ceil_mode")
        return self._pool("max", x, kernel_size, stride, padding)

    def avg_pool2d(self, x, kernel_size, *, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                   divisor_override=None):
        if ceil_mode or divisor_override is not None:
            raise Unsupported("keras.layers.AveragePooling2D has no ceil_mode and no divisor_override")
        if padding == "same" and count_include_pad:
            raise Unsupported("keras.layers.AveragePooling2D with 'same' divides by the window's real "
                              "elements only (count_include_pad=False)")
        return self._pool("avg", x, kernel_size, stride, padding)


TARGET = DepthwiseTarget
