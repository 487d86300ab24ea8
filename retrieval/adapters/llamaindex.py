"""A LlamaIndex ``BaseRetriever`` over Nuri's hybrid search."""

from __future__ import annotations

from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from retrieval.index import NuriIndex
from retrieval.types import Principal, SearchFilters


class NuriLlamaRetriever(BaseRetriever):
    """``NuriLlamaRetriever(idx).retrieve("질문")`` -> ``NodeWithScore`` list."""

    def __init__(
        self,
        index: NuriIndex,
        top_k: int = 5,
        filters: SearchFilters | None = None,
        principal: Principal | None = None,
    ) -> None:
        super().__init__()
        self._index = index
        self._top_k = top_k
        self._filters = filters
        self._principal = principal or Principal()

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        hits = self._index.search(
            query_bundle.query_str, top_k=self._top_k, filters=self._filters, principal=self._principal
        )
        return [
            NodeWithScore(
                node=TextNode(id_=f"{h.doc_id}#{h.anchor}", text=h.text, metadata=h.citation_fields()), score=h.score
            )
            for h in hits
        ]
