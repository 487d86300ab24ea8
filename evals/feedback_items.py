"""Eval items from users' negative feedback: drafted from the feedback and its audit record
(``nuri eval items from-feedback``), then reviewed one by one in the terminal (``nuri eval items
review``) into a suite file of the plain eval schema (:mod:`evals.schema`).

A draft is one JSON line: the eval schema's fields (``id`` ``fb-<first 8 of the audit id>``, the
question as the audit trail kept it, ``expected`` ``answer`` — ``refuse`` when the reasons say
``should_refuse`` —, an empty reference answer) and, beside them, what the reviewer needs:
``status`` (``draft``, ``accepted``, ``dropped``), ``feedback`` (rating, reasons, comment),
``answer_given``, ``citations_given`` (``doc``/``anchor``) and ``audit_id``. Every free text is
masked again for personal data (:func:`assistant.feedback.pii_masker`: the guardrails' masking
without an embedder) before it is written: the file goes to evaluators.

A draft is not yet a valid eval item (an item expected to be answered needs a reference answer
or passages): the review edits it until it is; only then can it be accepted. Accepted items are
appended to the suite without the review fields, and the statuses are written back to the
drafts file after every decision, so a review can stop (``q``) and go on later.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Literal, TextIO

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.feedback import REASONS, FeedbackRecord
from assistant.question import detect_language
from evals.schema import EXPECTED_VALUES, EvalItem, Expected, PassageRef
from guardrails.audit import AuditRecord

Status = Literal["draft", "accepted", "dropped"]
#: The category of an item drafted from feedback.
CATEGORY = "feedback"
#: The eval schema's fields (what an accepted item keeps).
EVAL_FIELDS = frozenset(EvalItem.model_fields)
_ARTICLE = re.compile(r"^제\s*\d+\s*조")


class FeedbackNote(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rating: Literal["up", "down"]
    reasons: list[str] = Field(default_factory=list)
    comment: str = ""


class CitationGiven(BaseModel):
    model_config = ConfigDict(extra="forbid")

    doc: str
    anchor: str = ""


class DraftItem(BaseModel):
    """One line of a drafts file: the eval schema's fields, then the review's."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(..., min_length=1)
    question: str = Field(..., min_length=1)
    category: str = CATEGORY
    language: Literal["ko", "en"] = "ko"
    expected: Expected = "answer"
    reference_answer: str = ""
    reference_passages: list[PassageRef] = Field(default_factory=list)
    forbidden: list[str] = Field(default_factory=list)
    passages: list[str] = Field(default_factory=list)
    status: Status = "draft"
    feedback: FeedbackNote
    answer_given: str = ""
    citations_given: list[CitationGiven] = Field(default_factory=list)
    audit_id: str

    def eval_item(self) -> EvalItem:
        """The item in the plain eval schema (pydantic's ValidationError while it is not valid)."""
        return EvalItem.model_validate(self.model_dump(include=set(EVAL_FIELDS)))


class DraftReport(BaseModel):
    drafted: int
    skipped: list[str] = Field(default_factory=list, description="Why each negative feedback was not drafted.")


def draft_items(
    feedback: Iterable[FeedbackRecord],
    audit_record: Callable[[str], AuditRecord | None],
    mask: Callable[[str], str],
) -> tuple[list[DraftItem], list[str]]:
    """A draft for each negative (``down``) feedback, oldest first, and why any was left out
    (its audit record pruned, or kept without the question)."""
    drafts: list[DraftItem] = []
    skipped: list[str] = []
    seen: set[str] = set()
    for fb in sorted(feedback, key=lambda f: f.created_at):
        if fb.rating != "down":
            continue
        item_id = f"fb-{fb.audit_id[:8]}"
        if item_id in seen:
            skipped.append(f"{fb.audit_id}: 같은 답변의 피드백이 이미 있습니다")
            continue
        record = audit_record(fb.audit_id)
        if record is None:
            skipped.append(f"{fb.audit_id}: 감사 기록이 없습니다 (보존 기간으로 삭제?)")
            continue
        question = mask(record.question or "").strip()
        if not question:
            skipped.append(f"{fb.audit_id}: 감사 기록에 질문이 없습니다 (audit.store_question: false?)")
            continue
        seen.add(item_id)
        drafts.append(
            DraftItem(
                id=item_id,
                question=question,
                language=detect_language(question),
                expected="refuse" if "should_refuse" in fb.reasons else "answer",
                feedback=FeedbackNote(rating=fb.rating, reasons=list(fb.reasons), comment=mask(fb.comment)),
                answer_given=mask(record.answer or ""),
                citations_given=[
                    CitationGiven(doc=mask(str(c.get("doc_id") or "")), anchor=mask(str(c.get("anchor") or "")))
                    for c in record.citations
                ],
                audit_id=fb.audit_id,
            )
        )
    return drafts, skipped


