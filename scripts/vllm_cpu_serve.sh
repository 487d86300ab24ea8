#!/usr/bin/env bash
# Start vLLM's OpenAI-compatible server on the CPU, in the foreground.
#
#   bash scripts/vllm_cpu_serve.sh [MODEL_DIR] [PORT]
#     MODEL_DIR  default data/models/gemma3-270m-hf (scripts/gguf_to_hf.py makes it)
#     PORT       default 8011
#
# Served model name: $VLLM_SERVED_NAME (default gemma3-270m). Ready when
# GET http://127.0.0.1:PORT/v1/models answers 200 (~35-50 s on 2 cores).
#
# Tuned for a 2-core / 24 GiB box that also runs llama.cpp and pytest:
#  --kv-cache-memory-bytes 512M  fixed KV cache (~40k tokens for Gemma 3 270M). With
#                                 it, --gpu-memory-utilization is ignored, and so is the
#                                 startup check that fails when less than that fraction
#                                 of total RAM is free. (VLLM_CPU_KVCACHE_SPACE=<GiB> is
#                                 the legacy env equivalent, whole GiB only.)
#  --enforce-eager               no torch.compile/inductor: startup ~35 s instead of ~110 s
#                                 (and no ~/.cache/vllm compile cache); decode ~15% slower.
#  --dtype bfloat16              AVX512-BF16/AMX path; float32 is 3-4x slower, more RAM.
#  VLLM_CPU_OMP_THREADS_BIND     "auto" (vLLM's default) binds 1 OMP thread on a 2-core
#                                 box and reserves the other core; binding all cores is
#                                 ~1.5x faster when the box is otherwise idle.
#                                 "nobind" is 5x slower (OMP spin contention): avoid.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODEL_DIR="${1:-$ROOT/data/models/gemma3-270m-hf}"
PORT="${2:-8011}"
HOST="${VLLM_HOST:-127.0.0.1}"
SERVED_NAME="${VLLM_SERVED_NAME:-gemma3-270m}"
PY="${VLLM_PYTHON:-$ROOT/.venv-vllm/bin/python}"

if [[ ! -f "$MODEL_DIR/config.json" ]]; then
  echo "[vllm-cpu-serve] no model at $MODEL_DIR; run: make vllm-cpu" >&2
  exit 2
fi
if [[ ! -x "$PY" ]]; then
  echo "[vllm-cpu-serve] no $PY; run: make vllm-cpu" >&2
  exit 2
fi

export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
export VLLM_NO_USAGE_STATS=1 VLLM_DO_NOT_TRACK=1 DO_NOT_TRACK=1
export VLLM_CPU_OMP_THREADS_BIND="${VLLM_CPU_OMP_THREADS_BIND:-auto}"

# exec: the server gets this shell's pid, so the caller can signal it directly
# (SIGTERM shuts down its engine-core and worker children too).
exec "$PY" -m vllm.entrypoints.openai.api_server \
  --model "$MODEL_DIR" \
  --served-model-name "$SERVED_NAME" \
  --host "$HOST" --port "$PORT" \
  --dtype bfloat16 \
  --max-model-len "${VLLM_MAX_MODEL_LEN:-4096}" \
  --kv-cache-memory-bytes "${VLLM_KV_CACHE_BYTES:-512M}" \
  --enforce-eager \
  --max-num-seqs "${VLLM_MAX_NUM_SEQS:-16}" \
  --disable-uvicorn-access-log \
  --uvicorn-log-level warning
