"""The chat page's fixed texts in Korean and English (Gradio's i18n: the browser's language picks
them, and the page's 설정 (Settings) panel switches them). Korean is the product's language; what
the server writes at run time (answers, notices, errors) stays Korean, answers follow the
question's language."""

from __future__ import annotations

import gradio as gr

TEXTS: dict[str, tuple[str, str]] = {
    "tab_chat": ("채팅", "Chat"),
    "tab_evals": ("평가", "Evaluation"),
    "tab_admin": ("관리", "Admin"),
    "new_chat": ("＋ 새 대화", "＋ New chat"),
    "folder": ("폴더", "Folder"),
    "saved": ("저장된 대화 (최근 순)", "Saved chats (newest first)"),
    "manage": ("대화 관리", "Manage chat"),
    "conv_title": ("대화 이름", "Chat name"),
    "rename": ("이름 바꾸기", "Rename"),
    "move_target": ("옮길 폴더", "Move to folder"),
    "move": ("폴더로 옮기기", "Move"),
    "new_folder": ("새 폴더 이름", "New folder name"),
    "create_folder": ("폴더 만들기", "Create folder"),
    "delete": ("대화 삭제", "Delete chat"),
    "delete_confirm": ("정말 삭제합니다", "Yes, delete it"),
    "chat": ("대화", "Conversation"),
    "chat_placeholder": (
        "누리에게 기관 문서·법령에 대해 물어보세요.",
        "Ask Nuri about your agency's documents and laws.",
    ),
    "reasons": ("어떤 점이 아쉬웠나요? (여러 개 선택)", "What was wrong? (choose any)"),
    "comment": ("의견 (선택)", "Comment (optional)"),
    "send_feedback": ("의견 보내기", "Send feedback"),
    "question": ("질문", "Question"),
    "question_placeholder": ("질문을 입력하세요", "Type your question"),
    "send": ("보내기", "Send"),
    "examples": ("예시 질문", "Example questions"),
    "sources_heading": ("### 근거 자료", "### Sources"),
    "pick_source": ("근거 자료를 골라 원문 위치 보기", "Choose a source to see it in its document"),
    "all_quotes": ("인용된 부분 모두 보기", "All quoted passages"),
    "assistant": ("도우미", "Assistant"),
    "assistant_info": (
        "이 질문에 답할 도우미를 고르세요. 도우미마다 읽는 자료와 답하는 방식이 다릅니다.",
        "Choose who answers: each assistant reads its own documents and answers its own way.",
    ),
    "assistant_platform": ("누리 (기본)", "Nuri (default)"),
    "assistant_examples": (
        "이 도우미의 예시 질문 (누르면 입력창에 넣습니다)",
        "This assistant's example questions (click one to put it in the question box)",
    ),
}

I18N = gr.I18n(ko={k: v[0] for k, v in TEXTS.items()}, en={k: v[1] for k, v in TEXTS.items()})


def t(key: str) -> gr.i18n.I18nData:
    """A fixed text of the page, by key (its Korean and English are in :data:`TEXTS`)."""
    if key not in TEXTS:
        raise KeyError(key)
    return I18N(key)
