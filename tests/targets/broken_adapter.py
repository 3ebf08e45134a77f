"""An adapter (a Target subclass) with a misspelled library attribute: the run must report an
adapter error for the op it breaks, never a finding about the library (exit status 4)."""

import numpy as np

import reference
from conformance.targets import Target


class BrokenAdapter(Target):
    name = "broken-adapter"
    requires = ("numpy",)

    def conv2d(self, x, w, b=None, **kw):
        return np.lib.no_such_function(x)  # the misspelling: a library attribute that does not exist

    def max_pool2d(self, x, kernel_size, **kw):  # this op's adapter is fine
        return reference.max_pool2d(x, kernel_size, **kw)
