"""Run cards: ``run_card.json`` in the run's folder says what ran (config, model,
data fingerprint and ids, seed, versions), whether it resumed, and how it went
(the trainer's log history and final metrics). Written at the start, updated at the end."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
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


def run_stage(config: Any, *, stage: str, data: dict[str, Any], build: Callable[[], Any],
              started: float, summary: Callable[[Any], dict[str, Any]] = lambda _t: {}
              ) -> dict[str, Any]:
    """What both stages do once their data is checked: drop half-written checkpoints,
    check memory and disk, write the card, build the trainer, train (resuming), save, and
    finish the card (plus ``summary(trainer)``). ``started``: perf_counter at the start."""
    from train.model import preflight

    out = Path(config.output_dir or f".hcsp/runs/{stage}")
    resume, dropped = resume_point(out)
    checked = preflight(config, out, existing=len(checkpoints(out)))
    write_card(out, stage=stage, model=config.model, config=config_dict(config), data=data,
               seed=config.seed, memory=checked["memory"], disk=checked["disk"],
               versions=versions(), resumed_from=resume, dropped_checkpoints=dropped,
               status="running", error=None)
    trainer = build()
    result = train_and_save(trainer, out, resume)
    return write_card(out, status="done", metrics=result.metrics,
                      log_history=trainer.state.log_history, **summary(trainer),
                      seconds=round(time.perf_counter() - started, 1), final_model=str(out))


def config_dict(config: Any) -> dict[str, Any]:
    d = config.to_dict() if hasattr(config, "to_dict") else dict(vars(config))
    return {k: v for k, v in d.items() if not k.endswith("token") and "hub_token" not in k}


def checkpoints(out: Path) -> list[tuple[int, Path, bool]]:
    """(step, folder, complete) of each ``checkpoint-N`` in ``out``, oldest first. The
    trainer writes ``trainer_state.json`` last, so a folder without it is a save that was
    cut short (killed, or a full disk)."""
    found = []
    for p in out.glob("checkpoint-*") if out.is_dir() else ():
        step = p.name.removeprefix("checkpoint-")
        if p.is_dir() and step.isdigit():
            found.append((int(step), p, (p / "trainer_state.json").is_file()))
    return sorted(found)


def last_checkpoint(out: Path) -> str | None:
    """The newest complete checkpoint to resume from (a half-written one is passed over)."""
    done = [p for _, p, complete in checkpoints(out) if complete]
    return str(done[-1]) if done else None


def resume_point(out: Path) -> tuple[str | None, list[str]]:
    """(the checkpoint to resume from, the half-written ones removed first). Nothing can
    resume from a save that was cut short, and left in place the trainer's rotation
    (``save_total_limit``) would count it as the newest and delete complete ones."""
    import shutil

    dropped = []
    for _, p, complete in checkpoints(out):
        if not complete:
            shutil.rmtree(p)
            dropped.append(str(p))
    return last_checkpoint(out), dropped


def is_disk_full(e: BaseException) -> bool:
    """A write that failed for space: OSError ENOSPC, or the same surfacing through
    safetensors' or torch's writers, which keep only the message."""
    import errno

    if isinstance(e, OSError) and e.errno == errno.ENOSPC:
        return True
    text = str(e)
    return "No space left on device" in text or "file write failed" in text


def train_and_save(trainer: Any, out: Path, resume: str | None) -> Any:
    """Train (from ``resume`` if given), save the final model and tokenizer in ``out``.
    A full disk ends the run with a TrainError saying what is kept and how to go on; the
    card records the failure either way."""
    from train.errors import TrainError

    try:
        result = trainer.train(resume_from_checkpoint=resume)
        trainer.save_model(str(out))
        trainer.processing_class.save_pretrained(str(out))
    except BaseException as e:
        write_card(out, status="failed", error=f"{type(e).__name__}: {e}"[:2000])
        if not is_disk_full(e):
            raise
        kept = last_checkpoint(out)
        raise TrainError(
            f"the disk under {out} filled up while the run was saving; "
            + (f"the last complete checkpoint is {kept}" if kept else "no checkpoint is complete"),
            hint="free space (or set --save_total_limit lower) and rerun the same command: "
            "it resumes from the last complete checkpoint") from e
    return result
