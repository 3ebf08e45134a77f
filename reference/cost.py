"""Cost formulas of a convolution layer: COST-1 ... COST-4."""

from __future__ import annotations

from typing import Any, NamedTuple

from ._errors import fail
from ._params import as_int
from .conv2d import ShapeOnly, conv_problem


class Cost(NamedTuple):
    """Multiply-accumulates, floating-point operations and parameters of one conv2d."""

    macs: int
    flops: int
    params: int



def _shape(value: Any, name: str) -> tuple[int, ...]:
    if not isinstance(value, (tuple, list)) or len(value) != 4:
        fail(name, value, "CONV-2", "must be a 4-tuple")
    return tuple(as_int(v, name, "CONV-2", 0) for v in value)


def conv2d_cost(x_shape: Any, w_shape: Any, *, stride: Any = 1, padding: Any = 0, dilation: Any = 1,
                groups: int = 1, bias: bool = True) -> Cost:
    """Cost of ``conv2d`` on these shapes (COST-1, COST-2, COST-3).

    Formulas::

        macs   = N * OH * OW * M * (C/G) * KH * KW
        flops  = 2 * macs (+ N * OH * OW * M with bias)
        params = M * (C/G) * KH * KW (+ M with bias)

    The textbook's ``H*W*K*K*C*M`` is the special case N = 1, G = 1, stride 1, "same"
    padding (COST-4). Raises :class:`SpecError` exactly as conv2d would for these shapes.
    """
    xs, ws = _shape(x_shape, "x_shape"), _shape(w_shape, "w_shape")
    if min(xs[1:]) < 1 or min(ws) < 1:
        fail("x_shape" if min(xs[1:]) < 1 else "w_shape", xs if min(xs[1:]) < 1 else ws, "SPEC-7",
             "C, H, W, M, C/groups and the kernel sizes must be >= 1")
    pr = conv_problem(ShapeOnly(xs), ShapeOnly(ws), stride, padding, dilation, groups)  # type: ignore[arg-type]
    oh, ow = pr.geo.out_hw
    weights = pr.m * pr.cg * pr.geo.taps
    macs = pr.n * oh * ow * weights
    outputs = pr.n * oh * ow * pr.m
    return Cost(macs=macs, flops=2 * macs + (outputs if bias else 0),
                params=weights + (pr.m if bias else 0))
