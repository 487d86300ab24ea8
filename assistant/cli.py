"""The ``nuri`` command line.

    nuri ingest PATH... [--index DIR] [--no-prune] [--json] [--shard I/N]
    nuri search "질문" [--top-k N] [--agency X] [--doc-type T] [--as-agency A] [--json] [--index DIR]
    nuri ask "질문" [--json] [--agency X] [--doc-type T] [--as-agency A] [--index DIR]
    nuri serve [--index DIR] [--host H] [--port P]
    nuri llm serve [--engine llamacpp|vllm] [--port P]
    nuri demo
    nuri index create [--dim N] [--json] | nuri index info [--json]   (assistant.index_cli)
    nuri eval run|validate|list|compare|gate|report ...   (from the evals package, see below)

Commands of higher stages (``nuri eval`` from ``evals``) are plugged in through the entry-point
group ``nuri.commands``: each entry is a function ``register(subparsers)`` that adds its parser
and sets ``handler`` on it, so this module never imports them.

Every command imports what it uses when it runs, not when the parser is built: ``nuri --help``
loads no model, database driver or configuration (``benchmarks/cli_startup.py`` measures it).

Errors print one line on stderr (``nuri: 오류: …``) and exit non-zero; never a traceback. Every
deliberate error is a :class:`~connectors.errors.NuriError`; its ``code`` picks the exit status
(:data:`EXIT_STATUS`: 2 wrong usage, 3 a service the command needs is down or answers wrongly: the encoder, the
model, the key store or the audit trail, try again later; 1 otherwise).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from assistant.cli_errors import CliUsageError
from connectors.errors import NuriError
from connectors.types import CLEARANCES

if TYPE_CHECKING:
    from assistant.answers import Answer
    from assistant.callers import Caller
    from configs.settings import Settings
    from retrieval.index import NuriIndex
    from retrieval.types import Hit

log = logging.getLogger("nuri.cli")

COMMAND_GROUP = "nuri.commands"
#: Exit status per error code (any other error, a missing or busy index included: 1, a reason the
#: user can act on): 2 wrong usage, 3 a service the command needs is down (try again later).
EXIT_STATUS = {
    "usage": 2,
    "encoder_unavailable": 3,
    "encoder_error": 3,
    "embedder_mismatch": 3,
    "model_unavailable": 3,
    "state_unavailable": 3,
    "audit_unavailable": 3,
    "eval_history_unavailable": 3,
}
#: How the one line on stderr starts, per error code (any other: ``오류``).
_PREFIX = {"usage": "사용법 오류", "invalid_config": "설정 오류"}


def _plugins(sub: argparse._SubParsersAction) -> None:
    from importlib.metadata import entry_points

    for ep in entry_points(group=COMMAND_GROUP):
        try:
            register = ep.load()
        except ImportError as e:
            log.warning("command plugin not loaded", extra={"plugin": ep.value, "error": str(e)})
            continue
        register(sub)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, no usage dump
        raise CliUsageError(f"{message} (도움말: {self.prog} --help)")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="nuri", description="Nuri: 정부 기관 문서·법령 기반 AI 도우미")
    p.add_argument("-v", "--verbose", action="store_true", help="자세한 로그 (stderr, JSON)")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    ing = sub.add_parser("ingest", help="파일·폴더를 색인 (증분 동기화)")
    ing.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    ing.add_argument("--index", type=Path, help="색인 폴더 (기본: NURI_INDEX_DIR / 설정)")
    ing.add_argument("--no-prune", action="store_true", help="폴더에서 사라진 파일을 색인에서 지우지 않음")
    ing.add_argument("--json", action="store_true", help="요약을 JSON으로 출력")
    ing.add_argument("--quiet", action="store_true", help="진행 막대 숨김")
    ing.add_argument(
        "--shard",
        metavar="I/N",
        help="N개 작업자 중 I번째: 경로 해시로 나눈 이 몫의 파일만 색인·정리 (한 Qdrant 서버에 여러 작업자)",
    )

    se = sub.add_parser("search", help="하이브리드 검색")
    se.add_argument("query")
    se.add_argument("--top-k", type=int, default=None)
    se.add_argument("--agency", help="이 기관(소관부처)의 문서만")
    se.add_argument("--doc-type", help="이 문서 유형만 (예: statute, guideline)")
    se.add_argument("--as-agency", help="이 기관 사용자 권한으로 검색 (기본: 운영자, 전체 열람)")
    se.add_argument("--as-clearance", choices=list(CLEARANCES), default="internal", help="--as-agency의 열람 등급")
    se.add_argument("--json", action="store_true")
    se.add_argument("--index", type=Path)

    ak = sub.add_parser("ask", help="근거 자료를 인용해 질문에 답변")
    ak.add_argument("question")
    ak.add_argument("--agency", help="이 기관(소관부처)의 문서만")
    ak.add_argument("--doc-type", help="이 문서 유형만")
    ak.add_argument("--as-agency", help="이 기관 사용자 권한으로 (기본: 운영자, 전체 열람)")
    ak.add_argument("--as-clearance", choices=list(CLEARANCES), default="internal", help="--as-agency의 열람 등급")
    ak.add_argument("--json", action="store_true", help='{"answer", "citations", "refused"} 출력')
    ak.add_argument("--index", type=Path)

    llm = sub.add_parser("llm", help="모델 서버")
    llm_sub = llm.add_subparsers(dest="llm_command", required=True, parser_class=_Parser)
    ls = llm_sub.add_parser("serve", help="설정된 모델 서버만 실행 (OpenAI 호환)")
    ls.add_argument("--engine", choices=["llamacpp", "vllm"])
    ls.add_argument("--host")
    ls.add_argument("--port", type=int)

    sv = sub.add_parser("serve", help="HTTP API + 채팅 UI 서버 실행 (내장 모델 서버 포함)")
    sv.add_argument("--index", type=Path)
    sv.add_argument("--host")
    sv.add_argument("--port", type=int)

    sub.add_parser("demo", help="샘플 문서를 색인하고 서버 실행 (make demo)")
    register_index(sub)
    _plugins(sub)
    return p


def _settings(args: argparse.Namespace) -> Settings:
    from configs.settings import load_settings

    overrides: dict[str, object] = {}
    if getattr(args, "index", None):
        overrides["index_dir"] = args.index
    return load_settings(**overrides)


def _open_index(settings: Settings, create: bool) -> NuriIndex:
    from retrieval.index import NuriIndex

    return NuriIndex.open(settings.retrieval, settings.resolve(settings.index_dir), create=create)


def cmd_ingest(args: argparse.Namespace) -> int:
    from assistant.sync_log import record_cli_sync
    from retrieval.sync import Shard, Syncer

    settings = _settings(args)
    missing = [p for p in args.paths if not p.exists()]
    if missing:
        raise CliUsageError(f"경로가 없습니다: {missing[0]}")
    try:
        shard = Shard.parse(args.shard) if args.shard else None
    except ValueError as e:
        raise CliUsageError(str(e)) from None
    # writing needs no reranker: an ingest pod has no models volume (deploy/k8s/base/ingest.yaml)
    with _open_index(settings.override(rerank={"enabled": False}), create=True) as index:
        report = Syncer(index, settings.connectors, progress=not args.quiet, shard=shard).sync(
            list(args.paths), prune=not args.no_prune
        )
        total = index.count()
    record_cli_sync(settings, list(args.paths), report)  # GET /v1/sources; originals of these folders may be served
    if args.json:
        print(json.dumps(report.as_dict() | {"chunks_in_index": total}, ensure_ascii=False, indent=2))
    else:
        print(
            f"추가 {report.added} · 갱신 {report.updated} · 변경 없음 {report.unchanged} · "
            f"삭제 {report.removed} · 실패 {len(report.failed)}  "
            f"(청크 {report.chunks_written}개 기록, 색인 총 {total}개, {report.seconds:.1f}초)"
        )
        for path, reason in report.failed:
            print(f"  실패: {path}: {reason}")
    return 1 if report.failed else 0


def _print_hits(hits: list[Hit], as_json: bool) -> None:
    if as_json:
        print(json.dumps([h.model_dump() for h in hits], ensure_ascii=False, indent=2))
        return
    if not hits:
        print("검색 결과가 없습니다.")
    for h in hits:
        snippet = " ".join(h.text.split())[:160]
        print(f"{h.rank}. [{h.score:.4f}] {h.anchor}  ({h.title})\n   {snippet}\n   {h.source}")


def _cli_caller(args: argparse.Namespace) -> Caller:
    """The operator (reads everything), or a user of ``--as-agency`` with ``--as-clearance``."""
    from assistant.callers import Caller, operator_caller
    from retrieval.types import Principal

    me = operator_caller()
    if not args.as_agency:
        return me
    return Caller(Principal(agency=args.as_agency, clearance=args.as_clearance), frozenset({"user"}), me.subject)


def cmd_search(args: argparse.Namespace) -> int:
    from retrieval.types import SearchFilters

    settings = _settings(args)
    filters = SearchFilters(agency=args.agency, doc_type=args.doc_type)
    principal = _cli_caller(args).principal
    with _open_index(settings, create=False) as index:
        hits = index.search(args.query, top_k=args.top_k, filters=filters, principal=principal)
    _print_hits(hits, args.json)
    return 0


def _print_answer(answer: Answer, as_json: bool) -> None:
    if as_json:
        print(json.dumps(answer.model_dump(), ensure_ascii=False, indent=2))
        return
    print(answer.answer)
    if answer.refused:
        print("\n(근거 자료를 찾지 못해 답변하지 않았습니다)")
    if answer.citations:
        print("\n근거:")
        for c in answer.citations:
            print(f"  [{c.n}] {c.anchor} ({c.title}) — {c.source}")


def cmd_ask(args: argparse.Namespace) -> int:
    """The answer is printed only once it is in the audit trail (a trail that cannot take it:
    exit 3, no answer)."""
    from assistant.service import NuriService
    from retrieval.types import SearchFilters

    settings = _settings(args)
    filters = SearchFilters(agency=args.agency, doc_type=args.doc_type)
    with NuriService(settings) as service:
        answer = service.ask(args.question, filters=filters, caller=_cli_caller(args))
    _print_answer(answer, args.json)
    return 0


def cmd_llm(args: argparse.Namespace) -> int:
    from assistant.modelserver.server import ModelServer

    chosen = {"engine": args.engine, "host": args.host, "port": args.port}
    settings = _settings(args).override(model_server={k: v for k, v in chosen.items() if v is not None})
    server = ModelServer(settings.model_server, settings.llm, settings.resolve)
    with server:
        print(
            f"모델 서버({settings.model_server.engine}) 준비됨: {server.base_url}  모델: {settings.llm.model}",
            flush=True,
        )
        code = server.wait()
    return 0 if code in (0, -15) else 1


def cmd_serve(args: argparse.Namespace) -> int:
    from assistant.http.server import serve

    chosen = {"host": args.host, "port": args.port}
    serve(_settings(args).override(api={k: v for k, v in chosen.items() if v is not None}))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from assistant.http.server import serve
    from retrieval.sync import Syncer

    settings = _settings(args)
    corpus = settings.resolve(settings.sample_corpus)
    print(f"샘플 문서 색인 중: {corpus} -> {settings.resolve(settings.index_dir)}", file=sys.stderr)
    with _open_index(settings, create=True) as index:
        report = Syncer(index, settings.connectors).sync([corpus])
    print(
        f"색인 완료: 추가 {report.added} · 갱신 {report.updated} · 변경 없음 {report.unchanged} · "
        f"삭제 {report.removed} · 실패 {len(report.failed)}",
        file=sys.stderr,
    )
    serve(settings, with_demo_key=True)
    return 0


COMMANDS = {
    "ingest": cmd_ingest,
    "search": cmd_search,
    "ask": cmd_ask,
    "llm": cmd_llm,
    "serve": cmd_serve,
    "demo": cmd_demo,
}


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
    except CliUsageError as e:
        return _fail(e)
    # Without -v only errors are logged: the one-line message on stderr is the user's answer.
    from configs.logs import setup_logging

    setup_logging("ERROR", json_format=True)
    try:
        if args.verbose:
            log_settings = _settings(argparse.Namespace()).logging
            setup_logging(log_settings.level, log_settings.json_format)
        handler = getattr(args, "handler", None) or COMMANDS[args.command]
        return int(handler(args))
    except NuriError as e:
        return _fail(e)
    except FileNotFoundError as e:
        print(f"nuri: 오류: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("nuri: 중단됨", file=sys.stderr)
        return 130
    except Exception as e:
        log.exception("unexpected error")
        print(f"nuri: 예기치 못한 오류: {type(e).__name__}: {e}", file=sys.stderr)
        return 1


def _fail(e: NuriError) -> int:
    """One line on stderr for ``e``, and the exit status of its code."""
    message = " ".join(str(e).split())  # one line, whatever the message holds
    print(f"nuri: {_PREFIX.get(e.code, '오류')}: {message}", file=sys.stderr)
    return EXIT_STATUS.get(e.code, 1)


def register_index(sub: argparse._SubParsersAction) -> None:
    """``nuri index`` (:mod:`assistant.index_cli`, imported when its parser is added)."""
    from assistant.index_cli import register

    register(sub)


if __name__ == "__main__":
    sys.exit(main())
