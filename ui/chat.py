"""누리 채팅 화면: the Gradio chat civil servants use in the browser.

``mount_chat`` puts it on the API's FastAPI app at ``settings.ui.path`` (the API calls it via
``settings.ui.factory``); ``build_chat`` only builds the :class:`gr.Blocks`. One question goes
through :meth:`NuriService.stream`: the answer appears as the model writes it, the passages it
cites are listed in the 근거 자료 panel (number, title, anchor, passage, source), and a refusal
or an error is shown as a notice, never as a traceback.

The conversation is kept in server-side session state (clean question/answer turns for the
service's follow-up handling, and the messages on screen). With several API replicas a
session's next question may reach a replica that never saw it (its replica went away): the
chat on screen is posted with each question, and a replica with no state for the session takes
the earlier turns from it (:func:`turns_from_messages`). Sign-ins are shared by every replica
(:mod:`ui.sign_in`). The same event is the API endpoint ``/ask``
(``gradio_client.Client(url + ui.path).predict(question, api_name="/ask")`` returns
``(textbox, chat messages, sources markdown, notice markdown)``).

The chat is the page's 채팅 tab; the 평가 tab beside it (:mod:`ui.evals_tab`) shows eval runs,
reports and comparisons to callers with the evaluator role.

Sign-in: the page asks for an API key (Gradio's login form: 사용자 이름 = the key's id, 비밀번호 =
the key; :func:`key_login`). Every event looks the key up again from its own request
(:meth:`NuriService.caller_for_key`), so a revoked key stops working at once, and the chat
reads with that key's principal: the same documents as ``/v1/search`` with the same key. The
page shows the agency and clearance signed in, and what the guardrails did to each question
("주민등록번호를 가렸습니다").
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio.to_thread
import gradio as gr

from assistant.answers import Answer, Citation, HistoryTurn
from assistant.callers import Caller
from assistant.exchange import Endpoint
from connectors.errors import NuriError
from ui.cross_site import ChatSameSiteOnly
from ui.evals_tab import TAB_LABEL as EVALS_TAB_LABEL
from ui.evals_tab import build_evals_tab
from ui.sign_in import share_sign_ins

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
SOURCES_EMPTY = "답변의 근거가 된 문서·법령 조항이 여기에 표시됩니다."
SOURCES_NONE = "이 답변에 표시할 근거 자료가 없습니다."
SOURCES_PENDING = "근거 자료를 찾고 있습니다…"
REFUSAL_NOTICE = (
    "> ⚠️ **근거 없음** — 색인된 자료에서 근거를 찾지 못해 답변하지 않았습니다. "
    "질문을 더 구체적으로 바꾸거나(법령명·조항·문서명 등) 담당 부서에 문의해 주세요."
)
UNCITED_NOTICE = "> ℹ️ 이 답변에는 확인된 근거 표시가 없습니다. 중요한 내용은 원문에서 확인해 주세요."
EMPTY_QUESTION_NOTICE = "> ℹ️ 질문을 입력하세요."
NOT_READY_NOTICE = "> ⛔ **지금은 답변할 수 없습니다.** {reason}"
ERROR_NOTICE = "> ⛔ **오류가 발생했습니다.** {reason}"
INTERNAL_ERROR = "내부 오류가 발생했습니다. 잠시 후 다시 시도하거나 관리자에게 문의해 주세요."
SIGNED_OUT_NOTICE = "> ⛔ **로그인이 필요합니다.** API 키로 다시 로그인해 주세요 (키가 폐기되었을 수 있습니다)."
LOGIN_MESSAGE = (
    "누리에 로그인하세요. **사용자 이름**에는 키 ID(키 `nuri_<키 ID>_…`의 가운데 부분), **비밀번호**에는 "
    "API 키 전체를 입력합니다. 키는 기관 관리자가 `nuri keys create`로 발급합니다."
)
CLEARANCE_KO = {"public": "공개", "internal": "내부", "restricted": "제한"}
DISCLAIMER = (
    "누리는 색인된 기관 문서와 법령만 근거로 답합니다. 답변의 [번호]는 **근거 자료**의 번호입니다. "
    "중요한 결정 전에는 반드시 원문을 확인하세요."
)

# Notices are Markdown blockquotes ("> ⚠️ ..."): an empty notice shows nothing at all.
CSS = """
.nuri-notice blockquote { background: #fff7e0; border-left: 4px solid #e0a100; border-radius: 6px;
  padding: 10px 14px; margin: 0; color: #3d2f00; }
.nuri-sources blockquote { margin: 4px 0 8px 0; }
"""


@dataclass
class ChatState:
    """One browser session's conversation: what the service sees and what the screen shows."""

    turns: list[HistoryTurn] = field(default_factory=list)
    messages: list[dict[str, str]] = field(default_factory=list)
    sources: str = SOURCES_EMPTY


# -- formatting --------------------------------------------------------------------------------
def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _quote(text: str) -> str:
    lines = [line.rstrip() for line in str(text).strip().splitlines()] or [""]
    return "\n".join(f"> {line}" if line else ">" for line in lines)


def _source_link(source: str) -> str:
    if source.startswith(("http://", "https://")):
        return f"[{source}]({source})"
    return "`" + source.replace("`", "'") + "`"


def format_sources(citations: list[Citation]) -> str:
    """The 근거 자료 panel: ``[n] title · anchor``, the cited passage, then its source."""
    if not citations:
        return SOURCES_NONE
    parts = []
    for c in sorted(citations, key=lambda c: c.n):
        head = f"**[{c.n}] {_one_line(c.title)}**"
        if c.anchor.strip():
            head += f" · {_one_line(c.anchor)}"
        parts.append(f"{head}\n\n{_quote(c.text)}\n\n<small>출처: {_source_link(c.source)}</small>")
    return "\n\n---\n\n".join(parts)


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
    assistant's answer is a turn pair; an answer that ended in an error (⛔) is left out."""
    shown: list[dict[str, str]] = []
    for m in messages if isinstance(messages, list) else []:
        if isinstance(m, dict) and m.get("role") in ("user", "assistant"):
            shown.append({"role": str(m["role"]), "content": _text_of(m.get("content"))})
    turns: list[HistoryTurn] = []
    for asked, answered in zip(shown, shown[1:], strict=False):
        if asked["role"] == "user" and answered["role"] == "assistant" and "⛔" not in answered["content"]:
            turns += [
                HistoryTurn(role="user", content=asked["content"][:MAX_TURN_CHARS]),
                HistoryTurn(role="assistant", content=answered["content"][:MAX_TURN_CHARS]),
            ]
    return turns, shown


# -- the UI ------------------------------------------------------------------------------------
def key_login(service: NuriService) -> Callable[[str, str], Awaitable[bool]]:
    """Gradio's login check: the password is an active API key and the user name its key id.
    Asynchronous, the key lookup in a worker thread: a slow key store never stalls the server's
    event loop (Gradio calls a plain function on it)."""

    async def check(username: str, password: str) -> bool:
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
    """The caller of the key this request's session signed in with (looked up again: revoked = None)."""
    return service.caller_for_key(getattr(request, "username", None) if request is not None else None)


def key_roles(service: NuriService) -> Callable[[gr.Request | None], frozenset[str]]:
    """The roles of a request's signed-in key, for the 평가 tab's checks."""

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
    return f"🔑 **{p.agency or '기관 없음'}** · 열람 등급: {clearance} ({p.clearance}) · 역할: {roles}"


def guardrail_notice(answer: Answer) -> str:
    """What the guardrails did, in plain Korean (one line each)."""
    lines = [f"> 🛡️ {d.reason}" for d in answer.guardrails if d.action != "allow" and d.reason]
    return "\n>\n".join(lines)


def build_chat(service: NuriService, settings: Settings, limits: ChatLimits | None = None) -> gr.Blocks:
    """The chat page for ``service`` (not mounted; see :func:`mount_chat`)."""
    limits = limits or ChatLimits()
    title = settings.ui.title
    examples = [q for q in settings.ui.examples if q and q.strip()]

    def caller_of(request: gr.Request | None) -> Caller | None:
        return signed_in_caller(service, request)

    def signed_in(request: gr.Request) -> str:
        return who_line(caller_of(request))

    def ask(
        question: str, state: ChatState | None, shown: Any, request: gr.Request
    ) -> Iterator[tuple[str, list[dict[str, str]], str, str, ChatState]]:
        state = state if isinstance(state, ChatState) else ChatState()
        if not state.messages and shown:  # a replica that never saw this session
            state.turns, state.messages = turns_from_messages(shown)
        question = (question or "").strip()
        if not question:
            yield question, state.messages, state.sources, EMPTY_QUESTION_NOTICE, state
            return
        messages = [*state.messages, {"role": "user", "content": question}]
        reply = {"role": "assistant", "content": "…"}
        messages.append(reply)
        state.messages, state.sources = messages, SOURCES_PENDING
        yield "", messages, state.sources, "", state

        who = caller_of(request)
        if who is None:
            reply["content"] = "⛔ 로그인이 필요합니다"
            state.sources = SOURCES_NONE
            yield "", messages, state.sources, SIGNED_OUT_NOTICE, state
            return
        try:
            reason = service.not_ready_reason
        except Exception:
            log.exception("readiness check failed")
            reason = INTERNAL_ERROR
        if reason:
            reason = _one_line(reason)
            reply["content"] = f"⛔ 지금은 답변할 수 없습니다: {reason}"
            state.sources = SOURCES_NONE
            yield "", messages, state.sources, NOT_READY_NOTICE.format(reason=reason), state
            return

        text = ""
        answer: Answer | None = None
        error: str | None
        try:
            with limits.admitted(who):
                events = service.stream(
                    question, list(state.turns), filters=None, caller=who, endpoint=Endpoint.UI_CHAT
                )
                for event in events:
                    if event.kind == "delta" and event.text:
                        text += event.text
                        reply["content"] = text
                        yield "", messages, state.sources, "", state
                    elif event.kind == "done":
                        answer = event.answer
        except NuriError as e:
            error = (_one_line(str(e)) if e.code != "internal_error" else "") or INTERNAL_ERROR
            if e.code == "audit_unavailable":
                text = ""  # an answer the audit trail did not take is not left on screen
            log.warning("chat answer failed", extra={"reason": error, "code": e.code})
        except Exception:
            log.exception("chat answer failed unexpectedly")
            error = INTERNAL_ERROR
        else:
            error = None if answer is not None else "답변이 끝나지 않았습니다"

        if error is not None:
            reply["content"] = (f"{text}\n\n" if text.strip() else "") + f"⛔ {error}"
            state.sources = SOURCES_NONE
            yield "", messages, state.sources, ERROR_NOTICE.format(reason=error), state
            return

        assert answer is not None
        reply["content"] = answer.answer
        state.turns = [
            *state.turns,
            HistoryTurn(role="user", content=question[:MAX_TURN_CHARS]),
            HistoryTurn(role="assistant", content=answer.answer[:MAX_TURN_CHARS]),
        ]
        guarded = guardrail_notice(answer)
        if guarded:
            notice = guarded
        elif answer.refused:
            notice = REFUSAL_NOTICE
        elif not answer.citations:
            notice = UNCITED_NOTICE
        else:
            notice = ""
        state.sources = format_sources(answer.citations)
        yield "", messages, state.sources, notice, state

    def new_chat() -> tuple[str, list[dict[str, str]], str, str, ChatState]:
        return "", [], SOURCES_EMPTY, "", ChatState()

    def readiness() -> str:
        try:
            reason = service.not_ready_reason
        except Exception:
            log.exception("readiness check failed")
            return ""
        return NOT_READY_NOTICE.format(reason=_one_line(reason)) if reason else ""

    with gr.Blocks(title=title, analytics_enabled=False, fill_width=False) as blocks:
        state = gr.State(ChatState())
        gr.Markdown(f"# {title}")
        who = gr.Markdown("", elem_id="nuri-who")
        with gr.Tabs(elem_id="nuri-tabs"):
            with gr.Tab(CHAT_TAB_LABEL, id="chat", elem_id="nuri-tab-chat"):
                notice = gr.Markdown("", elem_classes=["nuri-notice"], elem_id="nuri-notice")
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3):
                        chatbot = gr.Chatbot(
                            label="대화",
                            height=520,
                            placeholder="누리에게 기관 문서·법령에 대해 물어보세요.",
                            latex_delimiters=[],
                            buttons=["copy"],
                            feedback_options=None,
                            elem_id="nuri-chat",
                        )
                        question = gr.Textbox(
                            label="질문",
                            placeholder=PLACEHOLDER,
                            lines=2,
                            max_lines=8,
                            autofocus=True,
                            elem_id="nuri-question",
                        )
                        with gr.Row():
                            send = gr.Button("보내기", variant="primary", elem_id="nuri-send")
                            clear = gr.Button("새 대화", variant="secondary", elem_id="nuri-new")
                        if examples:
                            gr.Examples(examples=[[q] for q in examples], inputs=[question], label="예시 질문")
                        gr.Markdown(f"<small>{DISCLAIMER}</small>")
                    with gr.Column(scale=2):
                        gr.Markdown("### 근거 자료")
                        sources = gr.Markdown(
                            SOURCES_EMPTY, line_breaks=True, elem_classes=["nuri-sources"], elem_id="nuri-sources"
                        )
            with gr.Tab(EVALS_TAB_LABEL, id="evals", elem_id="nuri-tab-evals"):
                build_evals_tab(
                    blocks, settings, roles_of=key_roles(service), caller_of=lambda r: signed_in_caller(service, r)
                )

        outputs = [question, chatbot, sources, notice, state]
        asked = send.click(
            ask,
            inputs=[question, state, chatbot],
            outputs=outputs,
            api_name="ask",
            api_description="질문 하나에 답합니다: (입력창, 대화, 근거 자료, 알림)을 돌려줍니다.",
            concurrency_limit=settings.ui.concurrency_limit,
            concurrency_id="nuri-ask",
            show_progress="minimal",
        )
        submitted = question.submit(
            ask,
            inputs=[question, state, chatbot],
            outputs=outputs,
            api_visibility="private",
            concurrency_limit=settings.ui.concurrency_limit,
            concurrency_id="nuri-ask",
            show_progress="minimal",
        )
        clear.click(new_chat, outputs=outputs, cancels=[asked, submitted], api_name="new_chat", queue=False)
        blocks.load(readiness, outputs=[notice], api_visibility="private", queue=False)
        blocks.load(signed_in, outputs=[who], api_visibility="private", queue=False)
    return blocks


def mount_chat(app: fastapi.FastAPI, service: NuriService, settings: Settings) -> None:
    """Serve the chat on ``app`` at ``settings.ui.path``."""
    blocks = build_chat(service, settings, ChatLimits(app))
    app.add_middleware(ChatSameSiteOnly, path=settings.ui.path, samesite=settings.ui.cookie_samesite)
    gr.mount_gradio_app(
        app,
        blocks,
        path=settings.ui.path,
        theme=_theme(),
        css=CSS,
        footer_links=["api"],
        ssr_mode=False,
        show_error=False,
        auth=key_login(service),
        auth_message=LOGIN_MESSAGE,
    )
    share_sign_ins(app, settings.ui.path, lambda: service.keys, settings.ui.session_ttl_s)


def _theme() -> Any:
    """The default theme with system fonts that render Korean (no web font download: the
    servers and often the users' PCs have no internet access)."""
    sans = ["Pretendard", "Noto Sans KR", "Malgun Gothic", "Apple SD Gothic Neo", "sans-serif"]
    mono = ["D2Coding", "Consolas", "monospace"]
    return gr.themes.Default(font=sans, font_mono=mono)
