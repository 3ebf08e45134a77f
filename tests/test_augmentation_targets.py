"""The augmentation ops in the runner: adapters, diagnosis of conventions, the HTML report.

Each library adapter is checked twice. In process, its methods are judged against the
reference the way the runner judges them (inputs rounded to the run dtype, the AUG-24 error
model, the ambiguity hook) on the conventions where the library follows the spec. Through
``python -m conformance run`` in a subprocess, as a user runs it, the runner must name the
convention the library follows where it does not (OpenCV's nearest ties go to the even
index, SciPy's "constant" fill does not blend, TensorFlow's brightness adds, ...). Planted-
fault targets (tests/targets/aug_*.py) are caught with their clause and variant.

Every run starts at once in the background (:class:`Runs`), two cores' worth at a time, and
passes ``-p tests.targets.aug_no_explain`` so that Hypothesis skips its slow explain phase;
what the runner finds and reports is unchanged.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import reference.augmentation as aug
from conformance.ops import OPS
from conformance.ops_augmentation import FLOAT_OPS, UINT8_OPS, corpus_cases, sample_points
from conformance.runner import Record, Tally, in_process, rounded
from conformance.strategies.conv import Case
from conformance.targets import TargetUnavailable, Unsupported, load_target
from conformance.tolerance import compare
from conformance.variants import variants_for

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ROOT / "tests" / "targets"
TMP = Path(os.environ.get("CNNSPEC_AUG_TMP", "")) if os.environ.get("CNNSPEC_AUG_TMP") else None


def _installed(*mods: str) -> bool:
    return all(importlib.util.find_spec(m) is not None for m in mods)


# ------------------------------------------------------------------------------- runs


#: name -> (target, ops, dtype, the libraries it needs, extra arguments)
RUNS: dict[str, tuple[str, str, str, tuple[str, ...], tuple[str, ...]]] = {
    "opencv": ("opencv", "rotate,translate,zoom,shear,affine,hflip,vflip,adjust_brightness,channel_shift,"
               "translate_uint8,adjust_brightness_uint8,channel_shift_uint8", "float32", ("cv2", "onnx"), ()),
    "scipy": ("scipy", "rotate,translate,zoom,shear,affine,zoom_uint8", "float64", ("scipy",), ()),
    "tensorflow": ("tensorflow", "adjust_brightness,samplewise_standardize,zoom,affine,hflip,vflip,"
                   "featurewise_fit,shear", "float32", ("tensorflow", "keras"), ()),
    "pillow": ("conformance.targets.pillow_target:PillowTarget", "adjust_brightness_uint8,affine,hflip,vflip,"
               "channel_shift,rescale,rotate,adjust_brightness", "float32", ("PIL",), ()),
    "clockwise": (str(TARGETS / "aug_clockwise_rotate.py"), "rotate", "float64", (), ("--html", "{html}")),
    "additive": (str(TARGETS / "aug_additive_brightness.py"), "adjust_brightness,adjust_brightness_uint8",
                 "float64", (), ()),
    "half-down": (str(TARGETS / "aug_round_half_down.py"), "translate", "float64", (), ()),
    "truncating": (str(TARGETS / "aug_truncating_uint8.py"), "adjust_brightness,adjust_brightness_uint8",
                   "float64", (), ()),
}
EXAMPLES = "8"
PARALLEL = 2


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return env


class Runs:
    """The cnnspec runs of this module, started together (PARALLEL at a time) on first use."""

    def __init__(self, folder: Path, names: list[str]) -> None:
        self.folder = folder
        self.names = [n for n in names if _installed(*RUNS[n][3])]
        self.done: dict[str, threading.Event] = {n: threading.Event() for n in self.names}
        self.procs: dict[str, subprocess.CompletedProcess] = {}
        self.slots = threading.Semaphore(PARALLEL)
        for n in self.names:
            threading.Thread(target=self._run, args=(n,), daemon=True).start()

    def paths(self, name: str) -> tuple[Path, Path]:
        return self.folder / f"{name}.json", self.folder / f"{name}.html"

    def _run(self, name: str) -> None:
        target, ops, dtype, _, extra = RUNS[name]
        out, page = self.paths(name)
        args = [sys.executable, "-m", "conformance", "run", "--target", target, "--ops", ops, "--dtype", dtype,
                "--examples", EXAMPLES, "--json", str(out)] + [a.format(html=page) for a in extra] + \
               ["--", "-p", "tests.targets.aug_no_explain"]
        with self.slots:
            try:
                self.procs[name] = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=900,
                                                  env=_env())
            finally:
                self.done[name].set()

    def report(self, name: str) -> tuple[subprocess.CompletedProcess, dict[str, dict[str, Any]]]:
        assert name in self.done, f"run {name} was not started"
        self.done[name].wait()
        proc = self.procs[name]
        out, _ = self.paths(name)
        assert out.exists(), f"no report from {name}; stderr:\n{proc.stderr[-3000:]}\nstdout:\n{proc.stdout[-3000:]}"
        report = json.loads(out.read_text())
        return proc, {r["op"]: r for r in report["results"]}


@pytest.fixture(scope="module")
def runs(request: Any, tmp_path_factory: Any) -> Runs:
    """Starts every run the selected tests of this module use (their ``run`` parameter)."""
    wanted: list[str] = []
    for item in request.session.items:
        if getattr(item, "module", None) is request.module:
            wanted += [n for n in getattr(item.function, "aug_runs", ()) if n not in wanted]
    return Runs(TMP or tmp_path_factory.mktemp("aug_runs"), wanted)


def runs_mark(*names: str) -> Any:
    """Names the runs a test reads, so that the ``runs`` fixture starts them all at once."""
    def mark(fn: Any) -> Any:
        fn.aug_runs = names
        return fn
    return mark


def variants(r: dict[str, Any]) -> list[str]:
    """The variant names of a result's findings (each may name several: "a or b")."""
    return [name for f in r["findings"] for name in f["variant"].split(" or ") if f["variant"]]


