"""``nuri keys`` and ``nuri audit``: API keys and the audit trail, for operators on the server.

    nuri keys create --agency A --clearance public|internal|restricted --role R [--role R2] [--label L]
    nuri keys list [--json] [--active]
    nuri keys revoke KEY_ID
    nuri audit verify [--json] [--checkpoints FILE]
    nuri audit export [--since T] [--until T] [--format jsonl|csv] [--output FILE]
    nuri audit prune [--days N]
    nuri audit seal
    nuri audit checkpoint [--file FILE]
    nuri usage [--since T] [--until T] [--by agency|key|model|endpoint|day ...] [--json]   (assistant.usage)

``audit verify``, ``prune``, ``seal`` and ``checkpoint`` need ``audit.chain_key``
(``NURI_AUDIT__CHAIN_KEY``) where the trail is keyed: without it ``verify`` reports the keyed
records as unverifiable (exit 1). ``checkpoint`` appends the signed chain head to the
append-only file ``audit.checkpoint_file`` (or ``--file``), on a schedule; ``verify`` checks the
trail against that file (or ``--checkpoints``): records deleted with the head moved back show
there, not in the database.

``keys create`` prints the new key on the last line of stdout, once: it is stored only as a
hash. Plugged into ``nuri`` through the ``nuri.commands`` entry point (the stores live in
``guardrails``, which may not read the configuration root; this module does).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.cli_errors import CliUsageError, CommandError
from assistant.usage import register as register_usage
from connectors.types import CLEARANCES, ROLES

if TYPE_CHECKING:
    from guardrails.audit import AuditStore
    from guardrails.keys import KeyStore
    from guardrails.settings import AuditSettings


def register(sub: argparse._SubParsersAction) -> None:
    keys = sub.add_parser("keys", help="API 키 관리 (발급, 목록, 폐기)")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True, parser_class=type(keys))

    create = keys_sub.add_parser("create", help="API 키 발급: 키는 마지막 줄에 한 번만 표시됩니다")
    create.add_argument("--agency", required=True, help="기관 (이 기관의 문서를 열람)")
    create.add_argument("--clearance", required=True, choices=list(CLEARANCES), help="열람 등급")
    create.add_argument("--role", action="append", required=True, choices=list(ROLES), help="역할 (여러 번 가능)")
    create.add_argument("--label", default="", help="용도 메모")
    create.set_defaults(handler=cmd_keys_create)

    ls = keys_sub.add_parser("list", help="API 키 목록 (비밀값·해시는 표시하지 않음)")
    ls.add_argument("--json", action="store_true")
    ls.add_argument("--active", action="store_true", help="폐기되지 않은 키만")
    ls.set_defaults(handler=cmd_keys_list)

    rv = keys_sub.add_parser("revoke", help="API 키 폐기")
    rv.add_argument("key_id", metavar="KEY_ID")
    rv.set_defaults(handler=cmd_keys_revoke)

    audit = sub.add_parser("audit", help="감사 기록 (무결성 검사, 내보내기, 보존 기간 적용)")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True, parser_class=type(audit))

    vf = audit_sub.add_parser("verify", help="해시 체인 검사: 변경·삭제·삽입된 기록의 위치")
    vf.add_argument("--json", action="store_true")
    vf.add_argument(
        "--checkpoints", type=Path, metavar="FILE",
        help="이 체크포인트 파일과 대조 (기본: audit.checkpoint_file): 삭제 후 되돌린 체인 끝, 바뀐 기록, 위조된 줄",
    )  # fmt: skip
    vf.set_defaults(handler=cmd_audit_verify)

    ex = audit_sub.add_parser("export", help="감사 기록 내보내기 (JSONL 또는 CSV)")
    ex.add_argument("--since", help="이 시각부터 (ISO 8601, 예: 2026-12-01; 시간대가 없으면 UTC)")
    ex.add_argument("--until", help="이 시각 전까지 (날짜만 쓰면 그 날 포함)")
    ex.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    ex.add_argument("--output", type=Path, help="파일 (기본: 표준 출력)")
    ex.set_defaults(handler=cmd_audit_export)

    pr = audit_sub.add_parser("prune", help="보존 기간(audit.retention_days)이 지난 기록 삭제 (체크포인트 남김)")
    pr.add_argument("--days", type=int, help="설정 대신 이 보존 기간(일)")
    pr.set_defaults(handler=cmd_audit_prune)

    sl = audit_sub.add_parser(
        "seal",
        help="감사 체인 키(audit.chain_key)를 처음 설정했을 때 한 번: 기존 평문 체인을 검사한 뒤 키 서명 체인으로 전환",
    )
    sl.set_defaults(handler=cmd_audit_seal)

    cp = audit_sub.add_parser(
        "checkpoint",
        help="체인 끝(seq, 해시)을 키로 서명해 추가 전용 체크포인트 파일에 한 줄 덧붙임 (주기적으로 실행)",
    )
    cp.add_argument("--file", type=Path, metavar="FILE", help="체크포인트 파일 (기본: audit.checkpoint_file)")
    cp.set_defaults(handler=cmd_audit_checkpoint)

    register_usage(sub)  # nuri usage: counted from the audit trail


def _key_store() -> KeyStore:
    from configs.settings import load_settings
    from guardrails.keys import KeyStore

    settings = load_settings()
    return KeyStore.from_settings(settings.keys, settings.resolve(settings.data_dir), settings.home)


def _audit_store() -> tuple[AuditStore, AuditSettings]:
    from configs.settings import load_settings
    from guardrails.audit import AuditStore

    settings = load_settings()
    store = AuditStore.from_settings(settings.audit, settings.resolve(settings.data_dir), settings.home)
    return store, settings.audit


def cmd_keys_create(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    with _key_store() as store:
        try:
            record, key = store.create(args.agency, args.clearance, set(args.role), args.label)
        except ValidationError as e:
            first = e.errors()[0]
            raise CliUsageError(f"{'.'.join(str(x) for x in first.get('loc', ()))}: {first.get('msg')}") from e
    print(f"API 키 발급: id {record.key_id} · 기관 {record.agency} · 등급 {record.clearance} · "
          f"역할 {','.join(sorted(record.roles))}{f' · {record.label}' if record.label else ''}")  # fmt: skip
    print("아래 키는 다시 볼 수 없습니다. 안전한 곳에 보관하세요 (Authorization: Bearer <키>).")
    print(key)
    return 0


def cmd_keys_list(args: argparse.Namespace) -> int:
    with _key_store() as store:
        records = store.list(include_revoked=not args.active)
    if args.json:
        print(json.dumps([r.model_dump(mode="json") for r in records], ensure_ascii=False, indent=2))
        return 0
    if not records:
        print("API 키가 없습니다 (nuri keys create)")
        return 0
    print("| id | agency | clearance | roles | label | created | last used | status |")
    print("|---" * 8 + "|")
    for r in records:
        used = r.last_used_at.strftime("%Y-%m-%d %H:%M") if r.last_used_at else "-"
        status = "사용 중" if r.active else f"폐기 {r.revoked_at:%Y-%m-%d %H:%M}"
        print(f"| {r.key_id} | {r.agency} | {r.clearance} | {','.join(sorted(r.roles))} | {r.label or '-'} | "
              f"{r.created_at:%Y-%m-%d %H:%M} | {used} | {status} |")  # fmt: skip
    return 0


def cmd_keys_revoke(args: argparse.Namespace) -> int:
    from guardrails.keys import key_id_of

    key_id = key_id_of(args.key_id) or args.key_id
    if key_id != args.key_id:  # never echo a full key back
        raise CliUsageError("키 전체가 아니라 키 ID를 주세요 (nuri keys list); 그 키는 노출되었을 수 있으니 폐기하세요")
    with _key_store() as store:
        before = store.get(key_id)
        record = store.revoke(key_id)
    if before is not None and not before.active:
        print(f"이미 폐기된 키입니다: {key_id} (폐기 {record.revoked_at:%Y-%m-%d %H:%M} UTC)")
    else:
        print(f"API 키 폐기: {key_id} · 기관 {record.agency}")
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    store, _ = _audit_store()
    with store:
        report = store.verify(checkpoints=args.checkpoints)
    if args.json:
        print(report.model_dump_json(indent=2))
        return 0 if report.ok else 1
    if report.ok:
        keyed = f" (키 서명 체인: seq {report.keyed_from_seq}부터)" if report.keyed_from_seq else ""
        print(f"감사 기록 {report.records}건 무결성 확인{keyed}")
        if report.head_seq:
            pruned = f", seq {report.checkpoint_seq}까지는 보존 기간으로 삭제됨" if report.checkpoint_seq else ""
            print(f"체인 끝: seq {report.head_seq}, 해시 {report.head_hash}{pruned}")
        if report.checkpoint_file:
            print(f"체크포인트 {report.checkpoints}줄 대조 (서명 확인 {report.checkpoints_signed}줄, 마지막 seq "
                  f"{report.last_checkpoint_seq}): {report.checkpoint_file} / {report.checkpoints} head checkpoints "
                  "match")  # fmt: skip
        return 0
    if all(issue.kind == "unverifiable" for issue in report.issues):
        print(f"감사 기록을 검사할 수 없습니다: 키 서명 기록 {report.unverifiable}건 (검사한 기록 {report.records}건). "
              "audit.chain_key (NURI_AUDIT__CHAIN_KEY) 없이는 확인되지 않습니다 / cannot verify the keyed audit "
              "records without the chain key", file=sys.stderr)  # fmt: skip
        for issue in report.issues:
            print(f"  {issue.line()}", file=sys.stderr)
        return 1
    print(f"감사 기록 무결성 오류 {len(report.issues)}건 (검사한 기록 {report.records}건):", file=sys.stderr)
    for issue in report.issues:
        print(f"  {issue.line()}", file=sys.stderr)
    return 1


def parse_time(value: str, flag: str, end_of_day: bool = False) -> datetime:
    """ISO 8601 date or date-time; without a time zone, UTC. A bare date with ``end_of_day``
    is the next midnight (so ``--until 2026-12-31`` includes that day)."""
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime.combine(day + timedelta(days=1 if end_of_day else 0), time(), tzinfo=UTC)
        parsed = datetime.fromisoformat(value)
    except ValueError as e:
        raise CliUsageError(
            f"{flag} {value}: 날짜/시각 형식이 아닙니다 (예: 2026-12-01, 2026-12-01T09:00+09:00)"
        ) from e
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def cmd_audit_export(args: argparse.Namespace) -> int:
    since = parse_time(args.since, "--since") if args.since else None
    until = parse_time(args.until, "--until", end_of_day=True) if args.until else None
    if since and until and since >= until:
        raise CliUsageError("--since가 --until보다 앞이어야 합니다")
    store, _ = _audit_store()
    with store:
        try:
            if args.output is None:
                n = store.export(since, until, args.format, sys.stdout)
                print(f"감사 기록 {n}건 내보냄", file=sys.stderr)
                return 0
            args.output.parent.mkdir(parents=True, exist_ok=True)
            with args.output.open("w", encoding="utf-8", newline="") as out:
                n = store.export(since, until, args.format, out)
        except OSError as e:
            raise CommandError(f"파일을 쓸 수 없습니다 ({args.output}): {e}") from e
    print(f"감사 기록 {n}건을 {args.output}에 내보냈습니다 ({args.format})")
    return 0


def cmd_audit_prune(args: argparse.Namespace) -> int:
    if args.days is not None and args.days < 0:
        raise CliUsageError("--days는 0 이상이어야 합니다 (0 = 영구 보관)")
    store, audit = _audit_store()
    days = audit.retention_days if args.days is None else args.days
    with store:  # records that do not verify are kept: AuditIntegrityError, exit 1
        report = store.apply_retention(days, actor="cli")
    if report is None:
        print("보존 기간이 0(영구 보관)이라 삭제하지 않았습니다 (audit.retention_days)")
    elif report.deleted == 0:
        print(f"보존 기간 {days}일: 삭제할 기록이 없습니다")
    else:
        print(f"보존 기간 {days}일: 기록 {report.deleted}건 삭제 (seq {report.first_seq}–{report.last_seq}), "
              f"체크포인트 seq {report.last_seq} 저장")  # fmt: skip
    return 0


def cmd_audit_seal(args: argparse.Namespace) -> int:
    store, _ = _audit_store()
    with store:  # a trail that does not verify is not sealed: AuditIntegrityError, exit 1
        record = store.seal(actor="cli")
    if record is None:
        print("봉인할 평문 체인이 없습니다 (비어 있거나 이미 키 서명 체인입니다)")
        return 0
    print(f"감사 기록 체인을 키 서명 체인으로 전환했습니다: seq {record.seq}부터 HMAC-SHA256 "
          f"(seq {record.seq - 1}까지는 평문 SHA-256, 봉인 기록이 그 끝을 보증)")  # fmt: skip
    return 0


def cmd_audit_checkpoint(args: argparse.Namespace) -> int:
    store, _ = _audit_store()
    with store:
        if args.file is None and store.checkpoint_file is None:
            raise CliUsageError(
                "체크포인트 파일이 지정되지 않았습니다: audit.checkpoint_file (NURI_AUDIT__CHECKPOINT_FILE)를 설정하거나 "
                "--file FILE을 주세요 / no checkpoint file: set audit.checkpoint_file (NURI_AUDIT__CHECKPOINT_FILE) "
                "or pass --file FILE"
            )
        # a head that does not verify is not vouched for: AuditIntegrityError, exit 1
        checkpoint = store.write_checkpoint(args.file)
        target = args.file or store.checkpoint_file
    signed = "HMAC-SHA256 서명" if checkpoint.mac else "서명 없음 (audit.chain_key 없음: 참고용)"
    print(f"체크포인트 기록: seq {checkpoint.seq}, 해시 {checkpoint.hash}, {signed} → {target}")
    return 0
