"""Extractive answers: the passages' own sentences that answer the question, quoted with their
citation, for models that cannot write a faithful answer (the bundled 270M base model).

**Scoring.** A passage is cut into sentences (statute lines: 항, 호 and their sentences;
document lines and sentences). Each sentence is scored against the question by

    score = dense cosine(question, heading + sentence)  (the index's own encoder, query/passage)
          + lexical_weight × share of the question's content terms the heading + sentence hold
          + value_weight, when the question asks for an amount, period, date, age or count
            (``assistant.answerability``) and the sentence states one
          − rank_penalty × (passage rank − 1)

(:meth:`SentencePicker.candidates`; the answerability model reads the same ranking).

**Picking** (:meth:`SentencePicker.pick_from`). The best sentence is quoted, and further
sentences (at most ``max_sentences`` in all) when they score within ``keep_ratio`` of the best.
Each is quoted with what the statute's structure ties to it, whatever its own score:

* a sentence cut inside brackets ("(법정민원을 제외한다. 이하 …)") is quoted whole;
* a proviso or condition ("다만 …", "단, …", "이 경우 …") is quoted with the sentence it
  qualifies, and a quoted sentence brings the provisos that follow it;
* a sentence that introduces a list ("다음 각 호의 …", "다음과 같다", "…:") brings its items
  (호, 목, numbered steps) whole and in order, up to ``max_list_chars``; a longer list brings
  its ``max_list_items`` best items, in order, with "…" for what is left out; an item quoted on
  its own brings the sentence that introduces its list, and a 목 its 호.

The sentences of one passage are quoted in the passage's order, the passage with the best
sentence first; sentences that score below ``keep_ratio`` of the best and are not tied to a
quoted one are left out. The question's form decides two things: beyond one sentence per thing
it asks (:func:`question_parts`: "기한이 있나요? 언제 나오죠?" asks two), a further sentence
must state a number in the unit asked for ("며칠" -> 일: the working hours do not answer "how
many days", :func:`states_asked_quantity`); and a question that asks how something is done
(:func:`asks_procedure`) gets a numbered list of steps whole even when no sentence introduces it.

**Wording** (:func:`compose`). The first quote of a passage names it once ("국가공무원법
제76조 제1항에 따르면 “…” [1].", a further passage "또한 …에서는"); the sentences after it are
quoted without repeating the source, list items with their number ("1) “…” [1]"). Every quoted
sentence keeps the number of its passage, so the citation is exact by construction: the answer
says only what the cited text says, in its own words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from assistant.answerability import ask_types, states_value
from assistant.settings import ExtractiveSettings
from retrieval.embedders import Embedder, VectorLru
from retrieval.sparse import KoreanSparseEncoder
from retrieval.types import Hit

_LINE_SPLIT = re.compile(r"\n+")
_SENTENCE_SPLIT = re.compile(r"(?<=다\.)\s+|(?<=[.!?])\s+(?=[^\d\s])")
_MIN_CHARS = 12

_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"
_MOK = "가나다라마바사아자차카타파하"
# a list item: 호 ("1.", "2의2."), 목 ("가."), "(1)", "1)", "가)", a bullet ("-", "*", "•", "·")
_ITEM = re.compile(
    rf"^(?:(?P<ho>\d+(?:의\d+)?)\\?\.|(?P<mok>[{_MOK}])\\?\.|\((?P<sub>\d+|[{_MOK}])\)|(?P<sub2>\d+|[{_MOK}])\)"
    r"|(?P<bullet>[-*•·]))\s+"
)
# a sentence that qualifies the one before it: its proviso (단서) or a condition added to it
_QUALIFIER = re.compile(r"^(?:다만|단[,\s]|이 경우|이때|이 때)")
# a sentence that introduces the list after it
_INTRO = re.compile(
    r"다음\s*각\s*[호목]|각\s*호와\s*같|다음과\s*같|아래와\s*같|다음의\s*\S+\s*(?:사항|서류|어느)|[:：]$"
)
_BARE_LABEL = re.compile(rf"^(?:\d+(?:의\d+)?|[{_MOK}])\\?\.$")
_TRAILING_LABEL = re.compile(rf"\s+((?:\d+(?:의\d+)?|[{_MOK}])\\?\.)$")
_ARTICLE = re.compile(r"^(?P<base>.*제\d+조(?:의\d+)?)(?:\s+제\d+항(?:\s*~\s*제\d+항)?)?$")


# a question's parts: clauses cut at "?" and at "…하고," / "…이며,"; a part asks something when it
# holds an interrogative or ends as a question
_QUESTION_CLAUSES = re.compile(r"[?？]+|(?<=[고며]),\s+")
_ASKS = re.compile(
    r"언제|며칠|몇|얼마|무엇|뭐|뭘|무슨|어떤|어떻게|어디|어느|누구|누가|왜|"
    r"(?:나요|까요|가요|죠|니까|는지|[을를]까|ㄹ까|래요|되나|있나|하나)\s*$"
)
# the unit a question asks a quantity in ("며칠" -> 일), and a number stated in it
_NUM = r"\d[\d,.]*\s*"
_ASKED_UNITS = {
    "일": (re.compile(r"며칠|몇\s*일"), re.compile(_NUM + r"일|하루|이틀|사흘|나흘|닷새|엿새|열흘|보름")),
    "개월": (re.compile(r"몇\s*(?:개월|달)"), re.compile(_NUM + r"(?:개월|달)")),
    "년": (re.compile(r"몇\s*년"), re.compile(_NUM + r"년")),
    "시간": (re.compile(r"몇\s*시간"), re.compile(_NUM + r"시간")),
    "명": (re.compile(r"몇\s*(?:명|사람)"), re.compile(_NUM + r"(?:명|인)")),
    "회": (re.compile(r"몇\s*(?:회|번)"), re.compile(_NUM + r"(?:회|번)")),
    "세": (re.compile(r"몇\s*(?:살|세)|나이"), re.compile(_NUM + r"(?:세|살)")),
    "원": (re.compile(r"얼마(?!\s*(?:동안|나|만에))|금액|액수"), re.compile(_NUM + r"(?:만\s*)?원")),
}


def states_asked_quantity(question: str, sentence: str) -> bool:
    """False when ``question`` asks a quantity in a unit ("며칠": 일) that ``sentence`` states no number in."""
    units = [stated for asked, stated in _ASKED_UNITS.values() if asked.search(question)]
    return not units or any(stated.search(sentence) for stated in units)


# a question that asks how something is done: its steps are read together
_PROCEDURE = re.compile(r"어떻게|절차|방법|순서|무엇을|뭘|뭐를|어떤\s*(?:서류|사항|조치)")


def question_parts(question: str) -> int:
    """How many things ``question`` asks (at least 1): "신청 기한이 있나요? 조정안은 언제 나오죠?" asks 2."""
    clauses = [c.strip() for c in _QUESTION_CLAUSES.split(question) if c.strip()]
    return max(1, sum(1 for c in clauses if _ASKS.search(c)))


def asks_procedure(question: str) -> bool:
    """Whether ``question`` asks how something is done ("승인 절차는 어떻게 되나요?")."""
    return bool(_PROCEDURE.search(question))


@dataclass(slots=True)
class Quote:
    passage: int  # 1-based position among the passages given
    text: str
    score: float
    cosine: float
    lexical: float
    index: int = 0  # the sentence's position among its passage's sentences
    # the passage lines it spans: (line number, text) per piece
    parts: tuple[tuple[int, str], ...] = field(default_factory=tuple)
    # how :func:`compose` shows it: "sentence", "item" (a list item, ``label`` its number), "gap"
    # (list items left out)
    role: str = "sentence"
    label: str = ""
    level: int = 0  # list depth of the line it is on: 0 none, 1 호, 2 목, 3 deeper


def _pieces_of(text: str) -> list[tuple[int, str]]:
    """(line number, sentence) for every sentence of every non-empty line."""
    out = []
    for n, line in enumerate(x.strip() for x in _LINE_SPLIT.split(text)):
        for piece in _SENTENCE_SPLIT.split(line):
            piece = piece.strip()
            if piece:
                out.append((n, piece))
    return out


def units_of(text: str) -> list[tuple[tuple[int, str], ...]]:
    """A passage's scored units: its sentences, short fragments joined to the next (as pieces)."""
    out: list[list[tuple[int, str]]] = []
    for piece in _pieces_of(text):
        if out and len(" ".join(p for _, p in out[-1])) < _MIN_CHARS:
            out[-1].append(piece)
        else:
            out.append([piece])
    return [tuple(u) for u in out]


