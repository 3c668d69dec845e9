"""Batch runs: K questions x n samples, one trajectory a JSONL line, resumable.

The output file is append-only. A rerun skips every episode already finished and
retries those that ended on a failure of the model, the tool or our code
(``model_error``, ``search_error``, ``error``); readers keep the last record of each
episode id. A line cut by a crash is dropped before appending.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.errors import AgentError
from agent.loop import RETRYABLE, Agent
from agent.questions import Question


def read_trajectories(path: Path) -> list[dict[str, Any]]:
    """The latest record of each episode in a trajectory file (file order kept)."""
    if not path.exists():
        raise AgentError(f"no trajectory file {path}", hint="run `hcsp agent rollout` first")
    latest: dict[str, dict[str, Any]] = {}
    for rec in _records(path):
        latest.pop(rec["id"], None)
        latest[rec["id"]] = rec
    return list(latest.values())


def _records(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by a crash
            if isinstance(rec, dict) and "id" in rec:
                yield rec


def _drop_partial_tail(path: Path) -> None:
    """Cut the file after its last newline (a crash mid-write leaves half a line)."""
    with open(path, "rb+") as fh:
        data = fh.read()
        if data and not data.endswith(b"\n"):
            fh.truncate(data.rfind(b"\n") + 1)


@dataclass
class RolloutReport:
    path: Path
    planned: int = 0
    resumed: int = 0
    written: int = 0
    correct: int = 0
    stop_reasons: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def episodes_per_min(self) -> float:
        return 60 * self.written / self.seconds if self.seconds else 0.0


def run_rollouts(agent: Agent, questions: list[Question], out: Path, *, samples: int = 1,
                 workers: int = 1, seed: int = 0,
                 progress: Callable[[RolloutReport], None] | None = None) -> RolloutReport:
    """Run every (question, sample) episode not yet finished in ``out``."""
    if samples < 1 or workers < 1:
        raise AgentError("samples and workers must be at least 1")
    out.parent.mkdir(parents=True, exist_ok=True)
    done: set[str] = set()
    if out.exists():
        _drop_partial_tail(out)
        done = {r["id"] for r in read_trajectories(out) if r.get("stop_reason") not in RETRYABLE}
    todo = [(q, s) for q in questions for s in range(samples) if f"{q.id}:{s}" not in done]
    report = RolloutReport(out, planned=len(questions) * samples,
                           resumed=len(questions) * samples - len(todo))
    t0 = time.perf_counter()
    with open(out, "a", encoding="utf-8") as fh, ThreadPoolExecutor(workers) as pool:
        futures = [pool.submit(agent.run, q, sample=s, seed=seed + s) for q, s in todo]
        for fut in as_completed(futures):
            # Agent.run records failures instead of raising; only this thread writes
            rec = fut.result()
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
            fh.flush()
            report.written += 1
            report.correct += bool(rec["correct"])
            report.stop_reasons[rec["stop_reason"]] += 1
            report.seconds = time.perf_counter() - t0
            if progress is not None:
                progress(report)
    report.seconds = time.perf_counter() - t0
    return report
