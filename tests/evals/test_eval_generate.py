"""Eval items drafted from an agency's own documents (``nuri eval generate``, evals/generate.py).

Two small Korean documents (a 복무 규정 with articles, a Markdown guide) and a corrupt PDF are
written to a temporary folder. The real bundled instruction model (Qwen2.5-Coder 1.5B behind
llama.cpp, the ``qwen_server`` fixture) drafts four items through the command line: Korean
questions, reference passages that name a real anchor of the parsed documents, at least one
unanswerable question, the corrupt file reported and skipped. The checks a reply passes (JSON
format, Korean, an unanswerable question not answered by the documents) are tested on model
replies fed straight to the parsing function, and the passage picking on the parsed documents.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from assistant.assistants import AssistantSpec, AssistantStore
from assistant.cli import main
from assistant.cli_errors import CommandError
from assistant.errors import LLMUnavailableError
from assistant.llm_client import LLMClient
from assistant.settings import LLMSettings
from configs.settings import load_settings
from connectors.settings import ConnectorSettings
from evals.draft_checks import answered_by, korean_problem, parse_reply, question_problem
from evals.draft_review import read_drafts, review
from evals.generate import (
    BUNDLED_MODEL,
    Corpus,
    CorpusCheck,
    GeneratedDraft,
    GeneratorInfo,
    Rejection,
    draft_from_reply,
    instruction_model,
    load_passages,
    pick_passages,
    plan_kinds,
)
from evals.schema import load_items
from retrieval.settings import ChunkingSettings

RULES = """누리행정청 공무원 복무 규정

제1조(목적) 이 규정은 누리행정청 소속 공무원의 복무에 관하여 필요한 사항을 정함을 목적으로 한다.

제2조(근무시간) 공무원의 1일 근무시간은 점심시간 1시간을 포함하여 오전 9시부터 오후 6시까지로 한다. 부서장은 업무 특성상 필요한 경우 근무시간을 1시간 범위에서 앞당기거나 늦출 수 있다.

제3조(연가) 공무원은 재직기간에 따라 연 11일에서 21일까지 연가를 사용할 수 있다. 연가를 사용하려는 공무원은 사용 3일 전까지 부서장에게 신청하여야 한다.

제4조(출장) 공무원이 출장을 가려면 출장 2일 전까지 출장 신청서를 전자결재로 제출하여야 하며, 출장을 마친 후 5일 이내에 출장 결과 보고서를 제출하여야 한다.
"""
GUIDE = """# 재택근무 운영 안내

## 1. 신청 대상
임용 후 6개월이 지난 공무원은 누구나 재택근무를 신청할 수 있다. 다만 보안 등급이 높은 업무를 맡은 공무원은 제외한다.

## 2. 신청 절차
재택근무를 하려는 공무원은 희망일 5일 전까지 업무 시스템에서 재택근무 신청서를 작성하여 부서장의 승인을 받아야 한다.

