"""Smoke test of benchmarks/run.py (issue 6): the table and the JSON come out, and each conv
row's GFLOP/s is COST-1's flop count over its measured time. No timing is asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from reference.cost import conv2d_cost

ROOT = Path(__file__).resolve().parent.parent
ROWS = "conv3x3,conv3x3_backward,conv_transpose3x3s2,max_pool3x3s2,nms_1k"


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--repeats", "1",
                           "--threads", "1", "--rows", ROWS, "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout, json.loads(out.read_text())


def test_the_quick_benchmark_prints_its_table_and_writes_the_same_rows_as_json(quick_run):
    stdout, report = quick_run
    assert "threads 1" in stdout and "BLAS" in stdout  # the header names the thread count and BLAS
    for column in ("ratio", "target", "GFLOP/s", "peak MiB"):
        assert column in stdout
    names = [r["name"] for r in report["rows"]]
    assert names == ROWS.split(",")
    for row in report["rows"]:
        assert row["name"] in stdout
        if row["status"] == "skipped":  # its peer is not installed here
            assert row["reason"]
            continue
        assert row["seconds"] > 0 and row["peer_seconds"] > 0
        assert row["ratio"] == pytest.approx(row["seconds"] / row["peer_seconds"])
        assert row["peak_bytes"] >= 0 and len(row["seconds_all"]) == 1
    assert report["header"]["threads"] == 1 and report["matmul_peak"]["gflops"] > 0


@pytest.mark.clause("COST-1")
def test_the_benchmark_gflops_are_conv2d_cost_flops_over_the_time(quick_run):
    _, report = quick_run
    checked = 0
    for row in report["rows"]:
        if row.get("flops") is None or row["status"] == "skipped":
            continue
        cost = row["cost"]
        params = {k: cost[k] for k in ("stride", "padding", "dilation", "groups") if k in cost}
        flops = conv2d_cost(tuple(cost["x_shape"]), tuple(cost["w_shape"]), bias=False, **params).flops
        assert row["flops"] == flops * cost.get("multiplier", 1)
        assert row["gflops"] == pytest.approx(row["flops"] / row["seconds"] / 1e9)
        checked += 1
    if checked == 0:
        pytest.skip("no conv row ran (torch is not installed)")


def test_the_runner_cost_splits_each_op_s_time_between_the_target_and_the_runner_s_own_work(tmp_path):
    pytest.importorskip("torch", reason="torch is not installed (the --runner run checks PyTorch)")
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--repeats", "1",
                           "--threads", "1", "--rows", "nms_1k", "--runner", "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(out.read_text())
    for key, generation in (("runner", "fast"), ("runner_hypothesis_generation", "hypothesis")):
        rc = report[key]
        assert rc["generation"] == generation and not rc.get("error"), rc
        assert rc["ops"] and rc["ops_not_implemented"] > 0  # torch has no NMS or augmentation ops
        for o in rc["ops"]:
            assert o["cases"] > 0 and 0 <= o["target"] <= o["total"]
            assert o["work"] == pytest.approx(o["generate"] + o["reference"] + o["compare"])
        assert rc["work_share"] == pytest.approx(rc["work"] / rc["total"])
        assert f"ALL ({generation})" in proc.stdout
    assert "runner's own work (generation + reference + comparison) / total" in proc.stdout
