"""The 평가 tab's draft review: an AI champion reviews draft eval items into a suite in the page.

The drafts are those of ``nuri eval generate`` (drafted from the agency's documents) or ``nuri eval
items from-feedback``; the decisions are the shared ones of :mod:`evals.draft_review` (the same
:class:`~evals.draft_review.DraftBook` the terminal review uses): accept (appended to the suite as
a plain eval item, never twice), edit (question, expected, reference answer, reference passages),
drop; every decision is written back to the drafts file at once, so a review started in the
terminal goes on here and the other way round.

Where the files are: drafts files lie in the server's eval folder, ``<eval.out_dir>/../drafts/``
(``data/eval/drafts/`` by default), one folder per agency (the agency name, characters other
than letters, digits, ``.``, ``-`` and ``_`` replaced by ``_``; a key without an agency:
``_공통``). An evaluator sees and opens only the ``*.jsonl`` files of their own agency's folder
(drafts hold the text of the agency's documents); an admin those of every agency. A drafts file
can also be uploaded: it is checked (every line a draft) and saved into the caller's folder. The
accepted items go to ``<that folder>/suites/<name>.jsonl`` (a plain file name, ending ``.jsonl``),
which ``nuri eval run`` and ``nuri eval validate`` take as they are.

Every handler checks the caller from its own request (the evaluator role, as the rest of the tab)
and opens the file again: nothing is kept between events but a lock that serialises decisions.
"""

from __future__ import annotations

import html
import logging
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr

from assistant.callers import Caller
from evals.draft_review import DraftBook, NotReady, ReviewDraft, describe, parse_ref, read_drafts, ref_text
from evals.schema import EXPECTED_VALUES, PassageRef

if TYPE_CHECKING:
    from configs.settings import Settings

log = logging.getLogger("nuri.ui.drafts")

#: The folder of a caller without an agency.
COMMON_FOLDER = "_공통"
SUITES_FOLDER = "suites"
#: Largest drafts file taken by upload.
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
DEFAULT_SUITE = "suite.jsonl"

NO_ACCESS_NOTICE = "> 🔒 평가 문항 검토는 평가 권한(evaluator)이 있는 사용자만 할 수 있습니다."
NO_FILES_NOTICE = (
    "> ℹ️ 검토할 초안 파일이 없습니다. `nuri eval generate`로 만든 초안 파일을 올리거나 서버의 `{folder}` 폴더에 두세요."
)
PICK_FILE_NOTICE = "> ℹ️ 검토할 초안 파일을 고르세요."
FILE_MISSING_NOTICE = "> ⚠️ 초안 파일을 찾을 수 없습니다: `{name}`"
DRAFT_MISSING_NOTICE = "> ⚠️ 초안을 찾을 수 없습니다: `{name}`"
DONE_NOTICE = "> ✅ 검토할 초안이 더 없습니다. 수락한 문항의 묶음 파일은 `{folder}` 폴더에 있습니다."
SUITE_NAME_NOTICE = "> ⚠️ 묶음 파일 이름은 `.jsonl`로 끝나는 파일 이름입니다 (예: `suite.jsonl`, 폴더 없이)."

_SAFE = re.compile(r"[^\w.-]")
_SUITE_NAME = re.compile(r"^[\w][\w.-]*\.jsonl$")

#: (notice, draft picker, draft shown, question, expected, reference answer, references)
DraftOutputs = tuple[str, Any, str, str, str, str, str]


def drafts_root(settings: Settings) -> Path:
    """The server's drafts folder: ``drafts/`` beside ``eval.out_dir``."""
    return settings.resolve(settings.eval.out_dir).parent / "drafts"


def agency_folder(agency: str | None) -> str:
    """The folder name of an agency's drafts (see the module docstring)."""
    name = _SAFE.sub("_", (agency or "").strip()).lstrip(".")
    return name or COMMON_FOLDER


def _quote(s: str) -> str:
    return s.replace("`", "'")


def draft_html(item: ReviewDraft) -> str:
    """A draft as the reviewer sees it (every text escaped: documents and models wrote them)."""
    rows = "".join(
        f'<tr><th style="text-align:left;vertical-align:top;white-space:nowrap;padding:4px 8px">{html.escape(label)}</th>'
        f'<td style="white-space:pre-wrap;padding:4px 8px">{html.escape(text)}</td></tr>'
        for label, text in describe(item)
    )
    return (
        f'<div class="nuri-draft"><div><b>{html.escape(item.id)}</b> ({html.escape(item.status)})</div>'
        f"<table>{rows}</table></div>"
    )


