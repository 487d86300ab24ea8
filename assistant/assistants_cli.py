"""``nuri assistants``: agency assistants, for operators on the server (:mod:`assistant.assistants`).

    nuri assistants create ID --name N --agency A [definition flags] | --file DEF.yaml
    nuri assistants update ID [definition flags] [--file DEF.yaml]
    nuri assistants list [--agency A] [--json]
    nuri assistants show ID [--json]
    nuri assistants delete ID --yes

Definition flags (each list flag may repeat; on ``update`` a given list replaces the stored one):
``--description``, ``--default``/``--no-default``, who may use it (``--user-agency`` (``*`` = every
agency), ``--min-clearance``, ``--role``), its scope (``--scope-agency``, ``--scope-doc-type``,
``--scope-source``, ``--scope-statute``), ``--prompt``/``--prompt-file``, its model
(``--model-url``, ``--model``, ``--model-mode``, ``--generation``), ``--example``, and stricter
guardrails (``--min-relevance``, ``--mask-pii-output``, ``--block-pii-questions``,
``--block-injection``). ``--file`` reads a YAML definition with the fields of
:class:`~assistant.assistants.AssistantSpec`; flags given beside it win. Every change is in the
change log (``show`` prints an assistant's; ``nuri assess report`` reports them).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from assistant.cli_errors import CliUsageError, CommandError
from connectors.types import CLEARANCES, ROLES


def register(sub: argparse._SubParsersAction) -> None:
    asst = sub.add_parser("assistants", help="기관 도우미 관리 (만들기, 목록, 보기, 바꾸기, 지우기)")
    asst_sub = asst.add_subparsers(dest="assistants_command", required=True, parser_class=type(asst))

    create = asst_sub.add_parser("create", help="기관 도우미 만들기")
    create.add_argument("assistant_id", metavar="ID", help="영문 소문자 식별자 (chat completions의 model)")
    _definition_flags(create)
    create.set_defaults(handler=cmd_create)

    upd = asst_sub.add_parser("update", help="기관 도우미 바꾸기 (준 항목만; 목록 항목은 통째로 바뀜)")
    upd.add_argument("assistant_id", metavar="ID")
    _definition_flags(upd)
    upd.set_defaults(handler=cmd_update)

    ls = asst_sub.add_parser("list", help="기관 도우미 목록")
    ls.add_argument("--agency", help="이 기관의 도우미만")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(handler=cmd_list)

    show = asst_sub.add_parser("show", help="기관 도우미 정의와 변경 기록")
    show.add_argument("assistant_id", metavar="ID")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=cmd_show)

    rm = asst_sub.add_parser("delete", help="기관 도우미 지우기 (변경 기록은 남음)")
    rm.add_argument("assistant_id", metavar="ID")
    rm.add_argument("--yes", action="store_true", help="확인 (없으면 지우지 않음)")
    rm.set_defaults(handler=cmd_delete)


def _definition_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--file", type=Path, metavar="DEF.yaml", help="YAML 정의 파일 (아래 옵션이 우선)")
    p.add_argument("--name", help="사용자에게 보이는 이름")
    p.add_argument("--agency", help="소유 기관")
    p.add_argument("--description", help="설명")
    dflt = p.add_mutually_exclusive_group()
    dflt.add_argument("--default", dest="default", action="store_const", const=True, help="기관의 기본 도우미")
    dflt.add_argument("--no-default", dest="default", action="store_const", const=False, help="기본 도우미 해제")
    who = p.add_argument_group("사용할 수 있는 사람 (모두 충족)")
    who.add_argument(
        "--user-agency", action="append", metavar="AGENCY", help="사용 기관 (*: 모든 기관; 기본: 소유 기관)"
    )
    who.add_argument("--min-clearance", choices=list(CLEARANCES), help="필요한 최소 열람 등급")
    who.add_argument("--role", action="append", choices=list(ROLES), help="필요한 역할")
    scope = p.add_argument_group("범위 (열람 권한을 좁히기만 함)")
    scope.add_argument("--scope-agency", action="append", metavar="AGENCY", help="이 기관의 문서만")
    scope.add_argument("--scope-doc-type", action="append", metavar="TYPE", help="이 문서 종류만 (예: statute)")
    scope.add_argument("--scope-source", action="append", metavar="PATH", help="이 출처(색인한 폴더·파일)의 문서만")
    scope.add_argument("--scope-statute", action="append", metavar="TITLE", help="이 법령만 (제목)")
    prompt = p.add_mutually_exclusive_group()
    prompt.add_argument("--prompt", help="답변 프롬프트에 덧붙일 기관 지침")
    prompt.add_argument("--prompt-file", type=Path, metavar="FILE", help="기관 지침 파일 (UTF-8)")
    model = p.add_argument_group("모델 (비우면 플랫폼 설정)")
    model.add_argument("--model-url", action="append", metavar="URL", help="OpenAI 호환 주소 (…/v1), 예: vLLM")
    model.add_argument("--model", help="모델 이름 (서버가 제공하는 이름)")
    model.add_argument("--model-mode", choices=["chat", "completion"], help="chat: 지시 모델, completion: 기본 모델")
    model.add_argument(
        "--generation", choices=["model", "extractive"], help="model: 모델이 답변 작성, extractive: 근거 문장 인용"
    )
    p.add_argument("--example", action="append", metavar="QUESTION", help="예시 질문 (채팅에 표시)")
    g = p.add_argument_group("가드레일 (플랫폼보다 엄격하게만)")
    g.add_argument("--min-relevance", type=float, help="이보다 관련도가 낮으면 답하지 않음 (플랫폼 기준 이상)")
    g.add_argument("--mask-pii-output", action="store_const", const=True, help="답변·근거의 개인정보 가림")
    g.add_argument("--block-pii-questions", action="store_const", const=True, help="개인정보가 든 질문 거절")
    g.add_argument("--block-injection", action="store_const", const=True, help="프롬프트 인젝션 의심 질문 거절")


def _from_flags(args: argparse.Namespace) -> dict[str, Any]:
    """The definition fields the flags give (nested like :class:`AssistantSpec`)."""
    out: dict[str, Any] = {}
    for flag, field in (("name", "name"), ("agency", "agency"), ("description", "description"),
                        ("default", "default"), ("example", "examples")):  # fmt: skip
        if getattr(args, flag) is not None:
            out[field] = getattr(args, flag)
    if args.prompt is not None:
        out["prompt"] = args.prompt
    elif args.prompt_file is not None:
        try:
            out["prompt"] = args.prompt_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise CliUsageError(f"지침 파일을 읽을 수 없습니다: {args.prompt_file}: {e}") from e
    groups = {
        "users": {"agencies": args.user_agency, "min_clearance": args.min_clearance, "roles": args.role},
        "scope": {"agencies": args.scope_agency, "doc_types": args.scope_doc_type, "sources": args.scope_source,
                  "statutes": args.scope_statute},
        "model": {"base_urls": args.model_url, "model": args.model, "mode": args.model_mode,
                  "generation": args.generation},
        "guardrails": {"min_relevance": args.min_relevance, "mask_pii_output": args.mask_pii_output,
                       "block_pii_questions": args.block_pii_questions, "block_injection": args.block_injection},
    }  # fmt: skip
    for group, fields in groups.items():
        given = {k: v for k, v in fields.items() if v is not None}
        if given:
            out[group] = given
    return out


def _read_file(path: Path) -> dict[str, Any]:
    import yaml

    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise CliUsageError(f"정의 파일을 읽을 수 없습니다: {path}: {e.strerror or e}") from e
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise CliUsageError(f"정의 파일이 올바른 YAML(UTF-8)이 아닙니다: {path}: {e}") from e
    if not isinstance(loaded, dict):
        raise CliUsageError(f"정의 파일은 항목(키: 값)의 모음이어야 합니다: {path}")
    return loaded


def _merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in changes.items():
        out[key] = _merge(out.get(key) or {}, value) if isinstance(value, dict) else value
    return out


def _spec(fields: dict[str, Any]) -> Any:
    from pydantic import ValidationError

    from assistant.assistants import AssistantSpec

    try:
        return AssistantSpec.model_validate(fields)
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '정의'}: {err['msg'].removeprefix('Value error, ')}"
            for err in e.errors()
        )
        raise CliUsageError(f"도우미 정의가 올바르지 않습니다: {problems}") from e


def _store_and_settings() -> tuple[Any, Any]:
    from assistant.assistants import AssistantStore
    from configs.settings import load_settings

    settings = load_settings()
    store = AssistantStore.from_settings(settings.keys, settings.resolve(settings.data_dir), settings.home)
    return store, settings


def _save(args: argparse.Namespace, creating: bool) -> int:
    from assistant.callers import cli_subject

    store, settings = _store_and_settings()
    with store:
        current = store.get(args.assistant_id)
        if creating and current is not None:
            raise CommandError(f"도우미 '{args.assistant_id}'가 이미 있습니다 (바꾸려면 nuri assistants update)")
        if not creating and current is None:
            raise CommandError(f"도우미 '{args.assistant_id}'가 없습니다 (목록: nuri assistants list)")
        fields: dict[str, Any] = {} if current is None else current.model_dump(
            exclude={"created_at", "updated_at", "created_by"})  # fmt: skip
        if args.file is not None:
            fields = _read_file(args.file)
        fields = _merge(fields, _from_flags(args))
        fields["id"] = args.assistant_id
        spec = _spec(fields)
        spec.check_stricter(settings.guardrails, settings.answer.min_relevance)
        saved = store.create(spec, cli_subject()) if creating else store.replace(spec, cli_subject())
    print(f"도우미 '{saved.id}'({saved.name}, {saved.agency})를 {'만들었' if creating else '바꾸었'}습니다")
    return 0


def cmd_create(args: argparse.Namespace) -> int:
    return _save(args, creating=True)


def cmd_update(args: argparse.Namespace) -> int:
    return _save(args, creating=False)


def cmd_list(args: argparse.Namespace) -> int:
    store, _ = _store_and_settings()
    with store:
        found = store.all(agency=args.agency)
    if args.json:
        print(json.dumps([a.model_dump(mode="json") for a in found], ensure_ascii=False, indent=2))
        return 0
    if not found:
        print("도우미가 없습니다 (만들기: nuri assistants create ID --name N --agency A)")
        return 0
    for a in found:
        users = ",".join(a.users.agencies or [a.agency])
        print(f"{a.id}\t{a.name}\t{a.agency}{' (기본)' if a.default else ''}\t사용: {users}/{a.users.min_clearance}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    store, _ = _store_and_settings()
    with store:
        found = store.get(args.assistant_id)
        changes = store.changes(assistant_id=args.assistant_id)
    if found is None:
        raise CommandError(f"도우미 '{args.assistant_id}'가 없습니다 (목록: nuri assistants list)")
    if args.json:
        out = found.model_dump(mode="json") | {"changes": [c.model_dump(mode="json") for c in changes]}
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return 0
    import yaml

    sys.stdout.write(yaml.safe_dump(found.model_dump(mode="json"), allow_unicode=True, sort_keys=False))
    print("변경 기록:")
    for c in changes:
        print(f"  {c.at.isoformat(timespec='seconds')}\t{c.action}\t{c.subject}")
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    from assistant.assistants import AssistantNotFoundError
    from assistant.callers import cli_subject

    if not args.yes:
        raise CliUsageError(f"지우려면 --yes를 붙이세요: nuri assistants delete {args.assistant_id} --yes")
    store, _ = _store_and_settings()
    with store:
        try:
            store.delete(args.assistant_id, cli_subject())
        except AssistantNotFoundError as e:
            raise CommandError(str(e)) from e
    print(f"도우미 '{args.assistant_id}'를 지웠습니다")
    return 0
