"""Text normalisation before the guardrail checks: undo the usual obfuscations of an attack.

:func:`normalize` gives the canonical form of a text (NFKC, invisible characters removed, Hangul
compatibility jamo composed into syllables, whitespace folded); :func:`variants` adds the forms
that only the rule matcher reads (homoglyphs and leetspeak folded, spaced-out letters joined,
whitespace removed) and the decoded payloads (base64, hex, URL-encoding, HTML entities, Unicode
tag characters) of sufficient length that decode to printable UTF-8, each normalised in turn.

Nothing here needs a model: the functions are pure and cheap (a few regular expressions over
the text); :func:`analyse` runs them all once and says which obfuscations it saw.
"""

from __future__ import annotations

import base64
import binascii
import html
import re
import unicodedata
import urllib.parse
from dataclasses import dataclass

# --- invisible characters ---------------------------------------------------------------------

#: Zero-width and other invisible code points removed before any check (Hangul fillers included:
#: they render as nothing and split words apart).
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0]"
)
#: Unicode tag characters (U+E0000..E007F): invisible, but they spell ASCII ("ASCII smuggling").
_TAGS = re.compile("[\U000e0000-\U000e007f]+")


def strip_invisible(text: str) -> str:
    return _INVISIBLE.sub("", _TAGS.sub("", text))


def decode_tags(text: str) -> str:
    """The ASCII text that Unicode tag characters spell ("" when there are none)."""
    return "".join(
        chr(ord(ch) - 0xE0000) for run in _TAGS.findall(text) for ch in run if 0x20 <= ord(ch) - 0xE0000 < 0x7F
    )


# --- Hangul jamo ------------------------------------------------------------------------------

_CHO = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
_JUNG = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
_JONG = "\0ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ"
_VOWEL_PAIRS = {"ㅗㅏ": "ㅘ", "ㅗㅐ": "ㅙ", "ㅗㅣ": "ㅚ", "ㅜㅓ": "ㅝ", "ㅜㅔ": "ㅞ", "ㅜㅣ": "ㅟ", "ㅡㅣ": "ㅢ"}
_FINAL_PAIRS = {
    "ㄱㅅ": "ㄳ",
    "ㄴㅈ": "ㄵ",
    "ㄴㅎ": "ㄶ",
    "ㄹㄱ": "ㄺ",
    "ㄹㅁ": "ㄻ",
    "ㄹㅂ": "ㄼ",
    "ㄹㅅ": "ㄽ",
    "ㄹㅌ": "ㄾ",
    "ㄹㅍ": "ㄿ",
    "ㄹㅎ": "ㅀ",
    "ㅂㅅ": "ㅄ",
}
_COMPAT_RUN = re.compile("[\u3131-\u318e]{2,}")
_HALFWIDTH_HANGUL = re.compile("[\uffa1-\uffdc]")


def _halfwidth_to_compat(text: str) -> str:
    def one(m: re.Match[str]) -> str:
        decomposition = unicodedata.decomposition(m.group()).split()
        return chr(int(decomposition[-1], 16)) if decomposition else m.group()

    return _HALFWIDTH_HANGUL.sub(one, text)


def _compose_run(run: str) -> str:
    out: list[str] = []
    i, n = 0, len(run)
    while i < n:
        c = run[i]
        if c in _CHO and i + 1 < n and run[i + 1] in _JUNG:
            v, j = run[i + 1], i + 2
            if j < n and v + run[j] in _VOWEL_PAIRS:
                v, j = _VOWEL_PAIRS[v + run[j]], j + 1
            t = ""
            # a consonant is a final only when no vowel follows it (else it starts the next syllable)
            if j < n and run[j] in _JONG and not (j + 1 < n and run[j + 1] in _JUNG):
                t, j = run[j], j + 1
                if j < n and t + run[j] in _FINAL_PAIRS and not (j + 1 < n and run[j + 1] in _JUNG):
                    t, j = _FINAL_PAIRS[t + run[j]], j + 1
            code = 0xAC00 + (_CHO.index(c) * 21 + _JUNG.index(v)) * 28 + (_JONG.index(t) if t else 0)
            out.append(chr(code))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def compose_jamo(text: str) -> str:
    """Compose runs of Hangul compatibility jamo ("ㅅㅣㅅㅡㅌㅔㅁ") into syllables ("시스템")."""
    return _COMPAT_RUN.sub(lambda m: _compose_run(m.group()), _halfwidth_to_compat(text))


