"""Target dtypes: how inputs are rounded before a target sees them.

The runner rounds every input to the target dtype first and computes the reference
on those rounded values (in float64), so input rounding is never blamed on the
target. NumPy has no bfloat16: bfloat16 values travel as float32 arrays holding
bfloat16-representable numbers, and adapters convert them to their own bfloat16.
"""

from __future__ import annotations

import numpy as np

DTYPES = ("float32", "float64", "float16", "bfloat16")


def carrier(dtype: str) -> np.dtype:
    """The NumPy dtype that carries values of ``dtype`` across the process boundary."""
    return np.dtype("float32" if dtype == "bfloat16" else dtype)


def round_to(x: np.ndarray, dtype: str) -> np.ndarray:
    """``x`` rounded to ``dtype`` (round to nearest even), in the carrier dtype."""
    if dtype != "bfloat16":
        return np.asarray(x).astype(dtype)
    f = np.asarray(x, dtype=np.float32)
    bits = f.view(np.uint32).astype(np.uint64)
    # Round the low 16 bits to nearest, ties to even; NaN and inf keep their class.
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) << 16
    out = (rounded & 0xFFFFFFFF).astype(np.uint32).view(np.float32)
    return np.where(np.isnan(f), np.float32(np.nan), out)
