"""Finding 1 (high): other websites could use a signed-in civil servant's chat session.

Gradio answered any ``Origin`` with ``Access-Control-Allow-Credentials: true`` for a host other
than localhost, and set its sign-in cookie ``SameSite=None``: a hostile page the user opened
could call the chat with the user's access. Now the parent app has an explicit CORS policy
(``api.cors.allowed_origins``, none by default), the chat refuses cross-site requests
(``ui.cross_site``) and its cookies are ``SameSite=Lax``.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from served_api import Served, served_api

from guardrails.keys import key_id_of

HOST = "nuri.agency.go.kr"
EVIL = "https://evil.example"
PORTAL = "https://portal.agency.go.kr"


@pytest.fixture(scope="module")
def served(tmp_path_factory, embedder) -> Iterator[Served]:
    with served_api(tmp_path_factory.mktemp("cross-site"), embedder, api={"cors": {"allowed_origins": [PORTAL]}}) as s:
        yield s


def _login(s: Served, **headers: str) -> httpx.Response:
    key = s.keys["user"]
    return httpx.post(
        f"{s.url}/ui/login", data={"username": key_id_of(key), "password": key}, headers=headers, timeout=30
    )


def test_a_preflight_from_another_site_is_not_granted_credentials(served: Served):
    r = httpx.options(
        f"{served.url}/ui/gradio_api/info",
        headers={"Host": HOST, "Origin": EVIL, "Access-Control-Request-Method": "POST"},
        timeout=30,
    )
    assert r.headers.get("access-control-allow-origin") != EVIL
    assert r.headers.get("access-control-allow-credentials") != "true"
    assert r.status_code in (400, 403)


def test_the_sign_in_cookie_is_samesite_lax(served: Served):
    r = _login(served, Host=HOST, Origin=f"https://{HOST}")
    assert r.status_code == 200, r.text
    cookies = r.headers.get_list("set-cookie")
    assert cookies and all("samesite=lax" in c.lower() for c in cookies), cookies
    assert not any("samesite=none" in c.lower() for c in cookies)


def test_a_cross_site_call_with_the_users_cookie_is_refused(served: Served):
    signed_in = _login(served)
    assert signed_in.status_code == 200
    cookie = "; ".join(f"{c.name}={c.value}" for c in signed_in.cookies.jar)
    for hostile in ({"Origin": EVIL}, {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors"}, {"Origin": "null"}):
        r = httpx.post(
            f"{served.url}/ui/gradio_api/call/ask",
            json={"data": ["재택근무 일수는?", None, []]},
            headers={"Host": HOST, "Cookie": cookie, **hostile},
            timeout=30,
        )
        assert r.status_code == 403 and r.json()["error"]["code"] == "cross_site", (hostile, r.text)
        assert "access-control-allow-origin" not in r.headers
    # the same request from the chat's own page is not refused by the guard
    own = httpx.get(f"{served.url}/ui/gradio_api/info", headers={"Host": HOST, "Origin": f"https://{HOST}",
                    "Cookie": cookie, "Sec-Fetch-Site": "same-origin"}, timeout=30)  # fmt: skip
    assert own.status_code == 200, own.text
    # behind a proxy that renames the host, the name it passes on counts as the chat's own
    proxied = httpx.get(f"{served.url}/ui/gradio_api/info", headers={"Host": "nuri-api:8000", "Cookie": cookie,
                        "X-Forwarded-Host": HOST, "Origin": f"https://{HOST}"}, timeout=30)  # fmt: skip
    assert proxied.status_code == 200, proxied.text


def test_following_a_link_to_the_chat_from_another_site_still_opens_it(served: Served):
    r = httpx.get(
        f"{served.url}/ui/",
        headers={"Host": HOST, "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"},
        timeout=30,
    )
    assert r.status_code == 200  # the sign-in page: a navigation reads and changes nothing


def test_the_api_grants_cors_only_to_configured_origins(served: Served):
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
    evil = httpx.options(f"{served.url}/v1/search", headers={"Origin": EVIL, **preflight}, timeout=30)
    assert evil.headers.get("access-control-allow-origin") is None
    portal = httpx.options(f"{served.url}/v1/search", headers={"Origin": PORTAL, **preflight}, timeout=30)
    assert portal.status_code == 200 and portal.headers["access-control-allow-origin"] == PORTAL
    assert portal.headers.get("access-control-allow-credentials") != "true"  # keys, never cookies
