"""The ``jax`` target: ``jax.lax`` convolutions and windowed reductions, backward via ``jax.vjp``.

Every op calls the ``jax.lax`` primitive a JAX user (or flax) would call, with the spec's
parameters written in JAX's argument form: NCHW / OIHW layouts through
``dimension_numbers=("NCHW", "OIHW", "NCHW")``, padding as per-axis ``(low, high)`` pairs,
``"same"`` / ``"same_lower"`` / ``"valid"`` as JAX's ``"SAME"`` / ``"SAME_LOWER"`` /
``"VALID"`` (so JAX resolves them itself). ``setup`` enables float64
(``jax_enable_x64``); arrays are placed with ``jax.device_put`` on ``jax.devices("cpu")[0]``
or ``jax.devices("gpu")[0]`` and cast there to ``self.dtype``; results come back as NumPy
arrays in that dtype (bfloat16 as float32). JAX's default precision is kept (on GPUs it may
use TF32 for float32 convolutions): the runner is meant to see what a user gets. Each op
runs under ``jax.jit`` with its parameters static, as JAX code normally runs (and one
compilation per shape instead of one per primitive).

Mapping:

``conv2d``
    ``lax.conv_general_dilated(x, w, window_strides=stride, padding, rhs_dilation=dilation,
    feature_group_count=groups)``, then ``+ b[None, :, None, None]`` (JAX's convolution
    has no bias; flax adds it the same way).
``conv2d_backward``
    ``jax.vjp`` of ``lambda x, w, b: conv2d(x, w, b)`` at b = 0, applied to dy: (dx, dw, db).
``conv_transpose2d``
    ``lax.conv_transpose(x, w, strides=stride, padding, rhs_dilation=dilation,
    transpose_kernel=True, use_consistent_padding=True)``, then the bias. With
    ``use_consistent_padding`` JAX reads ``padding`` as the forward convolution's padding,
    "the behavior in PyTorch"; with ``transpose_kernel`` it flips the kernel and swaps its
    channel axes, so w is passed in the spec's (C, M/G, KH, KW) layout unchanged.
    ``lax.conv_transpose`` has no ``output_padding`` argument: output_padding op is written
    into its padding argument as the forward padding (P_top, P_bottom − op) per axis, which
    is exactly the extra end padding JAX then applies (CONVT-4 step 2).
``max_pool2d``
    ``lax.reduce_window(x, -inf, lax.max, (1, 1, KH, KW), (1, 1, Sh, Sw), padding,
    window_dilation=(1, 1, Dh, Dw))``: padding is −∞ (the init value), as flax's
    ``max_pool`` does.
``avg_pool2d``
    the window sum ``lax.reduce_window(x, 0, lax.add, ...)`` divided, as flax's
    ``avg_pool`` does, by KH·KW (count_include_pad=True), or by the same reduce_window
    over an array of ones (count_include_pad=False; a window wholly in padding gives
    0 / 0 = NaN); with divisor_override, by that number.
``max_pool2d_backward``, ``avg_pool2d_backward``
    ``jax.vjp`` of the forward above, applied to dy.
``im2col``
    ``lax.conv_general_dilated_patches(x, (KH, KW), stride, padding, rhs_dilation=dilation)``
    gives (N, C*KH*KW, OH, OW); JAX documents its feature order as "c" followed by the
    spatial dims of rhs_spec, i.e. (c, kh, kw) for OIHW, which is the spec's column order
    (checked, not reordered here). It is transposed to (N, OH, OW, C*KH*KW) and reshaped
    to (N*OH*OW, C*KH*KW).

``conv_output_size``, ``conv_transpose_output_size``, ``same_padding`` (issue 13)
    ``jax.eval_shape`` of ``lax.conv_general_dilated`` / ``lax.conv_transpose`` (output_padding
    written into the forward padding as above) on abstract (1, 1, size, 1) values, and
    ``lax.padtype_to_pads`` with the dilated window D·(K − 1) + 1 for 'same' padding. ceil_mode
    is Unsupported (lax has none).
``segmentation_labels``
    ``jnp.argmax(logits, axis=-3)``.

Unsupported (raised as :class:`Unsupported`):

* ``max_pool2d(return_indices=True)``: ``lax.reduce_window`` returns values only; JAX has
  no max-pooling argmax.
* ``ceil_mode=True`` when it changes the output size: neither ``lax.reduce_window`` nor
  flax's or haiku's pooling has a ceil mode, and flax/haiku users do not emulate one with
  extra end padding. When the ceil-mode and floor-mode sizes agree (SIZE-7), ceil_mode is
  a no-op and the case runs; the sizes are compared after JAX's own
  ``lax.padtype_to_pads`` resolves string padding.
* ``conv_transpose2d`` with groups > 1: ``lax.conv_transpose`` has no
  ``feature_group_count`` argument.
* ``max_pool2d_backward`` with dilation > 1: JAX's VJP of ``reduce_window`` max raises
  ``NotImplementedError("VJP not implemented for select_and_gather (MaxPool) with window
  dilation")``.

The reduce_window init values are concrete NumPy scalars, as flax passes ``-jnp.inf``: a
traced init value (``jnp.array`` inside ``jax.jit``) hides the max/add monoid from JAX,
which then has no VJP for the generic reduce_window ("Linearization failed ...").

Known divergences from the spec are data, not prose: conformance/expectations/jax.toml
(checked by tests/test_expectations.py; the README's findings table is generated from it).

"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import Target, Unsupported
from ._geometry import out_len
from ._geometry import pair as _pair

_DN = ("NCHW", "OIHW", "NCHW")
_STRINGS = {"valid": "VALID", "same": "SAME", "same_lower": "SAME_LOWER"}


def _padding(padding: Any) -> Any:
    """A SIZE-2 padding -> JAX's ((low, high), (low, high)) or its padding string."""
    if isinstance(padding, str):
        return _STRINGS[padding]
    if isinstance(padding, (tuple, list)) and all(isinstance(p, (tuple, list)) for p in padding):
        (t, b), (l, r) = padding
        return ((int(t), int(b)), (int(l), int(r)))
    ph, pw = _pair(padding)
    return ((ph, ph), (pw, pw))


