"""Fault: true convolution, the kernel flipped (CONV-1, variant flipped-kernel)."""

import numpy as np

import reference


def conv2d(x, w, b=None, **kw):
    return reference.conv2d(x, np.asarray(w)[:, :, ::-1, ::-1], b, **kw)
