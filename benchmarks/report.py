"""The benchmark report: goal rows, a search detail table and notes, as Markdown and as JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from benchmarks.ingest import IngestResult
from benchmarks.search import ScaleResult, SystemResult

INGEST_RATIO_GOAL = 0.85
RESYNC_SPEEDUP_GOAL = 50.0


@dataclass
class GoalRow:
    measure: str
    nuri: str
    baseline: str
    result: str
    goal: str
    met: bool


@dataclass
class Report:
    machine: dict[str, Any]
    config: dict[str, Any]
    ingest: IngestResult | None = None
    scales: list[ScaleResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def goals(self) -> list[GoalRow]:
        rows = ingest_goals(self.ingest) if self.ingest else []
        for sc in self.scales:
            rows.extend(search_goals(sc))
        return rows

    def as_dict(self) -> dict[str, Any]:
        return {
            "machine": self.machine,
            "config": self.config,
            "ingest": self.ingest.as_dict() if self.ingest else None,
            "search": [sc.as_dict() for sc in self.scales],
            "goals": [asdict(g) for g in self.goals()],
            "all_goals_met": all(g.met for g in self.goals()),
            "notes": self.notes,
        }

    def markdown(self) -> str:
        parts = ["# Nuri benchmark", "", machine_line(self.machine), "", goal_table(self.goals())]
        if self.scales:
            parts += ["", "## Search detail", "", search_table(self.scales)]
        if self.ingest:
            parts += ["", "## Ingest detail", "", ingest_table(self.ingest)]
        parts += ["", "## Notes", "", *[f"- {n}" for n in self.notes]]
        return "\n".join(parts) + "\n"


def ingest_goals(r: IngestResult) -> list[GoalRow]:
    return [
        GoalRow(
            measure=f"Ingest throughput ({len(r.files)} statutes, {r.chunks} chunks)",
            nuri=f"{r.ingest_cps:.2f} chunks/s (full sync)",
            baseline=f"{r.encoder_cps:.2f} chunks/s (raw encoder)",
            result=f"ratio {r.ratio:.3f}",
            goal=f"≥ {INGEST_RATIO_GOAL}",
            met=r.ratio >= INGEST_RATIO_GOAL,
        ),
        GoalRow(
            measure=f"Re-sync unchanged vs full ingest ({r.resync_unchanged}/{len(r.files)} unchanged)",
            nuri=f"{r.resync_median * 1000:.1f} ms (re-sync, median of {len(r.resync_seconds)})",
            baseline=f"{r.ingest_seconds:.1f} s (full ingest)",
            result=f"{r.resync_speedup:,.0f}× faster",
            goal=f"≥ {RESYNC_SPEEDUP_GOAL:.0f}×",
            met=r.resync_speedup >= RESYNC_SPEEDUP_GOAL
            and r.resync_unchanged == len(r.files)
            and r.resync_chunks_written == 0,
        ),
    ]


def _latency_row(label: str, nuri: SystemResult, lc: SystemResult, attr: str, scale: str) -> GoalRow:
    a, b = getattr(nuri, attr), getattr(lc, attr)
    return GoalRow(
        measure=f"Search {scale}, {label} p50 / p95",
        nuri=f"{a.p50_ms:.1f} / {a.p95_ms:.1f} ms",
        baseline=f"{b.p50_ms:.1f} / {b.p95_ms:.1f} ms",
        result=f"{b.p50_ms / a.p50_ms:.2f}× / {b.p95_ms / a.p95_ms:.2f}× faster",  # >1 = Nuri faster
        goal="Nuri faster (p50 and p95)",
        met=a.p50_ms < b.p50_ms and a.p95_ms < b.p95_ms,
    )


def search_goals(sc: ScaleResult) -> list[GoalRow]:
    scale = f"{sc.total:,} pts"
    n, lc = sc.nuri, sc.langchain
    return [
        _latency_row("end-to-end", n, lc, "e2e", scale),
        _latency_row("index-only", n, lc, "index_only", scale),
        GoalRow(
            measure=f"Search {scale}, article recall@5 ({n.scores.n} dev questions)",
            nuri=f"{n.scores.recall_at_5:.3f}",
            baseline=f"{lc.scores.recall_at_5:.3f}",
            result=f"{n.scores.recall_at_5 - lc.scores.recall_at_5:+.3f}",
            goal="Nuri ≥ LangChain",
            met=n.scores.recall_at_5 >= lc.scores.recall_at_5,
        ),
    ]


def goal_table(rows: list[GoalRow]) -> str:
    lines = [
        "| Measure | Nuri | Baseline | Result | Goal | Met |",
        "|---|---|---|---|---|---|",
    ]
    for g in rows:
        lines.append(
            f"| {g.measure} | {g.nuri} | {g.baseline} | {g.result} | {g.goal} | {'yes' if g.met else '**NO**'} |"
        )
    return "\n".join(lines)


def search_table(scales: list[ScaleResult]) -> str:
    lines = [
        "| Points (real + synthetic) | System | Load + build s | R@1 | R@5 | MRR@5 | e2e p50 / p95 / mean ms | index p50 / p95 / mean ms | Timed queries |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for sc in scales:
        for s in (sc.nuri, sc.edge_dense, sc.langchain):
            e, i = s.e2e, s.index_only
            lines.append(
                f"| {sc.total:,} ({sc.n_real:,} + {sc.n_synthetic:,}) | {s.name} | {s.load_seconds:.1f} "
                f"| {s.scores.recall_at_1:.3f} | {s.scores.recall_at_5:.3f} | {s.scores.mrr:.3f} "
                f"| {e.p50_ms:.1f} / {e.p95_ms:.1f} / {e.mean_ms:.1f} | {i.p50_ms:.2f} / {i.p95_ms:.2f} / {i.mean_ms:.2f} "
                f"| {s.scores.n} × {s.rounds} |"
            )
    return "\n".join(lines)


def ingest_table(r: IngestResult) -> str:
    resync = ", ".join(f"{s * 1000:.1f}" for s in r.resync_seconds)
    return "\n".join(
        [
            "| Step | Seconds | Chunks/s |",
            "|---|---|---|",
            f"| Raw encoder (`embed_passages`, same texts and groups) | {r.encoder_seconds:.2f} | {r.encoder_cps:.2f} |",
            f"| Full ingest (`Syncer.sync`, fresh Edge index) | {r.ingest_seconds:.2f} | {r.ingest_cps:.2f} |",
            f"| Re-sync, unchanged (ms per run: {resync}) | {r.resync_median:.4f} | – |",
        ]
    )


def machine_line(m: dict[str, Any]) -> str:
    pk = ", ".join(f"{k} {v}" for k, v in m["packages"].items())
    load = " / ".join(str(x) for x in m["load_average_at_start"])
    return (
        f"Machine: {m['cpu_count']} CPUs ({m['cpus_usable']} usable), {m['cpu_model']}, "
        f"{m['memory_gib']} GiB RAM, Python {m['python']} on {m['platform']}; "
        f"load average at start {load}.  \nPackages: {pk}."
    )
