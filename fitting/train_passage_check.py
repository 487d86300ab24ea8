"""Train the learned passage check of the context guard (``guardrails/data/passage_model.json``)
and report its family-split figures.

    python -m fitting.train_passage_check [--out FILE] [--max-statute 0.005] [--max-benign 0.01]

Units are the segments :func:`guardrails.passage_model.segments` cuts a passage into (what the
check scores at run time). A segment of an attack document is positive when it is (part of)
the injected text the data records (``inject``); every other segment (the carrier text of an
attack document, every segment of a benign agency document, of a statute article and of the
sample corpus) is negative. Only ``split: "dev"`` families are read for fitting, model
selection and the threshold (:func:`fitting.attack_families.dev_only`).

- Leave-one-family-out: for each dev family, the model is fitted on the other dev families and
  scores the held-out one (a passage scores its highest segment). The threshold is the lowest
  at which, on these out-of-family scores, at most ``--max-statute`` of the statute articles and
  ``--max-benign`` of the other benign documents are flagged (model OR rules). C is chosen from
  a small grid by the LOFO attack recall at that threshold.
- The shipped model is fitted on every dev family, its weights pruned to the features that
  carry weight, and run through the real :class:`guardrails.context.ContextGuard` (rules OR
  model) on the LOCKED families, the locked statute group and the evaluation-only public and
  older Korean indirect rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from fitting.attack_families import Passage, dev_only, family_table, fmt, load_passages, rate
from guardrails.context import ContextGuard
from guardrails.passage_model import MIN_SEGMENT, PassageModel, canonical, concepts, features, segments
from guardrails.settings import ContextSettings

MODEL_OUT = Path(__file__).resolve().parent.parent / "guardrails" / "data" / "passage_model.json"
C_GRID = (16.0,)
POSITIVE_WEIGHT = 10.0  # instruction segments are ~1% of the units
BENIGN_FOLDS = 5
MAX_FEATURES = 40000


def units_of(p: Passage) -> list[tuple[str, int]]:
    segs = segments(p.text)
    if not p.attack or not p.inject:
        return [(s, 0) for s in segs]
    pos = [canonical(x) for x in segments(p.inject)]
    out = []
    for s in segs:
        c = canonical(s)
        out.append((s, int(any(q in c or (c in q and len(c) >= MIN_SEGMENT) for q in pos))))
    return out


class Matrix:
    """Every unit of every passage as a row of a sparse matrix (one vocabulary for all)."""

    def __init__(self, passages: list[Passage]) -> None:
        from scipy.sparse import csr_matrix  # type: ignore[import-untyped]

        self.vocab: dict[str, int] = {}
        rows, cols, vals = [], [], []
        self.labels: list[int] = []
        self.owner: list[int] = []  # passage index of each row
        r = 0
        for pi, p in enumerate(passages):
            for seg, lab in units_of(p):
                counts: dict[int, int] = defaultdict(int)
                for f in features(seg):
                    counts[self.vocab.setdefault(f, len(self.vocab))] += 1
                total = sum(counts.values())
                scale = 1.0 / np.sqrt(total) if total else 0.0
                for c, v in counts.items():
                    rows.append(r)
                    cols.append(c)
                    vals.append(v * scale)
                for name in concepts(seg):
                    rows.append(r)
                    cols.append(self.vocab.setdefault(name, len(self.vocab)))
                    vals.append(1.0)
                self.labels.append(lab)
                self.owner.append(pi)
                r += 1
        self.x = csr_matrix((vals, (rows, cols)), shape=(r, len(self.vocab)), dtype=np.float64)
        self.y = np.array(self.labels)
        self.owner_arr = np.array(self.owner)
        self.passages = passages

    def rows_of(self, passage_idx: set[int]) -> np.ndarray:
        return np.flatnonzero(np.isin(self.owner_arr, list(passage_idx)))


def fit(x: Any, y: np.ndarray, c: float) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, class_weight={0: 1.0, 1: POSITIVE_WEIGHT}, solver="liblinear", max_iter=2000).fit(
        x, y
    )


def passage_scores(m: Matrix, model: Any, rows: np.ndarray) -> dict[int, float]:
    """Highest segment probability per passage, over the given rows."""
    if len(rows) == 0:
        return {}
    probs = model.predict_proba(m.x[rows])[:, 1]
    out: dict[int, float] = defaultdict(float)
    for r, p in zip(rows, probs, strict=True):
        pi = int(m.owner_arr[r])
        out[pi] = max(out[pi], float(p))
    return out


def lofo_scores(
    m: Matrix, dev_idx: list[int], c: float, benign_lofo: bool = False, only: list[int] | None = None
) -> dict[int, float]:
    """Out-of-sample passage scores on the dev families. Attack families: leave-one-family-out.
    Benign documents: 5-fold by item (the shipped model is trained on every benign style we
    have; the LOCKED benign families measure unseen styles), or leave-one-family-out too with
    ``benign_lofo`` (a stress figure). ``only``: score these passages only (default: all)."""
    groups: dict[str, set[int]] = defaultdict(set)
    rng = np.random.default_rng(20260521)
    for i in dev_idx:
        p = m.passages[i]
        key = p.family if (p.attack or benign_lofo) else f"benign-fold-{int(rng.integers(BENIGN_FOLDS))}"
        groups[key].add(i)
    wanted = set(only) if only is not None else set(dev_idx)
    scores: dict[int, float] = {}
    all_dev = set(dev_idx)
    for _key, group in sorted(groups.items()):
        held = group & wanted
        if not held:
            continue
        train_rows = m.rows_of(all_dev - group)
        model = fit(m.x[train_rows], m.y[train_rows], c)
        got = passage_scores(m, model, m.rows_of(held))
        for i in held:
            scores[i] = got.get(i, 0.0)
    return scores


def choose_threshold(
    passages: list[Passage],
    idx: list[int],
    scores: dict[int, float],
    ruled: dict[int, bool],
    max_statute: float,
    max_benign: float,
) -> float:
    """Lowest threshold meeting both benign budgets (rules' flags count against them)."""

    def need(members: list[int], budget: float) -> float:
        if not members:
            return 0.0
        allowed = int(np.floor(budget * len(members))) - sum(ruled[i] for i in members)
        free = sorted((scores[i] for i in members if not ruled[i]), reverse=True)
        if allowed < 0:
            return 0.99
        if allowed >= len(free):
            return 0.05
        return float(free[allowed]) + 1e-4

    statute = [i for i in idx if not passages[i].attack and passages[i].doctype == "statute"]
    other = [i for i in idx if not passages[i].attack and passages[i].doctype not in ("statute", "question")]
    return round(min(0.99, max(0.05, need(statute, max_statute), need(other, max_benign))), 4)


def group_of(p: Passage) -> str:
    if p.attack:
        return "attack indirect"
    if p.doctype == "question":
        return "benign questions (as passages)"
    return "benign statute" if p.doctype == "statute" else "benign agency documents"


def prune(model: Any, vocab: dict[str, int], max_features: int) -> dict[str, float]:
    w = model.coef_[0]
    order = np.argsort(-np.abs(w))[:max_features]
    inv = {i: f for f, i in vocab.items()}
    return {inv[int(i)]: float(w[i]) for i in order if abs(w[i]) > 1e-4}


def train(
    max_statute: float = 0.005, max_benign: float = 0.01, progress: bool = True, benign_lofo: bool = False
) -> tuple[PassageModel, list[str], dict[str, Any]]:
    started = time.time()
    passages = load_passages()
    say = (lambda s: print(s, file=sys.stderr, flush=True)) if progress else (lambda s: None)
    say(f"passages: {len(passages)}; building features …")
    m = Matrix(passages)
    say(f"units: {m.x.shape[0]} × {m.x.shape[1]} features ({time.time() - started:.0f}s)")
    rules = ContextGuard(ContextSettings(model=False))
    ruled = {i: bool(rules.hits(p.text)) for i, p in enumerate(passages)}
    dev_idx = [i for i, p in enumerate(passages) if p.split == "dev"]
    assert len(dev_idx) == len(dev_only(passages))

    cv: dict[float, dict[str, Any]] = {}
    for c in C_GRID:
        scores = lofo_scores(m, dev_idx, c)
        thr = choose_threshold(passages, dev_idx, scores, ruled, max_statute, max_benign)
        flagged = {i: ruled[i] or scores[i] >= thr for i in dev_idx}
        att = [flagged[i] for i in dev_idx if passages[i].attack]
        cv[c] = {"threshold": thr, "scores": scores, "flagged": flagged, "attack_recall": rate(att)}
        say(f"C={c}: LOFO threshold {thr:.3f}, attack recall {fmt(rate(att))} ({time.time() - started:.0f}s)")
    best = max(C_GRID, key=lambda c: (cv[c]["attack_recall"]["rate"], -c))
    threshold = cv[best]["threshold"]
    lofo = cv[best]
    stress: dict[str, Any] = {}
    if benign_lofo:
        b_scores = lofo_scores(m, dev_idx, best, benign_lofo=True, only=[i for i in dev_idx if not passages[i].attack])
        fams: dict[str, list[bool]] = defaultdict(list)
        for i, sc in b_scores.items():
            fams[passages[i].family].append(ruled[i] or sc >= threshold)
        stress = {f: rate(v) for f, v in sorted(fams.items())}
        say(f"benign leave-one-family-out done ({time.time() - started:.0f}s)")

    dev_rows = m.rows_of(set(dev_idx))
    final = fit(m.x[dev_rows], m.y[dev_rows], best)
    weights = prune(final, m.vocab, MAX_FEATURES)
    model = PassageModel(weights, float(final.intercept_[0]), threshold)
    guard = ContextGuard(ContextSettings(), model=model)
    model_only = ContextGuard(ContextSettings(rules=False), model=model)

    evaluated = [i for i, p in enumerate(passages) if p.split != "dev"]
    combined = {passages[i].id: guard.check(passages[i].text).acted for i in evaluated}
    by_model = {passages[i].id: model_only.check(passages[i].text).acted for i in evaluated}
    by_rules = {passages[i].id: ruled[i] for i in evaluated}
    # the pruned model on the dev families reproduces the unpruned one?
    pruned_dev = [model.score(passages[i].text)[0] >= threshold for i in dev_idx]
    full_dev = passage_scores(m, final, dev_rows)
    agree = float(np.mean([a == (full_dev.get(i, 0.0) >= threshold) for a, i in zip(pruned_dev, dev_idx, strict=True)]))

    timing = []
    sample = [passages[i].text for i in evaluated[:: max(1, len(evaluated) // 300)]]
    for text in sample:
        t0 = time.perf_counter()
        guard.check(text)
        timing.append((time.perf_counter() - t0) * 1000)
    chars = statistics.mean(len(t) for t in sample)

    dev_items = [passages[i] for i in dev_idx]
    lofo_flags = {passages[i].id: lofo["flagged"][i] for i in dev_idx}
    lofo_model = {passages[i].id: lofo["scores"][i] >= threshold for i in dev_idx}
    lofo_rules = {passages[i].id: ruled[i] for i in dev_idx}
    lines = [
        f"## Context check: lexical passage model (C={best}, threshold={threshold:.4f}, {len(weights)} features kept)",
        "",
        "Scores: attack families left out whole (LOFO); benign documents 5-fold by item. "
        f"Budgets for the threshold: statute articles <= {max_statute}, "
        f"other benign documents <= {max_benign}. C grid: "
        + ", ".join(f"C={c}: thr {cv[c]['threshold']:.3f} recall {fmt(cv[c]['attack_recall'])}" for c in C_GRID),
        "",
    ]
    t_lines, t_detail = family_table(
        dev_items, lofo_flags, group_of, "Dev families: attacks LOFO, benign 5-fold by item; rules OR model", "flagged"
    )
    lines += t_lines
    if stress:
        worst = max(stress, key=lambda f: stress[f]["rate"])
        lines += [
            "Stress: benign families left out whole (the threshold above): "
            + ", ".join(f"{f} {fmt(r)}" for f, r in stress.items() if r["hit"])
            + f"; worst {worst} {fmt(stress[worst])}",
            "",
        ]
    lines += [
        "LOFO by signal: model alone "
        + fmt(rate([lofo_model[p.id] for p in dev_items if p.attack]))
        + ", rules alone "
        + fmt(rate([lofo_rules[p.id] for p in dev_items if p.attack]))
        + " of dev attack passages; benign flagged by the model alone "
        + fmt(rate([lofo_model[p.id] for p in dev_items if not p.attack])),
        "",
    ]
    locked = [passages[i] for i in evaluated]
    l_lines, l_detail = family_table(
        locked,
        combined,
        group_of,
        "LOCKED test families + evaluation-only rows (shipped model, rules OR model)",
        "flagged",
    )
    lines += l_lines
    per_signal: dict[str, dict[str, Any]] = {}
    for name, flags in (("rules", by_rules), ("model", by_model), ("combined", combined)):
        per_signal[name] = {
            g: rate([flags[p.id] for p in locked if group_of(p) == g and (p.split == "test")])
            for g in ("attack indirect", "benign agency documents", "benign statute")
        }
        per_signal[name]["attack eval-only (public + older ko)"] = rate(
            [flags[p.id] for p in locked if p.split == "eval"]
        )
    lines += ["| signal | " + " | ".join(per_signal["combined"]) + " |", "|---|" + "---|" * len(per_signal["combined"])]
    for name, row in per_signal.items():
        lines.append(f"| {name} | " + " | ".join(fmt(r) for r in row.values()) + " |")
    lines += [
        "",
        f"Pruned vs unpruned model agree on {agree:.4f} of dev passages. Check time (rules + model, real ContextGuard): "
        f"p50 {statistics.median(timing):.2f} ms, p95 {float(np.percentile(timing, 95)):.2f} ms per passage "
        f"(mean {chars:.0f} characters, n={len(timing)}). Fit took {time.time() - started:.0f}s.",
        "",
    ]
    metadata = {
        "trained_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "trainer": "python -m fitting.train_passage_check",
        "model": {
            "type": "logistic regression (liblinear), char 2-4-grams + word 1-2-grams + concept features",
            "C": best,
            "positive_weight": POSITIVE_WEIGHT,
        },
        "threshold_rule": f"lowest threshold with statute articles <= {max_statute} and other benign documents <= "
        f"{max_benign} flagged (rules OR model) on out-of-sample scores of the dev families (benign 5-fold by item)",
        "data": {
            "dev_passages": len(dev_idx),
            "dev_units": int(len(dev_rows)),
            "dev_positive_units": int(m.y[dev_rows].sum()),
            "locked_and_eval_passages": len(evaluated),
        },
        "lofo": {"groups": t_detail["groups"], "families": t_detail["families"], "benign_families_left_out": stress},
        "locked": {"groups": l_detail["groups"], "families": l_detail["families"], "signals": per_signal},
        "timing_ms": {"p50": round(statistics.median(timing), 3), "p95": round(float(np.percentile(timing, 95)), 3)},
    }
    model = PassageModel(weights, float(final.intercept_[0]), threshold, metadata)
    return model, lines, metadata


def report() -> tuple[list[str], dict[str, Any]]:
    _, lines, detail = train(progress=True, benign_lofo=True)
    return lines, detail


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m fitting.train_passage_check", description=(__doc__ or "").split("\n\n")[0]
    )
    p.add_argument("--max-statute", type=float, default=0.005)
    p.add_argument("--max-benign", type=float, default=0.01)
    p.add_argument("--out", type=Path, default=MODEL_OUT)
    p.add_argument("--benign-lofo", action="store_true", help="also leave each benign family out (stress figure)")
    args = p.parse_args(argv)
    from configs.logs import setup_logging

    setup_logging("ERROR")
    model, lines, _ = train(args.max_statute, args.max_benign, benign_lofo=args.benign_lofo)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(model.to_dict(), ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    sys.stdout.write("\n".join(lines) + f"\nwritten: {args.out} ({args.out.stat().st_size // 1024} KiB)\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