class DraftReviewView:
    """The panel's handlers. ``caller`` gives a request's signed-in evaluator, or None (the tab's
    :meth:`ui.evals_tab.EvalsView.caller`)."""

    def __init__(self, settings: Settings, caller: Callable[[gr.Request | None], Caller | None]) -> None:
        self.root = drafts_root(settings)
        self.caller = caller
        self._lock = threading.Lock()

    # -- files ----------------------------------------------------------------------------------
    def own_folder(self, who: Caller) -> Path:
        return self.root / agency_folder(who.principal.agency)

    def file_refs(self, who: Caller) -> list[str]:
        """The drafts files ``who`` may open, relative to the drafts folder (sorted)."""
        if who.has_role("admin"):
            found = [*self.root.glob("*.jsonl"), *self.root.glob("*/*.jsonl")]
        else:
            found = list(self.own_folder(who).glob("*.jsonl"))
        return sorted(p.relative_to(self.root).as_posix() for p in found if p.is_file())

    def _path(self, who: Caller, ref: str | None) -> Path | None:
        """The file of ``ref`` when it is one ``who`` may open (one of :meth:`file_refs`), else None."""
        return self.root / ref if ref and ref in self.file_refs(who) else None

    def files(self, request: gr.Request) -> tuple[str, Any]:
        """(notice, file picker)."""
        who = self.caller(request)
        if who is None:
            return NO_ACCESS_NOTICE, gr.update(choices=[], value=None)
        refs = self.file_refs(who)
        notice = "" if refs else NO_FILES_NOTICE.format(folder=_quote(str(self.own_folder(who))))
        return notice, gr.update(choices=refs, value=refs[0] if refs else None)

    def upload(self, file: Any, request: gr.Request) -> tuple[str, Any]:
        """Save an uploaded drafts file into the caller's folder: (notice, file picker)."""
        who = self.caller(request)
        if who is None:
            return NO_ACCESS_NOTICE, gr.update(choices=[], value=None)
        if not file:
            return "> ℹ️ 올릴 초안 파일(.jsonl)을 고르세요.", gr.update()
        src = Path(str(getattr(file, "name", file)))
        if src.stat().st_size > MAX_UPLOAD_BYTES:
            return f"> ⛔ 파일이 너무 큽니다 ({MAX_UPLOAD_BYTES // (1024 * 1024)}MB까지): {src.name}", gr.update()
        try:
            items = read_drafts(src)
        except (ValueError, UnicodeDecodeError) as e:
            shown = str(e).replace(str(src), src.name).splitlines()[0][:300]
            return f"> ⛔ 초안 파일이 아닙니다: {_quote(shown)}", gr.update()
        if not items:
            return "> ⛔ 초안이 하나도 없는 파일입니다.", gr.update()
        folder = self.own_folder(who)
        stem = _SAFE.sub("_", src.stem).lstrip(".") or "drafts"
        with self._lock:
            folder.mkdir(parents=True, exist_ok=True)
            target, n = folder / f"{stem}.jsonl", 1
            while target.exists():
                n += 1
                target = folder / f"{stem}-{n}.jsonl"
            target.write_bytes(src.read_bytes())
        ref = target.relative_to(self.root).as_posix()
        log.info("drafts uploaded", extra={"file": ref, "drafts": len(items), "subject": who.subject})
        picker = gr.update(choices=self.file_refs(who), value=ref)
        return f"> ✅ 초안 {len(items)}개를 올렸습니다: `{_quote(ref)}`", picker

    # -- drafts ---------------------------------------------------------------------------------
    def _empty(self, notice: str) -> DraftOutputs:
        return notice, gr.update(choices=[], value=None), "", "", "answer", "", ""

    def _book(self, who: Caller, ref: str | None, suite_name: str = DEFAULT_SUITE) -> DraftBook | str:
        """The drafts file ``ref`` opened for ``who``, or the notice that says why not."""
        if not ref:
            return PICK_FILE_NOTICE
        path = self._path(who, ref)
        if path is None:
            return FILE_MISSING_NOTICE.format(name=_quote(ref))
        name = (suite_name or DEFAULT_SUITE).strip()
        if not _SUITE_NAME.match(name):
            return SUITE_NAME_NOTICE
        try:
            return DraftBook(path, path.parent / SUITES_FOLDER / name)
        except (ValueError, UnicodeDecodeError) as e:
            shown = str(e).replace(str(path), ref).splitlines()[0][:300]
            return f"> ⛔ 초안 파일을 읽을 수 없습니다: {_quote(shown)}"

    def _view(self, book: DraftBook, draft_id: str | None, notice: str = "") -> DraftOutputs:
        """The outputs showing ``draft_id`` (or the first draft still to review)."""
        pending = book.pending()
        if not pending:
            done = DONE_NOTICE.format(folder=_quote(str(book.suite_out.parent)))
            return self._empty(f"{notice}\n\n{done}" if notice else done)
        choices = [(f"{book.items[i].id} · {book.items[i].question[:40]}", book.items[i].id) for i in pending]
        index = pending[0]
        if draft_id:
            try:
                index = book.index_of(draft_id)
            except KeyError:
                notice = notice or DRAFT_MISSING_NOTICE.format(name=_quote(draft_id))
        item = book.items[index]
        counts = {s: sum(1 for it in book.items if it.status == s) for s in ("accepted", "dropped")}
        progress = f"남은 초안 {len(pending)}개 · 수락 {counts['accepted']} · 버림 {counts['dropped']}"
        return (
            f"{notice}\n\n{progress}" if notice else progress,
            gr.update(choices=choices, value=item.id if item.status == "draft" else None),
            draft_html(item),
            item.question,
            item.expected,
            item.reference_answer,
            "\n".join(ref_text(r) for r in item.reference_passages),
        )

    def open(self, ref: str | None, request: gr.Request) -> DraftOutputs:
        """The first draft still to review of a drafts file."""
        return self.show(ref, None, request)

    def show(self, ref: str | None, draft_id: str | None, request: gr.Request) -> DraftOutputs:
        who = self.caller(request)
        if who is None:
            return self._empty(NO_ACCESS_NOTICE)
        book = self._book(who, ref)
        return self._empty(book) if isinstance(book, str) else self._view(book, draft_id)

    def _decide(
        self,
        ref: str | None,
        draft_id: str | None,
        request: gr.Request,
        decide: Callable[[DraftBook, int], str],
        suite_name: str = DEFAULT_SUITE,
    ) -> DraftOutputs:
        who = self.caller(request)
        if who is None:
            return self._empty(NO_ACCESS_NOTICE)
        with self._lock:
            book = self._book(who, ref, suite_name)
            if isinstance(book, str):
                return self._empty(book)
            if not draft_id:
                return self._view(book, None, "> ℹ️ 검토할 초안을 고르세요.")
            try:
                index = book.index_of(draft_id)
            except KeyError:
                return self._view(book, None, DRAFT_MISSING_NOTICE.format(name=_quote(draft_id)))
            if book.items[index].status != "draft":
                return self._view(book, None, f"> ℹ️ 이미 검토한 초안입니다 ({book.items[index].status}).")
            try:
                notice = decide(book, index)
            except ValueError as e:  # NotReady too: the draft stays shown, with why
                return self._view(book, draft_id, f"> ⚠️ {_quote(str(e))}")
            log.info("draft reviewed", extra={"file": ref, "draft": draft_id, "subject": who.subject})
            return self._view(book, None if book.items[index].status != "draft" else draft_id, notice)

    @staticmethod
    def _edit(book: DraftBook, index: int, question: str, expected: str, reference: str, refs: str) -> None:
        """Apply the edited fields that differ from the draft (ValueError, Korean, when unusable)."""
        item = book.items[index]
        passages: list[PassageRef] = []
        for line in (refs or "").splitlines():
            if line.strip():
                try:
                    passages.append(parse_ref(line))
                except ValueError as e:
                    raise ValueError(f"쓸 수 없는 근거입니다: {line.strip()} ({str(e).splitlines()[0]})") from e
        changes: dict[str, Any] = {}
        if (question or "").strip() and question.strip() != item.question:
            changes["question"] = question
        if expected and expected != item.expected:
            if expected not in EXPECTED_VALUES:
                raise ValueError(f"기대는 {', '.join(EXPECTED_VALUES)} 중 하나입니다")
            changes["expected"] = expected
        if (reference or "").strip() != item.reference_answer:
            changes["reference_answer"] = reference or ""
        if passages != item.reference_passages:
            changes["reference_passages"] = passages
        if changes:
            book.edit(index, **changes)

    def accept(
        self,
        ref: str | None,
        draft_id: str | None,
        question: str,
        expected: str,
        reference: str,
        refs: str,
        suite_name: str,
        request: gr.Request,
    ) -> DraftOutputs:
        """Accept the draft as edited in the form: appended to the suite, marked accepted. When the
        edited draft is not a valid item yet, nothing changes and the notice says why."""

        def decide(book: DraftBook, index: int) -> str:
            before = book.items[index]
            self._edit(book, index, question, expected, reference, refs)
            try:
                written = book.accept(index)
            except NotReady as e:  # nothing of a refused acceptance is kept
                book.items[index] = before
                book.save()
                raise NotReady(f"아직 수락할 수 없습니다: {e} (참고 답변이나 근거를 넣으세요)") from e
            suite = _quote(str(book.suite_out))
            if not written:
                return f"> ℹ️ 이미 `{suite}`에 있는 문항입니다: 다시 넣지 않았습니다"
            return f"> ✅ 수락했습니다: `{suite}`"

        return self._decide(ref, draft_id, request, decide, suite_name)

    def save(
        self, ref: str | None, draft_id: str | None, question: str, expected: str, reference: str, refs: str,
        request: gr.Request,
    ) -> DraftOutputs:  # fmt: skip
        """Save the edited fields without deciding."""

        def decide(book: DraftBook, index: int) -> str:
            self._edit(book, index, question, expected, reference, refs)
            return "> ✅ 고친 내용을 저장했습니다."

        return self._decide(ref, draft_id, request, decide)

    def drop(self, ref: str | None, draft_id: str | None, request: gr.Request) -> DraftOutputs:
        def decide(book: DraftBook, index: int) -> str:
            book.drop(index)
            return "> 🗑️ 버렸습니다."

        return self._decide(ref, draft_id, request, decide)


