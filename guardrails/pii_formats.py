"""Validators of Korean structured identifiers: the checks that tell a personal number from a
number of the same shape (a document number, a date, a statute reference).

Every function takes the digits (or the letters and digits) of a candidate and answers whether
it is a well-formed identifier of that kind; none of them logs or keeps its input.

- 주민등록번호 (RRN): ``YYMMDD-GNNNNNN``; G is the century and sex digit (9/0: 1800s, 1/2: 1900s,
  3/4: 2000s), the date must exist, and the 13th digit is the check digit
  ``(11 - Σ dᵢ·wᵢ mod 11) mod 10`` with weights 2,3,4,5,6,7,8,9,2,3,4,5.
- 외국인등록번호 (ARN): the same shape with G in 5–8 (5/6: 1900s, 7/8: 2000s); the check digit is
  ``(13 - Σ dᵢ·wᵢ mod 11) mod 10`` (the RRN rule plus 2). The older rules (an even registering
  office number in digits 8–9, a registrant-type digit 6–9 in the 12th place) are not required:
  numbers issued since 2020 need not follow them.
- 사업자등록번호 (BRN): ``NNN-NN-NNNNN``; weights 1,3,7,1,3,7,1,3,5 over the first nine digits,
  plus ``⌊d₉·5/10⌋``; the 10th digit is ``(10 - sum mod 10) mod 10``.
- 카드번호: 13–19 digits passing the Luhn check.
"""

from __future__ import annotations

import calendar
import ipaddress
from collections.abc import Sequence

RRN_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
BRN_WEIGHTS = (1, 3, 7, 1, 3, 7, 1, 3, 5)

# century of the birth year per 7th digit (sex/century digit); 5-8 are foreign residents
_CENTURY = {
    "9": 1800,
    "0": 1800,
    "1": 1900,
    "2": 1900,
    "3": 2000,
    "4": 2000,
    "5": 1900,
    "6": 1900,
    "7": 2000,
    "8": 2000,
}
RRN_SEX_DIGITS = frozenset("01234" + "9")
ARN_SEX_DIGITS = frozenset("5678")

# 휴대전화 prefixes and 지역번호 (area codes) of a personal or office line; 070 is internet telephony
MOBILE_PREFIXES = frozenset({"010", "011", "016", "017", "018", "019"})
AREA_CODES = frozenset(
    {"02", "031", "032", "033", "041", "042", "043", "044", "051", "052", "053", "054", "055"}
    | {"061", "062", "063", "064", "070"}
)
# 운전면허 지역번호: 11 서울 ... 26 울산, 28 경기북부 (27 unused; tolerated)
LICENCE_REGIONS = range(11, 29)
LICENCE_REGION_NAMES = {
    "서울": 11,
    "부산": 12,
    "경기": 13,
    "강원": 14,
    "충북": 15,
    "충남": 16,
    "전북": 17,
    "전남": 18,
    "경북": 19,
    "경남": 20,
    "제주": 21,
    "대구": 22,
    "인천": 23,
    "광주": 24,
    "대전": 25,
    "울산": 26,
    "경기북부": 28,
    "경기남부": 13,
}


def digits_of(text: str) -> str:
    """The digits of ``text``, in order (separators dropped)."""
    return "".join(c for c in text if c.isdigit())


def _weighted(digits: Sequence[int], weights: Sequence[int]) -> int:
    return sum(d * w for d, w in zip(digits, weights, strict=False))


def birth_date_ok(yymmdd: str, sex_digit: str) -> bool:
    """Whether ``YYMMDD`` is a real date in the century the 7th digit gives."""
    if len(yymmdd) != 6 or not yymmdd.isdigit() or sex_digit not in _CENTURY:
        return False
    year = _CENTURY[sex_digit] + int(yymmdd[:2])
    month, day = int(yymmdd[2:4]), int(yymmdd[4:6])
    return 1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1]


def rrn_check_digit(first12: str) -> int:
    return (11 - _weighted([int(c) for c in first12], RRN_WEIGHTS) % 11) % 10


def arn_check_digit(first12: str) -> int:
    return (13 - _weighted([int(c) for c in first12], RRN_WEIGHTS) % 11) % 10


def rrn_shape_ok(digits: str) -> bool:
    """13 digits, a real birth date and a 주민등록번호 sex/century digit (checksum not checked)."""
    return len(digits) == 13 and digits[6] in RRN_SEX_DIGITS and birth_date_ok(digits[:6], digits[6])


def arn_shape_ok(digits: str) -> bool:
    """13 digits, a real birth date and a 외국인등록번호 sex/century digit (checksum not checked)."""
    return len(digits) == 13 and digits[6] in ARN_SEX_DIGITS and birth_date_ok(digits[:6], digits[6])


def rrn_valid(digits: str) -> bool:
    """A 주민등록번호 whose check digit is right."""
    return rrn_shape_ok(digits) and rrn_check_digit(digits[:12]) == int(digits[12])


def arn_valid(digits: str) -> bool:
    """A 외국인등록번호 whose check digit is right."""
    return arn_shape_ok(digits) and arn_check_digit(digits[:12]) == int(digits[12])


def brn_check_digit(first9: str) -> int:
    d = [int(c) for c in first9]
    total = _weighted(d, BRN_WEIGHTS) + (d[8] * 5) // 10
    return (10 - total % 10) % 10


def brn_valid(digits: str) -> bool:
    """A 사업자등록번호 (10 digits) whose check digit is right."""
    return len(digits) == 10 and digits.isdigit() and brn_check_digit(digits[:9]) == int(digits[9])


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check of card numbers."""
    if not digits.isdigit() or len(digits) < 2:
        return False
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def luhn_check_digit(payload: str) -> int:
    """The digit that completes ``payload`` into a Luhn-valid number."""
    for d in range(10):
        if luhn_valid(payload + str(d)):
            return d
    raise AssertionError("unreachable: one of ten digits completes any payload")


def phone_ok(groups: Sequence[str]) -> bool:
    """Whether digit groups (prefix, exchange, line) make a Korean mobile or landline number:
    a known prefix, a 3–4 digit exchange not starting with 0, a 4 digit line. Representative
    numbers (1588-xxxx …) are a business's and are not personal."""
    prefix, exchange, line = groups
    if len(line) != 4 or not 3 <= len(exchange) <= 4:
        return False
    return (prefix in MOBILE_PREFIXES or prefix in AREA_CODES) and exchange[0] != "0"


def licence_region_ok(code: str) -> bool:
    return code.isdigit() and int(code) in LICENCE_REGIONS


def ipv4_ok(text: str) -> bool:
    """Four decimal octets 0–255 without leading zeros."""
    parts = text.split(".")
    if len(parts) != 4:
        return False
    return all(p.isdigit() and len(p) <= 3 and (len(p) == 1 or p[0] != "0") and int(p) <= 255 for p in parts)


def ipv4_personal(text: str) -> bool:
    """A valid IPv4 address that can point at a person's device: not "this host" (0.x),
    loopback (127.x) or a netmask/broadcast (255.x)."""
    return ipv4_ok(text) and text.split(".")[0] not in ("0", "127", "255")


def ipv6_ok(text: str) -> bool:
    """A valid IPv6 address written with at least three groups, one of them looking like hex
    (a letter or three or more digits): times ("12:30:45") and ratios are not addresses."""
    groups = [g for g in text.split(":") if g]
    if len(groups) < 2 or text.count(":") < 2:
        return False
    if not any(len(g) >= 3 or any(c in "abcdefABCDEF" for c in g) for g in groups):
        return False
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True
