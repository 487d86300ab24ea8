"""Fitting: the code that fits the artefacts Nuri ships and makes its development data.

- :mod:`fitting.train_injection`: the prompt-injection classifier,
  ``guardrails/data/injection_model.json``;
- :mod:`fitting.calibrate_answerability`: the answerability model's weights
  (``answer.answerability``, the defaults in ``assistant/settings.py``);
- :mod:`fitting.calibrate_refusal`: the refusal threshold (``answer.min_relevance``, in
  ``assistant/settings.py``);
- :mod:`fitting.tune_retrieval`: retrieval settings (``search.*``) by two-fold cross-validation;
  :mod:`fitting.try_query_expansion`: the query-rewriting experiment;
- :mod:`fitting.make_pii_data` (with the held-out templates of
  :mod:`fitting.pii_heldout_templates`): the development data ``evals/data/guardrails/*.jsonl``.

Run them from the repository root, ``python -m fitting.<module>`` (``make calibrate`` runs the two
calibrations). The data they read stays where the product's evals read it (``evals/data/``, the
shared data folder). The product never imports this package (an import-linter contract in
``pyproject.toml`` checks it), and it is not packaged in the wheel.
"""
