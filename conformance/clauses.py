"""Which rule a failure breaks: the semantic clause of a failing case, from what differs.

The comparison rules (TOL-1 … TOL-6, SPEC-3) say *how* a case was measured; a report must
name the rule of the operation that the target broke (CONV-3 for a wrong channel grouping,
IOU-3 for a zero-union pair, POOL-MAX-2 for a NaN dropped by max pooling). A diagnosed
variant names its own clause; where no variant matches, :func:`semantic_clause` finds the
clause from the kind of difference and the case:

* ``shape``     → the op's size clause (ceil_mode → SIZE-7, "same" → SIZE-5, …);
* ``nonfinite`` → the op's clause for NaN and infinity (POOL-MAX-2 for NaN in max pooling,
  POOL-MAX-1 for a window of −∞ padding, the metric's own clause where it defines a NaN result,
  SPEC-6 elsewhere);
* ``index``     → the op's index clause (POOL-MAX-3, NMS-3 …);
* ``value``     → a targeted probe of the case: where the wrong elements are (only in the
  border that padding reaches → the padding clause), which option is not the default
  (groups → CONV-3, a per-channel constant error with a bias → CONV-4, stride or dilation →
  CONV-6), for the size helpers the size clause of the options (ceil_mode → SIZE-7 …), the
  clause of the failing output (conv2d_cost's flops → COST-2) or of a set option (ignore_index →
  SEG-4), and otherwise the op's defining clause;
* ``raised`` on a valid case → SPEC-3; ``dtype`` / ``type`` → TOL-6; an empty batch → SPEC-7.

Data and NumPy only: no reference, no Hypothesis (``cnnspec golden check`` uses it too).
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: The kinds of failure a finding can be (issue 12's signature kinds).
KINDS = ("value", "shape", "dtype", "type", "nonfinite", "index", "raised", "crash", "timeout",
         "accepts-invalid", "default", "statistic", "adapter-error")

#: Per op, the clause that defines its values (the last resort of :func:`semantic_clause`).
DEFINING: dict[str, str] = {
    "conv2d": "CONV-1", "conv2d_backward": "CONV-7", "conv_transpose2d": "CONVT-1",
    "max_pool2d": "POOL-MAX-1", "avg_pool2d": "POOL-AVG-1", "max_pool2d_backward": "POOL-MAX-4",
    "avg_pool2d_backward": "POOL-AVG-5", "im2col": "IM2COL-1",
    "box_iou": "IOU-1", "nms": "NMS-3", "batched_nms": "NMS-BATCH-2", "soft_nms": "NMS-SOFT-1",
    "rotate": "AUG-12", "translate": "AUG-13", "zoom": "AUG-14", "shear": "AUG-15", "affine": "AUG-4",
    "hflip": "AUG-16", "vflip": "AUG-17", "adjust_brightness": "AUG-18", "channel_shift": "AUG-19",
    "rescale": "AUG-20", "featurewise_fit": "AUG-21", "featurewise_standardize": "AUG-22",
    "samplewise_standardize": "AUG-23",
    "conv_output_size": "SIZE-3", "conv_transpose_output_size": "SIZE-8", "same_padding": "SIZE-5",
    "conv2d_cost": "COST-1", "col2im": "IM2COL-2", "box_convert": "BOX-3", "box_area": "BOX-4",
    "segmentation_labels": "SEG-1", "confusion_matrix": "SEG-2", "pixel_accuracy": "SEG-5",
    "per_class_iou": "SEG-6", "mean_iou": "SEG-7", "dense_crf": "CRF-3",
}

#: Per op, the clause of its output size (a wrong shape), before ceil_mode / "same" refine it.
SIZE: dict[str, str] = {
    "conv2d": "SIZE-3", "conv2d_backward": "CONV-7", "conv_transpose2d": "SIZE-8", "max_pool2d": "SIZE-3",
    "avg_pool2d": "SIZE-3", "max_pool2d_backward": "POOL-MAX-4", "avg_pool2d_backward": "POOL-AVG-5",
    "im2col": "IM2COL-1", "box_iou": "BOX-1", "nms": "NMS-4", "batched_nms": "NMS-BATCH-3",
    "soft_nms": "NMS-SOFT-4", "conv_output_size": "SIZE-3", "conv_transpose_output_size": "SIZE-8",
    "same_padding": "SIZE-5", "conv2d_cost": "COST-1", "col2im": "IM2COL-2", "box_convert": "BOX-1",
    "box_area": "BOX-1", "segmentation_labels": "SEG-1", "confusion_matrix": "SEG-2", "pixel_accuracy": "SEG-5",
    "per_class_iou": "SEG-6", "mean_iou": "SEG-7", "dense_crf": "CRF-4",
}

#: Ops whose values are output sizes or pads: a wrong value breaks the size clause of the case's
#: options (ceil_mode → SIZE-7, "same" → SIZE-5 …, as a wrong shape of a windowed op does).
SIZE_VALUED = ("conv_output_size", "conv_transpose_output_size", "same_padding")

#: Per (op, output), the clause that output follows where an op's outputs follow different clauses.
OUTPUT: dict[tuple[str, str], str] = {
    ("conv2d_cost", "macs"): "COST-1", ("conv2d_cost", "flops"): "COST-2", ("conv2d_cost", "params"): "COST-3",
}

#: Per op, options that, when a case sets them (not None), name the clause a wrong value breaks.
OPTION: dict[str, tuple[tuple[str, str], ...]] = {
    "confusion_matrix": (("ignore_index", "SEG-4"),),
}

#: Per op, the clause that defines a NaN result (a number where it must be NaN, or the reverse).
NAN_DEFINED: dict[str, str] = {
    "pixel_accuracy": "SEG-5", "per_class_iou": "SEG-6", "mean_iou": "SEG-7",
}

#: Per op, the clause its index output follows.
INDEX: dict[str, str] = {
    "max_pool2d": "POOL-MAX-3", "nms": "NMS-3", "batched_nms": "NMS-BATCH-2", "soft_nms": "NMS-SOFT-1",
}


def base_op(op: str) -> str:
    """The op a ``*_uint8`` twin checks (rotate_uint8 → rotate)."""
    return op[:-6] if op.endswith("_uint8") else op


def kind_of(measured_by: str, output: str, reason: str, shape_differs: bool = False) -> str:
    """The kind of a failing comparison, from the rule that measured it and the output's name."""
    if measured_by == "SPEC-3":
        return "raised"
    if measured_by == "TOL-6" or shape_differs:
        if shape_differs or reason.startswith("shape"):
            return "shape"
        if reason.startswith("dtype"):
            return "dtype"
        return "type"
    if measured_by == "TOL-5":
        return "nonfinite"
    if measured_by == "TOL-3":
        return "statistic"
    if output in ("indices", "index", "idx"):
        return "index"
    return "value"


