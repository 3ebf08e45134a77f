"""Fault: max pooling pads with 0, the textbook im2col pooling (POOL-MAX-1, variant zero-pad)."""

import numpy as np

from reference.pooling import _geometry, max_pool_core


def max_pool2d(x, kernel_size, *, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    x = np.asarray(x, dtype=np.float64)
    y, idx = max_pool_core(x, _geometry(x, kernel_size, stride, padding, dilation, ceil_mode), pad_value=0.0)
    return (y, idx) if return_indices else y
