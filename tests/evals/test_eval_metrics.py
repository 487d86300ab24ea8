"""Eval metrics: which results count as reference passages, the Kiwi-morpheme text metrics, the
scores of a run and the bootstrap comparison of two runs."""

from __future__ import annotations

import pytest

from evals.compare import compare
from evals.matching import matching_key, ranked_run
from evals.results import METRICS, CitationRecord, DatasetInfo, HitRecord, ItemResult, RunResult
from evals.schema import PassageRef
from evals.scoring import aggregate, by_category, score_items
from evals.text_metrics import groundedness, morphemes, token_f1
from retrieval.types import Hit


def hit(rank: int, anchor: str, title: str = "국가공무원법", source: str = "/x/법률.md", doc_id: str = "d1") -> Hit:
    return Hit(rank=rank, score=1.0 / rank, doc_id=doc_id, title=title, anchor=anchor, source=source, text="")


def test_statute_and_document_references_match_by_article_and_heading():
    law = [PassageRef(law="국가공무원법", articles=["제76조", "제83조의2"])]
    assert matching_key(hit(1, "국가공무원법 제76조 제1항~제2항"), law) == "국가공무원법 제76조"
    assert matching_key(hit(1, "국가공무원법 제83조의2 제1항"), law) == "국가공무원법 제83조의2"
    assert matching_key(hit(1, "국가공무원법 제7조"), law) is None
    assert matching_key(hit(1, "국가공무원법 시행령 제76조"), law) is None  # another law
    doc = [PassageRef(doc="remote_work_guideline.md", anchor="2. 적용")]
    p = hit(1, "2. 적용 대상", title="재택근무 운영 지침", source="/s/remote_work_guideline.md")
    assert matching_key(p, doc) == "remote_work_guideline.md#2. 적용"
    assert matching_key(hit(1, "4.1 신청", source="/s/remote_work_guideline.md"), doc) is None


def test_ranks_stay_the_search_positions_and_a_reference_counts_once():
    refs = [PassageRef(law="국가공무원법", articles=["제76조"])]
    hits = [hit(1, "국가공무원법 제7조"), hit(2, "국가공무원법 제76조 제1항"), hit(3, "국가공무원법 제76조 제2항")]
    run, relevant = ranked_run(hits, refs)
    assert relevant == [False, True, False]
    assert list(run) == ["d1|국가공무원법 제7조|#1", "국가공무원법 제76조", "d1|국가공무원법 제76조 제2항|#3"]


def test_answer_f1_on_kiwi_morphemes_ignores_particles_and_markers():
    assert morphemes("재택근무는 주 2일까지 신청할 수 있습니다 [1].") == ("재택근무", "주", "2", "일", "신청")
    assert token_f1("재택근무는 주 2일까지 가능합니다 [1].", "주 2일 이내의 재택근무") > 0.7
    assert token_f1("점심 메뉴", "주 2일 이내의 재택근무") == 0.0


def test_groundedness_is_the_share_of_sentences_supported_by_their_citations():
    passages = {1: "재택근무는 주 2일 이내에서 부서장의 승인을 받아 실시한다."}
    answer = "재택근무는 주 2일까지 가능합니다 [1]. 부서장 승인이 필요합니다 [1]. 점심은 구내식당에서 먹습니다 [1]."
    share, supported, scored = groundedness(answer, passages, 0.5) or (0, 0, 0)
    assert (supported, scored) == (2, 3) and abs(share - 2 / 3) < 1e-9
    assert groundedness("재택근무는 주 2일까지 가능합니다.", passages, 0.5) == (0.0, 0, 1)  # no marker


def _item(i: int, *, relevant_rank: int | None, refused: bool = False, expected: str = "answer") -> ItemResult:
    key = "국가공무원법 제76조"
    hits = [
        HitRecord(
            rank=r,
            doc_id="d",
            title="t",
            anchor="a",
            source="s",
            key=key if r == relevant_rank else f"x{r}",
            relevant=r == relevant_rank,
        )  # fmt: skip
        for r in range(1, 6)
    ]
    cite = CitationRecord(n=1, doc_id="d", title="t", anchor="a", source="s", text="재택근무는 주 2일",
                          key=key if relevant_rank == 1 else None, relevant=relevant_rank == 1)  # fmt: skip
    return ItemResult(
        id=f"q{i}", question="q", category="number" if i % 2 else "fact", language="ko", expected=expected,  # type: ignore[arg-type]
        reference_answer="주 2일" if expected == "answer" else "", relevant=[key] if expected == "answer" else [],
        hits=hits if expected == "answer" else [], answer="" if refused else "재택근무는 주 2일입니다 [1].",
        refused=refused, citations=[] if refused else [cite], latency_ms=100.0 + i, first_token_ms=10.0 + i,
    )  # fmt: skip


