"""Fault: conv2d is off by one on the first call of the process only, then right.

Only the first case of a sweep meets it: Hypothesis, searching afterwards, never does,
so the runner must report the sweep's case itself (not shrunk)."""


import reference

_calls = [0]


def conv2d(x, w, b=None, **kw):
    _calls[0] += 1
    y = reference.conv2d(x, w, b, **kw)
    return y + 1.0 if _calls[0] == 1 else y
