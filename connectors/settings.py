"""Connector options (the ``connectors:`` block of configs/*.yaml)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ConnectorSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    max_file_mb: float = Field(50.0, gt=0, description="Files larger than this are refused.")
    statute_addenda: Literal["none", "latest", "all"] = Field(
        "latest",
        description=(
            "Which 부칙 (addenda) of a statute to index: the most recent one (its 시행일 and "
            "경과조치 are what applies now), all of them, or none."
        ),
    )
    default_access: Literal["public", "internal", "restricted"] = Field(
        "internal", description="Access level of files without metadata."
    )
