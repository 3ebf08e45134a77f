"""Tests of the segmentation clauses (SEG-1 ... SEG-8, CRF-1 ... CRF-5, spec/segmentation.md).

Metrics computed from the confusion matrix are checked against the ``_definitional``
forms, which count pixel sets on the label maps directly; the dense CRF against its
loop form, and against closed forms (zero weights, one pixel, a hand-computed two-pixel
image). Literal examples are computed by hand in the comments.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from spec_helpers import spec_error

import reference.segmentation as seg
from conformance.strategies.boxes import crf_cases, segmentation_cases, segmentation_logits
from reference.segmentation import (
    confusion_matrix,
    confusion_matrix_definitional,
    dense_crf,
    dense_crf_definitional,
    dense_crf_variant,
    mean_iou,
    mean_iou_definitional,
    per_class_iou,
    per_class_iou_definitional,
    pixel_accuracy,
    pixel_accuracy_definitional,
    segmentation_labels,
    segmentation_labels_definitional,
)

EPS = np.finfo(np.float64).eps




def softmax0(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def crf_tol(case, include_self: bool = False) -> float:
    """Bound on the difference of two float64 evaluations of CRF-3 that sum in different orders.

    One iteration rounds each message (a sum of P terms, each at most the largest kernel
    value) to within P * eps * S, with S = (w_a + w_s) * (pixels heard), and the local
    update adds a few eps: R below. The softmax has Jacobian norm <= 1/2 and the Potts
    penalty moves by at most (C - 1) * S per unit change of Q, so an earlier error grows by
    at most 1 + L per iteration, L = (C - 1) * S / 2.
    """
    c, h, w = case["unary_logits"].shape
    p = h * w
    s = (case["w_appearance"] + case["w_smoothness"]) * (p if include_self else p - 1)
    r = (p + c + 2) * EPS * (s + np.abs(case["unary_logits"]).max()) + 8 * c * EPS
    lip = (c - 1) * s / 2
    return r * sum((1 + lip) ** i for i in range(max(case["iterations"], 1)))


def metric_args(case):
    return case["pred"], case["target"], case["num_classes"]


def cm_of(case):
    return confusion_matrix(*metric_args(case), ignore_index=case["ignore_index"])


# --- SEG-1: labels ------------------------------------------------------------------------------------

@pytest.mark.clause("SEG-1")
def test_labels_are_the_argmax_with_ties_to_the_lowest_class():
    logits = np.array([[[1.0, 2.0, 0.0]],
                       [[3.0, 2.0, 0.0]],
                       [[3.0, -1.0, 0.0]]])  # (C=3, H=1, W=3)
    for fn in (segmentation_labels, segmentation_labels_definitional):
        got = fn(logits)
        assert got.dtype == np.int64 and got.shape == (1, 3)
        # pixel 0: 3 = 3 at classes 1, 2 -> 1; pixel 1: 2 = 2 at 0, 1 -> 0; pixel 2: all 0 -> 0.
        assert got.tolist() == [[1, 0, 0]]


@pytest.mark.clause("SEG-1")
def test_infinite_logits_are_ordinary_values():
    logits = np.array([[[-np.inf, np.inf, -np.inf]],
                       [[0.0, np.inf, -np.inf]]])
    for fn in (segmentation_labels, segmentation_labels_definitional):
        assert fn(logits).tolist() == [[1, 0, 0]]


@pytest.mark.clause("SEG-1", "SPEC-7")
@given(segmentation_logits())
def test_labels_equal_the_loop_form_and_drop_the_class_axis(logits):
    got = segmentation_labels(logits)
    assert got.shape == logits.shape[:-3] + logits.shape[-2:]
    assert np.array_equal(got, segmentation_labels_definitional(logits))
    c = logits.shape[-3]
    assert ((got >= 0) & (got < c)).all()
    # The label's logit is the maximum and no lower class reaches it.
    best = np.take_along_axis(logits, np.expand_dims(got, -3), axis=-3)
    assert (best == logits.max(axis=-3, keepdims=True)).all()
    lower = np.arange(c).reshape((c, 1, 1)) < np.expand_dims(got, -3)
    assert not (lower & (logits == best)).any()


@pytest.mark.clause("SEG-1")
@pytest.mark.parametrize("bad", [np.zeros((2, 3)), np.zeros((1, 2, 2, 2, 2)), np.zeros((0, 2, 2)),
                                 np.zeros((2, 0, 2)), np.zeros((1, 2, 2, 0))], ids=str)
def test_logits_of_a_bad_shape_raise(bad):
    with spec_error("SEG-1", "logits"):
        segmentation_labels(bad)


@pytest.mark.clause("SEG-1")
def test_nan_logits_raise():
    x = np.zeros((2, 2, 2))
    x[1, 0, 1] = np.nan
    for fn in (segmentation_labels, segmentation_labels_definitional):
        with spec_error("SEG-1", "logits"):
            fn(x)


# --- SEG-2 ... SEG-4: confusion matrix ----------------------------------------------------------------

@pytest.mark.clause("SEG-2", "SEG-4")
def test_confusion_matrix_matches_a_hand_count():
    target = np.array([[0, 0, 1], [2, 255, 1]])
    pred = np.array([[0, 1, 1], [1, 2, 2]])
    # (t, p) pairs: (0,0) (0,1) (1,1) (2,1) [ignored (255,2)] (1,2)
    want = [[1, 1, 0],
            [0, 1, 1],
            [0, 1, 0]]
    for fn in (confusion_matrix, confusion_matrix_definitional):
        cm = fn(pred, target, 3, ignore_index=255)
        assert cm.dtype == np.int64 and cm.tolist() == want


@pytest.mark.clause("SEG-2", "SEG-4")
@given(segmentation_cases())
def test_confusion_matrix_equals_the_pixel_loop_and_counts_every_pixel_not_ignored(case):
    cm = cm_of(case)
    assert cm.shape == (case["num_classes"],) * 2
    assert np.array_equal(cm, confusion_matrix_definitional(*metric_args(case),
                                                            ignore_index=case["ignore_index"]))
    ig = case["ignore_index"]
    counted = case["target"].size if ig is None else int((case["target"] != ig).sum())
    assert cm.sum() == counted


@pytest.mark.clause("SEG-2")
def test_empty_label_maps_give_a_zero_matrix():
    e = np.zeros((0, 3), dtype=np.int64)
    assert confusion_matrix(e, e, 2).tolist() == [[0, 0], [0, 0]]


@pytest.mark.clause("SEG-3")
@pytest.mark.parametrize("param, pred, target", [
    ("pred", np.zeros((2, 2)), np.zeros((2, 2), int)),
    ("target", np.zeros((2, 2), int), np.zeros((2, 2), bool)),
    ("target", np.zeros((2, 2), int), np.zeros((2, 3), int)),
    ("pred", np.array([0, 3]), np.array([0, 1])),
    ("pred", np.array([-1, 0]), np.array([0, 1])),
    ("target", np.array([0, 1]), np.array([0, 3])),
    ("target", np.array([0, 1]), np.array([-1, 0])),
    ("target", np.array([0, 1]), np.array([0, 2**64 - 1], dtype=np.uint64)),
])
def test_bad_label_maps_raise(param, pred, target):
    for fn in (confusion_matrix, confusion_matrix_definitional, per_class_iou_definitional):
        with spec_error("SEG-3", param):
            fn(pred, target, 3)


@pytest.mark.clause("SEG-3")
@pytest.mark.parametrize("bad", [0, -1, 2.0, True, None])
def test_bad_numbers_of_classes_raise(bad):
    with spec_error("SEG-3", "num_classes"):
        confusion_matrix(np.zeros(2, int), np.zeros(2, int), bad)


@pytest.mark.clause("SEG-4")
def test_ignore_index_applies_to_target_only_and_may_be_a_class():
    target = np.array([0, 1, 1, 2])
    pred = np.array([1, 1, 0, 1])
    # ignore_index = 1 drops pixels 1 and 2; pixel 3 (target 2) predicted as 1 still counts.
    cm = confusion_matrix(pred, target, 3, ignore_index=1)
    assert cm.tolist() == [[0, 1, 0], [0, 0, 0], [0, 1, 0]]
    # Negative ignore values work; a prediction is never ignored, even at ignored pixels.
    assert confusion_matrix(pred, np.array([0, -1, 1, 2]), 3, ignore_index=-1).sum() == 3
    with spec_error("SEG-3", "pred"):
        confusion_matrix(np.array([0, 255]), np.array([0, 255]), 3, ignore_index=255)
    # An ignore_index beyond int64 matches nothing.
    assert confusion_matrix(pred, target, 3, ignore_index=2**70).sum() == 4


@pytest.mark.clause("SEG-4")
@pytest.mark.parametrize("bad", [1.0, True, "255", np.array([1])])
def test_non_integer_ignore_index_raises(bad):
    with spec_error("SEG-4", "ignore_index"):
        confusion_matrix(np.zeros(2, int), np.zeros(2, int), 2, ignore_index=bad)


# --- SEG-5 ... SEG-8: metrics -------------------------------------------------------------------------

@pytest.mark.clause("SEG-5", "SEG-6", "SEG-7")
def test_metrics_match_hand_computed_values():
    cm = np.array([[3, 1, 0, 0],
                   [2, 4, 0, 0],
                   [0, 0, 0, 1],
                   [0, 0, 0, 0]])
    # accuracy (3 + 4 + 0) / 11; IoU_0 = 3 / (4 + 5 - 3), IoU_1 = 4 / (6 + 5 - 4),
    # IoU_2 = 0 / (1 + 0 - 0) (in the ground truth, never predicted: 0, not NaN),
    # IoU_3 = 0 / (0 + 1 - 0) (predicted, not in the ground truth: 0); nothing is NaN.
    assert pixel_accuracy(cm) == 7 / 11
    assert np.array_equal(per_class_iou(cm), [3 / 6, 4 / 7, 0.0, 0.0])
    assert mean_iou(cm) == pytest.approx((3 / 6 + 4 / 7) / 4, rel=2 * EPS)
    # A class absent from both is NaN and skipped by the mean.
    cm2 = np.array([[3, 1, 0], [2, 4, 0], [0, 0, 0]])
    assert np.array_equal(per_class_iou(cm2), [3 / 6, 4 / 7, np.nan], equal_nan=True)
    assert mean_iou(cm2) == pytest.approx((3 / 6 + 4 / 7) / 2, rel=2 * EPS)


@pytest.mark.clause("SEG-5", "SEG-7")
def test_an_all_ignored_image_gives_nan_without_warnings():
    cm = confusion_matrix(np.array([0, 1]), np.array([255, 255]), 2, ignore_index=255)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            assert math.isnan(pixel_accuracy(cm))
            assert np.isnan(per_class_iou(cm)).all()
            assert math.isnan(mean_iou(cm))
    assert math.isnan(pixel_accuracy_definitional(np.array([0, 1]), np.array([255, 255]), 2,
                                                  ignore_index=255))


@pytest.mark.clause("SEG-5", "SEG-6", "SEG-7")
@given(segmentation_cases())
def test_metrics_of_the_confusion_matrix_equal_pixel_counts_on_the_label_maps(case):
    args, ig = metric_args(case), case["ignore_index"]
    cm = cm_of(case)
    acc, want_acc = pixel_accuracy(cm), pixel_accuracy_definitional(*args, ignore_index=ig)
    assert acc == want_acc or (math.isnan(acc) and math.isnan(want_acc))
    assert np.array_equal(per_class_iou(cm), per_class_iou_definitional(*args, ignore_index=ig),
                          equal_nan=True)
    got, want = mean_iou(cm), mean_iou_definitional(*args, ignore_index=ig)
    # Summation order may differ (NumPy's mean, Python's sum): at most C - 1 roundings.
    assert (math.isnan(got) and math.isnan(want)) or abs(got - want) <= case["num_classes"] * EPS


@pytest.mark.clause("SEG-6", "SEG-7", "SEG-5")
@given(segmentation_cases(), st.data())
def test_metrics_are_invariant_to_relabelling_the_classes(case, data):
    c, ig = case["num_classes"], case["ignore_index"]
    perm = np.array(data.draw(st.permutations(range(c))), dtype=np.int64)
    pred = perm[case["pred"]]
    target = case["target"]
    if ig is None:
        target2, ig2 = perm[target], None
    elif 0 <= ig < c:
        # An in-range ignore_index names a class: it is relabelled with the others.
        target2, ig2 = perm[target], int(perm[ig])
    else:
        target2, ig2 = np.where(target == ig, ig, perm[np.clip(target, 0, c - 1)]), ig
    cm, cm2 = cm_of(case), confusion_matrix(pred, target2, c, ignore_index=ig2)
    assert np.array_equal(cm2[np.ix_(perm, perm)], cm)
    iou, iou2 = per_class_iou(cm), per_class_iou(cm2)
    assert np.array_equal(iou2[perm], iou, equal_nan=True)
    a, a2 = pixel_accuracy(cm), pixel_accuracy(cm2)
    assert a == a2 or (math.isnan(a) and math.isnan(a2))
    m, m2 = mean_iou(cm), mean_iou(cm2)
    # The same values averaged in another order: at most C - 1 roundings apart.
    assert (math.isnan(m) and math.isnan(m2)) or abs(m - m2) <= c * EPS


@pytest.mark.clause("SEG-6")
@given(segmentation_cases())
def test_per_class_iou_is_nan_exactly_for_classes_absent_from_both_maps(case):
    iou = per_class_iou(cm_of(case))
    ig = case["ignore_index"]
    counted = np.ones(case["target"].shape, bool) if ig is None else case["target"] != ig
    present = set(case["pred"][counted].tolist()) | set(case["target"][counted].tolist())
    assert [not math.isnan(v) for v in iou] == [k in present for k in range(case["num_classes"])]
    assert ((iou[~np.isnan(iou)] >= 0) & (iou[~np.isnan(iou)] <= 1)).all()


@pytest.mark.clause("SEG-8")
@pytest.mark.parametrize("bad", [np.zeros((2, 3)), np.zeros(3), np.zeros((0, 0)),
                                 np.array([[1.0, -1.0], [0.0, 1.0]]),
                                 np.array([[1.0, np.nan], [0.0, 1.0]]),
                                 np.array([[1.0, np.inf], [0.0, 1.0]])], ids=str)
def test_bad_confusion_matrices_raise(bad):
    for fn in (pixel_accuracy, per_class_iou, mean_iou):
        with spec_error("SEG-8", "cm"):
            fn(bad)


@pytest.mark.clause("SEG-8")
def test_weighted_confusion_matrices_are_accepted():
    cm = np.array([[1.5, 0.5], [0.0, 2.0]])
    assert pixel_accuracy(cm) == 3.5 / 4.0
    assert per_class_iou(cm).tolist() == [1.5 / 2.0, 2.0 / 2.5]


# --- CRF ----------------------------------------------------------------------------------------------

PARAMS = dict(theta_alpha=3.0, theta_beta=10.0, theta_gamma=1.0)


@pytest.mark.clause("CRF-2", "CRF-3")
def test_two_pixel_crf_matches_a_hand_computation():
    u = np.array([[[1.0, 0.0]], [[0.0, 0.0]]])  # (C=2, H=1, W=2)
    img = np.zeros((1, 1, 2))
    k = math.exp(-1 / 2)  # smoothness kernel at distance 1, theta_gamma = 1
    q0 = [1 / (1 + math.exp(-1)), 1 / (1 + math.exp(1))]  # softmax(1, 0)
    # Pixel 0 hears pixel 1's uniform Q: both labels get the same penalty 0.5 k: unchanged.
    # Pixel 1 hears pixel 0: penalty(l) = k * q0[other label], so its logit gap is
    # k * (q0[0] - q0[1]) in favour of label 0.
    gap = k * (q0[0] - q0[1])
    want = np.array([[[q0[0], 1 / (1 + math.exp(-gap))]], [[q0[1], 1 / (1 + math.exp(gap))]]])
    for fn in (dense_crf, dense_crf_definitional):
        got = fn(u, img, iterations=1, w_appearance=0.0, w_smoothness=1.0, **PARAMS)
        np.testing.assert_allclose(got, want, rtol=0, atol=4 * EPS)


@pytest.mark.clause("CRF-3", "CRF-4")
@given(crf_cases())
def test_fast_dense_crf_equals_its_loop_form(case):
    got = dense_crf(**case)
    want = dense_crf_definitional(**case)
    # Same algorithm, different summation order (BLAS against a Python loop).
    np.testing.assert_allclose(got, want, rtol=0, atol=crf_tol(case))


@pytest.mark.clause("CRF-3")
@given(crf_cases())
def test_one_crf_iteration_equals_the_loop_form_to_rounding(case):
    case = dict(case, iterations=1)
    np.testing.assert_allclose(dense_crf(**case), dense_crf_definitional(**case), rtol=0,
                               atol=crf_tol(case))


@pytest.mark.clause("CRF-3", "CRF-4")
@given(crf_cases())
def test_zero_pairwise_weights_return_the_softmax_of_the_unaries(case):
    case = dict(case, w_appearance=0.0, w_smoothness=0.0, iterations=case["iterations"] + 1)
    want = softmax0(case["unary_logits"])
    assert np.array_equal(dense_crf(**case), want)
    assert np.array_equal(dense_crf(**dict(case, iterations=0)), want)
    np.testing.assert_allclose(dense_crf_definitional(**case), want, rtol=0, atol=4 * EPS)


@pytest.mark.clause("CRF-3")
@given(crf_cases(max_side=1))
def test_a_single_pixel_hears_no_message_because_the_sum_excludes_itself(case):
    case = dict(case, w_appearance=5.0, w_smoothness=5.0, iterations=2)
    want = softmax0(case["unary_logits"])
    assert np.array_equal(dense_crf(**case), want)
    # The include-self variant sends the pixel its own message, which changes the result
    # unless its distribution is uniform.
    u = np.array([[[2.0]], [[0.0]]])
    one = dict(case, unary_logits=u, image=np.zeros((1, 1, 1)))
    assert np.array_equal(dense_crf_variant(**one, variant=()), softmax0(u))
    for definitional in (False, True):
        # Self-message 10 * Q: the Potts penalty of label 1 grows, label 0 gains.
        got = dense_crf_variant(**one, variant="include-self", definitional=definitional)
        assert got[0, 0, 0] > softmax0(u)[0, 0, 0] + 0.1


@pytest.mark.clause("CRF-3")
@given(crf_cases())
def test_include_self_variant_fast_and_loop_forms_agree(case):
    got = dense_crf_variant(**case, variant="include-self")
    want = dense_crf_variant(**case, variant="include-self", definitional=True)
    np.testing.assert_allclose(got, want, rtol=0, atol=crf_tol(case, include_self=True))


@pytest.mark.clause("CRF-4")
@given(crf_cases())
def test_every_pixel_of_the_crf_output_is_a_probability_distribution(case):
    q = dense_crf(**case)
    assert q.shape == case["unary_logits"].shape and q.dtype == np.float64
    assert (q >= 0).all()
    np.testing.assert_allclose(q.sum(axis=0), 1.0, rtol=0, atol=4 * q.shape[0] * EPS)


@pytest.mark.clause("CRF-1")
@given(crf_cases(), st.floats(-50, 50), st.integers(0, 2**32 - 1))
def test_unaries_are_logits_so_a_shift_per_pixel_changes_nothing(case, shift, seed):
    u = case["unary_logits"]
    per_pixel = shift * np.random.default_rng(seed).random(u.shape[1:])
    shifted = dict(case, unary_logits=u + per_pixel)
    # Only the rounding of the shifted logits differs; crf_tol bounds its effect.
    np.testing.assert_allclose(dense_crf(**shifted), dense_crf(**case), rtol=0,
                               atol=crf_tol(shifted))


@pytest.mark.clause("CRF-1", "CRF-2")
def test_potts_smoothing_pulls_a_weak_pixel_to_its_neighbours_label():
    # 3 x 3 constant image, every pixel strongly class 0 except the centre, weakly class 1.
    u = np.zeros((2, 3, 3))
    u[0] = 3.0
    u[:, 1, 1] = [0.0, 0.5]
    img = np.zeros((1, 3, 3))
    before = dense_crf(u, img, iterations=0, w_appearance=0.0, w_smoothness=3.0, **PARAMS)
    after = dense_crf(u, img, iterations=3, w_appearance=0.0, w_smoothness=3.0, **PARAMS)
    assert segmentation_labels(before)[1, 1] == 1
    assert segmentation_labels(after)[1, 1] == 0
    # An image edge between the centre and its neighbours cuts the appearance kernel.
    edge = img.copy()
    edge[0, 1, 1] = 255.0
    app = dict(PARAMS, theta_gamma=1.0)
    flat = dense_crf(u, img, iterations=3, w_appearance=3.0, w_smoothness=0.0, **app)
    cut = dense_crf(u, edge, iterations=3, w_appearance=3.0, w_smoothness=0.0, **app)
    assert segmentation_labels(flat)[1, 1] == 0 and segmentation_labels(cut)[1, 1] == 1


@pytest.mark.clause("CRF-2")
@given(crf_cases(), st.sampled_from([1.0, 2.0, 5.0]))
def test_appearance_kernel_on_a_constant_image_is_a_smoothness_kernel(case, theta):
    img = np.full_like(case["image"], 7.0)
    w = case["w_appearance"] + case["w_smoothness"]
    a = dense_crf(**dict(case, image=img, theta_alpha=theta, w_appearance=w, w_smoothness=0.0))
    b = dense_crf(**dict(case, image=img, theta_gamma=theta, w_appearance=0.0, w_smoothness=w))
    assert np.array_equal(a, b)


@pytest.mark.clause("CRF-5")
def test_large_images_use_the_row_blocked_kernel_with_the_same_result(monkeypatch):
    rng = np.random.default_rng(0)
    u, img = rng.normal(size=(3, 6, 7)), rng.uniform(0, 255, (3, 6, 7))
    kw = dict(iterations=2, theta_alpha=5.0, theta_beta=20.0, theta_gamma=2.0,
              w_appearance=4.0, w_smoothness=2.0)
    whole = dense_crf(u, img, **kw)
    monkeypatch.setattr(seg, "KERNEL_BUDGET", 100)  # 42 pixels: blocks of 2 rows
    np.testing.assert_allclose(dense_crf(u, img, **kw), whole, rtol=0,
                               atol=crf_tol(dict(kw, unary_logits=u)))


@pytest.mark.clause("CRF-5")
@pytest.mark.parametrize("param, value", [
    ("unary_logits", np.zeros((2, 3))), ("unary_logits", np.zeros((0, 2, 2))),
    ("unary_logits", np.full((2, 2, 2), np.nan)), ("unary_logits", np.full((2, 2, 2), np.inf)),
    ("image", np.zeros((1, 2, 3))), ("image", np.zeros((2, 2))), ("image", np.zeros((0, 2, 2))),
    ("image", np.full((1, 2, 2), np.nan)),
    ("iterations", -1), ("iterations", 1.0), ("iterations", True),
    ("theta_alpha", 0.0), ("theta_beta", -1.0), ("theta_gamma", np.inf), ("theta_alpha", np.nan),
    ("w_appearance", -0.1), ("w_smoothness", np.nan), ("w_smoothness", np.inf),
    ("w_appearance", True), ("theta_gamma", "3")])
def test_bad_crf_arguments_raise(param, value):
    kw = dict(unary_logits=np.zeros((2, 2, 2)), image=np.zeros((1, 2, 2)), iterations=1,
              theta_alpha=1.0, theta_beta=1.0, theta_gamma=1.0, w_appearance=1.0, w_smoothness=1.0)
    kw[param] = value
    for fn in (dense_crf, dense_crf_definitional):
        with spec_error("CRF-5", param):
            fn(**kw)


@pytest.mark.clause("CRF-3")
def test_unknown_crf_variants_raise():
    with spec_error("CRF-3", "variant"):
        dense_crf_variant(np.zeros((1, 1, 1)), np.zeros((1, 1, 1)), variant="permutohedral",
                          theta_alpha=1.0, theta_beta=1.0, theta_gamma=1.0, w_appearance=1.0,
                          w_smoothness=1.0)
