"""Measure retrieval levers offline, one at a time, with cross-validated figures (issue 20).

    python -m fitting.retrieval_levers statute statute-colloquial --index COPY_OF_EDGE_INDEX \\
        [--word-bridge] [--json-out F]

The index (a Qdrant Edge folder, read only: pass a copy when another process holds it) is read
once: every chunk's payload and dense vector. The hybrid ranking is then replayed in memory, which
makes a lever cost seconds instead of a re-index: dense = exact cosine, sparse = the same Kiwi
terms and BM25 values as ``retrieval.sparse`` with Qdrant's IDF (``ln(1 + (N - n + 0.5) / (n +
0.5))``), reciprocal-rank fusion, sections collapsed, the definitions' terms added to the sparse
side as ``NuriIndex.with_defined_terms`` does. It ranks ~95% of the questions exactly as the engine
does (the engine's HNSW and fusion ties account for the rest); the figure it prints for the
defaults is the one to compare each lever with, not ``nuri eval run``'s.

Levers (each family is measured alone, its first value being the default):

* fusion: RRF constant, leg weights, candidates per leg, min-max score fusion instead of RRF;
* definitions: the dense threshold of the definition lookup; a sparse one (the question's
  words found in a definition's body, IDF-weighted, add the defined term);
* corpus vocabulary at index time: each chunk's sparse text plus the titles of the articles it
  cites and/or that cite it (delegation links "법 제N조에 따라", "대통령령으로 정한다"); the whole
  article's terms for every chunk of it;
* abbreviations: a question word the corpus lacks, whose syllables appear in order in a corpus
  term or a law title (주민번호 -> 주민등록번호, 청탁금지법 -> the law's title), adds that term;
* pseudo-relevance feedback (dense: Rocchio; sparse: top chunks' high-IDF terms), a law prior,
  BM25 k1 / b;
* ``--word-bridge``: question words the article titles lack are embedded and the nearest
  article-title word (cosine of the encoder) is added to the sparse side (~1 min of encoding).

For every family: each value's recall@1 / recall@5 / MRR@10 per suite, the two-fold
cross-validated figure (folds of :func:`fitting.tune_retrieval.fold_of`; for each fold the value
best on the other fold by recall@5, ties to the default) and the cross-suite figure (chosen on the
other suites). Nothing here reads a question to build a lever: vocabularies come from the corpus.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from configs.settings import load_settings
from evals.matching import ranked_run
from evals.suites import load_suite
from fitting.tune_retrieval import fold_of
from retrieval.embedders import build_embedder
from retrieval.sparse import KoreanSparseEncoder, term_id

FUSED = 30  # fused candidates kept before collapsing (top_k 10 x collapse_overfetch 3)
TOP = 10
HANGUL = re.compile(r"^[가-힣]{2,}$")
TITLE = re.compile(r"\(([^\n]*)\)\s*$")

Params = dict[str, Any]


@dataclass(slots=True)
class View:
    """What :func:`evals.matching.ranked_run` needs of a passage."""

    doc_id: str
    title: str
    anchor: str
    source: str


@dataclass(slots=True)
class Question:
    id: str
    suite: str
    text: str
    refs: Any
    dense: np.ndarray
    terms: list[str]


def read_points(index_dir: Path) -> tuple[list[str], list[dict[str, Any]], np.ndarray]:
    import qdrant_edge as qe

    shard = qe.EdgeShard.load(str(index_dir / "shard"))
    ids: list[str] = []
    payloads: list[dict[str, Any]] = []
    vectors: list[list[float]] = []
    offset: Any = None
    try:
        while True:
            request = qe.ScrollRequest(offset=offset, limit=2048, with_payload=True, with_vector=["dense"])
            records, offset = shard.scroll(request)
            for r in records:
                ids.append(str(r.id))
                payloads.append(dict(r.payload or {}))
                vector = r.vector.get("dense") if isinstance(r.vector, dict) else None
                vectors.append(np.asarray(vector, dtype=np.float32).ravel().tolist())
            if offset is None:
                break
    finally:
        shard.close()
    x = np.asarray(vectors, dtype=np.float32)
    return ids, payloads, x / np.linalg.norm(x, axis=1, keepdims=True)


class Bm25:
    """The sparse leg: BM25 passage values as ``KoreanSparseEncoder`` writes them, Qdrant's IDF."""

    def __init__(self, doc_terms: list[list[str]], k1: float = 1.2, b: float = 0.75, avg: float = 120.0) -> None:
        self.n = len(doc_terms)
        self.postings: dict[int, list[tuple[int, float]]] = defaultdict(list)
        for d, terms in enumerate(doc_terms):
            tf = Counter(term_id(t) for t in terms)
            norm = k1 * (1 - b + b * len(terms) / avg)
            for t, f in tf.items():
                self.postings[t].append((d, f * (k1 + 1) / (f + norm)))
        self.idf = {t: math.log(1 + (self.n - len(v) + 0.5) / (len(v) + 0.5)) for t, v in self.postings.items()}

    def scores(self, terms: Iterable[str], weights: dict[str, float] | None = None) -> np.ndarray:
        q: dict[int, float] = {}
        for t in terms:
            tid = term_id(t)
            q[tid] = max(q.get(tid, 0.0), (weights or {}).get(t, 1.0))
        s = np.zeros(self.n)
        for tid, w in q.items():
            idf = self.idf.get(tid)
            for d, v in self.postings.get(tid, ()):
                s[d] += w * (idf or 0.0) * v
        return s


