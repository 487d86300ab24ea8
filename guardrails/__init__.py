"""Guardrails: the checks on what goes in and out and the accounts of it.

``pipeline`` runs the named checks at three points (input: ``pii``, ``injection``, ``policy``;
context: ``context``; output: personal data not supplied by the caller); ``keys`` holds the API
keys (hashed), ``audit`` the hash-chained audit trail, ``store`` their SQLAlchemy engines
(SQLite or PostgreSQL). What a caller may read is decided in retrieval, inside the Qdrant filter.
"""