def passes(r: dict[str, Any]) -> bool:
    return r["status"] == "pass" and r["failures"] == 0 and r["passed"] + r["ambiguous"] == r["cases"] > 0


# ------------------------------------------------------------------ in-process judging


def judge(target: Any, case: Case, dtype: str, op: str | None = None) -> str:
    """What the runner would say of ``target`` on ``case``: pass / ambiguous / fail / unsupported."""
    op = op or case.op
    return in_process(target, dtype, [op]).check(op, case, "corpus").status


def with_params(case: Case, **params: Any) -> Case:
    return Case(case.op, dict(case.arrays), {**case.params, **params}, case.exact, case.note)


def case_of(note: str) -> Case:
    return next(c for c in corpus_cases() if c.note == note)


# ------------------------------------------------------------------------ the registry


@pytest.mark.clause("AUG-1", "AUG-2")
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_every_augmentation_op_is_registered_with_a_uint8_twin_for_the_value_preserving_ones(data):
    assert set(FLOAT_OPS) | set(UINT8_OPS) <= set(OPS)
    op = data.draw(st.sampled_from(UINT8_OPS))
    case = data.draw(OPS[op].strategy())
    assert case.arrays["x"].dtype == np.uint8 and case.op == op[:-len("_uint8")]
    op = data.draw(st.sampled_from(["rotate", "affine", "adjust_brightness", "samplewise_standardize"]))
    assert data.draw(OPS[op].strategy()).arrays["x"].dtype == np.float64


@pytest.mark.clause("AUG-3", "AUG-5", "AUG-9", "AUG-12", "AUG-18", "AUG-23")
def test_every_named_variant_of_the_spec_is_diagnosable_on_the_ops_it_concerns():
    names = {v.name for op in FLOAT_OPS for v in variants_for(op)}
    spec = {n for ns in aug.AUG_VARIANTS.values() for n in ns} - {"truncate-to-uint8"}
    assert spec <= names
    assert "truncate-to-uint8" in {v.name for v in variants_for("adjust_brightness_uint8")}
    assert {v.clause for v in variants_for("rotate") if v.name == "clockwise"} == {"AUG-12"}
    assert {v.clause for v in variants_for("shear") if v.name == "clockwise"} == {"AUG-15"}


