"""Guardrails: checks on what goes in and out (personal data, prompt injection, policy,
groundedness) and the audit trail. Not built yet: the permission filters that exist today
live in retrieval (access levels applied inside Qdrant)."""
