"""The production shape on one machine, as real processes (tests/stack/test_production_stack.py).

What runs: the production profile (``NURI_PROFILE=production``) with its endpoints pointed at
local processes —

- two API processes (``nuri serve``) behind nginx (Debian's package; ``make test`` installs it
  where missing), round robin for the API and cookie-hash affinity for the chat, as
  ``deploy/compose/nginx.conf`` routes them;
- vLLM on CPU serving the answer model, two replicas (``llm.base_urls``);
- a remote embeddings server whose vectors are 1024-d (tests/stack/embed_server.py: the bundled
  encoder through a fixed projection, over the OpenAI protocol), so every value fitted on the
  bundled 384-d encoder meets another embedder;
- the Qdrant backend through qdrant-client's **local mode** (``index.local_path``): the stand-in
  for a Qdrant server, which does not install here. Local mode locks its folder to one process,
  so each replica gets its own copy of the same index: what the replicas test is sessions,
  shutdown and failover, not a shared index;
- PostgreSQL (a throw-away cluster) for the API keys, the chat sign-ins, the audit trail and the
  eval history; gateway-signed identities and API keys.

The reranker of the production profile is off: no cross-encoder model is installed here.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from assistant.modelserver.server import free_port

ROOT = Path(__file__).resolve().parents[2]
GATEWAY_SECRET = "stack-gateway-secret-0123456789abcdef"
MODEL = "gemma3-270m"


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found is None:
        raise RuntimeError("nginx not found: `make nginx` installs Debian's package")
    return found


def wait_for(
    url: str,
    ok: Any = lambda r: r.status_code == 200,
    timeout: float = 120,
    proc: Proc | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """Poll ``url`` until ``ok(response)``; fail with the last answer (and the process's log)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        if proc is not None and proc.popen.poll() is not None:
            raise RuntimeError(f"{proc.name} exited ({proc.popen.returncode}):\n{proc.tail()}")
        try:
            r = httpx.get(url, timeout=10, headers=headers)
            if ok(r):
                return r
            last = f"{r.status_code} {r.text[:500]}"
        except httpx.HTTPError as e:
            last = repr(e)
        time.sleep(0.5)
    raise RuntimeError(f"{url} not as expected after {timeout} s: {last}\n{proc.tail() if proc else ''}")


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def tail(self, n: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-n:] if self.log.exists() else ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 90) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=30)
        return int(self.popen.returncode)


def start(name: str, cmd: list[str], env: dict[str, str], logs: Path) -> Proc:
    log = logs / f"{name}.log"
    handle = log.open("ab")
    popen = subprocess.Popen(cmd, env=env, stdout=handle, stderr=subprocess.STDOUT, cwd=ROOT)
    handle.close()
    return Proc(name, popen, log)


def sse_events(response: httpx.Response) -> Iterator[dict]:
    """The JSON events of a server-sent event stream (``/v1/ask`` with ``stream``)."""
    for line in response.iter_lines():
        if line.startswith("data: ") and line != "data: [DONE]":
            yield json.loads(line[6:])


def gateway_headers(method: str, path: str, subject: str = "kim.civil", agency: str = "누리행정청",
                    clearance: str = "internal", roles: str = "user", body: bytes = b"",
                    host: str = "127.0.0.1") -> dict[str, str]:  # fmt: skip
    """The headers an agency SSO gateway adds, signed as the gateway signs them (over the body,
    which the caller must send exactly as given: ``content=``, not ``json=``)."""
    from urllib.parse import quote

    from assistant.http.auth import body_sha256, gateway_signature

    ts, agency_q, digest = str(int(time.time())), quote(agency), body_sha256(body)
    signature = gateway_signature(
        GATEWAY_SECRET, ts, subject, agency_q, clearance, roles, method, path, host=host, content_sha256=digest
    )
    return {
        "X-Nuri-Subject": subject,
        "X-Nuri-Agency": agency_q,
        "X-Nuri-Clearance": clearance,
        "X-Nuri-Roles": roles,
        "X-Nuri-Timestamp": ts,
        "X-Nuri-Content-SHA256": digest,
        "X-Nuri-Signature": signature,
        "Content-Type": "application/json",
    }


