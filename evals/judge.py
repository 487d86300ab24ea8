"""An LLM judge of answer correctness, through the same OpenAI-compatible client Nuri answers
with (any vLLM or llama.cpp server; ``eval.judge``). It reads the question, the reference answer
and Nuri's answer and says 정답/오답 with a reason; ``judge_correctness`` is the share of 정답.

The prompts are ``evals/prompts/judge_system.txt`` and ``judge_user.txt``.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files

from assistant.llm_client import ChatMessage, LLMClient, ModelPrompt
from assistant.prompts import render
from assistant.settings import LLMSettings
from evals.settings import JudgeSettings

_PROMPTS = files("evals") / "prompts"


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
