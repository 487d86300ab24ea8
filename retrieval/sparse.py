"""Korean-aware BM25 sparse vectors for Qdrant.

Terms come from Kiwi morphological analysis (kiwipiepy, model shipped in kiwipiepy-model):
content morphemes (nouns, verb/adjective stems, roots, foreign words, numbers), joined adjacent
nouns so that compounds match however they are spaced ("개인 정보" = "개인정보"), number+unit
terms ("30일", "10년") and normalised statute references ("제15조", "제83조의2", "제1항").

A passage's value for a term is the BM25 term-frequency part
``tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avg_len))``; Qdrant's IDF modifier on the
sparse vector supplies the inverse document frequency at query time, over the live
collection. Query terms weigh 1. Term ids are stable 31-bit hashes, so no vocabulary has to
be stored or kept in sync.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from connectors.morphology import ANALYSIS_LOCK, shared_kiwi
from retrieval.settings import SparseSettings

_CONTENT_TAGS = frozenset({"NNG", "NNP", "NNB", "NR", "SL", "SH", "SN", "XR", "VV", "VA"})
_NOUN_TAGS = frozenset({"NNG", "NNP", "XR", "SL", "SH"})
_UNIT_TAGS = frozenset({"NNB", "NNG"})
# Light verbs and bound nouns that carry no topic; IDF would shrink them anyway, but they add
# noise to every question ("어떻게 하나요", "할 수 있나요").
_STOP = frozenset({"하", "되", "있", "없", "않", "같", "이", "수", "것", "등", "때", "경우", "바", "데"})
_STATUTE_REF = re.compile(r"제\s*(\d+)\s*(조|항|호|장|절|관)(?:\s*의\s*(\d+))?")


@dataclass(slots=True)
class SparseVector:
    indices: list[int]
    values: list[float]


def term_id(term: str) -> int:
    """Stable 31-bit id of a term (blake2b), the same in every process and release."""
    return int.from_bytes(hashlib.blake2b(term.encode("utf-8"), digest_size=4).digest(), "big") & 0x7FFFFFFF


class KoreanSparseEncoder:
    """Kiwi-based BM25 encoder; thread-safe (Kiwi is guarded by a lock).

    Kiwi (~4 s on 2 cores: the analyser, then its model on the first analysis) is loaded when
    text is first analysed, so that a command that analyses nothing (an unchanged re-sync) does
    not pay for it; a server calls :meth:`warm_up` at start, so that no search does."""

    def __init__(self, settings: SparseSettings | None = None) -> None:
        self._s = settings or SparseSettings()
        self._lock = ANALYSIS_LOCK  # the process's one analyser (connectors.morphology)
        self._loaded: Any = None

    def _kiwi(self) -> Any:
        """The analyser, loaded on first use (call it with ``_lock`` held)."""
        if self._loaded is None:
            self._loaded = shared_kiwi()
        return self._loaded

    def warm_up(self) -> None:
        """Load Kiwi now rather than in the first search."""
        with self._lock:
            self._kiwi()

    def terms(self, text: str) -> list[str]:
        with self._lock:
            tokens = self._kiwi().tokenize(text)
        return self._terms_from_tokens(text, tokens)

    def _terms_from_tokens(self, text: str, tokens: Sequence[Any]) -> list[str]:
        out: list[str] = []
        prev_noun: str | None = None
        prev_num: str | None = None
        for tok in tokens:
            tag = tok.tag.split("-")[0]
            form = tok.form.lower() if tag == "SL" else tok.form
            if tag in _CONTENT_TAGS and form not in _STOP:
                out.append(form)
            if tag in _UNIT_TAGS and prev_num is not None:
                out.append(prev_num + form)
            if tag in _NOUN_TAGS or (tag == "NNB" and prev_noun):
                if prev_noun is not None and self._s.noun_bigrams:
                    out.append(prev_noun + form)
                prev_noun = form if tag in _NOUN_TAGS else None
            else:
                prev_noun = None
            prev_num = form if tag == "SN" else None
        for m in _STATUTE_REF.finditer(text):
            ref = f"제{m.group(1)}{m.group(2)}" + (f"의{m.group(3)}" if m.group(3) else "")
            out.append(ref)
        return out

    def terms_many(self, texts: list[str]) -> list[list[str]]:
        """:meth:`terms` of several texts in one Kiwi call."""
        if not texts:
            return []
        with self._lock:
            all_tokens = list(self._kiwi().tokenize(texts))
        return [self._terms_from_tokens(t, toks) for t, toks in zip(texts, all_tokens, strict=True)]

    def encode_passages(self, texts: list[str]) -> list[SparseVector]:
        with self._lock:
            all_tokens = list(self._kiwi().tokenize(texts))
        return [self._bm25(self._terms_from_tokens(t, toks)) for t, toks in zip(texts, all_tokens, strict=True)]

    def encode_query(self, text: str) -> SparseVector:
        ids = sorted({term_id(t) for t in self.terms(text)})
        return SparseVector(indices=ids, values=[1.0] * len(ids))

    def _bm25(self, terms: list[str]) -> SparseVector:
        s = self._s
        tf = Counter(term_id(t) for t in terms)
        norm = s.k1 * (1 - s.b + s.b * len(terms) / s.avg_doc_len)
        ids = sorted(tf)
        return SparseVector(indices=ids, values=[tf[i] * (s.k1 + 1) / (tf[i] + norm) for i in ids])
