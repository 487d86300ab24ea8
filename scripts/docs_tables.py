"""Writes (or with ``--check``, verifies) the documentation tables that mirror code: the
configuration reference (``configs.reference``) in docs/configuration.md and the HTTP error codes
(``assistant.http.errors``) in docs/api.md.

    python scripts/docs_tables.py          # make docs
    python scripts/docs_tables.py --check  # make lint (and make test): exit 1 when a table is stale

Each table sits between ``<!-- generated:NAME ... -->`` and ``<!-- /generated:NAME -->`` in its
page; the text around it is the page's own.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: table name -> the page (relative to the repository root) that holds it
PAGES = {"config": "docs/configuration.md", "errors": "docs/api.md"}


def tables() -> dict[str, Callable[[], str]]:
    from assistant.http import errors
    from configs import reference

    return {"config": reference.markdown_table, "errors": errors.markdown_table}


def render(name: str, text: str, page: str = "") -> str:
    """``text`` with the table ``name`` between its markers written afresh from the code."""
    make = tables()[name]
    pattern = re.compile(rf"(<!-- generated:{name} [^>]*-->\n)(.*?)(<!-- /generated:{name} -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"{page or name}: no <!-- generated:{name} ... --> block")
    return pattern.sub(lambda m: m.group(1) + make() + "\n" + m.group(3), text)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python scripts/docs_tables.py")
    p.add_argument("--check", action="store_true", help="fail when a page's table differs from the code")
    args = p.parse_args(argv)
    stale = []
    for name, page in PAGES.items():
        path = ROOT / page
        current = path.read_text(encoding="utf-8")
        fresh = render(name, current, page)
        if fresh == current:
            continue
        if args.check:
            stale.append(page)
        else:
            path.write_text(fresh, encoding="utf-8")
    if stale:
        print(f"stale generated tables in {', '.join(stale)}: run `make docs`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
