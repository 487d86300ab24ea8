"""The RAG orchestrator: question -> (follow-up rewrite) -> hybrid retrieval -> prompt -> model ->
answer with validated ``[n]`` citations, or a polite refusal when nothing relevant was found.

``stream`` yields :class:`AnswerEvent` deltas as the model writes (the API's SSE and the
Gradio chat use it) and a final ``done`` event with the :class:`Answer`; ``ask`` returns just
the answer. The same code runs against the bundled llama.cpp server and against vLLM: only
``llm.mode`` (chat for instruction models, completion for base models) changes the prompt.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from assistant.answerability import (
    AnswerabilityFeatures,
    answerability_features,
    unanswerable_probability,
    unanswered_types,
)
from assistant.answers import Answer, AnswerEvent, AnswerTrace, Citation, HistoryTurn, final_answer
from assistant.citations import CitationTracker
from assistant.errors import InvalidQuestionError
from assistant.extractive import Quote, SentencePicker, compose
from assistant.llm_client import LLMClient, ModelPrompt
from assistant.prompts import Lang, PromptBook, Turn, detect_language
from assistant.settings import AnswerSettings
from guardrails.pipeline import PassageScreen
from retrieval.index import NuriIndex
from retrieval.types import Hit, Principal, SearchFilters

log = logging.getLogger("nuri.orchestrator")


@dataclass(slots=True)
class Prepared:
    """A question made ready for the model (see :meth:`Orchestrator.prepare`)."""

    question: str
    lang: Lang
    trace: AnswerTrace
    started: float
    passages: list[Hit] = field(default_factory=list)
    prompt: ModelPrompt | None = None  # model mode: what the model is sent
    refuse: str | None = None  # why Nuri refuses without calling the model (None: it answers)
    quotes: list[Quote] = field(default_factory=list)  # the passages' sentences, best first
    flagged: set[int] = field(default_factory=set)  # passages kept as data despite addressing the model


def checked_question(question: str | None, max_chars: int) -> str:
    """The question stripped; InvalidQuestionError (400) when blank or over ``max_chars``."""
    question = (question or "").strip()
    if not question:
        raise InvalidQuestionError("질문이 비어 있습니다")
    if len(question) > max_chars:
        raise InvalidQuestionError(f"질문이 너무 깁니다 ({len(question)}자 > {max_chars}자)")
    return question


def passages_for(hits: list[Hit], floor: float) -> list[Hit]:
    """The hits given to the answer, in rank order: those similar enough to the question (at least the best)."""
    kept = [h for h in hits if h.relevance is not None and h.relevance >= floor]
    if not kept:
        kept = [max(hits, key=lambda h: h.relevance or 0.0)]
    return kept


def measure_answerability(
    index: NuriIndex, question: str, relevance: float, passages: list[Hit], quotes: list[Quote]
) -> AnswerabilityFeatures:
    """The answerability model's features (``quotes``: :meth:`SentencePicker.candidates`)."""
    terms = index.sparse.terms_many([question, *(h.text for h in passages)])
    best = (quotes[0].cosine, quotes[0].lexical) if quotes else None
    return answerability_features(question, relevance, best, terms[0], terms[1:], [h.text for h in passages])


