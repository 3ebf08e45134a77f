"""requirements/lock.txt: every library the test suite installs is pinned, inside pyproject's ranges,
and tox's `py` env really installs those versions."""

from __future__ import annotations

import configparser
import os
import re
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements" / "lock.txt"


def _pins() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            m = re.fullmatch(r"([A-Za-z0-9._-]+)==(\S+)", line)
            assert m, f"lock.txt: not an exact pin: {line!r}"
            pins[canonicalize_name(m.group(1))] = Version(m.group(2))
    return pins


def _tox() -> configparser.ConfigParser:
    ini = configparser.ConfigParser(interpolation=None)
    ini.read(ROOT / "tox.ini", encoding="utf-8")
    return ini


def _suite_requirements() -> list[Requirement]:
    """pyproject's dependencies and those of the extras tox's `py` env installs."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = _tox().get("testenv", "extras").split()
    reqs = [Requirement(r) for r in project["dependencies"]]
    for extra in extras:
        reqs += [Requirement(r) for r in project["optional-dependencies"][extra]]
    return reqs


@pytest.mark.clause("SPEC-1")
def test_every_requirement_of_the_suite_and_of_lint_and_type_is_pinned_inside_its_range():
    pins = _pins()
    ini = _tox()
    reqs = _suite_requirements()
    for env in ("lint", "type"):
        reqs += [Requirement(r) for r in ini.get(f"testenv:{env}", "deps").split()]
    # A requirement whose marker excludes this Python (tomli below 3.11) is not installed here.
    reqs = [r for r in reqs if r.marker is None or r.marker.evaluate({"extra": ""})]
    unpinned = sorted(r.name for r in reqs if canonicalize_name(r.name) not in pins)
    assert not unpinned, f"requirements/lock.txt lacks {unpinned}: run requirements/update-lock"
    outside = sorted(f"{r} (locked {pins[canonicalize_name(r.name)]})" for r in reqs
                     if not r.specifier.contains(pins[canonicalize_name(r.name)], prereleases=True))
    assert not outside, f"locked versions outside pyproject's ranges: {outside}: run requirements/update-lock"


@pytest.mark.clause("SPEC-1")
def test_the_lock_holds_the_cpu_torch_and_every_default_env_installs_with_it():
    assert str(_pins()["torch"]).endswith("+cpu"), "a torch without +cpu is a multi-GB CUDA build"
    ini = _tox()
    assert "-c {toxinidir}/requirements/lock.txt" in ini.get("testenv", "install_command")
    for env in ini.get("tox", "env_list").replace(",", " ").split():
        section = f"testenv:{env}"
        if ini.has_option(section, "install_command"):
            assert "requirements/lock.txt" in ini.get(section, "install_command"), env
    assert "latest" not in ini.get("tox", "env_list")
    assert "requirements/lock.txt" not in ini.get("testenv:latest", "install_command")


@pytest.mark.clause("SPEC-1")
@pytest.mark.skipif(os.environ.get("TOX_ENV_NAME") != "py", reason="checks tox's py env, which installs the lock")
def test_tox_py_env_runs_the_locked_versions():
    pins = _pins()
    installed = {canonicalize_name(d.metadata["Name"]): Version(d.version) for d in metadata.distributions()}
    wrong = sorted(f"{name}: {installed[name]} installed, {pins[name]} locked"
                   for name in pins if name in installed and installed[name] != pins[name])
    # tox does not notice that lock.txt changed: an env made before the change needs `tox -r`.
    assert not wrong, f"{wrong}: recreate the env (tox -r) after requirements/lock.txt changes"
    missing = sorted(canonicalize_name(r.name) for r in _suite_requirements()
                     if canonicalize_name(r.name) not in installed
                     and (r.marker is None or r.marker.evaluate({"extra": ""})))
    assert not missing, f"not installed: {missing}"
