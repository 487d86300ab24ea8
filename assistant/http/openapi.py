"""The API's OpenAPI description (``/openapi.json``): what the routes declare, plus what only the
running app knows.

The routes declare their bodies, answers and errors (``responses=``, :func:`streamed`,
:func:`link`); :func:`describe` adds to the generated document

- the bearer key (``components.securitySchemes``) on every operation the caller check guards
  (every ``/v1/`` path, :data:`~assistant.http.caller_gate.AUTHENTICATED_PREFIX`; ``/metrics``
  when ``api.metrics.require_key``; optional on ``/readyz``, where it only adds the reasons);
- the configured limits the service checks itself with its own codes (400 ``invalid_question``,
  ``invalid_history``, ``invalid_query``): a question's and a search query's length, that they are
  not blank, ``top_k``'s maximum, the earlier messages' length, the model names
  ``/v1/chat/completions`` answers to and the files an upload may hold. So a request the
  description calls valid is one the API takes, and one it calls invalid is refused
  (``tests/api_contract`` holds the API to it with schemathesis).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from assistant.http.caller_gate import AUTHENTICATED_PREFIX
from assistant.http.schemas import MODEL_ID, NOT_BLANK
from configs.settings import Settings

#: The security scheme's name in ``components.securitySchemes``.
BEARER = "bearerKey"
#: The HTTP methods of an OpenAPI path item.
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _event(required: list[str], **properties: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties}


#: A stream's error event's ``error``: the error body's, with the HTTP status it would have had.
_STREAM_ERROR = {"allOf": [_ref("ErrorDetail"), _event(["status"], status={"type": "integer"})]}
#: The events of ``POST /v1/ask`` (and a conversation's question).
ASK_EVENTS: dict[str, Any] = {
    "anyOf": [
        _event(["type", "text"], type={"const": "delta"}, text={"type": "string"}),
        _event(["type", "answer"], type={"const": "done"}, answer=_ref("Answer")),
        _event(["type", "error"], type={"const": "error"}, error=_STREAM_ERROR),
    ]
}
#: The events of ``POST /v1/chat/completions``: OpenAI's ``chat.completion.chunk``, the last with
#: Nuri's ``citations``, ``refused`` and ``guardrails``; or an error.
CHAT_EVENTS: dict[str, Any] = {
    "anyOf": [
        _event(
            ["id", "object", "created", "model", "choices"],
            id={"type": "string"},
            object={"const": "chat.completion.chunk"},
            created={"type": "integer"},
            model={"type": "string"},
            choices={
                "type": "array",
                "items": _event(
                    ["index", "delta", "finish_reason"],
                    index={"type": "integer"},
                    delta={
                        "type": "object",
                        "properties": {
                            "role": {"const": "assistant"},
                            "content": {"type": "string"},
                            "annotations": {"type": "array", "items": {"type": "object"}},
                        },
                    },
                    finish_reason={"enum": ["stop", None]},
                ),
            },
            citations={"type": "array", "items": _ref("Citation")},
            refused={"type": "boolean"},
            guardrails={"type": "array", "items": _ref("GuardrailDecision")},
        ),
        _event(["error"], error=_STREAM_ERROR),
    ]
}


def streamed(description: str, events: dict[str, Any]) -> dict[int | str, dict[str, Any]]:
    """``responses=`` of a route answering with :func:`assistant.http.answer_stream.respond`: its
    200 is JSON, or with ``"stream": true`` server-sent events, each ``data:`` one of ``events``
    (JSON), the last ``[DONE]`` (OpenAPI 3.1: the schema describes one event)."""
    data = {
        "anyOf": [
            {"const": "[DONE]"},
            {"type": "string", "contentMediaType": "application/json", "contentSchema": events},
        ]
    }
    event = {"type": "object", "required": ["data"], "properties": {"data": data}}
    return {200: {"description": description, "content": {"text/event-stream": {"schema": event}}}}


def link(path: str, method: str, **parameters: str) -> dict[str, Any]:
    """An OpenAPI link to the operation ``method path``, its ``parameters`` taken from the response
    (runtime expressions such as ``$response.body#/id``)."""
    pointer = path.replace("~", "~0").replace("/", "~1")
    return {"operationRef": f"#/paths/{pointer}/{method.lower()}", "parameters": parameters}


def describe(app: FastAPI, settings: Settings) -> dict[str, Any]:
    """The document served at ``/openapi.json`` (made once, then reused)."""
    if app.openapi_schema is None:
        doc = get_openapi(
            title=app.title,
            version=app.version,
            openapi_version=app.openapi_version,
            description=app.description,
            routes=app.routes,
        )
        _secure(doc, settings)
        _limits(doc, settings)
        app.openapi_schema = doc
    return app.openapi_schema


def _secure(doc: dict[str, Any], settings: Settings) -> None:
    doc.setdefault("components", {})["securitySchemes"] = {
        BEARER: {
            "type": "http",
            "scheme": "bearer",
            "description": "API 키 (`nuri keys create`) / an API key: `Authorization: Bearer nuri_…` (a signed agency "
            "gateway identity is the other way in: `api.auth.gateway`)",
        }
    }
    for path, item in doc.get("paths", {}).items():
        if path.startswith(AUTHENTICATED_PREFIX) or (path == "/metrics" and settings.api.metrics.require_key):
            required: list[dict[str, list[str]]] = [{BEARER: []}]
        elif path == "/readyz":
            required = [{}, {BEARER: []}]  # open; an admin's key adds the reasons
        else:
            continue
        for method in _METHODS:
            if method in item:
                item[method]["security"] = required


def _limits(doc: dict[str, Any], settings: Settings) -> None:
    schemas = doc.get("components", {}).get("schemas", {})
    question = {"maxLength": settings.answer.max_question_chars, "pattern": NOT_BLANK}
    for name in ("AskRequest", "ConversationQuestion"):
        _property(schemas, name, "question", question)
    _property(schemas, "HistoryTurn", "content", {"maxLength": settings.answer.max_turn_chars})
    _property(schemas, "SearchRequest", "query", {"maxLength": settings.search.max_query_chars, "pattern": NOT_BLANK})
    _property(schemas, "SearchRequest", "top_k", {"maximum": settings.search.max_top_k})
    models = sorted({MODEL_ID, settings.llm.model})
    _property(schemas, "ChatCompletionRequest", "model", {"enum": models})
    contains = schemas.get("ChatCompletionRequest", {}).get("properties", {}).get("messages", {}).get("contains")
    if contains is not None:  # the question: the last user message with text
        contains["properties"]["content"]["anyOf"][0]["maxLength"] = settings.answer.max_question_chars
    uploads = [name for name in schemas if name.startswith("Body_upload")]
    for name in uploads:
        _property(schemas, name, "files", {"maxItems": settings.documents.max_files_per_upload})


def _property(schemas: dict[str, Any], model: str, field: str, keywords: dict[str, Any]) -> None:
    """Add ``keywords`` to ``model.field``'s schema (to its non-null branch when it is optional)."""
    prop = schemas.get(model, {}).get("properties", {}).get(field)
    if prop is None:
        return
    branches = [b for b in prop.get("anyOf", [prop]) if b.get("type") != "null"]
    for branch in branches:
        branch.update(keywords)
