"""Kiwi, the Korean morphological analyser, once per process.

The sparse index terms (``retrieval.sparse``), the personal-data names check (``guardrails.pii``)
and the eval's answer overlap (``evals.text_metrics``) all read Korean through Kiwi. One
instance serves them all: each costs ~0.5 GB, and the memory of one that is dropped is not all
given back (four services opened and closed in one process grew it by ~400 MB each; with one
shared analyser it stayed flat at ~650 MB). Analyses go through :data:`ANALYSIS_LOCK`, one at a
time, as each owner did with its own instance before (each takes well under a millisecond).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kiwipiepy import Kiwi

#: Held around every analysis with the shared analyser.
ANALYSIS_LOCK = threading.Lock()
_creating = threading.Lock()
_shared: Kiwi | None = None


def shared_kiwi() -> Kiwi:
    """The process's Kiwi, constructed (and its model loaded, ~1.5–4 s) on first use."""
    global _shared
    with _creating:
        if _shared is None:
            from kiwipiepy import Kiwi

            kiwi = Kiwi()
            kiwi.tokenize("법령 검색")  # Kiwi loads its model on the first call: pay it here
            _shared = kiwi
        return _shared
