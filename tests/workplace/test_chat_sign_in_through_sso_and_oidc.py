"""The chat signs civil servants in the way their agency does: through the SSO gateway's signed
identity (``/ui/sso``) or an OpenID Connect provider (``/ui/oidc/login``; here a real local
provider, ``oidc-provider-mock`` from the package registry, speaking the authorization code flow
with PKCE and a nonce). Either sign-in is a chat session whose every answer reads with that
identity's principal and is audited under its subject; a replayed gateway request, a forged
state or a token without an agency signs nobody in."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pytest
from gradio_client import Client
from oidc_provider_mock import User, run_server_in_thread
from security.served_api import GATEWAY_SECRET, QUESTION, Served, served_api

from assistant.http.auth import body_sha256, gateway_signature

CLIENT_ID = "nuri-chat"
CLIENT_SECRET = "oidc-client-secret-for-the-tests-0123456789"


def gateway_headers(path: str, subject: str, agency: str, host: str) -> dict[str, str]:
    """The headers the agency's SSO gateway adds to a browser's GET, signed as it signs them."""
    ts, agency_q, digest = str(int(time.time())), quote(agency), body_sha256(b"")
    signature = gateway_signature(
        GATEWAY_SECRET, ts, subject, agency_q, "internal", "user", "GET", path, host=host, content_sha256=digest
    )
    return {
        "X-Nuri-Subject": subject, "X-Nuri-Agency": agency_q, "X-Nuri-Clearance": "internal",
        "X-Nuri-Roles": "user", "X-Nuri-Timestamp": ts, "X-Nuri-Content-SHA256": digest,
        "X-Nuri-Signature": signature,
    }  # fmt: skip


def chat_answer(url: str, cookie: str) -> str:
    client = Client(url + "/ui", verbose=False, headers={"Cookie": f"access-token-nuri={cookie}"}, download_files=False)
    try:
        _, chat, _, _ = client.predict(QUESTION, api_name="/ask")
    finally:
        client.close()
    content = chat[-1]["content"]
    return content if isinstance(content, str) else "".join(p.get("text", "") for p in content)


def audited_subjects(served: Served) -> list[tuple[str | None, str | None]]:
    assert served.service.audit is not None
    return [(r.principal_id, r.agency) for r in served.service.audit.records() if r.endpoint == "ui:chat"]


@pytest.fixture()
def gateway_site(tmp_path: Path, embedder: Any, llamacpp_server: Any) -> Iterator[Served]:
    with served_api(tmp_path, embedder, model_url=llamacpp_server.base_url) as served:
        yield served


def test_the_gateways_signed_identity_signs_in_to_the_chat_once(gateway_site: Served) -> None:
    url, host = gateway_site.url, urlsplit(gateway_site.url).hostname or "127.0.0.1"
    unsigned = httpx.get(url + "/ui/sso")
    assert unsigned.status_code == 401 and "기관 통합 로그인" in unsigned.text and "Traceback" not in unsigned.text

    signed = gateway_headers("/ui/sso", subject="kim.civil", agency="나부처", host=host)
    first = httpx.get(url + "/ui/sso", headers=signed)
    assert first.status_code == 303 and first.headers["location"] == "/ui/"
    cookie = first.cookies.get("access-token-nuri")
    assert cookie and "samesite=lax" in first.headers["set-cookie"].lower()
    assert httpx.get(url + "/ui/sso", headers=signed).status_code == 401  # the same signed request again: a replay

    assert httpx.get(url + "/ui/config").status_code == 401
    assert httpx.get(url + "/ui/config", cookies={"access-token-nuri": cookie}).status_code == 200
    assert "주 2일" in chat_answer(url, cookie)
    assert audited_subjects(gateway_site)[-1] == ("gateway:kim.civil", "나부처")


@pytest.fixture()
def provider() -> Iterator[str]:
    users = [
        User(sub="hong", claims={"agency": "나부처", "clearance": "internal", "roles": ["user"], "name": "홍길동"}),
        User(sub="drifter", claims={"name": "소속 없음"}),
    ]
    with run_server_in_thread(user_claims=users, require_nonce=True) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture()
def oidc_site(tmp_path: Path, embedder: Any, llamacpp_server: Any, provider: str) -> Iterator[Served]:
    oidc = {"enabled": True, "issuer": provider, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    with served_api(tmp_path, embedder, model_url=llamacpp_server.base_url, ui={"oidc": oidc}) as served:
        yield served


def oidc_sign_in(site: Served, sub: str, tamper_state: bool = False) -> httpx.Response:
    """The browser's part: our login route, the provider's form (the user picks ``sub``), the
    provider's redirect back to our callback."""
    with httpx.Client(base_url=site.url, timeout=30) as browser:
        start = browser.get("/ui/oidc/login")
        assert start.status_code == 303
        authorize = start.headers["location"]
        assert "code_challenge=" in authorize and "nonce=" in authorize and "state=" in authorize
        form = httpx.get(authorize, timeout=30)
        assert form.status_code == 200
        back = httpx.post(authorize, data={"sub": sub, "action": "authorize"}, timeout=30)
        assert back.status_code in (302, 303), back.text[:500]
        callback = back.headers["location"]
        assert callback.startswith(site.url + "/ui/oidc/callback")
        if tamper_state:
            callback = re.sub(r"state=[^&]+", "state=forged", callback)
        return browser.get(callback)


def test_an_openid_connect_sign_in_reads_with_the_id_tokens_agency_and_roles(oidc_site: Served) -> None:
    login_page = httpx.get(oidc_site.url + "/ui/", follow_redirects=True)
    done = oidc_sign_in(oidc_site, "hong")
    assert done.status_code == 303 and done.headers["location"] == "/ui/", done.text[:300]
    cookie = done.cookies.get("access-token-nuri")
    assert cookie
    assert "주 2일" in chat_answer(oidc_site.url, cookie)
    assert audited_subjects(oidc_site)[-1] == ("oidc:hong", "나부처")
    assert login_page.status_code == 200


def test_a_forged_state_or_a_token_without_an_agency_signs_nobody_in(oidc_site: Served) -> None:
    forged = oidc_sign_in(oidc_site, "hong", tamper_state=True)
    assert forged.status_code == 401 and "다시 로그인" in forged.text
    assert "access-token-nuri" not in forged.cookies
    drifter = oidc_sign_in(oidc_site, "drifter")
    assert drifter.status_code == 401 and "소속 기관" in drifter.text
    assert "access-token-nuri" not in drifter.cookies
