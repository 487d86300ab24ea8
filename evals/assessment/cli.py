"""``nuri assess``: the public-AI impact assessment evidence report (공공 AI 영향평가 근거 자료).

    nuri assess report [--assistant ID] [--since ISO] [--until ISO] [--fields FILE.yaml] [--out DIR]
    nuri assess fields --init FILE.yaml [--force]

``report`` writes ``DIR/assessment.html`` (Korean, one self-contained file, prints on A4) and
``DIR/assessment.json`` (the same facts) from the stores of this server's configuration, read
only; the period is ``--since``/``--until`` (UTC without a time zone; a bare ``--until`` date
includes that day), by default the last ``assess.period_days`` days; ``--out`` defaults to
``assess.out_dir``. ``fields --init`` writes the commented template of the operator's fields
(``assess.fields_file`` is where the report looks without ``--fields``). Plugged into ``nuri``
through the ``nuri.commands`` entry point; nothing heavy is imported until a command runs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from assistant.cli_errors import CliUsageError, CommandError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("assess", help="공공 AI 영향평가 근거 자료 (assessment.html + .json)")
    p_sub = p.add_subparsers(dest="assess_command", required=True, parser_class=type(p))

    rep = p_sub.add_parser("report", help="영향평가 근거 자료 작성: 모델·데이터·평가·보호조치·책임성·사고 기록")
    rep.add_argument("--assistant", metavar="ID", help="이 도우미로 좁혀서 (사용량, 차단 집계, 평가 실행, 변경 기록)")
    rep.add_argument("--since", metavar="ISO", help="이 시각부터 (예: 2026-09-01; 시간대가 없으면 UTC; 기본: 90일 전)")
    rep.add_argument("--until", metavar="ISO", help="이 시각 전까지 (날짜만 쓰면 그 날 포함; 기본: 지금)")
    rep.add_argument(
        "--fields", type=Path, metavar="FILE.yaml", help="운영자 기재 사항 파일 (기본: assess.fields_file)"
    )
    rep.add_argument("--out", type=Path, metavar="DIR", help="결과 폴더 (기본: assess.out_dir)")
    rep.set_defaults(handler=cmd_report)

    fl = p_sub.add_parser("fields", help="운영자 기재 사항(목적, 책임자, 사람의 관여 …) 양식 만들기")
    fl.add_argument("--init", type=Path, required=True, metavar="FILE.yaml", help="양식을 쓸 파일")
    fl.add_argument("--force", action="store_true", help="있는 파일을 덮어씀")
    fl.set_defaults(handler=cmd_fields)


def cmd_report(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from assistant.usage import parse_when
    from configs.settings import load_settings
    from evals.assessment.facts import default_period, find_assistant, gather
    from evals.assessment.html import write_report
    from evals.assessment.model import Period

    try:
        since = parse_when(args.since) if args.since else None
        until = parse_when(args.until, end_of_day=True) if args.until else None
    except ValueError as e:
        raise CliUsageError(f"날짜/시각 형식이 아닙니다 (예: 2026-12-01, 2026-12-01T09:00+09:00): {e}") from e
    settings = load_settings()
    now = datetime.now(UTC)
    period = default_period(until or now, settings.assess.period_days)
    period = Period(since=since or period.since, until=until or period.until)
    if period.since >= period.until:
        raise CliUsageError("--since가 --until보다 앞이어야 합니다")
    assistant = None
    if args.assistant:
        assistant = find_assistant(settings, args.assistant)
        if assistant is None:
            raise CliUsageError(f"도우미 '{args.assistant}'가 없습니다 (nuri assistants list)")
    if args.fields is not None and not args.fields.is_file():
        raise CliUsageError(
            f"운영자 기재 사항 파일이 없습니다: {args.fields} (nuri assess fields --init {args.fields})"
        )
    report = gather(settings, period, assistant, args.fields, now=now)
    out = args.out or settings.resolve(settings.assess.out_dir)
    try:
        html_path, json_path = write_report(report, out)
    except OSError as e:
        raise CommandError(f"결과를 쓸 수 없습니다 ({out}): {e.strerror or e}") from e
    print(f"영향평가 근거 자료: {html_path}, {json_path}")
    if report.missing:
        print(f"누락·확인 필요 항목 {len(report.missing)}개:", file=sys.stderr)
        for m in report.missing:
            print(f"  - {m.item}" + (f" ({m.detail})" if m.detail else ""), file=sys.stderr)
    return 0


def cmd_fields(args: argparse.Namespace) -> int:
    from evals.assessment.fields import write_template

    try:
        path = write_template(args.init, overwrite=args.force)
    except OSError as e:
        raise CommandError(f"양식을 쓸 수 없습니다 ({args.init}): {e.strerror or e}") from e
    print(f"운영자 기재 사항 양식을 썼습니다: {path} — 채운 뒤 nuri assess report --fields {path}")
    return 0
