"""The chat's 도우미 picker (ui/assistant_picker.py) and asking through the chosen assistant
(ui/chat.py), with a real service over the sample corpus: answers quoted from the passages
(``answer.generation: extractive``), the bundled llama.cpp server only for readiness.

Agency A (누리행정청) has two assistants, its default reading only manuals; agency B
(한빛데이터원) has its default, one open to every agency and one for evaluators only. What an
A caller may choose is computed from the service, never another agency's; a question asked
through the chat's ``/ask`` event with an A assistant cites only that assistant's documents (a
control through 누리 (기본) cites outside them, so the test cannot pass by citing nothing); a
stale or forged choice is told in plain Korean.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from conftest import SAMPLES, answer_settings, issue_key
from fastapi import FastAPI
from test_chat_ui import chat_client, serve, text_of, translated

from assistant.assistants import PLATFORM_ID, AssistantScope, AssistantSpec, AssistantUsers
from assistant.callers import Caller
from assistant.service import NuriService
from guardrails.keys import key_id_of
from retrieval.index import NuriIndex
from retrieval.sync import Syncer
from retrieval.types import Principal
from ui.assistant_picker import UNAVAILABLE, assistant_of_answer, picker_view
from ui.chat import SOURCES_NONE, mount_chat

A, B = "누리행정청", "한빛데이터원"
CORPUS = [
    "remote_work_guideline.md",  # A, guideline
    "foi_request_guide.html",  # A, manual
    "travel_expense_manual.docx",  # A, manual
    "security_inspection_notice.txt",  # A, notice
    "data_sharing_standard.md",  # B, restricted (shared with A)
]
REMOTE_WORK = "재택근무는 일주일에 며칠까지 할 수 있나요?"
FOI = "정보공개 청구는 며칠 안에 결정되나요?"
ASSISTANTS = [
    AssistantSpec(id="a-manuals", name="업무 매뉴얼 도우미", agency=A, default=True,
                  description="누리행정청 업무 매뉴얼(정보공개, 출장 여비)만 읽고 답합니다.",
                  scope=AssistantScope(doc_types=["manual"]), examples=[FOI, "출장 여비는 언제까지 정산하나요?"]),
    AssistantSpec(id="a-notices", name="공지 도우미", agency=A, scope=AssistantScope(doc_types=["notice"])),
    AssistantSpec(id="b-data", name="데이터 공동활용 도우미", agency=B, default=True,
                  scope=AssistantScope(agencies=[B])),
    AssistantSpec(id="b-shared", name="공동활용 안내 도우미", agency=B, users=AssistantUsers(agencies=["*"]),
                  scope=AssistantScope(agencies=[B])),
    AssistantSpec(id="b-evaluators", name="평가 도우미", agency=B,
                  users=AssistantUsers(agencies=["*"], roles=["evaluator"])),
]  # fmt: skip


@dataclass
class Site:
    url: str
    service: NuriService
    keys: dict[str, str]
    titles: dict[str, str]  # document title -> doc type

    def caller(self, who: str) -> Caller:
        found = self.service.caller_for_key(key_id_of(self.keys[who]))
        assert found is not None
        return found


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, embedder: Any, llamacpp_server: Any) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("ui-assistants")
    settings = answer_settings(
        llamacpp_server.base_url,
        index_dir=root / "index",
        data_dir=root / "data",
        answer={"generation": "extractive"},
        ui={"examples": []},
    )
    index = NuriIndex.open(settings.retrieval, settings.index_dir, create=True, embedder=embedder)
    try:
        report = Syncer(index, settings.connectors, progress=False).sync([SAMPLES / n for n in CORPUS])
        assert report.added == len(CORPUS) and not report.failed
        with NuriService(settings, index=index) as service:
            assert service.assistants is not None
            for spec in ASSISTANTS:
                service.assistants.create(spec, "cli:test")
            keys = {
                "a": issue_key(service, agency=A, clearance="internal"),
                "b": issue_key(service, agency=B, clearance="restricted"),
                "other": issue_key(service, agency="다른부처", clearance="public"),
            }
            titles = {d.title: d.doc_type for d in index.list_documents(Principal(operator=True))}
            app = FastAPI()
            mount_chat(app, service, settings)
            with serve(app, settings) as base:
                yield Site(base + settings.ui.path, service, keys, titles)
    finally:
        index.close()


def ids_of(choices: list) -> list[str]:
    return [value for _, value in choices]


def cited_titles(sources: str) -> set[str]:
    """The titles the 근거 자료 panel lists (``**[n] title · anchor**``)."""
    return {m.group(1) for m in re.finditer(r"\*\*\[\d+\] (.+?)(?: · [^*]*)?\*\*", sources)}


def ask(site: Site, who: str, question: str, assistant: str) -> tuple[str, str, str]:
    """(the answer's text, sources markdown, notice markdown) of one question through the chat's
    ``/ask`` event with ``assistant`` chosen in the picker."""
    with chat_client(site.url, site.keys[who]) as client:
        textbox, chat, sources, notice = client.predict(question, [], assistant, api_name="/ask")
    assert textbox == ""
    return text_of(chat[-1]), sources, notice


def test_an_agency_caller_chooses_from_nuri_and_its_own_assistants_its_default_preselected(site: Site) -> None:
    view = picker_view(site.service, site.caller("a"))
    assert ids_of(view.choices) == [PLATFORM_ID, "a-manuals", "a-notices", "b-shared"]
    assert translated(str(view.choices[0][0])) == "누리 (기본)"
    assert view.value == "a-manuals" and not view.gone
    assert "업무 매뉴얼 도우미" in view.description and "정보공개, 출장 여비" in view.description
    assert view.examples == [FOI, "출장 여비는 언제까지 정산하나요?"]
    labels = dict((value, label) for label, value in view.choices)
    assert labels["b-shared"] == f"공동활용 안내 도우미 · {B}"  # another agency's, open to all: named so
    # agency B sees its own and the shared one, never A's; a caller of an agency without a default: 누리
    b = picker_view(site.service, site.caller("b"))
    assert ids_of(b.choices) == [PLATFORM_ID, "b-data", "b-shared"] and b.value == "b-data"
    other = picker_view(site.service, site.caller("other"))
    assert ids_of(other.choices) == [PLATFORM_ID, "b-shared"] and other.value == PLATFORM_ID
    assert other.examples == []
    # another choice of the caller's own is kept; one of another agency's is not offered
    assert picker_view(site.service, site.caller("a"), "a-notices").value == "a-notices"
    forged = picker_view(site.service, site.caller("a"), "b-data")
    assert forged.gone and forged.value == "a-manuals" and "b-data" not in ids_of(forged.choices)
    assert UNAVAILABLE in forged.description


def test_a_question_through_an_agency_assistant_cites_only_its_scope(site: Site) -> None:
    manuals = {title for title, doc_type in site.titles.items() if doc_type == "manual"}
    assert len(manuals) == 2
    answer, sources, notice = ask(site, "a", FOI, "a-manuals")
    cited = cited_titles(sources)
    assert "정보공개 청구 처리 안내" in cited and cited <= manuals, sources
    assert "도우미: **업무 매뉴얼 도우미**" in notice and "⛔" not in answer
    assert site.service.audit is not None
    last = list(site.service.audit.records())[-1]
    assert last.assistant == "a-manuals"  # the audit trail names it, and a reopened conversation finds it there
    assert assistant_of_answer(site.service, last.request_id) == "a-manuals"
    # the same question as the control: 누리 (기본) cites the guideline, the manuals assistant never
    _, everything, platform_notice = ask(site, "a", REMOTE_WORK, PLATFORM_ID)
    assert "재택근무 운영 지침" in cited_titles(everything)
    assert "도우미:" not in platform_notice
    _, scoped, _ = ask(site, "a", REMOTE_WORK, "a-manuals")
    assert cited_titles(scoped) <= manuals, scoped


def test_a_stale_or_forged_choice_gets_a_plain_korean_error(site: Site) -> None:
    assert site.service.assistants is not None
    site.service.assistants.create(
        AssistantSpec(id="a-temporary", name="임시 도우미", agency=A, scope=AssistantScope(doc_types=["manual"])),
        "cli:test",
    )
    assert "a-temporary" in ids_of(picker_view(site.service, site.caller("a")).choices)
    site.service.assistants.delete("a-temporary", "cli:test")  # deleted after the page listed it
    for chosen in ("a-temporary", "b-data", "no-such-assistant", "../../etc"):
        answer, sources, notice = ask(site, "a", FOI, chosen)
        assert answer.startswith("⛔") and UNAVAILABLE in answer, answer
        assert UNAVAILABLE in notice and sources == SOURCES_NONE
        assert "Traceback" not in answer + notice and chosen not in answer + notice
