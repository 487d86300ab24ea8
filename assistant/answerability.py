"""Do the passages answer the question? Applied before any answer is shown.

Two parts. **Asked values**: cheap checks on the question's expected answer type.

A question that asks for an amount ("얼마", "상한", "수수료"), a period or deadline ("며칠",
"기간", "언제까지", "몇 년"), an age ("몇 살", "나이") or a count ("몇 명", "몇 회", "몇 시간")
is answerable from a passage only if the passage states a value of that kind: a number with a
matching unit (원, 일/개월/년/시간, 세, 명/회), or the statute's own words for one ("3분의 2",
"지체 없이", "즉시"). When no passage given to the answer does, the answer is withheld: the
passages are about the topic but do not say what was asked (a near-domain question).

**The answerability model**: a logistic regression over what retrieval and the sentence picker
already computed (:class:`AnswerabilityFeatures`) gives the probability that the passages do
*not* answer the question; above ``answer.answerability.threshold`` Nuri refuses. Dense
similarity alone cannot tell a near-domain question from an answerable one (both are similar to
something), so most features ask whether a passage states *what* was asked:

- *the subject*: the question names whom it is about (지방공무원, 공기업 직원, 사립학교 교원) and
  neither the passages nor their statutes' titles do (``subject_missing``); it names a statute
  none of the passages belongs to (``law_absent``);
- *the detail*: the sentence that matches best leaves the detail to an instrument no passage is
  (``…행정안전부령으로 정한다``, ``…장관이 정하여 고시한다``, ``별표 2와 같다``: ``defers``);
- *the value*: asked value kinds (amount, period, …) no passage states (``missing_values``);
- and the similarity and term-overlap figures of the best passage and sentence.

Its weights live in configuration and are fitted, with leave-one-family-out figures and a
locked split, by ``python -m fitting.calibrate_answerability``.
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
    # Does a passage state *what* was asked? (defaults: features added later read 0 in old fits)
    subject_missing: float = 0.0  # the question names whom it is about (지방공무원, 공기업 직원 …) and no passage does
    compound_missing: float = 0.0  # share of the question's compound terms no passage holds
    defers: float = 0.0  # the best sentence leaves the detail to what no passage is (…부령으로 정한다, 별표 2와 같다)
    defers_near: float = 0.0  # one of the next best sentences does
    law_absent: float = 0.0  # the question names a statute none of the passages belongs to

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


#: A sentence that leaves the detail to another instrument or an annexed table.
_DEFERS: dict[str, re.Pattern[str]] = {
    "decree": re.compile(r"대통령령(?:으로|로)\s*정(?:한다|하는\s*바)"),
    "rule": re.compile(r"(?:총리령|[가-힣]+부령|[가-힣]*규칙)(?:으로|로)\s*정(?:한다|하는\s*바)"),
    "notice": re.compile(
        r"(?:조례|고시|훈령|예규)(?:으로|로)\s*정(?:한다|하는\s*바)|"
        r"(?:장관|처장|청장|위원회|기관의\s*장)이\s*(?:따로\s*)?정(?:한다|하여\s*고시)"
    ),
    "annex": re.compile(
        r"(?:별표|별지)\s*(?:제\s*)?\d+(?:의\d+)?(?:호)?[^.\n]{0,40}?(?:따라|따른|규정된|정한|정하는|같다|같이|의한|의하여)"
    ),
}
#: Which passages provide what a deferring sentence points to (by the statute's title).
_PROVIDES = {
    "decree": re.compile(r"(?:시행령|령|규정)$"),
    "rule": re.compile(r"(?:시행규칙|규칙)$"),
}
#: Question words and light nouns that name no subject ("방법", "기준", "경우", "얼마" …).
_GENERIC_TERMS = frozenset(
    [
        "방법",
        "절차",
        "기준",
        "경우",
        "얼마",
        "무엇",
        "뭐",
        "어떻",
        "어떤",
        "어디",
        "언제",
        "며칠",
        "몇",
        "규정",
        "내용",
        "관련",
        "사항",
        "세부",
        "구체",
        "실제",
        "적용",
        "궁금",
        "알려",
        "질문",
        "문의",
        "저희",
        "우리",
        "제",
        "혹시",
        "정하",
        "되",
        "하",
        "있",
        "없",
        "받",
        "주",
        "말",
        "수",
        "것",
        "때",
        "등",
        "법",
        "령",
    ]
)
#: Terms naming whom a rule is about (a kind of public servant, employee, member or body).
_SUBJECT = re.compile(r"(?:공무원|직원|의원|교원|군인|근로자|노동자|위원|사업자|법인|단체|조합)$")
#: Words that say which post or status a servant holds, not which service's statutes govern them.
_STATUS = re.compile(
    r"^(?:일반직|중앙|부처|중앙부처|소속|우리|저희|해당|신규|신입|현직|퇴직|전직|임기제|시간선택제|계약|전문|행정|기관|일반)+"
)


def _subject_missing(term: str, scope: str) -> bool:
    """Is whom the question is about (지방공무원, 공기업직원) absent from the passages' scope?
    A status word in front of it (일반직, 중앙부처, 신규) does not make another subject."""
    head = _SUBJECT.search(term)
    qualifier = _STATUS.sub("", term[: head.start()]) if head else ""
    if not qualifier:
        return term not in scope and term[head.start() :] not in scope if head else False
    return term not in scope and qualifier not in scope


_NAMED_LAW = re.compile(
    r"「([^」]{2,40})」|([가-힣]{2,30}(?:법|령|규정|규칙))(?:\s*(?:에서|상|에\s*따르면|의|에\s*의하면))"
)

_NOT_A_LAW = re.compile(r"(?:방|불|위|적|편|입|사|문|수|용|기|어|해결|처리|계산|작성|신청)법$|(?:명|지)령$")


def _compact(text: str) -> str:
    return re.sub(r"\s+", "", text)


def deferrals(sentence: str) -> set[str]:
    """Where the sentence leaves what it governs: ``decree`` (대통령령), ``rule`` (총리령·부령),
    ``notice`` (고시, 장관이 정한다, 조례) or ``annex`` (별표·별지); empty when it states it."""
    return {kind for kind, pattern in _DEFERS.items() if pattern.search(sentence)}


def defers(sentence: str) -> bool:
    """Does the sentence leave what it governs to another instrument or an annexed table?"""
    return bool(deferrals(sentence))


def defers_unprovided(sentence: str, titles: Sequence[str]) -> bool:
    """It defers, and none of the passages is the kind of instrument it defers to (annexed
    tables and notices are never indexed as text)."""
    kinds = deferrals(sentence)
    return bool(kinds) and not any(k in _PROVIDES and any(_PROVIDES[k].search(t) for t in titles) for k in kinds)


def named_laws(question: str) -> list[str]:
    """The statutes a question names ("공직자윤리법에서 …", "「지방공무원법」 …"), spaces removed."""
    names = [_compact(m.group(1) or m.group(2)) for m in _NAMED_LAW.finditer(question)]
    return [n for n in names if not _NOT_A_LAW.search(n)]


def answerability_features(
    question: str,
    relevance: float,
    best_sentence: tuple[float, float] | None,
    question_terms: Iterable[str],
    passage_terms: Sequence[Iterable[str]],
    passage_texts: Sequence[str],
    best_sentences: Sequence[str] = (),
    passage_titles: Sequence[str] = (),
) -> AnswerabilityFeatures:
    """``best_sentence``: (cosine, lexical) of the sentence picker's best sentence;
    ``best_sentences``: the picker's best few sentences; ``passage_titles``: the statute or
    document each passage belongs to."""
    ordered = [t for t in question_terms if t not in _GENERIC_TERMS and len(t) >= 2 and not t.isdigit()]
    q = set(question_terms)
    held = [set(t) for t in passage_terms]
    everywhere = set().union(*held) if held else set()
    cos, lex = best_sentence if best_sentence is not None else (0.0, 0.0)
    # compound terms (the sparse encoder joins adjacent nouns: 지방공무원, 국제통용평가)
    compounds = [t for t in ordered if len(t) >= 4 and re.fullmatch(r"[가-힣]+", t)]
    # whom the question is about: a term naming a kind of person or body
    subjects = [t for t in ordered if (len(t) >= 3 or t in ("군인", "교원")) and _SUBJECT.search(t)]
    titles = [_compact(t) for t in passage_titles]
    scope = " ".join(titles + [_compact(t) for t in passage_texts])
    laws = named_laws(question)
    return AnswerabilityFeatures(
        relevance=relevance,
        sentence_cosine=cos,
        sentence_lexical=lex,
        coverage=len(q & everywhere) / len(q) if q else 0.0,
        coverage_first=len(q & held[0]) / len(q) if q and held else 0.0,
        missing_values=float(len(unanswered_types(question, passage_texts))),
        # read in the passages and their statutes' titles ("국가공무원 복무규정" is about 국가공무원)
        subject_missing=float(any(_subject_missing(t, scope) for t in subjects)),
        compound_missing=sum(c not in everywhere for c in compounds) / len(compounds) if compounds else 0.0,
        defers=float(defers_unprovided(best_sentences[0], titles)) if best_sentences else 0.0,
        defers_near=float(any(defers(s) for s in best_sentences[1:3])),
        law_absent=float(any(not any(law in t or t in law for t in titles) for law in laws)) if titles else 0.0,
    )


def unanswerable_probability(features: AnswerabilityFeatures, weights: Mapping[str, float], bias: float) -> float:
    """The logistic model: P(the passages do not answer) = sigmoid(bias + Σ weight × feature)."""
    values = features.as_dict()
    unknown = set(weights) - set(values)
    if unknown:
        raise ValueError(f"answerability weights name unknown features: {', '.join(sorted(unknown))}")
    z = bias + sum(w * values[name] for name, w in weights.items())
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))
