"""A target with one accepted deviation (average pooling reads count_include_pad the other way round,
POOL-AVG-2 count-include-pad-flipped) and conforming max pooling: a baseline is written from it."""

import reference


def max_pool2d(x, kernel_size, **kw):
    return reference.max_pool2d(x, kernel_size, **kw)


def avg_pool2d(x, kernel_size, *, count_include_pad=True, **kw):
    return reference.avg_pool2d(x, kernel_size, count_include_pad=not count_include_pad, **kw)
