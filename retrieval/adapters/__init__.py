"""Thin adapters exposing :class:`retrieval.index.NuriIndex` to LangChain and LlamaIndex."""
