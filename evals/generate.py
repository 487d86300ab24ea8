"""Eval items drafted from an agency's own documents (``nuri eval generate``), to be reviewed
(``nuri eval review``, :mod:`evals.draft_review`) into a suite.

1. The documents (files or folders: PDF, DOCX, HWP/HWPX, HTML, Markdown, text) are read by the
   connectors (:func:`connectors.registry.load_document`, as ``nuri ingest`` reads them: a file
   that cannot be read is reported with the parser's reason and skipped) and chunked as ingest
   chunks them (:func:`retrieval.chunking.chunk_document`, with the configured encoder's token
   counter). Each chunk is a candidate :class:`Passage`: its document's file name and title, the
   section's anchor (statute article, heading, page) and its text. A reference to it is
   ``{"doc": <file name>, "anchor": <section anchor>}``: it matches every chunk of that section,
   whatever the index's chunking (:mod:`evals.matching`).
2. :func:`pick_passages` picks N of them with a seeded generator: passages shorter than
   :data:`MIN_PASSAGE_CHARS` are left out, the documents take turns and inside a document the
   sections do, so the picks spread over documents and sections; the same seed and documents
   pick the same passages. A share of them (``--unanswerable-share``, seeded too) is asked for an
   unanswerable question instead.
3. The instruction model (``eval.judge``'s endpoint; when ``eval.judge.base_url`` is empty the
   bundled Qwen2.5-Coder 1.5B is started as ``nuri llm serve --profile qwen`` starts it) writes for
   each passage one JSON object (prompts ``evals/prompts/generate_*.txt``): a Korean question the
   passage answers and a short reference answer (``expected: answer``, the passage as reference),
   or a question on the same topic that the documents do not answer (``expected: refuse``). For
   the latter the model is shown the document title, the section and the passage's topic words,
   not its text (a 1.5B model shown the text copies its sentences into the question), and an
   aspect to ask about drawn from ``generate_aspects.txt`` (an amount, a deadline, an exception,
   a form, a penalty, another group of staff).
4. Every reply passes the checks of :mod:`evals.draft_checks` (JSON format; Korean question and
   answer; an unanswerable question not answered by its passage or any other passage of the
   documents). A reply that fails is asked again once, with a firmer instruction naming the
   failure; failing again, the passage is dropped and counted by reason.

A draft (:class:`GeneratedDraft`) carries ``status: draft``, ``origin: generated``, the
``assistant`` it is meant for (stored as given), the passage's text for the reviewer
(``source_passage``, ``source``) and what drafted it (``generator``: model, prompt version, seed).
"""

from __future__ import annotations

import hashlib
import logging
import random
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field
from tqdm import tqdm

from assistant.cli_errors import CommandError
from assistant.llm_client import ChatMessage, LLMClient, ModelPrompt
from assistant.prompts import render
from assistant.question import detect_language
from assistant.settings import LLMSettings
from connectors.registry import discover, load_document
from connectors.settings import ConnectorSettings
from connectors.types import ParseError
from evals.draft_checks import (
    answered_by,
    korean_problem,
    parse_reply,
    passage_terms,
    question_problem,
    topic_words,
)
from evals.draft_models import GENERATED_CATEGORY, GeneratedDraft, GeneratorInfo, SourceInfo
from evals.draft_review import write_drafts
from evals.schema import PassageRef
from evals.settings import JudgeSettings
from retrieval.chunking import chunk_document
from retrieval.settings import ChunkingSettings

if TYPE_CHECKING:
    from configs.settings import Settings

log = logging.getLogger("nuri.evals.generate")

_PROMPTS = files("evals") / "prompts"
#: The bundled instruction model started when ``eval.judge.base_url`` is empty (profile ``qwen``).
BUNDLED_MODEL = "qwen2.5-coder-1.5b"
#: A passage needs this many characters (spaces not counted) to be asked about.
MIN_PASSAGE_CHARS = 40
#: The passage text shown to the model is cut to this many characters.
MAX_PROMPT_PASSAGE_CHARS = 1500
#: Longest model reply, in tokens (a JSON question + one-sentence answer is ~100).
MAX_REPLY_TOKENS = 200
#: Sampling temperature of the second request for a passage (the first is greedy).
RETRY_TEMPERATURE = 0.8
#: The category of a generated item.
CATEGORY = GENERATED_CATEGORY

