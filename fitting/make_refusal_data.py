"""Make the refusal development data by family, from the statute corpus itself.

    python -m fitting.make_refusal_data [--statutes DIR] [--out evals/data/refusal_families.jsonl]

A civil servant's near-domain question is one the indexed statutes are *about* but do not
*answer*. The corpus says where those are, without anyone writing the questions by hand:

- ``delegated``: a provision leaves the detail to an instrument that is not indexed (``…은
  행정안전부령으로 정한다`` where no 시행규칙 is indexed, ``…장관이 정하여 고시한다``,
  ``인사혁신처장이 정한다``, ``대통령령으로 정한다`` in a law whose 시행령 is not indexed).
  The question asks for that detail.
- ``annex``: the value lives in an annexed table (별표) whose text is not indexed: the
  statute's own front matter lists the table's title ("경조사별 휴가 일수표"), the question
  asks for what the table holds.
- ``neighbour``: the same civil-service topics for public servants whose own statutes are not
  indexed (지방공무원, 경찰공무원, 교육공무원, 소방공무원, 군인 …): the national rule is
  similar, quoting it would be confidently wrong.
- ``neighbour_national`` (answerable): the same topic templates for 국가공무원, whose rules
  are indexed: the contrast that keeps the model from refusing on the topic alone.
- ``article_title`` (answerable): a question made from an article's own title ("연가
  일수는 어떻게 되나요?"), answered by that article.

Each family is written in several surface styles (formal, colloquial, terse); the style is part
of the family name so that leave-one-family-out holds a whole style out. Families named in
:data:`LOCKED_FAMILIES` are the locked test split: no fitting step reads them
(``fitting.calibrate_answerability`` skips them unless asked for the final ``--locked`` report).
Both files are in the statute QA schema (``law``, ``articles``: empty when the indexed corpus
does not answer; ``type``: the family), so ``nuri eval run statute-refusal`` scores the locked
one through the whole answer path. The output is deterministic (a seeded sample), so the
committed files can be re-made and compared.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from evals.datasets import SHARED_DATA

REPO_ROOT = Path(__file__).resolve().parent.parent
OUT = REPO_ROOT / "evals" / "data" / "refusal_families.jsonl"
LOCKED_OUT = REPO_ROOT / "evals" / "suites" / "refusal_locked_ko.jsonl"
SEED = 20261206
PER_FAMILY = 30

#: Whole families no fitting step reads (the locked test split): one style of every generated
#: kind, so the locked figure covers each kind in a style the model was not fitted on.
LOCKED_FAMILIES = frozenset(
    {"delegated/terse", "annex/terse", "neighbour/terse", "neighbour_national/terse", "article_title/terse"}
)


@dataclass(frozen=True, slots=True)
class Item:
    id: str
    question: str
    answerable: bool
    family: str
    split: str  # "dev" or "locked"
    law: str = ""
    article: str = ""

    def qa_line(self) -> dict[str, object]:
        """The statute QA schema (``evals.schema``): ``articles`` empty = must refuse."""
        articles = [self.article] if self.answerable and self.article else []
        return {"id": self.id, "question": self.question, "law": self.law, "articles": articles, "type": self.family}


_ARTICLE = re.compile(r"^#{3,6}\s*(제\d+조(?:의\d+)?)\s*\(([^)]+)\)", re.M)
_TITLE = re.compile(r"^제목:\s*(.+)$", re.M)
_ANNEX = re.compile(r"별표구분:\s*별표\s*\n\s*제목:\s*(.+)")
_DELEGATION = re.compile(
    r"([가-힣A-Za-z0-9·ㆍ, ]{4,60}?)(?:은|는)\s+"
    r"(대통령령|총리령|[가-힣]+부령|[가-힣]+(?:장관|처장|청장)이 정하여 고시|인사혁신처장이 정한다|[가-힣]+(?:장관|처장)이 정한다)"
)
_GENERIC_SUBJECT = re.compile(r"그 밖에|그 밖의|필요한 사항$|^사항$|세부 ?사항$|^이 ?법|^제\d")
_LEADING_REF = re.compile(r"^(?:.*?(?:에 따른|에 관한|에 대한|의 규정에 의한)\s+)")


def _clause_subject(text: str) -> str | None:
    """The noun phrase a delegating clause is about ("보존매체의 종류와 규격"), or None."""
    tail = re.split(r"[,.\n]|(?:따라|따른|위하여|경우|하며|하고|정하되)\s", text)[-1].strip()
    tail = _LEADING_REF.sub("", tail).strip()
    tail = re.sub(r"^(?:및|또는|그|이|다만|제\d+항|제\d+호)\s+", "", tail).strip()
    if not (4 <= len(tail) <= 30) or not re.match(r"[가-힣]", tail) or tail.count(" ") > 5:
        return None
    if _GENERIC_SUBJECT.search(tail) or re.search(r"(?:장|관|청|자|위원회|기관|단체|사람|공무원|에|등|때)$", tail):
        return None
    if re.search(
        r"경우|하는 |하려는|대하여|규칙|대통령령|부령|총리령|밖에|구체적인? 사항|세부적인|필요한|다음 각|또$|하$|[&<>]",
        tail,
    ):
        return None
    if re.match(r"(?:밖의|목의|호의|항의|조의)\s", tail):
        return None
    return tail


def _particle(word: str, with_batchim: str, without: str) -> str:
    last = word.rstrip()[-1:] or "가"
    if "가" <= last <= "힣":
        return with_batchim if (ord(last) - 0xAC00) % 28 else without
    return without


def _topic(word: str) -> str:
    return word + _particle(word, "은", "는")


def _statutes(root: Path) -> Iterator[tuple[Path, str, str]]:
    for path in sorted(root.glob("*/*.md")):
        text = path.read_text(encoding="utf-8")
        m = _TITLE.search(text)
        yield path, (m.group(1).strip() if m else path.parent.name), text


def _unindexed(target: str, path: Path) -> bool:
    """Is the instrument a provision delegates to missing from the index?"""
    siblings = {p.name for p in path.parent.glob("*.md")}
    if target == "대통령령":
        # 국가공무원법's decrees are separate statutes (임용령, 복무규정, 징계령 …), many indexed
        return path.name == "법률.md" and "시행령.md" not in siblings and path.parent.name != "국가공무원법"
    if target == "총리령":
        return (
            "총리령.md" not in siblings and "시행규칙.md" not in siblings and path.parent.name != "국가공무원복무규정"
        )
    if target.endswith("부령"):
        return "시행규칙.md" not in siblings
    return True  # 고시 and 장관/처장이 정한다: notices and 예규 are never indexed


def delegated(root: Path) -> list[tuple[str, str, str]]:
    """(law, article, subject) of each provision that leaves its detail to an unindexed instrument."""
    out = []
    for path, title, text in _statutes(root):
        body = text.split("\n---", 2)[-1]
        spans = [(m.start(), m.group(1)) for m in _ARTICLE.finditer(body)]
        for m in _DELEGATION.finditer(body):
            if not _unindexed(m.group(2), path):
                continue
            subject = _clause_subject(m.group(1))
            if subject is None:
                continue
            article = next((a for s, a in reversed(spans) if s <= m.start()), "")
            out.append((title, article, subject))
    return sorted(set(out))


def annexes(root: Path) -> list[tuple[str, str]]:
    """(law, table title) of each annexed table (별표), whose contents are not in the text."""
    out = []
    for _, title, text in _statutes(root):
        for m in _ANNEX.finditer(text.split("\n---", 1)[0] if text.startswith("---") else ""):
            name = re.sub(r"\s*\([^)]*관련\)\s*$", "", m.group(1).strip().strip("'\""))
            name = re.sub(r"\s*\(제\d+조[^)]*\)\s*$", "", name)
            name = re.sub(r"\s*\[[^\]]*\]\s*$", "", name)
            if 4 <= len(name) <= 40 and not re.search(r"삭제|&lt;|서식|신청서|확인서|증명서|대장|선서문|표찰", name):
                out.append((title, name))
    return sorted(set(out))


def article_titles(root: Path) -> list[tuple[str, str, str]]:
    out = []
    for _, title, text in _statutes(root):
        for m in _ARTICLE.finditer(text):
            name = m.group(2).strip()
            if 3 <= len(name) <= 20 and not re.search(
                r"목적|정의|삭제|시행일|적용 ?범위|다른 법률|경과조치|벌칙|과태료|양벌", name
            ):
                out.append((title, m.group(1), name))
    return sorted(set(out))


_STYLES = ("formal", "colloquial", "terse")
_DELEGATED_Q = {
    "formal": "{law}에서 {subject_topic} 구체적으로 어떻게 정해져 있습니까?",
    "colloquial": "{subject} 관련해서 실제로 적용되는 세부 기준이 뭔지 알려 주실 수 있나요?",
    "terse": "{subject} 세부 기준",
}
_ANNEX_Q = {
    "formal": "{law}에 따른 {table_topic} 어떻게 됩니까?",
    "colloquial": "{table} 내용을 좀 알려 주세요. 구체적인 숫자가 궁금해요.",
    "terse": "{table} 기준 값",
}
_TITLE_Q = {
    "formal": "{law}의 {title}에 관한 규정은 어떤 내용입니까?",
    "colloquial": "{title} 관련해서 규정이 어떻게 되어 있는지 알려 주세요.",
    "terse": "{title} 규정",
}
#: Public servants whose own statutes are not indexed, and the national service whose are.
#: (The pay and allowance regulations also cover 경찰·소방·교육·외무공무원 and 군인, so only
#: topics those do not govern are asked about for them; the ones here are governed elsewhere.)
NEIGHBOURS = ("지방공무원", "군인", "사립학교 교원", "공기업 직원", "공무직 근로자", "지방의회 의원")
NATIONAL = ("국가공무원", "일반직 국가공무원", "중앙부처 공무원")
#: Topics the national statutes answer (국가공무원법, 복무규정, 임용령, 징계령, 수당 규정 …).
TOPICS = (
    ("연가 일수", "연가는 1년에 며칠까지 쓸 수 있나요?"),
    ("정년", "정년은 몇 세인가요?"),
    ("징계의 종류", "징계에는 어떤 종류가 있나요?"),
    ("육아휴직 기간", "육아휴직은 자녀 1명당 얼마 동안 할 수 있나요?"),
    ("병가", "병가는 연간 며칠까지 받을 수 있나요?"),
    ("겸직 허가", "겸직 허가를 받으려면 어떻게 해야 하나요?"),
    ("직위해제 사유", "직위해제는 어떤 경우에 되나요?"),
    ("당직 근무", "당직 근무는 어떻게 편성하나요?"),
    ("특별휴가", "특별휴가는 어떤 경우에 받을 수 있나요?"),
    ("징계부가금", "징계부가금은 얼마까지 부과되나요?"),
    ("시간외근무수당", "시간외근무수당은 어떻게 지급되나요?"),
    ("출산휴가", "출산휴가는 며칠인가요?"),
)
#: Topics the pay and allowance regulations answer for every kind of public servant.
PAY_TOPICS = frozenset({"시간외근무수당"})
#: Where the national statutes answer each topic (the gold article of ``neighbour_national``).
NATIONAL_GOLD = {
    "연가 일수": ("국가공무원 복무규정", "제15조"),
    "정년": ("국가공무원법", "제74조"),
    "징계의 종류": ("국가공무원법", "제79조"),
    "육아휴직 기간": ("국가공무원법", "제72조"),
    "병가": ("국가공무원 복무규정", "제18조"),
    "겸직 허가": ("국가공무원 복무규정", "제26조"),
    "직위해제 사유": ("국가공무원법", "제73조의3"),
    "당직 근무": ("국가공무원 복무규칙", "제21조"),
    "특별휴가": ("국가공무원 복무규정", "제20조"),
    "징계부가금": ("국가공무원법", "제78조의2"),
    "시간외근무수당": ("공무원수당 등에 관한 규정", "제15조"),
    "출산휴가": ("국가공무원 복무규정", "제20조"),
}
_NEIGHBOUR_Q = {
    "formal": "{who}의 {topic}에 관한 규정은 어떻게 됩니까?",
    "colloquial": "{who}인데요, {ask}",
    "terse": "{who} {topic}",
}


def _sample(rows: list, n: int, rng: random.Random) -> list:
    return rows if len(rows) <= n else rng.sample(rows, n)


def build(root: Path) -> list[Item]:
    rng = random.Random(SEED)
    items: list[Item] = []

    def add(family: str, style: str, question: str, answerable: bool, law: str = "", article: str = "") -> None:
        name = f"{family}/{style}"
        n = sum(1 for i in items if i.family == name) + 1
        split = "locked" if name in LOCKED_FAMILIES else "dev"
        items.append(Item(f"rf-{family}-{style}-{n:03d}", question, answerable, name, split, law, article))

    deleg = delegated(root)
    for style in _STYLES:
        for law, article, subject in _sample(deleg, PER_FAMILY, rng):
            q = _DELEGATED_Q[style].format(law=law, subject=subject, subject_topic=_topic(subject))
            add("delegated", style, q, False, law, article)
    annex = annexes(root)
    for style in _STYLES:
        for law, table in _sample(annex, PER_FAMILY, rng):
            plain = re.sub(r"표$", "", table).strip()
            q = _ANNEX_Q[style].format(law=law, table=table, table_topic=_topic(plain))
            add("annex", style, q, False, law)
    for style in _STYLES:
        pairs = [(who, t) for who in NEIGHBOURS for t in TOPICS if t[0] not in PAY_TOPICS]
        for who, (topic, ask) in _sample(pairs, PER_FAMILY, rng):
            q = _NEIGHBOUR_Q[style].format(who=who, topic=topic, ask=ask)
            add("neighbour", style, q, False)
        pairs_n = [(who, t) for who in NATIONAL for t in TOPICS]
        for who, (topic, ask) in _sample(pairs_n, PER_FAMILY, rng):
            law, article = NATIONAL_GOLD[topic]
            q = _NEIGHBOUR_Q[style].format(who=who, topic=topic, ask=ask)
            add("neighbour_national", style, q, True, law, article)
    titles = article_titles(root)
    for style in _STYLES:
        for law, article, title in _sample(titles, PER_FAMILY, rng):
            add("article_title", style, _TITLE_Q[style].format(law=law, title=title), True, law, article)
    return items


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m fitting.make_refusal_data", description=__doc__.split("\n\n")[0])
    p.add_argument("--statutes", type=Path, default=SHARED_DATA / "statutes" / "kr")
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--locked-out", type=Path, default=LOCKED_OUT)
    args = p.parse_args(argv)
    if not args.statutes.is_dir():
        print(f"법령 폴더가 없습니다: {args.statutes}", file=sys.stderr)
        return 1
    items = build(args.statutes)
    for path, split in ((args.out, "dev"), (args.locked_out, "locked")):
        with path.open("w", encoding="utf-8") as f:
            for item in items:
                if item.split == split:
                    f.write(json.dumps(item.qa_line(), ensure_ascii=False) + "\n")
    families: dict[str, int] = {}
    for item in items:
        families[item.family] = families.get(item.family, 0) + 1
    for name, n in sorted(families.items()):
        print(f"{name}\t{n}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
