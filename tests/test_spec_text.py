"""The spec's text as the package reads it (conformance.spec_text), and the wheel that ships it."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conformance import spec_text

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "spec"
# Written independently of spec_text's own pattern: every `### ID: title` heading of spec/.
HEADING = re.compile(r"^### ([A-Z][A-Z0-9-]*-\d+): (.*)$", re.M)


def _headings() -> dict[str, tuple[str, str]]:
    found = {}
    for md in sorted(SPEC.glob("*.md")):
        for m in HEADING.finditer(md.read_text(encoding="utf-8")):
            found[m.group(1)] = (md.name, m.group(2).strip())
    return found


@pytest.mark.clause("SPEC-1")
def test_all_clauses_lists_every_heading_of_the_spec_with_its_file_and_title():
    clauses = spec_text.all_clauses()
    assert clauses == _headings()
    assert len(clauses) > 100
    assert clauses["POOL-MAX-2"][0] == "pooling.md"
    assert list(clauses)[0] == "SPEC-1"  # README.md first: files in name order, clauses in file order


@pytest.mark.clause("SPEC-1")
def test_a_clause_runs_from_its_heading_to_the_next_one():
    text = spec_text.clause("POOL-MAX-2")
    title = spec_text.clause_title("POOL-MAX-2")
    assert text.startswith(f"### POOL-MAX-2: {title}\n")
    assert "**Rule.**" in text and "nan-ignored" in text
    assert "### " not in text[4:]  # the next clause is not part of it
    assert text.endswith("\n") and not text.endswith("\n\n")
    # The pieces of a file are its clauses, in order: nothing of a clause is lost or doubled.
    body = (SPEC / "pooling.md").read_text(encoding="utf-8")
    pooling = [c for c, (name, _) in spec_text.all_clauses().items() if name == "pooling.md"]
    pieces = [spec_text.clause(c).rstrip("\n") for c in pooling]
    assert body[body.index("### " + pooling[0]):].rstrip("\n") == "\n\n".join(pieces)


@pytest.mark.clause("SPEC-1")
def test_a_clause_id_is_case_insensitive_and_an_unknown_one_raises_a_helpful_key_error():
    assert spec_text.clause("pool-max-2") == spec_text.clause("POOL-MAX-2")
    with pytest.raises(KeyError, match=r"POOL-MAX-99.*POOL-MAX has POOL-MAX-1 to POOL-MAX-\d+"):
        spec_text.clause("POOL-MAX-99")
    with pytest.raises(KeyError, match=r"did you mean .*POOL-MAX-2"):
        spec_text.clause_title("POOL-MX-2")
    with pytest.raises(KeyError) as info:
        spec_text.clause("ZZZZ")
    assert str(info.value).startswith("no clause 'ZZZZ'")  # reads as a sentence, not a repr


@pytest.mark.clause("SPEC-1")
def test_headings_in_code_blocks_do_not_cut_a_clause_and_any_heading_ends_one(tmp_path):
    (tmp_path / "a.md").write_text(
        "# A file\n\nintro\n\n### AB-1: First\n\nRule.\n```\n# a comment, not a heading\n### AB-9: nor this\n```\n"
        "tail\n\n## A section\n\nnot part of AB-1\n\n### AB-2: (withdrawn) Second\n\nReplaced by AB-3.\n",
        encoding="utf-8",
    )
    parsed = spec_text._parse(tmp_path)
    assert list(parsed) == ["AB-1", "AB-2"]
    assert parsed["AB-1"][2] == (
        "### AB-1: First\n\nRule.\n```\n# a comment, not a heading\n### AB-9: nor this\n```\ntail\n"
    )
    assert parsed["AB-2"][:2] == ("a.md", "(withdrawn) Second")


@pytest.mark.clause("SPEC-1")
def test_spec_text_is_read_from_the_checkout_and_imports_nothing_heavy(tmp_path):
    package_parent = Path(spec_text.__file__).resolve().parent.parent
    code = (
        "import sys\n"
        "from conformance import spec_text\n"
        "print(spec_text.spec_dir())\n"
        "print(sorted(m for m in ('numpy', 'reference', 'hypothesis') if m in sys.modules))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(package_parent)}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert out[1] == "[]"
    # Under tox the package is the installed wheel (its copy of spec/); from a checkout, spec/ itself.
    expected = SPEC if (package_parent / "pyproject.toml").is_file() else package_parent / "conformance" / "_spec"
    assert Path(out[0]) == expected


def _copy_source(dest: Path) -> Path:
    """What a fresh clone holds of the package, without build leftovers in the checkout."""
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "*.so", "build", "*.egg-info")
    dest.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, dest / name)
    for name in ("reference", "conformance", "spec"):
        shutil.copytree(ROOT / name, dest / name, ignore=skip)
    return dest


@pytest.mark.slow
@pytest.mark.clause("SPEC-1")
@pytest.mark.skipif(importlib.util.find_spec("pip") is None, reason="needs pip to build the wheel")
def test_the_wheel_ships_the_spec_every_module_and_the_data_files(tmp_path):
    src = _copy_source(tmp_path / "src")
    out = tmp_path / "dist"
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(src)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (wheel,) = out.glob("cnnspec-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())

    spec_files = sorted(p.name for p in (src / "spec").glob("*.md"))
    assert "README.md" in spec_files and "pooling.md" in spec_files
    missing = [f"conformance/_spec/{n}" for n in spec_files if f"conformance/_spec/{n}" not in names]
    # Every module and data file of the packages: a subpackage left out of pyproject's list shows here.
    for pkg in ("reference", "conformance"):
        for path in sorted((src / pkg).rglob("*")):
            if path.is_file() and path.suffix in (".py", ".json", ".toml", ".c", ".ini"):
                if path.relative_to(src).as_posix() not in names:
                    missing.append(path.relative_to(src).as_posix())
    assert not missing, f"not in {wheel.name}: {missing}"

    # The installed copy is what spec_text reads when there is no checkout around it.
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = "from conformance import spec_text as s; print(s.spec_dir()); print(s.clause('POOL-MAX-2').splitlines()[0])"
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(site)})
    where, heading = run.stdout.splitlines()
    assert Path(where) == site / "conformance" / "_spec"
    assert heading == f"### POOL-MAX-2: {spec_text.clause_title('POOL-MAX-2')}"
