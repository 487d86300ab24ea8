"""A cheap fingerprint of everything a Document is built from, computed without parsing.

Sync compares it with what the index holds to skip unchanged files. It covers the file's
bytes, its metadata files (``<name>.meta.yaml`` and the folder's ``_meta.yaml``), the connector
options and the connector code version, so a change to any of them re-indexes the file.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from connectors.metadata import metadata_files
from connectors.settings import ConnectorSettings

# Bump when a parser changes what it extracts, so existing indexes re-ingest on next sync.
CONNECTOR_VERSION = "1"


def fingerprint(path: Path, settings: ConnectorSettings) -> str:
    h = hashlib.sha256()
    h.update(CONNECTOR_VERSION.encode())
    h.update(settings.model_dump_json().encode())
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    for meta in metadata_files(path):
        h.update(b"\x00meta\x00")
        if meta.is_file():
            h.update(meta.read_bytes())
    return h.hexdigest()
