"""누리 채팅 화면: the Gradio chat civil servants use in the browser.

``mount_chat`` puts it on the API's FastAPI app at ``settings.ui.path`` (the API calls it via
``settings.ui.factory``); ``build_chat`` only builds the :class:`gr.Blocks`. One question goes
through :meth:`NuriService.stream`: the answer appears as the model writes it, the passages it
cites are listed in the 근거 자료 panel, and choosing one opens it (:mod:`ui.citation_viewer`:
title, readable location, the passage highlighted in its surrounding text, the original's
download). A refusal shows the 근거 없음 state; guardrail notices and errors are plain Korean
(:mod:`ui.notices`), an error with a request id to quote.

Conversations are saved per user (``assistant.conversations``: the key store's database) and
listed on the left, newest first, in folders; they can be renamed, moved, deleted and exported as
Markdown (:mod:`ui.conversations_panel`); a follow-up is answered with the earlier turns. Each
answer takes 👍/👎 feedback with reasons and a comment (``assistant.feedback``, tied to the
answer's audit record). The page's other tabs: 평가 for evaluators (:mod:`ui.evals_tab`), 관리 for
admins (:mod:`ui.admin_tab`).

The conversation on screen is also kept in session state (clean turns for follow-ups). With
several API replicas a session's next question may reach a replica that never saw it: the chat on
screen is posted with each question, and a replica with no state for the session takes the earlier
turns from it (:func:`turns_from_messages`). Sign-ins are shared by every replica
(:mod:`ui.sign_in`). The same event is the API endpoint ``/ask``
(``gradio_client.Client(url + ui.path).predict(question, api_name="/ask")`` returns
``(textbox, chat messages, sources markdown, notice markdown)``; ``predict(question, [], "<assistant
id>", api_name="/ask")`` asks through an agency assistant).

Agency assistants: the 도우미 picker above the conversation (:mod:`ui.assistant_picker`) lists
누리 (기본) and the assistants the signed-in caller may use, the agency's default preselected;
each question is asked through the chosen one (checked again by the service), and the notice
under the answer names it.

Sign-in: through the agency's SSO gateway or OpenID Connect (:mod:`ui.sso`), or with an API key
on Gradio's form (사용자 이름 = the key's id, 비밀번호 = the key; :func:`key_login`). Every event
looks the signed-in identity up again from its own request (:meth:`NuriService.caller_for_key`),
so a revoked key stops working at once, and the chat reads with that identity's principal: the
same documents as ``/v1/search`` with the same key.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio.to_thread
import gradio as gr

from assistant.answers import Answer, Citation, HistoryTurn
from assistant.assistants import PLATFORM_ID, AssistantNotFoundError
from assistant.callers import Caller
from assistant.documents import library as document_library
from assistant.exchange import Endpoint
from assistant.request_scope import request_id_var
from connectors.errors import NuriError
from ui import assistant_picker as ap
from ui import conversations_panel as cp
from ui.admin_tab import build_admin_tab
from ui.citation_viewer import (
    SOURCES_EMPTY,
    SOURCES_NONE,
    SOURCES_PENDING,
    VIEWER_EMPTY,
    citation_choices,
    format_sources,
    viewer_html,
)
from ui.cross_site import ChatSameSiteOnly
from ui.evals_tab import build_evals_tab
from ui.feedback_panel import FEEDBACK_THANKS, reason_choices
from ui.files import install_file_route
from ui.notices import (
    EMPTY_QUESTION_NOTICE,
    REFUSAL_BADGE,
    SIGNED_OUT_NOTICE,
    answer_notice,
    error_notice,
    not_ready_notice,
    not_ready_plain,
    plain_error,
)
from ui.sign_in import SharedSignIns, share_sign_ins
from ui.sso import install_sign_in_routes, sign_in_links
from ui.texts import I18N, t

if TYPE_CHECKING:
    import fastapi

    from assistant.service import NuriService
    from configs.settings import Settings

log = logging.getLogger("nuri.ui")

#: ``HistoryTurn.content`` is limited to 8000 characters. (How many answers are generated at the
#: same time is ``ui.concurrency_limit``; later questions wait in Gradio's queue.)
MAX_TURN_CHARS = 8000

CHAT_TAB_LABEL = "채팅"
PLACEHOLDER = "질문을 입력하세요"
LOGIN_MESSAGE = (
    "누리에 로그인하세요. API 키로 로그인할 때는 **사용자 이름**에 키 ID(키 `nuri_<키 ID>_…`의 가운데 부분), "
    "**비밀번호**에 API 키 전체를 입력합니다. 키는 기관 관리자가 발급합니다."
)
CLEARANCE_KO = {"public": "공개", "internal": "내부", "restricted": "제한"}
DISCLAIMER = (
    "누리는 색인된 기관 문서와 법령만 근거로 답합니다. 답변의 [번호]는 **근거 자료**의 번호입니다. "
    "중요한 결정 전에는 반드시 원문을 확인하세요."
)

# Readable contrast (WCAG AA on white), a visible keyboard focus, the cited passage highlighted,
# and a layout that stacks on a narrow window.
CSS = """
.nuri-notice blockquote { background: #fff7e0; border-left: 4px solid #b07800; border-radius: 6px;
  padding: 10px 14px; margin: 0; color: #2b2100; }
.nuri-sources blockquote { margin: 4px 0 8px 0; }
.nuri-viewer { border: 1px solid #c9ced6; border-radius: 8px; padding: 12px 14px; background: #ffffff; color: #1a1a1a;
  max-height: 460px; overflow-y: auto; line-height: 1.65; }
.nuri-viewer-empty { color: #4a4f57; }
.nuri-viewer header { position: sticky; top: -12px; background: #ffffff; padding: 4px 0 6px 0; z-index: 1;
  border-bottom: 1px solid #e3e6ea; }
.nuri-viewer-title { margin: 0 0 4px 0; font-size: 1.05em; }
.nuri-viewer-location { margin: 0 0 8px 0; color: #33383f; }
.nuri-context { color: #4a4f57; }
mark.nuri-cited { background: #ffe58a; color: #1a1a1a; padding: 2px 0; box-shadow: 0 0 0 2px #ffe58a; }
.nuri-viewer-footer { margin-top: 8px; font-size: 0.92em; color: #33383f; }
.nuri-viewer a, .nuri-export { color: #0b57b0; text-decoration: underline; }
.nuri-muted { color: #4a4f57; }
*:focus-visible { outline: 3px solid #0b57b0 !important; outline-offset: 2px; }
#nuri-conversations .wrap { max-height: 360px; overflow-y: auto; flex-direction: column; }
"""


#: Scrolls the viewer (not the page) to the highlighted passage.
SCROLL_TO_CITED = """() => { const box = document.querySelector('#nuri-viewer .nuri-viewer');
  const mark = box && box.querySelector('mark.nuri-cited');
  if (box && mark) { box.scrollTop = Math.max(0, mark.offsetTop - box.offsetTop - 24); } }"""


@dataclass
class ChatState:
    """One browser session's conversation: what the service sees and what the screen shows."""

    turns: list[HistoryTurn] = field(default_factory=list)
    messages: list[dict[str, str]] = field(default_factory=list)
    sources: str = SOURCES_EMPTY
    conversation_id: str | None = None
    citations: list[Citation] = field(default_factory=list)  # the last answer's, in the panel
    audit_ids: dict[int, str] = field(default_factory=dict)  # chat message index -> its answer's audit id
    feedback_on: int | None = None  # the message whose 👎 is being explained
    assistant_gone: bool = False  # the last question's assistant could not be used: the picker is refreshed


# -- formatting --------------------------------------------------------------------------------
def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _text_of(content: Any) -> str:
    """A chat message's text: Gradio sends a string or a list of parts ({"type": "text", …})."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) if isinstance(p, dict) else str(p) for p in content)
    if isinstance(content, dict):
        return str(content.get("text", ""))
    return ""


def turns_from_messages(messages: Any) -> tuple[list[HistoryTurn], list[dict[str, str]]]:
    """The conversation as the browser shows it -> (turns for follow-ups, messages on screen).
    Used by a replica that has no state for this session. A user message followed by an
    assistant's answer is a turn pair; an answer that ended in an error (⛔) or was refused
    (근거 없음) is left out with its question."""
    shown: list[dict[str, str]] = []
    for m in messages if isinstance(messages, list) else []:
        if isinstance(m, dict) and m.get("role") in ("user", "assistant"):
            shown.append({"role": str(m["role"]), "content": _text_of(m.get("content"))})
    turns: list[HistoryTurn] = []
    for asked, answered in zip(shown, shown[1:], strict=False):
        if (
            asked["role"] == "user"
            and answered["role"] == "assistant"
            and "⛔" not in answered["content"]
            and not answered["content"].startswith(REFUSAL_BADGE)
        ):
            turns += [
                HistoryTurn(role="user", content=asked["content"][:MAX_TURN_CHARS]),
                HistoryTurn(role="assistant", content=answered["content"][:MAX_TURN_CHARS]),
            ]
    return turns, shown


def shown_answer(answer: Answer) -> str:
    """An answer as the chat shows it: a refusal carries the visible 근거 없음 mark."""
    return f"{REFUSAL_BADGE}\n\n{answer.answer}" if answer.refused else answer.answer


# -- sign-in -----------------------------------------------------------------------------------
def key_login(service: NuriService, enabled: bool = True) -> Callable[[str, str], Awaitable[bool]]:
    """Gradio's login check: the password is an active API key and the user name its key id.
    Asynchronous, the key lookup in a worker thread: a slow key store never stalls the server's
    event loop (Gradio calls a plain function on it). ``enabled`` False (``ui.key_sign_in``):
    only the gateway or OpenID Connect sign-in."""

    async def check(username: str, password: str) -> bool:
        if not enabled:
            return False
        try:
            record = await anyio.to_thread.run_sync(service.authenticate, (password or "").strip())
        except Exception:
            log.exception("key check failed")
            return False
        return record is not None and (username or "").strip() == record.key_id

    return check


@dataclass
class ChatLimits:
    """The API's limits, applied to the chat's answers too: the caller's rate
    (``api.auth.rate_limit``, shared with its API requests) and a place in the answer gate
    (``api.admission``), so chat users and API clients share the model's capacity. Read from
    the app when an answer starts (the gates are added around the app after the chat is mounted)."""

    app: Any = None

    @contextmanager
    def admitted(self, who: Caller) -> Iterator[None]:
        state = getattr(self.app, "state", None)
        auth = getattr(state, "auth", None)
        if auth is not None:
            auth.throttle(who)
        admission = getattr(state, "admission", None)
        if admission is None:
            yield
            return
        with admission.slot_from_thread("answer"):
            yield


def signed_in_caller(service: NuriService, request: gr.Request | None) -> Caller | None:
    """The caller this request's session signed in as (looked up again: revoked or expired = None)."""
    try:
        return service.caller_for_key(getattr(request, "username", None) if request is not None else None)
    except NuriError:
        log.exception("sign-in lookup failed")
        return None


def key_roles(service: NuriService) -> Callable[[gr.Request | None], frozenset[str]]:
    """The roles of a request's signed-in identity, for the 평가 and 관리 tabs' checks."""

    def roles_of(request: gr.Request | None) -> frozenset[str]:
        who = signed_in_caller(service, request)
        return who.roles if who is not None else frozenset()

    return roles_of


def who_line(caller: Caller | None) -> str:
    """The signed-in line at the top of the page."""
    if caller is None:
        return "로그인하지 않았습니다."
    p = caller.principal
    clearance = CLEARANCE_KO.get(p.clearance, p.clearance)
    roles = ", ".join(sorted(caller.roles))
    via = {"key": "API 키", "gateway": "기관 통합 로그인", "oidc": "OpenID Connect"}.get(
        caller.subject.split(":")[0], ""
    )
    return f"🔑 **{p.agency or '기관 없음'}** · 열람 등급: {clearance} ({p.clearance}) · 역할: {roles} · {via}"


# -- the page ----------------------------------------------------------------------------------
def build_chat(service: NuriService, settings: Settings, limits: ChatLimits | None = None) -> gr.Blocks:
    """The chat page for ``service`` (not mounted; see :func:`mount_chat`)."""
    limits = limits or ChatLimits()
    title = settings.ui.title
    examples = [q for q in settings.ui.examples if q and q.strip()]
    file_path = f"{settings.ui.path.rstrip('/')}/file"

    def caller_of(request: gr.Request | None) -> Caller | None:
        return signed_in_caller(service, request)

    def signed_in(request: gr.Request) -> str:
        return who_line(caller_of(request))

    # -- saved conversations -------------------------------------------------------------------
    def save_turn(state: ChatState, who: Caller, question: str, answer: Answer) -> None:
        store = service.conversations
        if store is None:
            return
        try:
            if state.conversation_id is None:
                state.conversation_id = store.create(who.subject, who.principal.agency).id
            store.append_turn(who.subject, state.conversation_id, question, answer)
        except NuriError:
            log.exception("conversation not saved", extra={"subject": who.subject})

    def list_update(request: gr.Request, folder: str | None, selected: str | None = None) -> Any:
        who = caller_of(request)
        store = service.conversations
        if who is None or store is None:
            return gr.update(choices=[], value=None)
        try:
            page = store.list(who.subject, cp.folder_filter(folder), limit=cp.LIST_LIMIT)
        except NuriError:
            log.exception("conversations not listed")
            return gr.update(choices=[], value=None)
        choices = cp.conversation_choices(page.items)
        return gr.update(choices=choices, value=selected if selected in {v for _, v in choices} else None)

    def folders_update(request: gr.Request) -> tuple[Any, Any]:
        who = caller_of(request)
        store = service.conversations
        folders = []
        if who is not None and store is not None:
            try:
                folders = store.list_folders(who.subject)
            except NuriError:
                log.exception("folders not listed")
        return gr.update(choices=cp.folder_choices(folders)), gr.update(choices=cp.move_choices(folders))

    def open_conversation(conversation_id: str | None, state: ChatState | None, request: gr.Request) -> tuple[Any, ...]:
        state = state if isinstance(state, ChatState) else ChatState()
        who = caller_of(request)
        store = service.conversations
        if not conversation_id or who is None or store is None:
            return state.messages, state.sources, "", state, gr.update(), VIEWER_EMPTY, "", ""
        try:
            conv = store.get(who.subject, conversation_id)
        except NuriError as e:
            return state.messages, state.sources, f"> ⚠️ {plain_error(e.code, str(e))}", state, gr.update(), "", "", ""
        new = ChatState(conversation_id=conv.id, messages=cp.shown_messages(conv.messages))
        new.turns = cp.turns_of(conv.messages, MAX_TURN_CHARS)
        for i, m in enumerate(conv.messages):
            if m.role == "assistant" and m.audit_id:
                new.audit_ids[i] = m.audit_id
        last = next((m for m in reversed(conv.messages) if m.role == "assistant"), None)
        new.citations = list(last.citations) if last is not None else []
        new.sources = format_sources(new.citations) if last is not None else SOURCES_EMPTY
        export = cp.export_link(conv.title, store.export_markdown(who.subject, conv.id))
        return (new.messages, new.sources, "", new, _citation_update(new), VIEWER_EMPTY, conv.title, export)

    def rename(conversation_id: str | None, new_title: str, folder: str | None, request: gr.Request) -> tuple[Any, str]:
        who = caller_of(request)
        store = service.conversations
        if not conversation_id or who is None or store is None or not (new_title or "").strip():
            return gr.update(), "> ℹ️ 이름을 바꿀 대화를 고르고 새 이름을 입력하세요."
        try:
            store.rename(who.subject, conversation_id, new_title)
        except NuriError as e:
            return gr.update(), f"> ⚠️ {plain_error(e.code, str(e))}"
        return list_update(request, folder, conversation_id), "> ✅ 대화 이름을 바꿨습니다."

    def move(
        conversation_id: str | None, target: str | None, folder: str | None, request: gr.Request
    ) -> tuple[Any, str]:
        who = caller_of(request)
        store = service.conversations
        if not conversation_id or who is None or store is None:
            return gr.update(), "> ℹ️ 옮길 대화를 고르세요."
        try:
            store.move(who.subject, conversation_id, None if target in (None, cp.NO_FOLDER) else target)
        except NuriError as e:
            return gr.update(), f"> ⚠️ {plain_error(e.code, str(e))}"
        return list_update(request, folder, conversation_id), "> ✅ 대화를 옮겼습니다."

    def delete(conversation_id: str | None, folder: str | None, request: gr.Request) -> tuple[Any, ...]:
        who = caller_of(request)
        store = service.conversations
        if not conversation_id or who is None or store is None:
            return (gr.update(), "> ℹ️ 삭제할 대화를 고르세요.", *new_chat())
        try:
            store.delete(who.subject, conversation_id)
        except NuriError as e:
            return (gr.update(), f"> ⚠️ {plain_error(e.code, str(e))}", *new_chat())
        return (list_update(request, folder), "> ✅ 대화를 삭제했습니다.", *new_chat())

    def create_folder(name: str, request: gr.Request) -> tuple[Any, Any, str, str]:
        who = caller_of(request)
        store = service.conversations
        if who is None or store is None or not (name or "").strip():
            return gr.update(), gr.update(), name, "> ℹ️ 새 폴더 이름을 입력하세요."
        try:
            store.create_folder(who.subject, name)
        except NuriError as e:
            return gr.update(), gr.update(), name, f"> ⚠️ {plain_error(e.code, str(e))}"
        folders, targets = folders_update(request)
        return folders, targets, "", "> ✅ 폴더를 만들었습니다."

    # -- asking --------------------------------------------------------------------------------
    def ask(
        question: str, state: ChatState | None, shown: Any, assistant_id: Any, request: gr.Request
    ) -> Iterator[tuple[str, list[dict[str, str]], str, str, ChatState]]:
        state = state if isinstance(state, ChatState) else ChatState()
        state.assistant_gone = False
        if not state.messages and shown:  # a replica that never saw this session
            state.turns, state.messages = turns_from_messages(shown)
        question = (question or "").strip()
        if not question:
            yield question, state.messages, state.sources, EMPTY_QUESTION_NOTICE, state
            return
        messages = [*state.messages, {"role": "user", "content": question}]
        reply = {"role": "assistant", "content": "…"}
        messages.append(reply)
        state.messages, state.sources, state.citations = messages, SOURCES_PENDING, []
        yield "", messages, state.sources, "", state

        who = caller_of(request)
        if who is None:
            reply["content"] = "⛔ 로그인이 필요합니다"
            state.sources = SOURCES_NONE
            yield "", messages, state.sources, SIGNED_OUT_NOTICE, state
            return
        request_id = uuid.uuid4().hex
        try:
            reason = service.not_ready_reason
        except Exception:
            log.exception("readiness check failed", extra={"request_id": request_id})
            reason = "internal"
        if reason:
            log.warning("chat not ready", extra={"reason": reason, "request_id": request_id})
            missing = service.missing if service.index is None else "model"
            notice = not_ready_notice(missing)
            reply["content"] = f"⛔ 지금은 답변할 수 없습니다. {not_ready_plain(missing)}"
            state.sources = SOURCES_NONE
            yield "", messages, state.sources, notice, state
            return
        try:  # the choice is checked again: deleted, no longer allowed or forged since the page loaded
            chosen = ap.chosen_assistant(service, who, assistant_id)
        except AssistantNotFoundError:
            log.info("chosen assistant not usable", extra={"assistant": str(assistant_id), "subject": who.subject})
            reply["content"] = f"⛔ {ap.UNAVAILABLE}"
            state.sources, state.assistant_gone = SOURCES_NONE, True
            yield "", messages, state.sources, ap.UNAVAILABLE_NOTICE, state
            return
        except NuriError as e:  # the assistants' store cannot be read: answered as any service error
            log.warning("assistant lookup failed", extra={"code": e.code, "request_id": request_id})
            reply["content"] = f"⛔ {plain_error(e.code, str(e))}"
            state.sources = SOURCES_NONE
            yield "", messages, state.sources, error_notice(e.code, str(e), request_id), state
            return
        using = ap.assistant_line(chosen)

        text = ""
        answer: Answer | None = None
        error: tuple[str, str] | None  # (code, message)
        try:
            with limits.admitted(who):
                scope = request_id_var().set(request_id)  # the answer's audit record takes this id
                try:
                    events = service.stream(
                        question, list(state.turns), filters=None, caller=who, endpoint=Endpoint.UI_CHAT,
                        assistant=chosen,
                    )  # fmt: skip
                finally:
                    request_id_var().reset(scope)
                for event in events:
                    if event.kind == "delta" and event.text:
                        text += event.text
                        reply["content"] = text
                        yield "", messages, state.sources, using, state
                    elif event.kind == "done":
                        answer = event.answer
        except NuriError as e:
            error = (e.code, str(e))
            if e.code == "audit_unavailable":
                text = ""  # an answer the audit trail did not take is not left on screen
            log.warning("chat answer failed", extra={"reason": str(e), "code": e.code, "request_id": request_id})
        except Exception:
            log.exception("chat answer failed unexpectedly", extra={"request_id": request_id})
            error = ("internal_error", "")
        else:
            error = None if answer is not None else ("unfinished", "")

        if error is not None:
            notice = error_notice(error[0], error[1], request_id)
            reply["content"] = (f"{text}\n\n" if text.strip() else "") + f"⛔ {plain_error(*error)}"
            state.sources = SOURCES_NONE
            yield "", messages, state.sources, notice, state
            return

        assert answer is not None
        reply["content"] = shown_answer(answer)
        if answer.audit_id:
            state.audit_ids[len(messages) - 1] = answer.audit_id
        if not answer.refused:  # a refused question (a blocked attempt included) is not carried on
            state.turns = [
                *state.turns,
                HistoryTurn(role="user", content=question[:MAX_TURN_CHARS]),
                HistoryTurn(role="assistant", content=answer.answer[:MAX_TURN_CHARS]),
            ]
        save_turn(state, who, question, answer)
        state.citations = list(answer.citations)
        state.sources = format_sources(answer.citations)
        yield "", messages, state.sources, "\n\n".join(n for n in (using, answer_notice(answer)) if n), state

    def new_chat() -> tuple[str, list[dict[str, str]], str, str, ChatState, Any, str, str, str]:
        return "", [], SOURCES_EMPTY, "", ChatState(), gr.update(choices=[], value=None), VIEWER_EMPTY, "", ""

    def after_answer(state: ChatState | None, folder: str | None, request: gr.Request) -> tuple[Any, str, Any, str]:
        state = state if isinstance(state, ChatState) else ChatState()
        return _citation_update(state), VIEWER_EMPTY, list_update(request, folder, state.conversation_id), ""

    # -- the 근거 자료 viewer ----------------------------------------------------------------------
    def open_citation(number: str | None, state: ChatState | None, request: gr.Request) -> str:
        state = state if isinstance(state, ChatState) else ChatState()
        cited = next((c for c in state.citations if str(c.n) == str(number)), None)
        if cited is None:
            return VIEWER_EMPTY
        who = caller_of(request)
        view = None
        if who is not None and cited.chunk_id:
            try:
                view = document_library(service).passage(cited.chunk_id, who)
            except NuriError as e:
                log.info("passage not shown", extra={"code": e.code, "chunk_id": cited.chunk_id})
        download = f"{file_path}/{cited.doc_id}" if view is not None and getattr(view, "download_url", None) else None
        return viewer_html(cited, view, download)

    # -- feedback ------------------------------------------------------------------------------
    def on_like(state: ChatState | None, data: gr.LikeData, request: gr.Request) -> tuple[Any, str, ChatState]:
        state = state if isinstance(state, ChatState) else ChatState()
        index = data.index if isinstance(data.index, int) else (data.index[0] if data.index else None)
        audit_id = state.audit_ids.get(index) if isinstance(index, int) else None
        if audit_id is None:
            return gr.update(visible=False), "> ℹ️ 이 메시지에는 의견을 남길 수 없습니다.", state
        if data.liked is True:
            message = give_feedback(request, state, audit_id, "up", [], "")
            return gr.update(visible=False), message, state
        if data.liked is False:
            state.feedback_on = index
            return gr.update(visible=True), "", state
        return gr.update(visible=False), "", state

    def give_feedback(
        request: gr.Request, state: ChatState, audit_id: str, rating: str, reasons: list[str], comment: str
    ) -> str:
        who = caller_of(request)
        store = service.feedback
        if who is None or store is None:
            return SIGNED_OUT_NOTICE if who is None else "> ⚠️ 의견을 저장할 수 없습니다."
        try:
            store.give(who, audit_id, rating, reasons, comment, conversation_id=state.conversation_id)
        except NuriError as e:
            return f"> ⚠️ 의견을 저장하지 못했습니다: {plain_error(e.code, str(e))}"
        except ValueError as e:
            return f"> ⚠️ {_one_line(str(e))}"
        return FEEDBACK_THANKS

    def send_feedback(
        reasons: list[str], comment: str, state: ChatState | None, request: gr.Request
    ) -> tuple[Any, str, list[str], str, ChatState]:
        state = state if isinstance(state, ChatState) else ChatState()
        audit_id = state.audit_ids.get(state.feedback_on) if state.feedback_on is not None else None
        if audit_id is None:
            return gr.update(visible=False), "", [], "", state
        message = give_feedback(request, state, audit_id, "down", list(reasons or []), comment or "")
        state.feedback_on = None
        return gr.update(visible=False), message, [], "", state

    # -- the 도우미 picker (ui.assistant_picker) ----------------------------------------------------
    def load_picker(request: gr.Request) -> tuple[Any, ...]:
        return ap.picker_view(service, caller_of(request)).updates()[: len(picker_outputs)]

    def pick(assistant_id: Any, request: gr.Request) -> tuple[Any, ...]:
        wanted = str(assistant_id) if assistant_id else PLATFORM_ID
        return ap.picker_view(service, caller_of(request), wanted).updates()[: len(picker_outputs)]

    def refresh_if_gone(state: ChatState | None, assistant_id: Any, request: gr.Request) -> tuple[Any, ...]:
        if not (isinstance(state, ChatState) and state.assistant_gone):
            return tuple(gr.update() for _ in picker_outputs)
        return pick(assistant_id, request)

    def picker_of_conversation(state: ChatState | None, request: gr.Request) -> tuple[Any, ...]:
        """A reopened conversation: the picker back on the assistant of its last answer."""
        unchanged = tuple(gr.update() for _ in picker_outputs)
        if not isinstance(state, ChatState) or not state.audit_ids:
            return unchanged
        used = ap.assistant_of_answer(service, state.audit_ids[max(state.audit_ids)]) or PLATFORM_ID
        view = ap.picker_view(service, caller_of(request), used)
        return unchanged if view.gone else view.updates()[: len(picker_outputs)]

    def readiness() -> str:
        try:
            reason = service.not_ready_reason
        except Exception:
            log.exception("readiness check failed")
            return ""
        if not reason:
            return ""
        log.info("chat page opened while not ready", extra={"reason": reason})
        return not_ready_notice(service.missing if service.index is None else "model")

    with gr.Blocks(title=title, analytics_enabled=False, fill_width=True) as blocks:
        state = gr.State(ChatState())
        with gr.Row(equal_height=False):
            gr.Markdown(f"# {title}", elem_id="nuri-title")
            gr.HTML(
                f'<a href="{settings.ui.path.rstrip("/")}/logout" class="nuri-export">로그아웃</a>',
                elem_id="nuri-logout",
                min_height=0,
            )
        who = gr.Markdown("", elem_id="nuri-who")
        with gr.Tabs(elem_id="nuri-tabs"):
            with gr.Tab(t("tab_chat"), id="chat", elem_id="nuri-tab-chat"), gr.Row(equal_height=False):
                with gr.Column(scale=1, min_width=240, elem_id="nuri-history"):
                    new_btn = gr.Button(t("new_chat"), variant="secondary", elem_id="nuri-new")
                    folder = gr.Dropdown(
                        choices=cp.folder_choices([]),
                        value=cp.EVERY_FOLDER,
                        label=t("folder"),
                        interactive=True,
                        elem_id="nuri-folder",
                    )
                    conversations = gr.Radio(choices=[], label=t("saved"), elem_id="nuri-conversations")
                    with gr.Accordion(t("manage"), open=False, elem_id="nuri-manage"):
                        conv_title = gr.Textbox(label=t("conv_title"), max_lines=1, elem_id="nuri-conv-title")
                        rename_btn = gr.Button(t("rename"), size="sm", elem_id="nuri-rename")
                        target = gr.Dropdown(
                            choices=cp.move_choices([]), label=t("move_target"), elem_id="nuri-move-target"
                        )
                        move_btn = gr.Button(t("move"), size="sm", elem_id="nuri-move")
                        new_folder = gr.Textbox(label=t("new_folder"), max_lines=1, elem_id="nuri-new-folder")
                        folder_btn = gr.Button(t("create_folder"), size="sm", elem_id="nuri-folder-create")
                        export = gr.HTML("", elem_id="nuri-export")
                        delete_btn = gr.Button(t("delete"), variant="stop", size="sm", elem_id="nuri-delete")
                        confirm_btn = gr.Button(
                            t("delete_confirm"),
                            variant="stop",
                            size="sm",
                            visible=False,
                            elem_id="nuri-delete-confirm",
                        )
                        manage_notice = gr.Markdown("", elem_id="nuri-manage-notice")
                with gr.Column(scale=3, min_width=360):
                    with gr.Row(
                        visible=False, variant="panel", equal_height=False, elem_id="nuri-assistant-box"
                    ) as picker_box:
                        picker = gr.Dropdown(
                            choices=[(t("assistant_platform"), PLATFORM_ID)],
                            value=PLATFORM_ID,
                            label=t("assistant"),
                            info=t("assistant_info"),
                            interactive=True,
                            # any id is taken (a replica that never saw this session knows only 누리) and
                            # checked by the service at each question
                            allow_custom_value=True,
                            filterable=True,  # Gradio requires it with allow_custom_value
                            scale=2,
                            min_width=220,
                            elem_id="nuri-assistant",
                        )
                        picker_about = gr.Markdown(
                            ap.description_of(None), elem_id="nuri-assistant-about", padding=True, min_height=0, scale=3
                        )
                    chatbot = gr.Chatbot(
                        label=t("chat"),
                        height=460,
                        placeholder=str(t("chat_placeholder")),
                        latex_delimiters=[],
                        buttons=["copy"],
                        feedback_options=["Like", "Dislike"],
                        elem_id="nuri-chat",
                    )
                    # what happened to the last question, where the user is looking: under the answer
                    notice = gr.Markdown("", elem_classes=["nuri-notice"], elem_id="nuri-notice")
                    with gr.Group(visible=False, elem_id="nuri-feedback") as feedback_box:
                        reasons = gr.CheckboxGroup(
                            choices=reason_choices(),
                            label=t("reasons"),
                            elem_id="nuri-reasons",
                        )
                        comment = gr.Textbox(
                            label=t("comment"), lines=2, max_lines=6, max_length=2000, elem_id="nuri-comment"
                        )
                        feedback_send = gr.Button(t("send_feedback"), size="sm", elem_id="nuri-feedback-send")
                    feedback_notice = gr.Markdown("", elem_id="nuri-feedback-notice")
                    question = gr.Textbox(
                        label=t("question"),
                        placeholder=t("question_placeholder"),
                        lines=1,
                        max_lines=8,
                        autofocus=True,
                        elem_id="nuri-question",
                    )
                    with gr.Row():
                        send = gr.Button(t("send"), variant="primary", elem_id="nuri-send")
                    picker_examples = gr.Radio(
                        choices=[], label=t("assistant_examples"), visible=False, elem_id="nuri-assistant-examples"
                    )
                    picker_outputs: list[Any] = [picker_box, picker, picker_about, picker_examples]
                    if examples:  # the platform's: shown while 누리 (기본) is chosen
                        platform_examples = gr.Examples(
                            examples=[[q] for q in examples], inputs=[question], label=t("examples")
                        )
                        picker_outputs.append(platform_examples.dataset)
                    gr.Markdown(f"<small>{DISCLAIMER}</small>")
                with gr.Column(scale=2, min_width=300):
                    gr.Markdown(t("sources_heading"))
                    cited = gr.Radio(choices=[], label=t("pick_source"), elem_id="nuri-citations")
                    viewer = gr.HTML(VIEWER_EMPTY, elem_id="nuri-viewer")
                    with gr.Accordion(t("all_quotes"), open=False):
                        sources = gr.Markdown(
                            SOURCES_EMPTY, line_breaks=True, elem_classes=["nuri-sources"], elem_id="nuri-sources"
                        )
            with gr.Tab(t("tab_evals"), id="evals", elem_id="nuri-tab-evals"):
                build_evals_tab(
                    blocks, settings, roles_of=key_roles(service), caller_of=lambda r: signed_in_caller(service, r)
                )
            with gr.Tab(t("tab_admin"), id="admin", elem_id="nuri-tab-admin"):
                build_admin_tab(blocks, service, settings, caller_of=caller_of)

        outputs = [question, chatbot, sources, notice, state]
        after = dict(fn=after_answer, inputs=[state, folder], outputs=[cited, viewer, conversations, feedback_notice])
        refresh = dict(fn=refresh_if_gone, inputs=[state, picker], outputs=picker_outputs)
        asked = send.click(
            ask,
            inputs=[question, state, chatbot, picker],
            outputs=outputs,
            api_name="ask",
            api_description="질문 하나에 답합니다: (입력창, 대화, 근거 자료, 알림)을 돌려줍니다.",
            concurrency_limit=settings.ui.concurrency_limit,
            concurrency_id="nuri-ask",
            show_progress="minimal",
        )
        asked.then(api_visibility="private", **after).then(api_visibility="private", queue=False, **refresh)
        submitted = question.submit(
            ask,
            inputs=[question, state, chatbot, picker],
            outputs=outputs,
            api_visibility="private",
            concurrency_limit=settings.ui.concurrency_limit,
            concurrency_id="nuri-ask",
            show_progress="minimal",
        )
        submitted.then(api_visibility="private", **after).then(api_visibility="private", queue=False, **refresh)
        new_btn.click(
            lambda: new_chat()[:5],
            outputs=outputs,
            cancels=[asked, submitted],
            api_name="new_chat",
            api_description="새 대화를 시작합니다: (입력창, 대화, 근거 자료, 알림)을 비웁니다.",
            queue=False,
        ).then(
            lambda: new_chat()[5:], outputs=[cited, viewer, conv_title, export], api_visibility="private", queue=False
        ).then(list_update, inputs=[folder], outputs=[conversations], api_visibility="private")
        conversations.input(
            open_conversation,
            inputs=[conversations, state],
            outputs=[chatbot, sources, notice, state, cited, viewer, conv_title, export],
            api_visibility="private",
        ).then(picker_of_conversation, inputs=[state], outputs=picker_outputs, api_visibility="private")
        picker.input(pick, inputs=[picker], outputs=picker_outputs, api_visibility="private", queue=False)
        picker_examples.input(
            lambda q: (q or "", gr.update(value=None)),
            inputs=[picker_examples],
            outputs=[question, picker_examples],
            api_visibility="private",
            queue=False,
        )
        folder.input(list_update, inputs=[folder], outputs=[conversations], api_visibility="private")
        rename_btn.click(
            rename, inputs=[conversations, conv_title, folder], outputs=[conversations, manage_notice],
            api_visibility="private",
        )  # fmt: skip
        move_btn.click(
            move, inputs=[conversations, target, folder], outputs=[conversations, manage_notice],
            api_visibility="private",
        )  # fmt: skip
        folder_btn.click(
            create_folder, inputs=[new_folder], outputs=[folder, target, new_folder, manage_notice],
            api_visibility="private",
        )  # fmt: skip
        delete_btn.click(
            lambda: (gr.update(visible=True), "> ⚠️ 삭제하면 되돌릴 수 없습니다. 아래 버튼을 한 번 더 누르세요."),
            outputs=[confirm_btn, manage_notice],
            api_visibility="private",
            queue=False,
        )
        confirm_btn.click(
            delete,
            inputs=[conversations, folder],
            outputs=[conversations, manage_notice, *outputs, cited, viewer, conv_title, export],
            api_visibility="private",
        ).then(lambda: gr.update(visible=False), outputs=[confirm_btn], api_visibility="private", queue=False)
        cited.input(open_citation, inputs=[cited, state], outputs=[viewer], api_visibility="private").then(
            None, js=SCROLL_TO_CITED, api_visibility="private", queue=False
        )
        chatbot.like(on_like, inputs=[state], outputs=[feedback_box, feedback_notice, state], api_visibility="private")
        feedback_send.click(
            send_feedback,
            inputs=[reasons, comment, state],
            outputs=[feedback_box, feedback_notice, reasons, comment, state],
            api_visibility="private",
        )
        blocks.load(readiness, outputs=[notice], api_visibility="private", queue=False)
        blocks.load(signed_in, outputs=[who], api_visibility="private", queue=False)
        blocks.load(load_picker, outputs=picker_outputs, api_visibility="private", queue=False)
        blocks.load(folders_update, outputs=[folder, target], api_visibility="private", queue=False)
        blocks.load(list_update, inputs=[folder], outputs=[conversations], api_visibility="private", queue=False)
    return blocks


def _citation_update(state: ChatState) -> Any:
    return gr.update(choices=citation_choices(state.citations), value=None)


def mount_chat(app: fastapi.FastAPI, service: NuriService, settings: Settings) -> None:
    """Serve the chat on ``app`` at ``settings.ui.path``, with its sign-in routes and the
    originals' download route in front of it."""
    blocks = build_chat(service, settings, ChatLimits(app))
    app.add_middleware(ChatSameSiteOnly, path=settings.ui.path, samesite=settings.ui.cookie_samesite)
    tokens = share_sign_ins_table(service, settings)
    install_sign_in_routes(app, service, settings, tokens)
    install_file_route(app, service, settings, tokens)
    links = sign_in_links(settings)
    gr.mount_gradio_app(
        app,
        blocks,
        path=settings.ui.path,
        theme=_theme(),
        css=CSS,
        footer_links=["api", "settings"],
        ssr_mode=False,
        show_error=False,
        auth=key_login(service, settings.ui.key_sign_in),
        auth_message=LOGIN_MESSAGE + (f"\n\n{links}" if links else ""),
        i18n=I18N,
    )
    share_sign_ins(app, settings.ui.path, tokens)


def share_sign_ins_table(service: NuriService, settings: Settings) -> SharedSignIns:
    return SharedSignIns(lambda: service.keys, settings.ui.session_ttl_s)


def _theme() -> Any:
    """The default theme with system fonts that render Korean (no web font download: the
    servers and often the users' PCs have no internet access)."""
    sans = ["Pretendard", "Noto Sans KR", "Noto Sans CJK KR", "Malgun Gothic", "Apple SD Gothic Neo", "sans-serif"]
    mono = ["D2Coding", "Consolas", "monospace"]
    return gr.themes.Default(font=sans, font_mono=mono)
