"""Negative feedback becomes draft eval items (``nuri eval items from-feedback``): the question from
the audit record, ``refuse`` expected when the reasons say so, the answer and citations given kept
for review, every free text masked again (a resident registration number typed in a comment never
reaches the file). The review (``nuri eval items review``), driven here by scripted input, accepts
edited items into a suite that :mod:`evals.schema` loads and writes the statuses back."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from conftest import bearer, issue_key

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "security"))
from served_api import QUESTION, Served, served_api

from assistant.cli import main
from assistant.feedback import FeedbackRecord, pii_masker
from evals.feedback_items import draft_items, parse_ref, read_drafts, review
from evals.schema import PassageRef, load_items
from guardrails.settings import PiiSettings

RRN = "850315-2345671"


@pytest.fixture(scope="module")
def served(tmp_path_factory, embedder) -> Iterator[Served]:
    with served_api(tmp_path_factory.mktemp("eval-items"), embedder, ui={"enabled": False}) as s:
        yield s


def _ask(served: Served, key: str, question: str = QUESTION) -> str:
    r = httpx.post(f"{served.url}/v1/ask", json={"question": question}, headers=bearer(key), timeout=60)
    assert r.status_code == 200, r.text
    return str(r.json()["audit_id"])


def _feedback(served: Served, key: str, audit_id: str, rating: str, reasons: list[str], comment: str = "") -> None:
    body = {"audit_id": audit_id, "rating": rating, "reasons": reasons, "comment": comment}
    r = httpx.post(f"{served.url}/v1/feedback", json=body, headers=bearer(key), timeout=60)
    assert r.status_code == 201, r.text


@pytest.fixture(scope="module")
def drafted(served: Served, tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """Three answers given feedback (two down, one up), drafted with the CLI: (file, audit ids)."""
    key = issue_key(served.service, agency="나부처")
    ids = {"wrong": _ask(served, key), "refuse": _ask(served, key, "재택근무 신청서 양식은 어디 있나요?"),
           "good": _ask(served, key, "부서장 승인이 필요한가요?")}  # fmt: skip
    _feedback(
        served, key, ids["wrong"], "down", ["wrong", "wrong_citation"], f"제 주민등록번호 {RRN}로 확인해 보니 틀려요"
    )
    _feedback(served, key, ids["refuse"], "down", ["should_refuse"])
    _feedback(served, key, ids["good"], "up", [])
    out = tmp_path_factory.mktemp("drafts") / "drafts.jsonl"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NURI_DATA_DIR", str(served.settings.resolve(served.settings.data_dir)))
        assert main(["eval", "items", "from-feedback", "--agency", "나부처", "--since", "2000-01-01", "--out",
                     str(out)]) == 0  # fmt: skip
    return out, ids


def test_negative_feedback_becomes_masked_draft_items(drafted: tuple[Path, dict[str, str]]):
    path, ids = drafted
    text = path.read_text(encoding="utf-8")
    assert RRN not in text
    lines = [json.loads(line) for line in text.splitlines()]
    by_id = {line["id"]: line for line in lines}
    assert set(by_id) == {f"fb-{ids['wrong'][:8]}", f"fb-{ids['refuse'][:8]}"}  # the "up" one is not drafted
    wrong = by_id[f"fb-{ids['wrong'][:8]}"]
    assert wrong["question"] == QUESTION and wrong["expected"] == "answer" and wrong["reference_answer"] == ""
    assert wrong["status"] == "draft" and wrong["audit_id"] == ids["wrong"]
    assert wrong["feedback"]["rating"] == "down" and wrong["feedback"]["reasons"] == ["wrong", "wrong_citation"]
    assert "[주민등록번호]" in wrong["feedback"]["comment"]
    assert "재택근무" in wrong["answer_given"]
    assert wrong["citations_given"] and {"doc", "anchor"} == set(wrong["citations_given"][0])
    assert by_id[f"fb-{ids['refuse'][:8]}"]["expected"] == "refuse"


def test_drafting_masks_personal_data_again_whatever_the_store_kept(
    served: Served, drafted: tuple[Path, dict[str, str]]
):
    _, ids = drafted
    now = datetime.now(UTC)
    unmasked = FeedbackRecord(
        id="x", audit_id=ids["wrong"], subject="key:x", agency="나부처", rating="down", reasons=["other"],
        comment=f"주민등록번호 {RRN} 입니다", created_at=now, updated_at=now,
    )  # fmt: skip
    assert served.service.audit is not None
    (draft,), skipped = draft_items([unmasked], served.service.audit.record, pii_masker(PiiSettings(enabled=False)))
    assert skipped == [] and RRN not in draft.feedback.comment and "[주민등록번호]" in draft.feedback.comment
    gone, skipped = draft_items([unmasked.model_copy(update={"audit_id": "0" * 32})], lambda _: None, str)
    assert gone == [] and len(skipped) == 1


def test_an_agency_without_feedback_gets_no_drafts(served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("NURI_DATA_DIR", str(served.settings.resolve(served.settings.data_dir)))
    out = tmp_path / "none.jsonl"
    assert main(["eval", "items", "from-feedback", "--agency", "없는청", "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == ""
    assert main(["eval", "items", "from-feedback", "--since", "어제", "--out", str(out)]) == 2


def test_reviewing_with_scripted_input_writes_a_suite_the_schema_loads(
    drafted: tuple[Path, dict[str, str]], tmp_path: Path
):
    source, ids = drafted
    path = tmp_path / "drafts.jsonl"
    path.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    suite = tmp_path / "suite.jsonl"
    order = [item.id for item in read_drafts(path)]
    assert order == [f"fb-{ids['wrong'][:8]}", f"fb-{ids['refuse'][:8]}"]
    script = "\n".join([
        "a",                                     # not yet valid: an answer needs a reference
        "x",                                     # not a key
        "e",
        "",                                      # question kept
        "",                                      # expected kept (answer)
        "재택근무는 주 2일까지 할 수 있습니다.",  # reference answer
        "remote.md|재택근무 일수",                 # a document part
        "국가공무원 복무규정|제11조",                # a statute article
        "",                                      # end of references
        "a",
        "q",                                     # stop before the second
    ]) + "\n"  # fmt: skip
    out = io.StringIO()
    summary = review(path, suite, io.StringIO(script), out)
    shown = out.getvalue()
    assert QUESTION in shown and "사실과 다름" in shown and "아직 수락할 수 없습니다" in shown
    assert (summary.accepted, summary.quit, summary.left) == (1, True, 1)
    statuses = {item.id: item.status for item in read_drafts(path)}  # progress saved on quit
    assert statuses == {order[0]: "accepted", order[1]: "draft"}

    summary = review(path, suite, io.StringIO("d\n"), io.StringIO())
    assert (summary.dropped, summary.left) == (1, 0)
    assert {item.id: item.status for item in read_drafts(path)} == {order[0]: "accepted", order[1]: "dropped"}

    (item,) = load_items(suite)
    assert item.id == order[0] and item.question == QUESTION and item.expected == "answer"
    assert item.reference_answer == "재택근무는 주 2일까지 할 수 있습니다."
    assert item.reference_passages == [
        PassageRef(doc="remote.md", anchor="재택근무 일수"), PassageRef(law="국가공무원 복무규정", articles=["제11조"]),
    ]  # fmt: skip
    line = json.loads(suite.read_text(encoding="utf-8"))
    assert not {"status", "feedback", "answer_given", "citations_given", "audit_id"} & set(line)
    assert "검토할 초안이 없습니다" in _review_output(path, suite)


def test_a_refusal_item_is_accepted_as_it_is_and_never_twice(drafted: tuple[Path, dict[str, str]], tmp_path: Path):
    source, ids = drafted
    path = tmp_path / "drafts.jsonl"
    path.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    suite = tmp_path / "suite.jsonl"
    assert review(path, suite, io.StringIO("s\na\n"), io.StringIO()).accepted == 1
    (item,) = load_items(suite)
    assert item.id == f"fb-{ids['refuse'][:8]}" and item.expected == "refuse"
    path.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")  # the same drafts again
    assert review(path, suite, io.StringIO("s\na\n"), io.StringIO()).accepted == 1
    assert len(load_items(suite)) == 1


def test_references_are_read_as_statute_articles_or_document_parts():
    assert parse_ref("국가공무원법|제76조, 제78조의2") == PassageRef(
        law="국가공무원법", articles=["제76조", "제78조의2"]
    )
    assert parse_ref("remote.md|2. 적용 대상") == PassageRef(doc="remote.md", anchor="2. 적용 대상")
    assert parse_ref("remote.md") == PassageRef(doc="remote.md")
    assert parse_ref("law:공무원보수규정|별표 1") == PassageRef(law="공무원보수규정", articles=["별표 1"])
    with pytest.raises(ValueError):
        parse_ref("|제1조")


def _review_output(path: Path, suite: Path) -> str:
    out = io.StringIO()
    review(path, suite, io.StringIO(""), out)
    return out.getvalue()
