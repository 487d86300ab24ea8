"""The 평가 tab's draft review panel (ui/draft_review_panel.py): an evaluator opens a drafts file of
their agency's folder (or uploads one), accepts a draft as edited, drops another, and the accepted
items form a suite file ``nuri eval validate`` passes; the decisions are the shared ones of
evals/draft_review.py, so the terminal review goes on where the panel stopped.

The handlers are called with real ``gr.Request`` objects; who is signed in is given by the
panel's ``caller`` (in the page: the tab's evaluator check, tested in test_evals_tab.py)."""

from __future__ import annotations

import io
from pathlib import Path

import gradio as gr
import pytest
from starlette.requests import Request

from assistant.callers import Caller
from assistant.cli import main
from configs.settings import Settings, load_settings
from evals.draft_review import read_drafts, review, write_drafts
from evals.generate import GeneratedDraft, GeneratorInfo, SourceInfo
from evals.schema import PassageRef, load_items
from retrieval.types import Principal
from ui.draft_review_panel import (
    DONE_NOTICE,
    NO_ACCESS_NOTICE,
    DraftReviewView,
    agency_folder,
    drafts_root,
)
from ui.evals_tab import build_evals_tab

AGENCY = "누리행정청"
LEAVE = "공무원은 재직기간에 따라 연 11일에서 21일까지 연가를 사용할 수 있다. <b>연가</b>는 3일 전까지 신청한다."


def caller(agency: str | None, *roles: str) -> Caller:
    return Caller(principal=Principal(agency=agency, clearance="internal"), roles=frozenset(roles), subject="key:t")


CALLERS = {
    "evaluator": caller(AGENCY, "evaluator"),
    "other": caller("다른청", "evaluator"),
    "admin": caller("다른청", "admin"),
    "user": caller(AGENCY, "user"),
}


def request(who: str | None) -> gr.Request:
    scope = {"type": "http", "method": "POST", "path": "/ui/gradio_api/queue/join", "headers": [], "query_string": b""}
    return gr.Request(request=Request(scope), username=who)


def signed_in(req: gr.Request | None) -> Caller | None:
    who = CALLERS.get(getattr(req, "username", None) or "")
    return who if who is not None and who.has_role("evaluator") else None


def draft(draft_id: str, question: str, expected: str = "answer", answer: str = "") -> GeneratedDraft:
    return GeneratedDraft(
        id=draft_id,
        question=question,
        expected=expected,
        reference_answer=answer,
        reference_passages=[PassageRef(doc="복무규정.txt", anchor="제3조(연가)")] if expected == "answer" else [],
        source=SourceInfo(doc="복무규정.txt", title="복무 규정", anchor="제3조(연가)", chunk_anchor="제3조(연가)"),
        source_passage=LEAVE,
        generator=GeneratorInfo(model="qwen2.5-coder-1.5b", prompt_version="7c64280c83fb"),
    )


DRAFTS = [
    draft("gen-a", "연가는 며칠 전까지 신청하나요?", answer="3일 전까지입니다."),
    draft("gen-b", "연가보상비는 얼마인가요?", expected="refuse"),
    draft("gen-c", "연가는 며칠인가요?", answer="11일에서 21일입니다."),
]


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    return load_settings(data_dir=tmp_path / "data").override(eval={"out_dir": str(tmp_path / "eval" / "runs")})


@pytest.fixture()
def view(settings: Settings) -> DraftReviewView:
    folder = drafts_root(settings) / agency_folder(AGENCY)
    write_drafts(folder / "연가.jsonl", DRAFTS)
    write_drafts(drafts_root(settings) / agency_folder("다른청") / "secret.jsonl", [draft("gen-z", "비밀 질문인가요?")])
    return DraftReviewView(settings, signed_in)


def test_without_the_role_nothing_is_listed_opened_or_decided(view: DraftReviewView):
    for who in (None, "user"):
        notice, picker = view.files(request(who))
        assert notice == NO_ACCESS_NOTICE and picker["choices"] == []
        outputs = view.open("누리행정청/연가.jsonl", request(who))
        assert outputs[0] == NO_ACCESS_NOTICE and "연가" not in str(outputs[1:])
        assert view.accept("누리행정청/연가.jsonl", "gen-a", "질문?", "answer", "답", "", "s.jsonl", request(who))[
            0
        ] == (NO_ACCESS_NOTICE)
        assert view.drop("누리행정청/연가.jsonl", "gen-a", request(who))[0] == NO_ACCESS_NOTICE
    assert {d.status for d in read_drafts(view.root / "누리행정청" / "연가.jsonl")} == {"draft"}


def test_an_evaluator_sees_only_their_agencys_drafts_and_an_admin_every_agencys(view: DraftReviewView):
    assert view.files(request("evaluator"))[1]["choices"] == ["누리행정청/연가.jsonl"]
    notice, *_ = view.open("다른청/secret.jsonl", request("evaluator"))
    assert "찾을 수 없습니다" in notice
    notice, *_ = view.open("../누리행정청/연가.jsonl", request("other"))
    assert "찾을 수 없습니다" in notice
    assert view.files(request("other"))[1]["choices"] == ["다른청/secret.jsonl"]
    assert view.files(request("admin"))[1]["choices"] == ["누리행정청/연가.jsonl", "다른청/secret.jsonl"]


