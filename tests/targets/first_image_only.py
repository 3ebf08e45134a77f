"""Fault: every image of the batch gets the first image's result; visible only when N > 1."""


import reference


def conv2d(x, w, b=None, **kw):
    y = reference.conv2d(x, w, b, **kw)
    if len(y):
        y[:] = y[:1]
    return y
