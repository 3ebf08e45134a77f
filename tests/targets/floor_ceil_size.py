"""Fault: conv_output_size ignores ceil_mode and always takes the floor (SIZE-7)."""

from reference import conv_output_size as _spec


def conv_output_size(size, kernel_size, *, stride=1, padding=0, dilation=1, ceil_mode=False):
    return _spec(size, kernel_size, stride=stride, padding=padding, dilation=dilation, ceil_mode=False)
