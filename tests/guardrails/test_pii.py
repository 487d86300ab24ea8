"""Personal data in questions: every structured type found when valid and left alone when its
validation fails, look-alikes (dates, amounts, statute and case numbers) untouched, names found
in context, offsets into the original text, masking, and pseudonymisation with its restore
(also across streamed deltas). The rates over the two datasets in evals/data/guardrails are
computed, printed and held to the goals (structured recall 1.0, names ≥ 0.80, look-alike
sentences flagged ≤ 2%)."""

from __future__ import annotations

import copy
import json
import logging
import pickle
import statistics
import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from benchmarks.guardrails_pii_rates import counts
from guardrails import pii_formats as fmt
from guardrails.pii import PII_LABELS, PiiDetector, PiiSpan, mask, notice
from guardrails.pseudonym import Pseudonymiser
from guardrails.settings import PII_TYPES, PiiSettings

DATA = Path(__file__).resolve().parents[2] / "evals" / "data" / "guardrails"


@pytest.fixture(scope="module")
def detector() -> PiiDetector:
    d = PiiDetector(PiiSettings())
    d.warm_up()
    return d


def _load(name: str) -> list[dict[str, Any]]:
    with (DATA / name).open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _found(detector: PiiDetector, text: str) -> list[tuple[str, str]]:
    return [(s.type, s.text) for s in detector.find(text)]


# --------------------------------------------------------------------------------------------
# Structured identifiers: valid -> found, invalid -> untouched
# --------------------------------------------------------------------------------------------

# (type, sentence with a valid value, the value, the same sentence with a value that fails)
STRUCTURED = [
    (
        "rrn",
        "주민등록번호 850315-2345678 로 조회가 안 됩니다.",
        "850315-2345678",
        "접수번호 850315-2345671 로 조회가 안 됩니다.",
    ),
    (
        "rrn",
        "0207094123450 번호로 가입 내역을 확인해 주세요.",
        "0207094123450",
        "0207094123459 번호로 가입 내역을 확인해 주세요.",
    ),
    ("rrn", "아이 번호는 020709 - 4123450 입니다.", "020709 - 4123450", "아이 번호는 021309 - 4123450 입니다."),
    ("arn", "외국인등록번호 910220-5123450 체류 연장", "910220-5123450", "등록번호 910220-5123451 체류 연장"),
    ("phone", "연락처는 010-2345-6789입니다.", "010-2345-6789", "연락처는 010-234-56입니다."),
    ("phone", "회신 번호 02-123-4567로 주세요.", "02-123-4567", "회신 번호 099-1234-5678로 주세요."),
    (
        "phone",
        "해외에서는 +82 10-2345-6789로 연락하세요.",
        "+82 10-2345-6789",
        "해외에서는 대표번호 1588-2345로 연락하세요.",
    ),
    ("passport", "새 여권 번호는 M123A4567입니다.", "M123A4567", "새 여권 번호는 M123A456입니다."),
    ("passport", "여권번호 M12345678 분실 신고", "M12345678", "모델명 M12345678 리콜 신고"),
    (
        "driver_license",
        "운전면허번호 11-23-456789-01 적성검사",
        "11-23-456789-01",
        "운전면허번호 99-23-456789-01 적성검사",
    ),
    ("driver_license", "면허번호는 서울 12-345678-90입니다.", "서울 12-345678-90", "면허번호는 12-345678-90입니다."),
    ("brn", "사업자등록번호 220-81-62517로 휴업 신고", "220-81-62517", "사업자등록번호 220-81-62518로 휴업 신고"),
    (
        "bank_account",
        "국민은행 123456-01-234567로 입금해 주세요.",
        "123456-01-234567",
        "관리번호 123456-01-234567로 처리해 주세요.",
    ),
    ("bank_account", "계좌번호: 110-123-456789", "110-123-456789", "예산번호: 110-123-456789"),
    ("card", "카드번호 4532-1234-5678-9014로 결제", "4532-1234-5678-9014", "카드번호 4532-1234-5678-9015로 결제"),
    ("card", "결제한 카드는 9410123456789010입니다.", "9410123456789010", "결제한 카드는 9410123456789011입니다."),
    (
        "email",
        "이메일 hong.gildong@korea.kr로 회신 바랍니다.",
        "hong.gildong@korea.kr",
        "이메일 hong.gildong@korea로 회신 바랍니다.",
    ),
    ("ip", "접속 IP 211.45.67.89에서 차단되었습니다.", "211.45.67.89", "접속 IP 256.45.67.89에서 차단되었습니다."),
    ("ip", "IPv6 주소 2001:db8:85a3::8a2e:370:7334 기록", "2001:db8:85a3::8a2e:370:7334", "회의는 10:30:00 시작"),
    (
        "address",
        "주소: 서울특별시 종로구 세종대로 209, 301동 1202호",
        "서울특별시 종로구 세종대로 209, 301동 1202호",
        "주소: 서울특별시 종로구",
    ),
    (
        "address",
        "서울 강남구 역삼동 123-45번지에 거주합니다.",
        "서울 강남구 역삼동 123-45번지",
        "서울 강남구 역삼동에 거주합니다.",
    ),
]


