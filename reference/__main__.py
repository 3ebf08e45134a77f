"""``python -m reference golden ...``: an alias of ``cnnspec golden ...`` (see spec/golden.md).

The reference itself has no command line; this alias exists so that "use the reference as
golden outputs" reads as it says. It needs the ``conformance`` package (installed with cnnspec).
"""

from __future__ import annotations

import sys

USAGE = ("usage: python -m reference golden {write,check,verify} ...\n"
         "       (an alias of `cnnspec golden`; run `cnnspec golden --help` for the options)")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] != "golden":
        print(USAGE, file=sys.stderr)
        return 2
    from conformance.cli import main as cnnspec_main

    return cnnspec_main(argv)


if __name__ == "__main__":
    sys.exit(main())
