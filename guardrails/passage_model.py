"""The learned half of the context check: a lexical logistic regression that scores each
segment of a retrieved passage (a line, a sentence, a table cell, the text of an HTML comment
or hidden element) for "this addresses the model", and takes the highest segment.

Why lexical: the check runs on every retrieved passage at answer time, and embedding each one
again would cost ~0.1 s a passage on 2 cores; character n-grams need no encoder, work with any
embedder (production may use a remote one of another dimension) and cost about a millisecond a
passage. The features are character 2–4-grams of the normalised segment (NFKC, lower case,
digits folded to 0, whitespace folded) and its word unigrams and bigrams, counted and scaled by
1/√(number of features); P(instruction) = σ(b + Σ w·x). The weights (pruned to the features
that matter), the threshold and the validation record live in
``guardrails/data/passage_model.json``, written by ``python -m fitting.train_passage_check``
(``python -m fitting.attack_report`` reruns it with the other attack figures).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from guardrails.bundled import model_text
from guardrails.normalize import normalize

MODEL_RESOURCE = "passage_model.json"
FORMAT = "nuri.passage-lexical/1"

_COMMENT = re.compile(r"<!--(.*?)(?:-->|$)", re.S)
# a data-* attribute's name is at most 64 characters after "data-" (unbounded, "data-data-data-…"
# was rescanned to its end from every "data-": quadratic)
_ATTR_TEXT = re.compile(r"""\b(?:content|alt|title|aria-label|data-[a-z-]{1,64})\s*=\s*["']([^"']{12,})["']""", re.I)
_TAG = re.compile(r"</?[a-zA-Z][^>\n]{0,400}>")
_SENTENCE = re.compile(r"(?<=[.!?。])\s+(?=\S)")
_DIGIT = re.compile(r"\d")
_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"[0-9a-z\uac00-\ud7a3]+")

#: Segments shorter than this are joined to the next one ("참고:", "Note:" on their own line).
MIN_SEGMENT = 14
MAX_SEGMENT = 320


def segments(text: str, max_chars: int = 20000) -> list[str]:
    """The pieces of a passage that are scored one by one."""
    text = text[:max_chars]
    text = _COMMENT.sub(lambda m: "\n" + m.group(1) + "\n", text)
    text = _ATTR_TEXT.sub(lambda m: "\n" + m.group(1) + "\n", text)
    text = _TAG.sub("\n", text)
    pieces: list[str] = []
    for line in text.split("\n"):
        line = line.strip()
        if not line:
            continue
        parts = [c.strip() for c in line.strip("|").split("|")] if line.count("|") >= 2 else _SENTENCE.split(line)
        pieces += [p for p in (x.strip() for x in parts) if p and not set(p) <= set("-:| ")]
    out: list[str] = []
    carry = ""
    for p in pieces:
        p = f"{carry} {p}".strip() if carry else p
        carry = ""
        if len(p) < MIN_SEGMENT:
            carry = p
            continue
        if len(p) > MAX_SEGMENT:
            step = MAX_SEGMENT * 2 // 3
            out += [p[i : i + MAX_SEGMENT] for i in range(0, len(p) - MAX_SEGMENT // 3, step)]
        else:
            out.append(p)
    if carry:
        if out and len(out[-1]) + len(carry) <= MAX_SEGMENT:
            out[-1] = f"{out[-1]} {carry}"
        else:
            out.append(carry)
    return out


def canonical(segment: str) -> str:
    return _SPACE.sub(" ", _DIGIT.sub("0", normalize(segment).lower())).strip()


def features(segment: str) -> Iterator[str]:
    """Every feature of a segment, with repeats (the counts)."""
    s = canonical(segment)
    padded = f" {s} "
    n = len(padded)
    for k in (2, 3, 4):
        for i in range(n - k + 1):
            yield padded[i : i + k]
    words = _WORD.findall(s)
    for w in words:
        yield "w:" + w
    for a, b in zip(words, words[1:], strict=False):
        yield f"b:{a} {b}"


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.I)


#: Concept detectors: each is a feature of weight learned like any n-gram (value 1 when present),
#: and so are their pairs. They name what an injected instruction does in any wording: speak of
#: answering/summarising (act), of a machine reader (machine), of this very document (self), of
#: the person asking (user), set a condition (cond), order (imper) and dictate content (dictate).
CONCEPTS: dict[str, re.Pattern[str]] = {
    "act": _rx(
        r"답변|응답|대답|답하|답을|답할|답해|답장|답이|요약|정리해 ?주|정리하는|인용|옮겨 ?(?:답|쓰|적)|가져다|출력|설명해 ?주는|"
        r"안내할 ?때|\banswer|\brepl(?:y|ies)|\brespon(?:d|se)|summar|\bquot(?:e|ing)|\boutput"
    ),
    "machine": _rx(
        r"\bai\b|(?<![가-힣])(?:인공지능|챗봇|어시스턴트|언어 ?모델|도우미|응답기|프로그램|자동 ?(?:응답|정리|안내|분류)|도구)|"
        r"\b(?:assistant|chatbot|model|bot|software|automated|automatically|system)\b"
    ),
    "self": _rx(
        r"(?:이|본|해당|위|아래) ?(?:문서|자료|공문|글|내용|표|셀|칸|메모|페이지|보도자료|회의록|faq|민원|해설|매뉴얼|주석|공고|기록|문단|"
        r"이메일|메일|안내문|안내|공지|q&a)|이걸로|이거 |\bth(?:is|ese) (?:document|e-?mail|message|page|report|table|cell|row|section|"
        r"text|footnote|thread|paragraph|memo|note|minutes|record|line)s?\b"
    ),
    "user": _rx(
        r"사용자|질문자|질문한|묻는 ?사람|신청자에게|읽는 ?(?:분|사람|쪽)|\bthe (?:user|reader|person asking|recipient)|user'?s\b"
    ),
    "cond": _rx(
        r"경우|할 ?때|하는 ?때|땐|때는|때에는|하면|되면|받으면|시 |\bif\b|\bwhen\b|whoever|anyone|\bany (?:answer|response|reply|summary)"
    ),
    "imper": _rx(
        r"(?:하십시오|하세요|할 ?것|말 ?것|해 ?주세요|해 ?줘|주십시오|하라|마세요|마십시오|말아 ?주세요|써 ?(?:줘|주세요)|줄 ?것|알릴 ?것|"
        r"적으세요|하도록 ?하세요|바람|주세요|해라|하기 ?바람)|^(?:please )?(?:say|tell|state|describe|answer|reply|respond|ask|"
        r"recommend|treat|skip|do not|don't|omit|replace|swap|present|begin|start|add|include|translate|output|report|claim|"
        r"put|make|link|list|leave)\b|\b(?:must|should)\b"
    ),
    "dictate": _rx(
        r"라고|이라고|로 ?안내|으로 ?안내|로 ?바꾸|으로 ?바꾸|빼고|생략|숨기|감추|밝히지|언급하지|말하고|말해|"
        r"\b(?:say|tell|state|claim|omit|leave out|replace|instead|only|regardless)\b"
    ),
}
_PAIRS = [(a, b) for i, a in enumerate(CONCEPTS) for b in list(CONCEPTS)[i + 1 :]]


def concepts(segment: str) -> list[str]:
    """The concept features of a segment (each worth 1)."""
    s = canonical(segment)
    on = [name for name, rx in CONCEPTS.items() if rx.search(s)]
    out = [f"c:{n}" for n in on]
    out += [f"c:{a}&{b}" for a, b in _PAIRS if a in on and b in on]
    out.append(f"c:n{min(len(on), 5)}")
    return out


@dataclass(frozen=True)
class PassageModel:
    """Segment-level logistic regression over counted lexical features; a passage scores the
    maximum of its segments."""

    weights: dict[str, float]
    bias: float
    threshold: float
    metadata: dict[str, Any] = field(default_factory=dict)

    def segment_probability(self, segment: str) -> float:
        w = self.weights
        total = 0.0
        count = 0
        for f in features(segment):
            count += 1
            total += w.get(f, 0.0)
        z = self.bias + (total / math.sqrt(count) if count else 0.0)
        z += sum(w.get(c, 0.0) for c in concepts(segment))
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))

    def score(self, passage: str, max_chars: int = 20000) -> tuple[float, str]:
        """(highest segment probability, that segment)."""
        best, where = 0.0, ""
        for seg in segments(passage, max_chars):
            p = self.segment_probability(seg)
            if p > best:
                best, where = p, seg
        return best, where

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "bias": round(self.bias, 6),
            "threshold": self.threshold,
            "metadata": self.metadata,
            "weights": {k: round(v, 4) for k, v in sorted(self.weights.items())},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PassageModel:
        if data.get("format") != FORMAT:
            raise ValueError(f"passage model: unknown format {data.get('format')!r}")
        return cls(
            {str(k): float(v) for k, v in data["weights"].items()},
            float(data["bias"]),
            float(data["threshold"]),
            dict(data.get("metadata", {})),
        )

    @classmethod
    def load(cls, path: str | Path | None = None) -> PassageModel:
        """The model at ``path``, or the one bundled with the package."""
        return cls.from_dict(json.loads(model_text(MODEL_RESOURCE, path)))
