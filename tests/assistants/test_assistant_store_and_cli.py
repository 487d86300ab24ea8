"""Assistant definitions: stored on the key store's database (SQLite and PostgreSQL), one default
per agency, every change in the change log; managed with ``nuri assistants`` as an operator runs
it (a subprocess), with clear errors for wrong definitions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from assistant.assistants import (
    AssistantError,
    AssistantNotFoundError,
    AssistantScope,
    AssistantSpec,
    AssistantStore,
    AssistantUsers,
    ordered_for,
    resolve_scope,
)
from assistant.callers import Caller
from retrieval.types import Principal


def test_definitions_defaults_and_the_change_log_persist(store_db):
    with AssistantStore(store_db.url) as store:
        store.create(AssistantSpec(id="a1", name="하나", agency="가부처", default=True), "cli:alice")
        store.create(AssistantSpec(id="a2", name="둘", agency="가부처"), "cli:alice")
        store.replace(AssistantSpec(id="a2", name="둘", agency="가부처", default=True, prompt="짧게"), "key:k1")
        with pytest.raises(AssistantError):
            store.create(AssistantSpec(id="a1", name="다시", agency="가부처"), "cli:alice")
        with pytest.raises(AssistantNotFoundError):
            store.replace(AssistantSpec(id="zz", name="없음", agency="가부처"), "cli:alice")
        store.create(AssistantSpec(id="b1", name="셋", agency="나부처", default=True), "cli:bob")
        store.delete("b1", "cli:bob")
        with pytest.raises(AssistantNotFoundError):
            store.delete("b1", "cli:bob")
    with AssistantStore(store_db.url) as store:  # reopened: what another replica sees
        defaults = {a.id: a.default for a in store.all()}
        assert defaults == {"a1": False, "a2": True}  # one default per agency: a2 took it from a1
        assert store.get("a2").prompt == "짧게" and store.get("b1") is None
        log = [(c.assistant_id, c.action, c.subject) for c in store.changes()]
        assert log == [("a1", "create", "cli:alice"), ("a2", "create", "cli:alice"), ("a1", "update", "key:k1"),
                       ("a2", "update", "key:k1"), ("b1", "create", "cli:bob"), ("b1", "delete", "cli:bob")]  # fmt: skip
        assert store.changes(assistant_id="b1")[-1].definition is None
        assert store.changes(since=datetime.now(UTC) + timedelta(seconds=5)) == []


def caller(agency: str | None, clearance: str = "internal", roles: tuple[str, ...] = ("user",)) -> Caller:
    return Caller(Principal(agency=agency, clearance=clearance), frozenset(roles), "key:test")  # type: ignore[arg-type]


def test_who_may_use_an_assistant_and_in_which_order_they_are_offered():
    now = datetime.now(UTC)

    def made(**spec) -> object:
        from assistant.assistants import Assistant

        return Assistant(**spec, created_at=now, updated_at=now)

    own = made(id="own", name="나", agency="가부처")
    dflt = made(id="dflt", name="기본", agency="가부처", default=True)
    shared = made(id="shared", name="공용", agency="나부처", users=AssistantUsers(agencies=["*"]))
    secret = made(id="secret", name="기밀", agency="가부처", users=AssistantUsers(min_clearance="restricted"))
    evals = made(id="evals", name="평가", agency="가부처", users=AssistantUsers(roles=["evaluator"]))
    other = made(id="other", name="남", agency="나부처")
    every = [own, dflt, shared, secret, evals, other]
    assert [a.id for a in ordered_for(caller("가부처"), every)] == ["dflt", "own", "shared"]
    assert [a.id for a in ordered_for(caller("가부처", "restricted", ("evaluator",)), every)] == [
        "dflt", "secret", "own", "evals", "shared"]  # fmt: skip
    assert [a.id for a in ordered_for(caller(None, "public"), every)] == ["shared"]
    operator = Caller(Principal(operator=True), frozenset({"admin"}), "cli:root")
    assert len(ordered_for(operator, every)) == len(every)


def test_sources_and_statutes_become_the_documents_they_name():
    docs = [("d1", "/srv/docs/hr/rules.md", "인사 규정", "guideline"), ("d2", "/srv/docs/hr2/x.md", "x", "guideline"),
            ("d3", "/srv/laws/labor.xml", "근로기준법", "statute"), ("d4", "/srv/laws/p.xml", "개인정보 보호법", "statute"),
            ("d5", "/srv/upload/근로기준법.md", "근로기준법", "guideline")]  # fmt: skip
    scope = resolve_scope(AssistantScope(sources=["/srv/docs/hr/"], statutes=["근로 기준법"]), docs)
    assert scope.doc_ids == ("d1", "d3")  # folder prefix, not /srv/docs/hr2; statutes only as statutes
    assert resolve_scope(AssistantScope(sources=["x.md"]), docs).doc_ids == ("d2",)  # a file name
    assert resolve_scope(AssistantScope(statutes=["없는 법"]), docs).doc_ids == ()  # names nothing: reads nothing
    assert resolve_scope(AssistantScope(doc_types=["statute"]), docs).doc_ids is None


def nuri(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NURI_HOME": str(home), "NURI_DATA_DIR": str(home / "data")}  # not the session's
    return subprocess.run([sys.executable, "-m", "assistant.cli", *args], capture_output=True, text=True, env=env,
                          timeout=120)  # fmt: skip


def test_nuri_assistants_create_update_list_show_delete(tmp_path):
    definition = tmp_path / "labor.yaml"
    definition.write_text(
        "name: 노동 법령 도우미\nagency: 고용노동부\ndescription: 근로기준법 질의\n"
        'scope:\n  doc_types: [statute]\n  statutes: [근로기준법]\nexamples: ["연차휴가는 며칠인가요?"]\n',
        encoding="utf-8",
    )
    made = nuri(tmp_path, "assistants", "create", "labor", "--file", str(definition), "--default")
    assert made.returncode == 0, made.stderr
    changed = nuri(tmp_path, "assistants", "update", "labor", "--user-agency", "*", "--min-relevance", "0.95",
                   "--prompt", "담당 부서를 안내하세요.")  # fmt: skip
    assert changed.returncode == 0, changed.stderr
    shown = json.loads(nuri(tmp_path, "assistants", "show", "labor", "--json").stdout)
    assert shown["default"] is True and shown["users"]["agencies"] == ["*"]
    assert shown["scope"]["statutes"] == ["근로기준법"] and shown["guardrails"]["min_relevance"] == 0.95
    assert [c["action"] for c in shown["changes"]] == ["create", "update"]
    listed = nuri(tmp_path, "assistants", "list")
    assert "labor\t노동 법령 도우미\t고용노동부 (기본)" in listed.stdout

    looser = nuri(tmp_path, "assistants", "update", "labor", "--min-relevance", "0.2")
    assert looser.returncode == 1 and "더 엄격하게만" in looser.stderr and "Traceback" not in looser.stderr
    bad = nuri(tmp_path, "assistants", "create", "Bad Id", "--name", "x", "--agency", "y")
    assert bad.returncode == 2 and "id" in bad.stderr and "Traceback" not in bad.stderr
    missing = nuri(tmp_path, "assistants", "create", "nameless", "--agency", "y")
    assert missing.returncode == 2 and "name" in missing.stderr
    unsure = nuri(tmp_path, "assistants", "delete", "labor")
    assert unsure.returncode == 2 and "--yes" in unsure.stderr
    gone = nuri(tmp_path, "assistants", "delete", "labor", "--yes")
    assert gone.returncode == 0 and "도우미가 없습니다" in nuri(tmp_path, "assistants", "list").stdout


def test_an_assistant_scoped_to_statutes_reads_only_those_statutes(statute_subset, embedder, tmp_path):
    """On the real statute subset: a scope naming two statutes by title reads those two only
    (spaces in the title ignored), whatever the question or the request's filters ask for."""
    from conftest import make_settings

    from assistant.service import NuriService
    from retrieval.index import NuriIndex
    from retrieval.types import SearchFilters

    folder, questions = statute_subset
    settings = make_settings(tmp_path)
    with NuriIndex.open(settings.retrieval, folder, create=False, embedder=embedder) as index:
        titles = sorted({d.title for d in index.list_documents(Principal(operator=True)) if d.doc_type == "statute"})
        assert len(titles) >= 4
        chosen = titles[:2]
        with NuriService(settings, index=index, start_model=False) as service:
            assert service.assistants is not None
            service.assistants.create(
                AssistantSpec(id="two-laws", name="두 법령", agency="가부처",
                              scope=AssistantScope(statutes=[chosen[0].replace(" ", ""), chosen[1]])),
                "cli:test",
            )  # fmt: skip
            two = service.assistant_for(None, "two-laws")
            for q in questions[:6]:
                hits = service.search(q.question, top_k=10, assistant=two)
                assert hits and {h.title for h in hits} <= set(chosen), (q.question, {h.title for h in hits})
            other = [d.doc_id for d in index.list_documents(Principal(operator=True)) if d.title == titles[2]]
            assert service.search(questions[0].question, filters=SearchFilters(doc_ids=other), assistant=two) == []
