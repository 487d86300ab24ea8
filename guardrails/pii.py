"""Korean personal data (개인정보) in a question or an answer: found, then masked, pseudonymised,
blocked or only reported (``PiiSettings.action``).

What is found (type names in brackets; offsets are character offsets into the original text):

- 주민등록번호 [``rrn``] and 외국인등록번호 [``arn``]: ``YYMMDD-GNNNNNN`` (hyphen optional, spaces
  around it tolerated) with a real birth date and sex/century digit (1–4, 9/0 for the 1800s;
  5–8 foreign residents) and a right check digit (``guardrails.pii_formats``). Since October
  2020 new numbers carry no check digit (the last six digits are random): a number whose check
  digit fails is **not** personal data unless a cue (주민등록번호, 주민번호, RRN, 외국인등록번호)
  stands within ``PiiSettings.context_window`` characters before it. Without the cue a
  13-digit number of that shape is as often a document or account number; with it the writer
  has said what it is. ``rrn_require_checksum: false`` flags every well-shaped number instead.
  A half-masked number ("900101-1******") still gives the birth date and sex: flagged.
- 전화번호 [``phone``]: mobile 010/011/016–019 and landlines (02, 031–033, 041–044, 051–055,
  061–064, 070), with hyphens, dots, spaces or nothing, +82 forms. Representative numbers of
  businesses (1588-, 1577-, 1544- …) and numbers with an unknown prefix are left alone.
- 여권번호 [``passport``]: new format (2021-) M123A4567 anywhere; the old format M12345678
  (a letter and eight digits, also a model or serial number) only after a cue (여권, passport).
- 운전면허번호 [``driver_license``]: ``NN-NN-NNNNNN-NN`` with region code 11–28, and the old
  "서울 12-345678-90" form; twelve digits without hyphens only after a cue (면허).
- 사업자등록번호 [``brn``]: ``NNN-NN-NNNNN`` with its check digit (ten digits without hyphens:
  after a cue, 사업자).
- 계좌번호 [``bank_account``]: 10–14 digits in 2–4 hyphenated groups (or contiguous) **only** with
  a cue (계좌, 통장, 입금, 송금, 이체, 예금주, a bank's name) nearby: without one, such numbers
  are document, case and budget numbers far more often.
- 카드번호 [``card``]: 13–19 digits in groups of four (or 4-6-5), issuer digit 3–6 or 9, Luhn
  check; contiguous only 15–16 digits (13–19 after a cue, 카드), never an ISBN (978/979).
- 이메일 [``email``]; IP주소 [``ip``]: IPv4 with four octets 0–255 (not after 버전/version/v;
  not 0.x, loopback 127.x or netmasks 255.x), IPv6 validated by :mod:`ipaddress`.
- 주소 [``address``]: a road-name address (…로/…길 + building number) or a lot-number address
  (…동/리/가 + 번지/NNN-N), with the units after it (101동 1202호, 3층). It counts only with a
  district before it (시/군/구), a unit after it, 번지/산, or an address cue (주소, 거주, 자택)
  nearby; a city or district alone ("서울특별시 종로구") is not personal. A 5-digit postal code
  alone (03171) covers thousands of households: not personal, left alone.
- 성명 [``person``]: names in context (``guardrails.names``: cues + surname + Kiwi).

Overlapping findings: the longest wins, then the more specific type (``PII_TYPES`` order).

Look-alikes left alone: dates, amounts, statute references (제15조제1항제3호), document and
case numbers (행정안전부-1234, 2023두12345), version numbers, times, percentages, ISBNs and
numbers of the right shape whose validation fails.

Cost: regular expressions first; Kiwi (1.5–6 s to construct, well under a millisecond per
sentence afterwards) is constructed once per :class:`PiiDetector`, lazily (or by
:meth:`PiiDetector.warm_up` at start-up), and runs only when a regular expression has found a
name candidate (a cue word, a title, a role noun, a self-introduction, a Hangul word next to a
phone number …). Measured on the two datasets, 2 shared CPU cores: p50 0.16 ms, p95 4 ms per
sentence; 60–150 character questions with personal data: p50 1.9 ms, p95 7 ms.
"""

