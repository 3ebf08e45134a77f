#!/usr/bin/env python
"""cnnspec performance benchmark (issue 6): the reference's fast paths against their peers.

    python benchmarks/run.py [--threads N] [--repeats N] [--quick] [--rows NAME,...]
                             [--json PATH] [--runner] [--openblas-thread-timeout K]

Every row times the reference and its peer (PyTorch float64, or ONNX Runtime's
NonMaxSuppression) in the same process, interleaved (reference, peer, reference, ...) after
one warm-up call each, and reports the median of ``--repeats`` runs of each and their ratio
(reference / peer) beside the issue's target. A row whose peer is not installed is
printed as skipped, with the reason.

Threads: NumPy's BLAS (threadpoolctl), PyTorch (``torch.set_num_threads``) and ONNX Runtime
(``intra_op_num_threads``) all get ``--threads`` (default: every core). OPENBLAS_CORETYPE
and OPENBLAS_L2_SIZE, which some machines set for old OpenBLAS builds and which slow
NumPy's bundled OpenBLAS, are removed from this process's environment (the script re-runs
itself without them and says so in the header); nothing else about the environment changes
unless ``--openblas-thread-timeout`` is given (see the README).

Peak memory: the largest amount of memory NumPy (and Python) had allocated at once during
one extra, untimed call of the reference, from ``tracemalloc`` (NumPy reports its array
buffers to it), including the result; "x out" divides it by the size of the result.

GFLOP/s of a conv row = ``conv2d_cost(...).flops`` (COST-1, without bias) / median time;
for the backward row, twice that (dx and dw each cost one convolution); for the transposed
convolution, the cost of the conv2d it is the adjoint of. The matmul row times
``np.dot`` of two 2048 x 2048 float64 matrices: this machine's BLAS peak, against which
the first conv row's GFLOP/s is stated as a fraction.

``--runner`` adds a second table: the wall time of ``python -m conformance run --target
torch --profile default`` (every op) and, per op, the split of its time between the
target (its own time, measured in its process) and the runner itself (case generation,
the reference, comparison), and the same run with ``--generation hypothesis`` for comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
_MARK = "CNNSPEC_BENCH_REEXEC"
_ROOT = Path(__file__).resolve().parent.parent


def _reexec_if_needed(argv: list[str]) -> None:
    """Re-run this script without the OpenBLAS overrides (and with the optional spin timeout),
    since OpenBLAS reads its environment once, when NumPy is first imported."""
    if os.environ.get(_MARK):
        return
    env = dict(os.environ)
    removed = [f"{k}={env.pop(k)}" for k in _OVERRIDES if k in env]
    timeout = None
    for i, a in enumerate(argv):
        if a == "--openblas-thread-timeout" and i + 1 < len(argv):
            timeout = argv[i + 1]
        elif a.startswith("--openblas-thread-timeout="):
            timeout = a.split("=", 1)[1]
    if timeout is not None:
        env["OPENBLAS_THREAD_TIMEOUT"] = timeout
    if not removed and timeout is None:
        return
    env[_MARK] = ";".join(removed) or "-"
    os.execve(sys.executable, [sys.executable, str(Path(__file__).resolve())] + argv, env)


# --- the machine ----------------------------------------------------------------------------------

def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def blas_info() -> list[dict[str, Any]]:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    return [{k: v for k, v in d.items() if k in ("user_api", "internal_api", "prefix", "version",
                                                 "architecture", "num_threads", "threading_layer")}
            for d in threadpool_info()]


def _installed(name: str) -> str | None:
    """Why ``name`` cannot be imported, or None when it can."""
    try:
        __import__(name)
    except Exception as exc:  # ImportError, or a broken install
        return f"{name} is not installed ({type(exc).__name__})"
    return None


# --- timing ---------------------------------------------------------------------------------------

def timed_pair(ref: Callable[[], Any], peer: Callable[[], Any] | None, repeats: int
               ) -> tuple[list[float], list[float]]:
    """Interleaved wall times (seconds) of ``ref`` and ``peer``, after one warm-up call each."""
    ref()
    if peer is not None:
        peer()
    tr: list[float] = []
    tp: list[float] = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        ref()
        tr.append(time.perf_counter() - t0)
        if peer is not None:
            t0 = time.perf_counter()
            peer()
            tp.append(time.perf_counter() - t0)
    return tr, tp


def median(v: list[float]) -> float:
    s = sorted(v)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def peak_bytes(fn: Callable[[], Any]) -> int:
    """Peak memory traced while ``fn`` runs (its result included), over what was live before."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        out = fn()
        peak = tracemalloc.get_traced_memory()[1]
        del out
    finally:
        tracemalloc.stop()
    return max(0, peak - before)


