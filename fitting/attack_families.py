"""The family-split development data of issue 20: loaders, the locked-split filter and the
family tables that ``fitting.train_injection``, ``fitting.train_passage_check`` and
``python -m fitting.attack_report`` (every attack figure at once) share.

Data (none of it copied from ``../shared/data``; that is read at run time):

- user turns: ``evals/data/guardrails/families_turns.jsonl`` (families by author/style/template,
  some ``split: "test"`` = LOCKED), our older Korean sets (``injection_ko.jsonl``,
  ``benign_ko.jsonl``; one family per kind), the public prompts of
  ``../shared/data/safety/injection_public.jsonl`` (one family per upstream file) and the QA dev
  questions (benign);
- passages: ``evals/data/guardrails/families_passages.jsonl`` (document types × placements ×
  authors; some locked), statute articles of ``../shared/data/statutes`` (benign; families =
  groups of laws, one group locked), the sample corpus documents (benign), and, for evaluation
  only, the ``indirect`` rows of the public set and of ``injection_ko.jsonl``.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals.datasets import SHARED_DATA

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA = REPO_ROOT / "evals" / "data" / "guardrails"
FAMILY_TURNS = DATA / "families_turns.jsonl"
FAMILY_PASSAGES = DATA / "families_passages.jsonl"
OWN_ATTACKS = DATA / "injection_ko.jsonl"
OWN_BENIGN = DATA / "benign_ko.jsonl"
PUBLIC_ATTACKS = Path("safety") / "injection_public.jsonl"
DEV_FILES = (Path("qa") / "dev.jsonl", Path("qa") / "dev_colloquial.jsonl")
SAMPLE_CORPUS = REPO_ROOT / "samples" / "corpus"
BIPIA = re.compile(r"^inj-ext-(13[2-9]|14\d|15[01])$")
STATUTE_GROUPS = 6  # laws are dealt into this many families; group 0 is LOCKED

#: The attack kinds reported (exfiltration rows of the older set are counted with extraction).
KIND_OF = {"exfiltration": "extraction"}


def jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


@dataclass(slots=True)
class Turn:
    id: str
    text: str
    attack: bool
    kind: str  # attack: direct | jailbreak | extraction ; benign: ordinary | hard_negative | instruction | dev
    family: str
    split: str  # dev | test (LOCKED)
    lang: str
    obfuscation: str = "none"


@dataclass(slots=True)
class Passage:
    id: str
    text: str
    attack: bool
    family: str
    split: str  # dev | test (LOCKED) | eval (evaluation only: never trained on)
    doctype: str
    inject: str | None = None
    placement: str = "none"


def _public_family(source: str) -> str:
    path = source.split(":", 1)[-1]
    stem = Path(path).stem if "/dan/" not in path else "dan"
    return f"public-{stem}"


def load_turns(shared: Path = SHARED_DATA) -> list[Turn]:
    """Every user-turn case (attacks and benign, dev and LOCKED test); no indirect rows."""
    out: list[Turn] = []
    for r in jsonl(FAMILY_TURNS):
        out.append(
            Turn(r["id"], r["text"], r["label"] == "attack", r["kind"], r["family"], r["split"], r.get("lang", "ko"))
        )
    for r in jsonl(OWN_ATTACKS):
        if r["kind"] == "indirect":
            continue
        obf = r.get("obfuscation", "none")
        kind = KIND_OF.get(r["kind"], r["kind"])
        family = "ko-inj-obfuscated" if obf != "none" else f"ko-inj-{r['kind']}"
        out.append(Turn(r["id"], r["text"], True, kind, family, "dev", r.get("lang", "ko"), obf))
    for r in jsonl(OWN_BENIGN):
        out.append(
            Turn(
                r["id"],
                r["question"],
                False,
                r["kind"],
                f"ko-ben-{r['kind']}-{r.get('lang', 'ko')}",
                "dev",
                r.get("lang", "ko"),
            )
        )
    public = shared / PUBLIC_ATTACKS
    if public.exists():
        for r in jsonl(public):
            if r["kind"] == "indirect":
                continue
            kind = KIND_OF.get(r["kind"], r["kind"])
            out.append(Turn(r["id"], r["text"], True, kind, _public_family(r["source"]), "dev", r.get("lang", "en")))
    for name in DEV_FILES:
        if (shared / name).exists():
            fam = "qa-" + name.stem.replace("_", "-")
            out.extend(Turn(r["id"], r["question"], False, "dev", fam, "dev", "ko") for r in jsonl(shared / name))
    return out


def statute_articles(shared: Path = SHARED_DATA) -> list[tuple[str, str]]:
    """(law folder/file, article text) for each ``제N조`` article of the Korean statutes."""
    out = []
    for path in sorted((shared / "statutes" / "kr").glob("*/*.md")):
        text = path.read_text(encoding="utf-8")
        for part in re.split(r"\n(?=#{2,6} )", text):
            if re.match(r"#{2,6} 제\d+조", part):
                out.append((f"{path.parent.name}/{path.name}", part))
    return out


def statute_group(name: str) -> int:
    """The family of a law: its folder's rank among the sorted folders, dealt round-robin."""
    return _LAW_RANK.get(name.split("/", 1)[0], 0) % STATUTE_GROUPS


