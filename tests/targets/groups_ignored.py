"""Fault: every output channel reads the first group's input channels; visible only when groups > 1."""

import numpy as np

import reference


def conv2d(x, w, b=None, *, groups=1, **kw):
    x = np.asarray(x, dtype=np.float64)
    cg = x.shape[1] // groups
    first = np.concatenate([x[:, :cg]] * groups, axis=1)
    return reference.conv2d(first, w, b, groups=groups, **kw)
