"""``nuri guard scan``: the input guardrails over JSONL, for the AI-champion team and scripts.

    nuri guard scan --json < inputs.jsonl > decisions.jsonl

Each input line is ``{"id", "text"}``; each output line, in the same order,
``{"id", "action": "allow"|"block"|"mask"|"warn", "checks": [{"name", "action", "reason"}],
"pii": [{"start", "end", "type"}], "masked"}`` with character offsets into ``text``. A line that
is not such an object gets ``{"id", "error"}`` and the scan goes on; the exit status is 1 when
any line was unusable. The checks are the configured pipeline (``configs/guardrails.yaml``),
with the bundled encoder for the classifiers.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    guard = sub.add_parser("guard", help="가드레일 (입력 검사)")
    guard_sub = guard.add_subparsers(dest="guard_command", required=True, parser_class=type(guard))
    scan = guard_sub.add_parser("scan", help='표준 입력의 JSONL({"id", "text"})을 검사해 한 줄씩 결과 출력')
    scan.add_argument("--json", action="store_true", required=True, help="JSONL로 출력 (현재 유일한 형식)")
    scan.set_defaults(handler=cmd_guard_scan)


def cmd_guard_scan(args: argparse.Namespace) -> int:
    from assistant.question import detect_language
    from configs.settings import load_settings
    from guardrails.pipeline import Guardrails
    from retrieval.embedders import build_embedder

    settings = load_settings()
    guard = Guardrails(settings.guardrails, build_embedder(settings.embedder))  # no encoder: exit 3
    bad = 0
    for n, line in enumerate(sys.stdin, start=1):
        if not line.strip():
            continue
        out: dict[str, Any]
        try:
            item = json.loads(line)
            if not isinstance(item, dict) or not isinstance(item.get("text"), str):
                raise ValueError('{"id", "text"} 객체가 아닙니다')
            out = {"id": item.get("id"), **guard.scan(item["text"], detect_language(item["text"]))}
        except ValueError as e:
            bad += 1
            out = {"id": None, "error": f"{n}번째 줄: {e}"}
        sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    return 1 if bad else 0
