"""Detection ops in the conformance runner (issue 4): adapters, ambiguity and diagnosis.

Three layers:

* the registry itself, in process: the ops, their curated corpus, the NMS-11 ``ambiguous``
  hook and the box-format helpers of the adapters;
* each library adapter, in process (importorskip): it agrees with the reference on every
  curated and generated case it supports, except for the disagreements listed here, each with
  its clause (they are real behaviours of the libraries, found by these runs);
* the runner, in subprocesses (``python -m conformance run --json``), on the built-in targets
  and on planted-fault user targets from tests/targets/nms_*.py: results, diagnosed variants,
  and near-threshold cases counted as ambiguous. The subprocesses are started together and
  run while the in-process tests do.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from conformance.ops import OPS
from conformance.ops_detection import DETECTION_CORPUS
from conformance.runner import in_process, matches, rounded
from conformance.strategies.conv import Case
from conformance.targets import Target, TargetUnavailable, Unsupported, load_target
from conformance.tolerance import compare
from conformance.variants import variants_for
from reference.boxes import box_area

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ROOT / "tests" / "targets"
DETECTION_OPS = ("box_iou", "nms", "batched_nms", "soft_nms")


# ----------------------------------------------------------------------------- helpers


def judge(target: Any, op: str, case: Case, dtype: str) -> tuple[str, str, list[str], Case, Any]:
    """What the runner records for one case, in process (conformance.runner.in_process):
    (status, detail, variants that explain a failure, the case as the reference saw it, the
    target's outputs). A target that raises is a failure of SPEC-3 for the runner; it is told
    apart here as "raised"."""
    rec = in_process(target, dtype, [op]).check(op, case, "corpus")
    if rec.status == "fail" and rec.clause == "SPEC-3" and rec.reason.startswith("target raised"):
        return "raised", rec.reason, [], rec.case, None
    found = [v.name for v in variants_for(op) if matches(v, rec, dtype)] if rec.status == "fail" else []
    return rec.status, rec.reason if rec.status != "fail" else "", found, rec.case, rec.got


def corpus_outcomes(target: Any, op: str, dtype: str, notes: tuple[str, ...] | None = None
                    ) -> dict[str, tuple[str, list[str]]]:
    out = {}
    for c in DETECTION_CORPUS[op]:
        if notes is not None and not c.note.startswith(notes):
            continue
        status, _, variants, *_ = judge(target, op, c, dtype)
        out[c.note] = (status, variants)
    return out


def check_corpus(target: Any, op: str, dtype: str, known: dict[str, tuple[str, list[str] | None]],
                 also: tuple[str, ...] | None = None) -> None:
    """Every curated case passes, except those in ``known`` (note prefix -> (status, variants or
    None for "any")), which must come out exactly so. With ``also``, only the cases of ``known``
    and those whose notes start with ``also`` are run."""
    got = corpus_outcomes(target, op, dtype, None if also is None else tuple(known) + also)
    for note, (status, variants) in got.items():
        hit = [k for k in known if note.startswith(k)]
        if hit:
            want, want_variants = known[hit[0]]
            assert status == want, (op, note, status, variants)
            if want_variants is not None:
                assert sorted(variants) == sorted(want_variants), (op, note, variants)
        else:
            assert status == "pass", (op, note, status, variants)
    for k in known:
        assert any(n.startswith(k) for n in got), f"no curated {op} case starts with {k!r}"


def has_zero_area(case: Case) -> bool:
    b = case.arrays["boxes"]
    return bool(b.shape[0]) and bool((box_area(b, fmt=case.params.get("fmt", "xyxy")) == 0).any())


def ready(name: str, dtype: str) -> Target:
    try:
        target = load_target(name)
    except TargetUnavailable as exc:  # pragma: no cover - depends on the environment
        pytest.skip(str(exc))
    target.setup(dtype, "cpu")
    return target


def gen(cap: int) -> settings:
    """Hypothesis settings: the profile's examples, at most ``cap`` (library calls are not free)."""
    return settings(deadline=None, database=None, suppress_health_check=list(HealthCheck),
                    max_examples=min(settings().max_examples, cap))



def for_generated(op: str, check: Callable[[Case], None], cap: int = 50) -> None:
    """``check(case)`` on the op's generated cases (Hypothesis shrinks a failing one)."""

    @gen(cap)
    @given(case=OPS[op].strategy())
    def each(case):
        check(case)

    each()


# ----------------------------------------------------------------------------- registry


@pytest.mark.clause("NMS-1", "NMS-BATCH-1", "NMS-SOFT-6", "BOX-1", "BOX-2", "BOX-5", "BOX-6", "NMS-11")
def test_detection_ops_are_registered_with_curated_cases_and_variants():
    from conformance.corpus import CORPUS

    for op in DETECTION_OPS:
        assert op in OPS and OPS[op].strategy is not None
        assert CORPUS[op] == DETECTION_CORPUS[op] and len(CORPUS[op]) >= 9
        for case in CORPUS[op]:  # the reference accepts every curated case (no SpecError)
            OPS[op].measure(case)
    names = {op: {v.name for v in variants_for(op)} for op in DETECTION_OPS}
    assert names["box_iou"] == {"plus-one-pixel"}
    assert names["nms"] == names["batched_nms"] == {"suppress-on-equal", "plus-one-pixel", "no-tie-rule",
                                                    "score-threshold-inclusive"}
    assert names["soft_nms"] == {"tf-half-sigma", "suppress-on-equal", "no-tie-rule", "plus-one-pixel",
                                 "score-threshold-inclusive"}


@pytest.mark.clause("IOU-1", "NMS-3", "NMS-11", "NMS-BATCH-2", "NMS-SOFT-1")
def test_the_reference_definitional_forms_pass_every_curated_case():
    """tests/targets/nms_reference.py (the loops of the clauses) against the fast forms."""
    sys.path.insert(0, str(TARGETS))
    try:
        import nms_reference
    finally:
        sys.path.remove(str(TARGETS))
    for op in DETECTION_OPS:
        for dtype in ("float64", "float32"):
            for case in DETECTION_CORPUS[op]:
                assert judge(nms_reference, op, case, dtype)[0] == "pass", (op, dtype, case.note)


@pytest.mark.parametrize("op", DETECTION_OPS)
@pytest.mark.clause("NMS-1", "NMS-2", "NMS-5", "NMS-6", "NMS-8", "NMS-BATCH-1", "NMS-SOFT-6", "IOU-1")
def test_generated_cases_are_valid_and_draw_the_edges_on_purpose(op):
    """The reference accepts every generated case; ties, thresholds at real IoUs and their float64
    neighbours, thresholds 0 and 1 and score thresholds equal to a score all occur."""
    seen: set[str] = set()

    @gen(100 if op == "nms" else 40)
    @given(case=OPS[op].strategy())
    def each(case):
        OPS[op].measure(case)
        if "scores" in case.arrays:
            s = case.arrays["scores"]
            if np.unique(s).size < s.size:
                seen.add("tie")
            if case.params.get("score_threshold") in s.tolist():
                seen.add("threshold at a score")
            t = case.params.get("iou_threshold")
            if t in (0.0, 1.0):
                seen.add("end")
            b = case.arrays["boxes"]
            if b.shape[0] > 1 and t is not None:
                from reference.boxes import box_iou

                u = box_iou(b, b, fmt=case.params.get("fmt", "xyxy"))
                if np.any(u == t) and 0 < t < 1:
                    seen.add("IoU at the threshold")
                if np.any((u != t) & (np.abs(u - t) < 1e-15)):
                    seen.add("IoU next to the threshold")

    each()
    if op == "nms" and settings().max_examples >= 100:
        assert {"tie", "threshold at a score", "end", "IoU at the threshold", "IoU next to the threshold"} <= seen


@pytest.mark.clause("NMS-11", "NMS-2", "NMS-3", "TOL-4")
def test_a_near_threshold_difference_is_ambiguous_but_ties_and_exact_equality_are_not():
    sys.path.insert(0, str(TARGETS))
    try:
        import nms_float32
        import nms_no_tie_rule
        import nms_suppress_on_equal
    finally:
        sys.path.remove(str(TARGETS))
    cases = {c.note: c for c in DETECTION_CORPUS["nms"]}
    ulp = next(c for n, c in cases.items() if n.startswith("IoU one float64 ulp above"))
    half = next(c for n, c in cases.items() if n.startswith("IoU exactly 1/2 at iou_threshold"))
    third = next(c for n, c in cases.items() if n.startswith("IoU 1/3 at iou_threshold 1/3"))
    ties = next(c for n, c in cases.items() if n.startswith("identical boxes, equal scores"))
    # float32 rounds the threshold 0.5 - 2**-54 to 0.5 = IoU: NMS-11 lets the decision go either way.
    status, why, *_ = judge(nms_float32, "nms", ulp, "float32")
    assert status == "ambiguous" and "NMS-11" in why
    # IoU 1/2 is exact in every dtype: >= instead of > is a real difference (NMS-3) ...
    status, _, variants, *_ = judge(nms_suppress_on_equal, "nms", half, "float32")
    assert status == "fail" and "suppress-on-equal" in variants
    # ... but IoU 1/3 is no float32 number, so its equality with t = 1/3 is within rounding.
    assert judge(nms_suppress_on_equal, "nms", third, "float32")[0] == "ambiguous"
    # Equal scores are equal in every dtype: the tie rule (NMS-2) is never ambiguous.
    assert judge(nms_no_tie_rule, "nms", ties, "float32")[:3:2] == ("fail", ["no-tie-rule"])
    # The float32 target conforms everywhere else (its Python loop skips the 600-box crowds).
    for case in DETECTION_CORPUS["nms"]:
        if case.arrays["boxes"].shape[0] <= 50:
            assert judge(nms_float32, "nms", case, "float32")[0] in ("pass", "ambiguous"), case.note


@pytest.mark.clause("IOU-1", "IOU-2", "IOU-3", "IOU-4", "BOX-3", "BOX-4")
def test_the_iou_error_model_admits_an_honest_float32_iou():
    """box_iou computed in float32 (torchvision's formula and conversions) passes TOL-2 on every
    generated case, real data included, with a pooled RMS far below TOL-3's limit."""
    sys.path.insert(0, str(TARGETS))
    try:
        import nms_float32
    finally:
        sys.path.remove(str(TARGETS))
    pooled = [0.0, 0]

    @gen(100)
    @given(case=OPS["box_iou"].strategy())
    def each(case):
        sent, mine = rounded(case, "float32")
        (_, ref, scale, terms), = OPS["box_iou"].measure(mine)
        verdict = compare(ref, nms_float32.box_iou(*sent.arrays.values(), **sent.params), dtype="float32",
                          scale=scale, terms=terms, check_rms=False)
        assert verdict.ok, (verdict.reason, mine.describe(), mine.note)
        pooled[0] += verdict.sumsq
        pooled[1] += verdict.count

    each()
    assert pooled[1] == 0 or math.sqrt(pooled[0] / pooled[1]) < 0.5


@pytest.mark.clause("NMS-SOFT-1", "NMS-SOFT-4", "NMS-11")
def test_soft_nms_rounding_is_ambiguous_only_within_its_bound():
    spec = OPS["soft_nms"]
    decay = np.exp(-(0.8 * 0.8) / 0.5)  # box 1 has IoU 4/5 with box 0; box 2 overlaps neither
    case = Case("soft_nms", {"boxes": np.array([[0.0, 0, 4, 4], [0, 0, 4, 5], [10, 10, 14, 14]]),
                             "scores": np.array([0.9, 0.5, 0.5 * decay * (1 + 1e-9)])}, {}, False)
    idx, s = spec.measure(case)[0][1], spec.measure(case)[1][1]
    assert idx.tolist() == [0, 2, 1]
    # Two current scores 1e-9 apart (relative) may be selected in either order by a float32 target.
    swapped = (np.array([0, 1, 2]), np.array([s[0], s[2], s[1]], dtype=np.float32))
    assert spec.ambiguous(case, swapped)
    # A score off by more than its rounding bound is not.
    assert spec.ambiguous(case, (idx, (s * [1, 1.001, 1]).astype(np.float32))) is None


@pytest.mark.clause("BOX-2", "BOX-3", "NMS-5")
def test_adapter_box_formats_are_exact_or_unsupported():
    from conformance.targets._box_formats import class_slots, down, rank_sort, to_format

    xyxy = np.array([[0.25, 1.0, 2.5, 3.0], [1.0, 1.0, 1.0, 4.0]])
    assert to_format(xyxy, "xyxy", "yxyx", np.float32).tolist() == [[1.0, 0.25, 3.0, 2.5], [1.0, 1.0, 4.0, 1.0]]
    assert to_format(xyxy, "xyxy", "xywh", np.float32).tolist() == [[0.25, 1.0, 2.25, 2.0], [1.0, 1.0, 0.0, 3.0]]
    with pytest.raises(Unsupported):  # 1e8 + 0.25 has no float32 corner: the adapter refuses to round
        to_format(np.array([[1e8, 0.0, 0.25, 1.0]]), "xywh", "yxyx", np.float32)
    t = 0.1
    up = float(np.nextafter(np.float32(down(t)), np.float32(1)))
    assert down(t) <= t < up and float(np.float32(down(t))) == down(t)
    assert down(0.5) == 0.5 and down(-math.inf) == -math.inf
    labels, slot = class_slots(np.array([7, -5, 7, 1000]))
    assert labels.tolist() == [-5, 7, 1000] and slot.tolist() == [1, 0, 1, 2]
    assert rank_sort([3, 2, 0], np.array([0.5, 0.5, 0.9, 0.5])).tolist() == [2, 0, 3]


# ----------------------------------------------------------------------------- onnxruntime


@pytest.mark.clause("NMS-2", "NMS-3", "NMS-5", "NMS-6", "NMS-8", "NMS-9", "NMS-11", "NMS-BATCH-2",
                    "NMS-BATCH-3", "BOX-2", "BOX-3")
def test_onnxruntime_nms_agrees_with_the_reference():
    pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    target = ready("onnxruntime", "float32")
    assert not target.implements("box_iou") and not target.implements("soft_nms")  # ONNX has neither
    # NMS-11: ORT compares a float32 IoU with the threshold rounded to float32.
    check_corpus(target, "nms", "float32", {"IoU one float64 ulp above": ("ambiguous", None)})
    check_corpus(target, "batched_nms", "float32", {})

    def conforms(op: str, case: Case) -> None:
        status, detail, variants, mine, _ = judge(target, op, case, "float32")
        assert status in ("pass", "ambiguous") or (status == "unsupported" and "-inf" in detail), \
            (status, detail, variants, mine.describe(), mine.params)

    for op in ("nms", "batched_nms"):
        for_generated(op, partial(conforms, op))
    # float64 has no NonMaxSuppression kernel (the operator is float only).
    f64 = ready("onnxruntime", "float64")
    assert judge(f64, "nms", DETECTION_CORPUS["nms"][0], "float64")[0] == "unsupported"


# ----------------------------------------------------------------------------- opencv

# Disagreements of OpenCV with the spec (float32), the same in 5.0.0 and 5.1.0:
OPENCV_KNOWN = {
    "nms": {
        "IoU one float64 ulp above": ("ambiguous", None),  # NMS-11: float IoU, float threshold
        # IOU-3 / NMS-9: two zero-area boxes have IoU 1 in OpenCV (jaccardDistance returns 0 when
        # both areas are 0), wherever they are, so one suppresses the other.
        "zero-area boxes are always kept": ("fail", []),
        "zero-area boxes at threshold 1/2": ("fail", []),
        # NMS-6: top_k, documented as "keep at most top_k picked indices", limits the candidates
        # before suppression, so a suppressed candidate still counts against it.
        "max_output cuts the unbounded result": ("fail", []),
        "the same crowd at threshold 0.3": ("fail", []),
        # Unsupported: top_k = 0 means "no limit"; score_threshold must be >= 0 (asserted).
        "max_output 0": ("unsupported", None),
        "+inf ranks first": ("unsupported", None),
        "negative scores": ("unsupported", None),
    },
    "batched_nms": {
        "zero-area boxes in two classes": ("fail", []),  # IOU-3 / NMS-9, as above
        "max_output_per_class": ("unsupported", None),  # NMSBoxesBatched's top_k counts all classes
    },
    "soft_nms": {
        # NMS-SOFT-4: softNMSBoxes keeps a score equal to score_threshold.
        "a score equal to score_threshold": ("fail", ["score-threshold-inclusive"]),
        "identical boxes decay to exactly 0": ("fail", ["score-threshold-inclusive"]),
        "zero-area boxes never decay": ("fail", []),  # IOU-3: IoU 1 for two zero-area boxes
    },
}


@pytest.mark.clause("NMS-2", "NMS-3", "NMS-5", "NMS-6", "NMS-9", "IOU-3", "NMS-11", "NMS-BATCH-2",
                    "NMS-SOFT-1", "NMS-SOFT-2", "NMS-SOFT-3", "NMS-SOFT-4")
def test_opencv_nms_agrees_with_the_reference_except_its_known_disagreements():
    pytest.importorskip("cv2", reason="opencv-python is not installed")
    target = ready("opencv", "float32")
    for op, known in OPENCV_KNOWN.items():
        check_corpus(target, op, "float32", known)

    def explained(op: str, case: Case) -> None:
        status, detail, variants, mine, _ = judge(target, op, case, "float32")
        if status == "fail":  # only the two disagreements above
            assert has_zero_area(mine) or mine.params.get("max_output") is not None, mine.params
        else:
            assert status in ("pass", "ambiguous", "unsupported"), (status, detail)

    for op in ("nms", "batched_nms"):
        for_generated(op, partial(explained, op))


# ----------------------------------------------------------------------------- tensorflow


@pytest.fixture(scope="module")
def tensorflow_target():
    pytest.importorskip("tensorflow", reason="tensorflow is not installed")
    return ready("tensorflow", "float32")


TF_KNOWN = {
    "nms": {
        "IoU one float64 ulp above": ("ambiguous", None),  # NMS-11
        # NMS-5 / NMS-2: without a score threshold TensorFlow uses -inf and keeps scores > -inf, so
        # a box scored -inf is never a candidate (the spec keeps it, last).
        "+inf ranks first": ("fail", []),
    },
    "batched_nms": {
        # NMS-2 / NMS-BATCH-3: combined_non_max_suppression visits and outputs equal scores in no
        # fixed order, within a class (which box of a tie survives, or is cut by
        # max_output_per_class) as across classes (the output order); here the kept set is the
        # spec's and only the order across classes differs.
        "equal scores across classes": ("fail", []),
        "600 clustered boxes in 5 classes": ("fail", []),
    },
    "soft_nms": {
        # NMS-SOFT-2: soft_nms_sigma decays by exp(-u^2 / (2 sigma)): variant tf-half-sigma.
        "Gaussian decay with the default sigma": ("fail", ["tf-half-sigma"]),
        "Gaussian, sigma 0.1": ("fail", ["tf-half-sigma"]),
        "identical boxes with equal scores": ("fail", ["tf-half-sigma"]),
        "a decayed box falls below": ("fail", ["tf-half-sigma"]),
        "given as cxcywh": ("fail", ["tf-half-sigma"]),
        # Gaussian only: the linear method is Unsupported.
        "linear decay": ("unsupported", None),
        "identical boxes decay to exactly 0": ("unsupported", None),
        "touching boxes do not decay": ("unsupported", None),
    },
}


@pytest.mark.clause("NMS-2", "NMS-3", "NMS-5", "NMS-6", "NMS-8", "NMS-9", "NMS-11", "NMS-BATCH-2",
                    "NMS-BATCH-3", "NMS-SOFT-2", "NMS-SOFT-4", "BOX-2")
def test_tensorflow_nms_agrees_with_the_reference_except_its_known_disagreements(tensorflow_target):
    target = tensorflow_target
    for op, known in TF_KNOWN.items():
        check_corpus(target, op, "float32", known)

    def hard(case: Case) -> None:
        assert judge(target, "nms", case, "float32")[0] in ("pass", "ambiguous")

    def batched(case: Case) -> None:
        status, detail, _, mine, outs = judge(target, "batched_nms", case, "float32")
        if status == "raised":  # NMS-6: combined NMS refuses max_output_size_per_class = 0
            assert mine.params.get("max_output_per_class") == 0 and "must be positive" in detail
        elif status == "fail":  # NMS-2 / NMS-BATCH-3: equal scores are visited in no fixed order
            s = mine.arrays["scores"]
            assert np.unique(s).size < s.size, (mine.params, s, outs)
        else:
            assert status in ("pass", "ambiguous"), (status, detail)

    def soft(case: Case) -> None:
        status, detail, variants, *_ = judge(target, "soft_nms", case, "float32")
        assert status in ("pass", "ambiguous", "unsupported") or variants == ["tf-half-sigma"], (status, detail)

    for_generated("nms", hard)
    for_generated("batched_nms", batched)
    for_generated("soft_nms", soft)


# tf.image.non_max_suppression_padded (TensorFlow's tiled NMS, pure TF ops):
PADDED_KNOWN = {
    # NMS-3 / NMS-8: it suppresses at IoU >= t (iou >= threshold masks; IoU = inter / (union + 1e-8)).
    "IoU exactly 1/2 at iou_threshold": ("fail", ["suppress-on-equal", "plus-one-pixel"]),
    "IoU exactly 1/2 at threshold 1/2,": ("fail", ["suppress-on-equal", "plus-one-pixel"]),
    "threshold 1 suppresses nothing": ("fail", ["suppress-on-equal"]),
    "IoU 1/3 at iou_threshold 1/3": ("ambiguous", None),
    # NMS-8: at t = 0 nothing can suppress (a box suppresses others only while its own largest
    # IoU is < t, never true for t = 0), so overlapping boxes are all kept.
    "threshold 0 suppresses every positive overlap": ("fail", []),
    "chain and touching boxes given as yxyx": ("fail", []),
    # NMS-9 / NMS-4: a box whose coordinates are all <= 0 counts as padding and is never output.
    "boxes at and left of the origin": ("fail", []),
    # NMS-1: N = 0 raises ValueError (slice out of bounds while canonicalising coordinates).
    "no boxes": ("raised", None),
}


@pytest.mark.clause("NMS-1", "NMS-3", "NMS-4", "NMS-8", "NMS-9", "NMS-11")
def test_tensorflow_padded_nms_disagreements_are_pinned(tensorflow_target):
    from conformance.targets.tensorflow_target import TensorFlowPaddedTarget

    target = TensorFlowPaddedTarget()
    target.setup("float32", "cpu")
    # Each new shape retraces the tf.function: the known cases and a few that pass are enough.
    check_corpus(target, "nms", "float32", PADDED_KNOWN,
                 also=("a chain", "identical boxes, equal scores", "zero-area boxes are always kept"))


# ----------------------------------------------------------------------------- torchvision


@pytest.mark.clause("IOU-1", "IOU-3", "NMS-3", "NMS-BATCH-2")
def test_torchvision_adapter_agrees_with_the_reference():
    pytest.importorskip("torchvision", reason="torchvision is not installed (no build for this torch here)")
    target = ready("conformance.targets.torchvision_target:TorchvisionTarget", "float32")
    for op in ("box_iou", "nms", "batched_nms"):
        for case in DETECTION_CORPUS[op]:
            status, detail, variants, mine, _ = judge(target, op, case, "float32")
            # IOU-3: torchvision's box_iou divides 0 by 0 for two zero-area boxes (NaN); NMS with a
            # NaN IoU keeps the box, as the spec does. NMS-BATCH-2 / NMS-11: its coordinate offsets
            # round in float32 far from the origin.
            assert status in ("pass", "ambiguous", "unsupported") or "zero-area" in case.note \
                or "class offsets" in case.note, (op, case.note, status, detail, variants)


def test_torchvision_target_is_reported_as_not_installed_when_missing():
    from conformance.targets.torchvision_target import TorchvisionTarget

    assert TorchvisionTarget.name == "torchvision" and "torchvision" in TorchvisionTarget.requires
    if TorchvisionTarget.missing() is None:
        pytest.skip("torchvision is installed")
    with pytest.raises(TargetUnavailable, match="torchvision"):
        load_target("conformance.targets.torchvision_target:TorchvisionTarget")


def _stand_in_torchvision(monkeypatch: Any) -> None:
    """A module named torchvision whose ops follow the torchvision.ops documentation, in torch:
    enough to exercise the adapter's conversions and options without the library."""
    import types

    torch = pytest.importorskip("torch", reason="torch is not installed")

    def box_convert(b, in_fmt, out_fmt):
        assert out_fmt == "xyxy"
        c0, c1, c2, c3 = b.unbind(-1)
        if in_fmt == "xywh":
            return torch.stack([c0, c1, c0 + c2, c1 + c3], -1)
        return torch.stack([c0 - 0.5 * c2, c1 - 0.5 * c3, c0 + 0.5 * c2, c1 + 0.5 * c3], -1)

    def box_iou(a, b):
        area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])  # noqa: E731
        lt = torch.max(a[:, None, :2], b[None, :, :2])
        rb = torch.min(a[:, None, 2:], b[None, :, 2:])
        wh = (rb - lt).clamp(min=0)
        inter = wh[..., 0] * wh[..., 1]
        union = area(a)[:, None] + area(b)[None, :] - inter
        return torch.where(union > 0, inter / torch.where(union > 0, union, 1), torch.zeros_like(inter))

    def nms(boxes, scores, t):
        order = torch.sort(scores, descending=True, stable=True).indices
        iou = box_iou(boxes, boxes)
        keep = []
        for i in order.tolist():
            if all(float(iou[k, i]) <= t for k in keep):
                keep.append(i)
        return torch.tensor(keep, dtype=torch.int64)

    def batched_nms(boxes, scores, idxs, t):
        keep = [i for c in idxs.unique().tolist() for i in
                torch.nonzero(idxs == c).flatten()[nms(boxes[idxs == c], scores[idxs == c], t)].tolist()]
        keep = torch.tensor(sorted(keep), dtype=torch.int64)
        return keep[torch.sort(scores[keep], descending=True, stable=True).indices] if keep.numel() else keep

    ops = types.ModuleType("torchvision.ops")
    ops.box_convert, ops.box_iou, ops.nms, ops.batched_nms = box_convert, box_iou, nms, batched_nms
    # The adapter's setup also loads the transforms its augmentation ops use: empty stand-ins.
    transforms = types.ModuleType("torchvision.transforms")
    transforms.InterpolationMode = types.SimpleNamespace(NEAREST="nearest", BILINEAR="bilinear")
    v2 = types.ModuleType("torchvision.transforms.v2")
    functional = types.ModuleType("torchvision.transforms.v2.functional")
    transforms.v2, v2.functional = v2, functional
    tv = types.ModuleType("torchvision")
    tv.ops, tv.transforms, tv.__version__ = ops, transforms, "stand-in"
    for name, module in [("torchvision", tv), ("torchvision.ops", ops), ("torchvision.transforms", transforms),
                         ("torchvision.transforms.v2", v2), ("torchvision.transforms.v2.functional", functional)]:
        monkeypatch.setitem(sys.modules, name, module)


