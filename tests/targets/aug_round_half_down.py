"""Fault: nearest-neighbour ties go to the smaller index (AUG-5, variant round-half-down), in a
hand-written translate: ``floor`` of ``u + 1/2`` taken one step down where it is a whole number."""

import numpy as np

import reference.augmentation as aug


def translate(x, tx, ty, *, interpolation="bilinear", fill_mode="constant", fill_value=0.0, layout="NCHW"):
    if interpolation != "nearest":
        return aug.translate(x, tx, ty, interpolation=interpolation, fill_mode=fill_mode,
                             fill_value=fill_value, layout=layout)
    x = np.asarray(x)
    h, w = x.shape[2], x.shape[3]
    cols = np.ceil(np.arange(w) - tx - 0.5).astype(int)  # nearest column, ties down
    rows = np.ceil(np.arange(h) - ty - 0.5).astype(int)
    out = np.empty(x.shape, dtype=np.float64)
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            if fill_mode == "constant" and not (0 <= r < h and 0 <= c < w):
                out[:, :, i, j] = fill_value
                continue
            out[:, :, i, j] = x[:, :, _extend(r, h, fill_mode), _extend(c, w, fill_mode)]
    return out.astype(x.dtype) if x.dtype.kind in "iu" else out


def _extend(k, n, mode):
    if mode == "nearest":
        return min(max(k, 0), n - 1)
    if mode == "wrap":
        return k % n
    if mode == "reflect":
        m = k % (2 * n)
        return m if m < n else 2 * n - 1 - m
    return k
