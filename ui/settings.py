"""Settings of the Gradio chat (the ``ui:`` block)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

SAMPLE_QUESTIONS = [
    "재택근무를 신청할 수 없는 사람은 누구인가요?",
    "상반기 정보보안 점검 기간은 언제인가요?",
    "정보공개 청구는 어떻게 하나요?",
]


class OidcSettings(BaseModel):
    """Sign-in to the chat with an agency's OpenID Connect provider (authorization code flow with
    PKCE and a nonce; the ID token's signature, issuer, audience, expiry and nonce are checked)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = Field(False, description="Offer `OpenID Connect로 로그인` on the chat's sign-in page.")
    issuer: str = Field(
        "", description="The provider's issuer URL (its `/.well-known/openid-configuration` is read from there)."
    )
    client_id: str = Field("", description="This chat's client id at the provider.")
    client_secret: SecretStr | None = Field(
        None,
        description="The client secret (`NURI_UI__OIDC__CLIENT_SECRET`; never in a file). Also signs the short-lived "
        "cookie that carries the sign-in's state between the provider's redirects, so every replica shares it.",
    )
    scopes: str = Field("openid profile email", description="Scopes asked for.")
    public_url: str = Field(
        "",
        description="The chat's public base URL as users reach it (`https://nuri.agency.go.kr`): the redirect URI "
        "is `<public_url><ui.path>/oidc/callback`. Empty: taken from the request's Host.",
    )
    agency_claim: str = Field("agency", description="ID-token claim naming the user's agency.")
    clearance_claim: str = Field(
        "clearance", description="ID-token claim with the clearance (public/internal/restricted)."
    )
    roles_claim: str = Field("roles", description="ID-token claim with the roles (a list or a comma-separated string).")
    name_claim: str = Field("name", description="ID-token claim shown as the user's name.")
    default_agency: str = Field("", description="Agency when the token names none (empty: sign-in refused).")
    default_clearance: Literal["public", "internal", "restricted"] = Field(
        "public", description="Clearance when the token names none."
    )
    timeout_s: float = Field(10.0, gt=0, description="How long a call to the provider may take.")


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
    gateway_sign_in: bool = Field(
        True,
        description="With `api.auth.gateway.enabled`: `<ui.path>/sso` signs the user in to the chat with the "
        "identity the agency's SSO gateway signed (the same headers the API takes).",
    )
    oidc: OidcSettings = OidcSettings()
    key_sign_in: bool = Field(
        True, description="The sign-in form with an API key (demo and small installs; admins and evaluators)."
    )
    evaluator_role: str = Field(
        "evaluator",
        description="Role (of the signed-in key) that may see the 평가 tab: eval runs, reports and comparisons "
        "of their own agency (admins: all).",
    )
