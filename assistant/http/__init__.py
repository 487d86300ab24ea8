"""Serving over HTTP: the FastAPI app (``app.create_app``), its routers by concern
(``routes.health``, ``routes.search``, ``routes.answers``, ``routes.openai``), one mapping from
exception to status and error code (``errors``), the caller's identity (``identity``) and the
process that runs it all (``server.serve``)."""
