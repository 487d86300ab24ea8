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

Ingest is a pipeline (``index.ingest_queue_batches``): a producer thread parses, chunks and
sparse-encodes, the calling thread runs the dense encoder, a writer thread upserts; bounded
queues between them bound memory, and the first error of any stage stops all three.

Several workers (processes, machines) can sync into one Qdrant server: with ``--shard i/n``
each owns the files whose path hashes to it (:func:`shard_of`) and writes, rewrites and
prunes only those. Without shards, two workers over overlapping folders still write identical
points for an unchanged file (ids are derived from document, version and chunk number), and a
prune or an id-change cleanup deletes only the points of the file it concerns (``source``),
never a document another worker just wrote from another file.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from connectors.fingerprint import fingerprint
from connectors.registry import discover, load_document
from connectors.settings import ConnectorSettings
from connectors.types import ParseError
from retrieval.errors import InputPathError
from retrieval.index import DocumentVersion, EncodedBatch, NuriIndex
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


def shard_of(source: str, shards: int) -> int:
    """The ingest worker (``0 .. shards-1``) that owns a source file: a stable hash of its
    resolved path, the same in every process and on every machine that sees the same path."""
    return int.from_bytes(hashlib.sha256(source.encode("utf-8")).digest()[:8], "big") % shards


@dataclass(frozen=True)
class Shard:
    """Worker ``index`` of ``count`` (``nuri ingest --shard 1/4`` is ``Shard(0, 4)``): it syncs,
    rewrites and prunes only the files :func:`shard_of` gives it, so several workers can ingest
    one folder into one Qdrant server at once without touching each other's documents."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if not 0 <= self.index < self.count:
            raise ValueError(f"shard {self.index + 1}/{self.count}: the worker number must be 1..{self.count}")

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"i/n"`` with ``1 <= i <= n`` (1-based, as an operator counts workers)."""
        try:
            i, n = (int(x) for x in text.split("/"))
        except ValueError:
            raise ValueError(f"샤드는 i/n 형식이어야 합니다 (예: 1/4): {text!r}") from None
        if n < 1 or not 1 <= i <= n:
            raise ValueError(f"샤드는 1 <= i <= n 이어야 합니다: {text!r}")
        return cls(i - 1, n)

    def owns(self, source: str) -> bool:
        return shard_of(source, self.count) == self.index


@dataclass(slots=True)
class _Failed:
    path: Path
    reason: str


_DONE = object()


