"""Semantic segmentation: labels, confusion matrix, metrics, dense CRF (spec/segmentation.md).

Clauses SEG-1 ... SEG-8 and CRF-1 ... CRF-5. The metric functions take a confusion
matrix (the one place where ``ignore_index`` acts); their ``_definitional`` forms take
the label maps and count pixel sets directly, so the two computations share only the
argument checks. :func:`dense_crf` computes the exact O(P**2) mean-field messages of
Krähenbühl & Koltun (2011) with matrix products; :func:`dense_crf_definitional` is the
same algorithm as plain loops over pixel pairs.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from ._errors import fail
from ._params import as_array, as_int
from .boxes import parse_variants

#: Named variants of the CRF clauses that the reference can recompute.
CRF_VARIANTS = {"include-self": "CRF-3: the message also sums the pixel itself (j = i)"}

#: Kernel entries the fast dense CRF keeps in memory at once (32 MiB of float64).
KERNEL_BUDGET = 1 << 22

_INT64_MAX = np.iinfo(np.int64).max


# --- labels (SEG-1) --------------------------------------------------------------------------------

def _logits(logits: Any) -> np.ndarray:
    x = as_array(logits, "logits")
    if x.ndim not in (3, 4):
        fail("logits", x, "SEG-1", f"must be (C, H, W) or (N, C, H, W), got {x.ndim}-D")
    if 0 in x.shape[-3:]:
        fail("logits", x, "SEG-1", f"C, H and W must be >= 1, got shape {x.shape}")
    if np.isnan(x).any():
        fail("logits", x, "SEG-1", "must not contain NaN")
    return x


def segmentation_labels(logits: Any) -> np.ndarray:
    """Per-pixel class: the argmax over the class axis, ties to the lowest class (SEG-1).

    Formula: ``labels[..., h, w] = min{c : logits[..., c, h, w] = max_c' logits[..., c', h, w]}``.
    Shapes: (C, H, W) -> (H, W), (N, C, H, W) -> (N, H, W), int64. ±inf are ordinary values.
    Raises SpecError (SEG-1) for another rank, a zero C/H/W or a NaN; SPEC-5 for the dtype.
    """
    return np.argmax(_logits(logits), axis=-3).astype(np.int64)


def segmentation_labels_definitional(logits: Any) -> np.ndarray:
    """:func:`segmentation_labels` as a loop over pixels keeping the first strict maximum."""
    x = _logits(logits)
    batch = x if x.ndim == 4 else x[None]
    n, c, h, w = batch.shape
    out = np.zeros((n, h, w), dtype=np.int64)
    for b in range(n):
        for i in range(h):
            for j in range(w):
                best = 0
                for k in range(1, c):
                    if batch[b, k, i, j] > batch[b, best, i, j]:
                        best = k
                out[b, i, j] = best
    return out if x.ndim == 4 else out[0]


# --- confusion matrix (SEG-2 ... SEG-4) ------------------------------------------------------------

def _label_map(x: Any, name: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype == np.bool_ or arr.dtype.kind not in "iu":
        fail(name, arr, "SEG-3", f"must have an integer dtype, got {arr.dtype}")
    if arr.dtype.kind == "u" and arr.size and int(arr.max()) > _INT64_MAX:
        fail(name, arr, "SEG-3", "has a value out of the class range")
    return arr.astype(np.int64, copy=False)


def _labels_checked(pred: Any, target: Any, num_classes: Any, ignore_index: Any
                    ) -> tuple[np.ndarray, np.ndarray, int, np.ndarray]:
    """(pred, target, C, counted mask), all validated per SEG-3 and SEG-4."""
    c = as_int(num_classes, "num_classes", "SEG-3", 1)
    ig = None if ignore_index is None else as_int(ignore_index, "ignore_index", "SEG-4")
    p = _label_map(pred, "pred")
    t = _label_map(target, "target")
    if p.shape != t.shape:
        fail("target", t, "SEG-3", f"must have the shape of pred {p.shape}, got {t.shape}")
    bad = (p < 0) | (p >= c)
    if bad.any():
        fail("pred", p, "SEG-3", f"value {int(p[bad].flat[0])} is outside [0, {c})")
    # An ignore_index outside int64 matches no pixel; comparing with it could overflow.
    counted = (t != ig) if ig is not None and abs(ig) <= _INT64_MAX else np.ones(t.shape, bool)
    bad = counted & ((t < 0) | (t >= c))
    if bad.any():
        fail("target", t, "SEG-3", f"value {int(t[bad].flat[0])} is outside [0, {c})"
             + ("" if ig is None else f" and is not ignore_index={ig}"))
    return p, t, c, counted


def confusion_matrix(pred: Any, target: Any, num_classes: Any, *, ignore_index: Any = None
                     ) -> np.ndarray:
    """Confusion matrix, rows = ground truth, columns = prediction (SEG-2, SEG-3, SEG-4).

    Formula: ``cm[t, p] = #{x : target[x] = t, pred[x] = p, target[x] != ignore_index}``.
    Shapes: pred and target of any one shape (integer dtype) -> (C, C) int64.
    Raises SpecError (SEG-3) for a bad ``num_classes``, dtype, shape mismatch or a label
    out of [0, C); (SEG-4) for a non-integer ``ignore_index``.
    """
    p, t, c, counted = _labels_checked(pred, target, num_classes, ignore_index)
    flat = t[counted] * c + p[counted]
    return np.bincount(flat, minlength=c * c).reshape(c, c).astype(np.int64)


def confusion_matrix_definitional(pred: Any, target: Any, num_classes: Any, *,
                                  ignore_index: Any = None) -> np.ndarray:
    """:func:`confusion_matrix` as a loop over pixels."""
    p, t, c, counted = _labels_checked(pred, target, num_classes, ignore_index)
    cm = np.zeros((c, c), dtype=np.int64)
    for pv, tv, ok in zip(p.ravel().tolist(), t.ravel().tolist(), counted.ravel().tolist(),
                          strict=True):
        if ok:
            cm[tv, pv] += 1
    return cm


# --- metrics (SEG-5 ... SEG-8) ----------------------------------------------------------------------

def _cm(cm: Any) -> np.ndarray:
    arr = as_array(cm, "cm")
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] < 1:
        fail("cm", arr, "SEG-8", f"must be a square (C, C) matrix with C >= 1, got {arr.shape}")
    if not np.isfinite(arr).all():
        fail("cm", arr, "SEG-8", "entries must be finite")
    if (arr < 0).any():
        fail("cm", arr, "SEG-8", "entries must be >= 0")
    return arr


def pixel_accuracy(cm: Any) -> np.float64:
    """Fraction of counted pixels predicted correctly: ``trace(cm) / sum(cm)`` (SEG-5).

    Takes a confusion matrix (SEG-8); NaN when it sums to 0 (every pixel ignored).
    Returns a float64 scalar. Raises SpecError (SEG-8) for a bad matrix.
    """
    a = _cm(cm)
    total = a.sum()
    return np.float64(np.nan) if total == 0 else np.float64(np.trace(a) / total)


def per_class_iou(cm: Any) -> np.ndarray:
    """Per-class IoU ``TP / (TP + FP + FN)`` from a confusion matrix (SEG-6, SEG-8).

    ``TP = cm[c, c]``, ``TP + FN`` = row sum, ``TP + FP`` = column sum. A class absent from
    both prediction and ground truth (zero denominator) gives NaN. Shape (C, C) -> (C,) float64.
    Raises SpecError (SEG-8) for a bad matrix.
    """
    a = _cm(cm)
    tp = np.diagonal(a)
    denom = a.sum(axis=1) + a.sum(axis=0) - tp
    out = np.full(tp.shape, np.nan)
    np.divide(tp, denom, out=out, where=denom > 0)
    return out


def mean_iou(cm: Any) -> np.float64:
    """Mean of the per-class IoUs that are not NaN; NaN if all are (SEG-7, SEG-8).

    Classes absent from both prediction and ground truth are skipped, not counted as 0.
    Returns a float64 scalar, without a warning when it is NaN.
    """
    v = per_class_iou(cm)
    v = v[~np.isnan(v)]
    return np.float64(np.nan) if v.size == 0 else np.float64(v.mean())


def pixel_accuracy_definitional(pred: Any, target: Any, num_classes: Any, *,
                                ignore_index: Any = None) -> float:
    """SEG-5 counted directly on the label maps: correct pixels / counted pixels."""
    p, t, _, counted = _labels_checked(pred, target, num_classes, ignore_index)
    n = correct = 0
    for pv, tv, ok in zip(p.ravel().tolist(), t.ravel().tolist(), counted.ravel().tolist(),
                          strict=True):
        if ok:
            n += 1
            correct += pv == tv
    return correct / n if n else math.nan


def per_class_iou_definitional(pred: Any, target: Any, num_classes: Any, *,
                               ignore_index: Any = None) -> np.ndarray:
    """SEG-6 on the label maps: |pred = c and target = c| / |pred = c or target = c|."""
    p, t, c, counted = _labels_checked(pred, target, num_classes, ignore_index)
    pixels = [(pv, tv) for pv, tv, ok in zip(p.ravel().tolist(), t.ravel().tolist(),
                                             counted.ravel().tolist(), strict=True) if ok]
    out = np.empty(c)
    for k in range(c):
        inter = sum(1 for pv, tv in pixels if pv == k and tv == k)
        union = sum(1 for pv, tv in pixels if pv == k or tv == k)
        out[k] = inter / union if union else math.nan
    return out


def mean_iou_definitional(pred: Any, target: Any, num_classes: Any, *,
                          ignore_index: Any = None) -> float:
    """SEG-7 on the label maps: the mean of the non-NaN values of the definitional per-class IoU."""
    vals = [v for v in per_class_iou_definitional(pred, target, num_classes,
                                                  ignore_index=ignore_index).tolist()
            if not math.isnan(v)]
    return sum(vals) / len(vals) if vals else math.nan


# --- dense CRF (CRF-1 ... CRF-5) --------------------------------------------------------------------

def _positive(value: Any, name: str, *, zero_ok: bool) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        fail(name, value, "CRF-5", "must be a real number")
    v = float(value)
    if not math.isfinite(v) or v < 0 or (v == 0 and not zero_ok):
        fail(name, value, "CRF-5", "must be finite and " + (">= 0" if zero_ok else "> 0"))
    return v


def _crf_args(unary_logits: Any, image: Any, iterations: Any, theta_alpha: Any, theta_beta: Any,
              theta_gamma: Any, w_appearance: Any, w_smoothness: Any
              ) -> tuple[np.ndarray, np.ndarray, int, tuple[float, ...]]:
    u = as_array(unary_logits, "unary_logits")
    if u.ndim != 3 or 0 in u.shape:
        fail("unary_logits", u, "CRF-5", f"must be (C, H, W) with C, H, W >= 1, got {u.shape}")
    if not np.isfinite(u).all():
        fail("unary_logits", u, "CRF-5", "must be finite")
    img = as_array(image, "image")
    if img.ndim != 3 or img.shape[0] < 1 or img.shape[1:] != u.shape[1:]:
        fail("image", img, "CRF-5", f"must be (K, H, W) = (K, {u.shape[1]}, {u.shape[2]}) with "
             f"K >= 1, got {img.shape}")
    if not np.isfinite(img).all():
        fail("image", img, "CRF-5", "must be finite")
    it = as_int(iterations, "iterations", "CRF-5", 0)
    params = (_positive(theta_alpha, "theta_alpha", zero_ok=False),
              _positive(theta_beta, "theta_beta", zero_ok=False),
              _positive(theta_gamma, "theta_gamma", zero_ok=False),
              _positive(w_appearance, "w_appearance", zero_ok=True),
              _positive(w_smoothness, "w_smoothness", zero_ok=True))
    return u, img, it, params


def _softmax0(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def _kernel_rows(rows: np.ndarray, pos: np.ndarray, feat: np.ndarray, params: tuple[float, ...],
                 include_self: bool) -> np.ndarray:
    """Rows ``rows`` of the P x P kernel of CRF-2, diagonal zeroed unless ``include_self``."""
    ta, tb, tg, wa, ws = params
    d2p = np.zeros((rows.size, pos.shape[0]))
    for k in range(pos.shape[1]):
        d2p += (pos[rows, k][:, None] - pos[None, :, k]) ** 2
    d2i = np.zeros_like(d2p)
    for k in range(feat.shape[1]):
        d2i += (feat[rows, k][:, None] - feat[None, :, k]) ** 2
    ker = wa * np.exp(-d2p / (2 * ta * ta) - d2i / (2 * tb * tb)) + ws * np.exp(-d2p / (2 * tg * tg))
    if not include_self:
        ker[np.arange(rows.size), rows] = 0.0
    return ker


def _dense_crf(u: np.ndarray, img: np.ndarray, iterations: int, params: tuple[float, ...],
               include_self: bool) -> np.ndarray:
    c, h, w = u.shape
    npx = h * w
    un = u.reshape(c, npx)
    rr, cc = np.divmod(np.arange(npx), w)
    pos = np.stack([rr, cc], axis=1).astype(np.float64)
    feat = img.reshape(img.shape[0], npx).T
    q = _softmax0(un)
    if iterations == 0:
        return q.reshape(c, h, w)
    step = max(1, KERNEL_BUDGET // npx)
    # Small images keep the whole kernel; larger ones recompute it in row blocks.
    full = _kernel_rows(np.arange(npx), pos, feat, params, include_self) if step >= npx else None
    for _ in range(iterations):
        if full is not None:
            msg = q @ full.T
        else:
            msg = np.empty_like(q)
            for a in range(0, npx, step):
                rows = np.arange(a, min(a + step, npx))
                msg[:, rows] = q @ _kernel_rows(rows, pos, feat, params, include_self).T
        # Potts: the penalty for label l is the message of every other label.
        pair = msg.sum(axis=0, keepdims=True) - msg
        q = _softmax0(un - pair)
    return q.reshape(c, h, w)


def dense_crf(unary_logits: Any, image: Any, *, iterations: Any = 5, theta_alpha: Any,
              theta_beta: Any, theta_gamma: Any, w_appearance: Any, w_smoothness: Any
              ) -> np.ndarray:
    """Fully connected CRF post-processing by exact mean-field inference (CRF-1 ... CRF-5).

    Model (CRF-1, CRF-2): unary energy ``-unary_logits``, Potts compatibility, kernel
    ``k(i, j) = w_appearance * exp(-|p_i - p_j|^2 / (2 theta_alpha^2) - |I_i - I_j|^2 /
    (2 theta_beta^2)) + w_smoothness * exp(-|p_i - p_j|^2 / (2 theta_gamma^2))`` with
    positions (row, col) in pixels and ``I_i = image[:, row, col]``.

    Inference (CRF-3): ``Q = softmax(unary)``; each iteration ``msg_i(l) = sum_{j != i}
    k(i, j) Q_j(l)``, ``Q_i(l) = softmax_l(unary_i(l) - sum_{l' != l} msg_i(l'))``.

    Shapes: unary_logits (C, H, W), image (K, H, W) -> probabilities (C, H, W) float64,
    each pixel summing to 1 (CRF-4). ``iterations=0`` returns the softmax of the unaries.
    Time O(iterations * C * P**2) with P = H * W; memory O(P**2) up to 2**22 kernel entries,
    beyond that the kernel is recomputed in row blocks each iteration (O(P) rows' worth).
    Raises SpecError (CRF-5) for bad shapes, non-finite values, ``iterations`` < 0 or
    non-int, a theta <= 0 or a weight < 0.
    """
    u, img, it, params = _crf_args(unary_logits, image, iterations, theta_alpha, theta_beta,
                                   theta_gamma, w_appearance, w_smoothness)
    return _dense_crf(u, img, it, params, include_self=False)


def _dense_crf_loops(u: np.ndarray, img: np.ndarray, iterations: int, params: tuple[float, ...],
                     include_self: bool) -> np.ndarray:
    ta, tb, tg, wa, ws = params
    c, h, w = u.shape
    pix = [(r, q) for r in range(h) for q in range(w)]
    unary = [[float(u[l, r, q]) for l in range(c)] for r, q in pix]
    feats = [[float(v) for v in img[:, r, q]] for r, q in pix]

    def softmax(z: list[float]) -> list[float]:
        m = max(z)
        e = [math.exp(v - m) for v in z]
        s = sum(e)
        return [v / s for v in e]

    def kernel(i: int, j: int) -> float:
        d2p = (pix[i][0] - pix[j][0]) ** 2 + (pix[i][1] - pix[j][1]) ** 2
        d2i = sum((a - b) ** 2 for a, b in zip(feats[i], feats[j], strict=True))
        return (wa * math.exp(-d2p / (2 * ta * ta) - d2i / (2 * tb * tb))
                + ws * math.exp(-d2p / (2 * tg * tg)))

    q = [softmax(z) for z in unary]
    for _ in range(iterations):
        new = []
        for i in range(len(pix)):
            msg = [0.0] * c
            for j in range(len(pix)):
                if j == i and not include_self:
                    continue
                k = kernel(i, j)
                for l in range(c):
                    msg[l] += k * q[j][l]
            pair = [sum(msg[m] for m in range(c) if m != l) for l in range(c)]
            new.append(softmax([unary[i][l] - pair[l] for l in range(c)]))
        q = new
    out = np.array(q, dtype=np.float64).T  # (C, P)
    return out.reshape(c, h, w)


def dense_crf_definitional(unary_logits: Any, image: Any, *, iterations: Any = 5, theta_alpha: Any,
                           theta_beta: Any, theta_gamma: Any, w_appearance: Any, w_smoothness: Any
                           ) -> np.ndarray:
    """:func:`dense_crf` as plain loops over pixel pairs and labels (for tiny images)."""
    u, img, it, params = _crf_args(unary_logits, image, iterations, theta_alpha, theta_beta,
                                   theta_gamma, w_appearance, w_smoothness)
    return _dense_crf_loops(u, img, it, params, include_self=False)


def dense_crf_variant(unary_logits: Any, image: Any, *, variant: Any, iterations: Any = 5,
                      theta_alpha: Any, theta_beta: Any, theta_gamma: Any, w_appearance: Any,
                      w_smoothness: Any, definitional: bool = False) -> np.ndarray:
    """:func:`dense_crf` under named variants of CRF-3 (``"include-self"``); ``()`` is the spec."""
    names = parse_variants(variant, CRF_VARIANTS, "CRF-3")
    u, img, it, params = _crf_args(unary_logits, image, iterations, theta_alpha, theta_beta,
                                   theta_gamma, w_appearance, w_smoothness)
    fn = _dense_crf_loops if definitional else _dense_crf
    return fn(u, img, it, params, include_self="include-self" in names)


__all__ = ["segmentation_labels", "segmentation_labels_definitional", "confusion_matrix",
           "confusion_matrix_definitional", "pixel_accuracy", "per_class_iou", "mean_iou",
           "pixel_accuracy_definitional", "per_class_iou_definitional", "mean_iou_definitional",
           "dense_crf", "dense_crf_definitional", "dense_crf_variant", "CRF_VARIANTS"]