NGINX_CONF = """
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/nginx-error.log warn;
{user}
events {{ worker_connections 512; }}
http {{
  access_log {root}/nginx-access.log;
  client_body_temp_path {root}/ngx-body;
  proxy_temp_path {root}/ngx-proxy;
  fastcgi_temp_path {root}/ngx-fastcgi;
  uwsgi_temp_path {root}/ngx-uwsgi;
  scgi_temp_path {root}/ngx-scgi;
  # the chat: the same browser session to the same replica (Gradio's event streams are per
  # process); its sign-in is known to every replica (shared store), so failover keeps it
  map $http_cookie $nuri_affinity {{
    "~access-token-unsecure-nuri=(?<t>[^;]+)" $t;
    default $remote_addr;
  }}
  upstream nuri_api {{
    server 127.0.0.1:{a} max_fails=1 fail_timeout=10s;
    server 127.0.0.1:{b} max_fails=1 fail_timeout=10s;
    keepalive 16;
  }}
  upstream nuri_ui {{
    hash $nuri_affinity consistent;
    server 127.0.0.1:{a} max_fails=1 fail_timeout=10s;
    server 127.0.0.1:{b} max_fails=1 fail_timeout=10s;
  }}
  server {{
    listen 127.0.0.1:{port};
    client_max_body_size 1m;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host $host;
    proxy_buffering off;
    proxy_read_timeout 300s;
    proxy_connect_timeout 2s;
    # a replica that is down or draining (503 shutting_down) is passed over before anything
    # was sent to the client; a stream already under way cannot move
    proxy_next_upstream error timeout http_502 http_503 non_idempotent;
    proxy_next_upstream_tries 2;
    add_header X-Nuri-Upstream $upstream_addr always;
    location /ui/ {{ proxy_pass http://nuri_ui; }}
    location / {{ proxy_pass http://nuri_api; }}
  }}
}}
"""


