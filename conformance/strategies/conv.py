"""Strategies for the convolution family: conv2d (+ backward), conv_transpose2d, pooling, im2col.

Every strategy draws a :class:`Case` that is valid by construction: the geometry
(kernel, stride, dilation, padding) is drawn first and the input size is then
drawn from the sizes that fit it, so nothing is filtered. Every dimension varies
independently: N, C, M, H and W, stride_h and stride_w, dilation, groups, and
asymmetric padding in all its forms.

Shrinking goes towards the simplest case: N = 1, C = M = 1, groups = 1, a 1×1
kernel, stride 1, dilation 1, no padding, the smallest H and W that fit, and
data towards 0 (exact data) or seed 0 (real data).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from ..types import Case as _Case
from . import booleans, integers

#: Exact data are integers in [-EXACT_MAX, EXACT_MAX]: every partial sum of a small case
#: is then an integer far below 2**8, exactly representable even in bfloat16 (TOL-1).
EXACT_MAX = 2


#: One call of one op (defined in conformance.types; re-exported here for the strategies' users).
Case = _Case


# --- parameters ---------------------------------------------------------------------------------

def pairs(lo: int, hi: int) -> st.SearchStrategy[tuple[int, int]]:
    """(h, w) drawn independently in [lo, hi]; shrinks towards (lo, lo)."""
    return st.tuples(integers(lo, hi), integers(lo, hi))


@st.composite
def int_or_pair(draw: Any, values: tuple[int, int]) -> Any:
    """The same (h, w) written as an int when equal (and a coin says so), else as a pair (SIZE-1).

    The coin is drawn whatever the values, so the shape of the draw never changes and the
    shrinker can move h and w freely (towards the pair form).
    """
    h, w = values
    as_int = draw(booleans())
    return h if as_int and h == w else (h, w)


PADDING_KINDS = ("int", "pair", "explicit", "valid", "same", "same_lower")


@st.composite
def padding_forms(draw: Any, max_pad: int = 2, strings: bool = True) -> tuple[Any, Any]:
    """A padding in one of the SIZE-2 forms, plus the explicit ((t, b), (l, r)) it means
    (``None`` for the string forms, resolved later). Shrinks towards the int 0.

    All four numbers are drawn whatever the form, so the draw keeps one shape and the
    shrinker can change the form without losing the rest of the case.
    """
    kind = draw(st.sampled_from(PADDING_KINDS if strings else PADDING_KINDS[:3]))
    t, b, l, r = (draw(integers(0, max_pad)) for _ in range(4))
    if kind == "int":
        return t, ((t, t), (t, t))
    if kind == "pair":
        return (t, b), ((t, t), (b, b))
    if kind == "explicit":
        return ((t, b), (l, r)), ((t, b), (l, r))
    return kind, None


def _fit(draw: Any, k: int, d: int, pads: tuple[int, int] | None, extra: int) -> int:
    """A size whose padded extent holds the dilated kernel (SIZE-4), by construction."""
    need = d * (k - 1) + 1 - (sum(pads) if pads else 0)
    return max(1, need) + draw(integers(0, extra))


def data(draw: Any, shape: tuple[int, ...], exact: bool) -> np.ndarray:
    """Float64 data: small integers (exact) or seeded standard normals (real)."""
    if exact:
        seed = draw(integers(0, 2**32 - 1))
        return np.random.default_rng(seed).integers(-EXACT_MAX, EXACT_MAX + 1, shape).astype(np.float64)
    seed = draw(integers(0, 2**32 - 1))
    return np.random.default_rng(seed).standard_normal(shape)


@st.composite
def windows(draw: Any, max_kernel: int = 3, max_stride: int = 3, max_dilation: int = 2,
            max_pad: int = 2, strings: bool = True, extra: int = 5, dilation: bool = True
            ) -> dict[str, Any]:
    """Kernel, stride, dilation, padding and an (H, W) they fit; H and W are drawn apart."""
    k = draw(pairs(1, max_kernel))
    s = draw(pairs(1, max_stride))
    d = draw(pairs(1, max_dilation)) if dilation else (1, 1)
    padding, pads = draw(padding_forms(max_pad, strings))
    h = _fit(draw, k[0], d[0], pads[0] if pads else None, extra)
    w = _fit(draw, k[1], d[1], pads[1] if pads else None, extra)
    return {"kernel": k, "stride": s, "dilation": d, "padding": padding, "hw": (h, w)}


@st.composite
def channels(draw: Any, max_groups: int = 3, max_per_group: int = 3) -> tuple[int, int, int]:
    """(C, M, groups) with groups dividing both; depthwise (C/groups = 1) drawn often."""
    g = draw(integers(1, max_groups))
    cg = draw(integers(1, max_per_group))
    mg = draw(integers(1, max_per_group))
    return g * cg, g * mg, g


# --- cases ----------------------------------------------------------------------------------------

@st.composite
def conv2d_cases(draw: Any, exact: bool | None = None, max_batch: int = 3) -> Case:
    """conv2d(x, w, b, stride, padding, dilation, groups) with every option varied."""
    exact = draw(booleans()) if exact is None else exact
    geo = draw(windows())
    c, m, g = draw(channels())
    n = draw(integers(1, max_batch))
    x = data(draw, (n, c) + geo["hw"], exact)
    w = data(draw, (m, c // g) + geo["kernel"], exact)
    arrays = {"x": x, "w": w}
    with_bias, b = draw(booleans()), data(draw, (m,), exact)  # b drawn either way: stable shrinking
    if with_bias:
        arrays["b"] = b
    params = {"stride": draw(int_or_pair(geo["stride"])), "padding": geo["padding"],
              "dilation": draw(int_or_pair(geo["dilation"])), "groups": g}
    return Case("conv2d", arrays, params, exact)


@st.composite
def conv2d_backward_cases(draw: Any, exact: bool | None = None) -> Case:
    """conv2d_backward(dy, x, w, ...) with dy shaped like the forward output."""
    from reference import conv_output_size
    from reference.output_size import resolve_padding

    fwd = draw(conv2d_cases(exact=exact))
    x, w = fwd.arrays["x"], fwd.arrays["w"]
    p = fwd.params
    s, d = _as_pair(p["stride"]), _as_pair(p["dilation"])
    pads = resolve_padding(p["padding"], x.shape[2:], w.shape[2:], s, d)
    oh = conv_output_size(x.shape[2], w.shape[2], stride=s[0], padding=pads[0], dilation=d[0])
    ow = conv_output_size(x.shape[3], w.shape[3], stride=s[1], padding=pads[1], dilation=d[1])
    dy = data(draw, (x.shape[0], w.shape[0], oh, ow), fwd.exact)
    return Case("conv2d_backward", {"dy": dy, "x": x, "w": w}, dict(p), fwd.exact)


def _as_pair(v: Any) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)  # type: ignore[return-value]


@st.composite
def conv_transpose2d_cases(draw: Any, exact: bool | None = None, max_batch: int = 3) -> Case:
    """conv_transpose2d with output_padding < max(stride, dilation) and an output >= 1."""
    exact = draw(booleans()) if exact is None else exact
    k, s, d = draw(pairs(1, 3)), draw(pairs(1, 3)), draw(pairs(1, 2))
    padding, pads = draw(padding_forms(2, strings=False))
    assert pads is not None
    op = tuple(draw(integers(0, max(s[a], d[a]) - 1)) for a in (0, 1))
    hw = []
    for a in (0, 1):
        # smallest H with (H-1)*S - Pt - Pb + D*(K-1) + op + 1 >= 1 (SIZE-8)
        short = sum(pads[a]) - d[a] * (k[a] - 1) - op[a]
        hw.append(max(1, 1 + -(-short // s[a])) + draw(integers(0, 4)))
    c, m, g = draw(channels())
    n = draw(integers(1, max_batch))
    arrays = {"x": data(draw, (n, c) + tuple(hw), exact), "w": data(draw, (c, m // g) + k, exact)}
    with_bias, b = draw(booleans()), data(draw, (m,), exact)
    if with_bias:
        arrays["b"] = b
    params = {"stride": draw(int_or_pair(s)), "padding": padding,
              "output_padding": draw(int_or_pair(op)), "dilation": draw(int_or_pair(d)), "groups": g}
    return Case("conv_transpose2d", arrays, params, exact)


@st.composite
def _pool(draw: Any, op: str, exact: bool | None, max_batch: int = 3) -> Case:
    exact = draw(booleans()) if exact is None else exact
    is_max = op.startswith("max")
    geo = draw(windows(max_kernel=4, max_pad=3, dilation=is_max))
    n, c = draw(integers(1, max_batch)), draw(integers(1, 4))
    x = data(draw, (n, c) + geo["hw"], exact)
    stride_none, stride = draw(booleans()), draw(int_or_pair(geo["stride"]))
    if stride_none and geo["stride"] == geo["kernel"]:
        stride = None  # POOL-1: None means the kernel size
    params: dict[str, Any] = {"kernel_size": draw(int_or_pair(geo["kernel"])), "stride": stride,
                              "padding": geo["padding"], "ceil_mode": draw(booleans())}
    if is_max:
        params["dilation"] = draw(int_or_pair(geo["dilation"]))
        params["return_indices"] = True  # values and indices are both checked (POOL-MAX-3)
    else:
        params["count_include_pad"] = draw(booleans())
        override, divisor = draw(booleans()), draw(integers(1, 9))
        params["divisor_override"] = divisor if override else None
    return Case(op, {"x": x}, params, exact)


def max_pool2d_cases(exact: bool | None = None) -> st.SearchStrategy[Case]:
    """max_pool2d with dilation, ceil_mode and padding up to 3 (more than half some kernels)."""
    return _pool("max_pool2d", exact)


def avg_pool2d_cases(exact: bool | None = None) -> st.SearchStrategy[Case]:
    """avg_pool2d with count_include_pad, divisor_override and ceil_mode."""
    return _pool("avg_pool2d", exact)


@st.composite
def pool_backward_cases(draw: Any, op: str, exact: bool | None = None) -> Case:
    """``max_pool2d_backward`` / ``avg_pool2d_backward`` with dy shaped like the forward output."""
    from reference._window import geometry

    fwd = draw(_pool(op.replace("_backward", ""), exact))
    params = {k: v for k, v in fwd.params.items() if k != "return_indices"}
    x = fwd.arrays["x"]
    stride = params["kernel_size"] if params["stride"] is None else params["stride"]  # POOL-1
    g = geometry(x.shape, params["kernel_size"], stride, params["padding"], params.get("dilation", 1),
                 params["ceil_mode"])
    dy = data(draw, x.shape[:2] + g.out_hw, fwd.exact)
    return Case(op, {"dy": dy, "x": fwd.arrays["x"]}, params, fwd.exact)


@st.composite
def im2col_cases(draw: Any, exact: bool | None = None) -> Case:
    """im2col(x, kernel_size, stride, padding, dilation)."""
    exact = draw(booleans()) if exact is None else exact
    geo = draw(windows())
    n, c = draw(integers(1, 3)), draw(integers(1, 3))
    params = {"kernel_size": draw(int_or_pair(geo["kernel"])), "stride": draw(int_or_pair(geo["stride"])),
              "padding": geo["padding"], "dilation": draw(int_or_pair(geo["dilation"]))}
    return Case("im2col", {"x": data(draw, (n, c) + geo["hw"], exact)}, params, exact)


def special_values(case: Case, draw: Any, fraction: float = 0.2) -> Case:
    """The same case with some inputs set to NaN, +inf or -inf (SPEC-6), seeded by a draw."""
    rng = np.random.default_rng(draw(integers(0, 2**32 - 1)))
    arrays = {}
    for k, v in case.arrays.items():
        v = v.copy()
        mask = rng.random(v.shape) < fraction
        v[mask] = rng.choice([np.nan, np.inf, -np.inf], size=int(mask.sum()))
        arrays[k] = v
    return Case(case.op, arrays, dict(case.params), False, "special values")


CASES = {
    "conv2d": conv2d_cases,
    "conv2d_backward": conv2d_backward_cases,
    "conv_transpose2d": conv_transpose2d_cases,
    "max_pool2d": max_pool2d_cases,
    "avg_pool2d": avg_pool2d_cases,
    "max_pool2d_backward": lambda exact=None: pool_backward_cases("max_pool2d_backward", exact),
    "avg_pool2d_backward": lambda exact=None: pool_backward_cases("avg_pool2d_backward", exact),
    "im2col": im2col_cases,
}