Kind = Literal["answerable", "unanswerable"]
FailReason = Literal["format", "language", "answerable"]


# -- the draft ------------------------------------------------------------------------------------
# -- the passages ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Passage:
    """A chunk of a document, as a question can be drafted from it."""

    doc: str  # the file name: what a reference names (ids depend on the path the index was built from)
    title: str
    anchor: str  # the section's anchor
    chunk_anchor: str
    text: str
    source: str  # the file's path
    index: int  # the chunk's number in its document

    @property
    def context(self) -> str:
        """The text with its document title and anchor, as the index embeds it: what a question
        is checked against (a question naming the agency or the article is still answered)."""
        return f"{self.title} {self.chunk_anchor}\n{self.text}"

    @property
    def ref(self) -> PassageRef:
        return PassageRef(doc=self.doc, anchor=self.anchor or None)


@dataclass(slots=True)
class Corpus:
    passages: list[Passage] = field(default_factory=list)
    documents: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)


def load_passages(
    paths: list[Path],
    connectors: ConnectorSettings,
    count_tokens: Callable[[str], int],
    chunking: ChunkingSettings,
    progress: bool = False,
) -> Corpus:
    """Every chunk of the documents under ``paths`` and every file that could not be read (with
    the parser's reason). :class:`CommandError` when no document could be read."""
    found, errors = discover(paths)
    corpus = Corpus(failed=[(str(p), reason) for p, reason in errors])
    for path in tqdm(found, desc="문서 읽기", unit="문서", file=sys.stderr, disable=not progress or len(found) < 2):
        try:
            doc = load_document(path, connectors)
        except ParseError as e:
            corpus.failed.append((str(path), str(e)))
            continue
        chunks = chunk_document(doc, count_tokens, chunking)
        if not chunks:
            corpus.failed.append((str(path), "나눌 본문이 없습니다"))
            continue
        corpus.documents += 1
        for c in chunks:
            corpus.passages.append(
                Passage(
                    doc=path.name,
                    title=doc.title,
                    anchor=c.section or c.anchor,
                    chunk_anchor=c.anchor,
                    text=c.text,
                    source=str(path),
                    index=c.index,
                )
            )
    if not corpus.passages:
        reasons = "; ".join(f"{Path(p).name}: {r}" for p, r in corpus.failed[:3])
        raise CommandError(
            "읽을 수 있는 문서가 없습니다" + (f" ({reasons})" if reasons else " (PDF, DOCX, HWP/HWPX, HTML, MD, TXT)"),
            message_en="No readable documents among the given paths",
        )
    return corpus


def askable(passage: Passage) -> bool:
    """Long enough to ask about (:data:`MIN_PASSAGE_CHARS` characters besides spaces)."""
    return len("".join(passage.text.split())) >= MIN_PASSAGE_CHARS


def pick_passages(passages: list[Passage], n: int, seed: int) -> list[Passage]:
    """Up to ``n`` askable passages, spread over documents and their sections (see the module
    docstring); the same passages, seed and ``n`` give the same picks in the same order."""
    rng = random.Random(seed)
    by_doc: dict[str, dict[str, list[Passage]]] = {}
    for p in passages:
        if askable(p):
            by_doc.setdefault(p.source, {}).setdefault(p.anchor, []).append(p)
    queues: list[list[Passage]] = []
    for source in sorted(by_doc):
        sections = [list(chunks) for _, chunks in sorted(by_doc[source].items())]
        for chunks in sections:
            rng.shuffle(chunks)
        rng.shuffle(sections)
        order: list[Passage] = []  # the sections take turns: each section's first chunk, then the seconds …
        for depth in range(max(len(s) for s in sections)):
            order.extend(s[depth] for s in sections if depth < len(s))
        queues.append(order)
    rng.shuffle(queues)
    picked: list[Passage] = []
    depth = 0
    while len(picked) < n and any(depth < len(q) for q in queues):
        picked.extend(q[depth] for q in queues if depth < len(q))
        depth += 1
    return picked[:n]


