"""Usage per agency, key, model, endpoint, day or agency assistant, counted from the audit trail
(``nuri usage``, ``GET /v1/usage``).

Every search and answer, from the API, the chat, the CLI or the evals, leaves one audit record
(:class:`assistant.exchange.Exchange`), so the trail is the one source: nothing else is counted
on the side. Per group of records (:data:`GROUPS`, several at once):

- ``questions``: records of answer endpoints (an answer record names the model, a search's not);
  ``answers`` those not refused, ``refusals`` those refused (the input guardrails, no passage
  good enough, the answerability check);
- ``guardrail_blocks``: the decisions recorded with them whose action is ``block``;
- ``searches``: records of search endpoints;
- ``tokens_in`` / ``tokens_out``: the model's tokens as its server reported them
  (``AuditEntry.tokens_in``/``tokens_out``; a server that reports none adds nothing), and
  ``answers_with_tokens``, how many answers carried a count.

What the records cannot tell is not guessed: an answer cut off (the caller left, the model failed
mid-stream) is recorded with the text sent so far and counts as an answer; a request refused
before its record (401, 429, invalid input, the trail down) has no record. The trail's own records
(``audit.seal``, ``audit.prune``) are not usage.

    nuri usage [--since ISO] [--until ISO] [--by agency|key|model|endpoint|day|assistant ...] [--json]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Literal, get_args

if TYPE_CHECKING:
    from guardrails.audit import AuditRecord, AuditStore

Group = Literal["agency", "key", "model", "endpoint", "day", "assistant"]
GROUPS: tuple[str, ...] = get_args(Group)
#: Column titles of the table (Korean first).
GROUP_TITLES = {"agency": "기관", "key": "키·사용자", "model": "모델", "endpoint": "엔드포인트", "day": "날짜(UTC)",
                "assistant": "도우미"}  # fmt: skip
COUNT_TITLES = {
    "questions": "질문", "answers": "답변", "refusals": "거절", "guardrail_blocks": "가드레일 차단",
    "searches": "검색", "tokens_in": "입력 토큰", "tokens_out": "출력 토큰",
}  # fmt: skip
_INTERNAL_PREFIX = "audit."  # the trail's own records (seal, prune)


@dataclass(slots=True)
class UsageRow:
    """One group's counts; ``group`` holds the value of each grouping (None: the record had none,
    e.g. a key without an agency, a search's model)."""

    group: dict[str, str | None]
    questions: int = 0
    answers: int = 0
    refusals: int = 0
    guardrail_blocks: int = 0
    searches: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    answers_with_tokens: int = 0

    def add(self, record: AuditRecord) -> None:
        if is_search(record):
            self.searches += 1
            return
        self.questions += 1
        if record.refused:
            self.refusals += 1
        else:
            self.answers += 1
        self.guardrail_blocks += sum(1 for d in record.decisions if d.action == "block")
        if record.tokens_in is not None or record.tokens_out is not None:
            self.answers_with_tokens += 1
        self.tokens_in += record.tokens_in or 0
        self.tokens_out += record.tokens_out or 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class UsageReport:
    since: datetime | None
    until: datetime | None
    by: list[str]
    rows: list[UsageRow] = field(default_factory=list)
    total: UsageRow = field(default_factory=lambda: UsageRow(group={}))
    agency: str | None = None  # the rows were limited to this agency's records

    def as_dict(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "by": self.by,
            "agency": self.agency,
            "rows": [r.as_dict() for r in self.rows],
            "total": self.total.as_dict(),
        }


def is_search(record: AuditRecord) -> bool:
    return record.endpoint.endswith("search")


def is_usage(record: AuditRecord) -> bool:
    """A search or an answer (not one of the trail's own records, nor anything else that may be
    written to it without a model: only answer records name their model)."""
    if record.endpoint.startswith(_INTERNAL_PREFIX):
        return False
    return is_search(record) or record.model is not None


def group_value(record: AuditRecord, group: str) -> str | None:
    if group == "agency":
        return record.agency
    if group == "key":
        return record.principal_id
    if group == "model":
        return record.model
    if group == "endpoint":
        return record.endpoint
    if group == "day":
        return record.ts[:10]
    if group == "assistant":  # the platform's own: "nuri"
        return record.assistant or "nuri"
    raise ValueError(f"unknown grouping: {group}")


def parse_by(values: Iterable[str] | None) -> list[str]:
    """``--by``/``by=`` values, repeated or comma-separated, in the order given, each once."""
    out: list[str] = []
    for value in values or ():
        for part in value.split(","):
            name = part.strip().lower()
            if not name:
                continue
            if name not in GROUPS:
                raise ValueError(f"{name}: 묶을 수 있는 기준은 {', '.join(GROUPS)}입니다")
            if name not in out:
                out.append(name)
    return out


