"""The chat's 도우미 picker: which agency assistant answers (기관별 특화 도우미, :mod:`assistant.assistants`).

After sign-in the page lists ``누리 (기본)`` (the platform's own, :data:`PLATFORM_ID`) and the
assistants the signed-in caller may use (:meth:`NuriService.assistants_for`: the agency's default
first), with the agency's default preselected; the chosen one's description and example questions
are shown under it. The list is computed for each caller when the page loads, so another agency's
assistants are never offered; the choice is checked again at every question
(:meth:`NuriService.assistant_for`): one deleted or no longer allowed since the page loaded — or a
forged id — gets a plain Korean notice (:data:`UNAVAILABLE_NOTICE`) and a fresh list, never a
traceback.

Saved conversations keep no assistant of their own (the conversation store has no such column);
each answer's audit record names the assistant it was asked through, and reopening a conversation
puts the picker back on the assistant of its last answer (:func:`assistant_of_answer`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import gradio as gr

from assistant.assistants import PLATFORM_ID, Assistant, AssistantNotFoundError
from assistant.callers import Caller
from connectors.errors import NuriError
from ui.texts import t

if TYPE_CHECKING:
    from assistant.service import NuriService

log = logging.getLogger("nuri.ui")

PLATFORM_DESCRIPTION = (
    "누리 플랫폼의 기본 도우미입니다. 내가 열람할 수 있는 기관 문서와 법령 모두에서 근거를 찾아 답합니다."
)
UNAVAILABLE = "선택한 도우미를 사용할 수 없습니다 (삭제되었거나 사용 권한이 바뀌었습니다). 도우미를 다시 골라 주세요."
UNAVAILABLE_NOTICE = f"> ⛔ **{UNAVAILABLE}**"
LIST_UNAVAILABLE = "> ⚠️ 도우미 목록을 불러오지 못했습니다. 지금은 누리 기본 도우미로 답합니다."


def assistant_line(assistant: Assistant | None) -> str:
    """The notice line naming the agency assistant an answer came from (empty for the platform's own)."""
    return f"> 🤖 도우미: **{assistant.name}**" if assistant is not None else ""


def choice_label(assistant: Assistant, caller: Caller | None) -> str:
    """How an assistant is listed: its name, and its agency when it is not the caller's."""
    agency = caller.principal.agency if caller is not None else None
    return assistant.name if assistant.agency == agency else f"{assistant.name} · {assistant.agency}"


def preselected(caller: Caller | None, assistants: list[Assistant]) -> str:
    """The caller's agency's default assistant, else the platform's own."""
    agency = caller.principal.agency if caller is not None else None
    return next((a.id for a in assistants if a.default and a.agency == agency), PLATFORM_ID)


def description_of(assistant: Assistant | None, agency: str | None = None) -> str:
    """The chosen assistant, described under the picker (no scope, prompt or endpoint: what
    :meth:`Assistant.public_view` shows); marked as the default of ``agency`` (the caller's)
    only when it is that agency's (another agency's default is just an assistant to them)."""
    if assistant is None:
        return f"**누리 (기본)**\n\n<small>{PLATFORM_DESCRIPTION}</small>"
    about = " ".join(assistant.description.split()) or "설명이 없습니다."
    badge = " · 기관 기본 도우미" if assistant.default and assistant.agency == agency else ""
    return f"**{assistant.name}** <small>({assistant.agency}{badge})</small>\n\n<small>{about}</small>"


@dataclass
class PickerView:
    """What the picker shows for one caller: the choices ((label, id), the platform's first), the
    chosen id, its description and example questions; ``gone``: the wanted id is no longer usable."""

    choices: list[tuple[Any, str]]
    value: str
    description: str
    examples: list[str] = field(default_factory=list)
    gone: bool = False

    def updates(self) -> tuple[Any, Any, str, Any, Any]:
        """Gradio updates for (the picker's box, the dropdown, the description, the assistant's
        examples, the platform's examples)."""
        return (
            gr.update(visible=len(self.choices) > 1),
            gr.update(choices=self.choices, value=self.value),
            self.description,
            gr.update(choices=self.examples, value=None, visible=bool(self.examples)),
            gr.update(visible=self.value == PLATFORM_ID),
        )


def picker_view(service: NuriService, caller: Caller | None, wanted: str | None = None) -> PickerView:
    """The picker for ``caller``: ``wanted`` chosen when the caller may use it (``None``: the
    preselected one); an id no longer usable falls back to the preselected one, ``gone`` set."""
    platform = (t("assistant_platform"), PLATFORM_ID)
    if caller is None:
        return PickerView([platform], PLATFORM_ID, description_of(None))
    try:
        assistants = service.assistants_for(caller)
    except NuriError as e:
        log.warning("assistants not listed", extra={"code": e.code, "subject": caller.subject})
        return PickerView([platform], PLATFORM_ID, f"{LIST_UNAVAILABLE}\n\n{description_of(None)}")
    by_id = {a.id: a for a in assistants}
    gone = bool(wanted) and wanted != PLATFORM_ID and wanted not in by_id
    value = wanted if wanted == PLATFORM_ID or wanted in by_id else preselected(caller, assistants)
    chosen = by_id.get(value or "")
    description = description_of(chosen, caller.principal.agency)
    if gone:
        description = f"{UNAVAILABLE_NOTICE}\n\n{description}"
    return PickerView(
        [platform, *((choice_label(a, caller), a.id) for a in assistants)],
        value or PLATFORM_ID,
        description,
        list(chosen.examples) if chosen is not None else [],
        gone,
    )


def chosen_assistant(service: NuriService, caller: Caller, assistant_id: str | None) -> Assistant | None:
    """The assistant a question is asked through, checked again now (None: the platform's own);
    :class:`AssistantNotFoundError` for one the caller may not use (or that does not exist)."""
    if isinstance(assistant_id, list | tuple):  # a forged multi-value
        raise AssistantNotFoundError("도우미를 하나만 고르세요", message_en="Choose one assistant")
    return service.assistant_for(caller, str(assistant_id) if assistant_id else None)


def assistant_of_answer(service: NuriService, audit_id: str | None) -> str | None:
    """The assistant an earlier answer was asked through, from its audit record (None: the
    platform's own, or not known)."""
    audit = service.audit
    if not audit_id or audit is None:
        return None
    try:
        record = audit.record(audit_id)
    except NuriError as e:
        log.info("assistant of an answer not read", extra={"code": e.code})
        return None
    return record.assistant if record is not None else None
