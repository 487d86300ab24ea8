"""Where a search and an extractive answer spend their time: pyinstrument over the real service
path (input guardrails, hybrid search with the caller's filter, extractive answer, output
guardrails, audit record), in process, on the bundled sample corpus.

    python -m benchmarks.profile_hot_paths [--requests 40] [--sentence-cache N] [--json-out FILE]
                                           [--html-out FILE]

Questions are the sample suite's, each made unique with a request number (as in the load
benchmark) so the query-vector cache never stands in for the encoder. The answers are
extractive (the default profile): no model call, so no model server is started (the model
client points at an address nothing listens on, never used). ``--sentence-cache 0`` is the
"before" of the sentence-vector cache (``answer.extractive.sentence_cache``).

Printed: wall time per request for each path, then the functions with the largest share of
the profiled time (time spent inside them and below), grouped by the project's own functions
and the libraries they call.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pyinstrument import Profiler
from pyinstrument.frame import Frame

from assistant.callers import Caller
from assistant.exchange import Endpoint
from assistant.service import NuriService
from benchmarks.load import load_questions
from benchmarks.machine import machine_info
from configs.logs import setup_logging
from configs.settings import load_settings
from retrieval.index import NuriIndex
from retrieval.sync import Syncer
from retrieval.types import Principal

OWN_PACKAGES = ("assistant", "retrieval", "guardrails", "connectors", "configs")
TOP = 15


def _caller() -> Caller:
    return Caller(
        principal=Principal(agency="누리행정청", clearance="internal"), roles=frozenset({"user"}), subject="key:profile"
    )


def _shares(root: Frame | None, total: float) -> list[dict[str, Any]]:
    """Inclusive time per function (each counted once per stack), largest first."""
    seen: dict[str, float] = {}

    def walk(frame: Frame, on_stack: frozenset[str]) -> None:
        name = f"{frame.function} ({_short(frame.file_path_short or frame.file_path or '')}:{frame.line_no})"
        if name not in on_stack:
            seen[name] = seen.get(name, 0.0) + frame.time
            on_stack = on_stack | {name}
        for child in frame.children:
            walk(child, on_stack)

    if root is not None:
        walk(root, frozenset())
    rows = [{"function": k, "seconds": round(v, 3), "share": round(v / total, 3)} for k, v in seen.items()]
    return sorted(rows, key=lambda r: -r["seconds"])


def _short(path: str) -> str:
    for marker in ("site-packages/", "/work/", "/"):
        if marker in path and marker != "/":
            return path.split(marker, 1)[1]
    return path


def _own(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if r["function"].split("(", 1)[1].startswith(OWN_PACKAGES)]


def profile(requests: int, sentence_cache: int | None, work: Path) -> dict[str, Any]:
    settings = load_settings().override(
        index_dir=str(work / "index"),
        data_dir=str(work / "data"),
        llm={"base_urls": ["http://127.0.0.1:9/v1"]},  # never called: answers are extractive
        **({"answer": {"extractive": {"sentence_cache": sentence_cache}}} if sentence_cache is not None else {}),
    )
    with NuriIndex.open(settings.retrieval, work / "index", create=True) as index:
        Syncer(index, settings.connectors, progress=False).sync([settings.resolve(settings.sample_corpus)])
    questions = load_questions()
    who = _caller()
    out: dict[str, Any] = {}
    with NuriService(settings, start_model=False) as svc:
        svc.search("워밍업", caller=who)
        svc.ask("워밍업 질문입니다", caller=who, endpoint=Endpoint.BENCH_ASK)
        for path in ("search", "ask"):
            timings: list[float] = []
            profiler = Profiler(interval=0.001)
            profiler.start()
            for i in range(requests):
                q = f"{questions[i % len(questions)]} ({path} {i})"  # no cache hit across paths
                t0 = time.perf_counter()
                if path == "search":
                    svc.search(q, caller=who, endpoint=Endpoint.BENCH_SEARCH)
                else:
                    svc.ask(q, caller=who, endpoint=Endpoint.BENCH_ASK)
                timings.append(time.perf_counter() - t0)
            session = profiler.stop()
            total = session.duration
            rows = _shares(session.root_frame(), total)
            out[path] = {
                "requests": requests,
                "ms_per_request_p50": round(statistics.median(timings) * 1000, 1),
                "ms_per_request_mean": round(statistics.fmean(timings) * 1000, 1),
                "profiled_s": round(total, 2),
                "top_own": _own(rows)[:TOP],
                "top_all": rows[:TOP],
                "html": profiler.output_html(),
            }
        picker = svc.orchestrator.picker if svc.orchestrator is not None else None
        if picker is not None:
            out["sentence_cache"] = {
                "size": picker.sentence_vectors.size,
                "hits": picker.sentence_vectors.hits,
                "misses": picker.sentence_vectors.misses,
            }
    return out


def markdown(result: dict[str, Any]) -> str:
    m = result["machine"]
    lines = [
        f"# Hot paths ({result['date']}, `{result['command']}`)",
        "",
        f"Machine: {m.get('cpus_usable')} usable CPUs ({m.get('cpu_model')}), load average at start "
        f"{m.get('load_average_at_start')}. Sentence cache: {result.get('sentence_cache')}.",
    ]
    for path in ("search", "ask"):
        r = result[path]
        lines += [
            "",
            f"## {path}: {r['ms_per_request_p50']} ms p50, {r['ms_per_request_mean']} ms mean per request ({r['requests']} requests, "
            f"{r['profiled_s']} s profiled)",
            "",
            "| Own function (and what it calls) | share |",
            "|---|---|",
        ]
        lines += [f"| `{row['function']}` | {row['share']:.0%} |" for row in r["top_own"][:10]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.profile_hot_paths", description=__doc__.split("\n")[0])
    p.add_argument("--requests", type=int, default=40, help="searches and answers profiled (each)")
    p.add_argument("--sentence-cache", type=int, help="answer.extractive.sentence_cache (0 = off: the before)")
    p.add_argument("--json-out", type=Path)
    p.add_argument("--html-out", type=Path, help="pyinstrument's HTML of the answer path")
    args = p.parse_args(argv)
    setup_logging("WARNING")
    started = dt.datetime.now(dt.UTC)
    machine = machine_info()
    with tempfile.TemporaryDirectory(prefix="nuri-profile-") as tmp:
        measured = profile(args.requests, args.sentence_cache, Path(tmp))
    html = measured["ask"].pop("html")
    measured["search"].pop("html")
    result = {
        "benchmark": "profile_hot_paths",
        "date": started.isoformat(timespec="seconds"),
        "command": "python -m benchmarks.profile_hot_paths " + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": machine,
        **measured,
    }
    print(markdown(result))
    if args.json_out:
        args.json_out.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    if args.html_out:
        args.html_out.write_text(html, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
