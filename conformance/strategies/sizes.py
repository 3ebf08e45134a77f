"""Strategies for the size, padding and cost formulas and for col2im (spec/output_size.md,
spec/cost.md, spec/im2col.md).

Every strategy draws a :class:`~conformance.types.Case` that is valid by construction: the
geometry (kernel, stride, dilation, padding) is drawn first and the input length is then drawn
from the lengths that fit it (SIZE-4, SIZE-8), so nothing is filtered. The one-axis helpers
take ints, so their cases carry no arrays: everything is a keyword, every keyword written out
(the runner leaves the defaults out of every fourth generated case itself).

Shrinking goes towards the simplest case: a 1-long axis, a 1-tap kernel, stride and dilation
1, no padding, floor mode, one image of one channel, exact data 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from ..types import Case
from . import booleans, integers
from .conv import channels, data, im2col_cases, int_or_pair, windows

#: The largest stretch added to the shortest length that fits: long enough for strides to wrap.
EXTRA = 24

#: One-axis padding forms of conv_output_size (SIZE-2: an int, (before, after) or a string).
AXIS_PADDINGS = ("int", "pair", "valid", "same", "same_lower")


@st.composite
def conv_output_size_cases(draw: Any) -> Case:
    """conv_output_size(size, kernel_size, stride, padding, dilation, ceil_mode): every padding
    form of one axis, stride up to 5 (larger than the kernel too), dilation up to 3, ceil_mode
    both ways, and the shortest length that fits drawn often (the SIZE-4 boundary)."""
    k, s, d = draw(integers(1, 6)), draw(integers(1, 5)), draw(integers(1, 3))
    form = draw(st.sampled_from(AXIS_PADDINGS))
    before, after = draw(integers(0, 5)), draw(integers(0, 5))
    ceil_mode = draw(booleans())
    pads = {"int": (before, before), "pair": (before, after), "valid": (0, 0)}.get(form)
    effective = d * (k - 1) + 1
    shortest = max(1, effective - sum(pads)) if pads is not None else 1  # "same" fits any length
    size = shortest + draw(integers(0, EXTRA))
    padding = before if form == "int" else (before, after) if form == "pair" else form
    params = {"size": size, "kernel_size": k, "stride": s, "padding": padding, "dilation": d,
              "ceil_mode": ceil_mode}
    return Case("conv_output_size", {}, params)


@st.composite
def conv_transpose_output_size_cases(draw: Any) -> Case:
    """conv_transpose_output_size: output_padding below max(stride, dilation) (so also >= the
    stride when the dilation is larger), padding an int or (before, after), and the shortest
    input whose output is >= 1 drawn often (SIZE-8)."""
    k, s, d = draw(integers(1, 6)), draw(integers(1, 4)), draw(integers(1, 3))
    op = draw(integers(0, max(s, d) - 1))
    pair = draw(booleans())
    before, after = draw(integers(0, 5)), draw(integers(0, 5))
    pads = (before, after) if pair else (before, before)
    short = sum(pads) - d * (k - 1) - op  # (size - 1)·S must reach it
    size = max(1, 1 + -(-short // s)) + draw(integers(0, EXTRA))
    params = {"size": size, "kernel_size": k, "stride": s, "padding": pads if pair else before,
              "output_padding": op, "dilation": d}
    return Case("conv_transpose_output_size", {}, params)


@st.composite
def same_padding_cases(draw: Any) -> Case:
    """same_padding(size, kernel_size, stride, dilation, lower): strides above the kernel (a
    total clamped at 0), even and odd totals, dilation up to 3."""
    params = {"size": draw(integers(1, 1 + EXTRA)), "kernel_size": draw(integers(1, 6)),
              "stride": draw(integers(1, 5)), "dilation": draw(integers(1, 3)), "lower": draw(booleans())}
    return Case("same_padding", {}, params)


@st.composite
def conv2d_cost_cases(draw: Any) -> Case:
    """conv2d_cost(x_shape, w_shape, stride, padding, dilation, groups, bias): the geometry of
    the conv2d strategy (every padding form, H != W, stride_h != stride_w, dilation, groups),
    with larger channel counts and N from 0 (SPEC-7: an empty batch costs 0)."""
    geo = draw(windows(max_kernel=5, max_stride=3, max_dilation=2, max_pad=3, extra=12))
    c, m, g = draw(channels(max_groups=4, max_per_group=6))
    n, empty = draw(integers(1, 4)), draw(integers(0, 7)) == 7  # shrinks towards N = 1
    n = 0 if empty else n
    params = {"x_shape": (n, c) + tuple(geo["hw"]), "w_shape": (m, c // g) + tuple(geo["kernel"]),
              "stride": draw(int_or_pair(geo["stride"])), "padding": geo["padding"],
              "dilation": draw(int_or_pair(geo["dilation"])), "groups": g, "bias": draw(booleans())}
    return Case("conv2d_cost", {}, params)


@st.composite
def col2im_cases(draw: Any) -> Case:
    """col2im(col, x_shape, kernel_size, stride, padding, dilation): the geometry of an im2col
    case and a col of its shape, exact data (small integers) or real, N from 0."""
    from reference import im2col

    exact = draw(booleans())
    fwd = draw(im2col_cases(exact=exact))
    empty = draw(integers(0, 5)) == 5  # shrinks towards N >= 1
    x = fwd.arrays["x"][:0] if empty else fwd.arrays["x"]
    shape = im2col(np.zeros(x.shape), **fwd.params).shape
    col = data(draw, shape, exact)
    params = {"x_shape": tuple(int(v) for v in x.shape), **fwd.params}
    return Case("col2im", {"col": col}, params, exact)


CASES = {
    "conv_output_size": conv_output_size_cases,
    "conv_transpose_output_size": conv_transpose_output_size_cases,
    "same_padding": same_padding_cases,
    "conv2d_cost": conv2d_cost_cases,
    "col2im": col2im_cases,
}

__all__ = ["CASES", "conv_output_size_cases", "conv_transpose_output_size_cases",
           "same_padding_cases", "conv2d_cost_cases", "col2im_cases"]
