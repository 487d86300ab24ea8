"""Incremental sync of files and folders into the index: decides *what* to write.

For every file: a fingerprint of its inputs (bytes, metadata files, connector options) plus
the index's format salt (``NuriIndex.format_salt``) is compared with the version the index
holds; unchanged and complete documents are skipped without parsing. Changed or new documents
are parsed and chunked, then handed to :meth:`NuriIndex.write` in encoder-sized batches, which
upserts a document's new version before deleting the old one, so a document is never missing
from the index. A document whose chunks are incomplete or that has two versions (``kill -9``
mid-write) is simply rewritten on the next run: no lost and no duplicated chunks. Files gone
from a synced folder are deleted. A file that fails to parse is reported and skipped; what the
index held for it stays.
"""

from __future__ import annotations

import hashlib
import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from connectors.fingerprint import fingerprint
from connectors.registry import discover, load_document
from connectors.settings import ConnectorSettings
from connectors.types import ParseError
from retrieval.errors import InputPathError
from retrieval.index import DocumentVersion, NuriIndex
from retrieval.store import doc_ids_by_source, holds_current

log = logging.getLogger(__name__)


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


class Syncer:
    def __init__(self, index: NuriIndex, connector_settings: ConnectorSettings, progress: bool = True) -> None:
        self._index = index
        self._cs = connector_settings
        self._salt = index.format_salt
        self._progress = progress

    def version_of(self, path: Path) -> str:
        """The version a file's document gets in this index: what its chunks are built from,
        its source (bytes, metadata files, connector options) and how this index chunks,
        encodes and lays out payloads. Raises OSError when the file cannot be read."""
        return hashlib.sha256(f"{fingerprint(path, self._cs)}\x00{self._salt}".encode()).hexdigest()

    def sync(self, paths: list[Path], prune: bool = True) -> SyncReport:
        t0 = time.perf_counter()
        missing = [p for p in paths if not p.exists()]
        if missing:
            raise InputPathError(f"경로가 없습니다: {missing[0]}")
        files, discover_errors = discover(paths)
        report = SyncReport(failed=[(str(p), r) for p, r in discover_errors])
        index = self._index
        state = index.documents()
        by_source = doc_ids_by_source(state)

        todo: list[tuple[Path, str]] = []
        for path in files:
            src = str(path.resolve())
            try:
                version = self.version_of(path)
            except OSError as e:
                report.failed.append((str(path), f"파일을 읽을 수 없습니다: {e.strerror or e}"))
                continue
            if holds_current(state, by_source.get(src, []), version):
                report.unchanged += 1
            else:
                todo.append((path, version))

        changed = False
        written_ids: set[str] = set()
        rewritten_sources: set[str] = set()
        pending: list[DocumentVersion] = []
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
                chunks = index.chunk(doc)
                if not chunks:
                    report.failed.append((str(path), "색인할 텍스트가 없습니다"))
                    bar.update(1)
                    continue
                written_ids.add(doc.doc_id)
                rewritten_sources.add(src)
                pending.append(DocumentVersion(doc=doc, version=version, chunks=chunks))
                n_pending += len(chunks)
                if n_pending >= index.settings.index.encode_batch_chunks:
                    self._write(pending, state, report, bar)
                    changed = True
                    pending, n_pending = [], 0
            if pending:
                self._write(pending, state, report, bar)
                changed = True
        finally:
            bar.close()

        # A file whose document id changed (e.g. a statute's 법령ID): drop the old id's chunks,
        # unless this run wrote that id from some file.
        for src in rewritten_sources:
            for doc_id in by_source.get(src, []):
                if doc_id not in written_ids:
                    index.delete_document(doc_id)
                    changed = True
        if prune:
            seen = {str(p.resolve()) for p in files}
            roots = [p.resolve() for p in paths if p.is_dir()]
            for doc_id, st in state.items():
                source = Path(st.source)
                if st.source not in seen and any(source.is_relative_to(r) for r in roots):
                    index.delete_document(doc_id)
                    report.removed += 1
                    changed = True
        if changed:
            index.commit()
        report.seconds = time.perf_counter() - t0
        log.info("sync done", extra=report.as_dict())
        return report

    def _write(self, pending: list[DocumentVersion], state: dict[str, Any], report: SyncReport, bar: tqdm) -> None:
        def written(v: DocumentVersion) -> None:
            if v.doc.doc_id in state:
                report.updated += 1
            else:
                report.added += 1
            report.chunks_written += len(v.chunks)
            bar.update(1)

        self._index.write(pending, on_written=written)
