"""The checks a model-written draft passes before it is kept (:mod:`evals.generate`).

* :func:`parse_reply`: the model's reply is one JSON object with the expected string fields. Small
  models wrap it in a code fence, add a sentence around it or break a quote; the first ``{…}``
  object of the reply is read, and when that is not JSON the fields are picked out by their
  ``"name": "…"`` pattern. Anything else is a format failure.
* :func:`question_problem`: the question is a question (a model that copies its passage writes a
  statement).
* :func:`korean_problem`: the question and the reference answer are Korean. Korean by
  :func:`assistant.question.detect_language`, at least :data:`MIN_HANGUL_SHARE` of the letters
  Hangul (a few Latin letters are fine: "PDF", "e-사람"), and no letter of another script (the
  Chinese characters a Qwen model slips into Korean, "가능吗?") unless the passage itself has it (a
  Hanja term the document uses).
* :func:`answered_by`: an "unanswerable" question is not answered by the documents. Its content
  morphemes (:class:`retrieval.sparse.KoreanSparseEncoder` terms, without noun bigrams) less the
  words every question has (:data:`QUESTION_WORDS`: 방법, 가능, 어디 …) and one-syllable terms are
  looked up in a passage (as a term of the passage or as a substring of its text, so a compound
  spaced differently still counts). When at least :data:`ANSWERED_SHARE` of them are there, the
  passage most likely answers the question ("연가를 사용하려면 어떻게 신청해야 할까요?" against
  "연가를 사용하려는 공무원은 사용 3일 전까지 부서장에게 신청하여야 한다": 4 of 4), and the draft
  is rejected; a question about what the passage leaves out brings words the passage lacks
  ("연가보상비는 얼마인가요?": 보상비 is not there). A passage that holds the topic words but no
  value of the kind the question asks for (an amount, a period, an age, a count:
  :func:`assistant.answerability.unanswered_types`, the answer path's own rule) does not answer
  it either: "출장 일비는 얼마인가요?" against a passage on 일비 that states no amount. Otherwise
  the check is lexical and errs towards rejecting (a question that reuses the passage's words but
  asks something else is rejected too), the safe side for a refusal item.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from assistant.answerability import unanswered_types
from assistant.question import detect_language
from retrieval.settings import SparseSettings
from retrieval.sparse import KoreanSparseEncoder

#: The least share of Hangul among the letters of a Korean question or answer.
MIN_HANGUL_SHARE = 0.7
#: A question whose content morphemes are at least this share in one passage is answered by it.
ANSWERED_SHARE = 0.75
#: Words of the question's form, not its topic (content morphemes Kiwi finds in most questions).
QUESTION_WORDS = frozenset({
    "어떻", "어떠", "가능", "방법", "필요", "어디", "언제", "얼마", "얼마나", "무엇", "누구", "궁금", "경우",
    "해당", "관련", "대하", "알리", "알려주", "내용", "무슨", "어느", "규정", "문서",
})  # fmt: skip

_HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
_LATIN = re.compile(r"[A-Za-z]")
_FENCE = re.compile(r"```(?:json)?", re.IGNORECASE)


# -- the reply's format -----------------------------------------------------------------------------
def _first_object(text: str) -> str | None:
    """The first balanced ``{…}`` of ``text`` (quotes and escapes respected), or None."""
    start = text.find("{")
    while start != -1:
        depth, quoted, escaped = 0, False, False
        for i in range(start, len(text)):
            ch = text[i]
            if quoted:
                if escaped:
                    escaped = False
                elif ch == "\\":
                    escaped = True
                elif ch == '"':
                    quoted = False
            elif ch == '"':
                quoted = True
            elif ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0:
                    return text[start : i + 1]
        start = text.find("{", start + 1)
    return None


def _field(text: str, name: str) -> str | None:
    m = re.search(rf'"{re.escape(name)}"\s*:\s*"((?:[^"\\\n]|\\.)*)"', text)
    if m is None:
        return None
    try:
        return str(json.loads(f'"{m.group(1)}"'))
    except json.JSONDecodeError:
        return m.group(1)


def parse_reply(text: str, fields: Iterable[str]) -> dict[str, str] | None:
    """The reply's string ``fields`` (each present and not blank, whitespace collapsed), or None
    when the reply holds no such JSON object (see the module docstring)."""
    names = list(fields)
    body = _FENCE.sub("", text or "")
    found: dict[str, str] = {}
    raw = _first_object(body)
    if raw is not None:
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError:
            obj = None
        if isinstance(obj, dict):
            found = {k: v for k, v in obj.items() if isinstance(k, str) and isinstance(v, str)}
    if not all(found.get(n, "").strip() for n in names):
        found = {n: v for n in names if (v := _field(body, n)) is not None}
    values = {n: " ".join(found.get(n, "").split()) for n in names}
    return values if all(values.values()) else None


_QUESTION_END = re.compile(r"(?:\?|까|요|나|가|지|니)\s*[.!?？]*\s*$")


_META = re.compile(r"질문(?:은|을|이|하나)|묻는|예시")


def question_problem(text: str) -> str | None:
    """Why ``text`` is not a question (it must end with "?" or an interrogative ending: 까, 요, 나
    …; a model that copies the passage writes a statement ending in 다; a confused one asks about
    the question: "…을 묻는 질문은 무엇인가요?"), or None."""
    if not _QUESTION_END.search(text.strip()):
        return "의문문이 아닙니다"
    if _META.search(text):
        return "질문을 묻는 질문입니다"
    return None


# -- language ------------------------------------------------------------------------------------
def korean_problem(text: str, passage: str = "") -> str | None:
    """Why ``text`` is not Korean (a short Korean reason), or None when it is (see the module
    docstring). Letters of other scripts that ``passage`` also has are allowed."""
    stripped = text.strip()
    if not stripped:
        return "비어 있습니다"
    if detect_language(stripped) != "ko":
        return "영어입니다"
    hangul, latin = len(_HANGUL.findall(stripped)), len(_LATIN.findall(stripped))
    foreign = {ch for ch in stripped if ch.isalpha() and not _HANGUL.match(ch) and not _LATIN.match(ch)}
    foreign -= set(passage)
    if foreign:
        return f"다른 나라 문자가 섞였습니다 ({''.join(sorted(foreign))[:10]})"
    letters = hangul + latin
    if not hangul or hangul / letters < MIN_HANGUL_SHARE:
        return f"한글이 적습니다 (글자의 {hangul / letters if letters else 0:.0%})"
    return None


# -- is an "unanswerable" question answered? --------------------------------------------------------
@lru_cache(maxsize=1)
def _encoder() -> KoreanSparseEncoder:
    return KoreanSparseEncoder(SparseSettings(noun_bigrams=False))


def content_terms(text: str) -> set[str]:
    """The question's topic words: content morphemes less :data:`QUESTION_WORDS` and one-syllable terms."""
    return {t for t in _encoder().terms(text) if len(t) > 1 and t not in QUESTION_WORDS}


