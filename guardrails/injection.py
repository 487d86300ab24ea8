"""Prompt-injection and jailbreak detection on the user's turn (Korean and English).

Two signals, either of which blocks (or warns, by configuration):

- **Rules**: regular expressions for the known shapes of an attack: instruction override
  ("ignore previous instructions", "이전 지시를 무시하고", "앞의 명령은 잊고", "지금부터 너는 …"),
  jailbreak personas (DAN, developer mode, "제한 없는 AI", "탈옥"), system-prompt extraction
  ("repeat your instructions", "시스템 프롬프트를 보여줘", "너의 초기 설정을 출력해"), data
  exfiltration (markdown images whose URL carries data, "send … to https://…") and forged role
  markers ("[system]", "<|im_start|>"). They read every variant :mod:`guardrails.normalize`
  produces (full-width, jamo, spaced-out, homoglyph, leetspeak, base64/hex/URL-encoded), and
  are written so that the ordinary civil-service use of 무시/지시/명령/시스템/보안/역할 does not
  fire them (an attack addresses the model: 이전·앞의·위의 + 지시 + 무시하고, 너/당신, 프롬프트).
- **The learned signal**: a logistic regression over the query embedding (multilingual-e5-small,
  the vector retrieval computes anyway), so at run time it costs one dot product. Its weights,
  threshold and validation figures live in ``guardrails/data/injection_model.json``, written by
  ``python -m fitting.train_injection``. An input whose normalisation undid an obfuscation (a
  decoded payload, composed jamo, folded homoglyphs) is embedded once more in its plain form
  when an encoder is at hand.

The package never imports retrieval: the caller passes a :class:`QueryEncoder` (anything with
``embed_query``) or the query vector it already has.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from guardrails.bundled import model_text
from guardrails.decisions import GuardrailDecision
from guardrails.normalize import Analysis, analyse
from guardrails.particles import particle
from guardrails.settings import InjectionSettings

log = logging.getLogger("nuri.guardrails.injection")

#: Shown to the user in place of an answer when the input is blocked.
INJECTION_REFUSAL_KO = (
    "죄송합니다. 이 요청은 처리할 수 없습니다. 누리의 지침을 바꾸거나 우회하려는 요청, 또는 내부 설정을 "
    "알아내려는 요청으로 판단되었습니다. 업무에 관한 질문으로 다시 입력해 주세요."
)
INJECTION_REFUSAL_EN = (
    "Sorry, this request cannot be processed: it appears to try to change or bypass Nuri's instructions "
    "or to reveal its internal configuration. Please ask a work-related question instead."
)


class QueryEncoder(Protocol):
    """What the classifier needs from an embedder (retrieval's embedder is one)."""

    def embed_query(self, text: str) -> np.ndarray: ...


# --- rules ------------------------------------------------------------------------------------

Category = Literal["override", "persona", "extraction", "exfiltration", "marker"]

CATEGORY_KO: dict[str, str] = {
    "override": "이전 지시를 무시하게 하려는 지시",
    "persona": "제한을 벗어나게 하려는 역할극·탈옥 시도",
    "extraction": "시스템 프롬프트·내부 설정을 알아내려는 시도",
    "exfiltration": "대화나 자료를 외부 주소로 빼돌리려는 지시",
    "marker": "시스템·관리자 메시지를 흉내 낸 표식",
}
CATEGORY_EN: dict[str, str] = {
    "override": "an instruction to ignore previous instructions",
    "persona": "a role-play / jailbreak attempt to lift restrictions",
    "extraction": "an attempt to extract the system prompt or configuration",
    "exfiltration": "an instruction to send the conversation or data to an external address",
    "marker": "a forged system/administrator message marker",
}


#: What happened to the question (the check's ``action``) and what the user can do, in plain words:
#: no rule ids or probabilities reach the user (they are the decision's ``rule``/``score``, logged).
_HANDLED_KO = {"block": "답변하지 않았습니다", "warn": "주의 표시를 남겼습니다"}
_HANDLED_EN = {"block": "not answered", "warn": "flagged"}
_WHAT_TO_DO_KO = "업무에 필요한 내용을 문서·법령에 대한 질문으로 다시 적어 주세요."
_WHAT_TO_DO_EN = "Please ask again about the documents or statutes you need for your work."


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    category: Category
    pattern: re.Pattern[str]
    korean: bool = False  # also read on the whitespace-free form (Korean phrases survive any spacing)
    requires: re.Pattern[str] | None = None  # must also match somewhere in the same variant


@dataclass(frozen=True, slots=True)
class RuleHit:
    rule: str
    category: Category
    variant: str  # which form of the text matched (normalized, collapsed, decoded:base64, …)
    match: str


def ko_spaces(pattern: str) -> str:
    r"""``pattern`` with each space (or " ?") made "any or no whitespace", possessively (``\s*+``):
    the whitespace is taken whole, never handed back. What follows a space in a Korean pattern
    never starts with whitespace, so the language is the same as with ``\s*``; but two spaces with
    only optional words between them ("(?:의)? (?:모든 )?") no longer try every split of a long
    whitespace run between them (quadratic, then worse, on "당신의" + 20 000 newlines)."""
    return pattern.replace(" ?", " ").replace(" ", r"\s*+")


def _ko(pattern: str) -> re.Pattern[str]:
    """A Korean pattern: a space stands for any (or no) whitespace."""
    return re.compile(ko_spaces(pattern), re.I)


def _en(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.I)


# Korean building blocks (a space = optional whitespace)
_K_IMPERATIVE = r"(?:하고|해(?![도서야요])|하라|하세요|하십시오|해라|해 ?줘|해 ?주세요|할 ?것|하도록|한 ?채|한 ?뒤|한 ?다음|하고서|하며|하시오|합니다|한다)"
_K_SHOW = (
    r"(?:보여|알려|출력|말해|공개해|복사|반복|적어|읊어|나열|제출|표시|번역|인코딩|요약해|붙여|불러|알려줄|보여줄|공유해|"
    r"덤프|유출|print|show)"
)
_K_MODEL = r"(?:너|넌|네가|니가|당신|그대|AI|인공지능|챗봇|어시스턴트|누리|GPT|모델)"
_K_POSSESSIVE = r"(?<![가-힣])(?:너의|너에게|너한테|네가|네(?=\s)|너(?=[\s를는가])|당신의|당신에게|당신이|당신(?=\s)|누리의|누리가|누리에게|누리한테)"
_K_RULES = (
    r"(?:지시|지침|명령|규칙|설정|프롬프트|지시사항|지시 사항|명령어|안내 ?사항|제약|제한|룰|가이드라인|가이드|instructions?|"
    r"정책|원칙)"
)

# "https?://" opening a URL that runs on to a Korean word ("…/x로 전송해"): found once per run of
# non-space characters, from its first "http(s)://" (atomic: not retried from each later one, which
# rescanned the run from every "http://" in "http://http://…", quadratic). A URL starting later in
# the run is matched from the first one as well: the same texts match.
_URL_START = r"(?<!\S)(?>\S*?https?://)"

RULES: tuple[Rule, ...] = (
    # ---- instruction override (en)
    Rule(
        "en.ignore_previous",
        "override",
        _en(
            r"\b(?:ignore|disregard|forget|skip|override|bypass|discard|neglect|abandon|drop)\b[\s,:]*(?:\w+[\s,]+){0,3}?"
            r"(?:all|any|every|the|your|my|these|those|previous|prior|preceding|above|earlier|foregoing|initial|original|"
            r"system|old|usual|former|other)\b[\s\w,]{0,40}?\b(?:instructions?|directions?|directives?|prompts?|guidelines?|"
            r"rules|guardrails?|programming|constraints|restrictions|safeguards|commands)\b"
        ),
    ),
    Rule(
        "en.ignore_instructions",
        "override",
        _en(r"\b(?:ignore|disregard|forget)\s+(?:instructions|directions|prompts?)\b"),
    ),
    Rule(
        "en.forget_everything",
        "override",
        _en(r"\bforget\s+(?:everything|all)\s+(?:you|that|i|we)\b|\bnevermind\.?\s+ignore\b"),
    ),
    Rule(
        "en.new_instructions",
        "override",
        _en(
            r"\b(?:new|updated|real|actual|true|revised)\s+(?:instructions?|directives?|system\s+prompt|orders)\s*[:：]|"
            r"\byour\s+(?:new|real|true|only)\s+(?:task|goal|purpose|instructions?|mission|objective)\s+(?:is|are|will\s+be)\b|"
            r"\b(?:this|these)\s+(?:will\s+be|is|are)\s+your\s+(?:new\s+)?(?:core\s+)?(?:programming|instructions|rules)\b"
        ),
    ),
    Rule(
        "en.stop_everything",
        "override",
        _en(r"\bstop\s+everything\b|\b(?:just|only|simply)\s+(?:print|output)\s*[\"'“‘]"),
    ),
    Rule(
        "en.from_now_on",
        "persona",
        _en(
            r"\b(?:from\s+now\s+on|from\s+this\s+(?:point|moment)(?:\s+on)?|for\s+the\s+rest\s+of\s+(?:this|our)\s+conversation|"
            r"starting\s+(?:now|from\s+now))\b[,\s]*(?:\w+\s+){0,3}?you(?:\s+are|\s+will|\s+must|\s+shall|\s+have\s+to|'re|'ll|\s+need\s+to)\b"
        ),
    ),
    Rule(
        "en.you_are_now",
        "persona",
        _en(
            r"\byou\s+are\s+(?:now|no\s+longer)\b|\byou(?:'re|\s+are)\s+(?:going|about)\s+to\s+(?:pretend|act|play|roleplay|simulate|immerse)|"
            r"\bimmerse\s+yourself\s+into\s+the\s+role\b|\b(?:stay\s+in|never\s+break|don'?t\s+break|do\s+not\s+break)\s+(?:the\s+)?character\b|"
            r"\byou\s+are\s+(?:now\s+)?(?:under\s+my\s+control|replaced\s+by)\b"
        ),
    ),
    Rule(
        "en.pretend_unrestricted",
        "persona",
        _en(
            r"\b(?:pretend|act|behave|roleplay|role-play|simulate|answer|respond)\b[^.\n]{0,80}\b(?:no|without|free\s+(?:of|from)|any)\s+"
            r"(?:restrictions?|limits?|limitations|filters?|rules|guidelines|censorship|morals?|ethics|content\s+polic(?:y|ies))\b"
        ),
    ),
    # ---- personas / jailbreak (en)
    Rule(
        "en.dan",
        "persona",
        re.compile(
            r"(?i:\bdo\s+anything\s+now\b|\bDAN\s+mode\b|\[DAN\]|\bDAN\s*:)|\b(?:DAN|STAN|DUDE|BetterDAN|AntiDAN|UnfilteredGPT|"
            r"DevMode|JailBreak|Alphabreak|UCAR|AIM)\b(?=[^\n]{0,200}\b(?:stands?\s+for|mode|anything|rules|restrictions|filters|"
            r"respond|answer|act|persona|character|amoral|unfiltered)\b)"
        ),
    ),
    Rule(
        "en.developer_mode",
        "persona",
        _en(
            r"\bdeveloper\s+mode\s+(?:enabled|activated|output|responses?|on)\b|\b(?:simulate|act\s+(?:as|in)|enter|with|enable)\s+"
            r"(?:the\s+)?developer\s+mode\b[^.\n]{0,60}\b(?:you|your|chatgpt|gpt|ai|assistant|responses?)\b|"
            r"\bdeveloper\s+mode\b[^.\n]{0,40}\b(?:chatgpt|gpt|assistant|model|responses?)\b"
        ),
    ),
    Rule("en.jailbreak", "persona", _en(r"\bjail\s*-?\s*brok(?:e|en)\b|\bjailbreak(?:s|ed|ing)?\b")),
    Rule(
        "en.unfiltered_ai",
        "persona",
        _en(
            r"\b(?:unfiltered|uncensored|unrestricted|amoral|nonmoral|non-moral|unethical)\b[^.\n]{0,50}\b(?:ai|model|responses?|chatbot|"
            r"assistant|answers?|gpt|version|mode|persona|character|writer|bot)\b|\b(?:ai|model|chatbot|gpt|bot)\b[^.\n]{0,60}\b"
            r"(?:unfiltered|uncensored|amoral|no\s+(?:moral|ethical)\s+(?:principles|guidelines|code|restrictions))\b|"
            r"\b(?:broken|break|freed?)\s+(?:free\s+)?(?:of|from)\s+(?:all\s+)?(?:the\s+)?(?:typical\s+)?(?:confines|restrictions|rules\s+(?:set|imposed))\b|"
            r"\b(?:does|do)\s*(?:not|n't)\s+(?:have\s+to\s+)?abide\s+by\s+(?:the\s+|any\s+)?(?:rules|polic(?:y|ies)|guidelines)\b|"
            r"\b(?:does|do)\s*(?:not|n't)\s+have\s+(?:a\s+|any\s+)?(?:content\s+filters?|filters|restrictions|moral|ethical)\b|"
            r"\bdisregards?\s+all\s+(?:ethical|moral|legal)\b|"
            r"\b(?:modify|modifying|reprogram|reprogramming|override|overriding)\s+your\s+(?:programming|code|rules|instructions|guidelines)\b|"
            r"\b(?:respond|answer|reply)\s+to\s+all\s+(?:of\s+)?my\s+(?:questions|prompts|messages)\s+as\b|\badmin(?:istrator)?\s+override\b"
        ),
    ),
    Rule(
        "en.token_game",
        "persona",
        _en(
            r"\b(?:tokens?)\b[^\n]{0,80}\b(?:lose|deducted|run\s+out)\b[^\n]{0,80}\b(?:refuse|reject|decline|die|cease|deleted)\b"
        ),
    ),
    # ---- extraction (en)
    Rule(
        "en.system_prompt",
        "extraction",
        _en(
            r"\b(?:show|reveal|print|display|output|repeat|tell|give|share|list|dump|leak|expose|return|write|copy|paste|translate|encode|"
            r"spell|summari[sz]e|see|view|access|know|what(?:'s|\s+is|\s+are|\s+was|\s+were)|continue|complete|opposite\s+of)\b[^.\n]{0,40}?\b"
            r"(?:your|the|its)\s+(?:\w+\s+){0,2}?(?:system|initial|original|hidden|secret|starting|internal|pre-?|first|core|base)\s*"
            r"(?:prompt|instructions?|message|directives?|configuration|config|rules|guidelines|programming)\b"
        ),
    ),
    Rule(
        "en.your_instructions",
        "extraction",
        _en(
            r"\byour\s+(?:initial|original|starting|first|system|hidden|secret|core|pre-?)\s*(?:instructions?|prompt|configuration|"
            r"programming|directives?|message)\b|\b(?:instructions?|prompt|text|directions)\s+(?:that\s+)?(?:you\s+(?:were|have\s+been)\s+"
            r"(?:given|told|provided)|you\s+(?:got|received)|given\s+to\s+you)\b|\bwhat\s+(?:were|are|have)\s+you\s+(?:been\s+)?"
            r"(?:told|instructed|programmed)\b|\bwhat\s+are\s+you\s+not\s+(?:supposed|allowed|permitted)\s+to\s+(?:tell|say|reveal|share)\b"
        ),
    ),
    Rule(
        "en.repeat_above",
        "extraction",
        _en(
            r"\b(?:repeat|output|print|show|copy|spell\s+check)\s+(?:(?:the|all|this)\s+)*(?:text|words|everything|content|conversation|"
            r"instructions|previous\s+instructions|entire\s+conversation)\s+(?:above|before|so\s+far|back\s+to\s+me|in\s+full|word\s+for\s+word)\b|"
            r"\brepeat\s+(?:everything|all)\s+(?:in|from)\s+(?:the\s+)?(?:system|your|above)\b|"
            r"\b(?:spell\s+check|print|repeat|show)\s+the\s+previous\s+instructions\b|"
            r"\brepeat\s+the\s+(?:above|previous|preceding)\s+(?:text|message|prompt|instructions|conversation)\b"
        ),
    ),
    Rule(
        "en.completion_bait",
        "extraction",
        _en(
            r"[\"'“‘](?:my\s+instructions\s+are|i\s+was\s+instructed\s+to|the\s+system\s+prompt\s+is|you\s+are)\b[^\n]{0,20}[\"'”’]?"
            r"|\bsystem_?prompt\b|\binitiali[sz]ation\s+string\b|\binitial\s+prompt\b"
        ),
    ),
    # ---- exfiltration (en, and any language)
    Rule(
        "any.markdown_image_exfil",
        "exfiltration",
        re.compile(r"!\[[^\]]{0,200}\]\(\s*<?https?://[^\s)]*(?:[?&#=]|\[|\{|%7B|\$)", re.I),
    ),
    Rule(
        "en.send_to_url",
        "exfiltration",
        _en(
            r"\b(?:send|post|transmit|forward|upload|exfiltrate|leak|append|submit|encode)\b[^\n]{0,100}\b(?:to|into|at|on)\s+<?https?://"
        ),
        requires=_en(
            r"\b(?:conversation|chat|history|data|prompt|messages?|passwords?|credentials?|personal|summary|tokens?|keys?|everything|"
            r"documents?|secrets?)\b"
        ),
    ),
    # ---- forged role markers (any language)
    Rule(
        "any.role_marker",
        "marker",
        re.compile(
            r"<\|(?:im_start|im_end|endoftext|system|user|assistant|eot_id|start_header_id)\|>|\[/?INST\]|<</?SYS>>|<end\s+of\s+session>|"
            r"\[system\]\(#|[\[<]\s*(?:system|시스템|sys|관리자|admin|administrator)\s*[\]>]|"
            r"\[\s*(?:관리자|ADMIN|SYSTEM)\s*(?:요청|REQUEST|NOTE|지시|명령)\s*::?",
            re.I,
        ),
    ),
    # ---- instruction override (ko)
    Rule(
        "ko.ignore_previous",
        "override",
        _ko(
            r"(?:(?<![가-힣])(?:이전|앞|위|기존|원래|최초|초기|처음|지금까지|그동안|여태|이때까지|종전|상기|모든|앞서|시스템|이 ?메시지 ?이전|"
            + _K_POSSESSIVE
            + r")(?:의|에서|에|까지|까지의|에서의|에서 ?말한|에 ?있는)? ){1,2}"
            r"(?:(?:받은|주어진|입력된|설정된|들은|말한|내린|했던|한|정해진|적용된) )?(?:모든 )?"
            + _K_RULES
            + r"(?:은|는|을|를|들|이|가|들은|들을|따위는|사항은|사항을|과 ?규칙)? (?:전부|모두|다|전혀|싹|깡그리|그냥|일단)? "
            r"(?:무시(?:"
            + _K_IMPERATIVE[3:-1]
            + r"|(?=\s*[.!,;:]|\s*$))|잊(?:고|어|어라|으세요|으십시오|어 ?줘|어 ?버려|어버리고|어버려|을 ?것)|버려|버리고|"
            r"신경 ?(?:쓰지 ?(?:마|말고|말라)|끄고|꺼)|따르지 ?(?:마|말고|말라|마라|마세요|말 ?것)|지워(?![도서요])|지우고|"
            r"무효(?:야|다|이다|입니다|로 ?한다|화해|화하고)|폐기(?:되었|됐|한다|하고|해)|적용하지 ?(?:마|말|않아도))"
        ),
        korean=True,
    ),
    Rule(
        "ko.priority_override",
        "override",
        _ko(
            _K_RULES
            + r"(?:보다|에 ?우선하여) (?:이|내|사용자|나의|제) ?(?:메시지|명령|지시|말|요청)(?:이|가)? (?:더 )?우선"
        ),
        korean=True,
    ),
    Rule(
        "ko.safety_off",
        "override",
        _ko(
            r"(?:안전|보안|윤리|콘텐츠|개인정보) ?(?:필터|장치|정책|규칙|제약|모드|가이드라인|기능)(?:을|를|이|가|은|는)? (?:잠시|모두|전부|다|일단)? "
            r"(?:끄고|꺼(?![도서])|꺼 ?줘|해제(?:하고|해(?![도서])|하라|되었|됐|된 ?상태)|비활성화(?:하고|해(?![도서])|하라|되었|됐|된)|"
            r"우회(?:하고|해(?![도서])|하라)|무력화|적용하지 ?(?:마|말))"
            r"|(?:안전|윤리|콘텐츠) ?(?:필터|장치)(?:을|를)? (?:잠시 )?(?:비활성화|해제|꺼|끄)(?:해도|셔도) (?:괜찮|돼|된다|좋아)"
            r"|(?:안전|보안|윤리) ?(?:정책|필터|장치|규칙)(?:이|가)? (?:꺼진|해제된|없는|비활성화된)"
        ),
        korean=True,
    ),
    Rule(
        "ko.stop_and_print",
        "override",
        _ko(
            r"(?:모든|하던) ?(?:작업|것|일)(?:을|를)? (?:다 |모두 )?(?:중단|멈추|그만두)(?:하고|고)[^\n]{0,30}(?:출력|말해|써|라고만|이라고만)"
        ),
        korean=True,
    ),
    # ---- personas / jailbreak (ko)
    Rule(
        "ko.you_are_now",
        "persona",
        _ko(
            r"(?<![가-힣])(?:(?:지금|이제|오늘|이 ?순간|지금 ?이 ?순간) ?부터(?:는)? (?:너|넌|네가|니가|당신|그대|AI|인공지능|챗봇|어시스턴트|누리)"
            r"|(?:이제|앞으로) (?:너|넌|네가|니가|당신|그대))(?:는|은|가|이|의)?(?![가-힣])"
            r"|(?<![가-힣])(?:너|넌|당신)(?:은|는)? (?:이제|이제부터|더 ?이상|앞으로)(?![가-힣])"
            r"|(?<![가-힣])(?:너|넌|당신)(?:은|는)? [^\n]{0,30}(?:AI|누리|챗봇|어시스턴트|인공지능)(?:가|이) 아니(?:라|야|다|고)"
        ),
        korean=True,
    ),
    Rule(
        "ko.roleplay",
        "persona",
        _ko(
            r"(?:역할극|롤플레이|롤 ?플레이|상황극|역할 ?놀이)(?:을|를)? (?:하자|해 ?(?:줘|보자)|시작|하고)|(?:역할극|롤플레이|상황극) ?[:：]"
            r"|(?<![가-힣])(?:너|넌|당신)(?:은|는)? [^\n.]{0,40}(?:역할(?:이다|이야|이고|을 ?맡|을 ?해|로)|캐릭터(?:야|다|이다))"
            r"|(?:캐릭터|역할|설정)(?:를|을|에서)? (?:절대 )?(?:깨지|벗어나지) ?(?:마|말)"
            r"|(?:그 |이 )?(?:AI|인공지능|챗봇)(?:로서|처럼|인 ?척) (?:답|대답|행동|말)"
        ),
        korean=True,
    ),
    Rule(
        "ko.jailbreak",
        "persona",
        _ko(
            r"탈옥 ?(?:모드|프롬프트|버전|상태)|탈옥(?:해|시켜)(?=$|[\s.!,]|줘|라|봐)|\[ ?탈옥|탈옥 ?\]|탈옥됨"
            r"|(?:제한|제약|검열|필터|규칙|규제|윤리|통제)(?:이|가|은|는)? (?:전혀 )?(?:없는|없이 ?작동하는|해제된|풀린) (?:[가-힣A-Za-z]{1,6} )?"
            r"(?:AI|인공지능|챗봇|모델|어시스턴트|버전|모드|상태|비서|봇|GPT|세계|환경)"
            r"|(?:제한|제약|검열|필터|규칙) ?(?:없이|에 ?얽매이지 ?않고) (?:답|대답|말|응답|출력|행동)"
            r"|모든 (?:필터|제한|제약|규칙|검열|안전 ?장치)(?:을|를)? (?:다 |전부 |모두 )?(?:끄고|해제(?:하고|해|하라|해라)|풀어|없애)"
            r"|(?:제한|제약|규칙|검열|필터)(?:은|이|는)? (?:전혀 )?없다고 (?:생각|가정|치고)"
            r"|(?:어떤|아무) (?:제약|제한|규칙|검열|필터)도 없는 (?:답|대답|응답|AI|인공지능|버전|모드)"
            r"|(?:무제한|반대|필터 ?해제|필터 ?없는|탈옥|해방|자유) ?모드|개발자 ?모드(?:를|을)? (?:활성화|켜|실행|시뮬레이션|전환|진입)(?:해|하라|하세요|해 ?줘|하고|시켜)(?![도서])"
            r"|개발자 ?모드(?:로|에서는?) (?:답|대답|응답|전환|행동|출력)"
            r"|필터링(?:되지|하지) ?않은 (?:응답|답변|대답|출력)"
            r"|(?:지침|규칙|제한|제약|정책)(?:에서|으로부터|로부터) (?:모두 |완전히 )?벗어난"
            r"|(?:어떤|모든|무슨) (?:질문|요청)(?:이든|도|에도)? (?:절대 )?거절하지 ?(?:마|말|않)"
            r"|거절(?:하는|의) ?(?:문장|말|답변|표현)(?:은|을)? (?:절대 )?(?:쓰지|하지|금지)"
            r"|거절할 ?때마다|토큰[^\n]{0,20}(?:잃|차감)"
        ),
        korean=True,
    ),
    Rule(
        "ko.dan",
        "persona",
        re.compile(r"\bDAN(?=\s*(?:이|으로|처럼|은|는|모드|:|이야|이다))|지금 ?무엇이든 ?할 ?수 ?있"),
    ),
    # ---- extraction (ko)
    Rule(
        "ko.system_prompt",
        "extraction",
        _ko(
            r"(?:(?:시스템|system) ?(?:프롬프트|prompt|메시지|message|지시문|instructions?)|(?:초기|최초|처음|원래|기본|핵심|사전|내부) ?"
            r"(?:프롬프트|prompt|지시문|시스템 ?메시지|instructions?)|(?:숨겨진|숨겨 ?둔|비밀|비공개) ?(?:프롬프트|지시|지침|규칙|명령|설정|지시문))"
            r"(?:를|을|의|에|가|이|은|는|과|와)?[^\n.?!]{0,20}?(?:" + _K_SHOW + r")"
        ),
        korean=True,
    ),
    Rule(
        "ko.your_settings",
        "extraction",
        _ko(
            _K_POSSESSIVE
            + r"(?:의|가|에게|한테)? (?:[가-힣]{1,4} ){0,2}?(?:받은|주어진|입력된|설정된|처음|초기|최초|원래|숨겨진|내부|기본|핵심|사전|준)? "
            r"(?:설정|지침|지시|프롬프트|규칙|명령|지시문|지시사항|가이드라인|instructions?|프롬프트 ?템플릿|설정 ?파일|컨텍스트|시스템 ?메시지|"
            r"원문 ?지시)(?:을|를|은|는|이|가|들|과|와|의)?[^\n.?!]{0,24}?(?:" + _K_SHOW + r"|뭐|무엇|뭔지|어떻게 ?되)"
        ),
        korean=True,
    ),
    Rule(
        "ko.before_conversation",
        "extraction",
        _ko(
            r"대화(?:가|를)? (?:시작(?:되기|하기)? ?)?(?:전|이전)(?:에|부터)?[^\n]{0,12}(?:지시|지침|명령|설정|메시지)[^\n]{0,6}(?:받았|들었|입력)"
            r"|(?:처음|최초)(?:에)? (?:받은|들은|주어진|입력된) (?:지시|명령|명령어|지침|내용|설정|메시지)"
            r"|(?:말하면|알려 ?주면|밝히면|공개하면) ?안 ?(?:된다고|되는|되게) ?(?:설정|지시|정해|명령)"
            r"|[\"'“‘] ?(?:내|나의|제) ?(?:지침|지시|프롬프트|설정)(?:은|는)"
            r"|프롬프트(?:에|의) (?:적힌|있는|포함된|들어 ?있는|담긴)[^\n]{0,20}(?:" + _K_SHOW + ")"
        ),
        korean=True,
    ),
    Rule(
        "ko.repeat_above",
        "extraction",
        _ko(
            r"(?<![가-힣])(?:위|앞|이전|지금까지)(?:에|의)? ?(?:있는|나온|입력된|받은|너에게 ?입력된)? (?:모든 )?(?:텍스트|내용|메시지|글|문장|지시|대화|자료)"
            r"(?:를|을)? [^\n]{0,20}?(?:전부|모두|그대로|한 ?글자도 ?빠짐없이|처음부터|요약 ?없이) [^\n]{0,16}?"
            r"(?:반복|출력|복사|붙여 ?넣|보여|적어|인쇄)(?:해|하라|해 ?줘|하세요|줘|라|어|하십시오)(?=$|[\s.!?])"
        ),
        korean=True,
    ),
    Rule(
        "ko.maintenance_mode",
        "extraction",
        _ko(r"(?:관리자|유지 ?보수|디버그|진단|점검) ?모드[^\n]{0,40}(?:프롬프트|설정|구성|초기화 ?문자열)"),
        korean=True,
    ),
    # ---- exfiltration (ko)
    Rule(
        "ko.send_to_url",
        "exfiltration",
        _ko(
            _URL_START
            + r"[^\s]+ ?(?:로|으로|에|에게)? (?:전송|보내|송신|업로드|전달|POST)(?:해|하라|하세요|해 ?줘|줘|라|하십시오|)(?=$|[\s.!,)])"
            r"|(?:전송|보내|송신|업로드|전달)(?:해|하라|해 ?줘|줘|라)?[^\n]{0,10}[:：] ?https?://"
        ),
        korean=True,
        requires=_ko(r"대화|내용|답변|요약|개인 ?정보|비밀 ?번호|프롬프트|데이터|기록|정보|이름|부서|질문"),
    ),
    Rule(
        "ko.url_parameter",
        "exfiltration",
        _ko(
            r"(?:URL|주소|링크|파라미터|쿼리|이미지)[^\n]{0,20}(?:에|로) ?(?:대화|사용자|개인 ?정보|요약|이름|부서|비밀 ?번호|질문|답변|문서)[^\n]{0,30}"
            r"(?:담아|넣어|붙여|포함|추가)|보이지 ?않는 ?(?:이미지|링크|픽셀)|"
            + _URL_START
            + r"\S+ ?(?:뒤에|에) ?(?:붙|넣)"
        ),
        korean=True,
    ),
)


def match_rules(analysis: Analysis, rules: Iterable[Rule] = RULES) -> list[RuleHit]:
    """Every rule that matches some variant of the analysed text (first variant per rule)."""
    hits: list[RuleHit] = []
    for rule in rules:
        for v in analysis.variants:
            if v.kind.endswith("compact") and not rule.korean:
                continue
            m = rule.pattern.search(v.text)
            if m and (rule.requires is None or rule.requires.search(v.text)):
                hits.append(RuleHit(rule.id, rule.category, v.kind, m.group()[:120]))
                break
    return hits


# --- the learned classifier -------------------------------------------------------------------

MODEL_RESOURCE = "injection_model.json"


@dataclass(frozen=True)
class InjectionModel:
    """Logistic regression over an L2-normalised query embedding: P(attack) = σ(w·x + b)."""

    weights: np.ndarray
    bias: float
    threshold: float
    embedder: str
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def dim(self) -> int:
        return int(self.weights.shape[0])

    def probability(self, vector: np.ndarray) -> float:
        v = np.asarray(vector, dtype=np.float32).reshape(-1)
        if v.shape[0] != self.dim:
            raise ValueError(f"query vector has {v.shape[0]} dimensions, the injection model expects {self.dim}")
        z = float(v @ self.weights) + self.bias
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "nuri.injection-logreg/1",
            "embedder": self.embedder,
            "dim": self.dim,
            "bias": self.bias,
            "threshold": self.threshold,
            "weights": [round(float(w), 6) for w in self.weights],
            "metadata": self.metadata,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InjectionModel:
        weights = np.asarray(data["weights"], dtype=np.float32)
        if weights.ndim != 1 or weights.shape[0] != int(data.get("dim") or weights.shape[0]):
            raise ValueError("injection model: weights do not match dim")
        return cls(
            weights,
            float(data["bias"]),
            float(data["threshold"]),
            str(data["embedder"]),
            dict(data.get("metadata", {})),
        )

    @classmethod
    def load(cls, path: str | Path | None = None) -> InjectionModel:
        """The model at ``path``, or the one bundled with the package."""
        return cls.from_dict(json.loads(model_text(MODEL_RESOURCE, path)))


# --- the detector -----------------------------------------------------------------------------


class InjectionDetector:
    """Rules and classifier over the user's input. Thread-safe (no mutable state after init)."""

    name = "injection"

    def __init__(
        self,
        settings: InjectionSettings | None = None,
        encoder: QueryEncoder | None = None,
        model: InjectionModel | None = None,
    ) -> None:
        self.settings = settings or InjectionSettings()
        self.encoder = encoder
        self.model: InjectionModel | None = None
        if self.settings.classifier:
            self.model = model or InjectionModel.load(self.settings.model_path)
            enc_name, enc_dim = getattr(encoder, "name", None), getattr(encoder, "dim", None)
            if enc_dim is not None and int(enc_dim) != self.model.dim:
                # a vector of another length cannot be scored: rules only, never a 500 per question
                log.error(
                    "injection classifier off: fitted for another embedder dimension (rules only)",
                    extra={"model_embedder": self.model.embedder, "model_dim": self.model.dim, "embedder": enc_name,
                           "dim": enc_dim},
                )  # fmt: skip
                self.model = None
            elif enc_name and enc_name != self.model.embedder:
                log.warning(
                    "injection model was trained on another embedder",
                    extra={"model_embedder": self.model.embedder, "embedder": enc_name},
                )

    @property
    def threshold(self) -> float:
        if self.settings.threshold is not None:
            return self.settings.threshold
        return self.model.threshold if self.model is not None else 1.0

    def analyse(self, text: str) -> Analysis:
        return analyse(text[: self.settings.max_chars])

    def rule_hits(self, text: str, analysis: Analysis | None = None) -> list[RuleHit]:
        return match_rules(analysis or self.analyse(text))

    def probability(
        self, text: str, query_vector: np.ndarray | None = None, analysis: Analysis | None = None
    ) -> float | None:
        """The classifier's P(attack): from ``query_vector`` (retrieval's own) or the encoder;
        the highest over the plain form too when an obfuscation was undone. None: no classifier
        or nothing to embed with."""
        if self.model is None:
            return None
        probs: list[float] = []
        if query_vector is not None:
            probs.append(self.model.probability(query_vector))
        elif self.encoder is not None:
            probs.append(self.model.probability(self.encoder.embed_query(text[: self.settings.max_chars])))
        if self.settings.check_deobfuscated and self.encoder is not None:
            plain = (analysis or self.analyse(text)).deobfuscated
            if plain:
                probs.append(self.model.probability(self.encoder.embed_query(plain)))
        return max(probs) if probs else None

    def check(self, text: str, query_vector: np.ndarray | None = None) -> GuardrailDecision:
        """Allow, or block/warn (``settings.action``) with the reason: the rule that fired or the
        classifier's probability. ``query_vector``: the e5 query embedding of ``text`` if the
        caller has it (then the classifier costs a dot product)."""
        s = self.settings
        if not s.enabled or not text.strip():
            return GuardrailDecision.allow(self.name)
        started = time.perf_counter()
        analysis = self.analyse(text)
        hits = match_rules(analysis) if s.rules else []
        prob: float | None = None
        if hits:
            # the classifier's opinion is only worth an embedding when no rule decided
            prob = self.model.probability(query_vector) if self.model is not None and query_vector is not None else None
            hit = hits[0]
            result = GuardrailDecision(
                name=self.name,
                action=s.action,
                reason=f"질문에 {particle(CATEGORY_KO[hit.category], '이', '가')} 들어 있어 {_HANDLED_KO[s.action]}. "
                + _WHAT_TO_DO_KO,
                reason_en=f"The question contains {CATEGORY_EN[hit.category]}, so it was {_HANDLED_EN[s.action]}. "
                + _WHAT_TO_DO_EN,
                score=prob,
                rule=hit.rule,
            )
        else:
            prob = self.probability(text, query_vector, analysis)
            if prob is not None and prob >= self.threshold:
                result = GuardrailDecision(
                    name=self.name,
                    action=s.action,
                    reason=f"질문이 AI의 안전 규칙을 우회하려는 시도와 비슷해 {_HANDLED_KO[s.action]}. "
                    + _WHAT_TO_DO_KO,
                    reason_en=f"The question resembles an attempt to get around the assistant's safety rules, so it was "
                    f"{_HANDLED_EN[s.action]}. " + _WHAT_TO_DO_EN,
                    score=prob,
                )
            else:
                result = GuardrailDecision.allow(self.name, score=prob)
        if result.action != "allow":
            log.warning(
                "injection check: %s",
                result.action,
                extra={
                    "rule": result.rule,
                    "variant": hits[0].variant if hits else None,
                    "score": result.score,
                    "obfuscations": sorted(analysis.obfuscations),
                    "elapsed_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
        return result
