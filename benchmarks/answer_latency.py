"""Time to first token and total latency of ``/v1/chat/completions`` through Nuri vs the model
server alone, on the same prompts.

    python -m benchmarks.answer_latency [--engine llamacpp|vllm] [--rounds 3] [--encoder-threads N]
                                        [--json-out FILE]

Method. The bundled sample corpus is indexed into a temporary folder; the configured model
server is started (llama.cpp on the bundled Gemma 3 270M by default); ``nuri serve`` runs as
its own process against that server (``NURI_LLM__BASE_URLS``), as in production. For each
question of the sample set, Nuri is asked through its OpenAI-compatible streaming endpoint,
and the model server is sent *the exact prompt Nuri sends*: built by the production code
(``Orchestrator.prepare``: retrieval, passage selection, prompt) and sent through the
production client (``LLMClient.stream``: same generation parameters, stop sequences and
``llm.extra_body``) straight to the model server. Time to first token = request start to the first non-blank content
delta (Nuri trims leading blanks, so the baseline is measured the same way); total = until
the stream ends. Before every timed request a short request with a different question resets
the server's prompt cache to the shared few-shot prefix, so neither side profits from the
other's cache. Nuri's overhead = its TTFT minus the baseline's, per question, summarised as
p50/p95. Goal: ≤ 150 ms added to the first token.

Nuri's query encoder runs with ``--encoder-threads`` (``NURI_EMBEDDER__NUM_THREADS``). The
default mirrors ``nuri serve``: all cores with llama.cpp, 1 thread with vLLM, which shares the
CPU here (see ``NuriService._share_cpu_with_vllm``); ``--encoder-threads 0`` = all cores.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from tqdm import tqdm

from assistant.llm_client import LLMClient, ModelPrompt
from assistant.modelserver.server import ModelServer, free_port
from assistant.orchestrator import Orchestrator
from assistant.prompts import PromptBook
from benchmarks.machine import machine_info
from benchmarks.servers import wait_ready
from configs.logs import setup_logging
from configs.settings import Settings, load_settings
from guardrails.pipeline import Guardrails
from retrieval.index import NuriIndex
from retrieval.sync import Syncer
from retrieval.types import Principal

QUESTIONS = [
    "상반기 정보보안 점검 기간은 언제인가요?",
    "재택근무를 신청할 수 없는 사람은 누구인가요?",
    "재택근무 중 보안 사고가 나면 어디에 신고하나요?",
    "정보공개 청구는 어떻게 하나요?",
    "출장 여비 정산은 언제까지 해야 하나요?",
]
# A sixth sample-corpus question, never timed: asked before every timed request, it resets the
# server's prompt cache to the shared few-shot prefix (a real prompt, as Nuri builds it).
CACHE_RESET_QUESTION = "공동활용 데이터 이용 신청은 어떻게 하나요?"
GOAL_MS = 150.0


def first_token_direct(llm: LLMClient, prompt: ModelPrompt) -> tuple[float, float, str]:
    """The same three figures for the model server alone, through Nuri's own client."""
    t0 = time.perf_counter()
    first: float | None = None
    parts: list[str] = []
    for text in llm.stream(prompt):
        parts.append(text)
        if first is None and "".join(parts).strip():
            first = time.perf_counter() - t0
    total = time.perf_counter() - t0
    return (first if first is not None else total), total, "".join(parts)


def first_token_stream(client: httpx.Client, url: str, body: dict[str, Any]) -> tuple[float, float, str]:
    """(seconds to the first non-blank content delta, total seconds, text) of an SSE stream."""
    t0 = time.perf_counter()
    first: float | None = None
    parts: list[str] = []
    with client.stream("POST", url, json=body) as resp:
        resp.raise_for_status()
        for line in resp.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            data = json.loads(line[6:])
            if "error" in data:
                raise RuntimeError(f"stream error: {data['error']}")
            for choice in data.get("choices", []):
                text = (choice.get("delta") or {}).get("content") or choice.get("text") or ""
                if text:
                    parts.append(text)
                    if first is None and "".join(parts).strip():
                        first = time.perf_counter() - t0
    total = time.perf_counter() - t0
    return (first if first is not None else total), total, "".join(parts)