@pytest.mark.parametrize(
    ("kind", "text", "value", "invalid"), STRUCTURED, ids=[f"{s[0]}-{i}" for i, s in enumerate(STRUCTURED)]
)
def test_a_valid_identifier_is_masked_and_one_that_fails_validation_is_left_alone(
    detector: PiiDetector, kind: str, text: str, value: str, invalid: str
) -> None:
    assert _found(detector, text) == [(kind, value)]
    assert mask(text, detector.find(text)) == text.replace(value, f"[{PII_LABELS[kind].ko}]")
    assert detector.find(invalid) == []


def test_the_checksums_follow_the_published_rules() -> None:
    assert fmt.rrn_valid("8503152345678") and not fmt.rrn_valid("8503152345671")
    assert fmt.rrn_check_digit("850315234567") == 8
    assert fmt.arn_valid("9102205123450") and not fmt.rrn_valid("9102205123450")
    assert fmt.brn_valid("2208162517") and not fmt.brn_valid("2208162518")
    assert fmt.luhn_valid("4111111111111111") and not fmt.luhn_valid("4111111111111112")
    assert not fmt.birth_date_ok("990229", "1")  # 1999 was no leap year
    assert fmt.birth_date_ok("000229", "3")  # 2000 was


def test_an_rrn_whose_checksum_fails_is_personal_data_only_after_its_cue(detector: PiiDetector) -> None:
    # numbers issued since October 2020 have no check digit: the cue says what the number is
    assert _found(detector, "주민등록번호: 850315-2345671") == [("rrn", "850315-2345671")]
    assert _found(detector, "주민번호는 850315-2345671입니다") == [("rrn", "850315-2345671")]
    assert _found(detector, "외국인등록번호 910220-5123451") == [("arn", "910220-5123451")]
    assert detector.find("접수번호 850315-2345671") == []
    # ... and the cue does not make an impossible date a birth date
    assert detector.find("주민등록번호: 851315-2345671") == []
    lenient = PiiDetector(PiiSettings(rrn_require_checksum=False, names=False))
    assert _found(lenient, "접수번호 850315-2345671") == [("rrn", "850315-2345671")]


def test_a_half_masked_rrn_still_gives_birth_date_and_sex(detector: PiiDetector) -> None:
    assert _found(detector, "주민번호 850315-2******") == [("rrn", "850315-2******")]


LOOKALIKES = [
    "2024-05-13까지 제출하세요.",
    "시행일 2024.5.13., 공포일 24.05.13",
    "지원금 1,500,000원, 자부담 300만원",
    "개인정보 보호법 제15조제1항제3호",
    "법 제27조의2에 따른다.",
    "문서번호 행정안전부-1234",
    "문서번호 2024-000123으로 송금 관련 공문을 보냈습니다.",
    "사건번호 2023두12345",
    "헌법재판소 2022헌마1234 결정",
    "버전 1.2.3에서 10.0.19041.1로",
    "우편번호 03171",
    "ISBN 978-89-364-3426-7 / 9788936434267",
    "오전 9:30부터 18:00까지",
    "처리율 95.5%",
    "공고 제2024-123호",
    "예산 코드 1234-567-890",
    "서브넷 마스크 255.255.255.0, 루프백 127.0.0.1",
    "대표번호 1588-1234, 수신자부담 080-123-4567",
    "서울특별시 종로구에 있는 기관",
    "이 결과로 3건이 반려되었다.",
]


@pytest.mark.parametrize("text", LOOKALIKES)
def test_look_alikes_are_left_alone(detector: PiiDetector, text: str) -> None:
    assert detector.find(text) == []


# --------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------