def _out_len(size: int, k: int, s: int, before: int, after: int, d: int, ceil_mode: bool) -> int:
    """SIZE-3 / SIZE-7 length of one axis (only used to see whether ceil_mode is a no-op)."""
    return out_len(size, k, s, before, after, d, ceil_mode)


# --- the library calls (traced under jax.jit; arrays first, static parameters after) ----------

def _conv(x, w, b, stride, padding, dilation, groups):
    from jax import lax

    y = lax.conv_general_dilated(x, w, window_strides=stride, padding=padding, rhs_dilation=dilation,
                                 dimension_numbers=_DN, feature_group_count=groups)
    return y if b is None else y + b[None, :, None, None]


def _conv_backward(dy, x, w, stride, padding, dilation, groups):
    import jax
    import jax.numpy as jnp

    b0 = jnp.zeros(w.shape[0], dtype=w.dtype)
    _, vjp = jax.vjp(lambda x_, w_, b_: _conv(x_, w_, b_, stride, padding, dilation, groups), x, w, b0)
    return vjp(dy)


def _conv_transpose(x, w, b, stride, fwd_padding, dilation):
    from jax import lax

    y = lax.conv_transpose(x, w, strides=stride, padding=fwd_padding, rhs_dilation=dilation,
                           dimension_numbers=_DN, transpose_kernel=True, use_consistent_padding=True)
    return y if b is None else y + b[None, :, None, None]


def _max(x, win):
    from jax import lax

    # A concrete (NumPy) init value, as flax passes -jnp.inf: a traced one would hide the
    # monoid from JAX and leave reduce_window without its differentiation rule.
    dims, strides, padding, dil = win
    return lax.reduce_window(x, np.array(-np.inf, dtype=x.dtype), lax.max, dims, strides, padding,
                             window_dilation=dil)