def plan_kinds(count: int, unanswerable_share: float, seed: int) -> list[Kind]:
    """Which of ``count`` picked passages get an unanswerable question: ``round(count × share)``
    of them (half up), chosen with the seed."""
    k = min(count, int(count * unanswerable_share + 0.5))
    chosen = set(random.Random(f"{seed}:unanswerable").sample(range(count), k))
    return ["unanswerable" if i in chosen else "answerable" for i in range(count)]


# -- the prompts ----------------------------------------------------------------------------------
def _prompt(name: str) -> str:
    return (_PROMPTS / f"generate_{name}.txt").read_text(encoding="utf-8").strip()


def prompt_version() -> str:
    """sha256 (12 hex) of the ``generate_*`` templates: which prompts drafted an item."""
    h = hashlib.sha256()
    for entry in sorted(_PROMPTS.iterdir(), key=lambda e: e.name):
        if entry.name.startswith("generate_") and entry.is_file():
            h.update(entry.name.encode() + b"\0" + entry.read_bytes() + b"\0")
    return h.hexdigest()[:12]


_FORMATS = {
    "answerable": '{"question": "질문", "answer": "답변"}',
    "unanswerable": '{"question": "질문", "reason": "문서로 답할 수 없는 이유"}',
}
_FIELDS: dict[Kind, tuple[str, str]] = {"answerable": ("question", "answer"), "unanswerable": ("question", "reason")}


def aspects() -> list[str]:
    return [line.strip() for line in _prompt("aspects").splitlines() if line.strip()]


# -- one reply ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a reply was not kept: ``reason`` (format, language, answerable) and a detail."""

    reason: FailReason
    detail: str
    words: tuple[str, ...] = ()  # the question's words the documents have (answerable)


@dataclass(frozen=True, slots=True)
class CorpusCheck:
    """The texts an unanswerable question is checked against (every passage of the documents),
    and their morphemes (computed once)."""

    texts: list[str]
    terms: list[set[str]]

    @classmethod
    def of(cls, passages: list[Passage]) -> CorpusCheck:
        texts = [p.context for p in passages]
        return cls(texts, passage_terms(texts))


def draft_id(passage: Passage, question: str) -> str:
    key = f"{passage.doc}\0{passage.anchor}\0{passage.index}\0{question}"
    return "gen-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:10]


def draft_from_reply(
    reply: str,
    passage: Passage,
    kind: Kind,
    generator: GeneratorInfo,
    *,
    assistant: str | None = None,
    corpus: CorpusCheck | None = None,
) -> GeneratedDraft | Rejection:
    """The draft a model reply makes for ``passage``, or why it makes none (see
    :mod:`evals.draft_checks`). An unanswerable question is checked against its passage and,
    with ``corpus``, every passage of the documents."""
    fields = parse_reply(reply, _FIELDS[kind])
    if fields is None:
        return Rejection("format", "JSON 형식이 아닙니다")
    question, second = fields["question"], fields[_FIELDS[kind][1]]
    not_a_question = question_problem(question)
    if not_a_question is not None:
        return Rejection("format", f"질문: {not_a_question}")
    for label, text in (("질문", question), ("답변", second)):
        problem = korean_problem(text, passage.text)
        if problem is not None:
            return Rejection("language", f"{label}: {problem}")
    common = dict(
        id=draft_id(passage, question),
        question=question,
        language=detect_language(question),
        assistant=assistant,
        source=SourceInfo(
            doc=passage.doc, title=passage.title, anchor=passage.anchor, chunk_anchor=passage.chunk_anchor
        ),
        source_passage=passage.text,
        generator=generator,
    )
    if kind == "answerable":
        return GeneratedDraft(expected="answer", reference_answer=second, reference_passages=[passage.ref], **common)
    covered = answered_by(question, [passage.context])
    if covered is None and corpus is not None:
        covered = answered_by(question, corpus.texts, corpus.terms)
    if covered is not None:
        return Rejection("answerable", f"문서로 답할 수 있는 질문입니다 ({', '.join(covered.found)})", covered.found)
    return GeneratedDraft(expected="refuse", note=second, **common)