NAMES = [
    ("신청인 성명: 한상철, 연락처는 따로 드리겠습니다.", ["한상철"]),
    ("담당자 김민준 주무관에게 문의하세요.", ["김민준"]),
    ("민원인 이영희 씨가 서류를 제출했습니다.", ["이영희"]),
    ("홍길동 님, 증명서가 발급되었습니다.", ["홍길동"]),
    ("대리인 유하늘이 대신 신청합니다.", ["유하늘"]),
    ("작성자: 남궁민수", ["남궁민수"]),
    ("세대주 박지훈, 최서연 모두 전입했습니다.", ["박지훈", "최서연"]),
    ("정재완 선생님께 안내했습니다.", ["정재완"]),  # Kiwi's best reading: 정재 + 완
    ("민원 처리 담당 조세나 주사에게 이관", ["조세나"]),  # 조세 (tax) + 나
    ("김선결(850315-2345678)의 증명서", ["김선결"]),  # next to an identifier
    ("문의: 총무과 강민호 (내선 1234)", ["강민호"]),
    ("김철씨가 왔어요", ["김철"]),
]


@pytest.mark.parametrize(("text", "names"), NAMES)
def test_names_in_context_are_found(detector: PiiDetector, text: str, names: list[str]) -> None:
    assert [v for t, v in _found(detector, text) if t == "person"] == names


NOT_NAMES = [
    "김치 공장의 이상 여부를 정부가 점검합니다.",
    "신청인 본인이 직접 방문해야 하나요?",
    "담당자 변경 요청은 어디서 하나요?",
    "민원인 주소지가 바뀌었습니다.",
    "정책 과장에게 보고했습니다.",
    "고객님께서 문의하신 내용입니다.",
    "이순신 장군의 동상",
    "김포시청 민원실 위치",
    "저는 공무원입니다.",
    "민원인 박씨가 다시 왔습니다.",
    "개인정보 보호법 시행령 제23조 담당 부서",
    "연락처 010-2345-6789",
]


@pytest.mark.parametrize("text", NOT_NAMES)
def test_words_that_are_not_names_are_not_flagged(detector: PiiDetector, text: str) -> None:
    assert [v for t, v in _found(detector, text) if t == "person"] == []


def test_names_are_off_when_disabled() -> None:
    d = PiiDetector(PiiSettings(names=False))
    assert _found(d, "담당자 김민준 주무관, 010-2345-6789") == [("phone", "010-2345-6789")]


# --------------------------------------------------------------------------------------------
# Offsets, overlaps, settings
# --------------------------------------------------------------------------------------------


def test_offsets_point_into_the_original_text(detector: PiiDetector) -> None:
    text = "성명: 한상철 / 주민등록번호 850315-2345678 / 전화 010-2345-6789 / 메일 hsc@korea.kr"
    spans = detector.find(text)
    assert [(s.type, s.start, s.end) for s in spans] == [
        ("person", 4, 7),
        ("rrn", 17, 31),
        ("phone", 37, 50),
        ("email", 56, 68),
    ]
    assert all(text[s.start : s.end] == s.text for s in spans)
    assert mask(text, spans) == "성명: [성명] / 주민등록번호 [주민등록번호] / 전화 [전화번호] / 메일 [이메일]"


def test_overlapping_findings_keep_the_longest_then_the_most_specific(detector: PiiDetector) -> None:
    # 010-… near 송금 is also an account-shaped number: the phone wins (same span, more specific)
    assert _found(detector, "010-2345-6789로 송금해 주세요") == [("phone", "010-2345-6789")]
    # a whole address wins over the apartment unit inside it
    assert _found(detector, "주소 광교로 145, 101동 1202호") == [("address", "광교로 145, 101동 1202호")]


def test_types_setting_limits_what_is_looked_for() -> None:
    only_phone = PiiDetector(PiiSettings(types=["phone"]))
    assert _found(only_phone, "주민등록번호 850315-2345678, 전화 010-2345-6789") == [("phone", "010-2345-6789")]
    assert PiiDetector(PiiSettings(enabled=False)).find("010-2345-6789") == []
    with pytest.raises(ValidationError):
        PiiSettings(types=["phone", "blood_type"])
    with pytest.raises(ValidationError):
        PiiSettings(unknown_option=True)  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        PiiSettings().action = "warn"  # type: ignore[misc]
    assert set(PII_LABELS) == set(PII_TYPES)


def test_a_span_never_shows_its_value_in_repr_logs_or_audit(
    detector: PiiDetector, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="nuri.guardrails.pii")
    text = "신청인 한상철, 주민등록번호 850315-2345678"
    spans = detector.find(text)
    outcome = detector.apply(text)
    assert "850315" not in repr(spans) and "한상철" not in repr(spans)
    assert spans[1].redacted() == {"start": 16, "end": 30, "type": "rrn"}
    assert outcome.audit() == {"action": "mask", "blocked": False, "counts": {"person": 1, "rrn": 1}}
    assert caplog.records and not any("850315" in r.getMessage() or "한상철" in r.getMessage() for r in caplog.records)


