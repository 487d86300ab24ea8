"""The operator's fields of the impact assessment (``assessment-fields.yaml``): what no store of
the platform knows — the purpose, who is responsible, how people oversee the answers, whom they
affect, when the next review is.

``nuri assess fields --init FILE`` writes :data:`TEMPLATE` (Korean comments, every field empty);
the report reads the file with :func:`load_fields`. A missing file or an empty field is not an
error: the report shows it as 미기재 and lists it among the missing items. A file that is not
YAML, or holds an unknown key or a wrong value, is a :class:`FieldsError` naming the line or key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from connectors.errors import NuriError
from evals.assessment.model import OperatorFields

#: Korean names of the fields, in template order (``owner.*`` flattened).
FIELD_TITLES: dict[str, str] = {
    "purpose": "목적",
    "owner.name": "책임자 성명",
    "owner.department": "책임자 부서",
    "owner.contact": "책임자 연락처",
    "human_oversight": "사람의 관여",
    "affected_people": "영향받는 사람",
    "review_date": "다음 검토일",
    "notes": "기타 메모",
}
#: Fields whose absence is listed as missing (notes are optional).
REQUIRED = tuple(k for k in FIELD_TITLES if k != "notes")

TEMPLATE = """\
# 공공 AI 영향평가 — 운영자 기재 사항 (nuri assess report가 읽습니다)
# 비워 둔 항목은 보고서에 '미기재'로 표시되고, 마지막 '누락 항목' 목록에 올라갑니다.
# 여러 줄은 '|' 다음 줄부터 들여 써서 적습니다. 날짜는 YYYY-MM-DD.

# 목적: 이 AI가 무엇을 위해 쓰이는지, 무엇에는 쓰지 않는지 (예: 직원의 규정·지침 질의응답 보조, 대국민 답변에는 쓰지 않음)
purpose:

# 책임자: 이 시스템의 운영과 영향평가에 책임지는 사람
owner:
  name:        # 성명
  department:  # 부서
  contact:     # 연락처 (전화 또는 이메일)

# 사람의 관여: 누가 어떤 경우에 답변을 확인·수정하는지, 답변만으로 결정하지 않도록 하는 장치
human_oversight:

# 영향받는 사람: 답변이 누구에게 영향을 주는지 (직원, 민원인, 취약 계층 등)와 그 정도
affected_people:

# 다음 검토일 (YYYY-MM-DD)
review_date:

# 기타 메모 (선택)
notes:
"""


class FieldsError(NuriError):
    """The operator's fields file cannot be read (not YAML, an unknown key, a wrong value)."""

    code = "command_failed"


def write_template(path: Path, overwrite: bool = False) -> Path:
    """Write :data:`TEMPLATE` to ``path`` (parents created); :class:`FieldsError` if it exists
    and ``overwrite`` is false (an operator's filled file is never replaced silently)."""
    if path.exists() and not overwrite:
        raise FieldsError(f"이미 있는 파일입니다: {path} (덮어쓰려면 --force)",
                          message_en=f"{path} exists already (use --force to overwrite)")  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(TEMPLATE, encoding="utf-8")
    return path


def load_fields(path: Path) -> tuple[OperatorFields, bool]:
    """(the fields, whether the file exists); an absent file gives empty fields."""
    if not path.is_file():
        return OperatorFields(), False
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{mark.line + 1}번째 줄" if mark is not None else "위치 알 수 없음"
        problem = getattr(e, "problem", None) or str(e)
        raise FieldsError(f"운영자 기재 사항 파일의 {where}을 읽을 수 없습니다 ({path}): {problem}",
                          message_en=f"{path}: not YAML at line {mark.line + 1 if mark else '?'}: {problem}") from e  # fmt: skip
    if data is None:
        return OperatorFields(), True
    if not isinstance(data, dict):
        raise FieldsError(f"운영자 기재 사항 파일의 최상위는 '항목: 값' 목록이어야 합니다 ({path})")
    try:
        return OperatorFields.model_validate(_blank_to_none(data)), True
    except ValidationError as e:
        first = e.errors()[0]
        loc = [str(p) for p in first.get("loc", ())]
        key = ".".join(loc)
        line = _line_of(text, loc)
        where = f"{line}번째 줄 " if line else ""
        raise FieldsError(
            f"운영자 기재 사항 파일 {where}'{key}' 항목이 올바르지 않습니다 ({path}): {first.get('msg')} "
            f"(쓸 수 있는 항목: {', '.join(FIELD_TITLES)})",
            message_en=f"{path}: field '{key}'" + (f" at line {line}" if line else "") + f": {first.get('msg')}",
        ) from e


def unfilled(fields: OperatorFields) -> list[str]:
    """Korean names of the required fields left empty."""
    values = {
        "purpose": fields.purpose,
        "owner.name": fields.owner.name,
        "owner.department": fields.owner.department,
        "owner.contact": fields.owner.contact,
        "human_oversight": fields.human_oversight,
        "affected_people": fields.affected_people,
        "review_date": fields.review_date,
    }
    return [FIELD_TITLES[k] for k in REQUIRED if values[k] in (None, "")]


def _line_of(text: str, loc: list[str]) -> int | None:
    """The line (1-based) of the key at ``loc`` in the YAML ``text``, or None."""
    node: Any = yaml.compose(text)
    line = None
    for part in loc:
        if not isinstance(node, yaml.MappingNode):
            break
        for key, value in node.value:
            if key.value == part:
                line, node = key.start_mark.line + 1, value
                break
        else:
            break
    return line


def _blank_to_none(value: Any) -> Any:
    """Empty strings as absent; numbers (a phone number, a year) as text where text is asked."""
    if isinstance(value, dict):
        return {k: _blank_to_none(v) for k, v in value.items()}
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value
