"""Train the prompt-injection classifier (``guardrails/data/injection_model.json``) and report
its held-out figures.

    python -m fitting.train_injection [--max-benign-block 0.03] [--test-share 0.25] [--out FILE] [--json-out FILE]

Data (read here, never copied into the project; only the fitted weights are stored):

- attacks: the public prompts of ``../shared/data/safety/injection_public.jsonl`` (direct,
  jailbreak, extraction; mostly English) and our Korean ones, ``evals/data/guardrails/
  injection_ko.jsonl`` (direct, jailbreak, extraction, exfiltration; plain and obfuscated:
  spaced, jamo, full-width, base64, hex, URL-encoded, homoglyph, zero-width, leetspeak);
- benign: our civil-service questions, ``evals/data/guardrails/benign_ko.jsonl`` (ordinary,
  hard negatives that use 무시/지시/명령/시스템/보안/역할/프롬프트 legitimately, some English) and
  the questions of the statute QA dev files (``qa/dev.jsonl``, ``qa/dev_colloquial.jsonl``).
- ``indirect`` rows (instructions inside documents) are not the user's turn: they are scored by
  the context check (:class:`guardrails.context.ContextGuard`) as retrieved passages, and
  reported apart, with the flag rate on the statute articles (which must stay ~0).

Each text is embedded as the product does (``embed_query`` of the configured embedder, the one
retrieval uses: multilingual-e5-small). A stratified split (by label, source, kind and
language; fixed seed) holds out ``--test-share`` of the texts. On the rest, 5-fold
cross-validation picks the regularisation C and the threshold: the lowest classifier
probability at which, together with the rules, at most ``--max-benign-block`` of the benign
questions are blocked. The model is then fitted on all of the rest, and the held-out texts are
run through the real :class:`guardrails.injection.InjectionDetector` (rules OR probability ≥
threshold, the plain form of an obfuscated text embedded too); those are the reported figures,
per kind, per language and for the hard negatives. The held-out ids are stored with the model
so that the test suite re-checks the same texts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import re
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from evals.datasets import SHARED_DATA
from guardrails.context import ContextGuard
from guardrails.injection import InjectionDetector, InjectionModel, InjectionSettings, QueryEncoder, match_rules
from guardrails.normalize import analyse

REPO_ROOT = Path(__file__).resolve().parent.parent
OWN_ATTACKS = REPO_ROOT / "evals" / "data" / "guardrails" / "injection_ko.jsonl"
OWN_BENIGN = REPO_ROOT / "evals" / "data" / "guardrails" / "benign_ko.jsonl"
PUBLIC_ATTACKS = Path("safety") / "injection_public.jsonl"
DEV_FILES = (Path("qa") / "dev.jsonl", Path("qa") / "dev_colloquial.jsonl")
MODEL_OUT = REPO_ROOT / "guardrails" / "data" / "injection_model.json"
SEED = 20250314
C_GRID = (0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
BIPIA = re.compile(r"^inj-ext-(13[2-9]|14\d|15[01])$")


@dataclass(slots=True)
class Case:
    id: str
    text: str
    attack: bool
    source: str  # public | own | dev
    kind: str  # attack: direct/jailbreak/extraction/exfiltration/indirect; benign: ordinary/hard_negative/dev
    lang: str
    obfuscation: str = "none"

    @property
    def stratum(self) -> str:
        return f"{int(self.attack)}|{self.source}|{self.kind}|{self.lang}"


def _jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def load_cases(
    shared: Path = SHARED_DATA, own_attacks: Path = OWN_ATTACKS, own_benign: Path = OWN_BENIGN
) -> tuple[list[Case], list[Case]]:
    """(user-turn cases, indirect passages)."""
    cases: list[Case] = []
    for r in _jsonl(shared / PUBLIC_ATTACKS):
        cases.append(Case(r["id"], r["text"], True, "public", r["kind"], r.get("lang", "en")))
    for r in _jsonl(own_attacks):
        cases.append(
            Case(r["id"], r["text"], True, "own", r["kind"], r.get("lang", "ko"), r.get("obfuscation", "none"))
        )
    for r in _jsonl(own_benign):
        cases.append(Case(r["id"], r["question"], False, "own", r["kind"], r.get("lang", "ko")))
    for name in DEV_FILES:
        for r in _jsonl(shared / name):
            cases.append(Case(r["id"], r["question"], False, "dev", "dev", "ko"))
    turns = [c for c in cases if c.kind != "indirect"]
    passages = [c for c in cases if c.kind == "indirect"]
    return turns, passages


def split(cases: list[Case], test_share: float, seed: int = SEED) -> tuple[list[Case], list[Case]]:
    """Stratified by label, source, kind and language (strata of one go to training)."""
    rng = np.random.default_rng(seed)
    strata: dict[str, list[Case]] = defaultdict(list)
    for c in sorted(cases, key=lambda c: c.id):
        strata[c.stratum].append(c)
    train, test = [], []
    for key in sorted(strata):
        members = strata[key]
        order = rng.permutation(len(members))
        n_test = int(round(len(members) * test_share)) if len(members) > 1 else 0
        test += [members[i] for i in order[:n_test]]
        train += [members[i] for i in order[n_test:]]
    return train, test


def folds_of(cases: list[Case], k: int, seed: int = SEED) -> list[int]:
    """Stratified k-fold assignment (round-robin over each shuffled stratum)."""
    rng = np.random.default_rng(seed + 1)
    fold = [0] * len(cases)
    strata: dict[str, list[int]] = defaultdict(list)
    for i, c in enumerate(cases):
        strata[c.stratum].append(i)
    offset = 0
    for key in sorted(strata):
        idx = strata[key]
        for j, i in enumerate(rng.permutation(idx)):
            fold[int(i)] = (j + offset) % k
        offset += len(idx)
    return fold


class CachingEncoder:
    """An encoder that remembers every vector (and keeps them on disk between runs)."""

    def __init__(self, encoder: Any, cache_file: Path | None = None) -> None:
        self.encoder = encoder
        self.name = str(getattr(encoder, "name", type(encoder).__name__))
        self.cache_file = cache_file
        self._cache: dict[str, np.ndarray] = {}
        if cache_file is not None and cache_file.exists():
            with np.load(cache_file) as data:
                self._cache = {k: data[k] for k in data.files}
        self._dirty = False

    def _key(self, text: str) -> str:
        return hashlib.sha1(f"{self.name}\0{text}".encode()).hexdigest()

    def embed_query(self, text: str) -> np.ndarray:
        key = self._key(text)
        if key not in self._cache:
            self._cache[key] = np.asarray(self.encoder.embed_query(text), dtype=np.float32)
            self._dirty = True
        return self._cache[key]

    def save(self) -> None:
        if self.cache_file is not None and self._dirty:
            self.cache_file.parent.mkdir(parents=True, exist_ok=True)
            np.savez(self.cache_file, **self._cache)  # type: ignore[arg-type]
            self._dirty = False


@dataclass(slots=True)
class Features:
    """What the model reads for each case: the raw text's vector, the plain form's (if any)."""

    raw: np.ndarray  # (n, dim)
    plain: list[np.ndarray | None]
    rules: list[list[str]]  # rule ids that fire


def featurise(
    cases: list[Case], encoder: QueryEncoder, progress: Callable[[Iterable[Case]], Iterable[Case]]
) -> Features:
    raw, plain, rules = [], [], []
    for c in progress(cases):
        a = analyse(c.text)
        raw.append(encoder.embed_query(c.text))
        de = a.deobfuscated
        plain.append(encoder.embed_query(de) if de else None)
        rules.append([h.rule for h in match_rules(a)])
    return Features(np.vstack(raw), plain, rules)


@dataclass(slots=True)
class Fitted:
    weights: np.ndarray
    bias: float
    threshold: float = 0.5

    def probs(self, f: Features, idx: Iterable[int]) -> np.ndarray:
        out = []
        for i in idx:
            p = _sigmoid(float(f.raw[i] @ self.weights) + self.bias)
            v = f.plain[i]
            if v is not None:
                p = max(p, _sigmoid(float(v @ self.weights) + self.bias))
            out.append(p)
        return np.array(out)


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + float(np.exp(-np.clip(z, -60, 60))))


def fit(x: np.ndarray, y: np.ndarray, c: float) -> Fitted:
    """Logistic regression on standardised features, folded back to raw-vector weights."""
    from sklearn.linear_model import LogisticRegression

    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=5000).fit((x - mean) / scale, y)
    w = model.coef_[0] / scale
    b = float(model.intercept_[0] - (model.coef_[0] * mean / scale).sum())
    return Fitted(w.astype(np.float32), b)


def choose_threshold(probs: np.ndarray, attack: np.ndarray, ruled: np.ndarray, max_benign: float) -> float:
    """The lowest threshold at which rules OR probability block at most ``max_benign`` of the
    benign cases."""
    benign = ~attack
    budget = int(np.floor(max_benign * benign.sum())) - int((ruled & benign).sum())
    free = np.sort(probs[benign & ~ruled])[::-1]
    if budget < 0 or len(free) == 0:
        return 0.99
    if budget >= len(free):
        return float(max(0.05, free[-1]))
    return float(min(0.99, free[budget] + 1e-4))


def cross_validate(
    cases: list[Case], f: Features, idx: list[int], c: float, max_benign: float, k: int = 5
) -> tuple[np.ndarray, float]:
    """Out-of-fold probabilities for ``idx`` and the threshold they give."""
    sub = [cases[i] for i in idx]
    fold = folds_of(sub, k)
    y = np.array([cases[i].attack for i in idx])
    oof = np.zeros(len(idx))
    for j in range(k):
        tr = [idx[n] for n in range(len(idx)) if fold[n] != j]
        te = [n for n in range(len(idx)) if fold[n] == j]
        model = fit(f.raw[tr], np.array([cases[i].attack for i in tr], dtype=int), c)
        oof[te] = model.probs(f, [idx[n] for n in te])
    ruled = np.array([bool(f.rules[i]) for i in idx])
    return oof, choose_threshold(oof, y, ruled, max_benign)


# --- reporting --------------------------------------------------------------------------------


def _rate(values: list[bool]) -> dict[str, Any]:
    return {
        "n": len(values),
        "blocked": int(sum(values)),
        "rate": round(sum(values) / len(values), 4) if values else None,
    }


def groups_of(c: Case) -> list[str]:
    if c.attack:
        out = [f"attack {c.kind}", f"attack lang={c.lang}", "attack all"]
        if c.obfuscation != "none":
            out.append("attack obfuscated")
        return out
    out = [f"benign {c.kind}" + (f" ({c.lang})" if c.source == "own" else ""), "benign all"]
    if c.kind == "hard_negative":
        out.append("benign hard_negative (all)")
    return out


def summarise(cases: list[Case], decisions: dict[str, dict[str, bool]]) -> dict[str, dict[str, Any]]:
    """Per group: rates for each decision column (rules, classifier, combined)."""
    table: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    for c in cases:
        for g in groups_of(c):
            for col, d in decisions.items():
                table[g][col].append(d[c.id])
    return {g: {col: _rate(v) for col, v in cols.items()} for g, cols in sorted(table.items())}


def markdown(summary: dict[str, dict[str, Any]], title: str) -> list[str]:
    cols = list(next(iter(summary.values())).keys()) if summary else []
    lines = [f"### {title}", "", "| group | n | " + " | ".join(f"{c} blocked" for c in cols) + " |"]
    lines.append("|---|---|" + "---|" * len(cols))
    for g, row in summary.items():
        n = next(iter(row.values()))["n"]
        cells = [f"{r['rate']:.3f} ({r['blocked']})" if r["rate"] is not None else "—" for r in row.values()]
        lines.append(f"| {g} | {n} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def statute_articles(shared: Path = SHARED_DATA) -> list[tuple[str, str]]:
    """(law/file, article text) for each ``##### 제N조`` article of the Korean statutes."""
    out = []
    for path in sorted((shared / "statutes" / "kr").glob("*/*.md")):
        text = path.read_text(encoding="utf-8")
        for part in re.split(r"\n(?=#{2,6} )", text):
            if re.match(r"#{2,6} 제\d+조", part):
                out.append((f"{path.parent.name}/{path.name}", part))
    return out