@pytest.mark.clause("AUG-24", "AUG-6", "AUG-4")
@settings(max_examples=30, deadline=None)
@given(case=OPS["rotate"].strategy())
def test_a_float32_computation_of_the_sample_points_passes_the_resampling_bound(case):
    """AUG-24: a bilinear warp whose matrix and coordinates are computed in float32 is inside
    the bound of a float32 run (a float32 map of the reference's own formula)."""
    case = with_params(case, interpolation="bilinear")
    sent, mine = rounded(case, "float32")
    m = aug.rotation_matrix(case.params["angle"], *case.arrays["x"].shape[2:]).astype(np.float32)
    got = aug.affine(sent.arrays["x"], m.astype(np.float64), **{k: v for k, v in case.params.items()
                                                                   if k != "angle"}).astype(np.float32)
    (_, ref, scale, terms), = OPS["rotate"].measure(mine)
    assert compare(ref, got, dtype="float32", scale=scale, terms=terms, check_rms=False).ok


@pytest.mark.clause("AUG-24", "AUG-5")
def test_a_tie_in_exact_arithmetic_is_the_spec_s_and_a_tie_through_trigonometry_is_ambiguous():
    half = case_of("half-pixel shift: every point on a nearest tie")
    down = aug.translate(*half.arrays.values(), **half.params, variants=("round-half-down",))
    assert OPS["translate"].ambiguous(half, (down,)) is None  # exact ties: AUG-5 decides, it fails
    quarter = case_of("quarter turn of an odd H-W image: centres land on ties")
    down = aug.rotate(*quarter.arrays.values(), **quarter.params, variants=("round-half-down",))
    assert not np.array_equal(down, aug.rotate(*quarter.arrays.values(), **quarter.params))
    assert "rounding tie" in OPS["rotate"].ambiguous(quarter, (down,))  # cos 90° = 6e-17 in a library
    clockwise = aug.rotate(*quarter.arrays.values(), **quarter.params, variants=("clockwise",))
    assert OPS["rotate"].ambiguous(quarter, (clockwise,)) is None  # not a tie: a different rotation
    u, v, _ = sample_points(quarter)
    assert (np.abs(u + 0.5 - np.round(u + 0.5)) == 0).any()  # the corpus case does sit on ties


@pytest.mark.clause("AUG-24", "AUG-2")
def test_uint8_rounding_ties_are_ambiguous_only_when_they_are_not_exact():
    x = np.array([[[[10, 13, 200, 7]]]], dtype=np.uint8)
    shift = Case("translate", {"x": x}, {"tx": 0.5, "ty": 0.0, "interpolation": "bilinear",
                                         "fill_mode": "nearest", "fill_value": 0.0})
    ref = aug.translate(x, 0.5, 0.0, interpolation="bilinear", fill_mode="nearest")
    half_up = np.floor(aug.translate(x.astype(np.float64), 0.5, 0.0, interpolation="bilinear",
                                     fill_mode="nearest") + 0.5).astype(np.uint8)
    assert not np.array_equal(ref, half_up)  # (13 + 200) / 2 = 106.5: 106 by AUG-2, 107 half up
    assert OPS["translate_uint8"].ambiguous(shift, (half_up,)) is None  # an exact tie: it fails
    x5 = np.array([[[[5, 15, 25, 35]]]], dtype=np.uint8)
    near = Case("adjust_brightness", {"x": x5}, {"factor": 0.7})
    ref = aug.adjust_brightness(x5, 0.7)  # 0.7 · 5 is 3.5 in float64, 3.4999999999999998 exactly
    other = ref.copy()
    other[0, 0, 0, 0] = 3 if ref[0, 0, 0, 0] == 4 else 4
    assert "rounding of .5" in OPS["adjust_brightness_uint8"].ambiguous(near, (other,))
    exact = Case("adjust_brightness", {"x": x5}, {"factor": 1.5})  # 1.5 · 5 = 7.5 exactly: 8 (even)
    truncated = aug.adjust_brightness(x5, 1.5, variants=("truncate-to-uint8",))
    assert OPS["adjust_brightness_uint8"].ambiguous(exact, (truncated,)) is None


# ------------------------------------------------------------------------- planted faults

PLANTED = [
    ("clockwise", "rotate", "AUG-12", "clockwise"),
    ("additive", "adjust_brightness", "AUG-18", "additive-brightness"),
    ("additive", "adjust_brightness_uint8", "AUG-18", "additive-brightness"),
    ("half-down", "translate", "AUG-5", "round-half-down"),
    ("truncating", "adjust_brightness_uint8", "AUG-2", "truncate-to-uint8"),
]


