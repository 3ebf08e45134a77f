"""The house: one op table composed explicitly, no import circle, no module changed by another's
import, adapters that never import the reference, and a light worker (GOLD-9)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "conformance"


def _module_imports(path: Path) -> set[str]:
    """The conformance/reference modules ``path`` imports at module level (not inside functions)."""
    name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    if name.endswith(".__init__"):
        name = name[: -len(".__init__")]
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If):  # TYPE_CHECKING blocks import nothing at run time
            continue
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            subs = {f"{mod}.{a.name}" for a in node.names}
            out |= subs
            if not node.names or any(a.name[0].isupper() or a.name.islower() for a in node.names):
                out.add(mod)  # names from the module itself (a submodule's own import of its package is not)
            if node.level and not node.module:
                out.discard(mod)  # `from . import sub`: the package is already loading
    return {m for m in out if m.split(".")[0] in ("conformance", "reference")}


def _graph() -> dict[str, set[str]]:
    mods = {}
    for path in list(PKG.rglob("*.py")) + list((ROOT / "reference").rglob("*.py")):
        if "suite" in path.parts:
            continue
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).replace(".__init__", "")
        mods[name] = path
    return {m: {i for i in _module_imports(p) if i in mods and i != m} for m, p in mods.items()}


@pytest.mark.clause("SPEC-1")
def test_the_import_graph_has_no_circle():
    graph = _graph()
    seen: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        seen[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            if seen.get(n) == 1:
                raise AssertionError("import circle: " + " -> ".join(stack[stack.index(n):] + [n]))
            if n not in seen:
                visit(n)
        stack.pop()
        seen[m] = 2

    for m in sorted(graph):
        if m not in seen:
            visit(m)


@pytest.mark.clause("SPEC-1")
def test_no_adapter_imports_the_reference():
    for path in (PKG / "targets").glob("*.py"):
        if path.name == "reference_target.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)] + \
            [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        assert not [n for n in names if n.split(".")[0] == "reference"], path.name


@pytest.mark.clause("SPEC-1")
def test_the_op_names_module_lists_the_op_table_in_its_order():
    from conformance.opnames import OP_NAMES
    from conformance.ops import OPS

    assert list(OP_NAMES) == list(OPS)


@pytest.mark.clause("SPEC-1")
def test_the_tables_do_not_depend_on_which_module_is_imported_first():
    code = ("import importlib, sys; [importlib.import_module(m) for m in sys.argv[1:]]; "
            "from conformance.variants import VARIANTS; from conformance.corpus import CORPUS; "
            "from conformance.ops import OPS; "
            "print(len(OPS), [(v.op, v.name) for v in VARIANTS], sorted((k, len(v)) for k, v in CORPUS.items()))")
    outs = {subprocess.run([sys.executable, "-c", code, *first], capture_output=True, text=True, cwd=ROOT,
                           check=True).stdout
            for first in (["conformance.variants"], ["conformance.ops"], ["conformance.corpus"],
                          ["conformance.ops_augmentation", "conformance.ops_detection"])}
    assert len(outs) == 1


@pytest.mark.clause("GOLD-9")
def test_a_worker_and_an_adapter_load_neither_the_reference_nor_hypothesis():
    code = ("import sys; from conformance.worker import Worker, _serve, _answer; "
            "from conformance.targets import load_target; from conformance.opnames import OP_NAMES; "
            "import conformance.targets.opencv_target, conformance.targets.scipy_target, "
            "conformance.targets.tensorflow_target, conformance.targets.jax_target; "
            "from conformance.tally import judge; import conformance.golden; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('reference', 'hypothesis')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", out.stdout
