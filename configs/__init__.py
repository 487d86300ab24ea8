"""Nuri's configuration and logging: the neutral home every stage may import.

- :mod:`configs.settings`: the root :class:`~configs.settings.Settings` (each stage's own model
  composed), profiles shipped with the package (``default.yaml``, ``production.yaml``), an
  operator's file (``NURI_CONFIG``) and ``NURI_...`` environment overrides.
- :mod:`configs.logs`: structured logging (one JSON object per line).
- :mod:`configs.resources`: files shipped as package data (profiles, prompts, chat templates),
  read with :mod:`importlib.resources`, so an installed wheel works from any directory.
"""
