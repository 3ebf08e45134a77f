"""Reports of a run: the terminal table (tabulate), JSON, Markdown and JUnit XML.

Every format renders the same ``report`` dict, whose JSON form is described by
conformance/report_schema.json.
"""

from __future__ import annotations

import json
import platform
import xml.etree.ElementTree as ET
from typing import Any

import numpy as np
from tabulate import tabulate

import reference

from .runner import RunConfig, Tally, rms_failure
from .tolerance import RMS_LIMIT

SCHEMA_VERSION = 1


def _array_literal(a: np.ndarray) -> str:
    def item(v: Any) -> str:
        if isinstance(v, list):
            return "[" + ", ".join(item(x) for x in v) + "]"
        if isinstance(v, float):
            if np.isnan(v):
                return "np.nan"
            if np.isinf(v):
                return "np.inf" if v > 0 else "-np.inf"
        return repr(v)
    # reshape keeps the shape of empty arrays (an N = 0 batch), which the literal alone loses
    return f"np.array({item(a.reshape(-1).tolist())}, dtype=np.{a.dtype}).reshape({a.shape})"


def repro(target: str, dtype: str, device: str, case: Any) -> str:
    """A copy-pastable snippet that reproduces one case against the target alone."""
    from .dtypes import round_to

    lines = ["import numpy as np", "import reference", "from conformance.targets import load_target", ""]
    for k, v in case.arrays.items():
        sent = v if v.dtype.kind in "iub" else round_to(v, dtype)  # as runner.rounded sends it
        lines.append(f"{k} = {_array_literal(np.asarray(sent))}")
    args = ", ".join(case.arrays)
    kwargs = ", ".join(f"{k}={v!r}" for k, v in case.params.items())
    call = f"{args}{', ' if kwargs else ''}{kwargs}"
    lines += ["", f"target = load_target({target!r})", f"target.setup({dtype!r}, {device!r})",
              f"got = target.{case.op}({call})",
              f"expected = reference.{case.op}({call})",
              "print('got', got, 'expected', expected, sep='\\n')"]
    return "\n".join(lines)


def _counterexample(cfg: RunConfig, t: Tally) -> dict[str, Any] | None:
    rec = t.minimal or (t.failures[-1] if t.failures else None) or \
        (t.crash_records[-1] if t.crash_records else None)
    if rec is None:
        return None
    return {
        "description": rec.case.describe(),
        "note": rec.case.note,
        "source": rec.source,
        "exact_data": rec.case.exact,
        "params": {k: _plain(v) for k, v in rec.case.params.items()},
        "shapes": {k: list(v.shape) for k, v in rec.case.arrays.items()},
        "output": rec.output,
        "clause": rec.clause,
        "reason": rec.reason,
        "first_differences": [{"index": list(i), "expected": _num(e), "got": _num(g)} for i, e, g in rec.diffs],
        "repro": repro(cfg.target, cfg.dtype, cfg.device, rec.case),
    }


def _plain(v: Any) -> Any:
    if isinstance(v, tuple):
        return [_plain(x) for x in v]
    return v


def _num(v: float) -> float | str:
    return v if np.isfinite(v) else repr(v)