def _cut(text: str, max_chars: int) -> str:
    return text if len(text) <= max_chars else text[:max_chars].rsplit(" ", 1)[0] + " …"


def sentences_of(text: str, max_chars: int) -> list[str]:
    """A passage's sentences: its lines, cut at sentence ends; short fragments join the next."""
    return [_cut(" ".join(p for _, p in u), max_chars) for u in units_of(text)]


class Ranking(list[Quote]):
    """:meth:`SentencePicker.candidates`: the sentences, best first, and the question they answer."""

    def __init__(self, quotes: Sequence[Quote] = (), question: str = "") -> None:
        super().__init__(quotes)
        self.question = question


class SentencePicker:
    def __init__(self, embedder: Embedder, sparse: KoreanSparseEncoder, settings: ExtractiveSettings) -> None:
        self.embedder, self.sparse, self.settings = embedder, sparse, settings
        # A passage's sentences come back with every question that retrieves it: their vectors
        # are kept (the encoder is most of an extractive answer's CPU time).
        self.sentence_vectors = VectorLru(settings.sentence_cache)

    def candidates(self, question: str, passages: Sequence[Hit]) -> Ranking:
        """Every sentence of ``passages``, scored against ``question``, best first."""
        s = self.settings
        units = [(i + 1, j, u) for i, h in enumerate(passages) for j, u in enumerate(units_of(h.text))]
        if not units:
            return Ranking([], question)
        texts = [_cut(" ".join(p for _, p in u), s.max_sentence_chars) for _, _, u in units]
        q_terms = set(self.sparse.terms(question))
        asked = ask_types(question)
        q_vec = np.asarray(self.embedder.embed_query(question), dtype=np.float32)
        # each sentence is read with the heading it stands under ("1. 점검 기간: 2024년 5월 13일부터 …")
        context = [f"{_label(passages[n - 1])}: {sent}" for (n, _, _), sent in zip(units, texts, strict=True)]
        vecs = self._sentence_vectors(context)
        cos = vecs @ q_vec / (np.linalg.norm(vecs, axis=1) * np.linalg.norm(q_vec) + 1e-9)
        terms = self.sparse.terms_many(context)
        quotes = []
        for (n, j, u), sent, c, t in zip(units, texts, cos.tolist(), terms, strict=True):
            lexical = len(q_terms & set(t)) / len(q_terms) if q_terms else 0.0
            states = any(states_value(a, sent) for a in asked)
            score = c + s.lexical_weight * lexical + (s.value_weight if states else 0.0) - s.rank_penalty * (n - 1)
            quotes.append(Quote(passage=n, text=sent, score=score, cosine=c, lexical=lexical, index=j, parts=u))
        return Ranking(sorted(quotes, key=lambda q: -q.score), question)

    def _sentence_vectors(self, texts: list[str]) -> np.ndarray:
        cached = [self.sentence_vectors.get(t) for t in texts]
        missing = [i for i, v in enumerate(cached) if v is None]
        if missing:
            fresh = np.asarray(self.embedder.embed_passages([texts[i] for i in missing]), dtype=np.float32)
            for i, vector in zip(missing, fresh, strict=True):
                self.sentence_vectors.put(texts[i], vector)
                cached[i] = vector
        return np.vstack([v for v in cached if v is not None]).astype(np.float32, copy=False)

    def pick(self, question: str, passages: Sequence[Hit]) -> list[Quote]:
        """The quoted sentences, in the order they are shown."""
        return self.pick_from(self.candidates(question, passages))

    def pick_from(self, ranked: Sequence[Quote], question: str | None = None) -> list[Quote]:
        """:meth:`pick` from already ranked :meth:`candidates` (all of the passages' sentences;
        ``question`` defaults to the one a :class:`Ranking` holds). Sentences within
        ``keep_ratio`` of the best are quoted, ``max_sentences`` at most; beyond one per part of
        the question (:func:`question_parts`), a sentence must state a number in the unit the
        question asks for ("며칠" -> 일, :func:`states_asked_quantity`). A question that asks how
        something is done (:func:`asks_procedure`) gets a list of steps whole even when no
        sentence introduces it.

        The first quote carries the best sentence's scores (what ``min_relevance`` reads)."""
        if not ranked:
            return []
        s = self.settings
        if question is None:
            question = getattr(ranked, "question", "")
        parts = question_parts(question or "")
        steps = asks_procedure(question or "")
        best = ranked[0]
        texts = {
            n: _Passage(n, [q for q in ranked if q.passage == n]) for n in dict.fromkeys(q.passage for q in ranked)
        }
        chosen: dict[int, dict[int, _Sentence]] = {}  # passage -> position -> sentence
        order: list[int] = []
        answering = 0
        for q in ranked:
            if answering >= s.max_sentences or q.score < best.score * s.keep_ratio:
                break
            passage = texts[q.passage]
            anchor = passage.sentence_at(q.index)
            if anchor.pos in chosen.get(q.passage, {}):
                continue  # already quoted with a sentence it belongs to
            if answering >= parts and not states_asked_quantity(question or "", anchor.text):
                continue  # "며칠까지?": a further sentence that states no number of days does not answer it
            answering += 1
            if q.passage not in order:
                order.append(q.passage)
            for sentence in passage.block(anchor, s, steps):
                chosen.setdefault(q.passage, {})[sentence.pos] = sentence
        out: list[Quote] = []
        for n in order:
            out += texts[n].quotes(sorted(chosen[n].values(), key=lambda x: x.pos), s.max_sentence_chars)
        if out:
            out[0].score, out[0].cosine, out[0].lexical = best.score, best.cosine, best.lexical
        return out


