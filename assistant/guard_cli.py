"""``nuri guard scan``: the guardrails over JSONL, for the AI-champion team and scripts.

    nuri guard scan --json < inputs.jsonl > decisions.jsonl

Each input line is ``{"id", "text"}`` or ``{"id", "text", "kind"}``:

- ``kind`` absent or ``"question"``: the input checks on a user's turn (personal data, prompt
  injection/jailbreak, off-policy requests). Output line: ``{"id", "action":
  "allow"|"block"|"mask"|"warn", "checks": [{"name", "action", "reason"}], "pii": [{"start",
  "end", "type"}], "masked"}`` with character offsets into ``text``.
- ``kind: "passage"``: the context check on a retrieved passage, as documents reach the model
  (rules for instructions addressed to the model OR the learned passage check). Output line:
  ``{"id", "kind": "passage", "action": "allow"|"drop"|"quote"|"warn", "checks": [{"name":
  "context", "action", "reason"}]}``; the action is the configured one (``guardrails.context.
  action``) for a flagged passage.

Output lines come in input order. A line that is not such an object (no ``text``, or a
``kind`` other than ``question``/``passage``) gets ``{"id", "error"}`` and the scan goes on; the
exit status is 1 when any line was unusable. The checks are the configured pipeline
(``configs/guardrails.yaml``), with the bundled encoder for the classifiers.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

KINDS = ("question", "passage")


def register(sub: argparse._SubParsersAction) -> None:
    guard = sub.add_parser("guard", help="가드레일 (입력·자료 검사)")
    guard_sub = guard.add_subparsers(dest="guard_command", required=True, parser_class=type(guard))
    scan = guard_sub.add_parser(
        "scan",
        help='표준 입력의 JSONL({"id", "text", "kind"})을 검사해 한 줄씩 결과 출력. kind: "question"(기본, 입력 검사) '
        '또는 "passage"(검색된 자료에 대한 컨텍스트 검사)',
        description='각 줄: {"id", "text"} 또는 {"id", "text", "kind": "question"|"passage"}. question(기본)은 '
        "질문에 대한 입력 검사(개인정보·인젝션·정책), passage는 검색된 자료가 모델에게 지시하는지 보는 컨텍스트 검사"
        '(규칙 또는 학습된 자료 검사)입니다. 쓸 수 없는 줄은 {"id", "error"}로 출력하고 계속합니다(종료 코드 1).',
    )
    scan.add_argument("--json", action="store_true", required=True, help="JSONL로 출력 (현재 유일한 형식)")
    scan.set_defaults(handler=cmd_guard_scan)


def scan_passage(guard: Any, text: str) -> dict[str, Any]:
    """The context check on one passage, in the scan's output shape."""
    screen = guard.screen_passages([text])
    decision = screen.decisions[0] if screen.decisions else None
    reason = decision.reason.removeprefix("자료 1: ") if decision else ""
    action = decision.action if decision else "allow"
    return {"kind": "passage", "action": action, "checks": [{"name": "context", "action": action, "reason": reason}]}


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
        item_id = None
        try:
            item = json.loads(line)
            item_id = item.get("id") if isinstance(item, dict) else None
            if not isinstance(item, dict) or not isinstance(item.get("text"), str):
                raise ValueError('{"id", "text"} 객체가 아닙니다')
            kind = item.get("kind", "question")
            if kind not in KINDS:
                raise ValueError(f'kind는 "question" 또는 "passage"여야 합니다: {kind!r}')
            if kind == "passage":
                out = {"id": item.get("id"), **scan_passage(guard, item["text"])}
            else:
                out = {"id": item.get("id"), **guard.scan(item["text"], detect_language(item["text"]))}
        except ValueError as e:
            bad += 1
            out = {"id": item_id, "error": f"{n}번째 줄: {e}"}
        sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    return 1 if bad else 0