class _Stages:
    """Bounded queues between the ingest threads, and the first error any of them raised.

    Every blocking ``put``/``get`` wakes up regularly to check ``stop``: when one stage fails,
    the others stop at their next queue operation instead of waiting forever on a queue
    nobody serves any more."""

    POLL_S = 0.05

    def __init__(self, depth: int) -> None:
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self._lock = threading.Lock()
        self.parsed: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self.encoded: queue.Queue[Any] = queue.Queue(maxsize=depth)

    def fail(self, error: BaseException) -> None:
        with self._lock:
            if self.error is None:
                self.error = error
        self.stop.set()

    def put(self, q: queue.Queue[Any], item: Any) -> bool:
        while not self.stop.is_set():
            try:
                q.put(item, timeout=self.POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def get(self, q: queue.Queue[Any]) -> Any:
        while not self.stop.is_set():
            try:
                return q.get(timeout=self.POLL_S)
            except queue.Empty:
                continue
        return _DONE

    def run(self, name: str, target: Callable[[], None]) -> threading.Thread:
        def guarded() -> None:
            try:
                target()
            except BaseException as e:  # noqa: BLE001 - handed to the calling thread, raised there
                log.error("ingest stage failed", extra={"stage": name, "error": repr(e)})
                self.fail(e)

        t = threading.Thread(target=guarded, name=f"nuri-ingest-{name}", daemon=True)
        t.start()
        return t


class Syncer:
    def __init__(
        self,
        index: NuriIndex,
        connector_settings: ConnectorSettings,
        progress: bool = True,
        shard: Shard | None = None,
    ) -> None:
        self._index = index
        self._cs = connector_settings
        self._salt = index.format_salt
        self._progress = progress
        self._shard = shard

    def version_of(self, path: Path) -> str:
        """The version a file's document gets in this index: what its chunks are built from,
        its source (bytes, metadata files, connector options) and how this index chunks,
        encodes and lays out payloads. Raises OSError when the file cannot be read."""
        return hashlib.sha256(f"{fingerprint(path, self._cs)}\x00{self._salt}".encode()).hexdigest()

    def _owns(self, source: str) -> bool:
        return self._shard is None or self._shard.owns(source)

    def sync(self, paths: list[Path], prune: bool = True) -> SyncReport:
        t0 = time.perf_counter()
        missing = [p for p in paths if not p.exists()]
        if missing:
            raise InputPathError(f"경로가 없습니다: {missing[0]}")
        index = self._index
        # What the index holds is read before the folders are listed: a document another worker
        # writes from a file created in between is then unknown to this run, never pruned by it.
        state = index.documents()
        by_source = doc_ids_by_source(state)
        files, discover_errors = discover(paths)
        report = SyncReport(failed=[(str(p), r) for p, r in discover_errors])

        todo: list[tuple[Path, str]] = []
        for path in files:
            src = str(path.resolve())
            if not self._owns(src):
                continue
            try:
                version = self.version_of(path)
            except OSError as e:
                report.failed.append((str(path), f"파일을 읽을 수 없습니다: {e.strerror or e}"))
                continue
            if holds_current(state, by_source.get(src, []), version):
                report.unchanged += 1
            else:
                todo.append((path, version))

        written_ids: set[str] = set()
        rewritten_sources: set[str] = set()
        bar = tqdm(total=len(todo), desc="색인", unit="문서", file=sys.stderr, disable=not self._progress or not todo)
        bar_lock = threading.Lock()

        def failed(item: _Failed) -> None:
            report.failed.append((str(item.path), item.reason))
            with bar_lock:
                bar.update(1)

        def written(v: DocumentVersion) -> None:
            if v.doc.doc_id in state:
                report.updated += 1
            else:
                report.added += 1
            report.chunks_written += len(v.chunks)
            with bar_lock:
                bar.update(1)

        def batches() -> Iterator[EncodedBatch | _Failed]:
            """Parsed, chunked and sparse-encoded documents, grouped into encoder batches
            (whole documents, at least ``index.encode_batch_chunks`` chunks but the last)."""
            pending: list[DocumentVersion] = []
            for path, version in todo:
                item = self._parse(path, version)
                if isinstance(item, _Failed):
                    yield item
                    continue
                written_ids.add(item.doc.doc_id)
                rewritten_sources.add(str(path.resolve()))
                pending.append(item)
                if sum(v.n_chunks for v in pending) >= index.settings.index.encode_batch_chunks:
                    yield index.prepare(pending)
                    pending = []
            if pending:
                yield index.prepare(pending)

        try:
            depth = index.settings.index.ingest_queue_batches
            if depth == 0:
                changed = self._run_serial(batches(), failed, written)
            else:
                changed = self._run_pipelined(batches(), failed, written, depth)
        finally:
            bar.close()

        # A file whose document id changed (e.g. a statute's 법령ID): drop the old id's chunks,
        # unless this run wrote that id from some file. Deletes are limited to the file's own
        # points: another worker may just have written the same id from another file.
        for src in rewritten_sources:
            for doc_id in by_source.get(src, []):
                if doc_id not in written_ids:
                    index.delete_document(doc_id, source=src)
                    changed = True
        if prune:
            seen = {str(p.resolve()) for p in files}
            roots = [p.resolve() for p in paths if p.is_dir()]
            for doc_id, st in state.items():
                source = Path(st.source)
                if st.source not in seen and self._owns(st.source) and any(source.is_relative_to(r) for r in roots):
                    index.delete_document(doc_id, source=st.source)
                    report.removed += 1
                    changed = True
        if changed:
            index.commit()
        report.seconds = time.perf_counter() - t0
        log.info("sync done", extra=report.as_dict())
        return report

    def _parse(self, path: Path, version: str) -> DocumentVersion | _Failed:
        try:
            doc = load_document(path, self._cs)
        except ParseError as e:
            log.warning("parse failed", extra={"path": str(path), "reason": str(e)})
            return _Failed(path, str(e))
        chunks = self._index.chunk(doc)
        if not chunks:
            return _Failed(path, "색인할 텍스트가 없습니다")
        return DocumentVersion(doc=doc, version=version, chunks=chunks)

    def _run_serial(
        self,
        items: Iterator[EncodedBatch | _Failed],
        failed: Callable[[_Failed], None],
        written: Callable[[DocumentVersion], None],
    ) -> bool:
        """Parse, encode and write one batch after the other, on this thread."""
        changed = False
        for item in items:
            if isinstance(item, _Failed):
                failed(item)
            else:
                self._index.store_batch(self._index.embed(item), on_written=written)
                changed = True
        return changed

    def _run_pipelined(
        self,
        items: Iterator[EncodedBatch | _Failed],
        failed: Callable[[_Failed], None],
        written: Callable[[DocumentVersion], None],
        depth: int,
    ) -> bool:
        """Three stages, each on its own thread, ``depth`` batches queued between them: a
        producer parses, chunks and sparse-encodes; this thread dense-encodes (the encoder never
        waits for a parser or for Qdrant while work is queued); a writer upserts each document
        and deletes its old versions, in the order the documents were parsed. The first error
        of any stage stops all three and is raised here, after the threads have ended."""
        index = self._index
        stages = _Stages(depth)
        changed = False

        def produce() -> None:
            try:
                for item in items:
                    if not stages.put(stages.parsed, item):
                        return
            finally:
                stages.put(stages.parsed, _DONE)

        def write() -> None:
            nonlocal changed
            while (item := stages.get(stages.encoded)) is not _DONE:
                if isinstance(item, _Failed):
                    failed(item)  # reported in order, where the file came in the run
                else:
                    index.store_batch(item, on_written=written)
                    changed = True

        threads = [stages.run("parse", produce), stages.run("write", write)]
        try:
            while (item := stages.get(stages.parsed)) is not _DONE:
                if not isinstance(item, _Failed):
                    item = index.embed(item)
                if not stages.put(stages.encoded, item):
                    break
            stages.put(stages.encoded, _DONE)
        except BaseException as e:  # noqa: BLE001 - encoder failed or Ctrl-C: stop the stages, raised below
            stages.fail(e)
        finally:
            for t in threads:  # each ends at its next queue operation once stopped
                t.join()
        if stages.error is not None:
            raise stages.error
        return changed
