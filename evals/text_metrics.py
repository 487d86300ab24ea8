"""Answer-text metrics on Kiwi morphemes: token F1 against a reference answer and sentence
support by cited passages (groundedness).

Content morphemes are nouns, verb/adjective stems, roots, determiners, adverbs, numbers and
foreign words (Kiwi tags N*, V*, XR, MM, MAG, SN, SL, SH); particles, endings, affixes and
punctuation are dropped, so "신청할 수 있습니다" and "신청이 가능합니다" share 신청; light verbs and bound nouns (하, 되, 있, 수, 것 …) are dropped too.
Citation markers ``[n]`` are removed before scoring.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from typing import Any

from connectors.morphology import ANALYSIS_LOCK, shared_kiwi

_MARKERS = re.compile(r"\[\d+(?:\s*[,，]\s*\d+)*\]")
_SENTENCE = re.compile(r"[^.!?。\n]+(?:[.!?。]+)?(?:\s*\[\d+(?:\s*[,，]\s*\d+)*\])*")
_CONTENT = ("NN", "NR", "NP", "VV", "VA", "XR", "MM", "MAG", "SN", "SL", "SH")
#: Light verbs and bound nouns that carry no content ("할 수 있습니다").
_STOP = frozenset({"하", "되", "있", "없", "않", "같", "이", "수", "것", "등", "때", "바", "데"})


class _Kiwi:
    def __init__(self) -> None:
        self.kiwi: Any = shared_kiwi()
        self.lock = ANALYSIS_LOCK


@lru_cache(maxsize=1)
def _kiwi() -> _Kiwi:
    return _Kiwi()


def morphemes(text: str) -> tuple[str, ...]:
    """Content morphemes of ``text`` (lower-cased Latin), markers removed."""
    return _morphemes(text)


@lru_cache(maxsize=4096)
def _morphemes(text: str) -> tuple[str, ...]:
    k = _kiwi()
    with k.lock:
        tokens = k.kiwi.tokenize(_MARKERS.sub(" ", text))
    return tuple(
        t.form.lower() if t.tag == "SL" else t.form
        for t in tokens
        if t.tag.startswith(_CONTENT) and t.form not in _STOP
    )


def token_f1(answer: str, reference: str) -> float:
    """SQuAD-style F1 over content-morpheme multisets."""
    a, r = Counter(morphemes(answer)), Counter(morphemes(reference))
    common = sum((a & r).values())
    if common == 0:
        return 0.0
    precision, recall = common / sum(a.values()), common / sum(r.values())
    return 2 * precision * recall / (precision + recall)


def sentences(answer: str) -> list[tuple[str, set[int]]]:
    """The answer's sentences with the passage numbers each cites."""
    out = []
    for m in _SENTENCE.finditer(answer):
        s = m.group(0).strip()
        if not s:
            continue
        cited = {int(n) for marker in _MARKERS.findall(s) for n in re.findall(r"\d+", marker)}
        out.append((s, cited))
    return out


def groundedness(answer: str, passages: dict[int, str], min_overlap: float) -> tuple[float, int, int] | None:
    """(share, supported, scored) of sentences supported by the passages they cite: at least
    ``min_overlap`` of a sentence's content morphemes occur in those passages. A sentence
    without a marker is unsupported; one without content morphemes ("네.") is not scored."""
    supported = scored = 0
    for text, cited in sentences(answer):
        words = set(morphemes(text))
        if not words:
            continue
        scored += 1
        source: set[str] = set()
        for n in cited:
            if n in passages:
                source.update(morphemes(passages[n]))
        if source and len(words & source) / len(words) >= min_overlap:
            supported += 1
    if scored == 0:
        return None
    return supported / scored, supported, scored