# -- the run --------------------------------------------------------------------------------------
class GenerateSummary(BaseModel):
    """What a run drafted and dropped."""

    documents: int = 0
    passages: int = Field(0, description="Passages picked.")
    answerable: int = 0
    unanswerable: int = 0
    regenerated: int = Field(0, description="Replies asked again once (and kept).")
    dropped_format: int = 0
    dropped_language: int = 0
    dropped_answerable: int = 0
    failed_files: list[tuple[str, str]] = Field(default_factory=list)

    def lines(self) -> list[str]:
        """The summary as the command prints it (Korean)."""
        return [
            f"초안: 답할 수 있는 질문 {self.answerable}, 답할 수 없는 질문 {self.unanswerable} "
            f"(문서 {self.documents}개, 고른 구절 {self.passages}개, 다시 요청해 살린 초안 {self.regenerated})",
            f"버림: 한국어 아님 {self.dropped_language}, 형식 오류 {self.dropped_format}, "
            f"문서로 답할 수 있음 {self.dropped_answerable}",
        ]


class DraftWriter:
    """Asks the model for a passage's draft, and once more when the reply fails a check: the same
    prompt with a firmer instruction naming the failure, sampled (temperature
    :data:`RETRY_TEMPERATURE`, a seed of the run's) rather than greedy, since a greedy model
    repeats its reply."""

    def __init__(self, judge: JudgeSettings, seed: int, max_tokens: int = MAX_REPLY_TOKENS) -> None:
        self.client = judge_client(judge)
        self.retry_client = judge_client(judge, temperature=RETRY_TEMPERATURE, seed=seed)
        self.max_tokens = max_tokens
        self.generator = GeneratorInfo(model=judge.model, prompt_version=prompt_version(), seed=seed)
        self.system = _prompt("system")
        self.templates = {k: _prompt(k) for k in ("answerable", "unanswerable")}
        self.retries = {r: _prompt(f"retry_{r}") for r in ("format", "language", "answerable")}
        self.aspects = aspects()
        self.rng = random.Random(f"{seed}:aspects")

    def close(self) -> None:
        self.client.close()
        self.retry_client.close()

    def _ask(self, user: str, retry: bool = False) -> str:
        messages = [ChatMessage("system", self.system), ChatMessage("user", user)]
        client = self.retry_client if retry else self.client
        return client.complete(ModelPrompt(messages=messages), max_tokens=self.max_tokens)

    def draft(
        self, passage: Passage, kind: Kind, assistant: str | None = None, corpus: CorpusCheck | None = None
    ) -> tuple[GeneratedDraft | Rejection, bool]:
        """(the draft or the last rejection, whether it was asked twice)."""
        aspect = self.rng.choice(self.aspects)
        user = render(
            self.templates[kind],
            title=passage.title,
            anchor=passage.chunk_anchor,
            passage=passage.text[:MAX_PROMPT_PASSAGE_CHARS],
            topics=", ".join(topic_words(passage.text)),
            aspect=aspect,
        )
        reply = self._ask(user)
        result = draft_from_reply(reply, passage, kind, self.generator, assistant=assistant, corpus=corpus)
        if not isinstance(result, Rejection):
            return result, False
        log.info("draft asked again", extra={"doc": passage.doc, "anchor": passage.anchor, "reason": result.detail})
        firmer = render(
            self.retries[result.reason],
            format=_FORMATS[kind],
            problem=result.detail,
            words=", ".join(result.words),
            aspect=aspect,
        )
        reply = self._ask(f"{user}\n\n{firmer}", retry=True)
        return draft_from_reply(reply, passage, kind, self.generator, assistant=assistant, corpus=corpus), True


