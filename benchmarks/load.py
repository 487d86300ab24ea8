"""Load benchmark of ``nuri serve``: throughput, latency and errors under N concurrent clients,
and how responsive the server stays while the model writes answers.

    python -m benchmarks.load [--clients 8,32,64] [--model-clients 1,8,16] [--duration-s 20]
                              [--grace-s 60] [--probe-streams 16] [--probe-s 15]
                              [--scenarios search,ask,ask-model] [--server-env NURI_X=V] [--json-out FILE] [--quick]

Set-up (as ``benchmarks/answer_latency.py``): the bundled sample corpus is indexed into a
temporary folder, the bundled model server (llama.cpp, Gemma 3 270M) is started once, and
``nuri serve`` runs as its own process on 127.0.0.1 against it (``NURI_LLM__BASE_URLS``), with
authentication, the guardrails and the audit trail on (the defaults) and the chat UI off. An
API key (role ``user``, 누리행정청, internal clearance) is made with ``nuri keys create`` in the
server's own data folder (``NURI_DATA_DIR``, temporary); the rate limit is raised for the
benchmark (``NURI_API__AUTH__RATE_LIMIT__REQUESTS_PER_MINUTE`` / ``__BURST``): the output says so.

Two server configurations, one after the other (same index, key and model server):

1. the default profile (``answer.generation: extractive``: the answer quotes the passages, no
   model call): scenario ``search`` (``POST /v1/search``; search is the same in both
   configurations) and scenario ``ask`` (streamed ``/v1/ask``; ``chat``: the same through
   streamed ``/v1/chat/completions``);
2. ``answer.generation: model`` (``NURI_ANSWER__GENERATION=model``): scenario ``ask-model``
   (streamed ``/v1/ask``, the model writes the answer: time to first token matters
   here) and the responsiveness probe. Its client counts are their own (``--model-clients``,
   default 1, 8, 16): the bundled llama.cpp server generates one answer at a time, so more
   clients only queue longer (and 64 queued answers do not fit a run of minutes on a small CPU).

Load. N clients (asyncio + ``httpx.AsyncClient``), each sending its next request as soon as its
last one ended (closed loop), for ``--duration-s``; then no request starts, and the ones still
running ``--grace-s`` later are cancelled (counted as *unfinished*, not as errors; after such a
run the benchmark waits until both servers are idle again). Questions: search uses the 25 of
``evals/suites/sample_ko.jsonl``, the answers the 21 it expects answered; each is made unique
with a request number (`` (n)``) so that the server's query-vector cache
(``retrieval.embedders.QueryCache``) never stands in for the encoder (``--repeat-queries``: no).
Throughput = requests completed without error / seconds from the start until the last one
ended; latency = request start to the end of the body (stream); time to first token (TTFT) =
request start to the first non-blank content delta. Errors are counted by HTTP status (or
exception name, or ``stream:<code>`` for an error event inside a stream): the goal is 0. A
request the server sheds (503 ``overloaded`` from the admission gate's bounded queue,
``api.admission``) is counted as *shed*, not as an error, and its client waits the
``Retry-After`` it was given before its next request, as a well-behaved client does. For
answers, the median length (characters) of the answers not refused and the number of short
ones (under 20 characters) are kept too: an answer cut short shows there, not as an error.
``/healthz`` is called every 0.25 s during every run.

Probe. ``/healthz`` and ``/v1/search`` are each called again 0.1 s after their last answer
(two connections), for ``--probe-s``: first on an idle server, then while ``--probe-streams``
streamed model answers run (closed loop; those still running at the end are cancelled); their
p50/p95 are compared.

CPU. The CPU time of the Nuri server, the model server and this load generator is read from
``/proc`` around each run (``cpu_*`` = cores busy on average): a server that is slow while its
CPU is idle is waiting on a lock, not working. Everything runs on one machine: the load
generator competes with the servers for the cores.

The settings come from the environment as for ``nuri serve`` (``NURI_…``), e.g. the model
server's flags: ``NURI_MODEL_SERVER__LLAMACPP__EXTRA_ARGS='["--interrupt_requests", "False"]'``
(llama-cpp-python's server otherwise ends a streamed answer as soon as another request waits:
answers cut to a few characters under concurrency, which the *answer chars* column shows).

``--quick`` (seconds, for the test): the default profile only, search and ask at 2 and 4
clients, 3 s each, no probe.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from tqdm import tqdm

from assistant.modelserver.server import ModelServer, free_port
from benchmarks.machine import machine_info
from benchmarks.servers import wait_ready
from configs.logs import setup_logging
from configs.settings import Settings, load_settings
from retrieval.index import NuriIndex
from retrieval.sync import Syncer

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS_FILE = ROOT / "evals" / "suites" / "sample_ko.jsonl"
KEY_AGENCY, KEY_CLEARANCE = "누리행정청", "internal"
RATE_LIMIT = {"requests_per_minute": 1_000_000, "burst": 100_000}
SCENARIOS = ("search", "ask", "ask-model", "chat", "chat-model")
DEFAULT_SCENARIOS = ("search", "ask", "ask-model")
REQUEST_TIMEOUT_S = 300.0
SHORT_ANSWER_CHARS = 20  # an answer this short was most likely cut off
CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def load_questions(path: Path = QUESTIONS_FILE, answerable_only: bool = False) -> list[str]:
    """The suite's questions (``answerable_only``: those it expects answered, not refused)."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r["question"] for r in rows if not answerable_only or r.get("expected") == "answer"]


