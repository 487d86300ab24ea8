"""CPU cost of reranking one search: (query, 30 passages) through a cross-encoder on CPU, the way
the API does it (``retrieval.rerank.Reranker`` -> sentence-transformers ``CrossEncoder.predict``,
``rerank.candidates`` 30, ``rerank.batch_size`` 16, ``rerank.device`` cpu).

    python -m benchmarks.rerank_cpu [--model DIR] [--arch xlmr-large,minilm-l12]
                                    [--passage-tokens 160,320] [--rounds 10] [--json-out FILE]

``--model DIR``: the agency's own cross-encoder directory (the one mounted as ``reranker/``),
measured through Nuri's ``Reranker`` on made-up passages of the given token lengths.

Without ``--model``: no trained cross-encoder is on these machines and nothing is downloaded, so
the benchmark writes **architecture-equivalent stand-ins with random weights** to a temporary
folder and measures those through the same ``Reranker``. A forward pass costs the same whatever
the weights' values: the cost follows the architecture (layers, width, heads) and the number of
tokens, so the figures are the CPU cost of a trained model of that architecture, not its ranking
quality. The two architectures are the usual multilingual (Korean-capable) cross-encoder sizes:

* ``xlmr-large``: XLM-RoBERTa large (24 layers, 1024 wide, 568M parameters), the architecture of
  bge-reranker-v2-m3 and bge-reranker-large;
* ``minilm-l12``: 12 layers, 384 wide (118M parameters, most of them the 250k-token vocabulary),
  the architecture of the multilingual mMiniLM-v2-L12-H384 cross-encoders.

Token lengths: a chunk is at most ``chunking.max_tokens`` = 320 encoder tokens (the e5 tokenizer,
which is XLM-R's: the same vocabulary as both architectures) plus its header; the query is ~16.
The stand-in's tokenizer maps each made-up word to one token, so every pair has exactly the
stated length (CrossEncoder pads a batch to its longest pair). Tokenising real text costs well
under 1 ms per pair with a fast tokenizer and is not in the stand-ins' figures.

Printed per architecture and length: wall time per rerank (p50/p95) with torch's threads, and the
process CPU seconds per rerank (all threads), which is what the capacity arithmetic multiplies
(deploy/CAPACITY.md).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.machine import machine_info
from benchmarks.timing import Latency
from retrieval.rerank import Reranker
from retrieval.settings import RerankSettings
from retrieval.store import ScoredPayload

ARCHS: dict[str, dict[str, int]] = {
    "xlmr-large": {"hidden_size": 1024, "num_hidden_layers": 24, "num_attention_heads": 16, "intermediate_size": 4096},
    "minilm-l12": {"hidden_size": 384, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 1536},
}
VOCAB_SIZE = 250_002  # XLM-R's sentencepiece vocabulary (embedding lookups only: no effect on compute)
WORDS = 2_000  # made-up one-token words of the stand-in tokenizer
QUERY_TOKENS = 16
CANDIDATES = 30
BATCH_SIZE = 16


def write_stand_in(folder: Path, arch: str) -> Path:
    """A cross-encoder directory of ``arch`` with random weights and a one-word-one-token tokenizer."""
    import torch
    from transformers import BertTokenizer, XLMRobertaConfig, XLMRobertaForSequenceClassification

    folder.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *(f"w{i}" for i in range(WORDS))]
    (folder / "vocab.txt").write_text("\n".join(vocab), encoding="utf-8")
    tok = BertTokenizer(  # the tokenizers-backed (fast) one in transformers 5
        vocab_file=str(folder / "vocab.txt"), model_max_length=512, model_input_names=["input_ids", "attention_mask"]
    )
    shape = ARCHS[arch]
    config = XLMRobertaConfig(
        vocab_size=VOCAB_SIZE,
        hidden_size=shape["hidden_size"],
        num_hidden_layers=shape["num_hidden_layers"],
        num_attention_heads=shape["num_attention_heads"],
        intermediate_size=shape["intermediate_size"],
        max_position_embeddings=514,
        type_vocab_size=1,
        pad_token_id=0,
    )
    config.num_labels = 1  # one relevance score per pair, as cross-encoders have
    torch.manual_seed(0)
    model = XLMRobertaForSequenceClassification(config)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def workload(passage_tokens: int, seed: int) -> tuple[str, list[ScoredPayload]]:
    """A query of QUERY_TOKENS words and CANDIDATES passages of ``passage_tokens`` words each."""
    rng = np.random.default_rng(seed)

    def words(n: int) -> str:
        return " ".join(f"w{i}" for i in rng.integers(0, WORDS, n))

    query = words(QUERY_TOKENS)
    hits = [
        ScoredPayload(id=str(i), score=1.0 - i / 100, payload={"header": "", "text": words(passage_tokens)})
        for i in range(CANDIDATES)
    ]
    return query, hits


def measure(model_dir: Path, passage_tokens: int, rounds: int) -> dict[str, Any]:
    import torch

    reranker = Reranker(
        RerankSettings(
            enabled=True, model_path=str(model_dir), candidates=CANDIDATES, batch_size=BATCH_SIZE, device="cpu"
        )
    )
    query, hits = workload(passage_tokens, seed=1)
    reranker.rerank(query, hits)  # warm-up: first-call allocations
    wall, cpu = [], []
    for r in range(rounds):
        query, hits = workload(passage_tokens, seed=100 + r)
        c0, t0 = time.process_time(), time.perf_counter()
        out = reranker.rerank(query, hits)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        assert len(out) == CANDIDATES
    lat = Latency.from_seconds(wall)
    return {
        "passage_tokens": passage_tokens,
        "pair_tokens": passage_tokens + QUERY_TOKENS + 3,  # <s> query </s> passage </s>
        "torch_threads": torch.get_num_threads(),
        "wall_ms": lat.as_dict(),
        "cpu_s_per_rerank_mean": round(float(np.mean(cpu)), 3),
        "reranks_per_cpu_second": round(1.0 / float(np.mean(cpu)), 3),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.rerank_cpu", description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, help="a trained cross-encoder directory (else: random-weight stand-ins)")
    p.add_argument("--arch", default="xlmr-large,minilm-l12", help=f"stand-ins: comma list of {sorted(ARCHS)}")
    p.add_argument("--passage-tokens", default="160,320", help="tokens per passage (comma list)")
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--json-out", type=Path)
    args = p.parse_args(argv)
    lengths = [int(x) for x in args.passage_tokens.split(",")]
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="nuri-rerank-") as tmp:
        if args.model:
            targets = [(str(args.model), args.model)]
        else:
            names = [a.strip() for a in args.arch.split(",") if a.strip()]
            unknown = set(names) - set(ARCHS)
            if unknown:
                p.error(f"unknown --arch {sorted(unknown)}")
            targets = [(f"{a} (random-weight stand-in)", write_stand_in(Path(tmp) / a, a)) for a in names]
        for label, folder in targets:
            for n in lengths:
                row = {"model": label} | measure(folder, n, args.rounds)
                results.append(row)
                print(json.dumps(row), file=sys.stderr, flush=True)
    report = {"started": started, "machine": machine_info(), "candidates": CANDIDATES, "results": results}
    print(f"\nrerank of (query, {CANDIDATES} passages), batch {BATCH_SIZE}, CPU — {started}")
    print(
        "| model | pair tokens | torch threads | wall p50 ms | wall p95 ms | CPU s per rerank | reranks per CPU-second |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['model']} | {r['pair_tokens']} | {r['torch_threads']} | {r['wall_ms']['p50_ms']:.0f} | "
            f"{r['wall_ms']['p95_ms']:.0f} | {r['cpu_s_per_rerank_mean']:.2f} | {r['reranks_per_cpu_second']:.2f} |"
        )
    if args.json_out:
        args.json_out.write_text(json.dumps(report, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