@pytest.mark.clause("BOX-2", "BOX-3", "IOU-1", "NMS-3", "NMS-BATCH-2", "NMS-BATCH-3")
def test_torchvision_adapter_maps_formats_and_options_through_a_stand_in(monkeypatch):
    _stand_in_torchvision(monkeypatch)
    from conformance.targets.torchvision_target import TorchvisionTarget

    for dtype in ("float32", "bfloat16"):
        target = TorchvisionTarget()
        target.setup(dtype, "cpu")
        assert target.version() == "stand-in"
        for op in ("box_iou", "nms", "batched_nms"):
            for case in DETECTION_CORPUS[op]:
                if case.arrays.get("boxes", case.arrays.get("boxes1")).shape[0] > 50:
                    continue  # the stand-in's NMS is a Python loop
                status, detail, *_ = judge(target, op, case, dtype)
                options = {"score_threshold", "max_output", "max_output_per_class"} & set(case.params)
                if options:
                    assert status == "unsupported" and "no " in detail, (op, case.note, status)
                elif dtype == "bfloat16" and op != "box_iou":
                    assert status in ("pass", "ambiguous", "fail"), (op, case.note, status, detail)
                else:
                    assert status in ("pass", "ambiguous"), (dtype, op, case.note, status, detail)


# ----------------------------------------------------------------------------- the runner

