"""Fit the answerability model (``answer.answerability``) and report its cross-validated refusals.

    python -m fitting.calibrate_answerability [--index DIR] [--max-false-refusal 0.08] [--json-out FILE]

Questions: the statute QA dev files (``qa/dev.jsonl``, ``qa/dev_colloquial.jsonl``: answerable
ones, and the must-refuse ones with ``articles: []``) and our own unanswerable questions
(``evals/data/unanswerable_ko.jsonl``: off-topic, near-domain, and civil-service topics none of
the 61 statutes covers). Each goes through the orchestrator's own path up to the decision
(search with ``answer.top_k``, the similarity gate ``answer.min_relevance``, the passages, the
sentence picker) and its :class:`AnswerabilityFeatures` are recorded.

The model is a logistic regression (scikit-learn, features standardised, classes balanced).
Two-fold cross-validation by a hash of the question id: on each half the model is fitted and
its threshold chosen (the highest probability that refuses at most ``--max-false-refusal`` of
that half's answerable questions), then the *other* half is scored. The printed figures are
those held-out halves: refusal recall (must-refuse / own unanswerable questions refused),
false refusals (answerable questions refused, per question type) and refusal precision. Finally
the model is fitted on all questions and its weights printed as ``answer.answerability``
settings (a YAML block for a profile, or the schema defaults in ``assistant/settings.py``).
The index is the statute index ``make eval`` builds.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from assistant.answerability import AnswerabilityFeatures
from assistant.extractive import SentencePicker
from assistant.orchestrator import measure_answerability, passages_for
from configs.logs import setup_logging
from configs.settings import Settings, load_settings
from evals.datasets import SHARED_DATA, load_qa
from retrieval.index import NuriIndex
from retrieval.types import Principal

EVALS_DATA = Path(__file__).resolve().parent.parent / "evals" / "data"
DEFAULT_UNANSWERABLE = EVALS_DATA / "unanswerable_ko.jsonl"
FEATURES = tuple(AnswerabilityFeatures.__dataclass_fields__)


@dataclass(slots=True)
class Case:
    id: str
    source: str  # dev file name or "own"
    kind: str  # question type (number, procedure, …) or the own set's kind
    unanswerable: bool
    gated: bool  # refused by the similarity gate before the model is asked
    features: dict[str, float]


def fold_of(case_id: str) -> int:
    return hashlib.sha256(case_id.encode("utf-8")).digest()[0] % 2


def collect(settings: Settings, index_dir: Path, unanswerable_file: Path, progress: bool = True) -> list[Case]:
    questions: list[tuple[str, str, str, str, bool]] = []
    for name in ("dev.jsonl", "dev_colloquial.jsonl"):
        for q in load_qa(SHARED_DATA / "qa" / name):
            questions.append((q.id, q.question, name, q.type, not q.answerable))
    for line in unanswerable_file.open(encoding="utf-8"):
        if line.strip():
            d = json.loads(line)
            questions.append((d["id"], d["question"], "own", d.get("kind", "own"), True))
    a = settings.answer
    out = []
    with NuriIndex.open(settings.retrieval, index_dir) as index:
        picker = SentencePicker(index.embedder, index.sparse, a.extractive)
        for qid, question, source, kind, unanswerable in tqdm(
            questions, desc="답변 가능성", disable=not progress, file=sys.stderr
        ):
            hits = index.search(question, top_k=a.top_k, principal=Principal(operator=True), with_relevance=True)
            best = max((h.relevance for h in hits if h.relevance is not None), default=0.0)
            passages = passages_for(hits, a.passage_min_relevance) if hits else []
            quotes = picker.candidates(question, passages)
            features = measure_answerability(index, question, best, passages, quotes)
            out.append(Case(qid, source, kind, unanswerable, best < a.min_relevance, features.as_dict()))
    return out


@dataclass(slots=True)
class Fitted:
    weights: dict[str, float]
    bias: float
    threshold: float

    def probability(self, features: dict[str, float]) -> float:
        z = self.bias + sum(w * features[k] for k, w in self.weights.items())
        return float(1 / (1 + np.exp(-np.clip(z, -60, 60))))


def fit(cases: list[Case], max_false_refusal: float, c: float = 1.0) -> Fitted:
    """Logistic regression on standardised features, folded back into raw-feature weights."""
    from sklearn.linear_model import LogisticRegression

    x = np.array([[case.features[k] for k in FEATURES] for case in cases], dtype=float)
    y = np.array([case.unanswerable for case in cases], dtype=int)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=1000).fit((x - mean) / scale, y)
    w = model.coef_[0] / scale
    fitted = Fitted({k: round(float(v), 4) for k, v in zip(FEATURES, w, strict=True)}, 0.0, 0.5)
    fitted.bias = round(float(model.intercept_[0] - (model.coef_[0] * mean / scale).sum()), 4)
    # the threshold: refuse at most max_false_refusal of the answerable questions the gate lets through
    answerable = sorted(fitted.probability(case.features) for case in cases if not case.unanswerable and not case.gated)
    k = min(len(answerable) - 1, int(len(answerable) * (1 - max_false_refusal)))
    fitted.threshold = round(answerable[k] + 1e-4, 4) if answerable else 0.5
    return fitted


def refused(case: Case, model: Fitted | None) -> bool:
    return case.gated or (model is not None and model.probability(case.features) > model.threshold)


def _share(values: list[bool]) -> str:
    return f"{sum(values) / len(values):.3f} ({sum(values)}/{len(values)})" if values else "—"


def report(cases: list[Case], decisions: dict[str, bool], title: str) -> list[str]:
    lines = [f"### {title}", "", "| questions | refused |", "|---|---|"]
    groups: dict[str, list[bool]] = {}
    for case in cases:
        if case.unanswerable:
            label = "must-refuse (dev_colloquial)" if case.source != "own" else f"own unanswerable: {case.kind}"
        else:
            label = f"answerable {case.source.removesuffix('.jsonl')}: {case.kind}"
        groups.setdefault(label, []).append(decisions[case.id])
    for label in sorted(groups):
        lines.append(f"| {label} | {_share(groups[label])} |")
    ans = [decisions[c.id] for c in cases if not c.unanswerable]
    must = [decisions[c.id] for c in cases if c.unanswerable and c.source != "own"]
    own = [decisions[c.id] for c in cases if c.unanswerable and c.source == "own"]
    all_refused = [c for c in cases if decisions[c.id]]
    precision = sum(c.unanswerable for c in all_refused) / len(all_refused) if all_refused else 0.0
    lines += [
        f"| **answerable refused (false refusals)** | {_share(ans)} |",
        f"| **must-refuse refused (dev recall)** | {_share(must)} |",
        f"| **own unanswerable refused** | {_share(own)} |",
        f"| **refusal precision** (refused that should be) | {precision:.3f} |",
        "",
    ]
    return lines


def calibrate(cases: list[Case], max_false_refusal: float) -> tuple[list[str], Fitted, dict[str, Any]]:
    gate_only = {c.id: refused(c, None) for c in cases}
    held_out: dict[str, bool] = {}
    per_fold = {}
    for f in (0, 1):
        train = [c for c in cases if fold_of(c.id) != f]
        model = fit(train, max_false_refusal)
        per_fold[f"fold{f}"] = {"weights": model.weights, "bias": model.bias, "threshold": model.threshold}
        for c in cases:
            if fold_of(c.id) == f:
                held_out[c.id] = refused(c, model)
    final = fit(cases, max_false_refusal)
    lines = report(cases, gate_only, "Similarity gate only (answer.min_relevance), before")
    lines += report(
        cases,
        held_out,
        "Gate + answerability model, two-fold cross-validated (each half scored by the model fitted on the other)",
    )
    lines += [
        "### Fitted on all questions (the settings to use)",
        "",
        "```yaml",
        "answer:",
        "  answerability:",
        "    weights:",
        *(f"      {k}: {v}" for k, v in final.weights.items()),
        f"    bias: {final.bias}",
        f"    threshold: {final.threshold}",
        "```",
    ]
    detail = {
        "cases": [
            {**asdict(c), "fold": fold_of(c.id), "refused_cv": held_out[c.id], "refused_gate": gate_only[c.id]}
            for c in cases
        ],
        "folds": per_fold,
        "final": asdict(final),
    }
    return lines, final, detail


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m fitting.calibrate_answerability", description=__doc__.split("\n\n")[0])
    p.add_argument("--index", type=Path, default=Path.home() / ".cache" / "nuri" / "eval-statutes")
    p.add_argument("--unanswerable", type=Path, default=DEFAULT_UNANSWERABLE)
    p.add_argument("--max-false-refusal", type=float, default=0.08)
    p.add_argument("--json-out", type=Path)
    args = p.parse_args(argv)
    setup_logging("WARNING")
    if not args.index.is_dir():
        print(f"색인이 없습니다: {args.index} (먼저 make eval)", file=sys.stderr)
        return 1
    settings = load_settings(index_dir=args.index)
    cases = collect(settings, args.index, args.unanswerable)
    lines, _, detail = calibrate(cases, args.max_false_refusal)
    sys.stdout.write("\n".join(lines) + "\n")
    if args.json_out:
        args.json_out.write_text(json.dumps(detail, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