@dataclass(slots=True)
class _Sentence:
    """A sentence as quoted: scored units joined where a cut fell inside brackets."""

    pos: int
    line: int
    text: str
    score: float
    cosine: float
    lexical: float
    opens: bool = True  # it starts its line
    item: re.Match[str] | None = None  # the list label its line starts with (first sentence only)
    in_item: bool = False  # its line is a list item
    level: int = 0  # the list depth of its line

    @property
    def qualifier(self) -> bool:
        return not self.in_item and bool(_QUALIFIER.match(self.text))

    @property
    def intro(self) -> bool:
        return bool(_INTRO.search(self.text.rstrip(" .")))


class _Passage:
    """One passage's sentences in order, rebuilt from its scored units, and its lines."""

    def __init__(self, n: int, units: list[Quote]) -> None:
        self.n = n
        self.sentences: list[_Sentence] = []
        self.of_unit: dict[int, int] = {}
        depth, last_line, vline, listing = 0, -1, -1, False
        for u in sorted(units, key=lambda q: q.index):
            for line, piece in u.parts or ((u.index, u.text),):
                opens = line != last_line
                prev = self.sentences[-1] if self.sentences else None
                if opens:
                    depth, listing = 0, False
                # a list run into one line ("… 다음 각 호의 … 아니 된다. 1. 인가 … 행위 2. 인가 또는 …"):
                # the number cut off the end of one piece starts the next item
                label = _TRAILING_LABEL.search(prev.text) if prev is not None and not opens and listing else None
                if prev is not None and label is not None and depth == 0:
                    prev.text, piece, opens = prev.text[: label.start()], f"{label.group(1)} {piece}", True
                elif listing and depth == 0 and _BARE_LABEL.match(piece):
                    opens = True
                # a cut inside brackets, or after a bare list number ("1." | "일반직공무원"), is no sentence end
                continues = prev is not None and not opens and (depth > 0 or bool(_BARE_LABEL.match(prev.text)))
                depth = max(0, depth + piece.count("(") + piece.count("（") - piece.count(")") - piece.count("）"))
                if prev is not None and continues:
                    prev.text = f"{prev.text} {piece}"
                    if u.score > prev.score:
                        prev.score, prev.cosine, prev.lexical = u.score, u.cosine, u.lexical
                else:
                    vline += opens
                    self.sentences.append(
                        _Sentence(len(self.sentences), vline, piece, u.score, u.cosine, u.lexical, opens=opens)
                    )
                listing = listing or bool(_INTRO.search(piece)) or bool(_ITEM.match(piece))
                self.of_unit.setdefault(u.index, len(self.sentences) - 1)
                last_line = line
        if listing and self.sentences and (dangling := _TRAILING_LABEL.search(self.sentences[-1].text)):
            self.sentences[-1].text = self.sentences[-1].text[: dangling.start()]  # the next item is cut off
        first: _Sentence | None = None
        for x in self.sentences:
            if x.opens:
                first = x
                x.item = _ITEM.match(x.text)
                x.in_item, x.level = x.item is not None, _level(x.item)
            elif first is not None:
                x.in_item, x.level = first.in_item, first.level
        self.lines: dict[int, list[_Sentence]] = {}
        for x in self.sentences:
            self.lines.setdefault(x.line, []).append(x)
        self.line_order = list(self.lines)

    def sentence_at(self, unit: int) -> _Sentence:
        return self.sentences[self.of_unit[unit]]

    def _line_after(self, line: int) -> int | None:
        i = self.line_order.index(line) + 1
        return self.line_order[i] if i < len(self.line_order) else None

    def _line_before(self, line: int) -> int | None:
        i = self.line_order.index(line) - 1
        return self.line_order[i] if i >= 0 else None

    def block(self, anchor: _Sentence, s: ExtractiveSettings, steps: bool = False) -> list[_Sentence]:
        """``anchor`` with the sentences the passage's structure ties to it, in order (``steps``:
        the question asks how something is done, so a list of steps is read whole)."""
        if anchor.in_item:
            intro = self._intro_of(anchor.line)
            if intro is None:  # an item of a list nothing introduces: its steps, or it with its parents and children
                run = self._run(anchor.line)
                if steps and sum(len(x.text) for line in run for x in self.lines[line]) <= s.max_list_chars:
                    return [x for line in run for x in self.lines[line]]
                lines = [*self._parents(anchor.line), anchor.line, *self._children(anchor.line)]
                return [x for line in lines for x in self.lines[line]]
            wanted, head = [anchor.line], intro
        else:
            wanted, head = [], anchor
            if s.with_qualifiers:  # a proviso is read with the sentence it qualifies
                while head.qualifier and head.pos > 0 and self.sentences[head.pos - 1].line == head.line:
                    head = self.sentences[head.pos - 1]
        block = [head]
        if s.with_qualifiers:
            for x in self.sentences[head.pos + 1 :]:
                if not x.qualifier:
                    break
                block.append(x)
        if any(x.intro for x in block) or wanted:
            block += self._list(block[-1].line, wanted, s)
        return block

    def _intro_of(self, item_line: int) -> _Sentence | None:
        """The sentence that introduces the list ``item_line`` is in, if one does."""
        line: int | None = item_line
        while line is not None and self.lines[line][0].in_item:
            line = self._line_before(line)
        if line is None:
            return None
        return next((x for x in reversed(self.lines[line]) if x.intro), None)

    def _run(self, item_line: int) -> list[int]:
        """The item lines of the list ``item_line`` is in, in order."""
        first = item_line
        while (before := self._line_before(first)) is not None and self.lines[before][0].in_item:
            first = before
        run = []
        line: int | None = first
        while line is not None and self.lines[line][0].in_item:
            run.append(line)
            line = self._line_after(line)
        return run

    def _parents(self, item_line: int) -> list[int]:
        out: list[int] = []
        level = self.lines[item_line][0].level
        line = self._line_before(item_line)
        while line is not None and self.lines[line][0].in_item:
            if self.lines[line][0].level < level:
                out.insert(0, line)
                level = self.lines[line][0].level
            line = self._line_before(line)
        return out

    def _children(self, item_line: int) -> list[int]:
        out = []
        level = self.lines[item_line][0].level
        line = self._line_after(item_line)
        while line is not None and self.lines[line][0].in_item and self.lines[line][0].level > level:
            out.append(line)
            line = self._line_after(line)
        return out

    def _list(self, line: int, wanted: list[int], s: ExtractiveSettings) -> list[_Sentence]:
        """The items after ``line``: all of them, or the best (and ``wanted``) of a long list."""
        items: list[int] = []
        nxt = self._line_after(line)
        while nxt is not None and self.lines[nxt][0].in_item:
            items.append(nxt)
            nxt = self._line_after(nxt)
        if sum(len(x.text) for i in items for x in self.lines[i]) > s.max_list_chars:
            best = sorted(items, key=lambda i: -max(x.score for x in self.lines[i]))[: s.max_list_items]
            keep = set(wanted) | set(best)
            for i in list(keep):
                keep |= set(self._parents(i))
            items = [i for i in items if i in keep]
        return [x for i in items for x in self.lines[i]]

    def quotes(self, chosen: list[_Sentence], max_chars: int) -> list[Quote]:
        out: list[Quote] = []
        prev: _Sentence | None = None
        for x in chosen:
            skipped = self.sentences[prev.pos + 1 : x.pos] if prev is not None else []
            if x.in_item and any(y.in_item for y in skipped):
                out.append(Quote(passage=self.n, text="…", score=0.0, cosine=0.0, lexical=0.0, role="gap"))
            q = Quote(passage=self.n, text=_cut(x.text, max_chars), score=x.score, cosine=x.cosine, lexical=x.lexical)
            q.index = x.pos
            q.level = x.level
            if x.item is not None:
                q.role = "item"
                q.label = x.item.group(0).strip().replace("\\", "")
                q.text = _cut(x.text[x.item.end() :], max_chars)
            out.append(q)
            prev = x
        return out


