"""A LangChain ``BaseRetriever`` over Nuri's hybrid search (filters and permissions included)."""

from __future__ import annotations

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LCDocument
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from retrieval.index import NuriIndex
from retrieval.types import Principal, SearchFilters


class NuriRetriever(BaseRetriever):
    """``NuriRetriever(index=idx, top_k=5).invoke("질문")`` -> LangChain Documents."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    index: NuriIndex
    top_k: int = 5
    filters: SearchFilters | None = None
    principal: Principal = Principal()

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[LCDocument]:
        hits = self.index.search(query, top_k=self.top_k, filters=self.filters, principal=self.principal)
        return [
            LCDocument(page_content=h.text, metadata=h.citation_fields(), id=f"{h.doc_id}#{h.anchor}") for h in hits
        ]
