"""Fault: max_pool2d's default stride is 1 (as in some libraries' layer classes), not the kernel size; every
case that passes stride explicitly conforms (POOL-1, a default that differs)."""

import reference


def max_pool2d(x, kernel_size, *, stride=1, **kw):
    return reference.max_pool2d(x, kernel_size, stride=stride, **kw)
