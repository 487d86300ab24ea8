"""`nuri index create` / `nuri index info` and the collection layout of the server backend.

No Qdrant server binary is available where these tests run: the server backend is driven through
qdrant-client's local mode (in memory, or on disk for the command line), which speaks the same
client API. Local mode accepts the cluster parameters (shard_number, replication_factor,
write_consistency_factor, on_disk_payload), the HNSW parameters and the payload indexes but
stores none of them (its collection config reports them as null / its own defaults, and no
payload schema): what is asserted about them here is the request Nuri sends
(``collection_params``, ``KEYWORD_FIELDS``) and what local mode does keep (the dense and sparse
vectors). A real cluster applying them is not tested here (deploy/README.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from qdrant_client import QdrantClient, models

from retrieval.errors import IndexUnavailableError
from retrieval.payload import KEYWORD_FIELDS
from retrieval.qdrant_store import (
    QdrantStore,
    collection_params,
    describe_collection,
    ensure_collection,
)
from retrieval.settings import IndexSettings
from retrieval.store import DENSE, SPARSE

CLUSTER = IndexSettings(
    backend="qdrant",
    url="http://qdrant.test:6333",
    collection="nuri_cluster",
    shard_number=6,
    replication_factor=2,
    write_consistency_factor=1,
    on_disk_payload=True,
)


def test_collection_params_carry_the_cluster_layout() -> None:
    assert {"doc_id", "access", "agency", "allowed_agencies"} <= set(KEYWORD_FIELDS)  # the filters' fields
    params = collection_params(CLUSTER, 384)
    assert params["shard_number"] == 6
    assert params["replication_factor"] == 2
    assert params["write_consistency_factor"] == 1
    assert params["on_disk_payload"] is True
    assert params["vectors_config"][DENSE].size == 384
    assert params["vectors_config"][DENSE].distance == models.Distance.COSINE
    assert params["sparse_vectors_config"][SPARSE].modifier == models.Modifier.IDF
    assert params["hnsw_config"].m == CLUSTER.hnsw_m
    # Unset cluster settings are not sent: the server's defaults apply.
    plain = collection_params(IndexSettings(backend="qdrant"), 384)
    assert not {"shard_number", "replication_factor", "write_consistency_factor", "on_disk_payload"} & set(plain)


def test_production_profile_sets_the_cluster_layout(monkeypatch: pytest.MonkeyPatch) -> None:
    from configs.settings import load_settings

    monkeypatch.setenv("NURI_PROFILE", "production")
    s = load_settings().index
    assert (s.shard_number, s.replication_factor, s.write_consistency_factor) == (6, 2, 1)
    assert s.write_consistency_factor <= s.replication_factor


def test_settings_refuse_a_zero_layout() -> None:
    with pytest.raises(ValueError):
        IndexSettings(shard_number=0)


def test_ensure_collection_creates_once_then_accepts_and_refuses_other_dims() -> None:
    client = QdrantClient(":memory:")
    assert ensure_collection(client, CLUSTER, 8) is True
    info = client.get_collection(CLUSTER.collection)
    assert info.config.params.vectors[DENSE].size == 8  # type: ignore[index]
    assert SPARSE in (info.config.params.sparse_vectors or {})
    # Local mode accepted the cluster layout and the payload indexes but keeps none of them (a
    # server stores 6 / 2 / 1 and a keyword index per KEYWORD_FIELDS entry).
    assert info.payload_schema == {}
    assert info.config.params.shard_number is None
    assert info.config.params.replication_factor is None

    assert ensure_collection(client, CLUSTER, 8) is False  # idempotent: nothing changes
    assert client.get_collection(CLUSTER.collection).points_count == 0
    with pytest.raises(IndexUnavailableError, match="임베딩 차원이 다릅니다 \\(8차원, 설정된 임베딩: 16차원\\)"):
        ensure_collection(client, CLUSTER, 16)

    described = describe_collection(client, CLUSTER)
    assert described["dim"] == 8 and described["points"] == 0
    assert described["payload_indexes"] == []  # local mode again; a server lists KEYWORD_FIELDS


def test_a_created_collection_is_what_the_store_opens() -> None:
    client = QdrantClient(":memory:")
    ensure_collection(client, CLUSTER, 8)
    store = QdrantStore(CLUSTER, dim=None, create=False, client=client)
    assert store.count() == 0
    with pytest.raises(IndexUnavailableError, match="nuri index create"):
        QdrantStore(CLUSTER.model_copy(update={"collection": "missing"}), dim=None, create=False, client=client)


@pytest.fixture()
def local_qdrant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`nuri index` against qdrant-client's on-disk local mode (a new client per command, as
    against a server), configured through the environment as in a deployment."""
    import assistant.index_cli

    folder = tmp_path / "qdrant"
    monkeypatch.setattr(assistant.index_cli, "connect", lambda settings: QdrantClient(path=str(folder)))
    for key, value in {
        "BACKEND": "qdrant",
        "URL": "http://qdrant.test:6333",
        "COLLECTION": "nuri_cli",
        "SHARD_NUMBER": "6",
        "REPLICATION_FACTOR": "2",
        "WRITE_CONSISTENCY_FACTOR": "1",
    }.items():
        monkeypatch.setenv(f"NURI_INDEX__{key}", value)
    return folder


def test_index_create_command_is_idempotent_and_refuses_another_dim(
    local_qdrant: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from assistant.cli import main

    assert main(["index", "create", "--dim", "8"]) == 0
    out = capsys.readouterr().out
    assert "nuri_cli을(를) 만들었습니다: 8차원, shard_number=6, replication_factor=2, write_consistency_factor=1" in out

    assert main(["index", "create", "--dim", "8", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "collection": "nuri_cli",
        "created": False,
        "dim": 8,
        "shard_number": 6,
        "replication_factor": 2,
        "write_consistency_factor": 1,
        "on_disk_payload": None,
    }

    assert main(["index", "create", "--dim", "16"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("nuri: 오류: Qdrant 컬렉션 nuri_cli이(가) 이미 있지만 임베딩 차원이 다릅니다")
    assert len(err.splitlines()) == 1

    assert main(["index", "info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["dim"] == 8 and info["points"] == 0 and info["collection"] == "nuri_cli"
    assert main(["index", "info"]) == 0
    assert "임베딩 차원: 8" in capsys.readouterr().out


def test_index_create_uses_the_configured_embedder_without_dim(
    local_qdrant: Path, embedder, capsys: pytest.CaptureFixture[str]
) -> None:
    from assistant.cli import main

    assert main(["index", "create", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["dim"] == embedder.dim


def test_index_commands_on_the_edge_backend_say_there_is_nothing_to_do(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from assistant.cli import main

    monkeypatch.setenv("NURI_INDEX__BACKEND", "edge")
    assert main(["index", "create"]) == 0
    assert "첫 `nuri ingest` 때" in capsys.readouterr().out
