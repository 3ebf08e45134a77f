"""The HTML report of a run (``cnnspec run --html PATH``): failing image cases, seen.

One self-contained page: the run's summary table, then for every failing op whose output is
an image batch (NCHW, or an HWC image) a few of its failing cases, each drawn as the
reference's image, the target's image and their difference as a heat map, with the case,
the verdict, the clause and the variants that explain it. Images are PNGs rendered with
matplotlib's object API (no pyplot, no global backend) and embedded as base64, so the page
needs nothing beside it. Without matplotlib the page is written all the same, with a note
where the images would be (``pip install 'cnnspec[html]'``).
"""

from __future__ import annotations

import base64
import html
import io
from typing import Any

import numpy as np

#: Failing cases drawn per op: the example of each finding, most frequent first.
CASES_PER_OP = 3

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 1200px; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 2em; border-bottom: 1px solid #ccc; }
table.summary { border-collapse: collapse; font-size: 0.9em; }
table.summary td, table.summary th { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
td.fail { color: #b00; font-weight: bold; } td.pass { color: #070; }
div.case { border: 1px solid #ddd; border-radius: 4px; padding: 0.8em; margin: 1em 0; }
code, pre { background: #f6f6f6; font-size: 0.85em; } pre { padding: 0.6em; overflow-x: auto; }
p.note { color: #666; font-style: italic; }
"""


def write_html(path: str, cfg: Any, tallies: dict[str, Any], report: dict[str, Any]) -> None:
    """Write the page for one run: ``tallies`` (op -> Tally) and ``report`` (report.build)."""
    try:
        import matplotlib  # noqa: F401
        plotting = True
    except ImportError:
        plotting = False
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>cnnspec: "
             f"{_e(report.get('target', cfg.target))}</title><style>{_CSS}</style></head><body>",
             _header(report), _summary(report)]
    if not plotting:
        parts.append("<p class='note'>matplotlib is not installed: the failing cases are listed without "
                     "their images (pip install 'cnnspec[html]').</p>")
    results = {r["op"]: r for r in report.get("results", [])}
    drawn = 0
    for op, tally in tallies.items():
        fails = [r for r in tally.failures if r.got is not None]
        if not fails:
            continue
        parts.append(f"<h2 id='{_e(op)}'>{_e(op)}: {len(tally.findings)} finding(s), {tally.failed} failing "
                     "case(s)</h2>")
        res = results.get(op, {})
        if res.get("variant"):
            parts.append(f"<p>Diagnosis: <b>{_e(res['variant'])}</b> [{_e(res.get('clause', ''))}]"
                         + (f"<br><small>{_e(res['variant_detail'])}</small>" if res.get("variant_detail") else "")
                         + "</p>")
        for rec in _chosen(tally):
            parts.append(_case_block(op, rec, cfg, plotting))
            drawn += 1
        ce = res.get("counterexample")
        if ce and ce.get("repro"):
            parts.append(f"<details><summary>reproduce the minimal case</summary><pre>{_e(ce['repro'])}</pre>"
                         "</details>")
    if not drawn:
        parts.append("<p>No failing cases: nothing to draw.</p>")
    parts.append("</body></html>")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(parts))


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _header(report: dict[str, Any]) -> str:
    head = (f"<h1>cnnspec {_e(report.get('cnnspec_version', ''))}: target {_e(report.get('target', ''))} "
            f"{_e(report.get('target_version', ''))}</h1><p>{_e(report.get('dtype', ''))} · "
            f"{_e(report.get('device', ''))} · profile {_e(report.get('profile', ''))} "
            f"({_e(report.get('examples', ''))} generated cases per op, seed {_e(report.get('seed', ''))}, "
            f"{_e(report.get('generation', ''))}) · started {_e(report.get('started', ''))} · "
            f"{_e(report.get('seconds', ''))} s · exit status {_e(report.get('exit_status', ''))}: "
            f"{_e(report.get('exit_reason', ''))}</p>")
    if report.get("skipped_reason"):
        head += f"<p><b>Skipped:</b> {_e(report['skipped_reason'])}</p>"
    return head


def _summary(report: dict[str, Any]) -> str:
    rows = ["<table class='summary'><tr><th>op</th><th>status</th><th>cases</th><th>passed</th>"
            "<th>failed</th><th>ambiguous</th><th>unsupported</th><th>clause</th><th>diagnosed variant</th></tr>"]
    for r in report.get("results", []):
        status = r.get("status", "")
        link = f"<a href='#{_e(r['op'])}'>{_e(r['op'])}</a>" if r.get("failures") else _e(r["op"])
        rows.append(f"<tr><td>{link}</td><td class='{_e(status)}'>{_e(status)}</td><td>{r.get('cases', '')}</td>"
                    f"<td>{r.get('passed', '')}</td><td>{r.get('failures', '')}</td><td>{r.get('ambiguous', '')}</td>"
                    f"<td>{r.get('unsupported', '')}</td><td>{_clause(r.get('clause', ''))}</td>"
                    f"<td>{_e(r.get('variant', ''))}</td></tr>")
    rows.append("</table>")
    return "\n".join(rows)


def _clause(clause: str) -> str:
    """A clause id linked to its text in the spec files that ship with cnnspec."""
    if not clause:
        return ""
    try:
        from . import spec_text

        fname, title = spec_text.all_clauses()[clause]
        return f"<a href='{_e((spec_text.spec_dir() / fname).as_uri())}' title='{_e(title)}'>{_e(clause)}</a>"
    except (KeyError, OSError, ValueError):
        return _e(clause)


def _chosen(tally: Any) -> list[Any]:
    """The example of each finding (its minimal case), most frequent finding first, CASES_PER_OP at
    most, no two alike."""
    out: list[Any] = []
    for rec in tally.failures:
        if len(out) >= CASES_PER_OP:
            break
        if rec.got is not None and all(rec.case.describe() != o.case.describe() for o in out):
            out.append(rec)
    return out


def _case_block(op: str, rec: Any, cfg: Any, plotting: bool) -> str:
    from .ops import OPS

    lines = [f"<div class='case'><p><code>{_e(rec.case.describe())}</code>"
             + (f" — <i>{_e(rec.case.note)}</i>" if rec.case.note else "")
             + f" ({_e(rec.source)})</p><p>{_e(rec.status)}"
             + (f" in output {_e(rec.output)!r}" if rec.output else "")
             + f": {_e(rec.reason)} [{_e(rec.clause)}]</p>"]
    for idx, exp, got in rec.diffs:
        lines.append(f"<p class='note'>at {_e(tuple(idx))}: expected {_e(exp)}, got {_e(got)}</p>")
    explained = _explaining(op, rec, cfg.dtype)
    lines.append("<p>Variants matching this case: " + (_e(", ".join(explained)) if explained else "none") + "</p>")
    try:
        expected = OPS[op].measure(rec.case)
    except Exception as exc:  # the reference refused the case: nothing to draw against
        lines.append(f"<p class='note'>reference not computed: {_e(exc)}</p></div>")
        return "\n".join(lines)
    outs = rec.got if isinstance(rec.got, tuple) else (rec.got,)
    for (name, ref, _, _), got in zip(expected, outs):
        if not _is_image(ref):
            continue
        if not isinstance(got, np.ndarray) or got.shape != ref.shape:
            shape = getattr(got, "shape", type(got).__name__)
            lines.append(f"<p class='note'>output {_e(name)}: target returned {_e(shape)}, "
                         f"reference {_e(ref.shape)}: nothing to compare pixel by pixel</p>")
            continue
        if not plotting:
            lines.append(f"<p class='note'>output {_e(name)}: image not drawn (no matplotlib)</p>")
            continue
        lines.append(_figure(name, np.asarray(ref), np.asarray(got), rec.case))
    lines.append("</div>")
    return "\n".join(lines)


def _explaining(op: str, rec: Any, dtype: str) -> list[str]:
    from .runner import matches
    from .variants import variants_for

    found = []
    for v in variants_for(op):
        try:
            if matches(v, rec, dtype):
                found.append(f"{v.name} ({v.clause})")
        except Exception:  # a variant that cannot compute this case explains nothing
            continue
    return found


def _is_image(a: Any) -> bool:
    """An NCHW batch, or one HWC image (three axes, the last of at most 4 channels)."""
    return isinstance(a, np.ndarray) and (a.ndim == 4 or (a.ndim == 3 and a.shape[2] <= 4))


def _planes(a: np.ndarray) -> np.ndarray:
    """Any image layout as (N, C, H, W)."""
    return a if a.ndim == 4 else a.transpose(2, 0, 1)[None]


def _figure(name: str, ref: np.ndarray, got: np.ndarray, case: Any) -> str:
    """Reference, target and |difference| of the plane that differs most, as one PNG."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    r4 = _planes(ref).astype(np.float64)
    g4 = _planes(got).astype(np.float64)
    with np.errstate(invalid="ignore"):
        diff = np.abs(g4 - r4)
    diff = np.where(np.isnan(diff), np.where(np.isnan(r4) & np.isnan(g4), 0.0, np.inf), diff)
    per_plane = diff.reshape(diff.shape[0], diff.shape[1], -1).max(axis=2)
    n, c = np.unravel_index(int(np.argmax(per_plane)), per_plane.shape)
    rp, gp, dp = r4[n, c], g4[n, c], diff[n, c]
    finite = np.concatenate([rp[np.isfinite(rp)], gp[np.isfinite(gp)]])
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    fig = Figure(figsize=(10.5, 3.4), dpi=80)
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 4, gridspec_kw={"width_ratios": [1, 1, 1, 0.05]})
    src = _planes(np.asarray(case.arrays["x"])).astype(np.float64)[n, c] if "x" in case.arrays else None
    panels = [("reference", rp, "gray", lo, hi), ("target", gp, "gray", lo, hi),
              ("|target - reference|", np.where(np.isfinite(dp), dp, np.nan), "magma", 0.0,
               float(np.nanmax(np.where(np.isfinite(dp), dp, np.nan))) if np.isfinite(dp).any() else 1.0)]
    im = None
    for ax, (title, img, cmap, vmin, vmax) in zip(axes[:3], panels):
        im = ax.imshow(img, cmap=cmap, vmin=vmin, vmax=vmax if vmax > vmin else vmin + 1, interpolation="nearest")
        ax.set_title(title, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    assert im is not None  # the loop drew three panels
    fig.colorbar(im, cax=axes[3])
    fig.suptitle(f"output {name}, sample {n}, channel {c} (the plane that differs most; "
                 f"{int((dp > 0).sum())} of {dp.size} pixels differ)", fontsize=10)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    alt = f"{name}: reference, target and difference of sample {n} channel {c}"
    tag = f"<img alt='{_e(alt)}' src='data:image/png;base64,{data}'>"
    if src is not None and src.shape == rp.shape and not np.array_equal(src, rp):
        tag += _input_thumb(src)
    return tag


def _input_thumb(src: np.ndarray) -> str:
    """The input plane, small, for orientation (the transform's before)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2.6, 2.6), dpi=80)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    ax.imshow(src, cmap="gray", interpolation="nearest")
    ax.set_title("input", fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    return f"<img alt='input plane' src='data:image/png;base64,{base64.b64encode(buf.getvalue()).decode('ascii')}'>"