def _level(item: re.Match[str] | None) -> int:
    if item is None:
        return 0
    if item.group("ho") or item.group("bullet"):
        return 1
    return 2 if item.group("mok") else 3


def _label(hit: Hit) -> str:
    return hit.anchor if hit.anchor.startswith(hit.title) else f"{hit.title} {hit.anchor}".strip()


def _source(hit: Hit, quotes: Sequence[Quote]) -> tuple[str, str | None]:
    """How the answer names ``hit`` (its 항 when every quote of it is in one: "… 제18조 제3항"),
    and the circled number then dropped from the first quote."""
    label = _label(hit)
    m = _ARTICLE.match(label)
    sentences = [q for q in quotes if q.role == "sentence"]
    marks = {q.text[0] for q in sentences if q.text[:1] in _CIRCLED}
    if m is None or len(marks) != 1 or not sentences or sentences[0].text[:1] not in marks:
        return label, None
    mark = marks.pop()
    return f"{m.group('base')} 제{_CIRCLED.index(mark) + 1}항", mark


def compose(quotes: Sequence[Quote], passages: Sequence[Hit], lang: str) -> tuple[str, list[int]]:
    """The answer text quoting ``quotes`` (one line each; the first quote of a passage names it,
    every quote ends with the ``[n]`` marker of its passage, numbered by first use) and the
    passage numbers (1-based) in display order."""
    order: list[int] = []
    lines = []
    named: dict[int, str | None] = {}  # passage -> circled number its name replaces
    for q in quotes:
        if q.passage not in order:
            order.append(q.passage)
        n = order.index(q.passage) + 1
        if q.role == "gap":
            lines.append("…")
            continue
        text = q.text.rstrip().rstrip(".").strip()
        lead = ""
        if q.passage not in named:
            label, mark = _source(passages[q.passage - 1], [x for x in quotes if x.passage == q.passage])
            named[q.passage] = mark
            if mark is not None and text.startswith(mark):
                text = text[len(mark) :].strip()
            if lang == "en":
                lead = f"According to {label}: " if n == 1 else f"{label} also says: "
            else:
                lead = f"{label}에 따르면 " if n == 1 else f"또한 {label}에서는 "
        end = ":" if _INTRO.search(text) and q is not quotes[-1] and _next_is_item(quotes, q) else "."
        indent = "" if lead else "  " * max(0, q.level - 1)
        if q.role == "item":
            lines.append(f"{indent}{lead}{_item_label(q.label)} “{text}” [{n}]")
        else:
            lines.append(f"{indent}{lead}“{text}” [{n}]{end}")
    return "\n".join(lines), order


def _next_is_item(quotes: Sequence[Quote], q: Quote) -> bool:
    i = next(i for i, x in enumerate(quotes) if x is q)
    return i + 1 < len(quotes) and quotes[i + 1].role in ("item", "gap")


def _item_label(label: str) -> str:
    """ "1." -> "1)", "가." -> "가)", "(1)" and "-" as they are: a list number outside the quote
    that no sentence splitter reads as a sentence end."""
    if label.endswith("."):
        return label[:-1] + ")"
    return label