RUNS: dict[str, list[str]] = {
    "onnxruntime": ["--target", "onnxruntime", "--dtype", "float32", "--ops", "nms,batched_nms,box_iou",
                    "--examples", "20"],
    "opencv": ["--target", "opencv", "--dtype", "float32", "--ops", "nms,batched_nms,soft_nms",
               "--examples", "15"],
    "tensorflow": ["--target", "tensorflow", "--dtype", "float32", "--ops", "nms,batched_nms,soft_nms",
                   "--examples", "15"],
    "suppress-on-equal": ["--target", str(TARGETS / "nms_suppress_on_equal.py"), "--ops", "nms,batched_nms",
                          "--examples", "20"],
    "plus-one-pixel": ["--target", str(TARGETS / "nms_plus_one_pixel.py"), "--ops", "box_iou,nms",
                       "--examples", "20"],
    "no-tie-rule": ["--target", str(TARGETS / "nms_no_tie_rule.py"), "--ops", "nms", "--examples", "20"],
}
NEEDS = {"onnxruntime": "onnxruntime", "opencv": "cv2", "tensorflow": "tensorflow"}


class Runs:
    """The runner subprocesses of this module, started together on first use (only those whose
    tests are selected), each awaited when a test asks for its report."""

    def __init__(self, keys: set[str], folder: Path) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
        self.procs: dict[str, tuple[subprocess.Popen, Path]] = {}
        for key in sorted(keys):
            out = folder / f"{key}.json"
            cmd = [sys.executable, "-m", "conformance", "run", "--json", str(out), *RUNS[key]]
            self.procs[key] = (subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                                stderr=subprocess.STDOUT, text=True), out)

    def report(self, key: str) -> tuple[int, dict[str, dict]]:
        proc, out = self.procs[key]
        text, _ = proc.communicate(timeout=600)
        assert out.exists(), f"no report from {key}:\n{text[-4000:]}"
        return proc.returncode, {r["op"]: r for r in json.loads(out.read_text())["results"]}

    def close(self) -> None:
        for proc, _ in self.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.communicate()