def build_draft_review_panel(
    blocks: gr.Blocks, settings: Settings, caller: Callable[[gr.Request | None], Caller | None]
) -> DraftReviewView:
    """The panel, built inside the current layout of the 평가 tab; returns its handlers."""
    view = DraftReviewView(settings, caller)
    gr.Markdown(
        "### 평가 문항 초안 검토 (review drafts)\n"
        "`nuri eval generate`(기관 문서) 또는 `nuri eval items from-feedback`(사용자 피드백)으로 만든 초안을 "
        "하나씩 수락·수정·버립니다. 수락한 문항은 묶음 파일에 더해집니다."
    )
    with gr.Row(equal_height=True):
        files = gr.Dropdown(choices=[], value=None, label="초안 파일", scale=4, allow_custom_value=True,
                            elem_id="nuri-drafts-file")  # fmt: skip
        refresh = gr.Button("새로고침", size="sm", scale=0, elem_id="nuri-drafts-refresh")
        open_btn = gr.Button("열기", variant="primary", scale=1, elem_id="nuri-drafts-open")
    upload = gr.File(label="초안 파일 올리기 (.jsonl)", file_count="single", file_types=[".jsonl"], type="filepath",
                     elem_id="nuri-drafts-upload")  # fmt: skip
    notice = gr.Markdown("", elem_id="nuri-drafts-notice")
    draft = gr.Dropdown(choices=[], value=None, label="검토할 초안", allow_custom_value=True, elem_id="nuri-draft")
    shown = gr.HTML("", elem_id="nuri-draft-shown")
    question = gr.Textbox(label="질문", lines=2, elem_id="nuri-draft-question")
    with gr.Row():
        expected = gr.Radio(list(EXPECTED_VALUES), value="answer", label="기대 (answer: 답변, refuse: 거절)",
                            elem_id="nuri-draft-expected")  # fmt: skip
        suite = gr.Textbox(DEFAULT_SUITE, label="묶음 파일 이름", max_lines=1, elem_id="nuri-draft-suite")
    reference = gr.Textbox(label="참고 답변", lines=2, elem_id="nuri-draft-reference")
    refs = gr.Textbox(label="근거 (한 줄에 하나: 문서|위치 또는 법령명|제N조)", lines=2, elem_id="nuri-draft-refs")
    with gr.Row():
        accept = gr.Button("수락 (고친 내용으로)", variant="primary", elem_id="nuri-draft-accept")
        save = gr.Button("고친 내용 저장", elem_id="nuri-draft-save")
        drop = gr.Button("버림", variant="stop", elem_id="nuri-draft-drop")

    outputs = [notice, draft, shown, question, expected, reference, refs]
    refresh.click(view.files, outputs=[notice, files], api_name="draft_files",
                  api_description="초안 파일 목록 (evaluator 권한, 자기 기관 폴더): (알림, 파일 선택).")  # fmt: skip
    upload.upload(view.upload, inputs=[upload], outputs=[notice, files], api_visibility="private")
    open_btn.click(view.open, inputs=[files], outputs=outputs, api_name="draft_open",
                   api_description="초안 파일 열기: 첫 번째 검토할 초안 (evaluator 권한).")  # fmt: skip
    draft.input(view.show, inputs=[files, draft], outputs=outputs, api_visibility="private")
    accept.click(view.accept, inputs=[files, draft, question, expected, reference, refs, suite], outputs=outputs,
                 api_name="draft_accept", api_description="초안 수락 (고친 내용으로, 묶음 파일에 추가; evaluator 권한).")  # fmt: skip
    save.click(view.save, inputs=[files, draft, question, expected, reference, refs], outputs=outputs,
               api_name="draft_save", api_description="초안의 고친 내용 저장 (evaluator 권한).")  # fmt: skip
    drop.click(view.drop, inputs=[files, draft], outputs=outputs, api_name="draft_drop",
               api_description="초안 버림 (evaluator 권한).")  # fmt: skip
    blocks.load(view.files, outputs=[notice, files], api_visibility="private")
    return view