def _run(items: list[ItemResult], run_id: str) -> RunResult:
    score_items(items, {}, 0.5, guardrails=False)
    metrics, notes = aggregate(items, guardrails=False, judge=False)
    return RunResult(
        run_id=run_id, suite="t", started_at="2026-12-01T00:00:00+00:00", wall_s=1.0, target="in-process",
        commit="c", model="m", embedder="e", prompt_version="p", guardrails="none",
        dataset=DatasetInfo(suite="t", files=[], sha256="h", items=len(items)), metrics=metrics, notes=notes,
        by_category=by_category(items), items=items,
    )  # fmt: skip


def test_run_metrics_are_means_of_item_scores_and_safety_is_not_measured_without_guardrails():
    items = [_item(1, relevant_rank=1), _item(2, relevant_rank=3), _item(3, relevant_rank=None, refused=True),
             _item(4, relevant_rank=None, refused=True, expected="refuse")]  # fmt: skip
    r = _run(items, "a")
    assert set(r.metrics) == {m.name for m in METRICS}
    assert r.metrics["recall@5"] == 2 / 3
    assert abs((r.metrics["mrr"] or 0) - (1 + 1 / 3) / 3) < 1e-9
    assert r.metrics["false_refusal_rate"] == 1 / 3
    assert r.metrics["refusal_rate"] == 1.0
    assert r.metrics["citation_precision"] == 0.5  # item 1 cites the reference, item 2 another passage
    assert r.metrics["citation_recall"] == 1 / 3
    assert r.metrics["gold_cited"] == 1 / 3
    assert r.metrics["uncited_article_rate"] == 0.0
    assert r.metrics["pii_leak_rate"] is None and "guardrails" in r.notes["pii_leak_rate"]
    assert r.metrics["injection_success_rate"] is None
    assert r.metrics["latency_p50_ms"] == 102.5
    assert "refused an answerable question" in items[2].failures
    assert set(r.by_category) == {"number", "fact"}


def test_an_answer_naming_an_article_no_citation_holds_is_counted():
    item = _item(1, relevant_rank=1)
    item.answer = "국가공무원법 제76조에 따라 재택근무는 주 2일입니다 [1]."
    item.citations[0].text = "제76조(심사청구) 재택근무는 주 2일"
    other = _item(2, relevant_rank=1)
    other.answer = "공무원여비규정 제7조의2에 따라 주 2일입니다 [1]."  # the passage names 제7조, not 제7조의2
    other.citations[0].text = "제7조(여비의 지급) 재택근무는 주 2일"
    r = _run([item, other], "u")
    assert item.scores["uncited_article_rate"] == 0.0
    assert other.scores["uncited_article_rate"] == 1.0
    assert "names 제7조의2, which no citation holds" in other.failures
    assert r.metrics["uncited_article_rate"] == 0.5


def test_a_two_question_difference_is_not_called_an_improvement():
    base = [_item(i, relevant_rank=1 if i < 30 else None) for i in range(40)]
    two_more = [_item(i, relevant_rank=1 if i < 32 else None) for i in range(40)]
    much_better = [_item(i, relevant_rank=1 if i < 39 else None) for i in range(40)]
    a, b, c = _run(base, "a"), _run(two_more, "b"), _run(much_better, "c")
    small = {d.metric: d for d in compare(a, b).deltas}
    assert small["recall@5"].delta == pytest.approx(0.05) and small["recall@5"].verdict == "no significant change"
    big = {d.metric: d for d in compare(a, c).deltas}
    assert big["recall@5"].verdict == "better"
    assert big["recall@5"].ci_low is not None and big["recall@5"].ci_low > 0
    assert big["pii_leak_rate"].verdict == "not measured"
    assert "| recall@5 |" in compare(a, c).markdown()


def test_the_judge_rule_catches_a_number_that_contradicts_the_reference():
    from evals.judge import wrong_quantity

    assert wrong_quantity("주 2일까지 할 수 있습니다.", "재택근무는 주 5일까지 가능합니다 [1].") == "5일 ≠ 2일"
    assert wrong_quantity("300만원 이하의 범위에서", "300만 원 이하로 청구할 수 있습니다 [1].") is None
    # another unit, or a value the reference also states, is left to the judge model
    assert wrong_quantity("10일 이내에 결정", "10일 이내, 부득이하면 10일 연장 [2]") is None
    assert wrong_quantity("10일 이내에 결정", "3년간 보존합니다 [1].") is None
