"""``assessment.html``: the report (:class:`~evals.assessment.model.AssessmentReport`) as one
self-contained Korean page, for reading on screen and for printing on A4.

Like ``evals/report.py`` the page loads nothing: inline CSS, no script, no web font, no image, and
a Content-Security-Policy that forbids loading anything (a report is mailed around and filed; the
agencies' PCs often have no internet access). Every text from the report is HTML-escaped. Each
concern is one ``<section>`` starting on a new page when printed; the closing section lists what
is missing. The page shows the report and computes nothing of its own.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from html import escape
from pathlib import Path

from evals.assessment.model import (
    SECTIONS,
    AccountabilitySection,
    AccuracySection,
    AssessmentReport,
    DataSection,
    IncidentSection,
    OperatorSection,
    SafeguardSection,
    SuiteResult,
    SystemSection,
)
from evals.report import CSP, NOT_MEASURED, format_value

UNFILLED = "미기재"
#: Longest configuration value shown on the page (assessment.json holds all of it).
MAX_VALUE_CHARS = 160
VERDICTS = {
    "better": "개선",
    "worse": "악화",
    "no significant change": "유의한 변화 없음",
    "not measured": "측정 안 함",
}
CHECK_TITLES = {"pii": "개인정보", "injection": "프롬프트 주입", "policy": "정책 위반", "context": "문서 속 지시문",
                "output_pii": "출력 개인정보", "grounding": "근거 확인"}  # fmt: skip
ACTION_TITLES = {"block": "차단", "mask": "가림", "pseudonymise": "가명 처리", "warn": "경고", "drop": "제외",
                 "quote": "인용 처리", "withhold": "보류", "prune": "삭제", "seal": "봉인"}  # fmt: skip

CSS = """
@page { size: A4; margin: 14mm 12mm; }
* { box-sizing: border-box; }
body { font-family: "Pretendard", "Noto Sans KR", "Noto Sans CJK KR", "Malgun Gothic", "Apple SD Gothic Neo",
  sans-serif; color: #1f2328; margin: 24px auto; max-width: 1040px; padding: 0 16px; line-height: 1.55;
  font-size: 14px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 19px; border-bottom: 2px solid #1f4e8c; padding-bottom: 4px; margin: 0 0 12px; color: #1f4e8c; }
h3 { font-size: 15px; margin: 18px 0 6px; }
section { margin-top: 36px; }
table { border-collapse: collapse; margin: 6px 0 10px; width: 100%; }
th, td { border: 1px solid #d0d7de; padding: 4px 8px; vertical-align: top; text-align: left; }
th { background: #f3f6fa; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.kv th { width: 210px; }
code { font-family: "D2Coding", Consolas, monospace; font-size: 12px; word-break: break-all; }
pre { background: #f6f8fa; border: 1px solid #d0d7de; padding: 10px; font-size: 11px; white-space: pre-wrap;
  word-break: break-all; font-family: "D2Coding", Consolas, monospace; }
.muted, .note { color: #57606a; }
.note { font-size: 12px; }
.unfilled { color: #b3261e; font-weight: 600; }
.ok { color: #1b7f3b; font-weight: 600; }
.bad { color: #b3261e; font-weight: 600; }
.summary { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 8px; margin: 16px 0; }
.summary div { border: 1px solid #d0d7de; border-radius: 6px; padding: 8px 10px; background: #fbfcfe; }
.summary b { display: block; font-size: 20px; }
.cover { border-bottom: 1px solid #d0d7de; padding-bottom: 12px; }
ul.missing li { margin-bottom: 4px; }
.ok, .bad, .plain { white-space: nowrap; }
table.counts { width: auto; min-width: 50%; }
.config { columns: 2; column-gap: 24px; font-size: 11px; line-height: 1.45; }
.config div { break-inside: avoid; word-break: break-all; padding-left: 1em; text-indent: -1em; }
@media print {
  body { margin: 0; max-width: none; padding: 0; font-size: 11pt; }
  section { break-before: page; margin-top: 0; }
  tr, .summary div { break-inside: avoid; }
  h2, h3 { break-after: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""


# -- formatting ------------------------------------------------------------------------------------
def _e(value: object) -> str:
    return escape("" if value is None else str(value))


def _text(value: object) -> str:
    """A field's text, or 미기재."""
    if value is None or value == "":
        return f'<span class="unfilled">{UNFILLED}</span>'
    if isinstance(value, date):
        return escape(value.isoformat())
    return escape(str(value)).replace("\n", "<br>")


def _when(value: datetime | str | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            return escape(value)
    else:
        when = value
    return escape(when.strftime("%Y-%m-%d %H:%M UTC"))


def _yes(flag: bool | None, yes: str = "예", no: str = "아니오", judged: bool = True) -> str:
    """A yes/no; ``judged``: green for yes, red for no (a safeguard on or off), else plain."""
    if flag is None:
        return "—"
    css = ("ok" if flag else "bad") if judged else "plain"
    return f'<span class="{css}">{yes if flag else no}</span>'


def _num(n: int | float | None) -> str:
    return "—" if n is None else f"{n:,}"


def _table(heads: Sequence[str], rows: Iterable[Sequence[str]], empty: str = "없음", css: str = "") -> str:
    """Cells are HTML already (escape before)."""
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    if not body:
        return f'<p class="muted">{escape(empty)}</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in heads)
    attr = f' class="{css}"' if css else ""
    return f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _kv(pairs: Iterable[tuple[str, str]]) -> str:
    rows = "".join(f"<tr><th>{escape(k)}</th><td>{v}</td></tr>" for k, v in pairs)
    return f'<table class="kv"><tbody>{rows}</tbody></table>'


def _counts(counts: dict[str, int], head: str, empty: str = "없음") -> str:
    return _table([head, "수"], ([_e(k), f"{n:,}"] for k, n in counts.items()), empty, css="counts")


def _section(sid: str, body: str) -> str:
    return f'<section id="{sid}"><h2>{escape(SECTIONS[sid])}</h2>{body}</section>'


# -- sections --------------------------------------------------------------------------------------
def _cover(r: AssessmentReport) -> str:
    failing = r.accountability.verify is not None and not r.accountability.verify.ok
    verified = "검증 안 됨" if r.accountability.verify is None else ("실패" if failing else "정상")
    usage = r.safeguards.usage
    tiles = [
        ("질문", _num(usage.questions) if usage else "—"),
        ("거절", _num(usage.refusals) if usage else "—"),
        ("차단된 공격", _num(r.incidents.blocked_attacks)),
        ("평가 묶음(기간 중)", _num(len(r.accuracy.suites))),
        ("감사 기록 무결성", verified),
        ("누락·확인 필요", _num(len(r.missing))),
    ]
    tiles_html = "".join(f"<div>{escape(k)}<b>{v}</b></div>" for k, v in tiles)
    return (
        '<div class="cover"><h1>공공 AI 영향평가 근거 자료</h1>'
        f'<p><b>{_e(r.overview.subject)}</b><br><span class="muted">기간 {_when(r.period.since)} ~ '
        f"{_when(r.period.until)} · 작성 {_when(r.generated_at)} · {_e(r.system.platform_version)} · "
        f"schema {_e(r.schema_version)}</span></p>"
        f'<div class="summary">{tiles_html}</div>'
        '<p class="note">이 문서는 누리가 스스로 기록한 것(설정, 색인, 평가 기록, 감사 기록, 변경 기록)에서 자동으로 모은 근거와 '
        "운영자가 기재한 사항을 담습니다. 같은 내용이 assessment.json에 기계가 읽을 수 있는 형태로 있습니다.</p></div>"
    )


def _overview(r: AssessmentReport) -> str:
    o, f = r.overview, r.operator.fields
    body = _kv([
        ("평가 대상", _e(o.subject)),
        ("목적", _text(o.purpose)),
        ("책임자", _text(o.owner.name)),
        ("책임자 부서", _text(o.owner.department)),
        ("책임자 연락처", _text(o.owner.contact)),
        ("다음 검토일", _text(f.review_date)),
        ("보고 기간 (UTC)", f"{_when(r.period.since)} ~ {_when(r.period.until)}"),
    ])  # fmt: skip
    a = r.assistant
    if a is not None:
        users = a.users
        body += "<h3>도우미 정의</h3>" + _kv([
            ("ID · 이름", f"<code>{_e(a.id)}</code> · {_e(a.name)}"),
            ("소유 기관", _e(a.agency) + (" (기관 기본 도우미)" if a.default else "")),
            ("설명", _text(a.description)),
            ("사용할 수 있는 사람", _e(f"기관 {users.get('agencies') or [a.agency]}, 최소 등급 "
                                     f"{users.get('min_clearance')}, 역할 {users.get('roles') or '제한 없음'}")),
            ("읽는 범위", _e(json.dumps(a.scope, ensure_ascii=False))),
            ("모델", _e(f"{a.model or '플랫폼 모델'} · {a.mode or '플랫폼 방식'} · 생성 {a.generation or '플랫폼 설정'}")
             + (f"<br><code>{_e(', '.join(a.endpoints))}</code>" if a.endpoints else "")),
            ("추가 지시문", (f"<pre>{_e(a.prompt)}</pre><span class='note'>sha256 {_e(a.prompt_sha256)}</span>"
                          if a.prompt else "없음")),
            ("만든 때 · 바꾼 때", f"{_when(a.created_at)} ({_e(a.created_by)}) · {_when(a.updated_at)}"),
        ])  # fmt: skip
    return _section("overview", body)


def _system(s: SystemSection) -> str:
    gen = _table(
        ["누구의", "모델", "방식", "답변 생성", "접속 주소 (호스트만)"],
        ([_e(g.role), f"<code>{_e(g.model)}</code>", _e(g.mode),
          _e("모델이 작성" if g.generation == "model" else "문서 문장 인용(추출)"),
          _e(", ".join(g.endpoints)) if g.endpoints else _e(f"내장 모델 서버 ({g.engine}: {g.bundled})")]
         for g in s.generative),
    )  # fmt: skip
    bundled = _table(
        ["내장 모델", "라이선스", "출처·검증", "sha256 · 패키지", "사용 중"],
        ([f"{_e(m.title)}<br><code>{_e(m.file)}</code>",
          f"<b>{_e(m.licence)}</b><br><span class='note'>{_e(m.licence_source)}</span>",
          _e(m.provenance) + ("" if m.verified is None else
                              f"<br>조립 파일 확인: {_yes(m.verified, '검증 도장 일치', '불일치: 다시 확인 필요')}"),
          f"<code>{_e(m.sha256)}</code><br><span class='note'>{_e(_packages(m.packages))}</span>",
          _yes(m.selected, judged=False)]
         for m in s.bundled_models),
    )  # fmt: skip
    e = s.embedder
    embedder = _kv([
        ("방식 · 모델", _e(f"{e.backend} · {e.model}")),
        ("패키지 · 라이선스", _e(f"{e.package.name} {e.package.version or '미설치'}" if e.package else "—")
         + (f" · {_e(e.licence)}" if e.licence else "")),
        ("접속 주소", _e(e.endpoint) if e.endpoint else "—"),
        ("색인을 만든 임베더 · 차원", _e(f"{e.index_embedder or '알 수 없음'} · {e.dim or '알 수 없음'}")),
        ("재순위 모델", _e(s.reranker) if s.reranker else "사용 안 함"),
    ])  # fmt: skip
    clf = _table(
        ["검사", "용도", "파일 · sha256", "학습", "임계값"],
        ([_e(c.name), _e(c.purpose), f"{_e(c.file)}{' (사용자 지정)' if c.custom else ''}<br><code>{_e(c.sha256)}</code>",
          _e(f"{c.trained_at or '—'} · {c.trainer or '—'}"), _e(c.threshold)]
         for c in s.classifiers),
    )  # fmt: skip
    prompts = _kv([
        ("프롬프트 템플릿", _e(s.prompt_dir)),
        ("설정된 프롬프트 버전", f"<code>{_e(s.prompt_version)}</code>" if s.prompt_version else _text(None)),
        ("기간 중 답변에 쓰인 버전", ", ".join(f"<code>{_e(v)}</code>" for v in s.prompt_versions_seen) or "기록 없음"),
    ])  # fmt: skip
    return _section(
        "system",
        f"<h3>생성 모델</h3>{gen}<h3>함께 배포되는 모델 (라이선스·출처)</h3>{bundled}<h3>임베딩 모델</h3>{embedder}"
        f"<h3>가드레일 분류기</h3>{clf}<h3>프롬프트</h3>{prompts}"
        '<p class="note">설정 전체(비밀값 가림)는 맨 뒤 부록에 있습니다.</p>',
    )


def _config_appendix(s: SystemSection) -> str:
    """Every setting, secrets masked: an appendix, so that the sections read without it."""
    config = "".join(f"<div><code>{_e(k)}</code> = {_e(v)}</div>" for k, v in _flatten(s.config))
    return (
        '<section id="config"><h2>부록. 설정 전체 (비밀값·주소의 비밀번호 가림)</h2><p class="note">키·비밀·비밀번호·토큰·'
        f"pepper 항목과 URL 속 비밀번호는 ***로 가렸습니다. {MAX_VALUE_CHARS}자가 넘는 값은 줄여 보이며, 전체는 "
        f'assessment.json에 있습니다.</p><div class="config">{config}</div></section>'
    )


def _flatten(tree: dict[str, object], prefix: str = "") -> list[tuple[str, str]]:
    """``a.b.c = value`` lines of a settings tree (lists as JSON; long values cut)."""
    out: list[tuple[str, str]] = []
    for key in sorted(tree):
        value = tree[key]
        if isinstance(value, dict) and value:
            out += _flatten(value, f"{prefix}{key}.")
            continue
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        if len(text) > MAX_VALUE_CHARS:
            text = f"{text[:MAX_VALUE_CHARS]} … ({len(text):,}자)"
        out.append((prefix + key, text))
    return out


def _packages(packages: Sequence[object]) -> str:
    installed = [p for p in packages if getattr(p, "version", None)]
    names = [getattr(p, "name", "") for p in packages]
    if len(packages) > 3:
        versions = sorted({str(getattr(p, "version", "")) for p in installed})
        return f"{names[0]} … {names[-1]} ({len(installed)}/{len(packages)}개 설치, 버전 {', '.join(versions) or '—'})"
    return ", ".join(f"{getattr(p, 'name', '')} {getattr(p, 'version', None) or '미설치'}" for p in packages)


def _data(d: DataSection) -> str:
    i = d.index
    if d.sources_error:
        sources = f'<p class="bad">동기화 기록을 읽지 못했습니다: {_e(d.sources_error)}</p>'
    else:
        sources = _table(
            ["원천", "마지막 실행", "결과", "추가·변경·삭제·유지", "실패", "마지막 성공"],
            ([f"<code>{_e(s.root)}</code><br><span class='note'>{_e(s.kind)}, 기록 {s.runs}회</span>",
              _when(s.last_run_at), _yes(s.last_run_ok, "성공", "실패 포함"),
              f"{s.added:,} · {s.updated:,} · {s.removed:,} · {s.unchanged:,}",
              f"{s.failed:,}" + ("<br><span class='note'>" + "<br>".join(_e(f) for f in s.failures) + "</span>"
                                 if s.failures else ""),
              _when(s.last_success_at)]
             for s in d.sources),
            "동기화 기록 없음",
        )  # fmt: skip
    if not i.available:
        index = f'<p class="bad">색인을 열지 못했습니다 ({_e(i.backend)}, {_e(i.location)}): {_e(i.reason)}</p>'
    else:
        index = _kv([("색인", _e(f"{i.backend} · {i.location}")), ("문서 · 조각", f"{i.documents:,} · {i.chunks:,}")])
        index += "<h3>공개 등급별 문서</h3>" + _counts(i.by_access, "공개 등급")
        index += "<h3>문서 유형별</h3>" + _counts(i.by_doc_type, "유형")
        index += "<h3>기관별</h3>" + _counts(i.by_agency, "기관")
        if i.in_scope is not None:
            index += (f"<h3>도우미가 읽는 범위의 문서</h3><p>{i.in_scope:,}건 (사용자의 권한 안에서만 읽힘)</p>"
                      + _counts(i.in_scope_by_access, "공개 등급"))  # fmt: skip
    levels = _table(
        ["공개 등급", "누가 읽을 수 있나"], ([f"<code>{_e(k)}</code>", _e(v)] for k, v in d.access_levels.items())
    )
    return _section("data", f"<h3>원천과 동기화</h3>{sources}<h3>색인</h3>{index}<h3>공개 등급의 뜻</h3>{levels}")


def _ci(low: float | None, high: float | None, metric: str) -> str:
    if low is None or high is None:
        return "—"
    return f"[{_e(format_value(metric, low))}, {_e(format_value(metric, high))}]"


def _suite(s: SuiteResult, confidence: float) -> str:
    head = (
        f"<h3>{_e(s.suite)}" + (f" · 도우미 {_e(s.assistant)}" if s.assistant else "") + "</h3>"
        f'<p class="note">실행 <code>{_e(s.run_id)}</code> · {_when(s.started_at)} · 모델 {_e(s.model)} · 프롬프트 '
        f"<code>{_e(s.prompt_version)}</code> · 가드레일 {_e(s.guardrails)} · 문항 {s.items:,} · 실행 {_e(s.ran_by)} · "
        f"열람 권한 {_e(s.principal)}</p>"
    )
    metrics = _table(
        ["지표", "값", f"{confidence:.0%} 신뢰구간", "방향", "설명"],
        ([f"<code>{_e(m.metric)}</code>",
          f'<span class="num">{_e(format_value(m.metric, m.value))}</span>',
          _ci(m.ci_low, m.ci_high, m.metric),
          "" if m.higher_is_better is None else ("↑ 높을수록 좋음" if m.higher_is_better else "↓ 낮을수록 좋음"),
          f"<span class='note'>{_e(m.note)}</span>" if m.value is None and m.note else ""]
         for m in s.metrics),
    )  # fmt: skip
    if s.previous_run_id is None:
        change = '<p class="muted">같은 묶음의 이전 실행이 없어 변화를 비교하지 않았습니다.</p>'
    else:
        change = (
            f'<p class="note">이전 실행 <code>{_e(s.previous_run_id)}</code> ({_when(s.previous_started_at)}) 대비, '
            f"짝지은 문항 {s.paired or 0:,}개의 부트스트랩 신뢰구간</p>"
        ) + _table(
            ["지표", "이전", "최근", "차이", f"{confidence:.0%} 신뢰구간", "판정"],
            ([f"<code>{_e(c.metric)}</code>", _e(format_value(c.metric, c.previous)),
              _e(format_value(c.metric, c.latest)),
              "—" if c.delta is None else f"{c.delta:+.3f}", _ci(c.ci_low, c.ci_high, c.metric),
              _e(VERDICTS.get(c.verdict, c.verdict))]
             for c in s.changes),
        )  # fmt: skip
    return head + metrics + change


def _accuracy(a: AccuracySection) -> str:
    if a.error:
        return _section("accuracy", f'<p class="bad">평가 기록을 읽지 못했습니다: {_e(a.error)}</p>')
    intro = (
        f"<p>기간 중 평가 실행 {a.runs_in_period:,}회. 묶음마다 가장 최근 실행의 지표와 {a.confidence:.0%} 신뢰구간"
        f"(문항 단위 부트스트랩 {a.bootstrap_samples:,}회), 이전 실행 대비 변화입니다. "
        f"‘{escape(NOT_MEASURED)}’은 그 실행에서 잴 수 없었던 지표입니다.</p>"
    )
    body = "".join(_suite(s, a.confidence) for s in a.suites) or '<p class="bad">기간 중 평가 실행이 없습니다.</p>'
    return _section("accuracy", intro + body)


def _safeguards(s: SafeguardSection) -> str:
    checks = _table(
        ["보호조치", "켜짐", "동작", "세부"],
        ([f"{_e(c.title)} <code>{_e(c.check)}</code>", _yes(c.enabled, "켜짐", "꺼짐"), _e(c.action), _e(c.detail)]
         for c in s.checks),
    )  # fmt: skip
    extra = ""
    if s.assistant_guardrails is not None:
        extra = "<h3>도우미의 더 엄격한 설정</h3>" + _kv((_e(k), _e(v)) for k, v in s.assistant_guardrails.items())
    if s.error:
        usage = f'<p class="bad">감사 기록을 읽지 못해 집계하지 못했습니다: {_e(s.error)}</p>'
    else:
        u = s.usage
        usage = _kv([
            ("질문 · 답변 · 거절", f"{_num(u.questions if u else None)} · {_num(u.answers if u else None)} · "
                                 f"{_num(u.refusals if u else None)}"),
            ("가드레일 차단(결정 수)", _num(u.guardrail_blocks if u else None)),
            ("검색", _num(u.searches if u else None)),
            ("모델 토큰 (입력 · 출력)", f"{_num(u.tokens_in if u else None)} · {_num(u.tokens_out if u else None)}"),
        ])  # fmt: skip
        if len(s.usage_by_assistant) > 1 or any(k != "(플랫폼 기본)" for k in s.usage_by_assistant):
            usage += "<h3>도우미별</h3>" + _table(
                ["도우미", "질문", "답변", "거절", "차단", "검색"],
                ([_e(k), _num(v.questions), _num(v.answers), _num(v.refusals), _num(v.guardrail_blocks),
                  _num(v.searches)] for k, v in s.usage_by_assistant.items()),
            )  # fmt: skip
    decisions = _table(
        ["검사", "동작", "단계", "횟수"],
        ([f"{_e(CHECK_TITLES.get(d.check, d.check))} <code>{_e(d.check)}</code>",
          f"{_e(ACTION_TITLES.get(d.action, d.action))} <code>{_e(d.action)}</code>", _e(d.stage),
          f'<span class="num">{d.count:,}</span>'] for d in s.decisions),
        "기간 중 가드레일이 작동한 기록이 없습니다",
    )  # fmt: skip
    p = s.personal_data
    personal = _kv([
        ("개인정보 탐지", _yes(p.pii_enabled, "켜짐", "꺼짐") + f" · 동작 <code>{_e(p.pii_action)}</code>"),
        ("찾는 유형", _e(", ".join(p.pii_types))),
        ("가명 처리 (답변에서 복원)", _yes(p.pseudonymisation, judged=False)),
        ("출력 개인정보 가림", _yes(p.output_masking)),
        ("감사 기록에 남기는 것", _e("질문(가린 뒤) " + ("저장" if p.audit_stores_question else "저장 안 함")
                                  + " · 답변 " + ("저장" if p.audit_stores_answer else "저장 안 함")
                                  + " · 검색된 조각 ID " + ("저장" if p.audit_stores_retrieved else "저장 안 함"))),
    ])  # fmt: skip
    return _section(
        "safeguards",
        f"<h3>보호조치 설정</h3>{checks}{extra}<h3>기간 중 사용</h3>{usage}<h3>가드레일이 작동한 횟수</h3>{decisions}"
        f"<h3>개인정보 처리</h3>{personal}",
    )


def _accountability(a: AccountabilitySection) -> str:
    if a.keys is None:
        keys = f'<p class="bad">API 키 목록을 읽지 못했습니다: {_e(a.keys_error)}</p>'
    else:
        k = a.keys
        keys = _kv([("유효한 키 · 폐기된 키", f"{k.active:,} · {k.revoked:,}")])
        keys += "<h3>기관별 유효 키</h3>" + _counts(k.by_agency, "기관")
        keys += "<h3>역할별 · 열람 등급별</h3>" + _counts(k.by_role, "역할") + _counts(k.by_clearance, "열람 등급")
        if k.may_use_assistant is not None:
            keys += f"<p>이 도우미를 쓸 수 있는 유효 키: <b>{k.may_use_assistant:,}</b>개</p>"
    if a.assistant_users is not None:
        keys += "<h3>도우미 사용 조건</h3>" + _kv((_e(k), _e(v)) for k, v in a.assistant_users.items())
    seen = _counts(a.principals_seen, "호출 주체 종류 (key: API 키, gateway·oidc: 로그인 사용자, cli: 서버 명령)",
                   "기간 중 기록된 호출 주체가 없습니다")  # fmt: skip
    if a.verify is not None:
        v = a.verify
        verdict = '<span class="ok">무결성 확인</span>' if v.ok else '<span class="bad">무결성 검증 실패</span>'
        verify = _kv([
            ("검증 결과", verdict),
            ("검사한 기록 · 마지막 번호", f"{v.records:,} · {v.head_seq:,}"),
            ("키 체인(HMAC)으로 검증", _yes(v.keyed) + (f" · 검증 불가 {v.unverifiable:,}건" if v.unverifiable else "")),
            ("외부 체크포인트 파일", _e(f"{v.checkpoint_file} ({v.checkpoints}줄)") if v.checkpoint_file else "없음"),
        ])  # fmt: skip
        if v.issues:
            verify += "<ul>" + "".join(f'<li class="bad">{_e(i)}</li>' for i in v.issues[:50]) + "</ul>"
    else:
        verify = f'<p class="bad">감사 기록을 검증하지 못했습니다: {_e(a.verify_error)}</p>'
    trail = _kv([
        ("감사 기록", _yes(a.audit_enabled, "켜짐", "꺼짐")),
        ("보존 기간", f"{a.retention_days:,}일" if a.retention_days else "정하지 않음 (영구 보존)"),
        ("체인 키 (audit.chain_key)", _yes(a.chain_keyed, "설정됨", "없음")),
        ("체크포인트 파일", _e(a.checkpoint_file) if a.checkpoint_file else "없음"),
    ])  # fmt: skip
    listing = _table(
        ["도우미", "이름", "기관", "마지막 변경"],
        ([f"<code>{_e(x.id)}</code>", _e(x.name), _e(x.agency), _when(x.updated_at)] for x in a.assistants),
        "등록된 도우미가 없습니다",
    )
    if a.changes_error:
        changes = f'<p class="bad">변경 기록을 읽지 못했습니다: {_e(a.changes_error)}</p>'
    else:
        changes = _table(
            ["번호", "시각", "도우미", "변경", "누가", "변경 후 이름"],
            ([str(c.seq), _when(c.at), f"<code>{_e(c.assistant_id)}</code>",
              _e({"create": "생성", "update": "수정", "delete": "삭제"}.get(c.action, c.action)), _e(c.subject),
              _e((c.definition or {}).get("name", "—"))] for c in a.changes),
            "기간 중 도우미 변경이 없습니다",
        )  # fmt: skip
    uses = _table(
        ["모델", "프롬프트 버전", "처음 답변", "마지막 답변", "답변 수"],
        ([f"<code>{_e(u.model)}</code>", f"<code>{_e(u.prompt_version)}</code>", _when(u.first_seen),
          _when(u.last_seen), _num(u.answers)] for u in a.model_prompt_uses),
        "기간 중 답변 기록이 없습니다",
    )  # fmt: skip
    if a.settings_error:
        configs = f'<p class="bad">설정 변경 기록을 읽지 못했습니다: {_e(a.settings_error)}</p>'
    else:
        base = a.settings_baseline
        configs = (
            f'<p class="note">기간이 시작될 때의 설정: {_when(base.at)} 기록 (<code>{_e(base.fingerprint)}</code>, '
            f"{_e(base.subject)})</p>" if base is not None else ""
        ) + _table(
            ["시각", "누가 (서버를 시작한 사용자)", "설정 지문", "바뀐 설정 (이전 → 이후)"],
            ([_when(c.at), _e(c.subject), f"<code>{_e(c.fingerprint)}</code>",
              "<br>".join(f"<code>{_e(ch.get('key'))}</code>: {_e(_short(ch.get('before')))} → "
                          f"{_e(_short(ch.get('after')))}" for ch in c.changed[:40])
              + (f"<br>… 외 {len(c.changed) - 40}개" if len(c.changed) > 40 else "")
              or ("처음 기록된 설정" if base is None else "—")] for c in a.settings_changes),
            "기간 중 설정 변경이 없습니다 (서버가 같은 설정으로만 시작됨)",
        )  # fmt: skip
    return _section(
        "accountability",
        f"<h3>사용할 수 있는 사람 (API 키)</h3>{keys}<h3>기간 중 실제 호출 주체</h3>{seen}"
        f"<h3>감사 기록</h3>{trail}<h3>무결성 검증</h3>{verify}<h3>도우미</h3>{listing}"
        f"<h3>도우미 변경 기록 (기간 중)</h3>{changes}<h3>모델·프롬프트 변경 (감사 기록에서)</h3>{uses}"
        f"<h3>설정 변경 기록 (서버가 시작할 때마다, 비밀값 가림)</h3>{configs}",
    )


def _short(value: object) -> str:
    """A setting's value for the change table (long values cut; assessment.json has them whole)."""
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
    return text if len(text) <= 120 else text[:119] + "…"


def _incidents(i: IncidentSection) -> str:
    summary = _kv([
        ("차단된 공격 (주입·정책 위반 요청)", _num(i.blocked_attacks)),
        ("문서 속 지시문 탐지", _num(i.context_flags)),
        ("거절한 질문", _num(i.refusals)),
        ("인용 없는 답변 (끊긴 답변 포함 가능)", _num(i.uncited_answers)),
        ("원천 동기화 실패 파일 (마지막 실행)", _num(i.sync_failures)),
        ("감사 기록 무결성 문제", _num(i.verify_issues)),
    ])  # fmt: skip
    days = _table(
        ["날짜 (UTC)", "주입 차단", "정책 차단", "문서 속 지시문", "출력 개인정보", "거절"],
        ([_e(d.day), _num(d.injection_blocks), _num(d.policy_blocks), _num(d.context_flags), _num(d.output_pii),
          _num(d.refusals)] for d in i.by_day),
        "기간 중 차단·탐지·거절이 없습니다",
    )  # fmt: skip
    events = _table(
        ["번호", "시각", "기록", "내용"],
        ([str(e.seq), _when(e.at), f"<code>{_e(e.endpoint)}</code>", _e(e.detail)] for e in i.trail_events),
        "기간 중 감사 기록 봉인·삭제가 없습니다",
    )
    limits = "<ul>" + "".join(f"<li>{_e(x)}</li>" for x in i.limits) + "</ul>"
    return _section(
        "incidents",
        f"{summary}<h3>날짜별</h3>{days}<h3>감사 기록 자체의 변경 (봉인·보존 기간 삭제)</h3>{events}"
        f"<h3>플랫폼이 알 수 없는 것</h3>{limits}",
    )


def _operator(o: OperatorSection) -> str:
    f = o.fields
    body = _kv([
        ("목적", _text(f.purpose)),
        ("책임자 (성명 · 부서 · 연락처)", f"{_text(f.owner.name)} · {_text(f.owner.department)} · {_text(f.owner.contact)}"),
        ("사람의 관여", _text(f.human_oversight)),
        ("영향받는 사람", _text(f.affected_people)),
        ("다음 검토일", _text(f.review_date)),
        ("기타 메모", _text(f.notes) if f.notes else "—"),
    ])  # fmt: skip
    source = f"<code>{_e(o.file)}</code>" + ("" if o.found else ' <span class="unfilled">(파일 없음)</span>')
    return _section("operator", f'<p class="note">출처: {source}</p>{body}')


def _missing(r: AssessmentReport) -> str:
    if not r.missing:
        body = '<p class="ok">누락된 항목이 없습니다.</p>'
    else:
        body = '<ul class="missing">' + "".join(
            f"<li><b>{_e(SECTIONS[m.section])}</b> — {_e(m.item)}"
            + (f'<br><span class="note">{_e(m.detail)}</span>' if m.detail else "") + "</li>"
            for m in r.missing
        ) + "</ul>"  # fmt: skip
    return f'<section id="missing"><h2>누락·확인 필요 항목</h2>{body}</section>'


# -- the page --------------------------------------------------------------------------------------
def render_html(r: AssessmentReport) -> str:
    """The report as one HTML document that loads nothing from anywhere."""
    title = f"공공 AI 영향평가 근거 자료 — {r.overview.subject}"
    body = "\n".join((
        _cover(r), _overview(r), _system(r.system), _data(r.data), _accuracy(r.accuracy), _safeguards(r.safeguards),
        _accountability(r.accountability), _incidents(r.incidents), _operator(r.operator), _missing(r),
        _config_appendix(r.system),
    ))  # fmt: skip
    return (
        "<!DOCTYPE html>\n"
        '<html lang="ko">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def write_report(r: AssessmentReport, out_dir: Path) -> tuple[Path, Path]:
    """``out_dir/assessment.html`` and ``out_dir/assessment.json`` (UTF-8; folders created)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path, json_path = out_dir / "assessment.html", out_dir / "assessment.json"
    html_path.write_text(render_html(r), encoding="utf-8")
    json_path.write_text(r.model_dump_json(indent=2), encoding="utf-8")
    return html_path, json_path
