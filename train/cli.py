"""``hcsp train sft|grpo``: every flag of TRL's SFTConfig / GRPOConfig plus ours
(``--model``, ``--data`` / ``--questions``, ``--search``, ...), and ``--config FILE.yaml``
with flags overriding it. ``hcsp train sft --help`` lists them all."""

from __future__ import annotations

import typer
from rich.console import Console

from hcsp.cliutil import friendly_errors

train_app = typer.Typer(no_args_is_help=True)
console = Console(stderr=True)
PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True}


def _summary(card: dict) -> None:
    m = card.get("metrics", {})
    resumed = f" (resumed from {card['resumed_from']})" if card.get("resumed_from") else ""
    for path in card.get("dropped_checkpoints", []):
        console.print(f"removed {path}: a save that was cut short (nothing to resume from)")
    console.print(f"{card['stage']}: {m.get('train_runtime', 0):.1f} s, train loss "
                  f"{m.get('train_loss', float('nan')):.4f}; data "
                  f"{card['data']['fingerprint'][:12]}{resumed}; model and run_card.json in "
                  f"{card['final_model']}")


@train_app.command("sft", context_settings=PASS_THROUGH, add_help_option=False)
@friendly_errors
def sft_command(ctx: typer.Context) -> None:
    """SFT (TRL SFTTrainer) on trajectories from `hcsp agent select`, tool turns masked."""
    from train.config import HcspSFTConfig, parse
    from train.sft import run_sft

    _summary(run_sft(parse(HcspSFTConfig, ctx.args)))


@train_app.command("grpo", context_settings=PASS_THROUGH, add_help_option=False)
@friendly_errors
def grpo_command(ctx: typer.Context) -> None:
    """GRPO (TRL GRPOTrainer): rollouts are agent episodes with the real search tool."""
    from train.config import HcspGRPOConfig, parse
    from train.grpo import run_grpo

    card = run_grpo(parse(HcspGRPOConfig, ctx.args))
    _summary(card)
    for row in card.get("reward_curve", []):
        console.print(f"  step {row.get('step')}: reward {row.get('reward', 0):.3f} "
                      f"(hcsp {row.get('rewards/hcsp_reward/mean', 0):.3f})")
