"""``hcsp train grpo``: TRL's GRPOTrainer where every rollout is the agent's episode.

Rollouts (train.rollout) play the same episode state machine as ``hcsp agent rollout``
and ``eval`` at the token level: the completion handed to the trainer is the ids the
policy sampled (``env_mask`` 1, with their log-probabilities) between the chat markup
and tool turns the template writes (``env_mask`` 0). They generate with the policy on
its device, or with TRL's vLLM backend under ``--use_vllm`` (each turn's generation to
vLLM, the searches to the tool). A rollout that fails around the policy (a template
that rewrites the conversation, a search tool error) ends alone with reward 0 and no
loss, is logged and counted in the run card; a run where more than
``--rollout_failure_limit`` of the rollouts failed stops with a TrainError. Rewards:
train.rewards.
"""

from __future__ import annotations

import functools
import time
from collections import Counter
from typing import Any

from agent.episode import AgentConfig
from agent.local import end_tokens
from agent.refine import ExtractiveRefiner, Refiner
from agent.tools import SearchTool, open_search
from train.config import HcspGRPOConfig
from train.data import fingerprint, read_questions
from train.errors import TrainError
from train.model import load_for_training
from train.rewards import resolve_reward
from train.rollout import (  # noqa: F401  (rollout_batch, rollout_episode: the API)
    FAILED,
    hf_generate,
    play,
    rollout_batch,
    rollout_episode,
    vllm_generate,
)
from train.runcard import run_stage, write_card


class RolloutCounts:
    """Rollouts of a run: how many, how they ended, replies cut at ``max_tokens``; the
    failed ones are logged. ``add`` raises TrainError once more than ``limit`` of all
    rollouts so far failed: then the run, not a rollout, is broken."""

    def __init__(self, limit: float = 0.5) -> None:
        self.limit = limit
        self.rollouts = self.failed = self.replies = self.truncated = 0
        self.stop_reasons: Counter[str] = Counter()
        self.errors: list[str] = []

    def add(self, episodes: list[dict[str, Any]]) -> None:
        for e in episodes:
            self.rollouts += 1
            self.stop_reasons[e["stop_reason"]] += 1
            self.replies += len(e["truncated"])
            self.truncated += sum(e["truncated"])
            if e["stop_reason"] in FAILED:
                self.failed += 1
                if len(self.errors) < 20:
                    self.errors.append(f"{e['stop_reason']}: {e['error']}")
        if self.failed > self.limit * self.rollouts:
            failures = ", ".join(f"{r} {n}" for r, n in self.stop_reasons.items() if r in FAILED)
            raise TrainError(
                f"{self.failed} of {self.rollouts} rollouts failed ({failures}), more than "
                f"the limit of {self.limit:.0%}; the first: {self.errors[0]}",
                hint="check the search tool (`hcsp agent search`) and that the tokenizer's chat "
                "template writes a conversation turn after turn (agent.format.CHAT_TEMPLATE); "
                "--rollout_failure_limit sets the share")

    def summary(self) -> dict[str, Any]:
        return {"rollouts": self.rollouts, "failed": self.failed,
                "stop_reasons": dict(self.stop_reasons), "replies": self.replies,
                "truncated_replies": self.truncated, "errors": self.errors}


def make_rollout_func(tool: SearchTool, refiner: Refiner, c: AgentConfig, batch_size: int = 0,
                      counts: RolloutCounts | None = None):
    """The ``rollout_func`` for GRPOTrainer: one episode per prompt it is given (a
    question), run together (``batch_size`` replies per generate call, 0: all), on the
    model's device or, with ``use_vllm``, through TRL's vLLM backend."""
    counts = counts if counts is not None else RolloutCounts()

    def rollout(prompts: list[str], trainer: Any) -> dict[str, Any]:
        model = trainer.accelerator.unwrap_model(trainer.model)
        tok = trainer.processing_class
        args = trainer.args
        was_training = model.training
        model.eval()
        try:
            gen = (vllm_generate(trainer, c) if getattr(trainer, "use_vllm", False) else
                   hf_generate(model, tok, c, temperature=args.temperature, top_p=args.top_p,
                               top_k=args.top_k or 0))
            eps = play(gen, tok, end_tokens(model, tok), prompts, tool, refiner, c, batch_size)
        finally:
            if was_training:
                model.train()
        counts.add(eps)
        return {k: [e[k] for e in eps] for k in eps[0]}
    return rollout


