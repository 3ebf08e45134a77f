"""Fault: ties in max pooling go to the last maximum (POOL-MAX-3, variant last-max)."""

import numpy as np

from reference.pooling import _geometry, max_pool_core


def max_pool2d(x, kernel_size, *, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    x = np.asarray(x, dtype=np.float64)
    y, idx = max_pool_core(x, _geometry(x, kernel_size, stride, padding, dilation, ceil_mode), last_max=True)
    return (y, idx) if return_indices else y
