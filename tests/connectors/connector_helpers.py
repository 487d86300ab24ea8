"""Paths and small assertion helpers shared by the connector tests."""

from __future__ import annotations

from pathlib import Path

from connectors.types import Document, Section

REPO_ROOT = Path(__file__).resolve().parents[2]
CORPUS = REPO_ROOT / "samples" / "corpus"
# The shared data folder sits next to the repository root (…/main/../shared/data/hwp).
HWP_DIR = REPO_ROOT / ".." / "shared" / "data" / "hwp"


def section(doc: Document, anchor: str) -> Section:
    """The section with this anchor (fails the test, listing the anchors, when missing)."""
    matches = [s for s in doc.sections if s.anchor == anchor]
    assert matches, f"no section {anchor!r}; anchors: {[s.anchor for s in doc.sections]}"
    return matches[0]


def blocks(doc: Document) -> list[str]:
    """Every block text of the document, in order."""
    return [b.text for s in doc.sections for b in s.blocks]
