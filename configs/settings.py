"""The root of Nuri's configuration: one schema, profiles that change part of it, env overrides.

The schema is the pydantic models: each stage owns its block (``connectors.settings``,
``retrieval.settings``, ``assistant.settings``, ``assistant.modelserver.settings``,
``assistant.http.settings``, ``ui.settings``, ``configs.logs``) and its defaults *are* the
embedded profile. A profile file holds only what it changes: ``default.yaml`` (nothing),
``production.yaml`` and ``qwen.yaml`` (the second bundled model) ship inside this package
(``NURI_PROFILE``); an operator's own file is named by ``NURI_CONFIG``. Environment variables
override both: top-level keys as
``NURI_<KEY>`` (``NURI_INDEX_DIR``), nested keys with a double underscore
(``NURI_INDEX__URL``, ``NURI_SEARCH__TOP_K``). Precedence: arguments > environment > file >
schema defaults. Settings are immutable once loaded: :meth:`Settings.override` returns a new,
validated copy.

Relative paths (``index_dir``, ``model_server.models_dir``, ...) are relative to ``home``
(``NURI_HOME``), by default the current directory (``make demo`` and ``make test`` run in the
repository root).
"""

from __future__ import annotations

import os
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from assistant.http.settings import ApiSettings
from assistant.modelserver.settings import ModelServerSettings
from assistant.settings import AnswerSettings, CalibrationSettings, DocumentSettings, LLMSettings
from configs import resources
from configs.logs import LoggingSettings
from connectors.errors import NuriError
from connectors.settings import ConnectorSettings
from evals.settings import AssessSettings, EvalSettings
from guardrails.settings import AuditSettings, GuardrailSettings, KeySettings
from retrieval.settings import (
    ChunkingSettings,
    EmbedderSettings,
    IndexSettings,
    RerankSettings,
    RetrievalSettings,
    SearchSettings,
    SparseSettings,
)
from ui.settings import UiSettings


class ConfigFileError(NuriError):
    """The selected profile or configuration file is missing or malformed, or a setting invalid."""

    code = "invalid_config"


def config_source() -> tuple[str, str]:
    """(where the active configuration file comes from, its text)."""
    explicit = os.environ.get("NURI_CONFIG")
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigFileError(f"설정 파일이 없습니다: {path} (NURI_CONFIG 확인)")
        return str(path), path.read_text(encoding="utf-8")
    name = os.environ.get("NURI_PROFILE", "default")
    shipped = resources.profile(name)
    if not shipped.is_file():
        raise ConfigFileError(
            f"설정 프로필이 없습니다: {name} (NURI_PROFILE 확인; 제공되는 프로필: {', '.join(resources.profile_names())})"
        )
    return f"profile {name}", shipped.read_text(encoding="utf-8")


def read_config_file(settings_cls: type[BaseSettings]) -> dict[str, Any]:
    where, text = config_source()
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        raise ConfigFileError(f"설정 파일을 읽을 수 없습니다 ({where}): {e}") from e
    if not isinstance(data, dict):
        raise ConfigFileError(f"설정 파일의 최상위는 키: 값 목록이어야 합니다 ({where})")
    unknown = sorted(set(data) - set(settings_cls.model_fields))
    if unknown:
        raise ConfigFileError(f"설정 파일에 알 수 없는 키가 있습니다 ({where}): {', '.join(map(str, unknown))}")
    return _deep_merge({"guardrails": read_guardrails_file()}, data)


def read_guardrails_file() -> dict[str, Any]:
    """``configs/guardrails.yaml``: the shipped guardrail pipeline (the ``guardrails:`` block that
    a profile, ``NURI_CONFIG`` or ``NURI_GUARDRAILS__…`` variables change key by key)."""
    text = resources.guardrails().read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        raise ConfigFileError(f"configs/guardrails.yaml을 읽을 수 없습니다: {e}") from e
    if not isinstance(data, dict):
        raise ConfigFileError("configs/guardrails.yaml의 최상위는 키: 값 목록이어야 합니다")
    return data


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="NURI_", env_nested_delimiter="__", extra="ignore", case_sensitive=False, frozen=True
    )

    profile: str = Field(
        "default",
        description="Which shipped profile (`default`, `production`, `qwen`); `NURI_CONFIG` names a file instead.",
    )
    home: Path | None = Field(None, description="Base of relative paths below; empty = the current directory.")
    index_dir: Path = Field(Path("data/index"), description="Embedded index folder (`index.backend: edge`).")
    sample_corpus: Path = Field(Path("samples/corpus"), description="What `nuri demo` indexes.")
    data_dir: Path = Field(
        Path("data"), description="State kept by the server: API keys and the audit trail (`{data_dir}` in their URLs)."
    )
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
    documents: DocumentSettings = DocumentSettings()
    ui: UiSettings = UiSettings()
    eval: EvalSettings = EvalSettings()
    assess: AssessSettings = AssessSettings()
    logging: LoggingSettings = LoggingSettings()
    keys: KeySettings = KeySettings()
    audit: AuditSettings = AuditSettings()
    guardrails: GuardrailSettings = GuardrailSettings()
    calibration: CalibrationSettings = CalibrationSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        file_values = InitSettingsSource(settings_cls, init_kwargs=read_config_file(settings_cls))
        return init_settings, env_settings, file_values

    @model_validator(mode="after")
    def _question_fits_search(self) -> Settings:
        """A question that passes ``answer.max_question_chars`` must be searchable."""
        if self.answer.max_question_chars > self.search.max_query_chars:
            raise ValueError(
                f"answer.max_question_chars ({self.answer.max_question_chars}) must not exceed "
                f"search.max_query_chars ({self.search.max_query_chars})"
            )
        return self

    @property
    def retrieval(self) -> RetrievalSettings:
        """The retrieval stage's blocks, as the stage takes them."""
        return RetrievalSettings(**{name: getattr(self, name) for name in RetrievalSettings.model_fields})

    def prompt_dir(self) -> Traversable:
        """The prompt templates: ``answer.prompt_dir`` when set, else the shipped ones."""
        return self.resolve(self.answer.prompt_dir) if self.answer.prompt_dir else resources.prompts_dir()

    def resolve(self, path: Path | str) -> Path:
        """A configured path: absolute as given, relative ones against ``home`` (default: cwd)."""
        path = Path(path)
        return path if path.is_absolute() else (self.home or Path.cwd()) / path

    def override(self, **changes: Any) -> Settings:
        """A new, validated copy with ``changes`` merged in; nested blocks as dicts, e.g.
        ``settings.override(llm={"base_urls": [url]}, ui={"enabled": False})``. The
        environment and the configuration file are not read again."""
        return type(self).model_validate(_deep_merge(self.model_dump(), changes))


def _deep_merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def load_settings(**overrides: Any) -> Settings:
    """The configuration of this process: ``overrides`` > ``NURI_...`` > profile/file > defaults.
    An invalid value (in the file or a ``NURI_...`` variable) is a :class:`ConfigFileError` naming
    the key."""
    try:
        return Settings(**overrides)
    except ValidationError as e:
        first = e.errors()[0]
        loc = ".".join(str(x) for x in first.get("loc", ()))
        raise ConfigFileError(
            f"{loc}: {first.get('msg')}", message_en=f"Invalid setting {loc}: {first.get('msg')}"
        ) from e
