"""Person names in context: "신청인 성명: 한상철", "담당자 김민준 주무관", "민원인 이영희 씨가",
"홍길동 님".

A name is never looked up in a list of names. A candidate is a Hangul word of a common Korean
surname (``SURNAMES``, ``COMPOUND_SURNAMES``) and a one- or two-syllable given name, found by a
cue, with the particles after it left out ("이영희가", "한상철입니다", "김철씨가" -> 김철):

- strong cues: a cue word before it (성명, 이름, 신청인, 민원인, 담당자, 작성자, 대리인, family
  words …, within ``PiiSettings.name_context_window`` characters: ``CUES_BEFORE``), a title or
  an honorific after it (씨, 님, 주무관, 사무관, 과장, 팀장, 교수, 변호사 …: ``CUES_AFTER``), or
  a list after such a name ("신청인 한상철, 이영희");
- weak cues: any role noun ending in 자/인 before it ("결재권자", "임차인"), a unit of an
  organisation ("총무과 강민호"), a self-introduction ("…의 장채린입니다"), or a phone number,
  RRN, account … right next to it ("김선결(850315-…)", "110-123-456789 (심나래)").

Kiwi's analysis of the sentence then decides (:func:`accept`): a candidate Kiwi reads as a
proper noun (``NNP``) or an unknown word is a name; one it reads as a known word, alone or
with a particle, a suffix or a verb ending ("본인이", "주소지", "서명란", "원하지", "정보화") is
not. A candidate Kiwi splits into plain syllables ("한"+"상"+"철") is a name after a strong cue;
after a weak cue it must be three syllables and free of particles, suffixes and prefixes. When
Kiwi's best analysis reads a known word but one of its next-best analyses reads the whole
candidate as a proper noun ("조세"+"나" -> "조세나"), it is a name. Places and organisations
that Kiwi also tags ``NNP`` ("서울시", "강남구청", "한국") are refused by their ending and by a
short list of frequent place names.

Without a cue Nuri does not flag a proper noun as a name: measured, Kiwi's ``NNP`` alone finds
60% of the names of evals/data/guardrails/pii_ko.jsonl and flags 0.5% of statute sentences
(허베이, 지출관, 국유림 …); "이순신 장군" is no user's personal data either. Limits: given names
that are ordinary words ("임시", "한시나" read as 한시 + 나), one-syllable given names before
a particle ("오승은": 오승 + 은 or 오승은?), and cue words outside the lists.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol


def _words(text: str) -> list[str]:
    return text.split()


# The ~100 most frequent single-syllable surnames (통계청 2015 인구주택총조사), less those that are
# much more often a word's first syllable than a surname in administrative text (e.g. 사, 부, 어).
SURNAMES = frozenset(
    "김이박최정강조윤장임림한오서신권황안송전홍유류고문양손배백허남심노하곽성차주우구민나라진지엄채원천방공현함변염여추"
    "도소석선설마길연위표명기반왕금옥육인맹제모탁국은편용예경봉태목형피감빈동온호범좌팽승옹"
)
COMPOUND_SURNAMES = frozenset({"남궁", "황보", "제갈", "사공", "선우", "서문", "독고", "동방"})

# Words before a name: the role or the field of a form. Longest first (the regex alternation
# takes the first that matches).
CUES_BEFORE = (
    "주민등록상 성명",
    "위 사람",
    "상기인",
    "상기 사람",
    "당사자",
    "담당",
    "문의",
    "신청인 성명",
    "대표자 성명",
    "성명",
    "성함",
    "이름",
    "본명",
    "신청인",
    "민원인",
    "청구인",
    "피청구인",
    "신고인",
    "고발인",
    "고소인",
    "피고소인",
    "진정인",
    "피진정인",
    "담당자",
    "담당 직원",
    "담당 주무관",
    "담당 공무원",
    "작성자",
    "대리인",
    "위임인",
    "수임인",
    "보호자",
    "법정대리인",
    "예금주",
    "수령인",
    "수취인",
    "받는 사람",
    "보내는 사람",
    "대표자",
    "대표이사",
    "세대주",
    "세대원",
    "배우자",
    "피상속인",
    "상속인",
    "사망자",
    "피해자",
    "가해자",
    "참고인",
    "증인",
    "원고",
    "피고",
    "환자",
    "임차인",
    "임대인",
    "계약자",
    "가입자",
    "수급자",
    "수급권자",
    "신청자",
    "제출자",
    "문의자",
    "방문자",
    "접수자",
    "처리자",
    "결재자",
    "기안자",
    "검토자",
    "승인자",
    "연락 담당",
    "감독관",
    "조사관",
    "주무관",
    "사무관",
    "학생",
    "아동",
    "자녀",
    "아들",
    "딸",
    "남편",
    "아내",
    "어머니",
    "아버지",
    "부친",
    "모친",
    "동생",
    "남동생",
    "여동생",
    "형",
    "오빠",
    "누나",
    "언니",
    "할머니",
    "할아버지",
    "손자",
    "손녀",
    "며느리",
    "사위",
    "조카",
    "삼촌",
    "이모",
    "고모",
    "시어머니",
    "시아버지",
    "장인",
    "장모",
    "대표",
    "공동대표",
    "공동 대표",
    "대표자명",
    "입금자명",
    "입금자",
    "예금주명",
    "명의자",
    "명의인",
    "저는",
    "제 이름은",
    "본인은",
)
# Words after a name: honorifics and civil-service / professional titles.
CUES_AFTER = (
    "씨",
    "님",
    "군",
    "양",
    "주무관",
    "사무관",
    "서기관",
    "부이사관",
    "이사관",
    "주사보",
    "주사",
    "서기보",
    "서기",
    "연구관",
    "연구사",
    "조사관",
    "감독관",
    "심사관",
    "감사관",
    "상담관",
    "담당관",
    "전문관",
    "조정관",
    "협력관",
    "비서관",
    "행정관",
    "수사관",
    "검사",
    "판사",
    "경위",
    "경사",
    "경장",
    "순경",
    "경감",
    "경정",
    "소방관",
    "간사",
    "사서",
    "지도관",
    "지도사",
    "과장",
    "팀장",
    "국장",
    "실장",
    "차장",
    "부장",
    "계장",
    "반장",
    "소장",
    "센터장",
    "본부장",
    "청장",
    "원장",
    "단장",
    "장관",
    "차관",
    "시장",
    "군수",
    "구청장",
    "동장",
    "이장",
    "의원",
    "위원",
    "위원장",
    "대표",
    "대리",
    "사원",
    "선생님",
    "선생",
    "교수",
    "교사",
    "박사",
    "변호사",
    "법무사",
    "세무사",
    "노무사",
    "행정사",
    "회계사",
    "감정평가사",
    "기자",
    "간호사",
    "의사",
    "원장님",
    "어르신",
    "할머니",
    "할아버지",
)
# Cues after a name that are also ordinary nouns or particles: only with a space before them
# ("김민수 군", not "해군"), and only after a three-syllable candidate.
_WEAK_AFTER = frozenset({"군", "양", "시장", "이장", "동장", "대표", "의사", "위원", "대리", "사원", "교사"})

# Endings after a name inside its word: particles, the copula, honorifics before particles.
_ENDINGS = frozenset(
    [
        "",
        *_words(
            "입니다 이었습니다 였습니다 이라고 라고 이라는 라는 이라 라 이며 며 이고 고 이에요 이예요 예요 이야 야 "
            "에게서 에게 께서는 께서 께 한테 으로 로 이는 이가 이를 이의 이도 이랑 랑 이와 이나 이여 여 "
            "은 는 이 가 을 를 의 과 와 도 만 에 님께 님께서 님이 님의 님은 씨가 씨는 씨의 씨에게"
        ),
    ]
)
_HONORIFICS = ("씨", "님", "군", "양")
_TITLE_WORDS = frozenset(CUES_AFTER)
_HISTORICAL_AFTER = re.compile(r"\s?(?:장군|대왕|열사|의사|제독|대사|선생의\s?(?:동상|생가|묘))")
_TITLES_LONGEST_FIRST = sorted({*CUES_AFTER, *_HONORIFICS}, key=len, reverse=True)
_TITLE_FIRST = frozenset(t[0] for t in _TITLES_LONGEST_FIRST)

# Proper nouns Kiwi tags NNP that start with a surname syllable: places and organisations.
_PLACE_WORDS = frozenset(
    _words(
        "한국 대한민국 서울 부산 대구 인천 광주 대전 울산 세종 경기 강원 충북 충남 전북 전남 경북 경남 제주 "
        "김포 김해 김천 이천 안산 안양 안동 오산 하남 남양주 고양 구리 양주 양산 정읍 진주 진천 공주 원주 "
        "송파 서초 강남 강서 강동 강북 노원 도봉 마포 성북 성동 용산 은평 종로 동작 동대문 금천 구로 양천 "
        "중국 조선 고려 신라 백제 한강 남산 천안 포항 창원 성남 수원 용인 화성 평택 시흥 군포 의왕 과천 "
        "정부 국회 법원 경찰 검찰 국세청 한전 코레일 기획재정부 행정안전부 국민 국민은행 신한 우리 하나 "
        "농협 기업 카카오 토스 삼성 현대 엘지 롯데 한화 신세계 신협 수협 우체국 새마을 제일 산업 씨티 케이"
    )
)
_ORG_SUFFIX_RE = re.compile(
    r"(?:특별시|광역시|자치시|자치도|시|군|구|도|읍|면|동|리|청|처|부|원|국|과|팀|실|소|단|회|위|관|대|교|법|령"
    r"|은행|공사|공단|센터|재단|협회|학교|병원)$"
)
_NAME_LAST_SYLLABLES = frozenset("원국동구도소대교관실단회과리")  # also frequent last syllables of given names

#: Syllables frequent in Korean given names (both syllables of a cue-less candidate must be here).
GIVEN_SYLLABLES = frozenset(
    "가경계고광교구국군권규균근금기길나남낙내녀노누늘다단달담대덕도돈동두득라람란랑래량려련렬령례로록룡루류륜률리린림"
    "마만명모목무문미민바박반배백범법보복봉부분빈사산삼상새서석선설섭성세소솔송수숙순술숭슬승시식신실심아안애야양언엽"
    "여연열영예오옥온완왕요용우욱운웅원월위유육윤율은을음의이익인일임자작장재전점정제조종주준중지진찬창채천철청초춘충"
    "치태택하학한해향허헌혁현형혜호홍화환황효후훈휘희힘"
)
_HANGUL = "가-힣"
# a unit of an organisation before a name in a contact line: "총무과 강민호 (내선 1234)"
_DEPARTMENT = r"(?<![가-힣])[가-힣]{1,10}(?:과|팀|실|국|센터|사업소|지원단|담당관)"


class KiwiToken(Protocol):
    """What a Kiwi ``Token`` offers that is used here (typed for the checker)."""

    form: str
    tag: str
    start: int
    len: int
    oov: bool


@dataclass(frozen=True)
class NameCandidate:
    """A possible name at ``[start, end)`` and how it was found (``cue``): strong cues "before"
    (a cue word), "after" (a title) and "list" (after another name); weak cues "role" (a role
    noun ending in 자/인), "intro" ("…의 홍길동입니다") and "near" (next to a phone number, an
    RRN … of the same person)."""

    start: int
    end: int
    cue: str


def _alternation(words: Iterable[str]) -> str:
    return "|".join(re.escape(w).replace(r"\ ", r"\s*") for w in sorted(set(words), key=len, reverse=True))


def starts_with_surname(word: str) -> bool:
    return word[:2] in COMPOUND_SURNAMES or word[:1] in SURNAMES


class NameFinder:
    """Name candidates by cue (regular expressions, no Kiwi); :func:`accept` checks them."""

    def __init__(self, window: int) -> None:
        short = [c for c in CUES_BEFORE if len(c) <= 2]
        long = [c for c in CUES_BEFORE if len(c) > 2]
        # a cue, an optional particle, then at least one separator (so "이름표" is no cue + "표")
        gap = rf"(?:은|는|이|가|의|란|란에|칸에)?[\s:：=\-–()\[\]<>'\"‘’“”·,]{{1,{window}}}"
        self._before = re.compile(
            rf"(?:(?<![{_HANGUL}])(?:{_alternation(short)})|{_alternation(long)}){gap}(?=(?P<run>[{_HANGUL}]{{2,9}}))"
        )
        self._after = re.compile(
            rf"(?<![{_HANGUL}])(?P<run>[{_HANGUL}]{{2,4}})(?P<space>\s?)(?P<title>{_alternation(CUES_AFTER)})"
        )
        self._list = re.compile(rf"(?:\s*[,·ㆍ/]\s*|\s+(?:및|와|과)\s+|(?:와|과|및)\s+)(?P<run>[{_HANGUL}]{{2,9}})")
        self._before_value = re.compile(rf"(?<![{_HANGUL}0-9,.])(?P<run>[{_HANGUL}]{{2,4}})\s?[(（:]?\s?$")
        self._after_value = re.compile(rf"\s?[(（]\s?(?P<run>[{_HANGUL}]{{2,4}})\s?[)）]")
        # weak cues: any role noun ending in 자/인 ("결재권자", "임대인"), a unit of an
        # organisation ("총무과 강민호"), a self-introduction ("…의 홍길동입니다")
        self._role = re.compile(
            rf"(?:(?<![{_HANGUL}])[{_HANGUL}]{{1,5}}(?:자|인|원|관|료)|{_DEPARTMENT}){gap}(?=(?P<run>[{_HANGUL}]{{2,9}}))"
        )
        self._intro = re.compile(
            rf"(?:^|(?<=[\s,.!?])|(?<=[{_HANGUL}]의\s))(?P<run>[{_HANGUL}]{{2,4}})(?:입니다|이에요|예요|(?:이)?라고\s?(?:합니다|소개|했|하는|불리))"
        )
        self._free = re.compile(
            rf"(?<![{_HANGUL}])(?P<run>(?:{_alternation(COMPOUND_SURNAMES)})[{_HANGUL}]{{2}}|[{_HANGUL}]{{3}})"
            rf"(?=(?:이|가|은|는|을|를|의|에게|께|과|와|도|이랑|랑|이라고|라고|이며|이고|님|씨)?(?:[\s,·/)]|$))"
        )
        self._any_cue = re.compile(
            f"{_alternation(CUES_BEFORE)}|{_alternation(CUES_AFTER)}|[{_HANGUL}](?:자|인|원|관|료)(?![{_HANGUL}])|입니다|라고|이에요|예요|합니다"
        )

    def free(self, text: str) -> Iterator[NameCandidate]:
        """Candidates without any cue: a surname and two given-name syllables followed by a
        particle, a comma or a list separator ("천보람, 탁정우가"). Weakest of all: accepted only
        when Kiwi reads exactly those syllables as one proper noun (:func:`accept`)."""
        for m in self._free.finditer(text):
            run = m.group("run")
            given = run[2:] if run[:2] in COMPOUND_SURNAMES else run[1:]
            if all(ch in GIVEN_SYLLABLES for ch in given):
                yield NameCandidate(m.start("run"), m.end("run"), "free")

    def has_cue(self, text: str) -> bool:
        """Cheap pre-check: could ``text`` hold a name in context (one regex search)?"""
        return self._any_cue.search(text) is not None

    def candidates(self, text: str) -> Iterator[NameCandidate]:
        """Candidates by cue, in no particular order; they may overlap (the caller merges)."""
        for m in self._before.finditer(text):
            length = name_length(m.group("run"))
            if length:
                yield NameCandidate(m.start("run"), m.start("run") + length, "before")
        for m in self._role.finditer(text):
            length = name_length(m.group("run"))
            if length:
                yield NameCandidate(m.start("run"), m.start("run") + length, "role")
        for m in self._intro.finditer(text):
            run = m.group("run")
            if plausible(run):
                yield NameCandidate(m.start("run"), m.end("run"), "intro")
        for m in self._after.finditer(text):
            run, title = m.group("run"), m.group("title")
            if not plausible(run):
                continue
            if title in _WEAK_AFTER and (not m.group("space") or len(run) != 3):
                continue
            if len(run) == 2 and not m.group("space") and title not in ("씨", "님"):
                continue  # "정책과장", "기획팀장": a two-syllable word glued to a title
            yield NameCandidate(m.start("run"), m.end("run"), "after")

    def near_values(self, text: str, spans: Iterable[tuple[int, int]]) -> Iterator[NameCandidate]:
        """Candidates right next to a person's identifier or contact: "김선결(991017-…)",
        "홍길동 010-1234-5678", "110-123-456789 (심나래)"."""
        for start, end in spans:
            m = self._before_value.search(text, max(0, start - 8), start)
            if m is not None and plausible(m.group("run")):
                yield NameCandidate(m.start("run"), m.end("run"), "near")
            m2 = self._after_value.match(text, end)
            if m2 is not None and plausible(m2.group("run")):
                yield NameCandidate(m2.start("run"), m2.end("run"), "near")

    def continuation(self, text: str, end: int) -> NameCandidate | None:
        """A name listed right after the name that ends at ``end`` ("한상철, 이영희")."""
        m = self._list.match(text, end)
        if m is None or m.start("run") - end > 6:
            return None
        length = name_length(m.group("run"))
        if not length:
            return None
        return NameCandidate(m.start("run"), m.start("run") + length, "list")


def plausible(word: str) -> bool:
    """A surname and a one- or two-syllable given name (a compound surname and one or two)."""
    if word[:2] in COMPOUND_SURNAMES:
        return len(word) in (3, 4)
    return word[:1] in SURNAMES and len(word) in (2, 3)


def name_length(run: str) -> int:
    """Length of the name at the start of a Hangul run ("이영희가" -> 3, "김민준주무관" -> 3), 0 if
    the run does not start with a surname or no name length leaves a particle, a title or
    nothing after it. Four syllables only with a compound surname (남궁민수)."""
    if not starts_with_surname(run) or run[1:2] in ("씨", "님"):
        return 0  # a surname alone: "박씨가", "김님"
    lengths = (4, 3) if run[:2] in COMPOUND_SURNAMES else (3, 2)
    # a title right after the name decides first ("김철씨가": 김철 + 씨가, not 김철씨 + 가)
    for n in lengths:
        rest = run[n:]
        if rest and rest[0] in _TITLE_FIRST and _is_ending(rest) and rest not in _ENDINGS:
            return n
    for n in lengths:
        if len(run) >= n and _is_ending(run[n:]):
            return n
    return 0


def _is_ending(rest: str) -> bool:
    if rest in _ENDINGS:
        return True
    return any(rest.startswith(t) and rest[len(t) :] in _ENDINGS for t in _TITLES_LONGEST_FIRST)


Analyses = Callable[[], Sequence[Sequence[KiwiToken]]]


def accept(candidate: NameCandidate, text: str, tokens: Sequence[KiwiToken], alternatives: Analyses) -> bool:
    """Kiwi's verdict on a candidate (see the module docstring). ``tokens``: Kiwi's best
    analysis of the whole ``text``; ``alternatives``: its next best analyses, computed only
    when needed.

    After a strong cue (a listed cue word, a title, a list of names) a candidate is a name
    unless Kiwi reads it as a known word, alone or with a particle or a noun suffix after it
    ("본인이", "주소지", "서명란"). After a weak cue (a word ending in 자/인, a self-introduction,
    the neighbourhood of a phone number) Kiwi must not read any particle, ending or suffix
    inside it either ("원이며")."""
    word = text[candidate.start : candidate.end]
    if word in _TITLE_WORDS:
        return False  # a title or rank itself ("연구관·지도관", "이사관으로")
    if word in _PLACE_WORDS or (len(word) > 2 and word[:2] in _PLACE_WORDS and _ORG_SUFFIX_RE.search(word)):
        return False
    strong = candidate.cue in _STRONG_CUES
    if candidate.cue == "free":
        if _HISTORICAL_AFTER.match(text, candidate.end):
            return False  # a historical figure, not a person's data: "이순신 장군", "안중근 의사"
        first_free = next((t for t in tokens if t.start == candidate.start), None)
        return (
            first_free is not None
            and first_free.tag == "NNP"
            and first_free.len == len(word)
            and starts_with_surname(word)
            and not _org_like(word)
        )
    if len(word) < 3 and candidate.cue in ("role", "intro"):
        return False  # two syllables after a weak cue are too often a word: "정본입니다", "인가"
    if candidate.start > 0 and text[candidate.start - 1].isdigit():
        return False  # a unit after a number: "1명과"
    first = next((t for t in tokens if t.start == candidate.start), None)
    if len(word) == 2 and (first is None or not (first.tag == "NNP" or first.oov) or first.len != 2):
        # two syllables Kiwi does not read as one proper noun ("주"+"소", "명"+"과"): a name only
        # before a title, split into two plain syllables ("김"+"연 님")
        second = next((t for t in tokens if t.start == candidate.start + 1), None)
        if candidate.cue != "after" or first is None or first.len != 1 or second is None or second.len != 1:
            return False
        if second.tag.startswith((*_FUNCTION_TAGS, *_VERB_TAGS, "NNB")):
            return False
    if candidate.cue == "after" and any(t.start < candidate.end < t.start + t.len for t in tokens):
        return False  # a word running into the title: "소방" + "본부장"
    if first is None:
        # Kiwi's morpheme starts before the candidate (glued to the cue): the cue decides
        return strong and len(word) >= 3 and not _org_like(word)
    if first.tag == "NNP" or first.oov:
        if first.len > len(word) and not first.oov:
            return False  # a longer proper noun: "김포시청", "한국은행"
        return not _org_like(first.form if first.len >= len(word) else word)
    inside = [t for t in tokens if candidate.start < t.start < candidate.end]
    if first.len >= 2:
        # a known word ("본인", "변경", "정책", "고객") at the start
        if len(word) < 3 or first.len >= len(word) or _org_like(word):
            return False
        last = inside[-1] if inside else None
        if (
            strong
            and last is not None
            and last.start + last.len == candidate.end
            and last.tag.startswith(("NN", "MM", "XR"))
            and not last.tag.startswith("NNB")
            and word[-1] not in _NOUN_SUFFIXES
        ):
            return True  # "정재" + "완", "선하" + "어" + "솔": a name Kiwi does not know
        # a next-best analysis with a proper noun exactly there ("조세" + "나" -> "조세나"), unless
        # the best one ends it with a derivational suffix ("정보" + "화")
        if last is not None and last.tag.startswith("XS"):
            return False
        return any(
            t.start == candidate.start and t.len == len(word) and t.tag == "NNP"
            for analysis in alternatives()
            for t in analysis
        )
    # single-syllable first morpheme ("한"+"상"+"철", "유"+"하늘"; the surname may be read as
    # anything, "이" as a particle)
    if (
        candidate.cue in ("before", "after", "role")
        and len(word) == 3
        and first.len == 1
        and all(t.len == 1 and not t.tag.startswith(_VERB_TAGS) for t in inside)
        and all(ch in GIVEN_SYLLABLES for ch in word[1:])
    ):
        return True  # Kiwi reads no word of two syllables there, only name syllables: "우"+"민"+"호 님"
    if any(t.tag.startswith(("NNB", "NR", "SN")) for t in inside) or (first.tag == "NNB" and not strong):
        return False  # a counter or a unit: "한명", "원이며"
    if any(t.tag.startswith(_VERB_TAGS) for t in inside):
        return False  # a verb or an adjective: "원"+"하"+"지"
    if not strong and first.tag == "XPN":
        # a prefix ("고"+"성능", "최"+"우수") unless a next-best analysis reads a proper noun
        return any(
            t.start == candidate.start and t.len == len(word) and t.tag == "NNP"
            for analysis in alternatives()
            for t in analysis
        )
    if strong:
        return True
    if any(t.tag.startswith(_FUNCTION_TAGS) for t in inside):
        return False
    return not any(t.start + t.len > candidate.end and t.len >= 2 for t in inside)


_STRONG_CUES = frozenset({"before", "after", "list"})
_FUNCTION_TAGS = ("J", "E", "VCP", "VCN", "XS", "S")
_VERB_TAGS = ("XSV", "XSA", "E", "VCP", "VCN", "VV", "VA", "VX")
# last syllables that make a known word a compound noun, not a name ("서명란", "선임계", "안내문")
_NOUN_SUFFIXES = frozenset("란계표부증법권금료비세액률적처청과팀실소건별등들함")


def _org_like(word: str) -> bool:
    """A place or organisation by its ending ("서울시", "강남구청"); three-syllable words ending in
    a syllable frequent in given names ("이지원", "김민국") are not."""
    if not _ORG_SUFFIX_RE.search(word):
        return False
    return not (len(word) == 3 and word[-1] in _NAME_LAST_SYLLABLES)