def pct(values: list[float]) -> tuple[float, float]:
    a = np.asarray(values) * 1000
    return float(np.percentile(a, 50)), float(np.percentile(a, 95))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.answer_latency")
    p.add_argument("--engine", choices=["llamacpp", "vllm"], default=None)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument(
        "--encoder-threads",
        type=int,
        default=None,
        help="threads of Nuri's query encoder (default: 1 with vLLM, all cores otherwise; 0 = all)",
    )
    p.add_argument("--json-out", type=Path)
    args = p.parse_args(argv)
    setup_logging("WARNING")
    base = load_settings()
    engine = args.engine or base.model_server.engine
    if args.encoder_threads is None:
        args.encoder_threads = 1 if engine == "vllm" else 0
    work = Path(tempfile.mkdtemp(prefix="nuri-bench-answers-"))
    settings = base.override(model_server={"engine": engine, "port": 0, "log_file": str(work / "model-server.log")})
    index_dir = work / "index"
    print("샘플 문서 색인 중…", file=sys.stderr)
    with ModelServer(settings.model_server, settings.llm, settings.resolve) as server:
        llm = LLMClient(settings.llm, [server.base_url])
        with NuriIndex.open(settings.retrieval, index_dir, create=True) as index:
            Syncer(index, settings.connectors, progress=False).sync([settings.resolve(settings.sample_corpus)])
            # The exact prompts Nuri will send: the production code builds them.
            # the model's path, whatever the profile's answer.generation (extractive answers call no model)
            model_answers = settings.answer.model_copy(update={"generation": "model"})
            guard = Guardrails(settings.guardrails, index.embedder)
            orchestrator = Orchestrator(index, llm, model_answers, PromptBook(settings.prompt_dir()), guard)
            prompts = {}
            for q in [*QUESTIONS, CACHE_RESET_QUESTION]:
                prepared = orchestrator.prepare(orchestrator.question(q), principal=Principal(operator=True))
                if prepared.prompt is None:
                    print(f"Nuri가 이 질문에 답하지 않습니다 (근거 부족): {q}", file=sys.stderr)
                    return 1
                prompts[q] = prepared.prompt
        port = free_port("127.0.0.1")
        env = dict(os.environ, NURI_LLM__BASE_URLS=json.dumps([server.base_url]), NURI_UI__ENABLED="false",
                   NURI_LOGGING__LEVEL="WARNING", HF_HUB_OFFLINE="1")  # fmt: skip
        env.pop("NURI_EMBEDDER__NUM_THREADS", None)
        if args.encoder_threads:
            env["NURI_EMBEDDER__NUM_THREADS"] = str(args.encoder_threads)
        with open(work / "nuri.log", "wb") as nuri_log:
            nuri = subprocess.Popen(
                [sys.executable, "-m", "assistant.cli", "serve", "--index", str(index_dir), "--port", str(port)],
                env=env, stdout=subprocess.DEVNULL, stderr=nuri_log,
            )  # fmt: skip
            try:
                return _measure(args, settings, llm, port, prompts, nuri)
            finally:
                nuri.terminate()
                nuri.wait(timeout=30)


def _measure(
    args: argparse.Namespace,
    settings: Settings,
    llm: LLMClient,
    port: int,
    prompts: dict[str, ModelPrompt],
    nuri: subprocess.Popen[bytes],
) -> int:
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(f"{base}/readyz", nuri, 300, what="nuri serve", interval_s=0.5)
    except RuntimeError:
        print("Nuri 서버가 시작되지 않았습니다", file=sys.stderr)
        return 1
    s = settings.llm

    def reset() -> None:
        llm.complete(prompts[CACHE_RESET_QUESTION], max_tokens=1)

    rows: list[dict[str, Any]] = []
    with httpx.Client(timeout=600) as client:
        for q in QUESTIONS:  # warm-up, untimed
            first_token_stream(
                client,
                f"{base}/v1/chat/completions",
                {"model": "nuri", "messages": [{"role": "user", "content": q}], "stream": True},
            )
        bar = tqdm(total=args.rounds * len(QUESTIONS) * 2, desc="TTFT", file=sys.stderr, leave=False)
        for r in range(args.rounds):
            for q in QUESTIONS:
                order = ("nuri", "direct") if r % 2 == 0 else ("direct", "nuri")
                res: dict[str, tuple[float, float, str]] = {}
                for who in order:
                    reset()
                    if who == "nuri":
                        body = {"model": "nuri", "messages": [{"role": "user", "content": q}], "stream": True}
                        res[who] = first_token_stream(client, f"{base}/v1/chat/completions", body)
                    else:
                        res[who] = first_token_direct(llm, prompts[q])
                    bar.update(1)
                rows.append({"question": q, "round": r, "nuri_ttft": res["nuri"][0], "nuri_total": res["nuri"][1],
                             "direct_ttft": res["direct"][0], "direct_total": res["direct"][1]})  # fmt: skip
        bar.close()

    n50, n95 = pct([x["nuri_ttft"] for x in rows])
    d50, d95 = pct([x["direct_ttft"] for x in rows])
    o50, o95 = pct([x["nuri_ttft"] - x["direct_ttft"] for x in rows])
    nt50, nt95 = pct([x["nuri_total"] for x in rows])
    dt50, dt95 = pct([x["direct_total"] for x in rows])
    m = machine_info()
    print(f"# Nuri answer latency ({settings.model_server.engine}, model {s.model}, mode {s.mode})\n")
    print(f"Machine: {m.get('cpu_count')} CPUs, {m.get('cpu_model')}, {m.get('memory_gib')} GiB; "
          f"{len(QUESTIONS)} questions × {args.rounds} rounds, streamed, max_tokens {s.max_tokens}; "
          f"Nuri's query encoder: {args.encoder_threads or 'all'} thread(s); "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}.\n")  # fmt: skip
    print("| Measure | Nuri /v1/chat/completions | Model server alone | Nuri adds (p50 / p95) | Goal | Met |")
    print("|---|---|---|---|---|---|")
    met = "yes" if o50 <= GOAL_MS and o95 <= GOAL_MS else "**NO**"
    print(
        f"| Time to first token p50 / p95 | {n50:.0f} / {n95:.0f} ms | {d50:.0f} / {d95:.0f} ms | {o50:.0f} / {o95:.0f} ms | ≤ {GOAL_MS:.0f} ms | {met} |"
    )
    print(
        f"| Total latency p50 / p95 | {nt50:.0f} / {nt95:.0f} ms | {dt50:.0f} / {dt95:.0f} ms | {nt50 - dt50:.0f} ms (p50) | – | – |"
    )
    if args.json_out:
        args.json_out.write_text(
            json.dumps(
                {
                    "machine": m,
                    "engine": settings.model_server.engine,
                    "encoder_threads": args.encoder_threads or None,
                    "rows": rows,
                },
                ensure_ascii=False,
                indent=1,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
