"""The size, padding and cost formulas and col2im in the runner's registry (issue 13):
conv_output_size, conv_transpose_output_size, same_padding (spec/output_size.md), conv2d_cost
(spec/cost.md) and col2im (spec/im2col.md).

Exports plain values, composed by conformance/ops.py, variants.py and corpus.py: :data:`SPECS`,
:data:`VARIANTS` (the spec's named conventions that change these ops' results),
:data:`INVALID_VARIANTS` and :data:`CORPUS` (the spec's edge cases). Nothing here changes another
module when it is imported.

Targets' methods take the reference's names and keywords and return:

- ``conv_output_size(size, kernel_size, *, stride=1, padding=0, dilation=1, ceil_mode=False)``
  and ``conv_transpose_output_size(size, kernel_size, *, stride=1, padding=0, output_padding=0,
  dilation=1)``: an int (a Python int, a NumPy integer or a 0-d integer array);
- ``same_padding(size, kernel_size, *, stride=1, dilation=1, lower=False)``: ``(before, after)``;
- ``conv2d_cost(x_shape, w_shape, *, stride=1, padding=0, dilation=1, groups=1, bias=True)``:
  ``(macs, flops, params)`` (a tuple or the reference's ``Cost``);
- ``col2im(col, x_shape, kernel_size, *, stride=1, padding=0, dilation=1)``: an (N, C, H, W) array.

The worker turns the scalars of the first four into 0-d arrays (conformance.opnames.SCALAR_RESULTS),
so the runner's one comparison judges them.

Error model. Sizes, pads and counts are integers and exact (TOL-4: scale None). col2im sums, at
each input position, at most KH·KW entries of col (one per kernel tap whose window reads it), so
it is TOL-2 with ``scale = col2im(|col|)`` and ``terms = KH·KW``; on exact data (small integers)
every partial sum is exact, and so must the result be (TOL-1).

Variants (the spec's names; only those that can change these ops' results are registered):
conv_output_size ``naive-ceil`` (SIZE-7), ``same-undilated`` and ``same-kernel-minus-one``
(SIZE-5); same_padding ``same-lower``, ``same-undilated``, ``same-unclamped`` and
``same-kernel-minus-one`` (SIZE-5). ``same-lower`` and ``same-unclamped`` leave the output size
of "same" at ceil(H/S) (the split and an unclamped negative total do not change the count), so
conv_output_size cannot show them. ``textbook-truncation`` (SIZE-4) agrees with SIZE-3 on every
valid case (the numerator is >= 0 there): it names what a conv_output_size that accepts a kernel
larger than its padded input returns, and SIZE-2's ``negative-padding-crops`` what one that accepts
a negative pad returns (:data:`INVALID_VARIANTS`). cost.md and IM2COL-2 name no
variants; COST-4's textbook count is a rule, not a named variant.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import reference as ref
from reference.output_size import _axis_pads, _out_len, resolve_padding

from .strategies.sizes import CASES
from .types import Case, Expected, OpSpec, Variant

ONE_AXIS = ("conv_output_size", "conv_transpose_output_size", "same_padding")


def _int(v: Any) -> np.ndarray:
    return np.asarray(int(v), dtype=np.int64)


def _conv_output_size(case: Case) -> Expected:
    return [("size", _int(case.call(ref.conv_output_size)), None, 1)]


def _conv_transpose_output_size(case: Case) -> Expected:
    return [("size", _int(case.call(ref.conv_transpose_output_size)), None, 1)]


def _same_padding(case: Case) -> Expected:
    before, after = case.call(ref.same_padding)
    return [("before", _int(before), None, 1), ("after", _int(after), None, 1)]


def _conv2d_cost(case: Case) -> Expected:
    c = case.call(ref.conv2d_cost)
    return [("macs", _int(c.macs), None, 1), ("flops", _int(c.flops), None, 1), ("params", _int(c.params), None, 1)]


def _kernel(case: Case) -> tuple[int, int]:
    k = case.params["kernel_size"]
    return (k, k) if isinstance(k, int) else (int(k[0]), int(k[1]))


def _col2im(case: Case) -> Expected:
    x = case.call(ref.col2im)
    scale = ref.col2im(np.abs(case.arrays["col"]), **case.params)
    kh, kw = _kernel(case)
    return [("x", x, scale, kh * kw)]


SPECS: list[OpSpec] = [
    OpSpec("conv_output_size", ("size",), ("SIZE-3", "SIZE-4", "SIZE-5", "SIZE-6", "SIZE-7", "SIZE-9"),
           CASES["conv_output_size"], _conv_output_size, size_clause="SIZE-3"),
    OpSpec("conv_transpose_output_size", ("size",), ("SIZE-8",), CASES["conv_transpose_output_size"],
           _conv_transpose_output_size, size_clause="SIZE-8"),
    OpSpec("same_padding", ("before", "after"), ("SIZE-5", "SIZE-6"), CASES["same_padding"], _same_padding,
           size_clause="SIZE-5"),
    OpSpec("conv2d_cost", ("macs", "flops", "params"), ("COST-1", "COST-2", "COST-3", "COST-4", "SIZE-3"),
           CASES["conv2d_cost"], _conv2d_cost, size_clause="COST-1"),
    OpSpec("col2im", ("x",), ("IM2COL-2", "SIZE-3"), CASES["col2im"], _col2im, size_clause="IM2COL-2"),
]

MEASURE: dict[str, Callable[[Case], Expected]] = {s.name: s.measure for s in SPECS}


# --- variants --------------------------------------------------------------------------------

def _axis(case: Case) -> tuple[int, int, int, int]:
    """(size, kernel, stride, dilation) of a one-axis case, with the reference's defaults."""
    p = case.params
    return int(p["size"]), int(p["kernel_size"]), int(p.get("stride", 1)), int(p.get("dilation", 1))