def _nbytes(x: Any) -> int:
    if isinstance(x, (tuple, list)):
        return sum(_nbytes(v) for v in x)
    return int(getattr(x, "nbytes", 0))


# --- rows -----------------------------------------------------------------------------------------

@dataclass
class Row:
    name: str
    workload: str
    peer_name: str
    target: float
    build: Callable[[Any], tuple[Callable[[], Any], Callable[[], Any], Callable[[Any, Any], str]]]
    requires: tuple[str, ...] = ("torch",)
    flops: int | None = None
    cost: dict[str, Any] = field(default_factory=dict)


def _conv_cost(x_shape: tuple[int, ...], w_shape: tuple[int, ...], **kw: Any) -> tuple[int, dict[str, Any]]:
    from reference.cost import conv2d_cost

    c = conv2d_cost(x_shape, w_shape, bias=False, **kw)
    return c.flops, {"x_shape": list(x_shape), "w_shape": list(w_shape), "bias": False,
                     **{k: v for k, v in kw.items()}, "conv2d_cost_flops": c.flops}


def _rel_err(a: Any, b: Any) -> str:
    import numpy as np

    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = float(np.max(np.abs(b))) if b.size else 0.0
    return f"{float(np.max(np.abs(a - b))) / (scale or 1.0):.1e}" if a.size else "0"


def _errs(ref: Any, peer: Any) -> str:
    return " ".join(_rel_err(r, p) for r, p in zip(ref, peer, strict=True))