def context_report(passages: list[Case], shared: Path = SHARED_DATA) -> dict[str, Any]:
    guard = ContextGuard()
    groups: dict[str, list[bool]] = defaultdict(list)
    for p in passages:
        flagged = bool(guard.hits(p.text))
        label = "own (ko)" if p.source == "own" else ("public BIPIA email" if BIPIA.match(p.id) else "public other")
        groups[label].append(flagged)
        groups["all"].append(flagged)
    articles = statute_articles(shared)
    flagged_articles = [name for name, text in articles if guard.hits(text)]
    return {
        "indirect_flagged": {g: _rate(v) for g, v in sorted(groups.items())},
        "statute_articles": {"n": len(articles), "flagged": len(flagged_articles), "examples": flagged_articles[:5]},
    }


# --- main -------------------------------------------------------------------------------------


def train(
    encoder: Any,
    max_benign: float = 0.015,
    test_share: float = 0.25,
    seed: int = SEED,
    shared: Path = SHARED_DATA,
    progress: bool = True,
) -> tuple[InjectionModel, list[str], dict[str, Any]]:
    """Fit and evaluate; returns (model, report lines, detail)."""
    turns, passages = load_cases(shared)
    train_cases, test_cases = split(turns, test_share, seed)
    cases = train_cases + test_cases
    if progress:
        from tqdm import tqdm

        def bar(items: Iterable[Case]) -> Iterable[Case]:
            return tqdm(list(items), desc="임베딩", file=sys.stderr)
    else:

        def bar(items: Iterable[Case]) -> Iterable[Case]:
            return items

    f = featurise(cases, encoder, bar)
    idx_train = list(range(len(train_cases)))
    y_train = np.array([c.attack for c in train_cases], dtype=int)

    # model selection: C by cross-validated recall at the benign budget
    cv: dict[float, dict[str, Any]] = {}
    for cc in C_GRID:
        oof, thr = cross_validate(cases, f, idx_train, cc, max_benign)
        ruled = np.array([bool(f.rules[i]) for i in idx_train])
        blocked = ruled | (oof >= thr)
        attack = y_train.astype(bool)
        cv[cc] = {
            "threshold": round(thr, 4),
            "attack_recall": round(float(blocked[attack].mean()), 4),
            "benign_blocked": round(float(blocked[~attack].mean()), 4),
            "classifier_only_recall": round(float((oof >= thr)[attack].mean()), 4),
            "oof": oof,
        }
    best_c = max(C_GRID, key=lambda c: (cv[c]["attack_recall"], -cv[c]["benign_blocked"], -c))
    threshold = cv[best_c]["threshold"]

    fitted = fit(f.raw[idx_train], y_train, best_c)
    model = InjectionModel(
        fitted.weights, round(fitted.bias, 6), threshold, str(getattr(encoder, "name", "unknown")), {}
    )

    # held-out: the real detector, with the cached vectors
    detector = InjectionDetector(InjectionSettings(), encoder=encoder, model=model)
    rules_only: dict[str, bool] = {}
    clf_only: dict[str, bool] = {}
    combined: dict[str, bool] = {}
    scores: dict[str, float | None] = {}
    for c in test_cases:
        vec = encoder.embed_query(c.text)
        result = detector.check(c.text, vec)
        combined[c.id] = result.action == "block"
        rules_only[c.id] = bool(detector.rule_hits(c.text))
        p = detector.probability(c.text, vec)
        scores[c.id] = p
        clf_only[c.id] = p is not None and p >= threshold
    test_summary = summarise(test_cases, {"rules": rules_only, "classifier": clf_only, "combined": combined})
    cv_decisions = {
        "rules": {train_cases[i].id: bool(f.rules[i]) for i in idx_train},
        "classifier": {train_cases[i].id: bool(cv[best_c]["oof"][i] >= threshold) for i in idx_train},
        "combined": {train_cases[i].id: bool(f.rules[i]) or bool(cv[best_c]["oof"][i] >= threshold) for i in idx_train},
    }
    cv_summary = summarise(train_cases, cv_decisions)
    ctx = context_report(passages, shared)
    # e5 reads the first 512 tokens: how the whole-text vector does on long attacks (no sliding window is used)
    long_idx = [i for i in idx_train if train_cases[i].attack and len(train_cases[i].text) > 500]
    long_texts = {
        "attacks_over_500_chars_cv": len(long_idx),
        "classifier_recall_cv": round(float(np.mean([cv[best_c]["oof"][i] >= threshold for i in long_idx])), 4)
        if long_idx
        else None,
        "policy": "whole-text vector only (the one retrieval computes); no sliding window",
    }

    def count(pred: Callable[[Case], bool]) -> int:
        return sum(1 for c in turns if pred(c))

    metadata = {
        "trained_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "trainer": "python -m fitting.train_injection",
        "embedder": model.embedder,
        "input": "embed_query(text) of the whole user turn (the vector retrieval computes); the plain form of an "
        "obfuscated text is embedded too and the higher probability counts",
        "model": {
            "type": "logistic regression (scikit-learn), standardised features folded back, classes balanced",
            "C": best_c,
        },
        "threshold_rule": f"lowest probability at which rules OR classifier block <= {max_benign} of benign questions "
        "(5-fold cross-validation on the training part)",
        "seed": seed,
        "data": {
            "public_attacks": count(lambda c: c.attack and c.source == "public"),
            "own_attacks_ko": count(lambda c: c.attack and c.source == "own"),
            "own_benign": count(lambda c: not c.attack and c.source == "own"),
            "dev_questions": count(lambda c: c.source == "dev"),
            "indirect_passages": len(passages),
            "train": len(train_cases),
            "test": len(test_cases),
        },
        "cross_validation": {
            "C_grid": {str(c): {k: v for k, v in cv[c].items() if k != "oof"} for c in C_GRID},
            "chosen": {k: v for k, v in cv[best_c].items() if k != "oof"},
            "groups": cv_summary,
        },
        "test": test_summary,
        "long_texts": long_texts,
        "context_check": ctx,
        "test_ids": sorted(c.id for c in test_cases),
    }
    model = InjectionModel(model.weights, model.bias, model.threshold, model.embedder, metadata)

    lines = [
        f"## Injection classifier ({model.embedder}), C={best_c}, threshold={threshold:.4f}",
        "",
        f"Data: {json.dumps(metadata['data'])}",
        "",
        "Cross-validation over C (training part, out-of-fold): "
        + ", ".join(
            f"C={c}: recall {cv[c]['attack_recall']:.3f} / benign {cv[c]['benign_blocked']:.3f}" for c in C_GRID
        ),
        "",
    ]
    lines += markdown(cv_summary, "Training part, 5-fold out-of-fold (threshold chosen here)")
    lines += [f"Long attacks (> 500 characters, CV): {json.dumps(long_texts)}", ""]
    lines += markdown(test_summary, f"Held-out test ({len(test_cases)} texts, never seen by the fit or the threshold)")
    lines += ["### Context check (indirect injection, scored as retrieved passages)", ""]
    for g, r in ctx["indirect_flagged"].items():
        lines.append(f"- {g}: {r['blocked']}/{r['n']} flagged")
    sa = ctx["statute_articles"]
    lines += [f"- statute articles flagged: {sa['flagged']}/{sa['n']}", ""]
    missed = [c for c in test_cases if c.attack and not combined[c.id]]
    false = [c for c in test_cases if not c.attack and combined[c.id]]
    lines += ["Held-out misses: " + (", ".join(f"{c.id} ({scores[c.id]:.2f})" for c in missed) or "none")]
    lines += ["Held-out benign blocked: " + (", ".join(f"{c.id} ({scores[c.id]:.2f})" for c in false) or "none"), ""]
    detail = {"scores": scores, "cv_oof": {train_cases[i].id: float(cv[best_c]["oof"][i]) for i in idx_train}}
    return model, lines, detail


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m fitting.train_injection", description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--max-benign-block", type=float, default=0.015, help="benign share the threshold may block (CV)")
    p.add_argument("--test-share", type=float, default=0.25)
    p.add_argument("--seed", type=int, default=SEED)
    p.add_argument("--out", type=Path, default=MODEL_OUT, help="model file to write")
    p.add_argument("--json-out", type=Path, help="per-text scores (JSON)")
    p.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "nuri" / "injection-embeddings.npz")
    args = p.parse_args(argv)

    from configs.logs import setup_logging
    from retrieval.embedders import build_embedder
    from retrieval.settings import EmbedderSettings

    setup_logging("ERROR")
    if not (SHARED_DATA / PUBLIC_ATTACKS).exists():
        print(f"공유 데이터가 없습니다: {SHARED_DATA / PUBLIC_ATTACKS}", file=sys.stderr)
        return 1
    encoder = CachingEncoder(build_embedder(EmbedderSettings()), args.cache)
    try:
        model, lines, detail = train(encoder, args.max_benign_block, args.test_share, args.seed)
    finally:
        encoder.save()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(model.to_dict(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    sys.stdout.write("\n".join(lines) + f"\nwritten: {args.out}\n")
    if args.json_out:
        args.json_out.write_text(json.dumps(detail, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
