"""``nuri eval items``: eval items drafted from users' negative feedback, then reviewed.

    nuri eval items from-feedback [--since ISO] [--until ISO] [--agency A] --out FILE.jsonl
    nuri eval items review FILE.jsonl --suite-out SUITE.jsonl

``from-feedback`` reads the feedback store and the audit trail of this server's configuration
(``keys.url``, ``audit.url``); ``review`` asks item by item in the terminal (see
:mod:`evals.feedback_items`). The parser is built for every ``nuri`` command: nothing heavy is
imported until a command runs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from assistant.cli_errors import CliUsageError, CommandError


def register(ev_sub: argparse._SubParsersAction) -> None:
    """``items`` under ``nuri eval``."""
    items = ev_sub.add_parser("items", help="사용자 피드백에서 평가 문항 만들기 (초안 작성, 검토)")
    items_sub = items.add_subparsers(dest="items_command", required=True, parser_class=type(items))

    draft = items_sub.add_parser("from-feedback", help="'나쁨' 피드백마다 평가 문항 초안 (JSONL)")
    draft.add_argument("--since", metavar="ISO", help="이때부터의 피드백 (예: 2025-01-01, UTC)")
    draft.add_argument("--until", metavar="ISO", help="이때 전까지의 피드백")
    draft.add_argument("--agency", help="이 기관의 피드백만")
    draft.add_argument("--out", type=Path, required=True, metavar="FILE.jsonl", help="초안 파일")
    draft.set_defaults(handler=cmd_from_feedback)

    rev = items_sub.add_parser("review", help="초안을 하나씩 검토: a 수락, e 수정, d 버림, s 건너뜀, q 종료")
    rev.add_argument("file", type=Path, metavar="FILE.jsonl", help="from-feedback이 쓴 초안 파일")
    rev.add_argument("--suite-out", type=Path, required=True, metavar="SUITE.jsonl", help="수락한 문항을 덧붙일 파일")
    rev.set_defaults(handler=cmd_review)


def cmd_from_feedback(args: argparse.Namespace) -> int:
    from assistant.feedback import FeedbackStore, pii_masker
    from configs.settings import load_settings
    from evals.feedback_items import draft_items, parse_when, write_drafts
    from guardrails.audit import AuditStore

    try:
        since, until = parse_when(args.since), parse_when(args.until)
    except ValueError as e:
        raise CliUsageError(f"--since/--until은 ISO 8601 날짜·시각입니다 (예: 2025-01-31): {e}") from e
    settings = load_settings()
    data_dir = settings.resolve(settings.data_dir)
    if not settings.audit.enabled:
        raise CommandError("감사 기록이 꺼져 있어 (audit.enabled: false) 피드백한 답변의 질문을 알 수 없습니다")
    with (
        FeedbackStore.from_settings(settings.keys, data_dir, settings.home) as feedback,
        AuditStore.from_settings(settings.audit, data_dir, settings.home) as audit,
    ):
        found = feedback.list(agency=args.agency, rating="down", since=since, until=until)
        drafts, skipped = draft_items(found, audit.record, pii_masker(settings.guardrails.pii))
    write_drafts(args.out, drafts)
    for reason in skipped:
        print(f"건너뜀: {reason}", file=sys.stderr)
    print(f"초안 {len(drafts)}개를 {args.out}에 썼습니다 (건너뜀 {len(skipped)}). "
          f"검토: nuri eval items review {args.out} --suite-out SUITE.jsonl")  # fmt: skip
    return 0


def cmd_review(args: argparse.Namespace) -> int:
    from evals.feedback_items import review

    if not args.file.is_file():
        raise CliUsageError(f"초안 파일이 없습니다: {args.file}")
    try:
        review(args.file, args.suite_out, sys.stdin, sys.stdout)
    except ValueError as e:
        raise CommandError(str(e)) from e
    return 0
