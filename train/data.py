"""Training data, checked before any long work starts: SFT conversations and GRPO
questions, from files or from the API, each with a fingerprint for the run card."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from agent.errors import AgentError
from agent.questions import Question, load_questions
from train.errors import TrainError


def fingerprint(records: list[dict[str, Any]]) -> str:
    """SHA-256 of the records as canonical JSON: same data, same fingerprint."""
    h = hashlib.sha256()
    for r in records:
        h.update(json.dumps(r, sort_keys=True, ensure_ascii=False).encode())
        h.update(b"\n")
    return h.hexdigest()


def check_conversation(rec: Any, where: str) -> list[dict[str, str]]:
    if not isinstance(rec, dict) or not isinstance(rec.get("messages"), list):
        raise TrainError(f"{where}: no \"messages\" list",
                         hint="SFT data is the output of `hcsp agent select`")
    msgs = rec["messages"]
    for m in msgs:
        if not isinstance(m, dict) or m.get("role") not in {"system", "user", "assistant",
                                                            "tool"} \
                or not isinstance(m.get("content"), str):
            raise TrainError(f"{where}: a message without a known role and text content")
    if not any(m["role"] == "assistant" and not m.get("example") for m in msgs):
        raise TrainError(f"{where}: no assistant turn, nothing to learn")
    # "example" marks the worked example's turns (no loss on them); one schema for all
    return [{"role": m["role"], "content": m["content"], "example": bool(m.get("example"))}
            for m in msgs]


def read_sft(path: Path) -> list[dict[str, Any]]:
    """SFT records (``messages`` + ids) from a JSONL file, every line checked."""
    if not path.exists():
        raise TrainError(f"no SFT data at {path}",
                         hint="make it with `hcsp agent rollout` then `hcsp agent select`")
    out = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise TrainError(f"{path}:{n}: not JSON ({e.msg})") from e
            out.append({"id": str(rec.get("id", n)) if isinstance(rec, dict) else str(n),
                        "messages": check_conversation(rec, f"{path}:{n}")})
    if not out:
        raise TrainError(f"{path} is empty: no trajectories to train on",
                         hint="select some with `hcsp agent select`")
    return out


def read_questions(source: str, count: int | None, **api: Any) -> list[Question]:
    """GRPO questions from a file or the API (with the settings' API token, if any);
    every one needs an answer."""
    if not source:
        raise TrainError("no questions given", hint="pass --questions FILE.jsonl or the API URL")
    try:
        if source.startswith(("http://", "https://")):
            from hcsp.settings import get_settings

            token = get_settings().api_token
            api.setdefault("token", token.get_secret_value() if token else None)
            return load_questions(source, count, **{k: v for k, v in api.items()
                                                    if v is not None})
        return load_questions(source, count)
    except AgentError as e:
        raise TrainError(e.message, hint=e.hint) from e
    except Exception as e:  # the API client's errors (down, refused) carry their message
        raise TrainError(f"cannot read questions from {source}: {e}",
                         hint="check that `hcsp serve` runs and /readyz answers") from e