# --------------------------------------------------------------------------------------------
# Actions and messages
# --------------------------------------------------------------------------------------------


def test_each_action_does_what_it_says(detector: PiiDetector) -> None:
    text = "전화 010-2345-6789, 메일 hong@korea.kr"
    masked = detector.apply(text)
    assert masked.text == "전화 [전화번호], 메일 [이메일]" and not masked.blocked
    assert masked.notice() == "전화번호, 이메일을 가렸습니다."
    blocked = PiiDetector(PiiSettings(action="block")).apply(text)
    assert blocked.blocked and blocked.text == text
    assert (
        blocked.notice() == "질문에 개인정보(전화번호, 이메일)가 있어 처리하지 않았습니다. 지우고 다시 질문해 주세요."
    )
    warned = PiiDetector(PiiSettings(action="warn")).apply(text)
    assert warned.text == text and not warned.blocked and warned.types == ["phone", "email"]
    pseudo = PiiDetector(PiiSettings(action="pseudonymise"))
    assert pseudo.apply(text, Pseudonymiser()).text == "전화 <전화번호_1>, 메일 <이메일_1>"
    with pytest.raises(ValueError):
        pseudo.apply(text)
    clean = detector.apply("제15조제1항의 뜻은?")
    assert not clean.found and clean.notice() is None and clean.text == "제15조제1항의 뜻은?"


def test_notices_use_the_right_particle_and_english() -> None:
    assert notice(["rrn"]) == "주민등록번호를 가렸습니다."
    assert notice(["person"]) == "성명을 가렸습니다."
    assert notice(["email", "address"]) == "이메일, 주소를 가렸습니다."
    assert notice(["rrn", "phone"], "mask", "en") == "Personal data masked: resident registration number, phone number."


# --------------------------------------------------------------------------------------------
# Pseudonymisation
# --------------------------------------------------------------------------------------------


def _spans(text: str, *values: tuple[str, str]) -> list[PiiSpan]:
    out = []
    for kind, value in values:
        start = text.index(value)
        out.append(PiiSpan(start, start + len(value), kind, value))
    return out


def test_the_same_value_gets_the_same_placeholder_for_the_whole_conversation(detector: PiiDetector) -> None:
    p = Pseudonymiser()
    q1 = "신청인 한상철, 전화 010-2345-6789"
    q2 = "한상철 님의 다른 번호 01098765432와 010.2345.6789"
    assert p.pseudonymise(q1, detector.find(q1)) == "신청인 <성명_1>, 전화 <전화번호_1>"
    assert p.pseudonymise(q2, detector.find(q2)) == "<성명_1> 님의 다른 번호 <전화번호_2>와 <전화번호_1>"
    assert p.placeholders == ["<성명_1>", "<전화번호_1>", "<전화번호_2>"]


def test_pseudonymise_then_restore_gives_the_original_back(detector: PiiDetector) -> None:
    p = Pseudonymiser()
    question = "민원인 이영희 씨(850315-2345678)의 주소 서울특별시 종로구 세종대로 209로 보내 주세요."
    sent = p.pseudonymise(question, detector.find(question))
    assert "이영희" not in sent and "850315" not in sent and "세종대로" not in sent
    assert p.restore(sent) == question
    answer = "<성명_1> 님, 요청하신 서류는 ＜주소_1＞로 발송됩니다. <성명 1>님의 <주민등록번호_1>는 표시하지 않습니다. <성명_9>"
    assert p.restore(answer) == (
        "이영희 님, 요청하신 서류는 서울특별시 종로구 세종대로 209로 발송됩니다. "
        "이영희님의 850315-2345678는 표시하지 않습니다. <성명_9>"
    )


def test_streamed_deltas_are_restored_even_when_a_placeholder_is_split() -> None:
    p = Pseudonymiser()
    text = "담당 <성명_1> 주무관, 연락처 <전화번호_1>. a < b 이고 <기타> 그대로"
    p.pseudonymise(
        "한상철 010-2345-6789", _spans("한상철 010-2345-6789", ("person", "한상철"), ("phone", "010-2345-6789"))
    )
    expected = p.restore(text)
    assert expected == "담당 한상철 주무관, 연락처 010-2345-6789. a < b 이고 <기타> 그대로"
    for cut in range(len(text) + 1):
        for size in (1, 3):
            r = p.restorer()
            pieces = [text[:cut]] + [text[i : i + size] for i in range(cut, len(text), size)]
            out = "".join(r.feed(piece) for piece in pieces) + r.flush()
            assert out == expected, (cut, size)


