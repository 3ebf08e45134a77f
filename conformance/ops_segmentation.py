"""The segmentation ops in the runner's registry (issue 13; spec/segmentation.md): segmentation_labels,
confusion_matrix, pixel_accuracy, per_class_iou, mean_iou and dense_crf.

Exports plain values, composed by conformance/ops.py, variants.py and corpus.py: :data:`SPECS`,
:data:`VARIANTS` and :data:`CORPUS`.

Targets' methods take the reference's names and keywords:

- ``segmentation_labels(logits)`` -> int labels without the class axis;
- ``confusion_matrix(pred, target, num_classes, *, ignore_index=None)`` -> (C, C) integers
  (pred and target arrive as int64, unchanged by the dtype);
- ``pixel_accuracy(cm)``, ``mean_iou(cm)`` -> a float (a 0-d array after the worker's conversion,
  conformance.opnames.SCALAR_RESULTS); ``per_class_iou(cm)`` -> (C,) floats. ``cm`` is an int64
  matrix of counts (sent unchanged) or a float matrix of weighted counts (in the run dtype);
- ``dense_crf(unary_logits, image, *, iterations, theta_alpha, theta_beta, theta_gamma,
  w_appearance, w_smoothness)`` -> (C, H, W) probabilities.

Error model.

* Labels and confusion matrices are exact (TOL-4).
* pixel_accuracy = trace / sum: the trace sums C entries and the sum C² (relative errors at most
  (C − 1)u and (C² − 1)u), the quotient rounds once: |err| <= (C² + C)·u·|ref| to first order,
  so ``scale = |ref|``, ``terms = C² + C`` (TOL-2's factor C = 2 leaves room for a library that
  multiplies by a rounded reciprocal). A count matrix (integers below 2**24) makes the sums exact
  in float32 and only the quotient rounds.
* per_class_iou = TP / (row + col − TP): row and col sums carry (C − 1)u each, the denominator is
  at least max(row, col) >= (row + col)/2, so its relative error is <= 2(C + 1)u; the quotient adds
  u: ``scale = |ref|``, ``terms = 2C + 2``. A class with TP = 0 has IoU exactly 0 in any dtype, and
  a zero denominator NaN (compared by TOL-5).
* mean_iou averages at most C such values (sum (C − 1)u, division u): ``scale = |ref|``,
  ``terms = 3C + 3``.
* dense_crf is iterative, so no closed-form TOL-2 scale exists; ``exact_capable`` is False and the
  scale is a first-order forward error bound computed along the reference's own trajectory
  (:func:`crf_error_bound`, in units of the run dtype's u): the kernel entries' rounding (the
  exponents' squares, sums and divisions and the exp, (K + 6)·a + 3 ulps relative for an exponent
  a over K image channels), the messages' sums over P − 1 pixels, the Potts sums over C labels, the
  subtraction from the unaries, and the softmax's own rounding, with the error carried through
  the softmax by its exact Jacobian at the reference's probabilities (``q_l((1 − q_l)δ_l −
  Σ_{m≠l} q_m δ_m)``), so saturated pixels damp errors and unsaturated strongly coupled ones
  amplify them as mean-field inference really does. A probability or kernel entry so small that it
  underflows in float32 (below 2**-126) or float16 (below 2**-14) may be lost entirely there: it gets
  that much room (:func:`_underflow`), a relative 2**-29 of itself in float64. Second-order terms (u²
  and smaller) are left out; where the propagated bound reaches 1 it says nothing (probabilities
  differ by at most 1), which happens only with strong, unsaturated coupling over several iterations.

Variants: dense_crf ``include-self`` (CRF-3). ``permutohedral`` (CRF-3) is an approximation the
reference does not reproduce, and SEG-1 ... SEG-8 name no variants (SEG-7's "absent classes
counted as 0 or 1" are called bugs, not conventions): those findings carry the clause alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import reference as ref
from reference.segmentation import _crf_args, _softmax0, dense_crf_variant

from .strategies.segmentation import CASES
from .types import Case, Expected, OpSpec, Variant


def _labels(case: Case) -> Expected:
    return [("labels", case.call(ref.segmentation_labels), None, 1)]


def _confusion(case: Case) -> Expected:
    return [("cm", case.call(ref.confusion_matrix), None, 1)]


def _classes(case: Case) -> int:
    return int(case.arrays["cm"].shape[0])


def _accuracy(case: Case) -> Expected:
    c = _classes(case)
    acc = np.asarray(case.call(ref.pixel_accuracy), dtype=np.float64)
    return [("accuracy", acc, np.abs(acc), c * c + c)]


def _per_class(case: Case) -> Expected:
    iou = case.call(ref.per_class_iou)
    return [("iou", iou, np.abs(iou), 2 * _classes(case) + 2)]


def _mean(case: Case) -> Expected:
    m = np.asarray(case.call(ref.mean_iou), dtype=np.float64)
    return [("miou", m, np.abs(m), 3 * _classes(case) + 3)]


# --- dense CRF: the error bound ----------------------------------------------------------------

def _softmax_rounding(z: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Error of softmax along axis 0, in units of u: each exp(z_l − max) is off by (2 + |z_l − max|)
    ulps relative, the sum of C of them by C − 1 more, the quotient by one."""
    rel = 2.0 + np.abs(z - z.max(axis=0, keepdims=True))
    return q * (rel + (q * rel).sum(axis=0, keepdims=True) + z.shape[0] + 1)


