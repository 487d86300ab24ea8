"""Latency bookkeeping: repeated timed calls and percentile summaries (numpy)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

import numpy as np
from tqdm import tqdm

T = TypeVar("T")


@dataclass(frozen=True)
class Latency:
    """Percentiles of a list of per-call latencies, in milliseconds."""

    n: int
    p50_ms: float
    p95_ms: float
    mean_ms: float

    @classmethod
    def from_seconds(cls, seconds: Sequence[float]) -> Latency:
        ms = np.asarray(seconds, dtype=np.float64) * 1000.0
        if ms.size == 0:
            return cls(0, float("nan"), float("nan"), float("nan"))
        return cls(
            n=int(ms.size),
            p50_ms=float(np.percentile(ms, 50)),
            p95_ms=float(np.percentile(ms, 95)),
            mean_ms=float(ms.mean()),
        )

    def as_dict(self) -> dict[str, Any]:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in asdict(self).items()}


@dataclass
class TimedRuns:
    """Per-call latencies of every timed round, and the results of the first timed round."""

    seconds: list[float]
    first_round: list[Any]

    @property
    def latency(self) -> Latency:
        return Latency.from_seconds(self.seconds)


def time_calls(call: Callable[[T], Any], inputs: Sequence[T], rounds: int, warmup_rounds: int, desc: str) -> TimedRuns:
    """Call ``call`` on every input: ``warmup_rounds`` untimed passes, then ``rounds`` timed ones.

    Each call is timed on its own with :func:`time.perf_counter`; what it returns is kept for
    the first timed round only (to score recall), outside the timed region.
    """
    total = (warmup_rounds + rounds) * len(inputs)
    seconds: list[float] = []
    first: list[Any] = []
    with tqdm(total=total, desc=desc, unit="q", file=sys.stderr, leave=False) as bar:
        for _ in range(warmup_rounds):
            for item in inputs:
                call(item)
                bar.update(1)
        for r in range(rounds):
            for item in inputs:
                t0 = time.perf_counter()
                out = call(item)
                seconds.append(time.perf_counter() - t0)
                if r == 0:
                    first.append(out)
                bar.update(1)
    return TimedRuns(seconds=seconds, first_round=first)


def stopwatch(fn: Callable[[], T]) -> tuple[T, float]:
    """Run ``fn`` once; return its result and the elapsed seconds."""
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0
