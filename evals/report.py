"""``report.html``: one run (:class:`~evals.results.RunResult`) as a self-contained HTML page.

The page needs no network at all: inline CSS, charts drawn here as inline SVG, no script, no web
font, and a Content-Security-Policy that forbids loading anything (the agencies' PCs often have
no internet access, and a report is mailed around as a file). Every text that comes from a run
(questions, answers, titles, errors, configuration) is HTML-escaped.

Sections (Korean headings, English metric names):

1. 실행 정보 — suite, run id, start, wall time, target, who ran it and with whose reading rights
   (principal), model, embedder, commit, prompt version, guardrails, dataset (files, sha256, items).
2. 지표별 점수 — every metric (shares as 0.000, milliseconds as integers; a metric not measured
   is shown with its reason from ``notes``) and a bar chart of the share metrics.
3. 범주별 점수 — category × metric, for metrics measured in at least one category.
4. 지연 시간 분포 — histograms of answer time and time to first token, p50/p95 marked.
5. 실패 항목 — every item with a failed check or an error.
6. 설정 — the run's configuration (secrets already masked by the run).

The output depends only on the result (no "generated at" time), so the same run gives the
same file.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from html import escape
from pathlib import Path

from evals.results import METRIC_BY_NAME, METRICS, ItemResult, RunResult

NOT_MEASURED = "측정 안 함 (not measured)"
#: Longest answer / reference shown in the failures table (the full text is in results.json).
MAX_TEXT_CHARS = 3000
HISTOGRAM_BINS = 20

COLOR_HIGHER = "#2f6fb3"  # higher is better
COLOR_LOWER = "#d9822b"  # lower is better
COLOR_P50 = "#1b7f3b"
COLOR_P95 = "#b3261e"

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

CSS = """
body { font-family: "Pretendard", "Noto Sans KR", "Malgun Gothic", "Apple SD Gothic Neo", sans-serif;
  color: #1f2328; margin: 24px auto; max-width: 1200px; padding: 0 16px; line-height: 1.5; font-size: 14px; }
h1 { font-size: 22px; margin-bottom: 4px; }
h2 { font-size: 18px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; margin-top: 32px; }
h3 { font-size: 15px; margin-bottom: 4px; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { border: 1px solid #d0d7de; padding: 4px 8px; vertical-align: top; text-align: left; }
th { background: #f6f8fa; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.info th { width: 160px; }
.muted { color: #656d76; }
.note { color: #656d76; font-size: 12px; }
.na { color: #8c959f; }
.refused { display: inline-block; background: #fff7e0; border: 1px solid #e0a100; color: #3d2f00;
  border-radius: 4px; padding: 0 6px; font-size: 12px; margin-bottom: 4px; }
.err { color: #b3261e; }
.ok { color: #1b7f3b; }
.bad { color: #b3261e; }
.text { white-space: pre-wrap; word-break: break-word; max-width: 360px; }
table.failures td { font-size: 13px; }
table.failures ul { margin: 0; padding-left: 18px; }
pre { background: #f6f8fa; border: 1px solid #d0d7de; padding: 12px; overflow-x: auto; font-size: 12px;
  font-family: "D2Coding", Consolas, monospace; }
svg text { font-family: inherit; font-size: 12px; fill: #1f2328; }
svg .axis { stroke: #8c959f; stroke-width: 1; }
.legend span { display: inline-block; width: 12px; height: 12px; vertical-align: middle; margin: 0 4px 0 12px; }
"""


# -- formatting ----------------------------------------------------------------------------------
def _unit(metric: str) -> str:
    spec = METRIC_BY_NAME.get(metric)
    if spec is not None:
        return spec.unit
    return "ms" if metric.endswith("_ms") else ""


def format_value(metric: str, value: float | None) -> str:
    """A metric's value as shown: shares as ``0.000``, milliseconds as integers, null as not measured."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NOT_MEASURED
    if _unit(metric) == "ms":
        return f"{value:,.0f} ms"
    return f"{value:.3f}"


def _direction(metric: str) -> str:
    spec = METRIC_BY_NAME.get(metric)
    if spec is None:
        return ""
    return "↑ 높을수록 좋음" if spec.higher_is_better else "↓ 낮을수록 좋음"


def _ordered_metrics(names: Iterable[str]) -> list[str]:
    """Known metrics in report order (:data:`METRICS`), then any others by name."""
    present = set(names)
    known = [m.name for m in METRICS if m.name in present]
    return known + sorted(present - set(known))


def _clip(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    if len(text) <= limit:
        return escape(text)
    return escape(text[:limit]) + f'<span class="note"> … ({len(text):,}자 중 {limit:,}자 표시)</span>'


def _num(x: float) -> str:
    """A coordinate for SVG: short and locale-free."""
    return f"{x:.1f}".rstrip("0").rstrip(".")


# -- sections ------------------------------------------------------------------------------------
def _header(r: RunResult) -> str:
    d = r.dataset
    rows = [
        ("스위트 (suite)", escape(r.suite)),
        ("실행 ID (run_id)", f"<code>{escape(r.run_id)}</code>"),
        ("시작 (started_at)", escape(r.started_at)),
        ("소요 시간 (wall time)", f"{r.wall_s:,.1f} s"),
        ("대상 (target)", escape(r.target)),
        ("실행 (ran by)", f"<code>{escape(r.ran_by)}</code>"),
        ("열람 권한 (principal)", escape(r.principal.label())),
        ("도우미 (assistant)", escape(r.assistant or "nuri (플랫폼 기본)")),
        ("모델 (model)", escape(r.model)),
        ("임베더 (embedder)", escape(r.embedder)),
        ("커밋 (commit)", f"<code>{escape(r.commit)}</code>"),
        ("프롬프트 버전 (prompt_version)", f"<code>{escape(r.prompt_version)}</code>"),
        ("가드레일 (guardrails)", escape(r.guardrails)),
        (
            "데이터셋 (dataset)",
            f"{escape(d.suite)} — {d.items:,}개 항목 (items), sha256 <code>{escape(d.sha256[:12])}</code>"
            + "<br>"
            + "<br>".join(f"<code>{escape(f)}</code>" for f in d.files),
        ),
    ]
    body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    return (
        f"<h1>누리 평가 보고서 (Nuri evaluation report) — {escape(r.suite)}</h1>"
        f'<p class="muted">실행 <code>{escape(r.run_id)}</code> · {escape(r.started_at)}</p>'
        f'<h2>실행 정보 (run)</h2><table class="info">{body}</table>'
    )


def _metrics_section(r: RunResult) -> str:
    rows = []
    for name in _ordered_metrics(r.metrics):
        value = r.metrics[name]
        spec = METRIC_BY_NAME.get(name)
        if value is None:
            note = r.notes.get(name, "")
            shown = f'<span class="na">{NOT_MEASURED}</span>'
            if note:
                shown += f'<div class="note">{escape(note)}</div>'
        else:
            shown = escape(format_value(name, value))
        rows.append(
            f'<tr><td><code>{escape(name)}</code></td><td class="{"" if value is None else "num"}">{shown}</td>'
            f'<td>{_direction(name)}</td><td class="muted">{escape(spec.description) if spec else ""}</td></tr>'
        )
    table = (
        "<table><thead><tr><th>지표 (metric)</th><th>값 (value)</th><th>방향</th><th>설명 (description)</th></tr>"
        f"</thead><tbody>{''.join(rows)}</tbody></table>"
    )
    return f"<h2>지표별 점수 (metrics)</h2>{table}{_share_chart(r)}"


def _share_chart(r: RunResult) -> str:
    """Horizontal bars of the share metrics (0..1); colour says which direction is better."""
    names = [n for n in _ordered_metrics(r.metrics) if _unit(n) == ""]
    if not names:
        return ""
    label_w, bar_w, value_w, row_h, top = 190, 420, 130, 22, 24
    width = label_w + bar_w + value_w
    height = top + row_h * len(names) + 8
    parts = [
        f'<svg role="img" aria-label="share metrics" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
    ]
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        x = label_w + bar_w * tick
        dash = "" if tick in (0.0, 1.0) else ' stroke-dasharray="2,3"'
        parts.append(
            f'<line class="axis" x1="{_num(x)}" y1="{top - 4}" x2="{_num(x)}" y2="{height - 8}"{dash}/>'
            f'<text x="{_num(x)}" y="{top - 8}" text-anchor="middle">{tick:g}</text>'
        )
    for i, name in enumerate(names):
        y = top + i * row_h
        value = r.metrics[name]
        spec = METRIC_BY_NAME.get(name)
        lower = spec is not None and not spec.higher_is_better
        parts.append(f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end">{escape(name)}</text>')
        if value is None:
            parts.append(f'<text x="{label_w + 6}" y="{y + 15}" class="na" fill="#8c959f">{NOT_MEASURED}</text>')
            continue
        w = bar_w * min(max(value, 0.0), 1.0)
        parts.append(
            f'<rect x="{label_w}" y="{y + 3}" width="{_num(w)}" height="{row_h - 6}" '
            f'fill="{COLOR_LOWER if lower else COLOR_HIGHER}"><title>{escape(name)}: {value:.3f}</title></rect>'
            f'<text x="{label_w + bar_w + 8}" y="{y + 15}">{value:.3f}</text>'
        )
    parts.append("</svg>")
    legend = (
        f'<div class="legend note"><span style="background:{COLOR_HIGHER}"></span>높을수록 좋음 (higher is better)'
        f'<span style="background:{COLOR_LOWER}"></span>낮을수록 좋음 (lower is better)</div>'
    )
    return "<h3>비율 지표 (share metrics, 0–1)</h3>" + "".join(parts) + legend


def _category_section(r: RunResult) -> str:
    if not r.by_category:
        return '<h2>범주별 점수 (by category)</h2><p class="muted">범주별 점수가 없습니다.</p>'
    all_names = {m for scores in r.by_category.values() for m in scores}
    names = [n for n in _ordered_metrics(all_names) if any(s.get(n) is not None for s in r.by_category.values())]
    counts = Counter(item.category for item in r.items)
    head = "".join(f"<th><code>{escape(n)}</code></th>" for n in names)
    rows = []
    for category in sorted(r.by_category):
        scores = r.by_category[category]
        cells = []
        for n in names:
            v = scores.get(n)
            cells.append('<td class="na">—</td>' if v is None else f'<td class="num">{escape(format_value(n, v))}</td>')
        rows.append(
            f'<tr><th>{escape(category)}</th><td class="num">{counts.get(category, 0):,}</td>{"".join(cells)}</tr>'
        )
    return (
        "<h2>범주별 점수 (by category)</h2>"
        f"<table><thead><tr><th>범주 (category)</th><th>항목 (items)</th>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
        '<p class="note">— : 이 범주에서는 측정하지 않음 (not measured in this category)</p>'
    )


def _histogram(values: Sequence[float], marks: Sequence[tuple[str, float | None, str]], label: str) -> str:
    """An SVG histogram of ``values`` (ms) with vertical lines at ``marks`` (name, value, colour)."""
    lo, hi = min(values), max(values)
    marked = [v for _, v, _ in marks if v is not None]
    lo, hi = min([lo, *marked]), max([hi, *marked])
    lo = 0.0 if lo >= 0 else lo
    span = hi - lo or 1.0
    bins = [0] * HISTOGRAM_BINS
    for v in values:
        bins[min(int((v - lo) / span * HISTOGRAM_BINS), HISTOGRAM_BINS - 1)] += 1
    left, plot_w, plot_h, top, bottom = 50, 640, 160, 20, 40
    width, height = left + plot_w + 20, top + plot_h + bottom
    peak = max(bins) or 1
    bw = plot_w / HISTOGRAM_BINS
    parts = [
        f'<svg role="img" aria-label="{escape(label)}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">',
        f'<line class="axis" x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}"/>',
        f'<line class="axis" x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}"/>',
        f'<text x="{left - 6}" y="{top + 4}" text-anchor="end">{peak}</text>',
        f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end">0</text>',
    ]
    for i, count in enumerate(bins):
        if not count:
            continue
        h = plot_h * count / peak
        x0 = lo + span * i / HISTOGRAM_BINS
        x1 = lo + span * (i + 1) / HISTOGRAM_BINS
        parts.append(
            f'<rect x="{_num(left + i * bw + 1)}" y="{_num(top + plot_h - h)}" width="{_num(bw - 2)}" '
            f'height="{_num(h)}" fill="{COLOR_HIGHER}"><title>{x0:,.0f}–{x1:,.0f} ms: {count}</title></rect>'
        )
    for frac in (0.0, 0.25, 0.5, 0.75, 1.0):
        x = left + plot_w * frac
        parts.append(f'<text x="{_num(x)}" y="{top + plot_h + 16}" text-anchor="middle">{lo + span * frac:,.0f}</text>')
    parts.append(
        f'<text x="{left + plot_w / 2:.0f}" y="{top + plot_h + 34}" text-anchor="middle">ms (항목 수 / items)</text>'
    )
    for i, (name, at, colour) in enumerate(marks):
        if at is None:
            continue
        x = left + plot_w * (at - lo) / span
        # the label goes right of the line, or left of it near the right edge
        tx, anchor = (x - 4, "end") if x > left + plot_w * 0.8 else (x + 4, "start")
        parts.append(
            f'<line x1="{_num(x)}" y1="{top}" x2="{_num(x)}" y2="{top + plot_h}" stroke="{colour}" '
            f'stroke-width="2" stroke-dasharray="5,3"/>'
            f'<text x="{_num(tx)}" y="{top + 12 + 14 * i}" text-anchor="{anchor}" fill="{colour}">'
            f"{escape(name)} {at:,.0f}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _latency_section(r: RunResult) -> str:
    out = ["<h2>지연 시간 분포 (latency)</h2>"]
    series = (
        ("답변 완료까지 (latency_ms)", [i.latency_ms for i in r.items], "latency_p50_ms", "latency_p95_ms"),
        ("첫 토큰까지 (first_token_ms)", [i.first_token_ms for i in r.items], "ttft_p50_ms", "ttft_p95_ms"),
    )
    shown = 0
    for title, raw, p50, p95 in series:
        values = [float(v) for v in raw if v is not None and not math.isnan(v)]
        if not values:
            continue
        shown += 1
        marks = [("p50", r.metrics.get(p50), COLOR_P50), ("p95", r.metrics.get(p95), COLOR_P95)]
        summary = " · ".join(
            f"{name} {escape(format_value(m, r.metrics.get(m)))}" for name, m in ((p50, p50), (p95, p95))
        )
        out.append(
            f"<h3>{title}</h3>"
            f'<p class="note">{len(values):,}개 항목 (items) · {summary}</p>' + _histogram(values, marks, title)
        )
    if not shown:
        out.append('<p class="muted">지연 시간이 기록된 항목이 없습니다 (no latencies recorded).</p>')
    return "".join(out)


def _list(values: Iterable[str], css: str = "") -> str:
    items = [f"<li>{escape(v)}</li>" for v in values]
    if not items:
        return ""
    cls = f' class="{css}"' if css else ""
    return f"<ul{cls}>{''.join(items)}</ul>"


def _citations(item: ItemResult) -> str:
    if not item.citations:
        return '<span class="na">없음</span>'
    rows = []
    for c in sorted(item.citations, key=lambda c: c.n):
        if c.relevant is None:
            mark = '<span class="na" title="참조 구절 없음 (no reference passages)">–</span>'
        elif c.relevant:
            mark = '<span class="ok" title="참조 구절 (relevant)">✓</span>'
        else:
            mark = '<span class="bad" title="참조 구절 아님 (not relevant)">✗</span>'
        anchor = f" · {escape(c.anchor)}" if c.anchor.strip() else ""
        rows.append(f"<li>{mark} [{c.n}] {escape(c.title)}{anchor}</li>")
    return f"<ul>{''.join(rows)}</ul>"


def _failure_row(item: ItemResult) -> str:
    answer = ""
    if item.refused:
        answer += '<span class="refused">거절됨 (refused)</span><br>'
    answer += f'<div class="text">{_clip(item.answer)}</div>' if item.answer else '<span class="na">(빈 답변)</span>'
    if item.judge:
        answer += f'<div class="note">판정 (judge): {escape(item.judge)}</div>'
    error = f'<span class="err">{escape(item.error)}</span>' if item.error else ""
    cells = [
        f"<code>{escape(item.id)}</code>",
        escape(item.category),
        escape(item.expected),
        f'<div class="text">{_clip(item.question)}</div>',
        f'<div class="text">{_clip(item.reference_answer)}</div>',
        answer,
        _citations(item),
        _list(item.guardrail_decisions),
        _list(item.failures, "bad"),
        error,
    ]
    return f'<tr id="item-{escape(item.id)}">' + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def _failures_section(r: RunResult) -> str:
    failed = [i for i in r.items if i.failures or i.error]
    title = f"<h2>실패 항목 (failures) — {len(failed):,} / {len(r.items):,}</h2>"
    if not failed:
        return title + '<p class="muted">실패한 항목이 없습니다 (no failures).</p>'
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "ID",
            "범주 (category)",
            "기대 (expected)",
            "질문 (question)",
            "참조 답변 (reference)",
            "답변 (answer)",
            "인용 (citations)",
            "가드레일 (guardrails)",
            "실패 (failures)",
            "오류 (error)",
        )
    )
    rows = "".join(_failure_row(i) for i in failed)
    return (
        title
        + '<p class="note">인용: ✓ 참조 구절 (relevant) · ✗ 참조 구절 아님 · – 참조 구절이 없는 항목</p>'
        + f'<table class="failures"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'
    )


def _config_section(r: RunResult) -> str:
    text = json.dumps(r.config, ensure_ascii=False, indent=2, sort_keys=True, default=str)
    return f"<h2>설정 (configuration)</h2><pre>{escape(text)}</pre>"


# -- the page ------------------------------------------------------------------------------------
def render_report(result: RunResult) -> str:
    """The run as one HTML document that loads nothing from anywhere."""
    title = f"누리 평가 보고서 — {result.suite} — {result.run_id}"
    body = "\n".join(
        (
            _header(result),
            _metrics_section(result),
            _category_section(result),
            _latency_section(result),
            _failures_section(result),
            _config_section(result),
        )
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="ko">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def write_report(result: RunResult, path: Path) -> Path:
    """Write :func:`render_report` to ``path`` (UTF-8; parent folders created); returns ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(result), encoding="utf-8")
    return path
