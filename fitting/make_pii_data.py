"""Generator of evals/data/guardrails/pii_ko.jsonl and pii_lookalikes_ko.jsonl (fixed seeds):
``python -m fitting.make_pii_data [--out DIR]`` rewrites both files identically (``--out``: another
folder, e.g. to compare with the committed files).

Templates: {type} or {type:variant} is a PII slot (annotated), {!kind} a non-PII filler,
{이/가} {은/는} {을/를} {과/와} {이고/고} {으로/로} {이라고/라고} pick the particle for the
preceding syllable. Dev templates (DEV_*) were written with the detector; held-out templates
(HO_*) after it was finished.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

from fitting import pii_heldout_templates as heldout
from guardrails import pii_formats as fmt

OUT = Path(__file__).resolve().parent.parent / "evals" / "data" / "guardrails"

SURNAME_WEIGHTS = [
    ("김", 215),
    ("이", 147),
    ("박", 84),
    ("최", 47),
    ("정", 44),
    ("강", 24),
    ("조", 21),
    ("윤", 21),
    ("장", 20),
    ("임", 17),
    ("한", 15),
    ("오", 15),
    ("서", 15),
    ("신", 15),
    ("권", 14),
    ("황", 14),
    ("안", 14),
    ("송", 14),
    ("전", 11),
    ("홍", 11),
    ("유", 11),
    ("고", 9),
    ("문", 9),
    ("양", 9),
    ("손", 9),
    ("배", 8),
    ("백", 8),
    ("허", 7),
    ("남", 6),
    ("심", 6),
    ("노", 6),
    ("하", 5),
    ("곽", 4),
    ("성", 4),
    ("차", 4),
    ("주", 4),
    ("우", 4),
    ("구", 4),
    ("민", 3),
    ("류", 3),
    ("나", 3),
    ("진", 3),
    ("지", 3),
    ("엄", 3),
    ("채", 3),
    ("원", 3),
    ("천", 2),
    ("방", 2),
    ("공", 2),
    ("현", 2),
    ("함", 2),
    ("변", 2),
    ("염", 2),
    ("여", 2),
    ("추", 2),
    ("도", 2),
    ("소", 2),
    ("석", 2),
    ("선", 2),
    ("설", 2),
    ("마", 2),
    ("길", 2),
    ("연", 2),
    ("위", 2),
    ("표", 2),
    ("명", 2),
    ("기", 2),
    ("반", 1),
    ("왕", 1),
    ("금", 1),
    ("옥", 1),
    ("육", 1),
    ("인", 1),
    ("맹", 1),
    ("제", 1),
    ("모", 1),
    ("탁", 1),
    ("국", 1),
    ("남궁", 1),
    ("황보", 1),
    ("제갈", 1),
    ("선우", 1),
    ("독고", 1),
]
GIVEN_1 = list(
    "민서지수영현준예하도시은유주승다채소윤가태정상성동혜미경진재우나보한선연세희아종철광명창순옥춘숙해솔린새이규용병기"
)
GIVEN_2 = list("준우윤연서아민현진호희영수은지원빈훈석혁경숙자순철식환기성미정주나린율온결솔람늘빈혜완섭근")
NATIVE = [
    "하늘",
    "나래",
    "보람",
    "슬기",
    "한결",
    "다은",
    "가람",
    "새봄",
    "아름",
    "초롱",
    "바다",
    "누리",
    "샛별",
    "하람",
]

DOMAINS = [
    "korea.kr",
    "gmail.com",
    "naver.com",
    "daum.net",
    "hanmail.net",
    "nate.com",
    "mois.go.kr",
    "seoul.go.kr",
    "kakao.com",
    "outlook.com",
]
LOCALS = [
    "hong",
    "gildong",
    "minjun",
    "seoyeon",
    "jhkim",
    "lee",
    "park",
    "choi",
    "sy.jung",
    "kang",
    "yoon_ha",
    "civil",
    "hanbit",
    "duri",
    "haneul",
    "sk",
]

PLACES = [
    ("서울특별시", "종로구"),
    ("서울특별시", "강남구"),
    ("서울", "마포구"),
    ("서울특별시", "송파구"),
    ("부산광역시", "해운대구"),
    ("대구광역시", "수성구"),
    ("인천광역시", "연수구"),
    ("광주광역시", "북구"),
    ("대전광역시", "유성구"),
    ("울산광역시", "남구"),
    ("세종특별자치시", ""),
    ("경기도", "수원시 영통구"),
    ("경기도", "성남시 분당구"),
    ("경기도", "고양시 일산동구"),
    ("강원특별자치도", "춘천시"),
    ("충청북도", "청주시 흥덕구"),
    ("충청남도", "천안시 서북구"),
    ("전북특별자치도", "전주시 완산구"),
    ("전라남도", "순천시"),
    ("경상북도", "포항시 남구"),
    ("경상남도", "창원시 의창구"),
    ("제주특별자치도", "제주시"),
]
ROADS = [
    "세종대로",
    "테헤란로",
    "올림픽로",
    "한누리대로",
    "중앙로",
    "광교로",
    "판교역로",
    "반포대로23길",
    "월드컵북로",
    "도움6로",
    "정부청사로",
    "신반포로",
    "해운대로",
    "달구벌대로",
    "인하로",
    "금남로",
    "대학로",
    "삼일대로",
    "청사로",
    "강변로",
    "시청로",
    "문화로",
    "가락로",
    "평화로",
    "번영로",
    "중앙로123번길",
    "효자로",
    "백제대로",
    "동서대로",
    "무등로",
    "새마을로",
]
DONGS = [
    "역삼동",
    "신림동",
    "봉명동",
    "연산동",
    "월평동",
    "삼산동",
    "구월동",
    "부평동",
    "효자동",
    "서초동",
    "대치동",
    "봉명리",
    "오송리",
    "상도동",
    "삼성동",
]
BANKS = [
    "국민은행",
    "신한은행",
    "우리은행",
    "하나은행",
    "농협",
    "기업은행",
    "카카오뱅크",
    "토스뱅크",
    "새마을금고",
    "우체국",
    "신협",
    "SC제일은행",
    "부산은행",
    "대구은행",
]
LICENCE_REGION_NAMES = [
    "서울",
    "부산",
    "경기",
    "강원",
    "충북",
    "충남",
    "전북",
    "전남",
    "경북",
    "경남",
    "제주",
    "대구",
    "인천",
    "광주",
    "대전",
    "울산",
]


def has_batchim(ch: str) -> bool:
    return "가" <= ch <= "힣" and (ord(ch) - 0xAC00) % 28 != 0


def rieul(ch: str) -> bool:
    return "가" <= ch <= "힣" and (ord(ch) - 0xAC00) % 28 == 8


class Gen:
    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)

    # -- people
    def person(self, variant: str | None = None) -> str:
        r = self.r
        surnames, weights = zip(*SURNAME_WEIGHTS, strict=True)
        s = r.choices(surnames, weights)[0]
        if variant == "compound":
            s = r.choice(["남궁", "황보", "제갈", "선우", "독고"])
        x = r.random()
        if x < 0.08:
            given = r.choice(NATIVE)
        elif x < 0.12 and len(s) == 1:
            given = r.choice(GIVEN_1)  # a one-syllable given name: 김솔, 이진
        else:
            given = r.choice(GIVEN_1) + r.choice(GIVEN_2)
        return s + given

    # -- identifiers
    def _birth(self, sexes: str) -> tuple[str, str]:
        r = self.r
        while True:
            sex = r.choice(sexes)
            year = r.randint(1940, 1999) if sex in "1256" else r.randint(2000, 2019)
            month, day = r.randint(1, 12), r.randint(1, 28)
            ymd = f"{year % 100:02d}{month:02d}{day:02d}"
            if fmt.birth_date_ok(ymd, sex):
                return ymd, sex

    def rrn(self, variant: str | None = None, *, valid: bool = True, arn: bool = False) -> str:
        ymd, sex = self._birth("5678" if arn else "1234")
        body = ymd + sex + "".join(str(self.r.randint(0, 9)) for _ in range(5))
        check = fmt.arn_check_digit(body) if arn else fmt.rrn_check_digit(body)
        if not valid:
            check = (check + self.r.randint(1, 9)) % 10
        digits = body + str(check)
        assert (fmt.arn_valid(digits) if arn else fmt.rrn_valid(digits)) == valid
        return self._rrn_form(digits, variant)

    def _rrn_form(self, digits: str, variant: str | None) -> str:
        v = variant or self.r.choice(["dash", "dash", "dash", "plain", "spaced"])
        return {"dash": f"{digits[:6]}-{digits[6:]}", "plain": digits, "spaced": f"{digits[:6]} - {digits[6:]}"}[v]

    def arn(self, variant: str | None = None, *, valid: bool = True) -> str:
        return self.rrn(variant, valid=valid, arn=True)

    def phone(self, variant: str | None = None) -> str:
        r = self.r
        v = variant or r.choice(
            [
                "mobile",
                "mobile",
                "mobile",
                "mobile_dot",
                "mobile_plain",
                "mobile_space",
                "intl",
                "seoul",
                "area",
                "070",
                "old",
            ]
        )
        ex4 = str(r.randint(2000, 9999))
        line = f"{r.randint(0, 9999):04d}"
        if v == "mobile":
            return f"010-{ex4}-{line}"
        if v == "mobile_dot":
            return f"010.{ex4}.{line}"
        if v == "mobile_plain":
            return f"010{ex4}{line}"
        if v == "mobile_space":
            return f"010 {ex4} {line}"
        if v == "intl":
            return r.choice([f"+82 10-{ex4}-{line}", f"+82-10-{ex4}-{line}", f"+8210{ex4}{line}"])
        if v == "seoul":
            return r.choice([f"02-{r.randint(200, 999)}-{line}", f"02-{ex4}-{line}", f"(02) {ex4}-{line}"])
        if v == "area":
            return f"{r.choice(['031', '032', '033', '041', '042', '043', '044', '051', '052', '053', '054', '055', '061', '062', '063', '064'])}-{r.choice([str(r.randint(200, 999)), ex4])}-{line}"
        if v == "070":
            return f"070-{ex4}-{line}"
        if v == "old":
            return f"{r.choice(['011', '016', '017', '018', '019'])}-{r.randint(200, 999)}-{line}"
        raise ValueError(v)

    def passport(self, variant: str | None = None) -> str:
        r = self.r
        letter = r.choice("MMMMSRO")
        if (variant or r.choice(["new", "old"])) == "new":
            return f"{letter}{r.randint(0, 999):03d}{r.choice('ABCDEFGHJKLMNPQRSTUVWXYZ')}{r.randint(0, 9999):04d}"
        return f"{letter}{r.randint(0, 99999999):08d}"

    def driver_license(self, variant: str | None = None) -> str:
        r = self.r
        body = f"{r.randint(0, 99):02d}-{r.randint(0, 999999):06d}-{r.randint(0, 99):02d}"
        if (variant or r.choice(["new", "new", "old"])) == "old":
            return f"{r.choice(LICENCE_REGION_NAMES)} {body}"
        return f"{r.choice([*range(11, 27), 28])}-{body}"

    def brn(self, variant: str | None = None, *, valid: bool = True) -> str:
        r = self.r
        body = f"{r.randint(101, 899)}{r.choice([r.randint(1, 99), 81, 86, 87])}{r.randint(0, 9999):04d}"[:9].rjust(
            9, "1"
        )
        check = fmt.brn_check_digit(body)
        if not valid:
            check = (check + r.randint(1, 9)) % 10
        d = body + str(check)
        return f"{d[:3]}-{d[3:5]}-{d[5:]}"

    def bank_account(self, variant: str | None = None) -> str:
        r = self.r

        def n(k: int) -> str:
            return "".join(str(r.randint(0, 9)) for _ in range(k))

        forms = [
            f"{n(3)}-{n(3)}-{n(6)}",
            f"1002-{n(3)}-{n(6)}",
            f"{n(6)}-{n(2)}-{n(6)}",
            f"{n(3)}-{n(6)}-{n(2)}-{n(3)}",
            f"3333-{n(2)}-{n(7)}",
            f"{n(3)}-{n(4)}-{n(4)}-{n(2)}",
            f"{n(3)}-{n(2)}-{n(6)}-{n(1)}",
            f"{n(4)}{n(4)}{n(4)}",
        ]
        return r.choice(forms)

    def card(self, variant: str | None = None, *, valid: bool = True) -> str:
        r = self.r
        payload = r.choice(["4", "5", "9", "3"]) + "".join(str(r.randint(0, 9)) for _ in range(14))
        if payload[0] == "3":
            payload = "37" + payload[2:13]  # 15-digit Amex: 14 + check
        check = fmt.luhn_check_digit(payload)
        if not valid:
            check = (check + r.randint(1, 9)) % 10
        d = payload + str(check)
        if len(d) == 15:
            return f"{d[:4]}-{d[4:10]}-{d[10:]}"
        sep = r.choice(["-", "-", " "]) if variant != "plain" else ""
        return sep.join([d[:4], d[4:8], d[8:12], d[12:]]) if sep else d

    def email(self, variant: str | None = None) -> str:
        r = self.r
        local = r.choice(LOCALS) + r.choice(["", str(r.randint(1, 99)), "." + r.choice(LOCALS)])
        return f"{local}@{r.choice(DOMAINS)}"

    def ip(self, variant: str | None = None) -> str:
        r = self.r
        if (variant or r.choice(["v4", "v4", "v4", "v6"])) == "v6":
            return r.choice(
                [
                    "2001:db8:85a3::8a2e:370:7334",
                    f"fe80::{r.randint(1, 65535):x}:{r.randint(1, 65535):x}",
                    f"2001:0db8:{r.randint(0, 65535):04x}:0000:0000:ff00:0042:{r.randint(0, 65535):04x}",
                ]
            )
        return (
            f"{r.choice([10, 172, 192, 211, 121, 59, 203])}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"
        )

    def address(self, variant: str | None = None) -> str:
        r = self.r
        prov, dist = r.choice(PLACES)
        v = variant or r.choice(["road", "road", "road_unit", "road_unit", "road_short", "lot"])
        head = f"{prov} {dist}".strip()
        bldg = str(r.randint(1, 400)) + r.choice(["", "", "", f"-{r.randint(1, 30)}"])
        unit = r.choice(
            [
                f"{r.randint(101, 120)}동 {r.randint(1, 25)}{r.randint(1, 4):02d}호",
                f"{r.randint(2, 15)}{r.randint(1, 9):02d}호",
                f"{r.randint(2, 12)}층",
            ]
        )
        if v == "road":
            return f"{head} {r.choice(ROADS)} {bldg}"
        if v == "road_unit":
            return f"{head} {r.choice(ROADS)} {bldg}, {unit}"
        if v == "road_short":
            return f"{dist.split()[-1] if dist else prov} {r.choice(ROADS)} {bldg}"
        if v == "lot":
            return f"{head} {r.choice(DONGS)} {r.randint(1, 999)}-{r.randint(1, 60)}" + r.choice(["", "번지"])
        raise ValueError(v)

    # -- fillers (not PII)
    def filler(self, kind: str) -> str:
        r = self.r
        return {
            "date": lambda: r.choice(
                [
                    f"2024-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}",
                    f"2024. {r.randint(1, 12)}. {r.randint(1, 28)}.",
                    f"{r.randint(1, 12)}월 {r.randint(1, 28)}일",
                ]
            ),
            "amount": lambda: r.choice([f"{r.randint(1, 99) * 10000:,}원", f"{r.randint(1, 900)}만원"]),
            "org": lambda: r.choice(
                [
                    "행정안전부",
                    "민원실",
                    "총무과",
                    "정보공개팀",
                    "복지정책과",
                    "주민센터",
                    "구청 세무과",
                    "국민권익위원회",
                ]
            ),
        }[kind]()


JOSA = {
    "이/가": ("이", "가"),
    "은/는": ("은", "는"),
    "을/를": ("을", "를"),
    "과/와": ("과", "와"),
    "이고/고": ("이고", "고"),
    "이라고/라고": ("이라고", "라고"),
    "이에요/예요": ("이에요", "예요"),
    "이랑/랑": ("이랑", "랑"),
    "아/야": ("아", "야"),
}
SLOT_RE = re.compile(r"\{(?P<bang>!)?(?P<name>[^{}:]+)(?::(?P<variant>[\w]+))?\}")


def render(gen: Gen, template: str) -> tuple[str, list[dict[str, object]]]:
    text = ""
    spans: list[dict[str, object]] = []
    pos = 0
    for m in SLOT_RE.finditer(template):
        text += template[pos : m.start()]
        pos = m.end()
        name, variant = m.group("name"), m.group("variant")
        if name in JOSA:
            with_b, without = JOSA[name]
            if name == "으로/로":
                pass
            text += with_b if has_batchim(text[-1]) else without
            continue
        if name == "으로/로":
            text += "로" if (not has_batchim(text[-1]) or rieul(text[-1])) else "으로"
            continue
        if m.group("bang"):
            text += gen.filler(name)
            continue
        kwargs: dict[str, object] = {}
        kind = name
        if name.endswith("_bad"):
            kind = name[:-4]
            kwargs["valid"] = False
        value = getattr(gen, kind)(variant, **kwargs)
        start = len(text)
        text += value
        if not m.group("bang") and not name.endswith("_bad"):
            spans.append({"start": start, "end": len(text), "type": kind})
    text += template[pos:]
    return text, spans


# ------------------------------------------------------------------------------------------
# Templates written with the detector (dev)
# ------------------------------------------------------------------------------------------

DEV_PII = [
    # person (cues before)
    "신청인 성명: {person}, 생년월일은 신청서에 적었습니다.",
    "성명 {person} / 소속 {!org}",
    "제 이름은 {person}{이고/고} 여권 재발급을 문의드립니다.",
    "작성자: {person} ({!org})",
    "담당자 {person} 주무관에게 문의하시기 바랍니다.",
    "민원인 {person} 씨가 {!date}에 방문하여 서류를 제출하였습니다.",
    "대리인 {person}{이/가} 위임장을 지참하여 대신 신청할 수 있나요?",
    "청구인 {person}{은/는} {!date} 정보공개를 청구하였다.",
    "피해자 {person}{은/는} 관할 경찰서에 신고한 상태입니다.",
    "세대주 {person}, 세대원 {person} 모두 전입신고를 마쳤습니다.",
    "신청인 {person}, {person}{은/는} 공동명의로 신청하였습니다.",
    "보호자 {person} (연락처 {phone:mobile})가 동의서를 제출했습니다.",
    "수령인: {person} 님, 배송지: {address:road_unit}",
    "저는 {person}입니다. 지난주 신청한 건의 처리 상황이 궁금합니다.",
    "예금주 {person}, {!amount} 환급 예정입니다.",
    # person (cues after)
    "{person} 님, 요청하신 증명서가 발급되었습니다.",
    "{person} 사무관이 검토한 결과 보완이 필요합니다.",
    "{person} 팀장님께 결재를 올렸는데 아직 회신이 없습니다.",
    "자문위원 {person} 교수의 의견서를 첨부합니다.",
    "{person} 변호사가 소송대리인으로 선임되었습니다.",
    "{!org} {person} 주무관 ({phone:seoul})",
    "어제 {person} 씨와 통화했는데 처리 기한을 알려 주지 않았어요.",
    "{person} 과장은 이번 회의에 참석하지 못합니다.",
    "{person} 선생님께 상담 일정을 안내해 드렸습니다.",
    "민원 처리 담당 {person} 주사에게 이관되었습니다.",
    "{person} 님의 주소는 {address:road}입니다.",
    "{person} 서기관, {person} 사무관이 합동 점검에 참여합니다.",
    "결재: {person} 국장",
    # rrn / arn
    "주민등록번호 {rrn} 로 조회가 되지 않습니다.",
    "제 주민번호는 {rrn}인데 본인확인이 실패합니다.",
    "{rrn} 이 번호로 가입된 내역을 확인해 주세요.",
    "신청서의 주민등록번호란에 {rrn:plain}를 적었습니다.",
    "외국인등록번호: {arn}",
    "배우자의 외국인등록번호 {arn}로 체류 연장 신청이 가능한가요?",
    "{person}({rrn})의 가족관계증명서를 발급받고 싶습니다.",
    # phone
    "연락처는 {phone:mobile}입니다.",
    "회신은 {phone:mobile_dot}으로 부탁드립니다.",
    "휴대전화 {phone:mobile_plain}로 문자 주세요.",
    "해외 체류 중이라 {phone:intl}로 연락 주시면 됩니다.",
    "사무실 전화 {phone:area}, 팩스 {phone:area}",
    "인터넷전화 {phone:070}로 전화 주세요.",
    "예전 번호 {phone:old}는 해지했습니다.",
    "문의: {phone:seoul} (평일 9시~18시)",
    "{phone:mobile_space} 번호로 인증번호가 오지 않습니다.",
    # passport
    "여권번호 {passport:new}의 유효기간이 만료되었습니다.",
    "구여권 번호는 {passport:old}입니다.",
    "여권 {passport:old} 분실 신고를 했습니다.",
    "새로 받은 번호가 {passport:new}인데 비자 신청서에 입력해도 되나요?",
    # driver licence
    "운전면허번호 {driver_license:new} 적성검사 기간을 알려주세요.",
    "면허번호는 {driver_license:old}입니다.",
    "{driver_license:new} 면허가 정지된 이유를 알고 싶습니다.",
    # brn
    "사업자등록번호 {brn}로 휴업 신고를 했습니다.",
    "{brn} 사업자의 폐업 여부를 확인할 수 있나요?",
    "거래처 ({brn}) 세금계산서가 발행되지 않았습니다.",
    # bank account
    "환급금은 {!amount}이며 {bank_account} ({person}) 계좌로 입금됩니다.",
    "계좌번호: " + "{bank_account}",
    "국민은행 {bank_account}로 송금해 주세요.",
    "신한은행 계좌 {bank_account}, 예금주 {person}",
    "카카오뱅크 {bank_account}으로 이체했는데 확인 부탁드립니다.",
    "보조금 입금 계좌를 {bank_account}로 변경하고 싶습니다.",
    # card
    "카드번호 {card}로 결제했는데 영수증이 나오지 않아요.",
    "{card} 카드로 납부한 과태료가 이중 결제되었습니다.",
    "결제한 카드는 {card:plain}입니다.",
    # email
    "이메일 {email}로 회신 부탁드립니다.",
    "{email} 주소로 결과를 보내 주실 수 있나요?",
    "담당자 메일: {email}",
    # ip
    "접속 IP {ip:v4}에서 로그인 시도가 차단되었습니다.",
    "서버 주소는 {ip:v4}이고 포트는 8080입니다.",
    "IPv6 주소 {ip:v6}로 접속한 기록이 있습니다.",
    # address
    "주소: {address:road_unit}",
    "현재 {address:road}에 거주하고 있습니다.",
    "{address:lot}로 전입신고를 했는데 반영이 안 됐어요.",
    "우편물은 {address:road_unit}로 보내 주세요.",
    "자택 주소 {address:road_short}",
    "{address:lot}에 있는 주택의 재산세 문의입니다.",
    # mixed
    "신청인 {person} ({rrn}), 주소 {address:road}, 연락처 {phone:mobile}",
    "성명: {person} / 전화: {phone:mobile} / 이메일: {email}",
    "{person} 님 명의의 {!org} 민원이 접수되었습니다. 회신 번호 {phone:mobile}",
    "담당자 {person} 주무관 ({email}, {phone:area})",
]

DEV_LOOKALIKE = [
    "2024-05-13까지 신청서를 제출해야 합니다.",
    "시행일은 2024.5.13.이며 공포일은 24.05.13입니다.",
    "지원금은 1,500,000원이고 자부담은 300만원입니다.",
    "개인정보 보호법 제15조제1항제3호에 따라 처리합니다.",
    "법 제27조의2 및 영 제3조제2항을 참고하세요.",
    "문서번호 행정안전부-1234, 시행일자 2024-03-02",
    "문서번호 2024-000123 건은 처리 완료되었습니다.",
    "사건번호 2023두12345 판결의 취지를 설명해 주세요.",
    "헌법재판소 2022헌마1234 결정 요지가 궁금합니다.",
    "전화번호를 010-123-45로 적었더니 오류가 납니다.",
    "099-1234-5678 같은 번호는 존재하지 않습니다.",
    "프로그램 버전 1.2.3에서 10.0.19041.1로 업데이트되었습니다.",
    "우편번호 03171만 알면 지역을 찾을 수 있나요?",
    "ISBN 978-89-364-3426-7 도서를 구매했습니다.",
    "오전 9:30부터 오후 6:00까지 운영합니다.",
    "처리율은 95.5%이며 전년 대비 3.2%p 상승했습니다.",
    "공고 제2024-123호에 따른 채용 일정입니다.",
    "예산 코드 1234-567-890에서 집행하세요.",
    "김치 공장의 위생 상태에 이상이 없는지 정부가 점검합니다.",
    "정책 과장에게 보고한 뒤 결재를 받으세요.",
    "민원 담당자에게 문의하시면 됩니다.",
    "서울특별시 종로구에 있는 기관 목록을 알려주세요.",
    "대표번호 1588-1234 또는 1577-5678로 전화하세요.",
    "신청인 본인이 직접 방문해야 하나요?",
    "담당자 변경 요청은 어디서 하나요?",
    "성명 변경 절차와 필요 서류가 궁금합니다.",
    "고객님께서 문의하신 내용은 다음과 같습니다.",
    "선생님께 제출할 서류 목록입니다.",
    "이상 보고를 마칩니다.",
    "2024년 3분기 예산 집행률은 72%입니다.",
    "제3조제1항 각 호의 사항을 적은 신청서를 제출한다.",
    "민원인이 요청한 자료를 14일 이내에 제공한다.",
    "이 결과로 3건이 반려되었습니다.",
    "행정동 3개를 통합하는 방안을 검토 중입니다.",
    "공무원 보수규정 별표 3의 봉급표를 보여주세요.",
    "시행령 제23조의3제2항제1호 개정 이유는?",
    "회의는 14:00에 시작해 16:30에 끝납니다.",
    "접수번호 20240513-0012 민원의 처리 현황을 알려주세요.",
    "계약번호 2024-0315-07에 따른 납품 일정입니다.",
    "전년도 대비 12.5% 증가한 1,234,567명이 이용했습니다.",
    "대한민국 정부는 2024년 예산안을 발표했습니다.",
    "국민연금 보험료율은 9%에서 13%로 인상됩니다.",
    "주민센터에서 주민등록등본을 발급받으려면 어떻게 하나요?",
    "전화번호 변경은 정부24에서 가능합니다.",
    "여권 발급 수수료는 53,000원입니다.",
    "운전면허 갱신 기간은 10년입니다.",
    "사업자등록 신청 시 필요한 서류는?",
    "계좌 개설에 필요한 서류를 알려주세요.",
    "카드 결제 수수료율은 1.5%입니다.",
    "이메일 주소 형식이 올바르지 않다고 나옵니다.",
    "IP 주소를 확인하는 방법을 알려주세요.",
    "주소 변경 신고는 14일 이내에 해야 합니다.",
    "위원회는 위원장 1명을 포함한 15명 이내의 위원으로 구성한다.",
    "과태료는 100만원 이하로 부과한다.",
    "제5장 제2절(제30조부터 제35조까지)을 요약해 주세요.",
    "2023. 12. 31. 기준 현원은 1,024명입니다.",
    "좌표는 37.5665, 126.9780입니다.",
    "사무실은 3층 302호 회의실 옆입니다.",
]

# invalid-checksum / invalid-validation variants (look-alikes of each structured type)
DEV_BAD = [
    "접수번호 {rrn_bad} 건은 처리 완료되었습니다.",
    "관리번호 {rrn_bad:plain}를 입력하세요.",
    "등록번호 {arn_bad} 자료를 이관했습니다.",
    "거래처 코드 {brn_bad}로 조회해 주세요.",
    "승인번호 {card_bad}로 결제 취소가 가능한가요?",
    "관리코드 {card_bad:plain} 항목을 삭제했습니다.",
    "번호 10-12-345678-90은 형식 예시입니다.",
    "256.1.1.300은 잘못된 주소 형식입니다.",
    "모델명 M12345678 제품의 리콜 여부를 알려주세요.",
    "전화는 080-123-4567 수신자부담 번호로 하세요.",
]


def build(
    templates: list[str], prefix: str, seed: int, repeat: dict[int, int] | None = None
) -> list[dict[str, object]]:
    gen = Gen(seed)
    rows: list[dict[str, object]] = []
    n = 0
    for i, t in enumerate(templates):
        for _ in range((repeat or {}).get(i, 1)):
            n += 1
            text, spans = render(gen, t)
            rows.append({"id": f"{prefix}-{n:03d}", "text": text, "pii": spans})
    return rows


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m fitting.make_pii_data", description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--out", type=Path, default=OUT, help="folder to write pii_ko.jsonl and pii_lookalikes_ko.jsonl to")
    out: Path = p.parse_args(argv).out
    out.mkdir(parents=True, exist_ok=True)
    mod = heldout
    ho_pii, ho_look, ho_bad = mod.HO_PII, mod.HO_LOOKALIKE, mod.HO_BAD
    ho2_pii, ho2_look = mod.HO2_PII, mod.HO2_LOOKALIKE
    ho3_pii, ho3_look = mod.HO3_PII, mod.HO3_LOOKALIKE
    # dev: person templates twice (more name cases), the others once
    dev = build(DEV_PII, "pii-dev", 20240513, repeat={i: 2 for i in range(28)})
    ho = (
        build(ho_pii, "pii-ho", 20240901, repeat={i: 2 for i in range(len(ho_pii)) if "{person" in ho_pii[i]})
        if ho_pii
        else []
    )
    ho2 = build(ho2_pii, "pii-ho2", 20241107, repeat={i: 2 for i in range(len(ho2_pii)) if "{person" in ho2_pii[i]})
    ho3 = build(ho3_pii, "pii-ho3", 20241202, repeat={i: 2 for i in range(len(ho3_pii)) if "{person" in ho3_pii[i]})
    look_ho3 = build(ho3_look, "look-ho3", 17)
    look = build(DEV_LOOKALIKE + DEV_BAD * 2, "look-dev", 7)
    look_ho2 = build(ho2_look, "look-ho2", 13)
    look_ho = build(ho_look + ho_bad * 2, "look-ho", 11) if ho_look else []
    for name, rows in (
        ("pii_ko.jsonl", dev + ho + ho2 + ho3),
        ("pii_lookalikes_ko.jsonl", look + look_ho + look_ho2 + look_ho3),
    ):
        with (out / name).open("w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        print(name, len(rows))
    for rows in (look, look_ho):
        for row in rows:
            assert not row["pii"], row
        # every look-alike row with a *_bad slot was rendered without spans


if __name__ == "__main__":
    main()
