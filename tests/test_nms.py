"""Tests of the NMS clauses (NMS-1 ... NMS-11, NMS-BATCH-*, NMS-SOFT-*, spec/nms.md).

The laws of NMS-4 are checked against IoUs from ``box_iou_definitional`` (plain loops),
the fast blocked NMS against the loop of NMS-3 bit for bit (also with tiny blocks and
pair budgets so that every code path of the blocked form runs on small cases), and the
literal examples are computed by hand in the comments.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from spec_helpers import spec_error

from conformance.strategies.boxes import batched_nms_cases, box_arrays, nms_cases, scores, soft_nms_cases
from reference.boxes import box_convert, box_iou_definitional, box_iou_variant
from reference.nms import (
    NMS_VARIANTS,
    Rules,
    _batched,
    _nms,
    _soft_nms,
    batched_nms,
    batched_nms_definitional,
    batched_nms_variant,
    nms,
    nms_definitional,
    nms_variant,
    soft_nms,
    soft_nms_definitional,
    soft_nms_variant,
)

HARD_VARIANTS = [v for v in NMS_VARIANTS if v != "tf-half-sigma"]
SOFT_VARIANTS = [v for v in NMS_VARIANTS if v != "nan-scores-dropped"]




def B(*rows) -> np.ndarray:
    return np.array(rows, dtype=np.float64).reshape(len(rows), 4)


def call(fn, case, **over):
    """``fn`` on a case dict of conformance.strategies.boxes (nms or batched_nms style)."""
    kw = {**case, **over}
    head = [kw.pop("boxes"), kw.pop("scores")]
    if "classes" in kw:
        head.append(kw.pop("classes"))
    return fn(*head, kw.pop("iou_threshold"), **kw)


def rank(scores: np.ndarray) -> np.ndarray:
    """rank[i] = position of i in NMS-2 order, computed with a Python sort."""
    order = sorted(range(scores.size), key=lambda i: (-scores[i], i))
    r = np.empty(scores.size, dtype=np.int64)
    r[order] = np.arange(scores.size)
    return r


def candidates(case) -> np.ndarray:
    s, thr = case["scores"], case["score_threshold"]
    return np.arange(s.size) if thr is None else np.flatnonzero(s > thr)


# --- literal examples ---------------------------------------------------------------------------------

@pytest.mark.clause("NMS-3", "NMS-4")
def test_nms_keeps_the_best_box_and_drops_its_overlaps():
    b = B([0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [0, 0, 10, 5])
    s = np.array([0.9, 0.8, 0.7, 0.95])
    # Order 3, 0, 1, 2. IoU(3, 0) = 50/100 = 0.5, not > 0.5: 0 stays. IoU(3, 1) =
    # 36/(50 + 100 - 36) = 0.32: 1 stays, but IoU(0, 1) = 81/119 = 0.68: 1 goes.
    # Box 2 is disjoint from all. At t = 0.49, 3 suppresses 0, and 1 survives.
    for fn in (nms, nms_definitional):
        got = fn(b, s, 0.5)
        assert got.dtype == np.int64 and got.tolist() == [3, 0, 2]
        assert fn(b, s, 0.49).tolist() == [3, 1, 2]


@pytest.mark.clause("NMS-3")
def test_only_kept_boxes_suppress_so_a_chain_keeps_its_ends():
    # A = [0, 4], B = [2, 6], C = [4, 8] on x, height 1: IoU(A, B) = IoU(B, C) = 2/6,
    # IoU(A, C) = 0. At t = 0.3, A suppresses B, and C survives because B is gone.
    b = B([0, 0, 4, 1], [2, 0, 6, 1], [4, 0, 8, 1])
    s = np.array([0.9, 0.8, 0.7])
    for fn in (nms, nms_definitional):
        assert fn(b, s, 0.3).tolist() == [0, 2]


@pytest.mark.clause("NMS-2")
def test_equal_scores_keep_the_lower_index():
    b = B([0, 0, 2, 2], [0, 0, 2, 2], [5, 5, 6, 6], [5, 5, 6, 6])
    s = np.array([0.5, 0.5, 0.5, 0.5])
    for fn in (nms, nms_definitional):
        assert fn(b, s, 0.5).tolist() == [0, 2]
    # -0.0 and 0.0 tie.
    assert nms(b[:2], np.array([-0.0, 0.0]), 0.5).tolist() == [0]
    assert nms(b[:2], np.array([0.0, -0.0]), 0.5).tolist() == [0]


@pytest.mark.clause("NMS-2")
def test_no_tie_rule_variant_orders_equal_scores_by_descending_index():
    b = B([0, 0, 2, 2], [0, 0, 2, 2], [5, 5, 6, 6], [5, 5, 6, 6])
    s = np.array([0.5, 0.5, 0.5, 0.5])
    for definitional in (False, True):
        assert nms_variant(b, s, 0.5, variant="no-tie-rule",
                           definitional=definitional).tolist() == [3, 1]


@pytest.mark.clause("NMS-2", "NMS-10")
def test_infinite_scores_are_ordered_like_any_other():
    b = B([0, 0, 1, 1], [2, 0, 3, 1], [4, 0, 5, 1])
    s = np.array([-np.inf, np.inf, 0.0])
    for fn in (nms, nms_definitional):
        assert fn(b, s, 0.5).tolist() == [1, 2, 0]
        assert fn(b, s, 0.5, score_threshold=-np.inf).tolist() == [1, 2]


@pytest.mark.clause("NMS-3")
def test_an_iou_equal_to_the_threshold_does_not_suppress():
    b = B([0, 0, 3, 1], [1, 0, 4, 1])  # inter 2, union 4: IoU exactly 0.5
    s = np.array([0.9, 0.8])
    for fn in (nms, nms_definitional):
        assert fn(b, s, 0.5).tolist() == [0, 1]
    for definitional in (False, True):
        assert nms_variant(b, s, 0.5, variant="suppress-on-equal",
                           definitional=definitional).tolist() == [0]


@pytest.mark.clause("NMS-3", "BOX-4")
def test_plus_one_pixel_variant_changes_the_iou_nms_uses():
    b = B([0, 0, 1, 1], [1, 0, 2, 1])  # touching: IoU 0; with +1 pixels IoU 1/3
    s = np.array([0.9, 0.8])
    assert nms(b, s, 0.3).tolist() == [0, 1]
    assert nms_variant(b, s, 0.3, variant="plus-one-pixel").tolist() == [0]
    assert nms_variant(b, s, 0.3, variant="plus-one-pixel", definitional=True).tolist() == [0]


@pytest.mark.clause("NMS-5")
def test_score_threshold_keeps_strictly_greater_scores_and_dropped_boxes_suppress_nothing():
    b = B([0, 0, 2, 2], [0, 0, 2, 2], [0, 0, 2, 2])
    s = np.array([0.3, 0.5, 0.3])
    for fn in (nms, nms_definitional):
        assert fn(b, s, 0.5, score_threshold=0.3).tolist() == [1]
        assert fn(b, s, 0.5, score_threshold=0.29).tolist() == [1]
        assert fn(B([0, 0, 2, 2], [5, 5, 6, 6]), np.array([0.5, 0.2]), 0.5,
                  score_threshold=0.2).tolist() == [0]
    for definitional in (False, True):
        got = nms_variant(B([0, 0, 2, 2], [5, 5, 6, 6]), np.array([0.5, 0.2]), 0.5,
                          variant="score-threshold-inclusive", score_threshold=0.2,
                          definitional=definitional)
        assert got.tolist() == [0, 1]


@pytest.mark.clause("NMS-5")
def test_a_dropped_high_box_does_not_suppress_lower_ones():
    b = B([0, 0, 2, 2], [0, 0, 2, 2])
    s = np.array([1.0, 0.5])
    # Without threshold box 0 suppresses box 1; with +inf nothing is a candidate.
    assert nms(b, s, 0.5, score_threshold=np.inf).tolist() == []
    assert nms(b, s, 0.5, score_threshold=0.4).tolist() == [0]


@pytest.mark.clause("NMS-8")
def test_threshold_zero_suppresses_positive_overlaps_but_not_touching_boxes():
    b = B([0, 0, 2, 2], [2, 0, 4, 2], [1.75, 1.75, 3, 3], [10, 10, 11, 11])
    s = np.array([0.9, 0.8, 0.7, 0.6])
    # Box 1 touches 0 (IoU 0); box 2 overlaps 0 by 0.25 x 0.25 > 0: suppressed.
    for fn in (nms, nms_definitional):
        assert fn(b, s, 0.0).tolist() == [0, 1, 3]
    assert nms_variant(b, s, 0.0, variant="suppress-on-equal").tolist() == [0]
    assert nms_variant(b, s, 0.0, variant="suppress-on-equal", definitional=True).tolist() == [0]


@pytest.mark.clause("NMS-8")
@given(nms_cases())
def test_threshold_one_keeps_every_candidate_in_rank_order(case):
    got = call(nms, case, iou_threshold=1.0, max_output=None)
    cand = candidates(case)
    assert got.tolist() == sorted(cand.tolist(), key=lambda i: (-case["scores"][i], i))
    assert np.array_equal(got, call(nms_definitional, case, iou_threshold=1.0, max_output=None))


@pytest.mark.clause("NMS-8")
def test_threshold_one_with_suppress_on_equal_drops_identical_boxes():
    b = B([0, 0, 2, 2], [0, 0, 2, 2], [0, 0, 0, 0], [0, 0, 0, 0])
    s = np.array([0.9, 0.8, 0.7, 0.6])
    assert nms(b, s, 1.0).tolist() == [0, 1, 2, 3]
    # Identical zero-area boxes have IoU 0 (IOU-3), not 1: they survive even here.
    assert nms_variant(b, s, 1.0, variant="suppress-on-equal").tolist() == [0, 2, 3]


@pytest.mark.clause("NMS-9")
def test_zero_area_boxes_are_kept_and_suppress_nothing():
    b = B([0, 0, 4, 4], [1, 1, 1, 1], [1, 1, 1, 1], [0, 2, 4, 2], [0, 0, 4, 4])
    s = np.array([0.5, 0.9, 0.8, 0.7, 0.4])
    for fn in (nms, nms_definitional):
        assert fn(b, s, 0.0).tolist() == [1, 2, 3, 0]


@pytest.mark.clause("NMS-9")
@given(box_arrays((0, 10), degenerate=True), st.data())
def test_every_zero_area_candidate_is_kept(b, data):
    s = data.draw(scores(b.shape[0]))
    t = data.draw(st.sampled_from([0.0, 0.3, 0.5, 1.0]))
    keep = set(nms(b, s, t).tolist())
    zero = np.flatnonzero((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) == 0)
    assert set(zero.tolist()) <= keep


@pytest.mark.clause("NMS-1", "NMS-6")
def test_empty_input_and_zero_max_output_give_empty_int64_arrays():
    for fn in (nms, nms_definitional):
        got = fn(np.zeros((0, 4)), np.zeros(0), 0.5)
        assert got.dtype == np.int64 and got.shape == (0,)
        got = fn(B([0, 0, 1, 1]), np.ones(1), 0.5, max_output=0)
        assert got.dtype == np.int64 and got.shape == (0,)


@pytest.mark.clause("NMS-1", "SPEC-4")
def test_nms_accepts_integer_and_read_only_inputs_without_mutating_them():
    b = np.array([[0, 0, 10, 10], [1, 1, 11, 11]], dtype=np.int16)
    s = np.array([1, 2], dtype=np.uint8)
    for x in (b, s):
        x.setflags(write=False)
    assert nms(b, s, 0.5).tolist() == [1]
    assert b.dtype == np.int16 and b[1, 2] == 11 and s.tolist() == [1, 2]


# --- properties of NMS-4 ------------------------------------------------------------------------------

@pytest.mark.clause("NMS-4", "NMS-2")
@given(nms_cases(fmt=None))
def test_nms_keeps_a_subset_of_candidates_sorted_by_rank(case):
    keep = call(nms, case)
    assert keep.dtype == np.int64 and keep.ndim == 1
    assert len(set(keep.tolist())) == keep.size
    assert set(keep.tolist()) <= set(candidates(case).tolist())
    r = rank(case["scores"])
    assert (np.diff(r[keep]) > 0).all()


@pytest.mark.clause("NMS-4", "NMS-3")
@given(nms_cases(fmt=None))
def test_no_two_kept_boxes_overlap_above_the_threshold(case):
    keep = call(nms, case)
    iou = box_iou_definitional(case["boxes"], case["boxes"], fmt=case["fmt"])[np.ix_(keep, keep)]
    np.fill_diagonal(iou, 0.0)
    assert (iou <= case["iou_threshold"]).all()


@pytest.mark.clause("NMS-4", "NMS-3")
@given(nms_cases(fmt=None))
def test_every_suppressed_candidate_overlaps_a_kept_box_of_higher_rank(case):
    keep = call(nms, case, max_output=None)
    iou = box_iou_definitional(case["boxes"], case["boxes"], fmt=case["fmt"])
    r = rank(case["scores"])
    for c in set(candidates(case).tolist()) - set(keep.tolist()):
        assert any(r[k] < r[c] and iou[k, c] > case["iou_threshold"] for k in keep)


@pytest.mark.clause("NMS-6")
@given(nms_cases(), st.integers(0, 14))
def test_max_output_returns_the_first_indices_of_the_unbounded_result(case, k):
    full = call(nms, case, max_output=None)
    assert np.array_equal(call(nms, case, max_output=k), full[:k])
    assert np.array_equal(call(nms_definitional, case, max_output=k), full[:k])


@pytest.mark.clause("NMS-4", "NMS-2")
@given(nms_cases(fmt=None, distinct=True), st.data())
def test_nms_is_invariant_to_permuting_the_input_when_scores_are_distinct(case, data):
    n = case["boxes"].shape[0]
    perm = np.array(data.draw(st.permutations(range(n))), dtype=np.int64)
    got = call(nms, case, boxes=case["boxes"][perm], scores=case["scores"][perm])
    assert np.array_equal(perm[got], call(nms, case))


# --- NMS-11: exactness, fast form against the definitional loop ---------------------------------------

@pytest.mark.clause("NMS-11", "NMS-3")
@given(nms_cases(fmt=None))
def test_fast_nms_equals_the_definitional_loop(case):
    assert np.array_equal(call(nms, case), call(nms_definitional, case))


@pytest.mark.clause("NMS-11", "NMS-3")
@given(nms_cases(max_n=20), st.sampled_from([1, 2, 3, 5, 8, 512]), st.sampled_from([1, 2, 7, 1 << 20]),
       st.sampled_from([0, 2, 48]))
def test_fast_nms_equals_the_loop_with_tiny_blocks_and_pair_budgets(case, block, budget, dense_max):
    # dense_max 0 resolves every block through the grid, 48 every small block densely.
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sys.modules["reference.nms"], "_DENSE_MAX", dense_max)
        got = _nms(case["boxes"], case["scores"], case["iou_threshold"], case["score_threshold"],
                   case["max_output"], "xyxy", Rules(), False, block=block, pair_budget=budget)
    assert np.array_equal(got, call(nms_definitional, case))


@pytest.mark.clause("NMS-11", "NMS-3")
@given(st.integers(1, 64), st.integers(1, 64), st.data(), st.booleans(), st.sampled_from([1, 2, 512]),
       st.integers(-3, 3))
def test_fast_nms_finds_a_suppressor_at_the_largest_centre_distance_that_can_suppress(
        w, h, data, along_y, block, scale):
    # Two equal boxes shifted by d along one axis have IoU (w - d) / (w + d): the farthest
    # apart two boxes can be for that IoU, which is where the fast form's search window ends.
    d = data.draw(st.integers(0, (h if along_y else w) - 1))
    f = 2.0 ** scale
    a = np.array([0.0, 0.0, w, h]) * f
    b = a + np.array([0.0, d, 0.0, d] if along_y else [d, 0.0, d, 0.0]) * f
    far = np.array([[1000.0, 1000.0, 1000.0 + 7 * w, 1000.0 + 5 * h], [500.0, 0.0, 500.5, 0.5]]) * f
    boxes_ = np.vstack([far[:1], a, b, far[1:]])
    s = np.array([0.9, 0.8, 0.7, 0.6])
    u = box_iou_definitional(a[None], b[None])[0, 0]
    for t, want in ((float(np.nextafter(u, 0.0)), [0, 1, 3]), (u, [0, 1, 2, 3])):
        for got in (nms(boxes_, s, t), _nms(boxes_, s, t, None, None, "xyxy", Rules(), False,
                                             block=block, pair_budget=1)):
            assert got.tolist() == want


@pytest.mark.clause("NMS-11", "NMS-3")
@given(st.integers(1, 48), st.integers(0, 48), st.data(), st.booleans(), st.integers(-3, 3))
def test_the_fast_search_window_reaches_exactly_the_farthest_box_that_can_suppress(
        wc, extra, data, along_y, scale):
    # A kept box K of width wk >= wc and a candidate C sticking out of it on one side:
    # their centre distance is (U - I) / 2 = (wk + wc)(1 - u) / (2 (1 + u)) at IoU u, the
    # edge of the fast form's window for t just below u. With a fine grid (cells of
    # 1/1024 of the extent) a window short by more than that misses K.
    wk = wc + extra
    d = data.draw(st.integers(extra + 1, wk - 1)) if wk >= extra + 2 else wk - 1
    q = 0.25 * 2.0 ** scale
    k_box, c_box = np.array([0.0, 0.0, wk, 3.0]) * q, np.array([d, 0.0, d + wc, 3.0]) * q
    if along_y:
        k_box, c_box = k_box[[1, 0, 3, 2]], c_box[[1, 0, 3, 2]]
    b, s = np.vstack([k_box, c_box]), np.array([0.9, 0.8])
    u = box_iou_definitional(b, b)[0, 1]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sys.modules["reference.nms"], "_CELL_FRACTION", 1e-12)
        for t, want in ((float(np.nextafter(u, 0.0)), [0]), (u, [0, 1])):
            if 0.0 <= t <= 1.0:
                assert _nms(b, s, t, None, None, "xyxy", Rules(), False, block=1).tolist() == want


@pytest.mark.clause("NMS-11")
@given(nms_cases(fmt=None), st.sets(st.sampled_from(HARD_VARIANTS), max_size=3))
def test_fast_nms_equals_the_loop_under_every_variant(case, variants):
    v = tuple(sorted(variants))
    fast = call(nms_variant, case, variant=v)
    assert np.array_equal(fast, call(nms_variant, case, variant=v, definitional=True))


@pytest.mark.clause("NMS-11", "NMS-3")
@pytest.mark.parametrize("seed, n, centres, t, block", [
    (0, 3000, 40, 0.5, 64), (1, 1000, 400, 0.7, 32), (2, 1500, 5, 0.3, 128),
    (3, 2000, 200, 0.0, 50), (4, 500, 100, 0.95, 16)])
def test_fast_nms_equals_the_loop_on_large_clustered_sets_of_real_valued_boxes(seed, n, centres, t,
                                                                                 block):
    rng = np.random.default_rng(seed)
    c = rng.uniform(0, 500, (centres, 2))
    wh = rng.uniform(5, 80, (centres, 2))
    k = rng.integers(0, centres, n)
    cxy = c[k] + rng.normal(0, 0.1, (n, 2)) * wh[k]
    size = wh[k] * rng.uniform(0.8, 1.25, (n, 2))
    b = np.concatenate([cxy - size / 2, cxy + size / 2], axis=1)
    s = np.round(rng.random(n), 2)  # ties
    want = nms_definitional(b, s, t)
    assert np.array_equal(nms(b, s, t), want)
    assert np.array_equal(_nms(b, s, t, None, None, "xyxy", Rules(), False, block=block,
                               pair_budget=997), want)
    cls = rng.integers(-1, 2, n)
    assert np.array_equal(batched_nms(b, s, cls, t, max_output_per_class=n // 20),
                          batched_nms_definitional(b, s, cls, t, max_output_per_class=n // 20))


@pytest.mark.clause("NMS-11")
@pytest.mark.parametrize("variant", ["no-tie", "suppress_on_equal", "tf-half-sigma", ["no-tie-rule", 1]])
def test_unknown_variant_names_raise(variant):
    with spec_error("NMS-11", "variant"):
        nms_variant(B([0, 0, 1, 1]), np.ones(1), 0.5, variant=variant)


@pytest.mark.clause("NMS-11")
def test_every_variant_name_is_documented_in_the_spec():
    spec = (Path(__file__).resolve().parent.parent / "spec" / "nms.md").read_text(encoding="utf-8")
    for name in NMS_VARIANTS:
        assert f"`{name}` —" in spec, name
    boxes_spec = (Path(__file__).resolve().parent.parent / "spec" / "boxes.md").read_text("utf-8")
    assert "- `normalise-corners` —" in boxes_spec and "- `plus-one-pixel` —" in boxes_spec


# --- errors -------------------------------------------------------------------------------------------

@pytest.mark.clause("NMS-1")
@pytest.mark.parametrize("bad", [np.ones(3), np.ones((2, 1)), np.ones(1), 0.5])
def test_scores_of_the_wrong_shape_raise(bad):
    with spec_error("NMS-1", "scores"):
        nms(np.zeros((2, 4)), bad, 0.5)
    with spec_error("NMS-1", "scores"):
        batched_nms(np.zeros((2, 4)), bad, np.zeros(2, dtype=int), 0.5)


@pytest.mark.clause("NMS-1", "BOX-5", "BOX-6")
def test_bad_boxes_raise_the_box_clauses():
    with spec_error("BOX-5", "boxes"):
        nms(B([1, 0, 0, 1]), np.ones(1), 0.5)
    with spec_error("BOX-6", "boxes"):
        nms_definitional(B([np.nan, 0, 1, 1]), np.ones(1), 0.5)
    with spec_error("BOX-1", "boxes"):
        nms(np.zeros((2, 3)), np.ones(2), 0.5)
    with spec_error("BOX-2", "fmt"):
        nms(B([0, 0, 1, 1]), np.ones(1), 0.5, fmt="ltrb")


@pytest.mark.clause("BOX-5", "NMS-1")
def test_normalise_corners_variant_gives_the_nms_of_the_swapped_boxes():
    b = B([0, 0, 2, 2], [2.5, 2.5, 0.5, 0.5], [10, 10, 12, 12])
    s = np.array([0.9, 0.8, 0.7])
    fixed = B([0, 0, 2, 2], [0.5, 0.5, 2.5, 2.5], [10, 10, 12, 12])
    for definitional in (False, True):
        got = nms_variant(b, s, 0.3, variant="normalise-corners", definitional=definitional)
        assert got.tolist() == nms(fixed, s, 0.3).tolist() == [0, 2]


@pytest.mark.clause("NMS-10")
def test_nan_scores_raise():
    for fn in (nms, nms_definitional):
        with spec_error("NMS-10", "scores"):
            fn(np.zeros((2, 4)), np.array([0.5, np.nan]), 0.5)


@pytest.mark.clause("NMS-10")
def test_nan_scores_dropped_variant_treats_nan_boxes_as_no_candidates():
    b = B([0, 0, 1, 1], [0, 0, 1, 1], [5, 5, 6, 6])
    s = np.array([np.nan, 0.8, 0.7])
    for definitional in (False, True):
        for thr in (None, 0.5):
            got = nms_variant(b, s, 0.5, variant="nan-scores-dropped", score_threshold=thr,
                              definitional=definitional)
            assert got.tolist() == [1, 2]
        got = batched_nms_variant(b, s, np.array([0, 0, 1]), 0.5, variant="nan-scores-dropped",
                                  definitional=definitional)
        assert got.tolist() == [1, 2]
    with spec_error("NMS-11", "variant"):
        soft_nms_variant(b, np.ones(3), variant="nan-scores-dropped")


@pytest.mark.clause("NMS-10", "NMS-11")
@given(nms_cases(fmt=None), st.data())
def test_fast_nms_equals_the_loop_with_nan_scores_dropped(case, data):
    n = case["scores"].size
    nan_at = data.draw(st.lists(st.integers(0, max(n - 1, 0)), max_size=n)) if n else []
    s = case["scores"].copy()
    s[nan_at] = np.nan
    fast = call(nms_variant, case, scores=s, variant="nan-scores-dropped")
    assert np.array_equal(fast, call(nms_variant, case, scores=s, variant="nan-scores-dropped",
                                     definitional=True))
    assert not set(fast.tolist()) & set(nan_at)


@pytest.mark.clause("NMS-5")
@pytest.mark.parametrize("bad", [np.nan, True, "0.5", np.array([0.5]), [0.1]])
def test_bad_score_thresholds_raise(bad):
    with spec_error("NMS-5", "score_threshold"):
        nms(np.zeros((1, 4)), np.ones(1), 0.5, score_threshold=bad)


@pytest.mark.clause("NMS-6")
@pytest.mark.parametrize("bad", [-1, 2.0, True, "3"])
def test_bad_max_outputs_raise(bad):
    with spec_error("NMS-6", "max_output"):
        nms(np.zeros((1, 4)), np.ones(1), 0.5, max_output=bad)
    with spec_error("NMS-6", "max_output_per_class"):
        batched_nms(np.zeros((1, 4)), np.ones(1), np.zeros(1, int), 0.5, max_output_per_class=bad)


@pytest.mark.clause("NMS-7")
@pytest.mark.parametrize("bad", [-0.1, 1.0000001, np.nan, np.inf, -np.inf, True, None, "0.5"])
def test_iou_thresholds_outside_the_unit_interval_raise(bad):
    for fn in (nms, nms_definitional):
        with spec_error("NMS-7", "iou_threshold"):
            fn(np.zeros((1, 4)), np.ones(1), bad)


@pytest.mark.clause("NMS-7")
def test_unchecked_threshold_variant_uses_any_real_threshold_unchanged():
    b = B([0, 0, 2, 2], [0, 0, 2, 2], [5, 5, 6, 6])
    s = np.array([0.9, 0.8, 0.7])
    for definitional in (False, True):
        kw = dict(variant="unchecked-threshold", definitional=definitional)
        assert nms_variant(b, s, 1.5, **kw).tolist() == [0, 1, 2]
        assert nms_variant(b, s, -0.1, **kw).tolist() == [0]  # IoU 0 > -0.1: all suppressed
        with spec_error("NMS-7", "iou_threshold"):
            nms_variant(b, s, np.nan, **kw)


@pytest.mark.clause("NMS-7", "NMS-8")
@pytest.mark.parametrize("t", [0, 1, np.float32(0.5), np.int64(1)])
def test_thresholds_at_the_ends_and_numpy_scalars_are_valid(t):
    assert nms(B([0, 0, 1, 1]), np.ones(1), t).tolist() == [0]


# --- NMS-BATCH ----------------------------------------------------------------------------------------

@pytest.mark.clause("NMS-BATCH-2")
def test_identical_boxes_of_different_classes_are_both_kept():
    b = B([0, 0, 2, 2], [0, 0, 2, 2], [0, 0, 2, 2])
    s = np.array([0.9, 0.8, 0.7])
    cls = np.array([7, -3, 7])
    for fn in (batched_nms, batched_nms_definitional):
        assert fn(b, s, cls, 0.5).tolist() == [0, 1]


@pytest.mark.clause("NMS-BATCH-2")
@given(batched_nms_cases(fmt=None))
def test_batched_nms_equals_nms_on_each_class_alone(case):
    got = call(batched_nms, case)
    b, s, cls = case["boxes"], case["scores"], case["classes"]
    for c in np.unique(cls):
        idx = np.flatnonzero(cls == c)
        want = idx[nms(b[idx], s[idx], case["iou_threshold"], score_threshold=case["score_threshold"],
                       max_output=case["max_output_per_class"], fmt=case["fmt"])]
        assert sorted(got[cls[got] == c].tolist()) == sorted(want.tolist())
        assert got[cls[got] == c].tolist() == want.tolist()  # also in the same order


@pytest.mark.clause("NMS-BATCH-3")
@given(batched_nms_cases())
def test_batched_nms_output_is_sorted_by_score_then_index(case):
    got = call(batched_nms, case)
    assert got.dtype == np.int64
    r = rank(case["scores"])
    assert (np.diff(r[got]) > 0).all()


@pytest.mark.clause("NMS-BATCH-2", "NMS-BATCH-3", "NMS-11")
@given(batched_nms_cases(fmt=None), st.sets(st.sampled_from(HARD_VARIANTS), max_size=2))
def test_fast_batched_nms_equals_its_definitional_form(case, variants):
    v = tuple(sorted(variants))
    fast = call(batched_nms_variant, case, variant=v)
    assert np.array_equal(fast, call(batched_nms_variant, case, variant=v, definitional=True))
    if not v:
        assert np.array_equal(fast, call(batched_nms_definitional, case))


@pytest.mark.clause("NMS-BATCH-2", "NMS-11")
@given(batched_nms_cases(max_n=20), st.sampled_from([1, 3, 8]), st.sampled_from([1, 5, 1 << 20]),
       st.sampled_from([0, 48]))
def test_fast_batched_nms_equals_its_loop_with_tiny_blocks_and_pair_budgets(case, block, budget,
                                                                            dense_max):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sys.modules["reference.nms"], "_DENSE_MAX", dense_max)
        got = _batched(case["boxes"], case["scores"], case["classes"], case["iou_threshold"],
                       case["score_threshold"], case["max_output_per_class"], "xyxy", Rules(),
                       False, block=block, pair_budget=budget)
    assert np.array_equal(got, call(batched_nms_definitional, case))


@pytest.mark.clause("NMS-BATCH-2", "NMS-8")
def test_batched_nms_keeps_one_box_per_class_when_every_iou_suppresses():
    b = B([0, 0, 1, 1], [2, 0, 3, 1], [4, 0, 5, 1], [6, 0, 7, 1])
    s = np.array([0.5, 0.9, 0.7, 0.8])
    cls = np.array([1, 0, 1, 0])
    for definitional in (False, True):
        # IoU >= 0 holds for every pair: each class keeps its best box only.
        got = batched_nms_variant(b, s, cls, 0.0, variant="suppress-on-equal",
                                  definitional=definitional)
        assert got.tolist() == [1, 2]
        got = batched_nms_variant(b, s, cls, -1.0, variant="unchecked-threshold",
                                  definitional=definitional)
        assert got.tolist() == [1, 2]
        got = batched_nms_variant(b, s, cls, 2.0, variant="unchecked-threshold",
                                  max_output_per_class=1, definitional=definitional)
        assert got.tolist() == [1, 2]


@pytest.mark.clause("NMS-BATCH-3")
def test_batched_nms_no_tie_rule_variant_orders_ties_by_descending_index():
    b = B([0, 0, 1, 1], [2, 0, 3, 1], [4, 0, 5, 1])
    s = np.array([0.5, 0.5, 0.5])
    cls = np.array([1, 0, 1])
    assert batched_nms(b, s, cls, 0.5).tolist() == [0, 1, 2]
    assert batched_nms_variant(b, s, cls, 0.5, variant="no-tie-rule").tolist() == [2, 1, 0]


@pytest.mark.clause("NMS-BATCH-1")
@pytest.mark.parametrize("bad", [np.zeros(2), np.zeros(2, dtype=bool), np.zeros(3, dtype=int),
                                 np.zeros((2, 1), dtype=int), ["a", "b"]])
def test_bad_class_arrays_raise(bad):
    for fn in (batched_nms, batched_nms_definitional):
        with spec_error("NMS-BATCH-1", "classes"):
            fn(np.zeros((2, 4)), np.ones(2), bad, 0.5)


# --- NMS-SOFT -----------------------------------------------------------------------------------------

@pytest.mark.clause("NMS-SOFT-1", "NMS-SOFT-2", "NMS-SOFT-3")
def test_soft_nms_matches_hand_computed_decays():
    b = B([0, 0, 3, 1], [1, 0, 4, 1], [10, 10, 11, 11])  # IoU(0, 1) = 2/4 = 0.5
    s = np.array([0.9, 0.8, 0.3])
    for fn in (soft_nms, soft_nms_definitional):
        idx, sc = fn(b, s, sigma=0.5)
        # Gaussian: 0.8 * exp(-0.25 / 0.5) = 0.48522...; the far box keeps 0.3.
        assert idx.tolist() == [0, 1, 2] and idx.dtype == np.int64 and sc.dtype == np.float64
        assert sc.tolist() == [0.9, 0.8 * np.exp(-0.5), 0.3]
        idx, sc = fn(b, s, method="linear", iou_threshold=0.3)
        assert idx.tolist() == [0, 1, 2] and sc.tolist() == [0.9, 0.8 * 0.5, 0.3]
        # Linear decay needs IoU > iou_threshold: at 0.5 nothing decays.
        idx, sc = fn(b, s, method="linear", iou_threshold=0.5)
        assert sc.tolist() == [0.9, 0.8, 0.3]


@pytest.mark.clause("NMS-SOFT-1")
def test_soft_nms_can_select_a_lower_box_whose_score_decayed_less():
    # Box 1 overlaps box 0 heavily, box 2 not at all: 1 decays below 2.
    b = B([0, 0, 4, 4], [0, 0, 4, 3], [10, 10, 14, 14])
    s = np.array([0.9, 0.8, 0.5])
    idx, sc = soft_nms(b, s, sigma=0.5)
    assert idx.tolist() == [0, 2, 1]
    assert sc[2] == 0.8 * np.exp(-(0.75 * 0.75) / 0.5)


@pytest.mark.clause("NMS-SOFT-1")
def test_soft_nms_ties_go_to_the_lower_index_and_the_variant_reverses_them():
    b = B([0, 0, 1, 1], [5, 5, 6, 6])
    s = np.array([0.5, 0.5])
    assert soft_nms(b, s)[0].tolist() == [0, 1]
    for definitional in (False, True):
        assert soft_nms_variant(b, s, variant="no-tie-rule",
                                definitional=definitional)[0].tolist() == [1, 0]


@pytest.mark.clause("NMS-SOFT-1", "NMS-11")
@given(soft_nms_cases(fmt=None))
def test_fast_soft_nms_equals_its_definitional_loop(case):
    kw = dict(case)
    b, s = kw.pop("boxes"), kw.pop("scores")
    fi, fs = soft_nms(b, s, **kw)
    di, ds = soft_nms_definitional(b, s, **kw)
    assert np.array_equal(fi, di) and np.array_equal(fs, ds)


@pytest.mark.clause("NMS-SOFT-1", "NMS-11")
@given(soft_nms_cases(), st.sets(st.sampled_from(SOFT_VARIANTS), max_size=3))
def test_fast_soft_nms_equals_its_loop_under_every_variant(case, variants):
    kw = dict(case, variant=tuple(sorted(variants)))
    b, s = kw.pop("boxes"), kw.pop("scores")
    fi, fs = soft_nms_variant(b, s, **kw)
    di, ds = soft_nms_variant(b, s, definitional=True, **kw)
    assert np.array_equal(fi, di) and np.array_equal(fs, ds)


@pytest.mark.clause("NMS-SOFT-4", "NMS-SOFT-1")
@given(soft_nms_cases(fmt=None))
def test_soft_nms_scores_are_non_increasing_and_never_above_the_originals(case):
    kw = dict(case)
    b, s = kw.pop("boxes"), kw.pop("scores")
    idx, sc = soft_nms(b, s, **kw)
    assert idx.size == sc.size == len(set(idx.tolist())) <= s.size
    assert (np.diff(sc) <= 0).all()
    assert (sc <= s[idx]).all()
    assert (sc > case["score_threshold"]).all()


@pytest.mark.clause("NMS-SOFT-4")
def test_a_score_that_decays_to_exactly_the_threshold_is_dropped():
    b = B([0, 0, 3, 1], [1, 0, 4, 1])  # IoU 0.5: linear decay to 0.5 * 0.5 = 0.25
    s = np.array([1.0, 0.5])
    idx, sc = soft_nms(b, s, method="linear", iou_threshold=0.3, score_threshold=0.25)
    assert idx.tolist() == [0]
    idx, sc = soft_nms_variant(b, s, variant="score-threshold-inclusive", method="linear",
                               iou_threshold=0.3, score_threshold=0.25)
    assert idx.tolist() == [0, 1] and sc.tolist() == [1.0, 0.25]


@pytest.mark.clause("NMS-SOFT-2")
@given(soft_nms_cases(), st.floats(0.01, 4.0))
def test_tf_half_sigma_variant_equals_the_spec_with_sigma_doubled(case, sigma):
    kw = dict(case, method="gaussian", sigma=sigma)
    b, s = kw.pop("boxes"), kw.pop("scores")
    vi, vs = soft_nms_variant(b, s, variant="tf-half-sigma", **kw)
    si, ss = soft_nms(b, s, **dict(kw, sigma=2 * sigma))
    assert np.array_equal(vi, si) and np.array_equal(vs, ss)


@pytest.mark.clause("NMS-SOFT-2")
def test_gaussian_decay_ignores_the_iou_threshold():
    b = B([0, 0, 4, 1], [3, 0, 7, 1])  # IoU 1/7
    s = np.array([0.9, 0.8])
    for t in (0.0, 0.5, 1.0):
        _, sc = soft_nms(b, s, iou_threshold=t, sigma=0.5)
        assert sc[1] == 0.8 * np.exp(-((1 / 7) * (1 / 7)) / 0.5)


@pytest.mark.clause("NMS-SOFT-3")
@given(soft_nms_cases())
def test_linear_decay_at_threshold_one_changes_no_score(case):
    kw = dict(case, method="linear", iou_threshold=1.0)
    b, s = kw.pop("boxes"), kw.pop("scores")
    idx, sc = soft_nms(b, s, **kw)
    cand = np.flatnonzero(s > case["score_threshold"])
    assert idx.tolist() == sorted(cand.tolist(), key=lambda i: (-s[i], i))
    assert np.array_equal(sc, s[idx])


@pytest.mark.clause("NMS-SOFT-3")
def test_suppress_on_equal_variant_decays_at_an_iou_equal_to_the_threshold():
    b = B([0, 0, 3, 1], [1, 0, 4, 1])  # IoU exactly 0.5
    s = np.array([0.9, 0.8])
    assert soft_nms(b, s, method="linear", iou_threshold=0.5)[1].tolist() == [0.9, 0.8]
    got = soft_nms_variant(b, s, variant="suppress-on-equal", method="linear", iou_threshold=0.5)
    assert got[1].tolist() == [0.9, 0.4]


@pytest.mark.clause("NMS-SOFT-5")
@given(nms_cases(fmt=None))
def test_soft_nms_with_a_step_decay_is_hard_nms(case):
    t, fmt = case["iou_threshold"], case["fmt"]
    b, s = case["boxes"], case["scores"]
    for definitional in (False, True):
        idx, sc = _soft_nms(b, s, iou_threshold=t, score_threshold=0.0, method="step", fmt=fmt,
                            definitional=definitional)
        want = nms(b, s, t, score_threshold=0.0, fmt=fmt)
        assert np.array_equal(idx, want)
        assert np.array_equal(sc, s[want])


@pytest.mark.clause("NMS-SOFT-5")
@given(nms_cases(fmt=None))
def test_gaussian_soft_nms_tends_to_hard_nms_at_threshold_zero(case):
    b, s, fmt = case["boxes"], case["scores"], case["fmt"]
    # With sigma = 1e-300 every positive IoU of these boxes (>= 2**-20) decays to 0.
    idx, sc = soft_nms(b, s, sigma=1e-300, score_threshold=0.0, fmt=fmt)
    want = nms(b, s, 0.0, score_threshold=0.0, fmt=fmt)
    assert np.array_equal(idx, want) and np.array_equal(sc, s[want])


@pytest.mark.clause("NMS-SOFT-6")
@pytest.mark.parametrize("param, value", [
    ("sigma", 0.0), ("sigma", -1.0), ("sigma", np.nan), ("sigma", np.inf), ("sigma", True),
    ("iou_threshold", 1.5), ("iou_threshold", -0.5), ("iou_threshold", np.nan),
    ("score_threshold", np.nan), ("score_threshold", None), ("method", "hard"),
    ("method", "step"), ("method", None)])
def test_bad_soft_nms_parameters_raise(param, value):
    for fn in (soft_nms, soft_nms_definitional):
        with spec_error("NMS-SOFT-6", param):
            fn(B([0, 0, 1, 1]), np.ones(1), **{param: value})


@pytest.mark.clause("NMS-SOFT-6")
@pytest.mark.parametrize("bad", [[-0.5], [np.nan], [np.inf], [1.0, 2.0], [[1.0]]])
def test_soft_nms_rejects_negative_non_finite_or_misshapen_scores(bad):
    with spec_error("NMS-SOFT-6", "scores"):
        soft_nms(B([0, 0, 1, 1]), np.array(bad))


@pytest.mark.clause("NMS-SOFT-6")
def test_soft_nms_accepts_integer_and_numpy_scalar_parameters():
    idx, sc = soft_nms(B([0, 0, 1, 1], [0, 0, 1, 1]), np.array([2, 1]), sigma=np.float32(0.5),
                       iou_threshold=1, score_threshold=np.int64(0))
    assert idx.tolist() == [0, 1] and sc[1] == np.exp(-1 / np.float64(np.float32(0.5)))


@pytest.mark.clause("NMS-1")
def test_nms_handles_cxcywh_boxes_like_their_xyxy_form():
    b = B([0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30])
    s = np.array([0.9, 0.8, 0.7])
    c = box_convert(b, "xyxy", "cxcywh")
    assert nms(c, s, 0.5, fmt="cxcywh").tolist() == nms(b, s, 0.5).tolist() == [0, 2]
    assert box_iou_variant(c, c, variant=(), fmt="cxcywh")[0, 1] == 81 / 119
