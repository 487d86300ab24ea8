"""Agency assistants in the chat, in a real browser (the server, corpus and chromium of
``test_chat_in_a_browser``): a civil servant of 누리행정청 finds the agency's assistants in the
도우미 picker with its default preselected and another agency's not offered, picks one, asks
through it from its example questions, and gets citations from that assistant's documents only.
The screen is saved as ``build/e2e-screenshots/09-assistant-picker.png``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from test_chat_in_a_browser import SHOTS, Site, ask, browser, signed_in, site

from assistant.assistants import AssistantScope, AssistantSpec, AssistantUsers
from retrieval.types import Principal

__all__ = ["browser", "site"]  # the fixtures, shared with test_chat_in_a_browser (one server per module)

A, B = "누리행정청", "한빛데이터원"
FOI = "정보공개 청구는 며칠 안에 결정되나요?"
PLATFORM_EXAMPLE = "재택근무를 신청할 수 없는 사람은 누구인가요?"  # one of ui.examples (the platform's)
ASSISTANTS = [
    AssistantSpec(id="a-manuals", name="업무 매뉴얼 도우미", agency=A, default=True,
                  description="누리행정청 업무 매뉴얼만 읽고 답합니다.",
                  scope=AssistantScope(doc_types=["manual"]), examples=[FOI]),
    AssistantSpec(id="a-notices", name="공지 도우미", agency=A, description="누리행정청 공지만 읽고 답합니다.",
                  scope=AssistantScope(doc_types=["notice"])),
    AssistantSpec(id="b-data", name="데이터 공동활용 도우미", agency=B, default=True,
                  scope=AssistantScope(agencies=[B]), users=AssistantUsers(agencies=[B])),
]  # fmt: skip


@pytest.fixture(scope="module")
def manuals(site: Site) -> Iterator[set[str]]:
    """The assistants defined (before anyone signs in); the titles of the manuals."""
    store = site.service.assistants
    assert store is not None and site.service.index is not None
    for spec in ASSISTANTS:
        store.create(spec, "cli:test")
    docs = site.service.index.list_documents(Principal(operator=True))
    yield {d.title for d in docs if d.doc_type == "manual"}


def open_picker(page: Page) -> None:
    field = page.locator("#nuri-assistant input")
    field.blur()  # the list opens when the box gains focus
    field.click()
    expect(field).to_have_attribute("aria-expanded", "true")


def choose(page: Page, name: str) -> None:
    open_picker(page)
    page.locator(f'#nuri-assistant [role=option][aria-label="{name}"]').click()
    expect(page.locator("#nuri-assistant-about")).to_contain_text(name)


def test_a_user_asks_through_the_agencys_assistant_and_its_documents_are_cited(
    browser: Browser, site: Site, manuals: set[str]
) -> None:
    page = signed_in(browser, site, "user")
    try:
        # the agency's default is preselected, and the platform's examples give way to its own
        expect(page.locator("#nuri-assistant-box")).to_be_visible()
        expect(page.locator("#nuri-assistant input")).to_have_value("업무 매뉴얼 도우미")
        expect(page.locator("#nuri-assistant-about")).to_contain_text("업무 매뉴얼만 읽고 답합니다")
        expect(page.get_by_text(PLATFORM_EXAMPLE)).to_be_hidden()
        # 누리 (기본) and the agency's assistants are offered, in that order; another agency's is not
        open_picker(page)
        options = page.locator("#nuri-assistant [role=option]")
        expect(options).to_have_count(3)
        names = [o.get_attribute("aria-label") for o in options.all()]
        assert names == ["누리 (기본)", "업무 매뉴얼 도우미", "공지 도우미"]
        # picking another one shows it; 누리 (기본) brings the platform's examples back
        choose(page, "공지 도우미")
        expect(page.locator("#nuri-assistant-examples")).to_be_hidden()
        choose(page, "누리 (기본)")
        expect(page.get_by_text(PLATFORM_EXAMPLE)).to_be_visible()
        # the manuals assistant: its example question fills the box, the answer cites manuals only
        choose(page, "업무 매뉴얼 도우미")
        page.locator("#nuri-assistant-examples label").filter(has_text=FOI).click()
        expect(page.locator("#nuri-question textarea")).to_have_value(FOI)
        answer = ask(page, FOI)
        assert "⛔" not in answer and "[1]" in answer
        expect(page.locator("#nuri-notice")).to_contain_text("도우미: 업무 매뉴얼 도우미")
        expect(page.locator("#nuri-citations")).to_contain_text("정보공개 청구 처리 안내")
        cited = [
            t.split("]", 1)[-1].split("·")[0].strip() for t in page.locator("#nuri-citations label").all_inner_texts()
        ]
        assert cited and set(cited) <= manuals, cited
        page.evaluate("() => window.scrollTo(0, 0)")
        page.screenshot(path=str(SHOTS / "09-assistant-picker.png"), full_page=True)
        assert site.service.audit is not None
        assert list(site.service.audit.records())[-1].assistant == "a-manuals"
        # reopened after a reload, the conversation brings back the assistant it was asked through
        page.reload()
        choose(page, "공지 도우미")
        page.locator("#nuri-conversations label").filter(has_text=FOI).click()
        expect(page.locator("#nuri-chat")).to_contain_text("이의신청")
        expect(page.locator("#nuri-assistant input")).to_have_value("업무 매뉴얼 도우미")
    finally:
        page.context.close()