def _pair(v: Any) -> tuple[int, int]:
    if isinstance(v, (int, np.integer)):
        return (int(v), int(v))
    if isinstance(v, (tuple, list)) and len(v) == 2 and all(isinstance(a, (int, np.integer)) for a in v):
        return (int(v[0]), int(v[1]))
    return (1, 1)


def _padded(params: dict[str, Any]) -> bool:
    p = params.get("padding", 0)
    if isinstance(p, str):
        return p in ("same", "same_lower")
    return bool(np.any(np.asarray(p, dtype=object).ravel().tolist()))


def size_clause(op: str, params: dict[str, Any]) -> str:
    """The output-size clause a wrong shape of ``op`` breaks, for these options."""
    if params.get("ceil_mode"):
        return "SIZE-7"
    p = params.get("padding")
    if p == "same":
        return "SIZE-5"
    if p == "same_lower":
        return "SIZE-6"
    if p == "valid":
        return "SIZE-9"
    return SIZE.get(base_op(op), "TOL-6")


def _empty_batch(arrays: dict[str, np.ndarray]) -> bool:
    x = arrays.get("x")
    return x is not None and x.ndim == 4 and x.shape[0] == 0


def _border_only(bad: np.ndarray, params: dict[str, Any], w_shape: tuple[int, ...] | None,
                 x_shape: tuple[int, ...]) -> bool:
    """Whether every wrong output element (mask over N, M, OH, OW) lies where a window reaches padding."""
    if bad.ndim != 4 or not bad.any() or not _padded(params) or isinstance(params.get("padding"), str):
        return False
    p = params.get("padding", 0)
    if isinstance(p, (int, np.integer)):
        pads = ((int(p), int(p)), (int(p), int(p)))
    elif isinstance(p[0], (int, np.integer)):
        pads = ((int(p[0]), int(p[0])), (int(p[1]), int(p[1])))
    else:
        pads = ((int(p[0][0]), int(p[0][1])), (int(p[1][0]), int(p[1][1])))
    s, d = _pair(params.get("stride", 1)), _pair(params.get("dilation", 1))
    k = tuple(w_shape[2:]) if w_shape is not None else _pair(params.get("kernel_size", 1))
    oh, ow = bad.shape[2], bad.shape[3]
    edge = np.zeros((oh, ow), dtype=bool)
    for ax, n_out in ((0, oh), (1, ow)):
        lo, hi = pads[ax]
        span = d[ax] * (k[ax] - 1)
        starts = np.arange(n_out) * s[ax] - lo  # the window's first tap, in input coordinates
        touches = (starts < 0) | (starts + span >= x_shape[2 + ax])
        edge |= touches[:, None] if ax == 0 else touches[None, :]
    return bool(np.all(edge[np.any(bad, axis=(0, 1))]))


