"""Choose retrieval settings by two-fold cross-validation, so a tuned figure is not a memorised one.

    python -m fitting.tune_retrieval statute statute-colloquial --index DIR \\
        --grid search.graph.seeds=1,2,3 --grid search.title_weight=0,0.1,0.2 [--metric recall@5]

The questions of the suites (those with reference passages) are split into two halves by a
hash of their id (stable across runs and machines, stratified by dataset). Every combination
of the ``--grid`` values is scored on both halves from one opened index (settings are swapped
between runs, nothing is re-indexed). For each half, the combination that is best on the
*other* half is chosen and its score on this half reported: the cross-validated figure. A table
of every combination (per half and overall) goes to stdout; ``--json-out`` writes it all.

With two suites or more, a cross-suite figure too: for each suite, the combination that is best
on the *other* suites' questions, scored on this suite (tune on dev, report on colloquial and
back), and every figure per suite with its number of questions.

Only query-time settings (``search.*``) can be tuned this way; chunking and index format need a
re-index. Ties go to the earlier combination of the grid (list the default first).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import sys
from pathlib import Path
from typing import Any

from tqdm import tqdm

from configs.settings import Settings, load_settings
from evals.matching import ranked_run
from evals.schema import EvalItem
from evals.suites import load_suite
from retrieval.index import NuriIndex
from retrieval.settings import RetrievalSettings
from retrieval.types import Principal

OPERATOR = Principal(operator=True)
TOP_K = 10
METRICS = ("recall@1", "recall@5", "mrr")


def fold_of(item_id: str) -> int:
    return hashlib.sha256(item_id.encode("utf-8")).digest()[0] % 2


def _parse_grid(specs: list[str]) -> dict[str, list[Any]]:
    grid: dict[str, list[Any]] = {}
    for spec in specs:
        key, _, values = spec.partition("=")
        if not key.startswith("search.") or not values:
            raise SystemExit(f"--grid는 search.이름=값1,값2 형식이어야 합니다: {spec}")
        grid[key] = [json.loads(v) if v not in ("true", "false") else v == "true" for v in values.split(",")]
    return grid


def _nested(key: str, value: Any) -> dict[str, Any]:
    out: dict[str, Any] = value
    for part in reversed(key.split(".")):
        out = {part: out}
    return out


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for k, v in b.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def retrieval_for(base: RetrievalSettings, combo: dict[str, Any]) -> RetrievalSettings:
    changes: dict[str, Any] = {}
    for key, value in combo.items():
        changes = _merge(changes, _nested(key, value))
    return RetrievalSettings.model_validate(_merge(base.model_dump(), changes))


def score_items(index: NuriIndex, items: list[EvalItem]) -> dict[str, dict[str, float]]:
    """Per question: recall@1 (a reference passage ranks first), recall@5 (the share of its
    reference passages in the first 5: a question with two gold articles and one found counts
    0.5, where ``nuri eval run`` counts it found) and reciprocal rank (first 10)."""
    out: dict[str, dict[str, float]] = {}
    for item in items:
        hits = index.search(item.question, top_k=TOP_K, principal=OPERATOR)
        _, relevant = ranked_run(hits, item.reference_passages)
        units = max(1, sum(len(ref.unit_keys()) for ref in item.reference_passages))
        found5 = sum(relevant[:5])
        first = next((i + 1 for i, r in enumerate(relevant) if r), None)
        out[item.id] = {
            "recall@1": 1.0 if first == 1 else 0.0,
            "recall@5": min(1.0, found5 / units),
            "mrr": 1.0 / first if first else 0.0,
        }
    return out


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def tune(
    settings: Settings, index_dir: Path, suites: list[str], grid: dict[str, list[Any]], metric: str, progress: bool
) -> dict[str, Any]:
    by_suite = {name: [it for it in load_suite(name, settings).items if it.reference_passages] for name in suites}
    items = [it for name in suites for it in by_suite[name]]
    suite_of = {it.id: name for name, its in by_suite.items() for it in its}
    folds = {it.id: fold_of(it.id) for it in items}
    combos = [dict(zip(grid, values, strict=True)) for values in itertools.product(*grid.values())] or [{}]
    rows = []
    with NuriIndex.open(settings.retrieval, index_dir) as index:
        for combo in tqdm(combos, desc="설정 조합", disable=not progress, file=sys.stderr):
            index.settings = retrieval_for(settings.retrieval, combo)
            scores = score_items(index, items)
            row: dict[str, Any] = {"settings": combo}
            for name in METRICS:
                row[name] = _mean([s[name] for s in scores.values()])
                for f in (0, 1):
                    row[f"{name}/fold{f}"] = _mean([s[name] for i, s in scores.items() if folds[i] == f])
                for suite in suites:
                    row[f"{name}/{suite}"] = _mean([s[name] for i, s in scores.items() if suite_of[i] == suite])
                    for f in (0, 1):
                        row[f"{name}/{suite}/fold{f}"] = _mean(
                            [s[name] for i, s in scores.items() if suite_of[i] == suite and folds[i] == f]
                        )
                    if len(suites) > 1:
                        row[f"{name}/not {suite}"] = _mean([s[name] for i, s in scores.items() if suite_of[i] != suite])
            rows.append(row)
    chosen = {}
    for f in (0, 1):
        other = 1 - f
        best = max(range(len(rows)), key=lambda r: (rows[r][f"{metric}/fold{other}"], -r))
        chosen[f"fold{f}"] = {
            "settings": rows[best]["settings"],
            "chosen_on": f"fold{other}",
            **{name: rows[best][f"{name}/fold{f}"] for name in METRICS},
        }
    n = [sum(1 for v in folds.values() if v == f) for f in (0, 1)]
    cv = {name: (chosen["fold0"][name] * n[0] + chosen["fold1"][name] * n[1]) / max(1, sum(n)) for name in METRICS}
    per_suite: dict[str, Any] = {}
    for suite in suites:
        ns = [sum(1 for i, f in folds.items() if suite_of[i] == suite and f == k) for k in (0, 1)]
        per_suite[suite] = {
            "questions": sum(ns),
            "cross_validated": {
                name: sum(
                    rows[next(r for r in range(len(rows)) if rows[r]["settings"] == chosen[f"fold{k}"]["settings"])][
                        f"{name}/{suite}/fold{k}"
                    ]
                    * ns[k]
                    for k in (0, 1)
                )
                / max(1, sum(ns))
                for name in METRICS
            },
        }
        if len(suites) > 1:
            best = max(range(len(rows)), key=lambda r: (rows[r][f"{metric}/not {suite}"], -r))
            per_suite[suite]["cross_suite"] = {
                "settings": rows[best]["settings"],
                "chosen_on": [other for other in suites if other != suite],
                **{name: rows[best][f"{name}/{suite}"] for name in METRICS},
            }
    return {
        "questions": len(items),
        "fold_sizes": n,
        "metric": metric,
        "rows": rows,
        "chosen": chosen,
        "cross_validated": cv,
        "suites": per_suite,
    }


def _table(result: dict[str, Any]) -> str:
    suites = list(result.get("suites", {}))
    per_suite = [f"{name} {suite}" for suite in suites for name in METRICS] if len(suites) > 1 else []
    lines = [
        "| settings | recall@1 | recall@5 | mrr | recall@5 fold0 / fold1 | mrr fold0 / fold1 |"
        + "".join(f" {c} |" for c in per_suite),
        "|---|---|---|---|---|---|" + "---|" * len(per_suite),
    ]
    for row in result["rows"]:
        lines.append(
            f"| {_label(row['settings'])} | {row['recall@1']:.3f} | {row['recall@5']:.3f} | {row['mrr']:.3f} | "
            f"{row['recall@5/fold0']:.3f} / {row['recall@5/fold1']:.3f} | {row['mrr/fold0']:.3f} / {row['mrr/fold1']:.3f} |"
            + "".join(f" {row[f'{name}/{suite}']:.3f} |" for suite in suites if len(suites) > 1 for name in METRICS)
        )
    cv = result["cross_validated"]
    lines.append("")
    for f, c in result["chosen"].items():
        lines.append(f"- {f}: chosen on {c['chosen_on']}: {_label(c['settings'])} -> {_figures(c)}")
    lines.append(
        f"- cross-validated ({result['questions']} questions, folds {result['fold_sizes'][0]}/{result['fold_sizes'][1]}, "
        f"chosen by {result['metric']}): {_figures(cv)}"
    )
    for suite, s in result.get("suites", {}).items():
        lines.append(
            f"- {suite} ({s['questions']} questions), two-fold cross-validated: {_figures(s['cross_validated'])}"
        )
        if "cross_suite" in s:
            c = s["cross_suite"]
            lines.append(f"- {suite}, chosen on {' + '.join(c['chosen_on'])}: {_label(c['settings'])} -> {_figures(c)}")
    return "\n".join(lines)


def _label(combo: dict[str, Any]) -> str:
    return ", ".join(f"{k.removeprefix('search.')}={v}" for k, v in combo.items()) or "(as configured)"


def _figures(scores: dict[str, Any]) -> str:
    return ", ".join(f"{name} {scores[name]:.3f}" for name in METRICS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fitting.tune_retrieval", description=__doc__.split("\n\n")[0])
    parser.add_argument("suites", nargs="+", help="평가 묶음 (statute, statute-colloquial, …)")
    parser.add_argument("--index", required=True, type=Path, help="이미 동기화된 색인 폴더 (nuri eval run으로 만든 것)")
    parser.add_argument("--grid", action="append", default=[], help="search.이름=값1,값2 (여러 번)")
    parser.add_argument("--metric", default="recall@5", choices=list(METRICS))
    parser.add_argument("--json-out", type=Path)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    settings = load_settings()
    result = tune(settings, args.index, args.suites, _parse_grid(args.grid), args.metric, progress=not args.quiet)
    sys.stdout.write(_table(result) + "\n")
    if args.json_out:
        args.json_out.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
