"""Evaluation datasets: the statute QA set (``qa/*.jsonl``) with gold law and articles."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


class QAItem(BaseModel):
    id: str
    question: str
    law: str
    articles: list[str]
    answer: str = ""
    type: str = "fact"

    @property
    def answerable(self) -> bool:
        return bool(self.law and self.articles)


def load_qa(path: Path) -> list[QAItem]:
    items = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                items.append(QAItem.model_validate_json(line))
    return items


def statute_files(statutes_dir: Path, laws: set[str] | None = None) -> list[Path]:
    """Statute Markdown files under ``statutes_dir``; with ``laws``, only those whose 제목 matches."""
    files = sorted(statutes_dir.rglob("*.md"))
    if laws is None:
        return files
    return [f for f in files if _title(f) in laws]


def _title(path: Path) -> str:
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.startswith("제목:"):
                return line.split(":", 1)[1].strip().strip("'\"")
            if line.startswith("#"):
                break
    return ""


def dump_jsonl(rows: list[dict], path: Path) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
