"""Incremental sync: add, change, delete, bad files, and crash-and-rerun with kill -9."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from conftest import REPO_ROOT, write_md

from retrieval.sync import Syncer


def _corpus(folder: Path, n: int = 3) -> list[Path]:
    topics = ["재택근무", "출장 여비", "정보공개", "보안 점검", "민원 응대", "교육 훈련", "예산 집행"]
    return [
        write_md(
            folder,
            f"doc{i}.md",
            f"{topics[i % len(topics)]} 지침 {i}",
            {
                "목적": f"이 지침은 {topics[i % len(topics)]} 업무의 기준을 정한다.",
                "절차": f"담당자는 {i + 3}일 이내에 처리한다.",
            },
        )
        for i in range(n)
    ]


def _chunk_ids(index) -> Counter:
    """(doc_id, chunk_index) -> how many points carry it: every value must be 1."""
    states = index.documents()
    return Counter({d: sum(st.versions.values()) for d, st in states.items()})


def test_unchanged_documents_are_skipped_without_rewriting(settings, open_index, tmp_path):
    folder = tmp_path / "docs"
    _corpus(folder)
    index = open_index()
    first = Syncer(index, settings.connectors, progress=False).sync([folder])
    assert (first.added, first.updated, first.unchanged, first.removed) == (3, 0, 0, 0)
    total = index.count()
    second = Syncer(index, settings.connectors, progress=False).sync([folder])
    assert (second.added, second.updated, second.unchanged, second.chunks_written) == (0, 0, 3, 0)
    assert index.count() == total


def test_changed_document_replaces_its_chunks(settings, open_index, tmp_path):
    folder = tmp_path / "docs"
    paths = _corpus(folder)
    index = open_index()
    Syncer(index, settings.connectors, progress=False).sync([folder])
    write_md(
        folder,
        paths[0].name,
        "재택근무 지침 개정",
        {"신청": "재택근무는 주 3일까지 신청한다.", "보안": "VPN을 사용한다.", "기타": "문의는 인사과로 한다."},
    )
    report = Syncer(index, settings.connectors, progress=False).sync([folder])
    assert (report.added, report.updated, report.unchanged) == (0, 1, 2)
    states = index.documents()
    assert all(len(st.versions) == 1 and st.is_complete(next(iter(st.versions))) for st in states.values())
    hits = index.search("재택근무 며칠", top_k=3, principal=_operator())
    assert hits[0].title == "재택근무 지침 개정"
    assert not any(h.title == "재택근무 지침 0" for h in hits)


def test_metadata_change_alone_reindexes_the_document(settings, open_index, tmp_path):
    folder = tmp_path / "docs"
    paths = _corpus(folder, 2)
    index = open_index()
    Syncer(index, settings.connectors, progress=False).sync([folder])
    (folder / f"{paths[1].name}.meta.yaml").write_text("agency: 한빛데이터원\naccess: public\n", encoding="utf-8")
    report = Syncer(index, settings.connectors, progress=False).sync([folder])
    assert report.updated == 1
    hits = index.search("출장 여비", top_k=5, principal=_operator())
    assert any("한빛데이터원" in h.metadata["agency"] for h in hits)


def test_file_gone_from_synced_folder_is_deleted(settings, open_index, tmp_path):
    folder = tmp_path / "docs"
    paths = _corpus(folder)
    index = open_index()
    Syncer(index, settings.connectors, progress=False).sync([folder])
    before = index.count()
    paths[2].unlink()
    report = Syncer(index, settings.connectors, progress=False).sync([folder])
    assert report.removed == 1
    assert index.count() < before
    assert str(paths[2].resolve()) not in {st.source for st in index.documents().values()}


def test_other_folders_are_not_pruned(settings, open_index, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    _corpus(a, 2)
    _corpus(b, 2)
    index = open_index()
    Syncer(index, settings.connectors, progress=False).sync([a])
    Syncer(index, settings.connectors, progress=False).sync([b])
    assert len(index.documents()) == 4


def test_unparsable_file_is_reported_and_the_rest_indexed(settings, open_index, tmp_path):
    folder = tmp_path / "docs"
    _corpus(folder, 2)
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    index = open_index()
    report = Syncer(index, settings.connectors, progress=False).sync([folder])
    assert report.added == 2
    assert [Path(p).name for p, _ in report.failed] == ["broken.pdf"]
    assert report.failed[0][1]  # a reason is given


def test_file_that_becomes_corrupt_keeps_its_indexed_version(settings, open_index, tmp_path):
    folder = tmp_path / "docs"
    _corpus(folder, 1)
    bad = folder / "guide.txt"
    bad.write_text("출장 후 5일 이내에 여비를 정산한다.", encoding="utf-8")
    index = open_index()
    Syncer(index, settings.connectors, progress=False).sync([folder])
    before = index.count()
    bad.write_bytes(b"\xff\xfe\x00\xd8\x00\xdc" * 10 + b"\x81\x00\xff")  # undecodable
    report = Syncer(index, settings.connectors, progress=False).sync([folder])
    assert len(report.failed) == 1 and report.removed == 0
    assert index.count() == before


def _operator():
    from retrieval.types import Principal

    return Principal(operator=True)


N_CRASH_DOCS = 30


def test_kill_9_mid_ingest_then_rerun_loses_and_duplicates_nothing(settings, open_index, tmp_path):
    folder = tmp_path / "docs"
    _corpus(folder, N_CRASH_DOCS)
    index_dir = tmp_path / "index"
    env = dict(
        os.environ,
        NURI_INDEX_DIR=str(index_dir),
        NURI_INDEX__ENCODE_BATCH_CHUNKS="2",
        NURI_INDEX__UPSERT_BATCH="1",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "ingest", str(folder)],
        cwd=REPO_ROOT,
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
    )
    # Wait until the progress bar shows a few documents written, then kill -9.
    seen = b""
    deadline = time.time() + 120
    while time.time() < deadline:
        ch = proc.stderr.read(1)
        if not ch:
            break
        seen += ch
        done = re.findall(rb"(\d+)/%d" % N_CRASH_DOCS, seen)
        if done and 3 <= int(done[-1]) < N_CRASH_DOCS - 5:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, seen.decode(errors="replace")[-500:]

    index = open_index()
    partial = index.documents()
    assert 0 < len(partial) < N_CRASH_DOCS  # the kill really happened mid-ingest
    report = Syncer(index, settings.connectors, progress=False).sync([folder])
    assert report.added + report.updated + report.unchanged == N_CRASH_DOCS
    states = index.documents()
    assert len(states) == N_CRASH_DOCS
    for st in states.values():
        assert len(st.versions) == 1
        assert st.is_complete(next(iter(st.versions)))
    # no duplicates: the number of points equals the sum of each document's chunk count
    assert index.count() == sum(st.n_chunks for st in states.values())


def test_half_written_document_is_detected_and_rewritten(settings, open_index, tmp_path):
    """What a crash between two upserts leaves (a chunk missing, an old version beside the new)
    is repaired by the next sync."""
    from retrieval.sparse import SparseVector
    from retrieval.store import IndexPoint

    folder = tmp_path / "docs"
    _corpus(folder, 2)
    index = open_index()
    Syncer(index, settings.connectors, progress=False).sync([folder])
    states = index.documents()
    doc_a, doc_b = sorted(states)
    # doc_a: its chunks are lost; doc_b: a stray chunk of an older version sits beside the new one
    victim = next(h for h in index.search("지침", top_k=10, principal=_operator()) if h.doc_id == doc_a)
    index.delete_document(doc_a)
    stray = dict(victim.metadata, doc_id=doc_b, source=states[doc_b].source, version="old", n_chunks=1)
    index.store.upsert(
        [IndexPoint("00000000-0000-0000-0000-000000000001", [0.1] * 384, SparseVector([1], [1.0]), stray)]
    )
    report = Syncer(index, settings.connectors, progress=False).sync([folder])
    assert report.added + report.updated == 2 and report.unchanged == 0
    states = index.documents()
    assert sorted(states) == [doc_a, doc_b]
    assert all(len(st.versions) == 1 and st.is_complete(next(iter(st.versions))) for st in states.values())
    assert index.count() == sum(st.n_chunks for st in states.values())


def test_points_carry_exactly_the_payload_schema(settings, open_index, tmp_path):
    """Every point is written from one schema (retrieval.payload.ChunkPayload); the filter and
    scan fields are part of it."""
    from retrieval.payload import KEYWORD_FIELDS, PAYLOAD_FIELDS, SCAN_FIELDS

    assert set(KEYWORD_FIELDS) <= set(PAYLOAD_FIELDS) and set(SCAN_FIELDS) <= set(PAYLOAD_FIELDS)
    folder = tmp_path / "docs"
    _corpus(folder, 1)
    index = open_index()
    Syncer(index, settings.connectors, progress=False).sync([folder])
    hit = index.search("지침", top_k=1, principal=_operator())[0]
    assert set(hit.metadata) == set(PAYLOAD_FIELDS)
