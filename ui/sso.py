"""Signing in to the chat the way civil servants sign in: through the agency's SSO gateway or an
OpenID Connect provider (the API-key form stays for the demo and small installs).

Both end the same way: the identity (subject, agency, clearance, roles) is remembered in the key
store for the session's length (:meth:`guardrails.keys.KeyStore.remember_identity`), a sign-in
session names it (the same table and cookie the key form uses, :mod:`ui.sign_in`, so every
replica knows it), and the browser is sent to the chat. Every event of the chat then reads with
that identity's principal (:meth:`assistant.service.NuriService.caller_for_key`).

* ``GET <ui.path>/sso``: the gateway's signed headers (``assistant.http.auth``: the same
  signature, freshness and replay checks as the API) are the identity. The agency's gateway
  sends users there (or the sign-in page's link does).
* ``GET <ui.path>/oidc/login`` → the provider → ``GET <ui.path>/oidc/callback``: the
  authorization code flow with PKCE and a nonce (Authlib's client), the ID token checked with
  the provider's published keys (joserfc: signature, issuer, audience, expiry, nonce). The
  state travels in a short-lived cookie signed with the client secret, so the callback may land
  on any replica.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any, get_args

import anyio.to_thread
import httpx
from authlib.integrations.httpx_client import AsyncOAuth2Client
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from assistant.http.errors import ApiError
from connectors.errors import NuriError
from connectors.types import Role

if TYPE_CHECKING:
    import fastapi

    from assistant.service import NuriService
    from configs.settings import Settings
    from ui.settings import OidcSettings

log = logging.getLogger("nuri.ui.sign_in")

COOKIE = "access-token-nuri"  # ui.sign_in.COOKIE_ID: the cookie Gradio reads
STATE_COOKIE = "nuri-oidc"
STATE_TTL_S = 600
CLEARANCES = ("public", "internal", "restricted")


class SignInRefused(NuriError):
    """A sign-in the chat cannot accept (shown to the user on a Korean page)."""

    code = "unauthenticated"


def failure_page(message: str, path: str, status: int = 401) -> HTMLResponse:
    """A plain Korean page that says what went wrong and what to do (no details of the cause)."""
    body = (
        '<!doctype html><html lang="ko"><head><meta charset="utf-8"><title>로그인 실패 · 누리</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
        '<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto; line-height: 1.6; color: #1a1a1a">'
        f"<h1>로그인하지 못했습니다</h1><p>{_escape(message)}</p>"
        f'<p><a href="{_escape(path)}/">누리 로그인 화면으로 돌아가기</a></p></body></html>'
    )
    return HTMLResponse(body, status_code=status)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def sign_in(
    response: Response,
    tokens: MutableMapping[str, str],
    service: NuriService,
    settings: Settings,
    *,
    subject: str,
    agency: str,
    clearance: str,
    roles: frozenset[str],
    display_name: str = "",
) -> None:
    """Remember the identity, open a sign-in session on it and set the session cookie."""
    if service.keys is None:
        raise SignInRefused("로그인 저장소가 열려 있지 않습니다")
    ttl = settings.ui.session_ttl_s
    identity = service.keys.remember_identity(subject, agency, clearance, roles, ttl, display_name)
    token = secrets.token_urlsafe(16)
    tokens[token] = identity.identity_id
    secure = settings.ui.oidc.public_url.startswith("https://")
    response.set_cookie(
        COOKIE, token, max_age=int(ttl), httponly=True, samesite=settings.ui.cookie_samesite, secure=secure, path="/"
    )
    log.info("chat sign-in", extra={"subject": subject, "agency": agency, "via": subject.split(":", 1)[0]})


def install_sign_in_routes(
    app: fastapi.FastAPI, service: NuriService, settings: Settings, tokens: MutableMapping[str, str]
) -> None:
    """The gateway and OpenID Connect sign-in routes, on the parent app before the chat is
    mounted (so they are matched before the mount)."""
    path = settings.ui.path.rstrip("/")
    if settings.ui.gateway_sign_in and settings.api.auth.gateway.enabled:

        @app.get(f"{path}/sso", include_in_schema=False)
        async def gateway_sign_in(request: Request) -> Response:
            auth = request.app.state.auth
            headers, query = request.headers, request.url.query
            try:
                who = await anyio.to_thread.run_sync(
                    lambda: auth.resolve(headers, "GET", request.url.path, headers.get("host", ""), query)
                )
            except ApiError as e:
                log.warning("gateway sign-in refused", extra={"code": e.code})
                return failure_page(
                    "기관 통합 로그인(SSO) 정보를 확인하지 못했습니다. 브라우저를 새로 고치거나 다시 로그인해 주세요. "
                    "계속되면 담당 부서에 문의하세요.",
                    path,
                    e.status,
                )
            if not who.subject.startswith("gateway:") or not who.principal.agency:
                return failure_page("기관 통합 로그인(SSO)을 거쳐 접속해 주세요.", path, 401)
            response = RedirectResponse(f"{path}/", status_code=303)
            await anyio.to_thread.run_sync(
                lambda: sign_in(
                    response, tokens, service, settings, subject=who.subject, agency=who.principal.agency or "",
                    clearance=who.principal.clearance, roles=who.roles,
                )
            )  # fmt: skip
            return response

    oidc = settings.ui.oidc
    if oidc.enabled:
        provider = OidcProvider(oidc)

        @app.get(f"{path}/oidc/login", include_in_schema=False)
        async def oidc_login(request: Request) -> Response:
            try:
                url, state_cookie = await provider.authorization(_redirect_uri(request, oidc, path))
            except SignInRefused as e:
                return failure_page(str(e), path, 503)
            response = RedirectResponse(url, status_code=303)
            response.set_cookie(
                STATE_COOKIE, state_cookie, max_age=STATE_TTL_S, httponly=True, samesite="lax", path=f"{path}/oidc"
            )
            return response

        @app.get(f"{path}/oidc/callback", include_in_schema=False)
        async def oidc_callback(request: Request) -> Response:
            params = request.query_params
            if params.get("error"):
                return failure_page(f"로그인이 취소되었거나 거절되었습니다 ({params.get('error')}).", path, 401)
            try:
                claims = await provider.finish(
                    params.get("code", ""),
                    params.get("state", ""),
                    request.cookies.get(STATE_COOKIE, ""),
                    _redirect_uri(request, oidc, path),
                )
                identity = provider.identity(claims)
            except SignInRefused as e:
                log.warning("OpenID Connect sign-in refused", extra={"reason": str(e)})
                return failure_page(str(e), path, 401)
            response = RedirectResponse(f"{path}/", status_code=303)
            response.delete_cookie(STATE_COOKIE, path=f"{path}/oidc")
            await anyio.to_thread.run_sync(lambda: sign_in(response, tokens, service, settings, **identity))
            return response


def _redirect_uri(request: Request, oidc: OidcSettings, path: str) -> str:
    base = oidc.public_url.rstrip("/") or f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"
    return f"{base}{path}/oidc/callback"


def sign_in_links(settings: Settings) -> str:
    """The sign-in page's links to the gateway and OpenID Connect sign-ins (Markdown)."""
    path = settings.ui.path.rstrip("/")
    links = []
    if settings.ui.gateway_sign_in and settings.api.auth.gateway.enabled:
        links.append(f"[기관 통합 로그인(SSO)으로 로그인]({path}/sso)")
    if settings.ui.oidc.enabled:
        links.append(f"[OpenID Connect로 로그인]({path}/oidc/login)")
    return " · ".join(links)


