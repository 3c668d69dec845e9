"""The model a run starts from, and whether it can train here at all."""

from __future__ import annotations

import os
from typing import Any

from agent.local import resolve_model
from hcsp.chat import ModelError
from train.errors import TrainError

# Full fine-tuning with AdamW in float32: weights, gradients and two optimizer states,
# 4 bytes each, plus a quarter again for activations and buffers at small batch sizes.
BYTES_PER_PARAM = 16 * 1.25


def available_memory() -> tuple[int, str]:
    """(bytes, where) the run can use: free GPU memory, else available RAM."""
    import torch

    if torch.cuda.is_available():
        free, _ = torch.cuda.mem_get_info()
        return int(free), f"GPU {torch.cuda.get_device_name(0)}"
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"), "RAM"


def count_params(path: str) -> int:
    """Parameters of a model, counted on the meta device (nothing loaded)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    try:
        cfg = AutoConfig.from_pretrained(path)
    except (OSError, ValueError) as e:
        raise TrainError(f"cannot read the model config of {path!r}: {e}",
                         hint="pass smollm2, a save_pretrained folder or a Hub id") from e
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(cfg)
    return sum(p.numel() for p in model.parameters())


def check_fits(path: str, *, available: int | None = None) -> dict[str, Any]:
    """TrainError, before any work, when full fine-tuning cannot fit in memory."""
    n = count_params(path)
    need = int(n * BYTES_PER_PARAM)
    have, where = available_memory() if available is None else (available, "memory")
    if need > have:
        raise TrainError(
            f"the model has {n / 1e9:.2f}B parameters: full fine-tuning needs about "
            f"{need / 2**30:.1f} GiB, and {where} has {have / 2**30:.1f} GiB free",
            hint="use a smaller model, more GPUs (accelerate / DeepSpeed ZeRO-3, see the README) "
            "or bf16")
    return {"params": n, "need_bytes": need, "free_bytes": have, "where": where}


def model_path(spec: str) -> str:
    try:
        return resolve_model(spec)
    except ModelError as e:
        raise TrainError(e.message, hint=e.hint) from e


def load_for_training(spec: str, *, padding_side: str = "right") -> tuple[Any, Any]:
    """(model in float32, tokenizer with the agent's chat template and a pad token)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from agent.format import CHAT_TEMPLATE

    path = model_path(spec)
    tok = AutoTokenizer.from_pretrained(path, padding_side=padding_side)
    tok.chat_template = CHAT_TEMPLATE
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32), tok
