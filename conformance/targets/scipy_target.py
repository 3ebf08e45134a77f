"""The ``scipy`` target: conv2d through ``scipy.signal.correlate2d``, one 2-D plane at a time.

SciPy has no CNN convolution, only 2-D correlation of two planes, so the adapter does what
a SciPy user writes: for every image n and output channel m, the correlations of the
input planes of m's group (CONV-3) with m's kernel planes, summed over those channels
(in the compute dtype), plus b[m]. The loop, the channel sum and the bias add are NumPy
glue; every windowed product and the zero boundary are SciPy's.

Mapping (per axis, after resolving the spec's padding to (before, after)):

- ``correlate2d(x_plane, w_plane, mode, boundary="fill", fillvalue=0)`` — cross-correlation
  (CONV-1), zero boundary (CONV-5). ``mode`` must express the padding of both axes:
  ``"valid"`` is (0, 0), ``"same"`` is ((K − 1) // 2, K // 2) (SciPy centres the output on
  the full correlation with the odd pad at the end, which is the spec's "same" at stride 1,
  SIZE-5), ``"full"`` is (K − 1, K − 1). Any padding form (int, pair, explicit, "valid",
  "same", "same_lower") is accepted when one mode gives exactly those pads; otherwise
  Unsupported (SciPy has no arbitrary padding).
- stride S > 1: every S-th element of the stride-1 correlation, ``out[::Sh, ::Sw]`` — how
  SciPy users do strided convolution. It maps when the mode's leading pad is the spec's and
  the subsampled length is the spec's output size (SIZE-3); otherwise Unsupported.
- dilation > 1: SciPy's correlation has no dilation -> Unsupported.
- dtypes: float64 and float32 (SciPy's correlate2d computes in the input's dtype);
  float16 ("convolve2d not available for this type") and bfloat16 -> Unsupported at setup.

Only conv2d is offered. A user who reaches for ``scipy.signal.convolve2d`` instead of
``correlate2d`` computes a true convolution with the kernel flipped; the conformance runner
diagnoses that as the CONV-1 variant ``flipped-kernel``.

Special values: the ``"fill"`` boundary multiplies the fill value into the sum, so an
infinite weight over a padded position gives NaN (0 · inf), as CONV-1 and SPEC-6 require.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import Target, Unsupported

_MODES = ("valid", "same", "full")


def _pair(v: Any) -> tuple[int, int]:
    return (int(v), int(v)) if not isinstance(v, (tuple, list)) else (int(v[0]), int(v[1]))


def _spec_same(size: int, k: int, s: int, lower: bool) -> tuple[int, int]:
    """The spec's "same" / "same_lower" pads of one axis at dilation 1 (SIZE-5, SIZE-6)."""
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    small, big = total // 2, total - total // 2
    return (big, small) if lower else (small, big)


def _axis_pads(padding: Any, hw: tuple[int, int], k: tuple[int, int], s: tuple[int, int]
               ) -> tuple[tuple[int, int], tuple[int, int]]:
    """Any SIZE-2 padding form -> ((t, b), (l, r)) for this input."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0), (0, 0))
        lower = padding == "same_lower"
        return (_spec_same(hw[0], k[0], s[0], lower), _spec_same(hw[1], k[1], s[1], lower))
    if isinstance(padding, (tuple, list)):
        if all(isinstance(p, (tuple, list)) for p in padding):
            (t, b), (l, r) = padding
            return ((int(t), int(b)), (int(l), int(r)))
        ph, pw = _pair(padding)
        return ((ph, ph), (pw, pw))
    p = int(padding)
    return ((p, p), (p, p))


def _mode_pads(mode: str, k: int) -> tuple[int, int]:
    """The (before, after) padding a correlate2d mode applies along an axis of kernel size k."""
    return {"valid": (0, 0), "same": ((k - 1) // 2, k // 2), "full": (k - 1, k - 1)}[mode]


def _choose_mode(hw: tuple[int, int], k: tuple[int, int], s: tuple[int, int],
                 pads: tuple[tuple[int, int], tuple[int, int]]) -> str:
    """The correlate2d mode whose stride-1 output, taken every S-th element, is the spec's."""
    for mode in _MODES:
        ok = True
        for a in (0, 1):
            before, after = _mode_pads(mode, k[a])
            spec_len = (hw[a] + sum(pads[a]) - k[a]) // s[a] + 1
            full_len = hw[a] + before + after - k[a] + 1
            if before != pads[a][0] or full_len < 1 or -(-full_len // s[a]) != spec_len:
                ok = False
                break
        if ok:
            return mode
    raise Unsupported(f"padding {pads} with kernel {k} and stride {s} is none of correlate2d's modes "
                      f"'valid', 'same', 'full' (SciPy has no arbitrary padding)")


class SciPyTarget(Target):
    name = "scipy"
    requires = ("scipy",)
    devices = ("cpu",)

    def setup(self, dtype: str, device: str) -> None:
        super().setup(dtype, device)
        if dtype not in ("float64", "float32"):
            raise Unsupported(f"scipy.signal.correlate2d has no {dtype} kernel")
        from scipy import signal

        self._correlate2d = signal.correlate2d

    def version(self) -> str:
        import scipy

        return str(scipy.__version__)

    def conv2d(self, x, w, b=None, *, stride=1, padding=0, dilation=1, groups=1):
        if _pair(dilation) != (1, 1):
            raise Unsupported("scipy.signal.correlate2d has no dilation")
        s = _pair(stride)
        k = (w.shape[2], w.shape[3])
        hw = (x.shape[2], x.shape[3])
        pads = _axis_pads(padding, hw, k, s)
        mode = _choose_mode(hw, k, s, pads)
        n, c = x.shape[:2]
        m = w.shape[0]
        cg, mg = c // groups, m // groups
        oh, ow = ((hw[a] + sum(pads[a]) - k[a]) // s[a] + 1 for a in (0, 1))
        dt = np.dtype(self.dtype)
        x, w = np.asarray(x, dtype=dt), np.asarray(w, dtype=dt)
        y = np.zeros((n, m, oh, ow), dtype=dt)
        with np.errstate(invalid="ignore", over="ignore"):  # NaN and inf propagate (SPEC-6)
            for i in range(n):
                for o in range(m):
                    g = o // mg
                    acc = None
                    for ci in range(cg):
                        r = self._correlate2d(x[i, g * cg + ci], w[o, ci], mode=mode, boundary="fill",
                                              fillvalue=0)[::s[0], ::s[1]]
                        acc = r if acc is None else acc + r
                    if b is not None:
                        acc = acc + dt.type(b[o])
                    y[i, o] = acc  # a shape mismatch here would be a mapping bug: it raises
        return y


TARGET = SciPyTarget
