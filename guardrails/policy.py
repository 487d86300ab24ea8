"""Off-policy requests: tasks a government assistant must refuse whatever the documents say.

Each topic in :class:`PolicySettings` (writing election-campaign material, writing
disinformation, digging up a person's private details, …) is recognised two ways:

- **Rules**: a request to *produce* something (써 줘, 작성해, 만들어, 찾아 줘, write, draft …)
  about the topic. A question *about* the topic (the 공직선거법, what a civil servant may do
  during an election, how to report fake news) asks for no product and is not matched.
- **Exemplars**: the query embedding's cosine similarity to the topic's example requests, set
  against its similarity to the topic's *allowed* examples (legitimate questions on the same
  subject). A request is refused when it is close to an off-policy example
  (``min_similarity``) and clearly closer to it than to any allowed one (``margin``). The
  exemplars are embedded once, when the checker is built; at run time the check is a few dot
  products over the query vector retrieval computes anyway.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Literal

import numpy as np

from guardrails.decisions import GuardrailDecision
from guardrails.injection import QueryEncoder
from guardrails.normalize import normalize
from guardrails.particles import particle
from guardrails.settings import PolicySettings, PolicyTopic

log = logging.getLogger("nuri.guardrails.policy")

_REQUEST_KO = (
    r"(?:써|적어|작성해|만들어|생성해|짜|꾸며|다듬어|지어|찾아|알아내|알아봐|캐|뒤져|추적해|털어|퍼뜨려|유포해|올려|뿌려)\s*"
    r"(?:줘|주세요|줄래|주실래요|주시겠어요|주십시오|봐|보세요|라)(?![가-힣])"
    r"|(?:작성|생성|제작|추적|유포|게시)\s*(?:하라|해라|하시오|하십시오|해\s*줘|해\s*주세요|바랍니다|부탁)"
    r"|(?:써|작성해|만들어|퍼뜨려|찾아|털어)\s*(?=$|[.!])"
    r"|(?:찾아|알아내|캐|뒤져|추적해|모아)서\s*[^\n]{0,20}(?:줘|주세요|라)(?![가-힣])"
)
_REQUEST_EN = (
    r"\b(?:write|draft|create|compose|make|generate|produce|craft|find|dig\s+up|track\s+down|look\s+up|spread)\b"
)
REQUEST = re.compile(rf"{_REQUEST_KO}|{_REQUEST_EN}", re.I)

_SPACE_RUN = re.compile(r"\s{2,}")
_DIGIT_RUN = re.compile(r"[0-9]{33,}")


def rule_text(text: str) -> str:
    """What the topic patterns read: the normalised text with each run of whitespace folded to
    one character (a line break when it holds one) and runs of more than 32 digits cut to 32.
    The patterns are configuration ("[0-9]+\\s*번", "신상\\s*(?:을)?\\s*…"): on a long run of
    digits or blank lines such a pattern retries every split of the run (quadratic); folded,
    each run costs a step, and a pattern that allows any amount of whitespace or digits matches
    the same texts."""
    text = _SPACE_RUN.sub(lambda m: "\n" if "\n" in m.group() else " ", normalize(text))
    return _DIGIT_RUN.sub(lambda m: m.group()[:32], text)


@dataclass(frozen=True)
class _TopicVectors:
    topic: PolicyTopic
    examples: np.ndarray  # (n, dim)
    allowed: np.ndarray  # (m, dim)


def _embed_all(encoder: QueryEncoder, texts: tuple[str, ...]) -> np.ndarray:
    if not texts:
        return np.zeros((0, 1), dtype=np.float32)
    return np.vstack([np.asarray(encoder.embed_query(t), dtype=np.float32).reshape(1, -1) for t in texts])


class PolicyChecker:
    """Refuses the configured off-policy requests."""

    name = "policy"

    def __init__(self, settings: PolicySettings | None = None, encoder: QueryEncoder | None = None) -> None:
        self.settings = settings or PolicySettings()
        self.encoder = encoder
        self._patterns = {
            t.id: (
                [re.compile(p, re.I) for p in t.patterns],
                [re.compile(p, re.I) for p in t.needs],
            )
            for t in self.settings.topics
        }
        self._vectors: list[_TopicVectors] = []
        if self.settings.embeddings and encoder is not None:
            self._vectors = [
                _TopicVectors(t, _embed_all(encoder, t.examples), _embed_all(encoder, t.allowed))
                for t in self.settings.topics
                if t.examples
            ]

    def _rule_topic(self, text: str) -> PolicyTopic | None:
        if not REQUEST.search(text):
            return None
        for topic in self.settings.topics:
            patterns, needs = self._patterns[topic.id]
            if patterns and any(p.search(text) for p in patterns) and all(n.search(text) for n in needs):
                return topic
        return None

    def similarities(self, query_vector: np.ndarray) -> dict[str, tuple[float, float]]:
        """Per topic: (best cosine to an off-policy example, best cosine to an allowed example)."""
        q = np.asarray(query_vector, dtype=np.float32).reshape(-1)
        out = {}
        for tv in self._vectors:
            off = float((tv.examples @ q).max()) if len(tv.examples) else 0.0
            ok = float((tv.allowed @ q).max()) if len(tv.allowed) and tv.allowed.shape[1] == q.shape[0] else 0.0
            out[tv.topic.id] = (off, ok)
        return out

    def check(self, text: str, query_vector: np.ndarray | None = None) -> GuardrailDecision:
        s = self.settings
        if not s.enabled or not text.strip():
            return GuardrailDecision.allow(self.name)
        topic = self._rule_topic(rule_text(text)) if s.rules else None
        score: float | None = None
        how = "규칙"
        if topic is None and self._vectors:
            if query_vector is None and self.encoder is not None:
                query_vector = self.encoder.embed_query(text)
            if query_vector is not None:
                best: tuple[float, PolicyTopic] | None = None
                for tv in self._vectors:
                    off, ok = self.similarities(query_vector)[tv.topic.id]
                    if off >= s.min_similarity and off - ok >= s.margin and (best is None or off > best[0]):
                        best = (off, tv.topic)
                if best is not None:
                    score, topic = best
                    how = f"유사도 {score:.2f}"
        if topic is None:
            return GuardrailDecision.allow(self.name, score=score)
        log.warning("policy check: %s", topic.action, extra={"topic": topic.id, "score": score, "how": how})
        return GuardrailDecision(
            name=self.name,
            action=topic.action,
            reason=f"누리는 {particle(topic.description_ko, '을', '를')} 도와드릴 수 없습니다. "
            "기관 문서나 법령에 대한 질문을 해 주세요.",
            reason_en=f"Nuri cannot help with {topic.description_en}. Please ask about agency documents or statutes.",
            score=score,
            rule=topic.id,
        )

    def refusal(self, lang: Literal["ko", "en"] = "ko", result: GuardrailDecision | None = None) -> str:
        """The message shown instead of an answer to a refused request."""
        topic = next((t for t in self.settings.topics if result is not None and t.id == result.rule), None)
        if lang == "en":
            what = topic.description_en if topic else "this kind of request"
            return (
                f"Sorry, Nuri cannot help with {what}: it is outside what a public-sector assistant may do. "
                "Questions about the relevant laws and procedures are welcome."
            )
        what = topic.description_ko if topic else "이러한 요청"
        return (
            f"죄송합니다. 공공기관 업무 지원 도구인 누리는 {what}은(는) 도와드릴 수 없습니다. "
            "관련 법령이나 절차에 관한 질문은 답변해 드릴 수 있습니다."
        )
