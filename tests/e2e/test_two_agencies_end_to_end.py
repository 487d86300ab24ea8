"""Two agencies on one platform, end to end, as an operator and their people use it: every step is
a real process or a real browser.

1. the operator indexes a corpus of two agencies (``nuri ingest``; 한빛데이터원's incident report is
   restricted to 한빛데이터원), issues a key for a user of each agency (``nuri keys create``) and
   defines an assistant for each agency from YAML files (``nuri assistants create``): 누리행정청's
   default reads only its HR rules; 한빛데이터원's security assistant is open to every agency and
   reads only 한빛데이터원's documents;
2. the server runs as operators run it (``nuri serve``, answers quoted from the passages, the test
   session's llama.cpp server for readiness);
3. each caller's ``GET /v1/models`` lists what that caller may use, the agency default first;
4. in the chat (Debian's chromium), each user finds their agency's default preselected and only the
   assistants they may use; the 누리행정청 user asks through 한빛데이터원's assistant and is given its
   public guide, never its restricted report, nor the user's own agency's documents;
5. ``nuri audit export`` names the assistant of every record and ``nuri usage --by assistant``
   counts the questions per assistant.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from conftest import REPO_ROOT, write_md
from playwright.sync_api import Browser, Page, expect, sync_playwright

A, B = "누리행정청", "한빛데이터원"
SHOTS = REPO_ROOT / "build" / "e2e-screenshots"
B_SECRET = "은하수 서버의 재택근무 접속 기록 1,204건이 유출되었다"
QUESTION = "재택근무자는 보안 점검표를 언제 제출하나요?"
WAIT_MS = 90_000

A_HR = """name: 인사 규정 도우미
agency: 누리행정청
default: true
description: 누리행정청 인사 규정만 읽고 답합니다.
scope: {doc_types: [hr]}
examples: ["재택근무는 주 며칠까지 신청하나요?"]
"""
B_SECURITY = """name: 한빛 보안 도우미
agency: 한빛데이터원
default: true
description: 한빛데이터원의 보안 문서로 답합니다. 모든 기관이 쓸 수 있습니다.
users: {agencies: ["*"]}
scope: {agencies: [한빛데이터원]}
"""


def write_corpus(corpus: Path) -> None:
    write_md(
        corpus,
        "b_breach.md",
        "한빛데이터원 재택근무 침해 사고 보고",
        {"사고 개요": f"{B_SECRET}. 재택근무자의 보안 점검표 제출이 누락되어 있었다."},
        meta=f"agency: {B}\naccess: restricted\nallowed_agencies: [{B}]\ndoc_type: report\n",
    )
    write_md(
        corpus,
        "b_guide.md",
        "한빛데이터원 재택근무 보안 수칙",
        {"보안 점검": "재택근무자는 매주 금요일 보안 점검표를 작성해 정보보호팀에 제출한다."},
        meta=f"agency: {B}\naccess: public\ndoc_type: guideline\n",
    )
    write_md(
        corpus,
        "a_guide.md",
        "누리행정청 재택근무 운영 지침",
        {"보안 점검": "재택근무자의 보안 점검표는 매월 말일까지 부서 보안 담당관에게 제출한다."},
        meta=f"agency: {A}\naccess: internal\ndoc_type: guideline\n",
    )
    write_md(corpus, "a_hr.md", "누리행정청 인사 규정",
             {"재택근무 신청": "재택근무는 주 2일까지 신청할 수 있으며 보안 서약서를 제출해야 한다."},
             meta=f"agency: {A}\naccess: public\ndoc_type: hr\n")  # fmt: skip


@dataclass
class Platform:
    home: Path
    env: dict[str, str]
    url: str
    keys: dict[str, str]

    def nuri(self, *args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([sys.executable, "-m", "assistant.cli", *args], capture_output=True, text=True,
                              env=self.env, cwd=self.home, timeout=300)  # fmt: skip
        assert done.returncode == 0, f"nuri {' '.join(args)}: {done.stderr[-2000:]}"
        return done


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory, llamacpp_server: object) -> Iterator[Platform]:
    home = tmp_path_factory.mktemp("two-agencies")
    write_corpus(home / "corpus")
    port = free_port()
    env = {**os.environ, "NURI_HOME": str(home), "NURI_DATA_DIR": str(home / "data"), "NURI_API__PORT": str(port),
           "NURI_LLM__BASE_URLS": json.dumps([llamacpp_server.base_url]),  # type: ignore[attr-defined]
           "NURI_ANSWER__GENERATION": "extractive", "NURI_UI__EXAMPLES": "[]"}  # fmt: skip
    platform = Platform(home, env, f"http://127.0.0.1:{port}", {})
    platform.nuri("ingest", "corpus", "--quiet")
    for who, agency in (("a", A), ("b", B)):
        made = platform.nuri("keys", "create", "--agency", agency, "--clearance", "restricted", "--role", "user")
        platform.keys[who] = made.stdout.strip().splitlines()[-1]
    for name, text in (("a-hr", A_HR), ("b-security", B_SECURITY)):
        (home / f"{name}.yaml").write_text(text, encoding="utf-8")
        platform.nuri("assistants", "create", name, "--file", f"{name}.yaml")
    server = subprocess.Popen([sys.executable, "-m", "assistant.cli", "serve"], env=env, cwd=home,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert server.poll() is None, server.stderr.read().decode()[-3000:] if server.stderr else "exited"
            try:
                if httpx.get(platform.url + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        else:
            pytest.fail("nuri serve did not become ready in 180 s")
        yield platform
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def models(platform: Platform, who: str) -> list[str]:
    r = httpx.get(platform.url + "/v1/models", headers={"Authorization": f"Bearer {platform.keys[who]}"}, timeout=30)
    assert r.status_code == 200, r.text
    return [m["id"] for m in r.json()["data"]]


def signed_in(browser: Browser, platform: Platform, who: str) -> Page:
    page = browser.new_context(viewport={"width": 1280, "height": 720}, locale="ko-KR").new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(platform.url + "/ui/")
    key = platform.keys[who]
    page.locator("input").first.fill(key.split("_")[1])
    page.locator("input[type=password]").fill(key)
    page.keyboard.press("Enter")
    page.wait_for_selector("#nuri-question textarea")
    return page


def offered(page: Page) -> list[str | None]:
    field = page.locator("#nuri-assistant input")
    field.blur()
    field.click()
    expect(field).to_have_attribute("aria-expanded", "true")
    options = page.locator("#nuri-assistant [role=option]")
    expect(options.first).to_be_visible()
    names = [o.get_attribute("aria-label") for o in options.all()]
    field.blur()
    return names


def test_two_agencies_each_get_their_assistants_scoped_audited_and_counted(platform: Platform) -> None:
    # the models each caller may use: its agency's default first, the shared one of the other agency after
    assert models(platform, "a") == ["nuri", "a-hr", "b-security"]
    assert models(platform, "b") == ["nuri", "b-security"]

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        pytest.fail("Debian's chromium is missing: run `bash scripts/chromium_setup.sh` (make test does)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
        try:
            page_b = signed_in(browser, platform, "b")
            expect(page_b.locator("#nuri-assistant input")).to_have_value("한빛 보안 도우미")
            assert offered(page_b) == ["누리 (기본)", "한빛 보안 도우미"]
            page_b.context.close()

            page = signed_in(browser, platform, "a")
            expect(page.locator("#nuri-assistant input")).to_have_value("인사 규정 도우미")
            assert offered(page) == ["누리 (기본)", "인사 규정 도우미", "한빛 보안 도우미 · 한빛데이터원"]
            field = page.locator("#nuri-assistant input")
            field.blur()  # the list opens when the box gains focus
            field.click()
            expect(field).to_have_attribute("aria-expanded", "true")
            page.locator('#nuri-assistant [role=option][aria-label="한빛 보안 도우미 · 한빛데이터원"]').click()
            expect(page.locator("#nuri-assistant-about")).to_contain_text("한빛 보안 도우미")
            expect(page.locator("#nuri-assistant-about")).not_to_contain_text("기본")  # B's default, not A's
            box = page.locator("#nuri-question textarea")
            box.fill(QUESTION)
            box.press("Enter")
            page.wait_for_function(
                "() => { const b = [...document.querySelectorAll('#nuri-chat .bot')].pop();"
                " return b && b.innerText.trim() && b.innerText.trim() !== '…'; }"
            )
            expect(page.locator("#nuri-notice")).to_contain_text("도우미: 한빛 보안 도우미")
            expect(page.locator("#nuri-citations")).to_contain_text("한빛데이터원 재택근무 보안 수칙")
            answer = page.locator("#nuri-chat .bot").last.inner_text()
            cited = page.locator("#nuri-citations").inner_text()
            assert "금요일" in answer and B_SECRET not in answer
            assert "침해 사고" not in cited and "누리행정청" not in cited  # neither B's restricted nor A's own
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / "10-two-agencies.png"), full_page=True)
            page.context.close()
        finally:
            browser.close()

    # the API through B's assistant as A: the same scope
    a = {"Authorization": f"Bearer {platform.keys['a']}"}
    asked = httpx.post(platform.url + "/v1/ask", json={"question": QUESTION, "assistant": "b-security"},
                       headers=a, timeout=120).json()  # fmt: skip
    assert {c["source"] for c in asked["citations"]} == {"b_guide.md"}
    hr = httpx.post(platform.url + "/v1/ask", json={"question": "재택근무는 주 며칠까지 신청하나요?"},
                    headers=a, timeout=120).json()  # the platform's own (no assistant)  # fmt: skip
    assert not hr["refused"]

    # the audit trail names the assistant of every exchange; usage counts per assistant
    exported = platform.nuri("audit", "export").stdout
    records = [json.loads(line) for line in exported.splitlines() if line.strip()]
    answers = [r for r in records if r["endpoint"] in ("ui:chat", "/v1/ask")]
    assert [(r["endpoint"], r.get("assistant"), r["agency"]) for r in answers] == [
        ("ui:chat", "b-security", A), ("/v1/ask", "b-security", A), ("/v1/ask", None, A)]  # fmt: skip
    usage = json.loads(platform.nuri("usage", "--by", "assistant", "--json").stdout)
    counted = {row["group"]["assistant"]: row["questions"] for row in usage["rows"]}
    assert counted == {"b-security": 2, "nuri": 1}
