"""Settings of the answering stage: how Nuri talks to its generative model (``llm:``) and how it
answers (``answer:``). The defaults are the embedded profile (the bundled Gemma 3 270M base
model through llama.cpp); ``configs/production.yaml`` changes what production changes."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

# Fitted by `python -m fitting.calibrate_answerability` on every development family of questions
# (the statute QA dev files, evals/data/unanswerable_ko.jsonl and the corpus-made families of
# evals/data/refusal_families.jsonl; the locked families are never read), with the bundled encoder
# (--max-false-refusal 0.06; docs/results.md has the leave-one-family-out figures).
_ANSWERABILITY_WEIGHTS = {
    "relevance": -43.5182,
    "sentence_cosine": -14.9981,
    "sentence_lexical": 1.5028,
    "coverage": 2.1291,
    "coverage_first": -2.0475,
    "missing_values": 0.6851,
    "subject_missing": 5.3942,
    "compound_missing": -0.1079,
    "defers": 3.6967,
    "defers_near": 0.6664,
    "law_absent": 0.8669,
}
#: The features the answerability model reads (``assistant.answerability.AnswerabilityFeatures``).
ANSWERABILITY_FEATURES = tuple(_ANSWERABILITY_WEIGHTS)
_ANSWERABILITY_BIAS = 50.2929
_ANSWERABILITY_THRESHOLD = 0.6151


class LLMSettings(BaseModel):
    """How Nuri talks to its generative model: the OpenAI-compatible API only."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_urls: list[str] = Field(
        default_factory=list,
        description="OpenAI-compatible endpoints (…/v1), JSON list: replicas of one model, taken in turn "
        "(round-robin); a failing one is passed over for `cooldown_s` and the request fails over to the next; "
        "empty = start the bundled model server (`model_server`) and use it.",
    )
    model: str = Field("gemma3-270m", description="Model name as the server serves it.")
    api_key: str = Field("none", description="Bearer token for the endpoints.")
    mode: Literal["chat", "completion"] = Field(
        "completion",
        description="`chat` = /v1/chat/completions with system+user prompts (instruction models); "
        "`completion` = /v1/completions with a few-shot prompt (base models such as the bundled Gemma 3 270M).",
    )
    connect_timeout_s: float = Field(3.0, gt=0, description="Seconds to connect to an endpoint.")
    first_token_timeout_s: float = Field(
        60.0,
        gt=0,
        description="Seconds from sending a request to the first streamed chunk (queueing and prompt "
        "processing); a replica silent that long is given up and the next one tried.",
    )
    timeout_s: float = Field(
        120.0, gt=0, description="Seconds between two streamed chunks; a stream stalled longer is given up."
    )
    deadline_s: float = Field(
        300.0,
        gt=0,
        description="Seconds a whole model request may take, retries and generation included; past it the "
        "request fails (503) instead of waiting on.",
    )
    max_retries: int = Field(
        1,
        ge=0,
        description="Retry rounds after every endpoint failed once (connection error, timeout, 408/429/5xx, "
        "stream broken before any text): each endpoint is tried at most `max_retries`+1 times per request.",
    )
    backoff_s: float = Field(
        0.5, ge=0, description="Pause before the first retry round; doubles each round, ±50% jitter."
    )
    cooldown_s: float = Field(
        5.0,
        ge=0,
        description="Seconds a failed endpoint is passed over while others are healthy; doubles with each "
        "further failure (up to `cooldown_max_s`); a success clears it.",
    )
    cooldown_max_s: float = Field(120.0, ge=0, description="Longest cooldown of a failing endpoint, seconds.")
    health_timeout_s: float = Field(
        2.0, gt=0, description="Seconds a health probe (`GET /v1/models`, for /readyz) waits per endpoint."
    )
    max_tokens: int = Field(200, gt=0, description="Longest answer, in model tokens.")
    temperature: float = Field(0.0, ge=0, description="Sampling temperature (0 = greedy).")
    frequency_penalty: float = Field(
        0.0, description=">0 makes the model avoid repeating tokens (a small model then also avoids copying numbers)."
    )
    stop: list[str] = Field(default_factory=list, description="Extra stop sequences.")
    extra_body: dict[str, object] = Field(
        default_factory=dict, description="Server-specific request parameters, e.g. `{repeat_penalty: 1.1}`."
    )


