"""Structure-aware, token-bounded chunking.

A Section (statute article, heading body, PDF page) becomes one chunk when it fits the token
budget; otherwise its Blocks (항, paragraphs) are packed greedily into several chunks, and a
single block that is still too long is cut at sentence ends. Each chunk keeps the section's
anchor, narrowed to the 항 it covers ("개인정보 보호법 제15조 제2항") when the article had to be
split. ``embed_text`` prefixes the document title, enclosing headings and article title, so a
chunk is understandable on its own to the encoder and to BM25.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from connectors.types import Block, Document, Section
from retrieval.settings import ChunkingSettings
from retrieval.types import Chunk

TokenCounter = Callable[[str], int]

_SENTENCE_END = re.compile(r"(?<=[.!?。])\s+|(?<=다\.)|\n+")


def chunk_document(doc: Document, count_tokens: TokenCounter, settings: ChunkingSettings) -> list[Chunk]:
    chunks: list[Chunk] = []
    for section in doc.sections:
        for anchor, body, term in _split_section(section, doc.title, count_tokens, settings):
            header = _header(doc.title, section, anchor)
            chunks.append(
                Chunk(
                    doc_id=doc.doc_id,
                    index=len(chunks),
                    anchor=anchor,
                    text=body,
                    header=header,
                    heading_path=list(section.heading_path),
                    page=section.page,
                    section=section.anchor,
                    refs=list(section.refs),
                    term=term,
                )
            )
    return chunks


def _header(doc_title: str, section: Section, anchor: str) -> str:
    lead = anchor if anchor.startswith(doc_title) else f"{doc_title} {anchor}"
    if section.title:
        lead = f"{lead}({section.title})"
    path = [h for h in section.heading_path if h != doc_title]  # a Markdown H1 is the title
    return " > ".join([doc_title, *path]) + "\n" + lead


def _split_section(
    section: Section, doc_title: str, count_tokens: TokenCounter, settings: ChunkingSettings
) -> list[tuple[str, str, str | None]]:
    """(anchor, text, defined term) of each chunk of ``section``."""
    header_tokens = count_tokens(_header(doc_title, section, section.anchor))
    budget = max(settings.max_tokens - header_tokens, settings.max_tokens // 2)
    pieces: list[tuple[Block, int]] = []
    for block in section.blocks:
        if not block.text.strip():
            continue
        n = count_tokens(block.text)
        if n <= budget:
            pieces.append((block, n))
        else:
            pieces.extend((b, count_tokens(b.text)) for b in _split_block(block, budget, count_tokens))
    if not pieces:
        return []

    groups: list[list[Block]] = [[]]
    used = 0
    for block, n in pieces:
        alone = block.standalone or (groups[-1] and groups[-1][-1].standalone)
        if groups[-1] and (alone or (used + n > budget and used >= settings.min_tokens)):
            groups.append([])
            used = 0
        groups[-1].append(block)
        used += n
    if len(groups) == 1:
        return [(section.anchor, "\n".join(b.text for b in groups[0]), _term(groups[0]))]
    return [(_narrow_anchor(section.anchor, g), "\n".join(b.text for b in g), _term(g)) for g in groups]


def _term(group: list[Block]) -> str | None:
    """The defined term of a chunk that is exactly one standalone definition block."""
    return group[0].term if len(group) == 1 and group[0].standalone else None


def _narrow_anchor(anchor: str, group: list[Block]) -> str:
    labels = [b.label for b in group if b.label]
    if not labels:
        return anchor
    first, last = labels[0], labels[-1]
    return f"{anchor} {first}" if first == last else f"{anchor} {first}~{last}"


def _split_block(block: Block, budget: int, count_tokens: TokenCounter) -> list[Block]:
    """Cut an over-long block at sentence ends (or hard, by characters, as a last resort)."""
    sentences = [s for s in _SENTENCE_END.split(block.text) if s and s.strip()]
    out: list[str] = []
    current = ""
    for sent in sentences:
        candidate = f"{current} {sent}".strip() if current else sent.strip()
        if current and count_tokens(candidate) > budget:
            out.append(current)
            current = sent.strip()
        else:
            current = candidate
    if current:
        out.append(current)
    final: list[str] = []
    for piece in out:
        while count_tokens(piece) > budget and len(piece) > 1:
            cut = _hard_cut(piece, budget, count_tokens)
            final.append(piece[:cut])
            piece = piece[cut:]
        final.append(piece)
    return [Block(text=t, label=block.label, standalone=block.standalone, term=block.term) for t in final if t.strip()]


def _hard_cut(text: str, budget: int, count_tokens: TokenCounter) -> int:
    """The longest prefix within ``budget``, moved back to the last space in its second half
    so that a word (or a sentence's final "다.") is not cut in two."""
    lo, hi = 1, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if count_tokens(text[:mid]) <= budget:
            lo = mid
        else:
            hi = mid - 1
    space = text.rfind(" ", lo // 2, lo)
    return space + 1 if space > 0 else lo
