"""The convolution family in the runner's registry: conv2d (+ backward), conv_transpose2d, max and
average pooling (+ backward), im2col — each op's cases, error model and named variants.

Exports plain values, composed into the one op table by conformance/ops.py: :data:`SPECS` (the
ops), :data:`VARIANTS` (the conventions of spec/conv2d.md, conv_transpose2d.md, pooling.md,
im2col.md and output_size.md that diagnose a failing target). The curated cases are
conformance/corpus.py's. Nothing here changes another module when it is imported.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import reference as ref
from reference import pooling as pool
from reference.pooling import avg_divisor, max_pool_core, route_max_grad

from .strategies.conv import CASES
from .types import Case, Expected, OpSpec, Variant


def _abs(case: Case) -> dict[str, np.ndarray]:
    return {k: np.abs(v) for k, v in case.arrays.items()}


def _conv2d(case: Case) -> Expected:
    w = case.arrays["w"]
    y = case.call(ref.conv2d)
    scale = ref.conv2d(*_abs(case).values(), **case.params)
    terms = w.shape[1] * w.shape[2] * w.shape[3] + ("b" in case.arrays)
    return [("y", y, scale, terms)]


def _conv2d_backward(case: Case) -> Expected:
    dy, x, w = case.arrays["dy"], case.arrays["x"], case.arrays["w"]
    out = case.call(ref.conv2d_backward)
    scale = ref.conv2d_backward(np.abs(dy), np.abs(x), np.abs(w), **case.params)
    g = case.params.get("groups", 1)
    kk = w.shape[2] * w.shape[3]
    n_dw = dy.shape[0] * dy.shape[2] * dy.shape[3]
    return [("dx", out[0], scale[0], (w.shape[0] // g) * kk), ("dw", out[1], scale[1], n_dw),
            ("db", out[2], scale[2], n_dw)]


def _conv_transpose2d(case: Case) -> Expected:
    x, w = case.arrays["x"], case.arrays["w"]
    y = case.call(ref.conv_transpose2d)
    scale = ref.conv_transpose2d(*_abs(case).values(), **case.params)
    g = case.params.get("groups", 1)
    terms = (x.shape[1] // g) * w.shape[2] * w.shape[3] + ("b" in case.arrays)
    return [("y", y, scale, terms)]


def _max_pool2d(case: Case) -> Expected:
    y, idx = ref.max_pool2d(case.arrays["x"], **{**case.params, "return_indices": True})
    if not case.params.get("return_indices"):
        return [("y", y, None, 1)]
    return [("y", y, None, 1), ("indices", idx, None, 1)]


def _values_only(case: Case) -> Case | None:
    """max_pool2d without indices, for a target that has none (JAX): its values are still checked."""
    if not case.params.get("return_indices"):
        return None
    return Case(case.op, dict(case.arrays), {**case.params, "return_indices": False}, case.exact, case.note)


def _avg_pool2d(case: Case) -> Expected:
    y = case.call(ref.avg_pool2d)
    scale = ref.avg_pool2d(np.abs(case.arrays["x"]), **case.params)
    k = _kernel(case)
    return [("y", y, scale, k[0] * k[1])]  # TOL-2: n = KH*KW; the division is the u*|ref| term


def _kernel(case: Case) -> tuple[int, int]:
    k = case.params["kernel_size"]
    return (k, k) if isinstance(k, int) else tuple(k)  # type: ignore[return-value]


def _pool_backward(case: Case) -> Expected:
    fn = getattr(ref, case.op)
    dx = case.call(fn)
    scale = fn(np.abs(case.arrays["dy"]), case.arrays["x"], **case.params)
    k = _kernel(case)
    return [("dx", dx, scale, k[0] * k[1])]


def _im2col(case: Case) -> Expected:
    return [("col", case.call(ref.im2col), None, 1)]


SPECS: list[OpSpec] = [
    OpSpec("conv2d", ("y",), ("CONV-1", "CONV-2", "CONV-3", "CONV-4", "CONV-5", "CONV-6", "SIZE-3"),
           CASES["conv2d"], _conv2d),
    OpSpec("conv2d_backward", ("dx", "dw", "db"), ("CONV-7",), CASES["conv2d_backward"], _conv2d_backward),
    OpSpec("conv_transpose2d", ("y",), ("CONVT-1", "CONVT-2", "CONVT-3", "SIZE-8"),
           CASES["conv_transpose2d"], _conv_transpose2d, "SIZE-8"),
    OpSpec("max_pool2d", ("y", "indices"), ("POOL-MAX-1", "POOL-MAX-2", "POOL-MAX-3", "POOL-MAX-5", "SIZE-7"),
           CASES["max_pool2d"], _max_pool2d, fallback=_values_only),
    OpSpec("avg_pool2d", ("y",), ("POOL-AVG-1", "POOL-AVG-2", "POOL-AVG-3", "POOL-AVG-4", "SIZE-7"),
           CASES["avg_pool2d"], _avg_pool2d, divides=True),
    OpSpec("max_pool2d_backward", ("dx",), ("POOL-MAX-4",), CASES["max_pool2d_backward"], _pool_backward),
    OpSpec("avg_pool2d_backward", ("dx",), ("POOL-AVG-5",), CASES["avg_pool2d_backward"], _pool_backward,
           exact_capable=False),
    OpSpec("im2col", ("col",), ("IM2COL-1",), CASES["im2col"], _im2col),
]

#: op -> its measure (the variants recompute an op of this family through it).
MEASURE: dict[str, Callable[[Case], Expected]] = {s.name: s.measure for s in SPECS}


# --- variants --------------------------------------------------------------------------------

def _with(case: Case, arrays: dict[str, np.ndarray] | None = None, **params: Any) -> Case:
    return Case(case.op, {**case.arrays, **(arrays or {})}, {**case.params, **params}, case.exact, case.note)


def _flip_w(case: Case) -> Expected:
    return MEASURE[case.op](_with(case, {"w": case.arrays["w"][:, :, ::-1, ::-1].copy()}))


def _same_swapped(case: Case) -> Expected:
    swap = {"same": "same_lower", "same_lower": "same"}
    p = case.params.get("padding")
    return MEASURE[case.op](_with(case, padding=swap.get(p, p)) if isinstance(p, str) else case)


def _pair(v: Any) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _same_rule(rule: str) -> Callable[[Case], Expected]:
    """'same' padding computed by another library's rule (SIZE-5 variants), then the spec's op.

    A negative pad (``same-unclamped``) crops the input instead; max-pooling indices are mapped
    back to the uncropped plane so they compare with the target's.
    """
    def compute(case: Case) -> Expected:
        padding = case.params.get("padding")
        if padding not in ("same", "same_lower"):
            return MEASURE[case.op](case)
        x = case.arrays["x"]
        k = _pair(case.params["kernel_size"]) if "kernel_size" in case.params else case.arrays["w"].shape[2:]
        stride = case.params.get("stride")
        s = k if stride is None else _pair(stride)
        d = _pair(case.params.get("dilation", 1))
        pads = []
        for ax in (0, 1):
            n = x.shape[2 + ax]
            if rule == "kernel-minus-one":
                total = k[ax] - 1
            else:
                dil = 1 if rule == "undilated" else d[ax]
                total = (-(-n // s[ax]) - 1) * s[ax] + dil * (k[ax] - 1) + 1 - n
                total = total if rule == "unclamped" else max(total, 0)
            head = int(total / 2)  # C++ integer division truncates toward zero
            pads.append((head, total - head) if padding == "same" or rule == "kernel-minus-one"
                        else (total - head, head))
        crop = [(max(-a, 0), max(-b, 0)) for a, b in pads]
        h, w = x.shape[2:]
        xc = x[:, :, crop[0][0]:h - crop[0][1], crop[1][0]:w - crop[1][1]]
        cut = ((max(pads[0][0], 0), max(pads[0][1], 0)), (max(pads[1][0], 0), max(pads[1][1], 0)))
        out = MEASURE[case.op](_with(case, {"x": np.ascontiguousarray(xc)}, padding=cut))
        if len(out) == 2 and case.op == "max_pool2d":
            idx = out[1][1]
            hh, ww = np.divmod(idx, xc.shape[3])
            mapped = np.where(idx >= 0, (hh + crop[0][0]) * w + ww + crop[1][0], idx)
            out[1] = ("indices", mapped, None, 1)
        return out
    return compute


def _cip_flipped(case: Case) -> Expected:
    return MEASURE[case.op](_with(case, count_include_pad=not case.params.get("count_include_pad", True)))


def _pool_geometry(case: Case, ceil_rule: str = "spec") -> Any:
    p = case.params
    return pool._geometry(case.arrays["x"], p["kernel_size"], p.get("stride"), p.get("padding", 0),
                          p.get("dilation", 1), p.get("ceil_mode", False), ceil_rule)


def _max(case: Case, ceil_rule: str = "spec", **core: Any) -> tuple[np.ndarray, np.ndarray]:
    x = case.arrays["x"]
    return max_pool_core(x, _pool_geometry(case, ceil_rule), **core)


def _max_fwd(**core: Any) -> Callable[[Case], Expected]:
    def compute(case: Case) -> Expected:
        y, idx = _max(case, **core)
        if not case.params.get("return_indices"):
            return [("y", y, None, 1)]
        return [("y", y, None, 1), ("indices", idx, None, 1)]
    return compute


def _max_bwd(**core: Any) -> Callable[[Case], Expected]:
    def compute(case: Case) -> Expected:
        x, dy = case.arrays["x"], case.arrays["dy"]
        _, idx = _max(case, **core)
        if idx.shape != dy.shape:
            return [("dx", np.full(x.shape, np.nan), None, 1)]
        return [("dx", route_max_grad(dy, idx, x.shape), route_max_grad(np.abs(dy), idx, x.shape), 9)]
    return compute


def _avg(full_kernel: bool = False, ceil_rule: str = "spec") -> Callable[[Case], Expected]:
    def compute(case: Case) -> Expected:
        from reference import _window as win

        x, p = case.arrays["x"], case.params
        g = _pool_geometry(case, ceil_rule)
        cols = win.windows(win.pad(x, g, 0.0), g)
        total = cols.sum(axis=(2, 3))
        scale = np.abs(cols).sum(axis=(2, 3))
        div = avg_divisor(g, p.get("count_include_pad", True), p.get("divisor_override"), full_kernel)
        with np.errstate(invalid="ignore", divide="ignore"):
            return [("y", total / div, scale / div, g.taps + 1)]
    return compute


VARIANTS: list[Variant] = [
    Variant("flipped-kernel", "CONV-1", "conv2d", _flip_w,
            "true convolution: the kernel is flipped (SciPy's convolve2d, textbook convolution)"),
    Variant("flipped-kernel", "CONV-7", "conv2d_backward", _flip_w,
            "gradients of a true convolution (flipped kernel)"),
    Variant("same-lower", "SIZE-5", "conv2d", _same_swapped,
            "'same' padding with the odd pad at the start (ONNX SAME_LOWER)"),
    Variant("same-kernel-minus-one", "SIZE-5", "conv2d", _same_rule("kernel-minus-one"),
            "'same' pads K-1 in total whatever the stride and dilation, odd pad at the end (OpenCV 5 dnn)"),
    Variant("unflipped-kernel", "CONVT-1", "conv_transpose2d", _flip_w,
            "the four-step construction without flipping the kernel"),
    Variant("zero-pad", "POOL-MAX-1", "max_pool2d", _max_fwd(pad_value=0.0),
            "max pooling pads with 0, so padding wins over negative values (im2col-based pooling)"),
    Variant("nan-ignored", "POOL-MAX-2", "max_pool2d", _max_fwd(nan_ignored=True),
            "NaN is skipped (fmax semantics)"),
    Variant("nan-if-first", "POOL-MAX-2", "max_pool2d", _max_fwd(nan_first=True),
            "NaN survives only in a window's first tap (`best = first; if v > best`), else is skipped"),
    Variant("last-max", "POOL-MAX-3", "max_pool2d", _max_fwd(last_max=True),
            "ties resolve to the last maximum"),
    Variant("last-nan", "POOL-MAX-3", "max_pool2d", _max_fwd(last_nan=True),
            "a window with several NaNs reports the last one's index (PyTorch on the CPU)"),
    Variant("naive-ceil", "SIZE-7", "max_pool2d", _max_fwd(ceil_rule="naive"),
            "ceil_mode without dropping a last window that starts in the end padding"),
    Variant("same-lower", "SIZE-5", "max_pool2d", _same_swapped,
            "'same' padding with the odd pad at the start"),
    Variant("same-undilated", "SIZE-5", "max_pool2d", _same_rule("undilated"),
            "'same' padding computed as if the kernel were not dilated (ONNX Runtime pooling)"),
    Variant("same-unclamped", "SIZE-5", "max_pool2d", _same_rule("unclamped"),
            "a negative 'same' total pad is not clamped at 0: the window shifts into the input "
            "(ONNX Runtime pooling)"),
    Variant("same-kernel-minus-one", "SIZE-5", "max_pool2d", _same_rule("kernel-minus-one"),
            "'same' pads K-1 in total whatever the stride and dilation (OpenCV 5 dnn)"),
    Variant("last-max", "POOL-MAX-4", "max_pool2d_backward", _max_bwd(last_max=True),
            "the gradient goes to the last maximum of each window"),
    Variant("last-nan", "POOL-MAX-4", "max_pool2d_backward", _max_bwd(last_nan=True),
            "the gradient goes to the last NaN of a window"),
    Variant("nan-ignored", "POOL-MAX-4", "max_pool2d_backward", _max_bwd(nan_ignored=True),
            "the gradient of max pooling that skips NaN (goes to the largest non-NaN tap)"),
    Variant("nan-if-first", "POOL-MAX-4", "max_pool2d_backward", _max_bwd(nan_first=True),
            "the gradient of max pooling where NaN survives only as a window's first tap"),
    Variant("zero-pad", "POOL-MAX-4", "max_pool2d_backward", _max_bwd(pad_value=0.0),
            "the gradient of zero-padded max pooling (padding can take it)"),
    Variant("count-include-pad-flipped", "POOL-AVG-2", "avg_pool2d", _cip_flipped,
            "count_include_pad has the opposite meaning"),
    Variant("full-kernel-divisor", "POOL-AVG-2", "avg_pool2d", _avg(full_kernel=True),
            "every window divides by KH*KW, even one clipped by ceil_mode"),
    Variant("naive-ceil", "SIZE-7", "avg_pool2d", _avg(ceil_rule="naive"),
            "ceil_mode without dropping a last window that starts in the end padding"),
    Variant("same-lower", "SIZE-5", "avg_pool2d", _same_swapped,
            "'same' padding with the odd pad at the start"),
    Variant("same-unclamped", "SIZE-5", "avg_pool2d", _same_rule("unclamped"),
            "a negative 'same' total pad is not clamped at 0 (ONNX Runtime pooling)"),
    Variant("same-kernel-minus-one", "SIZE-5", "avg_pool2d", _same_rule("kernel-minus-one"),
            "'same' pads K-1 in total whatever the stride (OpenCV 5 dnn)"),
    Variant("count-include-pad-flipped", "POOL-AVG-5", "avg_pool2d_backward", _cip_flipped,
            "the gradient of average pooling with count_include_pad flipped"),
    Variant("caffe-layout", "IM2COL-1", "im2col",
            lambda c: [("col", _caffe(c), None, 1)],
            "columns and rows swapped: (C*KH*KW, N*OH*OW)"),
]


def _caffe(case: Case) -> np.ndarray:
    from reference import im2col

    return case.call(im2col).T.copy()


def _unbatched(case: Case) -> Expected:
    """The op on a 3-D x taken as a batch of one, its outputs without the batch axis."""
    x = case.arrays["x"]
    if x.ndim != 3:
        raise ValueError("unbatched-input needs a 3-D x")
    arrays = {**case.arrays, "x": x[None]}
    if "dy" in arrays and arrays["dy"].ndim == 3:
        arrays["dy"] = arrays["dy"][None]
    out = MEASURE[case.op](Case(case.op, arrays, dict(case.params), case.exact, case.note))
    return [(name, ref[0], None if scale is None else scale[0], terms) for name, ref, scale, terms in out]


def _negative_crops(case: Case) -> Expected:
    """A negative pad crops that many rows or columns of the input (XLA's padding, lax.pad)."""
    x = case.arrays["x"]
    p = case.params.get("padding", 0)
    if isinstance(p, str):
        raise ValueError("negative-padding-crops needs numeric padding")
    if isinstance(p, (tuple, list)) and all(isinstance(q, (tuple, list)) for q in p):
        (t, b), (l, r) = p
    else:
        (t, l) = _pair(p)
        b, r = t, l
    h, w = x.shape[2], x.shape[3]
    cut = x[:, :, max(-t, 0):h - max(-b, 0), max(-l, 0):w - max(-r, 0)]
    pads = ((max(t, 0), max(b, 0)), (max(l, 0), max(r, 0)))
    return MEASURE[case.op](_with(case, {"x": np.ascontiguousarray(cut)}, padding=pads))


#: Conventions for inputs the spec rejects (composed into conformance.variants.INVALID_VARIANTS): they
#: name what a target that accepts an invalid case does with it.
INVALID_VARIANTS: list[Variant] = [
    *[Variant("unbatched-input", clause, op, _unbatched,
              "a 3-D x (C, H, W) is taken as a batch of one (PyTorch's unbatched input)")
      for op, clause in (("conv2d", "CONV-2"), ("conv_transpose2d", "CONVT-2"), ("max_pool2d", "POOL-1"),
                         ("avg_pool2d", "POOL-1"))],
    *[Variant("negative-padding-crops", "SIZE-2", op, _negative_crops,
              "a negative pad crops the input instead of being rejected (XLA: lax.conv_general_dilated, "
              "lax.reduce_window)")
      for op in ("conv2d", "max_pool2d", "avg_pool2d")]]