@dataclass
class Plan:
    """What to run: client counts (search/ask, ask-model), seconds per run, grace, probe, and
    settings for the Nuri server (``server_env``: a before/after of one setting)."""

    clients: list[int]
    model_clients: list[int]
    duration_s: float
    grace_s: float
    probe_streams: int
    probe_s: float
    scenarios: list[str]
    unique_queries: bool = True
    server_env: dict[str, str] = field(default_factory=dict)


# -- one request ---------------------------------------------------------------------------


@dataclass
class Sample:
    """One request: ``error`` is None when it succeeded; ``overloaded`` when the server shed it
    (503 ``overloaded`` with ``Retry-After``: ``retry_after_s``), which is not an error."""

    latency_s: float
    error: str | None = None
    ttft_s: float | None = None
    chars: int = 0
    refused: bool | None = None
    retry_after_s: float | None = None


OVERLOADED = "overloaded"


def _failed(resp: httpx.Response) -> tuple[str, float | None]:
    """The error of a non-200 answer (its body read): ``overloaded`` with its Retry-After, or the
    status and the error code of Nuri's error body (``503 model_unavailable``)."""
    try:
        code = (resp.json().get("error") or {}).get("code")
    except ValueError:
        code = None
    if resp.status_code == 503 and code == OVERLOADED:
        return OVERLOADED, float(resp.headers.get("Retry-After", "1"))
    return f"{resp.status_code} {code}" if code else str(resp.status_code), None


async def search_once(client: httpx.AsyncClient, question: str) -> Sample:
    t0 = time.perf_counter()
    try:
        resp = await client.post("/v1/search", json={"query": question})
        error, retry = (None, None) if resp.status_code == 200 else _failed(resp)
        if error is None and not isinstance(resp.json(), list):
            error = "bad-body"
    except httpx.HTTPError as e:
        error, retry = type(e).__name__, None
    return Sample(time.perf_counter() - t0, error, retry_after_s=retry)


EventReading = tuple[str, bool | None, str | None]  # (text added, refused if known, error code)


async def _streamed(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], read: Callable[[dict[str, Any]], EventReading]
) -> Sample:
    """One streamed request read to ``[DONE]``: latency, time to first token, answer length."""
    t0 = time.perf_counter()
    first: float | None = None
    text = ""
    refused: bool | None = None
    error: str | None = None
    retry: float | None = None
    done = False
    try:
        async with client.stream("POST", path, json=body) as resp:
            if resp.status_code != 200:
                await resp.aread()
                error, retry = _failed(resp)
            else:
                async for line in resp.aiter_lines():
                    if not line.startswith("data: "):
                        continue
                    if line == "data: [DONE]":
                        done = True
                        continue
                    added, said_refused, failed = read(json.loads(line[6:]))
                    error = f"stream:{failed}" if failed else error
                    refused = said_refused if said_refused is not None else refused
                    text += added
                    if first is None and text.strip():
                        first = time.perf_counter() - t0
                if error is None and not done:
                    error = "stream:incomplete"
    except httpx.HTTPError as e:
        error = type(e).__name__
    return Sample(time.perf_counter() - t0, error, first, len(text), refused, retry)


