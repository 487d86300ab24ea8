"""Re-fit every embedder-bound value for the configured embedder and write an embedder fit file.

    python -m fitting.fit_embedder --out PATH [--cache FILE] [--answerability-index DIR]
        [--skip injection,policy,relevance,answerability] [--max-texts N] [--max-passages N]
        [--shared-data DIR] [--stamp] [--quiet]

The embedder is the one the configuration selects (``configs.settings.load_settings()``, e.g.
``NURI_EMBEDDER__BACKEND=openai NURI_EMBEDDER__BASE_URL=http://gpu:8000/v1
NURI_EMBEDDER__MODEL=multilingual-e5-large``). The file (:class:`assistant.embedder_fit.EmbedderFit`)
is what ``calibration.path`` names; at start-up :func:`assistant.embedder_fit.check_fit` applies it
when the server runs with the same embedder (name, dimension and the vector of a probe sentence),
and a part left out of it runs in safe mode. Same inputs (data, options, vectors) give the same
file byte for byte: nothing is random but the seeded subsets, and no time is written unless
``--stamp`` asks for it.

Data: only what the repository has (``evals/data``, ``evals/suites``, ``samples/corpus``); the
QA dev questions, the public attack prompts and the statutes of ``../shared/data`` are used too
when present (the summary says which). The LOCKED splits (``split: "test"`` families of the
injection data, ``evals/suites/refusal_locked_ko.jsonl``) are never read for fitting; the
injection part reports the locked families' figures, as ``fitting.train_injection`` does.

**injection** — the method of :mod:`fitting.train_injection` (its :func:`train`, on this
embedder's query vectors): family split, leave-one-family-out probabilities of the dev families,
the threshold at which rules OR classifier block at most 3% of the benign questions, C from the
same grid; the locked families through the real detector. Stored: ``InjectionModel.to_dict()``.

**policy**, **relevance** — thresholds that are cosines. A cosine means something only on the
scale of the embedder that produced it (e5-small puts unrelated Korean sentences near 0.8; other
models near 0.2), so a shipped threshold is carried to the new embedder by **quantile matching**:
both the reference encoder (the bundled multilingual-e5-small, on which the shipped values were
fitted) and the configured one encode the same texts; on a population of cosines that the
threshold is applied to, the rank at which the shipped threshold sits on e5-small is found
(``p`` = share of the population below it), and the new threshold is the configured embedder's
value at the same rank. It then refuses (or keeps) the same share of the same population as the
shipped value does on e5-small. The empirical distribution functions are piecewise linear
between order statistics, so the map is continuous and monotone, and the identity when both
embedders agree; a threshold beyond the population's range is extrapolated linearly (scaled by
the inter-quartile ranges) and flagged ``edge`` in the summary, as is one with fewer than ten
reference values beyond it (its rank rests on too few values to carry over well).

Why not fit these thresholds again from labels: the shipped values are operating points chosen
on e5-small with the evaluation suites (and the policy topics have some twenty labelled examples
each side, far too few to choose two thresholds from); quantile matching keeps each operating
point (the same share of the same texts above the line) and needs no labels. It assumes that the
two embedders order the texts alike; they never do exactly, so the per-text outcomes (flags,
refusals) are reported under both. When the configured embedder *is* the bundled one, the
shipped values are kept as they are.

- policy (``guardrails.policy.min_similarity`` and ``margin``; the topics are the configured
  ones): the checker compares, per topic,
  a query's best cosine to the topic's off-policy examples (``off``) and to its allowed
  examples (``ok``); it refuses when ``off >= min_similarity`` and ``off - ok >= margin``. The
  population: ``off`` and ``ok`` of every (text, topic) pair, over the topics' own examples and
  allowed questions (leave-one-out: a text is never compared with itself) and the benign
  questions (the dev benign turns of the injection data and the relevance questions below).
  ``min_similarity`` is mapped by its rank; ``margin``, a difference on the same scale, is
  mapped through the same map at the threshold: ``φ(min_similarity) - φ(min_similarity -
  margin)`` (the local slope of the map converts a cosine difference). Reported, under both
  embedders: benign questions flagged, allowed questions flagged and off-policy examples caught
  (leave-one-out), by the same rule as :class:`guardrails.policy.PolicyChecker` (the benign ones
  by the checker itself).
- relevance floors: questions (the sample-corpus suite, the refusal families, the hand-written
  unanswerable questions, the QA dev questions when present) against passages (the sample
  corpus, read and chunked as ingest does; with the shared statutes also the gold articles of
  the QA questions, statute definitions and other articles of the laws the questions name, up
  to ``--max-passages``, seeded). No index is needed: the cosines are computed directly. Each
  floor is mapped on the population it is applied to: ``answer.min_relevance`` (refuse when
  the best passage is below it) on each question's best cosine; ``answer.passage_min_relevance``
  (passages below it are not shown) on the cosines of each question's ``answer.top_k`` best
  passages; ``search.definitions.min_relevance`` on each question's best cosine to a statute
  definition (without the statutes: on the best-passage population, said in the summary).
  Reported: the share each floor refuses or drops under both embedders, and what the shipped
  (unmapped) floor would do on the new embedder.

**answerability** — only with ``--answerability-index DIR`` (an index built with this embedder):
the fitting of :mod:`fitting.calibrate_answerability` (its questions minus the locked ones,
searched with the floors fitted above). Without it the part is left out and answerability runs
in safe mode (the passage checks only) until fitted.

Vectors of both embedders are encoded side by side (a thread each) and, with ``--cache``, kept
for the next run. ``--max-texts N`` (a seeded subset of each text set, every injection family
kept) is for quick runs and the test suite; the figures then rest on fewer texts (each says
its n). An embedder that cannot be reached (or answers wrongly) ends the command with one line
and exit status 2.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import math
import sys
import threading
import time
import zlib
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from assistant.embedder_fit import (
    BUNDLED_DIM,
    BUNDLED_EMBEDDER,
    AnswerabilityFit,
    EmbedderFit,
    PolicyFit,
    RelevanceFloors,
    probe_vector,
)
from evals.datasets import SHARED_DATA
from fitting.attack_families import PUBLIC_ATTACKS, SAMPLE_CORPUS, Turn, jsonl, load_turns

REPO_ROOT = Path(__file__).resolve().parent.parent
EVALS_DATA = REPO_ROOT / "evals" / "data"
SUITES = REPO_ROOT / "evals" / "suites"
SEED = 20250611
PARTS = ("injection", "policy", "relevance", "answerability")
MAX_PASSAGES = 500
DEFINITION_SHARE = 0.2  # of the statute passages, at most this share are definitions
EDGE_COUNT = 10  # a threshold with fewer reference values beyond it than this is marked "edge"


class FitFailed(Exception):
    """A part cannot be fitted from the data at hand (the message says why)."""


# --- vectors ---------------------------------------------------------------------------------------


class VectorCache:
    """Vectors by (embedder, kind, text) hash, kept in an ``.npz`` file between runs. The query
    keys are those of :class:`fitting.train_injection.CachingEncoder` (one cache serves both)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.items: dict[str, np.ndarray] = {}
        if path is not None and path.exists():
            with np.load(path) as data:
                self.items = {k: data[k] for k in data.files}
        self.dirty = False

    def save(self) -> None:
        if self.path is not None and self.dirty:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(self.path.name + ".tmp.npz")
            np.savez(tmp, **self.items)  # type: ignore[arg-type]
            tmp.replace(self.path)
            self.dirty = False


