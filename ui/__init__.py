"""The Gradio chat UI for civil servants (``ui.chat``): Korean labels, streamed answers, a 근거 자료
panel with every cited passage, example questions and a visible refusal notice. Mounted on the
API's FastAPI app by ``ui.chat:mount_chat`` (``settings.ui.factory``) at ``settings.ui.path``."""
