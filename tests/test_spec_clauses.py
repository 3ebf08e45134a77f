"""Meta-tests: every clause in spec/ is cited by a test, and every cited clause exists."""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEADING = re.compile(r"^#{2,4} +([A-Z][A-Z0-9]*(?:-[A-Z][A-Z0-9]*)*-\d+)\b(.*)$", re.M)


@functools.cache
def spec_clauses() -> dict[str, bool]:
    """Clause id -> whether it is live (a withdrawn clause stays as a tombstone); read once."""
    found: dict[str, bool] = {}
    for md in sorted((ROOT / "spec").glob("*.md")):
        for m in HEADING.finditer(md.read_text(encoding="utf-8")):
            cid, rest = m.group(1), m.group(2)
            assert cid not in found, f"clause {cid} defined twice (second in {md.name})"
            found[cid] = "withdrawn" not in rest.lower()
    return found


@functools.cache
def cited_clauses() -> dict[str, list[str]]:
    """Clause id -> the tests citing it through ``@pytest.mark.clause(...)``.

    Every test file is parsed once per session (the three tests share the result); the callers
    only read the dict.
    """
    cited: dict[str, list[str]] = {}
    for py in sorted((ROOT / "tests").rglob("test_*.py")):
        tree = ast.parse(py.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            # `pytest.mark.clause(...)` (also as `pytestmark = ...`), not any other `.clause(...)` call
            # such as `spec_text.clause("ID")`.
            func = node.func if isinstance(node, ast.Call) else None
            if (isinstance(func, ast.Attribute) and func.attr == "clause"
                    and getattr(func.value, "attr", None) == "mark"):
                for arg in node.args:
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                        cited.setdefault(arg.value, []).append(py.name)
    return cited


@pytest.mark.clause("SPEC-1")
def test_every_live_clause_is_cited_by_a_test():
    clauses = spec_clauses()
    assert len(clauses) > 10, "spec/ lost its clauses"
    cited = cited_clauses()
    missing = sorted(c for c, live in clauses.items() if live and c not in cited)
    assert not missing, f"clauses no test cites: {missing}"


def test_every_cited_clause_exists_in_the_spec():
    clauses = spec_clauses()
    unknown = sorted(c for c in cited_clauses() if c not in clauses)
    assert not unknown, f"tests cite clauses spec/ does not define: {unknown}"


def test_no_test_cites_a_withdrawn_clause():
    clauses = spec_clauses()
    dead = sorted(c for c in cited_clauses() if clauses.get(c) is False)
    assert not dead, f"tests cite withdrawn clauses: {dead}"