def conv_rows(quick: bool) -> list[Row]:
    import numpy as np

    rows = []
    rng = np.random.default_rng(0)
    shapes = [
        # name, x, w, kw, target
        ("conv3x3", (8, 64, 56, 56), (64, 64, 3, 3), {"padding": 1}, 0.7),
        ("conv7x7s2", (8, 3, 224, 224), (64, 3, 7, 7), {"stride": 2, "padding": 3}, 0.7),
        ("conv3x3_14", (1, 256, 14, 14), (256, 256, 3, 3), {"padding": 1}, 1.1),
        ("depthwise3x3", (8, 128, 56, 56), (128, 1, 3, 3), {"padding": 1, "groups": 128}, 1.5),
    ]
    if quick:
        shapes = [
            ("conv3x3", (2, 8, 14, 14), (8, 8, 3, 3), {"padding": 1}, 0.7),
            ("conv7x7s2", (2, 3, 32, 32), (8, 3, 7, 7), {"stride": 2, "padding": 3}, 0.7),
            ("conv3x3_14", (1, 16, 14, 14), (16, 16, 3, 3), {"padding": 1}, 1.1),
            ("depthwise3x3", (2, 8, 14, 14), (8, 1, 3, 3), {"padding": 1, "groups": 8}, 1.5),
        ]
    for name, xs, ws, kw, target in shapes:
        flops, cost = _conv_cost(xs, ws, **kw)

        def build(_ctx: Any, xs=xs, ws=ws, kw=kw) -> Any:
            import torch
            import torch.nn.functional as F

            import reference as ref

            x, w = rng.standard_normal(xs), rng.standard_normal(ws)
            xt, wt = torch.from_numpy(x), torch.from_numpy(w)
            return (lambda: ref.conv2d(x, w, **kw), lambda: F.conv2d(xt, wt, **kw).numpy(), _rel_err)

        desc = f"x {xs} w {ws} " + " ".join(f"{k}={v}" for k, v in kw.items())
        rows.append(Row(name, desc, "torch.nn.functional.conv2d f64", target, build, flops=flops, cost=cost))

    # conv2d backward (dx, dw) of the first shape.
    xs, ws, kw = shapes[0][1], shapes[0][2], shapes[0][3]
    flops, cost = _conv_cost(xs, ws, **kw)

    def build_bwd(_ctx: Any, xs=xs, ws=ws, kw=kw) -> Any:
        import torch
        import torch.nn.functional as F

        import reference as ref

        x, w = rng.standard_normal(xs), rng.standard_normal(ws)
        xt = torch.from_numpy(x).requires_grad_()
        wt = torch.from_numpy(w).requires_grad_()
        y = F.conv2d(xt, wt, **kw)
        dy = rng.standard_normal(tuple(y.shape))
        dyt = torch.from_numpy(dy)

        def peer() -> Any:
            gx, gw = torch.autograd.grad(y, (xt, wt), dyt, retain_graph=True)
            return gx.numpy(), gw.numpy()

        return (lambda: ref.conv2d_backward(dy, x, w, **kw)[:2], peer, _errs)

    rows.append(Row("conv3x3_backward", f"dx, dw of conv3x3 ({xs}, {ws}, pad 1)",
                    "torch autograd f64 (backward only)", 1.0, build_bwd, flops=2 * flops,
                    cost={**cost, "multiplier": 2}))

    # conv_transpose2d: the adjoint of the first shape with stride 2.
    n, c, h, wd = xs
    fwd_kw = {"stride": 2, "padding": 1}
    flops, cost = _conv_cost(xs, ws, **fwd_kw)
    small = (n, ws[0], (h + 1) // 2, (wd + 1) // 2)

    def build_ct(_ctx: Any, small=small, ws=ws) -> Any:
        import torch
        import torch.nn.functional as F

        import reference as ref

        x, w = rng.standard_normal(small), rng.standard_normal(ws)
        xt, wt = torch.from_numpy(x), torch.from_numpy(w)
        kw2 = {"stride": 2, "padding": 1, "output_padding": 1}
        return (lambda: ref.conv_transpose2d(x, w, **kw2), lambda: F.conv_transpose2d(xt, wt, **kw2).numpy(),
                _rel_err)

    rows.append(Row("conv_transpose3x3s2", f"x {small} w {ws} stride 2 pad 1 output_padding 1 "
                    f"(adjoint of conv3x3 at stride 2)", "torch conv_transpose2d f64", 1.0, build_ct,
                    flops=flops, cost={**cost, "adjoint_of": "conv2d"}))
    return rows


def pool_rows(quick: bool) -> list[Row]:
    import numpy as np

    xs = (2, 8, 32, 32) if quick else (8, 64, 112, 112)

    def build(_ctx: Any) -> Any:
        import torch
        import torch.nn.functional as F

        import reference as ref

        x = np.random.default_rng(1).standard_normal(xs)
        xt = torch.from_numpy(x)

        def check(a: Any, b: Any) -> str:
            return "exact" if np.array_equal(a, b) else "DIFFERS"

        return (lambda: ref.max_pool2d(x, 3, stride=2, padding=1),
                lambda: F.max_pool2d(xt, 3, 2, 1).numpy(), check)

    return [Row("max_pool3x3s2", f"x {xs} kernel 3 stride 2 pad 1", "torch max_pool2d f64", 1.5, build)]


def clustered_boxes(n: int, seed: int = 0) -> tuple[Any, Any]:
    """``n`` boxes (xyxy, float64) in clusters of about 10 around random centres in a 4000 x 4000
    image (sides ~ 20-120, jitter ~ 15 % of the side) and uniform scores: the many-overlaps
    case NMS is for."""
    import numpy as np

    rng = np.random.default_rng(seed)
    k = max(1, n // 10)
    centres = rng.uniform(0, 4000, size=(k, 2))
    sides = rng.uniform(20, 120, size=(k, 2))
    who = rng.integers(0, k, size=n)
    side = sides[who] * rng.uniform(0.85, 1.15, size=(n, 2))
    centre = centres[who] + rng.normal(0, 0.15, size=(n, 2)) * sides[who]
    boxes = np.concatenate([centre - side / 2, centre + side / 2], axis=1)
    return boxes, rng.uniform(0, 1, size=n)


def nms_rows(quick: bool) -> list[Row]:
    rows = []
    for n, target in ((10_000, 2.0), (50_000, 1.0)):
        n = n // 10 if quick else n

        def build(ctx: Any, n=n) -> Any:
            import numpy as np

            import reference as ref

            boxes, scores = clustered_boxes(n)
            b32 = boxes.astype(np.float32)
            s32 = scores.astype(np.float32)
            sess = _ort_nms_session(ctx["threads"])
            feeds = {"boxes": b32[None], "scores": s32[None, None],
                     "max_output_boxes_per_class": np.array(n, dtype=np.int64),
                     "iou_threshold": np.array(0.5, dtype=np.float32)}

            def peer() -> Any:
                return sess.run(None, feeds)[0][:, 2]

            def check(a: Any, b: Any) -> str:
                # ORT runs in float32, the reference in float64: compare the kept sets.
                sa, sb = set(np.asarray(a).tolist()), set(np.asarray(b).tolist())
                return f"kept {len(sa)}, {len(sa ^ sb)} differ"

            return (lambda: ref.nms(boxes, scores, 0.5), peer, check)

        rows.append(Row(f"nms_{n // 1000}k", f"{n} clustered boxes, IoU 0.5",
                        "onnxruntime NonMaxSuppression f32", target, build, requires=("onnxruntime", "onnx")))
    return rows


def _ort_nms_session(threads: int) -> Any:
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    f = TensorProto.FLOAT
    names = ["boxes", "scores", "max_output_boxes_per_class", "iou_threshold"]
    inputs = [helper.make_tensor_value_info("boxes", f, [1, "N", 4]),
              helper.make_tensor_value_info("scores", f, [1, 1, "N"]),
              helper.make_tensor_value_info("max_output_boxes_per_class", TensorProto.INT64, []),
              helper.make_tensor_value_info("iou_threshold", f, [])]
    node = helper.make_node("NonMaxSuppression", names, ["selected"], center_point_box=0)
    out = helper.make_tensor_value_info("selected", TensorProto.INT64, [None, 3])
    graph = helper.make_graph([node], "nms", inputs, [out])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)], ir_version=7)
    onnx.checker.check_model(model)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])