def top(scores: np.ndarray, n: int, ids: list[str], positive: bool = False) -> list[int]:
    n = min(n, len(scores))
    idx = np.argpartition(-scores, n - 1)[:n]
    ranked = sorted(idx.tolist(), key=lambda d: (-scores[d], ids[d]))
    return [d for d in ranked if scores[d] > 0] if positive else ranked


def subsequence(short: str, long: str) -> bool:
    rest = iter(long)
    return all(c in rest for c in short)


class Replay:
    """The corpus, the questions and the hybrid ranking, in memory."""

    def __init__(self, index_dir: Path, suites: list[str], word_bridge: bool) -> None:
        settings = load_settings()
        self.ids, self.pay, self.x = read_points(index_dir)
        self.enc = KoreanSparseEncoder(settings.retrieval.sparse)
        texts = [f"{p.get('header', '')}\n{p.get('text', '')}" for p in self.pay]
        self.terms: list[list[str]] = []
        for i in range(0, len(texts), 256):
            self.terms += self.enc.terms_many(texts[i : i + 256])
        self.section = [(str(p.get("doc_id")), str(p.get("section") or p.get("anchor"))) for p in self.pay]
        self.views = [View(p["doc_id"], p.get("title", ""), p.get("anchor", ""), p.get("source", "")) for p in self.pay]
        self.title = [
            m.group(1) if (m := TITLE.search(str(p.get("header", "")).split("\n")[-1])) else "" for p in self.pay
        ]
        self.defs = [i for i, p in enumerate(self.pay) if p.get("term")]
        embedder = build_embedder(settings.retrieval.embedder)
        self.questions: list[Question] = []
        for name in suites:
            for it in load_suite(name, settings).items:
                if it.reference_passages:
                    dense = np.asarray(embedder.embed_query(it.question), dtype=np.float32)
                    self.questions.append(
                        Question(it.id, name, it.question, it.reference_passages, dense, self.enc.terms(it.question))
                    )
        self.base = Bm25(self.terms)
        self._bm25: dict[Any, Bm25] = {(): self.base}
        self.df = Counter(t for ts in self.terms for t in set(ts))
        self.laws = sorted({str(p.get("title", "")) for p in self.pay})
        self.words: list[str] = []
        self.word_vecs = np.zeros((0, self.x.shape[1]), dtype=np.float32)
        self.qword_vecs: dict[str, np.ndarray] = {}
        if word_bridge:
            titles = sorted(set(self.title) - {""})
            self.words = sorted({t for ts in self.enc.terms_many(titles) for t in ts if HANGUL.match(t)})
            self.word_vecs = _unit(embedder.embed_passages(self.words))
            qwords = sorted({t for q in self.questions for t in q.terms if HANGUL.match(t)})
            self.qword_vecs = dict(zip(qwords, _unit(embedder.embed_passages(qwords)), strict=True))

    # -- index-time variants of the sparse leg ------------------------------------------------
    def bm25(self, doc_side: str = "", k1: float = 1.2, b: float = 0.75) -> Bm25:
        key = (doc_side, k1, b) if (doc_side or (k1, b) != (1.2, 0.75)) else ()
        if key not in self._bm25:
            self._bm25[key] = Bm25(self.doc_terms(doc_side), k1, b)
        return self._bm25[key]

    def doc_terms(self, doc_side: str) -> list[list[str]]:
        if not doc_side:
            return self.terms
        if doc_side == "section":
            whole: dict[tuple[str, str], list[str]] = defaultdict(list)
            for i, s in enumerate(self.section):
                whole[s] += self.terms[i]
            return [whole[s] for s in self.section]
        cites: dict[str, set[str]] = defaultdict(set)
        cited_by: dict[str, set[str]] = defaultdict(set)
        title_of: dict[str, str] = {}
        for i, p in enumerate(self.pay):
            title_of.setdefault(self.section[i][1], self.title[i])
            for ref in p.get("refs") or []:
                cites[self.section[i][1]].add(ref)
                cited_by[ref].add(self.section[i][1])
        title_terms = {s: self.enc.terms(t) for s, t in title_of.items() if t}
        out = []
        for i, (_, sec) in enumerate(self.section):
            linked = (cites[sec] if doc_side in ("out", "both") else set()) | (
                cited_by[sec] if doc_side in ("in", "both") else set()
            )
            out.append(self.terms[i] + [t for s in sorted(linked - {sec}) for t in title_terms.get(s, [])])
        return out

    # -- query-side additions -------------------------------------------------------------------
    def dense_definitions(self, q: Question, min_relevance: float, max_terms: int = 2) -> list[str]:
        if not self.defs or min_relevance > 1:
            return []
        sims = self.x[self.defs] @ q.dense
        picked = [
            str(self.pay[self.defs[i]]["term"]) for i in np.argsort(-sims)[:max_terms] if sims[i] >= min_relevance
        ]
        terms = [t for t in dict.fromkeys(picked) if t not in q.text]
        return self.enc.terms(" ".join(terms)) if terms else []

    def sparse_definitions(self, q: Question, tau: float) -> list[str]:
        words = set(q.terms)
        best: tuple[float, str] | None = None
        for i in self.defs:
            term = str(self.pay[i]["term"])
            if term in q.text:
                continue
            shared = words & (set(self.terms[i]) - set(self.enc.terms(term)))
            if len(shared) >= 2:
                s = sum(self.base.idf.get(term_id(t), 0.0) for t in shared)
                best = max(best or (s, term), (s, term))
        return self.enc.terms(best[1]) if best and best[0] >= tau else []

    def abbreviations(self, q: Question) -> list[str]:
        out: list[str] = []
        vocab = [t for t in self.df if HANGUL.match(t) and len(t) >= 3]
        for w in dict.fromkeys(q.terms):
            if w in self.df or not HANGUL.match(w) or len(w) < 3:
                continue
            laws = [law for law in self.laws if w.endswith("법") and subsequence(w, law.replace(" ", ""))]
            if laws:
                out += self.enc.terms(min(laws, key=len))
                continue
            cands = [v for v in vocab if len(v) > len(w) and v[0] == w[0] and (v.startswith(w) or subsequence(w, v))]
            if cands:
                out.append(max(cands, key=lambda v: (self.df[v], -len(v))))
        return out

    def word_bridge(self, q: Question, tau: float, oov_only: bool) -> list[str]:
        out: list[str] = []
        known = set(self.words)
        for w in dict.fromkeys(q.terms):
            vec = self.qword_vecs.get(w)
            if vec is None or w in known or (oov_only and w in self.df):
                continue
            sims = self.word_vecs @ vec
            best = int(np.argmax(sims))
            if sims[best] >= tau and self.words[best] not in q.terms:
                out.append(self.words[best])
        return out

    # -- the ranking ----------------------------------------------------------------------------
    def rank(self, q: Question, p: Params) -> int | None:
        """Rank (1-based, within the first 10 sections) of the question's first reference passage."""
        bm25 = self.bm25(p.get("doc_side", ""), p.get("k1", 1.2), p.get("b", 0.75))
        sparse_terms = q.terms + self.dense_definitions(q, p.get("min_relevance", 0.86))
        weights: dict[str, float] = {}
        if p.get("sparse_definitions"):
            sparse_terms += self.sparse_definitions(q, p["sparse_definitions"])
        if p.get("abbreviations"):
            sparse_terms += self.abbreviations(q)
        if p.get("word_bridge"):
            tau, oov_only = p["word_bridge"]
            sparse_terms += self.word_bridge(q, tau, oov_only)
        dense = q.dense
        if p.get("dense_prf"):
            m, beta = p["dense_prf"]
            dense = dense + beta * self.x[top(self.x @ dense, m, self.ids)].mean(0)
            dense = dense / np.linalg.norm(dense)
        ds, ss = self.x @ dense, bm25.scores(sparse_terms, weights)
        limit = p.get("limit", 50)
        order, score = self.fuse(ds, ss, limit, p)
        if p.get("sparse_prf"):
            m, e, w = p["sparse_prf"]
            counts: dict[str, float] = defaultdict(float)
            for d in self.collapse(order)[:m]:
                for t in set(self.terms[d]):
                    counts[t] += bm25.idf.get(term_id(t), 0.0)
            best = sorted(counts, key=lambda t: -counts[t])[: e + len(sparse_terms)]
            add = [t for t in best if t not in set(sparse_terms)][:e]
            order, score = self.fuse(ds, bm25.scores(sparse_terms + add, {t: w for t in add}), limit, p)
        if p.get("law_prior"):
            law: dict[str, float] = defaultdict(float)
            for d in order[:FUSED]:
                law[self.pay[d]["doc_id"]] += score[d]
            total = sum(law.values()) or 1.0
            beta = p["law_prior"]
            order = sorted(
                order, key=lambda d: (-score[d] * (1 + beta * law[self.pay[d]["doc_id"]] / total), self.ids[d])
            )
        ranked = self.collapse(order[:FUSED])[:TOP]
        _, relevant = ranked_run([self.views[d] for d in ranked], q.refs)
        return next((i + 1 for i, r in enumerate(relevant) if r), None)

    def fuse(self, ds: np.ndarray, ss: np.ndarray, limit: int, p: Params) -> tuple[list[int], dict[int, float]]:
        dl, sl = top(ds, limit, self.ids), top(ss, limit, self.ids, positive=True)
        score: dict[int, float] = defaultdict(float)
        if "convex" in p:
            alpha = p["convex"]
            for leg, lst, w in ((ds, dl, alpha), (ss, sl, 1 - alpha)):
                if lst:
                    lo, hi = leg[lst].min(), leg[lst].max()
                    for d in lst:
                        score[d] += w * (leg[d] - lo) / (hi - lo + 1e-9)
        else:
            k = p.get("rrf_k", 60)
            wd, ws = p.get("weights", (1.0, 1.0))
            for lst, w in ((dl, wd), (sl, ws)):
                for r, d in enumerate(lst):
                    score[d] += w / (k + r + 1)
        return sorted(score, key=lambda d: (-score[d], self.ids[d])), score

    def collapse(self, order: list[int]) -> list[int]:
        seen: set[tuple[str, str]] = set()
        out = []
        for d in order:
            if self.section[d] not in seen:
                seen.add(self.section[d])
                out.append(d)
        return out


