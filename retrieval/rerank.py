"""Optional cross-encoder reranking with a sentence-transformers model from a local path."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from retrieval.errors import EncoderUnavailableError
from retrieval.settings import RerankSettings
from retrieval.store import ScoredPayload

log = logging.getLogger(__name__)


class Reranker:
    def __init__(self, settings: RerankSettings) -> None:
        path = settings.model_path
        if not path or not Path(path).is_dir():
            raise EncoderUnavailableError(
                f"리랭커 모델 디렉터리가 없습니다: {path!r} (rerank.model_path / NURI_RERANK__MODEL_PATH)"
            )
        from sentence_transformers import CrossEncoder

        try:
            self._model = CrossEncoder(path, device=settings.device, local_files_only=True)
        except Exception as e:
            raise EncoderUnavailableError(f"리랭커 모델을 불러올 수 없습니다 ({path}): {e}") from e
        self._settings = settings

    def rerank(self, query: str, hits: list[ScoredPayload]) -> list[ScoredPayload]:
        head = hits[: self._settings.candidates]
        pairs = [(query, f"{h.payload.get('header', '')}\n{h.payload.get('text', '')}") for h in head]
        scores = self._model.predict(pairs, batch_size=self._settings.batch_size)
        ranked = sorted(zip(head, scores, strict=True), key=lambda x: float(x[1]), reverse=True)
        return [replace(h, score=float(s)) for h, s in ranked] + hits[len(head) :]


def build_reranker(settings: RerankSettings) -> Reranker | None:
    return Reranker(settings) if settings.enabled else None