def generate(
    corpus: Corpus,
    writer: DraftWriter,
    n: int,
    seed: int,
    out: Path,
    unanswerable_share: float = 0.3,
    assistant: str | None = None,
    progress: bool = True,
) -> tuple[list[GeneratedDraft], GenerateSummary]:
    """Draft up to ``n`` items from ``corpus`` into ``out`` (rewritten after every kept draft, so
    an interrupted run keeps what it drafted)."""
    picked = pick_passages(corpus.passages, n, seed)
    kinds = plan_kinds(len(picked), unanswerable_share, seed)
    summary = GenerateSummary(documents=corpus.documents, passages=len(picked), failed_files=list(corpus.failed))
    check = CorpusCheck.of(corpus.passages) if "unanswerable" in kinds else None
    drafts: list[GeneratedDraft] = []
    write_drafts(out, drafts)
    seen: set[str] = set()
    bar = tqdm(list(zip(picked, kinds, strict=True)), desc="초안 작성", unit="문항", file=sys.stderr,
               disable=not progress)  # fmt: skip
    for passage, kind in bar:
        result, again = writer.draft(passage, kind, assistant=assistant, corpus=check)
        if isinstance(result, Rejection):
            setattr(summary, f"dropped_{result.reason}", getattr(summary, f"dropped_{result.reason}") + 1)
            log.info("draft dropped", extra={"doc": passage.doc, "anchor": passage.anchor, "reason": result.detail})
            continue
        if result.id in seen:  # the same question twice from one passage
            continue
        seen.add(result.id)
        summary.regenerated += again
        if result.expected == "answer":
            summary.answerable += 1
        else:
            summary.unanswerable += 1
        drafts.append(result)
        write_drafts(out, drafts)
    return drafts, summary


# -- the model ------------------------------------------------------------------------------------
def judge_client(judge: JudgeSettings, temperature: float = 0.0, seed: int | None = None) -> LLMClient:
    """A chat client on the ``eval.judge`` endpoint, as :class:`evals.judge.Judge` builds one
    (``seed``: the sampling seed, for servers that take one: llama.cpp, vLLM)."""
    if not judge.base_url:
        raise CommandError("eval.judge.base_url이 비어 있습니다", message_en="eval.judge.base_url is not set")
    llm = LLMSettings(
        model=judge.model,
        api_key=judge.api_key,
        mode="chat",
        max_tokens=MAX_REPLY_TOKENS,
        temperature=temperature,
        timeout_s=judge.timeout_s,
        extra_body={"seed": seed} if seed is not None else {},
    )
    return LLMClient(llm, [judge.base_url])


@contextmanager
def instruction_model(settings: Settings) -> Iterator[JudgeSettings]:
    """The instruction model's endpoint settings: ``eval.judge`` as configured, or, when its
    ``base_url`` is empty, the bundled Qwen2.5-Coder 1.5B started for the run on a free port (the
    model server of profile ``qwen``, as ``nuri llm serve --profile qwen`` starts it) and stopped
    after it."""
    judge = settings.eval.judge
    if judge.base_url:
        yield judge
        return
    from assistant.modelserver.server import ModelServer

    qwen = settings.override(
        llm={"model": BUNDLED_MODEL, "mode": "chat"},
        model_server={
            "engine": "llamacpp",
            "port": 0,
            "log_file": str(settings.resolve(settings.data_dir) / "logs" / "model-server-eval-generate.log"),
            "llamacpp": {"bundled": BUNDLED_MODEL, "model_path": None},
        },
    )
    log.info("starting the bundled instruction model", extra={"model": BUNDLED_MODEL})
    with ModelServer(qwen.model_server, qwen.llm, qwen.resolve) as server:
        yield judge.model_copy(update={"base_url": server.base_url, "model": BUNDLED_MODEL})