from __future__ import annotations

import bisect
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, Protocol

from connectors.morphology import ANALYSIS_LOCK, shared_kiwi
from guardrails import names as _names
from guardrails import pii_formats as fmt
from guardrails.particles import particle
from guardrails.settings import PII_TYPES, PiiAction, PiiSettings

if TYPE_CHECKING:
    from kiwipiepy import Kiwi

log = logging.getLogger("nuri.guardrails.pii")


class PiiLabel(NamedTuple):
    ko: str
    en: str


PII_LABELS: dict[str, PiiLabel] = {
    "rrn": PiiLabel("주민등록번호", "resident registration number"),
    "arn": PiiLabel("외국인등록번호", "alien registration number"),
    "card": PiiLabel("카드번호", "card number"),
    "brn": PiiLabel("사업자등록번호", "business registration number"),
    "driver_license": PiiLabel("운전면허번호", "driver's licence number"),
    "passport": PiiLabel("여권번호", "passport number"),
    "phone": PiiLabel("전화번호", "phone number"),
    "bank_account": PiiLabel("계좌번호", "bank account number"),
    "email": PiiLabel("이메일", "email address"),
    "ip": PiiLabel("IP주소", "IP address"),
    "address": PiiLabel("주소", "address"),
    "person": PiiLabel("성명", "name"),
}


@dataclass(frozen=True)
class PiiSpan:
    """One finding: ``text[start:end]`` is personal data of kind ``type``.

    ``text`` (the value itself) is left out of ``repr`` and of :meth:`redacted`: never log or
    store it; only the caller's own restore map (:class:`guardrails.pseudonym.Pseudonymiser`)
    keeps it, in memory."""

    start: int
    end: int
    type: str
    text: str = field(repr=False)

    @property
    def label(self) -> PiiLabel:
        return PII_LABELS[self.type]

    def redacted(self) -> dict[str, int | str]:
        """What may go to a log or an audit record: where and what kind, not the value."""
        return {"start": self.start, "end": self.end, "type": self.type}


class SupportsPseudonymise(Protocol):
    def pseudonymise(self, text: str, spans: Sequence[PiiSpan]) -> str: ...


@dataclass(frozen=True)
class PiiOutcome:
    """What :meth:`PiiDetector.apply` made of a text: ``text`` is what goes on (masked,
    pseudonymised, or the original for warn and block); ``blocked``: refuse it."""

    text: str
    spans: tuple[PiiSpan, ...]
    action: PiiAction
    blocked: bool = False

    @property
    def found(self) -> bool:
        return bool(self.spans)

    @property
    def types(self) -> list[str]:
        """Distinct types found, in order of first appearance."""
        return list(dict.fromkeys(s.type for s in self.spans))

    def notice(self, language: Literal["ko", "en"] = "ko") -> str | None:
        """The message for the caller ("주민등록번호, 전화번호를 가렸습니다."), None when nothing was found."""
        return notice(self.types, self.action, language) if self.spans else None

    def audit(self) -> dict[str, Any]:
        """Counts per type and the action; no values, no offsets."""
        counts: dict[str, int] = {}
        for s in self.spans:
            counts[s.type] = counts.get(s.type, 0) + 1
        return {"action": self.action, "blocked": self.blocked, "counts": counts}


# --------------------------------------------------------------------------------------------
# Patterns
# --------------------------------------------------------------------------------------------

# a number neither glued to letters/digits nor continuing a longer dotted/hyphenated number
_NB = r"(?<![0-9A-Za-z])(?<![0-9][-./])"
_NA = r"(?![0-9A-Za-z])(?![-./][0-9])"
_SEP = r"(?:\s*[-.]\s*|\s)?"
_HYPHEN = r"[-‐‑–]"