def build(cfg: RunConfig, tallies: dict[str, Tally], start: Any, version: str, elapsed: float
          ) -> dict[str, Any]:
    skipped = start is None or start.kind != "ready"
    results = []
    for op, t in tallies.items():
        if skipped:  # a missing library is a skip; a target that never started is an error
            status = "skipped" if start is not None and start.kind == "unsupported" else "error"
        else:
            status = t.status
        variant, clause = _verdict(t)
        ce = _counterexample(cfg, t)
        if not clause and ce and status == "fail":
            clause = ce["clause"]
        if status == "fail" and not t.failed:
            clause, variant = "TOL-3", "no known variant"
        results.append({
            "op": op, "target": cfg.target, "dtype": cfg.dtype, "device": cfg.device, "status": status,
            "cases": t.cases, "passed": t.passed, "failures": t.failed, "unsupported": t.unsupported,
            "not_implemented": t.not_implemented, "errors": t.errors, "crashes": t.crashes,
            "timeouts": t.timeouts, "abandoned": t.abandoned, "ambiguous": t.ambiguous,
            "worst_error": None if not np.isfinite(t.worst) else round(t.worst, 4),
            "worst_error_note": "exact mismatch" if not np.isfinite(t.worst) else "in units of the TOL-2 bound",
            "rms_error": round(t.rms, 4),
            "rms_note": rms_failure(t, cfg.dtype) if t.rms > RMS_LIMIT else "",
            "clause": clause, "variant": variant,
            "variant_detail": "; ".join(f"{v} ({c}, {k} of {n} failing cases): {d}"
                                        for v, c, d, k, n in t.diagnosis),
            "unsupported_reasons": t.unsupported_reasons,
            "counterexample": ce if status in ("fail", "crash", "timeout") else None,
            "crash_cases": [{"status": r.status, "reason": r.reason, "case": r.case.describe()}
                            for r in t.crash_records[:5]],
            "seconds": {"total": round(t.total_s, 3), "target": round(t.target_s, 3),
                        "reference": round(t.reference_s, 3), "compare": round(t.compare_s, 3),
                        "generate": round(t.generate_s, 3)},
        })
    return {
        "schema_version": SCHEMA_VERSION,
        "cnnspec_version": reference.__version__,
        "target": cfg.target, "target_version": version, "dtype": cfg.dtype, "device": cfg.device,
        "profile": cfg.profile, "examples": cfg.examples, "seed": cfg.seed, "generation": cfg.generation,
        "skipped_reason": (start.detail if start is not None else "not started") if skipped else "",
        "python": platform.python_version(), "numpy": np.__version__,
        "seconds": round(elapsed, 2),
        "results": results,
        "exit_status": exit_status(results),
    }


#: How the terminal report names where a counterexample came from.
SOURCES = {"corpus": "corpus", "generated": "generated; found by the sweep, not shrunk",
           "shrink": "generated, shrunk by Hypothesis"}


def _verdict(t: Tally) -> tuple[str, str]:
    """The diagnosed variant(s) and their clause: those explaining every failing case, else a
    breakdown (variant, failing cases it explains / failing cases) of those explaining some."""
    if not t.failures:
        return ("", "")
    whole = [d for d in t.diagnosis if d[3] == d[4]]
    names = {d[0] for d in whole}
    # A combined variant ("a+b") adds nothing when one of its parts alone explains every failure.
    whole = [d for d in whole if "+" not in d[0] or not any(part in names for part in d[0].split("+"))]
    if whole:
        return (" or ".join(d[0] for d in whole), whole[0][1])
    if t.diagnosis:
        parts = ", ".join(f"{v} ({k}/{n})" for v, _, _, k, n in t.diagnosis)
        return (f"mixed: {parts}", t.diagnosis[0][1])
    return ("no known variant", "")


def exit_status(results: list[dict[str, Any]]) -> int:
    """0 when every checked case conforms, 1 when any failed, crashed, timed out or errored."""
    return 1 if any(r["status"] in ("fail", "crash", "timeout", "error") for r in results) else 0


