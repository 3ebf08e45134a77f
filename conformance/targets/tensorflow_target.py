"""The ``tensorflow`` target: TensorFlow's ``tf.nn`` ops, called eagerly, in NHWC.

Layout. The spec is NCHW/OIHW; the adapter hands TensorFlow NHWC tensors and HWIO
filters (a transpose in NumPy, a plain format mapping) because TensorFlow's CPU kernels
mostly lack NCHW. Outputs are transposed back. Every number is computed by TensorFlow.

Dtypes. float64, float32, float16 and bfloat16 map to the ``tf`` dtype of that name
(bfloat16 arrives as float32 holding bfloat16 values, is cast to ``tf.bfloat16`` exactly,
and comes back as float32). A kernel TensorFlow does not register for a dtype or an
option it declares unsupported ("not supported", "do not yet support", "not implemented")
becomes :class:`Unsupported`; every other exception propagates and is a failure.

Padding (SIZE-2). The spec's padding is resolved per axis to (before, after) and spelled
the way TensorFlow spells it: ``"valid"`` or all-zero pads -> ``"VALID"``; ``"same"`` ->
``"SAME"`` (TensorFlow's documented SAME is the spec's SIZE-5 rule, the odd pad at the end);
numeric pads equal to what TensorFlow's SAME rule gives for this input -> ``"SAME"``;
other numeric pads -> the explicit list ``[[0, 0], [t, b], [l, r], [0, 0]]`` where the op
takes one. ``"same_lower"`` (SIZE-6) has no TensorFlow spelling -> Unsupported.

Mapping per op:

- ``conv2d`` -> ``tf.nn.conv2d`` (filters HWIO; groups > 1 by the filter's in-channel
  count C/G, which TensorFlow's Conv2D reads as a grouped convolution) then
  ``tf.nn.bias_add``. Stride and dilation go through as they are (TensorFlow's Conv2D
  accepts both together on the CPU).
- ``conv2d_backward`` -> ``tf.GradientTape`` over the same forward (with a zero bias
  through ``tf.nn.bias_add`` so that db is TensorFlow's BiasAddGrad), ``output_gradients=dy``.
- ``conv_transpose2d`` -> ``tf.nn.conv2d_transpose`` with ``output_shape`` set to the
  SIZE-8 size: output_padding is exactly the freedom ``output_shape`` has (the forward
  conv's floor leaves up to stride − 1 trailing rows unread), so output_padding < stride
  maps; output_padding >= stride (allowed by the spec when dilation > stride) has no
  output_shape whose forward conv gives x's size -> Unsupported. Weights (C, M/G, KH, KW)
  become TensorFlow's [KH, KW, M/G, C]; groups > 1 is read from that shape as in Conv2D.
  Bias via ``tf.nn.bias_add``.
- ``max_pool2d`` -> ``tf.nn.max_pool2d`` (explicit pads allowed, each < the kernel, as its
  MaxPool kernel requires -> else Unsupported); with ``return_indices`` ->
  ``tf.nn.max_pool_with_argmax(include_batch_in_index=False)``, which takes only
  "SAME"/"VALID". Its argmax is the NHWC flat index ``(h * W + w) * C + c``; the spec's
  per-plane index is ``h * W + w`` = argmax // C (a plain format mapping). dilation > 1 ->
  ``tf.nn.pool(pooling_type="MAX", dilations=...)``, which TensorFlow allows only with
  stride 1 and VALID padding and without indices -> otherwise Unsupported.
- ``avg_pool2d`` -> ``tf.nn.avg_pool2d``: "VALID" or "SAME" only. TensorFlow's SAME
  average divides by the count of real input taps, which is the spec's
  count_include_pad=False (POOL-AVG-3); with count_include_pad=True only padding that
  resolves to zero maps. divisor_override has no TensorFlow counterpart -> Unsupported.
- ``*_backward`` of the pools -> ``tf.GradientTape`` over the same forward call.

ceil_mode (SIZE-7): TensorFlow has none. When ceil_mode gives the same output size as
floor mode it changes nothing and the case goes through; otherwise Unsupported.

Unsupported, in short: "same_lower"; conv_transpose2d output_padding >= stride; max pooling
explicit pads >= the kernel; pooling pads that are neither VALID nor TensorFlow's SAME where
the op takes no explicit list (max with indices, avg); avg count_include_pad=True with
nonzero padding; divisor_override; ceil_mode where it changes the size; max dilation > 1 with
stride > 1, padding or indices; and whatever TensorFlow's own kernels declare unsupported.
On the CPU that last group is Conv2DBackpropInput (conv2d_backward's dx, conv_transpose2d)
with groups > 1 or dilation > 1: "not supported on CPU" / "do not yet support dilation rates
larger than 1" in float64 and float16 whatever the padding, and in float32 and bfloat16
(where oneDNN serves VALID and SAME) with explicit padding. "cuda" without a GPU is
Unsupported at setup.

Known disagreements with the spec, each pinned by a strict xfail test in
tests/test_target_tensorflow.py:

- POOL-MAX-2: ``tf.nn.max_pool2d`` skips NaN (x = [1, NaN], kernel (1, 2) gives 1).
- POOL-MAX-2/3: ``tf.nn.max_pool_with_argmax`` keeps a NaN only when it is the window's first
  element (x = [1, NaN] gives 1 at index 0; [NaN, 1] gives NaN at 0, as the spec says).
- POOL-MAX-4: MaxPoolGrad sends a NaN window's gradient to the largest non-NaN element.
- POOL-MAX-1 / TOL-5: ``tf.nn.max_pool2d`` returns the dtype's lowest finite value
  (-3.4028235e38 in float32) for a window of -inf (``max_pool_with_argmax`` gives -inf).
- CONV-1 / CONV-5 / TOL-5: conv2d skips padded taps (explicit and SAME alike), so an infinite
  weight over padding gives ±inf where the spec's 0 · inf term gives NaN.
- CONV-2 / SPEC-7: the oneDNN Conv2D (float32, bfloat16) returns an empty batch in the
  input's shape (N = 0, C channels) instead of (0, M, OH, OW); float64 and float16 are right.
- POOL-1 / SPEC-7: ``tf.nn.max_pool_with_argmax`` rejects an empty batch ("tensor_in must
  not be empty"); it propagates as a failure, not Unsupported, because the spec requires N = 0.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from . import Target, Unsupported

# --- parameter forms (SIZE-1, SIZE-2): parsing only, no arithmetic of the ops ---------------------


def _pair(v: Any) -> tuple[int, int]:
    return (int(v), int(v)) if not isinstance(v, (tuple, list)) else (int(v[0]), int(v[1]))


def _pads(padding: Any) -> tuple[tuple[int, int], tuple[int, int]] | str:
    """Numeric padding -> ((t, b), (l, r)); strings are returned as they are."""
    if isinstance(padding, str):
        return padding
    if isinstance(padding, (tuple, list)):
        if all(isinstance(p, (tuple, list)) for p in padding):
            (t, b), (l, r) = padding
            return ((int(t), int(b)), (int(l), int(r)))
        ph, pw = _pair(padding)
        return ((ph, ph), (pw, pw))
    p = int(padding)
    return ((p, p), (p, p))


def _tf_same(size: int, k: int, s: int, d: int) -> tuple[int, int]:
    """TensorFlow's documented SAME padding of one axis: total split with the odd pad at the end."""
    out = -(-size // s)
    total = max((out - 1) * s + d * (k - 1) + 1 - size, 0)
    return (total // 2, total - total // 2)


def _explicit_list(pads: tuple[tuple[int, int], tuple[int, int]]) -> list[list[int]]:
    return [[0, 0], list(pads[0]), list(pads[1]), [0, 0]]


def _is_zero(pads: Any) -> bool:
    return not isinstance(pads, str) and all(p == 0 for ax in pads for p in ax)


def _spell(padding: Any, hw: tuple[int, int], k: tuple[int, int], s: tuple[int, int],
           d: tuple[int, int], *, explicit: bool) -> Any:
    """The spec's padding as TensorFlow spells it (see the module docstring)."""
    pads = _pads(padding)
    if pads == "valid":
        return "VALID"
    if pads == "same":
        return "SAME"
    if pads == "same_lower":
        raise Unsupported("TensorFlow has no SAME_LOWER padding (the odd pad at the start)")
    if _is_zero(pads):
        return "VALID"
    if all(pads[a] == _tf_same(hw[a], k[a], s[a], d[a]) for a in (0, 1)):
        return "SAME"
    if not explicit:
        raise Unsupported(f"padding {padding!r} is neither VALID nor what SAME gives here, and this "
                          f"TensorFlow op takes no explicit padding")
    return _explicit_list(pads)  # type: ignore[arg-type]


def _resolved(spelled: Any, hw: tuple[int, int], k: tuple[int, int], s: tuple[int, int],
              d: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int]]:
    """The (before, after) pads a TensorFlow padding spelling means for this input."""
    if spelled == "VALID":
        return ((0, 0), (0, 0))
    if spelled == "SAME":
        return (_tf_same(hw[0], k[0], s[0], d[0]), _tf_same(hw[1], k[1], s[1], d[1]))
    return ((spelled[1][0], spelled[1][1]), (spelled[2][0], spelled[2][1]))


def _ceil_changes_size(hw: tuple[int, int], k: tuple[int, int], s: tuple[int, int], d: tuple[int, int],
                       pads: tuple[tuple[int, int], tuple[int, int]]) -> bool:
    """Does SIZE-7's ceil_mode give a different output size from floor mode here?"""
    for a in (0, 1):
        span = hw[a] + sum(pads[a]) - d[a] * (k[a] - 1) - 1
        ceil = -(-span // s[a]) + 1
        if (ceil - 1) * s[a] >= hw[a] + pads[a][0]:
            ceil -= 1
        if ceil != span // s[a] + 1:
            return True
    return False


_UNSUPPORTED_WORDS = ("not supported", "do not yet support", "not implemented", "no opkernel",
                      "could not find device for node", "not yet supported")


class TensorFlowTarget(Target):
    name = "tensorflow"
    requires = ("tensorflow",)
    devices = ("cpu", "cuda")

    def setup(self, dtype: str, device: str) -> None:
        super().setup(dtype, device)
        import tensorflow as tf

        self.tf = tf
        if device == "cuda":
            if not tf.config.list_physical_devices("GPU"):
                raise Unsupported("TensorFlow sees no GPU (tensorflow-cpu, or no CUDA device)")
            self._device = "/GPU:0"
        else:
            self._device = "/CPU:0"
        self._tfdtype = {"float64": tf.float64, "float32": tf.float32, "float16": tf.float16,
                         "bfloat16": tf.bfloat16}[dtype]

    def version(self) -> str:
        import tensorflow as tf

        return str(tf.__version__)

    # --- conversion ---------------------------------------------------------------------------------

    def _nhwc(self, x: np.ndarray) -> Any:
        return self.tf.cast(self.tf.constant(np.ascontiguousarray(np.transpose(x, (0, 2, 3, 1)))),
                            self._tfdtype)

    def _const(self, a: np.ndarray) -> Any:
        return self.tf.cast(self.tf.constant(np.ascontiguousarray(a)), self._tfdtype)

    def _out(self, t: Any, nchw: bool = True) -> np.ndarray:
        if self.dtype == "bfloat16":
            t = self.tf.cast(t, self.tf.float32)
        a = t.numpy()
        return np.ascontiguousarray(np.transpose(a, (0, 3, 1, 2))) if nchw else a

    def _run(self, fn: Any) -> Any:
        """Run ``fn`` on the device; TensorFlow's own "unsupported" answers become Unsupported."""
        tf = self.tf
        try:
            with tf.device(self._device):
                return fn()
        except (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError, tf.errors.NotFoundError,
                tf.errors.AbortedError, ValueError) as exc:
            msg = str(exc).lower()
            if isinstance(exc, tf.errors.UnimplementedError) or any(w in msg for w in _UNSUPPORTED_WORDS):
                first = re.sub(r"\{\{function_node [^}]*\}\}\s*", "", str(exc).strip()).splitlines()[0]
                raise Unsupported(f"TensorFlow: {first[:300]}") from exc
            raise

    # --- convolution ----------------------------------------------------------------------------------

    def _conv_forward(self, xt: Any, wt: Any, bt: Any, stride: Any, padding: Any, dilation: Any,
                      hw: tuple[int, int], k: tuple[int, int]) -> Any:
        s, d = _pair(stride), _pair(dilation)
        pad = _spell(padding, hw, k, s, d, explicit=True)
        y = self.tf.nn.conv2d(xt, wt, strides=[1, s[0], s[1], 1], padding=pad,
                              dilations=[1, d[0], d[1], 1])
        return y if bt is None else self.tf.nn.bias_add(y, bt)

    def conv2d(self, x, w, b=None, *, stride=1, padding=0, dilation=1, groups=1):
        k = (w.shape[2], w.shape[3])
        hw = (x.shape[2], x.shape[3])

        def fn():
            wt = self._const(np.transpose(w, (2, 3, 1, 0)))  # OIHW -> HWIO (I = C/groups)
            bt = None if b is None else self._const(b)
            return self._conv_forward(self._nhwc(x), wt, bt, stride, padding, dilation, hw, k)

        return self._out(self._run(fn))

    def conv2d_backward(self, dy, x, w, *, stride=1, padding=0, dilation=1, groups=1):
        tf = self.tf
        k = (w.shape[2], w.shape[3])
        hw = (x.shape[2], x.shape[3])

        def fn():
            xt = self._nhwc(x)
            wt = self._const(np.transpose(w, (2, 3, 1, 0)))
            bt = tf.zeros([w.shape[0]], dtype=self._tfdtype)
            with tf.GradientTape() as tape:
                tape.watch([xt, wt, bt])
                y = self._conv_forward(xt, wt, bt, stride, padding, dilation, hw, k)
            return tape.gradient(y, [xt, wt, bt], output_gradients=self._nhwc(dy))

        dx, dw, db = self._run(fn)
        dwo = self._out(dw, nchw=False)
        return self._out(dx), np.ascontiguousarray(np.transpose(dwo, (3, 2, 0, 1))), self._out(db, nchw=False)

    def conv_transpose2d(self, x, w, b=None, *, stride=1, padding=0, output_padding=0, dilation=1, groups=1):
        s, d, op = _pair(stride), _pair(dilation), _pair(output_padding)
        k = (w.shape[2], w.shape[3])
        pads = _pads(padding)
        if pads == "valid":
            pads = ((0, 0), (0, 0))
        if isinstance(pads, str):
            raise Unsupported(f"conv_transpose2d takes numeric padding or 'valid' (CONVT-5), not {padding!r}")
        for a in (0, 1):
            if op[a] >= s[a]:
                raise Unsupported(f"output_padding {op[a]} >= stride {s[a]}: no output_shape of "
                                  f"tf.nn.conv2d_transpose has a forward conv of x's size")
        out_hw = tuple((x.shape[2 + a] - 1) * s[a] - sum(pads[a]) + d[a] * (k[a] - 1) + op[a] + 1
                       for a in (0, 1))
        m = w.shape[1] * groups
        # The forward conv runs over the output: its SAME rule is judged on out_hw.
        pad = _spell(pads, out_hw, k, s, d, explicit=True)  # type: ignore[arg-type]

        def fn():
            wt = self._const(np.transpose(w, (2, 3, 1, 0)))  # (C, M/G, KH, KW) -> [KH, KW, M/G, C]
            y = self.tf.nn.conv2d_transpose(self._nhwc(x), wt, output_shape=[x.shape[0], *out_hw, m],
                                            strides=[1, s[0], s[1], 1], padding=pad,
                                            dilations=[1, d[0], d[1], 1])
            return y if b is None else self.tf.nn.bias_add(y, self._const(b))

        return self._out(self._run(fn))

    # --- pooling --------------------------------------------------------------------------------------

    def _pool_geometry(self, x, kernel_size, stride, padding, dilation, ceil_mode, *, explicit: bool):
        k = _pair(kernel_size)
        s = k if stride is None else _pair(stride)
        d = _pair(dilation)
        hw = (x.shape[2], x.shape[3])
        pad = _spell(padding, hw, k, s, d, explicit=explicit)
        pads = _resolved(pad, hw, k, s, d)
        if ceil_mode and _ceil_changes_size(hw, k, s, d, pads):
            raise Unsupported("TensorFlow pooling has no ceil_mode, and here it changes the output size")
        return k, s, d, pad, pads

    def _max_forward(self, xt, k, s, d, pad, pads):
        tf = self.tf
        if d != (1, 1):
            if s != (1, 1) or pad != "VALID":
                raise Unsupported("tf.nn.pool takes dilation > 1 only with stride 1 and VALID padding")
            return tf.nn.pool(xt, window_shape=list(k), pooling_type="MAX", strides=[1, 1],
                              padding="VALID", dilations=list(d))
        if not isinstance(pad, str) and any(pads[a][i] >= k[a] for a in (0, 1) for i in (0, 1)):
            raise Unsupported(f"TensorFlow's MaxPool takes explicit pads smaller than the window only "
                              f"(pads {pads}, kernel {k})")
        return tf.nn.max_pool2d(xt, ksize=list(k), strides=list(s), padding=pad)

    def max_pool2d(self, x, kernel_size, *, stride=None, padding=0, dilation=1, ceil_mode=False,
                   return_indices=False):
        tf = self.tf
        k, s, d, pad, pads = self._pool_geometry(x, kernel_size, stride, padding, dilation, ceil_mode,
                                                 explicit=not return_indices)
        if not return_indices:
            return self._out(self._run(lambda: self._max_forward(self._nhwc(x), k, s, d, pad, pads)))
        if d != (1, 1):
            raise Unsupported("tf.nn.max_pool_with_argmax has no dilation")

        def fn():
            return tf.nn.max_pool_with_argmax(self._nhwc(x), ksize=list(k), strides=list(s), padding=pad,
                                              output_dtype=tf.int64, include_batch_in_index=False)

        y, argmax = self._run(fn)
        # NHWC flat index (h * W + w) * C + c  ->  the spec's per-plane h * W + w.
        idx = np.transpose(argmax.numpy(), (0, 3, 1, 2)) // x.shape[1]
        return self._out(y), np.ascontiguousarray(idx.astype(np.int64))

    def max_pool2d_backward(self, dy, x, kernel_size, *, stride=None, padding=0, dilation=1,
                            ceil_mode=False):
        tf = self.tf
        k, s, d, pad, pads = self._pool_geometry(x, kernel_size, stride, padding, dilation, ceil_mode,
                                                 explicit=True)

        def fn():
            xt = self._nhwc(x)
            with tf.GradientTape() as tape:
                tape.watch(xt)
                y = self._max_forward(xt, k, s, d, pad, pads)
            return tape.gradient(y, xt, output_gradients=self._nhwc(dy))

        return self._out(self._run(fn))

    def _avg_args(self, x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
        if divisor_override is not None:
            raise Unsupported("TensorFlow's avg_pool2d has no divisor_override")
        k, s, d, pad, pads = self._pool_geometry(x, kernel_size, stride, padding, 1, ceil_mode,
                                                 explicit=False)
        if pad == "SAME" and count_include_pad and not _is_zero(pads):
            raise Unsupported("TensorFlow's SAME average excludes the padding from the divisor; "
                              "count_include_pad=True has no TensorFlow counterpart")
        return k, s, pad

    def avg_pool2d(self, x, kernel_size, *, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                   divisor_override=None):
        k, s, pad = self._avg_args(x, kernel_size, stride, padding, ceil_mode, count_include_pad,
                                   divisor_override)
        return self._out(self._run(lambda: self.tf.nn.avg_pool2d(self._nhwc(x), ksize=list(k),
                                                                 strides=list(s), padding=pad)))

    def avg_pool2d_backward(self, dy, x, kernel_size, *, stride=None, padding=0, ceil_mode=False,
                            count_include_pad=True, divisor_override=None):
        tf = self.tf
        k, s, pad = self._avg_args(x, kernel_size, stride, padding, ceil_mode, count_include_pad,
                                   divisor_override)

        def fn():
            xt = self._nhwc(x)
            with tf.GradientTape() as tape:
                tape.watch(xt)
                y = tf.nn.avg_pool2d(xt, ksize=list(k), strides=list(s), padding=pad)
            return tape.gradient(y, xt, output_gradients=self._nhwc(dy))

        return self._out(self._run(fn))


TARGET = TensorFlowTarget