def _chat_event(data: dict[str, Any]) -> EventReading:
    if "error" in data:
        return "", None, (data["error"] or {}).get("code", "error")
    text = "".join((c.get("delta") or {}).get("content") or "" for c in data.get("choices", []))
    return text, (bool(data["refused"]) if "refused" in data else None), None


def _ask_event(data: dict[str, Any]) -> EventReading:
    kind = data.get("type")
    if kind == "error":
        return "", None, (data.get("error") or {}).get("code", "error")
    if kind == "done":
        return "", bool(data["answer"]["refused"]), None
    return (data.get("text", "") if kind == "delta" else ""), None, None


async def chat_once(client: httpx.AsyncClient, question: str) -> Sample:
    """A streamed ``/v1/chat/completions``."""
    body = {"model": "nuri", "messages": [{"role": "user", "content": question}], "stream": True}
    return await _streamed(client, "/v1/chat/completions", body, _chat_event)


async def ask_once(client: httpx.AsyncClient, question: str) -> Sample:
    """A streamed ``/v1/ask`` (``stream: true``)."""
    return await _streamed(client, "/v1/ask", {"question": question, "stream": True}, _ask_event)


REQUESTS: dict[str, Callable[[httpx.AsyncClient, str], Awaitable[Sample]]] = {
    "search": search_once,
    "ask": ask_once,
    "ask-model": ask_once,
    "chat": chat_once,
    "chat-model": chat_once,
}
EXTRACTIVE_SCENARIOS, MODEL_SCENARIOS = ("search", "ask", "chat"), ("ask-model", "chat-model")


# -- measuring -----------------------------------------------------------------------------


def ms_percentiles(seconds: list[float], qs: tuple[int, ...] = (50, 95, 99)) -> dict[str, float | None]:
    if not seconds:
        return {f"p{q}_ms": None for q in qs}
    a = np.asarray(seconds, dtype=np.float64) * 1000.0
    return {f"p{q}_ms": round(float(np.percentile(a, q)), 1) for q in qs}


def proc_cpu_s(pid: int | None) -> float:
    """CPU seconds (user + system, all threads) used so far by process ``pid``; 0 if unknown."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


@dataclass
class CpuMeter:
    """CPU used by the Nuri server, the model server and this process over a run."""

    pids: dict[str, int | None]
    start: dict[str, float] = field(default_factory=dict)
    t0: float = 0.0

    def __enter__(self) -> CpuMeter:
        self.t0 = time.perf_counter()
        self.start = {name: self._cpu(pid) for name, pid in self.pids.items()}
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    @staticmethod
    def _cpu(pid: int | None) -> float:
        return time.process_time() if pid == os.getpid() else proc_cpu_s(pid)

    def cores(self) -> dict[str, float]:
        wall = max(time.perf_counter() - self.t0, 1e-9)
        return {f"cpu_{n}": round((self._cpu(p) - self.start[n]) / wall, 2) for n, p in self.pids.items()}


class Questions:
    """The suite's questions in turn, each made unique (`` (n)``) so no query vector is cached."""

    def __init__(self, questions: list[str], unique: bool = True) -> None:
        self.questions, self.unique, self.n = questions, unique, 0

    def __next__(self) -> str:
        q = self.questions[self.n % len(self.questions)]
        self.n += 1
        return f"{q} ({self.n})" if self.unique else q

    def __iter__(self) -> Iterator[str]:
        return self


def client_for(base: str, key: str | None, connections: int) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=REQUEST_TIMEOUT_S)


