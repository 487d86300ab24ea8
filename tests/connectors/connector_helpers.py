"""Paths and small helpers shared by the connector tests (no conftest.py here: the tests/
conftest.py module is imported by name from other test folders)."""

from __future__ import annotations

from pathlib import Path

from conftest import require_shared

from connectors.types import Document, Section

REPO_ROOT = Path(__file__).resolve().parents[2]
CORPUS = REPO_ROOT / "samples" / "corpus"


def hwp_file(name: str) -> Path:
    """A real HWP file from ../shared/data/hwp (missing: a failure under ``make test``)."""
    return require_shared(f"hwp/{name}")


def section(doc: Document, anchor: str) -> Section:
    """The section with this anchor (fails the test, listing the anchors, when missing)."""
    matches = [s for s in doc.sections if s.anchor == anchor]
    assert matches, f"no section {anchor!r}; anchors: {[s.anchor for s in doc.sections]}"
    return matches[0]


def blocks(doc: Document) -> list[str]:
    """Every block text of the document, in order."""
    return [b.text for s in doc.sections for b in s.blocks]
