"""Faults inside a sweep: conv2d aborts and max_pool2d hangs on a batch of three images;
every other case is the reference's. The crash or hang must be charged to the case that
caused it, the worker replaced, and the sweep's remaining cases still run."""

import os
import time

import numpy as np

import reference


def conv2d(x, w, b=None, **kw):
    if np.asarray(x).shape[0] == 3:
        os.abort()
    return reference.conv2d(x, w, b, **kw)


def max_pool2d(x, kernel_size, **kw):
    if np.asarray(x).shape[0] == 3:
        time.sleep(600)
    return reference.max_pool2d(x, kernel_size, **kw)
