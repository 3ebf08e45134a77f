"""The text of the spec's clauses, for ``cnnspec spec ID`` and for reports that quote a rule.

The spec is the Markdown in the repository's ``spec/`` folder. A wheel ships the same files as
package data, in ``conformance/_spec/`` (pyproject.toml maps the package ``conformance._spec`` to
``spec/``), so a pip user can read a clause without a checkout.

A clause runs from its heading ``### ID: title`` up to the next heading of level 1 to 3 (or the
end of its file); headings inside fenced code blocks do not count.

Standard library only: no NumPy, no ``reference``, no Hypothesis.
"""

from __future__ import annotations

import difflib
import functools
import re
from pathlib import Path

__all__ = ["UnknownClause", "all_clauses", "clause", "clause_title", "spec_dir"]

_HERE = Path(__file__).resolve().parent

#: ``### POOL-MAX-2: NaN propagates`` -> id, title.
_CLAUSE_HEADING = re.compile(r"^###[ \t]+([A-Z][A-Z0-9]*(?:-[A-Z][A-Z0-9]*)*-\d+)[ \t]*:[ \t]*(.*?)[ \t]*$")
#: Any heading that ends a clause: levels 1 to 3.
_ANY_HEADING = re.compile(r"^#{1,3}[ \t]")
_FENCE = re.compile(r"^[ \t]*(```|~~~)")


def spec_dir() -> Path:
    """The folder of the spec's Markdown files.

    From a checkout (``conformance/`` beside ``pyproject.toml`` and ``spec/``) the repository's
    ``spec/``, so an edit is seen at once; from an installed wheel, the copy shipped in
    ``conformance/_spec/``.
    """
    root = _HERE.parent
    checkout = root / "spec"
    if (root / "pyproject.toml").is_file() and (checkout / "README.md").is_file():
        return checkout
    installed = _HERE / "_spec"
    if (installed / "README.md").is_file():
        return installed
    raise FileNotFoundError(
        f"cnnspec's spec text is missing: neither {checkout} (a checkout) nor {installed} "
        "(an installed wheel) holds README.md; reinstall cnnspec"
    )


@functools.lru_cache(maxsize=4)
def _parse(folder: Path) -> dict[str, tuple[str, str, str]]:
    """Clause id -> (file name, title, text), in file order."""
    found: dict[str, tuple[str, str, str]] = {}
    for md in sorted(folder.glob("*.md")):
        # Per clause (id, title, its heading line) and its end: the next heading or the end of file.
        lines = md.read_text(encoding="utf-8").splitlines()
        spans: list[tuple[str, str, int]] = []
        ends: list[int] = []
        in_fence = False
        for i, line in enumerate(lines):
            if _FENCE.match(line):
                in_fence = not in_fence
            elif not in_fence and _ANY_HEADING.match(line):
                if len(ends) < len(spans):
                    ends.append(i)
                m = _CLAUSE_HEADING.match(line)
                if m:
                    spans.append((m.group(1), m.group(2), i))
        if len(ends) < len(spans):
            ends.append(len(lines))
        for (cid, title, start), end in zip(spans, ends):
            if cid in found:
                raise ValueError(f"clause {cid} is defined twice ({found[cid][0]} and {md.name})")
            found[cid] = (md.name, title, "\n".join(lines[start:end]).rstrip() + "\n")
    return found


class UnknownClause(KeyError):
    """A clause id the spec does not define (a :class:`KeyError` whose text reads as a sentence)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown clause"


def _clauses() -> dict[str, tuple[str, str, str]]:
    return _parse(spec_dir())


def _lookup(clause_id: str) -> tuple[str, str, str]:
    clauses = _clauses()
    key = clause_id.strip().upper()
    if key in clauses:
        return clauses[key]
    hint = difflib.get_close_matches(key, clauses, n=3, cutoff=0.6)
    prefix = key.rsplit("-", 1)[0] if "-" in key else key
    same_prefix = [c for c in clauses if c.rsplit("-", 1)[0] == prefix]
    msg = f"no clause {clause_id!r} in the spec ({spec_dir()})"
    if same_prefix:
        msg += f"; {prefix} has {same_prefix[0]} to {same_prefix[-1]}"
    elif hint:
        msg += f"; did you mean {', '.join(hint)}?"
    else:
        prefixes = sorted({c.rsplit("-", 1)[0] for c in clauses})
        msg += f"; the prefixes are {', '.join(prefixes)}"
    raise UnknownClause(msg)


def clause(clause_id: str) -> str:
    """The Markdown of one clause, its ``### ID: title`` heading first.

    ``clause_id`` is case-insensitive (``pool-max-2`` finds POOL-MAX-2). Raises :class:`KeyError`
    naming near ids for an unknown one.
    """
    return _lookup(clause_id)[2]


def clause_title(clause_id: str) -> str:
    """The title of a clause (``(withdrawn) ...`` for a tombstone)."""
    return _lookup(clause_id)[1]


def all_clauses() -> dict[str, tuple[str, str]]:
    """Every clause id -> (its file's name, e.g. ``pooling.md``, its title), in spec order."""
    return {cid: (name, title) for cid, (name, title, _) in _clauses().items()}
