"""Output-size formulas: the one function every op uses (SIZE-3 ... SIZE-9).

Every op (conv2d, pooling, im2col) sizes its output with :func:`conv_output_size`
and resolves its padding with :func:`resolve_padding`; transposed convolution
uses :func:`conv_transpose_output_size`.
"""

from __future__ import annotations

from typing import Any

from ._errors import fail
from ._params import Pads, as_int, explicit_padding, pair


def _effective(kernel: int, dilation: int) -> int:
    return dilation * (kernel - 1) + 1


def same_padding(size: int, kernel_size: int, *, stride: int = 1, dilation: int = 1,
                 lower: bool = False) -> tuple[int, int]:
    """Padding ``(before, after)`` that makes the output ``ceil(size / stride)`` long.

    Clauses: SIZE-5 ("same": the odd pad at the end, as TF, JAX and ONNX SAME_UPPER),
    SIZE-6 ("same_lower": the odd pad at the start).

    Formula: ``total = max((ceil(size / S) - 1) * S + D * (K - 1) + 1 - size, 0)``,
    ``before = total // 2``, ``after = total - before`` (swapped when ``lower``).

    Raises :class:`SpecError` for non-integer or non-positive arguments (SIZE-1).
    """
    size = as_int(size, "size", "SIZE-1", 1)
    k = as_int(kernel_size, "kernel_size", "SIZE-1", 1)
    s = as_int(stride, "stride", "SIZE-1", 1)
    d = as_int(dilation, "dilation", "SIZE-1", 1)
    out = -(-size // s)
    total = max((out - 1) * s + _effective(k, d) - size, 0)
    small, big = total // 2, total - total // 2
    return (big, small) if lower else (small, big)


def resolve_padding(padding: Any, in_hw: tuple[int, int], kernel: tuple[int, int],
                    stride: tuple[int, int], dilation: tuple[int, int]) -> Pads:
    """Any padding form (SIZE-2) -> explicit ``((top, bottom), (left, right))``."""
    pads = explicit_padding(padding)
    if pads is not None:
        return pads
    if padding == "valid":  # SIZE-9
        return ((0, 0), (0, 0))
    lower = padding == "same_lower"
    return tuple(same_padding(n, k, stride=s, dilation=d, lower=lower)  # type: ignore[return-value]
                 for n, k, s, d in zip(in_hw, kernel, stride, dilation))


def _out_len(size: int, k: int, s: int, before: int, after: int, d: int, ceil_mode: bool,
             name: str, ceil_rule: str = "spec") -> int:
    """SIZE-3 / SIZE-4 / SIZE-7 for one axis. ``ceil_rule="naive"`` is the named variant."""
    span = size + before + after - _effective(k, d)
    if span < 0:
        fail(name, size, "SIZE-4",
             f"padded size {size + before + after} is smaller than the effective kernel "
             f"{_effective(k, d)} (kernel {k}, dilation {d})")
    if not ceil_mode:
        return span // s + 1
    out = -(-span // s) + 1
    # PyTorch/Caffe rule: a last window that would start in the end padding is dropped.
    if ceil_rule == "spec" and (out - 1) * s >= size + before:
        out -= 1
    return out


def conv_output_size(size: int, kernel_size: int, *, stride: int = 1, padding: Any = 0,
                     dilation: int = 1, ceil_mode: bool = False) -> int:
    """Output length along one axis, for every op (SIZE-3, SIZE-4, SIZE-7).

    Formula: ``floor((size + P_before + P_after - D * (K - 1) - 1) / S) + 1``; with
    ``ceil_mode`` the floor becomes a ceiling, minus one when the last window would
    start in the end padding (SIZE-7).

    ``padding`` is an int (both sides), a pair ``(before, after)``, or ``"valid"``,
    ``"same"``, ``"same_lower"``. Raises :class:`SpecError` when the dilated kernel is
    larger than the padded input (SIZE-4) and for malformed arguments (SIZE-1, SIZE-2).
    """
    size = as_int(size, "size", "SIZE-1", 1)
    k = as_int(kernel_size, "kernel_size", "SIZE-1", 1)
    s = as_int(stride, "stride", "SIZE-1", 1)
    d = as_int(dilation, "dilation", "SIZE-1", 1)
    if isinstance(padding, str):
        before, after = resolve_padding(padding, (size, size), (k, k), (s, s), (d, d))[0]
    else:
        before, after = _axis_pads(padding)
    return _out_len(size, k, s, before, after, d, bool(ceil_mode), "size")


def conv_transpose_output_size(size: int, kernel_size: int, *, stride: int = 1, padding: Any = 0,
                               output_padding: int = 0, dilation: int = 1) -> int:
    """Output length of a transposed convolution along one axis (SIZE-8).

    Formula: ``(size - 1) * S - P_before - P_after + D * (K - 1) + output_padding + 1``.
    ``padding`` is an int or ``(before, after)``. Raises :class:`SpecError` when
    ``output_padding >= max(S, D)`` or the result is < 1 (SIZE-8).
    """
    size = as_int(size, "size", "SIZE-1", 1)
    k = as_int(kernel_size, "kernel_size", "SIZE-1", 1)
    s = as_int(stride, "stride", "SIZE-1", 1)
    d = as_int(dilation, "dilation", "SIZE-1", 1)
    op = as_int(output_padding, "output_padding", "SIZE-8", 0)
    before, after = _axis_pads(padding)
    return _transpose_len(size, k, s, before, after, d, op, "size")


def _axis_pads(padding: Any) -> tuple[int, int]:
    """One axis's padding: an int (both sides) or ``(before, after)`` (SIZE-2)."""
    if isinstance(padding, (tuple, list)):
        if len(padding) != 2:
            fail("padding", padding, "SIZE-2", "one axis takes an int or (before, after)")
        return (as_int(padding[0], "padding", "SIZE-2", 0), as_int(padding[1], "padding", "SIZE-2", 0))
    p = as_int(padding, "padding", "SIZE-2", 0)
    return (p, p)


def _transpose_len(size: int, k: int, s: int, before: int, after: int, d: int, op: int,
                   name: str) -> int:
    if op >= max(s, d):
        fail("output_padding", op, "SIZE-8", f"must be < max(stride, dilation) = {max(s, d)}")
    out = (size - 1) * s - before - after + d * (k - 1) + op + 1
    if out < 1:
        fail(name, size, "SIZE-8", f"padding {before}+{after} leaves an output of {out} < 1")
    return out


def output_hw(in_hw: tuple[int, int], kernel: tuple[int, int], stride: tuple[int, int],
              pads: Pads, dilation: tuple[int, int], ceil_mode: bool = False,
              ceil_rule: str = "spec") -> tuple[int, int]:
    """(OH, OW) for already-parsed parameters; the shared core of every forward op."""
    return (_out_len(in_hw[0], kernel[0], stride[0], *pads[0], dilation[0], ceil_mode,
                     "x.shape[2] (H)", ceil_rule),
            _out_len(in_hw[1], kernel[1], stride[1], *pads[1], dilation[1], ceil_mode,
                     "x.shape[3] (W)", ceil_rule))


__all__ = ["conv_output_size", "conv_transpose_output_size", "same_padding", "resolve_padding",
           "output_hw", "pair"]
