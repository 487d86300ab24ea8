"""Each bundled model through Nuri's own serving path: startup, memory, first token, decode speed.

    python -m benchmarks.models [--models NAME ...] [--rounds 2] [--json-out FILE]
    (make bench-models)

Method. The bundled sample corpus is indexed once into a temporary folder. For each bundled
model (``assistant.modelserver.bundled``), the shipped profile that serves it is loaded
(``gemma3-270m``: ``default``, completion mode; ``qwen2.5-coder-1.5b``: ``qwen``, chat mode),
then:

* **file check**: ``bundled_gguf`` makes the GGUF ready in ``model_server.models_dir`` (the
  first run ever also assembles it: that run is slower; later the Qwen file is trusted through
  its stamp, while the Gemma package hashes its file on every start);
* **start → ready**: ``ModelServer.start()`` (llama.cpp on a free port, all cores) until
  ``/v1/models`` serves the model;
* **RSS**: resident memory of the server process (psutil when installed, else ``/proc``),
  after start and after the questions; the model file is memory-mapped, so its resident pages
  count;
* **questions**: the six sample-corpus questions of :mod:`benchmarks.answer_latency` (its five
  timed questions and its cache-reset question), each prepared by ``Orchestrator.prepare``
  (retrieval, passages and the profile's prompt, as Nuri sends it) and streamed through
  ``LLMClient.stream`` with the profile's generation settings. One untimed warm-up request
  (the last question, one token) comes first; then ``--rounds`` rounds over the six. Time to
  first token = request start to the first non-blank delta
  (``answer_latency.first_token_direct``); decode speed = (answer tokens − 1) / (total − time
  to first token), the answer's tokens counted by the server's own tokenizer
  (``/extras/tokenize/count``). llama.cpp keeps the previous request's prompt in its cache, so
  the shared start of consecutive prompts (system prompt or few-shot examples) is reused, as
  in production.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any

import httpx
from tqdm import tqdm

from assistant.llm_client import LLMClient, ModelPrompt
from assistant.modelserver.bundled import BUNDLED, bundled_gguf
from assistant.modelserver.server import ModelServer
from assistant.orchestrator import Orchestrator
from assistant.prompts import PromptBook
from benchmarks.answer_latency import CACHE_RESET_QUESTION, QUESTIONS, first_token_direct, pct
from benchmarks.machine import machine_info
from configs.logs import setup_logging
from configs.settings import Settings, load_settings
from guardrails.pipeline import Guardrails
from retrieval.index import NuriIndex
from retrieval.sync import Syncer
from retrieval.types import Principal

#: The shipped profile that serves each bundled model.
PROFILES = {"gemma3-270m": "default", "qwen2.5-coder-1.5b": "qwen"}
ALL_QUESTIONS = [*QUESTIONS, CACHE_RESET_QUESTION]
IDLE_LOAD = 0.5


@dataclass
class ModelResult:
    model: str
    title: str
    profile: str
    mode: str
    file_mb: float
    file_check_s: float
    startup_s: float
    rss_start_mb: float | None
    rss_end_mb: float | None
    ttft_ms: list[float] = field(default_factory=list)
    total_ms: list[float] = field(default_factory=list)
    answer_tokens: list[int] = field(default_factory=list)
    decode_tps: list[float] = field(default_factory=list)


def rss_mb(pid: int) -> float | None:
    """Resident memory of process ``pid`` in MiB (psutil when installed, else /proc)."""
    try:
        psutil: Any = import_module("psutil")
        return float(psutil.Process(pid).memory_info().rss) / 2**20
    except ImportError:
        pass
    try:
        for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


@contextmanager
def profile(name: str) -> Iterator[None]:
    """``NURI_PROFILE=name`` (and no ``NURI_CONFIG``) while settings are loaded."""
    saved = {k: os.environ.pop(k, None) for k in ("NURI_PROFILE", "NURI_CONFIG")}
    os.environ["NURI_PROFILE"] = name
    try:
        yield
    finally:
        os.environ.pop("NURI_PROFILE", None)
        os.environ.update({k: v for k, v in saved.items() if v is not None})


def profile_settings(name: str, work: Path) -> Settings:
    with profile(name):
        settings = load_settings()
    return settings.override(model_server={"port": 0, "log_file": str(work / f"model-server-{name}.log")})


def count_tokens(server: ModelServer, text: str) -> int:
    root = server.base_url.removesuffix("/v1")
    r = httpx.post(f"{root}/extras/tokenize/count", json={"input": text}, timeout=30)
    r.raise_for_status()
    return int(r.json()["count"])


def run_model(name: str, settings: Settings, index: NuriIndex, rounds: int) -> ModelResult:
    ms = settings.model_server
    t0 = time.perf_counter()
    path = bundled_gguf(settings.resolve(ms.models_dir), name)
    file_check = time.perf_counter() - t0
    server = ModelServer(ms, settings.llm, settings.resolve)
    t0 = time.perf_counter()
    server.start()
    try:
        startup = time.perf_counter() - t0
        assert server.proc is not None
        pid = server.proc.pid
        result = ModelResult(
            model=name,
            title=BUNDLED[name].title,
            profile=PROFILES[name],
            mode=settings.llm.mode,
            file_mb=path.stat().st_size / 2**20,
            file_check_s=file_check,
            startup_s=startup,
            rss_start_mb=rss_mb(pid),
            rss_end_mb=None,
        )
        llm = LLMClient(settings.llm, [server.base_url])
        # the model's path, whatever the profile's answer.generation (extractive answers call no model)
        model_answers = settings.answer.model_copy(update={"generation": "model"})
        guard = Guardrails(settings.guardrails, index.embedder)
        orchestrator = Orchestrator(index, llm, model_answers, PromptBook(settings.prompt_dir()), guard)
        prompts: dict[str, ModelPrompt] = {}
        for q in ALL_QUESTIONS:
            prepared = orchestrator.prepare(orchestrator.question(q), principal=Principal(operator=True))
            if prepared.prompt is None:
                raise SystemExit(f"Nuri가 이 질문에 답하지 않습니다 (근거 부족): {q}")
            prompts[q] = prepared.prompt
        llm.complete(prompts[ALL_QUESTIONS[-1]], max_tokens=1)  # warm-up, untimed
        for _ in tqdm(range(rounds), desc=name, file=sys.stderr, leave=False):
            for q in ALL_QUESTIONS:
                first, total, text = first_token_direct(llm, prompts[q])
                tokens = count_tokens(server, text.strip())
                result.ttft_ms.append(first * 1000)
                result.total_ms.append(total * 1000)
                result.answer_tokens.append(tokens)
                if tokens > 1 and total > first:
                    result.decode_tps.append((tokens - 1) / (total - first))
        result.rss_end_mb = rss_mb(pid)
    finally:
        server.stop()
    return result


def _mb(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f} MB"


def report(results: list[ModelResult], machine: dict[str, Any], rounds: int, load_end: float) -> str:
    load = machine["load_average_at_start"][0]
    lines = [
        "# Bundled models through Nuri (llama.cpp)",
        "",
        f"Machine: {machine.get('cpus_usable')} CPUs, {machine.get('cpu_model')}, {machine.get('memory_gib')} GiB, "
        f"Python {machine.get('python')}; 1-min load average {load} at start, {load_end:.2f} at end. "
        f"{len(ALL_QUESTIONS)} sample-corpus questions × {rounds} round(s) per model, streamed, each profile's "
        "generation settings.",
        "",
        "| Model | Profile (mode) | GGUF | File check | Start → ready | RSS after start / after questions "
        "| Time to first token p50 / p95 | Decode p50 | Answer tokens p50 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        t50, t95 = pct([ms / 1000 for ms in r.ttft_ms])
        decode = f"{statistics.median(r.decode_tps):.1f} tok/s" if r.decode_tps else "–"
        lines.append(
            f"| {r.title} (`{r.model}`) | `{r.profile}` ({r.mode}) | {r.file_mb:,.0f} MB | {r.file_check_s:.2f} s "
            f"| {r.startup_s:.1f} s | {_mb(r.rss_start_mb)} / {_mb(r.rss_end_mb)} | {t50:,.0f} / {t95:,.0f} ms "
            f"| {decode} | {statistics.median(r.answer_tokens):.0f} |"
        )
    if load >= IDLE_LOAD or load_end >= IDLE_LOAD + 2:
        lines += ["", f"The machine was not idle (load average {load} at start): timings are indicative only."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.models")
    p.add_argument("--models", nargs="+", choices=list(BUNDLED), default=list(BUNDLED))
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--json-out", type=Path)
    args = p.parse_args(argv)
    assert set(PROFILES) == set(BUNDLED), "every bundled model needs its profile here"
    setup_logging("WARNING")
    machine = machine_info()
    results: list[ModelResult] = []
    with tempfile.TemporaryDirectory(prefix="nuri-bench-models-") as tmp:
        work = Path(tmp)
        base = profile_settings("default", work)
        print("샘플 문서 색인 중…", file=sys.stderr)
        with NuriIndex.open(base.retrieval, work / "index", create=True) as index:
            Syncer(index, base.connectors, progress=False).sync([base.resolve(base.sample_corpus)])
            for name in args.models:
                results.append(run_model(name, profile_settings(PROFILES[name], work), index, args.rounds))
    load_end = os.getloadavg()[0]
    print(report(results, machine, args.rounds, load_end))
    if args.json_out:
        data = {"machine": machine, "rounds": args.rounds, "load_average_at_end": load_end,
                "results": [asdict(r) for r in results]}  # fmt: skip
        args.json_out.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