def _underflow(v: np.ndarray) -> np.ndarray:
    """Room, in units of u, for a value that underflows in a narrower dtype (an exp of a large negative
    number): below float32's smallest normal 2**-126 it may be lost entirely in float32 (u = 2**-24)
    and in bfloat16 and float16, below 2**-14 in float16 (u = 2**-11). Elsewhere 0. In float64 this
    allows a relative error of 2**-29 (2**-42) on such tiny values; the scale cannot depend on the run
    dtype, so the narrowest dtype's underflow sets it."""
    v = np.abs(v)
    return np.where(v < 2.0**-126, v * 2.0**24, np.where(v < 2.0**-14, v * 2.0**11, 0.0))


def crf_error_bound(u: np.ndarray, img: np.ndarray, iterations: int, params: tuple[float, ...],
                    include_self: bool = False) -> np.ndarray:
    """A first-order bound, in units of the unit roundoff, on |Q_target − Q| for dense_crf computed in
    floating point (see the module docstring): the (C, H, W) array the op's scale is half of."""
    ta, tb, tg, wa, ws = params
    c, h, w = u.shape
    npx = h * w
    k_ch = img.shape[0]
    un = u.reshape(c, npx)
    rr, cc = np.divmod(np.arange(npx), w)
    d2 = ((rr[:, None] - rr[None, :]) ** 2 + (cc[:, None] - cc[None, :]) ** 2).astype(np.float64)
    feat = img.reshape(k_ch, npx)
    di2 = np.zeros((npx, npx))
    for k in range(k_ch):
        di2 += (feat[k][:, None] - feat[k][None, :]) ** 2
    a = d2 / (2 * ta * ta) + di2 / (2 * tb * tb)
    g = d2 / (2 * tg * tg)
    ka, kg = wa * np.exp(-a), ws * np.exp(-g)
    ker = ka + kg
    kerr = ka * ((k_ch + 6) * a + 3) + kg * (5 * g + 3) + ker + _underflow(ka) + _underflow(kg)
    if not include_self:
        np.fill_diagonal(ker, 0.0)
        np.fill_diagonal(kerr, 0.0)
    q = _softmax0(un)
    err = _softmax_rounding(un, q) + _underflow(q)
    for _ in range(iterations):
        msg = q @ ker.T
        d_msg = err @ ker.T + (npx + 1) * msg + q @ kerr.T
        total = msg.sum(axis=0, keepdims=True)
        z = un - (total - msg)
        d_z = d_msg.sum(axis=0, keepdims=True) - d_msg + (c + 1) * total + np.abs(z)
        q = _softmax0(z)
        spread = (q * d_z).sum(axis=0, keepdims=True) - q * d_z  # Σ_{m≠l} q_m δ_m
        err = q * ((1 - q) * d_z + spread) + _softmax_rounding(z, q) + _underflow(q)
    return err.reshape(c, h, w)


def _crf(case: Case, include_self: bool = False) -> Expected:
    a = case.arrays
    p = {"iterations": 5, **case.params}
    if include_self:
        q = dense_crf_variant(a["unary_logits"], a["image"], variant="include-self", **p)
    else:
        q = ref.dense_crf(a["unary_logits"], a["image"], **p)
    u, img, it, params = _crf_args(a["unary_logits"], a["image"], p["iterations"], p["theta_alpha"],
                                   p["theta_beta"], p["theta_gamma"], p["w_appearance"], p["w_smoothness"])
    return [("q", q, crf_error_bound(u, img, it, params, include_self) / 2.0, 1)]


