"""One-node ONNX models for the ONNX-based targets (onnxruntime, opencv).

Both adapters run a case by building a model with a single ONNX node (Conv,
ConvTranspose, MaxPool or AveragePool) and handing it to their library. This module
maps the spec's parameters onto ONNX attributes, builds the model with
:mod:`onnx.helper` and checks it with :func:`onnx.checker.check_model`
(``full_check=True``, i.e. with strict shape inference), so a model the adapters feed
to a library is a valid ONNX model before the library sees it.

The mapping is a plain change of notation; nothing here computes anything:

* kernel_size / stride / dilation, int or (h, w)   -> ``kernel_shape`` / ``strides`` / ``dilations``
  (stride None -> ``strides = kernel_shape``, POOL-1)
* padding int p / (ph, pw) / ((t, b), (l, r))       -> ``pads = [t, l, b, r]`` (ONNX order: all
  begins, then all ends)
* padding "valid" / "same" / "same_lower"          -> ``auto_pad = VALID / SAME_UPPER / SAME_LOWER``
  (ONNX: SAME_* pads to ``ceil(H / S)`` with total ``(OH - 1)·S + D·(K - 1) + 1 - H``, the odd
  pad at the end for SAME_UPPER and at the start for SAME_LOWER: SIZE-5, SIZE-6)
* groups -> ``group``; output_padding -> ``output_padding``; ceil_mode -> ``ceil_mode``;
  count_include_pad -> ``count_include_pad``; MaxPool's ``storage_order`` is always 0 (row major).

A parameter ONNX cannot state raises :class:`~conformance.targets.Unsupported` here, once,
for both adapters (see :func:`pool_attrs` and :func:`conv_transpose_attrs`).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

from . import Unsupported

#: The opset the models declare. Conv, ConvTranspose, MaxPool and AveragePool were last
#: revised in opset 22 (MaxPool has dilations and ceil_mode since 10, AveragePool ceil_mode
#: since 10 and dilations since 19), so 22 is the newest opset with every attribute used here;
#: onnxruntime >= 1.20 runs it.
OPSET = 22
#: The IR version that goes with opset 22 (onnx 1.16 ... 1.18); a newer IR than the runtime
#: knows would make it refuse the model.
IR_VERSION = 10

#: Spec dtype -> ONNX element type name (resolved lazily, so importing this module needs no onnx).
ELEM_TYPES = {"float32": "FLOAT", "float64": "DOUBLE", "float16": "FLOAT16", "bfloat16": "BFLOAT16"}


# --- parameter forms -------------------------------------------------------------------------

def _int(v: Any, name: str) -> int:
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        raise ValueError(f"{name}={v!r} is not an int")
    return int(v)


def pair(v: Any, name: str) -> tuple[int, int]:
    """An int or (h, w) -> (h, w) (SIZE-1 forms)."""
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ValueError(f"{name}={v!r} must be an int or a pair (h, w)")
        return (_int(v[0], name), _int(v[1], name))
    i = _int(v, name)
    return (i, i)


def padding_attrs(padding: Any) -> dict[str, Any]:
    """A SIZE-2 padding form -> ONNX ``pads`` or ``auto_pad``."""
    if isinstance(padding, str):
        try:
            return {"auto_pad": {"valid": "VALID", "same": "SAME_UPPER", "same_lower": "SAME_LOWER"}[padding]}
        except KeyError:
            raise ValueError(f"padding={padding!r} is not a padding form of SIZE-2") from None
    if isinstance(padding, (tuple, list)) and len(padding) == 2 \
            and all(isinstance(p, (tuple, list)) for p in padding):
        (t, b), (l, r) = padding
        return {"pads": [_int(t, "padding"), _int(l, "padding"), _int(b, "padding"), _int(r, "padding")]}
    ph, pw = pair(padding, "padding")
    return {"pads": [ph, pw, ph, pw]}


# --- attributes per op -----------------------------------------------------------------------

def conv_attrs(kernel: tuple[int, ...], *, stride: Any, padding: Any, dilation: Any,
               groups: Any) -> dict[str, Any]:
    """ONNX Conv attributes for conv2d's keywords (kernel from w.shape[2:])."""
    return {"kernel_shape": list(kernel), "strides": list(pair(stride, "stride")),
            "dilations": list(pair(dilation, "dilation")), "group": _int(groups, "groups"),
            **padding_attrs(padding)}