@dataclass
class Stack:
    root: Path
    logs: Path
    pg_url: str
    embed_port: int
    llm_urls: list[str]
    index_master: Path
    pg: Any = None  # conftest.PostgresServer
    vllms: list[Any] = field(default_factory=list)  # the vLLM ModelServers of llm_urls, in order
    api_ports: dict[str, int] = field(default_factory=dict)
    api_env: dict[str, dict[str, str]] = field(default_factory=dict)
    apis: dict[str, Proc] = field(default_factory=dict)
    embed: Proc | None = None
    nginx: Proc | None = None
    nginx_port: int = 0
    key: str = ""
    admin_key: str = ""  # /readyz tells its reasons and endpoints only to an admin

    # -- environment ---------------------------------------------------------------------------
    def env(self, replica: str | None = None, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("NURI_")}
        folder = self.root / (f"replica-{replica}" if replica else "ops")
        env.update(
            {
                "NURI_PROFILE": "production",
                "HF_HUB_OFFLINE": "1",
                "TRANSFORMERS_OFFLINE": "1",
                "NURI_HOME": str(folder),
                "NURI_DATA_DIR": str(folder / "data"),
                "NURI_INDEX_DIR": str(folder / "index"),
                "NURI_INDEX__LOCAL_PATH": str(folder / "qdrant" if replica else self.index_master),
                "NURI_EMBEDDER__BASE_URL": f"http://127.0.0.1:{self.embed_port}/v1",
                "NURI_EMBEDDER__CONCURRENCY": "2",
                "NURI_RERANK__ENABLED": "false",  # no cross-encoder model installed here
                "NURI_LLM__BASE_URLS": json.dumps(self.llm_urls),
                "NURI_LLM__MODEL": MODEL,
                "NURI_LLM__MODE": "completion",  # the small CPU model is a base model
                "NURI_LLM__MAX_TOKENS": "40",
                "NURI_LLM__FIRST_TOKEN_TIMEOUT_S": "120",  # two vLLMs share 2 cores here
                "NURI_LLM__TIMEOUT_S": "120",
                "NURI_ANSWER__REWRITE": "concat",
                "NURI_KEYS__URL": self.pg_url,
                "NURI_AUDIT__URL": self.pg_url,
                "NURI_EVAL__HISTORY_URL": self.pg_url,
                "NURI_API__AUTH__GATEWAY__ENABLED": "true",
                "NURI_API__AUTH__GATEWAY__SECRET": GATEWAY_SECRET,
                "NURI_KEYS__PEPPER": "stack-pepper-0123456789abcdefghijklmnop",
                "NURI_AUDIT__CHAIN_KEY": "stack-audit-chain-key-0123456789abcdefghijklmnop",
                "NURI_API__SHUTDOWN_GRACE_S": "90",
                "NURI_API__AUTH__RATE_LIMIT__ENABLED": "false",
            }
        )
        env.update(extra)
        return env

    def nuri(self, *args: str, timeout: float = 600, **extra: str) -> subprocess.CompletedProcess[str]:
        return self.run(["-m", "assistant.cli", *args], timeout=timeout, **extra)

    def run(self, args: list[str], timeout: float = 600, **extra: str) -> subprocess.CompletedProcess[str]:
        """``python ARGS`` from the repository, with the operators' environment (``ops``)."""
        return subprocess.run(
            [sys.executable, *args],
            env=self.env(**extra), cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip

    # -- processes -----------------------------------------------------------------------------
    def start_embedder(self) -> None:
        self.embed = start(
            "embed",
            [
                sys.executable,
                str(ROOT / "tests/stack/embed_server.py"),
                "--port",
                str(self.embed_port),
                "--dim",
                "1024",
            ],
            {k: v for k, v in os.environ.items() if not k.startswith("NURI_")},
            self.logs,
        )
        wait_for(f"http://127.0.0.1:{self.embed_port}/v1/models", timeout=120, proc=self.embed)

    def stop_embedder(self) -> None:
        if self.embed is not None:
            self.embed.stop()
            self.embed = None

    def copy_index(self, replica: str) -> None:
        """Each replica its own copy of the index (local mode locks its folder to one process)."""
        target = self.root / f"replica-{replica}" / "qdrant"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(self.index_master, target)

    def start_api(self, replica: str, **extra: str) -> Proc:
        """Start (or restart, with the environment it was first given) one API replica."""
        port = self.api_ports.setdefault(replica, free_port("127.0.0.1"))
        extra = self.api_env.setdefault(replica, extra)
        proc = start(
            f"api-{replica}",
            [sys.executable, "-m", "assistant.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            self.env(replica, **extra),
            self.logs,
        )
        self.apis[replica] = proc
        return proc

    def api(self, replica: str) -> str:
        return f"http://127.0.0.1:{self.api_ports[replica]}"

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_key}"}

    def wait_ready(self, replica: str, timeout: float = 180) -> dict[str, Any]:
        r = wait_for(f"{self.api(replica)}/readyz", timeout=timeout, proc=self.apis[replica], headers=self.admin)
        return dict(r.json())

    def start_nginx(self) -> None:
        self.nginx_port = free_port("127.0.0.1")
        conf = self.root / "nginx.conf"
        user = "user root;" if os.geteuid() == 0 else ""
        conf.write_text(
            NGINX_CONF.format(
                root=self.root, user=user, a=self.api_ports["a"], b=self.api_ports["b"], port=self.nginx_port
            ),
            encoding="utf-8",
        )
        self.nginx = start(
            "nginx",
            [nginx_binary(), "-p", str(self.root), "-c", str(conf), "-g", "daemon off;"],
            dict(os.environ),
            self.logs,
        )
        wait_for(f"{self.url}/healthz", timeout=30, proc=self.nginx)

    @contextmanager
    def models_paused(self) -> Iterator[None]:
        """Every vLLM replica stopped (SIGSTOP to its process group) and resumed on exit: an
        answer asked meanwhile is certainly still under way, whatever the machine's speed."""
        for server in self.vllms:
            os.killpg(server.proc.pid, signal.SIGSTOP)
        try:
            yield
        finally:
            for server in self.vllms:
                os.killpg(server.proc.pid, signal.SIGCONT)

    def stream_in_thread(self, replica: str, question: str) -> tuple[threading.Thread, list[dict], list[BaseException]]:
        """A streamed ``/v1/ask`` to one replica in a thread: (thread, its events, the HTTP errors it met)."""
        events: list[dict] = []
        failures: list[BaseException] = []

        def run() -> None:
            try:
                with httpx.stream("POST", f"{self.api(replica)}/v1/ask", json={"question": question, "stream": True},
                                  headers={"Authorization": f"Bearer {self.key}"}, timeout=300) as r:  # fmt: skip
                    assert r.status_code == 200
                    events.extend(sse_events(r))
            except httpx.HTTPError as e:
                failures.append(e)

        thread = threading.Thread(target=run)
        thread.start()
        return thread, events, failures

    @property
    def fit_file(self) -> Path:
        return self.root / "ops" / "calibration" / "embedder-fit.json"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.nginx_port}"

    def stop_all(self) -> None:
        for proc in [*self.apis.values(), self.nginx, self.embed]:
            if proc is not None:
                proc.stop(signal.SIGKILL if proc.name.startswith("api") else signal.SIGTERM, timeout=30)
