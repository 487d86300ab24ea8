"""Ingest at scale: the pipelined sync (parse -> encode -> upsert threads) writes exactly what
the serial one writes, stops cleanly when any stage fails, and several workers sharding one
folder into one Qdrant collection write every chunk once."""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import write_md
from qdrant_client import QdrantClient

from retrieval.index import NuriIndex
from retrieval.qdrant_store import QdrantStore
from retrieval.sync import Shard, Syncer, shard_of

TOPICS = ["재택근무", "출장 여비", "정보공개", "보안 점검", "민원 응대", "교육 훈련"]


def _corpus(folder: Path, n: int) -> list[Path]:
    return [
        write_md(
            folder,
            f"doc{i}.md",
            f"{TOPICS[i % len(TOPICS)]} 지침 {i}",
            {
                "목적": f"이 지침은 {TOPICS[i % len(TOPICS)]} 업무의 기준을 정한다.",
                "절차": f"담당자는 {i + 3}일 이내에 처리하고 결과를 기록한다.",
            },
        )
        for i in range(n)
    ]


class LockedClient:
    """qdrant-client's local mode shared by several workers, one request at a time, as a Qdrant
    server applies each request atomically (local mode itself has no lock: two threads could
    interleave inside one of its Python-level upserts)."""

    def __init__(self, client: QdrantClient) -> None:
        self._client = client
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if not callable(attr):
            return attr

        def locked(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return attr(*args, **kwargs)

        return locked


def _qdrant_index(settings, embedder, client, **index_overrides) -> NuriIndex:
    s = settings.override(index={"backend": "qdrant", **index_overrides}) if index_overrides else settings
    store = QdrantStore(s.index, dim=embedder.dim, create=True, client=client)
    return NuriIndex(s.retrieval, store, embedder, _sparse())


_SPARSE = None


def _sparse():
    global _SPARSE
    if _SPARSE is None:
        from retrieval.sparse import KoreanSparseEncoder

        _SPARSE = KoreanSparseEncoder()
    return _SPARSE


def _points(client) -> dict[str, tuple[dict, np.ndarray, list[int], list[float]]]:
    records, offset = [], None
    while True:
        page, offset = client.scroll("nuri", limit=256, offset=offset, with_payload=True, with_vectors=True)
        records += page
        if offset is None:
            break
    return {
        str(r.id): (
            r.payload,
            np.asarray(r.vector["dense"], dtype=np.float32),
            list(r.vector["sparse"].indices),
            list(r.vector["sparse"].values),
        )
        for r in records
    }


def _ingest_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("nuri-ingest")]


def test_pipelined_ingest_writes_exactly_what_the_serial_one_writes(settings, embedder, tmp_path):
    folder = tmp_path / "docs"
    _corpus(folder, 5)
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 not really a pdf")
    reports, points = [], []
    for depth in (0, 2):  # 0 = serial, on one thread
        client = QdrantClient(":memory:")
        index = _qdrant_index(settings, embedder, client, encode_batch_chunks=3, ingest_queue_batches=depth)
        reports.append(Syncer(index, settings.connectors, progress=False).sync([folder]).as_dict())
        points.append(_points(client))
    serial, pipelined = points
    for r in reports:
        r.pop("seconds")
    assert reports[0] == reports[1]
    assert reports[1]["added"] == 5 and [Path(f["path"]).name for f in reports[1]["failed"]] == ["broken.pdf"]
    assert serial.keys() == pipelined.keys() and len(serial) == reports[0]["chunks_written"]
    for pid, (payload, dense, idx, val) in serial.items():
        p_payload, p_dense, p_idx, p_val = pipelined[pid]
        assert payload == p_payload and idx == p_idx and val == p_val
        assert np.allclose(dense, p_dense, atol=1e-6)
    assert _ingest_threads() == []


class _Failing:
    """Raises after ``calls`` successful calls: an encoder, tokenizer or store failing mid-run."""

    def __init__(self, fn, calls: int) -> None:
        self.fn, self.left = fn, calls

    def __call__(self, *args, **kwargs):
        if self.left == 0:
            raise RuntimeError("injected failure")
        self.left -= 1
        return self.fn(*args, **kwargs)