SPECS: list[OpSpec] = [
    OpSpec("segmentation_labels", ("labels",), ("SEG-1",), CASES["segmentation_labels"], _labels,
           size_clause="SEG-1"),
    OpSpec("confusion_matrix", ("cm",), ("SEG-2", "SEG-3", "SEG-4"), CASES["confusion_matrix"], _confusion,
           size_clause="SEG-2"),
    OpSpec("pixel_accuracy", ("accuracy",), ("SEG-5", "SEG-8"), CASES["pixel_accuracy"], _accuracy,
           size_clause="SEG-5", exact_capable=False),
    OpSpec("per_class_iou", ("iou",), ("SEG-6", "SEG-8"), CASES["per_class_iou"], _per_class,
           size_clause="SEG-6", exact_capable=False),
    OpSpec("mean_iou", ("miou",), ("SEG-7", "SEG-6", "SEG-8"), CASES["mean_iou"], _mean,
           size_clause="SEG-7", exact_capable=False),
    OpSpec("dense_crf", ("q",), ("CRF-1", "CRF-2", "CRF-3", "CRF-4"), CASES["dense_crf"], _crf,
           size_clause="CRF-4", exact_capable=False),
]

VARIANTS: list[Variant] = [
    Variant("include-self", "CRF-3", "dense_crf", lambda c: _crf(c, include_self=True),
            "the message also sums the pixel itself (j = i): a kernel matrix with its diagonal left in"),
]


# --- corpus ------------------------------------------------------------------------------------

def _logits(note: str, values: Any) -> Case:
    return Case("segmentation_labels", {"logits": np.array(values, dtype=np.float64)}, {}, False, note)


def _cm_case(note: str, pred: Any, target: Any, c: int, ignore_index: int | None = None) -> Case:
    params: dict[str, Any] = {"num_classes": c}
    if ignore_index is not None:
        params["ignore_index"] = ignore_index
    return Case("confusion_matrix", {"pred": np.array(pred, dtype=np.int64),
                                     "target": np.array(target, dtype=np.int64)}, params, False, note)


_INF = np.inf
#: (note, matrix): the edge cases of SEG-5 ... SEG-8, run through each of the three metrics.
_MATRICES: list[tuple[str, np.ndarray]] = [
    ("a class absent from both prediction and truth: NaN IoU, left out of the mean (SEG-6, SEG-7)",
     np.array([[3, 0, 1], [0, 0, 0], [2, 0, 5]], dtype=np.int64)),
    ("two absent classes among five", np.array([[4, 0, 1, 0, 0], [0, 0, 0, 0, 0], [2, 0, 6, 0, 1],
                                                 [0, 0, 0, 0, 0], [0, 0, 1, 0, 3]], dtype=np.int64)),
    ("a class only predicted (IoU 0, not NaN) and one only in the truth (IoU 0)",
     np.array([[2, 1, 0], [0, 0, 0], [3, 0, 0]], dtype=np.int64)),
    ("every pixel ignored: the sum is 0, accuracy and every IoU NaN (SEG-5, SEG-6, SEG-7)",
     np.zeros((3, 3), dtype=np.int64)),
    ("a perfect prediction: accuracy 1, IoU 1", np.diag([3, 1, 4]).astype(np.int64)),
    ("one class", np.array([[7]], dtype=np.int64)),
    ("one class, no pixel", np.array([[0]], dtype=np.int64)),
    ("rows are truth, columns prediction (an asymmetric matrix)",
     np.array([[5, 3], [0, 2]], dtype=np.int64)),
    ("weighted counts: a float matrix (SEG-8)", np.array([[0.5, 0.25, 0.0], [0.125, 1.75, 0.0],
                                                        [0.0, 0.0, 0.0]])),
    ("a normalised matrix (entries summing to 1): small denominators",
     np.array([[0.02, 0.01, 0.0, 0.0], [0.0, 0.005, 0.0, 0.0], [0.01, 0.0, 0.9, 0.0],
               [0.0, 0.0, 0.0, 0.055]])),
]