async def closed_loop(
    client: httpx.AsyncClient,
    request: Callable[[httpx.AsyncClient, str], Awaitable[Sample]],
    questions: Questions,
    clients: int,
    seconds: float,
    grace_s: float,
    samples: list[Sample],
    bar: tqdm | None = None,
    during: Callable[[], Awaitable[Any]] | None = None,
) -> tuple[float, int, Any]:
    """``clients`` workers, each sending its next request when its last one ended; none starts
    after ``seconds``. The requests still running ``grace_s`` later are cancelled. ``during``
    runs alongside (from the start). Returns (seconds until the last request ended or was
    cancelled, requests cancelled, what ``during`` returned)."""
    stop = asyncio.Event()

    async def worker() -> None:
        while not stop.is_set():
            sample = await request(client, next(questions))
            samples.append(sample)
            if bar is not None:
                bar.update(1)
            if sample.retry_after_s:  # a shed request: as a well-behaved client, wait as told
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), sample.retry_after_s)

    t0 = time.perf_counter()
    tasks = [asyncio.ensure_future(worker()) for _ in range(clients)]
    side = asyncio.ensure_future(during()) if during is not None else None
    await asyncio.sleep(seconds)
    stop.set()
    _, pending = await asyncio.wait(tasks, timeout=grace_s)
    for task in pending:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    elapsed = time.perf_counter() - t0
    return elapsed, len(pending), (await side if side is not None else None)


async def health_samples(base: str, stop_after: float, every_s: float = 0.25) -> list[Sample]:
    """``GET /healthz`` every ``every_s`` seconds for ``stop_after`` seconds (its own connection)."""
    out: list[Sample] = []
    async with client_for(base, None, 1) as client:
        deadline = time.perf_counter() + stop_after
        while time.perf_counter() < deadline:
            out.append(await health_once(client))
            await asyncio.sleep(every_s)
    return out


async def health_once(client: httpx.AsyncClient) -> Sample:
    t0 = time.perf_counter()
    try:
        resp = await client.get("/healthz")
        error = None if resp.status_code == 200 else str(resp.status_code)
    except httpx.HTTPError as e:
        error = type(e).__name__
    return Sample(time.perf_counter() - t0, error)


def wait_idle(pids: dict[str, int | None], limit_s: float = 180.0, below: float = 0.1) -> float:
    """Wait until the servers use less than ``below`` of a core each over 1 s (requests left
    behind by cancelled clients finished); returns the seconds waited."""
    t0 = time.perf_counter()
    watched = [pid for name, pid in pids.items() if name != "loadgen" and pid is not None]
    while time.perf_counter() - t0 < limit_s:
        before = [proc_cpu_s(pid) for pid in watched]
        time.sleep(1.0)
        if all(proc_cpu_s(pid) - b < below for pid, b in zip(watched, before, strict=True)):
            break
    return round(time.perf_counter() - t0, 1)


def summarise(samples: list[Sample], elapsed_s: float, unfinished: int = 0) -> dict[str, Any]:
    ok = [s for s in samples if s.error is None]
    errors = Counter(s.error for s in samples if s.error not in (None, OVERLOADED))
    out: dict[str, Any] = {
        "requests": len(samples) + unfinished,
        "ok": len(ok),
        "unfinished": unfinished,
        "elapsed_s": round(elapsed_s, 2),
        "throughput_rps": round(len(ok) / elapsed_s, 2) if elapsed_s > 0 else None,
        "latency": ms_percentiles([s.latency_s for s in ok]),
        "errors": sum(errors.values()),
        "errors_by_status": dict(errors),
        "shed": sum(s.error == OVERLOADED for s in samples),
    }
    if any(s.refused is not None or s.ttft_s is not None for s in samples):
        answered = [s for s in ok if not s.refused]
        out["ttft"] = ms_percentiles([s.ttft_s for s in ok if s.ttft_s is not None], (50, 95))
        out["answer_chars_p50"] = int(np.median([s.chars for s in answered])) if answered else None
        out["short_answers"] = sum(s.chars < SHORT_ANSWER_CHARS for s in answered)
        out["refused"] = len(ok) - len(answered)
    return out


