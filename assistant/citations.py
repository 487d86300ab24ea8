"""Citation markers in a streamed answer: validated, renumbered, stripped or attributed.

The model sees passages numbered 1..N and is asked to end sentences with ``[n]``. As text
streams in, :class:`CitationTracker`

* keeps markers that point to a passage, renumbered 1, 2, … in order of first use (so the
  citations list reads in order), and merges ``[1, 2]`` forms into ``[1][2]``;
* drops markers that point to no passage (``[7]`` with 4 passages): never an invented source;
* holds back a sentence while it repeats an earlier one word for word and, if it turns out a
  complete repetition, drops it and sets ``repeating`` (small models loop; the orchestrator
  then stops reading the model);
* when ``attribute`` is on, gives a sentence the model left unmarked the marker of the passage
  whose text contains most of the sentence (character bigrams, at least ``min_overlap``): the
  small bundled model tends to copy passages without marking them. Below the threshold the
  sentence stays unmarked;
* with ``check_sentences`` (what the orchestrator uses), holds each sentence until it is
  complete and then (1) removes prompt markup the model echoed (HTML tags, "답변:", "자료 [2]",
  "출처:" labels, triple-quote fences), and (2) applies the article-number rule: every article a
  sentence names ("제27조", "제7조의2") must appear in a passage it cites; if it appears in
  another passage given to the model, that passage is cited; if in none, the sentence is
  removed (``articles_removed``). Markers are numbered only when a sentence is sent, so a
  removed sentence leaves no gap in the numbering. Streaming is then by sentence.

The streamed text and the final answer are the same string: what ``feed`` returns is what the
client sees, so a streamed answer never has to be "corrected" afterwards.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.answers import Citation
from guardrails.decisions import Action, GuardrailDecision
from retrieval.types import Hit

_MARKER = re.compile(r"\[\s*(\d{1,3}(?:\s*[,，]\s*\d{1,3})*)\s*\]")
_MARKER_PREFIX = re.compile(r"\[\s*(?:\d{1,3}(?:\s*[,，]\s*(?:\d{1,3})?)*)?\s*")
_BOUNDARY = set(".?!。\n")
_NOT_TEXT = re.compile(r"[\s\W_]+", re.UNICODE)
_LIST_PREFIX = re.compile(r"^\s*(?:\d{1,2}(?:[.)]|$)|[-*•·]|[가-하][.)])\s*")
MIN_SENTENCE_CHARS = 8
_TOKEN = re.compile(r"\x00(\d+)\x00")  # a passage marker inside a held sentence, numbered when sent
ARTICLE_RE = re.compile(r"제\s*(\d+)\s*조(?:\s*의\s*(\d+))?")
_MARKUP = (
    re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>"),  # HTML tags
    re.compile(r'"{3}|`{3}'),  # prompt fences
    re.compile(
        # "답변:", "자료 [2]:" (its [2] may already be a held marker), "Passage 1:", "출처:"
        r"(?:^|(?<=\s))(?:답변|질문|자료|출처|Answer|Question|Passage|Source)\s*(?:\[\d*\]|\x00\d+\x00|\d+)?\s*:\s*",
        re.I,
    ),
)


def strip_markup(text: str) -> str:
    """``text`` without prompt markup a model may echo (tags, fences, "답변:"-style labels)."""
    for pattern in _MARKUP:
        text = pattern.sub("", text)
    return re.sub(r"[ \t]{2,}", " ", text)


def article_labels(text: str) -> list[str]:
    """The articles ``text`` names, normalised ("제 7 조의 2" -> "제7조의2")."""
    return [f"제{m.group(1)}조" + (f"의{m.group(2)}" if m.group(2) else "") for m in ARTICLE_RE.finditer(text)]


def names_article(passage: Hit, label: str) -> bool:
    """Whether the passage (its anchor or text) names the article ``label`` (제7조 is not 제7조의2)."""
    return label in article_labels(f"{passage.anchor}\n{passage.text}")


def normalise(sentence: str) -> str:
    """A sentence without list numbering, spacing and punctuation (for repetition checks)."""
    return _NOT_TEXT.sub("", _LIST_PREFIX.sub("", sentence)).lower()


def bigrams(text: str) -> set[str]:
    t = _NOT_TEXT.sub("", text.lower())
    return {t[i : i + 2] for i in range(len(t) - 1)}


#: What the grounded-answer checks did, as guardrail decisions: (tracker counter, action, Korean
#: reason, English reason), ``{n}`` the count.
_GROUNDING: tuple[tuple[str, Action, str, str], ...] = (
    ("articles_removed", "withhold", "인용한 자료에 없는 조항을 언급한 문장 {n}개를 뺐습니다.",
     "{n} sentence(s) naming an article no cited passage holds were withheld."),
    ("dropped", "warn", "근거 자료에 없는 인용 번호 {n}개를 지웠습니다.",
     "{n} citation marker(s) pointing at no passage were removed."),
)  # fmt: skip


class CitationTracker:
    def __init__(
        self, hits: Sequence[Hit], attribute: bool = True, min_overlap: float = 0.5, check_sentences: bool = False
    ) -> None:
        self.hits = list(hits)
        self.attribute = attribute
        self.min_overlap = min_overlap
        self.check_sentences = check_sentences
        self.articles_removed = 0
        self.articles_cited = 0  # passages cited because they hold an article a sentence names
        self._passage_grams = [bigrams(h.text + " " + h.anchor) for h in self.hits]
        self.display: dict[int, int] = {}  # passage number (1-based) -> display number
        self.dropped = 0
        self.attributed = 0
        self._pending = ""
        self._sentence = ""
        self._sentence_cited = False
        self._started = False
        self._held = ""  # output withheld while the sentence repeats an earlier one
        self._seen: list[str] = []  # normalised complete sentences
        self.repeating = False
        self.text = ""

    def decisions(self) -> list[GuardrailDecision]:
        """The grounded-answer checks that acted (sentences withheld, markers removed)."""
        return [
            GuardrailDecision(
                name="grounding", action=action, stage="output", reason=ko.format(n=n), reason_en=en.format(n=n)
            )
            for counter, action, ko, en in _GROUNDING
            if (n := getattr(self, counter))
        ]

    # -- streaming -------------------------------------------------------------------------
    def feed(self, delta: str) -> str:
        out: list[str] = []
        for ch in delta:
            if self.repeating:
                break
            self._char(ch, out)
        emitted = "".join(out)
        self.text += emitted
        return emitted

    def finish(self) -> str:
        out: list[str] = []
        pending, self._pending = self._pending, ""
        if not self.repeating:
            for ch in pending:
                self._text_char(ch, out)
            if self._held and self._repeats_prefix():
                self._held = ""  # an unfinished repetition
                self._sentence = ""
            else:
                self._close_sentence(out_boundary=None, out=out)
        emitted = "".join(out).rstrip()
        self.text = (self.text + emitted).rstrip()
        return emitted

    def _char(self, ch: str, out: list[str]) -> None:
        if self._pending:
            self._pending += ch
            m = _MARKER.fullmatch(self._pending)
            if m:
                self._emit(self._resolve(m.group(1)), out)
                self._pending = ""
            elif not _MARKER_PREFIX.fullmatch(self._pending):
                pending, self._pending = self._pending, ""
                self._text_char(pending[0], out)
                for c in pending[1:]:
                    self._char(c, out)
            return
        if ch == "[":
            self._pending = ch
            return
        self._text_char(ch, out)

    def _text_char(self, ch: str, out: list[str]) -> None:
        if not self._started:
            if ch.isspace():
                return
            self._started = True
        # "2." (list numbers) and "1.5" (decimals) are not sentence ends
        if ch in _BOUNDARY and not (ch == "." and self._sentence[-1:].isdigit()):
            self._close_sentence(out_boundary=ch, out=out)
            return
        self._sentence += ch
        self._emit(ch, out)

    def _repeats_prefix(self) -> bool:
        norm = normalise(self._sentence)
        return any(prev.startswith(norm) for prev in self._seen)

    def _emit(self, text: str, out: list[str]) -> None:
        """Send ``text``, or hold it (the whole sentence with ``check_sentences``; otherwise while
        the current sentence repeats an earlier one)."""
        if not text:
            return
        if self.check_sentences or (self._seen and self._repeats_prefix()):
            self._held += text
            return
        if self._held:
            out.append(self._held)
            self._held = ""
        out.append(text)

    def _close_sentence(self, out_boundary: str | None, out: list[str]) -> None:
        sentence, cited = self._sentence, self._sentence_cited
        norm = normalise(sentence)
        if self._held and len(norm) >= MIN_SENTENCE_CHARS and norm in self._seen:
            self._held, self._sentence, self._sentence_cited = "", "", False
            self.repeating = True
            return
        if self.check_sentences:
            self._close_checked(sentence, cited, norm, out_boundary, out)
            return
        if self._held:
            out.append(self._held)
            self._held = ""
        self._sentence, self._sentence_cited = "", False
        if len(norm) >= MIN_SENTENCE_CHARS:
            self._seen.append(norm)
        marker = ""
        if not cited and self.attribute and len(sentence.strip()) >= MIN_SENTENCE_CHARS:
            n = self._best_passage(sentence)
            if n is not None:
                marker = f"{'' if sentence.endswith(' ') else ' '}[{self._number(n)}]"
                self.attributed += 1
        out.append(marker + (out_boundary or ""))

    def _close_checked(self, sentence: str, cited: bool, norm: str, boundary: str | None, out: list[str]) -> None:
        """Send a held sentence after the markup and article-number checks (or drop it)."""
        held, self._held = self._held, ""
        self._sentence, self._sentence_cited = "", False
        text = strip_markup(held)
        plain = _TOKEN.sub("", text)
        if not plain.strip():
            if boundary == "\n" and self.text + "".join(out):
                out.append(boundary)
            return
        if len(norm) >= MIN_SENTENCE_CHARS:
            self._seen.append(norm)
        passages = [int(p) for p in _TOKEN.findall(text)]
        if not passages and self.attribute and len(sentence.strip()) >= MIN_SENTENCE_CHARS:
            n = self._best_passage(sentence)
            if n is not None:
                text = text.rstrip() + f" \x00{n}\x00"
                passages.append(n)
                self.attributed += 1
        for label in dict.fromkeys(article_labels(plain)):
            if any(names_article(self.hits[p - 1], label) for p in passages):
                continue
            # the passage that is that article first, else one whose text names it
            holder = next((i + 1 for i, h in enumerate(self.hits) if label in article_labels(h.anchor)), None)
            if holder is None:
                holder = next((i + 1 for i, h in enumerate(self.hits) if names_article(h, label)), None)
            if holder is None:  # an article no passage names: never shown to the user
                self.articles_removed += 1
                return
            text = text.rstrip() + f" \x00{holder}\x00"
            passages.append(holder)
            self.articles_cited += 1
        text = _TOKEN.sub(lambda m: f"[{self._number(int(m.group(1)))}]", text)
        text = re.sub(r"(\[\d+\])(?:\s*\1)+", r"\1", text)  # the same marker twice in a row
        if not self.text and not out:
            text = text.lstrip()
        out.append(text + (boundary or ""))

    def _resolve(self, numbers: str) -> str:
        refs = [int(x) for x in re.split(r"\s*[,，]\s*", numbers.strip()) if x]
        if not self._started:  # a marker before any text labels nothing
            self.dropped += len(refs)
            return ""
        kept = []
        for n in refs:
            if 1 <= n <= len(self.hits):
                # with check_sentences the number is given when the sentence is sent
                kept.append(f"\x00{n}\x00" if self.check_sentences else f"[{self._number(n)}]")
            else:
                self.dropped += 1
        if not kept:
            return ""
        self._sentence_cited = True
        return "".join(dict.fromkeys(kept))

    def _number(self, passage: int) -> int:
        if passage not in self.display:
            self.display[passage] = len(self.display) + 1
        return self.display[passage]

    def _best_passage(self, sentence: str) -> int | None:
        grams = bigrams(sentence)
        if not grams:
            return None
        best, best_score = None, 0.0
        for i, pg in enumerate(self._passage_grams):
            score = len(grams & pg) / len(grams)
            if score > best_score:
                best, best_score = i + 1, score
        return best if best_score >= self.min_overlap else None

    # -- result ----------------------------------------------------------------------------
    def citations(self) -> list[Citation]:
        by_display = sorted(self.display.items(), key=lambda kv: kv[1])
        return [Citation.from_hit(d, self.hits[p - 1]) for p, d in by_display]


def markers_in(text: str) -> set[int]:
    """Every number used in a ``[n]`` marker of ``text``."""
    found: set[int] = set()
    for m in _MARKER.finditer(text):
        found.update(int(x) for x in re.split(r"\s*[,，]\s*", m.group(1)) if x)
    return found
