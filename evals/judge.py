"""An LLM judge of answer correctness, through the same OpenAI-compatible client Nuri answers
with (any vLLM or llama.cpp server; ``eval.judge``). It reads the question, the reference answer
and Nuri's answer and says 정답/오답 with a reason; ``judge_correctness`` is the share of 정답.

The prompts are ``evals/prompts/judge_system.txt`` and ``judge_user.txt``.

Small judges overlook a wrong number ("주 5일" for "주 2일": the bundled 1.5B model called it
정답), so a rule runs first: when the answer states a quantity in a unit the reference also
uses (일, 개월, 년, 원, 명, 회, 시간, %, …) and none of the answer's values in that unit is one
of the reference's, the verdict is 오답 without asking the model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.resources import files

from assistant.llm_client import ChatMessage, LLMClient, ModelPrompt
from assistant.prompts import render
from assistant.settings import LLMSettings
from evals.settings import JudgeSettings

_PROMPTS = files("evals") / "prompts"
_QUANTITY = re.compile(r"(\d[\d,]*(?:\.\d+)?)\s*(만\s*원|억\s*원|원|개월|일|년|시간|분|명|회|세|퍼센트|%|배|급|층)")


def quantities(text: str) -> dict[str, set[str]]:
    """unit -> the values ``text`` states in it ("주 2일, 300만원" -> {"일": {"2"}, "만원": {"300"}})."""
    found: dict[str, set[str]] = {}
    for value, unit in _QUANTITY.findall(text):
        found.setdefault(unit.replace(" ", ""), set()).add(value.replace(",", ""))
    return found


def wrong_quantity(reference: str, answer: str) -> str | None:
    """A quantity of the answer that contradicts the reference, described; or None."""
    ref, ans = quantities(reference), quantities(answer)
    for unit, values in ans.items():
        if unit in ref and not values & ref[unit]:
            return f"{'/'.join(sorted(values))}{unit} ≠ {'/'.join(sorted(ref[unit]))}{unit}"
    return None


@dataclass(frozen=True, slots=True)
class Verdict:
    correct: bool
    text: str


class Judge:
    def __init__(self, settings: JudgeSettings) -> None:
        if not settings.base_url:
            raise ValueError("eval.judge.base_url is not set")
        llm = LLMSettings(
            model=settings.model,
            api_key=settings.api_key,
            mode="chat",
            max_tokens=settings.max_tokens,
            temperature=0.0,
            timeout_s=settings.timeout_s,
        )
        self.client = LLMClient(llm, [settings.base_url])
        self.system = (_PROMPTS / "judge_system.txt").read_text(encoding="utf-8").strip()
        self.user = (_PROMPTS / "judge_user.txt").read_text(encoding="utf-8").strip()
        self.model = settings.model

    def verdict(self, question: str, reference: str, answer: str) -> Verdict:
        mismatch = wrong_quantity(reference, answer)
        if mismatch is not None:
            return Verdict(False, f"오답 (규칙: 참고 답변과 수치가 다릅니다: {mismatch})")
        prompt = ModelPrompt(
            messages=[
                ChatMessage("system", self.system),
                ChatMessage("user", render(self.user, question=question, reference=reference, answer=answer)),
            ]
        )
        text = self.client.complete(prompt).strip()
        first = text.splitlines()[0] if text else ""
        # "오답" is checked first: a verdict line such as "정답이 아님" / "오답" must not count as correct.
        correct = "오답" not in first and ("정답" in first or first.lower().startswith("correct"))
        return Verdict(correct, " ".join(text.split())[:300])
