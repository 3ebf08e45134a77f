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

Augmentation ops (AUG-*, spec/augmentation.md; added for issue 7) go through
``scipy.ndimage``, one (n, c) plane at a time (float64 or float32 as the run says; uint8 for
the ``*_uint8`` ops, whose ``output`` dtype SciPy then keeps). Parameters are passed as
SciPy's documentation describes them, not converted to the spec's conventions:

* ``rotate``    -> ``ndimage.rotate(plane, angle, reshape=False, order, mode, cval)``: degrees,
  about the array centre.
* ``translate`` -> ``ndimage.shift(plane, (ty, tx), order, mode, cval)`` (axis order: rows first).
* ``zoom``      -> ``ndimage.affine_transform(plane, [1/f_y, 1/f_x], offset)`` about the array
  centre ``c = ((H-1)/2, (W-1)/2)``, ``offset = c - c/f``: affine_transform's matrix maps output
  coordinates to input ones, so a magnification by f is 1/f there, as its documentation says
  (``ndimage.zoom`` itself changes the array's size).
* ``shear``     -> ``affine_transform(plane, [[1, 0], [-tan φ, 1]], offset=(0, tan φ · c_y))`` in
  (row, column) order: each output column reads the input ``tan φ · (row - c_y)`` to its left.
* ``affine``    -> ``affine_transform(plane, matrix)`` with the spec's 3x3 matrix as it is, which
  SciPy reads as an output-to-input map (AUG-4 ``inverse-matrix``) of (row, column) coordinates
  (``yx-order``) in a frame with pixel centres at integers (AUG-3 ``integer-centres``).
* interpolation ``nearest`` / ``bilinear`` -> ``order=0`` / ``order=1`` (``prefilter`` is
  irrelevant below order 2); fill mode ``constant`` / ``nearest`` / ``reflect`` / ``wrap`` ->
  ``mode="constant"`` (``cval`` = fill_value; SciPy's default) / ``"nearest"`` / ``"reflect"``
  / ``"grid-wrap"``. SciPy's ``"constant"`` is the spec's ``constant-outside-centres`` (its
  ``"grid-constant"`` would be AUG-7) and its ``"reflect"`` is the spec's half-sample reflect
  (``"mirror"`` would be ``reflect-101``); the runner reports what SciPy does with them. Periodic
  extension is ``"grid-wrap"``, the mode SciPy documents as wrapping: its legacy ``"wrap"`` makes
  the first and last samples overlap (period n - 1 for interpolation), which is no convention
  of the spec's, and would only blur the diagnosis of the others.
* flips and the photometric ops: SciPy has none (not implemented).
* ``layout="HWC"`` is not mapped (the runner sends NCHW): Unsupported.

Known divergences from the spec are data, not prose: conformance/expectations/scipy.toml
(checked by tests/test_expectations.py; the README's findings table is generated from it).

"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..opnames import uint8_aliases
from . import Target, Unsupported
from ._geometry import pair as _pair
from ._geometry import resolve_pads as resolve_padding

_MODES = ("valid", "same", "full")


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


@uint8_aliases
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
        pads = resolve_padding(padding, hw, k, s, (1, 1))  # the spec's reading of every SIZE-2 form
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

    # --- augmentation (AUG-*) ------------------------------------------------------------------

    _ORDER = {"nearest": 0, "bilinear": 1}
    _MODE = {"constant": "constant", "nearest": "nearest", "reflect": "reflect", "wrap": "grid-wrap"}

    @staticmethod
    def _planes(x: Any, fn: Any, layout: str = "NCHW") -> np.ndarray:
        if layout != "NCHW":
            raise Unsupported("the adapter maps NCHW batches only")
        out = np.empty_like(x)
        for n in range(x.shape[0]):
            for c in range(x.shape[1]):
                out[n, c] = fn(np.ascontiguousarray(x[n, c]))
        return out

    def _sampling(self, interpolation: str, fill_mode: str, fill_value: float) -> dict[str, Any]:
        return {"order": self._ORDER[interpolation], "mode": self._MODE[fill_mode], "cval": float(fill_value)}

    def rotate(self, x, angle, *, interpolation="bilinear", fill_mode="constant", fill_value=0.0,
               layout="NCHW"):
        from scipy import ndimage

        kw = self._sampling(interpolation, fill_mode, fill_value)
        return self._planes(x, lambda p: ndimage.rotate(p, float(angle), reshape=False, **kw), layout)

    def translate(self, x, tx, ty, *, interpolation="bilinear", fill_mode="constant", fill_value=0.0,
                  layout="NCHW"):
        from scipy import ndimage

        kw = self._sampling(interpolation, fill_mode, fill_value)
        return self._planes(x, lambda p: ndimage.shift(p, (float(ty), float(tx)), **kw), layout)

    def _transform(self, x, matrix, offset, interpolation, fill_mode, fill_value, layout):
        from scipy import ndimage

        kw = self._sampling(interpolation, fill_mode, fill_value)
        return self._planes(x, lambda p: ndimage.affine_transform(p, matrix, offset=offset, **kw), layout)

    def zoom(self, x, factor, *, interpolation="bilinear", fill_mode="constant", fill_value=0.0,
             layout="NCHW"):
        fx, fy = (float(factor[0]), float(factor[1])) if isinstance(factor, (tuple, list)) else (float(factor),) * 2
        c = np.array([(x.shape[2] - 1) / 2, (x.shape[3] - 1) / 2])
        m = np.array([1 / fy, 1 / fx])
        return self._transform(x, m, c - m * c, interpolation, fill_mode, fill_value, layout)

    def shear(self, x, angle, *, interpolation="bilinear", fill_mode="constant", fill_value=0.0,
              layout="NCHW"):
        import math

        t = math.tan(math.radians(float(angle)))
        cy = (x.shape[2] - 1) / 2
        m = np.array([[1.0, 0.0], [-t, 1.0]])
        return self._transform(x, m, np.array([0.0, t * cy]), interpolation, fill_mode, fill_value, layout)

    def affine(self, x, matrix, *, interpolation="bilinear", fill_mode="constant", fill_value=0.0,
               layout="NCHW"):
        m = np.asarray(matrix, dtype=np.float64)
        if m.shape == (2, 3):
            m = np.vstack([m, [0.0, 0.0, 1.0]])
        return self._transform(x, m, 0.0, interpolation, fill_mode, fill_value, layout)


TARGET = SciPyTarget