## 3. 근무 일수
재택근무는 주 2일까지 할 수 있으며, 월요일과 금요일에는 부서 인원의 절반 이상이 사무실에 출근하여야 한다.
"""
LEAVE = "공무원은 재직기간에 따라 연 11일에서 21일까지 연가를 사용할 수 있다. 연가를 사용하려는 공무원은 사용 3일 전까지 부서장에게 신청하여야 한다."
GENERATOR = GeneratorInfo(model="test-model", prompt_version="0" * 12, seed=1)


@pytest.fixture(scope="module")
def docs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("agency-docs")
    (folder / "복무규정.txt").write_text(RULES, encoding="utf-8")
    (folder / "재택근무_안내.md").write_text(GUIDE, encoding="utf-8")
    (folder / "broken.pdf").write_bytes(b"this is not a pdf")
    return folder


@pytest.fixture(scope="module")
def corpus(docs, embedder) -> Corpus:
    return load_passages([docs], ConnectorSettings(), embedder.count_tokens, ChunkingSettings())


def anchors_of(corpus: Corpus) -> set[tuple[str, str]]:
    return {(p.doc, p.anchor) for p in corpus.passages}


# -- the documents and the picks ------------------------------------------------------------------
def test_documents_become_passages_with_file_title_and_anchor_and_a_corrupt_file_is_skipped(corpus):
    assert corpus.documents == 2
    assert [(Path(p).name, "PDF" in reason) for p, reason in corpus.failed] == [("broken.pdf", True)]
    assert {("복무규정.txt", "제3조(연가)"), ("재택근무_안내.md", "2. 신청 절차")} <= anchors_of(corpus)
    leave = next(p for p in corpus.passages if p.anchor == "제3조(연가)")
    assert leave.title == "누리행정청 공무원 복무 규정" and leave.text == LEAVE
    assert leave.ref.doc == "복무규정.txt" and leave.ref.anchor == "제3조(연가)"


def test_the_same_seed_picks_the_same_passages_spread_over_documents_and_sections(corpus):
    first = pick_passages(corpus.passages, 4, seed=11)
    assert first == pick_passages(corpus.passages, 4, seed=11)
    assert len(first) == 4 and len({(p.doc, p.anchor) for p in first}) == 4  # four different sections
    assert {p.doc for p in first} == {"복무규정.txt", "재택근무_안내.md"}  # both documents
    assert all(len(p.text.replace(" ", "")) >= 40 for p in first)  # 제1조(목적) is too short to ask about
    everything = pick_passages(corpus.passages, 100, seed=11)
    assert "제1조(목적)" not in {p.anchor for p in everything} and len(everything) == len(corpus.passages) - 1
    seeds = {tuple((p.doc, p.anchor) for p in pick_passages(corpus.passages, 4, seed=s)) for s in range(8)}
    assert len(seeds) > 1  # another seed, other picks
    assert plan_kinds(4, 0.5, seed=3) == plan_kinds(4, 0.5, seed=3) and plan_kinds(4, 0.5, 3).count("unanswerable") == 2
    assert plan_kinds(4, 0.0, 3) == ["answerable"] * 4 and plan_kinds(4, 0.3, 3).count("unanswerable") == 1


def test_no_readable_document_is_a_clear_error_not_a_traceback(tmp_path, capsys):
    (tmp_path / "broken.pdf").write_bytes(b"%not a pdf")
    with pytest.raises(CommandError, match="읽을 수 있는 문서가 없습니다.*broken.pdf"):
        load_passages([tmp_path], ConnectorSettings(), len, ChunkingSettings())
    out = tmp_path / "drafts.jsonl"
    assert main(["eval", "generate", str(tmp_path), "--n", "2", "--out", str(out), "--quiet"]) == 1
    assert main(["eval", "generate", str(tmp_path / "없는폴더"), "--n", "2", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "읽을 수 있는 문서가 없습니다" in err and "PDF" in err and "파일이나 폴더가 없습니다" in err
    assert "Traceback" not in err and not out.exists()
    assert main(["eval", "generate", str(tmp_path), "--n", "0", "--out", str(out)]) == 2
    assert main(["eval", "generate", str(tmp_path), "--n", "2", "--unanswerable-share", "2", "--out", str(out)]) == 2


# -- the checks of a reply -------------------------------------------------------------------------
def test_the_language_check_takes_korean_and_rejects_english_and_mixed_text():
    assert korean_problem("연가는 며칠 전까지 신청해야 하나요?") is None
    assert korean_problem("PDF 서식은 e-사람 시스템에서 내려받나요?") is None  # a few Latin letters are fine
    assert korean_problem("How many days of annual leave can I take?") == "영어입니다"
    assert "한글이 적습니다" in str(korean_problem("재택근무 신청 application due date는 언제?"))
    assert "다른 나라 문자" in str(korean_problem("재택근무 신청은 언제까지 가능吗?"))  # Qwen's slip into Chinese
    assert (
        korean_problem("甲은 언제까지 신청하나요?", passage="甲과 乙은 계약 당사자이다.") is None
    )  # Hanja of the document
    assert korean_problem("   ") == "비어 있습니다"
    assert question_problem("연가는 며칠까지 쓸 수 있나요?") is None and question_problem("몇 일인가?") is None
    assert question_problem("공무원은 연가를 사용할 수 있다.") == "의문문이 아닙니다"
    assert question_problem("제3조에 대해 물어볼 만한 질문은?") == "질문을 묻는 질문입니다"


def test_replies_are_parsed_through_fences_and_broken_json():
    fields = ("question", "answer")
    fenced = '```json\n{\n  "question": "연가는 며칠 전까지 신청하나요?",\n  "answer": "사용 3일 전까지입니다."\n}\n```'
    assert parse_reply(fenced, fields) == {
        "question": "연가는 며칠 전까지 신청하나요?",
        "answer": "사용 3일 전까지입니다.",
    }
    chatty = '좋습니다. 다음과 같습니다: {"question": "출장 보고서는 언제 내나요?", "answer": "5일 이내", "x": 1} 끝.'
    assert parse_reply(chatty, fields) == {"question": "출장 보고서는 언제 내나요?", "answer": "5일 이내"}
    broken = '{"question": "재택근무는 주 며칠인가요?", "answer": "주 2일까지입니다.",}'  # a trailing comma
    assert parse_reply(broken, fields) == {"question": "재택근무는 주 며칠인가요?", "answer": "주 2일까지입니다."}
    assert parse_reply('{"question": "질문만 있나요?"}', fields) is None
    assert (
        parse_reply("모르겠습니다", fields) is None and parse_reply('{"question": "", "answer": "a"}', fields) is None
    )


def test_a_reply_becomes_a_draft_only_when_it_passes_every_check(corpus):
    leave = next(p for p in corpus.passages if p.anchor == "제3조(연가)")
    reply = '```json\n{"question": "연가는 며칠 전까지 신청해야 하나요?", "answer": "사용 3일 전까지 부서장에게 신청합니다."}\n```'
    draft = draft_from_reply(reply, leave, "answerable", GENERATOR, assistant="hr-bot")
    assert isinstance(draft, GeneratedDraft)
    assert (draft.expected, draft.status, draft.origin, draft.assistant) == ("answer", "draft", "generated", "hr-bot")
    assert draft.reference_answer == "사용 3일 전까지 부서장에게 신청합니다." and draft.source_passage == LEAVE
    assert [(r.doc, r.anchor) for r in draft.reference_passages] == [("복무규정.txt", "제3조(연가)")]
    assert draft.eval_item().expected == "answer" and draft.generator == GENERATOR

    english = '{"question": "How many days before must annual leave be requested?", "answer": "Three days."}'
    assert draft_from_reply(english, leave, "answerable", GENERATOR) == Rejection("language", "질문: 영어입니다")
    mixed_answer = '{"question": "연가는 며칠 전까지 신청하나요?", "answer": "Three days before, 부서장에게."}'
    rejected = draft_from_reply(mixed_answer, leave, "answerable", GENERATOR)
    assert isinstance(rejected, Rejection) and rejected.reason == "language" and rejected.detail.startswith("답변")
    assert draft_from_reply("질문: 연가는?", leave, "answerable", GENERATOR) == Rejection(
        "format", "JSON 형식이 아닙니다"
    )

    check = CorpusCheck.of(corpus.passages)
    answered = '{"question": "공무원이 연가를 사용하려면 어떻게 신청해야 할까요?", "reason": "문서에 없습니다."}'
    rejected = draft_from_reply(answered, leave, "unanswerable", GENERATOR, corpus=check)
    assert isinstance(rejected, Rejection) and rejected.reason == "answerable"
    assert {"연가", "신청", "사용"} <= set(rejected.words)
    elsewhere = '{"question": "재택근무 신청서는 며칠 전까지 작성하나요?", "reason": "연가 조항에 없습니다."}'
    rejected = draft_from_reply(elsewhere, leave, "unanswerable", GENERATOR, corpus=check)
    assert isinstance(rejected, Rejection) and rejected.reason == "answerable"  # the guide answers it
    unanswerable = (
        '{"question": "연가를 다 쓰지 못하면 연가보상비는 얼마나 받나요?", "reason": "보상비가 나오지 않습니다."}'
    )
    draft = draft_from_reply(unanswerable, leave, "unanswerable", GENERATOR, corpus=check)
    assert isinstance(draft, GeneratedDraft)
    assert (draft.expected, draft.reference_passages, draft.note) == ("refuse", [], "보상비가 나오지 않습니다.")
    assert draft.eval_item().expected == "refuse"


def test_the_answerability_check_counts_the_questions_topic_words_in_a_passage():
    assert answered_by("연가를 사용하려면 어떻게 신청해야 할까요?", [LEAVE]) is not None
    assert answered_by("연가보상비는 얼마인가요?", [LEAVE]) is None
    assert answered_by("연가 사용 수당은 얼마인가요?", [LEAVE]) is None  # 2 of 3 words: below "nearly all"
    assert answered_by("어떻게 하나요?", [LEAVE]) is not None  # no topic at all: never a refusal item


def test_a_passage_on_the_topic_that_states_no_value_of_the_asked_kind_does_not_answer():
    """The near-domain questions the drafter writes reuse the passage's topic words and ask for
    a value it does not state: those are refusal items, not answered questions."""
    asks_period = "연가를 사용하려면 며칠 전까지 신청해야 하나요?"
    assert answered_by(asks_period, [LEAVE]) is not None  # the passage states "사용 3일 전까지"
    no_period = "연가를 사용하려면 부서장에게 신청해야 한다."
    assert answered_by(asks_period, [no_period]) is None  # the topic, but no period stated
    assert answered_by("연가 신청은 얼마를 내야 하나요?", [LEAVE]) is None  # an amount nowhere stated
    passages = [no_period, LEAVE]
    assert answered_by(asks_period, passages) is not None  # any passage that states it answers


# -- the real model -------------------------------------------------------------------------------
@pytest.mark.slow
def test_the_bundled_instruction_model_drafts_korean_items_anchored_in_the_documents(
    qwen_server, docs, corpus, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("NURI_EVAL__JUDGE__BASE_URL", qwen_server.base_url)
    monkeypatch.setenv("NURI_EVAL__JUDGE__MODEL", BUNDLED_MODEL)
    monkeypatch.setenv("NURI_DATA_DIR", str(tmp_path / "data"))  # the assistants' store: data/nuri.db
    out = tmp_path / "drafts.jsonl"
    args = ["eval", "generate", str(docs), "--n", "4", "--unanswerable-share", "0.5", "--seed", "3",
            "--assistant", "hr-bot", "--out", str(out), "--quiet"]  # fmt: skip
    assert main(args) == 2  # no such assistant yet: a usage error, before any model call
    assert "hr-bot" in capsys.readouterr().err
    with AssistantStore(f"sqlite:///{tmp_path / 'data' / 'nuri.db'}") as store:
        store.create(AssistantSpec(id="hr-bot", name="인사 도우미", agency="누리행정청"), "cli:test")
    assert main(args) == 0, capsys.readouterr().err
    printed = capsys.readouterr()
    assert "broken.pdf" in printed.err and "PDF" in printed.err  # reported, skipped
    assert "초안: 답할 수 있는 질문" in printed.out and "버림: 한국어 아님" in printed.out
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    print("example draft:", json.dumps(lines[0], ensure_ascii=False))
    drafts = read_drafts(out)
    assert 2 <= len(drafts) <= 4 and all(isinstance(d, GeneratedDraft) for d in drafts)
    real = anchors_of(corpus)
    texts = {p.text for p in corpus.passages}
    for d in drafts:
        assert isinstance(d, GeneratedDraft)
        assert korean_problem(d.question) is None and d.language == "ko", d.question
        assert (d.status, d.origin, d.assistant, d.category) == ("draft", "generated", "hr-bot", "generated")
        assert d.source_passage in texts and (d.source.doc, d.source.anchor) in real
        assert d.generator.model == BUNDLED_MODEL and len(d.generator.prompt_version) == 12 and d.generator.seed == 3
        if d.expected == "answer":
            assert korean_problem(d.reference_answer) is None, d.reference_answer
            assert [(r.doc, r.anchor) for r in d.reference_passages] == [(d.source.doc, d.source.anchor)]
        else:
            assert d.expected == "refuse" and d.reference_passages == []
    assert any(d.expected == "refuse" for d in drafts) and any(d.expected == "answer" for d in drafts)
    assert main(args) == 2  # never over a drafts file (its review statuses)

    suite = tmp_path / "suite.jsonl"
    assert review(out, suite, io.StringIO("a\n" * len(drafts)), io.StringIO()).accepted == len(drafts)
    assert main(["eval", "validate", str(suite)]) == 0
    assert [i.id for i in load_items(suite)] == [d.id for d in drafts]


@pytest.mark.slow
def test_without_a_judge_endpoint_the_bundled_model_is_started_for_the_run_and_stopped(tmp_path):
    settings = load_settings(data_dir=tmp_path / "data")
    assert settings.eval.judge.base_url is None
    with instruction_model(settings) as judge:
        assert judge.base_url and judge.model == BUNDLED_MODEL
        client = LLMClient(LLMSettings(model=judge.model, mode="chat"), [judge.base_url])
        assert BUNDLED_MODEL in client.list_models()
        client.close()
    assert (tmp_path / "data" / "logs" / "model-server-eval-generate.log").exists()
    stopped = LLMClient(LLMSettings(model=BUNDLED_MODEL, connect_timeout_s=1.0), [judge.base_url])
    with pytest.raises(LLMUnavailableError):
        stopped.list_models()
