"""Experiment: does an instruction model's rewrite of the question into legal vocabulary lift recall?

    python -m fitting.try_query_expansion statute statute-colloquial --index DIR \\
        --base-url http://127.0.0.1:8011/v1 --model qwen2.5-coder-1.5b [--json-out F]

The model (any OpenAI-compatible chat server, e.g. ``NURI_PROFILE=qwen nuri llm serve``) is asked
for the legal terms a statute would use for each question (one line; two worked examples written
for this experiment, on topics that are not dev questions). recall@5 is then measured, per suite
and per fold (the hash folds of :mod:`fitting.tune_retrieval`), for four queries:

* ``question``: the question alone (what Nuri searches today);
* ``question+terms``: the question with the model's terms appended;
* ``rrf(question, terms)``: two searches fused by reciprocal rank, equal weights;
* ``rrf(2·question, question+terms)``: the question's ranking weighted double.

This is a measurement, not a product setting: it decides whether query rewriting earns its
place (README, "Grounded answers").
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openai
from tqdm import tqdm

from configs.settings import load_settings
from evals.matching import ranked_run
from evals.schema import EvalItem
from evals.suites import load_suite
from fitting.tune_retrieval import OPERATOR, fold_of
from retrieval.index import NuriIndex
from retrieval.types import Hit

SYSTEM = (
    "당신은 한국 법령 검색을 돕는 도우미입니다. 사용자의 질문을 법령 조문에 나올 법한 법률 용어로 바꿔 "
    "검색어를 만드세요. 관련 법령 이름을 알면 앞에 쓰고, 조문에 쓰일 핵심 용어 5~8개를 공백으로 구분해 "
    "한 줄로만 쓰세요. 설명이나 답은 쓰지 마세요."
)
EXAMPLES = [
    ("집에서 일해도 되는지 궁금해요. 며칠까지 되나요?", "국가공무원 복무규정 재택근무 원격근무 근무장소 승인 근무일수"),
    ("출장 가서 쓴 택시비도 돌려받을 수 있나요?", "공무원 여비 규정 국내 출장 운임 교통비 실비 지급"),
]
DEPTH = 20


def legal_terms(client: openai.OpenAI, model: str, question: str) -> str:
    messages: list[Any] = [{"role": "system", "content": SYSTEM}]
    for asked, terms in EXAMPLES:
        messages += [{"role": "user", "content": asked}, {"role": "assistant", "content": terms}]
    messages.append({"role": "user", "content": question})
    reply = client.chat.completions.create(model=model, messages=messages, max_tokens=48, temperature=0)
    return (reply.choices[0].message.content or "").strip().split("\n")[0]


def fuse(rankings: list[tuple[float, list[Hit]]], k: int = 60) -> list[Hit]:
    """Reciprocal-rank fusion of weighted rankings, keyed by anchor (one article, one entry)."""
    scores: dict[str, float] = {}
    first: dict[str, Hit] = {}
    for weight, hits in rankings:
        for rank, hit in enumerate(hits):
            scores[hit.anchor] = scores.get(hit.anchor, 0.0) + weight / (k + rank + 1)
            first.setdefault(hit.anchor, hit)
    return [first[a] for a in sorted(scores, key=lambda a: -scores[a])]


def recall5(hits: list[Hit], item: EvalItem) -> float:
    _, relevant = ranked_run(hits, item.reference_passages)
    units = max(1, sum(len(ref.unit_keys()) for ref in item.reference_passages))
    return min(1.0, sum(relevant[:5]) / units)


def measure(index: NuriIndex, items: list[EvalItem], terms: dict[str, str]) -> dict[str, dict[str, float]]:
    def search(q: str) -> list[Hit]:
        return index.search(q[:500], top_k=DEPTH, principal=OPERATOR)

    variants: dict[str, Callable[[EvalItem], list[Hit]]] = {
        "question": lambda it: search(it.question),
        "question+terms": lambda it: search(f"{it.question} {terms[it.id]}"),
        "rrf(question, terms)": lambda it: fuse(
            [(1.0, search(it.question)), (1.0, search(terms[it.id] or it.question))]
        ),
        "rrf(2·question, question+terms)": lambda it: fuse(
            [(2.0, search(it.question)), (1.0, search(f"{it.question} {terms[it.id]}"))]
        ),
    }
    return {it.id: {name: recall5(run(it), it) for name, run in variants.items()} for it in items}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fitting.try_query_expansion", description=__doc__.split("\n\n")[0])
    parser.add_argument("suites", nargs="+")
    parser.add_argument("--index", required=True, type=Path)
    parser.add_argument("--base-url", required=True, help="OpenAI 호환 채팅 서버 (…/v1)")
    parser.add_argument("--model", required=True)
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args(argv)
    settings = load_settings()
    client = openai.OpenAI(base_url=args.base_url, api_key="unused", timeout=120)
    suites = {name: [it for it in load_suite(name, settings).items if it.reference_passages] for name in args.suites}
    terms = {
        it.id: legal_terms(client, args.model, it.question)
        for its in suites.values()
        for it in tqdm(its, desc="법률 용어로 바꾸기", file=sys.stderr)
    }
    result: dict[str, Any] = {"terms": terms, "suites": {}}
    lines = ["| suite | query | recall@5 | fold0 / fold1 |", "|---|---|---|---|"]
    with NuriIndex.open(settings.retrieval, args.index) as index:
        for name, items in suites.items():
            scores = measure(index, items, terms)
            result["suites"][name] = scores
            for variant in next(iter(scores.values())):
                per_fold = [[s[variant] for i, s in scores.items() if fold_of(i) == f] for f in (0, 1)]
                mean = sum(s[variant] for s in scores.values()) / len(scores)
                folds = " / ".join(f"{sum(v) / max(1, len(v)):.3f}" for v in per_fold)
                lines.append(f"| {name} | {variant} | {mean:.3f} | {folds} |")
    sys.stdout.write("\n".join(lines) + "\n")
    if args.json_out:
        args.json_out.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
