"""Incremental sync of files and folders into the index.

For every file: a fingerprint of its inputs (bytes, metadata files, connector options) is
compared with the version the index holds; unchanged and complete documents are skipped
without parsing. Changed or new documents are parsed, chunked and encoded in memory first,
then written: the new version's points (deterministic ids) are upserted and only then the
other versions' points deleted, so a document is never missing from the index. A document
whose chunks are incomplete or that has two versions (``kill -9`` mid-write) is simply
rewritten on the next run: no lost and no duplicated chunks. Files gone from a synced folder
are deleted. A file that fails to parse is reported and skipped; what the index held for it
stays.
"""

from __future__ import annotations

import hashlib
import logging
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from connectors.fingerprint import fingerprint
from connectors.registry import discover, load_document
from connectors.settings import ConnectorSettings
from connectors.types import Document, ParseError
from retrieval.chunking import chunk_document
from retrieval.errors import InputPathError
from retrieval.index import NuriIndex
from retrieval.store import IndexPoint
from retrieval.types import Chunk

log = logging.getLogger(__name__)
_ID_NAMESPACE = uuid.UUID("6f1c1a52-4d0e-4a53-9a3e-8d3c8b1f9e01")
# Bump when chunking or the payload layout changes, so existing indexes re-ingest on next sync.
# 2: payload "section" (the whole section's anchor, for collapsing a section's chunks).
INDEX_FORMAT = "2"


@dataclass
class SyncReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    chunks_written: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "failed": [{"path": p, "reason": r} for p, r in self.failed],
            "chunks_written": self.chunks_written,
            "seconds": round(self.seconds, 2),
        }


@dataclass
class _Pending:
    doc: Document
    version: str
    chunks: list[Chunk]
    is_new: bool


def point_id(doc_id: str, version: str, index: int) -> str:
    return str(uuid.uuid5(_ID_NAMESPACE, f"{doc_id}\x00{version}\x00{index}"))


def chunk_payload(doc: Document, chunk: Chunk, version: str, n_chunks: int) -> dict[str, Any]:
    co = [a.strip() for a in doc.extra.get("co_agencies", "").split(",") if a.strip()]
    return {
        "doc_id": doc.doc_id,
        "version": version,
        "content_hash": doc.content_hash,
        "n_chunks": n_chunks,
        "chunk_index": chunk.index,
        "source": doc.source,
        "title": doc.title,
        "anchor": chunk.anchor,
        "section": chunk.section or chunk.anchor,
        "header": chunk.header,
        "text": chunk.text,
        "heading_path": chunk.heading_path,
        "page": chunk.page,
        "agency": [a for a in [doc.agency, *co] if a],
        "doc_type": doc.doc_type,
        "access": doc.access.value,
        "allowed_agencies": sorted(set(doc.allowed_agencies)),
        "effective_date": doc.effective_date.isoformat() if doc.effective_date else None,
        "source_url": doc.source_url,
        "extra": dict(doc.extra),
    }


