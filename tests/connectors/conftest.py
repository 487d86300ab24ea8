"""Fixtures for the connector tests: the bundled sample corpus and the real HWP files."""

from __future__ import annotations

from pathlib import Path

import pytest
from connector_helpers import CORPUS, HWP_DIR


@pytest.fixture
def sample_corpus() -> Path:
    return CORPUS


@pytest.fixture
def hwp_dir() -> Path:
    if not (HWP_DIR / "noori.hwp").is_file() or not (HWP_DIR / "basicsReport.hwp").is_file():
        pytest.skip(f"real HWP test files not found in {HWP_DIR.resolve()} (shared/data/hwp)")
    return HWP_DIR
