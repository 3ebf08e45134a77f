"""Reports of a run: the terminal table (tabulate), JSON, Markdown and JUnit XML.

Every format renders the same ``report`` dict, whose JSON form is described by
conformance/report_schema.json.
"""

from __future__ import annotations

import json
import platform
import time
import xml.etree.ElementTree as ET
from typing import Any

import numpy as np
from tabulate import tabulate

import reference

from .runner import RunConfig, Tally, rms_failure
from .tally import Finding, signature
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
    call = f"{args}{', ' if args and kwargs else ''}{kwargs}"
    lines += ["", f"target = load_target({target!r})", f"target.setup({dtype!r}, {device!r})",
              f"got = target.{case.op}({call})",
              f"expected = reference.{case.op}({call})",
              "print('got', got, 'expected', expected, sep='\\n')"]
    return "\n".join(lines)


def _counterexample(cfg: RunConfig, rec: Any) -> dict[str, Any] | None:
    if rec is None or rec.case is None:
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


def _finding(cfg: RunConfig, f: Finding, known: set[tuple[str, str, str, str]] | None) -> dict[str, Any]:
    return {"op": f.op, "clause": f.clause, "variant": f.variant, "kind": f.kind, "measured_by": f.measured_by,
            "output": f.output, "count": f.count, "describe": f.describe,
            "kinds": sorted(f.kinds), "baseline": "" if known is None else ("known" if f.key in known else "new"),
            "counterexample": _counterexample(cfg, f.example)}


def variant_summary(findings: list[dict[str, Any]], limit: int = 3) -> str:
    """The op's variant column: the one finding's variant, or at most ``limit`` findings with counts."""
    if not findings:
        return ""
    if len({f["variant"] for f in findings}) == 1:
        return findings[0]["variant"] or "no known variant"
    parts = [f"{f['variant'] or 'none'} ({f['clause']}, {f['count']})" for f in findings[:limit]]
    more = f", +{len(findings) - limit} more" if len(findings) > limit else ""
    return "mixed: " + ", ".join(parts) + more


