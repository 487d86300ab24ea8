"""Fixtures of the answering-stage tests: the second bundled model, Qwen2.5-Coder 1.5B Instruct,
behind a real llama.cpp server started once per session (profile ``qwen``, a free port).

pytest imports every ``conftest.py`` that is not inside a package under the one module name
``conftest``: once this file is loaded, ``from conftest import answer_settings`` anywhere in the
suite finds this module instead of tests/conftest.py. Names not defined here are therefore looked
up in tests/conftest.py (module ``__getattr__``), so the shared helpers keep working everywhere."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

_SHARED = "nuri_tests_shared_conftest"


def _shared() -> ModuleType:
    """tests/conftest.py as a plain module (its helpers; its fixtures stay pytest's)."""
    module = sys.modules.get(_SHARED)
    if module is None:
        spec = importlib.util.spec_from_file_location(_SHARED, Path(__file__).resolve().parent.parent / "conftest.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[_SHARED] = module
        spec.loader.exec_module(module)
    return module


def __getattr__(name: str) -> Any:
    # Never hand pytest the shared file's hooks or collection settings a second time.
    if name.startswith(("__", "pytest_", "collect_")):
        raise AttributeError(name)
    return getattr(_shared(), name)


QWEN = "qwen2.5-coder-1.5b"


def qwen_profile(**overrides: Any):
    """The shipped ``qwen`` profile (as ``NURI_PROFILE=qwen`` loads it), with ``overrides``."""
    from configs.settings import load_settings

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NURI_PROFILE", "qwen")
        mp.delenv("NURI_CONFIG", raising=False)
        settings = load_settings()
    return settings.override(**overrides) if overrides else settings


@pytest.fixture(scope="session")
def qwen_server(tmp_path_factory):
    """llama.cpp on the bundled Qwen2.5-Coder 1.5B (assembled into ``model_server.models_dir``
    once; later sessions reuse it through its stamp), on a free port. A missing part package
    fails the run: it never skips."""
    from assistant.errors import ModelServerError
    from assistant.modelserver.server import ModelServer

    log_file = tmp_path_factory.mktemp("llm-qwen") / "server.log"
    settings = qwen_profile(model_server={"port": 0, "log_file": str(log_file)})
    server = ModelServer(settings.model_server, settings.llm, settings.resolve)
    try:
        server.start()
    except ModelServerError as e:
        tail = log_file.read_text(errors="replace")[-3000:] if log_file.exists() else ""
        pytest.fail(f"Qwen model server did not start: {e}\n{tail}")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def qwen_settings(qwen_server):
    """The ``qwen`` profile pointed at the running Qwen server."""
    return qwen_profile(llm={"base_urls": [qwen_server.base_url]})
