"""Fault: uint8 brightness results are truncated, as a C cast does, instead of rounded half to even
(AUG-2, variant truncate-to-uint8); float images are right."""

import numpy as np


def adjust_brightness(x, factor, layout="NCHW"):
    x = np.asarray(x)
    y = float(factor) * x.astype(np.float64)
    if x.dtype == np.uint8:
        return np.clip(y, 0, 255).astype(np.uint8)  # astype truncates towards zero
    return y


def adjust_brightness_uint8(x, factor, layout="NCHW"):
    return adjust_brightness(x, factor, layout)
