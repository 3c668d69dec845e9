"""The model a run starts from, and whether it can train here at all."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
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


def check_fits(path: str, *, available: int | None = None, params: int | None = None
               ) -> dict[str, Any]:
    """TrainError, before any work, when full fine-tuning cannot fit in memory."""
    n = count_params(path) if params is None else params
    need = int(n * BYTES_PER_PARAM)
    have, where = available_memory() if available is None else (available, "memory")
    if need > have:
        raise TrainError(
            f"the model has {n / 1e9:.2f}B parameters: full fine-tuning needs about "
            f"{need / 2**30:.1f} GiB, and {where} has {have / 2**30:.1f} GiB free",
            hint="use a smaller model, more GPUs (accelerate / DeepSpeed ZeRO-3, see the README) "
            "or bf16")
    return {"params": n, "need_bytes": need, "free_bytes": have, "where": where}


def optimizer_bytes(optim: str) -> int:
    """Bytes per parameter an optimizer keeps in a checkpoint: two float32 moments for
    the Adam family, one byte each for 8-bit ones, next to nothing for plain SGD."""
    if optim.startswith("sgd") or optim.startswith("adafactor"):
        return 0
    return 2 if "8bit" in optim else 8


def _value(option: Any) -> str:
    """An option as its plain string (TRL's configs hold enums)."""
    return str(getattr(option, "value", option))


def disk_need(params: int, config: Any, existing: int = 0) -> int:
    """Bytes a run adds at its peak: the final float32 model, or the checkpoints kept
    (``save_total_limit``, plus the one being written before the oldest is removed),
    less the ``existing`` complete checkpoints a resumed run rotates out."""
    weights = params * 4
    if _value(getattr(config, "save_strategy", "no")) == "no":
        return weights
    optim = _value(getattr(config, "optim", "adamw_torch"))
    ckpt = weights + (0 if getattr(config, "save_only_model", False)
                      else params * optimizer_bytes(optim))
    limit = getattr(config, "save_total_limit", None)
    return max(weights, ckpt * ((limit or 1) + 1 - existing))


def check_disk(out: Path, params: int, config: Any, *, existing: int = 0,
               free: int | None = None) -> dict[str, Any]:
    """TrainError, before any work, when the output folder's disk cannot hold the run's
    checkpoints and final model (a full disk otherwise surfaces mid-run, at a save)."""
    where = out
    while not where.exists() and where != where.parent:
        where = where.parent
    have = shutil.disk_usage(where).free if free is None else free
    need = disk_need(params, config, existing)
    if need > have:
        raise TrainError(
            f"{out} is on a disk with {have / 2**30:.1f} GiB free; this run writes about "
            f"{need / 2**30:.1f} GiB (the final model and up to "
            f"{(getattr(config, 'save_total_limit', None) or 1) + 1} checkpoints)",
            hint="free space, set --output_dir elsewhere, or write less: --save_total_limit 1, "
            "--save_only_model true (no optimizer state: cannot resume exactly), "
            "--save_strategy no")
    return {"need_bytes": need, "free_bytes": have}


def preflight(config: Any, out: Path, existing: int = 0) -> dict[str, Any]:
    """Memory (unless ``--check_memory false``) and disk checks for a run's model, with
    ``existing`` complete checkpoints in ``out``; what they found, for the run card."""
    path = model_path(config.model)
    n = count_params(path)
    memory = check_fits(path, params=n) if config.check_memory else None
    return {"params": n, "memory": memory,
            "disk": check_disk(out, n, config, existing=existing)}


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
