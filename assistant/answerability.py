"""Do the passages answer the question? Applied before any answer is shown.

Two parts. **Asked values**: cheap checks on the question's expected answer type.

A question that asks for an amount ("얼마", "상한", "수수료"), a period or deadline ("며칠",
"기간", "언제까지", "몇 년"), an age ("몇 살", "나이") or a count ("몇 명", "몇 회", "몇 시간")
is answerable from a passage only if the passage states a value of that kind: a number with a
matching unit (원, 일/개월/년/시간, 세, 명/회), or the statute's own words for one ("3분의 2",
"지체 없이", "즉시"). When no passage given to the answer does, the answer is withheld: the
passages are about the topic but do not say what was asked (a near-domain question).

**The answerability model**: a logistic regression over what retrieval and the sentence picker
already computed (:class:`AnswerabilityFeatures`: the best passage's similarity, the best
sentence's similarity and term overlap, the share of the question's terms the passages hold,
and the asked values none states) gives the probability that the passages do *not* answer the
question; above ``answer.answerability.threshold`` Nuri refuses. Dense similarity alone cannot
tell a near-domain question from an answerable one (both are similar to something); the terms
the passages lack can. Its weights live in configuration and are fitted, with two-fold
cross-validated refusal figures, by ``python -m fitting.calibrate_answerability``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum


class AskType(StrEnum):
    AMOUNT = "amount"
    PERIOD = "period"
    AGE = "age"
    COUNT = "count"
    TEMPERATURE = "temperature"
    DATE = "date"


_NUM = r"(?:\d[\d,.]*|[일이삼사오육칠팔구십백천만]+)"
_ASK_PATTERNS: dict[AskType, re.Pattern[str]] = {
    AskType.AMOUNT: re.compile(
        r"얼마|금액|액수|상한액|한도액|수수료|과태료|벌금|몇\s*원|비용은|how much|amount|fee", re.I
    ),
    AskType.AGE: re.compile(r"몇\s*살|나이|연령|몇\s*세|how old|\bage\b", re.I),
    AskType.TEMPERATURE: re.compile(r"몇\s*도\b|온도|temperature", re.I),
    AskType.COUNT: re.compile(r"몇\s*(?:명|회|번|시간|건|개|급|장|차례)|how many", re.I),
    AskType.DATE: re.compile(r"언제(?!까지)|날짜|며칠에|몇\s*월|what date|\bwhen\b", re.I),
    AskType.PERIOD: re.compile(
        r"며칠|몇\s*(?:일|개월|달|년|주)|기간|기한|언제까지|얼마\s*(?:동안|나|만에)|보존\s*기간|유효\s*기간|"
        r"how long|deadline|within how|period",
        re.I,
    ),
}
_VALUE_PATTERNS: dict[AskType, re.Pattern[str]] = {
    AskType.AMOUNT: re.compile(
        rf"{_NUM}\s*(?:원|만원|억원|천원|퍼센트|%|배)|분의\s*{_NUM}|{_NUM}\s*분의|상당한\s*금액|실비|금액"
    ),
    AskType.AGE: re.compile(rf"{_NUM}\s*세|{_NUM}\s*살|미성년|성년"),
    AskType.TEMPERATURE: re.compile(rf"{_NUM}\s*(?:도|℃|°)"),
    AskType.COUNT: re.compile(rf"{_NUM}\s*(?:명|회|번|시간|건|개|급|장|차례|인|분의)|과반수|재적"),
    AskType.DATE: re.compile(
        rf"{_NUM}\s*월\s*{_NUM}\s*일|\d{{4}}\s*년|\d{{4}}\.\s*\d{{1,2}}\.|매년|매월|분기|상반기|하반기|지체\s*없이|즉시|전까지|이내"
    ),
    AskType.PERIOD: re.compile(
        rf"{_NUM}\s*(?:일|개월|월|년|주|시간|분)|지체\s*없이|즉시|매년|매월|매분기|{_NUM}\s*년마다|까지|이내|동안|기간"
    ),
}


def ask_types(question: str) -> set[AskType]:
    """The kinds of value the question asks for (empty: it asks for no particular value)."""
    found = {t for t, p in _ASK_PATTERNS.items() if p.search(question)}
    # "얼마 동안" / "얼마나 걸려" ask for a period, not an amount
    if AskType.PERIOD in found and AskType.AMOUNT in found and re.search(r"얼마\s*(?:동안|나|만에)", question):
        found.discard(AskType.AMOUNT)
    return found


def states_value(ask: AskType, text: str) -> bool:
    return bool(_VALUE_PATTERNS[ask].search(text))


def unanswered_types(question: str, passages: Iterable[str]) -> set[AskType]:
    """The asked value kinds that none of ``passages`` states (empty: nothing is missing)."""
    texts = list(passages)
    return {ask for ask in ask_types(question) if not any(states_value(ask, t) for t in texts)}


@dataclass(frozen=True, slots=True)
class AnswerabilityFeatures:
    """What the answerability model reads (names are the keys of its configured weights)."""

    relevance: float  # best dense similarity of a retrieved passage to the question
    sentence_cosine: float  # best sentence's dense similarity (read under its heading)
    sentence_lexical: float  # share of the question's terms that sentence and its heading hold
    coverage: float  # share of the question's terms any passage holds
    coverage_first: float  # share of the question's terms the first passage holds
    missing_values: float  # asked value kinds (amount, period, …) that no passage states

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def answerability_features(
    question: str,
    relevance: float,
    best_sentence: tuple[float, float] | None,
    question_terms: Iterable[str],
    passage_terms: Sequence[Iterable[str]],
    passage_texts: Sequence[str],
) -> AnswerabilityFeatures:
    """``best_sentence``: (cosine, lexical) of the sentence picker's best sentence."""
    q = set(question_terms)
    held = [set(t) for t in passage_terms]
    everywhere = set().union(*held) if held else set()
    cos, lex = best_sentence if best_sentence is not None else (0.0, 0.0)
    return AnswerabilityFeatures(
        relevance=relevance,
        sentence_cosine=cos,
        sentence_lexical=lex,
        coverage=len(q & everywhere) / len(q) if q else 0.0,
        coverage_first=len(q & held[0]) / len(q) if q and held else 0.0,
        missing_values=float(len(unanswered_types(question, passage_texts))),
    )


def unanswerable_probability(features: AnswerabilityFeatures, weights: Mapping[str, float], bias: float) -> float:
    """The logistic model: P(the passages do not answer) = sigmoid(bias + Σ weight × feature)."""
    values = features.as_dict()
    unknown = set(weights) - set(values)
    if unknown:
        raise ValueError(f"answerability weights name unknown features: {', '.join(sorted(unknown))}")
    z = bias + sum(w * values[name] for name, w in weights.items())
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))
