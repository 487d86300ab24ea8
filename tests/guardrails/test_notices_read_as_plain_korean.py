"""What the guardrails tell users reads as plain Korean: particles agree with the word before
them ("표식이", not "표식가"), and no rule id or probability is part of a reason."""

from __future__ import annotations

from guardrails.injection import CATEGORY_KO
from guardrails.particles import has_final_consonant, particle


def test_particles_agree_with_the_last_syllable():
    assert particle("표식", "이", "가") == "표식이"
    assert particle("시도", "이", "가") == "시도가"
    assert particle("주민등록번호", "을", "를") == "주민등록번호를"
    assert particle("전화번호 목록", "을", "를") == "전화번호 목록을"
    assert not has_final_consonant("API") and not has_final_consonant("")


def test_every_injection_category_takes_its_own_subject_particle():
    for name in CATEGORY_KO.values():
        subject = particle(name, "이", "가")
        assert subject.endswith("이" if has_final_consonant(name) else "가"), subject
    assert particle(CATEGORY_KO["marker"], "이", "가").endswith("표식이")
