"""The conformance runner itself: verdicts, diagnosis, isolation, reports and the command line.

Each run goes through ``python -m conformance`` in a subprocess, as a user's would, with
planted-fault targets from tests/targets/.
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ROOT / "tests" / "targets"


def cnnspec(*args: str, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "conformance", *args], cwd=cwd or ROOT, capture_output=True,
                          text=True, timeout=timeout, env=_env())


def _env() -> dict[str, str]:
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return env


def run_json(tmp_path: Path, target: str, *args: str) -> tuple[subprocess.CompletedProcess, dict]:
    out = tmp_path / "report.json"
    proc = cnnspec("run", "--target", target, "--json", str(out), *args)
    assert out.exists(), f"no report written; stderr:\n{proc.stderr}\nstdout:\n{proc.stdout[-3000:]}"
    return proc, json.loads(out.read_text())


def by_op(report: dict) -> dict[str, dict]:
    return {r["op"]: r for r in report["results"]}


@pytest.mark.clause("TOL-1", "TOL-2", "TOL-3", "TOL-4")
def test_reference_target_passes_every_op(tmp_path):
    proc, report = run_json(tmp_path, "reference", "--profile", "quick")
    assert proc.returncode == 0, proc.stdout[-4000:]
    results = by_op(report)
    from conformance.ops import OPS

    assert set(results) == set(OPS)
    for op, r in results.items():
        assert r["status"] == "pass", (op, r)
        assert r["cases"] >= 15 and r["passed"] == r["cases"], (op, r)
    assert "conv2d" in proc.stdout and "pass" in proc.stdout  # the terminal table


PLANTED = [
    ("zero_pad_max_pool.py", "max_pool2d", "POOL-MAX-1", "zero-pad"),
    ("flipped_conv.py", "conv2d", "CONV-1", "flipped-kernel"),
    ("naive_ceil_avg_pool.py", "avg_pool2d", "SIZE-7", "naive-ceil"),
    ("flipped_count_include_pad.py", "avg_pool2d", "POOL-AVG-2", "count-include-pad-flipped"),
    ("last_max.py", "max_pool2d", "POOL-MAX-3", "last-max"),
]


@pytest.mark.parametrize("module,op,clause,variant", PLANTED, ids=[p[0] for p in PLANTED])
@pytest.mark.clause("POOL-MAX-1", "POOL-MAX-3", "CONV-1", "SIZE-7", "POOL-AVG-2")
def test_a_planted_fault_is_caught_with_its_clause_and_variant(tmp_path, module, op, clause, variant):
    proc, report = run_json(tmp_path, str(TARGETS / module), "--ops", op, "--profile", "quick")
    assert proc.returncode == 1
    r = by_op(report)[op]
    assert r["status"] == "fail"
    assert r["clause"] == clause  # the most frequent finding is the planted one
    named = {(f["clause"], v) for f in r["findings"] for v in f["variant"].split(" or ")}
    assert (clause, variant) in named, r["variant_detail"]
    ce = r["counterexample"]
    assert ce and ce["repro"] and ce["first_differences"] or ce["reason"]


HIDDEN = [
    ("swapped_strides.py", lambda ce: ce["params"]["stride"][0] != ce["params"]["stride"][1]),
    ("first_image_only.py", lambda ce: ce["shapes"]["x"][0] > 1),
    ("groups_ignored.py", lambda ce: ce["params"]["groups"] > 1),
]


@pytest.mark.parametrize("module,shows", HIDDEN, ids=[h[0] for h in HIDDEN])
@pytest.mark.clause("CONV-3", "CONV-6")
def test_a_fault_visible_only_off_the_diagonal_is_found_and_shrunk(tmp_path, module, shows):
    proc, report = run_json(tmp_path, str(TARGETS / module), "--ops", "conv2d", "--profile", "quick")
    assert proc.returncode == 1
    r = by_op(report)["conv2d"]
    assert r["status"] == "fail" and r["variant"] == "no known variant"
    ce = r["counterexample"]
    assert shows(ce), ce  # the minimal case still has the dimension the fault needs
    if ce["source"] != "corpus":  # a curated case is shown first when one fails; a generated one is shrunk
        assert ce["shapes"]["x"][2] * ce["shapes"]["x"][3] <= 4, ce


@pytest.mark.clause("CONV-1")
def test_hypothesis_generation_finds_and_shrinks_a_planted_fault_too(tmp_path):
    proc, report = run_json(tmp_path, str(TARGETS / "flipped_conv.py"), "--ops", "conv2d", "--profile", "quick",
                            "--generation", "hypothesis")
    assert proc.returncode == 1 and report["generation"] == "hypothesis"
    r = by_op(report)["conv2d"]
    assert r["status"] == "fail" and r["clause"] == "CONV-1" and "flipped-kernel" in r["variant"].split(" or ")


@pytest.mark.clause("CONV-1")
def test_a_failure_only_the_sweep_meets_is_reported_as_found_not_shrunk(tmp_path):
    # -k generated: no curated case runs first, so the target's one wrong call is the sweep's first case
    proc, report = run_json(tmp_path, str(TARGETS / "wrong_first_call.py"), "--ops", "conv2d", "--examples", "10",
                            "--", "-k", "generated")
    assert proc.returncode == 1 and report["generation"] == "fast"
    r = by_op(report)["conv2d"]
    assert r["status"] == "fail" and r["failures"] == 1 and r["cases"] == 10
    ce = r["counterexample"]
    assert ce["source"] == "generated" and ce["shapes"]["x"][:2] == [1, 1]  # the sweep's first, simplest case
    assert "minimal case (generated; found by the sweep, not shrunk)" in proc.stdout


@pytest.mark.clause("SPEC-3")
def test_a_crash_or_a_hang_inside_a_sweep_is_charged_to_its_case_and_the_sweep_goes_on(tmp_path):
    proc, report = run_json(tmp_path, str(TARGETS / "sweep_crash.py"), "--ops", "conv2d,max_pool2d",
                            "--examples", "30", "--timeout", "2", "--", "-k", "generated")
    assert proc.returncode == 1
    r = by_op(report)
    assert r["conv2d"]["status"] == "crash" and r["max_pool2d"]["status"] == "timeout"
    for op, bad in (("conv2d", "crashes"), ("max_pool2d", "timeouts")):
        t = r[op]
        assert t[bad] >= 1 and t["crash_cases"], t
        assert all(c["case"].startswith(f"{op}(x(3, ") for c in t["crash_cases"]), t["crash_cases"]
        assert t["passed"] >= 5  # the cases after each crash still ran, in a fresh worker
        assert t["cases"] + t["abandoned"] == 30 and t["passed"] + t[bad] == t["cases"], t


def test_the_repro_snippet_reproduces_the_failure_against_the_target_alone(tmp_path):
    _, report = run_json(tmp_path, str(TARGETS / "flipped_conv.py"), "--ops", "conv2d", "--profile", "quick")
    snippet = by_op(report)["conv2d"]["counterexample"]["repro"]
    snippet += "\nimport sys\nsys.exit(0 if not np.allclose(got, expected) else 3)\n"
    proc = subprocess.run([sys.executable, "-c", snippet], capture_output=True, text=True, env=_env(),
                          cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr + proc.stdout


@pytest.mark.clause("SPEC-3", "TOL-6")
def test_crashing_hanging_and_misbehaving_targets_are_reported_and_the_run_completes(tmp_path):
    proc, report = run_json(tmp_path, str(TARGETS / "misbehaving.py"), "--examples", "6", "--timeout", "2",
                            "--ops", "conv2d,max_pool2d,avg_pool2d,im2col,conv_transpose2d,conv2d_backward")
    assert proc.returncode == 1
    r = by_op(report)
    assert r["conv2d"]["status"] == "crash" and r["conv2d"]["crashes"] >= 1
    assert "SIGABRT" in r["conv2d"]["crash_cases"][0]["reason"]
    assert r["conv2d"]["passed"] >= 1  # the worker was replaced and N = 1 cases still ran
    assert r["max_pool2d"]["status"] == "timeout" and r["max_pool2d"]["timeouts"] >= 1
    assert r["avg_pool2d"]["status"] == "fail"
    assert "RuntimeError: this backend has no avg_pool2d kernel" in r["avg_pool2d"]["counterexample"]["reason"]
    assert r["im2col"]["status"] == "fail" and "not an array" in r["im2col"]["counterexample"]["reason"]
    assert r["conv_transpose2d"]["status"] == "fail"
    assert r["conv_transpose2d"]["counterexample"]["clause"] == "TOL-6"
    assert r["conv2d_backward"]["status"] == "not-implemented"


def test_the_json_report_validates_against_its_schema(tmp_path):
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is not installed")
    schema = json.loads((ROOT / "conformance" / "report_schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    for module in ("flipped_conv.py", "misbehaving.py"):
        _, report = run_json(tmp_path, str(TARGETS / module), "--ops", "conv2d,im2col", "--examples", "3",
                             "--timeout", "5")
        jsonschema.validate(report, schema)
    _, report = run_json(tmp_path, "reference", "--ops", "max_pool2d", "--examples", "3")
    jsonschema.validate(report, schema)


def test_markdown_and_junit_reports_carry_the_same_results(tmp_path):
    md, xml = tmp_path / "r.md", tmp_path / "r.xml"
    proc = cnnspec("run", "--target", str(TARGETS / "flipped_conv.py"), "--ops", "conv2d,max_pool2d",
                   "--examples", "5", "--markdown", str(md), "--junit", str(xml))
    assert proc.returncode == 1
    text = md.read_text()
    assert "| conv2d" in text and "flipped-kernel" in text and "```python" in text
    suite = ET.parse(xml).getroot().find("testsuite")
    cases = {tc.get("name"): tc for tc in suite.iter("testcase")}
    assert cases["conv2d"].find("failure") is not None
    assert "flipped-kernel" in cases["conv2d"].find("failure").get("message")
    assert cases["max_pool2d"].find("skipped") is not None  # not implemented by this target


def test_a_target_given_as_module_colon_object_loads(tmp_path):
    proc, report = run_json(tmp_path, f"{TARGETS / 'as_object.py'}:Backend", "--ops", "conv2d", "--examples", "5")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert by_op(report)["conv2d"]["status"] == "pass"
    out = tmp_path / "m.json"
    proc = subprocess.run([sys.executable, "-m", "conformance", "run", "--target", "flipped_conv", "--ops",
                           "conv2d", "--examples", "5", "--json", str(out)], cwd=TARGETS, env=_env(),
                          capture_output=True, text=True, timeout=300)
    assert json.loads(out.read_text())["results"][0]["variant"] == "flipped-kernel", proc.stdout[-2000:]


def test_a_target_whose_library_is_missing_is_skipped_not_crashed(tmp_path):
    proc, report = run_json(tmp_path, f"{TARGETS / 'needs_missing_lib.py'}:NeedsMissingLib", "--ops", "conv2d",
                            "--examples", "3")
    assert proc.returncode == 3  # nothing was checked: never a green pass
    assert "not installed" in report["skipped_reason"]
    assert by_op(report)["conv2d"]["status"] == "skipped"
    assert "Traceback" not in proc.stdout + proc.stderr


@pytest.mark.parametrize("args", [
    ["run", "--target", "reference", "--ops", "no_such_op"],
    ["run", "--target", "does/not/exist.py"],
    ["run", "--target", "reference", "--dtype", "float8"],
    ["run"],
    ["frobnicate"],
])
def test_usage_errors_exit_with_status_2(args):
    proc = cnnspec(*args)
    assert proc.returncode == 2, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])


def test_targets_and_ops_commands_list_what_the_runner_knows():
    proc = cnnspec("targets")
    assert proc.returncode == 0
    for name in ("reference", "torch", "onnxruntime", "jax", "tensorflow", "scipy", "opencv"):
        assert name in proc.stdout
    proc = cnnspec("ops")
    assert proc.returncode == 0 and "zero-pad" in proc.stdout and "CONV-1" in proc.stdout


def test_pytest_xdist_workers_merge_into_one_report(tmp_path):
    pytest.importorskip("xdist", reason="pytest-xdist is not installed")
    from conformance.corpus import CORPUS

    proc, report = run_json(tmp_path, "reference", "--ops", "conv2d,max_pool2d", "--examples", "5", "--", "-n", "2")
    assert proc.returncode == 0, proc.stdout[-3000:]
    for op in ("conv2d", "max_pool2d"):
        r = by_op(report)[op]
        # every curated and generated case, whichever worker ran it, is in the one report
        assert r["status"] == "pass" and r["cases"] == len(CORPUS[op]) + 5, r
    _, report = run_json(tmp_path, str(TARGETS / "flipped_conv.py"), "--ops", "conv2d", "--examples", "5",
                         "--", "-n", "2")
    assert by_op(report)["conv2d"]["variant"] == "flipped-kernel"


def test_a_run_works_without_pytest_xdist_and_an_internal_error_is_never_a_pass(tmp_path):
    # The plugin's xdist hook must be optional: a plain install has no pytest-xdist.
    proc, report = run_json(tmp_path, "reference", "--ops", "conv2d", "--examples", "3", "--", "-p", "no:xdist")
    assert proc.returncode == 0 and by_op(report)["conv2d"]["status"] == "pass", proc.stdout[-3000:]
    proc = cnnspec("run", "--target", "reference", "--ops", "conv2d", "--examples", "3", "--", "-p",
                   "no_such_plugin_module")
    assert proc.returncode == 2
