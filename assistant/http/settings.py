"""Settings of the HTTP API (the ``api:`` block), including who may call it (``api.auth``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator


class GatewaySettings(BaseModel):
    """An agency SSO gateway in front of Nuri that vouches for its users with signed headers.

    The gateway sends the user's identity in headers and an HMAC-SHA256 signature over them
    (:func:`assistant.http.auth.gateway_signature`) made with a secret only it and Nuri know.
    Headers without a valid, fresh signature are ignored: a client that reaches the port
    directly cannot claim an agency."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = Field(False, description="Accept identities signed by the agency gateway (needs `secret`).")
    secret: SecretStr | None = Field(
        None,
        description="Shared HMAC secret of the gateway (set it from the environment: NURI_API__AUTH__GATEWAY__SECRET).",
    )
    max_skew_s: int = Field(300, gt=0, description="Signed headers older than this many seconds are refused.")
    max_future_skew_s: int = Field(
        5,
        ge=0,
        description="Signed headers dated more than this many seconds in the future are refused (clock skew "
        "between the gateway and Nuri; keep the clocks on NTP).",
    )
    replay_cache_size: int = Field(
        100_000,
        gt=0,
        description="Signatures each API process remembers to refuse a replayed request at once; every "
        "signature is also recorded (hashed, for `max_skew_s`) in the key store, which all replicas share.",
    )
    subject_header: str = Field(
        "X-Nuri-Subject", description="The user's id at the gateway (recorded in the audit trail)."
    )
    agency_header: str = Field("X-Nuri-Agency", description="The user's agency (percent-encoded UTF-8).")
    clearance_header: str = Field("X-Nuri-Clearance", description="public | internal | restricted.")
    roles_header: str = Field("X-Nuri-Roles", description="Comma-separated roles (user, admin, evaluator).")
    timestamp_header: str = Field("X-Nuri-Timestamp", description="Unix seconds when the gateway signed.")
    content_sha256_header: str = Field(
        "X-Nuri-Content-SHA256",
        description="Hex SHA-256 of the request body (of nothing for a GET); signed, and checked against the body.",
    )
    signature_header: str = Field("X-Nuri-Signature", description="Hex HMAC-SHA256 of the signed fields.")

    @model_validator(mode="after")
    def _secret_when_enabled(self) -> GatewaySettings:
        if self.enabled and (self.secret is None or len(self.secret.get_secret_value()) < 16):
            raise ValueError(
                "api.auth.gateway.enabled needs a secret of at least 16 characters (NURI_API__AUTH__GATEWAY__SECRET)"
            )
        return self


class RateLimitSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = Field(True, description="Limit requests per caller (API key or gateway subject).")
    requests_per_minute: float = Field(120.0, gt=0, description="Sustained requests per minute per caller.")
    burst: int = Field(30, gt=0, description="Requests a caller may make at once before the rate applies.")


class CorsSettings(BaseModel):
    """``api.cors``: which other web origins may call the API from a browser. None by default:
    the chat is served from the API's own origin and needs no CORS; API clients are servers."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    allowed_origins: list[str] = Field(
        default_factory=list,
        description="Origins (`https://portal.agency.go.kr`) whose pages may call `/v1/*` from a browser with an "
        "API key. Never `*`. The chat (`/ui`) refuses every cross-site request whatever this says, except a "
        "link followed to it.",
    )

    @model_validator(mode="after")
    def _no_wildcard(self) -> CorsSettings:
        bad = [o for o in self.allowed_origins if o.strip() in ("*", "null") or "://" not in o]
        if bad:
            raise ValueError(
                f"api.cors.allowed_origins: {bad} is not an origin (scheme://host[:port]; never * or null)"
            )
        return self


class AuthSettings(BaseModel):
    """Every route except /healthz and /readyz needs an authenticated caller; there is no off switch."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    gateway: GatewaySettings = GatewaySettings()
    rate_limit: RateLimitSettings = RateLimitSettings()