def zero_for_failed(reward: Any) -> Any:
    """``reward`` scoring 0 for every rollout that failed around the policy (stop reason
    in train.rollout.FAILED); its name is kept for TRL's logs."""
    @functools.wraps(reward)
    def scored(completions: list[Any], **kw: Any) -> list[float | None]:
        values = reward(completions, **kw)
        reasons = kw.get("stop_reason") or [None] * len(values)
        return [0.0 if r in FAILED else v for v, r in zip(values, reasons, strict=True)]
    return scored


def build_trainer(config: HcspGRPOConfig, questions: list[Any], tool: SearchTool,
                  counts: RolloutCounts | None = None) -> Any:
    """GRPOTrainer over the questions, its rollouts agent episodes (counted in
    ``counts``), each reward 0 for a failed rollout."""
    from datasets import Dataset
    from trl import GRPOTrainer

    rewards = [zero_for_failed(resolve_reward(r)) for r in config.rewards]
    model, tok = load_for_training(config.model, padding_side="left")
    agent = config.agent_config()
    # the prompt is the question itself: the episode builds the messages around it
    ds = Dataset.from_list([{
        "prompt": q.question, "answer": q.answer, "aliases": q.aliases,
        "evidence_pages": q.evidence_pages, "question_id": q.id} for q in questions])
    trainer = GRPOTrainer(model=model, reward_funcs=rewards,
                          args=config, train_dataset=ds, processing_class=tok,
                          rollout_func=make_rollout_func(tool, ExtractiveRefiner(hits=agent.k),
                                                         agent, config.agent_batch_size,
                                                         counts))
    if (config.use_vllm and config.vllm_mode == "server"
            and trainer.accelerator.num_processes > 1):
        # each turn is a collective call to the server; processes whose episodes take
        # different numbers of turns would wait on each other for ever
        raise TrainError("multi-turn rollouts with vLLM in server mode run in one training "
                         "process only",
                         hint="launch one process, or use --vllm_mode colocate")
    return trainer


def run_grpo(config: HcspGRPOConfig) -> dict[str, Any]:
    """Check questions, search tool and memory; train (resuming); save; run card (with
    the rollouts' counts, also when the run fails)."""
    import os
    from pathlib import Path

    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    t0 = time.perf_counter()
    questions = read_questions(config.questions, config.count, vertices=config.vertices,
                               min_difficulty=config.min_difficulty)
    try:
        tool = open_search(config.search)
        tool.search(["probe"], 1)
    except Exception as e:
        raise TrainError(f"the search tool at {config.search} does not answer: {e}",
                         hint="build it with `hcsp agent index` or start `hcsp agent "
                         "serve-search`") from e
    recs = [q.to_dict() for q in questions]
    counts = RolloutCounts(config.rollout_failure_limit)
    try:
        return run_stage(config, stage="grpo", started=t0,
                         data={"source": config.questions, "questions": len(recs),
                               "fingerprint": fingerprint(recs),
                               "ids": [q.id for q in questions]},
                         build=lambda: build_trainer(config, questions, tool, counts),
                         summary=lambda trainer: {"reward_curve": reward_curve(trainer),
                                                  "rollouts": counts.summary()})
    except BaseException:
        if counts.rollouts:
            write_card(Path(config.output_dir or ".hcsp/runs/grpo"), rollouts=counts.summary())
        raise


def reward_curve(trainer: Any) -> list[dict[str, Any]]:
    """The logged rows that carry rewards: step and every reward column."""
    return [{k: v for k, v in h.items() if k.startswith(("reward", "step"))}
            for h in trainer.state.log_history if any(k.startswith("reward") for k in h)]
