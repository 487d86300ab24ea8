"""``nuri index create`` and ``nuri index info``: the Qdrant collection, made from the configuration.

    nuri index create [--dim N] [--json]
    nuri index info [--json]

``create`` makes the collection named by ``index.collection`` on the server or cluster at
``index.url`` with the configured layout (``index.shard_number``, ``replication_factor``,
``write_consistency_factor``, ``on_disk_payload``, HNSW) and the keyword payload indexes the
filters use. Its dimension is the configured embedder's (loaded, or asked once of the embeddings
server), or ``--dim`` without loading it. Run it again and it says the collection is there (exit
0); a collection of another dimension is an error (exit 1). For the embedded backend (``edge``)
there is nothing to do: the index folder is created by the first ``nuri ingest``.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from assistant.cli_errors import CliUsageError

if TYPE_CHECKING:
    from qdrant_client import QdrantClient

    from configs.settings import Settings
    from retrieval.settings import IndexSettings


def register(sub: argparse._SubParsersAction) -> None:
    ix = sub.add_parser("index", help="Qdrant 컬렉션 (설정대로 생성, 상태 확인)")
    ix_sub = ix.add_subparsers(dest="index_command", required=True, parser_class=type(ix))

    cr = ix_sub.add_parser("create", help="설정(index.*)대로 Qdrant 컬렉션 생성 (이미 있으면 확인만)")
    cr.add_argument("--dim", type=int, help="임베딩 차원 (주면 임베딩 모델을 불러오지 않음)")
    cr.add_argument("--json", action="store_true")
    cr.set_defaults(handler=cmd_index_create)

    info = ix_sub.add_parser("info", help="컬렉션의 설정·상태·포인트 수")
    info.add_argument("--json", action="store_true")
    info.set_defaults(handler=cmd_index_info)


def connect(settings: IndexSettings) -> QdrantClient:
    """The client of the configured server (a seam: tests hand in qdrant-client's local mode)."""
    from retrieval.qdrant_store import connect as qdrant_connect

    return qdrant_connect(settings)


def _embedding_dim(settings: Settings, dim: int | None) -> int:
    if dim is not None:
        if dim <= 0:
            raise CliUsageError("--dim은 양의 정수여야 합니다")
        return dim
    from retrieval.embedders import build_embedder

    return int(build_embedder(settings.embedder).dim)


def _edge_note(settings: Settings) -> str:
    return (
        f"index.backend가 edge(내장 색인)입니다: 컬렉션은 첫 `nuri ingest` 때 "
        f"{settings.resolve(settings.index_dir)}에 만들어집니다 (할 일 없음)"
    )


def cmd_index_create(args: argparse.Namespace) -> int:
    from configs.settings import load_settings
    from retrieval.qdrant_store import ensure_collection

    settings = load_settings()
    s = settings.index
    if s.backend != "qdrant":
        print(json.dumps({"backend": s.backend, "created": False}) if args.json else _edge_note(settings))
        return 0
    dim = _embedding_dim(settings, args.dim)
    client = connect(s)
    try:
        created = ensure_collection(client, s, dim)
    finally:
        client.close()
    layout = {
        "shard_number": s.shard_number,
        "replication_factor": s.replication_factor,
        "write_consistency_factor": s.write_consistency_factor,
        "on_disk_payload": s.on_disk_payload,
    }
    if args.json:
        print(json.dumps({"collection": s.collection, "created": created, "dim": dim, **layout}, ensure_ascii=False))
    elif created:
        shown = ", ".join(f"{k}={v}" for k, v in layout.items() if v is not None) or "서버 기본값"
        print(f"Qdrant 컬렉션 {s.collection}을(를) 만들었습니다: {dim}차원, {shown} ({s.url})")
    else:
        print(f"Qdrant 컬렉션 {s.collection}이(가) 이미 있습니다 ({dim}차원, 호환됨): 변경 없음")
    return 0


def cmd_index_info(args: argparse.Namespace) -> int:
    from configs.settings import load_settings
    from retrieval.qdrant_store import describe_collection

    settings = load_settings()
    s = settings.index
    if s.backend != "qdrant":
        if args.json:
            print(json.dumps({"backend": s.backend, "index_dir": str(settings.resolve(settings.index_dir))}))
        else:
            print(f"index.backend: edge (내장 색인, {settings.resolve(settings.index_dir)})")
        return 0
    client = connect(s)
    try:
        info = describe_collection(client, s)
    finally:
        client.close()
    if args.json:
        print(json.dumps(info, ensure_ascii=False, indent=2))
    else:
        print(_format_info(info))
    return 0


def _format_info(info: dict[str, Any]) -> str:
    lines = [
        f"컬렉션: {info['collection']} (상태 {info['status']})",
        f"포인트: {info['points']}  색인된 벡터: {info['indexed_vectors']}  세그먼트: {info['segments']}",
        f"임베딩 차원: {info['dim']}",
        f"샤드: {info['shard_number']}  복제: {info['replication_factor']}  "
        f"쓰기 확인 복제본: {info['write_consistency_factor']}  payload 디스크 저장: {info['on_disk_payload']}",
        f"HNSW: m={info['hnsw']['m']} ef_construct={info['hnsw']['ef_construct']}",
        f"payload 색인: {', '.join(info['payload_indexes']) or '없음'}",
    ]
    if info["metadata"]:
        lines.append(f"메타데이터: {json.dumps(info['metadata'], ensure_ascii=False)}")
    return "\n".join(lines)
