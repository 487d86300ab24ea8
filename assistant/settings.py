"""Nuri's configuration: ``configs/<profile>.yaml`` overridden by ``NURI_...`` variables.

The profile is ``NURI_PROFILE`` (``default`` = embedded, ``production`` = Qdrant server and
remote model endpoints) or an explicit file in ``NURI_CONFIG``. Every key can be overridden
from the environment: top-level keys as ``NURI_<KEY>`` (``NURI_INDEX_DIR``), nested keys with a
double underscore (``NURI_INDEX__URL``, ``NURI_SEARCH__TOP_K``, ``NURI_EMBEDDER__MODEL_PATH``).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from assistant.llm_settings import AnswerSettings, LLMSettings, ModelServerSettings
from connectors.settings import ConnectorSettings
from retrieval.settings import (
    ChunkingSettings,
    EmbedderSettings,
    IndexSettings,
    RerankSettings,
    RetrievalSettings,
    SearchSettings,
    SparseSettings,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = REPO_ROOT / "configs"


class ApiSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    max_body_bytes: int = Field(64 * 1024, gt=0, description="Larger request bodies get 413.")
    agency_header: str = Field(
        "X-Nuri-Agency",
        description="Header carrying the caller's agency, set by the agency's gateway/SSO.",
    )


class UiSettings(BaseModel):
    enabled: bool = Field(True, description="Serve the Gradio chat with the API.")
    path: str = Field("/ui", description="Where the chat is mounted.")
    factory: str = Field(
        "ui.chat:mount_chat",
        description="module:function that mounts the chat on the FastAPI app (keeps assistant/ "
        "free of UI imports).",
    )
    title: str = "누리 — 공공기관 문서·법령 도우미"
    concurrency_limit: int = Field(8, gt=0, description="Chat answers generated at once.")
    examples: list[str] = Field(default_factory=list, description="Example questions shown in the chat.")


class LoggingSettings(BaseModel):
    level: str = "INFO"
    json_format: bool = Field(True, description="One JSON object per log line.")


def config_file() -> Path:
    explicit = os.environ.get("NURI_CONFIG")
    if explicit:
        return Path(explicit)
    return CONFIG_DIR / f"{os.environ.get('NURI_PROFILE', 'default')}.yaml"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="NURI_", env_nested_delimiter="__", extra="ignore", case_sensitive=False
    )

    profile: str = "default"
    index_dir: Path = Field(Path("data/index"), description="Embedded index folder (edge backend).")
    sample_corpus: Path = Field(Path("samples/corpus"), description="What `make demo` indexes.")
    connectors: ConnectorSettings = ConnectorSettings()
    embedder: EmbedderSettings = EmbedderSettings()
    sparse: SparseSettings = SparseSettings()
    chunking: ChunkingSettings = ChunkingSettings()
    index: IndexSettings = IndexSettings()
    search: SearchSettings = SearchSettings()
    rerank: RerankSettings = RerankSettings()
    api: ApiSettings = ApiSettings()
    llm: LLMSettings = LLMSettings()
    model_server: ModelServerSettings = ModelServerSettings()
    answer: AnswerSettings = AnswerSettings()
    ui: UiSettings = UiSettings()
    logging: LoggingSettings = LoggingSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            YamlConfigSettingsSource(settings_cls, yaml_file=config_file(), yaml_file_encoding="utf-8"),
        )

    @property
    def retrieval(self) -> RetrievalSettings:
        return RetrievalSettings(
            embedder=self.embedder,
            sparse=self.sparse,
            chunking=self.chunking,
            index=self.index,
            search=self.search,
            rerank=self.rerank,
        )

    def resolve(self, path: Path | str) -> Path:
        """Relative paths in the config are relative to the repository root."""
        path = Path(path)
        return path if path.is_absolute() else REPO_ROOT / path


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


def load_settings(**overrides: object) -> Settings:
    path = config_file()
    if not path.is_file():
        raise FileNotFoundError(f"설정 파일이 없습니다: {path} (NURI_PROFILE / NURI_CONFIG 확인)")
    return Settings(**overrides)
