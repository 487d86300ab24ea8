"""Is run B better than run A? Per-metric deltas with a paired bootstrap confidence interval.

Questions are paired by id (both runs must have asked them). Each resample draws the paired
questions with replacement and recomputes both runs' metric on the same draw; the interval is
the ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` quantiles of B - A. A change is called
better or worse only when the interval excludes 0, so a two-question difference on a small set
is reported as "no significant change".
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np
from pydantic import BaseModel

from evals.results import METRICS, ItemResult, RunResult

_LATENCY = {
    "latency_p50_ms": ("latency_ms", 50),
    "latency_p95_ms": ("latency_ms", 95),
    "ttft_p50_ms": ("first_token_ms", 50),
    "ttft_p95_ms": ("first_token_ms", 95),
}


class MetricDelta(BaseModel):
    metric: str
    a: float | None
    b: float | None
    delta: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    verdict: str  # "better" | "worse" | "no significant change" | "not measured"


class Comparison(BaseModel):
    run_a: str
    run_b: str
    paired: int
    same_dataset: bool
    confidence: float
    deltas: list[MetricDelta]

    def markdown(self) -> str:
        lines = [
            f"A = `{self.run_a}` · B = `{self.run_b}` · 짝지은 문항 {self.paired}개"
            + ("" if self.same_dataset else " · ⚠️ 데이터셋이 다릅니다 (공통 문항만 비교)"),
            "",
            f"| metric | A | B | B − A | {self.confidence:.0%} CI | n | verdict |",
            "|---|---|---|---|---|---|---|",
        ]
        for d in self.deltas:
            ci = "" if d.ci_low is None or d.ci_high is None else f"[{_fmt(d.ci_low)}, {_fmt(d.ci_high)}]"
            lines.append(
                f"| {d.metric} | {_fmt(d.a)} | {_fmt(d.b)} | {_fmt(d.delta, signed=True)} | {ci} | {d.n} | {d.verdict} |"
            )
        return "\n".join(lines)


def _fmt(v: float | None, signed: bool = False) -> str:
    if v is None:
        return "—"
    text = f"{v:+.3f}" if signed else f"{v:.3f}"
    return text if abs(v) < 100 else (f"{v:+.0f}" if signed else f"{v:.0f}")


def _verdict(lo: float, hi: float, higher_is_better: bool) -> str:
    if lo > 0:
        return "better" if higher_is_better else "worse"
    if hi < 0:
        return "worse" if higher_is_better else "better"
    return "no significant change"


def compare(a: RunResult, b: RunResult, n_boot: int = 2000, seed: int = 0, confidence: float = 0.95) -> Comparison:
    by_id_a = {it.id: it for it in a.items}
    by_id_b = {it.id: it for it in b.items}
    common = [i for i in by_id_a if i in by_id_b]
    rng = np.random.default_rng(seed)
    q_lo, q_hi = 100 * (1 - confidence) / 2, 100 * (1 + confidence) / 2
    deltas: list[MetricDelta] = []
    for spec in METRICS:
        name = spec.name
        stat: Callable[[np.ndarray], float]
        if name in _LATENCY:
            attr, pct = _LATENCY[name]
            pairs = [(getattr(by_id_a[i], attr), getattr(by_id_b[i], attr)) for i in common]
            pairs = [(x, y) for x, y in pairs if x is not None and y is not None]
            stat = partial(_percentile, q=pct)
        else:
            pairs = [(_score(by_id_a[i], name), _score(by_id_b[i], name)) for i in common]
            pairs = [(x, y) for x, y in pairs if x is not None and y is not None]
            stat = _mean
        va, vb = a.metrics.get(name), b.metrics.get(name)
        if not pairs or va is None or vb is None:
            deltas.append(MetricDelta(metric=name, a=va, b=vb, delta=None if va is None or vb is None else vb - va,
                                      ci_low=None, ci_high=None, n=len(pairs), verdict="not measured"))  # fmt: skip
            continue
        xa = np.array([p[0] for p in pairs], dtype=float)
        xb = np.array([p[1] for p in pairs], dtype=float)
        idx = rng.integers(0, len(pairs), size=(n_boot, len(pairs)))
        boot = np.array([stat(xb[row]) - stat(xa[row]) for row in idx])
        lo, hi = float(np.percentile(boot, q_lo)), float(np.percentile(boot, q_hi))
        deltas.append(MetricDelta(metric=name, a=va, b=vb, delta=vb - va, ci_low=lo, ci_high=hi, n=len(pairs),
                                  verdict=_verdict(lo, hi, spec.higher_is_better)))  # fmt: skip
    return Comparison(run_a=a.run_id, run_b=b.run_id, paired=len(common), same_dataset=a.dataset.sha256 == b.dataset.sha256,
                      confidence=confidence, deltas=deltas)  # fmt: skip


def _percentile(values: np.ndarray, q: float) -> float:
    return float(np.percentile(values, q))


def _mean(values: np.ndarray) -> float:
    return float(np.mean(values))


def _score(item: ItemResult, name: str) -> float | None:
    return item.scores.get(name)
