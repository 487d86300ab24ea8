"""Retrieval: Documents -> chunks -> Qdrant (dense + Korean sparse) -> ranked passages."""