def _nfkc_keeping_jamo(text: str) -> str:
    """NFKC, except lone compatibility jamo ("ㅋㅋ"): NFKC would turn them into conjoining
    initials; they stay as typed. Conjoining jamo sequences compose (NFKC composes canonically)."""
    parts = re.split("([\u3131-\u318e]+)", text)
    return "".join(p if i % 2 else unicodedata.normalize("NFKC", p) for i, p in enumerate(parts))


# --- homoglyphs and leetspeak -----------------------------------------------------------------

_HOMOGLYPHS = str.maketrans(
    {
        # Cyrillic
        "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
        "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "һ": "h",
        "ԁ": "d", "ԛ": "q", "ԝ": "w", "ɡ": "g", "ո": "n", "ս": "u",
        "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C",
        "Т": "T", "У": "Y", "Х": "X", "Ѕ": "S", "І": "I", "Ј": "J", "Һ": "H", "Ԁ": "D",
        # Greek
        "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p",
        "τ": "t", "υ": "u", "χ": "x", "ϲ": "c", "ϳ": "j",
        "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N",
        "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
        # Latin look-alikes outside ASCII that NFKC leaves alone
        "ı": "i", "ȷ": "j", "ℓ": "l", "ß": "ss", "ø": "o", "Ø": "O", "đ": "d", "ł": "l",
    }
)  # fmt: skip


def fold_homoglyphs(text: str) -> str:
    """Latin letters for their Cyrillic and Greek look-alikes ("іgnоrе" → "ignore")."""
    return text.translate(_HOMOGLYPHS)


_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "@": "a", "$": "s"})
# a maximal run of letters, digits and leet signs (those with a letter are folded): one pass over
# the text. "[A-Za-z0-9@$]*[A-Za-z][A-Za-z0-9@$]*" matched the same runs but rescanned a run of
# digits and signs from each of its positions (quadratic: 16 kB of "1@$" took seconds).
_LEET_TOKEN = re.compile(r"[A-Za-z0-9@$]+")
_LETTER = re.compile(r"[A-Za-z]")
# a leet sign between two letters ("1gn0r3"), or one leading three letters ("1nstruct")
_LEET_SIGN = re.compile(r"[A-Za-z][0-9@$]+[A-Za-z]|^[0-9@$][A-Za-z]{3}")


def fold_leet(text: str) -> str:
    """Letters for the digits and signs of leetspeak inside words ("1gn0r3" → "ignore");
    numbers, and words that merely end in digits ("A4", "covid19"), stay as they are."""

    def one(m: re.Match[str]) -> str:
        token = m.group()
        if len(token) > 24 or not _LETTER.search(token):
            return token
        return token.translate(_LEET) if _LEET_SIGN.search(token) else token

    return _LEET_TOKEN.sub(one, text)


# --- spacing obfuscation ----------------------------------------------------------------------

# Single letters/syllables separated by one space ("i g n o r e", "무 시 하 고"), 3 or more.
_SPACED = re.compile(r"(?<!\S)\w(?:[ \t]\w){2,}(?!\S)")
# Single letters/syllables joined by punctuation ("무.시.하.고", "s-y-s-t-e-m").
_DOTTED = re.compile(r"(?<!\w)\w(?:[.\-_/·*|+]\w){2,}(?!\w)")


