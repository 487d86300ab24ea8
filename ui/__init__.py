"""The Gradio chat UI for civil servants. Not built yet (comes with the cited-answers issue)."""