@pytest.mark.parametrize("stage", ["parse", "encode", "write"])
def test_a_failing_stage_stops_the_pipeline_with_its_error(stage, settings, embedder, tmp_path, monkeypatch):
    folder = tmp_path / "docs"
    _corpus(folder, 5)
    client = QdrantClient(":memory:")
    index = _qdrant_index(settings, embedder, client, encode_batch_chunks=2, upsert_batch=1)
    if stage == "parse":  # chunking counts tokens in the producer thread
        monkeypatch.setattr(index, "chunk", _Failing(index.chunk, 2))
    elif stage == "encode":
        monkeypatch.setattr(index, "embed", _Failing(index.embed, 1))
    else:
        monkeypatch.setattr(index.store, "upsert", _Failing(index.store.upsert, 3))
    t0 = time.perf_counter()
    with pytest.raises(RuntimeError, match="injected failure"):
        Syncer(index, settings.connectors, progress=False).sync([folder])
    assert time.perf_counter() - t0 < 60
    assert _ingest_threads() == []  # every stage ended
    # Whatever got written is whole documents, never a half-written one... (the store failure
    # may leave one partial document, which the next run detects and rewrites)
    monkeypatch.undo()
    report = Syncer(index, settings.connectors, progress=False).sync([folder])
    assert report.added + report.updated + report.unchanged == 5 and not report.failed
    states = index.documents()
    assert len(states) == 5 and all(st.is_complete(next(iter(st.versions))) for st in states.values())
    assert index.count() == sum(st.n_chunks for st in states.values())


def test_shards_partition_the_files():
    sources = [f"/data/docs/{i}.md" for i in range(200)]
    owners = [[s for s in sources if Shard(i, 3).owns(s)] for i in range(3)]
    assert sorted(sum(owners, [])) == sorted(sources) and all(owners)
    assert shard_of("/data/docs/7.md", 3) == shard_of("/data/docs/7.md", 3)
    assert Shard.parse("2/3") == Shard(1, 3)
    for bad in ("0/3", "4/3", "x", "1/0"):
        with pytest.raises(ValueError):
            Shard.parse(bad)


def _chunk_keys(client) -> Counter:
    return Counter((p["doc_id"], p["chunk_index"]) for p, *_ in _points(client).values())


def test_sharded_workers_on_one_qdrant_write_every_chunk_once(settings, embedder, tmp_path):
    folder = tmp_path / "docs"
    _corpus(folder, 6)
    single = QdrantClient(":memory:")
    Syncer(_qdrant_index(settings, embedder, single), settings.connectors, progress=False).sync([folder])

    shared = LockedClient(QdrantClient(":memory:"))
    n = 2
    reports: dict[int, Any] = {}
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            index = _qdrant_index(settings, embedder, shared, encode_batch_chunks=2)  # both may create
            reports[i] = Syncer(index, settings.connectors, progress=False, shard=Shard(i, n)).sync([folder])
        except BaseException as e:  # noqa: BLE001 - collected, the test shows them
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sum(r.added for r in reports.values()) == 6 and all(r.added for r in reports.values())
    assert sum(r.removed for r in reports.values()) == 0
    keys = _chunk_keys(shared)
    assert keys == _chunk_keys(single) and set(keys.values()) == {1}  # same chunks, none twice
    assert set(_points(shared)) == set(_points(single))  # the same point ids
    assert shared.count("nuri").count == single.count("nuri").count

    # A rerun of both workers finds everything unchanged; a file deleted is pruned by its owner only.
    victim = folder / "doc3.md"
    owner = shard_of(str(victim.resolve()), n)
    victim.unlink()
    again = [
        Syncer(_qdrant_index(settings, embedder, shared), settings.connectors, progress=False, shard=Shard(i, n)).sync(
            [folder]
        )
        for i in range(n)
    ]
    assert sum(r.unchanged for r in again) == 5 and sum(r.chunks_written for r in again) == 0
    assert [r.removed for r in again] == [int(i == owner) for i in range(n)]
    assert len({d for d, _ in _chunk_keys(shared)}) == 5


STATUTE = """---
제목: 시험법
법령MST: '900001'
법령ID: '990001'
법령구분: 법률
소관부처:
- 행정안전부
시행일자: 2024-01-01
---

# 시험법

##### 제1조 (목적)

이 법은 시험 업무의 기준을 정함을 목적으로 한다.

##### 제2조 (기한)

담당자는 7일 이내에 결과를 통지하여야 한다.
"""


def test_a_document_moved_to_another_file_is_not_pruned_with_its_old_file(settings, embedder, tmp_path):
    """A statute's id comes from its 법령ID, not its path: moved to a new file, it is written from
    the new file, and pruning the old file deletes only the old file's points."""
    folder = tmp_path / "statutes"
    old = folder / "a" / "법률.md"
    old.parent.mkdir(parents=True)
    old.write_text(STATUTE, encoding="utf-8")
    client = QdrantClient(":memory:")
    index = _qdrant_index(settings, embedder, client)
    Syncer(index, settings.connectors, progress=False).sync([folder])
    new = folder / "b" / "법률.md"
    new.parent.mkdir()
    old.rename(new)
    report = Syncer(index, settings.connectors, progress=False).sync([folder])
    assert report.removed == 1
    states = index.documents()
    assert list(states) == ["statute:990001"] and states["statute:990001"].source == str(new.resolve())
    st = states["statute:990001"]
    assert st.is_complete(next(iter(st.versions))) and index.count() == st.n_chunks
