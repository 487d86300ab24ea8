"""Shared fixtures: the real bundled encoder (loaded once), settings on a temporary index,
and the shared statute/QA data beside the repository (skipped when absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.pop("NURI_PROFILE", None)
os.environ.pop("NURI_CONFIG", None)
os.environ.pop("NURI_INDEX_DIR", None)

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
SAMPLES = REPO_ROOT / "samples" / "corpus"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "statutes").is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def embedder():
    from retrieval.embedders import build_embedder
    from retrieval.settings import EmbedderSettings

    return build_embedder(EmbedderSettings())


@pytest.fixture()
def settings(tmp_path: Path):
    from assistant.settings import load_settings

    return load_settings(index_dir=tmp_path / "index")


@pytest.fixture()
def open_index(settings, embedder):
    """Open a NuriIndex on the temporary index dir (edge backend), closed after the test."""
    from retrieval.index import NuriIndex

    opened = []

    def _open(create: bool = True, **overrides):
        s = settings.retrieval.model_copy(update=overrides) if overrides else settings.retrieval
        idx = NuriIndex.open(s, settings.resolve(settings.index_dir), create=create, embedder=embedder)
        opened.append(idx)
        return idx

    yield _open
    for idx in opened:
        idx.close()


def write_md(folder: Path, name: str, title: str, sections: dict[str, str], meta: str | None = None) -> Path:
    """A small Markdown document with ``## heading`` sections (and an optional sidecar)."""
    folder.mkdir(parents=True, exist_ok=True)
    body = [f"# {title}", ""]
    for heading, text in sections.items():
        body += [f"## {heading}", "", text, ""]
    path = folder / name
    path.write_text("\n".join(body), encoding="utf-8")
    if meta is not None:
        (folder / f"{name}.meta.yaml").write_text(meta, encoding="utf-8")
    return path