def test_accept_as_edited_and_drop_write_the_suite_and_the_statuses(view: DraftReviewView, tmp_path: Path, capsys):
    ref = "누리행정청/연가.jsonl"
    notice, picker, shown, question, expected, reference, refs = view.open(ref, request("evaluator"))
    assert "남은 초안 3개" in notice and picker["value"] == "gen-a" and len(picker["choices"]) == 3
    assert (question, expected, reference, refs) == ("연가는 며칠 전까지 신청하나요?", "answer", "3일 전까지입니다.",
                                                     "복무규정.txt|제3조(연가)")  # fmt: skip
    assert "&lt;b&gt;연가&lt;/b&gt;" in shown and "<b>연가</b>" not in shown  # the passage, escaped
    assert "근거 원문" in shown and "qwen2.5-coder-1.5b" in shown

    edited = "연가는 사용 며칠 전까지 신청해야 하나요?"
    notice, picker, *_ = view.accept(ref, "gen-a", edited, "answer", "사용 3일 전까지", refs, "leave.jsonl",
                                     request("evaluator"))  # fmt: skip
    assert "수락했습니다" in notice and picker["value"] == "gen-b"
    notice, picker, *_ = view.drop(ref, "gen-b", request("evaluator"))
    assert "버렸습니다" in notice and picker["value"] == "gen-c"
    # an answer item without reference answer or passages cannot be accepted: it stays, with why
    notice, picker, *_ = view.accept(ref, "gen-c", "연가는 며칠인가요?", "answer", "", "", "leave.jsonl",
                                     request("evaluator"))  # fmt: skip
    assert "아직 수락할 수 없습니다" in notice and picker["value"] == "gen-c"
    notice, *_ = view.accept(ref, "gen-c", "연가는 며칠인가요?", "answer", "11~21일", "|제3조", "leave.jsonl",
                             request("evaluator"))  # fmt: skip
    assert "쓸 수 없는 근거입니다: |제3조" in notice
    notice, *_ = view.accept(ref, "gen-c", "연가는 며칠인가요?", "answer", "11~21일", "", "../x.jsonl",
                             request("evaluator"))  # fmt: skip
    assert ".jsonl" in notice and "폴더 없이" in notice

    path = view.root / "누리행정청" / "연가.jsonl"
    assert [d.status for d in read_drafts(path)] == ["accepted", "dropped", "draft"]
    suite = view.root / "누리행정청" / "suites" / "leave.jsonl"
    (item,) = load_items(suite)
    assert (item.id, item.question, item.reference_answer) == ("gen-a", edited, "사용 3일 전까지")
    assert main(["eval", "validate", str(suite)]) == 0
    assert "정상 — 1문항" in capsys.readouterr().out
    assert "suites/leave.jsonl" not in str(view.files(request("evaluator"))[1]["choices"])  # suites are not drafts

    # the terminal review goes on where the panel stopped (the same decisions, the same file)
    assert review(path, suite, io.StringIO("a\n"), io.StringIO()).accepted == 1
    outputs = view.open(ref, request("evaluator"))
    assert outputs[0] == DONE_NOTICE.format(folder=str(suite.parent)) and outputs[1]["choices"] == []
    assert [i.id for i in load_items(suite)] == ["gen-a", "gen-c"]
    notice, *_ = view.drop(ref, "gen-a", request("evaluator"))
    assert "이미 검토한 초안" in notice


def test_an_uploaded_drafts_file_is_checked_and_saved_into_the_callers_folder(view: DraftReviewView, tmp_path: Path):
    upload = tmp_path / "올린 초안.jsonl"
    write_drafts(upload, DRAFTS[:1])
    notice, picker = view.upload(str(upload), request("evaluator"))
    assert "초안 1개를 올렸습니다" in notice and picker["value"] == "누리행정청/올린_초안.jsonl"
    notice, picker = view.upload(str(upload), request("evaluator"))  # never over an earlier one
    assert picker["value"] == "누리행정청/올린_초안-2.jsonl"
    assert view.open("누리행정청/올린_초안.jsonl", request("evaluator"))[1]["value"] == "gen-a"

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x"}\nnot json\n', encoding="utf-8")
    notice, _ = view.upload(str(bad), request("evaluator"))
    assert "초안 파일이 아닙니다" in notice and "bad.jsonl:1" in notice and str(tmp_path) not in notice
    assert view.upload(str(upload), request("user"))[0] == NO_ACCESS_NOTICE
    assert not (view.root / "누리행정청" / "bad.jsonl").exists()


def test_the_evals_tab_holds_the_review_panel(settings: Settings):
    with gr.Blocks() as blocks:
        build_evals_tab(blocks, settings)
    config = blocks.get_config_file()
    apis = {dep.get("api_name") for dep in config["dependencies"]}
    assert {"eval_runs", "draft_files", "draft_open", "draft_accept", "draft_save", "draft_drop"} <= apis
    labels = {comp.get("props", {}).get("label") for comp in config["components"]}
    assert {"초안 파일", "검토할 초안", "질문", "참고 답변", "묶음 파일 이름"} <= labels
