"""Every attack figure of issue 20 at once.

    python -m fitting.attack_report [--only turns|passages] [--json-out FILE]

prints, for the user-turn injection check (rules + the e5 classifier) and for the context
check on passages (rules + the lexical passage model): leave-one-family-out (LOFO) rates per
kind, the worst family, the number of items each figure rests on, and the LOCKED test figures
of the bundled models. Every number is measured when the command runs (the LOFO fits are
redone; nothing is read back from a model's metadata). The data is described in
:mod:`fitting.attack_families`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m fitting.attack_report", description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--only", choices=["turns", "passages"], help="report one check only")
    p.add_argument("--json-out", type=Path)
    p.add_argument("--cache", type=Path, default=Path("/tmp/guard_work/e5-cache.npz"), help="e5 vectors of the texts")
    args = p.parse_args(argv)
    from configs.logs import setup_logging

    setup_logging("ERROR")
    lines: list[str] = []
    detail: dict[str, Any] = {}
    if args.only in (None, "passages"):
        from fitting import train_passage_check

        pl, pd = train_passage_check.report()
        lines += pl
        detail["passages"] = pd
    if args.only in (None, "turns"):
        from fitting import train_injection

        tl, td = train_injection.report(args.cache)
        lines += tl
        detail["turns"] = td
    sys.stdout.write("\n".join(lines) + "\n")
    if args.json_out:
        args.json_out.write_text(json.dumps(detail, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
