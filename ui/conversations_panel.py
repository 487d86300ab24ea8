"""The chat's conversation list: a user's saved conversations (``assistant.conversations``),
newest first, in folders; what the list and the folder picker show, and the Markdown export as a
``data:`` link (the export never becomes a file in Gradio's cache, which any signed-in user could
fetch by its URL)."""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from assistant.answers import HistoryTurn
from assistant.conversations import ALL_FOLDERS, ConversationSummary, Folder, Message
from ui.notices import REFUSAL_BADGE

#: Times are shown in Korea's time zone (the users' own).
KST = ZoneInfo("Asia/Seoul")
#: ``folder picker`` values besides a folder's id.
EVERY_FOLDER = ALL_FOLDERS
NO_FOLDER = "none"
LIST_LIMIT = 100


def when(dt: datetime, now: datetime | None = None) -> str:
    """``오늘 14:05``, ``12월 3일``, ``2025. 11. 2.``: short and readable."""
    local = dt.astimezone(KST)
    today = (now or datetime.now(KST)).astimezone(KST)
    if local.date() == today.date():
        return f"오늘 {local:%H:%M}"
    if local.year == today.year:
        return f"{local.month}월 {local.day}일"
    return f"{local.year}. {local.month}. {local.day}."


def conversation_choices(items: Sequence[ConversationSummary]) -> list[tuple[str, str]]:
    return [(f"{c.title or '제목 없는 대화'} · {when(c.updated_at)}", c.id) for c in items]


def folder_choices(folders: Sequence[Folder]) -> list[tuple[str, str]]:
    return [("모든 대화", EVERY_FOLDER), ("폴더 없음", NO_FOLDER), *[(f"📁 {f.name}", f.id) for f in folders]]


def move_choices(folders: Sequence[Folder]) -> list[tuple[str, str]]:
    return [("폴더 없음", NO_FOLDER), *[(f"📁 {f.name}", f.id) for f in folders]]


def folder_filter(value: str | None) -> str | None:
    """The store's folder argument for a picker value."""
    if not value or value == EVERY_FOLDER:
        return ALL_FOLDERS
    return None if value == NO_FOLDER else value


def shown_messages(messages: Sequence[Message]) -> list[dict[str, str]]:
    """A saved conversation as the chat shows it (a refused answer keeps its 근거 없음 mark)."""
    return [
        {
            "role": m.role,
            "content": f"{REFUSAL_BADGE}\n\n{m.content}" if m.role == "assistant" and m.refused else m.content,
        }
        for m in messages
    ]


def turns_of(messages: Sequence[Message], max_chars: int) -> list[HistoryTurn]:
    """The saved turns a follow-up is answered with (answers that were errors left out)."""
    turns: list[HistoryTurn] = []
    for asked, answered in zip(messages, messages[1:], strict=False):
        if (
            asked.role == "user"
            and answered.role == "assistant"
            and "⛔" not in answered.content
            and not answered.refused  # a refused question (a blocked attempt included) is not carried on
        ):
            turns += [
                HistoryTurn(role="user", content=asked.content[:max_chars]),
                HistoryTurn(role="assistant", content=answered.content[:max_chars]),
            ]
    return turns


def _file_name(title: str) -> str:
    name = re.sub(r"[\\/:*?\"<>|\s]+", "_", title).strip("._")[:60]
    return f"{name or '대화'}.md"


def export_link(title: str, markdown: str) -> str:
    """A download link carrying the Markdown export itself."""
    data = base64.b64encode(markdown.encode("utf-8")).decode("ascii")
    name = html.escape(_file_name(title))
    return (
        f'<a class="nuri-export" href="data:text/markdown;charset=utf-8;base64,{data}" download="{name}">'
        f"⬇️ {name} 내려받기</a>"
    )