def _max_backward(dy, x, win):
    import jax

    _, vjp = jax.vjp(lambda v: _max(v, win), x)
    return vjp(dy)[0]


def _avg(x, win, taps, count_include_pad, divisor_override):
    import jax.numpy as jnp
    from jax import lax

    dims, strides, padding, _ = win
    zero = np.array(0, dtype=x.dtype)  # concrete, as in _max
    total = lax.reduce_window(x, zero, lax.add, dims, strides, padding)
    if divisor_override is not None:
        return total / jnp.array(divisor_override, dtype=x.dtype)
    if count_include_pad:
        return total / jnp.array(taps, dtype=x.dtype)
    ones = jnp.ones((1, 1) + x.shape[2:], dtype=x.dtype)
    return total / lax.reduce_window(ones, zero, lax.add, dims, strides, padding)


def _avg_backward(dy, x, win, taps, count_include_pad, divisor_override):
    import jax

    _, vjp = jax.vjp(lambda v: _avg(v, win, taps, count_include_pad, divisor_override), x)
    return vjp(dy)[0]


def _patches(x, kernel, stride, padding, dilation):
    from jax import lax

    p = lax.conv_general_dilated_patches(x, kernel, stride, padding, rhs_dilation=dilation,
                                         dimension_numbers=_DN)
    n, ckk, oh, ow = p.shape
    return p.transpose(0, 2, 3, 1).reshape(n * oh * ow, ckk)


#: function -> number of leading array arguments (the rest are static under jax.jit).
_CALLS: dict[Any, int] = {_conv: 3, _conv_backward: 3, _conv_transpose: 3, _max: 1, _max_backward: 2, _avg: 1,
          _avg_backward: 2, _patches: 1}


