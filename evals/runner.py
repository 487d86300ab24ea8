"""Runs a suite against a target and produces a :class:`~evals.results.RunResult`.

For each question: the search results (``eval.search_top_k`` deep) and the answer as a user gets
it, timed. Then :mod:`evals.scoring` scores items and the run; the run records what it ran with
(configuration with secrets masked, commit, model, prompt version, dataset hash).

:func:`prepare_index` makes the index a suite needs: its corpus synced into a folder (incremental,
so the second run only checks fingerprints), plus the passages of indirect-injection items as
documents of their own.
"""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tqdm import tqdm

from assistant.errors import InvalidQuestionError
from assistant.prompts import prompt_version
from configs.settings import Settings
from connectors.errors import NuriError
from connectors.metadata import doc_id_for
from evals.judge import Judge
from evals.matching import matching_key, ranked_run
from evals.results import CitationRecord, DatasetInfo, HitRecord, ItemResult, RunResult
from evals.schema import EvalItem, dataset_hash
from evals.scoring import aggregate, by_category, score_items
from evals.suites import Suite
from evals.targets import QuestionRejectedError, Target
from guardrails.config_mask import mask_tree
from guardrails.pipeline import describe
from retrieval.errors import QueryError
from retrieval.index import NuriIndex
from retrieval.sync import Syncer
from retrieval.types import SearchFilters

log = logging.getLogger("nuri.evals")
REPO_ROOT = Path(__file__).resolve().parent.parent


def passages_dir(index_dir: Path) -> Path:
    return index_dir.parent / f"{index_dir.name}-passages"


def _passage_files(suite: Suite, folder: Path) -> dict[str, list[Path]]:
    """Each indirect-injection item's passages written as documents (idempotent)."""
    out: dict[str, list[Path]] = {}
    for item in suite.items:
        for n, text in enumerate(item.passages, start=1):
            safe = re.sub(r"[^A-Za-z0-9_.-]", "_", item.id)
            path = folder / f"{safe}-{n}.md"
            body = f"# 안내 문서 {item.id}\n\n{text}\n"
            if not path.exists() or path.read_text(encoding="utf-8") != body:
                folder.mkdir(parents=True, exist_ok=True)
                path.write_text(body, encoding="utf-8")
            out.setdefault(item.id, []).append(path)
    return out


def prepare_index(suite: Suite, settings: Settings, index_dir: Path, sync: bool = True, progress: bool = True) -> Path:
    """Sync the suite's corpus (and indirect-injection passages) into ``index_dir``."""
    paths = list(suite.corpus)
    extra = _passage_files(suite, passages_dir(index_dir))
    if extra:
        paths.append(passages_dir(index_dir))
    if not sync or not paths:
        return index_dir
    with NuriIndex.open(settings.retrieval, index_dir, create=True) as index:
        report = Syncer(index, settings.connectors, progress=progress).sync(paths, prune=False)
    if report.failed:
        log.warning("some corpus files could not be indexed", extra={"failed": report.failed[:5]})
    log.info("eval index ready", extra={"index": str(index_dir), "added": report.added, "seconds": report.seconds})
    return index_dir


