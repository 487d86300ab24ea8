"""Serving over HTTP: the FastAPI app (``app.create_app``), its routers by concern
(``routes.health``, ``routes.search``, ``routes.answers``, ``routes.openai``), the one way an
answer leaves (``answer_stream``, plain or streamed), the one table from error code to status
(``errors``), the caller's identity (``auth``) and the process that runs it all
(``server.serve``)."""
