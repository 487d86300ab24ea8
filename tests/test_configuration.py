"""Configuration has one source of truth: the schema's defaults are the embedded profile, a
profile file holds only what it changes, the docs' table is generated from the schema, and
settings cannot be changed after loading."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import REPO_ROOT
from pydantic import ValidationError

from configs import resources
from configs.settings import ConfigFileError, Settings, load_settings


def _leaves(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict) and value and key not in ("env", "extra_body"):
            out.update(_leaves(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def test_docs_configuration_and_error_tables_match_the_code():
    proc = subprocess.run(
        [sys.executable, "scripts/docs_tables.py", "--check"], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr


def test_every_setting_has_a_description_for_the_table():
    from configs.reference import rows

    undocumented = [key for _, key, _, description in rows() if not description.strip()]
    assert not undocumented


@pytest.mark.parametrize("profile", resources.profile_names())
def test_profiles_hold_only_what_they_change(profile: str):
    """A value equal to the schema default in a profile is drift waiting to happen."""
    shipped = yaml.safe_load(resources.profile(profile).read_text(encoding="utf-8")) or {}
    defaults = _leaves(Settings.model_construct().model_dump(mode="json"))
    same = {k: v for k, v in _leaves(shipped).items() if k != "profile" and defaults.get(k) == v}
    assert not same, f"{profile}.yaml repeats schema defaults: {same}"


def test_default_profile_is_the_schema(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("NURI_PROFILE", raising=False)
    monkeypatch.delenv("NURI_DATA_DIR", raising=False)  # the test session's throw-away data folder
    loaded = load_settings().model_dump()
    assert loaded == Settings.model_construct().model_dump() | {"profile": "default"}


def test_production_profile_and_environment_override(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("NURI_PROFILE", "production")
    monkeypatch.setenv("NURI_SEARCH__TOP_K", "7")
    s = load_settings()
    assert (s.profile, s.index.backend, s.llm.mode, s.search.top_k) == ("production", "qdrant", "chat", 7)
    assert s.chunking.max_tokens == Settings.model_construct().chunking.max_tokens  # not in the file: schema


def test_an_operators_own_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    own = tmp_path / "nuri.yaml"
    own.write_text("answer:\n  top_k: 5\n", encoding="utf-8")
    monkeypatch.setenv("NURI_CONFIG", str(own))
    assert load_settings().answer.top_k == 5
    own.write_text("answr:\n  top_k: 5\n", encoding="utf-8")
    with pytest.raises(ConfigFileError, match="answr"):
        load_settings()
    own.write_text("answer:\n  top_kk: 5\n", encoding="utf-8")
    with pytest.raises(ConfigFileError, match="top_kk"):
        load_settings()
    monkeypatch.setenv("NURI_CONFIG", str(tmp_path / "missing.yaml"))
    with pytest.raises(ConfigFileError, match="missing.yaml"):
        load_settings()


def test_unknown_profile_names_the_shipped_ones(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("NURI_PROFILE", "prod")
    with pytest.raises(ConfigFileError, match="production"):
        load_settings()


def test_settings_are_immutable_and_override_returns_a_validated_copy():
    s = load_settings()
    with pytest.raises(ValidationError):
        s.answer.top_k = 9  # type: ignore[misc]  # assigning to a frozen model is the point
    with pytest.raises(ValidationError):
        s.index_dir = Path("elsewhere")  # type: ignore[misc]  # likewise
    t = s.override(answer={"top_k": 9}, llm={"base_urls": ["http://x/v1"]})
    assert (t.answer.top_k, t.llm.base_urls, s.answer.top_k, s.llm.base_urls) == (9, ["http://x/v1"], 3, [])
    assert t.answer.max_passage_chars == s.answer.max_passage_chars  # siblings kept
    with pytest.raises(ValidationError):
        s.override(answer={"top_k": 0})


def test_relative_paths_resolve_against_home(tmp_path: Path):
    s = load_settings(home=tmp_path)
    assert s.resolve(s.index_dir) == tmp_path / "data" / "index"
    assert s.resolve("/abs/x") == Path("/abs/x")
