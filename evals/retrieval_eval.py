"""Retrieval quality on the statute QA set: recall@1, recall@5 and MRR@10 at article level.

    python -m evals.retrieval_eval [--statutes DIR] [--qa FILE] [--index DIR] [--json]

Indexes every statute under ``--statutes`` (incremental: a second run re-uses the index) and
asks each question; a hit counts when its anchor is the gold article of the gold law.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from configs.logs import setup_logging
from configs.settings import load_settings
from evals.datasets import SHARED_DATA, load_qa
from evals.metrics import RetrievalScores, first_gold_rank
from retrieval.index import NuriIndex
from retrieval.sync import Syncer
from retrieval.types import Principal


def evaluate(
    index: NuriIndex, qa_path: Path, top_k: int = 10, progress: bool = True
) -> tuple[RetrievalScores, list[dict]]:
    rows: list[dict[str, Any]] = []
    items = [q for q in load_qa(qa_path) if q.answerable]
    latencies = []
    for item in tqdm(items, desc="평가", unit="질문", file=sys.stderr, disable=not progress):
        t0 = time.perf_counter()
        hits = index.search(item.question, top_k=top_k, principal=Principal(operator=True))
        latencies.append(time.perf_counter() - t0)
        anchors = [h.anchor for h in hits]
        rows.append(
            {
                "id": item.id,
                "rank": first_gold_rank(anchors, item.law, item.articles),
                "gold": f"{item.law} {'/'.join(item.articles)}",
                "top1": anchors[0] if anchors else None,
            }
        )
    return RetrievalScores.from_ranks([r["rank"] for r in rows]), rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m evals.retrieval_eval")
    p.add_argument("--statutes", type=Path, default=SHARED_DATA / "statutes")
    p.add_argument("--qa", type=Path, default=SHARED_DATA / "qa" / "dev.jsonl")
    p.add_argument("--index", type=Path, default=Path.home() / ".cache" / "nuri" / "eval-statutes")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    setup_logging("WARNING")
    if not args.statutes.is_dir() or not args.qa.is_file():
        print(f"데이터가 없습니다: {args.statutes} / {args.qa}", file=sys.stderr)
        return 1
    settings = load_settings(index_dir=args.index)
    with NuriIndex.open(settings.retrieval, settings.resolve(settings.index_dir), create=True) as index:
        report = Syncer(index, settings.connectors).sync([args.statutes])
        scores, rows = evaluate(index, args.qa)
        chunks = index.count()
    if args.json:
        print(json.dumps({"scores": scores.__dict__, "rows": rows}, ensure_ascii=False, indent=2))
        return 0
    print(
        f"index: {args.index} ({chunks} chunks; sync {report.seconds:.1f}s, added {report.added}, unchanged {report.unchanged})"
    )
    print("| questions | recall@1 | recall@5 | MRR@10 |\n|---|---|---|---|")
    print(f"| {scores.n} | {scores.recall_at_1:.3f} | {scores.recall_at_5:.3f} | {scores.mrr:.3f} |")
    misses = [r for r in rows if r["rank"] is None or r["rank"] > 5]
    for r in misses:
        print(f"miss@5 {r['id']}: gold {r['gold']} rank {r['rank']} top1 {r['top1']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