class AdmissionSettings(BaseModel):
    """``api.admission``: concurrency gates of the API (:mod:`assistant.http.admission`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = Field(True, description="Gate searches and answers (off: every request starts at once).")
    search_concurrency: int = Field(
        8, gt=0, description="`/v1/search` requests running at once (each needs the query encoder and the index)."
    )
    answer_concurrency: int = Field(
        4,
        gt=0,
        description="Answers (`/v1/ask`, `/v1/chat/completions`) running at once; a streamed answer holds its "
        "place until it ends. Match it to what the model servers generate in parallel (the bundled llama.cpp "
        "writes one answer at a time; vLLM batches dozens).",
    )
    queue: int = Field(64, ge=0, description="Requests that may wait per gate; beyond it: 503 `overloaded` at once.")
    queue_timeout_s: float = Field(
        20.0, gt=0, description="A request waiting longer than this for its gate gets 503 `overloaded`."
    )
    retry_after_s: int = Field(2, ge=1, description="`Retry-After` seconds sent with 503 `overloaded`.")
    worker_threads: int = Field(
        64,
        gt=0,
        description="Worker threads for synchronous work (searches, answers, key checks, the chat UI); must "
        "exceed search + answer concurrency so other requests still find a thread.",
    )

    @model_validator(mode="after")
    def _threads_above_gates(self) -> AdmissionSettings:
        if self.enabled and self.worker_threads <= self.search_concurrency + self.answer_concurrency:
            raise ValueError(
                "api.admission.worker_threads must exceed search_concurrency + answer_concurrency "
                f"({self.worker_threads} <= {self.search_concurrency + self.answer_concurrency})"
            )
        return self


class MetricsSettings(BaseModel):
    """``GET /metrics`` (Prometheus text format)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = Field(True, description="Serve `GET /metrics`.")
    require_key: bool = Field(
        False,
        description="Only callers with the `admin` or `metrics` role may read `/metrics` (a Prometheus scraper "
        "sends its key as a bearer token). On in the production profile.",
    )


class TelemetrySettings(BaseModel):
    """Optional OpenTelemetry traces over OTLP (off unless an endpoint is set)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    otlp_endpoint: str | None = Field(
        None,
        description="OTLP/HTTP traces endpoint (e.g. `http://otel-collector:4318/v1/traces`); empty = no traces.",
    )
    service_name: str = Field("nuri-api", description="`service.name` of the traces.")


class ApiSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = Field("127.0.0.1", description="Address `nuri serve` listens on.")
    port: int = Field(8000, ge=0, le=65535, description="Port of the API and the chat UI.")
    max_body_bytes: int = Field(64 * 1024, gt=0, description="Larger request bodies get 413 before they are read.")
    body_timeout_s: float = Field(
        10.0,
        gt=0,
        description="A request body not received in full within this many seconds gets 408 `request_timeout` "
        "(a slow client never holds an answer slot: `/v1/*` bodies are read after the caller is known and "
        "before admission).",
    )
    docs: bool = Field(
        True,
        description="Serve the OpenAPI description and pages (`/openapi.json`, `/docs`, `/redoc`). Off in the "
        "production profile.",
    )
    readiness_cache_s: float = Field(
        2.0,
        ge=0,
        description="`/readyz` reuses its last result for this long (probes of every model endpoint and an index "
        "count are not run for each call).",
    )
    shutdown_grace_s: float = Field(
        30.0,
        ge=0,
        description="On SIGTERM (or Ctrl-C): new requests get 503 `shutting_down` and `/readyz` 503; requests "
        "already running (streamed answers) get this long to finish, then the server stops. Kubernetes' "
        "terminationGracePeriodSeconds must exceed the preStop pause + this (deploy/k8s).",
    )
    citations_in_content: Literal["footer", "off"] = Field(
        "footer",
        description="`/v1/chat/completions`: `footer` appends the sources (출처: [n] …) to the answer's content, "
        "for OpenAI clients that drop Nuri's `citations` field (LangChain's ChatOpenAI); `off`. "
        "`annotations` (url_citation per [n] marker) are always on the message.",
    )
    auth: AuthSettings = AuthSettings()
    cors: CorsSettings = CorsSettings()
    admission: AdmissionSettings = AdmissionSettings()
    metrics: MetricsSettings = MetricsSettings()
    telemetry: TelemetrySettings = TelemetrySettings()
