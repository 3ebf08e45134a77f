"""Fault: same_padding ignores the dilation (SIZE-5, variant same-undilated)."""

from reference import same_padding as _spec


def same_padding(size, kernel_size, *, stride=1, dilation=1, lower=False):
    return _spec(size, kernel_size, stride=stride, dilation=1, lower=lower)
