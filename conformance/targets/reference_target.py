"""The ``reference`` target: the reference's definitional forms, checked against its fast path.

Running the runner against this target checks the reference itself: the fast forms the
public API uses (strided views, BLAS) against direct transcriptions of the clauses.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import reference
from reference.conv2d import conv2d_backward_definitional, conv2d_definitional
from reference.conv_transpose2d import conv_transpose2d_definitional
from reference.im2col import im2col_definitional
from reference.pooling import (
    avg_pool2d_backward_definitional,
    avg_pool2d_definitional,
    max_pool2d_backward_definitional,
    max_pool2d_definitional,
)

from . import Target


def _f64(*arrays: Any) -> list[np.ndarray]:
    return [None if a is None else np.asarray(a, dtype=np.float64) for a in arrays]


class ReferenceTarget(Target):
    name = "reference"
    requires = ()

    def version(self) -> str:
        return reference.__version__

    def conv2d(self, x, w, b=None, **kw):
        return conv2d_definitional(*_f64(x, w, b), **kw)

    def conv2d_backward(self, dy, x, w, **kw):
        return conv2d_backward_definitional(*_f64(dy, x, w), **kw)

    def conv_transpose2d(self, x, w, b=None, **kw):
        return conv_transpose2d_definitional(*_f64(x, w, b), **kw)

    def max_pool2d(self, x, kernel_size, *, return_indices=False, **kw):
        y, idx = max_pool2d_definitional(*_f64(x), kernel_size, **kw)
        return (y, idx) if return_indices else y

    def max_pool2d_backward(self, dy, x, kernel_size, **kw):
        return max_pool2d_backward_definitional(*_f64(dy, x), kernel_size, **kw)

    def avg_pool2d(self, x, kernel_size, **kw):
        return avg_pool2d_definitional(*_f64(x), kernel_size, **kw)

    def avg_pool2d_backward(self, dy, x, kernel_size, **kw):
        return avg_pool2d_backward_definitional(*_f64(dy, x), kernel_size, **kw)

    def im2col(self, x, kernel_size, **kw):
        return im2col_definitional(*_f64(x), kernel_size, **kw)


TARGET = ReferenceTarget