class Cached:
    """An embedder whose vectors are remembered (``VectorCache``); thread-safe enough for one
    writer per embedder (dict updates are atomic)."""

    def __init__(self, inner: Any, cache: VectorCache) -> None:
        self.inner = inner
        self.name = str(inner.name)
        self.dim = int(inner.dim)
        self.cache = cache
        probe = probe_vector(inner)
        key = self._key("probe", "")
        old = cache.items.get(key)
        if old is not None and (old.shape != probe.shape or float(old @ _unit(probe)) < 0.999):
            # same name, other model: nothing cached under this name can be trusted
            cache.items = {}
            print(f"캐시의 벡터는 다른 {self.name} 모델의 것이라 쓰지 않습니다", file=sys.stderr)
        cache.items[key] = _unit(probe)
        cache.dirty = True
        self.probe = probe

    def _key(self, kind: str, text: str) -> str:
        raw = f"{self.name}\0{text}" if kind == "query" else f"{self.name}\0{kind}\0{text}"
        return hashlib.sha1(raw.encode()).hexdigest()

    def has(self, kind: str, text: str) -> bool:
        return self._key(kind, text) in self.cache.items

    def embed_query(self, text: str) -> np.ndarray:
        key = self._key("query", text)
        hit = self.cache.items.get(key)
        if hit is None:
            hit = _unit(np.asarray(self.inner.embed_query(text), dtype=np.float32).reshape(-1))
            self.cache.items[key] = hit
            self.cache.dirty = True
        return hit

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if not self.has("passage", t)))
        if missing:
            vectors = np.asarray(self.inner.embed_passages(missing), dtype=np.float32).reshape(len(missing), -1)
            for t, v in zip(missing, vectors, strict=True):
                self.cache.items[self._key("passage", t)] = _unit(v)
            self.cache.dirty = True
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack([self.cache.items[self._key("passage", t)] for t in texts])

    def queries(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack([self.embed_query(t) for t in texts])

    def count_tokens(self, text: str) -> int:
        return int(self.inner.count_tokens(text))

    def save(self) -> None:
        self.cache.save()


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / max(1e-12, float(np.linalg.norm(v)))).astype(np.float32)


def encode_all(jobs: list[tuple[Cached, list[str], list[str]]], progress: bool = True) -> None:
    """Encode each embedder's queries and passages into the cache, the embedders side by side
    (a thread each: the bundled encoder's C engine and an HTTP client both release the GIL)."""
    from tqdm import tqdm

    stop = threading.Event()

    def run(position: int, enc: Cached, queries: list[str], passages: list[str]) -> None:
        todo_q = [t for t in dict.fromkeys(queries) if not enc.has("query", t)]
        todo_p = [t for t in dict.fromkeys(passages) if not enc.has("passage", t)]
        with tqdm(
            total=len(todo_q) + len(todo_p),
            desc=f"임베딩 {enc.name}",
            position=position,
            file=sys.stderr,
            disable=not progress,
            mininterval=0.2 if sys.stderr.isatty() else 15.0,
            leave=True,
        ) as bar:
            for t in todo_q:
                if stop.is_set():
                    return
                enc.embed_query(t)
                bar.update()
            for i in range(0, len(todo_p), 8):
                if stop.is_set():
                    return
                batch = todo_p[i : i + 8]
                enc.embed_passages(batch)
                bar.update(len(batch))

    merged: dict[int, tuple[Cached, list[str], list[str]]] = {}
    for enc, q, p in jobs:
        if id(enc) in merged:
            merged[id(enc)][1].extend(q)
            merged[id(enc)][2].extend(p)
        else:
            merged[id(enc)] = (enc, list(q), list(p))
    with ThreadPoolExecutor(max(1, len(merged))) as pool:
        futures = [pool.submit(run, i, *job) for i, job in enumerate(merged.values())]
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        if any(f.exception() is not None for f in done):
            stop.set()
        for f in futures:
            f.result()


