"""How long an uploaded document takes to become searchable, through the real API.

    python -m benchmarks.upload_to_searchable [--pages 20] [--target-page 17] [--json FILE]

Set-up: a new, empty index (Qdrant Edge) in a temporary folder; the API (``build_asgi``: the
body limits, the caller check, admission, the routes) served by uvicorn on a free port of
127.0.0.1 in this process; answers quoted from the passages (``answer.generation: extractive``),
so no model server runs; an ``admin`` API key; the rate limit off (the job is polled every
0.05 s). A PDF of ``--pages`` pages of Korean text is made
with reportlab (its built-in CID font ``HYSMyeongJo-Medium``; each page a heading and 14 lines of
distinct sentences), then, timed from just before the request:

1. ``POST /v1/documents`` (multipart) answers 202 with the job (``upload_response_seconds``);
2. ``GET /v1/documents/jobs/{id}`` every 0.05 s until the job is ``done``
   (``seconds_to_job_done``: saved, parsed, chunked, encoded, written and committed);
3. ``POST /v1/search`` for a sentence of page ``--target-page`` until a hit of the uploaded
   document holds it (``seconds_to_first_search_hit``).

Prints one JSON object: pages, bytes, the three times, the document's chunk count and the
machine. The encoder and Kiwi are loaded before the clock starts (the service is opened and one
search is run first): the figure is an upload's, not a cold start's.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from benchmarks.machine import machine_info

FONT = "HYSMyeongJo-Medium"
UNREACHABLE = "http://127.0.0.1:9/v1"  # answers are quoted: the model is never called
SUBJECTS = ["민원", "예산", "인사", "감사", "정보공개", "보안", "출장", "회계", "계약", "교육"]


def target_sentence(page: int) -> str:
    return f"{page}쪽 확인 문장: 청사 북문 자전거 보관소는 매주 화요일 오전 아홉 시에 정비한다."


def page_lines(page: int, target_page: int) -> list[str]:
    """A heading and 14 distinct lines of Korean administrative prose for one page."""
    subject = SUBJECTS[page % len(SUBJECTS)]
    lines = [f"제{page}장 {subject} 업무 처리 기준"]
    for i in range(1, 15):
        lines.append(f"{page}-{i}. {subject} 담당자는 접수한 건을 {i + 2}일 안에 검토하고 결과를 부서장에게 보고한다.")
    if page == target_page:
        lines[7] = target_sentence(page)
    return lines


def korean_pdf(pages: int, target_page: int) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=A4)
    for page in range(1, pages + 1):
        c.setFont(FONT, 14)
        lines = page_lines(page, target_page)
        c.drawString(60, 780, lines[0])
        c.setFont(FONT, 10)
        for i, line in enumerate(lines[1:]):
            c.drawString(60, 750 - 22 * i, line)
        c.showPage()
    c.save()
    return out.getvalue()


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """``app`` under uvicorn in a thread on a free port of 127.0.0.1; yields the base URL."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def run(pages: int, target_page: int, work: Path) -> dict[str, Any]:
    from assistant.http.app import build_asgi
    from assistant.service import NuriService
    from configs.settings import load_settings
    from retrieval.index import NuriIndex

    settings = load_settings(index_dir=work / "index", data_dir=work / "data").override(
        llm={"base_urls": [UNREACHABLE]},
        answer={"generation": "extractive"},
        api={"auth": {"rate_limit": {"enabled": False}}},  # the job is polled every 0.05 s
        ui={"enabled": False},
        documents={"upload_dir": str(work / "uploads")},
    )
    pdf = korean_pdf(pages, target_page)
    index = NuriIndex.open(settings.retrieval, settings.index_dir, create=True)
    try:
        with (
            NuriService(settings, index=index, start_model=False) as service,
            serving(build_asgi(settings, service)) as url,
        ):
            assert service.keys is not None
            _, key = service.keys.create("벤치부처", "internal", {"admin"}, label="benchmark")
            client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=300)
            client.post("/v1/search", json={"query": "준비 검색"}).raise_for_status()  # encoder and Kiwi warm
            t0 = time.perf_counter()
            sent = client.post("/v1/documents", files=[("files", ("업무 처리 기준.pdf", pdf, "application/pdf"))])
            upload_s = time.perf_counter() - t0
            if sent.status_code != 202:
                raise SystemExit(f"upload failed: {sent.status_code} {sent.text}")
            job = sent.json()
            while job["state"] != "done":
                time.sleep(0.05)
                polled = client.get(f"/v1/documents/jobs/{job['job_id']}")
                polled.raise_for_status()
                job = polled.json()
            done_s = time.perf_counter() - t0
            result = job["files"][0]
            if result["state"] != "done":
                raise SystemExit(f"indexing failed: {result}")
            query = target_sentence(target_page)
            while True:
                hits = client.post("/v1/search", json={"query": query, "top_k": 5}).json()
                if any(h["doc_id"] == result["doc_id"] and "자전거 보관소" in h["text"] for h in hits):
                    break
                if time.perf_counter() - t0 > 600:
                    raise SystemExit("the page's sentence was never found")
            hit_s = time.perf_counter() - t0
            client.close()
    finally:
        index.close()
    return {
        "pages": pages,
        "bytes": len(pdf),
        "chunks": result["chunks"],
        "upload_response_seconds": round(upload_s, 3),
        "seconds_to_job_done": round(done_s, 3),
        "seconds_to_first_search_hit": round(hit_s, 3),
        "indexing_seconds_reported": result["seconds"],
        "target_page": target_page,
        "machine": machine_info(),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.upload_to_searchable", description=__doc__.split("\n\n")[0])
    p.add_argument("--pages", type=int, default=20)
    p.add_argument("--target-page", type=int, default=17, help="the page whose sentence is searched for")
    p.add_argument("--json", type=Path, help="also write the figures here")
    args = p.parse_args(argv)
    if not 1 <= args.target_page <= args.pages:
        p.error("--target-page must be one of the pages")
    work = Path(tempfile.mkdtemp(prefix="nuri-bench-upload-"))
    try:
        result = run(args.pages, args.target_page, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
