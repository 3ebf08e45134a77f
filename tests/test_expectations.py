"""Known findings as data: a pinned run of each built-in target gives exactly the findings of its
expectations file (conformance/expectations/<target>.toml).

One test per expected finding (it fails, naming the op, clause and variant, when a library release
fixes or changes it) and one per target for findings that no file lists. The pinned versions are
those of requirements/lock.txt; a new release is adopted by updating the lock, running
``cnnspec expectations update --target T`` and reviewing the diff.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest

from conformance import expectations as ex
from conformance.expectations_cli import BEGIN, END, run_target
from conformance.targets import BUILTIN, target_class

ROOT = Path(__file__).resolve().parent.parent
FILES = ex.files()


def _installed(target: str) -> str | None:
    return target_class(target).missing()


@cache
def pinned_run(target: str) -> tuple[int, Any, str]:
    """The target's run with its file's settings and the file as baseline (once per test process)."""
    exp = ex.load(FILES[target])
    return run_target(target, exp.dtype, exp.profile, exp.seed, ["--baseline", str(FILES[target])])


def _report(target: str) -> dict[str, Any]:
    missing = _installed(target)
    if missing:
        pytest.skip(f"{target}: {missing} is not installed")
    code, report, output = pinned_run(target)
    assert report is not None, output[-3000:]
    assert code != 4, f"{target}: adapter or internal error, not a finding:\n{output[-3000:]}"
    assert not report["skipped_reason"], report["skipped_reason"]
    return report


ENTRIES = [(t, e) for t, p in FILES.items() for e in ex.load(p).entries]


@pytest.mark.clause("SPEC-1")
@pytest.mark.parametrize("target,entry", ENTRIES, ids=[f"{t}-{e.op}-{e.clause}-{e.variant or e.kind}"
                                                       for t, e in ENTRIES])
def test_an_expected_finding_still_occurs(target, entry):
    report = _report(target)
    fixed = [e for e in report["baseline"]["fixed"] if ex.Entry(e["op"], e["clause"], e["variant"], e["kind"]).key
             == entry.key]
    version = report["target_version"]
    assert not fixed, (f"{target} {version}: the expected finding {entry.describe()} no longer occurs "
                       f"(recorded with {entry.version}: {entry.why}). If the release fixed it, run "
                       f"`cnnspec expectations update --target {target}` and review the diff.")


@pytest.mark.clause("SPEC-1")
@pytest.mark.parametrize("target", list(FILES))
def test_a_pinned_run_has_no_finding_its_expectations_lack(target):
    report = _report(target)
    new = [f for r in report["results"] for f in r["findings"] if f["baseline"] == "new"]
    lines = [f"{f['op']} {f['clause']} {f['variant'] or 'no known variant'} ({f['kind']}, {f['count']} cases): "
             f"{(f['counterexample'] or {}).get('description', f['describe'])}" for f in new]
    assert not new, f"{target} {report['target_version']}: findings not in its expectations:\n" + "\n".join(lines)
    assert report["baseline"]["warnings"] == [], report["baseline"]["warnings"]


@pytest.mark.clause("SPEC-1")
def test_every_built_in_library_target_has_an_expectations_file():
    libraries = set(BUILTIN) - {"torchvision"}  # torchvision: no build beside the pinned CPU torch
    assert libraries <= set(FILES), sorted(libraries - set(FILES))


@pytest.mark.clause("SPEC-1")
def test_the_readme_findings_table_is_generated_from_the_expectation_files():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert BEGIN in readme and END in readme
    section = readme.split(BEGIN, 1)[1].split(END, 1)[0].strip("\n")
    assert section == ex.table().strip("\n"), \
        "README findings table is stale: run `cnnspec expectations table --readme README.md`"


@pytest.mark.clause("SPEC-1")
def test_a_diff_names_what_appeared_vanished_and_changed_variant():
    old = ex.Expectations("t", "1.0", entries=[
        ex.Entry("max_pool2d", "POOL-MAX-2", "nan-ignored", "nonfinite"),
        ex.Entry("avg_pool2d", "SIZE-7", "naive-ceil", "value"),
        ex.Entry("conv2d", "CONV-5", "", "nonfinite")])
    report = {"target": "t", "target_version": "2.0", "dtype": "float32", "profile": "default", "seed": 0,
              "results": [
                  {"op": "max_pool2d", "status": "fail", "findings": [
                      {"op": "max_pool2d", "clause": "POOL-MAX-2", "variant": "nan-if-first", "kind": "nonfinite",
                       "count": 2, "describe": ""}]},
                  {"op": "avg_pool2d", "status": "pass", "findings": []},
                  {"op": "conv2d", "status": "fail", "findings": [
                      {"op": "conv2d", "clause": "CONV-5", "variant": "", "kind": "nonfinite", "count": 1,
                       "describe": ""},
                      {"op": "conv2d", "clause": "SPEC-7", "variant": "", "kind": "raised", "count": 1,
                       "describe": ""}]}]}
    d = ex.diff(old, report)
    assert d["changed"] == ["max_pool2d POOL-MAX-2 (nonfinite): variant nan-ignored -> nan-if-first"]
    assert d["vanished"] == ["avg_pool2d SIZE-7 naive-ceil"]
    assert d["appeared"] == ["conv2d SPEC-7 no known variant (raised)"]


@pytest.mark.clause("SPEC-1")
def test_a_rewritten_file_keeps_the_reviewed_why_and_reads_back(tmp_path):
    old = ex.Expectations("t", "1.0", "float32", entries=[ex.Entry("conv2d", "CONV-5", "", "nonfinite",
                                                                    why="reviewed by a person", version="1.0")])
    report = {"target": "t", "target_version": "2.0", "dtype": "float32", "profile": "default", "seed": 0,
              "results": [{"op": "conv2d", "status": "fail", "findings": [
                  {"op": "conv2d", "clause": "CONV-5", "variant": "", "kind": "nonfinite", "count": 3,
                   "describe": "auto text"},
                  {"op": "conv2d", "clause": "CONV-3", "variant": "", "kind": "value", "count": 1,
                   "describe": "a new one \"quoted\""}]}]}
    new = ex.from_report(report, old)
    path = tmp_path / "t.toml"
    ex.write(new, path, "a header\nof two lines")
    back = ex.load(path)
    assert {e.key: (e.why, e.version) for e in back.entries} == {
        ("conv2d", "CONV-5", "", "nonfinite"): ("reviewed by a person", "1.0"),
        ("conv2d", "CONV-3", "", "value"): ('a new one "quoted"', "2.0")}
    assert back.version == "2.0" and back.dtype == "float32"
