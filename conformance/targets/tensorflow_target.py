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

Sizes and segmentation (issue 13; see the comments above those methods): conv_output_size is the
static shape of a traced ``tf.nn.conv2d``, conv_transpose_output_size Keras' Conv2DTranspose
``compute_output_shape`` (zero padding only), segmentation_labels ``tf.math.argmax``,
confusion_matrix ``tf.math.confusion_matrix`` (no ignore_index: Unsupported), pixel_accuracy,
per_class_iou and mean_iou ``keras.metrics.Accuracy`` / ``IoU`` / ``MeanIoU`` fed the matrix's cells
with their counts as sample weights.

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

Augmentation ops (AUG-*, spec/augmentation.md; added for issue 7), in NHWC like the rest.
Parameters are passed as TensorFlow's and Keras' documentation describes them, not converted
to the spec's conventions; the Keras preprocessing layers draw their parameters at random,
so each is pinned with a degenerate range ``(v, v)`` and called with ``training=True``:

- ``rotate``    -> ``keras.layers.RandomRotation(factor=(a, a))`` with ``a = angle / 360`` (Keras
  takes fractions of a full turn, positive = counter-clockwise), ``fill_mode``,
  ``interpolation``, ``fill_value`` passed through.
- ``translate`` -> ``keras.layers.RandomTranslation(height_factor=(ty/H, ty/H),
  width_factor=(tx/W, tx/W))``: fractions of the size, positive = down / right. A shift
  beyond the image size (|factor| > 1) is refused by Keras -> Unsupported.
- ``zoom``      -> ``keras.layers.RandomZoom(height_factor=(f_y - 1, f_y - 1),
  width_factor=(f_x - 1, f_x - 1))``: Keras' "zoom by (f - 1)·100 %", which its documentation
  says zooms *out* for a positive value; factors above 2 are outside Keras' range
  (factor - 1 in (-1, 1]) -> Unsupported.
- ``shear``     -> Unsupported: ``keras.layers.RandomShear`` negates its drawn factor at random
  (a coin per image), so no parameter pins it; it also takes a shear factor about the
  top-left corner.
- ``affine``    -> ``tf.raw_ops.ImageProjectiveTransformV3`` (what the Keras layers call) with
  the spec's matrix as it is, as the 8-vector ``[a, b, t_x, d, e, t_y, 0, 0]`` (float32, as the
  op requires); TensorFlow documents that vector as the map from output to input points in a
  frame with pixel centres at integers, which the runner diagnoses (AUG-4 ``inverse-matrix``,
  AUG-3 ``integer-centres``). interpolation -> ``"NEAREST"`` / ``"BILINEAR"``, fill_mode ->
  ``"CONSTANT"`` / ``"NEAREST"`` / ``"REFLECT"`` / ``"WRAP"``.
- ``hflip`` / ``vflip`` -> ``tf.image.flip_left_right`` / ``tf.image.flip_up_down``.
- ``adjust_brightness`` -> ``tf.image.adjust_brightness(image, delta=factor)``: TensorFlow's
  brightness adds its delta (AUG-18 ``additive-brightness``), in the [0, 1] scale for uint8.
- ``channel_shift``: no TensorFlow function (not implemented).
- ``rescale`` -> ``keras.layers.Rescaling(scale, offset)``.
- ``featurewise_fit`` -> ``keras.layers.Normalization(axis=-1).adapt(images)``, mean and
  ``sqrt(variance)``.
- ``featurewise_standardize`` -> ``keras.layers.Normalization(axis=-1, mean=mean,
  variance=std**2)`` (Keras has no eps argument: it divides by ``max(sqrt(variance),
  backend.epsilon())``).
- ``samplewise_standardize`` -> ``tf.image.per_image_standardization`` (AUG-23 ``std-floor``).

Keras layers compute in float32 and return float32 for any input, uint8 included (AUG-2 wants
uint8 back); what they return is passed on as it is, as are the float32 results of a float64
run. ``layout="HWC"`` is not mapped (the runner sends NCHW): Unsupported.

