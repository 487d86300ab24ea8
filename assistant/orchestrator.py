"""The RAG orchestrator: a checked :class:`~assistant.question.Question` -> (follow-up rewrite) ->
hybrid retrieval -> the context guardrail on the passages -> prompt -> model -> answer with
validated ``[n]`` citations (or the passages' sentences quoted), or a polite refusal when nothing
relevant was found.

``stream`` yields :class:`AnswerEvent` deltas as the model writes and a final ``done`` event with
the :class:`Answer` and its :class:`AnswerTrace` (whose ``decisions`` hold the context and grounding
checks); ``ask`` returns just the answer. The input and output guardrails and the audit record are
the service's (:class:`~assistant.service.NuriService`). The same code runs against the bundled
llama.cpp server and against vLLM: only ``llm.mode`` (chat for instruction models, completion for
base models) changes the prompt.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from assistant.answerability import (
    AnswerabilityFeatures,
    answerability_features,
    unanswerable_probability,
    unanswered_types,
)
from assistant.answers import Answer, AnswerEvent, AnswerTrace, Citation, HistoryTurn, final_answer
from assistant.citations import CitationTracker
from assistant.extractive import Quote, SentencePicker, compose
from assistant.llm_client import LLMClient, ModelPrompt
from assistant.prompts import PromptBook
from assistant.question import Question, QuestionLimits
from assistant.settings import AnswerSettings
from guardrails.pipeline import Guardrails
from retrieval.index import NuriIndex
from retrieval.types import Hit, Principal, SearchFilters

log = logging.getLogger("nuri.orchestrator")


@dataclass(slots=True)
class Prepared:
    """A question made ready for the model (see :meth:`Orchestrator.prepare`)."""

    question: Question
    trace: AnswerTrace
    started: float
    passages: list[Hit] = field(default_factory=list)
    prompt: ModelPrompt | None = None  # model mode: what the model is sent
    refuse: str | None = None  # why Nuri refuses without calling the model (None: it answers)
    quotes: list[Quote] = field(default_factory=list)  # the passages' sentences, best first
    flagged: set[int] = field(default_factory=set)  # passages kept as data despite addressing the model


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
    return answerability_features(
        question,
        relevance,
        best,
        terms[0],
        terms[1:],
        [h.text for h in passages],
        best_sentences=[q.text for q in quotes[:3]],
        passage_titles=[h.title for h in passages],
    )


class Orchestrator:
    def __init__(
        self,
        index: NuriIndex,
        llm: LLMClient,
        settings: AnswerSettings,
        prompts: PromptBook,
        guard: Guardrails,
    ) -> None:
        self.index, self.llm, self.settings = index, llm, settings
        self.prompts = prompts
        self.guard = guard  # the input check (questions) and the context check (instructions in documents)
        self.picker = SentencePicker(index.embedder, index.sparse, settings.extractive)
        self.limits = QuestionLimits(
            max_chars=settings.max_question_chars,
            max_turn_chars=settings.max_turn_chars,
            max_history_turns=settings.max_history_turns,
            max_query_chars=index.settings.search.max_query_chars,
        )

    def question(self, text: str | None, history: Sequence[HistoryTurn] = ()) -> Question:
        """``text`` (and the conversation before it) checked and screened once."""
        return Question.ask(text, history, self.limits, self.guard)

    def ask(
        self,
        text: str,
        history: Sequence[HistoryTurn] = (),
        filters: SearchFilters | None = None,
        principal: Principal | None = None,
    ) -> Answer:
        """``text`` checked and screened (:meth:`question`), then answered: for scripts and tests.
        The product answers through :meth:`NuriService.stream`, which adds the output checks and
        the audit record."""
        return final_answer(self.stream(self.question(text, history), filters, principal))

    def prepare(
        self, question: Question, filters: SearchFilters | None = None, principal: Principal | None = None
    ) -> Prepared:
        """Everything before the model is called: a follow-up rewritten, passages retrieved with
        the caller's permissions and screened by the context check, the refusal decided and the
        prompt built (``prompt`` is None when Nuri refuses)."""
        s = self.settings
        t0 = time.perf_counter()
        lang = question.language
        trace = AnswerTrace(language=lang, model=self.llm.model)
        trace.retrieval_query = self._retrieval_query(question)

        t1 = time.perf_counter()
        hits = self.index.search(
            trace.retrieval_query, top_k=s.top_k, filters=filters, principal=principal, with_relevance=True
        )
        trace.retrieval_ms = (time.perf_counter() - t1) * 1000
        trace.hits = hits
        relevances = [h.relevance for h in hits if h.relevance is not None]
        trace.best_relevance = max(relevances) if relevances else None
        prepared = Prepared(question=question, trace=trace, started=t0)
        if trace.best_relevance is None or trace.best_relevance < s.min_relevance:
            prepared.refuse = "no relevant passage"
            return prepared
        prepared.passages = self._passages(hits)
        screen = self.guard.screen_passages([h.text for h in prepared.passages])
        trace.decisions += screen.decisions
        # a passage kept as data ("quote") is shown to the model with a warning; it is never
        # quoted to the user verbatim (an extractive answer would repeat its instruction)
        keep = [i for i in screen.keep if s.generation == "model" or i not in screen.quoted]
        prepared.flagged = {n for n, i in enumerate(keep) if i in screen.quoted}
        prepared.passages = [prepared.passages[i] for i in keep]
        if not prepared.passages:
            prepared.refuse = "every passage was withheld by the context guardrail"
            return prepared
        trace.passages = len(prepared.passages)
        text = question.screened
        missing = unanswered_types(text, [h.text for h in prepared.passages]) if s.check_asked_values else set()
        if missing:
            prepared.refuse = f"asked value not stated: {', '.join(sorted(missing))}"
            return prepared
        a = s.answerability
        if a.enabled or s.generation == "extractive":
            prepared.quotes = self.picker.candidates(text, prepared.passages)
        if a.enabled:
            features = self.answerability(text, trace.best_relevance or 0.0, prepared.passages, prepared.quotes)
            trace.unanswerable = unanswerable_probability(features, a.weights, a.bias)
            if trace.unanswerable > a.threshold:
                prepared.refuse = f"passages do not answer (p={trace.unanswerable:.2f})"
                return prepared
        if s.generation == "model":
            prepared.prompt = self.prompts.answer(
                text, prepared.passages, lang, self.llm.settings.mode, s.max_passage_chars, prepared.flagged
            )
        return prepared

    def answerability(
        self, question: str, relevance: float, passages: list[Hit], quotes: list[Quote]
    ) -> AnswerabilityFeatures:
        """What the answerability model reads, for ``passages`` and their ranked sentences."""
        return measure_answerability(self.index, question, relevance, passages, quotes)

    def stream(
        self, question: Question, filters: SearchFilters | None = None, principal: Principal | None = None
    ) -> Iterator[AnswerEvent]:
        s = self.settings
        prepared = self.prepare(question, filters, principal)
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
        trace.decisions += tracker.decisions()
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
        quotes = self.picker.pick_from(prepared.quotes, prepared.question.screened)
        if not quotes or quotes[0].cosine < x.min_relevance:
            prepared.refuse = "no sentence answers the question"
            yield from self._refuse(prepared)
            return
        text, order = compose(quotes, prepared.passages, prepared.question.language)
        trace = prepared.trace
        trace.first_token_ms = trace.total_ms = (time.perf_counter() - prepared.started) * 1000
        yield AnswerEvent("delta", text=text)
        citations = [Citation.from_hit(n, prepared.passages[p - 1]) for n, p in enumerate(order, start=1)]
        self._log(trace, refused=False, citations=len(citations))
        yield AnswerEvent("done", answer=Answer(answer=text, citations=citations, refused=False), trace=trace)

    def _refuse(self, prepared: Prepared) -> Iterator[AnswerEvent]:
        refusal = self.prompts.refusal(prepared.question.language)
        yield AnswerEvent("delta", text=refusal)
        prepared.trace.total_ms = (time.perf_counter() - prepared.started) * 1000
        self._log(prepared.trace, refused=True, reason=prepared.refuse)
        yield AnswerEvent("done", answer=Answer(answer=refusal, citations=[], refused=True), trace=prepared.trace)

    def _passages(self, hits: list[Hit]) -> list[Hit]:
        return passages_for(hits, self.settings.passage_min_relevance)

    def _retrieval_query(self, question: Question) -> str:
        """A standalone query for retrieval: the question itself, or for a follow-up the question
        after the previous one (``concat``) or the model's rewrite (``llm``), within the search's
        query limit."""
        mode = self.settings.rewrite
        if not question.history or mode == "off":
            return question.retrieval_query()
        if mode == "concat":
            return question.retrieval_query(question.previous)
        text = question.screened
        prompt = self.prompts.rewrite(text, question.history, question.language, self.llm.settings.mode)
        rewritten = " ".join(self.llm.complete(prompt, max_tokens=96).split())
        if not question.fits(rewritten) or len(rewritten) > max(200, 4 * len(text)):
            log.info("rewrite rejected, using question with previous turn", extra={"rewrite": rewritten[:200]})
            return question.retrieval_query(question.previous)
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