def semantic_clause(op: str, kind: str, *, output: str = "", params: dict[str, Any] | None = None,
                    arrays: dict[str, np.ndarray] | None = None, ref: Any = None, got: Any = None) -> str:
    """The clause of ``op`` that a failure of ``kind`` breaks (see the module docstring).

    ``params`` and ``arrays`` are the case's; ``ref`` and ``got`` the failing output, when known
    (a golden check or a finding read back from a file may give none: the kind alone decides).
    """
    params = params or {}
    arrays = arrays or {}
    base = base_op(op)
    if arrays and _empty_batch(arrays) and kind in ("shape", "raised", "crash", "type", "timeout"):
        return "SPEC-7"
    if kind in ("raised", "crash", "timeout"):
        return "SPEC-3"
    if kind in ("dtype", "type"):
        return "TOL-6" if not op.endswith("_uint8") else "AUG-2"
    if kind == "statistic":
        return "TOL-3"
    if kind == "shape":
        return size_clause(op, params)
    if kind == "index":
        return INDEX.get(base, DEFINING.get(base, "TOL-4"))
    x = arrays.get("x")
    has_nan = x is not None and x.dtype.kind == "f" and bool(np.isnan(x).any())
    if kind == "nonfinite":
        if base in ("max_pool2d", "max_pool2d_backward"):
            return ("POOL-MAX-2" if has_nan else "POOL-MAX-1") if base == "max_pool2d" else "POOL-MAX-4"
        if base == "box_iou":
            return "BOX-6"
        if base in NAN_DEFINED:
            return NAN_DEFINED[base]
        if base in ("conv2d", "conv_transpose2d") and _padded(params) and _bad_on_border(op, params, arrays, ref,
                                                                                           got):
            return "CONV-5" if base == "conv2d" else "CONVT-1"
        return "SPEC-6"
    # kind == "value"
    if base in SIZE_VALUED:
        return size_clause(op, params)
    if (base, output) in OUTPUT:
        return OUTPUT[(base, output)]
    for option, clause in OPTION.get(base, ()):
        if params.get(option) is not None:
            return clause
    if base == "conv2d":
        if _bad_on_border(op, params, arrays, ref, got):
            return "CONV-5"
        if int(params.get("groups", 1)) > 1:
            return "CONV-3"
        if "b" in arrays and _per_channel_offset(ref, got):
            return "CONV-4"
        if _pair(params.get("stride", 1)) != (1, 1) or _pair(params.get("dilation", 1)) != (1, 1):
            return "CONV-6"
        return "CONV-1"
    if base == "conv_transpose2d":
        return "CONVT-2" if int(params.get("groups", 1)) > 1 else "CONVT-1"
    if base == "max_pool2d":
        if _pair(params.get("dilation", 1)) != (1, 1):
            return "POOL-MAX-5"
        return "POOL-MAX-1"
    if base == "avg_pool2d":
        if params.get("divisor_override") is not None:
            return "POOL-AVG-4"
        if _padded(params) or params.get("ceil_mode"):
            return "POOL-AVG-2" if params.get("count_include_pad", True) else "POOL-AVG-3"
        return "POOL-AVG-1"
    if base == "box_iou" and ref is not None:
        return "IOU-3" if _zero_union(arrays, params, ref, got) else "IOU-1"
    if base == "nms" and "score_threshold" in params and params["score_threshold"] is not None:
        return "NMS-3"
    return DEFINING.get(base, "TOL-2")


