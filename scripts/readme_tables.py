"""Writes (or with ``--check``, verifies) the README tables that mirror code: the configuration
reference (``configs.reference``) and the HTTP error codes (``assistant.http.errors``).

    python scripts/readme_tables.py          # make docs
    python scripts/readme_tables.py --check  # make test: exit 1 when the README is stale
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def tables() -> dict[str, Callable[[], str]]:
    from assistant.http import errors
    from configs import reference

    return {"config": reference.markdown_table, "errors": errors.markdown_table}


def render(text: str) -> str:
    for name, make in tables().items():
        pattern = re.compile(rf"(<!-- generated:{name} [^>]*-->\n)(.*?)(<!-- /generated:{name} -->)", re.S)
        if not pattern.search(text):
            raise SystemExit(f"README.md has no <!-- generated:{name} ... --> block")
        text = pattern.sub(lambda m, make=make: m.group(1) + make() + "\n" + m.group(3), text)
    return text


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python scripts/readme_tables.py")
    p.add_argument("--check", action="store_true", help="fail when README.md differs from the code")
    args = p.parse_args(argv)
    current = README.read_text(encoding="utf-8")
    fresh = render(current)
    if args.check:
        if fresh != current:
            print("README.md tables are stale: run `make docs`", file=sys.stderr)
            return 1
        return 0
    README.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