def build(cfg: RunConfig, tallies: dict[str, Tally], start: Any, version: str, elapsed: float,
          baseline: Any = None) -> dict[str, Any]:
    """The report of a run. ``baseline`` (conformance.expectations.Expectations) marks each finding
    new or known and lists the baseline's entries that no longer occur."""
    skipped = start is None or start.kind != "ready"
    known = baseline.keys() if baseline is not None else None
    results: list[dict[str, Any]] = []
    for t in tallies.values():
        t.consolidate()
    for op, t in tallies.items():
        if skipped:  # a missing library is a skip; a target that never started is an error
            status = "skipped" if start is not None and start.kind == "unsupported" else "error"
        else:
            status = t.status
        findings = [_finding(cfg, f, known) for f in t.ranked()]
        if status == "fail" and not t.failed:  # failed TOL-3 only: the pooled RMS is the finding
            findings.append({"op": op, "clause": "TOL-3", "variant": "", "kind": "statistic", "measured_by": "TOL-3",
                             "output": "", "count": t.count, "describe": rms_failure(t, cfg.dtype),
                             "kinds": ["statistic"], "baseline": "" if known is None else
                             ("known" if (op, "TOL-3", "", "statistic") in known else "new"),
                             "counterexample": None})
        top = findings[0] if findings else None
        results.append({
            "op": op, "target": cfg.target, "dtype": cfg.dtype, "device": cfg.device, "status": status,
            "cases": t.cases, "checked": t.checked, "passed": t.passed, "failures": t.failed,
            "unsupported": t.unsupported, "not_implemented": t.not_implemented, "errors": t.errors,
            "crashes": t.crashes, "timeouts": t.timeouts, "abandoned": t.abandoned, "ambiguous": t.ambiguous,
            "adapter_errors": t.adapter_errors, "adapter_error": t.adapter_error,
            "invalid": t.invalid, "rejected": t.rejected, "accepted": t.accepted,
            "invalid_unsupported": t.invalid_unsupported,
            "worst_error": None if not np.isfinite(t.worst) else round(t.worst, 4),
            "worst_error_note": "exact mismatch" if not np.isfinite(t.worst) else "in units of the TOL-2 bound",
            "rms_error": round(t.rms, 4),
            "rms_note": rms_failure(t, cfg.dtype) if t.rms > RMS_LIMIT else "",
            "clause": top["clause"] if top else "", "variant": variant_summary(findings),
            "variant_detail": "; ".join(f"{f['variant'] or 'no known variant'} ({f['clause']}, {f['kind']}, "
                                        f"{f['count']} cases): {f['describe']}" for f in findings),
            "findings": findings,
            "unsupported_reasons": t.unsupported_reasons,
            "counterexample": top["counterexample"] if top else None,
            "crash_cases": [{"status": r.status, "reason": r.reason, "case": r.case.describe() if r.case else ""}
                            for r in t.crash_records[:5]],
            "seconds": {"total": round(t.total_s, 3), "target": round(t.target_s, 3),
                        "reference": round(t.reference_s, 3), "compare": round(t.compare_s, 3),
                        "generate": round(t.generate_s, 3)},
        })
    fixed: list[dict[str, Any]] = []
    if baseline is not None:
        seen = {signature(f["op"], f["clause"], f["variant"], f["kind"]) for r in results for f in r["findings"]}
        ran = {r["op"] for r in results if r["checked"] or r["crashes"] or r["timeouts"]}
        fixed = [e.as_dict() for e in baseline.entries if e.op in ran and e.key not in seen]
    report: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "cnnspec_version": reference.__version__,
        "target": cfg.target, "target_version": version, "dtype": cfg.dtype, "device": cfg.device,
        "profile": cfg.profile, "examples": cfg.examples, "seed": cfg.seed, "generation": cfg.generation,
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(time.time() - elapsed)),
        "skipped_reason": (start.detail if start is not None else "not started") if skipped else "",
        "python": platform.python_version(), "numpy": np.__version__,
        "seconds": round(elapsed, 2),
        "results": results,
        "baseline": None if baseline is None else {
            "path": baseline.path, "target": baseline.target, "version": baseline.version,
            "dtype": baseline.dtype, "profile": baseline.profile,
            "warnings": baseline.mismatches(cfg.target, version, cfg.dtype, cfg.profile),
            "fixed": fixed},
    }
    report["exit_status"], report["exit_reason"] = exit_status(report)
    return report


#: How the terminal report names where a counterexample came from.
SOURCES = {"corpus": "corpus", "generated": "generated; found by the sweep, not shrunk",
           "shrink": "generated, shrunk by Hypothesis", "probe": "the adapter's self-probe"}

#: The exit-status contract of ``cnnspec run`` (README and --help say the same).
EXIT_CODES = {0: "at least one case checked and every checked case conforms",
              1: "a non-conformance (a finding not in the baseline, when one is given)",
              2: "usage error (unknown target, a target module that fails to import, a missing :obj, "
                 "an unwritable report path, a malformed baseline)",
              3: "nothing was checked (the target is missing, skipped the dtype or device, or supports no case)",
              4: "an adapter error or an internal error (the library was not judged)"}


def exit_status(report: dict[str, Any]) -> tuple[int, str]:
    """(status, why) of a report, by EXIT_CODES."""
    results = report["results"]
    broken = [r["op"] for r in results if r["status"] in ("adapter-error", "error")]
    if broken:
        return 4, f"adapter or internal error in {', '.join(broken[:5])}"
    new = [f for r in results for f in r["findings"] if f["baseline"] != "known"]
    if new:
        ops = sorted({f["op"] for f in new})
        return 1, f"{len(new)} finding(s) in {', '.join(ops[:6])}{' …' if len(ops) > 6 else ''}"
    if not any(r["checked"] for r in results):
        return 3, _nothing_checked(report)
    return 0, "every checked case conforms" + (" (or is a known finding)" if report.get("baseline") else "")