def _bad_mask(ref: Any, got: Any) -> np.ndarray | None:
    if not isinstance(ref, np.ndarray) or not isinstance(got, np.ndarray) or ref.shape != got.shape:
        return None
    r, g = ref.astype(np.float64), got.astype(np.float64)
    with np.errstate(invalid="ignore"):
        same = (r == g) | (np.isnan(r) & np.isnan(g)) | (np.abs(r - g) <= 1e-6 * np.maximum(np.abs(r), 1.0))
    return ~same


def _bad_on_border(op: str, params: dict[str, Any], arrays: dict[str, np.ndarray], ref: Any, got: Any) -> bool:
    bad = _bad_mask(ref, got)
    if bad is None or base_op(op) != "conv2d":
        return False
    w, x = arrays.get("w"), arrays.get("x")
    if x is None:
        return False
    return _border_only(bad, params, tuple(w.shape) if w is not None else None, tuple(x.shape))


def _per_channel_offset(ref: Any, got: Any) -> bool:
    """Whether got − ref is one constant per output channel (a bias added wrongly)."""
    if not isinstance(ref, np.ndarray) or not isinstance(got, np.ndarray) or ref.shape != got.shape or ref.ndim != 4:
        return False
    d = got.astype(np.float64) - ref.astype(np.float64)
    if not np.all(np.isfinite(d)) or d.size == 0:
        return False
    spread = d - d.mean(axis=(0, 2, 3), keepdims=True)
    return bool(np.all(np.abs(spread) <= 1e-6 * (1 + np.abs(d).max())))


def _zero_union(arrays: dict[str, np.ndarray], params: dict[str, Any], ref: Any, got: Any) -> bool:
    """Whether every wrong IoU is of a pair whose union is 0 (both boxes of zero area)."""
    bad = _bad_mask(ref, got)
    a, b = arrays.get("boxes1"), arrays.get("boxes2")
    if bad is None or a is None or b is None or bad.ndim != 2 or a.ndim != 2 or b.ndim != 2:
        return False

    def area(z: np.ndarray) -> np.ndarray:
        if params.get("fmt", "xyxy") == "xyxy":
            return np.clip(z[:, 2] - z[:, 0], 0, None) * np.clip(z[:, 3] - z[:, 1], 0, None)
        return np.clip(z[:, 2], 0, None) * np.clip(z[:, 3], 0, None)  # xywh and cxcywh: (…, w, h)

    zero = (area(a.astype(np.float64))[:, None] == 0) & (area(b.astype(np.float64))[None, :] == 0)
    return bool(bad.any() and np.all(zero[bad]))


#: The clause that defines each keyword's meaning and default (a target whose default differs breaks it).
DEFAULT_CLAUSES: dict[str, str] = {
    "stride": "SIZE-1", "dilation": "SIZE-1", "kernel_size": "SIZE-1", "padding": "SIZE-2", "ceil_mode": "SIZE-7",
    "output_padding": "SIZE-8", "groups": "CONV-3", "count_include_pad": "POOL-AVG-2",
    "divisor_override": "POOL-AVG-4", "return_indices": "POOL-MAX-3", "interpolation": "AUG-6",
    "fill_mode": "AUG-7", "fill_value": "AUG-7", "offset": "AUG-20", "fmt": "BOX-2", "score_threshold": "NMS-5",
    "max_output": "NMS-6", "max_output_per_class": "NMS-BATCH-1", "sigma": "NMS-SOFT-6",
    "iou_threshold": "NMS-SOFT-6", "method": "NMS-SOFT-6",
}


def default_clause(op: str, key: str) -> str:
    """The clause a target breaks when its default for ``key`` differs from the spec's."""
    base = base_op(op)
    if key == "stride" and base.startswith(("max_pool", "avg_pool")):
        return "POOL-1"  # the pooling stride defaults to the kernel size
    if key == "eps":
        return {"featurewise_standardize": "AUG-22", "samplewise_standardize": "AUG-23"}.get(base, "AUG-22")
    return DEFAULT_CLAUSES.get(key, DEFINING.get(base, "SPEC-1"))