def _filters_for(
    item: EvalItem, passage_docs: dict[str, list[Path]], index_docs: dict[str, str]
) -> SearchFilters | None:
    """Questions with injected passages are asked over those documents (and their references)."""
    docs = passage_docs.get(item.id)
    if not docs:
        return None
    ids = [doc_id_for(p) for p in docs]
    wanted = {r.doc for r in item.reference_passages if r.doc}
    ids += [doc_id for doc_id, source in index_docs.items() if Path(source).name in wanted]
    return SearchFilters(doc_ids=ids)


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "--short=12", "HEAD"],
                             capture_output=True, text=True, timeout=10, check=True)  # fmt: skip
        dirty = subprocess.run(["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10, check=True)  # fmt: skip
        return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        from importlib.metadata import PackageNotFoundError, version

        try:
            return f"nuri {version('nuri')}"
        except PackageNotFoundError:
            return "unknown"


def masked_config(settings: Settings) -> dict[str, Any]:
    """The run's settings with every secret masked (:func:`guardrails.config_mask.mask_tree`)."""
    result: dict[str, Any] = mask_tree(settings.model_dump(mode="json"))
    return result


def _item_result(item: EvalItem) -> ItemResult:
    return ItemResult(id=item.id, question=item.question, category=item.category, language=item.language,
                      expected=item.expected, reference_answer=item.reference_answer, relevant=item.relevant)  # fmt: skip


def run_suite(
    suite: Suite,
    target: Target,
    settings: Settings,
    index_dir: Path | None = None,
    progress: bool = True,
    answers: bool = True,
) -> RunResult:
    """Ask every question of ``suite`` through ``target`` and score the run; with
    ``answers=False`` only the search is scored (no model needed). The run records who ran it
    and whose reading rights it asked with (``target.ran_by``, ``target.principal``)."""
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    described = target.describe(answers)  # fails early, with the reason, when the target cannot answer
    es = settings.eval
    judge = Judge(es.judge) if es.judge.base_url else None
    guardrails = getattr(settings, "guardrails", None) is not None
    passage_docs: dict[str, list[Path]] = {}
    index_docs: dict[str, str] = {}
    skipped: list[str] = []
    if index_dir is not None and target.local_index:
        passage_docs = _passage_files(suite, passages_dir(index_dir))
        if passage_docs:
            index_docs = target.indexed_sources()
    results: list[ItemResult] = []
    forbidden = {item.id: item.forbidden for item in suite.items}
    for item in tqdm(suite.items, desc=f"평가 {suite.name}", unit="문항", file=sys.stderr, disable=not progress):
        if item.passages and not passage_docs:
            skipped.append(item.id)  # needs its passages indexed next to the corpus: in-process only
            continue
        res = _item_result(item)
        filters = _filters_for(item, passage_docs, index_docs)
        try:
            hits = target.search(item.question, es.search_top_k, filters)
            run_keys, relevant = ranked_run(list(hits), item.reference_passages)
            res.hits = [HitRecord(rank=h.rank, doc_id=h.doc_id, title=h.title, anchor=h.anchor, source=h.source,
                                  key=k, relevant=r) for h, k, r in zip(hits, run_keys, relevant, strict=True)]  # fmt: skip
            if not answers:
                results.append(res)
                continue
            outcome = target.answer(item.question, filters)
        except (InvalidQuestionError, QueryError, QuestionRejectedError) as e:
            # Nuri turns the question away with a clear error (e.g. too long): no answer is given.
            res.refused, res.answer = True, ""
            res.guardrail_decisions = [f"입력 거부 (input rejected): {e}"]
            results.append(res)
            continue
        except NuriError as e:
            res.error = str(e)
            results.append(res)
            continue
        res.answer, res.refused = outcome.answer.answer, outcome.answer.refused
        res.latency_ms, res.first_token_ms = outcome.latency_ms, outcome.first_token_ms
        res.guardrail_decisions = outcome.guardrail_decisions
        for c in outcome.answer.citations:
            key = matching_key(c, item.reference_passages) if item.reference_passages else None
            res.citations.append(CitationRecord(**c.model_dump(), key=key,
                                                relevant=(key is not None) if item.reference_passages else None))  # fmt: skip
        if judge is not None and item.expected == "answer" and item.reference_answer:
            if res.refused:
                res.scores["judge_correctness"] = 0.0
            else:
                try:
                    v = judge.verdict(item.question, item.reference_answer, res.answer)
                    res.judge, res.scores["judge_correctness"] = v.text, float(v.correct)
                    if not v.correct:
                        res.failures.append("judge: incorrect")
                except NuriError as e:
                    res.judge = f"평가 모델 오류: {e}"
        results.append(res)
    score_items(results, forbidden, es.support_min_overlap, guardrails, answers)
    metrics, notes = aggregate(results, guardrails, judge is not None, answers)
    if skipped:
        notes["skipped"] = (
            f"{len(skipped)}개 문항은 주입 문서를 색인해야 해서 서버 대상 평가에서 제외했습니다 "
            f"(indirect-injection items need their passages indexed; in-process only): {', '.join(skipped[:10])}"
        )
    run_items = [i for i in suite.items if i.id not in set(skipped)]
    return RunResult(
        run_id=f"{started:%Y%m%d-%H%M%S}-{suite.name}-{uuid.uuid4().hex[:6]}",
        suite=suite.name,
        started_at=started.isoformat(timespec="seconds"),
        wall_s=round(time.perf_counter() - t0, 2),
        target=target.name,
        ran_by=target.ran_by,
        principal=target.principal,
        commit=git_commit(),
        model=described["model"],
        embedder=described["embedder"],
        prompt_version=described.get("prompt_version") or prompt_version(settings.prompt_dir()),
        assistant=target.assistant_id,
        guardrails="none" if not guardrails else describe(settings.guardrails),
        dataset=DatasetInfo(
            suite=suite.name, files=[str(f) for f in suite.files], sha256=dataset_hash(run_items), items=len(run_items)
        ),  # fmt: skip
        config=masked_config(settings) | {"index_dir": str(index_dir) if index_dir else None},
        metrics=metrics,
        notes=notes,
        by_category=by_category(results),
        items=results,
    )