@pytest.fixture(scope="module", autouse=True)
def runs(request, tmp_path_factory):
    keys = {item.callspec.params["run"] for item in request.session.items
            if item.module is request.module and hasattr(item, "callspec") and "run" in item.callspec.params}
    keys = {k for k in keys if k not in NEEDS or _installed(NEEDS[k])}
    r = Runs(keys, tmp_path_factory.mktemp("detection-runs"))
    yield r
    r.close()


def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _run(runs: Runs, key: str) -> tuple[int, dict[str, dict]]:
    if key in NEEDS and not _installed(NEEDS[key]):
        pytest.skip(f"{NEEDS[key]} is not installed")
    return runs.report(key)


def _repro_boxes(ce: dict) -> np.ndarray:
    """The boxes of a counterexample, read back from its reproduction snippet."""
    line = next(x for x in ce["repro"].splitlines() if x.startswith("boxes = "))
    scope: dict[str, Any] = {"np": np}
    exec(line, scope)  # noqa: S102 - the runner's own snippet: one array literal
    return scope["boxes"]


@pytest.mark.parametrize("run", ["onnxruntime"])
@pytest.mark.clause("NMS-11", "NMS-BATCH-3", "TOL-4")
def test_runner_on_onnxruntime_passes_with_near_threshold_cases_ambiguous(runs, run):
    code, r = _run(runs, run)
    # Every valid case conforms; ONNX Runtime's findings are all on inputs the spec rules out
    # (rejection conformance: a negative max_output, inverted boxes, NaN scores accepted).
    for op in ("nms", "batched_nms"):
        assert r[op]["failures"] == r[op]["accepted"], r[op]["variant_detail"]
        assert all(f["kind"] == "accepts-invalid" for f in r[op]["findings"])
    assert r["nms"]["ambiguous"] >= 1  # the curated IoU one float64 ulp above the threshold (NMS-11)
    assert r["batched_nms"]["passed"] >= 20
    assert r["box_iou"]["status"] == "not-implemented"  # ONNX has no IoU operator


