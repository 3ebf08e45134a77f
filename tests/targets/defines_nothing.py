"""A user module whose function is misspelled (``Conv2d``): it defines no op the runner knows, so a
run checks nothing and must exit 3, never 0."""

import reference


def Conv2d(x, w, b=None, **kw):  # noqa: N802 - the misspelling is the point
    return reference.conv2d(x, w, b, **kw)
