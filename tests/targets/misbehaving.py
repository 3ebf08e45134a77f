"""Targets that crash, hang, raise, or return the wrong thing on some cases.

Which misbehaviour each op shows is chosen so that the other cases still pass.
"""

import os
import time

import numpy as np

import reference


def conv2d(x, w, b=None, **kw):
    if np.asarray(x).shape[0] == 0:
        os.abort()  # a native crash on the empty batch, as a segfaulting kernel would give
    return reference.conv2d(x, w, b, **kw)


def max_pool2d(x, kernel_size, **kw):
    if np.asarray(x).shape[0] == 0:
        time.sleep(600)  # a hang on the empty batch
    return reference.max_pool2d(x, kernel_size, **kw)


def avg_pool2d(x, kernel_size, **kw):
    raise RuntimeError("this backend has no avg_pool2d kernel")


def im2col(x, kernel_size, **kw):
    return reference.im2col(x, kernel_size, **kw).tolist()  # not an array


def conv_transpose2d(x, w, b=None, **kw):
    return reference.conv_transpose2d(x, w, b, **kw).astype(np.float32)  # wrong dtype for a float64 run
