"""Train the prompt-injection classifier (``guardrails/data/injection_model.json``) and report
its family-split figures.

    python -m fitting.train_injection [--max-benign-block 0.03] [--out FILE] [--cache FILE]

Data (:func:`fitting.attack_families.load_turns`; read at run time, only the fitted weights are
stored): user-turn FAMILIES (one author, style or template each: hand-written Korean and
English in several registers, template fills, the older Korean sets one family per kind, the
public prompts one family per upstream file, the QA dev questions as benign). Families marked
``split: "test"`` in ``evals/data/guardrails/families_turns.jsonl`` are LOCKED: nothing below
reads them until the shipped model is evaluated. Instructions inside documents are not the
user's turn: the context check scores them (``python -m fitting.train_passage_check``).

Each text is embedded as the product does (``embed_query`` of multilingual-e5-small, the vector
retrieval computes anyway; the plain form of an obfuscated text too, the higher probability
counts). Leave-one-family-out (LOFO): for every dev family, a logistic regression fitted on the
other dev families scores it. On these out-of-family probabilities, the threshold is the lowest
at which rules OR classifier block at most ``--max-benign-block`` of the benign questions, and C
is chosen from a small grid by the attack recall at that threshold. The shipped model is fitted
on every dev family with that C and threshold, and the LOCKED families are run through the real
:class:`guardrails.injection.InjectionDetector`; their ids are stored with the model so that the
test suite re-checks the same texts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from evals.datasets import SHARED_DATA
from fitting.attack_families import PUBLIC_ATTACKS, Turn, dev_only, family_table, fmt, load_turns, rate
from guardrails.injection import InjectionDetector, InjectionModel, InjectionSettings, QueryEncoder, match_rules
from guardrails.normalize import analyse

REPO_ROOT = Path(__file__).resolve().parent.parent
MODEL_OUT = REPO_ROOT / "guardrails" / "data" / "injection_model.json"
SEED = 20250314
C_GRID = (0.1, 0.3, 1.0, 3.0)


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
    cases: list[Turn], encoder: QueryEncoder, progress: Callable[[Iterable[Turn]], Iterable[Turn]]
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


def lofo_probs(cases: list[Turn], f: Features, idx: list[int], c: float) -> np.ndarray:
    """Out-of-family probabilities for ``idx``: each family scored by a model fitted on the others."""
    fams: dict[str, list[int]] = defaultdict(list)
    for n, i in enumerate(idx):
        fams[cases[i].family].append(n)
    out = np.zeros(len(idx))
    for _fam, held in sorted(fams.items()):
        held_set = set(held)
        tr = [idx[n] for n in range(len(idx)) if n not in held_set]
        model = fit(f.raw[tr], np.array([cases[i].attack for i in tr], dtype=int), c)
        out[held] = model.probs(f, [idx[n] for n in held])
    return out


def group_of(t: Turn) -> str:
    return f"attack {t.kind}" if t.attack else "benign questions"


def train(
    encoder: Any,
    max_benign: float = 0.03,
    shared: Path = SHARED_DATA,
    progress: bool = True,
    cases: list[Turn] | None = None,
) -> tuple[InjectionModel, list[str], dict[str, Any]]:
    """Fit and evaluate; returns (model, report lines, metadata). ``cases`` (default: every case
    of :func:`load_turns`) lets another fitting run (``fitting.fit_embedder``) use a subset."""
    cases = load_turns(shared) if cases is None else cases
    if progress:
        from tqdm import tqdm

        def bar(items: Iterable[Turn]) -> Iterable[Turn]:
            return tqdm(list(items), desc="임베딩", file=sys.stderr)
    else:

        def bar(items: Iterable[Turn]) -> Iterable[Turn]:
            return items

    f = featurise(cases, encoder, bar)
    if hasattr(encoder, "save"):
        encoder.save()
    dev_idx = [i for i, c in enumerate(cases) if c.split == "dev"]
    assert len(dev_idx) == len(dev_only(cases))
    y = np.array([cases[i].attack for i in dev_idx])
    ruled = np.array([bool(f.rules[i]) for i in dev_idx])
    cv: dict[float, dict[str, Any]] = {}
    for c in C_GRID:
        oof = lofo_probs(cases, f, dev_idx, c)
        thr = choose_threshold(oof, y, ruled, max_benign)
        blocked = ruled | (oof >= thr)
        cv[c] = {
            "threshold": round(thr, 4),
            "oof": oof,
            "attack_recall": rate(list(blocked[y])),
            "benign_blocked": rate(list(blocked[~y])),
        }
    best_c = max(C_GRID, key=lambda c: (cv[c]["attack_recall"]["rate"], -cv[c]["benign_blocked"]["rate"], -c))
    threshold = cv[best_c]["threshold"]
    oof = cv[best_c]["oof"]
    fitted = fit(f.raw[dev_idx], y.astype(int), best_c)
    model = InjectionModel(
        fitted.weights, round(fitted.bias, 6), threshold, str(getattr(encoder, "name", "unknown")), {}
    )

    dev_cases = [cases[i] for i in dev_idx]
    lofo_flags = {cases[i].id: bool(ruled[n] or oof[n] >= threshold) for n, i in enumerate(dev_idx)}
    lofo_clf = {cases[i].id: bool(oof[n] >= threshold) for n, i in enumerate(dev_idx)}
    lofo_rules = {cases[i].id: bool(ruled[n]) for n, i in enumerate(dev_idx)}

    # LOCKED families: the real detector, with the cached vectors
    detector = InjectionDetector(InjectionSettings(), encoder=encoder, model=model)
    locked = [c for c in cases if c.split == "test"]
    combined: dict[str, bool] = {}
    clf_only: dict[str, bool] = {}
    rules_only: dict[str, bool] = {}
    scores: dict[str, float | None] = {}
    for t in locked:
        vec = encoder.embed_query(t.text)
        combined[t.id] = detector.check(t.text, vec).action == "block"
        p = detector.probability(t.text, vec)
        scores[t.id] = p
        clf_only[t.id] = p is not None and p >= threshold
        rules_only[t.id] = bool(detector.rule_hits(t.text))

    lines = [
        f"## User-turn injection check: e5 classifier ({model.embedder}), C={best_c}, threshold={threshold:.4f}",
        "",
        f"Threshold rule: lowest probability at which rules OR classifier block <= {max_benign} of the benign questions "
        "on leave-one-family-out probabilities of the dev families. C grid: "
        + ", ".join(
            f"C={c}: thr {cv[c]['threshold']:.3f}, attacks {fmt(cv[c]['attack_recall'])}, benign {fmt(cv[c]['benign_blocked'])}"
            for c in C_GRID
        ),
        "",
    ]
    t_lines, t_detail = family_table(dev_cases, lofo_flags, group_of, "LOFO (dev families), rules OR classifier")
    lines += t_lines
    lines += [
        "LOFO by signal (attacks / benign blocked): classifier "
        + fmt(rate([lofo_clf[c.id] for c in dev_cases if c.attack]))
        + " / "
        + fmt(rate([lofo_clf[c.id] for c in dev_cases if not c.attack]))
        + "; rules "
        + fmt(rate([lofo_rules[c.id] for c in dev_cases if c.attack]))
        + " / "
        + fmt(rate([lofo_rules[c.id] for c in dev_cases if not c.attack])),
        "",
    ]
    l_lines, l_detail = family_table(
        locked, combined, group_of, "LOCKED test families (shipped model, real detector: rules OR classifier)"
    )
    lines += l_lines
    per_signal = {
        name: {
            g: rate([flags[c.id] for c in locked if group_of(c) == g]) for g in sorted({group_of(c) for c in locked})
        }
        for name, flags in (("rules", rules_only), ("classifier", clf_only), ("combined", combined))
    }
    lines += ["| signal | " + " | ".join(per_signal["combined"]) + " |", "|---|" + "---|" * len(per_signal["combined"])]
    for name, row in per_signal.items():
        lines.append(f"| {name} | " + " | ".join(fmt(r) for r in row.values()) + " |")
    missed = [c for c in locked if c.attack and not combined[c.id]]
    false = [c for c in locked if not c.attack and combined[c.id]]
    lines += [
        "",
        "Locked misses: " + (", ".join(f"{c.id} ({(scores[c.id] or 0):.2f})" for c in missed) or "none"),
        "Locked benign blocked: " + (", ".join(f"{c.id} ({(scores[c.id] or 0):.2f})" for c in false) or "none"),
        "",
    ]
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
        "(leave-one-family-out probabilities of the dev families)",
        "data": {
            "dev_items": len(dev_idx),
            "dev_families": len({c.family for c in dev_cases}),
            "locked_items": len(locked),
            "locked_families": len({c.family for c in locked}),
        },
        "lofo": {"groups": t_detail["groups"], "families": t_detail["families"]},
        "locked": {"groups": l_detail["groups"], "families": l_detail["families"], "signals": per_signal},
        "test_ids": sorted(c.id for c in locked),
    }
    model = InjectionModel(model.weights, model.bias, model.threshold, model.embedder, metadata)
    return model, lines, metadata


def _encoder(cache: Path | None) -> CachingEncoder:
    from retrieval.embedders import build_embedder
    from retrieval.settings import EmbedderSettings

    return CachingEncoder(build_embedder(EmbedderSettings()), cache)


def report(cache: Path | None = None) -> tuple[list[str], dict[str, Any]]:
    _, lines, metadata = train(_encoder(cache))
    return lines, metadata


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m fitting.train_injection", description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--max-benign-block", type=float, default=0.03, help="benign share the threshold may block (LOFO)")
    p.add_argument("--out", type=Path, default=MODEL_OUT, help="model file to write")
    p.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "nuri" / "injection-embeddings.npz")
    args = p.parse_args(argv)
    from configs.logs import setup_logging

    setup_logging("ERROR")
    if not (SHARED_DATA / PUBLIC_ATTACKS).exists():
        print(f"공유 데이터가 없습니다: {SHARED_DATA / PUBLIC_ATTACKS}", file=sys.stderr)
        return 1
    encoder = _encoder(args.cache)
    try:
        model, lines, _ = train(encoder, args.max_benign_block)
    finally:
        encoder.save()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(model.to_dict(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    sys.stdout.write("\n".join(lines) + f"\nwritten: {args.out}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
