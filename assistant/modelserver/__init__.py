"""The model server Nuri starts and stops itself (llama.cpp on the bundled GGUF, or vLLM)."""