class ExtractiveSettings(BaseModel):
    """Quoted answers (``answer.generation: extractive``, ``assistant.extractive``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_sentences: int = Field(
        2,
        ge=1,
        le=10,
        description="Answering sentences quoted at most (each with the provisos and the list that belong to it).",
    )
    keep_ratio: float = Field(
        0.97, ge=0, le=1, description="Further sentences are quoted when they score at least this share of the best."
    )
    with_qualifiers: bool = Field(
        True,
        description="Quote a sentence with the provisos and conditions that qualify it (다만 …, 단, …, 이 경우 …), "
        "and a proviso with the sentence it qualifies.",
    )
    max_list_chars: int = Field(
        600,
        ge=0,
        description="A list a quoted sentence introduces (다음 각 호 …) is quoted whole, in order, up to this many "
        "characters; a longer one by its best items (`max_list_items`).",
    )
    max_list_items: int = Field(5, ge=1, description="Items quoted, in order, of a list longer than `max_list_chars`.")
    lexical_weight: float = Field(
        0.15, ge=0, description="Weight of the share of the question's content terms a sentence holds."
    )
    value_weight: float = Field(
        0.05, ge=0, description="Added when the question asks for a value (amount, period, date…) the sentence states."
    )
    rank_penalty: float = Field(0.01, ge=0, description="Score taken off per rank of the sentence's passage.")
    max_sentence_chars: int = Field(400, gt=20, description="Longer sentences are cut (with …).")
    min_relevance: float = Field(
        0.0, description="Refuse when the best sentence's dense similarity to the question is below this."
    )
    sentence_cache: int = Field(
        50_000,
        ge=0,
        description="Sentence vectors kept in memory (about 1.6 KB each with a 384-dim encoder); "
        "a passage retrieved again is not encoded again. 0 = off.",
    )


class AnswerabilitySettings(BaseModel):
    """The answerability model (``assistant.answerability``): refuse when the passages do not
    answer the question. Weights are fitted by ``python -m fitting.calibrate_answerability``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = Field(True, description="Refuse when the model says the passages do not answer the question.")
    weights: dict[str, float] = Field(
        default_factory=lambda: dict(_ANSWERABILITY_WEIGHTS),
        description="Logistic weight per feature (relevance, sentence_cosine, sentence_lexical, coverage, "
        "coverage_first, missing_values, subject_missing, compound_missing, defers, defers_near, law_absent).",
    )
    bias: float = Field(_ANSWERABILITY_BIAS, description="Logistic intercept.")

    @field_validator("weights")
    @classmethod
    def _known_features(cls, weights: dict[str, float]) -> dict[str, float]:
        unknown = set(weights) - set(ANSWERABILITY_FEATURES)
        if unknown:
            raise ValueError(f"unknown answerability features: {', '.join(sorted(unknown))}")
        return weights

    threshold: float = Field(
        _ANSWERABILITY_THRESHOLD,
        ge=0,
        le=1,
        description="Refuse when P(not answerable) is above this (chosen to refuse at most 6% of the "
        "answerable development questions).",
    )


class AnswerSettings(BaseModel):
    """The orchestrator: retrieval for answers, refusal, prompts and citations."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    generation: Literal["model", "extractive"] = Field(
        "extractive",
        description="`model`: the model writes the answer from the passages; `extractive`: the passages' "
        "sentences that answer the question are quoted with their citations (no model call: for "
        "small base models that cannot write a faithful answer).",
    )
    extractive: ExtractiveSettings = ExtractiveSettings()
    answerability: AnswerabilitySettings = AnswerabilitySettings()
    check_asked_values: bool = Field(
        False,
        description="Refuse whenever the question asks for an amount, period, age or count and no passage "
        "given to the answer states one (a hard rule; the answerability model weighs the same signal).",
    )
    prompt_dir: str | None = Field(
        None, description="Prompt templates folder; empty = the templates shipped in `configs/prompts`."
    )
    top_k: int = Field(3, gt=0, le=20, description="Passages given to the model.")
    min_relevance: float = Field(
        0.855,
        description="Refuse when the best passage's dense cosine similarity is below this; calibrated "
        "for the configured embedder by `make calibrate`.",
    )
    passage_min_relevance: float = Field(0.82, description="Passages below this similarity are not shown to the model.")
    max_passage_chars: int = Field(600, gt=0, description="Longer passages are cut for the prompt.")
    max_question_chars: int = Field(
        2000,
        gt=0,
        description="Longer questions are refused (400 `invalid_question`); at most `search.max_query_chars`.",
    )
    max_turn_chars: int = Field(
        8000, gt=0, description="Longer earlier messages of a conversation are refused (400 `invalid_history`)."
    )
    max_history_turns: int = Field(6, ge=0, description="Earlier turns considered for follow-ups.")
    rewrite: Literal["llm", "concat", "off"] = Field(
        "concat",
        description="Follow-up questions: `llm` = the model rewrites them into standalone questions; "
        "`concat` = the previous question is added to the retrieval query (small models); `off`.",
    )
    attribute_uncited: bool = Field(
        True,
        description="A sentence left without a marker gets the marker of the passage it overlaps most "
        "(at least `attribution_min_overlap`).",
    )
    check_sentences: bool = Field(
        True,
        description="Send the answer sentence by sentence after removing echoed prompt markup and sentences "
        "that name an article (제N조) no passage names; an article named in another passage cites it.",
    )
    attribution_min_overlap: float = Field(
        0.5, ge=0, le=1, description="Share of a sentence's character bigrams found in the passage."
    )


class CalibrationSettings(BaseModel):
    """Which values fitted on embedder vectors to use (``assistant.embedder_fit``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str | None = Field(
        None,
        description="An embedder fit file (`python -m fitting.fit_embedder --out PATH`) for the configured "
        "embedder; empty = the shipped values, fitted for the bundled multilingual-e5-small.",
    )
    on_mismatch: Literal["safe", "refuse"] = Field(
        "safe",
        description="When no fitted values match the configured embedder: `safe` = run in safe mode "
        "(injection and policy by rules, answerability by the passage checks, no similarity floors; "
        "`/readyz` lists it under `degraded`); `refuse` = do not start.",
    )


class DocumentSettings(BaseModel):
    """Documents added through the API and the chat's admin page (``documents:``): where uploaded
    files are kept, how large they may be, and how much surrounding text a passage view shows."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    upload_dir: Path = Field(
        Path("data/uploads"),
        description="Where uploaded files are kept (one folder per agency), and indexed from: the originals a "
        "citation's download returns. Relative to `home`.",
    )
    max_upload_bytes: int = Field(
        50 * 1024 * 1024, gt=0, description="Largest file one upload may carry (413 `upload_too_large`)."
    )
    max_files_per_upload: int = Field(20, gt=0, description="Files one upload request may carry.")
    upload_timeout_s: float = Field(
        300.0, gt=0, description="Seconds an upload's body may take to arrive (other requests: `api.body_timeout_s`)."
    )
    context_chunks: int = Field(
        2, ge=0, le=20, description="Chunks before and after a passage that `GET /v1/passages/{id}` returns with it."
    )