def conv_transpose_attrs(kernel: tuple[int, ...], *, stride: Any, padding: Any, output_padding: Any,
                         dilation: Any, groups: Any) -> dict[str, Any]:
    """ONNX ConvTranspose attributes for conv_transpose2d's keywords.

    "same" / "same_lower" are not transposed-convolution paddings in the spec (CONVT-5), and
    ONNX's SAME_UPPER / SAME_LOWER for ConvTranspose mean something else (an output of
    H·S), so they are Unsupported rather than mapped. ``output_shape`` is never used.
    """
    if isinstance(padding, str) and padding != "valid":
        raise Unsupported(f"padding={padding!r}: the spec has no 'same' transposed convolution (CONVT-5) "
                          "and ONNX ConvTranspose's SAME_* auto_pad means output = H*stride instead")
    return {"kernel_shape": list(kernel), "strides": list(pair(stride, "stride")),
            "dilations": list(pair(dilation, "dilation")), "group": _int(groups, "groups"),
            "output_padding": list(pair(output_padding, "output_padding")), **padding_attrs(padding)}


def pool_attrs(op: str, kernel_size: Any, *, stride: Any, padding: Any, ceil_mode: bool,
               dilation: Any = 1, count_include_pad: bool = True,
               divisor_override: Any = None) -> dict[str, Any]:
    """ONNX MaxPool / AveragePool attributes for max_pool2d / avg_pool2d's keywords.

    AveragePool has no divisor attribute: ``divisor_override`` (POOL-AVG-4) is Unsupported.
    """
    k = pair(kernel_size, "kernel_size")
    attrs: dict[str, Any] = {"kernel_shape": list(k),
                             "strides": list(k if stride is None else pair(stride, "stride")),
                             "ceil_mode": int(bool(ceil_mode)), **padding_attrs(padding)}
    if op == "MaxPool":
        attrs["dilations"] = list(pair(dilation, "dilation"))
        attrs["storage_order"] = 0
    else:
        if divisor_override is not None:
            raise Unsupported("divisor_override: ONNX AveragePool has no divisor attribute; its divisor "
                              "is always the count_include_pad count (POOL-AVG-4 not expressible)")
        attrs["count_include_pad"] = int(bool(count_include_pad))
    return attrs


# --- models ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class NodeModel:
    """A hashable description of a one-node model: the cache key of compiled sessions/nets.

    ``inputs`` name the node's inputs with their shapes, in the node's input order (all of them
    graph inputs unless :meth:`build` is given constants); ``outputs`` name the outputs: one named
    ``indices`` is int64, every other one is ``dtype``.
    """

    op_type: str
    attrs: tuple[tuple[str, Any], ...]
    inputs: tuple[tuple[str, tuple[int, ...]], ...]
    outputs: tuple[str, ...]
    dtype: str

    @classmethod
    def make(cls, op_type: str, attrs: dict[str, Any], inputs: dict[str, tuple[int, ...]],
             outputs: tuple[str, ...], dtype: str) -> NodeModel:
        frozen = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in attrs.items()))
        return cls(op_type, frozen, tuple((n, tuple(int(d) for d in s)) for n, s in inputs.items()),
                   tuple(outputs), dtype)

    def build(self, constants: dict[str, Any] | None = None) -> Any:
        """The checked ``onnx.ModelProto``. ``constants`` (name -> NumPy array) become initializers."""
        import onnx
        from onnx import TensorProto, helper, numpy_helper

        elem = getattr(TensorProto, ELEM_TYPES[self.dtype])
        constants = constants or {}
        attrs: dict[str, Any] = {k: list(v) if isinstance(v, tuple) else v for k, v in self.attrs}
        node = helper.make_node(self.op_type, [n for n, _ in self.inputs], list(self.outputs), **attrs)
        graph_inputs = [helper.make_tensor_value_info(n, elem, list(s)) for n, s in self.inputs
                        if n not in constants]
        inits = [numpy_helper.from_array(constants[n], n) for n, _ in self.inputs if n in constants]
        # Output shapes are left symbolic: ONNX shape inference (run by the full check) derives them.
        graph_outputs = [helper.make_tensor_value_info(o, TensorProto.INT64 if o == "indices" else elem,
                                                       [None] * 4) for o in self.outputs]
        graph = helper.make_graph([node], f"cnnspec_{self.op_type}", graph_inputs, graph_outputs,
                                  initializer=inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  ir_version=IR_VERSION, producer_name="cnnspec")
        onnx.checker.check_model(model, full_check=True)
        return model


def conv_model(x_shape: tuple[int, ...], w_shape: tuple[int, ...], has_bias: bool, dtype: str, *,
               stride: Any = 1, padding: Any = 0, dilation: Any = 1, groups: Any = 1) -> NodeModel:
    attrs = conv_attrs(tuple(w_shape[2:]), stride=stride, padding=padding, dilation=dilation, groups=groups)
    inputs = {"x": x_shape, "w": w_shape, **({"b": (w_shape[0],)} if has_bias else {})}
    return NodeModel.make("Conv", attrs, inputs, ("y",), dtype)


