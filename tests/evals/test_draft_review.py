"""One review for every kind of draft (evals/draft_review.py): generated drafts (``nuri eval
generate``) and drafts from feedback (``nuri eval items from-feedback``) are read from one file,
accepted, edited and dropped with scripted terminal input through ``nuri eval review``, and the
accepted items form a suite ``nuri eval validate`` passes. The statuses are written back after
every decision: a review stopped with ``q`` goes on where it stopped."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from assistant.cli import main
from evals.draft_review import DraftBook, NotReady, read_drafts, review, write_drafts
from evals.feedback_items import DraftItem, FeedbackNote
from evals.generate import GeneratedDraft, GeneratorInfo, SourceInfo
from evals.schema import PassageRef, load_items

LEAVE = "공무원은 재직기간에 따라 연 11일에서 21일까지 연가를 사용할 수 있다. 연가를 사용하려는 공무원은 사용 3일 전까지 부서장에게 신청하여야 한다."
TRIP = "공무원이 출장을 가려면 출장 2일 전까지 출장 신청서를 전자결재로 제출하여야 한다."
GENERATOR = GeneratorInfo(model="qwen2.5-coder-1.5b", prompt_version="7c64280c83fb", seed=3)


def generated(
    draft_id: str, question: str, expected: str, anchor: str, passage: str, answer: str = ""
) -> GeneratedDraft:
    return GeneratedDraft(
        id=draft_id,
        question=question,
        expected=expected,  # type: ignore[arg-type]
        reference_answer=answer,
        reference_passages=[PassageRef(doc="복무규정.txt", anchor=anchor)] if expected == "answer" else [],
        assistant="hr-bot",
        source=SourceInfo(doc="복무규정.txt", title="누리행정청 공무원 복무 규정", anchor=anchor, chunk_anchor=anchor),
        source_passage=passage,
        note="" if expected == "answer" else "문서에 보상비가 나오지 않습니다.",
        generator=GENERATOR,
    )


@pytest.fixture()
def drafts(tmp_path: Path) -> Path:
    path = tmp_path / "drafts.jsonl"
    write_drafts(
        path,
        [
            generated("gen-a", "연가는 며칠 전까지 신청하나요?", "answer", "제3조(연가)", LEAVE, "사용 3일 전까지입니다."),
            generated("gen-b", "연가보상비는 얼마인가요?", "refuse", "제3조(연가)", LEAVE),
            generated("gen-c", "출장 신청서는 언제 내나요?", "answer", "제4조(출장)", TRIP, "출장 2일 전까지입니다."),
            DraftItem(id="fb-1234abcd", question="재택근무는 주 며칠인가요?",
                      feedback=FeedbackNote(rating="down", reasons=["wrong"]), audit_id="1234abcd" * 4),
        ],
    )  # fmt: skip
    return path


def _review(path: Path, suite: Path, keys: list[str], monkeypatch: pytest.MonkeyPatch, capsys) -> tuple[int, str]:
    """``nuri eval review`` with ``keys`` typed, one a line: (exit status, what it printed)."""
    monkeypatch.setattr("sys.stdin", io.StringIO("".join(f"{k}\n" for k in keys)))
    code = main(["eval", "review", str(path), "--suite-out", str(suite)])
    return code, capsys.readouterr().out


def test_one_file_holds_both_kinds_and_each_shows_what_its_reviewer_needs(drafts: Path):
    items = read_drafts(drafts)
    assert [type(i).__name__ for i in items] == ["GeneratedDraft", "GeneratedDraft", "GeneratedDraft", "DraftItem"]
    out = io.StringIO()
    review(drafts, drafts.parent / "suite.jsonl", io.StringIO("s\ns\ns\ns\n"), out)
    shown = out.getvalue()
    assert "출처: 「누리행정청 공무원 복무 규정」 복무규정.txt · 제3조(연가)" in shown
    assert f"근거 원문: {LEAVE}" in shown and "답할 수 없는 이유 (모델): 문서에 보상비가 나오지 않습니다." in shown
    assert "도우미: hr-bot" in shown and "초안 작성: qwen2.5-coder-1.5b (프롬프트 7c64280c83fb)" in shown
    assert "피드백: 나쁨 — 사실과 다름" in shown  # the feedback draft keeps its own details
    assert "근거: 복무규정.txt|제3조(연가)" in shown


def test_accept_edit_drop_and_resume_after_quit_through_the_command(drafts: Path, tmp_path, monkeypatch, capsys):
    suite = tmp_path / "suite.jsonl"
    keys = [
        "e",                                        # edit the first generated draft
        "연가는 사용 며칠 전까지 신청해야 하나요?",   # a new question
        "",                                         # expected kept
        "",                                         # reference answer kept
        "",                                         # references kept
        "a",                                        # accept it as edited
        "a",                                        # the refusal item, as it is
        "q",                                        # stop before the third
    ]  # fmt: skip
    code, out = _review(drafts, suite, keys, monkeypatch, capsys)
    assert code == 0 and "수락 2, 버림 0, 건너뜀 0; 남은 초안 2" in out
    assert {i.id: i.status for i in read_drafts(drafts)} == {
        "gen-a": "accepted", "gen-b": "accepted", "gen-c": "draft", "fb-1234abcd": "draft",
    }  # fmt: skip

    # resumed: the first still to review comes first; the feedback draft cannot be accepted bare
    keys = ["d", "a", "e", "", "", "주 2일까지입니다.", "remote.md|3. 근무 일수", "", "a"]
    code, out = _review(drafts, suite, keys, monkeypatch, capsys)
    assert code == 0 and "[1/2] gen-c" in out and "아직 수락할 수 없습니다" in out
    assert "수락 1, 버림 1, 건너뜀 0; 남은 초안 0" in out
    assert {i.id: i.status for i in read_drafts(drafts)} == {
        "gen-a": "accepted", "gen-b": "accepted", "gen-c": "dropped", "fb-1234abcd": "accepted",
    }  # fmt: skip

    assert main(["eval", "validate", str(suite)]) == 0
    assert "정상 — 3문항 (answer 2, refuse 1)" in capsys.readouterr().out
    items = {i.id: i for i in load_items(suite)}
    assert list(items) == ["gen-a", "gen-b", "fb-1234abcd"]
    assert items["gen-a"].question == "연가는 사용 며칠 전까지 신청해야 하나요?"
    assert items["gen-a"].reference_passages == [PassageRef(doc="복무규정.txt", anchor="제3조(연가)")]
    assert items["gen-b"].expected == "refuse" and items["gen-b"].category == "generated"
    assert items["fb-1234abcd"].reference_passages == [PassageRef(doc="remote.md", anchor="3. 근무 일수")]
    plain = [json.loads(line) for line in suite.read_text(encoding="utf-8").splitlines()]
    review_fields = {"status", "origin", "assistant", "source", "source_passage", "note", "generator", "feedback"}
    assert not review_fields & {k for line in plain for k in line}

    code, out = _review(drafts, suite, [], monkeypatch, capsys)
    assert code == 0 and "검토할 초안이 없습니다" in out
    assert main(["eval", "review", str(tmp_path / "없음.jsonl"), "--suite-out", str(suite)]) == 2


def test_the_shared_decisions_refuse_an_unready_item_and_never_write_one_twice(drafts: Path, tmp_path):
    suite = tmp_path / "suite.jsonl"
    book = DraftBook(drafts, suite)
    fb = book.index_of("fb-1234abcd")
    with pytest.raises(NotReady, match="reference"):
        book.accept(fb)
    with pytest.raises(ValueError, match="기대는"):
        book.edit(fb, expected="maybe")
    book.edit(fb, expected="refuse")
    assert book.accept(fb) is True
    again = DraftBook(drafts, suite)  # the statuses were written back at once
    assert again.items[fb].status == "accepted" and again.items[fb].expected == "refuse"
    write_drafts(drafts, [again.items[fb].model_copy(update={"status": "draft"})])
    assert DraftBook(drafts, suite).accept(0) is False  # already in the suite: not written again
    assert len(load_items(suite)) == 1


def test_a_bad_drafts_line_is_named_by_its_number(tmp_path: Path, monkeypatch, capsys):
    path = tmp_path / "drafts.jsonl"
    path.write_text('{"id": "x", "question": "질문?", "origin": "generated"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"drafts.jsonl:1: 초안 형식이 아닙니다"):
        read_drafts(path)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["eval", "review", str(path), "--suite-out", str(tmp_path / "suite.jsonl")]) == 1
    err = capsys.readouterr().err
    assert "drafts.jsonl:1: 초안 형식이 아닙니다" in err and "Traceback" not in err