@dataclass(frozen=True, slots=True)
class Coverage:
    """How much of a question's topic words one passage has, and which kinds of value the
    question asks for that the passage states none of (``unstated``: an amount, a period …)."""

    share: float
    found: tuple[str, ...]
    missing: tuple[str, ...]
    unstated: tuple[str, ...] = ()

    @property
    def answered(self) -> bool:
        return self.share >= ANSWERED_SHARE and not self.unstated


def coverage(question: str, passage: str, passage_terms: set[str] | None = None) -> Coverage:
    """Which of ``question``'s topic words ``passage`` has (as a term, or inside its text)."""
    words = sorted(content_terms(question))
    if not words:  # nothing but question words: too vague to be a refusal item
        return Coverage(1.0, (), ())
    terms = passage_terms if passage_terms is not None else set(_encoder().terms(passage))
    squeezed = "".join(passage.split())
    found = tuple(w for w in words if w in terms or w in squeezed)
    missing = tuple(w for w in words if w not in found)
    unstated = tuple(sorted(str(t) for t in unanswered_types(question, [passage])))
    return Coverage(len(found) / len(words), found, missing, unstated)


def topic_words(text: str, k: int = 3) -> list[str]:
    """The ``k`` most frequent topic words of a passage (first seen first among equals): what an
    unanswerable question is asked about, without showing the model sentences it could copy."""
    counts: dict[str, int] = {}
    for term in _encoder().terms(text):
        if len(term) > 1 and term not in QUESTION_WORDS and not term[0].isdigit():
            counts[term] = counts.get(term, 0) + 1
    return sorted(counts, key=lambda t: -counts[t])[:k]


def passage_terms(texts: list[str]) -> list[set[str]]:
    """The morpheme sets of many passages (one analyser call), for :func:`answered_by`."""
    return [set(t) for t in _encoder().terms_many(texts)]


def answered_by(question: str, passages: list[str], terms: list[set[str]] | None = None) -> Coverage | None:
    """The coverage of the first passage that answers ``question`` (see the module docstring),
    or None when none does."""
    for i, text in enumerate(passages):
        cov = coverage(question, text, terms[i] if terms is not None else None)
        if cov.answered:
            return cov
    return None