def _unit(v: Any) -> np.ndarray:
    a = np.asarray(v, dtype=np.float32)
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def families(word_bridge: bool) -> dict[str, list[Params]]:
    out: dict[str, list[Params]] = {
        "fusion: RRF k": [{}, {"rrf_k": 20}, {"rrf_k": 30}, {"rrf_k": 10}],
        "fusion: leg weights (dense, sparse)": [{}, {"weights": (1.0, 0.75)}, {"weights": (0.75, 1.0)}],
        "fusion: candidates per leg": [{}, {"limit": 30}, {"limit": 100}],
        "fusion: min-max score fusion (dense share)": [{}, {"convex": 0.4}, {"convex": 0.5}, {"convex": 0.6}],
        "definitions: dense threshold": [{}, {"min_relevance": 0.88}, {"min_relevance": 2.0}],
        "definitions: sparse (IDF of shared words)": [{}, {"sparse_definitions": 12.0}, {"sparse_definitions": 8.0}],
        "index time: linked articles' titles": [{}, {"doc_side": "out"}, {"doc_side": "in"}, {"doc_side": "both"}],
        "index time: whole-article terms": [{}, {"doc_side": "section"}],
        "abbreviations from corpus terms and law titles": [{}, {"abbreviations": True}],
        "pseudo-relevance feedback: dense": [{}, {"dense_prf": (3, 0.3)}, {"dense_prf": (5, 0.5)}],
        "pseudo-relevance feedback: sparse": [{}, {"sparse_prf": (3, 5, 0.3)}, {"sparse_prf": (5, 10, 0.2)}],
        "law prior": [{}, {"law_prior": 0.2}, {"law_prior": 0.5}],
        "BM25 k1, b": [{}, {"k1": 1.2, "b": 0.5}, {"k1": 1.2, "b": 0.9}, {"k1": 0.9, "b": 0.4}],
    }
    if word_bridge:
        out["word bridge to article-title words"] = [
            {},
            {"word_bridge": (0.935, True)},
            {"word_bridge": (0.935, False)},
            {"word_bridge": (0.945, True)},
        ]
    return out


