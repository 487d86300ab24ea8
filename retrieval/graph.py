"""Query-time signals beyond the dense and sparse legs, applied to the collapsed hybrid ranking
(one candidate per section, scored by Qdrant's fusion):

* **title**: a candidate whose title line (document title, 장/절, article title: the chunk's
  ``header``) holds the query's terms gets its score multiplied by
  ``1 + title_weight × share of query terms found there``, so "출장비" in a question meets an
  article titled so even when the body words differ;
* **reference graph**: the sections the best-ranked ones (seeds) cite (``refs``: an enforcement
  decree article's "법 제27조") and the sections citing them, each ranked by the same hybrid
  query restricted to those sections. The j-th linked section of a seed scores at least
  ``weight × decay^(j-1) × the seed's score``: an act article and the decree article
  implementing it bring each other along, right behind whichever of the two the question's
  wording found, without passing it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from retrieval.sparse import KoreanSparseEncoder
from retrieval.store import ScoredPayload, best_first


def section_key(sp: ScoredPayload) -> str:
    """The section a point belongs to, as references name it ("개인정보 보호법 제15조")."""
    p = sp.payload
    return str(p.get("section") or p.get("anchor") or sp.id)


def unit_key(sp: ScoredPayload) -> tuple[str, str]:
    """(document, section): two documents may both have a section called "개요"."""
    return str(sp.payload.get("doc_id", "")), section_key(sp)


def law_of(section: str) -> str:
    """The law part of a statute section anchor ("개인정보 보호법 시행령 제23조" -> the decree)."""
    head, _, tail = section.rpartition(" 제")
    return head if head and tail[:1].isdigit() else ""


def with_title_signal(
    query_terms: set[str], candidates: list[ScoredPayload], sparse: KoreanSparseEncoder, weight: float
) -> list[ScoredPayload]:
    """Candidates re-scored by the share of query terms their title line holds, best first."""
    if not query_terms or weight <= 0 or not candidates:
        return candidates
    headers = [str(sp.payload.get("header", "")) for sp in candidates]
    boosted = []
    for sp, terms in zip(candidates, sparse.terms_many(headers), strict=True):
        share = len(query_terms & set(terms)) / len(query_terms)
        boosted.append(replace(sp, score=sp.score * (1.0 + weight * share)) if share else sp)
    return best_first(boosted)


def linked_sections(seeds: list[ScoredPayload], cross_law_only: bool) -> tuple[list[str], list[str]]:
    """(sections the seeds cite, the seeds' own sections), both in first-seen order."""
    own = [section_key(sp) for sp in seeds]
    cited: dict[str, None] = {}
    for sp, key in zip(seeds, own, strict=True):
        for ref in sp.payload.get("refs") or []:
            if ref in own or (cross_law_only and law_of(ref) == law_of(key)):
                continue
            cited[ref] = None
    return list(cited), own


@dataclass(slots=True)
class GraphWeights:
    out_weight: float  # for sections a seed cites
    in_weight: float  # for sections citing a seed
    decay: float
    cross_law_only: bool


def with_graph_signal(
    ranked: list[ScoredPayload],
    seeds: list[ScoredPayload],
    query_within: Callable[[str, list[str]], list[ScoredPayload]],
    w: GraphWeights,
) -> list[ScoredPayload]:
    """``ranked`` with the seeds' linked sections scored up to ``weight × decay^(j-1) × seed
    score`` (j: the section's rank among the seed's links for this query); sections not yet in
    ``ranked`` join it. ``query_within(field, values)`` runs the hybrid query restricted to
    points whose ``field`` holds one of ``values``, collapsed to sections."""
    if not seeds:
        return ranked
    cited, own = linked_sections(seeds, w.cross_law_only)
    seed_units = {unit_key(sp) for sp in seeds}
    floor: dict[tuple[str, str], tuple[float, ScoredPayload]] = {}

    def lift(score: float, sp: ScoredPayload) -> None:
        key = unit_key(sp)
        if key not in seed_units and score > floor.get(key, (0.0, sp))[0]:
            floor[key] = (score, sp)

    if cited and w.out_weight > 0:
        found = query_within("section", cited)
        for seed in seeds:
            refs = set(seed.payload.get("refs") or [])
            mine = [sp for sp in found if section_key(sp) in refs]
            for j, sp in enumerate(mine):
                lift(w.out_weight * w.decay**j * seed.score, sp)
    if own and w.in_weight > 0:
        found = query_within("refs", own)
        own_laws = {law_of(k) for k in own}
        for seed, name in zip(seeds, own, strict=True):
            mine = [sp for sp in found if name in (sp.payload.get("refs") or [])]
            if w.cross_law_only:
                mine = [sp for sp in mine if law_of(section_key(sp)) not in own_laws]
            for j, sp in enumerate(mine):
                lift(w.in_weight * w.decay**j * seed.score, sp)
    if not floor:
        return ranked
    out: dict[tuple[str, str], ScoredPayload] = {}
    for sp in ranked:
        key = unit_key(sp)
        lifted = floor.pop(key, None)
        out[key] = replace(sp, score=lifted[0]) if lifted and lifted[0] > sp.score else sp
    for key, (score, sp) in floor.items():
        out[key] = replace(sp, score=score)
    return best_first(list(out.values()))
