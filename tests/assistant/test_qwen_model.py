"""The second bundled model, Qwen2.5-Coder 1.5B Instruct (profile ``qwen``), for real: assembled
from its 22 packages into the pinned GGUF, served by llama.cpp with the GGUF's own chat template,
answering a sample-corpus question in chat mode with a citation of the right document, and
rewriting a follow-up into a standalone retrieval query (``answer.rewrite: llm``)."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path

import httpx
import openai
import pytest
from conftest import QWEN, bare_guard

from assistant.answers import HistoryTurn
from assistant.citations import markers_in
from assistant.errors import ModelServerError
from assistant.llm_client import LLMClient
from assistant.modelserver import bundled
from assistant.modelserver.bundled import BUNDLED
from assistant.orchestrator import Orchestrator
from assistant.prompts import PromptBook
from retrieval.types import Principal

pytestmark = pytest.mark.slow
OPERATOR = Principal(operator=True)
QWEN_MODEL = BUNDLED[QWEN]


def _forbid(what: str):
    def fail(*args, **kwargs):
        raise AssertionError(f"{what} was called")

    return fail


def test_assembled_file_is_the_pinned_gguf_and_its_stamp_spares_the_next_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    headers: list[bundled.GGUFHeader] = []
    real_read_header = bundled.read_header

    def read_header(path: Path) -> bundled.GGUFHeader:
        headers.append(real_read_header(path))
        return headers[-1]

    monkeypatch.setattr(bundled, "read_header", read_header)
    path = bundled.bundled_gguf(tmp_path, QWEN)  # streamed from the 22 packages, checked, renamed
    assert path == tmp_path / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name, f"{path.name}.verified.json"]
    assert path.stat().st_size == 1117320768
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(8 << 20):
            digest.update(block)
    assert digest.hexdigest() == "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
    (header,) = headers
    assert (header.architecture, header.file_type) == ("qwen2", 15)  # MOSTLY_Q4_K_M
    assert (header.name, header.basename, header.size_label) == (
        "Qwen2.5 Coder 1.5B Instruct GGUF",
        "Qwen2.5-Coder",
        "1.5B",
    )
    assert (header.context_length, header.block_count, header.eos_token_id) == (32768, 28, 151645)
    assert header.license is None  # the licence (Apache-2.0) comes from the upstream model card
    assert header.chat_template is not None and "<|im_start|>" in header.chat_template

    # A later start trusts the stamp: no hashing, no header parsing, no parts needed.
    for name in ("sha256_file", "read_header", "part_files"):
        monkeypatch.setattr(bundled, name, _forbid(name))
    assert bundled.bundled_gguf(tmp_path, QWEN) == path

    # A touched file is hashed again (not re-assembled) and its header re-checked.
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    hashed: list[Path] = []
    monkeypatch.setattr(bundled, "sha256_file", lambda p: hashed.append(p) or QWEN_MODEL.sha256)
    monkeypatch.setattr(bundled, "read_header", lambda p: header)
    assert bundled.bundled_gguf(tmp_path, QWEN) == path
    assert hashed == [path]

    # The header must match the registry entry, whatever the hash says.
    with pytest.raises(ModelServerError, match=r"general\.architecture=qwen2, general\.file_type=15 \(예상: llama"):
        bundled.verify_header(dataclasses.replace(QWEN_MODEL, architecture="llama"), path)


def test_llama_cpp_uses_the_ggufs_chat_template_and_stops_at_its_end_of_turn(qwen_server):
    messages = [
        {"role": "system", "content": "한 문장으로 답하세요."},
        {"role": "user", "content": "대한민국의 수도는?"},
    ]
    client = openai.OpenAI(base_url=qwen_server.base_url, api_key="none")
    one = client.chat.completions.create(model=QWEN, messages=messages, max_tokens=1, temperature=0)
    chatml = (
        "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages) + "<|im_start|>assistant\n"
    )
    root = qwen_server.base_url.removesuffix("/v1")
    count = httpx.post(f"{root}/extras/tokenize/count", json={"input": chatml}, timeout=30).json()["count"]
    assert one.usage is not None and one.usage.prompt_tokens == count  # the GGUF's ChatML, not a fallback format
    stream = client.chat.completions.create(model=QWEN, messages=messages, max_tokens=64, temperature=0, stream=True)
    text, finish = "", None
    for chunk in stream:
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
            finish = chunk.choices[0].finish_reason or finish
    assert finish == "stop" and "서울" in text
    assert "<|im_end|>" not in text and "<|im_start|>" not in text


def test_chat_mode_answer_cites_the_right_document(qwen_settings, sample_index):
    s = qwen_settings
    orchestrator = Orchestrator(sample_index, LLMClient(s.llm), s.answer, PromptBook(s.prompt_dir()), bare_guard())
    answer = orchestrator.ask("재택근무 중 보안 사고가 나면 어디에 신고하나요?", principal=OPERATOR)
    assert not answer.refused and answer.citations, answer.answer
    assert markers_in(answer.answer) == {c.n for c in answer.citations}
    assert {Path(c.source).name for c in answer.citations} == {"remote_work_guideline.md"}, answer.answer


def test_llm_rewrite_turns_a_follow_up_into_a_standalone_query(qwen_settings, sample_index):
    s = qwen_settings
    orchestrator = Orchestrator(sample_index, LLMClient(s.llm), s.answer, PromptBook(s.prompt_dir()), bare_guard())
    first = "정보공개 청구 처리 기간은 얼마나 걸리나요?"
    history = [
        HistoryTurn(role="user", content=first),
        HistoryTurn(role="assistant", content="청구를 받은 날부터 10일 이내에 공개 여부를 결정합니다 [1]."),
    ]
    follow_up = "그럼 신청은 어떻게 해?"
    prepared = orchestrator.prepare(orchestrator.question(follow_up, history), principal=OPERATOR)
    query = prepared.trace.retrieval_query
    assert "정보공개" in query and "신청" in query, query  # the topic of the first turn, what the follow-up asks
    assert query not in (follow_up, first, f"{first} {follow_up}"), query  # rewritten, not echoed or concatenated
    assert "사용자" not in query and "10일" not in query, query  # no copied conversation lines
    assert Path(prepared.trace.hits[0].source).name == "foi_request_guide.html"
