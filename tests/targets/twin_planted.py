"""twin_known.py with one planted fault more: max pooling pads with 0 (POOL-MAX-1, zero-pad). Against a
baseline written from its twin, the planted finding is new and the accepted one known."""

import numpy as np

import reference
from reference.pooling import _geometry, max_pool_core


def max_pool2d(x, kernel_size, *, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    x = np.asarray(x, dtype=np.float64)
    y, idx = max_pool_core(x, _geometry(x, kernel_size, stride, padding, dilation, ceil_mode), pad_value=0.0)
    return (y, idx) if return_indices else y


def avg_pool2d(x, kernel_size, *, count_include_pad=True, **kw):
    return reference.avg_pool2d(x, kernel_size, count_include_pad=not count_include_pad, **kw)