# --- data ----------------------------------------------------------------------------------------


@dataclass(slots=True)
class Text:
    id: str
    text: str
    group: str
    law: str = ""
    articles: tuple[str, ...] = ()


@dataclass(slots=True)
class PassageText:
    id: str
    text: str
    group: str  # sample-corpus | statute-gold | statute-definition | statute-other
    term: str | None = None


@dataclass
class Data:
    turns: list[Turn] = field(default_factory=list)
    questions: list[Text] = field(default_factory=list)
    benign: list[Text] = field(default_factory=list)
    passages: list[PassageText] = field(default_factory=list)
    used: list[str] = field(default_factory=list)


def _rng(*salt: str) -> np.random.Generator:
    return np.random.default_rng([SEED, *(zlib.crc32(s.encode()) for s in salt)])


def sample(items: list[Any], n: int | None, *salt: str) -> list[Any]:
    """At most ``n`` of ``items`` (a seeded choice, in their original order)."""
    if n is None or len(items) <= n:
        return list(items)
    keep = sorted(_rng(*salt).choice(len(items), size=n, replace=False).tolist())
    return [items[i] for i in keep]


def sample_turns(turns: list[Turn], n: int | None) -> list[Turn]:
    """At most about ``n`` turns, every family kept (at least 3 of each, in proportion otherwise)."""
    if n is None or len(turns) <= n:
        return list(turns)
    fams: dict[str, list[Turn]] = defaultdict(list)
    for t in turns:
        fams[t.family].append(t)
    out: list[Turn] = []
    for fam in sorted(fams):
        members = fams[fam]
        k = max(3, round(n * len(members) / len(turns)))
        out.extend(sample(members, k, "turns", fam))
    order = {id(t): i for i, t in enumerate(turns)}
    return sorted(out, key=lambda t: order[id(t)])


def load_questions(shared: Path) -> tuple[list[Text], list[str]]:
    """The question texts of the relevance floors (never the locked suite)."""
    from evals.datasets import load_qa

    out: list[Text] = []
    used = ["evals/suites/sample_ko.jsonl", "evals/data/refusal_families.jsonl", "evals/data/unanswerable_ko.jsonl"]
    for r in jsonl(SUITES / "sample_ko.jsonl"):
        out.append(Text(r["id"], r["question"], "sample-corpus"))
    for q in load_qa(EVALS_DATA / "refusal_families.jsonl"):
        out.append(Text(q.id, q.question, "refusal-families", q.law, tuple(q.articles)))
    for r in jsonl(EVALS_DATA / "unanswerable_ko.jsonl"):
        out.append(Text(r["id"], r["question"], "unanswerable"))
    for name in ("dev.jsonl", "dev_colloquial.jsonl"):
        path = shared / "qa" / name
        if path.exists():
            used.append(f"../shared/data/qa/{name}")
            for q in load_qa(path):
                out.append(Text(q.id, q.question, "qa-dev", q.law, tuple(q.articles)))
    return out, used


def _chunks(path: Path, count_tokens: Any) -> list[Any]:
    from connectors.registry import SUPPORTED_SUFFIXES, load_document
    from connectors.settings import ConnectorSettings
    from connectors.types import ParseError
    from retrieval.chunking import chunk_document
    from retrieval.settings import ChunkingSettings

    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        return []
    try:
        doc = load_document(path, ConnectorSettings())
    except ParseError:
        return []
    return chunk_document(doc, count_tokens, ChunkingSettings())


