"""Fit the answerability model (``answer.answerability``) and report its refusals by family.

    python -m fitting.calibrate_answerability [--index DIR] [--max-false-refusal 0.06]
        [--cache FILE] [--locked] [--json-out FILE]

Questions come in **families** (who wrote them, in what style, of what kind), and every figure
says how many questions it rests on:

- the statute QA dev files: ``qa-dev`` (40 answerable), ``qa-colloquial`` (80 answerable) and
  ``qa-colloquial-refuse`` (its 10 must-refuse questions);
- our hand-written unanswerable questions (``evals/data/unanswerable_ko.jsonl``): ``own/off_topic``,
  ``own/near_domain``, ``own/near_domain_civil``;
- the families made from the corpus by :mod:`fitting.make_refusal_data`
  (``evals/data/refusal_families.jsonl``): ``delegated``, ``annex``, ``neighbour`` (must refuse),
  ``neighbour_national``, ``article_title`` (answerable), each in three styles. The
  ``*/terse`` families are the **locked** split (``evals/suites/refusal_locked_ko.jsonl``, the
  ``statute-refusal`` eval suite): read here only with ``--locked``, for the final figure,
  never for fitting or choosing a threshold.

Each question goes through the orchestrator's own path up to the decision (search with
``answer.top_k``, the similarity gate ``answer.min_relevance``, the passages, the sentence
picker); what it saw is cached (``--cache``) so that the features can be recomputed without
searching again. An answerable question whose gold article retrieval did not bring is left out
of fitting (refusing it is right: the passages do not answer) and counted apart.

The model is a logistic regression (scikit-learn, features standardised, classes balanced);
its threshold is the highest probability that refuses at most ``--max-false-refusal`` of the
training families' answerable questions. Reported:

1. **leave-one-family-out**: for each development family, the model fitted on the others
   scores it (refusal rate for a must-refuse family, false refusals for an answerable one),
   and the worst family of each side;
2. **locked** (with ``--locked``): the model fitted on every development family scores the
   locked families;
3. the weights fitted on every development family, as ``answer.answerability`` settings.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from assistant.answerability import AnswerabilityFeatures, answerability_features
from assistant.extractive import SentencePicker
from assistant.orchestrator import passages_for
from configs.logs import setup_logging
from configs.settings import Settings, load_settings
from evals.datasets import SHARED_DATA, load_qa
from evals.matching import matching_key
from evals.schema import PassageRef
from retrieval.index import NuriIndex
from retrieval.sparse import KoreanSparseEncoder
from retrieval.types import Principal

EVALS_DATA = Path(__file__).resolve().parent.parent / "evals" / "data"
DEFAULT_UNANSWERABLE = EVALS_DATA / "unanswerable_ko.jsonl"
DEFAULT_FAMILIES = EVALS_DATA / "refusal_families.jsonl"
DEFAULT_LOCKED = EVALS_DATA.parent / "suites" / "refusal_locked_ko.jsonl"
FEATURES = tuple(AnswerabilityFeatures.__dataclass_fields__)


@dataclass(slots=True)
class Question:
    id: str
    text: str
    family: str
    unanswerable: bool
    locked: bool = False
    refs: list[PassageRef] = field(default_factory=list)


@dataclass(slots=True)
class Case:
    id: str
    family: str
    unanswerable: bool
    locked: bool
    gated: bool  # refused by the similarity gate before the model is asked
    gold_found: bool | None  # answerable with a gold article: did retrieval bring it? (None: no gold)
    seen: dict[str, Any]  # what the decision reads: question, relevance, passages, quotes
    features: dict[str, float] = field(default_factory=dict)

    @property
    def fits(self) -> bool:
        """Used for fitting: not locked, and (answerable) the passages hold the gold article."""
        return not self.locked and self.gold_found is not False


def questions(unanswerable_file: Path, families_file: Path, locked_file: Path) -> list[Question]:
    out: list[Question] = []
    for name, family in (("dev.jsonl", "qa-dev"), ("dev_colloquial.jsonl", "qa-colloquial")):
        for q in load_qa(SHARED_DATA / "qa" / name):
            refs = [PassageRef(law=q.law, articles=q.articles)] if q.answerable and q.law else []
            out.append(
                Question(
                    q.id, q.question, family if q.answerable else f"{family}-refuse", not q.answerable, False, refs
                )
            )
    for line in unanswerable_file.open(encoding="utf-8"):
        if line.strip():
            d = json.loads(line)
            out.append(Question(d["id"], d["question"], f"own/{d.get('kind', 'own')}", True))
    for path, locked in ((families_file, False), (locked_file, True)):
        for q in load_qa(path):
            refs = [PassageRef(law=q.law, articles=q.articles)] if q.answerable else []
            out.append(Question(q.id, q.question, q.type, not q.answerable, locked, refs))
    return out


def collect(settings: Settings, index_dir: Path, items: list[Question], progress: bool = True) -> list[Case]:
    a = settings.answer
    out = []
    with NuriIndex.open(settings.retrieval, index_dir) as index:
        picker = SentencePicker(index.embedder, index.sparse, a.extractive)
        for q in tqdm(items, desc="답변 가능성", disable=not progress, file=sys.stderr):
            hits = index.search(q.text, top_k=a.top_k, principal=Principal(operator=True), with_relevance=True)
            best = max((h.relevance for h in hits if h.relevance is not None), default=0.0)
            passages = passages_for(hits, a.passage_min_relevance) if hits else []
            quotes = picker.candidates(q.text, passages)
            gold = any(matching_key(h, q.refs) for h in passages) if q.refs else None
            seen = {
                "question": q.text,
                "relevance": best,
                "passages": [{"text": h.text, "title": h.title} for h in passages],
                "quotes": [{"text": x.text, "cosine": x.cosine, "lexical": x.lexical} for x in quotes[:3]],
            }
            out.append(Case(q.id, q.family, q.unanswerable, q.locked, best < a.min_relevance, gold, seen))
    return out


def featurise(cases: list[Case], sparse: KoreanSparseEncoder) -> None:
    """The answerability features of each case, from what it saw (as the orchestrator computes them)."""
    for case in cases:
        seen = case.seen
        passages = seen["passages"]
        terms = sparse.terms_many([seen["question"], *(p["text"] for p in passages)])
        quotes = seen["quotes"]
        best = (quotes[0]["cosine"], quotes[0]["lexical"]) if quotes else None
        case.features = answerability_features(
            seen["question"],
            seen["relevance"],
            best,
            terms[0],
            terms[1:],
            [p["text"] for p in passages],
            best_sentences=[x["text"] for x in quotes],
            passage_titles=[p["title"] for p in passages],
        ).as_dict()


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


def leave_one_family_out(cases: list[Case], max_false_refusal: float) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """Each development family scored by the model fitted on the other families."""
    dev = [c for c in cases if c.fits]
    families = sorted({c.family for c in cases if not c.locked})
    rows: dict[str, dict[str, Any]] = {}
    lines = [
        "### Leave one family out (each family scored by the model fitted on the others)",
        "",
        "| family | must refuse | n | refused | answerable refused | gold not retrieved (left out) |",
        "|---|---|---|---|---|---|",
    ]
    for fam in families:
        model = fit([c for c in dev if c.family != fam], max_false_refusal)
        members = [c for c in cases if c.family == fam and c.fits]
        decided = [refused(c, model) for c in members]
        missed = sum(1 for c in cases if c.family == fam and c.gold_found is False)
        unanswerable = all(c.unanswerable for c in members)
        rows[fam] = {"unanswerable": unanswerable, "n": len(members), "refused": sum(decided) / max(1, len(decided))}
        lines.append(
            f"| {fam} | {'yes' if unanswerable else 'no'} | {len(members)} | "
            + (f"{_share(decided)} | — |" if unanswerable else f"— | {_share(decided)} |")
            + f" {missed} |"
        )
    must = {k: v for k, v in rows.items() if v["unanswerable"]}
    ans = {k: v for k, v in rows.items() if not v["unanswerable"]}
    worst_must = min(must.items(), key=lambda kv: kv[1]["refused"]) if must else None
    worst_ans = max(ans.items(), key=lambda kv: kv[1]["refused"]) if ans else None
    n_must = sum(v["n"] for v in must.values())
    n_ans = sum(v["n"] for v in ans.values())
    mean_must = sum(v["refused"] * v["n"] for v in must.values()) / max(1, n_must)
    mean_ans = sum(v["refused"] * v["n"] for v in ans.values()) / max(1, n_ans)
    lines += [
        "",
        f"- must-refuse refused, pooled over held-out families: **{mean_must:.3f}** (n={n_must}); "
        + (
            f"worst family {worst_must[0]}: {worst_must[1]['refused']:.3f} (n={worst_must[1]['n']})"
            if worst_must
            else ""
        ),
        f"- answerable refused, pooled over held-out families: **{mean_ans:.3f}** (n={n_ans}); "
        + (f"worst family {worst_ans[0]}: {worst_ans[1]['refused']:.3f} (n={worst_ans[1]['n']})" if worst_ans else ""),
        "",
    ]
    return lines, rows


def locked_report(cases: list[Case], model: Fitted) -> list[str]:
    lines = [
        "### Locked families (the model fitted on every development family; never read for fitting)",
        "",
        "| family | must refuse | n | refused |",
        "|---|---|---|---|",
    ]
    for fam in sorted({c.family for c in cases if c.locked}):
        members = [c for c in cases if c.family == fam]
        unanswerable = all(c.unanswerable for c in members)
        decided = [refused(c, model) for c in members]
        lines.append(f"| {fam} | {'yes' if unanswerable else 'no'} | {len(members)} | {_share(decided)} |")
    must = [refused(c, model) for c in cases if c.locked and c.unanswerable]
    ans = [refused(c, model) for c in cases if c.locked and not c.unanswerable]
    lines += [
        "",
        f"- locked must-refuse refused: **{_share(must)}**",
        f"- locked answerable refused: **{_share(ans)}**",
        "",
    ]
    return lines


def calibrate(
    cases: list[Case], max_false_refusal: float, locked: bool = False
) -> tuple[list[str], Fitted, dict[str, Any]]:
    lines, rows = leave_one_family_out(cases, max_false_refusal)
    final = fit([c for c in cases if c.fits], max_false_refusal)
    if locked:
        lines += locked_report(cases, final)
    lines += [
        "### Fitted on every development family (the settings to use)",
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
        "families": rows,
        "cases": [
            {k: v for k, v in asdict(c).items() if k != "seen"} | {"question": c.seen["question"]} for c in cases
        ],
        "final": asdict(final),
    }
    return lines, final, detail


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m fitting.calibrate_answerability", description=__doc__.split("\n\n")[0])
    p.add_argument("--index", type=Path, default=Path.home() / ".cache" / "nuri" / "eval-statutes")
    p.add_argument("--unanswerable", type=Path, default=DEFAULT_UNANSWERABLE)
    p.add_argument("--families", type=Path, default=DEFAULT_FAMILIES)
    p.add_argument("--locked-file", type=Path, default=DEFAULT_LOCKED)
    p.add_argument("--max-false-refusal", type=float, default=0.06)
    p.add_argument("--cache", type=Path, help="what each question saw (JSON): reused for unchanged questions, updated")
    p.add_argument("--locked", action="store_true", help="also report the locked families (the final figure)")
    p.add_argument("--json-out", type=Path)
    args = p.parse_args(argv)
    setup_logging("WARNING")
    if not args.index.is_dir():
        print(f"색인이 없습니다: {args.index} (먼저 make eval)", file=sys.stderr)
        return 1
    settings = load_settings(index_dir=args.index)
    items = questions(args.unanswerable, args.families, args.locked_file)
    cached: dict[str, dict[str, Any]] = {}
    if args.cache and args.cache.is_file():
        cached = {d["id"]: d for d in json.loads(args.cache.read_text(encoding="utf-8"))}
    # a cached question is reused only if its text is unchanged; the rest are searched now
    reuse = {q.id for q in items if q.id in cached and cached[q.id]["seen"]["question"] == q.text}
    fresh = {c.id: c for c in collect(settings, args.index, [q for q in items if q.id not in reuse])}
    cases = [
        Case(**{**cached[q.id], "family": q.family, "locked": q.locked}) if q.id in reuse else fresh[q.id]
        for q in items
    ]
    if args.cache:
        args.cache.write_text(json.dumps([asdict(c) for c in cases], ensure_ascii=False), encoding="utf-8")
    featurise(cases, KoreanSparseEncoder(settings.retrieval.sparse))
    lines, _, detail = calibrate(cases, args.max_false_refusal, locked=args.locked)
    sys.stdout.write("\n".join(lines) + "\n")
    if args.json_out:
        args.json_out.write_text(json.dumps(detail, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