class Orchestrator:
    def __init__(
        self,
        index: NuriIndex,
        llm: LLMClient,
        settings: AnswerSettings,
        prompts: PromptBook,
        screen_passages: Callable[[list[str]], PassageScreen] | None = None,
    ) -> None:
        self.index, self.llm, self.settings = index, llm, settings
        self.prompts = prompts
        self.screen_passages = screen_passages  # the context guardrail (instructions hidden in documents)
        self.picker = SentencePicker(index.embedder, index.sparse, settings.extractive)

    def ask(
        self,
        question: str,
        history: Sequence[HistoryTurn] = (),
        filters: SearchFilters | None = None,
        principal: Principal | None = None,
    ) -> Answer:
        return final_answer(self.stream(question, history, filters, principal))

    def prepare(
        self,
        question: str,
        history: Sequence[HistoryTurn] = (),
        filters: SearchFilters | None = None,
        principal: Principal | None = None,
    ) -> Prepared:
        """Everything before the model is called: the question checked, a follow-up rewritten,
        passages retrieved with the caller's permissions, the refusal decided and the prompt
        built (``prompt`` is None when Nuri refuses)."""
        s = self.settings
        question = checked_question(question, s.max_question_chars)
        t0 = time.perf_counter()
        lang = detect_language(question)
        trace = AnswerTrace(language=lang, model=self.llm.model)
        turns = [Turn(t.role, t.content) for t in history if t.content.strip()][-2 * s.max_history_turns :]
        trace.retrieval_query = self._retrieval_query(question, turns, lang)

        t1 = time.perf_counter()
        hits = self.index.search(
            trace.retrieval_query, top_k=s.top_k, filters=filters, principal=principal, with_relevance=True
        )
        trace.retrieval_ms = (time.perf_counter() - t1) * 1000
        trace.hits = hits
        relevances = [h.relevance for h in hits if h.relevance is not None]
        trace.best_relevance = max(relevances) if relevances else None
        prepared = Prepared(question=question, lang=lang, trace=trace, started=t0)
        if trace.best_relevance is None or trace.best_relevance < s.min_relevance:
            prepared.refuse = "no relevant passage"
            return prepared
        prepared.passages = self._passages(hits)
        if self.screen_passages is not None:
            screen = self.screen_passages([h.text for h in prepared.passages])
            trace.guardrails += screen.decisions
            # a passage kept as data ("quote") is shown to the model with a warning; it is never
            # quoted to the user verbatim (an extractive answer would repeat its instruction)
            keep = [i for i in screen.keep if s.generation == "model" or i not in screen.quoted]
            prepared.flagged = {n for n, i in enumerate(keep) if i in screen.quoted}
            prepared.passages = [prepared.passages[i] for i in keep]
            if not prepared.passages:
                prepared.refuse = "every passage was withheld by the context guardrail"
                return prepared
        trace.passages = len(prepared.passages)
        missing = unanswered_types(question, [h.text for h in prepared.passages]) if s.check_asked_values else set()
        if missing:
            prepared.refuse = f"asked value not stated: {', '.join(sorted(missing))}"
            return prepared
        a = s.answerability
        if a.enabled or s.generation == "extractive":
            prepared.quotes = self.picker.candidates(question, prepared.passages)
        if a.enabled:
            features = self.answerability(question, trace.best_relevance or 0.0, prepared.passages, prepared.quotes)
            trace.unanswerable = unanswerable_probability(features, a.weights, a.bias)
            if trace.unanswerable > a.threshold:
                prepared.refuse = f"passages do not answer (p={trace.unanswerable:.2f})"
                return prepared
        if s.generation == "model":
            prepared.prompt = self.prompts.answer(
                question, prepared.passages, lang, self.llm.settings.mode, s.max_passage_chars, prepared.flagged
            )
        return prepared

    def answerability(
        self, question: str, relevance: float, passages: list[Hit], quotes: list[Quote]
    ) -> AnswerabilityFeatures:
        """What the answerability model reads, for ``passages`` and their ranked sentences."""
        return measure_answerability(self.index, question, relevance, passages, quotes)

    def stream(
        self,
        question: str,
        history: Sequence[HistoryTurn] = (),
        filters: SearchFilters | None = None,
        principal: Principal | None = None,
    ) -> Iterator[AnswerEvent]:
        s = self.settings
        prepared = self.prepare(question, history, filters, principal)
        trace, t0 = prepared.trace, prepared.started
        if prepared.refuse is not None:
            yield from self._refuse(prepared)
            return
        if prepared.prompt is None:
            yield from self._quote(prepared)
            return
        tracker = CitationTracker(
            prepared.passages, s.attribute_uncited, s.attribution_min_overlap, check_sentences=s.check_sentences
        )
        deltas = self.llm.stream(prepared.prompt)
        try:
            for delta in deltas:
                out = tracker.feed(delta)
                if out:
                    if trace.first_token_ms is None:
                        trace.first_token_ms = (time.perf_counter() - t0) * 1000
                    yield AnswerEvent("delta", text=out)
                if tracker.repeating:  # the model loops: stop generating
                    log.info("model output repeats itself; generation stopped")
                    break
        finally:
            deltas.close()  # closes the HTTP stream, so the server stops generating too
        tail = tracker.finish()
        if tail:
            yield AnswerEvent("delta", text=tail)
        trace.markers_dropped, trace.markers_attributed = tracker.dropped, tracker.attributed
        trace.articles_removed = tracker.articles_removed
        if not tracker.text.strip():
            yield from self._refuse(prepared)
            return
        trace.total_ms = (time.perf_counter() - t0) * 1000
        answer = Answer(answer=tracker.text, citations=tracker.citations(), refused=False)
        self._log(trace, refused=False, citations=len(answer.citations))
        yield AnswerEvent("done", answer=answer, trace=trace)

    def _quote(self, prepared: Prepared) -> Iterator[AnswerEvent]:
        """An extractive answer: the passages' sentences that answer the question, quoted."""
        x = self.settings.extractive
        quotes = self.picker.pick_from(prepared.quotes)
        if not quotes or quotes[0].cosine < x.min_relevance:
            prepared.refuse = "no sentence answers the question"
            yield from self._refuse(prepared)
            return
        text, order = compose(quotes, prepared.passages, prepared.lang)
        trace = prepared.trace
        trace.first_token_ms = trace.total_ms = (time.perf_counter() - prepared.started) * 1000
        yield AnswerEvent("delta", text=text)
        citations = [Citation.from_hit(n, prepared.passages[p - 1]) for n, p in enumerate(order, start=1)]
        self._log(trace, refused=False, citations=len(citations))
        yield AnswerEvent("done", answer=Answer(answer=text, citations=citations, refused=False), trace=trace)

    def _refuse(self, prepared: Prepared) -> Iterator[AnswerEvent]:
        refusal = self.prompts.refusal(prepared.lang)
        yield AnswerEvent("delta", text=refusal)
        prepared.trace.total_ms = (time.perf_counter() - prepared.started) * 1000
        self._log(prepared.trace, refused=True, reason=prepared.refuse)
        yield AnswerEvent("done", answer=Answer(answer=refusal, citations=[], refused=True), trace=prepared.trace)

    def _passages(self, hits: list[Hit]) -> list[Hit]:
        return passages_for(hits, self.settings.passage_min_relevance)

    def _retrieval_query(self, question: str, turns: list[Turn], lang: Lang) -> str:
        """A standalone query for retrieval: the question itself, or a rewrite of a follow-up."""
        mode = self.settings.rewrite
        if not turns or mode == "off":
            return question
        previous = next((t.content for t in reversed(turns) if t.role == "user"), "")
        if mode == "concat":
            return f"{' '.join(previous.split())[:300]} {question}".strip()
        prompt = self.prompts.rewrite(question, turns, lang, self.llm.settings.mode)
        rewritten = " ".join(self.llm.complete(prompt, max_tokens=96).split())
        if not rewritten or len(rewritten) > max(200, 4 * len(question)):
            log.info("rewrite rejected, using question with previous turn", extra={"rewrite": rewritten[:200]})
            return f"{' '.join(previous.split())[:300]} {question}".strip()
        return rewritten

    def _log(self, trace: AnswerTrace, refused: bool, citations: int = 0, reason: str | None = None) -> None:
        log.info(
            "answer",
            extra={
                "refused": refused,
                "refusal_reason": reason,
                "language": trace.language,
                "best_relevance": None if trace.best_relevance is None else round(trace.best_relevance, 4),
                "passages": trace.passages,
                "citations": citations,
                "markers_dropped": trace.markers_dropped,
                "markers_attributed": trace.markers_attributed,
                "articles_removed": trace.articles_removed,
                "unanswerable": None if trace.unanswerable is None else round(trace.unanswerable, 3),
                "retrieval_ms": round(trace.retrieval_ms, 1),
                "first_token_ms": None if trace.first_token_ms is None else round(trace.first_token_ms, 1),
                "total_ms": round(trace.total_ms, 1),
                "model": trace.model,
            },
        )
