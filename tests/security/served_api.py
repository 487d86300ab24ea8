"""The real API (``build_asgi``: drain, body limits, caller check, admission, routes, the chat
at /ui) served by uvicorn on a free port, over a two-document index; answers are quoted from the
passages (``answer.generation: extractive``), so no model server is needed. Shared by the
security tests that need a real socket (slow bodies, cookies, cross-site headers)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conftest import answer_settings, issue_key, serve_app, write_md
from fastapi import FastAPI

from assistant.http.app import build_asgi
from assistant.service import NuriService
from configs.settings import Settings
from retrieval.index import NuriIndex
from retrieval.sync import Syncer

UNREACHABLE = "http://127.0.0.1:9/v1"  # answers are quoted: the model is never called
GATEWAY_SECRET = "s3cret-gateway-shared-key-0123456789"
QUESTION = "재택근무는 일주일에 며칠까지 할 수 있나요?"


@dataclass
class Served:
    url: str
    settings: Settings
    service: NuriService
    app: FastAPI  # the FastAPI app inside the middleware (its state: auth, admission)
    keys: dict[str, str]


def fastapi_of(asgi: Any) -> FastAPI:
    while not isinstance(asgi, FastAPI):
        asgi = asgi.app
    return asgi


@contextmanager
def served_api(root: Path, embedder: Any, model_url: str = UNREACHABLE, **overrides: Any) -> Iterator[Served]:
    """``model_url``: a model server for readiness (the chat answers only when the service is
    ready); answers are quoted from the passages either way."""
    corpus = root / "corpus"
    write_md(
        corpus,
        "remote.md",
        "재택근무 운영 지침",
        {"재택근무 일수": "재택근무는 주 2일까지 할 수 있으며 부서장의 승인을 받아야 한다."},
        meta="agency: 나부처\naccess: public\n",
    )
    api = {"auth": {"gateway": {"enabled": True, "secret": GATEWAY_SECRET}}}
    settings = answer_settings(
        model_url,
        index_dir=root / "index",
        data_dir=root / "data",
        answer={"generation": "extractive"},
        api=api,
    ).override(**overrides)
    index = NuriIndex.open(settings.retrieval, settings.index_dir, create=True, embedder=embedder)
    try:
        Syncer(index, settings.connectors, progress=False).sync([corpus])
        with NuriService(settings, index=index) as service:
            keys = {
                "user": issue_key(service, agency="나부처", clearance="internal"),
                "admin": issue_key(service, agency="나부처", clearance="internal", roles=("admin",)),
            }
            asgi = build_asgi(settings, service)
            app = fastapi_of(asgi)
            with serve_app(asgi, app, settings.ui.path) as url:
                yield Served(url, settings, service, app, keys)
    finally:
        index.close()