_RRN_RE = re.compile(rf"{_NB}(?P<front>\d{{6}})(?:\s*{_HYPHEN}\s*|\s?)(?P<back>\d{{7}}|[0-9][*xX●○■]{{6}}){_NA}")
# "\s*(?:등록\s*)?" rather than "\s*(?:등록)?\s*": one way through a run of spaces, not every split of it
_RRN_CUE_RE = re.compile(r"주민\s*(?:등록\s*)?번호|주민등록|\bRRN\b|resident\s+registration", re.I)
_ARN_CUE_RE = re.compile(r"외국인\s*(?:등록\s*)?번호|외국인등록|거소\s*신고\s*번호|alien\s+registration", re.I)

_PREFIXES = r"01[016789]|02|0[3-6][1-5]|070"
_PHONE_RE = re.compile(
    rf"{_NB}(?:(?:\+|00)82[\s.-]?(?:\(0\)\s?)?(?P<intl>1[016789]|2|[3-6][1-5]|70)|\((?P<paren>{_PREFIXES})\)|(?P<local>{_PREFIXES}))"
    rf"(?:\s*[-.)]\s*|\s)?(?P<ex>\d{{3,4}}){_SEP}(?P<line>\d{{4}}){_NA}"
)

_PASSPORT_RE = re.compile(r"(?<![0-9A-Za-z])(?:(?P<new>[MSRODG]\d{3}[A-Z]\d{4})|(?P<old>[MSRODG]\d{8}))(?![0-9A-Za-z])")
_PASSPORT_CUE_RE = re.compile(r"여권|passport|\bPP\b", re.I)

_LICENCE_NAMES = "|".join(sorted(fmt.LICENCE_REGION_NAMES, key=len, reverse=True))
_LICENCE_RE = re.compile(
    rf"(?:(?<![가-힣])(?P<name>{_LICENCE_NAMES})\s?(?P<y1>\d{{2}}){_HYPHEN}(?P<s1>\d{{6}}){_HYPHEN}(?P<c1>\d{{2}}){_NA}"
    rf"|{_NB}(?P<region>\d{{2}})(?P<sep>{_HYPHEN}|\s)(?P<y2>\d{{2}})(?P=sep)(?P<s2>\d{{6}})(?P=sep)(?P<c2>\d{{2}}){_NA}"
    rf"|{_NB}(?P<bare>\d{{12}}){_NA})"
)
_LICENCE_CUE_RE = re.compile(r"면허|license|licence", re.I)

_BRN_RE = re.compile(rf"{_NB}(?:(?P<hy>\d{{3}}{_HYPHEN}\d{{2}}{_HYPHEN}\d{{5}})|(?P<bare>\d{{10}})){_NA}")
_BRN_CUE_RE = re.compile(r"사업자|법인\s*번호|business\s+registration", re.I)

_ACCOUNT_RE = re.compile(rf"{_NB}(?:\d{{2,6}}(?:{_HYPHEN}\d{{1,7}}){{1,3}}|\d{{10,14}}){_NA}")
_ACCOUNT_CUE_RE = re.compile(
    r"계좌|통장|입금|송금|이체|예금주|출금|환불\s*받을|은행|뱅크|농협|신협|수협|새마을금고|우체국|증권|"
    r"\b(?:KB|NH|IBK|SC|KEB)\b|신한|카카오페이",
    re.I,
)
_YEAR_FIRST_RE = re.compile(rf"(?:19|20)\d\d{_HYPHEN}\d+$")

_CARD_RE = re.compile(
    rf"{_NB}(?:(?P<grouped>\d{{4}}(?P<sep>[-\s])\d{{4}}(?P=sep)\d{{4}}(?P=sep)\d{{1,7}}|\d{{4}}(?P<sep2>[-\s])\d{{6}}(?P=sep2)\d{{4,5}})"
    rf"|(?P<bare>\d{{13,19}})){_NA}"
)
_CARD_CUE_RE = re.compile(r"카드|card|신용|체크", re.I)