def collapse_spacing(text: str) -> str:
    """Join letters spread out by spaces or punctuation; runs of several spaces stay word breaks."""
    text = _DOTTED.sub(lambda m: re.sub(r"[.\-_/·*|+]", "", m.group()), text)
    return _SPACED.sub(lambda m: re.sub(r"[ \t]", "", m.group()), text)


def compact(text: str) -> str:
    """The text without any whitespace (the Korean rules read it: spacing never splits a phrase)."""
    return re.sub(r"\s+", "", text)


# --- encoded payloads -------------------------------------------------------------------------

_B64 = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/_-]{16,}={0,2}(?![A-Za-z0-9+/=_-])")
_HEX = re.compile(r"(?:(?:\\x|0x)?[0-9a-fA-F]{2}[\s:,]?){8,}")
_URLENC = re.compile(r"(?:%[0-9A-Fa-f]{2}){3,}")
_ENTITY = re.compile(r"&#?[0-9A-Za-z]+;")


def _printable(raw: bytes, min_letters: int = 4) -> str | None:
    """``raw`` as text when it is UTF-8 that reads like text (printable, some letters)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not text.strip():
        return None
    printable = sum(ch.isprintable() or ch in "\n\r\t" for ch in text)
    letters = sum(ch.isalpha() for ch in text)
    if printable / len(text) < 0.95 or letters < min_letters or letters / len(text) < 0.4:
        return None
    return text


def _b64decode(token: str) -> bytes | None:
    token = token.rstrip("=")
    if not (re.search(r"[0-9+/_-]", token) or (re.search("[a-z]", token) and re.search("[A-Z]", token))):
        return None  # a plain word, not a payload
    padded = token + "=" * (-len(token) % 4)
    altchars = b"-_" if re.search(r"[-_]", token) else None
    try:
        return base64.b64decode(padded, altchars=altchars, validate=True)
    except (binascii.Error, ValueError):
        return None


def decode_payloads(text: str, min_chars: int = 16) -> list[tuple[str, str]]:
    """(encoding, decoded text) for each embedded payload that decodes to printable UTF-8."""
    found: list[tuple[str, str]] = []
    for m in _B64.finditer(text):
        if len(m.group()) >= min_chars and (raw := _b64decode(m.group())) is not None:
            decoded = _printable(raw)
            if decoded is not None:
                found.append(("base64", decoded))
    for m in _HEX.finditer(text):
        digits = re.sub(r"\\x|0x|[\s:,]", "", m.group())
        if len(digits) >= min_chars and len(digits) % 2 == 0:
            decoded = _printable(bytes.fromhex(digits))
            if decoded is not None:
                found.append(("hex", decoded))
    if _URLENC.search(text):
        decoded_url = urllib.parse.unquote(text, errors="replace")
        if decoded_url != text and "\ufffd" not in decoded_url:
            found.append(("url", decoded_url))
    if _ENTITY.search(text):
        unescaped = html.unescape(text)
        if unescaped != text:
            found.append(("html", unescaped))
    tags = decode_tags(text)
    if len(tags) >= 4:
        found.append(("tags", tags))
    return found


# --- the whole pass ---------------------------------------------------------------------------


def normalize(text: str) -> str:
    """The canonical form: invisible characters removed, compatibility jamo composed, NFKC
    (full-width → ASCII, conjoining jamo composed), whitespace runs inside a line folded."""
    return _fold_spaces(_nfkc_keeping_jamo(compose_jamo(strip_invisible(text))))


@dataclass(frozen=True, slots=True)
class Variant:
    """One form of the text to check: ``kind`` says how it was obtained."""

    kind: str  # normalized | folded | collapsed | compact | decoded:base64 | decoded:hex | …
    text: str


@dataclass(frozen=True, slots=True)
class Analysis:
    original: str
    normalized: str
    variants: tuple[Variant, ...]  # normalized first; no two with the same text
    obfuscations: frozenset[str]  # what was undone: invisible, jamo, nfkc, homoglyph, leet, spacing, base64, …

    @property
    def decoded(self) -> tuple[str, ...]:
        """The decoded payloads (normalised)."""
        return tuple(v.text for v in self.variants if v.kind.startswith("decoded:") and v.kind.count(":") == 1)

    @property
    def deobfuscated(self) -> str | None:
        """The most plain-text form when an obfuscation changed the meaning-bearing text (a
        decoded payload, or letters folded/joined), else None: the classifier reads it too."""
        if self.decoded:
            return "\n".join(self.decoded)
        if self.obfuscations & {"invisible", "jamo", "nfkc", "homoglyph", "leet", "spacing", "tags"}:
            for kind in ("collapsed", "folded"):
                for v in self.variants:
                    if v.kind == kind:
                        return v.text
            return self.normalized if self.normalized != self.original.strip() else None
        return None


def _fold_spaces(text: str) -> str:
    return re.sub(r"[^\S\n]+", " ", text).strip()


def _surface(text: str) -> list[Variant]:
    unfolded = _nfkc_keeping_jamo(compose_jamo(strip_invisible(text)))
    normal = _fold_spaces(unfolded)
    folded = fold_leet(fold_homoglyphs(normal))
    # joined before whitespace is folded: "i g n o r e   p r e v i o u s" keeps its word break
    collapsed = _fold_spaces(collapse_spacing(fold_leet(fold_homoglyphs(unfolded))))
    return [
        Variant("normalized", normal),
        Variant("folded", folded),
        Variant("collapsed", collapsed),
        Variant("compact", compact(collapsed)),
    ]


def analyse(text: str, max_depth: int = 2, min_payload_chars: int = 16) -> Analysis:
    """Normalise ``text`` and list every variant worth checking (decoded payloads up to
    ``max_depth`` levels deep: base64 inside base64)."""
    seen: set[str] = set()
    variants: list[Variant] = []
    obfuscations: set[str] = set()

    def add(v: Variant) -> None:
        if v.text and v.text not in seen:
            seen.add(v.text)
            variants.append(v)

    surface = _surface(text)
    for v in surface:
        add(v)
    stripped = strip_invisible(text)
    if stripped != text:
        obfuscations.add("invisible")
    if compose_jamo(stripped) != stripped:
        obfuscations.add("jamo")
    if unicodedata.normalize("NFKC", stripped) != stripped and any(
        unicodedata.decomposition(ch).startswith(("<wide>", "<narrow>", "<font>")) for ch in stripped
    ):
        obfuscations.add("nfkc")
    normal = surface[0].text
    if fold_homoglyphs(normal) != normal and re.search("[A-Za-z]", normal):
        obfuscations.add("homoglyph")
    if fold_leet(fold_homoglyphs(normal)) != fold_homoglyphs(normal):
        obfuscations.add("leet")
    if any(len(m.group()) >= 9 for m in _SPACED.finditer(surface[1].text)) or any(
        len(m.group()) >= 7 for m in _DOTTED.finditer(surface[1].text)
    ):
        obfuscations.add("spacing")  # five letters or more spread out (a stray "그 외 몇" is not)

    frontier = [text]
    for _ in range(max_depth):
        nxt = []
        for source in frontier:
            for encoding, decoded in decode_payloads(strip_invisible(source), min_payload_chars):
                if decoded in seen:
                    continue
                obfuscations.add(encoding)
                for v in _surface(decoded):
                    add(
                        Variant(
                            f"decoded:{encoding}" if v.kind == "normalized" else f"decoded:{encoding}:{v.kind}", v.text
                        )
                    )
                nxt.append(decoded)
        frontier = nxt
    return Analysis(text, normal, tuple(variants), frozenset(obfuscations))


def variants(text: str) -> list[str]:
    """Every text form to check (normalised first)."""
    return [v.text for v in analyse(text).variants]