class OidcProvider:
    """One OpenID Connect provider: its discovery document and keys (read on first use and
    cached), the authorization request and the code exchange."""

    def __init__(self, settings: OidcSettings) -> None:
        self.settings = settings
        self._discovery: dict[str, Any] | None = None
        self._keys: tuple[float, KeySet] | None = None

    @property
    def secret(self) -> str:
        return self.settings.client_secret.get_secret_value() if self.settings.client_secret else ""

    async def discovery(self) -> dict[str, Any]:
        if self._discovery is None:
            url = self.settings.issuer.rstrip("/") + "/.well-known/openid-configuration"
            self._discovery = await self._get_json(url)
        return self._discovery

    async def key_set(self, refresh: bool = False) -> KeySet:
        if self._keys is None or refresh or time.monotonic() - self._keys[0] > 3600:
            jwks = await self._get_json(str((await self.discovery())["jwks_uri"]))
            self._keys = (time.monotonic(), KeySet.import_key_set(jwks))  # type: ignore[arg-type]
        return self._keys[1]

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(timeout=self.settings.timeout_s) as client:
                response = await client.get(url)
                response.raise_for_status()
                data = response.json()
        except (httpx.HTTPError, ValueError) as e:
            log.error("OpenID Connect provider unreachable", extra={"url": url, "error": str(e)})
            raise SignInRefused(
                "로그인 서비스(OpenID Connect)에 연결하지 못했습니다. 잠시 후 다시 시도해 주세요."
            ) from e
        if not isinstance(data, dict):
            raise SignInRefused("로그인 서비스(OpenID Connect)의 응답을 읽을 수 없습니다.")
        return data

    def _client(self, redirect_uri: str) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=self.settings.client_id,
            client_secret=self.secret or None,
            scope=self.settings.scopes,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            timeout=self.settings.timeout_s,
        )

    async def authorization(self, redirect_uri: str) -> tuple[str, str]:
        """(the provider's authorization URL, the signed state cookie)."""
        endpoint = str((await self.discovery())["authorization_endpoint"])
        verifier, nonce = secrets.token_urlsafe(48), secrets.token_urlsafe(16)
        client = self._client(redirect_uri)
        url, state = client.create_authorization_url(endpoint, code_verifier=verifier, nonce=nonce)
        await client.aclose()
        pending = {"state": state, "nonce": nonce, "verifier": verifier, "exp": int(time.time()) + STATE_TTL_S}
        return url, self._sign(pending)

    async def finish(self, code: str, state: str, cookie: str, redirect_uri: str) -> dict[str, Any]:
        """The ID token's checked claims for the code the provider sent back."""
        pending = self._unsign(cookie)
        if not code or not state or pending is None or not hmac.compare_digest(state, str(pending.get("state", ""))):
            raise SignInRefused("로그인 요청이 만료되었거나 올바르지 않습니다. 처음부터 다시 로그인해 주세요.")
        endpoint = str((await self.discovery())["token_endpoint"])
        client = self._client(redirect_uri)
        try:
            token = await client.fetch_token(endpoint, code=code, code_verifier=pending["verifier"])
        except Exception as e:
            log.warning("OpenID Connect code exchange failed", extra={"error": str(e)})
            raise SignInRefused("로그인 서비스에서 인증 정보를 받지 못했습니다. 처음부터 다시 로그인해 주세요.") from e
        finally:
            await client.aclose()
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise SignInRefused("로그인 서비스가 ID 토큰을 보내지 않았습니다.")
        return await self.check_id_token(id_token, str(pending["nonce"]))

    async def check_id_token(self, id_token: str, nonce: str) -> dict[str, Any]:
        discovery = await self.discovery()
        try:
            try:
                decoded = jwt.decode(id_token, await self.key_set())
            except (JoseError, ValueError):  # keys rotated: read them again once
                decoded = jwt.decode(id_token, await self.key_set(refresh=True))
            claims = dict(decoded.claims)
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": str(discovery.get("issuer", self.settings.issuer))},
                aud={"essential": True, "value": self.settings.client_id},
                exp={"essential": True},
                sub={"essential": True},
                nonce={"essential": True, "value": nonce},
            ).validate(claims)
        except (JoseError, ValueError) as e:
            log.warning("ID token refused", extra={"error": str(e)})
            raise SignInRefused("로그인 서비스의 ID 토큰을 확인하지 못했습니다. 처음부터 다시 로그인해 주세요.") from e
        return claims

    def identity(self, claims: dict[str, Any]) -> dict[str, Any]:
        """The chat identity of an ID token's claims (settings name the claims)."""
        s = self.settings
        agency = str(claims.get(s.agency_claim) or s.default_agency or "").strip()
        if not agency:
            raise SignInRefused(
                "로그인 정보에 소속 기관이 없어 열람 범위를 정할 수 없습니다. 담당 부서에 계정 설정을 요청하세요."
            )
        clearance = str(claims.get(s.clearance_claim) or s.default_clearance).strip().lower()
        if clearance not in CLEARANCES:
            clearance = s.default_clearance
        raw_roles = claims.get(s.roles_claim)
        if isinstance(raw_roles, str):
            roles = {r.strip() for r in raw_roles.split(",") if r.strip()}
        elif isinstance(raw_roles, list):
            roles = {str(r).strip() for r in raw_roles if str(r).strip()}
        else:
            roles = set()
        known = set(get_args(Role))
        return {
            "subject": f"oidc:{claims['sub']}",
            "agency": agency,
            "clearance": clearance,
            "roles": frozenset((roles & known) or {"user"}),
            "display_name": str(claims.get(s.name_claim) or ""),
        }

    # -- the state cookie ------------------------------------------------------------------
    def _mac(self, data: bytes) -> str:
        key = hashlib.sha256(("nuri-oidc-state:" + self.secret + self.settings.client_id).encode()).digest()
        return base64.urlsafe_b64encode(hmac.new(key, data, hashlib.sha256).digest()).decode().rstrip("=")

    def _sign(self, pending: dict[str, Any]) -> str:
        data = base64.urlsafe_b64encode(json.dumps(pending, separators=(",", ":")).encode()).decode().rstrip("=")
        return f"{data}.{self._mac(data.encode())}"

    def _unsign(self, cookie: str) -> dict[str, Any] | None:
        data, _, mac = cookie.partition(".")
        if not data or not hmac.compare_digest(mac, self._mac(data.encode())):
            return None
        try:
            pending = json.loads(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
        except ValueError:
            return None
        if not isinstance(pending, dict) or int(pending.get("exp", 0)) < time.time():
            return None
        return pending