_EMAIL_RE = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}\.)+[A-Za-z]{2,24}(?![A-Za-z0-9-])"
)
_IPV4_RE = re.compile(r"(?<![0-9A-Za-z.])\d{1,3}(?:\.\d{1,3}){3}(?![0-9]|\.[0-9])")
_IPV6_RE = re.compile(r"(?<![0-9A-Za-z:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![0-9A-Za-z:])")
_VERSION_CUE_RE = re.compile(r"(?:버전|version|ver\.?|릴리스|release|v)\s*$", re.I)

_PROVINCE = (
    r"(?:서울특별시|서울시|서울|부산광역시|부산시|부산|대구광역시|대구시|대구|인천광역시|인천시|인천|광주광역시|광주시|광주|"
    r"대전광역시|대전시|대전|울산광역시|울산시|울산|세종특별자치시|세종시|세종|경기도|경기|강원특별자치도|강원도|강원|"
    r"충청북도|충북|충청남도|충남|전북특별자치도|전라북도|전북|전라남도|전남|경상북도|경북|경상남도|경남|제주특별자치도|제주도|제주)"
)
_DISTRICTS = r"(?:[가-힣]{1,6}(?:시|군|구)\s+){0,2}(?:[가-힣]{1,5}(?:읍|면)\s+)?"
_ROAD = r"[가-힣][가-힣0-9]{0,11}(?:대로|로|길)(?:\s?\d{1,4}(?:번?길|가길))?"
_LOT_AREA = r"[가-힣][가-힣0-9]{0,7}(?:동|리|가)"
_UNIT_CORE = r"(?:\d{1,4}\s?동(?:\s?\d{1,5}\s?호)?|(?:지하\s?)?\d{1,3}\s?층(?:\s?\d{1,5}\s?호)?|\d{1,5}\s?호)"
_UNIT = (
    r"(?:\s?\(\s?[가-힣0-9]{1,10}(?:\s?,\s?[가-힣0-9 ]{1,20})?\s?\))?"  # (세종로, 정부서울청사)
    rf"(?P<unit>\s?,?\s?(?:[가-힣A-Za-z0-9]{{1,15}}\s)?{_UNIT_CORE}(?![0-9]))?"
)
_NUMBER_END = r"(?![0-9])(?![-.][0-9])(?!\s?(?:일|월|년|개|명|원|건|회|번|세|시간|분|초|조|항|%|퍼센트|배|km|m\b|대|차|위|장|권|쪽|면))"
_ROAD_ADDR_RE = re.compile(
    rf"(?<![가-힣0-9])(?P<prefix>(?:{_PROVINCE}\s+)?{_DISTRICTS})(?<![0-9])(?P<road>{_ROAD})\s?(?P<bldg>\d{{1,5}}(?:{_HYPHEN}\d{{1,4}})?){_NUMBER_END}(?:{_UNIT})"
)
_LOT_ADDR_RE = re.compile(
    rf"(?<![가-힣0-9])(?P<prefix>(?:{_PROVINCE}\s+)?{_DISTRICTS})(?<![0-9])(?P<area>{_LOT_AREA})\s(?P<lot>(?P<san>산\s?)?\d{{1,5}}(?P<sub>{_HYPHEN}\d{{1,5}})?(?P<bunji>\s?번지)?){_NUMBER_END}(?:{_UNIT})"
)
_APT_UNIT_RE = re.compile(
    r"(?<![0-9])(?:[가-힣A-Za-z0-9]{2,15}(?:아파트|빌라|맨션|오피스텔|타운|빌|하이츠|캐슬|자이|푸르지오|래미안)\s?)?"
    r"\d{1,4}\s?동\s?\d{1,5}\s?호(?![0-9])"
)
_ADDRESS_CUE_RE = re.compile(r"주소|거주|자택|사는\s*곳|살고|전입|주거지|소재지|배송지|이사|집은|우편물")
_DISTRICT_WORD_RE = re.compile(rf"^(?:{_PROVINCE}|[가-힣]{{1,6}}(?:시|군|구|읍|면))$")


