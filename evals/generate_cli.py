"""``nuri eval generate`` and ``nuri eval review``: eval items drafted from an agency's own
documents by the instruction model, then reviewed into a suite.

    nuri eval generate PATH... --n N --out DRAFTS.jsonl [--assistant A] [--unanswerable-share 0.3]
                       [--seed S] [--profile P] [--quiet]
    nuri eval review DRAFTS.jsonl --suite-out SUITE.jsonl

``generate`` reads files or folders (PDF, DOCX, HWP/HWPX, HTML, MD, TXT) as ``nuri ingest`` does
and writes draft items (:mod:`evals.generate`): the instruction model is ``eval.judge``'s endpoint,
or the bundled Qwen model started for the run when ``eval.judge.base_url`` is empty. ``review``
takes any drafts file, generated or drafted from feedback (``nuri eval items from-feedback``), and
asks item by item in the terminal (:mod:`evals.draft_review`). The parser is built for every
``nuri`` command: nothing heavy is imported until a command runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from assistant.cli_errors import CliUsageError, CommandError


def register(ev_sub: argparse._SubParsersAction) -> None:
    """``generate`` and ``review`` under ``nuri eval``."""
    gen = ev_sub.add_parser("generate", help="기관 문서에서 평가 문항 초안 만들기 (지시 모델, JSONL)")
    gen.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                     help="문서 파일이나 폴더 (PDF, DOCX, HWP/HWPX, HTML, MD, TXT)")  # fmt: skip
    gen.add_argument("--n", type=int, required=True, metavar="N", help="만들 초안 수 (문서·절에 고르게 나눈 구절 N개)")
    gen.add_argument("--out", type=Path, required=True, metavar="DRAFTS.jsonl", help="초안 파일 (새 파일)")
    gen.add_argument("--assistant", metavar="A", help="이 문항으로 평가할 기관 도우미 ID (초안에 기록)")
    gen.add_argument("--unanswerable-share", type=float, default=0.3, metavar="R",
                     help="문서로 답할 수 없는 질문(거절 기대)의 비율, 0~1 (기본 0.3)")  # fmt: skip
    gen.add_argument("--seed", type=int, default=0, metavar="S", help="구절 선택 시드 (같은 시드 = 같은 구절)")
    gen.add_argument("--profile", help="설정 프로필 (NURI_PROFILE), 예: default, qwen")
    gen.add_argument("--quiet", action="store_true", help="진행 막대 숨김")
    gen.set_defaults(handler=cmd_generate)

    rev = ev_sub.add_parser("review", help="초안을 하나씩 검토: a 수락, e 수정, d 버림, s 건너뜀, q 종료")
    rev.add_argument("file", type=Path, metavar="DRAFTS.jsonl",
                     help="초안 파일 (eval generate 또는 eval items from-feedback이 쓴 것)")  # fmt: skip
    rev.add_argument("--suite-out", type=Path, required=True, metavar="SUITE.jsonl", help="수락한 문항을 덧붙일 파일")
    rev.set_defaults(handler=cmd_review)


def cmd_generate(args: argparse.Namespace) -> int:
    if args.n <= 0:
        raise CliUsageError("--n은 1 이상이어야 합니다")
    if not 0.0 <= args.unanswerable_share <= 1.0:
        raise CliUsageError("--unanswerable-share는 0과 1 사이입니다 (예: 0.3)")
    if args.out.exists() and args.out.stat().st_size > 0:
        raise CliUsageError(f"초안 파일이 이미 있습니다: {args.out} (검토 상태를 덮어쓰지 않도록 다른 --out을 쓰세요)")
    from configs.settings import load_settings
    from evals.generate import DraftWriter, generate, instruction_model, load_passages
    from retrieval.embedders import build_embedder

    if args.profile:
        os.environ["NURI_PROFILE"] = args.profile
    settings = load_settings()
    if args.assistant:
        from assistant.assistants import AssistantStore

        with AssistantStore.from_settings(settings.keys, settings.resolve(settings.data_dir), settings.home) as store:
            if store.get(args.assistant) is None:
                raise CliUsageError(f"도우미 '{args.assistant}'가 없습니다 (목록: nuri assistants list)")
    retrieval = settings.retrieval
    embedder = build_embedder(retrieval.embedder)  # its token counter chunks as ingest does
    corpus = load_passages(args.paths, settings.connectors, embedder.count_tokens, retrieval.chunking,
                           progress=not args.quiet)  # fmt: skip
    for path, reason in corpus.failed:
        print(f"건너뜀: {path}: {reason}", file=sys.stderr)
    with instruction_model(settings) as judge:
        writer = DraftWriter(judge, seed=args.seed)
        try:
            drafts, summary = generate(
                corpus,
                writer,
                n=args.n,
                seed=args.seed,
                out=args.out,
                unanswerable_share=args.unanswerable_share,
                assistant=args.assistant,
                progress=not args.quiet,
            )
        finally:
            writer.close()
    for line in summary.lines():
        print(line)
    if not drafts:
        raise CommandError("초안을 하나도 만들지 못했습니다 (위의 버린 이유를 보세요)")
    print(f"초안 {len(drafts)}개를 {args.out}에 썼습니다. 검토: nuri eval review {args.out} --suite-out SUITE.jsonl")
    return 0


def cmd_review(args: argparse.Namespace) -> int:
    from evals.draft_review import review

    if not args.file.is_file():
        raise CliUsageError(f"초안 파일이 없습니다: {args.file}")
    try:
        review(args.file, args.suite_out, sys.stdin, sys.stdout)
    except ValueError as e:
        raise CommandError(str(e)) from e
    return 0