def _same_pads(rule: str, size: int, k: int, s: int, d: int, lower: bool) -> tuple[int, int]:
    """'same' padding by another library's rule (SIZE-5 variants): (before, after), possibly negative."""
    if rule == "kernel-minus-one":  # K - 1 in total, the odd pad at the end even for "same_lower"
        total = k - 1
        return (total // 2, total - total // 2)
    dil = 1 if rule == "undilated" else d
    total = (-(-size // s) - 1) * s + dil * (k - 1) + 1 - size
    if rule != "unclamped":
        total = max(total, 0)
    head = int(total / 2)  # C++ integer division truncates toward zero
    if rule == "lower":
        lower = not lower
    return (total - head, head) if lower else (head, total - head)


def _size_by(rule: str) -> Callable[[Case], Expected]:
    """conv_output_size with 'same'/'same_lower' resolved by ``rule`` ("naive" ceil for naive-ceil)."""
    def compute(case: Case) -> Expected:
        size, k, s, d = _axis(case)
        padding = case.params.get("padding", 0)
        ceil_mode = bool(case.params.get("ceil_mode", False))
        if rule == "naive":
            pads = (resolve_padding(padding, (size, size), (k, k), (s, s), (d, d))[0]
                    if isinstance(padding, str) else _axis_pads(padding))
            return [("size", _int(_out_len(size, k, s, *pads, d, ceil_mode, "size", "naive")), None, 1)]
        if padding not in ("same", "same_lower"):
            return _conv_output_size(case)
        pads = _same_pads(rule, size, k, s, d, padding == "same_lower")
        return [("size", _int(_out_len(size, k, s, *pads, d, ceil_mode, "size")), None, 1)]
    return compute


def _same_by(rule: str) -> Callable[[Case], Expected]:
    def compute(case: Case) -> Expected:
        size, k, s, d = _axis(case)
        before, after = _same_pads(rule, size, k, s, d, bool(case.params.get("lower", False)))
        return [("before", _int(before), None, 1), ("after", _int(after), None, 1)]
    return compute


def _textbook(case: Case) -> Expected:
    """SIZE-4 ``textbook-truncation``: int((H + P_before + P_after - FH) / S) + 1, truncating toward 0."""
    size, k, s, d = _valid_axis(case)
    padding = case.params.get("padding", 0)
    if isinstance(padding, str) or case.params.get("ceil_mode"):
        raise ValueError("textbook-truncation: numeric padding, floor mode only")
    before, after = (padding, padding) if isinstance(padding, int) else (int(padding[0]), int(padding[1]))
    numerator = size + before + after - (d * (k - 1) + 1)
    if min(before, after) < 0 or numerator >= 0:
        raise ValueError("textbook-truncation names only a kernel larger than the padded input (SIZE-4)")
    return [("size", _int(int(numerator / s) + 1), None, 1)]


def _valid_axis(case: Case) -> tuple[int, int, int, int]:
    """:func:`_axis`, for a variant that names one break only: every other number valid (SIZE-1)."""
    size, k, s, d = _axis(case)
    if min(size, k, s, d) < 1 or any(type(case.params.get(n, 1)) is not int
                                     for n in ("size", "kernel_size", "stride", "dilation")):
        raise ValueError("another parameter is invalid too")
    return size, k, s, d


def _negative_crops(case: Case) -> Expected:
    """SIZE-2 ``negative-padding-crops``: a negative pad crops that many entries of the axis first."""
    size, k, s, d = _valid_axis(case)
    padding = case.params.get("padding", 0)
    if isinstance(padding, str):
        raise ValueError("negative-padding-crops needs numeric padding")
    before, after = (padding, padding) if isinstance(padding, int) else (int(padding[0]), int(padding[1]))
    if min(before, after) >= 0:
        raise ValueError("negative-padding-crops names a negative pad only")
    cropped = size - max(-before, 0) - max(-after, 0)
    if cropped < 1:
        raise ValueError("the crop leaves nothing")
    out = _out_len(cropped, k, s, max(before, 0), max(after, 0), d, bool(case.params.get("ceil_mode")), "size")
    return [("size", _int(out), None, 1)]


def _transpose_negative(case: Case) -> Expected:
    """SIZE-2 ``negative-padding-crops`` for the transposed size: SIZE-8's formula with the negative pads."""
    size, k, s, d = _valid_axis(case)
    padding = case.params.get("padding", 0)
    before, after = (padding, padding) if isinstance(padding, int) else (int(padding[0]), int(padding[1]))
    op = int(case.params.get("output_padding", 0))
    if min(before, after) >= 0 or not 0 <= op < max(s, d):
        raise ValueError("negative-padding-crops names a negative pad only")
    out = (size - 1) * s - before - after + d * (k - 1) + op + 1
    return [("size", _int(out), None, 1)]


VARIANTS: list[Variant] = [
    Variant("naive-ceil", "SIZE-7", "conv_output_size", _size_by("naive"),
            "ceil_mode without dropping a last window that starts in the end padding"),
    Variant("same-undilated", "SIZE-5", "conv_output_size", _size_by("undilated"),
            "'same' padding computed as if the kernel were not dilated (ONNX Runtime pooling)"),
    Variant("same-kernel-minus-one", "SIZE-5", "conv_output_size", _size_by("kernel-minus-one"),
            "'same' pads K-1 in total whatever the stride and dilation (OpenCV 5 dnn)"),
    Variant("same-lower", "SIZE-5", "same_padding", _same_by("lower"),
            "'same' padding with the odd pad at the start (ONNX SAME_LOWER)"),
    Variant("same-undilated", "SIZE-5", "same_padding", _same_by("undilated"),
            "'same' padding computed as if the kernel were not dilated (ONNX Runtime pooling)"),
    Variant("same-unclamped", "SIZE-5", "same_padding", _same_by("unclamped"),
            "a negative 'same' total pad is not clamped at 0 (ONNX Runtime pooling)"),
    Variant("same-kernel-minus-one", "SIZE-5", "same_padding", _same_by("kernel-minus-one"),
            "'same' pads K-1 in total whatever the stride and dilation, odd pad at the end (OpenCV 5 dnn)"),
]

#: Conventions for inputs the spec rejects (composed into conformance.variants.INVALID_VARIANTS).
INVALID_VARIANTS: list[Variant] = [
    Variant("textbook-truncation", "SIZE-4", "conv_output_size", _textbook,
            "OH = int((H + 2P - FH) / S) + 1 truncating toward zero: 1 (or less), not an error, when the "
            "kernel exceeds the padded input"),
    Variant("negative-padding-crops", "SIZE-2", "conv_output_size", _negative_crops,
            "a negative pad crops the axis instead of being rejected (XLA's padding)"),
    Variant("negative-padding-crops", "SIZE-2", "conv_transpose_output_size", _transpose_negative,
            "a negative pad is used in SIZE-8's formula instead of being rejected (XLA's padding)"),
]


# --- corpus ------------------------------------------------------------------------------------

def _c(op: str, note: str, **params: Any) -> Case:
    return Case(op, {}, params, False, note)


def _data(seed: int, shape: tuple[int, ...], exact: bool = True) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if exact:
        return rng.integers(-2, 3, shape).astype(np.float64)
    return rng.standard_normal(shape)


def _col2im_case(note: str, x_shape: tuple[int, ...], exact: bool = True, **params: Any) -> Case:
    shape = ref.im2col(np.zeros(x_shape), **params).shape
    return Case("col2im", {"col": _data(len(note), shape, exact)}, {"x_shape": x_shape, **params}, exact, note)


_SIZE = "conv_output_size"
_T = "conv_transpose_output_size"
_SAME = "same_padding"
_COST = "conv2d_cost"

CORPUS: dict[str, list[Case]] = {
    _SIZE: [
        _c(_SIZE, "ceil_mode: the last window would start in the end padding (H=5, K=2, S=2, P=1 gives 3)",
           size=5, kernel_size=2, stride=2, padding=1, ceil_mode=True),
        _c(_SIZE, "ceil_mode adds a window past the input (H=6, K=3, S=2 gives 3, floor 2)",
           size=6, kernel_size=3, stride=2, ceil_mode=True),
        _c(_SIZE, "ceil_mode with padding >= the kernel gives fewer windows than floor (H=1, K=1, P=1 gives 2)",
           size=1, kernel_size=1, padding=1, ceil_mode=True),
        _c(_SIZE, "ceil_mode when the stride divides the span changes nothing", size=7, kernel_size=3, stride=2,
           ceil_mode=True),
        _c(_SIZE, "ceil_mode with dilation 3 and stride 2", size=9, kernel_size=2, stride=2, padding=1, dilation=3,
           ceil_mode=True),
        _c(_SIZE, "'same' with stride larger than the kernel: the total is clamped at 0", size=5, kernel_size=1,
           stride=3, padding="same"),
        _c(_SIZE, "'same' with dilation: the pad covers the dilated kernel", size=5, kernel_size=2, dilation=2,
           padding="same"),
        _c(_SIZE, "'same' with stride 2 and dilation 3", size=9, kernel_size=3, stride=2, dilation=3,
           padding="same"),
        _c(_SIZE, "'same_lower' with stride 3", size=10, kernel_size=4, stride=3, padding="same_lower"),
        _c(_SIZE, "'same' with ceil_mode", size=8, kernel_size=3, stride=3, padding="same", ceil_mode=True),
        _c(_SIZE, "'valid': the dilated kernel exactly fits (OH = 1)", size=7, kernel_size=3, dilation=3,
           padding="valid"),
        _c(_SIZE, "padding makes a kernel larger than the input fit (H=2, K=3, P=1 gives 2)", size=2,
           kernel_size=3, padding=1),
        _c(_SIZE, "asymmetric (before, after) padding", size=4, kernel_size=3, stride=2, padding=(0, 3)),
        _c(_SIZE, "stride larger than the span: a single window", size=4, kernel_size=3, stride=5),
        _c(_SIZE, "K = 1, S = 1, no padding: OH = H", size=13, kernel_size=1),
        _c(_SIZE, "ResNet's first layer: 224, K=7, S=2, P=3 gives 112", size=224, kernel_size=7, stride=2,
           padding=3),
    ],
    _T: [
        _c(_T, "stride 2, output_padding 1", size=4, kernel_size=3, stride=2, padding=1, output_padding=1),
        _c(_T, "output_padding >= stride when dilation > stride", size=3, kernel_size=2, dilation=2,
           output_padding=1),
        _c(_T, "dilation 3, stride 2, output_padding 2", size=3, kernel_size=2, stride=2, dilation=3,
           output_padding=2),
        _c(_T, "asymmetric (before, after) padding", size=5, kernel_size=3, stride=2, padding=(2, 1)),
        _c(_T, "padding leaves an output of exactly 1", size=1, kernel_size=3, padding=1),
        _c(_T, "1-tap kernel with stride 3", size=4, kernel_size=1, stride=3),
        _c(_T, "stride larger than the kernel: gaps between the copies", size=3, kernel_size=2, stride=4,
           output_padding=3),
    ],
    _SAME: [
        _c(_SAME, "K = 4, S = 1: (1, 2), the odd pad at the end", size=7, kernel_size=4),
        _c(_SAME, "'same_lower', K = 4, S = 1: (2, 1), the odd pad at the start", size=7, kernel_size=4,
           lower=True),
        _c(_SAME, "stride larger than the kernel: the negative total is clamped at 0", size=5, kernel_size=1,
           stride=3),
        _c(_SAME, "stride 2: the total depends on H mod S", size=7, kernel_size=4, stride=2),
        _c(_SAME, "dilation 3: the pad covers the dilated kernel", size=6, kernel_size=2, dilation=3),
        _c(_SAME, "dilation 3, 'same_lower'", size=6, kernel_size=2, dilation=3, lower=True),
        _c(_SAME, "a kernel larger than the input", size=1, kernel_size=5),
        _c(_SAME, "stride 3, dilation 2, odd total", size=10, kernel_size=3, stride=3, dilation=2),
    ],
    _COST: [
        _c(_COST, "every dimension > 1, groups, asymmetric everything", x_shape=(2, 4, 7, 5), w_shape=(6, 2, 3, 2),
           stride=(2, 1), padding=((1, 0), (2, 1)), dilation=(1, 2), groups=2),
        _c(_COST, "depthwise: MACs = N·OH·OW·C·KH·KW", x_shape=(2, 8, 9, 7), w_shape=(8, 1, 3, 3), padding=1,
           groups=8),
        _c(_COST, "depthwise with channel multiplier 2, no bias", x_shape=(3, 4, 6, 5), w_shape=(8, 1, 3, 2),
           groups=4, bias=False),
        _c(_COST, "'same' padding: padding taps count", x_shape=(1, 3, 7, 6), w_shape=(4, 3, 3, 3), padding="same"),
        _c(_COST, "'same' with stride 2: the textbook count overstates by about S**2", x_shape=(1, 16, 14, 14),
           w_shape=(32, 16, 3, 3), stride=2, padding="same"),
        _c(_COST, "the textbook special case: N = 1, G = 1, stride 1, 'same', K x K (COST-4)",
           x_shape=(1, 16, 14, 14), w_shape=(32, 16, 3, 3), padding="same", dilation=2),
        _c(_COST, "no bias: FLOPs = 2·MACs, params = w.size", x_shape=(2, 3, 8, 8), w_shape=(5, 3, 3, 3),
           bias=False),
        _c(_COST, "empty batch: 0 MACs and FLOPs, the parameters unchanged", x_shape=(0, 3, 5, 5),
           w_shape=(4, 3, 3, 3), padding=1),
        _c(_COST, "'valid' with dilation 2: dilation changes MACs only through OH, OW", x_shape=(2, 3, 11, 9),
           w_shape=(4, 3, 3, 2), dilation=2, padding="valid"),
        _c(_COST, "a large layer: counts beyond 2**31", x_shape=(8, 256, 56, 56), w_shape=(256, 256, 3, 3),
           padding=1),
    ],
    "col2im": [
        _col2im_case("asymmetric everything", (2, 3, 5, 6), kernel_size=(2, 3), stride=(2, 1), padding=((1, 0), (0, 2)),
                dilation=(1, 2)),
        _col2im_case("overlapping windows are summed (stride below the kernel)", (2, 2, 4, 5), kernel_size=3,
                padding=1),
        _col2im_case("positions no window reads are 0 (stride above the kernel)", (2, 3, 7, 7), kernel_size=2,
                stride=3),
        _col2im_case("entries in the padding are dropped", (2, 2, 3, 3), kernel_size=3, padding=2),
        _col2im_case("'same_lower' padding", (2, 2, 5, 4), kernel_size=(2, 3), stride=(2, 1), padding="same_lower"),
        _col2im_case("empty batch", (0, 3, 4, 4), kernel_size=2),
        _col2im_case("real data, dilation 2", (2, 3, 7, 6), exact=False, kernel_size=3, dilation=2, padding=(2, 1)),
    ],
}