def read_drafts(path: Path) -> list[DraftItem]:
    """The drafts of a file; ValueError naming the first bad line."""
    items: list[DraftItem] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append(DraftItem.model_validate_json(line))
        except ValidationError as e:
            raise ValueError(f"{path}:{n}: 초안 형식이 아닙니다: {e.errors()[0].get('msg', e)}") from e
    return items


def write_drafts(path: Path, items: Iterable[DraftItem]) -> None:
    """Write the drafts file whole (a temporary file renamed over it: never half written)."""
    text = "".join(json.dumps(i.model_dump(mode="json"), ensure_ascii=False) + "\n" for i in items)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def parse_ref(line: str) -> PassageRef:
    """A reference passage as typed: ``법령명|제N조[,제M조]`` (a statute's articles) or
    ``문서|위치`` (a document, optionally one part of it); ``law:``/``doc:`` before it says
    which when the guess would be wrong. ValueError for an unusable one."""
    text = line.strip()
    kind: str | None = None
    for prefix in ("law:", "doc:"):
        if text.lower().startswith(prefix):
            kind, text = prefix[:-1], text[len(prefix) :].strip()
    left, _, right = (part.strip() for part in text.partition("|"))
    if not left:
        raise ValueError("비어 있습니다")
    articles = [a.strip() for a in right.split(",") if a.strip()]
    if kind == "law" or (kind is None and articles and all(_ARTICLE.match(a) for a in articles)):
        return PassageRef(law=left, articles=articles)
    return PassageRef(doc=left, anchor=right or None)


def _ref_text(ref: PassageRef) -> str:
    if ref.law:
        return f"{ref.law}|{','.join(ref.articles)}"
    return f"{ref.doc}|{ref.anchor}" if ref.anchor else str(ref.doc)


class ReviewSummary(BaseModel):
    accepted: int = 0
    dropped: int = 0
    skipped: int = 0
    left: int = Field(0, description="Drafts still to review.")
    quit: bool = False


class _Terminal:
    """The review's prompts on ``inp``/``out`` (a terminal, or a test's scripted streams)."""

    def __init__(self, inp: TextIO, out: TextIO) -> None:
        self.inp, self.out = inp, out
        self.closed = False

    def say(self, text: str = "") -> None:
        self.out.write(text + "\n")

    def ask(self, prompt: str) -> str:
        """One line of input without its newline ("" at the end of the input)."""
        self.out.write(prompt)
        self.out.flush()
        line = self.inp.readline()
        if not line:
            self.closed = True
        return line.rstrip("\r\n")


def _show(term: _Terminal, item: DraftItem, n: int, total: int) -> None:
    note = item.feedback
    reasons = ", ".join(REASONS[r].ko if r in REASONS else r for r in note.reasons) or "(이유 없음)"
    term.say("")
    term.say(f"── [{n}/{total}] {item.id} ({item.status}) ──")
    term.say(f"질문: {item.question}")
    term.say(f"준 답변: {item.answer_given or '(없음)'}")
    if item.citations_given:
        cited = "; ".join(f"{c.doc} · {c.anchor}" if c.anchor else c.doc for c in item.citations_given)
        term.say(f"인용한 근거: {cited}")
    term.say(f"피드백: {'좋음' if note.rating == 'up' else '나쁨'} — {reasons}")
    if note.comment:
        term.say(f"의견: {note.comment}")
    term.say(f"기대: {item.expected}")
    term.say(f"참고 답변: {item.reference_answer or '(없음)'}")
    refs = "; ".join(_ref_text(r) for r in item.reference_passages)
    term.say(f"근거: {refs or '(없음)'}")
    if item.forbidden:
        term.say(f"나오면 안 되는 문자열: {', '.join(item.forbidden)}")


