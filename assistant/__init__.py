"""Assistant: orchestration, model clients, the HTTP API and the ``nuri`` command line."""