def figures(ranks: list[int | None]) -> dict[str, Any]:
    n = len(ranks)
    return {
        "n": n,
        "recall@1": sum(1 for r in ranks if r == 1) / max(1, n),
        "recall@5": sum(1 for r in ranks if r and r <= 5) / max(1, n),
        "mrr": sum(1 / r for r in ranks if r) / max(1, n),
    }


def measure(replay: Replay, values: list[Params], suites: list[str]) -> dict[str, Any]:
    qs = replay.questions
    ranks = [{q.id: replay.rank(q, p) for q in qs} for p in values]

    def pick(select: Callable[[Question], bool]) -> int:
        def r5(v: int) -> float:
            return figures([ranks[v][q.id] for q in qs if select(q)])["recall@5"]

        return max(range(len(values)), key=lambda v: (r5(v), -v))

    def other_fold(f: int) -> Callable[[Question], bool]:
        return lambda q: fold_of(q.id) != f

    def other_suites(s: str) -> Callable[[Question], bool]:
        return lambda q: q.suite != s

    chosen = {f: pick(other_fold(f)) for f in (0, 1)}
    out: dict[str, Any] = {"values": [], "cross_validated": {}, "cross_suite": {}}
    for v, p in enumerate(values):
        row = {"settings": p or "default", "all": figures(list(ranks[v].values()))}
        for s in suites:
            row[s] = figures([ranks[v][q.id] for q in qs if q.suite == s])
        out["values"].append(row)
    cv = {q.id: ranks[chosen[fold_of(q.id)]][q.id] for q in qs}
    out["chosen_per_fold"] = {f"fold{f}": values[v] or "default" for f, v in chosen.items()}
    out["cross_validated"]["all"] = figures(list(cv.values()))
    for s in suites:
        out["cross_validated"][s] = figures([cv[q.id] for q in qs if q.suite == s])
        if len(suites) > 1:
            v = pick(other_suites(s))
            out["cross_suite"][s] = {
                "chosen": values[v] or "default",
                **figures([ranks[v][q.id] for q in qs if q.suite == s]),
            }
    return out


