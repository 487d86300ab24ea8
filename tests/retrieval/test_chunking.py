from connectors.types import Block, Document, Section
from retrieval.chunking import chunk_document
from retrieval.settings import ChunkingSettings


def _doc(sections):
    return Document(doc_id="statute:x", source="/x", title="가상법", sections=sections)


def test_short_article_is_one_chunk_with_article_anchor(embedder):
    doc = _doc([Section(anchor="가상법 제3조", title="정의", blocks=[Block("① 짧은 정의 조문이다.", "제1항")])])
    chunks = chunk_document(doc, embedder.count_tokens, ChunkingSettings())
    assert [c.anchor for c in chunks] == ["가상법 제3조"]
    assert chunks[0].header.endswith("가상법 제3조(정의)")
    assert chunks[0].embed_text.startswith("가상법")


def test_long_article_splits_by_paragraph_and_narrows_anchor(embedder):
    paragraphs = [
        Block(
            f"{'①②③④'[i]} " + "공무원은 성실히 직무를 수행하여야 하며 관련 법령을 준수하여야 한다. " * 12,
            f"제{i + 1}항",
        )
        for i in range(4)
    ]
    doc = _doc([Section(anchor="가상법 제7조", title="의무", heading_path=["제2장 복무"], blocks=paragraphs)])
    settings = ChunkingSettings(max_tokens=200)
    chunks = chunk_document(doc, embedder.count_tokens, settings)
    assert len(chunks) >= 2
    assert all(c.anchor.startswith("가상법 제7조 제") for c in chunks)
    assert chunks[0].anchor.startswith("가상법 제7조 제1항")
    assert all(embedder.count_tokens(c.embed_text) <= settings.max_tokens + 8 for c in chunks)
    assert "제2장 복무" in chunks[0].header
    # nothing lost: every paragraph's text appears in some chunk
    joined = "\n".join(c.text for c in chunks)
    assert all(p.text[:20] in joined for p in paragraphs)


def test_oversized_single_paragraph_is_cut_at_sentences(embedder):
    sentence = "민원인은 처리 기간 안에 결과를 통지받을 권리가 있다. "
    doc = _doc([Section(anchor="안내", blocks=[Block(sentence * 80)])])
    settings = ChunkingSettings(max_tokens=128)
    chunks = chunk_document(doc, embedder.count_tokens, settings)
    assert len(chunks) > 3
    assert all(embedder.count_tokens(c.embed_text) <= settings.max_tokens + 8 for c in chunks)
    assert all(c.text.rstrip().endswith("있다.") for c in chunks[:-1])


def test_empty_sections_produce_no_chunks(embedder):
    doc = _doc([Section(anchor="빈 절", blocks=[Block("   ")]), Section(anchor="본문", blocks=[Block("내용")])])
    chunks = chunk_document(doc, embedder.count_tokens, ChunkingSettings())
    assert [c.anchor for c in chunks] == ["본문"]
    assert [c.index for c in chunks] == [0]


def test_each_defined_term_is_a_chunk_of_its_own_carrying_the_term_and_the_sections_refs(embedder):
    blocks = [
        Block(
            '이 법에서 사용하는 용어의 뜻은 다음과 같다.\n1. "공무원"이란 가상의 직무를 하는 사람을 말한다.',
            "제1호",
            True,
            "공무원",
        ),
        Block('2. "출장"이란 근무지 밖에서 일하는 것을 말한다.', "제2호", True, "출장"),
        Block("② 그 밖의 용어는 「가상기본법」 제2조에 따른다.", "제2항"),
        Block("③ 짧다.", "제3항"),
    ]
    section = Section(anchor="가상법 제2조", title="정의", blocks=blocks, refs=["가상기본법 제2조"])
    chunks = chunk_document(_doc([section]), embedder.count_tokens, ChunkingSettings())
    assert [(c.anchor, c.term) for c in chunks] == [
        ("가상법 제2조 제1호", "공무원"),
        ("가상법 제2조 제2호", "출장"),
        ("가상법 제2조 제2항~제3항", None),
    ]
    assert all(c.section == "가상법 제2조" and c.refs == ["가상기본법 제2조"] for c in chunks)