class Syncer:
    def __init__(self, index: NuriIndex, connector_settings: ConnectorSettings, progress: bool = True) -> None:
        self._index = index
        self._cs = connector_settings
        r = index.settings
        self._salt = f"{INDEX_FORMAT}\x00{r.chunking.model_dump_json()}\x00{r.sparse.model_dump_json()}"
        self._progress = progress

    def _version(self, source_fingerprint: str) -> str:
        """What a document's chunks are built from: its source (bytes, metadata, connector
        options) and how this index chunks, encodes (BM25 parameters are stored in the sparse
        values) and lays out payloads (``self._salt``). A change to any of them re-indexes it."""
        return hashlib.sha256(f"{source_fingerprint}\x00{self._salt}".encode()).hexdigest()

    def sync(self, paths: list[Path], prune: bool = True) -> SyncReport:
        t0 = time.perf_counter()
        missing = [p for p in paths if not p.exists()]
        if missing:
            raise InputPathError(f"경로가 없습니다: {missing[0]}")
        files, discover_errors = discover(paths)
        report = SyncReport(failed=[(str(p), r) for p, r in discover_errors])
        store = self._index.store
        if store.read_meta() is None:
            store.write_meta({"embedder": self._index.embedder.name, "dim": self._index.embedder.dim})
        state = store.scan_docs()
        by_source: dict[str, list[str]] = {}
        for doc_id, st in state.items():
            by_source.setdefault(st.source, []).append(doc_id)

        todo: list[tuple[Path, str]] = []
        for path in files:
            src = str(path.resolve())
            try:
                version = self._version(fingerprint(path, self._cs))
            except OSError as e:
                report.failed.append((str(path), f"파일을 읽을 수 없습니다: {e.strerror or e}"))
                continue
            known = by_source.get(src, [])
            if len(known) == 1 and state[known[0]].is_complete(version):
                report.unchanged += 1
            else:
                todo.append((path, version))

        changed = False
        written_ids: set[str] = set()
        rewritten_sources: set[str] = set()
        pending: list[_Pending] = []
        n_pending = 0
        bar = tqdm(total=len(todo), desc="색인", unit="문서", file=sys.stderr, disable=not self._progress or not todo)
        try:
            for path, version in todo:
                src = str(path.resolve())
                try:
                    doc = load_document(path, self._cs)
                except ParseError as e:
                    report.failed.append((str(path), str(e)))
                    log.warning("parse failed", extra={"path": str(path), "reason": str(e)})
                    bar.update(1)
                    continue
                chunks = chunk_document(doc, self._index.embedder.count_tokens, self._index.settings.chunking)
                if not chunks:
                    report.failed.append((str(path), "색인할 텍스트가 없습니다"))
                    bar.update(1)
                    continue
                written_ids.add(doc.doc_id)
                rewritten_sources.add(src)
                pending.append(
                    _Pending(doc=doc, version=version, chunks=chunks, is_new=doc.doc_id not in state)
                )
                n_pending += len(chunks)
                if n_pending >= self._index.settings.index.encode_batch_chunks:
                    self._write(pending, report, bar)
                    changed = True
                    pending, n_pending = [], 0
            if pending:
                self._write(pending, report, bar)
                changed = True
        finally:
            bar.close()

        # A file whose document id changed (e.g. a statute's 법령ID): drop the old id's chunks,
        # unless this run wrote that id from some file.
        for src in rewritten_sources:
            for doc_id in by_source.get(src, []):
                if doc_id not in written_ids:
                    store.delete_doc(doc_id)
                    changed = True
        if prune:
            seen = {str(p.resolve()) for p in files}
            roots = [p.resolve() for p in paths if p.is_dir()]
            for doc_id, st in state.items():
                src = Path(st.source)
                if st.source not in seen and any(src.is_relative_to(r) for r in roots):
                    store.delete_doc(doc_id)
                    report.removed += 1
                    changed = True
        if changed:
            store.finish_batch()
        report.seconds = time.perf_counter() - t0
        log.info("sync done", extra=report.as_dict())
        return report

    def _write(self, pending: list[_Pending], report: SyncReport, bar: tqdm) -> None:
        all_chunks = [c for p in pending for c in p.chunks]
        texts = [c.embed_text for c in all_chunks]
        dense = self._index.embedder.embed_passages(texts)
        sparse = self._index.sparse.encode_passages(texts)
        store = self._index.store
        batch = self._index.settings.index.upsert_batch
        offset = 0
        for p in pending:
            n = len(p.chunks)
            points = [
                IndexPoint(
                    id=point_id(p.doc.doc_id, p.version, c.index),
                    dense=dense[offset + i].tolist(),
                    sparse=sparse[offset + i],
                    payload=chunk_payload(p.doc, c, p.version, n),
                )
                for i, c in enumerate(p.chunks)
            ]
            offset += n
            for i in range(0, n, batch):
                store.upsert(points[i : i + batch])
            store.delete_doc(p.doc.doc_id, keep_version=p.version)
            if p.is_new:
                report.added += 1
            else:
                report.updated += 1
            report.chunks_written += n
            bar.update(1)