async def run_scenario(
    base: str,
    key: str,
    scenario: str,
    clients: int,
    plan: Plan,
    questions: Questions,
    pids: dict[str, int | None],
) -> dict[str, Any]:
    samples: list[Sample] = []
    bar = tqdm(desc=f"{scenario} × {clients}", unit="req", file=sys.stderr, leave=False)
    async with client_for(base, key, clients) as client:
        with CpuMeter(pids) as cpu:
            elapsed, unfinished, health = await closed_loop(
                client, REQUESTS[scenario], questions, clients, plan.duration_s, plan.grace_s, samples, bar,
                during=lambda: health_samples(base, plan.duration_s),
            )  # fmt: skip
            cores = cpu.cores()
    bar.close()
    return {
        "scenario": scenario,
        "clients": clients,
        "duration_s": plan.duration_s,
        **summarise(samples, elapsed, unfinished),
        "healthz_during": summarise(health, plan.duration_s),
        **cores,
    }


async def probe_phase(base: str, key: str, seconds: float, questions: Questions) -> dict[str, Any]:
    """For ``seconds``: ``/healthz`` and ``/v1/search`` each called again 0.1 s after its last
    answer, on its own connection (a slow search does not hold the health checks up)."""

    async def sampled(call: Callable[[httpx.AsyncClient], Awaitable[Sample]]) -> list[Sample]:
        out: list[Sample] = []
        async with client_for(base, key, 1) as client:
            deadline = time.perf_counter() + seconds
            while time.perf_counter() < deadline:
                out.append(await call(client))
                await asyncio.sleep(0.1)
        return out

    health, search = await asyncio.gather(
        sampled(health_once), sampled(lambda client: search_once(client, next(questions)))
    )
    return {"healthz": summarise(health, seconds), "search": summarise(search, seconds)}


async def run_probe(
    base: str, key: str, streams: int, seconds: float, questions: Questions, pids: dict[str, int | None]
) -> dict[str, Any]:
    """The probe idle, then while ``streams`` streamed answers run (closed loop; the answers
    still running when the probe ends are cancelled)."""
    with CpuMeter(pids) as cpu:
        idle = await probe_phase(base, key, seconds, questions)
        idle.update(cpu.cores())
    samples: list[Sample] = []
    ramp = min(2.0, seconds / 4)  # every stream sent and waiting on the model before probing

    async def probe_after_ramp() -> dict[str, Any]:
        await asyncio.sleep(ramp)
        return await probe_phase(base, key, seconds, questions)

    async with client_for(base, key, streams) as client:
        with CpuMeter(pids) as cpu:
            elapsed, unfinished, loaded = await closed_loop(
                client, ask_once, questions, streams, ramp + seconds, 0.0, samples, during=probe_after_ramp
            )
            loaded["streams"] = summarise(samples, elapsed, unfinished)
            loaded.update(cpu.cores())
    return {"streams": streams, "seconds": seconds, "idle": idle, "under_load": loaded}


# -- the servers ---------------------------------------------------------------------------


def nuri_env(
    model_url: str, data_dir: Path, generation: str | None, extra: dict[str, str] | None = None
) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), NURI_LLM__BASE_URLS=json.dumps([model_url]), NURI_DATA_DIR=str(data_dir),
               NURI_UI__ENABLED="false", NURI_LOGGING__LEVEL="WARNING", HF_HUB_OFFLINE="1",
               NURI_API__AUTH__RATE_LIMIT__REQUESTS_PER_MINUTE=str(RATE_LIMIT["requests_per_minute"]),
               NURI_API__AUTH__RATE_LIMIT__BURST=str(RATE_LIMIT["burst"]))  # fmt: skip
    for name in ("NURI_EMBEDDER__NUM_THREADS", "NURI_PROFILE", "NURI_CONFIG", "NURI_ANSWER__GENERATION"):
        env.pop(name, None)
    if generation is not None:
        env["NURI_ANSWER__GENERATION"] = generation
    env.update(extra or {})
    return env


def create_key(env: dict[str, str]) -> str:
    """A ``user`` key made by ``nuri keys create`` (the key is the last line of its output)."""
    cmd = [sys.executable, "-m", "assistant.cli", "keys", "create", "--agency", KEY_AGENCY,
           "--clearance", KEY_CLEARANCE, "--role", "user", "--label", "load-benchmark"]  # fmt: skip
    out = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
    return out.stdout.strip().splitlines()[-1].strip()