Known divergences from the spec are data, not prose: conformance/expectations/tensorflow.toml
(checked by tests/test_expectations.py; the README's findings table is generated from it).

"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from ..opnames import uint8_aliases
from . import Target, Unsupported
from ._geometry import explicit_pads as explicit_padding
from ._geometry import pair as _pair

# --- parameter forms (SIZE-1, SIZE-2): parsing only, no arithmetic of the ops ---------------------


def _pads(padding: Any) -> tuple[tuple[int, int], tuple[int, int]] | str:
    """Numeric padding -> ((t, b), (l, r)) as the spec reads it (SIZE-2); strings as they are."""
    return explicit_padding(padding) or padding


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


@uint8_aliases
class TensorFlowTarget(Target):
    name = "tensorflow"
    requires = ("tensorflow",)
    #: Rejection conformance: what tf.nn / tf.image receive as they are (issue 13). Groups are read by
    #: TensorFlow from the weight's shape, not passed; augmentation matrices are built by the adapter.
    passes_invalid = {**{op: ("stride", "dilation", "padding", "kernel_size", "w-channels", "kernel-too-large")
                         for op in ("conv2d", "conv2d_backward", "conv_transpose2d", "max_pool2d", "avg_pool2d",
                                    "max_pool2d_backward", "avg_pool2d_backward")},
                      **{op: ("iou_threshold", "score_threshold", "max_output", "max_output_per_class", "sigma",
                              "inverted-box", "nan-box", "nan-score", "scores-short")
                         for op in ("nms", "batched_nms", "soft_nms", "box_iou")},
                      **{op: ("stride", "dilation", "padding", "kernel_size")
                         for op in ("conv_output_size", "conv_transpose_output_size")}}
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


    # --- detection (BOX-*, IOU-*, NMS-*: issue 4) ----------------------------------------------------
    #
    # tf.image boxes are [y1, x1, y2, x2] ("yxyx"): the case's boxes are converted by
    # conformance.targets._box_formats.to_format (a column swap from xyxy; other formats only when
    # the yxyx numbers are exact, else Unsupported). score_threshold is passed as the largest float32
    # <= it (the spec's strict test, exactly; float16 runs: the largest float16); None passes nothing
    # (TensorFlow's default, -inf).
    # iou_threshold goes through as it is. TensorFlow has no IoU op: box_iou is not implemented.
    #
    # - nms         -> tf.image.non_max_suppression (NonMaxSuppressionV3; float16 / float32 kernels
    #                  only, other dtypes Unsupported); max_output None -> max_output_size = N.
    # - batched_nms -> tf.image.combined_non_max_suppression with q = 1 (one box set for every
    #                  class) and one score column per distinct label (the box's score in its own
    #                  class's column, -inf in the others, which no threshold keeps); float32 only;
    #                  clip_boxes=False, max_total_size = N (1 if N = 0). It returns boxes, scores and classes,
    #                  not indices: each output row is mapped back to the lowest unused input index
    #                  with the same class, score and box, so among exact duplicates (same class,
    #                  score and box) the tie rule of NMS-2 is not observable.
    # - soft_nms    -> tf.image.non_max_suppression_with_scores(soft_nms_sigma=sigma) (Gaussian only;
    #                  method="linear" Unsupported), max_output_size = N.
    # TensorFlowPaddedTarget (below) maps nms to tf.image.non_max_suppression_padded instead.

    #: The hard-NMS function nms calls: "non_max_suppression" or "non_max_suppression_padded".
    nms_function = "non_max_suppression"

    def _nms_dtype(self) -> Any:
        allowed = ("float16", "float32", "float64") if self.nms_function.endswith("padded") else ("float16", "float32")
        if self.dtype not in allowed:
            raise Unsupported(f"tf.image.{self.nms_function} takes {' and '.join(allowed)} boxes, not {self.dtype}")
        return np.dtype(self.dtype)

    def _nms_score_kw(self, score_threshold: Any, dt: Any = np.float32) -> dict[str, Any]:
        """score_threshold as the largest number of the scores' dtype <= it: exact in the float32
        threshold TensorFlow's kernels take, and in the scores' own dtype (padded compares in it)."""
        from ._box_formats import down

        return {} if score_threshold is None else {"score_threshold": down(float(score_threshold), dt)}

    def nms(self, boxes, scores, iou_threshold, *, score_threshold=None, max_output=None, fmt="xyxy"):
        from ._box_formats import to_format

        tf = self.tf
        dt = self._nms_dtype()
        b = to_format(boxes, fmt, "yxyx", dt)
        s = np.ascontiguousarray(scores, dtype=dt)
        size = b.shape[0] if max_output is None else int(max_output)
        kw = self._nms_score_kw(score_threshold, dt)

        def fn():
            bt, st = tf.constant(b), tf.constant(s)
            t = float(iou_threshold)
            if self.nms_function == "non_max_suppression_padded":
                # Thresholds as tensors of the boxes' dtype (what TensorFlow converts Python floats to):
                # the padded NMS is a tf.function, retraced for every new Python value.
                kwt = {k: tf.constant(v, bt.dtype) for k, v in kw.items()}
                idx, valid = tf.image.non_max_suppression_padded(bt, st, size, tf.constant(t, bt.dtype),
                                                                 pad_to_max_output_size=True, **kwt)
                return idx.numpy()[: int(valid.numpy())]
            return tf.image.non_max_suppression(bt, st, size, t, **kw).numpy()

        return np.asarray(self._run(fn), dtype=np.int64)

    def batched_nms(self, boxes, scores, classes, iou_threshold, *, score_threshold=None,
                    max_output_per_class=None, fmt="xyxy"):
        from ._box_formats import class_slots, to_format

        tf = self.tf
        if self.dtype != "float32":
            raise Unsupported(f"tf.image.combined_non_max_suppression takes float32 only, not {self.dtype}")
        b = to_format(boxes, fmt, "yxyx", np.float32)
        s = np.ascontiguousarray(scores, dtype=np.float32)
        labels, slot = class_slots(classes)
        n = b.shape[0]
        table = np.full((n, max(labels.size, 1)), -np.inf, dtype=np.float32)
        table[np.arange(n), slot] = s
        # No limit: at most N boxes exist (TensorFlow refuses a limit of 0, which here would mean none).
        per_class = max(n, 1) if max_output_per_class is None else int(max_output_per_class)
        kw = self._nms_score_kw(score_threshold)

        def fn():
            return tf.image.combined_non_max_suppression(
                tf.constant(b[None, :, None, :]), tf.constant(table[None]), per_class, max(n, 1),
                iou_threshold=float(iou_threshold), clip_boxes=False, **kw)

        out_b, out_s, out_c, valid = self._run(fn)
        k = int(valid.numpy()[0])
        ob, osc, oc = out_b.numpy()[0, :k], out_s.numpy()[0, :k], out_c.numpy()[0, :k]
        used = np.zeros(n, dtype=bool)
        picked = []
        for r in range(k):
            hit = np.flatnonzero(~used & (slot == int(oc[r])) & (s == osc[r]) & np.all(b == ob[r], axis=1))
            if hit.size == 0:
                raise RuntimeError(f"combined_non_max_suppression returned box {ob[r].tolist()}, score {osc[r]}, "
                                   f"class slot {int(oc[r])}, which matches no unused input")
            used[hit[0]] = True
            picked.append(int(hit[0]))
        return np.array(picked, dtype=np.int64)

    def soft_nms(self, boxes, scores, *, sigma=0.5, iou_threshold=0.3, score_threshold=0.001,
                 method="gaussian", fmt="xyxy"):
        from ._box_formats import down, to_format

        tf = self.tf
        if method != "gaussian":
            raise Unsupported("tf.image.non_max_suppression_with_scores has the Gaussian decay only "
                              f"(soft_nms_sigma), not method={method!r}")
        if self.dtype not in ("float16", "float32"):
            raise Unsupported(f"tf.image.non_max_suppression_with_scores takes float16 and float32, not {self.dtype}")
        dt = np.dtype(self.dtype)
        b = to_format(boxes, fmt, "yxyx", dt)
        s = np.ascontiguousarray(scores, dtype=dt)

        def fn():
            # NonMaxSuppressionV5 takes its thresholds and sigma in the boxes' dtype (float16 too).
            tdt = tf.float16 if dt == np.float16 else tf.float32
            idx, sc = tf.image.non_max_suppression_with_scores(
                tf.constant(b), tf.constant(s), b.shape[0],
                iou_threshold=tf.constant(float(iou_threshold), tdt),
                score_threshold=tf.constant(down(float(score_threshold), dt), tdt),
                soft_nms_sigma=tf.constant(float(sigma), tdt))
            return idx.numpy(), sc.numpy()

        idx, sc = self._run(fn)
        return np.asarray(idx, dtype=np.int64), np.asarray(sc, dtype=dt)

    # --- augmentation (AUG-*) ------------------------------------------------------------------

    @staticmethod
    def _check_layout(layout: str) -> None:
        if layout != "NCHW":
            raise Unsupported("the adapter maps NCHW batches only")

    def _image(self, x: np.ndarray) -> Any:
        """NCHW NumPy -> NHWC tensor of the array's own dtype (float32 / float64 / uint8)."""
        return self.tf.constant(np.ascontiguousarray(np.transpose(x, (0, 2, 3, 1))))

    @staticmethod
    def _nchw(t: Any) -> np.ndarray:
        return np.ascontiguousarray(np.transpose(np.asarray(t), (0, 3, 1, 2)))

    def _layer(self, x: np.ndarray, make: Any, layout: str) -> np.ndarray:
        """A Keras preprocessing layer, built by ``make()``, applied with ``training=True``."""
        self._check_layout(layout)
        try:
            layer = make()
        except ValueError as exc:  # a factor outside the layer's documented range
            raise Unsupported(f"Keras: {str(exc).splitlines()[0][:300]}") from exc
        return self._nchw(self._run(lambda: layer(self._image(x), training=True)))

    def rotate(self, x, angle, *, interpolation="bilinear", fill_mode="constant", fill_value=0.0,
               layout="NCHW"):
        import keras

        a = float(angle) / 360.0
        return self._layer(x, lambda: keras.layers.RandomRotation(
            factor=(a, a), fill_mode=fill_mode, interpolation=interpolation,
            fill_value=float(fill_value)), layout)

    def translate(self, x, tx, ty, *, interpolation="bilinear", fill_mode="constant", fill_value=0.0,
                  layout="NCHW"):
        import keras

        h, w = x.shape[2], x.shape[3]
        fh, fw = float(ty) / h, float(tx) / w
        return self._layer(x, lambda: keras.layers.RandomTranslation(
            height_factor=(fh, fh), width_factor=(fw, fw), fill_mode=fill_mode,
            interpolation=interpolation, fill_value=float(fill_value)), layout)

    def zoom(self, x, factor, *, interpolation="bilinear", fill_mode="constant", fill_value=0.0,
             layout="NCHW"):
        import keras

        fx, fy = (float(factor[0]), float(factor[1])) if isinstance(factor, (tuple, list)) else (float(factor),) * 2
        return self._layer(x, lambda: keras.layers.RandomZoom(
            height_factor=(fy - 1, fy - 1), width_factor=(fx - 1, fx - 1), fill_mode=fill_mode,
            interpolation=interpolation, fill_value=float(fill_value)), layout)

    def shear(self, x, angle, **kw):
        raise Unsupported("keras.layers.RandomShear negates its factor at random (a coin per image): "
                          "no parameter pins it")

    def affine(self, x, matrix, *, interpolation="bilinear", fill_mode="constant", fill_value=0.0,
               layout="NCHW"):
        tf = self.tf
        self._check_layout(layout)
        m = np.asarray(matrix, dtype=np.float64)[:2].reshape(-1)
        transforms = tf.constant(np.concatenate([m, [0.0, 0.0]])[None], dtype=tf.float32)

        def fn():
            img = self._image(x)
            return tf.raw_ops.ImageProjectiveTransformV3(
                images=img, transforms=transforms, output_shape=tf.shape(img)[1:3],
                fill_value=tf.constant(float(fill_value), tf.float32),
                interpolation=interpolation.upper(), fill_mode=fill_mode.upper())

        return self._nchw(self._run(fn))

    def hflip(self, x, layout="NCHW"):
        self._check_layout(layout)
        return self._nchw(self._run(lambda: self.tf.image.flip_left_right(self._image(x))))

    def vflip(self, x, layout="NCHW"):
        self._check_layout(layout)
        return self._nchw(self._run(lambda: self.tf.image.flip_up_down(self._image(x))))

    def adjust_brightness(self, x, factor, layout="NCHW"):
        self._check_layout(layout)
        return self._nchw(self._run(lambda: self.tf.image.adjust_brightness(self._image(x), float(factor))))

    def rescale(self, x, scale, *, offset=0.0, layout="NCHW"):
        import keras

        return self._layer(x, lambda: keras.layers.Rescaling(float(scale), float(offset)), layout)

    def featurewise_fit(self, x, layout="NCHW"):
        import keras

        self._check_layout(layout)
        layer = keras.layers.Normalization(axis=-1)
        self._run(lambda: layer.adapt(self._image(x)))
        mean = np.asarray(layer.mean).reshape(-1)
        std = np.sqrt(np.asarray(layer.variance).reshape(-1))
        return mean, std

    def featurewise_standardize(self, x, mean, std, *, eps=1e-6, layout="NCHW"):
        import keras

        c = x.shape[1]
        m = np.broadcast_to(np.asarray(mean, dtype=np.float64), (c,))
        v = np.square(np.broadcast_to(np.asarray(std, dtype=np.float64), (c,)))
        if np.ndim(mean) > 1 or np.ndim(std) > 1:
            raise Unsupported("the adapter maps per-channel statistics only")
        return self._layer(x, lambda: _Normalize(keras.layers.Normalization(axis=-1, mean=m, variance=v)),
                           layout)

    def samplewise_standardize(self, x, *, eps=1e-6, layout="NCHW"):
        self._check_layout(layout)
        return self._nchw(self._run(lambda: self.tf.image.per_image_standardization(self._image(x))))

    # --- output sizes: TensorFlow's static shapes (SIZE-3 ... SIZE-8; issue 13) ----------------------
    #
    # conv_output_size is the H of the static output shape TensorFlow's Conv2D shape function gives a
    # traced ``tf.nn.conv2d`` on a [1, size, 1, 1] TensorSpec (``tf.function(...).get_concrete_function``:
    # no data, no kernel): explicit pads [[0, 0], [before, after], [0, 0], [0, 0]], "VALID", "SAME".
    # TensorFlow has no ceil_mode and no SAME_LOWER: Unsupported. conv_transpose_output_size is
    # ``keras.layers.Conv2DTranspose(...).compute_output_shape`` (tf.nn.conv2d_transpose takes its
    # output shape as an argument); Keras' transposed convolution has "valid" and its own "same" only,
    # so only zero padding maps, and it requires output_padding < strides and refuses strides > 1 with
    # dilation_rate > 1 ("not supported"): Unsupported.

    def conv_output_size(self, size, kernel_size, *, stride=1, padding=0, dilation=1, ceil_mode=False):
        tf = self.tf
        if ceil_mode:
            raise Unsupported("TensorFlow has no ceil_mode")
        if isinstance(padding, str):
            if padding not in ("valid", "same"):
                raise Unsupported(f"padding={padding!r}: TensorFlow has VALID and SAME only (no SAME_LOWER)")
            pad: Any = {"valid": "VALID", "same": "SAME"}[padding]
        else:
            before, after = padding if isinstance(padding, (tuple, list)) else (padding, padding)
            pad = [[0, 0], [before, after], [0, 0], [0, 0]]
        fn = tf.function(lambda x, w: tf.nn.conv2d(x, w, strides=[1, stride, 1, 1], padding=pad,
                                                   dilations=[1, dilation, 1, 1]))
        out = self._run(lambda: fn.get_concrete_function(tf.TensorSpec([1, size, 1, 1], self._tfdtype),
                                                         tf.TensorSpec([kernel_size, 1, 1, 1], self._tfdtype)))
        h = out.structured_outputs.shape[1]
        if h is None:
            raise ValueError("TensorFlow left the static output height unknown")
        return np.int64(h)

    def conv_transpose_output_size(self, size, kernel_size, *, stride=1, padding=0, output_padding=0, dilation=1):
        pads = padding if isinstance(padding, (tuple, list)) else (padding, padding)
        if tuple(pads) != (0, 0):
            raise Unsupported("keras.layers.Conv2DTranspose pads 'valid' (0) or its own 'same' only: "
                              f"padding {padding!r} cannot be expressed")
        if not isinstance(output_padding, bool) and isinstance(output_padding, int) and \
                isinstance(stride, int) and output_padding >= stride:
            raise Unsupported("keras.layers.Conv2DTranspose requires output_padding < strides (the spec "
                              "allows it up to max(stride, dilation) - 1, SIZE-8)")
        def fn():
            layer = self.tf.keras.layers.Conv2DTranspose(1, (kernel_size, 1), strides=(stride, 1), padding="valid",
                                                         output_padding=(output_padding, 0),
                                                         dilation_rate=(dilation, 1))
            return layer.compute_output_shape((1, size, 1, 1))[1]

        return np.int64(self._run(fn))  # Keras' "not supported" (strides > 1 with dilation > 1): Unsupported

    # --- segmentation: tf.math and keras.metrics (SEG-1 ... SEG-7; issue 13) ---------------------------
    #
    # - segmentation_labels -> ``tf.math.argmax(logits, axis=-3)`` (TensorFlow documents no tie rule).
    # - confusion_matrix    -> ``tf.math.confusion_matrix(labels=target, predictions=pred, num_classes,
    #   dtype=int64)`` on the flattened maps (rows are labels, as SEG-2's truth). It has no ignore_index
    #   (its ``weights`` would have to be computed from the rule): a set ignore_index is Unsupported.
    # - pixel_accuracy, per_class_iou, mean_iou take a confusion matrix; a matrix is a weighted set of
    #   (truth, prediction) pairs, so each metric is fed every cell once: y_true = the row, y_pred = the
    #   column, sample_weight = the count (a change of representation; Keras accumulates its own matrix):
    #   ``keras.metrics.Accuracy``, ``keras.metrics.IoU(num_classes, target_class_ids=[c])`` per class c,
    #   ``keras.metrics.MeanIoU(num_classes)``, each with the run dtype.

    def segmentation_labels(self, logits):
        return self._run(lambda: self.tf.math.argmax(self._const(logits), axis=-3, output_type=self.tf.int64)).numpy()

    def confusion_matrix(self, pred, target, num_classes, *, ignore_index=None):
        if ignore_index is not None:
            raise Unsupported("tf.math.confusion_matrix has no ignore_index")
        tf = self.tf
        cm = self._run(lambda: tf.math.confusion_matrix(tf.reshape(tf.constant(target), [-1]),
                                                        tf.reshape(tf.constant(pred), [-1]),
                                                        num_classes=num_classes, dtype=tf.int64))
        return cm.numpy()

    def _cells(self, cm: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        c = np.shape(cm)[0]
        return np.repeat(np.arange(c), c), np.tile(np.arange(c), c), np.asarray(cm).reshape(-1)

    def _metric(self, metric: Any, cm: Any) -> Any:
        truth, pred, weight = self._cells(cm)
        metric.update_state(truth, pred, sample_weight=weight)
        return metric.result().numpy()

    def _keras_dtype(self) -> str:
        return self.dtype

    def pixel_accuracy(self, cm):
        return self._run(lambda: self._metric(self.tf.keras.metrics.Accuracy(dtype=self._keras_dtype()), cm))

    def per_class_iou(self, cm):
        c = np.shape(cm)[0]
        iou = self.tf.keras.metrics.IoU
        return np.array([self._run(lambda k=k: self._metric(iou(num_classes=c, target_class_ids=[k],
                                                                dtype=self._keras_dtype()), cm))
                         for k in range(c)])

    def mean_iou(self, cm):
        c = np.shape(cm)[0]
        return self._run(lambda: self._metric(self.tf.keras.metrics.MeanIoU(num_classes=c, dtype=self._keras_dtype()),
                                              cm))


class _Normalize:
    """A Normalization layer called like the random layers (it takes no ``training``)."""

    def __init__(self, layer: Any) -> None:
        self.layer = layer

    def __call__(self, images: Any, training: bool = True) -> Any:
        return self.layer(images)


TARGET = TensorFlowTarget


class TensorFlowPaddedTarget(TensorFlowTarget):
    """``tensorflow`` with ``nms`` mapped to ``tf.image.non_max_suppression_padded`` (TensorFlow's
    tiled NMS built from plain TF ops; float16, float32 and float64). Every other op is the
    ``tensorflow`` target's. Run it as
    ``--target conformance.targets.tensorflow_target:TensorFlowPaddedTarget``."""

    name = "tensorflow-padded"
    nms_function = "non_max_suppression_padded"
