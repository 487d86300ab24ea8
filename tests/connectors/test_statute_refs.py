"""Statute structure the retrieval uses: cross-references between articles (the act article an
enforcement decree article implements, laws named in 「」 and repeated by "같은 법", lists and
ranges, bare article numbers of the same law), on sentences and files of the shared statutes,
and a definition article split into one piece per defined term."""

from __future__ import annotations

from conftest import require_shared

from connectors.statute_refs import family, references

ACT = "개인정보 보호법"
DECREE = "개인정보 보호법 시행령"


def test_family_of_act_decree_and_rules():
    assert family(ACT) == (ACT, DECREE, "개인정보 보호법 시행규칙")
    assert family(DECREE)[0] == ACT
    assert family("국가공무원법 시행규칙")[:2] == ("국가공무원법", "국가공무원법 시행령")


def test_a_decree_article_links_to_the_act_articles_it_implements():
    # 개인정보 보호법 시행령 제3조, as in ../shared/data
    text = '① 법 제2조제7호에서 "대통령령으로 정하는 장치"란 다음 각 호의 장치를 말한다.'
    assert references(text, DECREE) == ["개인정보 보호법 제2조"]
    text = (
        '법 제7조제1항에 따른 개인정보 보호위원회(이하 "보호위원회"라 한다)의 위원은 법 제7조의6제1항에 따라 '
        "1. 법 제7조의9제1항에 따라 보호위원회가 심의ㆍ의결하는 사항"
    )
    assert references(text, DECREE) == ["개인정보 보호법 제7조", "개인정보 보호법 제7조의6", "개인정보 보호법 제7조의9"]


def test_named_laws_and_the_same_law_again():
    text = (
        "「국가공무원법」 제33조제2호는 파산선고를 받은 사람으로서 「채무자 회생 및 파산에 관한 법률」에 따라 "
        "같은 법 제33조제5호는 「형법」 제129조부터 제132조까지, 「형법」 제355조 또는 제356조에 규정된 죄"
    )
    refs = references(text, ACT)
    # "같은 법" after 「채무자 회생 …」 (named without an article) is that law
    assert refs[0] == "국가공무원법 제33조"
    assert "채무자 회생 및 파산에 관한 법률 제33조" in refs
    assert [r for r in refs if r.startswith("형법")] == [f"형법 제{n}조" for n in (129, 130, 131, 132, 355, 356)]


def test_the_same_law_s_decree():
    text = "과징금의 납부기한을 「행정기본법」 제29조 및 같은 법 시행령 제7조에 따라 연기하는 경우"
    assert references(text, DECREE) == ["행정기본법 제29조", "행정기본법 시행령 제7조"]


def test_bare_articles_are_the_same_law_unless_they_continue_a_list():
    assert references("제15조제1항제2호에 따라 수집한 개인정보", ACT) == ["개인정보 보호법 제15조"]
    assert references("법 제15조제1항 및 제17조에 따라", DECREE) == ["개인정보 보호법 제15조", "개인정보 보호법 제17조"]
    # a new sentence after another law's article is the same law again
    text = "「행정절차법」 제21조에 따른 사전통지를 한다. 이 경우 제5조에 따른 기간"
    assert references(text, ACT) == ["행정절차법 제21조", "개인정보 보호법 제5조"]


def test_rules_name_the_decree_as_영_and_long_ranges_keep_their_ends():
    assert references("영 제3조에 따른 신청서", "국가공무원법 시행규칙") == ["국가공무원법 시행령 제3조"]
    assert references("이 영 제4조", DECREE) == ["개인정보 보호법 시행령 제4조"]
    assert references("제10조부터 제40조까지의 규정", ACT) == ["개인정보 보호법 제10조", "개인정보 보호법 제40조"]


def test_words_ending_in_법_are_not_the_act():
    # "방법 제2조" never occurs, but a Hangul word before 법 must not turn it into "the act"
    assert references("처리 방법 제2조", DECREE) == ["개인정보 보호법 시행령 제2조"]


def test_the_shared_decree_links_each_article_to_the_act_article_it_implements():
    from connectors.settings import ConnectorSettings
    from connectors.statute import parse_statute

    folder = require_shared("statutes/kr/개인정보보호법")
    decree = parse_statute(folder / "시행령.md", ConnectorSettings())
    refs = {s.anchor: s.refs for s in decree.sections}
    # 제23조(고정형 영상정보처리기기 설치 시 의견 수렴) implements 법 제25조
    assert "개인정보 보호법 제25조" in refs["개인정보 보호법 시행령 제23조"]
    assert refs["개인정보 보호법 시행령 제3조"] == ["개인정보 보호법 제2조"]
    # an article never links to itself
    assert all(anchor not in targets for anchor, targets in refs.items())
    linked = sum(1 for targets in refs.values() if any(t.startswith("개인정보 보호법 제") for t in targets))
    assert linked >= 0.6 * len(refs)


def test_a_definition_article_gives_one_standalone_block_per_term():
    from connectors.settings import ConnectorSettings
    from connectors.statute import parse_statute

    act = parse_statute(require_shared("statutes/kr/개인정보보호법/법률.md"), ConnectorSettings())
    definitions = next(s for s in act.sections if s.anchor == "개인정보 보호법 제2조")
    terms = {b.label: b.term for b in definitions.blocks}
    assert terms["제1호의2"] == "가명처리"
    assert terms["제1호"] == "개인정보"
    assert all(b.standalone for b in definitions.blocks if b.term)
    first = definitions.blocks[0]
    assert first.text.startswith("이 법에서 사용하는 용어의 뜻은") and "가. 성명" in first.text