def matmul_peak(repeats: int, quick: bool) -> dict[str, Any]:
    import numpy as np

    n = 512 if quick else 2048
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    times, _ = timed_pair(lambda: np.dot(a, b), None, repeats)
    t = median(times)
    return {"name": "matmul_peak", "workload": f"np.dot {n}x{n} @ {n}x{n} float64", "seconds": t,
            "gflops": 2 * n ** 3 / t / 1e9, "flops": 2 * n ** 3}


# --- the main table -------------------------------------------------------------------------------

def run_rows(rows: list[Row], ctx: dict[str, Any], repeats: int) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        rec: dict[str, Any] = {"name": row.name, "workload": row.workload, "peer": row.peer_name,
                               "target": row.target, "flops": row.flops, "cost": row.cost}
        missing = [m for m in (_installed(r) for r in row.requires) if m]
        if missing:
            rec.update(status="skipped", reason="; ".join(missing))
            out.append(rec)
            print(f"  {row.name}: skipped ({rec['reason']})", file=sys.stderr)
            continue
        ref_fn, peer_fn, check = row.build(ctx)
        tr, tp = timed_pair(ref_fn, peer_fn, repeats)
        t_ref, t_peer = median(tr), median(tp)
        ref_out, peer_out = ref_fn(), peer_fn()
        peak = peak_bytes(ref_fn)
        out_bytes = _nbytes(ref_out)
        rec.update(status="ok" if t_ref / t_peer <= row.target else "over target",
                   seconds=t_ref, peer_seconds=t_peer, ratio=t_ref / t_peer,
                   seconds_all=tr, peer_seconds_all=tp,
                   gflops=(row.flops / t_ref / 1e9) if row.flops else None,
                   peer_gflops=(row.flops / t_peer / 1e9) if row.flops else None,
                   peak_bytes=peak, output_bytes=out_bytes,
                   peak_over_output=peak / out_bytes if out_bytes else None,
                   agreement=check(ref_out, peer_out))
        out.append(rec)
        print(f"  {row.name}: {t_ref * 1e3:.1f} ms vs {t_peer * 1e3:.1f} ms", file=sys.stderr)
    return out


def _fmt_ms(s: float | None) -> str:
    return "" if s is None else f"{s * 1e3:.1f}"


def table(records: list[dict[str, Any]]) -> str:
    from tabulate import tabulate

    lines = []
    for r in records:
        if r.get("status") == "skipped":
            lines.append([r["name"], "", "", "", f"<= {r['target']}", "", "", "", "", f"skipped: {r['reason']}"])
            continue
        lines.append([r["name"], _fmt_ms(r["seconds"]), _fmt_ms(r["peer_seconds"]), f"{r['ratio']:.2f}",
                      f"<= {r['target']}", "yes" if r["ratio"] <= r["target"] else "NO",
                      "" if r["gflops"] is None else f"{r['gflops']:.2f}",
                      f"{r['peak_bytes'] / 2**20:.1f}",
                      "" if r["peak_over_output"] is None else f"{r['peak_over_output']:.2f}",
                      r["agreement"]])
    return tabulate(lines, headers=["row", "ref ms", "peer ms", "ratio", "target", "met", "GFLOP/s",
                                    "peak MiB", "x out", "ref vs peer"], disable_numparse=True)