def conv_transpose_model(x_shape: tuple[int, ...], w_shape: tuple[int, ...], has_bias: bool, dtype: str,
                         *, stride: Any = 1, padding: Any = 0, output_padding: Any = 0,
                         dilation: Any = 1, groups: Any = 1) -> NodeModel:
    attrs = conv_transpose_attrs(tuple(w_shape[2:]), stride=stride, padding=padding,
                                 output_padding=output_padding, dilation=dilation, groups=groups)
    g = _int(groups, "groups")
    inputs = {"x": x_shape, "w": w_shape, **({"b": (w_shape[1] * g,)} if has_bias else {})}
    return NodeModel.make("ConvTranspose", attrs, inputs, ("y",), dtype)


def max_pool_model(x_shape: tuple[int, ...], dtype: str, kernel_size: Any, *, stride: Any = None,
                   padding: Any = 0, dilation: Any = 1, ceil_mode: bool = False,
                   return_indices: bool = False) -> NodeModel:
    attrs = pool_attrs("MaxPool", kernel_size, stride=stride, padding=padding, ceil_mode=ceil_mode,
                       dilation=dilation)
    return NodeModel.make("MaxPool", attrs, {"x": x_shape}, ("y", "indices") if return_indices else ("y",),
                          dtype)


def avg_pool_model(x_shape: tuple[int, ...], dtype: str, kernel_size: Any, *, stride: Any = None,
                   padding: Any = 0, ceil_mode: bool = False, count_include_pad: bool = True,
                   divisor_override: Any = None) -> NodeModel:
    attrs = pool_attrs("AveragePool", kernel_size, stride=stride, padding=padding, ceil_mode=ceil_mode,
                       count_include_pad=count_include_pad, divisor_override=divisor_override)
    return NodeModel.make("AveragePool", attrs, {"x": x_shape}, ("y",), dtype)


def plane_indices(flat: Any, x_shape: tuple[int, ...], *, per_image: bool = False) -> Any:
    """MaxPool ``Indices`` -> the spec's per-plane ``h·W + w`` (POOL-MAX-3), a change of notation.

    ONNX flattens the index over the whole (N, C, H, W) tensor (storage_order 0): each plane's
    offset ``(n·C + c)·H·W`` is subtracted. ``per_image`` is for a runtime that flattens over one
    image's (C, H, W) only (OpenCV's dnn): the offset is then ``c·H·W``.
    """
    import numpy as np

    n, c, h, w = x_shape
    image = np.zeros((n, 1), np.int64) if per_image else np.arange(n, dtype=np.int64)[:, None] * c
    planes = image + np.arange(c, dtype=np.int64)[None, :]
    return np.asarray(flat, dtype=np.int64) - (planes * (h * w)).reshape(n, c, 1, 1)


# --- NonMaxSuppression (detection, issue 4) ----------------------------------------------------

@dataclass(frozen=True)
class NmsModel:
    """A one-node ``NonMaxSuppression`` model (the operator of opset 11, unchanged through 22).

    Inputs, all graph inputs: ``boxes`` float [1, N, 4], ``scores`` float [1, C, N],
    ``max_output_boxes_per_class`` int64 scalar, ``iou_threshold`` float scalar and, when
    ``score_threshold`` is set, ``score_threshold`` float scalar (left out otherwise: ONNX then
    keeps every score). N and C are symbolic, so one model serves every case of a kind. Output
    ``selected_indices`` int64 [K, 3] of (batch, class, box). ``center_point_box`` 0 reads a box as
    two diagonal corners ``[y1, x1, y2, x2]`` (the spec's ``yxyx``), 1 as ``[x_center, y_center,
    width, height]`` (``cxcywh``). The operator is defined for float only, hence ``dtype``.
    Hashable: it is the cache key of compiled sessions, like :class:`NodeModel`.
    """

    center_point_box: int
    score_threshold: bool
    op_type: str = "NonMaxSuppression"
    dtype: str = "float32"

    @property
    def input_names(self) -> tuple[str, ...]:
        return ("boxes", "scores", "max_output_boxes_per_class", "iou_threshold") + \
            (("score_threshold",) if self.score_threshold else ())

    def build(self) -> Any:
        import onnx
        from onnx import TensorProto, helper

        f = TensorProto.FLOAT
        inputs = [helper.make_tensor_value_info("boxes", f, [1, "N", 4]),
                  helper.make_tensor_value_info("scores", f, [1, "C", "N"]),
                  helper.make_tensor_value_info("max_output_boxes_per_class", TensorProto.INT64, []),
                  helper.make_tensor_value_info("iou_threshold", f, [])]
        if self.score_threshold:
            inputs.append(helper.make_tensor_value_info("score_threshold", f, []))
        node = helper.make_node("NonMaxSuppression", list(self.input_names), ["selected_indices"],
                                center_point_box=int(self.center_point_box))
        out = helper.make_tensor_value_info("selected_indices", TensorProto.INT64, [None, 3])
        graph = helper.make_graph([node], "cnnspec_NonMaxSuppression", inputs, [out])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  ir_version=IR_VERSION, producer_name="cnnspec")
        onnx.checker.check_model(model, full_check=True)
        return model
