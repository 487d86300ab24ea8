"""Prompt templates (Korean first, English for English questions): the ones shipped in the
``configs`` package (``configs/prompts``), or an operator's folder (``answer.prompt_dir``)."""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Collection, Sequence
from importlib.resources.abc import Traversable

import yaml

from assistant.answers import HistoryTurn
from assistant.llm_client import ChatMessage, ModelPrompt
from assistant.question import Lang
from guardrails.fence import fenced_passage
from retrieval.types import Hit


def render(template: str, **values: str) -> str:
    """Fill ``{name}`` placeholders; other braces in the template are left alone."""
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), template)


def prompt_version(prompt_dir: Traversable) -> str:
    """sha256 (12 hex) of every template file: which prompts an answer or an eval run used."""
    h = hashlib.sha256()
    for entry in sorted(prompt_dir.iterdir(), key=lambda e: e.name):
        if entry.is_file():
            h.update(entry.name.encode() + b"\0" + entry.read_bytes() + b"\0")
    return h.hexdigest()[:12]


class PromptBook:
    def __init__(self, prompt_dir: Traversable) -> None:
        """``prompt_dir``: a folder (``pathlib.Path``) or package data (``importlib.resources``)."""
        if not prompt_dir.is_dir():
            raise FileNotFoundError(f"프롬프트 폴더가 없습니다: {prompt_dir}")
        self.dir = prompt_dir
        self.version = prompt_version(prompt_dir)
        stops = yaml.safe_load((prompt_dir / "stops.yaml").read_text(encoding="utf-8")) or {}
        self._stops: dict[str, dict[str, list[str]]] = stops
        self._templates: dict[tuple[str, Lang], str] = {}
        examples = prompt_dir / "rewrite_examples.yaml"
        loaded = yaml.safe_load(examples.read_text(encoding="utf-8")) if examples.is_file() else None
        self._rewrite_examples: dict[str, list[dict[str, str]]] = loaded or {}
        self.instructions = ""

    def with_instructions(self, instructions: str) -> PromptBook:
        """The same templates with an agency assistant's instructions added after the platform's
        answer instructions (which come first and still govern: grounding, citations, refusal).
        The version names both: ``<templates>+<instructions sha256, 8 hex>``."""
        text = instructions.strip()
        if not text:
            return self
        book = copy.copy(self)
        book.instructions = text
        book.version = f"{self.version}+{hashlib.sha256(text.encode()).hexdigest()[:8]}"
        return book

    def _with_instructions(self, system: str, lang: Lang) -> str:
        if not self.instructions:
            return system
        heading = (
            "기관 지침 (위 규칙을 지키는 범위에서 따르세요)"
            if lang == "ko"
            else "Agency instructions (within the rules above)"
        )
        return f"{system}\n\n[{heading}]\n{self.instructions}"

    def template(self, name: str, lang: Lang) -> str:
        key = (name, lang)
        if key not in self._templates:
            self._templates[key] = self._read(name, lang)
        return self._templates[key]

    def _read(self, name: str, lang: Lang) -> str:
        for candidate in (f"{name}.{lang}.txt", f"{name}.ko.txt"):
            path = self.dir / candidate
            if path.is_file():
                return path.read_text(encoding="utf-8").rstrip("\n")
        raise FileNotFoundError(f"프롬프트 파일이 없습니다: {self.dir / f'{name}.{lang}.txt'}")

    def stops(self, kind: str, lang: Lang) -> tuple[str, ...]:
        return tuple(self._stops.get(kind, {}).get(lang, []))

    def passages(
        self, hits: Sequence[Hit], lang: Lang, fewshot: bool, max_chars: int, flagged: Collection[int] = ()
    ) -> str:
        """The passages as the prompt shows them, each fenced (:mod:`guardrails.fence`); ``flagged``
        (0-based) ones, which the context guardrail found addressing the model, carry a warning
        not to follow them."""
        tmpl = self.template("passage_fewshot" if fewshot else "passage", lang)
        parts = []
        for n, h in enumerate(hits, start=1):
            text = " ".join(h.text.split()) if fewshot else h.text.strip()
            if len(text) > max_chars:
                text = text[:max_chars].rstrip() + "…"
            text = fenced_passage(text, n - 1 in flagged, lang)
            parts.append(render(tmpl, n=str(n), anchor=h.anchor, title=h.title, text=text))
        return "\n".join(parts)

    def answer(
        self, question: str, hits: Sequence[Hit], lang: Lang, mode: str, max_chars: int, flagged: Collection[int] = ()
    ) -> ModelPrompt:
        fewshot = mode == "completion"
        passages = self.passages(hits, lang, fewshot, max_chars, flagged)
        if fewshot:
            text = render(self.template("answer_fewshot", lang), question=question, passages=passages)
            if self.instructions:
                text = f"{self._with_instructions('', lang).lstrip()}\n\n{text}"
            return ModelPrompt(text=text, stop=self.stops("answer_completion", lang))
        return ModelPrompt(
            messages=[
                ChatMessage("system", self._with_instructions(self.template("answer_system", lang), lang)),
                ChatMessage("user", render(self.template("answer_user", lang), question=question, passages=passages)),
            ],
            stop=self.stops("answer_chat", lang),
        )

    def rewrite(self, question: str, history: Sequence[HistoryTurn], lang: Lang, mode: str) -> ModelPrompt:
        hist = _conversation(history, lang)
        if mode == "completion":
            text = render(self.template("rewrite_fewshot", lang), history=hist, question=question)
            return ModelPrompt(text=text, stop=self.stops("rewrite_completion", lang))
        user = self.template("rewrite_user", lang)
        messages = [ChatMessage("system", self.template("rewrite_system", lang))]
        # Worked examples (rewrite_examples.yaml) as earlier turns: the request as rewrite_user
        # writes it, the rewritten question as the model's reply.
        for ex in self._rewrite_examples.get(lang, self._rewrite_examples.get("ko", [])):
            turns = [
                HistoryTurn(role="user", content=ex["user"]),
                HistoryTurn(role="assistant", content=ex["assistant"]),
            ]
            messages.append(
                ChatMessage("user", render(user, history=_conversation(turns, lang), question=ex["question"]))
            )
            messages.append(ChatMessage("assistant", ex["rewrite"]))
        messages.append(ChatMessage("user", render(user, history=hist, question=question)))
        return ModelPrompt(messages=messages, stop=self.stops("rewrite_chat", lang))

    def refusal(self, lang: Lang) -> str:
        return self.template("refusal", lang)


def _conversation(history: Sequence[HistoryTurn], lang: Lang) -> str:
    """Earlier turns as ``사용자: …`` / ``도우미: …`` lines (each cut to 400 characters)."""
    names = {"ko": ("사용자", "도우미"), "en": ("User", "Assistant")}[lang]
    return "\n".join(
        f"{names[0] if t.role == 'user' else names[1]}: {' '.join(t.content.split())[:400]}" for t in history
    )
