"""Known findings as data: per-target expectation files and users' baselines (one format, two uses).

An *expectations file* (``conformance/expectations/<target>.toml``) lists every finding that a
pinned run of a built-in target gives: op, clause, variant (or "" where no variant matches),
kind, the library version it was recorded with and a one-line why. The test suite asserts
that a pinned run's findings equal the file exactly; ``cnnspec expectations update`` rewrites a
file from a run; ``cnnspec expectations diff`` runs every target with a file and prints what
appeared, vanished or changed variant (the early warning of ``tox -e latest``);
``cnnspec expectations table`` prints the README's findings table from the files.

A *baseline* is the same record for a user's own CI (``cnnspec run --baseline FILE``,
``--write-baseline FILE``; JSON, or TOML when the name ends in ``.toml``): findings in it are
"known", others "new", and entries that no longer occur are listed as "fixed: prune".

A finding's identity is its signature ``(op, clause, variant, kind)``; counts and examples are
information, not identity.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Where the built-in targets' expectation files live.
EXPECTATIONS_DIR = Path(__file__).parent / "expectations"
FORMAT = 1


class BaselineError(ValueError):
    """A baseline or expectations file that cannot be read (a usage error: exit 2)."""


@dataclass
class Entry:
    op: str
    clause: str
    variant: str
    kind: str
    why: str = ""
    count: int = 0
    version: str = ""  # the library version this finding was recorded with

    @property
    def key(self) -> tuple[str, str, str, str]:
        from .tally import signature

        return signature(self.op, self.clause, self.variant, self.kind)

    def as_dict(self) -> dict[str, Any]:
        return {"op": self.op, "clause": self.clause, "variant": self.variant, "kind": self.kind,
                "count": self.count, "version": self.version, "why": self.why}

    def describe(self) -> str:
        return f"{self.op} {self.clause} {self.variant or 'no known variant'}" + ("" if self.variant else
                                                                                   f" ({self.kind})")


@dataclass
class Expectations:
    target: str
    version: str = ""
    dtype: str = "float64"
    profile: str = "default"
    seed: int = 0
    entries: list[Entry] = field(default_factory=list)
    path: str = ""

    def keys(self) -> set[tuple[str, str, str, str]]:
        return {e.key for e in self.entries}

    def mismatches(self, target: str, version: str, dtype: str, profile: str) -> list[str]:
        """Warnings for a run whose settings differ from those the file was recorded with."""
        out = []
        for name, mine, theirs in (("target", self.target, target), ("version", self.version, version),
                                   ("dtype", self.dtype, dtype), ("profile", self.profile, profile)):
            if mine and theirs and mine != theirs:
                out.append(f"{self.path or 'baseline'} was recorded with {name} {mine}, this run has {theirs}")
        return out


def _entry(raw: Any, where: str) -> Entry:
    if not isinstance(raw, dict):
        raise BaselineError(f"{where}: a finding must be a table/object, not {type(raw).__name__}")
    missing = [k for k in ("op", "clause", "variant", "kind") if k not in raw]
    if missing:
        raise BaselineError(f"{where}: a finding lacks {', '.join(missing)}")
    for k in ("op", "clause", "variant", "kind", "why", "version"):
        if k in raw and not isinstance(raw[k], str):
            raise BaselineError(f"{where}: {k} must be a string, not {raw[k]!r}")
    return Entry(raw["op"], raw["clause"], raw["variant"], raw["kind"], raw.get("why", ""),
                 int(raw.get("count", 0)), raw.get("version", ""))


def load(path: str | Path) -> Expectations:
    """Read an expectations file or a baseline (TOML or JSON). BaselineError when malformed."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise BaselineError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    try:
        if p.suffix == ".toml":
            if sys.version_info >= (3, 11):
                import tomllib
            else:  # pragma: no cover - Python 3.10
                import tomli as tomllib
            raw = tomllib.loads(text)
        else:
            raw = json.loads(text)
    except ValueError as exc:  # json.JSONDecodeError and tomllib.TOMLDecodeError are ValueErrors
        raise BaselineError(f"{path}: not valid {'TOML' if p.suffix == '.toml' else 'JSON'}: {exc}") from exc
    if not isinstance(raw, dict) or "target" not in raw or not isinstance(raw.get("finding", raw.get("findings", [])),
                                                                           list):
        raise BaselineError(f"{path}: not a cnnspec baseline (needs 'target' and a list of findings)")
    entries = [_entry(r, f"{path}: finding {i + 1}") for i, r in enumerate(raw.get("finding", raw.get("findings", [])))]
    return Expectations(str(raw["target"]), str(raw.get("version", "")), str(raw.get("dtype", "float64")),
                        str(raw.get("profile", "default")), int(raw.get("seed", 0)), entries, str(path))


