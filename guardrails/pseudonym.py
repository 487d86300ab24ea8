"""Reversible pseudonymisation: personal data replaced by consistent placeholders before a text
goes to the model (``<성명_1>``, ``<전화번호_1>``; the same value gets the same placeholder for
the whole conversation), and put back in the answer shown to the caller who typed it.

The map from placeholders to values lives only in the :class:`Pseudonymiser` object, in memory,
for one conversation or request: it is not logged, not serialised (pickling and copying refuse)
and not part of its ``repr``. Drop the object (or call :meth:`Pseudonymiser.forget`) and the
values are gone; the audit log and the model only ever see the placeholders.

Streaming: an answer arrives in deltas and a placeholder can be split across two of them
("…<성명" + "_1>님께…"). :class:`StreamRestorer` holds back a possible partial placeholder at the
end of a delta until the next one (or :meth:`StreamRestorer.flush`) decides it.

Restoring tolerates what a model does to a placeholder: full-width or angle brackets (＜성명_1＞,
〈성명_1〉), a space instead of the underscore (<성명 1>). Placeholders the map does not know
are left as they are.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal, NoReturn

from guardrails.pii import PII_LABELS, PiiSpan

_OPEN = "<＜〈"
_CLOSE = ">＞〉"
_MAX_PLACEHOLDER = 32  # longest possible partial placeholder held back while streaming


def _normalised(kind: str, value: str) -> str:
    """The identity of a value for "same value, same placeholder": digits of numbers (with +82
    as 0), case-folded emails and passport/IP values, names and addresses without spacing."""
    if kind in ("rrn", "arn", "card", "brn", "driver_license", "bank_account", "phone"):
        digits = "".join(c for c in value if c.isdigit())
        if kind == "phone" and value.lstrip().startswith(("+82", "0082")):
            digits = "0" + digits[len("0082") if value.lstrip().startswith("0082") else 2 :]
        prefix = "".join(c for c in value if "가" <= c <= "힣") if kind == "driver_license" else ""
        return prefix + digits
    if kind in ("email", "ip", "passport"):
        return value.strip().casefold()
    return "".join(value.split())


class Pseudonymiser:
    """Placeholders for one conversation (or one request): create one per conversation, give
    it the spans :meth:`guardrails.pii.PiiDetector.find` found, send the result to the model,
    and :meth:`restore` the answer (or stream it through :meth:`restorer`)."""

    def __init__(self, labels: Literal["ko", "en"] = "ko") -> None:
        self._labels = labels
        self._by_value: dict[tuple[str, str], str] = {}
        self._values: dict[str, str] = {}  # placeholder -> original text (first form seen)
        self._counts: dict[str, int] = {}
        self._pattern: re.Pattern[str] | None = None

    def __repr__(self) -> str:
        return f"Pseudonymiser({len(self._values)} values)"

    def __len__(self) -> int:
        return len(self._values)

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Pseudonymiser holds personal data in clear: it is not pickled or copied")

    def __copy__(self) -> NoReturn:
        self.__reduce__()

    def __deepcopy__(self, memo: object) -> NoReturn:
        self.__reduce__()

    @property
    def placeholders(self) -> list[str]:
        """The placeholders handed out so far (no values)."""
        return list(self._values)

    def _label(self, kind: str) -> str:
        label = PII_LABELS[kind]
        return label.ko if self._labels == "ko" else label.en.replace(" ", "_").replace("'", "")

    def placeholder_for(self, span: PiiSpan) -> str:
        """The placeholder of ``span``'s value, a new one for a value not seen before."""
        key = (span.type, _normalised(span.type, span.text))
        found = self._by_value.get(key)
        if found is not None:
            return found
        label = self._label(span.type)
        n = self._counts.get(label, 0) + 1
        self._counts[label] = n
        ph = f"<{label}_{n}>"
        self._by_value[key] = ph
        self._values[ph] = span.text
        self._pattern = None
        return ph

    def pseudonymise(self, text: str, spans: Sequence[PiiSpan]) -> str:
        """``text`` with every span (non-overlapping, as found in this ``text``) replaced by
        its placeholder."""
        parts: list[str] = []
        pos = 0
        for s in sorted(spans, key=lambda s: s.start):
            if s.start < pos:
                raise ValueError("overlapping spans")
            parts += [text[pos : s.start], self.placeholder_for(s)]
            pos = s.end
        parts.append(text[pos:])
        return "".join(parts)

    def _regex(self) -> re.Pattern[str]:
        if self._pattern is None:
            labels = sorted({ph[1:].rsplit("_", 1)[0] for ph in self._values}, key=len, reverse=True)
            alternation = "|".join(re.escape(label) for label in labels) or r"(?!x)x"
            self._pattern = re.compile(
                rf"[{_OPEN}]\s?(?P<label>{alternation})\s?[_\s]?\s?(?P<n>\d{{1,4}})\s?[{_CLOSE}]"
            )
        return self._pattern

    def restore(self, text: str) -> str:
        """``text`` with every known placeholder replaced by its original value."""
        if not self._values:
            return text

        def put_back(m: re.Match[str]) -> str:
            return self._values.get(f"<{m.group('label')}_{int(m.group('n'))}>", m.group())

        return self._regex().sub(put_back, text)

    def partial_start(self, text: str) -> int:
        """Where a placeholder that may still be completing starts at the end of ``text``
        (``len(text)`` if there is none)."""
        i = max(text.rfind(c) for c in _OPEN)
        if i < 0 or len(text) - i > _MAX_PLACEHOLDER or any(c in text[i:] for c in _CLOSE):
            return len(text)
        rest = text[i + 1 :].lstrip()
        for ph in self._values:
            label = ph[1:].rsplit("_", 1)[0]
            if label.startswith(rest) or (
                rest.startswith(label) and re.fullmatch(r"\s?[_\s]?\s?\d{0,4}\s?", rest[len(label) :])
            ):
                return i
        return len(text)

    def restorer(self) -> StreamRestorer:
        """A restorer for one streamed answer."""
        return StreamRestorer(self)

    def forget(self) -> None:
        """Drop every value (the end of the conversation)."""
        self._by_value.clear()
        self._values.clear()
        self._counts.clear()
        self._pattern = None


class StreamRestorer:
    """Restores placeholders in a streamed answer: :meth:`feed` each delta and send what it
    returns; :meth:`flush` at the end sends what was held back."""

    def __init__(self, pseudonymiser: Pseudonymiser) -> None:
        self._p = pseudonymiser
        self._held = ""

    def feed(self, delta: str) -> str:
        text = self._held + delta
        cut = self._p.partial_start(text)
        self._held = text[cut:]
        return self._p.restore(text[:cut])

    def flush(self) -> str:
        text, self._held = self._held, ""
        return self._p.restore(text)