@pytest.mark.parametrize("run", ["opencv"])
@pytest.mark.clause("IOU-3", "NMS-9", "NMS-6", "NMS-SOFT-4", "NMS-11")
def test_runner_on_opencv_reports_its_disagreements(runs, run):
    code, r = _run(runs, run)
    assert code == 1
    for op in ("nms", "batched_nms"):
        # IOU-3 / NMS-9 (zero-area boxes have IoU 1 in OpenCV) and NMS-6 (top_k limits the
        # candidates): no variant of the spec is named for either, so at most some failing cases
        # match a variant by coincidence ("mixed"), never all of them.
        assert r[op]["status"] == "fail" and r[op]["failures"] >= 1
        ce = r[op]["counterexample"]
        b = _repro_boxes(ce)
        fmt = ce["params"].get("fmt", "xyxy")
        assert (box_area(b.astype(np.float64), fmt=fmt) == 0).any() or "max_output" in ce["params"], ce
        assert r[op]["variant"] == "no known variant" or r[op]["variant"].startswith("mixed")
    assert r["nms"]["ambiguous"] >= 1
    # NMS-SOFT-4: softNMSBoxes keeps a score equal to score_threshold (most generated Soft-NMS cases
    # have non-integer boxes, which softNMSBoxes cannot take: Unsupported).
    soft = r["soft_nms"]
    assert soft["status"] == "fail" and "score-threshold-inclusive (NMS-SOFT-4" in soft["variant_detail"]
    assert soft["unsupported"] >= 1


