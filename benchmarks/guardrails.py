"""Guardrail overhead per request: the input checks (personal data, injection rules and
classifier, off-policy) and the output checks (personal data in the answer, pseudonyms put back),
in milliseconds, p50/p95.

    python -m benchmarks.guardrails [--rounds 3] [--json-out FILE]

Inputs: the questions of ``../shared/data/qa/dev.jsonl`` and ``dev_colloquial.jsonl`` (as
civil servants ask them), the PII sentences of ``evals/data/guardrails/pii_ko.jsonl`` and the
Korean attacks of ``evals/data/guardrails/injection_ko.jsonl``; outputs: the dev files'
reference answers, streamed to the output guard in 12-character deltas (as a model writes).

Two input figures, because the classifier reads the question's embedding:

* **shared vector** — what a request costs in ``nuri serve``: the search encodes the same
  question, the embedder remembers it (``retrieval.embedders.QueryCache``), so the classifiers
  cost a dot product. Goal: ≤ 30 ms p50 on CPU.
* **own encoding** — the same checks with an encoder that remembers nothing (the cost if the
  guardrails ran without a search, e.g. ``nuri guard scan``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.machine import machine_info
from benchmarks.timing import Latency
from configs.settings import load_settings
from guardrails.pipeline import Guardrails
from retrieval.embedders import QueryCache, build_embedder

REPO = Path(__file__).resolve().parent.parent
SHARED_QA = REPO.parent / "shared" / "data" / "qa"
OWN = REPO / "evals" / "data" / "guardrails"
DELTA_CHARS = 12


def _jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def workload() -> tuple[list[str], list[str]]:
    qa = [row for name in ("dev.jsonl", "dev_colloquial.jsonl") for row in _jsonl(SHARED_QA / name)]
    questions = [row["question"] for row in qa]
    questions += [row["text"] for row in _jsonl(OWN / "pii_ko.jsonl")]
    questions += [row["text"] for row in _jsonl(OWN / "injection_ko.jsonl")]
    answers = [row["answer"] for row in qa if row.get("answer")]
    return questions, answers


def measure(rounds: int) -> dict[str, Any]:
    settings = load_settings()
    cached = build_embedder(settings.embedder)
    assert isinstance(cached, QueryCache)
    raw = cached.inner
    questions, answers = workload()
    shared = Guardrails(settings.guardrails, cached)
    own = Guardrails(settings.guardrails, raw)
    shared.warm_up()
    own.warm_up()
    for q in questions:  # the search's own encoding of each question (masked, as the search gets it)
        cached.embed_query(shared.screen_input(q).question)

    def timed(call: Any, inputs: list[str]) -> Latency:
        seconds = []
        for _ in range(rounds):
            for text in inputs:
                started = time.perf_counter()
                call(text)
                seconds.append(time.perf_counter() - started)
        return Latency.from_seconds(seconds)

    def stream_out(answer: str) -> str:
        screen = shared.screen_input("답변을 알려 주세요")
        out = shared.output(screen)
        text = "".join(out.feed(answer[i : i + DELTA_CHARS]) for i in range(0, len(answer), DELTA_CHARS))
        return text + out.flush()

    rows = {
        "input checks, shared query vector": timed(shared.screen_input, questions),
        "input checks, own encoding": timed(own.screen_input, questions[: max(1, len(questions) // 3)]),
        "output checks (streamed answer)": timed(stream_out, answers),
    }
    return {
        "machine": machine_info(),
        "questions": len(questions),
        "answers": len(answers),
        "rounds": rounds,
        "latency": {name: lat.as_dict() for name, lat in rows.items()},
    }


def table(result: dict[str, Any]) -> str:
    lines = ["| check | n | p50 ms | p95 ms | mean ms |", "|---|---|---|---|---|"]
    for name, lat in result["latency"].items():
        lines.append(f"| {name} | {lat['n']} | {lat['p50_ms']:.2f} | {lat['p95_ms']:.2f} | {lat['mean_ms']:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.guardrails", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args(argv)
    result = measure(args.rounds)
    sys.stdout.write(table(result) + "\n")
    if args.json_out:
        args.json_out.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