# --- the runner's own cost ------------------------------------------------------------------------

def runner_cost(threads: int, generation: str = "fast") -> dict[str, Any]:
    """Wall time of ``python -m conformance run --target torch --profile default`` and, per op,
    the report's seconds: total (wall), target (its own time, measured in its process), and the
    runner's three jobs — generation, reference, comparison. The rest of the wall time is
    transfer, pytest and shrinking; with the reference computed while the target works, the
    parts may add up to more than the total."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "report.json"
        env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads),
                   OPENBLAS_NUM_THREADS=str(threads))
        env.pop(_MARK, None)
        cmd = [sys.executable, "-m", "conformance", "run", "--target", "torch", "--profile", "default",
               "--generation", generation, "--json", str(path)]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=_ROOT, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if not path.exists():
            return {"command": " ".join(cmd[1:]), "wall_seconds": wall, "exit_status": proc.returncode,
                    "error": (proc.stdout + proc.stderr)[-2000:], "ops": []}
        report = json.loads(path.read_text())
    ops = []
    skipped = 0
    for r in report["results"]:
        s = r["seconds"]
        if not r["cases"]:
            skipped += 1  # an op the target does not implement: no case is drawn for it
            continue
        work = s["generate"] + s["reference"] + s["compare"]
        ops.append({"op": r["op"], "status": r["status"], "cases": r["cases"], "total": s["total"],
                    "target": s["target"], "generate": s["generate"], "reference": s["reference"],
                    "compare": s["compare"], "work": work, "work_share": work / s["total"] if s["total"] else 0.0,
                    "added": s["total"] - s["target"],
                    "added_share": (s["total"] - s["target"]) / s["total"] if s["total"] else 0.0})
    total = sum(o["total"] for o in ops)
    target = sum(o["target"] for o in ops)
    work = sum(o["work"] for o in ops)
    return {"command": "python -m " + " ".join(cmd[2:-2]), "wall_seconds": wall,
            "exit_status": proc.returncode, "report_seconds": report.get("seconds"), "generation": generation,
            "ops": ops, "ops_not_implemented": skipped, "total": total, "target": target, "work": work,
            "work_share": work / total if total else 0.0,
            "added": total - target, "added_share": (total - target) / total if total else 0.0,
            "requirements": {"wall_under_180_s": wall < 180.0, "runner_work_at_most_half": work <= total / 2}}


def runner_table(rc: dict[str, Any], *others: dict[str, Any]) -> str:
    """Per op of ``rc``, then an ALL row for ``rc`` and for each of ``others`` (other generations)."""
    from tabulate import tabulate

    def row(name: str, status: str, o: dict[str, Any]) -> list[Any]:
        return [name, status, o["cases"], f"{o['total']:.2f}", f"{o['target']:.2f}", f"{o['generate']:.2f}",
                f"{o['reference']:.2f}", f"{o['compare']:.2f}", f"{o['work_share'] * 100:.0f} %",
                f"{o['added_share'] * 100:.0f} %"]

    lines = [row(o["op"], o["status"], o) for o in rc["ops"]]
    for r in (rc, *others):
        if r["ops"]:
            every = {k: sum(o[k] for o in r["ops"]) for k in ("cases", "total", "target", "generate", "reference",
                                                               "compare")}
            every.update(work_share=r["work_share"], added_share=r["added_share"])
            lines.append(row(f"ALL ({r['generation']})", "", every))
    return tabulate(lines, headers=["op", "status", "cases", "total s", "target s", "generate s", "reference s",
                                    "compare s", "gen+ref+cmp / total", "(total-target) / total"],
                    disable_numparse=True)


# --- main -----------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    _reexec_if_needed(argv)
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                   help="threads for NumPy's BLAS, PyTorch and ONNX Runtime alike (default: every core)")
    p.add_argument("--repeats", type=int, default=5, help="timed runs per side after one warm-up (median)")
    p.add_argument("--quick", action="store_true", help="small shapes: a smoke test, not a measurement")
    p.add_argument("--rows", default="", help="comma-separated row names (default: all)")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    p.add_argument("--runner", action="store_true",
                   help="also time `python -m conformance run --target torch --profile default`")
    p.add_argument("--openblas-thread-timeout", type=int, default=None, metavar="K",
                   help="run with OPENBLAS_THREAD_TIMEOUT=K (OpenBLAS idle threads spin 2**K cycles "
                        "before sleeping; default 28). Off by default: the figures are the stock ones")
    args = p.parse_args(argv)
    if args.repeats < 1 or args.threads < 1:
        p.error("--repeats and --threads must be >= 1")

    import numpy as np

    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is a dev dependency
        threadpool_limits = None
    limiter = threadpool_limits(limits=args.threads) if threadpool_limits else None
    if _installed("torch") is None:
        import torch

        torch.set_num_threads(args.threads)

    removed = os.environ.get(_MARK, "")
    header = {
        "cpu": cpu_model(), "cores": os.cpu_count(), "threads": args.threads,
        "python": platform.python_version(), "numpy": np.__version__,
        "torch": _version("torch"), "onnxruntime": _version("onnxruntime"),
        "blas": blas_info(), "load_average": _loadavg(),
        "removed_env": [] if removed in ("", "-") else removed.split(";"),
        "openblas_thread_timeout": os.environ.get("OPENBLAS_THREAD_TIMEOUT"),
        "repeats": args.repeats, "quick": args.quick,
    }
    blas = ", ".join(f"{b.get('internal_api')} {b.get('version')} {b.get('architecture') or ''} "
                     f"({b.get('num_threads')} threads)".replace("  ", " ")
                     for b in header["blas"] if b.get("user_api") == "blas") or "unknown"
    print(f"cnnspec benchmark: {header['cpu']}, {header['cores']} cores; threads {args.threads}; "
          f"median of {args.repeats} after a warm-up{'; QUICK shapes' if args.quick else ''}")
    print(f"NumPy {header['numpy']} BLAS: {blas}; torch {header['torch']}; onnxruntime {header['onnxruntime']}; "
          f"load average {header['load_average']}")
    if header["removed_env"]:
        print(f"(re-run without {', '.join(header['removed_env'])})")
    if header["openblas_thread_timeout"]:
        print(f"(OPENBLAS_THREAD_TIMEOUT={header['openblas_thread_timeout']})")

    rows = conv_rows(args.quick) + pool_rows(args.quick) + nms_rows(args.quick)
    if args.rows:
        wanted = {r for r in args.rows.split(",") if r}
        unknown = wanted - {r.name for r in rows} - {"matmul_peak"}
        if unknown:
            p.error(f"unknown rows {sorted(unknown)}; known: {[r.name for r in rows] + ['matmul_peak']}")
        rows = [r for r in rows if r.name in wanted]
    ctx = {"threads": args.threads}
    peak = matmul_peak(args.repeats, args.quick)
    records = run_rows(rows, ctx, args.repeats)
    print()
    print(table(records))
    print(f"\nmatmul peak ({peak['workload']}): {peak['gflops']:.2f} GFLOP/s ({peak['seconds'] * 1e3:.1f} ms)")
    first = next((r for r in records if r["name"] == "conv3x3" and r.get("gflops")), None)
    if first:
        first["fraction_of_matmul_peak"] = first["gflops"] / peak["gflops"]
        print(f"conv3x3: {first['gflops']:.2f} GFLOP/s = {first['fraction_of_matmul_peak'] * 100:.0f} % "
              f"of the matmul peak (aim: >= 60 %)")

    result: dict[str, Any] = {"header": header, "matmul_peak": peak, "rows": records}
    if args.runner:
        print("\nconformance runner: python -m conformance run --target torch --profile default ...",
              file=sys.stderr)
        rc = runner_cost(args.threads)
        slow = runner_cost(args.threads, "hypothesis")  # every case drawn by Hypothesis, for comparison
        result["runner"] = rc
        result["runner_hypothesis_generation"] = slow
        print()
        for r in (rc, slow):
            print(f"conformance runner ({r['command']}): wall {r['wall_seconds']:.1f} s "
                  f"(requirement < 180 s), exit status {r['exit_status']}")
            if r.get("error"):
                print(r["error"])
        print(runner_table(rc, slow))
        if rc["ops"]:
            print(f"({rc['ops_not_implemented']} ops torch does not implement: no case drawn)")
            print(f"runner's own work (generation + reference + comparison) / total: {rc['work_share'] * 100:.0f} % "
                  f"(requirement <= 50 %); wall time added to the target's, (total - target) / total: "
                  f"{rc['added_share'] * 100:.0f} %")
    if limiter is not None:
        limiter.restore_original_limits()
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, default=float) + "\n")
    return 0


def _version(name: str) -> str | None:
    try:
        from importlib.metadata import version

        return version(name)
    except Exception:
        return None


def _loadavg() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


if __name__ == "__main__":
    sys.path.insert(0, str(_ROOT))
    raise SystemExit(main())
