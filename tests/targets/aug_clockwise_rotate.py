"""Fault: rotate turns clockwise for a positive angle (AUG-12, variant clockwise); every other op is the reference."""

import reference.augmentation as aug


def rotate(x, angle, **kw):
    return aug.rotate(x, -angle, **kw)


def rotate_uint8(x, angle, **kw):
    return rotate(x, angle, **kw)