@pytest.mark.parametrize("run,op,clause,variant", PLANTED, ids=[f"{p[0]}-{p[1]}" for p in PLANTED])
@pytest.mark.clause("AUG-12", "AUG-18", "AUG-5", "AUG-2")
@runs_mark("clockwise", "additive", "half-down", "truncating")
def test_a_planted_augmentation_fault_is_caught_with_its_clause_and_variant(runs, run, op, clause, variant):
    proc, results = runs.report(run)
    assert proc.returncode == 1, proc.stdout[-3000:]
    r = results[op]
    # The planted modules validate nothing, so they also have accepts-invalid findings (issue 13); on
    # valid cases the planted convention is the one finding, and it explains every failing case.
    valid = [f for f in r["findings"] if f["kind"] != "accepts-invalid"]
    assert r["status"] == "fail" and [f["clause"] for f in valid] == [clause], r["variant_detail"]
    assert variant in valid[0]["variant"].split(" or "), r["variant_detail"]
    assert valid[0]["counterexample"]["repro"]


@pytest.mark.clause("AUG-18", "AUG-2")
@runs_mark("truncating")
def test_a_fault_in_the_uint8_path_leaves_the_float_op_passing(runs):
    _, results = runs.report("truncating")
    r = results["adjust_brightness"]
    assert all(f["kind"] == "accepts-invalid" for f in r["findings"]), r["variant_detail"]  # it validates nothing
    assert r["passed"] + r["ambiguous"] == r["checked"] > 0, r


@pytest.mark.clause("AUG-12")
@runs_mark("clockwise")
def test_an_html_run_draws_the_failing_cases(runs):
    runs.report("clockwise")
    page = runs.paths("clockwise")[1].read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "</html>" in page
    assert page.count("<img") >= 3 and "data:image/png;base64," in page
    assert "rotate" in page and "clockwise" in page and "AUG-12" in page
    assert "Variants matching this case: clockwise (AUG-12)" in page


@pytest.mark.clause("AUG-12")
def test_the_html_page_is_written_without_matplotlib_with_a_note(tmp_path, monkeypatch):
    from conformance.config import RunConfig
    from conformance.html_report import write_html

    case = case_of("30 degrees counter-clockwise")
    got = aug.rotate(*case.arrays.values(), **case.params, variants=("clockwise",))
    tally = Tally("rotate", cases=1, failed=1)
    rec = Record("rotate", "fail", "corpus", case, "TOL-2", "error up to 1e+16x the float64 bound", got=(got,),
                 kind="value")
    tally.add_finding(rec, "AUG-12", "clockwise")
    report = {"target": "t", "results": [{"op": "rotate", "status": "fail", "failures": 1,
                                          "variant": "clockwise", "clause": "AUG-12"}]}
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    path = tmp_path / "page.html"
    write_html(str(path), RunConfig("t", ["rotate"]), {"rotate": tally}, report)
    page = path.read_text(encoding="utf-8")
    assert "matplotlib is not installed" in page and "<img" not in page
    assert "Variants matching this case: clockwise (AUG-12)" in page


# ---------------------------------------------------------------------------------- OpenCV


def _opencv_before_5_1() -> bool:
    """OpenCV 5.0 (or older) is installed. False when cv2 is missing (the tests then skip)."""
    if not _installed("cv2"):
        return False
    import cv2

    return tuple(int(v) for v in cv2.__version__.split(".")[:2]) < (5, 1)


OPENCV_BEFORE_5_1 = _opencv_before_5_1()


def _opencv(dtype: str = "float32") -> Any:
    pytest.importorskip("cv2", reason="opencv (cv2) is not installed")
    pytest.importorskip("onnx", reason="onnx is not installed (the opencv target needs it)")
    from conformance.targets.opencv_target import OpenCVTarget

    t = OpenCVTarget()
    t.setup(dtype, "cpu")
    return t


@pytest.mark.clause("AUG-3", "AUG-5", "AUG-12", "AUG-13", "AUG-15", "AUG-16", "AUG-17", "AUG-18", "AUG-19",
                    "AUG-24")