def _edit(term: _Terminal, item: DraftItem) -> DraftItem:
    """Ask for each field in turn; an empty line keeps it, ``-`` clears it."""
    update: dict[str, object] = {}
    question = term.ask(f"질문 [{item.question}]: ").strip()
    if question and question != "-":
        update["question"] = question
        update["language"] = detect_language(question)
    while not term.closed:
        expected = term.ask(f"기대 ({'/'.join(EXPECTED_VALUES)}) [{item.expected}]: ").strip()
        if not expected:
            break
        if expected in EXPECTED_VALUES:
            update["expected"] = expected
            break
        term.say(f"  {', '.join(EXPECTED_VALUES)} 중 하나를 입력하세요")
    reference = term.ask(f"참고 답변 (-: 지움) [{item.reference_answer or '없음'}]: ").strip()
    if reference == "-":
        update["reference_answer"] = ""
    elif reference:
        update["reference_answer"] = reference
    term.say("근거 (한 줄에 하나: 법령명|제N조 또는 문서|위치; 빈 줄로 끝; 처음부터 빈 줄: 그대로; -: 지움)")
    refs: list[PassageRef] = []
    first = True
    while not term.closed:
        line = term.ask("  근거> ").strip()
        if not line:
            break
        if first and line == "-":
            update["reference_passages"] = []
            break
        first = False
        try:
            refs.append(parse_ref(line))
        except ValueError as e:
            term.say(f"  쓸 수 없는 근거입니다 ({str(e).splitlines()[0]}): 법령명|제N조 또는 문서|위치")
    if refs:
        update["reference_passages"] = refs
    if update.get("expected", item.expected) == "mask":
        shown = ", ".join(item.forbidden) or "없음"
        forbidden = term.ask(f"나오면 안 되는 문자열 (쉼표로 구분; -: 지움) [{shown}]: ").strip()
        if forbidden == "-":
            update["forbidden"] = []
        elif forbidden:
            update["forbidden"] = [f.strip() for f in forbidden.split(",") if f.strip()]
    return item.model_copy(update=update)


def _suite_ids(path: Path) -> set[str]:
    if not path.exists():
        return set()
    ids = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            obj = json.loads(line) if line.strip() else None
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict) and "id" in obj:
            ids.add(str(obj["id"]))
    return ids


def _problem(e: ValidationError) -> str:
    return "; ".join(str(err.get("msg", "")).removeprefix("Value error, ") for err in e.errors())


def review(drafts_path: Path, suite_out: Path, inp: TextIO, out: TextIO) -> ReviewSummary:
    """Review the drafts of ``drafts_path`` one by one (see the module docstring): ``a`` accept
    (appended to ``suite_out`` in the plain eval schema), ``e`` edit, ``d`` drop, ``s`` skip,
    ``q`` quit. Statuses are written back to ``drafts_path`` after each decision."""
    items = read_drafts(drafts_path)
    term = _Terminal(inp, out)
    summary = ReviewSummary()
    in_suite = _suite_ids(suite_out)
    todo = [i for i, item in enumerate(items) if item.status == "draft"]
    if not todo:
        term.say("검토할 초안이 없습니다")
    for done, index in enumerate(todo):
        _show(term, items[index], done + 1, len(todo))
        decided = False
        while not decided:
            key = term.ask("[a] 수락  [e] 수정  [d] 버림  [s] 건너뜀  [q] 종료 > ").strip().lower()
            if term.closed or key == "q":
                summary.quit = True
                break
            if key == "a":
                try:
                    accepted = items[index].eval_item()
                except ValidationError as e:
                    term.say(f"  아직 수락할 수 없습니다: {_problem(e)} ([e]로 참고 답변이나 근거를 넣으세요)")
                    continue
                if accepted.id in in_suite:
                    term.say(f"  {accepted.id}는 이미 {suite_out}에 있습니다: 다시 넣지 않습니다")
                else:
                    suite_out.parent.mkdir(parents=True, exist_ok=True)
                    with suite_out.open("a", encoding="utf-8") as f:
                        f.write(json.dumps(accepted.model_dump(mode="json"), ensure_ascii=False) + "\n")
                    in_suite.add(accepted.id)
                items[index] = items[index].model_copy(update={"status": "accepted"})
                summary.accepted += 1
                decided = True
            elif key == "e":
                edited = _edit(term, items[index])
                try:
                    items[index] = DraftItem.model_validate(edited.model_dump())
                except ValidationError as e:
                    term.say(f"  고친 내용을 쓸 수 없습니다: {_problem(e)}")
                write_drafts(drafts_path, items)
                _show(term, items[index], done + 1, len(todo))
            elif key == "d":
                items[index] = items[index].model_copy(update={"status": "dropped"})
                summary.dropped += 1
                decided = True
            elif key == "s":
                summary.skipped += 1
                decided = True
            else:
                term.say("  a, e, d, s, q 중 하나를 입력하세요")
        write_drafts(drafts_path, items)
        if summary.quit:
            break
    summary.left = sum(1 for item in items if item.status == "draft")
    term.say(
        f"수락 {summary.accepted}, 버림 {summary.dropped}, 건너뜀 {summary.skipped}; 남은 초안 {summary.left} "
        f"(묶음: {suite_out})"
    )
    return summary


def parse_when(raw: str | None) -> datetime | None:
    """``--since``/``--until``: an ISO 8601 date or time (no zone: UTC). ValueError otherwise."""
    if not raw:
        return None
    return datetime.fromisoformat(raw.strip())
