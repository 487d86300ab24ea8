"""Settings of the HTTP API (the ``api:`` block)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ApiSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = Field("127.0.0.1", description="Address `nuri serve` listens on.")
    port: int = Field(8000, ge=0, le=65535, description="Port of the API and the chat UI.")
    max_body_bytes: int = Field(64 * 1024, gt=0, description="Larger request bodies get 413 before they are read.")
    agency_header: str = Field(
        "X-Nuri-Agency",
        description="Header carrying the caller's agency (percent-encoded UTF-8), set by the agency's gateway/SSO.",
    )
    citations_in_content: Literal["footer", "off"] = Field(
        "footer",
        description="`/v1/chat/completions`: `footer` appends the sources (출처: [n] …) to the answer's content, "
        "for OpenAI clients that drop Nuri's `citations` field (LangChain's ChatOpenAI); `off`. "
        "`annotations` (url_citation per [n] marker) are always on the message.",
    )
    roles_header: str = Field(
        "X-Nuri-Roles",
        description="Header carrying the caller's roles (comma-separated, e.g. `evaluator`), set by the agency's gateway/SSO.",
    )
