"""Reviewing draft eval items into a suite: one review for every kind of draft.

Two kinds of drafts files exist: items drafted from users' negative feedback
(:mod:`evals.feedback_items`, ``nuri eval items from-feedback``) and items drafted by the
instruction model from an agency's own documents (:mod:`evals.generate`, ``nuri eval generate``).
A draft is one JSON line: the eval schema's fields (:class:`evals.schema.EvalItem`), then
``status`` (``draft``, ``accepted``, ``dropped``) and what the reviewer needs to judge it (its
kind's own fields, shown by :meth:`ReviewDraft.details`). A line is read as a generated draft
when it has ``origin``, as a feedback draft otherwise.

The decisions (:class:`DraftBook`: accept, edit, drop) are the same functions for the terminal
(:func:`review`, ``nuri eval review`` and ``nuri eval items review``) and the 평가 tab
(:mod:`ui.draft_review_panel`). A draft is accepted only once it is a valid eval item (an item
expected to be answered needs a reference answer or passages); it is then appended to the suite
without the review fields (never twice: an id already in the suite is not written again), and the
statuses are written back to the drafts file after every decision, so a review can stop (``q``)
and go on later.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from pydantic import BaseModel, Field, ValidationError

from assistant.question import detect_language
from evals.draft_models import ReviewDraft, parse_draft
from evals.schema import EXPECTED_VALUES, PassageRef

#: The eval schema's fields (what an accepted item keeps).
_ARTICLE = re.compile(r"^제\s*\d+\s*조")


def read_drafts(path: Path) -> list[ReviewDraft]:
    """The drafts of a file, in order; ValueError naming the first bad line."""
    items: list[ReviewDraft] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append(parse_draft(json.loads(line)))
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}:{n}: 초안 형식이 아닙니다: JSON이 아닙니다 ({e.msg})") from e
        except ValidationError as e:
            raise ValueError(f"{path}:{n}: 초안 형식이 아닙니다: {e.errors()[0].get('msg', e)}") from e
        except ValueError as e:
            raise ValueError(f"{path}:{n}: 초안 형식이 아닙니다: {e}") from e
    return items


def write_drafts(path: Path, items: Iterable[BaseModel]) -> None:
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


def ref_text(ref: PassageRef) -> str:
    """A reference passage as :func:`parse_ref` reads it back."""
    if ref.law:
        return f"{ref.law}|{','.join(ref.articles)}"
    return f"{ref.doc}|{ref.anchor}" if ref.anchor else str(ref.doc)


def problem(e: ValidationError) -> str:
    """A validation error as one Korean-first line (pydantic's messages without their prefix)."""
    return "; ".join(str(err.get("msg", "")).removeprefix("Value error, ") for err in e.errors())


class NotReady(ValueError):
    """A draft cannot be accepted yet (not a valid eval item); the message says why."""


class DraftBook:
    """A drafts file and the suite its accepted items go to: the review's decisions, each written
    back at once. ``items`` is read when the book is opened (ValueError naming a bad line)."""

    def __init__(self, drafts_path: Path, suite_out: Path) -> None:
        self.path, self.suite_out = drafts_path, suite_out
        self.items = read_drafts(drafts_path)

    def pending(self) -> list[int]:
        """Positions of the drafts still to review."""
        return [i for i, item in enumerate(self.items) if item.status == "draft"]

    def index_of(self, draft_id: str) -> int:
        for i, item in enumerate(self.items):
            if item.id == draft_id:
                return i
        raise KeyError(draft_id)

    def suite_ids(self) -> set[str]:
        if not self.suite_out.exists():
            return set()
        ids = set()
        for line in self.suite_out.read_text(encoding="utf-8").splitlines():
            try:
                obj = json.loads(line) if line.strip() else None
            except json.JSONDecodeError:
                continue
            if isinstance(obj, dict) and "id" in obj:
                ids.add(str(obj["id"]))
        return ids

    def accept(self, index: int) -> bool:
        """Append the draft to the suite as a plain eval item and mark it accepted. False when an
        item of that id is already in the suite (not written again, still marked accepted);
        :class:`NotReady` while the draft is not a valid eval item."""
        try:
            accepted = self.items[index].eval_item()
        except ValidationError as e:
            raise NotReady(problem(e)) from e
        written = accepted.id not in self.suite_ids()
        if written:
            self.suite_out.parent.mkdir(parents=True, exist_ok=True)
            with self.suite_out.open("a", encoding="utf-8") as f:
                f.write(json.dumps(accepted.model_dump(mode="json"), ensure_ascii=False) + "\n")
        self._set(index, status="accepted")
        return written

    def drop(self, index: int) -> None:
        self._set(index, status="dropped")

    def edit(
        self,
        index: int,
        *,
        question: str | None = None,
        expected: str | None = None,
        reference_answer: str | None = None,
        reference_passages: list[PassageRef] | None = None,
        forbidden: list[str] | None = None,
    ) -> ReviewDraft:
        """Change the given fields (None keeps one), validated, and save. ValueError (Korean)
        when the result is not a draft (e.g. an empty question, an unknown ``expected``)."""
        item = self.items[index]
        update: dict[str, Any] = {}
        if question is not None and question.strip() != item.question:
            update["question"] = question.strip()
            update["language"] = detect_language(question)
        if expected is not None:
            if expected not in EXPECTED_VALUES:
                raise ValueError(f"기대는 {', '.join(EXPECTED_VALUES)} 중 하나입니다")
            update["expected"] = expected
        if reference_answer is not None:
            update["reference_answer"] = reference_answer.strip()
        if reference_passages is not None:
            update["reference_passages"] = reference_passages
        if forbidden is not None:
            update["forbidden"] = forbidden
        try:
            edited = type(item).model_validate({**item.model_dump(), **update})
        except ValidationError as e:
            raise ValueError(problem(e)) from e
        self.items[index] = edited
        self.save()
        return edited

    def save(self) -> None:
        write_drafts(self.path, self.items)

    def _set(self, index: int, **update: Any) -> None:
        self.items[index] = self.items[index].model_copy(update=update)
        self.save()


# -- the terminal review --------------------------------------------------------------------------
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


def describe(item: ReviewDraft) -> list[tuple[str, str]]:
    """(label, text) of everything a reviewer sees of a draft: the question, its kind's details,
    then what the item expects."""
    lines = [("질문", item.question), *item.details(), ("기대", item.expected)]
    lines.append(("참고 답변", item.reference_answer or "(없음)"))
    lines.append(("근거", "; ".join(ref_text(r) for r in item.reference_passages) or "(없음)"))
    if item.forbidden:
        lines.append(("나오면 안 되는 문자열", ", ".join(item.forbidden)))
    return lines


def _show(term: _Terminal, item: ReviewDraft, n: int, total: int) -> None:
    term.say("")
    term.say(f"── [{n}/{total}] {item.id} ({item.status}) ──")
    for label, text in describe(item):
        term.say(f"{label}: {text}")


def _ask_edit(term: _Terminal, item: ReviewDraft) -> dict[str, Any]:
    """Ask for each field in turn; an empty line keeps it, ``-`` clears it. The changes, as
    :meth:`DraftBook.edit` takes them."""
    changes: dict[str, Any] = {}
    question = term.ask(f"질문 [{item.question}]: ").strip()
    if question and question != "-":
        changes["question"] = question
    while not term.closed:
        expected = term.ask(f"기대 ({'/'.join(EXPECTED_VALUES)}) [{item.expected}]: ").strip()
        if not expected:
            break
        if expected in EXPECTED_VALUES:
            changes["expected"] = expected
            break
        term.say(f"  {', '.join(EXPECTED_VALUES)} 중 하나를 입력하세요")
    reference = term.ask(f"참고 답변 (-: 지움) [{item.reference_answer or '없음'}]: ").strip()
    if reference == "-":
        changes["reference_answer"] = ""
    elif reference:
        changes["reference_answer"] = reference
    term.say("근거 (한 줄에 하나: 법령명|제N조 또는 문서|위치; 빈 줄로 끝; 처음부터 빈 줄: 그대로; -: 지움)")
    refs: list[PassageRef] = []
    first = True
    while not term.closed:
        line = term.ask("  근거> ").strip()
        if not line:
            break
        if first and line == "-":
            changes["reference_passages"] = []
            break
        first = False
        try:
            refs.append(parse_ref(line))
        except ValueError as e:
            term.say(f"  쓸 수 없는 근거입니다 ({str(e).splitlines()[0]}): 법령명|제N조 또는 문서|위치")
    if refs:
        changes["reference_passages"] = refs
    if changes.get("expected", item.expected) == "mask":
        shown = ", ".join(item.forbidden) or "없음"
        forbidden = term.ask(f"나오면 안 되는 문자열 (쉼표로 구분; -: 지움) [{shown}]: ").strip()
        if forbidden == "-":
            changes["forbidden"] = []
        elif forbidden:
            changes["forbidden"] = [f.strip() for f in forbidden.split(",") if f.strip()]
    return changes


def review(drafts_path: Path, suite_out: Path, inp: TextIO, out: TextIO) -> ReviewSummary:
    """Review the drafts of ``drafts_path`` one by one (see the module docstring): ``a`` accept
    (appended to ``suite_out`` in the plain eval schema), ``e`` edit, ``d`` drop, ``s`` skip,
    ``q`` quit. Statuses are written back to ``drafts_path`` after each decision."""
    book = DraftBook(drafts_path, suite_out)
    term = _Terminal(inp, out)
    summary = ReviewSummary()
    todo = book.pending()
    if not todo:
        term.say("검토할 초안이 없습니다")
    for done, index in enumerate(todo):
        _show(term, book.items[index], done + 1, len(todo))
        decided = False
        while not decided:
            key = term.ask("[a] 수락  [e] 수정  [d] 버림  [s] 건너뜀  [q] 종료 > ").strip().lower()
            if term.closed or key == "q":
                summary.quit = True
                break
            if key == "a":
                try:
                    written = book.accept(index)
                except NotReady as e:
                    term.say(f"  아직 수락할 수 없습니다: {e} ([e]로 참고 답변이나 근거를 넣으세요)")
                    continue
                if not written:
                    term.say(f"  {book.items[index].id}는 이미 {suite_out}에 있습니다: 다시 넣지 않습니다")
                summary.accepted += 1
                decided = True
            elif key == "e":
                try:
                    book.edit(index, **_ask_edit(term, book.items[index]))
                except ValueError as e:
                    term.say(f"  고친 내용을 쓸 수 없습니다: {e}")
                _show(term, book.items[index], done + 1, len(todo))
            elif key == "d":
                book.drop(index)
                summary.dropped += 1
                decided = True
            elif key == "s":
                summary.skipped += 1
                decided = True
            else:
                term.say("  a, e, d, s, q 중 하나를 입력하세요")
        book.save()
        if summary.quit:
            break
    summary.left = len(book.pending())
    term.say(
        f"수락 {summary.accepted}, 버림 {summary.dropped}, 건너뜀 {summary.skipped}; 남은 초안 {summary.left} "
        f"(묶음: {suite_out})"
    )
    return summary