def test_a_restorer_does_not_hold_back_text_that_cannot_be_a_placeholder() -> None:
    p = Pseudonymiser()
    p.pseudonymise("한상철", _spans("한상철", ("person", "한상철")))
    r = p.restorer()
    assert r.feed("담당 <성") == "담당 "
    assert r.feed("명_1> 님 <") == "한상철 님 "
    assert r.feed("다음") == "<다음"
    assert r.flush() == ""


def test_the_map_stays_in_memory_only() -> None:
    p = Pseudonymiser()
    p.pseudonymise("한상철", _spans("한상철", ("person", "한상철")))
    assert "한상철" not in repr(p) and len(p) == 1
    with pytest.raises(TypeError):
        pickle.dumps(p)
    with pytest.raises(TypeError):
        copy.deepcopy(p)
    p.forget()
    assert len(p) == 0 and p.restore("<성명_1>") == "<성명_1>"


# --------------------------------------------------------------------------------------------
# Datasets and measured rates
# --------------------------------------------------------------------------------------------


def test_the_datasets_are_well_formed() -> None:
    pii, look = _load("pii_ko.jsonl"), _load("pii_lookalikes_ko.jsonl")
    assert len(pii) >= 120 and len(look) >= 80
    assert len({r["id"] for r in pii + look}) == len(pii) + len(look)
    kinds = [g["type"] for r in pii for g in r["pii"]]
    assert set(kinds) == set(PII_TYPES)
    assert kinds.count("person") >= 40
    for r in pii:
        assert r["pii"] and all(0 <= g["start"] < g["end"] <= len(r["text"]) for g in r["pii"])
        assert all(r["text"][g["start"] : g["end"]].strip() == r["text"][g["start"] : g["end"]] for g in r["pii"])
    assert all(r["pii"] == [] for r in look)


def _rates(detector: PiiDetector, pii: list[dict[str, Any]], look: list[dict[str, Any]]) -> dict[str, float]:
    c = counts(detector, pii, look)
    return {
        "structured_recall": c["structured"] / c["n_structured"],
        "person_recall": c["person"] / c["n_person"],
        "extra_spans_in_pii_sentences": c["extra"],
        "lookalikes_flagged": c["flagged"] / len(look),
        "n_structured": c["n_structured"],
        "n_person": c["n_person"],
        "n_lookalikes": len(look),
    }


def test_measured_rates_meet_the_goals(detector: PiiDetector) -> None:
    pii, look = _load("pii_ko.jsonl"), _load("pii_lookalikes_ko.jsonl")
    every = _rates(detector, pii, look)
    print(f"\nPII rates, all data: {every}")
    # ids: *-dev-* written with the detector; *-ho-*, *-ho2-*, *-ho3-* written after it (three
    # rounds: each measured once, before the fixes it prompted)
    for split in ("-dev-", "-ho-", "-ho2-", "-ho3-"):
        part = _rates(detector, [r for r in pii if split in r["id"]], [r for r in look if split in r["id"]])
        print(f"PII rates, {split.strip('-')}: {part}")
    assert every["structured_recall"] == 1.0
    assert every["person_recall"] >= 0.80
    assert every["lookalikes_flagged"] <= 0.02


def test_detection_is_fast_enough_for_the_input_check_budget(detector: PiiDetector) -> None:
    texts = [r["text"] for r in _load("pii_ko.jsonl") + _load("pii_lookalikes_ko.jsonl")]
    seconds = []
    for text in texts:
        t = time.perf_counter()
        detector.find(text)
        seconds.append(time.perf_counter() - t)
    assert statistics.median(seconds) < 0.030  # the whole input check has 30 ms at p50


def test_the_names_check_the_sparse_index_and_the_eval_share_one_kiwi():
    """Kiwi costs ~0.5 GB an instance and does not give all of it back when dropped: every
    service a process opens (the API, each test's) reuses the process's one analyser."""
    from connectors.morphology import shared_kiwi
    from evals.text_metrics import _kiwi
    from guardrails.pii import PiiDetector
    from guardrails.settings import PiiSettings
    from retrieval.sparse import KoreanSparseEncoder

    first, second = PiiDetector(PiiSettings()), PiiDetector(PiiSettings())
    sparse = KoreanSparseEncoder()
    sparse.warm_up()
    assert first._kiwi_instance() is second._kiwi_instance() is shared_kiwi()
    assert sparse._loaded is shared_kiwi() and _kiwi().kiwi is shared_kiwi()
    assert first._kiwi_lock is sparse._lock is _kiwi().lock
    assert [t.form for t in first._tokens("홍길동 주무관")][:1] == ["홍길동"]
