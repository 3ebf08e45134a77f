"""Trust in a verdict: every finding kept and named by the rule it breaks, an exit status a CI job can
rely on, adapter errors kept apart from findings, and baselines of accepted findings.

Runs go through ``python -m conformance`` in a subprocess, as a user's would.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from test_runner import TARGETS, by_op, cnnspec, run_json

from conformance.strategies.conv import Case
from conformance.tally import Record, Tally


def _ops_run(tmp_path: Path, target: str, *args: str):
    return run_json(tmp_path, target, "--profile", "quick", *args)


# --- exit statuses ---------------------------------------------------------------------------


@pytest.mark.clause("SPEC-3")
def test_a_conforming_run_that_checked_cases_exits_0(tmp_path):
    proc, report = _ops_run(tmp_path, "reference", "--ops", "conv2d")
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert report["exit_status"] == 0 and by_op(report)["conv2d"]["checked"] > 0
    assert "exit status 0" in proc.stdout


@pytest.mark.clause("POOL-MAX-1")
def test_a_non_conformance_exits_1(tmp_path):
    proc, report = _ops_run(tmp_path, str(TARGETS / "zero_pad_max_pool.py"), "--ops", "max_pool2d")
    assert proc.returncode == 1 and report["exit_status"] == 1


@pytest.mark.clause("SPEC-3")
@pytest.mark.parametrize("args,says", [
    (["--target", "no_such_target_anywhere"], "not a built-in target"),
    (["--target", "tests/targets/zero_pad_max_pool.py:no_such_object"], "no attribute 'no_such_object'"),
    (["--target", "reference", "--timeout", "0"], "--timeout 0: must be > 0"),
    (["--target", "reference", "--ops", "conv3d"], "unknown op(s) conv3d"),
    (["--target", "reference", "--json", "/no/such/folder/r.json"], "does not exist"),
    (["--target", "reference", "--markdown", "/proc/cnnspec-report.md"], "not writable"),
])
def test_a_usage_error_exits_2_in_one_line_before_any_case_runs(args, says):
    t0 = time.perf_counter()
    proc = cnnspec("run", *args)
    assert proc.returncode == 2, (proc.stdout[-2000:], proc.stderr[-2000:])
    assert says in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert time.perf_counter() - t0 < 20  # refused before any case (well under 2 s of its own; the rest is Python)


@pytest.mark.clause("SPEC-3")
def test_a_target_module_with_a_syntax_error_is_a_usage_error(tmp_path):
    bad = tmp_path / "broken_syntax.py"
    bad.write_text("def conv2d(x, w:\n    return x\n")
    proc = cnnspec("run", "--target", str(bad))
    assert proc.returncode == 2 and "syntax error" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.clause("SPEC-3")
def test_a_target_module_that_fails_to_import_is_a_usage_error(tmp_path):
    bad = tmp_path / "fails_import.py"
    bad.write_text("import cnnspec_no_such_module_at_all\n")
    proc = cnnspec("run", "--target", str(bad))
    assert proc.returncode == 2 and "cnnspec_no_such_module_at_all" in proc.stderr


@pytest.mark.clause("SPEC-3")
def test_a_malformed_baseline_is_a_usage_error(tmp_path):
    bad = tmp_path / "b.json"
    bad.write_text("{not json")
    proc = cnnspec("run", "--target", "reference", "--baseline", str(bad))
    assert proc.returncode == 2 and "not valid JSON" in proc.stderr


@pytest.mark.clause("SPEC-3")
def test_a_module_that_defines_no_op_checks_nothing_and_exits_3(tmp_path):
    proc, report = _ops_run(tmp_path, str(TARGETS / "defines_nothing.py"))
    assert proc.returncode == 3, proc.stdout[-2000:]
    assert "defines none of the ops" in report["exit_reason"]


@pytest.mark.clause("SPEC-5")
def test_a_dtype_the_target_refuses_checks_nothing_and_exits_3_with_the_fix(tmp_path):
    pytest.importorskip("PIL", reason="pillow is not installed")
    proc, report = run_json(tmp_path, "pillow", "--ops", "hflip", "--examples", "2")  # default float64
    assert proc.returncode == 3
    assert "float32" in report["exit_reason"], report["exit_reason"]


@pytest.mark.clause("SPEC-3")
def test_a_device_the_target_lacks_checks_nothing_and_exits_3(tmp_path):
    proc, report = run_json(tmp_path, "reference", "--ops", "conv2d", "--examples", "2", "--device", "cuda")
    assert proc.returncode == 3 and "cuda" in report["exit_reason"]


@pytest.mark.clause("SPEC-3")
def test_an_adapter_with_a_misspelled_library_attribute_is_an_adapter_error_not_a_finding(tmp_path):
    proc, report = _ops_run(tmp_path, f"{TARGETS / 'broken_adapter.py'}:BrokenAdapter",
                            "--ops", "conv2d,max_pool2d")
    assert proc.returncode == 4, proc.stdout[-3000:]
    conv = by_op(report)["conv2d"]
    assert conv["status"] == "adapter-error" and conv["findings"] == [] and conv["failures"] == 0
    assert "AttributeError" in conv["adapter_error"] and "broken_adapter.py:" in conv["adapter_error"]
    assert by_op(report)["max_pool2d"]["status"] == "pass"  # the other op's adapter is fine and was judged
    assert "ADAPTER ERROR" in proc.stdout


@pytest.mark.clause("SPEC-3")
def test_a_pytest_plugin_that_cannot_load_is_a_usage_error():
    proc = cnnspec("run", "--target", "reference", "--ops", "conv2d", "--examples", "1", "--",
                   "-p", "cnnspec_no_such_plugin")
    assert proc.returncode == 2, (proc.stdout[-1500:], proc.stderr[-1500:])


# --- findings: kept, counted once, named by the rule they break -----------------------------


def _case(op: str = "conv2d", note: str = "") -> Case:
    return Case(op, {"x": np.zeros((1, 1, 2, 2)), "w": np.zeros((1, 1, 1, 1))}, {}, True, note)


KINDS = ["value", "shape", "nonfinite", "index", "raised", "crash", "timeout", "dtype", "type"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.clause("TOL-4", "TOL-5", "TOL-6")
def test_a_finding_met_only_by_the_first_curated_case_survives_ten_thousand_later_failures(kind):
    tally = Tally("conv2d")
    first = Record("conv2d", "fail", "corpus", _case(note="the only case of its kind"), "TOL-4", "r", kind=kind)
    tally.add_finding(first, "CONV-1" if kind != "shape" else "SIZE-3", "")
    other = "value" if kind != "value" else "shape"
    for i in range(10_000):
        rec = Record("conv2d", "fail", "generated", _case(), "TOL-2", f"later failure {i}", kind=other)
        tally.add_finding(rec, "CONV-3", "groups-ignored")
    assert len(tally.findings) == 2  # memory grows with signatures, not failures
    kept = [f for f in tally.findings.values() if f.kind == kind and f.variant == ""]
    assert len(kept) == 1 and kept[0].count == 1 and kept[0].example is first
    big = next(f for f in tally.findings.values() if f.variant == "groups-ignored")
    assert big.count == 10_000 and len(big.others) <= 2


@pytest.mark.clause("POOL-MAX-2", "POOL-MAX-3")
def test_a_nan_finding_of_onnxruntime_max_pooling_shows_beside_its_same_padding_finding(tmp_path):
    pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    md = tmp_path / "r.md"
    proc, report = run_json(tmp_path, "onnxruntime", "--dtype", "float32", "--ops", "max_pool2d",
                            "--markdown", str(md))
    findings = by_op(report)["max_pool2d"]["findings"]
    clauses = {(f["clause"], f["variant"]) for f in findings}
    assert ("SIZE-5", "same-undilated") in clauses and any(c == "POOL-MAX-2" for c, _ in clauses), clauses
    r = by_op(report)["max_pool2d"]
    assert r["failures"] == sum(f["count"] for f in findings)  # counted once, the same in table and findings
    text = md.read_text()
    for f in findings:
        assert f"## max_pool2d: {f['clause']} {f['variant'] or 'no known variant'}" in text
    assert "POOL-MAX-2" in proc.stdout and "Exit status 1" in text and "profile default" in text


@pytest.mark.clause("CONV-3")
def test_groups_mapping_channels_wrongly_is_named_conv_3_not_a_tolerance_rule(tmp_path):
    proc, report = _ops_run(tmp_path, str(TARGETS / "groups_ignored.py"), "--ops", "conv2d")
    r = by_op(report)["conv2d"]
    assert r["clause"] == "CONV-3", r["variant_detail"]
    assert all(f["measured_by"].startswith(("TOL", "SPEC")) for f in r["findings"])


@pytest.mark.clause("IOU-3")
def test_zero_area_boxes_with_iou_one_are_named_iou_3():
    from conformance.clauses import semantic_clause

    boxes = np.array([[1.0, 1.0, 1.0, 1.0], [2.0, 2.0, 4.0, 5.0]])  # a zero-area box and a proper one
    ref = np.array([[0.0, 0.0], [0.0, 1.0]])
    got = np.array([[1.0, 0.0], [0.0, 1.0]])  # IoU 1 for the zero-area box with itself
    assert semantic_clause("box_iou", "value", arrays={"boxes1": boxes, "boxes2": boxes}, ref=ref, got=got) == "IOU-3"
    got_wrong_elsewhere = np.array([[0.0, 0.0], [0.0, 0.5]])
    assert semantic_clause("box_iou", "value", arrays={"boxes1": boxes, "boxes2": boxes}, ref=ref,
                           got=got_wrong_elsewhere) == "IOU-1"


@pytest.mark.clause("POOL-MAX-1")
def test_a_zero_padding_max_pool_is_named_whatever_its_index_convention():
    import reference
    from conformance.runner import matches
    from conformance.variants import variants_for

    x = -np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    case = Case("max_pool2d", {"x": x}, {"kernel_size": 2, "stride": 1, "padding": 1, "return_indices": True}, True)
    y, idx = reference.max_pool2d(x, 2, stride=1, padding=1, return_indices=True)
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))  # zero padding wins over negative values
    got_y = np.maximum.reduce([padded[:, :, i:i + 4, j:j + 4] for i in (0, 1) for j in (0, 1)])
    got_idx = np.clip(idx, 0, None)  # a padding winner reported at a clipped in-range index, not -1
    rec = Record("max_pool2d", "fail", "corpus", case, "TOL-4", "", got=(got_y, got_idx), output="y", kind="value")
    zero_pad = next(v for v in variants_for("max_pool2d") if v.name == "zero-pad")
    assert matches(zero_pad, rec, "float64")


# --- baselines ---------------------------------------------------------------------------------


@pytest.mark.clause("POOL-MAX-1", "POOL-AVG-2")
def test_a_planted_fault_against_its_twins_baseline_exits_1_and_is_the_only_new_finding(tmp_path):
    base = tmp_path / "b.json"
    proc, _ = _ops_run(tmp_path, str(TARGETS / "twin_known.py"), "--ops", "max_pool2d,avg_pool2d",
                       "--write-baseline", str(base))
    assert proc.returncode == 1 and base.exists()
    accepted = json.loads(base.read_text())["findings"]
    assert [(f["op"], f["variant"]) for f in accepted] == [("avg_pool2d", "count-include-pad-flipped")]
    proc, _ = _ops_run(tmp_path, str(TARGETS / "twin_known.py"), "--ops", "max_pool2d,avg_pool2d",
                       "--baseline", str(base))
    assert proc.returncode == 0, proc.stdout[-2000:]  # every finding is known
    proc, report = _ops_run(tmp_path, str(TARGETS / "twin_planted.py"), "--ops", "max_pool2d,avg_pool2d",
                            "--baseline", str(base))
    assert proc.returncode == 1
    marks = {(f["op"], f["variant"]): f["baseline"] for r in report["results"] for f in r["findings"]}
    assert marks == {("avg_pool2d", "count-include-pad-flipped"): "known", ("max_pool2d", "zero-pad"): "new"}
    assert "NEW" in proc.stdout and "(known)" in proc.stdout


@pytest.mark.clause("POOL-AVG-2")
def test_a_baseline_entry_that_no_longer_occurs_is_listed_to_prune_and_a_mismatch_warns(tmp_path):
    base = tmp_path / "b.json"
    _ops_run(tmp_path, str(TARGETS / "twin_known.py"), "--ops", "avg_pool2d", "--write-baseline", str(base))
    proc, report = _ops_run(tmp_path, "reference", "--ops", "avg_pool2d", "--baseline", str(base))
    assert proc.returncode == 0
    assert [e["variant"] for e in report["baseline"]["fixed"]] == ["count-include-pad-flipped"]
    assert "fixed: prune" in proc.stdout
    assert any("target" in w for w in report["baseline"]["warnings"])


@pytest.mark.clause("SIZE-5", "POOL-MAX-2")
def test_onnxruntime_against_its_own_baseline_exits_0(tmp_path):
    pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    base = tmp_path / "b.json"
    proc, _ = run_json(tmp_path, "onnxruntime", "--dtype", "float32", "--write-baseline", str(base))
    assert proc.returncode == 1 and json.loads(base.read_text())["findings"]
    proc, report = run_json(tmp_path, "onnxruntime", "--dtype", "float32", "--baseline", str(base))
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert report["baseline"]["fixed"] == [] and report["baseline"]["warnings"] == []


# --- the terminal ------------------------------------------------------------------------------


@pytest.mark.clause("SPEC-1")
def test_the_terminal_table_fits_120_columns_and_help_lists_the_exit_codes(tmp_path):
    proc, _ = _ops_run(tmp_path, str(TARGETS / "aug_clockwise_rotate.py"))
    lines = proc.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("op "))
    table = lines[start:lines.index("", start)]
    assert len(table) > 30 and max(len(line) for line in table) <= 120, "\n".join(table)
    help_text = cnnspec("run", "--help").stdout
    for code in ("0 ", "1 ", "2 ", "3 ", "4 "):
        assert f"\n  {code}" in help_text
    assert cnnspec("--version").stdout.startswith("cnnspec ")


@pytest.mark.clause("SPEC-1")
def test_listing_into_a_closed_pipe_is_quiet():
    import subprocess
    import sys

    from test_runner import ROOT, _env

    proc = subprocess.run(f"{sys.executable} -m conformance targets | head -1", shell=True, cwd=ROOT,
                          capture_output=True, text=True, env=_env())
    assert "BrokenPipeError" not in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.clause("SPEC-1")
def test_a_run_leaves_no_hypothesis_folder_in_the_working_directory(tmp_path):
    import subprocess
    import sys

    from test_runner import _env

    subprocess.run([sys.executable, "-m", "conformance", "run", "--target",
                    str(TARGETS / "zero_pad_max_pool.py"), "--ops", "max_pool2d", "--profile", "quick"],
                   cwd=tmp_path, capture_output=True, text=True, env=_env())
    assert not (tmp_path / ".hypothesis").exists() and not (tmp_path / ".pytest_cache").exists()


# --- rejection conformance ---------------------------------------------------------------------


@pytest.mark.clause("SIZE-2", "NMS-7", "NMS-10")
def test_a_target_that_accepts_what_the_spec_rules_out_has_accepts_invalid_findings(tmp_path):
    proc, report = _ops_run(tmp_path, str(TARGETS / "accepts_invalid.py"), "--ops", "conv2d,nms")
    assert proc.returncode == 1
    found = {(f["op"], f["clause"], f["variant"], f["kind"]) for r in report["results"] for f in r["findings"]}
    assert ("conv2d", "SIZE-2", "", "accepts-invalid") in found, found
    assert ("nms", "NMS-10", "nan-scores-dropped", "accepts-invalid") in found, found
    assert ("nms", "NMS-7", "unchecked-threshold", "accepts-invalid") in found, found
    conv = by_op(report)["conv2d"]
    assert conv["invalid"] > 0 and conv["checked"] > 0
    assert all(f["kind"] == "accepts-invalid" for f in conv["findings"])  # every valid case conforms


@pytest.mark.clause("SIZE-2", "CONV-2", "NMS-7", "BOX-5")
def test_a_module_that_validates_as_the_spec_says_rejects_every_invalid_case(tmp_path):
    proc, report = _ops_run(tmp_path, str(TARGETS / "nms_reference.py"), "--ops", "nms")
    r = by_op(report)["nms"]
    assert proc.returncode == 0 and r["invalid"] > 0 and r["rejected"] == r["invalid"], r


@pytest.mark.clause("CONV-2", "POOL-1")
def test_pytorch_unbatched_input_is_named(tmp_path):
    pytest.importorskip("torch", reason="torch is not installed")
    _, report = _ops_run(tmp_path, "torch", "--ops", "conv2d,max_pool2d")
    for op, clause in (("conv2d", "CONV-2"), ("max_pool2d", "POOL-1")):
        names = {(f["clause"], f["variant"]) for f in by_op(report)[op]["findings"]}
        assert (clause, "unbatched-input") in names, names


@pytest.mark.clause("POOL-1")
def test_a_default_that_differs_from_the_spec_is_a_named_finding(tmp_path):
    proc, report = _ops_run(tmp_path, str(TARGETS / "default_differs.py"), "--ops", "max_pool2d")
    assert proc.returncode == 1
    f = by_op(report)["max_pool2d"]["findings"]
    assert [(x["clause"], x["kind"]) for x in f] == [("POOL-1", "default")], f
    assert "default for stride differs" in f[0]["describe"]


@pytest.mark.clause("SIZE-1", "SIZE-2")
def test_every_fourth_generated_case_leaves_its_default_keywords_out():
    from conformance.ops import OPS
    from conformance.runner import OMITS, omit_defaults
    from conformance.strategies.fast import draw_cases

    cases = draw_cases(OPS["conv2d"].strategy(), 40, 0, "conv2d")
    omitted = [omit_defaults(c) for c in cases]
    assert sum(o is not None for o in omitted) > 10
    for case, o in zip(cases, omitted):
        if o is not None:
            assert o.note.startswith(OMITS) and set(o.params) < set(case.params)
            import reference

            np.testing.assert_array_equal(o.call(reference.conv2d), case.call(reference.conv2d))


# --- one judgement for a run and a golden check ------------------------------------------------


@pytest.mark.clause("NMS-11", "GOLD-9")
def test_a_float16_nms_case_near_its_threshold_is_judged_alike_by_a_run_and_a_golden_check():
    """IoU 1/2 against a threshold 1/2 - 2^-12: within float16's rounding of the IoU, so keeping both
    boxes is a choice the spec leaves open (NMS-11) — in a run and in a golden check alike, because
    both pass the run dtype to the op's ambiguity hook."""
    from conformance import golden
    from conformance.ops import OPS
    from conformance.runner import in_process
    from conformance.worker import Reply

    boxes = np.array([[0.0, 0.0, 2.0, 1.0], [0.0, 0.0, 1.0, 1.0]])  # IoU exactly 1/2
    scores = np.array([0.875, 0.75])
    t = 0.5 - 2.0**-12
    case = Case("nms", {"boxes": boxes, "scores": scores}, {"iou_threshold": t}, False, "IoU 1/2, t just below")

    class KeepsBoth:
        @staticmethod
        def nms(boxes, scores, iou_threshold, **kw):
            return np.array([0, 1], dtype=np.int64)

    run = in_process(KeepsBoth(), "float16", ["nms"]).check("nms", case, "corpus")
    stored = {"id": "nms-1", "op": "nms", "call_op": "nms", "dtype": "float16", "exact": False, "exact_data": False,
              "divides": False, "size_clause": "NMS-4", "note": case.note, "ambiguity": True}
    expected = OPS["nms"].measure(case)
    gold = golden.judge(stored, expected, Reply("ok", np.array([0, 1], dtype=np.int64)),
                        golden._ambiguity(stored, case.arrays, case.params))
    assert run.status == gold["status"] == "ambiguous", (run.status, gold)
    assert "NMS-11" in run.reason or "eps" in run.reason
