"""Personal data detection: rates and latency on evals/data/guardrails
(``python -m benchmarks.guardrails_pii_rates [--rounds N]``).

Rates, per split of the datasets (``*-dev-*``: sentences written while the detector was built;
``*-ho-*``, ``*-ho2-*``, ``*-ho3-*``: written after it, each measured once before the fixes it
prompted) and over all of them:

- structured recall: gold spans of every type but ``person`` found with the same type and the
  same offsets (exact match);
- person recall: the same for names;
- extra spans: findings in the PII sentences that match no gold span (wrong boundaries count
  twice: a miss and an extra span);
- look-alikes flagged: share of look-alike sentences with any finding.

Names written after the detector (``names_heldout_ko.jsonl``, person names only, each batch
measured once when it was written): ``b1``, ``b2`` and ``b3`` then prompted changes (more role
nouns; cue-less names Kiwi reads as one proper noun; names Kiwi splits into single syllables
after a cue), ``b4`` was written after the last change. The figure of ``b4`` is the honest one
for new text; those of ``b1``–``b3`` are tuned on.

Latency: :meth:`guardrails.pii.PiiDetector.find` per sentence over both datasets, after Kiwi is
constructed (its construction is timed on its own) and one untimed pass; ``--rounds`` timed
passes, percentiles with numpy.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from benchmarks.timing import Latency, stopwatch, time_calls
from guardrails.pii import PiiDetector
from guardrails.settings import PiiSettings

DATA = Path(__file__).resolve().parent.parent / "evals" / "data" / "guardrails"
SPLITS = ("-dev-", "-ho-", "-ho2-", "-ho3-")


def load(name: str) -> list[dict[str, Any]]:
    with (DATA / name).open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def counts(detector: PiiDetector, pii: list[dict[str, Any]], look: list[dict[str, Any]]) -> dict[str, int]:
    """Gold spans found (exact offsets and type), per kind; findings matching no gold span; look-alike
    sentences with any finding. The one count behind this report and the rate test."""
    out = dict.fromkeys(("structured", "person", "n_structured", "n_person", "extra", "flagged"), 0)
    for row in pii:
        found = {(s.start, s.end, s.type) for s in detector.find(row["text"])}
        gold = {(g["start"], g["end"], g["type"]) for g in row["pii"]}
        for g in gold:
            key = "person" if g[2] == "person" else "structured"
            out[f"n_{key}"] += 1
            out[key] += g in found
        out["extra"] += len(found - gold)
    out["flagged"] = sum(bool(detector.find(row["text"])) for row in look)
    out["n_lookalikes"] = len(look)
    return out


def rates(detector: PiiDetector, pii: list[dict[str, Any]], look: list[dict[str, Any]]) -> dict[str, Any]:
    c = counts(detector, pii, look)
    return {
        "structured_recall": f"{c['structured']}/{c['n_structured']}",
        "person_recall": f"{c['person']}/{c['n_person']} = {c['person'] / max(c['n_person'], 1):.3f}",
        "extra_spans": c["extra"],
        "lookalikes_flagged": f"{c['flagged']}/{len(look)} = {c['flagged'] / max(len(look), 1):.3f}",
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="timed passes over both datasets")
    args = parser.parse_args(argv)
    detector = PiiDetector(PiiSettings())
    _, construct_s = stopwatch(detector.warm_up)
    pii, look = load("pii_ko.jsonl"), load("pii_lookalikes_ko.jsonl")
    print("| split | structured recall | person recall | extra spans | look-alikes flagged |")
    print("|---|---|---|---|---|")
    for split in (*SPLITS, "all"):
        part_pii = pii if split == "all" else [r for r in pii if split in r["id"]]
        part_look = look if split == "all" else [r for r in look if split in r["id"]]
        r = rates(detector, part_pii, part_look)
        name = split.strip("-")
        print(
            f"| {name} | {r['structured_recall']} | {r['person_recall']} | {r['extra_spans']} | {r['lookalikes_flagged']} |"
        )
    held = load("names_heldout_ko.jsonl")
    print("\n| names written after the detector | person recall |\n|---|---|")
    for batch in ("-b1-", "-b2-", "-b3-", "-b4-"):
        r = rates(detector, [row for row in held if batch in row["id"]], [])
        print(f"| {batch.strip('-')} | {r['person_recall']} |")
    texts = [r["text"] for r in pii + look]
    runs = time_calls(detector.find, texts, rounds=args.rounds, warmup_rounds=1, desc="pii")
    lat: Latency = runs.latency
    print(
        f"\nKiwi construction + first analysis: {construct_s:.2f} s. find() per sentence "
        f"({len(texts)} sentences, {sum(map(len, texts)) / len(texts):.0f} characters on average, "
        f"{args.rounds} rounds): p50 {lat.p50_ms:.2f} ms, p95 {lat.p95_ms:.2f} ms, mean {lat.mean_ms:.2f} ms"
    )


if __name__ == "__main__":
    main()
