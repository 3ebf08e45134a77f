"""Fault: brightness adds its factor instead of multiplying (AUG-18, variant additive-brightness)."""

import numpy as np


def adjust_brightness(x, factor, layout="NCHW"):
    x = np.asarray(x)
    y = x.astype(np.float64) + factor
    if x.dtype == np.uint8:
        return np.clip(np.rint(y), 0, 255).astype(np.uint8)
    return y


adjust_brightness_uint8 = adjust_brightness
