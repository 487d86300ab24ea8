"""The chat as a civil servant uses it, in a real browser: Debian's chromium driven by Playwright's
Python package (``make test`` installs both: ``scripts/chromium_setup.sh``), against the real API
and chat (``build_asgi`` served by uvicorn) over the sample corpus, answers quoted from the
passages (``answer.generation: extractive``) with the bundled llama.cpp server for readiness.

One browser session per user, in order: sign in with a key, ask and watch the answer stream in,
open a citation and see its passage highlighted in context, reload and find the conversation,
give 👎 feedback, upload a file as an admin and find it answered from, see a personal-data
notice, and the page at 1280x720 and in a narrow window. Each screen is saved under
``build/e2e-screenshots/`` (three of them are in the README, copied to ``docs/images/``)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from conftest import REPO_ROOT, SAMPLES, answer_settings, issue_key, serve_app
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, expect, sync_playwright

from assistant.http.app import build_asgi
from assistant.service import NuriService
from configs.settings import Settings
from retrieval.index import NuriIndex
from retrieval.sync import Syncer

SHOTS = REPO_ROOT / "build" / "e2e-screenshots"
QUESTION = "재택근무는 일주일에 며칠까지 할 수 있나요?"
UPLOADED_TITLE = "출장 여비 정산 지침"
UPLOADED_TEXT = "출장 여비는 출장을 마친 날부터 5일 이내에 여비 정산서를 제출하여 정산한다."
RRN = "900101-1234568"  # a valid check digit (the detector checks it)
WAIT_MS = 90_000


@dataclass
class Site:
    url: str
    settings: Settings
    service: NuriService
    keys: dict[str, str]


def fastapi_of(asgi: object) -> FastAPI:
    while not isinstance(asgi, FastAPI):
        asgi = asgi.app  # type: ignore[attr-defined]
    return asgi


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, embedder: object, llamacpp_server: object) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("e2e")
    settings = answer_settings(
        llamacpp_server.base_url,  # type: ignore[attr-defined]
        index_dir=root / "index",
        data_dir=root / "data",
        answer={"generation": "extractive"},
        documents={"upload_dir": str(root / "uploads")},
    )
    index = NuriIndex.open(settings.retrieval, settings.index_dir, create=True, embedder=embedder)
    try:
        report = Syncer(index, settings.connectors, progress=False).sync([SAMPLES])
        assert report.added and not report.failed
        with NuriService(settings, index=index) as service:
            keys = {
                "user": issue_key(service, agency="누리행정청", clearance="internal"),
                "admin": issue_key(service, agency="누리행정청", clearance="internal", roles=("admin",)),
            }
            asgi = build_asgi(settings, service)
            with serve_app(asgi, fastapi_of(asgi), settings.ui.path) as url:
                yield Site(url + settings.ui.path, settings, service, keys)
    finally:
        index.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        pytest.fail("Debian's chromium is missing: run `bash scripts/chromium_setup.sh` (make test does)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


def signed_in(browser: Browser, site: Site, who: str, shot: str | None = None) -> Page:
    page = browser.new_context(viewport={"width": 1280, "height": 720}, locale="ko-KR").new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(site.url + "/")
    key = site.keys[who]
    page.locator("input").first.fill(key.split("_")[1])
    page.locator("input[type=password]").fill(key)
    if shot:
        page.screenshot(path=str(SHOTS / shot))
    page.keyboard.press("Enter")
    page.wait_for_selector("#nuri-question textarea")
    expect(page.locator("#nuri-who")).to_contain_text("누리행정청")
    return page


def ask(page: Page, question: str) -> str:
    """Type the question and press Enter (the keyboard, as users do); the last answer's text
    once it is complete."""
    box = page.locator("#nuri-question textarea")
    box.fill(question)
    box.press("Enter")
    expect(page.locator("#nuri-send")).to_be_enabled()
    last = page.locator("#nuri-chat .bot").last
    expect(last).not_to_have_text("…")
    page.wait_for_function(
        "() => { const b = [...document.querySelectorAll('#nuri-chat .bot')].pop();"
        " return b && b.innerText.trim() && b.innerText.trim() !== '…'; }"
    )
    page.wait_for_timeout(800)  # the sources panel and the conversation list follow the answer
    return last.inner_text()


@pytest.fixture(scope="module")
def user_page(browser: Browser, site: Site) -> Iterator[Page]:
    page = signed_in(browser, site, "user", shot="01-sign-in.png")
    yield page
    page.context.close()


def test_a_user_signs_in_and_watches_a_cited_answer_stream_in(user_page: Page, site: Site) -> None:
    page = user_page
    # record every text the answer shows while it is written
    page.evaluate(
        """() => { window.__nuriTexts = [];
        new MutationObserver(() => { const b = [...document.querySelectorAll('#nuri-chat .bot')].pop();
          if (b) window.__nuriTexts.push(b.innerText.trim()); })
        .observe(document.querySelector('#nuri-chat'), {subtree: true, childList: true, characterData: true}); }"""
    )
    answer = ask(page, QUESTION)
    assert "주 2일" in answer and "[1]" in answer
    texts = [t for t in page.evaluate("() => window.__nuriTexts") if t]
    assert len(set(texts)) >= 2, texts  # shown before it was complete, then complete
    assert any(len(t) < len(answer.strip()) for t in texts)
    expect(page.locator("#nuri-citations")).to_contain_text("재택근무 운영 지침")
    page.screenshot(path=str(SHOTS / "02-answer.png"))


def test_a_citation_opens_its_passage_highlighted_in_its_document(user_page: Page) -> None:
    page = user_page
    page.locator("#nuri-citations label").first.click()
    cited = page.locator("#nuri-viewer mark.nuri-cited")
    expect(cited).to_contain_text("주 2일 이내")
    viewer = page.locator("#nuri-viewer").inner_text()
    assert "재택근무 운영 지침" in viewer and "재택근무 일수" in viewer  # title and readable location
    assert "/" not in viewer.split("출처:")[-1].split("·")[0].strip()  # the source by name, never a path
    assert page.locator("#nuri-viewer .nuri-context").count() >= 1  # the text around it
    page.screenshot(path=str(SHOTS / "03-citation.png"))


def test_after_a_reload_the_conversation_is_listed_and_opens_again(user_page: Page) -> None:
    page = user_page
    page.reload()
    page.wait_for_selector("#nuri-question textarea")
    listed = page.locator("#nuri-conversations label").filter(has_text="재택근무는 일주일에")
    expect(listed).to_have_count(1)
    listed.click()
    expect(page.locator("#nuri-chat")).to_contain_text("주 2일")
    expect(page.locator("#nuri-citations")).to_contain_text("재택근무 운영 지침")
    page.screenshot(path=str(SHOTS / "04-conversations.png"))


def test_negative_feedback_is_stored_with_the_answers_audit_id_and_masked(user_page: Page, site: Site) -> None:
    page = user_page
    page.locator("#nuri-chat button[aria-label='싫어요']").last.click()
    expect(page.locator("#nuri-reasons")).to_be_visible()
    page.locator("#nuri-reasons label").filter(has_text="인용이 틀림").click()
    page.locator("#nuri-comment textarea").fill(f"제 번호 {RRN}로 확인했는데 기한이 다릅니다")
    page.locator("#nuri-feedback-send").click()
    expect(page.locator("#nuri-feedback-notice")).to_contain_text("고맙습니다")
    assert site.service.feedback is not None
    given = site.service.feedback.list(rating="down")
    assert len(given) == 1
    record = given[0]
    assert record.reasons == ["wrong_citation"] and RRN not in record.comment
    assert site.service.audit is not None and site.service.audit.record(record.audit_id) is not None


def test_personal_data_in_a_question_gets_a_plain_korean_notice_and_is_not_kept(user_page: Page, site: Site) -> None:
    page = user_page
    ask(page, f"제 주민등록번호 {RRN}인데 재택근무 신청할 수 있나요?")
    notice = page.locator("#nuri-notice")
    expect(notice).to_contain_text("주민등록번호")
    text = notice.inner_text()
    assert RRN not in text and "[규칙" not in text and "확률" not in text
    page.screenshot(path=str(SHOTS / "05-pii-notice.png"))
    store = site.service.conversations
    assert store is not None
    kept = store.list(site.service.caller_for_key(site.keys["user"].split("_")[1]).subject).items  # type: ignore[union-attr]
    saved = store.get(site.service.caller_for_key(site.keys["user"].split("_")[1]).subject, kept[0].id)  # type: ignore[union-attr]
    assert not any(RRN in m.content for m in saved.messages)  # kept masked, as in the audit trail


def test_an_admin_uploads_a_file_sees_it_indexed_and_it_is_answered_from(
    browser: Browser, site: Site, tmp_path: Path
) -> None:
    page = signed_in(browser, site, "admin")
    try:
        doc = tmp_path / "travel_expenses.md"
        doc.write_text(f"# {UPLOADED_TITLE}\n\n## 1. 정산 기한\n\n{UPLOADED_TEXT}\n", encoding="utf-8")
        page.locator("#nuri-tabs button[role=tab]").filter(has_text="관리").click()
        expect(page.locator("#nuri-admin-panel")).to_be_visible()
        page.locator("#nuri-upload-files input[type=file]").set_input_files(str(doc))
        page.locator("#nuri-upload").click()
        expect(page.locator("#nuri-upload-progress")).to_contain_text("완료")
        expect(page.locator("#nuri-upload-notice")).to_contain_text("1개 파일을 색인했습니다")
        page.screenshot(path=str(SHOTS / "06-admin-upload.png"))
        page.locator("#nuri-tabs button[role=tab]").filter(has_text="채팅").click()
        answer = ask(page, "출장 여비는 언제까지 정산해야 하나요?")
        assert "5일" in answer
        expect(page.locator("#nuri-citations")).to_contain_text(UPLOADED_TITLE)
        # its citation opens it, and the original downloads with the chat's own sign-in
        page.locator("#nuri-citations label").filter(has_text=UPLOADED_TITLE).first.click()
        link = page.locator("#nuri-viewer a[download]")
        expect(link).to_contain_text("원본 파일 내려받기")
        href = link.get_attribute("href")
        assert href and href.startswith("/ui/file/")
        got = page.request.get(site.url.removesuffix("/ui") + href)
        assert got.status == 200 and UPLOADED_TEXT in got.text()
        assert "attachment" in got.headers["content-disposition"]
        anonymous = httpx.get(site.url.removesuffix("/ui") + href)
        assert anonymous.status_code == 404  # not without the chat's sign-in
    finally:
        page.context.close()


def test_an_admin_issues_and_revokes_an_api_key_on_the_admin_page(browser: Browser, site: Site) -> None:
    page = signed_in(browser, site, "admin")
    api = site.url.removesuffix("/ui")
    try:
        page.locator("#nuri-tabs button[role=tab]").filter(has_text="관리").click()
        page.locator("button[role=tab]").filter(has_text="API 키").click()
        page.locator("#nuri-key-label textarea, #nuri-key-label input").first.fill("민원 챗봇 연동")
        page.locator("#nuri-key-issue").click()
        issued = page.locator("#nuri-key-issued textarea, #nuri-key-issued input").first
        expect(issued).to_have_value(re.compile(r"^nuri_[0-9a-f]{12}_"))
        key = issued.input_value()
        assert httpx.get(api + "/v1/models", headers={"Authorization": f"Bearer {key}"}).status_code == 200
        expect(page.locator("#nuri-keys")).to_contain_text("민원 챗봇 연동")
        page.locator("#nuri-key-revoke-id textarea, #nuri-key-revoke-id input").first.fill(key.split("_")[1])
        page.locator("#nuri-key-revoke").click()
        expect(page.locator("#nuri-key-notice")).to_contain_text("폐기했습니다")
        assert httpx.get(api + "/v1/models", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    finally:
        page.context.close()


def test_the_chat_fits_1280x720_and_a_narrow_window(browser: Browser, site: Site) -> None:
    page = signed_in(browser, site, "user")
    try:
        for width, height, shot in ((1280, 720, "07-1280x720.png"), (420, 860, "08-narrow.png")):
            page.set_viewport_size({"width": width, "height": height})
            page.wait_for_timeout(500)
            overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, f"{width}px wide: the page scrolls sideways by {overflow}px"
            page.locator("#nuri-question textarea").scroll_into_view_if_needed()
            expect(page.locator("#nuri-question textarea")).to_be_visible()
            expect(page.locator("#nuri-send")).to_be_visible()
            page.screenshot(path=str(SHOTS / shot))
        # the keyboard reaches the question box and the send button
        page.set_viewport_size({"width": 1280, "height": 720})
        page.locator("#nuri-question textarea").focus()
        page.keyboard.press("Tab")
        focused = page.evaluate("() => document.activeElement && document.activeElement.closest('#nuri-send') !== null")
        assert focused, "Tab from the question box does not reach 보내기"
    finally:
        page.context.close()
