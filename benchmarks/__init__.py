"""Nuri benchmarks: ingest throughput, re-sync cost and search latency against a LangChain baseline.

Run them with ``make bench`` (``python -m benchmarks.run``); see :mod:`benchmarks.run` for the
methodology.
"""
