"""Fault: count_include_pad read backwards (POOL-AVG-2/3, variant count-include-pad-flipped)."""

import reference


def avg_pool2d(x, kernel_size, *, count_include_pad=True, **kw):
    return reference.avg_pool2d(x, kernel_size, count_include_pad=not count_include_pad, **kw)
