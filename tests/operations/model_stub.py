"""A small OpenAI-protocol model server on 127.0.0.1 for the operations tests: it streams a fixed
answer over ``/v1/completions`` and ``/v1/chat/completions`` and, like vLLM and llama.cpp's
``llama-server`` when asked with ``stream_options.include_usage``, ends with a chunk carrying the
token counts (:attr:`StubModel.usage`; None: no usage chunk, like the bundled llama-cpp-python
server). With :attr:`StubModel.hold` set it sends the first sentence, then waits for
:attr:`StubModel.go` before the rest (the test decides what happens between the two)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODEL = "gemma3-270m"  # the configured llm.model
FIRST = "재택근무는 주 2일까지 할 수 있습니다 [1].\n"
REST = "부서장의 승인을 받아야 합니다 [1].\n"


class StubModel(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, usage: tuple[int, int] | None = (57, 19), hold: bool = False) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.usage, self.hold = usage, hold
        self.go = threading.Event()
        self.requests: list[dict[str, Any]] = []
        self._thread = threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def __enter__(self) -> StubModel:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.go.set()
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: StubModel

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _event(self, payload: dict[str, Any] | str) -> None:
        data = f"data: {payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)}\n\n"
        raw = data.encode()
        self.wfile.write(f"{len(raw):x}\r\n".encode() + raw + b"\r\n")
        self.wfile.flush()

    def do_GET(self) -> None:
        body = json.dumps({"object": "list", "data": [{"id": MODEL, "object": "model"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append(request)
        chat = self.path.endswith("/chat/completions")
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def chunk(text: str, finish: str | None = None) -> dict[str, Any]:
            choice: dict[str, Any] = {"index": 0, "finish_reason": finish}
            choice.update({"delta": {"content": text}} if chat else {"text": text})
            kind = "chat.completion.chunk" if chat else "text_completion"
            return {"id": "stub", "object": kind, "created": 0, "model": MODEL, "choices": [choice]}

        self._event(chunk(FIRST))
        if self.server.hold:
            self.server.go.wait(timeout=60)
        self._event(chunk(REST, "stop"))
        wants_usage = (request.get("stream_options") or {}).get("include_usage")
        if self.server.usage is not None and wants_usage:
            prompt, completion = self.server.usage
            usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
            self._event({**chunk(""), "choices": [], "usage": usage})
        self._event("[DONE]")
        self.wfile.write(b"0\r\n\r\n")