def from_report(report: dict[str, Any], old: Expectations | None = None) -> Expectations:
    """The expectations a run's report implies; the ``why`` of findings ``old`` already had is kept."""
    from .tally import signature

    whys = {e.key: e for e in old.entries} if old is not None else {}
    entries = []
    for r in report["results"]:
        for f in r["findings"]:
            key = signature(f["op"], f["clause"], f["variant"], f["kind"])
            prev = whys.get(key)
            why = prev.why if prev is not None and prev.why else _auto_why(f)
            version = prev.version if prev is not None and prev.version else report["target_version"]
            entries.append(Entry(f["op"], f["clause"], f["variant"], f["kind"], why=why, count=int(f["count"]),
                                 version=version))
    entries.sort(key=lambda e: (e.op, e.clause, e.variant, e.kind))
    return Expectations(report["target"], report["target_version"], report["dtype"], report["profile"],
                        int(report["seed"]), entries)


def _auto_why(f: dict[str, Any]) -> str:
    """A first why for a new finding, to be reviewed: the variant's description, else what differed
    on its minimal case."""
    ce = f.get("counterexample") or {}
    if f.get("variant"):
        text = f.get("describe") or ""
    else:
        text = f"{ce.get('reason') or f.get('describe', '')}"
        if ce.get("description"):
            text += f" on {ce['description']}"
    return " ".join(text.split())[:240]


def _q(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def dump_toml(exp: Expectations, header: str = "") -> str:
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    lines += [f"format = {FORMAT}", f"target = {_q(exp.target)}", f"version = {_q(exp.version)}",
              f"dtype = {_q(exp.dtype)}", f"profile = {_q(exp.profile)}", f"seed = {exp.seed}"]
    for e in exp.entries:
        lines += ["", "[[finding]]", f"op = {_q(e.op)}", f"clause = {_q(e.clause)}", f"variant = {_q(e.variant)}",
                  f"kind = {_q(e.kind)}", f"count = {e.count}", f"version = {_q(e.version)}", f"why = {_q(e.why)}"]
    return "\n".join(lines) + "\n"


def dump_json(exp: Expectations) -> str:
    return json.dumps({"format": FORMAT, "target": exp.target, "version": exp.version, "dtype": exp.dtype,
                       "profile": exp.profile, "seed": exp.seed,
                       "findings": [e.as_dict() for e in exp.entries]}, indent=2) + "\n"


def write(exp: Expectations, path: str | Path, header: str = "") -> None:
    p = Path(path)
    p.write_text(dump_toml(exp, header) if p.suffix == ".toml" else dump_json(exp), encoding="utf-8")


def check_writable(path: str | Path) -> str | None:
    """Why ``path`` cannot be written (checked before a run starts, by opening it), or None."""
    p = Path(path)
    if p.is_dir():
        return f"{path} is a directory"
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        return f"the folder {parent} does not exist"
    existed = p.exists()
    try:
        with open(p, "a", encoding="utf-8"):
            pass
    except OSError as exc:
        return f"not writable ({exc.strerror or exc})"
    if not existed:
        p.unlink()
    return None


def diff(exp: Expectations, report: dict[str, Any]) -> dict[str, list[str]]:
    """What a run found against ``exp``: appeared, vanished, and changed variant (same op, clause, kind)."""
    now = from_report(report)
    old_keys, new_keys = exp.keys(), now.keys()
    ran = {r["op"] for r in report["results"] if r["status"] not in ("skipped", "not-implemented")}
    appeared = [e for e in now.entries if e.key not in old_keys]
    vanished = [e for e in exp.entries if e.key not in new_keys and e.op in ran]
    changed = []
    for a in list(appeared):
        for v in list(vanished):
            if (a.op, a.clause, a.kind) == (v.op, v.clause, v.kind):
                changed.append(f"{a.op} {a.clause} ({a.kind}): variant {v.variant or 'none'} -> {a.variant or 'none'}")
                appeared.remove(a)
                vanished.remove(v)
                break
    return {"appeared": [e.describe() for e in appeared], "vanished": [e.describe() for e in vanished],
            "changed": changed}


def files() -> dict[str, Path]:
    """Built-in target name -> its expectations file (a surface's ``lib:surface`` is ``lib@surface.toml``)."""
    return {p.stem.replace("@", ":"): p for p in sorted(EXPECTATIONS_DIR.glob("*.toml"))}


def path_of(target: str) -> Path:
    """Where a built-in target's (or surface's) expectations file is."""
    return EXPECTATIONS_DIR / f"{target.replace(':', '@')}.toml"


def table(exps: list[Expectations] | None = None) -> str:
    """The README's findings table, generated from the expectation files: a row per target and op,
    each finding as clause, variant (— where none is named) and its why."""
    exps = exps if exps is not None else [load(p) for p in files().values()]
    rows = ["| target | op | findings: clause, variant — why |", "|---|---|---|"]
    for exp in exps:
        by_op: dict[str, list[Entry]] = {}
        for e in exp.entries:
            by_op.setdefault(e.op, []).append(e)
        if not by_op:
            rows.append(f"| {exp.target} {exp.version} ({exp.dtype}) | every op | no finding |")
        for op, entries in by_op.items():
            cells = "<br>".join(f"{e.clause} {('`' + e.variant + '`') if e.variant else '— (' + e.kind + ')'}: "
                                f"{e.why}".replace("|", "\\|") for e in entries)
            rows.append(f"| {exp.target} {exp.version} ({exp.dtype}) | {op} | {cells} |")
    return "\n".join(rows) + "\n"
