"""Evals: datasets, metrics and reports on how accurate and safe Nuri's answers are."""