def parse_when(value: str, end_of_day: bool = False) -> datetime:
    """ISO 8601 date or date-time; without a time zone, UTC. A bare date with ``end_of_day`` is
    the next midnight (``--until 2026-12-31`` includes that day). ValueError otherwise."""
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime.combine(day + timedelta(days=1 if end_of_day else 0), time(), tzinfo=UTC)
        parsed = datetime.fromisoformat(value)
    except OverflowError as e:  # the day after 9999-12-31
        raise ValueError(f"{value}: 범위를 벗어난 날짜입니다") from e
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def usage(records: Iterable[AuditRecord], by: Sequence[str], agency: str | None = None) -> UsageReport:
    """Count ``records`` per group of ``by`` (none: one total); ``agency``: only that agency's
    records. Rows are sorted by their group values (None last)."""
    report = UsageReport(since=None, until=None, by=list(by), agency=agency)
    rows: dict[tuple[str | None, ...], UsageRow] = {}
    for record in records:
        if not is_usage(record) or (agency is not None and record.agency != agency):
            continue
        key = tuple(group_value(record, g) for g in by)
        row = rows.get(key)
        if row is None:
            row = rows[key] = UsageRow(group=dict(zip(by, key, strict=True)))
        row.add(record)
        report.total.add(record)
    report.rows = [rows[k] for k in sorted(rows, key=lambda k: tuple((v is None, v or "") for v in k))]
    return report


def usage_from_store(
    store: AuditStore, since: datetime | None, until: datetime | None, by: Sequence[str], agency: str | None = None
) -> UsageReport:
    report = usage(store.records(since, until), by, agency)
    report.since, report.until = since, until
    return report


def table(report: UsageReport) -> str:
    """The report as a Markdown table, Korean headers, with a total line (합계)."""
    by = report.by
    heads = [GROUP_TITLES[g] for g in by] + list(COUNT_TITLES.values())
    lines = ["| " + " | ".join(heads) + " |", "|---" * len(heads) + "|"]

    def line(names: list[str], row: UsageRow) -> str:
        return "| " + " | ".join([*names, *(f"{getattr(row, c):,}" for c in COUNT_TITLES)]) + " |"

    if by:
        lines += [line([row.group.get(g) or "-" for g in by], row) for row in report.rows]
    lines.append(line(["합계", *[""] * (len(by) - 1)] if by else [], report.total))
    return "\n".join(lines)


# -- nuri usage ---------------------------------------------------------------------------
def register(sub: argparse._SubParsersAction) -> None:
    """``nuri usage`` (added to ``nuri`` with the admin commands, :mod:`assistant.admin_cli`)."""
    p = sub.add_parser(
        "usage", help="사용량: 기관·키·모델·엔드포인트·날짜별 질문, 답변, 거절, 검색, 토큰 (감사 기록에서 집계)"
    )
    p.add_argument("--since", help="이 시각부터 (ISO 8601, 예: 2026-12-01; 시간대가 없으면 UTC)")
    p.add_argument("--until", help="이 시각 전까지 (날짜만 쓰면 그 날 포함)")
    p.add_argument(
        "--by", action="append", metavar="|".join(GROUPS),
        help="묶는 기준 (여러 번 또는 쉼표로: --by agency --by model); 없으면 전체 합계",
    )  # fmt: skip
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_usage)


def cmd_usage(args: argparse.Namespace) -> int:
    from assistant.cli_errors import CliUsageError
    from configs.settings import load_settings
    from guardrails.audit import AuditStore

    try:
        since = parse_when(args.since) if args.since else None
        until = parse_when(args.until, end_of_day=True) if args.until else None
    except ValueError as e:
        raise CliUsageError(f"날짜/시각 형식이 아닙니다 (예: 2026-12-01, 2026-12-01T09:00+09:00): {e}") from e
    if since and until and since >= until:
        raise CliUsageError("--since가 --until보다 앞이어야 합니다")
    try:
        by = parse_by(args.by)
    except ValueError as e:
        raise CliUsageError(f"--by {e}") from e
    settings = load_settings()
    with AuditStore.from_settings(settings.audit, settings.resolve(settings.data_dir), settings.home) as store:
        report = usage_from_store(store, since, until, by)
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        return 0
    span = f"{report.since or '처음'} ~ {report.until or '지금'}"
    print(f"사용량 ({span}; 감사 기록 기준, 토큰은 모델 서버가 알려 준 값)")
    if report.total.questions == 0 and report.total.searches == 0:
        print("이 기간의 질문·검색 기록이 없습니다")
        return 0
    print(table(report))
    return 0