@runs_mark("opencv")
def test_opencv_follows_the_spec_but_for_its_even_ties_and_its_integer_centred_matrices(runs):
    pytest.importorskip("cv2", reason="opencv (cv2) is not installed")
    pytest.importorskip("onnx", reason="onnx is not installed (the opencv target needs it)")
    _, r = runs.report("opencv")
    conforming = ["rotate", "shear", "hflip", "vflip", "adjust_brightness", "channel_shift", "adjust_brightness_uint8"]
    for op in conforming + ([] if OPENCV_BEFORE_5_1 else ["channel_shift_uint8"]):
        assert passes(r[op]), (op, r[op])
    # getRotationMatrix2D about ((w-1)/2, (h-1)/2) is the spec's rotation; only the even tie
    # rule differs, at the quarter turn of an odd H-W image, where ties come through cos 90°
    assert r["rotate"]["ambiguous"] >= 1
    # nearest ties go to the even index (5.1: still with reflect / wrap fills and on one-row images)
    assert r["translate"]["status"] == "fail" and "round-half-even" in variants(r["translate"])
    assert r["translate_uint8"]["status"] == "fail"
    if OPENCV_BEFORE_5_1:
        assert "round-half-even" in variants(r["translate_uint8"])
        # cv2.add converts a fractional Scalar offset to the image depth first: x + 21.5 -> x + 22
        assert r["channel_shift_uint8"]["status"] == "fail"
    else:
        # 5.1: the outer-edge nearest sample and the bilinear uint8 ties of a replicate fill (AUG-13,
        # no named variant; test_opencv_5_1_*)
        assert any(f["clause"] == "AUG-13" and not f["variant"] for f in r["translate_uint8"]["findings"]), \
            r["translate_uint8"]["findings"]
    assert r["affine"]["status"] == "fail" and "integer-centres" in variants(r["affine"])


@pytest.mark.clause("AUG-5", "AUG-8")
@pytest.mark.xfail(OPENCV_BEFORE_5_1, strict=True, raises=AssertionError,
                   reason="OpenCV 5.0 (fixed in 5.1): nearest ties go to the "
                   "even index (AUG-5 round-half-even)")
def test_opencv_nearest_ties_of_a_replicate_warp_of_a_multi_row_image_round_half_up():
    """OpenCV 5.1 rounds a nearest tie half up (AUG-5) in warpAffine with BORDER_CONSTANT or
    BORDER_REPLICATE on images of more than one row."""
    case = with_params(case_of("half-pixel shift: every point on a nearest tie"), fill_mode="nearest")
    assert judge(_opencv(), case, "float32") == "pass"


@pytest.mark.clause("AUG-5")
@pytest.mark.parametrize("fill_mode,rows", [("reflect", 4), ("wrap", 4), ("nearest", 1)])
@pytest.mark.xfail(strict=True, raises=AssertionError, reason="OpenCV's warpAffine rounds nearest ties to the "
                   "even index (AUG-5 variant round-half-even) with BORDER_REFLECT / BORDER_WRAP, and on a "
                   "one-row image whatever the border; AUG-5 rounds half up")
def test_opencv_nearest_ties_round_half_up_with_every_fill_and_every_image_height(fill_mode, rows):
    x = np.arange(1, 6 * rows + 1, dtype=np.float32).reshape(1, 1, rows, 6)
    kw = {"interpolation": "nearest", "fill_mode": fill_mode, "fill_value": 0.0}
    np.testing.assert_array_equal(_opencv().translate(x, 0.5, 0.0, **kw), aug.translate(x, 0.5, 0.0, **kw))


@pytest.mark.clause("AUG-5", "AUG-7")
@pytest.mark.xfail(not OPENCV_BEFORE_5_1, strict=True, raises=AssertionError,
                   reason="OpenCV 5.1's warpAffine (INTER_NEAREST, BORDER_CONSTANT, more than one row) reads "
                   "the last pixel at a point on the image's outer edge: tx = -0.5 maps column W-1 to "
                   "u = W - 1/2, which AUG-5 rounds to W, outside: the fill value (AUG-7)")
def test_opencv_5_1_nearest_sample_on_the_outer_edge_of_a_constant_warp_is_the_fill():
    x = np.arange(1, 25, dtype=np.float32).reshape(1, 1, 4, 6)
    kw = {"interpolation": "nearest", "fill_mode": "constant", "fill_value": 0.0}
    got, want = _opencv().translate(x, -0.5, 0.0, **kw), aug.translate(x, -0.5, 0.0, **kw)
    np.testing.assert_array_equal(got[..., -1], want[..., -1])  # OpenCV 5.1: x[..., -1]; the spec: 0


