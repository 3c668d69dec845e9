"""``hcsp train sft``: TRL's SFTTrainer on rejection-sampled trajectories.

The conversations are rendered with the agent's chat template (agent.format), whose
``{% generation %}`` marks put the loss on the assistant's turns only: the system
prompt, the question and every tool turn (retrieved text) carry no loss.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from train.config import HcspSFTConfig
from train.data import check_conversation, fingerprint, read_sft
from train.errors import TrainError
from train.model import load_for_training, model_path
from train.runcard import run_stage


def sft_records(config: HcspSFTConfig) -> tuple[list[dict[str, Any]], str]:
    """The SFT records and where they came from (a file, or the API via rollouts)."""
    if not config.data:
        raise TrainError("no SFT data given", hint="pass --data FILE.jsonl or the API URL")
    if not config.data.startswith(("http://", "https://")):
        return read_sft(Path(config.data)), config.data
    return records_from_api(config), config.data


def records_from_api(config: HcspSFTConfig) -> list[dict[str, Any]]:
    """Pull questions, answer them with the teacher and the real search tool, keep the
    correct trajectories (the same steps as `hcsp agent rollout` + `select`)."""
    from agent.loop import Agent, AgentConfig
    from agent.refine import ExtractiveRefiner
    from agent.rollout import read_trajectories, run_rollouts
    from agent.select import SelectConfig, select
    from agent.tools import open_search
    from hcsp.chat import make_chat
    from train.data import read_questions

    qs = read_questions(config.data, config.count, vertices=config.vertices,
                        min_difficulty=config.min_difficulty)
    tool = open_search(config.search)
    teacher = make_chat(config.teacher or f"transformers:{model_path(config.model)}",
                        config.teacher_base_url)
    if teacher is None:
        raise TrainError("--teacher none cannot answer questions",
                         hint="give a model spec, e.g. openai:MODEL or transformers:PATH")
    out = Path(config.output_dir or ".") / "teacher_trajectories.jsonl"
    run_rollouts(Agent(teacher, tool, ExtractiveRefiner(), AgentConfig(temperature=0.7)), qs,
                 out, samples=config.samples)
    kept, dropped = select(read_trajectories(out), SelectConfig())
    if not kept:
        raise TrainError(f"the teacher answered none of {len(qs)} questions correctly "
                         f"({dict(dropped)})", hint="use a stronger --teacher or more --samples")
    return [{"id": r["id"], "messages": check_conversation(r, r["id"])} for r in kept]


def build_trainer(config: HcspSFTConfig, records: list[dict[str, Any]]) -> Any:
    from datasets import Dataset
    from trl import SFTTrainer

    model, tok = load_for_training(config.model)
    ds = Dataset.from_list([{"messages": r["messages"]} for r in records])
    return SFTTrainer(model=model, args=config, train_dataset=ds, processing_class=tok)


def run_sft(config: HcspSFTConfig) -> dict[str, Any]:
    """Check data and memory, train (resuming from the last checkpoint), save, write the
    run card. Returns the card."""
    t0 = time.perf_counter()
    records, source = sft_records(config)
    return run_stage(config, stage="sft", started=t0,
                     data={"source": source, "records": len(records),
                           "fingerprint": fingerprint(records),
                           "ids": [r["id"] for r in records]},
                     build=lambda: build_trainer(config, records))
