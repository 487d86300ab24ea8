"""Writes the family-split development data of issue 20 (fixed seeds):

    python -m fitting.make_attack_families [--out DIR]

- ``evals/data/guardrails/families_turns.jsonl``: user turns, ``{"id", "text", "lang", "label":
  "attack"|"benign", "kind", "family", "split": "dev"|"test"}`` (:mod:`fitting.attack_families_turns`);
- ``evals/data/guardrails/families_passages.jsonl``: retrieved-passage look-alikes, ``{"id", "text",
  "lang", "label", "family", "doctype", "placement", "inject" (attacks: the injected text),
  "split"}`` (:mod:`fitting.attack_families_passages`).

``split: "test"`` marks the LOCKED families: whole families that no fit, threshold or model
selection reads (:func:`fitting.attack_families.dev_only` drops them before any tuning).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from fitting.attack_families_passages import passage_rows
from fitting.attack_families_turns import families

OUT = Path(__file__).resolve().parent.parent / "evals" / "data" / "guardrails"
TURNS_FILE = "families_turns.jsonl"
PASSAGES_FILE = "families_passages.jsonl"


def turn_rows() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for fam in families():
        for i, (text, lang) in enumerate(fam.items):
            rows.append({
                "id": f"{fam.name}-{i:02d}", "text": text, "lang": lang, "label": fam.label,
                "kind": fam.kind, "family": fam.name, "split": fam.split,
            })  # fmt: skip
    return rows


def _write(rows: list[dict[str, object]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m fitting.make_attack_families", description=(__doc__ or "").split("\n\n")[0]
    )
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args(argv)
    turns, passages = turn_rows(), passage_rows()
    _write(turns, args.out / TURNS_FILE)
    _write(passages, args.out / PASSAGES_FILE)
    print(f"{args.out / TURNS_FILE}: {len(turns)}  {args.out / PASSAGES_FILE}: {len(passages)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