@pytest.mark.parametrize("run", ["tensorflow"])
@pytest.mark.clause("NMS-5", "NMS-6", "NMS-BATCH-3", "NMS-SOFT-2", "NMS-11")
def test_runner_on_tensorflow_reports_its_disagreements(runs, run):
    code, r = _run(runs, run)
    assert code == 1
    nms = r["nms"]
    # NMS-5: the only failing valid case is the curated -inf score (dropped without a score threshold);
    # the other findings are on inputs the spec rules out (rejection conformance).
    assert nms["status"] == "fail" and nms["failures"] - nms["accepted"] == 1 and nms["ambiguous"] >= 1
    valid = [f for f in nms["findings"] if f["kind"] != "accepts-invalid"]
    assert len(valid) == 1 and valid[0]["counterexample"]["note"].startswith("+inf ranks first"), valid
    # NMS-BATCH-3 (equal scores of different classes in arbitrary order) and NMS-6 (combined NMS
    # refuses max_output_size_per_class = 0: an error, which the runner records as a failure).
    batched = r["batched_nms"]
    assert batched["status"] == "fail" and batched["failures"] >= 2
    # NMS-SOFT-2: TensorFlow's soft_nms_sigma halves the spec's decay exponent.
    soft = r["soft_nms"]
    valid = [f for f in soft["findings"] if f["kind"] != "accepts-invalid"]
    assert soft["status"] == "fail"
    assert [(f["variant"], f["clause"]) for f in valid] == [("tf-half-sigma", "NMS-SOFT-2")]


PLANTED = [
    ("suppress-on-equal", "nms", "NMS-3", "suppress-on-equal"),
    ("suppress-on-equal", "batched_nms", "NMS-3", "suppress-on-equal"),
    ("plus-one-pixel", "nms", "NMS-3", "plus-one-pixel"),
    ("plus-one-pixel", "box_iou", "BOX-4", "plus-one-pixel"),
    ("no-tie-rule", "nms", "NMS-2", "no-tie-rule"),
]


@pytest.mark.parametrize("run,op,clause,variant", PLANTED, ids=[f"{p[0]}-{p[1]}" for p in PLANTED])
@pytest.mark.clause("NMS-2", "NMS-3", "BOX-4", "NMS-11")
def test_a_planted_nms_fault_is_caught_with_its_clause_and_variant(runs, run, op, clause, variant):
    code, r = _run(runs, run)
    assert code == 1
    res = r[op]
    assert res["status"] == "fail" and res["clause"] == clause
    assert variant in res["variant"].split(" or ")
    assert res["counterexample"]["repro"]
