"""Files shipped inside the ``configs`` package (profiles, prompt templates, chat templates).

They are package data, read through :mod:`importlib.resources`: a wheel installed into any
virtual environment finds them, whatever the current directory is.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable


def package_dir() -> Traversable:
    return files("configs")


def profile(name: str) -> Traversable:
    """The shipped profile ``<name>.yaml`` (``default``, ``production``, ``qwen``)."""
    return package_dir() / f"{name}.yaml"


def profile_names() -> list[str]:
    return sorted(
        p.name.removesuffix(".yaml")
        for p in package_dir().iterdir()
        if p.name.endswith(".yaml") and p.name != "guardrails.yaml"
    )


def guardrails() -> Traversable:
    """The shipped guardrail pipeline (``configs/guardrails.yaml``)."""
    return package_dir() / "guardrails.yaml"


def prompts_dir() -> Traversable:
    """The shipped prompt templates (``configs/prompts``)."""
    return package_dir() / "prompts"


def chat_template(name: str) -> Traversable:
    """A shipped chat template (``configs/chat_templates/<name>.jinja``)."""
    return package_dir() / "chat_templates" / f"{name}.jinja"
