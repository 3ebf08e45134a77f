"""Fault: stride_h and stride_w swapped; visible only when they differ (no known variant)."""

import reference


def conv2d(x, w, b=None, *, stride=1, **kw):
    if isinstance(stride, (tuple, list)):
        stride = (stride[1], stride[0])
    return reference.conv2d(x, w, b, stride=stride, **kw)