@contextlib.contextmanager
def nuri_server(index_dir: Path, env: dict[str, str], log_path: Path) -> Iterator[tuple[str, int]]:
    """``nuri serve`` in its own process; yields (base URL, pid) once ``/readyz`` answers 200."""
    port = free_port("127.0.0.1")
    base = f"http://127.0.0.1:{port}"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "assistant.cli", "serve", "--index", str(index_dir), "--host", "127.0.0.1",
             "--port", str(port)],
            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log,
        )  # fmt: skip
        try:
            try:
                wait_ready(f"{base}/readyz", proc, 300, what="nuri serve", request_timeout_s=5)
            except RuntimeError as e:
                raise RuntimeError(f"{e}:\n{log_path.read_text(errors='replace')[-2000:]}") from None
            yield base, proc.pid
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# -- the run -------------------------------------------------------------------------------


async def _warm(base: str, key: str, scenario: str, questions: Questions) -> None:
    async with client_for(base, key, 1) as client:
        await REQUESTS[scenario](client, next(questions))


def measure(plan: Plan, settings: Settings, work: Path) -> dict[str, Any]:
    """Index the samples, start the model server and the Nuri server(s), run the plan."""
    index_dir, data_dir = work / "index", work / "data"
    print("샘플 문서 색인 중…", file=sys.stderr)
    with NuriIndex.open(settings.retrieval, index_dir, create=True) as index:
        Syncer(index, settings.connectors, progress=False).sync([settings.resolve(settings.sample_corpus)])
    # search: every question of the suite; answers: the ones it expects answered (the model writes)
    search_questions = Questions(load_questions(), plan.unique_queries)
    questions = Questions(load_questions(answerable_only=True), plan.unique_queries)
    runs: list[dict[str, Any]] = []
    probe: dict[str, Any] | None = None
    configs: dict[str, list[str]] = {}
    # The default profile (extractive answers) serves search and ask; then a server whose model
    # writes the answers (answer.generation=model) serves ask-model and the probe.
    stages = [
        (None, [s for s in plan.scenarios if s in EXTRACTIVE_SCENARIOS], False),
        ("model", [s for s in plan.scenarios if s in MODEL_SCENARIOS], plan.probe_streams > 0),
    ]
    with ModelServer(settings.model_server, settings.llm, settings.resolve) as server:
        model_pid = server.proc.pid if server.proc is not None else None
        key: str | None = None
        for generation, scenarios, with_probe in stages:
            if not scenarios and not with_probe:
                continue
            env = nuri_env(server.base_url, data_dir, generation, plan.server_env)
            key = key or create_key(env)
            name = f"answer.generation={generation or 'extractive'}"
            configs[name] = scenarios + (["probe"] if with_probe else [])
            print(f"nuri serve ({name}) 시작 중…", file=sys.stderr)
            with nuri_server(index_dir, env, work / "nuri.log") as (base, nuri_pid):
                pids = {"nuri": nuri_pid, "model": model_pid, "loadgen": os.getpid()}
                for scenario in scenarios:
                    qs = search_questions if scenario == "search" else questions
                    asyncio.run(_warm(base, key, scenario, qs))
                    for n in plan.model_clients if scenario in MODEL_SCENARIOS else plan.clients:
                        run = asyncio.run(run_scenario(base, key, scenario, n, plan, qs, pids))
                        run["config"] = name
                        run["drain_s"] = wait_idle(pids)  # requests cancelled by the grace limit
                        runs.append(run)
                if with_probe:
                    print(f"응답성 측정 ({plan.probe_streams}개 답변 생성 중)…", file=sys.stderr)
                    asyncio.run(_warm(base, key, "ask-model", questions))
                    probe = asyncio.run(run_probe(base, key, plan.probe_streams, plan.probe_s, questions, pids))
                    probe["config"] = name  # the answers it cancelled end with this server
    return {"configs": configs, "runs": runs, "probe": probe}


def _fmt(v: Any) -> str:
    return "–" if v is None else f"{v:.0f}" if isinstance(v, float) else str(v)


