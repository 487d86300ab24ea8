"""``nuri eval``: run suites, validate datasets, list, compare and gate runs.

    nuri eval run SUITE... [--profile P] [--index DIR] [--no-sync] [--out DIR] [--limit N]
                           [--as-agency A --as-clearance C | --as-operator]
                           [--url URL --key KEY] [--retrieval-only] [--no-history] [--quiet]
    nuri eval validate FILE... [--format eval|injection]
    nuri eval list [--suite S] [--limit N] [--json]
    nuri eval compare RUN_A RUN_B [--json]      (a run id, or a run folder / results.json)
    nuri eval gate [RUN] --min METRIC=VALUE ... [--max METRIC=VALUE ...] [--results FILE]
    nuri eval report RUN [--out FILE]

SUITE is a bundled suite (``sample``, ``safety``, ``statute``, ``statute-colloquial``, ``statute-refusal``), a suite
``.yaml`` or a ``.jsonl`` dataset. RUN is a run id, a unique prefix of one, ``latest`` or
``latest:SUITE``. Plugged into ``nuri`` through the ``nuri.commands`` entry point.

A run's results and report hold questions, answers and the passages it retrieved and cited, so a
run in this process asks with a chosen principal: ``--as-agency A --as-clearance C`` (what a key of
agency A at clearance C may read), the public principal (no agency, ``public``) when none is
given, and every document of the index only with ``--as-operator``. A run against a server
(``--url``) reads with its API key's principal. The run records who ran it (``cli:<OS user>``)
and that principal; the UI's 평가 tab shows an evaluator only the runs of their own agency.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.cli_errors import CliUsageError, CommandError

if TYPE_CHECKING:
    from assistant.callers import Caller
    from configs.settings import Settings
    from evals.history import History
    from evals.results import RunResult


def register(sub: argparse._SubParsersAction) -> None:
    ev = sub.add_parser("eval", help="정확도·안전성 평가 (평가 묶음 실행, 비교, 기준 검사)")
    ev_sub = ev.add_subparsers(dest="eval_command", required=True, parser_class=type(ev))

    run = ev_sub.add_parser("run", help="평가 묶음 실행: results.json + report.html, 기록 저장")
    run.add_argument("suites", nargs="+", metavar="SUITE", help=f"내장: {', '.join(_bundled_suites())}, 또는 파일")
    run.add_argument("--profile", help="설정 프로필 (NURI_PROFILE), 예: default, qwen")
    run.add_argument("--index", type=Path, help="이 색인으로 평가 (기본: eval.index_root/<묶음>)")
    run.add_argument("--no-sync", action="store_true", help="색인에 말뭉치를 동기화하지 않고 그대로 사용")
    run.add_argument("--out", type=Path, help="결과 폴더 (기본: eval.out_dir/<run_id>)")
    run.add_argument("--limit", type=int, help="데이터셋마다 N문항만, 범주별로 고르게 (빠른 확인)")
    who = run.add_argument_group("열람 권한 (이 프로세스에서 실행할 때; 기본: 공개 문서만)")
    who.add_argument("--as-agency", metavar="AGENCY", help="이 기관의 권한으로 질문 (--as-clearance와 함께)")
    who.add_argument(
        "--as-clearance", choices=list(CLEARANCES), help="열람 등급 (internal·restricted는 --as-agency 필요)"
    )
    who.add_argument("--as-operator", action="store_true",
                     help="운영자 권한: 모든 기관의 모든 문서 (보고서에 제한 문서가 담길 수 있음)")  # fmt: skip
    run.add_argument("--url", help="실행 중인 Nuri 서버 주소 (없으면 이 프로세스에서 실행)")
    run.add_argument("--key", help="서버 API 키 (Authorization: Bearer)")
    run.add_argument("--assistant", metavar="ID", help="이 기관 도우미로 평가 (범위·지침·모델; 기록에 도우미가 남음)")
    run.add_argument("--retrieval-only", action="store_true", help="검색만 평가 (모델 없이: recall@5, mrr, ndcg@5)")
    run.add_argument("--no-history", action="store_true", help="평가 기록 저장소에 남기지 않음")
    run.add_argument("--quiet", action="store_true", help="진행 막대 숨김")
    run.set_defaults(handler=cmd_run)

    val = ev_sub.add_parser("validate", help="데이터셋 JSONL 검사 (잘못된 줄 번호와 이유)")
    val.add_argument("files", nargs="+", type=Path, metavar="FILE")
    val.add_argument("--format", choices=["eval", "injection"], default="eval")
    val.set_defaults(handler=cmd_validate)

    ls = ev_sub.add_parser("list", help="평가 기록 (최신순)")
    ls.add_argument("--suite")
    ls.add_argument("--assistant", metavar="ID", help="이 기관 도우미의 평가만")
    ls.add_argument("--limit", type=int, default=20)
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(handler=cmd_list)

    cmp = ev_sub.add_parser("compare", help="두 실행 비교 (지표별 차이와 부트스트랩 신뢰구간)")
    cmp.add_argument("run_a", help="실행 ID, 또는 실행 폴더 / results.json")
    cmp.add_argument("run_b", help="실행 ID, 또는 실행 폴더 / results.json")
    cmp.add_argument("--json", action="store_true")
    cmp.set_defaults(handler=cmd_compare)

    gate = ev_sub.add_parser("gate", help="기준 미달이면 실패 (CI용): --min recall@5=0.8 --max false_refusal_rate=0.1")
    gate.add_argument("run", nargs="?", default="latest")
    gate.add_argument("--min", action="append", default=[], metavar="METRIC=VALUE")
    gate.add_argument("--max", action="append", default=[], metavar="METRIC=VALUE")
    gate.add_argument("--results", type=Path, help="기록 대신 이 results.json을 검사")
    gate.set_defaults(handler=cmd_gate)

    rep = ev_sub.add_parser("report", help="기록된 실행의 report.html 생성")
    rep.add_argument("run")
    rep.add_argument("--out", type=Path)
    rep.set_defaults(handler=cmd_report)

    from evals.items_cli import register as register_items

    register_items(ev_sub)  # nuri eval items from-feedback|review

    from evals.generate_cli import register as register_generate

    register_generate(ev_sub)  # nuri eval generate|review


#: The clearances ``--as-clearance`` takes (retrieval.types.CLEARANCE_RANK, not imported: the
#: parser is built for every ``nuri`` command).
CLEARANCES = ("public", "internal", "restricted")


def run_caller(args: argparse.Namespace) -> Caller:
    """Who a run in this process asks as (see the module docstring); raises CliUsageError for a
    combination that does not name one principal."""
    from assistant.callers import operator_caller, scoped_caller

    agency = (args.as_agency or "").strip() or None
    if args.as_operator:
        if agency or args.as_clearance:
            raise CliUsageError("--as-operator는 --as-agency·--as-clearance와 함께 쓸 수 없습니다")
        return operator_caller()
    if agency and not args.as_clearance:
        raise CliUsageError("--as-agency에는 --as-clearance(public|internal|restricted)를 함께 지정하세요")
    if args.as_clearance in ("internal", "restricted") and not agency:
        raise CliUsageError(
            f"--as-clearance {args.as_clearance}에는 --as-agency가 필요합니다 (기관 없이는 공개 문서만)"
        )
    return scoped_caller(agency, args.as_clearance or "public")


def _bundled_suites() -> list[str]:
    """The bundled suites' names (as :func:`evals.suites.bundled_suites`, without importing it:
    the parser is built for every ``nuri`` command)."""
    return sorted(p.name[: -len(".yaml")] for p in resources.files("evals").joinpath("suites").iterdir()
                  if p.name.endswith(".yaml"))  # fmt: skip


def _settings(profile: str | None = None) -> Settings:
    from configs.settings import load_settings

    if profile:
        os.environ["NURI_PROFILE"] = profile
    return load_settings()


def _history(settings: Settings) -> History:
    from evals.history import History

    return History.from_settings(settings)


def _fmt(name: str, value: float | None) -> str:
    from evals.results import METRIC_BY_NAME

    if value is None:
        return "측정 안 함"
    return f"{value:.0f}" if METRIC_BY_NAME[name].unit == "ms" else f"{value:.3f}"


def print_summary(result: RunResult, out_dir: Path | None) -> None:
    from evals.results import METRICS

    print(
        f"\n## {result.suite} — {result.run_id}  ({result.dataset.items}문항, {result.wall_s:.0f}초, 모델 {result.model})"
    )
    print(f"실행: {result.ran_by} · 열람 권한: {result.principal.label()}")
    print("| metric | value |\n|---|---|")
    for spec in METRICS:
        value = result.metrics.get(spec.name)
        shown = _fmt(spec.name, value) if value is not None else result.notes.get(spec.name, "측정 안 함")
        print(f"| {spec.name} | {shown} |")
    if "skipped" in result.notes:
        print(result.notes["skipped"])
    if out_dir is not None:
        print(f"결과: {out_dir / 'results.json'}  보고서: {out_dir / 'report.html'}")


def write_outputs(result: RunResult, out_dir: Path) -> None:
    from evals.report import write_report

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(result.model_dump_json(indent=2), encoding="utf-8")
    write_report(result, out_dir / "report.html")


def cmd_run(args: argparse.Namespace) -> int:
    from assistant.assistants import AssistantNotFoundError
    from assistant.service import NuriService
    from evals.history import HistoryError
    from evals.runner import prepare_index, run_suite
    from evals.suites import load_suite
    from evals.targets import HttpTarget, InProcessTarget, Target

    if args.key and not args.url:
        raise CliUsageError("--key는 --url과 함께 씁니다")
    if args.url and (args.as_agency or args.as_clearance or args.as_operator):
        raise CliUsageError("--url 평가는 서버 API 키(--key)의 권한으로 실행됩니다: --as-* 옵션은 쓸 수 없습니다")
    caller = run_caller(args)  # (unused with --url: the server's key decides)
    if args.limit is not None and args.limit <= 0:
        raise CliUsageError("--limit은 1 이상이어야 합니다")
    settings = _settings(args.profile)
    suites = [load_suite(ref, settings, limit=args.limit, need_corpus=not args.url) for ref in args.suites]
    history = None if args.no_history else _history(settings)
    answers = not args.retrieval_only
    for suite in suites:
        target: Target
        if args.url:
            http = HttpTarget(args.url, args.key, assistant=args.assistant)
            try:
                result = run_suite(suite, http, settings, progress=not args.quiet, answers=answers)
            finally:
                http.close()
        else:
            if args.index is None and not suite.corpus:
                raise CliUsageError(f"'{suite.name}'에는 말뭉치 정의가 없습니다: --index로 색인을 지정하세요")
            index_dir = args.index or settings.resolve(settings.eval.index_root) / suite.name
            prepare_index(suite, settings, index_dir, sync=not args.no_sync, progress=not args.quiet)
            run_settings = settings.override(index_dir=str(index_dir))
            with NuriService(run_settings, start_model=answers) as service:
                try:
                    target = InProcessTarget(service, caller, args.assistant)
                except AssistantNotFoundError as e:
                    raise CliUsageError(f"{e} (목록: nuri assistants list)") from e
                result = run_suite(
                    suite, target, run_settings, index_dir=index_dir, progress=not args.quiet, answers=answers
                )
        out_dir = args.out / result.run_id if args.out and len(suites) > 1 else args.out
        out_dir = out_dir or settings.resolve(settings.eval.out_dir) / result.run_id
        write_outputs(result, out_dir)
        if history is not None:
            try:
                history.add(result)
            except HistoryError as e:
                raise CommandError(f"{e} (결과 파일은 {out_dir}에 있습니다)") from e
        print_summary(result, out_dir)
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from evals.schema import DatasetError, LineError, validate_lines
    from evals.suites import injection_items

    bad = 0
    for path in args.files:
        try:
            if args.format == "injection":
                items = injection_items(path)
                errors: list[LineError] = []
            else:
                items, errors = validate_lines(path.read_text(encoding="utf-8").splitlines())
        except DatasetError as e:
            items, errors = [], e.errors
        except UnicodeDecodeError as e:
            items, errors = [], []
            print(f"{path}: UTF-8이 아닙니다 (바이트 {e.start})")
            bad += 1
            continue
        for err in errors:
            print(f"{path}:{err.line}: {err.message}")
        bad += len(errors)
        if not errors:
            expected: dict[str, int] = {}
            for it in items:
                expected[it.expected] = expected.get(it.expected, 0) + 1
            counts = ", ".join(f"{k} {v}" for k, v in sorted(expected.items()))
            print(f"{path}: 정상 — {len(items)}문항 ({counts})")
    return 1 if bad else 0


def cmd_list(args: argparse.Namespace) -> int:
    rows = _history(_settings()).list_runs(suite=args.suite, limit=args.limit, assistant=args.assistant)
    if args.json:
        print(json.dumps([r.model_dump() for r in rows], ensure_ascii=False, indent=2))
        return 0
    if not rows:
        print("평가 기록이 없습니다 (nuri eval run SUITE)")
        return 0
    shown = ["recall@5", "citation_precision", "groundedness", "answer_f1", "false_refusal_rate", "latency_p95_ms"]
    print("| run | suite | assistant | started | model | commit | items | ran by | principal | "
          + " | ".join(shown) + " |")  # fmt: skip
    print("|---" * (9 + len(shown)) + "|")
    for r in rows:
        values = " | ".join(_fmt(m, r.metrics.get(m)) for m in shown)
        print(f"| {r.run_id} | {r.suite} | {r.assistant or 'nuri'} | {r.started_at} | {r.model} | {r.commit} | "
              f"{r.items} | {r.ran_by} | {r.principal.label()} | {values} |")  # fmt: skip
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from evals.compare import compare

    settings = _settings()
    history = _history(settings)
    a, b = _run(history, args.run_a), _run(history, args.run_b)
    result = compare(a, b, n_boot=settings.eval.bootstrap_samples, confidence=settings.eval.confidence)
    print(result.model_dump_json(indent=2) if args.json else result.markdown())
    return 0


def _run(history: History, ref: str) -> RunResult:
    """A recorded run by id, or a run folder / ``results.json`` (one made elsewhere: another
    checkout, another machine, ``--no-history``)."""
    from evals.results import RunResult

    path = Path(ref)
    if path.is_dir():
        path = path / "results.json"
    if path.suffix == ".json" and path.is_file():
        try:
            return RunResult.model_validate_json(path.read_text(encoding="utf-8"))
        except ValueError as e:
            raise CliUsageError(f"{path}: 평가 결과 파일이 아닙니다 ({str(e).splitlines()[0]})") from e
    return history.get(ref)


def _thresholds(pairs: list[str], flag: str) -> dict[str, float]:
    from evals.results import METRIC_BY_NAME

    out: dict[str, float] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or name not in METRIC_BY_NAME:
            raise CliUsageError(f"{flag} {pair}: METRIC=VALUE 형식, METRIC은 {', '.join(METRIC_BY_NAME)} 중 하나")
        try:
            out[name] = float(value)
        except ValueError as e:
            raise CliUsageError(f"{flag} {pair}: 값이 숫자가 아닙니다") from e
    return out


def gate_failures(result: RunResult, minimum: dict[str, float], maximum: dict[str, float]) -> list[str]:
    """Each threshold the run misses (a metric that was not measured misses its threshold)."""
    failures = []
    for name, bound in minimum.items():
        v = result.metrics.get(name)
        if v is None or v < bound:
            failures.append(f"{name} = {_fmt(name, v)} < {bound} (최소)")
    for name, bound in maximum.items():
        v = result.metrics.get(name)
        if v is None or v > bound:
            failures.append(f"{name} = {_fmt(name, v)} > {bound} (최대)")
    return failures


def cmd_gate(args: argparse.Namespace) -> int:
    minimum, maximum = _thresholds(args.min, "--min"), _thresholds(args.max, "--max")
    if not minimum and not maximum:
        raise CliUsageError("기준이 없습니다: --min METRIC=VALUE 또는 --max METRIC=VALUE")
    if args.results:
        from evals.results import RunResult

        try:
            result = RunResult.model_validate_json(args.results.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise CommandError(f"results.json을 읽을 수 없습니다 ({args.results}): {e}") from e
    else:
        result = _history(_settings()).get(args.run)
    failures = gate_failures(result, minimum, maximum)
    if failures:
        print(f"기준 미달 — {result.run_id}:", file=sys.stderr)
        for f in failures:
            print(f"  {f}", file=sys.stderr)
        return 1
    print(
        f"기준 통과 — {result.run_id}: "
        + ", ".join(f"{k}={_fmt(k, result.metrics.get(k))}" for k in {**minimum, **maximum})
    )
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from evals.report import write_report

    settings = _settings()
    result = _history(settings).get(args.run)
    out = args.out or settings.resolve(settings.eval.out_dir) / result.run_id / "report.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    write_report(result, out)
    print(out)
    return 0
