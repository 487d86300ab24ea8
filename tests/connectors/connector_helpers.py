"""Paths and small helpers shared by the connector tests (no conftest.py here: the tests/
conftest.py module is imported by name from other test folders)."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.types import Document, Section

REPO_ROOT = Path(__file__).resolve().parents[2]
CORPUS = REPO_ROOT / "samples" / "corpus"
# The shared data folder sits next to the repository root (…/main/../shared/data/hwp).
HWP_DIR = REPO_ROOT / ".." / "shared" / "data" / "hwp"


def hwp_file(name: str) -> Path:
    """A real HWP file from shared/data/hwp; skips the test when that folder is absent."""
    path = HWP_DIR / name
    if not path.is_file():
        pytest.skip(f"real HWP test file {name} not found in {HWP_DIR.resolve()} (shared/data/hwp)")
    return path


def section(doc: Document, anchor: str) -> Section:
    """The section with this anchor (fails the test, listing the anchors, when missing)."""
    matches = [s for s in doc.sections if s.anchor == anchor]
    assert matches, f"no section {anchor!r}; anchors: {[s.anchor for s in doc.sections]}"
    return matches[0]


def blocks(doc: Document) -> list[str]:
    """Every block text of the document, in order."""
    return [b.text for s in doc.sections for b in s.blocks]
