"""Korean particles that agree with the word before them (이/가, 을/를, 은/는, 으로/로): user-facing
notices are built from names ("표식", "전화번호") and must not read "표식가"."""

from __future__ import annotations


def has_final_consonant(word: str) -> bool:
    """Whether the last syllable has a final consonant (받침); a word that does not end in
    Hangul is read as ending in a vowel."""
    last = word.rstrip()[-1:] or " "
    return "가" <= last <= "힣" and (ord(last) - 0xAC00) % 28 != 0


def particle(word: str, after_consonant: str, after_vowel: str) -> str:
    """``word`` with the particle that agrees with it: ``particle("표식", "이", "가")`` → "표식이"."""
    return word + (after_consonant if has_final_consonant(word) else after_vowel)
