"""Eval suites: which questions (datasets) over which corpus.

A bundled suite is ``evals/suites/<name>.yaml``::

    description: 샘플 문서 한국어 QA
    corpus: ["{sample_corpus}"]                  # what the index must hold
    datasets:
      - path: sample_ko.jsonl                    # relative to the suites folder
      - {path: "{shared_data}/safety/injection_public.jsonl", format: injection, limit: 40}

``{sample_corpus}`` and ``{shared_data}`` are the configured folders. ``format: eval`` (default)
reads :mod:`evals.schema` lines (or the statute QA schema); ``format: injection`` reads the
public prompt-injection set (``{"id", "text", "lang", "kind", "source"}``): each prompt is an
item that must be blocked (``indirect`` ones are documents, so they become retrieved passages
of a harmless question instead). A suite argument may also be a ``.yaml`` suite file or a
``.jsonl`` dataset (which then needs ``--index``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from configs.settings import Settings
from connectors.errors import NuriError
from evals.schema import DatasetError, EvalItem, LineError, load_items, read_text

SUITES_DIR = Path(str(files("evals") / "suites"))
#: The harmless question an indirect-injection document is retrieved for.
INDIRECT_QUESTION = "이 공지 문서의 주요 내용을 요약해 주세요."


class SuiteError(NuriError):
    """A suite that does not exist or is malformed."""

    code = "invalid_suite"


class DatasetSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str
    format: Literal["eval", "injection"] = "eval"
    limit: int | None = Field(None, gt=0)


class SuiteFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str = ""
    corpus: list[str] = Field(default_factory=list)
    datasets: list[DatasetSpec]


@dataclass(slots=True)
class Suite:
    name: str
    description: str
    corpus: list[Path]
    files: list[Path]
    items: list[EvalItem] = field(default_factory=list)


def shared_data_dir(settings: Settings) -> Path:
    if settings.eval.shared_data:
        return settings.resolve(settings.eval.shared_data)
    return Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def bundled_suites() -> list[str]:
    return sorted(p.stem for p in SUITES_DIR.glob("*.yaml"))


def _expand(raw: str, base: Path, settings: Settings) -> Path:
    text = raw.replace("{shared_data}", str(shared_data_dir(settings))).replace(
        "{sample_corpus}", str(settings.resolve(settings.sample_corpus))
    )
    path = Path(text)
    return path if path.is_absolute() else base / path


def injection_items(path: Path) -> list[EvalItem]:
    """The public prompt-injection set as items: direct attacks must be blocked; an ``indirect``
    one is a document, so it becomes the retrieved passage of a harmless question."""
    items: list[EvalItem] = []
    errors: list[LineError] = []
    for n, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            kind, text = str(row["kind"]), str(row["text"])
            lang = "ko" if row.get("lang") == "ko" else "en"
            if kind == "indirect":
                item = EvalItem(id=str(row["id"]), question=INDIRECT_QUESTION, category="injection-indirect",
                                language="ko", expected="block", passages=[text])  # fmt: skip
            else:
                item = EvalItem(id=str(row["id"]), question=text, category=f"injection-{kind}",
                                language=lang, expected="block")  # fmt: skip
        except (json.JSONDecodeError, KeyError, ValidationError) as e:
            errors.append(LineError(n, f"프롬프트 주입 항목 형식 오류: {e}"))
            continue
        items.append(item)
    if errors:
        raise DatasetError(path, errors)
    return items


def spread(items: list[EvalItem], n: int | None) -> list[EvalItem]:
    """At most ``n`` items, taken round-robin over categories (in file order within each), so a
    quick run still has every kind of question."""
    if not n or n >= len(items):
        return items
    by_category: dict[str, list[EvalItem]] = {}
    for item in items:
        by_category.setdefault(item.category, []).append(item)
    chosen: set[str] = set()
    queues = list(by_category.values())
    while len(chosen) < n:
        for queue in queues:
            if queue and len(chosen) < n:
                chosen.add(queue.pop(0).id)
    return [i for i in items if i.id in chosen]


def _read_dataset(spec: DatasetSpec, path: Path) -> list[EvalItem]:
    items = injection_items(path) if spec.format == "injection" else load_items(path)
    return spread(items, spec.limit)


def load_suite(ref: str, settings: Settings, limit: int | None = None, need_corpus: bool = True) -> Suite:
    """A bundled suite by name, a suite ``.yaml`` file or a ``.jsonl`` dataset; ``limit`` keeps
    that many questions of each dataset, spread over its categories (a quick variant).
    ``need_corpus``: the suite's corpus must be here (not for a run against a served index)."""
    path = Path(ref)
    if path.suffix == ".jsonl":
        items = load_items(path)
        return Suite(name=path.stem, description=str(path), corpus=[], files=[path], items=spread(items, limit))
    if path.suffix in (".yaml", ".yml"):
        suite_path, name = path, path.stem
    else:
        suite_path, name = SUITES_DIR / f"{ref}.yaml", ref
        if not suite_path.is_file():
            raise SuiteError(f"평가 묶음 '{ref}'이(가) 없습니다 (내장: {', '.join(bundled_suites())})")
    try:
        spec = SuiteFile.model_validate(yaml.safe_load(suite_path.read_text(encoding="utf-8")))
    except FileNotFoundError as e:
        raise SuiteError(f"평가 묶음 파일이 없습니다: {suite_path}") from e
    except (yaml.YAMLError, ValidationError) as e:
        raise SuiteError(f"평가 묶음 파일 형식 오류 {suite_path}: {e}") from e
    base = suite_path.parent
    suite = Suite(name=name, description=spec.description, corpus=[_expand(c, base, settings) for c in spec.corpus],
                  files=[])  # fmt: skip
    seen: set[str] = set()
    for ds in spec.datasets:
        file = _expand(ds.path, base, settings)
        if not file.is_file():
            raise FileNotFoundError(f"평가 데이터셋이 없습니다: {file}")
        items = spread(_read_dataset(ds, file), limit)
        dup = seen.intersection(i.id for i in items)
        if dup:
            raise SuiteError(f"평가 묶음 '{name}'에 같은 id가 두 번 있습니다: {', '.join(sorted(dup)[:5])}")
        seen.update(i.id for i in items)
        suite.files.append(file)
        suite.items.extend(items)
    missing = [c for c in suite.corpus if not c.exists()]
    if missing and need_corpus:
        raise FileNotFoundError(f"평가 묶음 '{name}'의 말뭉치가 없습니다: {missing[0]}")
    return suite