LABELS = {
    "search": "search `/v1/search`",
    "ask": "ask stream, extractive",
    "ask-model": "ask stream, model",
    "chat": "chat stream, extractive",
    "chat-model": "chat stream, model",
}


def markdown(result: dict[str, Any]) -> str:
    m, plan = result["machine"], result["plan"]
    lines = [
        f"# Nuri load benchmark ({result['date']})",
        "",
        f"Machine: {m.get('cpus_usable')} usable CPUs ({m.get('cpu_model')}), {m.get('memory_gib')} GiB, "
        f"load average at start {m.get('load_average_at_start')}; the load generator runs on the same CPUs. "
        f"Model server: llama.cpp, {result['model']}, max_tokens {result['max_tokens']}, "
        f"extra flags {result['model_server_extra_args'] or 'none'}. "
        "Auth on (API key, role user), guardrails on (defaults), audit on, chat UI off; "
        f"rate limit raised for the benchmark key to {RATE_LIMIT['requests_per_minute']:,}/min, "
        f"burst {RATE_LIMIT['burst']:,} (api.auth.rate_limit). Closed loop, {plan['duration_s']:g} s per run; "
        f'requests still running {plan["grace_s"]:g} s after that are cancelled ("unfinished"); '
        f"questions made unique (no query-vector cache hits): {'yes' if plan['unique_queries'] else 'no'}. "
        "Shed: 503 `overloaded` from the server's admission gate (api.admission), the client then waits its Retry-After. "
        "Answer chars: median length of the answers not refused; short: how many of them are under "
        f"{SHORT_ANSWER_CHARS} characters; refused: answers refused. CPU: cores busy on average (Nuri / model server / load generator). "
        f"Server settings changed for this run: {', '.join(f'`{k}={v}`' for k, v in plan.get('server_env', {}).items()) or 'none'}.",
        "",
        "| Scenario | Clients | Req/s | p50 ms | p95 ms | p99 ms | TTFT p50 ms | TTFT p95 ms | Answer chars (short / refused) "
        "| Errors | Shed (503) | Unfinished | /healthz p95 ms | CPU nuri / model / loadgen |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["runs"]:
        lat, ttft = r["latency"], r.get("ttft", {})
        errs = str(r["errors"]) + (f" {r['errors_by_status']}" if r["errors"] else "")
        chars = f"{_fmt(r.get('answer_chars_p50'))} ({r['short_answers']} / {r['refused']})" if "refused" in r else "–"
        lines.append(
            f"| {LABELS[r['scenario']]} | {r['clients']} | {r['throughput_rps']} | {_fmt(lat['p50_ms'])} "
            f"| {_fmt(lat['p95_ms'])} | {_fmt(lat['p99_ms'])} | {_fmt(ttft.get('p50_ms'))} | {_fmt(ttft.get('p95_ms'))} "
            f"| {chars} | {errs} | {r['shed']} | {r['unfinished']} | {_fmt(r['healthz_during']['latency']['p95_ms'])} "
            f"| {r['cpu_nuri']} / {r['cpu_model']} / {r['cpu_loadgen']} |"
        )
    probe = result.get("probe")
    if probe:
        st = probe["under_load"]["streams"]
        lines += [
            "",
            f"Responsiveness ({probe['config']}): `/healthz` and `/v1/search`, each again 0.1 s after its last answer, for "
            f"{probe['seconds']:g} s, idle vs while {probe['streams']} streamed model answers run "
            f"({st['ok']} answers finished in the window, {st['unfinished']} cancelled at its end, {st['errors']} "
            f"errors; TTFT p50 {_fmt(st.get('ttft', {}).get('p50_ms'))} ms; answer chars p50 "
            f"{_fmt(st.get('answer_chars_p50'))}, {st.get('short_answers', 0)} short, {st.get('refused', 0)} refused).",
            "",
            "| Probe | Idle p50 ms | Idle p95 ms | Under load p50 ms | Under load p95 ms | Errors idle / load |",
            "|---|---|---|---|---|---|",
        ]
        for name, path in (("healthz", "/healthz"), ("search", "/v1/search")):
            i, u = probe["idle"][name], probe["under_load"][name]
            lines.append(
                f"| `{path}` | {_fmt(i['latency']['p50_ms'])} | {_fmt(i['latency']['p95_ms'])} "
                f"| {_fmt(u['latency']['p50_ms'])} | {_fmt(u['latency']['p95_ms'])} | {i['errors']} / {u['errors']} |"
            )
        lines.append(
            f"\nCPU idle / under load: nuri {probe['idle']['cpu_nuri']} / {probe['under_load']['cpu_nuri']}, "
            f"model {probe['idle']['cpu_model']} / {probe['under_load']['cpu_model']} cores."
        )
    return "\n".join(lines)


def _ints(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"comma-separated integers expected: {text!r}") from e


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.load", description="Load benchmark of nuri serve.")
    p.add_argument("--clients", type=_ints, default=[8, 32, 64], help="concurrent clients of each run (search, ask)")
    p.add_argument("--model-clients", type=_ints, default=[1, 8, 16], help="concurrent clients of ask-model runs")
    p.add_argument("--duration-s", type=float, default=20.0, help="seconds in which requests are sent, per run")
    p.add_argument("--grace-s", type=float, default=60.0, help="then, seconds before running requests are cancelled")
    p.add_argument("--probe-streams", type=int, default=16, help="model answers during the probe (0 = no probe)")
    p.add_argument("--probe-s", type=float, default=15.0, help="seconds of each probe phase (idle, under load)")
    p.add_argument(
        "--scenarios", default=",".join(DEFAULT_SCENARIOS), help=f"comma-separated, of: {', '.join(SCENARIOS)}"
    )
    p.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="NURI_X=VALUE",
        help="a setting for the Nuri server (repeatable), e.g. NURI_API__ADMISSION__ENABLED=false for a before/after",
    )
    p.add_argument("--repeat-queries", action="store_true", help="don't make the questions unique (cache hits)")
    p.add_argument("--quick", action="store_true", help="seconds: search + extractive ask, 2 and 4 clients, 3 s")
    p.add_argument("--json-out", type=Path)
    args = p.parse_args(argv)
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    if unknown := set(scenarios) - set(SCENARIOS):
        p.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    unique = not args.repeat_queries
    server_env = dict(item.split("=", 1) for item in args.server_env if "=" in item)
    if bad := [item for item in args.server_env if "=" not in item or not item.startswith("NURI_")]:
        p.error(f"--server-env expects NURI_...=VALUE: {', '.join(bad)}")
    if args.quick:
        plan = Plan([2, 4], [], 3.0, 20.0, 0, 0.0, ["search", "ask"], unique, server_env)
    else:
        plan = Plan(args.clients, args.model_clients, args.duration_s, args.grace_s, args.probe_streams, args.probe_s,
                    scenarios, unique, server_env)  # fmt: skip
    setup_logging("WARNING")
    # A terminated benchmark stops its servers too (the context managers run on SystemExit).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    machine = machine_info()
    started = dt.datetime.now(dt.UTC)
    work = Path(tempfile.mkdtemp(prefix="nuri-bench-load-"))
    settings = load_settings().override(
        model_server={"engine": "llamacpp", "port": 0, "log_file": str(work / "model-server.log")}
    )
    measured = measure(plan, settings, work)
    result = {
        "benchmark": "load",
        "date": started.isoformat(timespec="seconds"),
        "command": "python -m benchmarks.load " + " ".join(sys.argv[1:] if argv is None else argv),
        "wall_s": round((dt.datetime.now(dt.UTC) - started).total_seconds(), 1),
        "machine": machine,
        "model": settings.llm.model,
        "max_tokens": settings.llm.max_tokens,
        "model_server_extra_args": settings.model_server.llamacpp.extra_args,
        "rate_limit": RATE_LIMIT,
        "key": {"agency": KEY_AGENCY, "clearance": KEY_CLEARANCE, "roles": ["user"]},
        "plan": asdict(plan),
        "work_dir": str(work),
        **measured,
    }
    print(markdown(result))
    if args.json_out:
        args.json_out.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    errors = sum(r["errors"] for r in measured["runs"])
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
