"""The guardrail pipeline: named checks at three points of an exchange, configured in
``configs/guardrails.yaml`` (the ``guardrails:`` block).

* **Input** (:meth:`Guardrails.screen_input`): personal data in the question and the history is
  masked or pseudonymised before anything else sees it (model, logs, audit); prompt injection
  and jailbreaks (rules over normalised text plus a classifier over the question's embedding)
  and off-policy requests are refused with a clear message.
* **Context** (:meth:`Guardrails.screen_passages`): a retrieved passage that issues instructions
  to the model is flagged, and dropped, quoted as data or only reported (``context.action``).
* **Output** (:class:`OutputGuard`): personal data in the answer that the caller did not supply
  is masked; pseudonyms are put back for the caller who typed the values.

Every decision is a :class:`~guardrails.decisions.GuardrailDecision` (check name, action,
Korean and English reason): it reaches the API response, the chat and the audit record.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from guardrails.context import ContextGuard
from guardrails.decisions import GuardrailDecision
from guardrails.injection import (
    INJECTION_REFUSAL_EN,
    INJECTION_REFUSAL_KO,
    InjectionDetector,
    InjectionModel,
    QueryEncoder,
    match_rules,
)
from guardrails.pii import PII_LABELS, PiiDetector, PiiSpan, mask
from guardrails.policy import PolicyChecker
from guardrails.pseudonym import Pseudonymiser, StreamRestorer
from guardrails.settings import GuardrailSettings

log = logging.getLogger("nuri.guardrails")

Lang = Literal["ko", "en"]


def describe(settings: GuardrailSettings) -> str:
    """One line naming the policy in force (recorded with every eval run)."""
    parts = [
        f"pii={settings.pii.action if settings.pii.enabled else 'off'}",
        f"injection={settings.injection.action if settings.injection.enabled else 'off'}",
        f"policy={'block' if settings.policy.enabled else 'off'}",
        f"context={settings.context.action if settings.context.enabled else 'off'}",
        f"output_pii={'mask' if settings.output.mask_pii else 'off'}",
    ]
    return ",".join(parts)


@dataclass
class InputScreen:
    """What the input checks made of a question: ``question``/``history`` go on to retrieval and
    the model (masked or pseudonymised), ``masked_question`` to logs and the audit trail (always
    masked), ``refusal`` (when set) is shown instead of an answer."""

    question: str
    history: list[str]
    masked_question: str
    decisions: list[GuardrailDecision] = field(default_factory=list)
    refusal: str | None = None
    pseudonymiser: Pseudonymiser | None = None
    pii: list[PiiSpan] = field(default_factory=list)  # spans of the question (offsets into the original)
    supplied: frozenset[str] = frozenset()  # the caller's own personal data values (normalised), in memory only

    @property
    def blocked(self) -> bool:
        return self.refusal is not None


@dataclass
class PassageScreen:
    """Which passages may reach the model (``keep``) and which are to be quoted strictly as data."""

    keep: list[int]
    quoted: list[int]
    decisions: list[GuardrailDecision] = field(default_factory=list)


def _value(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalnum())


#: Masked passage texts remembered per Guardrails (~2 kB each: a few MB).
MASKED_PASSAGES_CACHED = 2048


class Guardrails:
    """The checks, built once per server (the classifier's weights, Kiwi for names) and shared
    by every request; thread-safe (per-request state lives in :class:`InputScreen`)."""

    def __init__(
        self,
        settings: GuardrailSettings,
        encoder: QueryEncoder | None = None,
        injection_model: InjectionModel | None = None,
    ) -> None:
        """``injection_model``: the classifier fitted for ``encoder`` when it is not the bundled
        one's (``assistant.embedder_fit``); default: the bundled model or ``model_path``."""
        self.settings = settings
        self.encoder = encoder
        self.pii = PiiDetector(settings.pii)
        self.injection = (
            InjectionDetector(settings.injection, encoder, injection_model) if settings.injection.enabled else None
        )
        self.policy = PolicyChecker(settings.policy, encoder) if settings.policy.enabled else None
        self.context = ContextGuard(settings.context)
        # Passages leave the service again and again (the same chunks answer many questions);
        # finding names with Kiwi costs ~10-30 ms a passage, so their masked text is remembered.
        self._masked_passages = functools.lru_cache(maxsize=MASKED_PASSAGES_CACHED)(self.mask)

    def warm_up(self) -> None:
        self.pii.warm_up()

    def find(self, text: str) -> list[PiiSpan]:
        """Personal data in ``text`` as it leaves the service (an answer, a passage): what
        :meth:`PiiDetector.find` finds, plus numbers written to slip past it: spread out one
        digit per line or per space ("0\\n1\\n0\\n1\\n2…", "9 0 0 1 0 1 - 1 …") and Hangul digit
        words ("공일공 일이삼사 오육칠팔"), each counted only when it makes a real personal data
        format once joined (:func:`spread_numbers`). Non-overlapping, by start."""
        return _merge(self.pii.find(text), spread_numbers(text, self.pii))

    def mask(self, text: str) -> str:
        """``text`` with every personal data value masked (what logs and the audit trail keep)."""
        return mask(text, self.find(text))

    def mask_output(self, text: str) -> str:
        """``text`` as it may leave the service (a passage quoted in citations, a search hit, a
        source shown in the chat): its personal data masked when ``output.mask_pii`` is on,
        for every caller (a value the caller typed is masked in a passage too: a search must
        not confirm that a document holds it)."""
        return self._masked_passages(text) if self.settings.output.mask_pii and text else text

    # -- input -----------------------------------------------------------------------------
    def screen_input(self, question: str, history: Sequence[str] = (), lang: Lang = "ko") -> InputScreen:
        """Mask/pseudonymise personal data, then refuse attacks and off-policy requests.

        Each turn (the question, each earlier message) is cut to its first
        ``injection.max_chars`` characters first: every check reads the same text, and what
        goes on to retrieval and the model is what was checked (the service's own limits,
        ``answer.max_question_chars`` and ``answer.max_turn_chars``, are within it)."""
        question, history = self._bounded(question), [self._bounded(t) for t in history]
        pseudo = Pseudonymiser(lang) if self.settings.pii.action == "pseudonymise" else None
        outcome = self.pii.apply(question, pseudo)
        spans = list(outcome.spans)
        turns = [self.pii.apply(t, pseudo) for t in history]
        all_spans = [*spans, *(s for t in turns for s in t.spans)]
        screen = InputScreen(
            question=outcome.text,
            history=[t.text for t in turns],
            masked_question=mask(question, spans),
            pseudonymiser=pseudo,
            pii=spans,
            supplied=frozenset(_value(s.text) for s in all_spans),
        )
        if all_spans:
            types = list(dict.fromkeys(s.type for s in all_spans))
            screen.decisions.append(
                GuardrailDecision(
                    name="pii",
                    action=self.settings.pii.action,
                    reason=outcome.notice("ko") or _notice(types, self.settings.pii.action, "ko"),
                    reason_en=outcome.notice("en") or _notice(types, self.settings.pii.action, "en"),
                )
            )
            if outcome.blocked or any(t.blocked for t in turns):
                screen.refusal = screen.decisions[-1].reason if lang == "ko" else screen.decisions[-1].reason_en
                return screen
        vector = self._vector(screen.question)
        if self.injection is not None:
            result = self.injection.check(screen.question, vector)
            worst = result if result.acted else self._history_attack(screen.history)
            if worst is not None:
                screen.decisions.append(worst)
                if worst.blocked:
                    screen.refusal = INJECTION_REFUSAL_KO if lang == "ko" else INJECTION_REFUSAL_EN
                    return screen
        if self.policy is not None:
            verdict = self.policy.check(screen.question, vector)
            if verdict.acted:
                screen.decisions.append(verdict)
                if verdict.blocked:
                    screen.refusal = self.policy.refusal(lang, verdict)
        return screen

    def _bounded(self, text: str) -> str:
        """``text`` cut to ``injection.max_chars`` when any input check is on (the checks' cost
        grows with the text: bounded per turn, whatever a caller sends)."""
        s = self.settings
        if s.pii.enabled or s.injection.enabled or s.policy.enabled:
            return text[: s.injection.max_chars]
        return text

    def _history_attack(self, history: Sequence[str]) -> GuardrailDecision | None:
        """Earlier turns are checked by the rules only (no embedding per turn): an attack planted
        in a forged history is refused like one in the question. Each turn is analysed once."""
        assert self.injection is not None
        for turn in history:
            if match_rules(self.injection.analyse(turn)):
                return self.injection.check(turn)
        return None

    def _vector(self, text: str) -> np.ndarray | None:
        """The question's query embedding (the search encodes the same text: the embedder
        remembers it, so the classifier costs a dot product)."""
        if self.encoder is None or not text.strip():
            return None
        return self.encoder.embed_query(text)

    def scan(self, text: str, lang: Lang = "ko") -> dict[str, object]:
        """The input checks on one text, as ``nuri guard scan --json`` prints them: the overall
        ``action`` (block > mask/pseudonymise > warn > allow), every enabled check with its
        decision, the personal data found (character offsets into ``text``, no values) and the
        masked text."""
        screen = self.screen_input(text, (), lang)
        decided = {d.name: d for d in screen.decisions}
        checks = []
        for name, on in (
            ("pii", self.settings.pii.enabled),
            ("injection", self.injection is not None),
            ("policy", self.policy is not None),
        ):
            if on:
                d = decided.get(name)
                checks.append({"name": name, "action": d.action if d else "allow", "reason": d.reason if d else ""})
        actions = {c["action"] for c in checks}
        overall = next((a for a in ("block", "mask", "pseudonymise", "warn") if a in actions), "allow")
        return {
            "action": "mask" if overall == "pseudonymise" else overall,
            "checks": checks,
            "pii": [s.redacted() for s in screen.pii],
            "masked": screen.masked_question,
        }

    # -- context ---------------------------------------------------------------------------
    def screen_passages(self, texts: Sequence[str]) -> PassageScreen:
        """Passages that issue instructions to the model: flagged and handled per ``context.action``."""
        keep, quoted, decisions = [], [], []
        for i, text in enumerate(texts):
            result = self.context.check(text)
            if not result.acted:
                keep.append(i)
                continue
            decisions.append(
                result.model_copy(update={"reason": f"자료 {i + 1}: {result.reason}",
                                          "reason_en": f"Passage {i + 1}: {result.reason_en}"})
            )  # fmt: skip
            if result.action != "drop":
                keep.append(i)
                if result.action == "quote":
                    quoted.append(i)
        return PassageScreen(keep=keep, quoted=quoted, decisions=decisions)

    # -- output ----------------------------------------------------------------------------
    def output(self, screen: InputScreen) -> OutputGuard:
        return OutputGuard(self, screen)


_SENTENCE_END = re.compile(r"(?:[.!?。]|다\.)\s|\n")

# -- numbers spread out or written in Hangul digit words ------------------------------------------

#: Hangul digit words (Sino-Korean): 공일공 일이삼사 오육칠팔 = 010 1234 5678.
HANGUL_DIGITS = {"영": "0", "공": "0", "일": "1", "이": "2", "삼": "3", "사": "4", "오": "5", "육": "6", "륙": "6",
                 "칠": "7", "팔": "8", "구": "9"}  # fmt: skip
#: Fewest digit words (or spread digits) read as a number: shorter runs are ordinary words
#: ("이 사업은 일이 많다", "삼일절") and no personal data format is that short.
MIN_SPREAD_DIGITS = 7
_SEPARATORS = r"[\s\-.‐‑–]"
_DIGIT_WORDS = "".join(HANGUL_DIGITS)
_HANGUL_DIGIT_RUN = re.compile(rf"[{_DIGIT_WORDS}](?:{_SEPARATORS}*+[{_DIGIT_WORDS}])*")
_DIGIT_RUN = re.compile(rf"\d(?:{_SEPARATORS}*+\d)+")
_GROUPS = re.compile(rf"{_SEPARATORS}+")
#: what is found in a joined number: the number types (names and addresses come from the plain pass)
_NUMBER_TYPES = frozenset({"rrn", "arn", "card", "brn", "driver_license", "passport", "phone", "bank_account", "ip"})


def _spread(run: str) -> bool:
    """A run of digits written apart: whitespace inside, at least MIN_SPREAD_DIGITS digits, and
    most of its groups single digits ("0 1 0 - 1 2 3 4", one per line), not "010 1234 5678"
    (which the plain pass reads as it is)."""
    groups = [g for g in _GROUPS.split(run) if g]
    digits = sum(len(g) for g in groups)
    return (
        digits >= MIN_SPREAD_DIGITS
        and any(c.isspace() for c in run)
        and 2 * sum(len(g) == 1 for g in groups) >= len(groups)
    )


def spread_numbers(text: str, pii: PiiDetector) -> list[PiiSpan]:
    """Personal data numbers in ``text`` that only show once Hangul digit words are read as
    digits and digits spread out one per line or per space are joined (the whitespace inside
    such a run dropped; hyphens kept). Each span covers the original characters. A run counts
    only when the joined text holds a real personal data format (a phone number with a real
    prefix, a 주민등록번호 with its check digit or cue, a Luhn-valid card number, …)."""
    if not any(c.isdigit() or c in HANGUL_DIGITS for c in text):
        return []
    chars = list(text)
    changed = False
    for m in _HANGUL_DIGIT_RUN.finditer(text):
        if sum(c in HANGUL_DIGITS for c in m.group()) >= MIN_SPREAD_DIGITS:
            for i in range(m.start(), m.end()):
                chars[i] = HANGUL_DIGITS.get(chars[i], chars[i])
            changed = True
    digits = "".join(chars)
    keep = [True] * len(chars)
    regions: list[tuple[int, int]] = []  # original offsets of the runs rewritten
    for m in _DIGIT_RUN.finditer(digits):
        if _spread(m.group()):
            for i in range(m.start(), m.end()):
                if digits[i].isspace():
                    keep[i] = False
            regions.append((m.start(), m.end()))
            changed = True
    if not changed:
        return []
    regions += [
        (m.start(), m.end()) for m in _HANGUL_DIGIT_RUN.finditer(text) if m.group() != digits[m.start() : m.end()]
    ]
    origin = [i for i, k in enumerate(keep) if k]
    joined = "".join(digits[i] for i in origin)
    found: list[PiiSpan] = []
    for span in pii.find(joined):
        if span.type not in _NUMBER_TYPES:
            continue
        start, end = origin[span.start], origin[span.end - 1] + 1
        if any(start < r_end and r_start < end for r_start, r_end in regions):
            found.append(PiiSpan(start, end, span.type, text[start:end]))
    return found


def _merge(plain: Sequence[PiiSpan], extra: Sequence[PiiSpan]) -> list[PiiSpan]:
    """``plain`` (non-overlapping) and the ``extra`` spans that overlap none of them, by start."""
    if not extra:
        return list(plain)
    out = list(plain)
    for span in sorted(extra, key=lambda s: s.start - s.end):
        if all(span.end <= o.start or span.start >= o.end for o in out):
            out.append(span)
    return sorted(out, key=lambda s: s.start)


class OutputGuard:
    """Streams an answer through the output checks: personal data the caller did not supply is
    masked (sentence by sentence, so a number split across deltas is still seen whole; a number
    spread over lines is held until it ends), then the caller's pseudonyms are put back.
    :attr:`audit_text` is the answer as the audit trail is to keep it: masked, pseudonyms not
    restored (a name the question's context revealed never reaches the trail)."""

    def __init__(self, guard: Guardrails, screen: InputScreen) -> None:
        self.guard, self.screen = guard, screen
        self._buffer = ""
        self._restorer: StreamRestorer | None = screen.pseudonymiser.restorer() if screen.pseudonymiser else None
        self.masked: list[str] = []  # types masked so far
        self._audited: list[str] = []  # what was emitted, before the pseudonyms were put back

    @property
    def audit_text(self) -> str:
        """The answer so far, masked and still pseudonymised (for the audit record)."""
        return "".join(self._audited)

    def feed(self, delta: str) -> str:
        self._buffer += delta
        cut = max((m.end() for m in _SENTENCE_END.finditer(self._buffer)), default=0)
        cut = _before_number_run(self._buffer, cut)
        if not cut:
            return ""
        ready, self._buffer = self._buffer[:cut], self._buffer[cut:]
        return self._emit(ready)

    def flush(self) -> str:
        ready, self._buffer = self._buffer, ""
        out = self._emit(ready) if ready else ""
        if self._restorer is not None:
            out += self._restorer.flush()
        return out

    def _emit(self, text: str) -> str:
        if self.guard.settings.output.mask_pii:
            foreign = [s for s in self.guard.find(text) if _value(s.text) not in self.screen.supplied]
            if foreign:
                self.masked += [s.type for s in foreign]
                text = mask(text, foreign)
        self._audited.append(text)
        return self._restorer.feed(text) if self._restorer is not None else text

    def decisions(self) -> list[GuardrailDecision]:
        if not self.masked:
            return []
        types = list(dict.fromkeys(self.masked))
        return [
            GuardrailDecision(
                name="output_pii", action="mask", stage="output",
                reason=f"답변에 있던 개인정보({_labels(types, 'ko')})를 가렸습니다.",
                reason_en=f"Personal data in the answer masked: {_labels(types, 'en')}.",
            )
        ]  # fmt: skip


_RUN_CHARS = frozenset("0123456789-.‐‑–") | frozenset(HANGUL_DIGITS)


def _before_number_run(text: str, cut: int) -> int:
    """``cut``, or the start of a run of digits, digit words and separators that ends right
    there (a number written one digit per line is held until it ends, then checked whole)."""
    i = cut
    while i > 0 and (text[i - 1] in _RUN_CHARS or text[i - 1].isspace() or text[i - 1].isdigit()):
        i -= 1
    if i < cut and any(c.isdigit() or c in HANGUL_DIGITS for c in text[i:cut]):
        return i
    return cut


def _labels(types: Sequence[str], lang: Lang) -> str:
    return ", ".join(PII_LABELS[t].ko if lang == "ko" else PII_LABELS[t].en for t in types)


def _notice(types: Sequence[str], action: str, lang: Lang) -> str:
    return f"{_labels(types, lang)}: {action}"