def terminal(report: dict[str, Any]) -> str:
    head = (f"cnnspec {report['cnnspec_version']} — target {report['target']} {report['target_version']} "
            f"· {report['dtype']} · {report['device']} · profile {report['profile']} "
            f"({report['examples']} generated cases per op, seed {report['seed']}) · {report['seconds']} s")
    if report["skipped_reason"]:
        head += f"\nSKIPPED: {report['skipped_reason']}"
    rows = [[r["op"], r["status"].upper() if r["status"] != "pass" else "pass", r["cases"], r["passed"],
             r["failures"], r["unsupported"], r["crashes"] + r["timeouts"], _worst(r), r["clause"],
             r["variant"]] for r in report["results"]]
    table = tabulate(rows, headers=["op", "status", "cases", "passed", "failed", "unsupp.", "crashed",
                                    "worst error", "clause", "diagnosed variant"], tablefmt="simple")
    parts = [head, "", table]
    for r in report["results"]:
        ce = r["counterexample"]
        if ce:
            clause = f" [{ce['clause']}]" if ce["clause"] else ""
            parts += ["", f"── {r['op']}: {r['status']} — {ce['reason']}{clause}",
                      f"   minimal case ({SOURCES.get(ce['source'], ce['source'])}"
                      f"{', ' + ce['note'] if ce['note'] else ''}): "
                      f"{ce['description']}"]
            if r["variant_detail"]:
                parts.append(f"   diagnosis: {r['variant_detail']}")
            for d in ce["first_differences"]:
                parts.append(f"   at {tuple(d['index'])}: expected {d['expected']}, got {d['got']}")
            parts += ["   reproduce:"] + ["     " + line for line in ce["repro"].splitlines()]
        if r["abandoned"]:
            parts.append(f"   {r['abandoned']} further cases not run after repeated crashes/timeouts")
        if r["rms_note"]:
            parts.append(f"── {r['op']}: {r['rms_note']}")
    return "\n".join(parts)


def _worst(r: dict[str, Any]) -> str:
    if r["worst_error"] is None:
        return "exact mismatch"
    return f"{r['worst_error']:.3g}× bound" if r["passed"] or r["failures"] else ""


def markdown(report: dict[str, Any]) -> str:
    lines = [f"# cnnspec conformance: {report['target']} {report['target_version']} ({report['dtype']}, "
             f"{report['device']})", ""]
    if report["skipped_reason"]:
        lines += [f"**Skipped:** {report['skipped_reason']}", ""]
    rows = [[r["op"], r["status"], r["cases"], r["passed"], r["failures"], r["unsupported"], _worst(r),
             r["clause"], r["variant"]] for r in report["results"]]
    lines.append(tabulate(rows, headers=["op", "status", "cases", "passed", "failed", "unsupported",
                                         "worst error", "clause", "variant"], tablefmt="github"))
    for r in report["results"]:
        ce = r["counterexample"]
        if ce:
            lines += ["", f"## {r['op']}: {r['status']}", "", f"{ce['reason']} [{ce['clause']}]", "",
                      f"Minimal case: `{ce['description']}`", "", "```python", ce["repro"], "```"]
    return "\n".join(lines) + "\n"


def junit(report: dict[str, Any]) -> str:
    suite = ET.Element("testsuite", name=f"cnnspec.{report['target']}.{report['dtype']}",
                       tests=str(len(report["results"])),
                       failures=str(sum(r["status"] == "fail" for r in report["results"])),
                       errors=str(sum(r["status"] in ("crash", "timeout", "error") for r in report["results"])),
                       skipped=str(sum(r["status"] in ("unsupported", "not-implemented", "skipped")
                                       for r in report["results"])),
                       time=str(report["seconds"]))
    for r in report["results"]:
        tc = ET.SubElement(suite, "testcase", classname=f"cnnspec.{report['target']}", name=r["op"],
                           time=str(r["seconds"]["total"]))
        ce = r["counterexample"]
        if r["status"] == "fail":
            el = ET.SubElement(tc, "failure", message=f"{ce['reason'] if ce else r['rms_note']} "
                               f"[{r['clause']}] variant: {r['variant']}")
            el.text = ce["repro"] if ce else ""
        elif r["status"] in ("crash", "timeout", "error"):
            ET.SubElement(tc, "error", message=f"{r['status']}: "
                          + (ce["reason"] if ce else report["skipped_reason"]))
        elif r["status"] in ("unsupported", "not-implemented", "skipped"):
            ET.SubElement(tc, "skipped", message=r["status"])
    root = ET.Element("testsuites")
    root.append(suite)
    return ET.tostring(root, encoding="unicode") + "\n"


def emit(report: dict[str, Any], config: Any) -> None:
    for opt, render in (("--report-json", lambda r: json.dumps(r, indent=2, default=str) + "\n"),
                        ("--report-markdown", markdown), ("--report-junit", junit)):
        path = config.getoption(opt)
        if path:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(render(report))