def _fmt(f: dict[str, float]) -> str:
    return f"{f['recall@1']:.3f} / {f['recall@5']:.3f} / {f['mrr']:.3f}"


def report(results: dict[str, Any], suites: list[str]) -> str:
    lines = []
    for name, res in results.items():
        lines += [f"### {name}", "", "| value | " + " | ".join(f"{s} r@1 / r@5 / MRR" for s in suites) + " |"]
        lines.append("|---|" + "---|" * len(suites))
        for row in res["values"]:
            lines.append(f"| {row['settings']} | " + " | ".join(_fmt(row[s]) for s in suites) + " |")
        cv = res["cross_validated"]
        lines.append("")
        lines.append(
            f"- two-fold CV (chosen per fold: {res['chosen_per_fold']}): "
            + "; ".join(f"{s} (n={cv[s]['n']}) {_fmt(cv[s])}" for s in suites)
        )
        for s, c in res["cross_suite"].items():
            lines.append(f"- {s} (n={c['n']}), chosen on the other suites ({c['chosen']}): {_fmt(c)}")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fitting.retrieval_levers", description=__doc__.split("\n\n")[0])
    parser.add_argument("suites", nargs="+")
    parser.add_argument("--index", required=True, type=Path, help="a Qdrant Edge index folder (a copy: read whole)")
    parser.add_argument("--word-bridge", action="store_true", help="also the word-embedding bridge (~1 min)")
    parser.add_argument("--only", action="append", default=[], help="families whose name contains this")
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args(argv)
    replay = Replay(args.index, args.suites, args.word_bridge)
    results = {}
    for name, values in families(args.word_bridge).items():
        if args.only and not any(o in name for o in args.only):
            continue
        results[name] = measure(replay, values, args.suites)
        sys.stderr.write(f"{name}: done\n")
    sys.stdout.write(report(results, args.suites) + "\n")
    if args.json_out:
        args.json_out.write_text(json.dumps(results, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
