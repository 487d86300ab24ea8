"""Extractive answers: the passages' own sentences that answer the question, quoted with their
citation, for models that cannot write a faithful answer (the bundled 270M base model).

A passage is cut into sentences (statute lines: 항, 호 and their sentences; document lines and
sentences). Each sentence is scored against the question by

    score = dense cosine(question, heading + sentence)  (the index's own encoder, query/passage)
          + lexical_weight × share of the question's content terms the heading + sentence hold
          + value_weight, when the question asks for an amount, period, date, age or count
            (``assistant.answerability``) and the sentence states one
          − rank_penalty × (passage rank − 1)

and the best one is quoted; further sentences are added (at most ``max_sentences``) when they
score within ``keep_ratio`` of the best. Each quoted sentence keeps the number of its passage,
so the citation is exact by construction: the answer says only what the cited text says.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from assistant.answerability import ask_types, states_value
from assistant.settings import ExtractiveSettings
from retrieval.embedders import Embedder, VectorLru
from retrieval.sparse import KoreanSparseEncoder
from retrieval.types import Hit

_LINE_SPLIT = re.compile(r"\n+")
_SENTENCE_SPLIT = re.compile(r"(?<=다\.)\s+|(?<=[.!?])\s+(?=[^\d\s])")
_MIN_CHARS = 12


@dataclass(slots=True)
class Quote:
    passage: int  # 1-based position among the passages given
    text: str
    score: float
    cosine: float
    lexical: float


def sentences_of(text: str, max_chars: int) -> list[str]:
    """A passage's sentences: its lines, cut at sentence ends; short fragments join the next."""
    out: list[str] = []
    for line in _LINE_SPLIT.split(text):
        line = line.strip()
        if not line:
            continue
        for piece in _SENTENCE_SPLIT.split(line):
            piece = piece.strip()
            if not piece:
                continue
            if out and len(out[-1]) < _MIN_CHARS:
                out[-1] = f"{out[-1]} {piece}"
            else:
                out.append(piece)
    return [s if len(s) <= max_chars else s[:max_chars].rsplit(" ", 1)[0] + " …" for s in out]


class SentencePicker:
    def __init__(self, embedder: Embedder, sparse: KoreanSparseEncoder, settings: ExtractiveSettings) -> None:
        self.embedder, self.sparse, self.settings = embedder, sparse, settings
        # A passage's sentences come back with every question that retrieves it: their vectors
        # are kept (the encoder is most of an extractive answer's CPU time).
        self.sentence_vectors = VectorLru(settings.sentence_cache)

    def candidates(self, question: str, passages: Sequence[Hit]) -> list[Quote]:
        s = self.settings
        units = [(i + 1, sent) for i, h in enumerate(passages) for sent in sentences_of(h.text, s.max_sentence_chars)]
        if not units:
            return []
        q_terms = set(self.sparse.terms(question))
        asked = ask_types(question)
        q_vec = np.asarray(self.embedder.embed_query(question), dtype=np.float32)
        # each sentence is read with the heading it stands under ("1. 점검 기간: 2024년 5월 13일부터 …")
        context = [f"{_label(passages[n - 1])}: {sent}" for n, sent in units]
        vecs = self._sentence_vectors(context)
        cos = vecs @ q_vec / (np.linalg.norm(vecs, axis=1) * np.linalg.norm(q_vec) + 1e-9)
        terms = self.sparse.terms_many(context)
        quotes = []
        for (n, sent), c, t in zip(units, cos.tolist(), terms, strict=True):
            lexical = len(q_terms & set(t)) / len(q_terms) if q_terms else 0.0
            states = any(states_value(a, sent) for a in asked)
            score = c + s.lexical_weight * lexical + (s.value_weight if states else 0.0) - s.rank_penalty * (n - 1)
            quotes.append(Quote(passage=n, text=sent, score=score, cosine=c, lexical=lexical))
        return sorted(quotes, key=lambda q: -q.score)

    def _sentence_vectors(self, texts: list[str]) -> np.ndarray:
        cached = [self.sentence_vectors.get(t) for t in texts]
        missing = [i for i, v in enumerate(cached) if v is None]
        if missing:
            fresh = np.asarray(self.embedder.embed_passages([texts[i] for i in missing]), dtype=np.float32)
            for i, vector in zip(missing, fresh, strict=True):
                self.sentence_vectors.put(texts[i], vector)
                cached[i] = vector
        return np.vstack([v for v in cached if v is not None]).astype(np.float32, copy=False)

    def pick(self, question: str, passages: Sequence[Hit]) -> list[Quote]:
        """The quoted sentences, best first."""
        return self.pick_from(self.candidates(question, passages))

    def pick_from(self, ranked: Sequence[Quote]) -> list[Quote]:
        """:meth:`pick` from already ranked :meth:`candidates`."""
        if not ranked:
            return []
        best = ranked[0].score
        return [q for q in ranked if q.score >= best * self.settings.keep_ratio][: self.settings.max_sentences]


def _label(hit: Hit) -> str:
    return hit.anchor if hit.anchor.startswith(hit.title) else f"{hit.title} {hit.anchor}".strip()


def compose(quotes: Sequence[Quote], passages: Sequence[Hit], lang: str) -> tuple[str, list[int]]:
    """The answer text quoting ``quotes`` (one line each, with its source and a ``[n]`` marker
    numbered by first use) and the passage numbers (1-based) in display order."""
    order: list[int] = []
    lines = []
    for q in quotes:
        if q.passage not in order:
            order.append(q.passage)
        n = order.index(q.passage) + 1
        sentence = q.text.rstrip().rstrip(".")
        label = _label(passages[q.passage - 1])
        if lang == "en":
            lines.append(f"According to {label}: “{sentence}” [{n}].")
        else:
            lines.append(f"{label}에 따르면 “{sentence}” [{n}].")
    return "\n".join(lines), order