def _crf_case(note: str, seed: int, c: int, h: int, w: int, k: int = 3, iterations: int = 5,
              scale: float = 2.0, image: np.ndarray | None = None, **params: Any) -> Case:
    rng = np.random.default_rng(seed)
    unary = rng.normal(0, scale, (c, h, w))
    img = rng.integers(0, 256, (k, h, w)).astype(np.float64) if image is None else image
    kw = {"theta_alpha": 3.0, "theta_beta": 13.0, "theta_gamma": 1.0, "w_appearance": 1.0,
          "w_smoothness": 1.0, **params}
    return Case("dense_crf", {"unary_logits": unary, "image": img}, {"iterations": iterations, **kw}, False, note)


def _corpus() -> dict[str, list[Case]]:
    t = [[0, 1, 1, 2], [2, 2, 0, 1], [1, 0, 2, 2]]
    p = [[0, 1, 0, 2], [2, 1, 0, 0], [1, 0, 2, 1]]
    labels = [
        _logits("ties go to the lowest class (SEG-1)", [[[1, 2], [0, 3]], [[1, 2], [3, 3]], [[0, 2], [3, 1]]]),
        _logits("+inf wins, ties of +inf go to the lowest class, an all -inf pixel gets 0 (SEG-1)",
                [[[_INF, -_INF, 0.0]], [[_INF, -_INF, _INF]], [[1.0, -_INF, _INF]]]),
        _logits("C = 1 gives all zeros", np.arange(6.0).reshape(1, 2, 3)),
        _logits("a batch (N, C, H, W) with H != W", np.random.default_rng(3).integers(-2, 3, (2, 3, 2, 4))),
        _logits("real logits", np.random.default_rng(4).standard_normal((2, 4, 3, 5))),
        _logits("empty batch (0, C, H, W)", np.zeros((0, 3, 2, 2))),
    ]
    confusion = [
        _cm_case("rows are truth, columns prediction", p, t, 3),
        _cm_case("ignore_index inside [0, C): its row is zero, its column still counts (SEG-4)", p, t, 3,
                 ignore_index=1),
        _cm_case("ignore_index 255 outside the classes (Pascal VOC) (SEG-4)",
                 p, [[0, 255, 1, 2], [2, 2, 255, 1], [1, 0, 255, 2]], 3, ignore_index=255),
        _cm_case("a negative ignore_index (SEG-4)", p, [[0, -1, 1, 2], [2, -1, 0, 1], [-1, 0, 2, 2]], 3,
                 ignore_index=-1),
        _cm_case("ignore_index never applies to pred (SEG-4)", [[1, 1, 1], [0, 2, 1]], [[0, 2, 1], [0, 2, 2]], 3,
                 ignore_index=1),
        _cm_case("classes absent from both prediction and truth", [[0, 3], [3, 0]], [[0, 3], [0, 0]], 5),
        _cm_case("a batch (N, H, W) is one set of pixels", [p, t], [t, t], 3),
        _cm_case("empty label maps give a zero matrix (SEG-2)", np.zeros((0, 3)), np.zeros((0, 3)), 4),
        _cm_case("every pixel ignored", p, [[7] * 4] * 3, 3, ignore_index=7),
    ]
    metrics = {op: [Case(op, {"cm": m}, {}, False, note) for note, m in _MATRICES]
               for op in ("pixel_accuracy", "per_class_iou", "mean_iou")}
    grey = np.full((1, 3, 4), 100.0)
    crf = [
        _crf_case("zero weights return the softmax of the unaries (CRF-3)", 1, 3, 3, 4, w_appearance=0.0,
                  w_smoothness=0.0),
        _crf_case("iterations = 0 returns the softmax (CRF-4)", 2, 2, 2, 3, iterations=0),
        _crf_case("a single pixel: the message excludes j = i (CRF-3)", 3, 3, 1, 1, w_appearance=5.0,
                  w_smoothness=3.0),
        _crf_case("a constant image: the appearance kernel is a second smoothness kernel (CRF-2)", 4, 2, 3, 4,
                  image=grey, w_appearance=2.0),
        _crf_case("large logits do not overflow (CRF-4)", 5, 3, 2, 3, scale=400.0),
        _crf_case("an RGB image, 3 classes, 5 iterations, H != W", 6, 3, 4, 3, w_appearance=3.0,
                  w_smoothness=1.0, theta_alpha=80.0),
        _crf_case("a grey image, one class", 7, 1, 2, 3, k=1),
    ]
    return {"segmentation_labels": labels, "confusion_matrix": confusion, **metrics, "dense_crf": crf}


CORPUS: dict[str, list[Case]] = _corpus()
