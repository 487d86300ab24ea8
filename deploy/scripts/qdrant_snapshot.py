#!/usr/bin/env python3
"""Qdrant collection snapshots: take one on every node and keep the newest N, or restore one.

    qdrant_snapshot.py create  --url URL [--url URL ...] --collection nuri --dest DIR [--keep 7]
    qdrant_snapshot.py restore --url URL --collection nuri (--file SNAPSHOT | --location URL)
                               [--priority snapshot] [--checksum SHA256]

Standard library only (urllib): it runs in the Nuri image (/opt/nuri/scripts/) or anywhere with
Python 3.11. The API key is read from the environment variable named by --api-key-env
(default NURI_INDEX__API_KEY) and sent as the `api-key` header; it is never an argument.

A collection snapshot holds the shards of ONE node (Qdrant: "in a distributed setup, create
snapshots for each node separately"), so `create` asks every node given with --url:

  POST   {url}/collections/{c}/snapshots?wait=true        -> the snapshot's name (and sha256)
  GET    {url}/collections/{c}/snapshots/{name}           -> DEST/{node}/{name} (via .part,
                                                             sha256 checked when Qdrant sent one)
  DELETE {url}/collections/{c}/snapshots/{name}?wait=true -> no copy left on the node's disk

then keeps the newest --keep files in DEST/{node}/. {node} is the host's first DNS label
(qdrant-0 for qdrant-0.qdrant-headless), with the port when it is not 6333.

`restore` recovers one node's collection data (restore each node from its own snapshot):

  --file:     POST {url}/collections/{c}/snapshots/upload?wait=true&priority=P[&checksum=S]
              multipart/form-data, the file in the field `snapshot` (streamed)
  --location: PUT  {url}/collections/{c}/snapshots/recover?wait=true
              {"location": URL, "priority": P[, "checksum": S]}   (a URL or file:// path the
              Qdrant node itself can read)

Exit status: 0 done; 1 a node failed (the others are still done); 2 wrong usage.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any

CHUNK = 1 << 20
SUFFIX = ".snapshot"


class QdrantError(Exception):
    pass


def _request(
    method: str,
    url: str,
    api_key: str | None,
    body: Any = None,
    headers: dict[str, str] | None = None,
    timeout: float = 3600.0,
) -> Any:
    """One call; the response object (caller reads and closes it). HTTP errors raise QdrantError.
    ``body``: bytes, or an object with ``read`` (sent in blocks; Content-Length in ``headers``)."""
    req = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))
    if api_key:
        req.add_header("api-key", api_key)
    try:
        return urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as e:
        detail = e.read(2000).decode("utf-8", "replace")
        raise QdrantError(f"{method} {url}: HTTP {e.code} {detail}") from None
    except (urllib.error.URLError, OSError) as e:
        raise QdrantError(f"{method} {url}: {e}") from None


def _json(method: str, url: str, api_key: str | None, payload: Any = None, timeout: float = 3600.0) -> Any:
    body = None if payload is None else json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"} if body is not None else {}
    with _request(method, url, api_key, body, headers, timeout) as resp:
        answer = json.loads(resp.read() or b"{}")
    if answer.get("status") not in (None, "ok"):
        raise QdrantError(f"{method} {url}: {answer.get('status')}")
    return answer.get("result")


def node_name(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or "node"
    label = host if host.replace(".", "").isdigit() else host.split(".")[0]
    port = parts.port or 6333
    return label if port == 6333 else f"{label}_{port}"


def _collection_url(url: str, collection: str) -> str:
    return f"{url.rstrip('/')}/collections/{urllib.parse.quote(collection, safe='')}/snapshots"


def create_on_node(url: str, collection: str, dest: Path, keep: int, api_key: str | None) -> Path:
    base = _collection_url(url, collection)
    made = _json("POST", f"{base}?wait=true", api_key)
    name = made["name"]
    quoted = urllib.parse.quote(name, safe="")
    folder = dest / node_name(url)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    part = folder / f"{name}.part"
    digest = hashlib.sha256()
    try:
        with _request("GET", f"{base}/{quoted}", api_key) as resp, part.open("wb") as out:
            while block := resp.read(CHUNK):
                digest.update(block)
                out.write(block)
        expected = made.get("checksum")
        if expected and digest.hexdigest() != expected:
            raise QdrantError(f"{name}: sha256 {digest.hexdigest()} != {expected} sent by Qdrant")
        part.replace(target)
    finally:
        part.unlink(missing_ok=True)
    _json("DELETE", f"{base}/{quoted}?wait=true", api_key)
    prune(folder, keep)
    return target


def prune(folder: Path, keep: int) -> list[Path]:
    """Delete all but the ``keep`` newest snapshot files of ``folder`` (by mtime, then name)."""
    files = sorted(folder.glob(f"*{SUFFIX}"), key=lambda p: (p.stat().st_mtime, p.name), reverse=True)
    gone = files[keep:]
    for p in gone:
        p.unlink()
    return gone


class _Multipart:
    """A multipart/form-data body with one file field, read in blocks (the file is not loaded)."""

    def __init__(self, path: Path, field: str, boundary: str) -> None:
        self._head = (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="{field}"; filename="{path.name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        self._tail = f"\r\n--{boundary}--\r\n".encode()
        self.length = len(self._head) + path.stat().st_size + len(self._tail)
        self._parts: list[Any] = [self._head, path.open("rb"), self._tail]

    def read(self, size: int = -1) -> bytes:
        while self._parts:
            part = self._parts[0]
            if isinstance(part, bytes):
                if size < 0 or size >= len(part):
                    self._parts.pop(0)
                    if part:
                        return part
                    continue
                self._parts[0] = part[size:]
                return part[:size]
            block = part.read(size if size > 0 else CHUNK)
            if block:
                return bytes(block)
            part.close()
            self._parts.pop(0)
        return b""

    def close(self) -> None:
        for part in self._parts:
            if not isinstance(part, bytes):
                part.close()
        self._parts = []


def restore_file(
    url: str, collection: str, path: Path, priority: str, checksum: str | None, api_key: str | None
) -> Any:
    query = {"wait": "true", "priority": priority} | ({"checksum": checksum} if checksum else {})
    target = f"{_collection_url(url, collection)}/upload?{urllib.parse.urlencode(query)}"
    boundary = uuid.uuid4().hex
    body = _Multipart(path, "snapshot", boundary)
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}", "Content-Length": str(body.length)}
    try:
        with _request("POST", target, api_key, body, headers) as resp:
            answer = json.loads(resp.read() or b"{}")
    finally:
        body.close()
    if answer.get("status") not in (None, "ok"):
        raise QdrantError(f"POST {target}: {answer.get('status')}")
    return answer.get("result")


def restore_location(
    url: str, collection: str, location: str, priority: str, checksum: str | None, api_key: str | None
) -> Any:
    payload = {"location": location, "priority": priority} | ({"checksum": checksum} if checksum else {})
    return _json("PUT", f"{_collection_url(url, collection)}/recover?wait=true", api_key, payload)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="qdrant_snapshot.py", description=__doc__.splitlines()[0])
    p.add_argument("--api-key-env", default="NURI_INDEX__API_KEY", help="variable holding the Qdrant API key")
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("create", help="snapshot the collection on every --url node into --dest")
    c.add_argument("--url", action="append", required=True, help="a Qdrant node (repeat for every node)")
    c.add_argument("--collection", required=True)
    c.add_argument("--dest", type=Path, required=True, help="folder of the backups (one subfolder per node)")
    c.add_argument("--keep", type=int, default=7, help="newest snapshots kept per node")
    r = sub.add_parser("restore", help="recover the collection on one --url node")
    r.add_argument("--url", required=True, help="the node to restore (each node from its own snapshot)")
    r.add_argument("--collection", required=True)
    src = r.add_mutually_exclusive_group(required=True)
    src.add_argument("--file", type=Path, help="a snapshot file here: uploaded")
    src.add_argument("--location", help="a URL or file:// path the Qdrant node can read")
    r.add_argument("--priority", choices=["snapshot", "replica", "no_sync"], default="snapshot")
    r.add_argument("--checksum", help="expected sha256 of the snapshot (Qdrant checks it)")
    args = p.parse_args(argv)
    api_key = os.environ.get(args.api_key_env) or None

    if args.command == "create":
        if args.keep < 1:
            p.error("--keep must be at least 1")
        failed = 0
        for url in args.url:
            try:
                saved = create_on_node(url, args.collection, args.dest, args.keep, api_key)
                print(f"saved {saved} ({saved.stat().st_size} bytes)", flush=True)
            except (QdrantError, OSError, KeyError) as e:
                failed += 1
                print(f"FAILED {url}: {e}", file=sys.stderr, flush=True)
        return 1 if failed else 0

    try:
        if args.file:
            if not args.file.is_file():
                p.error(f"no such file: {args.file}")
            result = restore_file(args.url, args.collection, args.file, args.priority, args.checksum, api_key)
        else:
            result = restore_location(args.url, args.collection, args.location, args.priority, args.checksum, api_key)
    except (QdrantError, OSError) as e:
        print(f"FAILED {args.url}: {e}", file=sys.stderr)
        return 1
    print(f"restored {args.collection} on {args.url}: {json.dumps(result)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