def load_passages(
    questions: list[Text], shared: Path, count_tokens: Any, max_passages: int
) -> tuple[list[PassageText], list[str]]:
    """Passages as ingest makes them (``Chunk.embed_text``): the sample corpus; with the shared
    statutes, the QA questions' gold articles, definitions and other articles of the named laws."""
    from evals.metrics import article_of

    out: list[PassageText] = []
    for path in sorted(SAMPLE_CORPUS.iterdir()):
        if path.name.endswith(".yaml"):
            continue
        for c in _chunks(path, count_tokens):
            out.append(PassageText(f"sample:{path.name}#{c.index}", c.embed_text, "sample-corpus"))
    used = ["samples/corpus"]
    statutes = shared / "statutes"
    if not statutes.is_dir() or len(out) >= max_passages:
        return out[:max_passages], used
    used.append("../shared/data/statutes")
    laws = {q.law for q in questions if q.law}
    gold = {(q.law, a) for q in questions if q.law for a in q.articles}
    found_gold, definitions, others = [], [], []
    for path in sorted(statutes.rglob("*.md")):
        for c in _chunks(path, count_tokens):
            law = c.header.split("\n", 1)[0].split(" > ", 1)[0]
            p = PassageText(f"statute:{path.parent.name}/{path.name}#{c.index}", c.embed_text, "statute", c.term)
            if (law, article_of(c.anchor, law) or "") in gold:
                p.group = "statute-gold"
                found_gold.append(p)
            elif c.term:
                p.group = "statute-definition"
                definitions.append(p)
            elif law in laws:
                p.group = "statute-other"
                others.append(p)
    # at most half gold articles, a fifth definitions, the rest other articles of the same laws
    # (the near misses an index holds); a share one kind cannot fill goes to the others
    room = max_passages - len(out)
    want = {"gold": room // 2, "definitions": int(DEFINITION_SHARE * room)}
    want["others"] = room - want["gold"] - want["definitions"]
    pools = {"gold": found_gold, "definitions": definitions, "others": others}
    spare = sum(max(0, want[k] - len(v)) for k, v in pools.items())
    for k, v in pools.items():
        extra = min(spare, max(0, len(v) - want[k]))
        want[k] = min(len(v), want[k]) + extra
        spare -= extra
    kept = [p for k, v in pools.items() for p in sample(v, want[k], k)]
    return out + kept, used


def load_data(shared: Path, count_tokens: Any, max_texts: int | None, max_passages: int, parts: set[str]) -> Data:
    data = Data()
    data.used = ["evals/data/guardrails (injection_ko, benign_ko, families_turns)"]
    turns = load_turns(shared)
    if (shared / PUBLIC_ATTACKS).exists():
        data.used.append(f"../shared/data/{PUBLIC_ATTACKS}")
    # LOCKED families stay in the injection cases (train() reports them, never fits on them);
    # nothing else reads them.
    data.turns = sample_turns(turns, max_texts)
    questions, used = load_questions(shared)
    data.used += [u for u in used if u not in data.used]
    data.questions = sample(questions, max_texts, "questions")
    benign_turns = [Text(t.id, t.text, f"benign-turns/{t.kind}") for t in turns if not t.attack and t.split == "dev"]
    seen = {t.text for t in benign_turns}
    benign = benign_turns + [q for q in questions if q.text not in seen]
    data.benign = sample(benign, max_texts, "benign")
    if "relevance" in parts:
        data.passages, used = load_passages(data.questions, shared, count_tokens, max_passages)
        data.used += [u for u in used if u not in data.used]
    return data


# --- quantile matching ----------------------------------------------------------------------------


@dataclass(slots=True)
class Mapped:
    shipped: float
    value: float
    rank: float  # share of the reference population below the shipped value
    n: int
    edge: bool

    def as_dict(self) -> dict[str, Any]:
        return {"shipped": self.shipped, "value": self.value, "rank": round(self.rank, 4), "n": self.n,
                "edge": self.edge}  # fmt: skip


def _positions(n: int) -> np.ndarray:
    return (np.arange(n) + 0.5) / n


def _iqr(v: np.ndarray) -> float:
    q1, q3 = np.quantile(v, [0.25, 0.75])
    return float(q3 - q1) or 1e-6


def quantile_map(reference: np.ndarray, new: np.ndarray, t: float) -> Mapped:
    """The value of ``new`` at the rank where ``t`` sits in ``reference`` (see the module docstring)."""
    ref = np.sort(np.asarray(reference, dtype=np.float64))
    cur = np.sort(np.asarray(new, dtype=np.float64))
    if len(ref) == 0 or len(cur) == 0:
        raise FitFailed("no values to match")
    scale = _iqr(cur) / _iqr(ref)
    rank = float(np.mean(ref < t))
    if t < ref[0]:
        value, edge = float(cur[0] + (t - ref[0]) * scale), True
    elif t > ref[-1]:
        value, edge = float(cur[-1] + (t - ref[-1]) * scale), True
    else:
        p = float(np.interp(t, ref, _positions(len(ref))))
        value = float(np.interp(p, _positions(len(cur)), cur))
        below = int((ref < t).sum())
        edge = min(below, len(ref) - below) < EDGE_COUNT
    return Mapped(t, round(value, 4), rank, len(ref), edge)


def share(values: np.ndarray, below: float) -> dict[str, Any]:
    v = np.asarray(values)
    hit = int((v < below).sum())
    return {"n": int(v.size), "hit": hit, "rate": round(hit / v.size, 4) if v.size else None}


def fmt(r: dict[str, Any]) -> str:
    return f"{r['rate']:.3f} ({r['hit']}/{r['n']})" if r.get("n") else "—"


# --- injection -----------------------------------------------------------------------------------


def _pooled(groups: dict[str, dict[str, Any]], attack: bool) -> dict[str, Any]:
    rows = [g for name, g in groups.items() if name.startswith("attack") == attack]
    n, hit = sum(int(g["n"]) for g in rows), sum(int(g["hit"]) for g in rows)
    return {"n": n, "hit": hit, "rate": round(hit / n, 4) if n else None}


def fit_injection(encoder: Cached, turns: list[Turn], fitted_at: str) -> tuple[dict[str, Any], dict[str, Any]]:
    from fitting.train_injection import train
    from guardrails.injection import InjectionModel

    model, _lines, meta = train(encoder, progress=False, cases=turns)
    meta = {**meta, "trained_at": fitted_at, "trainer": "python -m fitting.fit_embedder"}
    model = InjectionModel(model.weights, model.bias, model.threshold, encoder.name, meta)
    shipped = InjectionModel.load().metadata
    figures = {
        "C": meta["model"]["C"],
        "threshold": model.threshold,
        "dim": model.dim,
        "data": meta["data"],
        "lofo_attacks_blocked": _pooled(meta["lofo"]["groups"], True),
        "lofo_benign_blocked": _pooled(meta["lofo"]["groups"], False),
        "locked_attacks_blocked": _pooled(meta["locked"]["groups"], True),
        "locked_benign_blocked": _pooled(meta["locked"]["groups"], False),
        "lofo_groups": meta["lofo"]["groups"],
        "locked_groups": meta["locked"]["groups"],
        "shipped": {
            "embedder": BUNDLED_EMBEDDER,
            "threshold": InjectionModel.load().threshold,
            "lofo_attacks_blocked": _pooled(shipped["lofo"]["groups"], True),
            "lofo_benign_blocked": _pooled(shipped["lofo"]["groups"], False),
            "locked_attacks_blocked": _pooled(shipped["locked"]["groups"], True),
            "locked_benign_blocked": _pooled(shipped["locked"]["groups"], False),
        },
    }
    return model.to_dict(), figures


# --- policy --------------------------------------------------------------------------------------


@dataclass
class PolicyStats:
    pooled: np.ndarray  # off and ok of every (text, topic) pair
    off: dict[str, np.ndarray]  # group -> (n texts, n topics)
    ok: dict[str, np.ndarray]


def policy_stats(encoder: Cached, topics: Sequence[Any], benign: list[Text]) -> PolicyStats:
    """Per text and topic: the best cosine to the topic's examples and to its allowed questions
    (a text is never compared with itself: leave-one-out for the topics' own texts)."""
    topics = [t for t in topics if t.examples]
    groups: dict[str, list[str]] = {
        "benign": [b.text for b in benign],
        "allowed": [a for t in topics for a in t.allowed],
        "examples": [e for t in topics for e in t.examples],
    }
    vec = {t.id: (encoder.queries(t.examples), encoder.queries(t.allowed)) for t in topics}
    off: dict[str, np.ndarray] = {}
    ok: dict[str, np.ndarray] = {}
    for g, texts in groups.items():
        q = encoder.queries(texts)
        o = np.zeros((len(texts), len(topics)))
        a = np.zeros((len(texts), len(topics)))
        for j, t in enumerate(topics):
            ex, al = vec[t.id]
            s_ex = q @ ex.T if len(ex) else np.zeros((len(texts), 0))
            s_al = q @ al.T if len(al) else np.zeros((len(texts), 0))
            for i, text in enumerate(texts):  # leave one out
                s_ex[i, [k for k, e in enumerate(t.examples) if e == text]] = -np.inf
                s_al[i, [k for k, e in enumerate(t.allowed) if e == text]] = -np.inf
            o[:, j] = s_ex.max(axis=1) if s_ex.shape[1] else 0.0
            a[:, j] = s_al.max(axis=1) if s_al.shape[1] else 0.0
        off[g], ok[g] = np.where(np.isfinite(o), o, 0.0), np.where(np.isfinite(a), a, 0.0)
    pooled = np.concatenate([np.concatenate([off[g].ravel(), ok[g].ravel()]) for g in groups])
    return PolicyStats(pooled, off, ok)


def _flags(stats: PolicyStats, group: str, min_similarity: float, margin: float) -> dict[str, Any]:
    off, ok = stats.off[group], stats.ok[group]
    flagged = ((off >= min_similarity) & (off - ok >= margin)).any(axis=1)
    n, hit = int(flagged.size), int(flagged.sum())
    return {"n": n, "hit": hit, "rate": round(hit / n, 4) if n else None}


def _checker_flags(encoder: Cached, settings: Any, benign: list[Text]) -> dict[str, Any]:
    """Benign questions the real :class:`PolicyChecker` (similarity only) refuses."""
    from guardrails.policy import PolicyChecker

    checker = PolicyChecker(settings.model_copy(update={"rules": False, "embeddings": True}), encoder=encoder)
    flags = [checker.check(b.text, encoder.embed_query(b.text)).action != "allow" for b in benign]
    n, hit = len(flags), int(sum(flags))
    return {"n": n, "hit": hit, "rate": round(hit / n, 4) if n else None}


def fit_policy(reference: Cached, encoder: Cached, policy: Any, benign: list[Text]) -> tuple[PolicyFit, dict[str, Any]]:
    from guardrails.settings import PolicySettings

    shipped = PolicySettings()
    ref = policy_stats(reference, policy.topics, benign)
    if reference is encoder:
        cur, ms = ref, Mapped(shipped.min_similarity, shipped.min_similarity, 0.0, len(ref.pooled), False)
        margin = shipped.margin
        ms.rank = float(np.mean(ref.pooled < shipped.min_similarity))
    else:
        cur = policy_stats(encoder, policy.topics, benign)
        ms = quantile_map(ref.pooled, cur.pooled, shipped.min_similarity)
        low = quantile_map(ref.pooled, cur.pooled, shipped.min_similarity - shipped.margin)
        margin = round(max(0.0, ms.value - low.value), 4)
    fit = PolicyFit(min_similarity=min(1.0, max(0.0, ms.value)), margin=min(1.0, margin))
    new_settings = policy.model_copy(update={"min_similarity": fit.min_similarity, "margin": fit.margin})
    old_settings = policy.model_copy(update={"min_similarity": shipped.min_similarity, "margin": shipped.margin})
    figures: dict[str, Any] = {
        "min_similarity": ms.as_dict(),
        "margin": {"shipped": shipped.margin, "value": fit.margin},
        "population": {"pairs": int(len(ref.pooled) // 2), "values": int(len(ref.pooled))},
        "flagged": {},
    }
    for g in ("benign", "allowed", "examples"):
        row = {
            "reference_shipped": _flags(ref, g, shipped.min_similarity, shipped.margin),
            "fitted": _flags(cur, g, fit.min_similarity, fit.margin),
            "shipped_on_this_embedder": _flags(cur, g, shipped.min_similarity, shipped.margin),
        }
        if g == "benign":  # the product's checker itself
            row["reference_shipped"] = _checker_flags(reference, old_settings, benign)
            row["fitted"] = _checker_flags(encoder, new_settings, benign)
        figures["flagged"][g] = row
    return fit, figures


# --- relevance floors ----------------------------------------------------------------------------


@dataclass
class RelevanceStats:
    best: np.ndarray  # per question: best passage cosine
    top: np.ndarray  # per question: the top_k passage cosines, flattened
    definitions: np.ndarray | None  # per question: best definition cosine


def relevance_stats(encoder: Cached, questions: list[Text], passages: list[PassageText], top_k: int) -> RelevanceStats:
    q = encoder.queries([x.text for x in questions])
    p = encoder.embed_passages([x.text for x in passages])
    s = q @ p.T
    k = min(top_k, s.shape[1])
    top = -np.sort(-s, axis=1)[:, :k]
    terms = np.array([x.term is not None for x in passages])
    definitions = s[:, terms].max(axis=1) if terms.any() else None
    return RelevanceStats(top[:, 0].copy(), top.ravel(), definitions)


def fit_relevance(
    reference: Cached, encoder: Cached, questions: list[Text], passages: list[PassageText], top_k: int
) -> tuple[RelevanceFloors, dict[str, Any]]:
    from assistant.settings import AnswerSettings
    from retrieval.settings import DefinitionSettings

    if not questions or not passages:
        raise FitFailed("no questions or passages")
    ref = relevance_stats(reference, questions, passages, top_k)
    cur = ref if reference is encoder else relevance_stats(encoder, questions, passages, top_k)
    answer, definitions = AnswerSettings(), DefinitionSettings()
    defs_ref, defs_cur, defs_population = ref.definitions, cur.definitions, "best definition cosine per question"
    if defs_ref is None or defs_cur is None:
        defs_ref, defs_cur = ref.best, cur.best
        defs_population = "best passage cosine per question (no statute definitions among the passages)"
    rows = (
        ("min_relevance", answer.min_relevance, ref.best, cur.best, "best passage cosine per question", "refused"),
        (
            "passage_min_relevance",
            answer.passage_min_relevance,
            ref.top,
            cur.top,
            f"cosines of each question's top {top_k} passages",
            "dropped",
        ),
        ("definitions_min_relevance", definitions.min_relevance, defs_ref, defs_cur, defs_population, "below"),
    )
    values: dict[str, float] = {}
    figures: dict[str, Any] = {
        "questions": len(questions),
        "passages": len(passages),
        "passage_groups": dict(sorted(_count(p.group for p in passages).items())),
        "question_groups": dict(sorted(_count(q.group for q in questions).items())),
        "floors": {},
    }
    for name, shipped, r, c, population, verb in rows:
        m = (
            Mapped(shipped, shipped, float(np.mean(r < shipped)), len(r), False)
            if reference is encoder
            else quantile_map(r, c, shipped)
        )
        values[name] = m.value
        figures["floors"][name] = {
            **m.as_dict(),
            "population": population,
            "counts": verb,
            "reference_shipped": share(r, shipped),
            "fitted": share(c, m.value),
            "shipped_on_this_embedder": share(c, shipped),
        }
    return RelevanceFloors(**values), figures


def _count(items: Any) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for x in items:
        out[x] += 1
    return dict(out)


# --- answerability -------------------------------------------------------------------------------


def fit_answerability(index_dir: Path, relevance: RelevanceFloors | None) -> tuple[AnswerabilityFit, dict[str, Any]]:
    from configs.settings import load_settings
    from connectors.errors import NuriError
    from fitting import calibrate_answerability as ca
    from retrieval.sparse import KoreanSparseEncoder

    if not index_dir.is_dir():
        raise FitFailed(f"색인이 없습니다: {index_dir}")
    if not (SHARED_DATA / "qa" / "dev.jsonl").exists():
        raise FitFailed(f"QA 개발 세트가 없습니다: {SHARED_DATA / 'qa'}")
    settings = load_settings(index_dir=index_dir)
    if relevance is not None:
        answer = settings.answer.model_copy(
            update={"min_relevance": relevance.min_relevance, "passage_min_relevance": relevance.passage_min_relevance}
        )
        settings = settings.model_copy(update={"answer": answer})
    items = [q for q in ca.questions(ca.DEFAULT_UNANSWERABLE, ca.DEFAULT_FAMILIES, ca.DEFAULT_LOCKED) if not q.locked]
    try:
        cases = ca.collect(settings, index_dir, items)
    except NuriError as e:  # e.g. an index built with another embedder
        raise FitFailed(f"색인을 쓸 수 없습니다 ({index_dir}): {e}") from e
    ca.featurise(cases, KoreanSparseEncoder(settings.retrieval.sparse))
    _lines, final, detail = ca.calibrate(cases, 0.06)
    fit = AnswerabilityFit(weights=final.weights, bias=final.bias, threshold=min(1.0, max(0.0, final.threshold)))
    return fit, {"families": detail["families"], "questions": len(cases), "max_false_refusal": 0.06}


# --- the command ---------------------------------------------------------------------------------


def _summary(fit: EmbedderFit, out: Path, used: list[str], notes: list[str]) -> list[str]:
    f = fit.figures
    lines = [
        f"embedder fit: {fit.embedder} ({fit.dim}-d) -> {out}",
        f"reference: {BUNDLED_EMBEDDER} ({BUNDLED_DIM}-d), on which the shipped values were fitted",
        "data: " + ", ".join(used),
        "",
        "| part | value | e5-small (shipped) | this embedder (fitted) | shipped value on this embedder |",
        "|---|---|---|---|---|",
    ]
    inj = f.get("injection")
    if isinstance(inj, dict) and "threshold" in inj:
        s = inj["shipped"]
        lines += [
            f"| injection | threshold (C={inj['C']}) | {s['threshold']:.4f} | {inj['threshold']:.4f} | — (other dimension) |",
            f"| injection | LOFO attacks blocked | {fmt(s['lofo_attacks_blocked'])} | {fmt(inj['lofo_attacks_blocked'])} | |",
            f"| injection | LOFO benign blocked | {fmt(s['lofo_benign_blocked'])} | {fmt(inj['lofo_benign_blocked'])} | |",
            f"| injection | locked attacks blocked | {fmt(s['locked_attacks_blocked'])} | {fmt(inj['locked_attacks_blocked'])} | |",
            f"| injection | locked benign blocked | {fmt(s['locked_benign_blocked'])} | {fmt(inj['locked_benign_blocked'])} | |",
        ]
    pol = f.get("policy")
    if isinstance(pol, dict) and "min_similarity" in pol:
        ms = pol["min_similarity"]
        edge = ", edge" if ms["edge"] else ""
        lines += [
            f"| policy | min_similarity (rank {ms['rank']:.3f} of {ms['n']} cosines{edge}) | {ms['shipped']} | {ms['value']} | |",
            f"| policy | margin | {pol['margin']['shipped']} | {pol['margin']['value']} | |",
        ]
        for g, label in (
            ("benign", "benign questions flagged"),
            ("allowed", "allowed questions flagged (LOO)"),
            ("examples", "off-policy examples caught (LOO)"),
        ):
            r = pol["flagged"][g]
            lines.append(
                f"| policy | {label} | {fmt(r['reference_shipped'])} | {fmt(r['fitted'])} | {fmt(r['shipped_on_this_embedder'])} |"
            )
    rel = f.get("relevance")
    if isinstance(rel, dict) and "floors" in rel:
        for name, label in (
            ("min_relevance", "answer.min_relevance"),
            ("passage_min_relevance", "answer.passage_min_relevance"),
            ("definitions_min_relevance", "search.definitions.min_relevance"),
        ):
            r = rel["floors"][name]
            edge = ", edge" if r["edge"] else ""
            lines += [
                f"| relevance | {label} (rank {r['rank']:.3f} of {r['n']}{edge}) | {r['shipped']} | {r['value']} | |",
                f"| relevance | {r['counts']}: {r['population']} | {fmt(r['reference_shipped'])} | {fmt(r['fitted'])} | "
                f"{fmt(r['shipped_on_this_embedder'])} |",
            ]
        lines.append(
            f"| relevance | data | {rel['questions']} questions, {rel['passages']} passages "
            f"({', '.join(f'{k} {v}' for k, v in rel['passage_groups'].items())}) | | |"
        )
    ans = f.get("answerability")
    if isinstance(ans, dict) and "questions" in ans:
        a = fit.answerability
        assert a is not None
        from assistant.settings import AnswerabilitySettings

        shipped = AnswerabilitySettings().threshold
        lines.append(f"| answerability | threshold ({ans['questions']} questions) | {shipped} | {a.threshold} | |")
    return [*lines, "", *notes]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m fitting.fit_embedder", description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True, help="the embedder fit file to write (calibration.path)")
    p.add_argument("--cache", type=Path, help="vectors kept between runs (.npz), for both embedders")
    p.add_argument("--answerability-index", type=Path, help="an index built with this embedder (fits answerability)")
    p.add_argument("--skip", default="", help=f"parts not to fit (comma-separated: {','.join(PARTS)})")
    p.add_argument("--max-texts", type=int, help="at most this many texts of each set (seeded; for quick runs)")
    p.add_argument("--max-passages", type=int, default=MAX_PASSAGES, help="passages for the relevance floors")
    p.add_argument(
        "--shared-data",
        type=Path,
        default=SHARED_DATA,
        help="the shared data folder, used when present (QA dev questions, public attacks, statutes)",
    )
    p.add_argument("--stamp", action="store_true", help="write the current time in fitted_at (the file then differs)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    args = p.parse_args(argv)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    if skip - set(PARTS):
        p.error(f"--skip: unknown part(s) {', '.join(sorted(skip - set(PARTS)))}; choose from {', '.join(PARTS)}")
    if args.max_texts is not None and args.max_texts < 10:
        p.error("--max-texts: at least 10")
    parts = set(PARTS) - skip
    if args.answerability_index is None:
        parts.discard("answerability")

    from configs.logs import setup_logging
    from configs.settings import load_settings
    from connectors.errors import NuriError
    from retrieval.embedders import build_embedder
    from retrieval.errors import EncoderUnavailableError
    from retrieval.settings import EmbedderSettings

    setup_logging("ERROR")
    cache = VectorCache(args.cache)
    try:
        settings = load_settings()
        try:
            encoder = Cached(build_embedder(settings.embedder), cache)
        except EncoderUnavailableError as e:
            print(f"임베딩 모델을 쓸 수 없습니다 ({settings.embedder.backend}): {e}", file=sys.stderr)
            return 2
        bundled = encoder.name == BUNDLED_EMBEDDER and encoder.dim == BUNDLED_DIM
        reference = encoder
        if not bundled and parts & {"policy", "relevance"}:
            reference = Cached(build_embedder(EmbedderSettings()), cache)
        shared = args.shared_data
        print(f"임베딩 모델: {encoder.name} ({encoder.dim}차원)", file=sys.stderr)
        data = load_data(shared, reference.count_tokens, args.max_texts, args.max_passages, parts)
        if not shared.is_dir():
            data.used.append(f"no {shared}: the repository's data only")
        # every vector, both embedders side by side
        inj_texts: list[str] = []
        if "injection" in parts:
            from guardrails.normalize import analyse

            for t in data.turns:
                inj_texts.append(t.text)
                de = analyse(t.text).deobfuscated
                if de:
                    inj_texts.append(de)
        topic_texts = [x for t in settings.guardrails.policy.topics for x in (*t.examples, *t.allowed)]
        pol_texts = topic_texts + [b.text for b in data.benign] if "policy" in parts else []
        rel_q = [q.text for q in data.questions] if "relevance" in parts else []
        rel_p = [x.text for x in data.passages] if "relevance" in parts else []
        jobs = [(encoder, inj_texts + pol_texts + rel_q, rel_p)]
        if reference is not encoder:
            jobs.append((reference, pol_texts + rel_q, rel_p))
        try:
            encode_all(jobs, progress=not args.quiet)
        finally:
            cache.save()

        fitted_at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if args.stamp else ""
        figures: dict[str, Any] = {"data": data.used, "seed": SEED, "max_texts": args.max_texts}
        notes: list[str] = []
        injection = policy = relevance = answerability = None
        for part in PARTS:
            if part not in parts:
                why = "--skip" if part in skip else "no --answerability-index (an index built with this embedder)"
                figures[part] = {"not_fitted": why}
                continue
            print(f"보정 중: {part}", file=sys.stderr)
            started = time.monotonic()
            try:
                if part == "injection":
                    injection, figures[part] = fit_injection(encoder, data.turns, fitted_at)
                elif part == "policy":
                    policy, figures[part] = fit_policy(reference, encoder, settings.guardrails.policy, data.benign)
                elif part == "relevance":
                    relevance, figures[part] = fit_relevance(
                        reference, encoder, data.questions, data.passages, settings.answer.top_k
                    )
                else:
                    answerability, figures[part] = fit_answerability(args.answerability_index, relevance)
            except FitFailed as e:
                figures[part] = {"not_fitted": str(e)}
            print(f"보정 끝: {part} ({time.monotonic() - started:.1f}초)", file=sys.stderr)
        for part in PARTS:
            if isinstance(figures.get(part), dict) and "not_fitted" in figures[part]:
                hint = " (fit it: --answerability-index DIR)" if part == "answerability" else ""
                notes.append(
                    f"- {part}: not fitted ({figures[part]['not_fitted']}): runs in safe mode until fitted{hint}"
                )
        if bundled and parts & {"policy", "relevance"}:
            notes.append("- this is the bundled encoder: policy and relevance keep the shipped values")
        fit = EmbedderFit(
            embedder=encoder.name,
            dim=encoder.dim,
            probe=[round(float(x), 7) for x in encoder.probe],
            fitted_at=fitted_at,
            injection=injection,
            policy=policy,
            relevance=relevance,
            answerability=answerability,
            figures=json.loads(json.dumps(figures, default=_jsonable)),
        )
        fit.write(args.out)
    except EncoderUnavailableError as e:
        cache.save()
        print(f"임베딩 모델을 쓸 수 없습니다: {e}", file=sys.stderr)
        return 2
    except NuriError as e:
        print(f"보정할 수 없습니다: {e}", file=sys.stderr)
        return 2
    sys.stdout.write("\n".join(_summary(fit, args.out, data.used, notes)) + "\n")
    return 0


def _jsonable(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    raise TypeError(type(x).__name__)


if __name__ == "__main__":
    raise SystemExit(main())