_LAW_RANK: dict[str, int] = {}


def _sample_corpus_chunks() -> list[tuple[str, str]]:
    out = []
    for path in sorted(SAMPLE_CORPUS.iterdir()):
        if path.suffix not in (".md", ".html", ".txt") or path.name.endswith(".yaml"):
            continue
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("cp949", errors="replace")
        blocks = re.split(r"\n\s*\n", text)
        chunk = ""
        n = 0
        for b in blocks:
            if len(chunk) + len(b) > 900 and chunk:
                out.append((f"{path.name}#{n}", chunk))
                n += 1
                chunk = ""
            chunk = f"{chunk}\n\n{b}" if chunk else b
        if chunk:
            out.append((f"{path.name}#{n}", chunk))
    return out


def load_passages(shared: Path = SHARED_DATA, statutes: bool = True) -> list[Passage]:
    out: list[Passage] = []
    for r in jsonl(FAMILY_PASSAGES):
        out.append(
            Passage(r["id"], r["text"], r["label"] == "attack", r["family"], r["split"], r["doctype"], r.get("inject"),
                    r.get("placement", "none"))
        )  # fmt: skip
    for name, text in _sample_corpus_chunks():
        out.append(Passage(f"sample:{name}", text, False, "nb-sample-corpus", "dev", "sample"))
    if statutes and (shared / "statutes").exists():
        articles = statute_articles(shared)
        if not _LAW_RANK:
            for i, law in enumerate(sorted({n.split("/", 1)[0] for n, _ in articles})):
                _LAW_RANK[law] = i
        for i, (name, text) in enumerate(articles):
            g = statute_group(name)
            out.append(
                Passage(f"statute:{name}:{i}", text, False, f"statute-g{g}", "test" if g == 0 else "dev", "statute")
            )
    for t in load_turns(shared):
        # benign questions are negative text too (never instructions to the model); dev families only
        if not t.attack and t.kind != "instruction" and t.split == "dev":
            out.append(Passage(f"turn:{t.id}", t.text, False, f"turns:{t.family}", "dev", "question"))
    for r in jsonl(OWN_ATTACKS):
        if r["kind"] == "indirect":
            out.append(Passage(r["id"], r["text"], True, "own-indirect-ko", "eval", "own"))
    public = shared / PUBLIC_ATTACKS
    if public.exists():
        for r in jsonl(public):
            if r["kind"] == "indirect":
                fam = "public-bipia-email" if BIPIA.match(r["id"]) else "public-indirect-other"
                out.append(Passage(r["id"], r["text"], True, fam, "eval", "public"))
    return out


def dev_only(items: Iterable[Any]) -> list[Any]:
    """What tuning may read: the LOCKED test families (and evaluation-only rows) removed."""
    return [x for x in items if x.split == "dev"]


# --- reporting helpers ---------------------------------------------------------------------------


def rate(flags: list[bool]) -> dict[str, Any]:
    return {"n": len(flags), "hit": int(sum(flags)), "rate": round(sum(flags) / len(flags), 4) if flags else None}


def fmt(r: dict[str, Any]) -> str:
    return f"{r['rate']:.3f} ({r['hit']}/{r['n']})" if r["n"] else "—"


def family_table(
    items: Iterable[Any], flagged: dict[str, bool], group_of: Any, title: str, attack_word: str = "blocked"
) -> tuple[list[str], dict[str, Any]]:
    """Per family and per group (kind): the flagged rate, the worst family, and n."""
    fam: dict[str, list[bool]] = defaultdict(list)
    grp: dict[str, list[bool]] = defaultdict(list)
    fam_group: dict[str, str] = {}
    for x in items:
        g = group_of(x)
        fam[x.family].append(flagged[x.id])
        grp[g].append(flagged[x.id])
        fam_group[x.family] = g
    lines = [
        f"### {title}",
        "",
        f"| group | n items | n families | {attack_word} | worst family |",
        "|---|---|---|---|---|",
    ]
    detail: dict[str, Any] = {"groups": {}, "families": {f: rate(v) for f, v in sorted(fam.items())}}
    for g in sorted(grp):
        fams = [f for f in fam if fam_group[f] == g]
        attack = g.startswith("attack")
        worst = (
            min(fams, key=lambda f: rate(fam[f])["rate"]) if attack else max(fams, key=lambda f: rate(fam[f])["rate"])
        )
        r = rate(grp[g])
        detail["groups"][g] = {**r, "families": len(fams), "worst": worst, "worst_rate": rate(fam[worst])}
        lines.append(f"| {g} | {r['n']} | {len(fams)} | {fmt(r)} | {worst}: {fmt(rate(fam[worst]))} |")
    lines += ["", "| family | group | n | " + attack_word + " |", "|---|---|---|---|"]
    for f in sorted(fam, key=lambda f: (fam_group[f], f)):
        lines.append(f"| {f} | {fam_group[f]} | {len(fam[f])} | {fmt(rate(fam[f]))} |")
    return [*lines, ""], detail
