"""Settings of the Gradio chat (the ``ui:`` block)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SAMPLE_QUESTIONS = [
    "재택근무를 신청할 수 없는 사람은 누구인가요?",
    "상반기 정보보안 점검 기간은 언제인가요?",
    "정보공개 청구는 어떻게 하나요?",
]


class UiSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = Field(True, description="Serve the Gradio chat with the API.")
    path: str = Field("/ui", description="Where the chat is mounted.")
    factory: str = Field(
        "ui.chat:mount_chat",
        description="`module:function` that mounts the chat on the FastAPI app (assistant/ never imports ui/).",
    )
    title: str = Field("누리 — 공공기관 문서·법령 도우미", description="Page title.")
    session_ttl_s: float = Field(
        12 * 3600,
        gt=0,
        description="How long a chat sign-in lasts. Sign-ins are kept (hashed) in the key store's database, "
        "so every API replica knows them.",
    )
    cookie_samesite: Literal["lax", "strict"] = Field(
        "lax",
        description="`SameSite` of the chat's sign-in cookies (Gradio's own is `None`): `lax` sends it when a "
        "user follows a link to the chat, `strict` only from the chat's own pages. Cross-site requests to the "
        "chat are refused either way (`ui.cross_site`).",
    )
    concurrency_limit: int = Field(8, gt=0, description="Chat answers generated at once; later ones queue.")
    examples: list[str] = Field(
        default_factory=lambda: list(SAMPLE_QUESTIONS),
        description="Example questions shown in the chat (default: questions on the sample corpus).",
    )
    evaluator_role: str = Field(
        "evaluator",
        description="Role (of the signed-in key) that may see the 평가 tab: eval runs, reports and comparisons "
        "of their own agency (admins: all).",
    )