def _nothing_checked(report: dict[str, Any]) -> str:
    if report["skipped_reason"]:
        return f"nothing checked: {report['skipped_reason']}"
    reasons: dict[str, int] = {}
    for r in report["results"]:
        for k, v in dict(r["unsupported_reasons"]).items():
            reasons[k] = reasons.get(k, 0) + v
    if reasons:
        top = max(reasons, key=lambda k: reasons[k])
        return f"nothing checked: every case unsupported (most often: {top})"
    if all(r["status"] == "not-implemented" for r in results_of(report)):
        return ("nothing checked: the target defines none of the ops asked for "
                "(see `cnnspec ops` for the names a module must define)")
    return "nothing checked"


def results_of(report: dict[str, Any]) -> list[dict[str, Any]]:
    return list(report["results"])


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def terminal(report: dict[str, Any]) -> str:
    head = header(report)
    rows = [[r["op"], _status_cell(r["status"]), r["checked"], r["failures"] + r["crashes"] + r["timeouts"],
             r["unsupported"], _worst(r), r["clause"], _cut(r["variant"], 26)] for r in report["results"]]
    table = tabulate(rows, headers=["op", "status", "checked", "failed", "unsupp.", "worst error", "clause",
                                    "variant"], tablefmt="simple")
    parts = [head, "", table]
    for r in report["results"]:
        if r["status"] == "adapter-error":
            parts += ["", f"── {r['op']}: ADAPTER ERROR (not a finding about the library): "
                          f"{r['adapter_error'].splitlines()[0] if r['adapter_error'] else ''}"]
        for f in r["findings"]:
            parts += [""] + _finding_lines(r["op"], f)
        if r["abandoned"]:
            parts.append(f"   {r['abandoned']} further cases not run after repeated crashes/timeouts")
        if r["rms_note"]:
            parts.append(f"── {r['op']}: {r['rms_note']}")
        if r["status"] == "weak":
            top = max(r["unsupported_reasons"], key=lambda k: r["unsupported_reasons"][k], default="")
            parts.append(f"── {r['op']}: WEAK coverage: {r['checked']} cases checked, {r['unsupported']} refused "
                         f"by the target (most often: {top})")
    base = report.get("baseline")
    if base:
        for w in base["warnings"]:
            parts.append(f"warning: baseline {w}")
        for e in base["fixed"]:
            parts.append(f"fixed: prune from the baseline: {e['op']} {e['clause']} "
                         f"{e['variant'] or 'no known variant'} ({e['kind']})")
    parts += ["", f"exit status {report['exit_status']}: {report['exit_reason']}"]
    return "\n".join(parts)


def _status_cell(status: str) -> str:
    return {"pass": "pass", "not-implemented": "not impl.", "adapter-error": "ADAPTER-ERR"}.get(status, status.upper())


def header(report: dict[str, Any]) -> str:
    head = (f"cnnspec {report['cnnspec_version']} — target {report['target']} {report['target_version']}\n"
            f"{report['dtype']} · {report['device']} · profile {report['profile']} "
            f"({report['examples']} generated cases per op, seed {report['seed']}, {report['generation']}) "
            f"· started {report.get('started', '')} · {report['seconds']} s")
    if report["skipped_reason"]:
        head += f"\nSKIPPED: {report['skipped_reason']}"
    return head


def _finding_lines(op: str, f: dict[str, Any], indent: str = "   ") -> list[str]:
    ce = f["counterexample"]
    mark = {"new": " NEW", "known": " (known)"}.get(f["baseline"], "")
    lines = [f"── {op}: {f['clause']} {f['variant'] or 'no known variant'} — {'/'.join(f['kinds'])}, "
             f"{f['count']} case(s), "
             f"measured by {f['measured_by']}{mark}"]
    if f["describe"]:
        lines.append(f"{indent}{f['describe']}")
    if ce:
        lines.append(f"{indent}{ce['reason']}")
        lines.append(f"{indent}minimal case ({SOURCES.get(ce['source'], ce['source'])}"
                     f"{', ' + ce['note'] if ce['note'] else ''}): {ce['description']}")
        for d in ce["first_differences"]:
            lines.append(f"{indent}at {tuple(d['index'])}: expected {d['expected']}, got {d['got']}")
        lines += [f"{indent}reproduce:"] + [f"{indent}  " + line for line in ce["repro"].splitlines()]
    return lines