# whether a text has a digit at all (every number pattern needs one; \d, as the patterns read digits)
_ANY_DIGIT = re.compile(r"\d")

# values that belong to one person: a word right next to one is checked as a name
_PERSONAL_VALUES = frozenset({"rrn", "arn", "phone", "email", "bank_account", "card", "passport", "driver_license"})


class _Candidate(NamedTuple):
    start: int
    end: int
    type: str


# --------------------------------------------------------------------------------------------
# Detector
# --------------------------------------------------------------------------------------------


class PiiDetector:
    """Finds personal data in a text (see the module docstring). Thread-safe; one per process is
    enough (Kiwi is constructed once, on first need)."""

    def __init__(self, settings: PiiSettings | None = None) -> None:
        self.settings = settings or PiiSettings()
        self._types = frozenset(self.settings.types)
        self._names = _names.NameFinder(self.settings.name_context_window)
        self._kiwi: Kiwi | None = None
        self._kiwi_lock = ANALYSIS_LOCK  # the process's one analyser (connectors.morphology)

    # -- public --------------------------------------------------------------------------------

    def find(self, text: str) -> list[PiiSpan]:
        """Personal data in ``text``: non-overlapping spans sorted by start."""
        if not self.settings.enabled or not text:
            return []
        found: list[_Candidate] = []
        digits = _ANY_DIGIT.search(text) is not None
        if digits:
            found += self._numbers(text)
        if "@" in text and "email" in self._types:
            found += [_Candidate(m.start(), m.end(), "email") for m in _EMAIL_RE.finditer(text)]
        if ":" in text and "ip" in self._types:
            found += self._ipv6(text)
        if self._wants("address") and digits:
            found += self._addresses(text)
        if self._wants("person") and self.settings.names:
            found += self._persons(text, [(c.start, c.end) for c in found if c.type in _PERSONAL_VALUES])
        spans = [PiiSpan(c.start, c.end, c.type, text[c.start : c.end]) for c in _resolve(found)]
        if spans:
            log.debug("personal data found: %s", ", ".join(s.type for s in spans))
        return spans

    def apply(self, text: str, pseudonymiser: SupportsPseudonymise | None = None) -> PiiOutcome:
        """Find and act (``settings.action``). ``pseudonymise`` needs the request's or the
        conversation's :class:`guardrails.pseudonym.Pseudonymiser`."""
        action = self.settings.action
        spans = tuple(self.find(text))
        if not spans:
            return PiiOutcome(text, (), action)
        if action == "mask":
            return PiiOutcome(mask(text, spans), spans, action)
        if action == "pseudonymise":
            if pseudonymiser is None:
                raise ValueError("action 'pseudonymise' needs a Pseudonymiser (one per conversation)")
            return PiiOutcome(pseudonymiser.pseudonymise(text, spans), spans, action)
        return PiiOutcome(text, spans, action, blocked=action == "block")

    def warm_up(self) -> None:
        """Construct Kiwi now (~1.5 s) rather than at the first question with a name cue."""
        if self._wants("person") and self.settings.names:
            self._tokens("담당자 홍길동 주무관")

    # -- numbers ---------------------------------------------------------------------------------

    def _wants(self, kind: str) -> bool:
        return kind in self._types

    def _cue_before(self, cue: re.Pattern[str], text: str, start: int, window: int | None = None) -> bool:
        w = self.settings.context_window if window is None else window
        return cue.search(text, max(0, start - w), start) is not None

    def _numbers(self, text: str) -> list[_Candidate]:
        out: list[_Candidate] = []
        w = self._wants
        if w("rrn") or w("arn"):
            out += self._rrns(text)
        if w("phone"):
            for m in _PHONE_RE.finditer(text):
                prefix = m.group("local") or m.group("paren") or "0" + (m.group("intl") or "")
                if fmt.phone_ok((prefix, m.group("ex"), m.group("line"))):
                    out.append(_Candidate(m.start(), m.end(), "phone"))
        if w("passport"):
            for m in _PASSPORT_RE.finditer(text):
                if m.group("new") or self._cue_before(_PASSPORT_CUE_RE, text, m.start()):
                    out.append(_Candidate(m.start(), m.end(), "passport"))
        if w("driver_license"):
            out += self._licences(text)
        if w("brn"):
            for m in _BRN_RE.finditer(text):
                if fmt.brn_valid(fmt.digits_of(m.group())) and (
                    m.group("hy") or self._cue_before(_BRN_CUE_RE, text, m.start())
                ):
                    out.append(_Candidate(m.start(), m.end(), "brn"))
        if w("card"):
            out += self._cards(text)
        if w("bank_account"):
            out += self._accounts(text)
        if w("ip"):
            for m in _IPV4_RE.finditer(text):
                if fmt.ipv4_personal(m.group()) and not _VERSION_CUE_RE.search(text, max(0, m.start() - 10), m.start()):
                    out.append(_Candidate(m.start(), m.end(), "ip"))
        return out

    def _rrns(self, text: str) -> list[_Candidate]:
        out: list[_Candidate] = []
        for m in _RRN_RE.finditer(text):
            front, back = m.group("front"), m.group("back")
            sex = back[0]
            kind = "arn" if sex in fmt.ARN_SEX_DIGITS else "rrn"
            if not self._wants(kind) or not fmt.birth_date_ok(front, sex):
                continue
            if kind == "rrn" and sex not in fmt.RRN_SEX_DIGITS:
                continue
            if not back.isdigit():  # half-masked: the birth date and sex are still there
                out.append(_Candidate(m.start(), m.end(), kind))
                continue
            digits = front + back
            valid = fmt.arn_valid(digits) if kind == "arn" else fmt.rrn_valid(digits)
            cue = _ARN_CUE_RE if kind == "arn" else _RRN_CUE_RE
            if valid or not self.settings.rrn_require_checksum or self._cue_before(cue, text, m.start()):
                out.append(_Candidate(m.start(), m.end(), kind))
        return out

    def _licences(self, text: str) -> list[_Candidate]:
        out: list[_Candidate] = []
        for m in _LICENCE_RE.finditer(text):
            if m.group("name"):
                ok = True
            elif m.group("region"):
                ok = fmt.licence_region_ok(m.group("region"))
            else:
                bare = m.group("bare")
                ok = fmt.licence_region_ok(bare[:2]) and self._cue_before(_LICENCE_CUE_RE, text, m.start())
            if ok:
                out.append(_Candidate(m.start(), m.end(), "driver_license"))
        return out

    def _cards(self, text: str) -> list[_Candidate]:
        out: list[_Candidate] = []
        for m in _CARD_RE.finditer(text):
            digits = fmt.digits_of(m.group())
            if not 13 <= len(digits) <= 19 or digits[0] not in "34569" or not fmt.luhn_valid(digits):
                continue
            if m.group("bare"):
                cue = self._cue_before(_CARD_CUE_RE, text, m.start())
                if not cue and (len(digits) not in (15, 16) or digits[:3] in ("978", "979")):
                    continue
            out.append(_Candidate(m.start(), m.end(), "card"))
        return out

    def _accounts(self, text: str) -> list[_Candidate]:
        out: list[_Candidate] = []
        w = self.settings.context_window
        for m in _ACCOUNT_RE.finditer(text):
            digits = fmt.digits_of(m.group())
            if not 10 <= len(digits) <= 14 or _YEAR_FIRST_RE.match(m.group()):
                continue
            if _ACCOUNT_CUE_RE.search(text, max(0, m.start() - w), min(len(text), m.end() + w // 2)):
                out.append(_Candidate(m.start(), m.end(), "bank_account"))
        return out

    def _ipv6(self, text: str) -> list[_Candidate]:
        return [_Candidate(m.start(), m.end(), "ip") for m in _IPV6_RE.finditer(text) if fmt.ipv6_ok(m.group())]

    # -- addresses -------------------------------------------------------------------------------

    def _addresses(self, text: str) -> list[_Candidate]:
        out: list[_Candidate] = []
        for regex in (_ROAD_ADDR_RE, _LOT_ADDR_RE):
            for m in regex.finditer(text):
                start = _trim_prefix(text, m.start("prefix"), m.end("prefix"))
                has_district = start < m.end("prefix")
                detailed = bool(m.group("unit"))
                if regex is _LOT_ADDR_RE:
                    detailed = detailed or bool(m.group("san") or m.group("sub") or m.group("bunji"))
                cue = _ADDRESS_CUE_RE.search(text, max(0, start - self.settings.context_window), start) is not None
                if has_district or detailed or cue:
                    out.append(_Candidate(start, m.end(), "address"))
        out += [_Candidate(m.start(), m.end(), "address") for m in _APT_UNIT_RE.finditer(text)]
        return out

    # -- names -----------------------------------------------------------------------------------

    def _kiwi_instance(self) -> Kiwi:
        if self._kiwi is None:
            self._kiwi = shared_kiwi()
        return self._kiwi

    def _tokens(self, text: str) -> list[Any]:
        """Kiwi's best analysis of ``text`` (Kiwi constructed on first use; one analysis at a
        time per detector, well under a millisecond each)."""
        kiwi = self._kiwi_instance()
        with self._kiwi_lock:
            return list(kiwi.tokenize(text))

    def _analyses(self, text: str) -> list[list[Any]]:
        """Kiwi's three best analyses of ``text`` (for a candidate its best one rejects)."""
        kiwi = self._kiwi_instance()
        with self._kiwi_lock:
            return [list(tokens) for tokens, _score in kiwi.analyze(text, top_n=3)]

    def _persons(self, text: str, values: list[tuple[int, int]]) -> list[_Candidate]:
        candidates = list(self._names.near_values(text, values)) if values else []
        if self._names.has_cue(text):
            candidates += self._names.candidates(text)
        candidates += self._names.free(text)
        if not candidates:
            return []
        tokens = self._tokens(text)
        near = _TokenWindow(tokens)
        alternatives: list[list[Any]] | None = None

        def analyses() -> list[list[Any]]:
            nonlocal alternatives
            if alternatives is None:
                alternatives = self._analyses(text)
            return alternatives

        out: list[_Candidate] = []
        seen: set[tuple[int, int]] = set()
        queue = sorted(candidates, key=lambda c: (c.start, -c.end))
        while queue:
            cand = queue.pop(0)
            if (cand.start, cand.end) in seen:
                continue
            seen.add((cand.start, cand.end))
            if not _names.accept(cand, text, near(cand.start, cand.end), analyses):
                continue
            out.append(_Candidate(cand.start, cand.end, "person"))
            nxt = self._names.continuation(text, cand.end)
            if nxt is not None:
                queue.insert(0, nxt)
        return out


class _TokenWindow:
    """The tokens :func:`guardrails.names.accept` can look at for a candidate: those starting at
    most one token length before it, up to its end (a slice of Kiwi's analysis, in its order).
    Handing it the whole analysis made each candidate cost a pass over every token (quadratic on
    a text with thousands of name candidates); the verdicts are the same."""

    def __init__(self, tokens: Sequence[Any]) -> None:
        self._tokens = tokens
        self._starts = [t.start for t in tokens]
        self._sorted = all(a <= b for a, b in zip(self._starts, self._starts[1:], strict=False))
        self._longest = max((t.len for t in tokens), default=0)

    def __call__(self, start: int, end: int) -> Sequence[Any]:
        if not self._sorted:
            return self._tokens
        lo = bisect.bisect_left(self._starts, start - self._longest)
        hi = bisect.bisect_right(self._starts, end)
        return self._tokens[lo:hi]


def _trim_prefix(text: str, start: int, end: int) -> int:
    """Start of the district part of an address match: the regex's ``[가-힣]+(시|군|구)`` also
    takes ordinary words ending in those syllables ("다시", "연구"); the address starts at the
    first real one. ``end`` (no district) when there is none."""
    for m in re.finditer(r"\S+", text[start:end]):
        word = m.group()
        if _DISTRICT_WORD_RE.match(word) and word not in _NOT_DISTRICTS:
            return start + m.start()
    return end


_NOT_DISTRICTS = frozenset(
    {
        "다시",
        "또는",
        "가구",
        "연구",
        "요구",
        "추구",
        "도구",
        "기구",
        "입구",
        "출구",
        "친구",
        "지구",
        "항구",
        "부시",
        "무시",
        "표시",
        "지시",
        "게시",
        "당시",
        "즉시",
        "동시",
        "수시",
        "임시",
        "도시",
        "정시",
        "제시",
        "감시",
        "개시",
        "명시",
        "고시",
        "공시",
        "일시",
    }
)


def _resolve(candidates: Iterable[_Candidate]) -> list[_Candidate]:
    """Non-overlapping findings: longest first, then the more specific type; sorted by start."""
    rank = {t: i for i, t in enumerate(PII_TYPES)}
    chosen: list[_Candidate] = []
    # the chosen spans by start (they never overlap, so their ends are in the same order): one
    # binary search per candidate, not a pass over every span chosen so far (quadratic on a text
    # with thousands of findings)
    starts: list[int] = []
    ends: list[int] = []
    for c in sorted(set(candidates), key=lambda c: (-(c.end - c.start), rank[c.type], c.start)):
        i = bisect.bisect_left(starts, c.end)  # the chosen spans starting before c ends: [0, i)
        if i and ends[i - 1] > c.start:
            continue
        chosen.append(c)
        j = bisect.bisect_left(starts, c.start)
        starts.insert(j, c.start)
        ends.insert(j, c.end)
    return sorted(chosen)


# --------------------------------------------------------------------------------------------
# Masking and messages
# --------------------------------------------------------------------------------------------


def placeholder(kind: str) -> str:
    """The mask of one type: ``[주민등록번호]``."""
    return f"[{PII_LABELS[kind].ko}]"


def mask(text: str, spans: Iterable[PiiSpan]) -> str:
    """``text`` with every span replaced by its typed placeholder (``[전화번호]``); ``spans``
    must not overlap (as :meth:`PiiDetector.find` gives them)."""
    parts: list[str] = []
    pos = 0
    for s in sorted(spans, key=lambda s: s.start):
        if s.start < pos:
            raise ValueError("overlapping spans")
        parts += [text[pos : s.start], placeholder(s.type)]
        pos = s.end
    parts.append(text[pos:])
    return "".join(parts)


def _object_particle(word: str) -> str:
    """을 after a final consonant (받침), 를 otherwise."""
    return particle(word, "을", "를")[len(word) :]


def notice(types: Sequence[str], action: PiiAction = "mask", language: Literal["ko", "en"] = "ko") -> str:
    """The user-facing message for personal data of ``types`` handled by ``action``:
    "주민등록번호, 전화번호를 가렸습니다." / "Masked: resident registration number, phone number."."""
    kinds = list(dict.fromkeys(types))
    if language == "en":
        names = ", ".join(PII_LABELS[t].en for t in kinds)
        return {
            "mask": f"Personal data masked: {names}.",
            "pseudonymise": f"Personal data replaced by placeholders before processing: {names}.",
            "block": f"The question contains personal data ({names}) and was not processed. Remove it and ask again.",
            "warn": f"The question contains personal data: {names}.",
        }[action]
    names = ", ".join(PII_LABELS[t].ko for t in kinds)
    obj = _object_particle(names)
    return {
        "mask": f"{names}{obj} 가렸습니다.",
        "pseudonymise": f"{names}{obj} 가명으로 바꿔 처리했습니다.",
        "block": f"질문에 개인정보({names})가 있어 처리하지 않았습니다. 지우고 다시 질문해 주세요.",
        "warn": f"질문에 개인정보({names})가 포함되어 있습니다.",
    }[action]