@pytest.mark.clause("AUG-2", "AUG-6", "AUG-8")
@pytest.mark.xfail(not OPENCV_BEFORE_5_1, strict=True, raises=AssertionError,
                   reason="OpenCV 5.1's bilinear warpAffine of a uint8 "
                   "image with BORDER_REPLICATE (more than one row) rounds a .5 result half up "
                   "(the mean of 0 and 1 gives 1); AUG-2 rounds half to even")
def test_opencv_5_1_bilinear_uint8_ties_of_a_replicate_warp_round_half_to_even():
    case = case_of("half-pixel shift averages neighbours: .5 ties round to even (uint8)")
    assert judge(_opencv(), case, "float32", op="translate_uint8") == "pass"


@pytest.mark.clause("AUG-2", "AUG-19")
@pytest.mark.xfail(OPENCV_BEFORE_5_1, strict=True, raises=AssertionError,
                   reason="OpenCV 5.0 (fixed in 5.1): cv2.add converts a "
                   "fractional Scalar offset to the image depth first (x + 21.5 gives x + 22 for odd x); "
                   "AUG-2 rounds x + 21.5 half to even")
def test_opencv_adds_a_fractional_offset_to_uint8_and_rounds_once():
    case = case_of("offsets saturate at 0 and 255, a .5 offset makes ties (uint8)")
    assert judge(_opencv(), case, "float32", op="channel_shift_uint8") == "pass"


@pytest.mark.clause("AUG-7", "AUG-8", "AUG-9", "AUG-10", "AUG-13", "AUG-24")
@settings(max_examples=25, deadline=None)
@given(case=OPS["translate"].strategy(), mode=st.sampled_from(["constant", "nearest", "reflect", "wrap"]))
def test_opencv_borders_are_the_spec_s_fill_modes_in_bilinear_warps(case, mode):
    assert judge(_opencv(), with_params(case, interpolation="bilinear", fill_mode=mode), "float32") == "pass"


@pytest.mark.clause("AUG-24", "AUG-6")
def test_opencv_float64_warps_sample_on_a_32nd_of_a_pixel_which_the_bound_does_not_hide():
    pytest.importorskip("cv2", reason="opencv (cv2) is not installed")
    pytest.importorskip("onnx", reason="onnx is not installed (the opencv target needs it)")
    from conformance.targets.opencv_target import OpenCVTarget

    case = Case("translate", {"x": np.arange(1, 31, dtype=np.float64).reshape(1, 1, 5, 6) ** 1.5},
                {"tx": 0.3, "ty": 0.0, "interpolation": "bilinear", "fill_mode": "nearest", "fill_value": 0.0})
    assert judge(OpenCVTarget(), case, "float64") == "fail"  # 0.3 is sampled at 0.3125
    assert judge(OpenCVTarget(), with_params(case, tx=0.3125), "float64") == "pass"


# ----------------------------------------------------------------------------------- SciPy


@pytest.mark.clause("AUG-4", "AUG-7", "AUG-3", "AUG-2")
@runs_mark("scipy")
def test_scipy_constant_mode_does_not_blend_and_its_matrices_are_inverse_yx_and_integer_centred(runs):
    pytest.importorskip("scipy", reason="scipy is not installed")
    _, r = runs.report("scipy")
    for op in ("rotate", "translate", "zoom"):
        assert r[op]["status"] == "fail" and "constant-outside-centres" in variants(r[op]), (op, r[op])
    assert "inverse-matrix+yx-order+integer-centres+constant-outside-centres" in variants(r["affine"])
    # nearest ties go away from zero: seen where a tie at u = -1.5 is read through reflect
    assert "round-half-away" in variants(r["translate"]), r["translate"]
    # integer outputs are rounded half up (176.5 -> 177), which no AUG-2 variant names
    assert r["zoom_uint8"]["status"] == "fail"


@pytest.mark.clause("AUG-6", "AUG-8", "AUG-9", "AUG-10", "AUG-12", "AUG-13", "AUG-14", "AUG-15")
@settings(max_examples=30, deadline=None)
@given(op=st.sampled_from(["rotate", "translate", "zoom", "shear"]), data=st.data(),
       mode=st.sampled_from(["nearest", "reflect", "wrap"]))
def test_scipy_agrees_with_the_spec_in_bilinear_warps_with_every_fill_mode_but_constant(op, data, mode):
    pytest.importorskip("scipy", reason="scipy is not installed")
    from conformance.targets.scipy_target import SciPyTarget

    t = SciPyTarget()
    t.setup("float64", "cpu")
    case = with_params(data.draw(OPS[op].strategy()), interpolation="bilinear", fill_mode=mode)
    assert judge(t, case, "float64") == "pass"