def _worst(r: dict[str, Any]) -> str:
    if r["worst_error"] is None:
        return "exact mismatch"
    return f"{r['worst_error']:.3g}× bound" if r["passed"] or r["failures"] else ""


def markdown(report: dict[str, Any]) -> str:
    lines = [f"# cnnspec conformance: {report['target']} {report['target_version']} ({report['dtype']}, "
             f"{report['device']})", "", "```", header(report), "```", ""]
    rows = [[r["op"], r["status"], r["cases"], r["checked"], r["failures"], r["unsupported"], _worst(r),
             _clause_link(r["clause"]), r["variant"]] for r in report["results"]]
    lines.append(tabulate(rows, headers=["op", "status", "cases", "checked", "failed", "unsupported",
                                         "worst error", "clause", "variant"], tablefmt="github"))
    for r in report["results"]:
        if r["status"] == "adapter-error":
            lines += ["", f"## {r['op']}: adapter error", "", "```", r["adapter_error"], "```"]
        for f in r["findings"]:
            ce = f["counterexample"]
            mark = {"new": " (new)", "known": " (known)"}.get(f["baseline"], "")
            lines += ["", f"## {r['op']}: {f['clause']} {f['variant'] or 'no known variant'}{mark}", "",
                      f"{_clause_link(f['clause'])}: {f['kind']} difference in {f['count']} case(s), measured by "
                      f"{f['measured_by']}. {f['describe']}"]
            if ce:
                lines += ["", f"{ce['reason']}", "", f"Minimal case ({SOURCES.get(ce['source'], ce['source'])}): "
                          f"`{ce['description']}`", ""]
                for d in ce["first_differences"]:
                    lines.append(f"- at {tuple(d['index'])}: expected {d['expected']}, got {d['got']}")
                lines += ["", "```python", ce["repro"], "```"]
    base = report.get("baseline")
    if base and base["fixed"]:
        lines += ["", "## Baseline entries that no longer occur (prune them)", ""]
        lines += [f"- {e['op']} {e['clause']} {e['variant'] or 'no known variant'} ({e['kind']})"
                  for e in base["fixed"]]
    lines += ["", f"Exit status {report['exit_status']}: {report['exit_reason']}"]
    return "\n".join(lines) + "\n"


def _clause_link(clause: str) -> str:
    """A Markdown link to the clause's text in the spec files that ship with cnnspec (``cnnspec spec ID``
    prints the same text)."""
    if not clause:
        return ""
    try:
        from . import spec_text

        fname, title = spec_text.all_clauses()[clause]
        anchor = "".join(ch for ch in f"{clause} {title}".lower() if ch.isalnum() or ch in " -").replace(" ", "-")
        return f"[{clause}]({(spec_text.spec_dir() / fname).as_uri()}#{anchor})"
    except (KeyError, OSError, ValueError):
        return clause


def junit(report: dict[str, Any]) -> str:
    res = report["results"]
    suite = ET.Element("testsuite", name=f"cnnspec.{report['target']}.{report['dtype']}",
                       tests=str(len(res)),
                       failures=str(sum(r["status"] == "fail" for r in res)),
                       errors=str(sum(r["status"] in ("crash", "timeout", "error", "adapter-error") for r in res)),
                       skipped=str(sum(r["status"] in ("unsupported", "not-implemented", "skipped") for r in res)),
                       time=str(report["seconds"]))
    for r in res:
        tc = ET.SubElement(suite, "testcase", classname=f"cnnspec.{report['target']}", name=r["op"],
                           time=str(r["seconds"]["total"]))
        if r["status"] == "fail":
            el = ET.SubElement(tc, "failure", message=f"{len(r['findings'])} finding(s): {r['variant_detail']}")
            el.text = "\n\n".join("\n".join(_finding_lines(r["op"], f)) for f in r["findings"])
        elif r["status"] in ("crash", "timeout", "error", "adapter-error"):
            why = r["adapter_error"] or (r["findings"][0]["describe"] if r["findings"] else report["skipped_reason"])
            ET.SubElement(tc, "error", message=f"{r['status']}: {why.splitlines()[0] if why else ''}")
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
