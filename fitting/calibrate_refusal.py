"""Calibrate the refusal threshold (``answer.min_relevance``) of the configured embedder.

    python -m fitting.calibrate_refusal [--index DIR] [--qa FILE] [--unanswerable FILE] [--keep 0.975]

For every answerable question (the statute QA set) and every unanswerable one (our own set of
off-topic and near-domain questions, ``evals/data/unanswerable_ko.jsonl``), the best dense
similarity among the retrieved passages is what the orchestrator compares to
``answer.min_relevance``. The suggested threshold is the highest one that still answers at
least ``--keep`` of the answerable questions; the table shows the trade-off around it.
The index is the statute index that ``make eval`` builds (``nuri eval run statute --index ...``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tqdm import tqdm

from configs.logs import setup_logging
from configs.settings import load_settings
from evals.datasets import SHARED_DATA, load_qa
from retrieval.index import NuriIndex
from retrieval.types import Principal

EVALS_DATA = Path(__file__).resolve().parent.parent / "evals" / "data"
DEFAULT_UNANSWERABLE = EVALS_DATA / "unanswerable_ko.jsonl"


def best_relevance(index: NuriIndex, question: str, top_k: int) -> float:
    hits = index.search(question, top_k=top_k, principal=Principal(operator=True), with_relevance=True)
    return max((h.relevance for h in hits if h.relevance is not None), default=0.0)


def suggest(answerable: list[float], unanswerable: list[float], keep: float) -> float:
    """Highest threshold (midway between observed scores) that answers >= ``keep`` of answerable."""
    ranked = sorted(answerable)
    allowed_refusals = int(len(ranked) * (1 - keep))
    boundary = ranked[allowed_refusals]  # the lowest score that must still be answered
    below = [x for x in ranked + sorted(unanswerable) if x < boundary]
    return round((boundary + max(below)) / 2, 4) if below else round(boundary - 0.005, 4)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m fitting.calibrate_refusal")
    p.add_argument("--index", type=Path, default=Path.home() / ".cache" / "nuri" / "eval-statutes")
    p.add_argument("--qa", type=Path, default=SHARED_DATA / "qa" / "dev.jsonl")
    p.add_argument("--unanswerable", type=Path, default=DEFAULT_UNANSWERABLE)
    p.add_argument("--keep", type=float, default=0.975, help="share of answerable questions to answer")
    args = p.parse_args(argv)
    setup_logging("WARNING")
    if not (args.index / "nuri-index.json").exists() and not args.index.is_dir():
        print(f"색인이 없습니다: {args.index} (먼저 make eval)", file=sys.stderr)
        return 1
    settings = load_settings(index_dir=args.index)
    top_k = settings.answer.top_k
    questions = [q.question for q in load_qa(args.qa) if q.answerable]
    unanswerable = [json.loads(line)["question"] for line in args.unanswerable.open(encoding="utf-8") if line.strip()]
    with NuriIndex.open(settings.retrieval, settings.resolve(settings.index_dir)) as index:
        a = [best_relevance(index, q, top_k) for q in tqdm(questions, desc="답변 가능", file=sys.stderr)]
        u = [best_relevance(index, q, top_k) for q in tqdm(unanswerable, desc="답변 불가", file=sys.stderr)]
    threshold = suggest(a, u, args.keep)
    print(f"embedder: {settings.embedder.backend}; answerable {len(a)}, unanswerable {len(u)}")
    print("| threshold | answerable answered | unanswerable refused |\n|---|---|---|")
    for t in sorted(
        {threshold, settings.answer.min_relevance, *(round(threshold + d, 3) for d in (-0.02, -0.01, 0.01, 0.02))}
    ):
        answered = sum(x >= t for x in a) / len(a)
        refused = sum(x < t for x in u) / len(u)
        mark = " (suggested)" if t == threshold else (" (configured)" if t == settings.answer.min_relevance else "")
        print(f"| {t:.4f}{mark} | {answered:.3f} | {refused:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
