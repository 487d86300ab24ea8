"""Chat sign-ins every API replica knows.

Gradio keeps its sign-in tokens in a dict of the process that answered ``/login`` and names its
cookie after a random id drawn at start-up, so behind a load balancer with two replicas a
civil servant signed in on one is signed out on the other. :func:`share_sign_ins` gives the
mounted chat a fixed cookie name (``access-token-nuri``, which the nginx and Ingress affinity
rules in ``deploy/`` hash on) and :class:`SharedSignIns` as its token table: tokens are kept,
hashed, in the key store's database (``sign_in_sessions``: SQLite by default, PostgreSQL in
production), so a sign-in survives a request landing on another replica, or the replica that
took it going away. A session lasts ``ui.session_ttl_s``; a revoked key ends it at once (every
event looks the key up again).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, MutableMapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import fastapi

    from guardrails.keys import KeyStore

log = logging.getLogger("nuri.ui")

#: Gradio names its cookies ``access-token-<id>`` and ``access-token-unsecure-<id>``.
COOKIE_ID = "nuri"


class SharedSignIns(MutableMapping[str, str]):
    """Gradio's ``app.tokens`` (token -> user name, here the key id) on the key store. A found
    token is remembered in this process for ``cache_s`` seconds (Gradio looks the user up on
    every request of a page)."""

    def __init__(self, store: Callable[[], KeyStore | None], ttl_s: float, cache_s: float = 5.0) -> None:
        self._store, self.ttl_s, self.cache_s = store, ttl_s, cache_s
        self._seen: dict[str, tuple[str, float]] = {}  # token -> (key id, when looked up)
        self._lock = threading.Lock()

    @property
    def store(self) -> KeyStore:
        keys = self._store()
        if keys is None:
            raise RuntimeError("the key store is not open")
        return keys

    def __setitem__(self, token: str, key_id: str) -> None:
        self.store.open_session(token, key_id, self.ttl_s)
        with self._lock:
            self._seen[token] = (key_id, time.monotonic())

    def __getitem__(self, token: str) -> str:
        key_id = self.get(token)
        if key_id is None:
            raise KeyError(token)
        return key_id

    def get(self, token: object, default: str | None = None) -> str | None:  # type: ignore[override]
        if not isinstance(token, str) or not token:
            return default
        now = time.monotonic()
        with self._lock:
            hit = self._seen.get(token)
        if hit is not None and now - hit[1] < self.cache_s:
            return hit[0]
        try:
            key_id = self.store.session_key(token)
        except Exception:  # a store failure signs nobody in; it is logged
            log.exception("sign-in lookup failed")
            return default
        with self._lock:
            if key_id is None:
                self._seen.pop(token, None)
            else:
                self._seen[token] = (key_id, now)
        return key_id if key_id is not None else default

    def __contains__(self, token: object) -> bool:
        return self.get(token) is not None

    def __delitem__(self, token: str) -> None:
        self.store.close_session(token)
        with self._lock:
            self._seen.pop(token, None)

    def __iter__(self) -> Iterator[str]:
        """The tokens this process has seen (Gradio's sign-out walks them to end a user's
        sessions; the others expire)."""
        with self._lock:
            return iter(list(self._seen))

    def __len__(self) -> int:
        with self._lock:
            return len(self._seen)


def share_sign_ins(app: fastapi.FastAPI, path: str, tokens: SharedSignIns) -> None:
    """Give the Gradio app mounted at ``path`` the fixed cookie name and the shared token table
    (the same table the gateway and OpenID Connect sign-ins write, :mod:`ui.sso`)."""
    from starlette.routing import Mount

    mounted = [r for r in app.routes if isinstance(r, Mount) and r.path == path.rstrip("/")]
    if not mounted:
        raise RuntimeError(f"no Gradio app mounted at {path}")
    gradio_app = mounted[0].app
    gradio_app.cookie_id = COOKIE_ID  # type: ignore[attr-defined]
    gradio_app.tokens = tokens  # type: ignore[attr-defined]
