"""Run cards: ``run_card.json`` in the run's folder says what ran (config, model,
data fingerprint and ids, seed, versions), whether it resumed, and how it went
(the trainer's log history and final metrics). Written at the start, updated at the end."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

CARD = "run_card.json"


def versions() -> dict[str, str]:
    import torch
    import transformers
    import trl

    return {"torch": torch.__version__, "transformers": transformers.__version__,
            "trl": trl.__version__, "cuda": str(torch.cuda.is_available())}


def write_card(out: Path, **fields: Any) -> dict[str, Any]:
    """Merge ``fields`` into the card (created if missing) and write it atomically."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / CARD
    card = json.loads(path.read_text()) if path.exists() else {}
    card.update(fields)
    card["updated_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(card, indent=1, default=str))
    tmp.replace(path)
    return card


def config_dict(config: Any) -> dict[str, Any]:
    d = config.to_dict() if hasattr(config, "to_dict") else dict(vars(config))
    return {k: v for k, v in d.items() if not k.endswith("token") and "hub_token" not in k}


def last_checkpoint(out: Path) -> str | None:
    from transformers.trainer_utils import get_last_checkpoint

    return get_last_checkpoint(str(out)) if out.is_dir() else None