class JaxTarget(Target):
    name = "jax"
    requires = ("jax",)
    #: Rejection conformance: what jax.lax receives as it is (issue 13).
    passes_invalid = {**{op: ("stride", "dilation", "padding", "groups", "kernel_size", "x-3d", "w-channels",
                              "groups-not-dividing", "kernel-too-large")
                         for op in ("conv2d", "conv2d_backward", "conv_transpose2d", "max_pool2d", "avg_pool2d",
                                    "max_pool2d_backward", "avg_pool2d_backward")},
                      **{op: ("stride", "dilation", "padding", "kernel_size")
                         for op in ("conv_output_size", "conv_transpose_output_size", "same_padding")}}
    devices = ("cpu", "cuda")

    def setup(self, dtype: str, device: str) -> None:
        super().setup(dtype, device)
        import jax
        import jax.numpy as jnp

        jax.config.update("jax_enable_x64", True)
        try:
            self._dev = jax.devices("gpu" if device == "cuda" else "cpu")[0]
        except RuntimeError as exc:
            raise Unsupported(f"jax: no {device} device ({exc})") from exc
        self._jax, self._jnp = jax, jnp
        self._dt = {"float32": jnp.float32, "float64": jnp.float64, "float16": jnp.float16,
                    "bfloat16": jnp.bfloat16}[dtype]
        self._jit = {f: jax.jit(f, static_argnums=tuple(range(n, f.__code__.co_argcount)))
                     for f, n in _CALLS.items()}  # one compilation per shape and parameters

    def version(self) -> str:
        import jax

        return str(jax.__version__)

    # --- conversions -------------------------------------------------------------------------

    def _j(self, a: Any) -> Any:
        if a is None:
            return None
        return self._jax.device_put(np.ascontiguousarray(a), self._dev).astype(self._dt)

    def _np(self, a: Any) -> np.ndarray:
        if a.dtype == self._jnp.bfloat16:
            a = a.astype(self._jnp.float32)
        return np.asarray(a)

    def _call(self, f: Any, *args: Any) -> Any:
        return self._jit[f](*args)

    # --- convolution -------------------------------------------------------------------------

    def conv2d(self, x, w, b=None, *, stride=1, padding=0, dilation=1, groups=1):
        y = self._call(_conv, self._j(x), self._j(w), self._j(b), _pair(stride), _padding(padding),
                       _pair(dilation), int(groups))
        return self._np(y)

    def conv2d_backward(self, dy, x, w, *, stride=1, padding=0, dilation=1, groups=1):
        dx, dw, db = self._call(_conv_backward, self._j(dy), self._j(x), self._j(w), _pair(stride),
                                _padding(padding), _pair(dilation), int(groups))
        return self._np(dx), self._np(dw), self._np(db)

    def conv_transpose2d(self, x, w, b=None, *, stride=1, padding=0, output_padding=0, dilation=1,
                         groups=1):
        if groups != 1:
            raise Unsupported("jax.lax.conv_transpose has no feature_group_count (groups > 1)")
        pads = _padding(0 if padding == "valid" else padding)
        op = _pair(output_padding)
        fwd_pads = tuple((lo, hi - o) for (lo, hi), o in zip(pads, op, strict=True))
        y = self._call(_conv_transpose, self._j(x), self._j(w), self._j(b), _pair(stride), fwd_pads,
                       _pair(dilation))
        return self._np(y)

    # --- pooling -----------------------------------------------------------------------------

    def _window(self, x_shape, kernel_size, stride, padding, dilation, ceil_mode) -> tuple[Any, ...]:
        """reduce_window's (dims, strides, padding, dilation), or Unsupported for a ceil_mode
        that JAX cannot express."""
        k = _pair(kernel_size)
        s = k if stride is None else _pair(stride)
        d = _pair(dilation)
        pad = _padding(padding)
        dims, strides, dil = (1, 1) + k, (1, 1) + s, (1, 1) + d
        if ceil_mode:
            effective = tuple(dd * (kk - 1) + 1 for kk, dd in zip(dims, dil, strict=True))
            resolved = (self._jax.lax.padtype_to_pads(x_shape, effective, strides, pad)[2:]
                        if isinstance(pad, str) else pad)
            for a in (0, 1):
                (lo, hi), size = resolved[a], x_shape[2 + a]
                if (_out_len(size, k[a], s[a], lo, hi, d[a], True)
                        != _out_len(size, k[a], s[a], lo, hi, d[a], False)):
                    raise Unsupported("jax.lax.reduce_window has no ceil_mode (nor have flax or haiku "
                                      "pooling), and here it changes the output size")
        padding_arg = pad if isinstance(pad, str) else ((0, 0), (0, 0)) + pad
        return (dims, strides, padding_arg, dil)

    def max_pool2d(self, x, kernel_size, *, stride=None, padding=0, dilation=1, ceil_mode=False,
                   return_indices=False):
        if return_indices:
            raise Unsupported("jax.lax.reduce_window returns no argmax indices (JAX has no max-pool indices)")
        xj = self._j(x)
        win = self._window(xj.shape, kernel_size, stride, padding, dilation, ceil_mode)
        return self._np(self._call(_max, xj, win))

    def max_pool2d_backward(self, dy, x, kernel_size, *, stride=None, padding=0, dilation=1,
                            ceil_mode=False):
        if _pair(dilation) != (1, 1):
            raise Unsupported("jax.vjp of lax.reduce_window max raises NotImplementedError for window "
                              "dilation ('VJP not implemented for select_and_gather (MaxPool) with "
                              "window dilation')")
        xj = self._j(x)
        win = self._window(xj.shape, kernel_size, stride, padding, dilation, ceil_mode)
        return self._np(self._call(_max_backward, self._j(dy), xj, win))

    def avg_pool2d(self, x, kernel_size, *, stride=None, padding=0, ceil_mode=False,
                   count_include_pad=True, divisor_override=None):
        xj = self._j(x)
        k = _pair(kernel_size)
        win = self._window(xj.shape, kernel_size, stride, padding, 1, ceil_mode)
        return self._np(self._call(_avg, xj, win, k[0] * k[1], bool(count_include_pad), divisor_override))

    def avg_pool2d_backward(self, dy, x, kernel_size, *, stride=None, padding=0, ceil_mode=False,
                            count_include_pad=True, divisor_override=None):
        xj = self._j(x)
        k = _pair(kernel_size)
        win = self._window(xj.shape, kernel_size, stride, padding, 1, ceil_mode)
        return self._np(self._call(_avg_backward, self._j(dy), xj, win, k[0] * k[1],
                                   bool(count_include_pad), divisor_override))

    # --- im2col ------------------------------------------------------------------------------

    def im2col(self, x, kernel_size, *, stride=1, padding=0, dilation=1):
        return self._np(self._call(_patches, self._j(x), _pair(kernel_size), _pair(stride),
                                   _padding(padding), _pair(dilation)))

    # --- output sizes and 'same' padding: JAX's shape inference ----------------------------------
    #
    # ``jax.eval_shape`` runs the primitives' shape rules on abstract (1, 1, size, 1) values: no data,
    # no arithmetic of the op, only the size formula JAX's convolution uses. 'same' padding is
    # ``lax.padtype_to_pads``, the function lax.conv_general_dilated resolves "SAME" / "SAME_LOWER"
    # with; it takes the dilated window D·(K − 1) + 1, as the convolution passes it.

    def _abstract(self, *shape: Any) -> Any:
        return self._jax.ShapeDtypeStruct(shape, self._dt)

    def conv_output_size(self, size, kernel_size, *, stride=1, padding=0, dilation=1, ceil_mode=False):
        """``lax.conv_general_dilated`` under ``jax.eval_shape``; ceil_mode is Unsupported (lax has none)."""
        from jax import lax

        if ceil_mode:
            raise Unsupported("jax.lax has no ceil_mode (neither conv_general_dilated nor reduce_window, nor "
                              "flax's or haiku's pooling)")
        if isinstance(padding, str):
            pad: Any = _STRINGS[padding]
        else:
            before, after = padding if isinstance(padding, (tuple, list)) else (padding, padding)
            pad = ((before, after), (0, 0))
        out = self._jax.eval_shape(
            lambda x, w: lax.conv_general_dilated(x, w, window_strides=(stride, 1), padding=pad,
                                                  rhs_dilation=(dilation, 1), dimension_numbers=_DN),
            self._abstract(1, 1, size, 1), self._abstract(1, 1, kernel_size, 1))
        return np.int64(out.shape[2])

    def conv_transpose_output_size(self, size, kernel_size, *, stride=1, padding=0, output_padding=0, dilation=1):
        """``lax.conv_transpose`` under ``jax.eval_shape``, output_padding written into the forward
        padding as conv_transpose2d writes it (see the module docstring)."""
        from jax import lax

        before, after = padding if isinstance(padding, (tuple, list)) else (padding, padding)
        fwd = ((before, after - output_padding), (0, 0))
        out = self._jax.eval_shape(
            lambda x, w: lax.conv_transpose(x, w, strides=(stride, 1), padding=fwd, rhs_dilation=(dilation, 1),
                                            dimension_numbers=_DN, transpose_kernel=True,
                                            use_consistent_padding=True),
            self._abstract(1, 1, size, 1), self._abstract(1, 1, kernel_size, 1))
        return np.int64(out.shape[2])

    def same_padding(self, size, kernel_size, *, stride=1, dilation=1, lower=False):
        """``lax.padtype_to_pads((size,), (D·(K − 1) + 1,), (stride,), "SAME" | "SAME_LOWER")``."""
        from jax import lax

        (before, after), = lax.padtype_to_pads((size,), (dilation * (kernel_size - 1) + 1,), (stride,),
                                               "SAME_LOWER" if lower else "SAME")
        return np.int64(before), np.int64(after)

    # --- segmentation -------------------------------------------------------------------------

    def segmentation_labels(self, logits):
        """``jnp.argmax(logits, axis=-3)`` (NumPy's rule: the first occurrence of the maximum)."""
        return np.asarray(self._jnp.argmax(self._j(logits), axis=-3)).astype(np.int64)


TARGET = JaxTarget
