"""The model files shipped in ``guardrails/data`` (the injection classifier, the passage check)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def model_text(resource: str, path: str | Path | None = None) -> str:
    """The text of the model file at ``path``, or of the one bundled as ``data/<resource>``."""
    if path is not None:
        return Path(path).read_text(encoding="utf-8")
    ref = resources.files("guardrails").joinpath("data").joinpath(resource)
    if not ref.is_file():
        # "guardrails" resolved to a namespace package of the same name (pytest puts
        # tests/guardrails on sys.path first): read the file beside this module instead
        return (Path(__file__).resolve().parent / "data" / resource).read_text(encoding="utf-8")
    return ref.read_text(encoding="utf-8")