# ------------------------------------------------------------------------------ TensorFlow


@pytest.mark.clause("AUG-18", "AUG-23", "AUG-14", "AUG-4", "AUG-16", "AUG-17", "AUG-21")
@runs_mark("tensorflow")
def test_tensorflow_brightness_adds_its_standardisation_floors_and_keras_zoom_shrinks(runs):
    pytest.importorskip("tensorflow", reason="tensorflow is not installed")
    pytest.importorskip("keras", reason="keras is not installed")
    _, r = runs.report("tensorflow")
    assert r["adjust_brightness"]["variant"] == "additive-brightness", r["adjust_brightness"]
    assert r["adjust_brightness"]["clause"] == "AUG-18"
    assert r["samplewise_standardize"]["variant"] == "std-floor", r["samplewise_standardize"]
    assert any(v.startswith("zoom-shrinks") for v in variants(r["zoom"])), r["zoom"]
    assert any(v.startswith("inverse-matrix") for v in variants(r["affine"])), r["affine"]
    for op in ("hflip", "vflip", "featurewise_fit"):
        assert passes(r[op]), (op, r[op])
    assert r["shear"]["status"] == "unsupported"  # RandomShear flips its sign at random


# ---------------------------------------------------------------------------------- Pillow


@pytest.mark.clause("AUG-2", "AUG-4", "AUG-16", "AUG-17", "AUG-19", "AUG-20")
@runs_mark("pillow")
def test_pillow_truncates_uint8_and_reads_affine_data_as_the_inverse_map(runs):
    pytest.importorskip("PIL", reason="pillow is not installed")
    _, r = runs.report("pillow")
    assert r["adjust_brightness_uint8"]["variant"] == "truncate-to-uint8", r["adjust_brightness_uint8"]
    assert "inverse-matrix" in variants(r["affine"]), r["affine"]
    for op in ("hflip", "vflip", "channel_shift", "rescale"):
        assert passes(r[op]), (op, r[op])
    assert r["adjust_brightness"]["status"] == "unsupported"  # ImageEnhance refuses mode "F"


@pytest.mark.clause("AUG-5", "AUG-12", "AUG-13", "AUG-14", "AUG-15", "AUG-7")
@settings(max_examples=30, deadline=None)
@given(op=st.sampled_from(["rotate", "translate", "zoom", "shear"]), data=st.data())
def test_pillow_agrees_with_the_spec_on_nearest_warps(op, data):
    pytest.importorskip("PIL", reason="pillow is not installed")
    from conformance.targets.pillow_target import PillowTarget

    t = PillowTarget()
    t.setup("float32", "cpu")
    case = with_params(data.draw(OPS[op].strategy()), interpolation="nearest", fill_mode="constant")
    assert judge(t, case, "float32") in ("pass", "ambiguous")


@pytest.mark.clause("AUG-1")
def test_pillow_refuses_runs_it_cannot_compute_in_their_dtype():
    pytest.importorskip("PIL", reason="pillow is not installed")
    from conformance.targets.pillow_target import PillowTarget

    with pytest.raises(Unsupported, match="float32"):
        PillowTarget().setup("float64", "cpu")


# ----------------------------------------------------------------------------- torchvision


@pytest.mark.clause("AUG-12", "AUG-15", "AUG-16", "AUG-17", "AUG-18")
def test_the_torchvision_adapter_maps_its_documented_functions_and_is_reported_when_missing():
    from conformance.targets.torchvision_target import TorchvisionTarget

    for op in ("rotate", "translate", "zoom", "shear", "hflip", "vflip", "adjust_brightness",
               "featurewise_standardize", "rotate_uint8", "hflip_uint8", "adjust_brightness_uint8"):
        assert callable(getattr(TorchvisionTarget, op, None)), op
    assert not hasattr(TorchvisionTarget, "affine")  # torchvision's affine takes no matrix
    if _installed("torchvision"):
        pytest.skip("torchvision is installed here: its run is not pinned by this test")
    assert TorchvisionTarget.missing() == "torchvision"
    with pytest.raises(TargetUnavailable, match="torchvision"):
        load_target("conformance.targets.torchvision_target:TorchvisionTarget")
