"""GRPO rollouts train on what the policy sampled: with SmolLM2-135M and real search
over the enwiki and ltgwiki samples, the ids under mask 1 are the ids the policy
generated, turn by turn (replayed independently with ``model.generate``, greedy and
sampled), their log-probabilities are the model's; a reply cut at ``max_tokens`` carries
no end-of-turn token and is told apart the same way by eval; a rollout whose chat
template rewrites the conversation ends alone and the training step completes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from agent.episode import AgentConfig
from agent.format import CHAT_TEMPLATE, STOPS, initial_messages
from agent.local import end_tokens
from agent.refine import ExtractiveRefiner
from agent.tools import HttpSearch, LocalSearch
from train.config import HcspGRPOConfig, parse
from train.data import read_questions
from train.errors import TrainError
from train.grpo import RolloutCounts, build_trainer, zero_for_failed
from train.rewards import hcsp_reward
from train.rollout import rollout_batch, rollout_episode

QUESTIONS = ["Which town in Kentucky was Abraham Lincoln born in?",
             "What is the capital of Latvia?"]


def replay(model: Any, tok: Any, ep: dict[str, Any], c: AgentConfig, **how: Any) -> None:
    """Each reply's mask-1 ids are what ``model.generate``, given the very ids the rollout
    says the policy saw, generates (same seed, same settings); mask 1 is on those spans
    only; the log-probabilities are the model's on the whole sequence."""
    ids, mask, logps = ep["completion_ids"], ep["env_mask"], ep["logprobs"]
    prompt = ep["prompt_ids"]
    own = [0] * len(ids)
    for a, b in ep["reply_spans"]:
        ctx = torch.tensor([prompt + ids[:a]])
        with torch.no_grad():
            out = model.generate(ctx, attention_mask=torch.ones_like(ctx),
                                 max_new_tokens=c.max_tokens, stop_strings=list(STOPS),
                                 tokenizer=tok, pad_token_id=tok.pad_token_id, **how)
        assert ids[a:b] == out[0, ctx.shape[1]:].tolist()
        own[a:b] = [1] * (b - a)
    assert mask == own
    temperature = how.get("temperature", 1.0)
    seq = torch.tensor([prompt + ids])
    with torch.no_grad():
        logits = model(seq).logits[0, len(prompt) - 1:-1].float() / temperature
    want = torch.log_softmax(logits, -1).gather(1, torch.tensor(ids)[:, None])[:, 0]
    for n, m in enumerate(mask):
        if m:
            assert logps[n] == pytest.approx(want[n].item(), abs=2e-3)
        else:
            assert logps[n] is None


def test_greedy_rollouts_train_on_the_generated_ids(smollm2: Any, index: Any) -> None:
    c = AgentConfig(max_turns=3, max_tokens=64)
    tok, model = smollm2.tokenizer, smollm2.model
    ends = end_tokens(model, tok)
    # generated together (left-padded, lockstep turns, one search call) ...
    eps = rollout_batch(model, tok, QUESTIONS, LocalSearch(index), ExtractiveRefiner(),
                        c, temperature=0.0)
    replay(model, tok, eps[0], c, do_sample=False)  # the other: one at a time, below
    for question, ep in zip(QUESTIONS, eps, strict=True):
        ids, mask = ep["completion_ids"], ep["env_mask"]
        own = tok.decode([i for i, m in zip(ids, mask, strict=True) if m])
        env = tok.decode([i for i, m in zip(ids, mask, strict=True) if not m])
        assert "<information>" not in own and "<|im_start|>" not in own
        assert ep["prompt_ids"] == tok.apply_chat_template(
            initial_messages(question), chat_template=CHAT_TEMPLATE, add_generation_prompt=True,
            tokenize=True, return_dict=True)["input_ids"]
        tool_turns = [o for o in ep["observations"] if o is not None]
        assert env.count("<information>") == len(tool_turns) >= ep["n_searches"]
        if ep["n_searches"]:
            assert ep["retrieved_titles"]
        assert ep["agent_turns"] and all(t in own for t in ep["agent_turns"])
        # a finished episode ends on an end-of-turn token: the policy's (mask 1) or,
        # after an action, the template's (mask 0)
        _, b = ep["reply_spans"][-1]
        if ep["truncated"][-1]:
            assert b == len(ids) and ids[-1] not in ends
        elif b == len(ids):
            assert ids[-1] in ends and mask[-1] == 1
        else:
            assert b == len(ids) - 1 and ids[-1] in ends and mask[-1] == 0
    assert sum(ep["n_searches"] for ep in eps) > 0  # the tool turn path ran
    # ... are the episodes one at a time would give (greedy; log-probabilities agree to
    # float rounding: padding changes the order of the sums)
    one = rollout_episode(model, tok, QUESTIONS[1], LocalSearch(index), ExtractiveRefiner(),
                          c, temperature=0.0)
    assert {k: v for k, v in one.items() if k != "logprobs"} == \
        {k: v for k, v in eps[1].items() if k != "logprobs"}
    assert [x is None for x in one["logprobs"]] == [x is None for x in eps[1]["logprobs"]]


def test_sampled_rollouts_train_on_the_sampled_ids(smollm2: Any, index: Any) -> None:
    c = AgentConfig(max_turns=2, max_tokens=48)
    tok, model = smollm2.tokenizer, smollm2.model
    torch.manual_seed(11)
    ep = rollout_episode(model, tok, QUESTIONS[0], LocalSearch(index), ExtractiveRefiner(),
                         c, temperature=0.9, top_p=1.0, top_k=0)
    torch.manual_seed(11)  # the same draws, turn by turn
    replay(model, tok, ep, c, do_sample=True, temperature=0.9, top_p=1.0, top_k=0)


def test_a_truncated_reply_carries_no_end_of_turn(smollm2: Any, index: Any) -> None:
    """Cut at 8 tokens, both replies of the episode are truncated: their ids are the 8
    sampled, the template's end of turn after the first is mask 0, none follows the
    last (the trainer sees a truncated completion); eval tells the same replies apart
    the same way, and both get the same reminder and ending."""
    from agent.loop import Agent
    from agent.questions import Question

    c = AgentConfig(max_turns=2, max_tokens=8)
    tok, model = smollm2.tokenizer, smollm2.model
    ends = end_tokens(model, tok)
    ep = rollout_episode(model, tok, QUESTIONS[1], LocalSearch(index), ExtractiveRefiner(), c,
                         temperature=0.0)
    ids, mask = ep["completion_ids"], ep["env_mask"]
    assert ep["truncated"] == [True, True] and ep["stop_reason"] == "malformed"
    (a1, b1), (a2, b2) = ep["reply_spans"]
    assert b1 - a1 == b2 - a2 == 8 and not any(ids[i] in ends for i in range(a1, b1))
    assert ids[b1] in ends and mask[b1] == 0  # the template closes the cut turn
    assert b2 == len(ids) and ids[-1] not in ends
    assert "reached the limit of 8 tokens" in (ep["observations"][0] or "")
    rec = Agent(smollm2, LocalSearch(index), ExtractiveRefiner(), c).run(
        Question(id="q", question=QUESTIONS[1], answer="Riga"))
    assert [t["truncated"] for t in rec["turns"]] == ep["truncated"]
    assert [t.get("observation") for t in rec["turns"]] == ep["observations"]
    assert rec["stop_reason"] == ep["stop_reason"]


def test_a_search_tool_that_fails_ends_its_rollouts(smollm2: Any, index: Any) -> None:
    c = AgentConfig(max_turns=2, max_tokens=48)
    dead = HttpSearch("http://127.0.0.1:9", timeout=1, retries=0)
    (ep,) = rollout_batch(smollm2.model, smollm2.tokenizer, QUESTIONS[:1], dead,
                          ExtractiveRefiner(), c, temperature=0.0)
    assert ep["stop_reason"] == "search_error" and "127.0.0.1:9" in ep["error"]
    assert not any(ep["env_mask"]) and ep["completion_ids"]
    assert zero_for_failed(hcsp_reward)(["<think>a</think><answer>Riga</answer>"] * 2,
                                        answer=["Riga"] * 2,
                                        stop_reason=["search_error", "answered"]) == [0.0, 1.0]


def test_most_rollouts_failing_stops_the_run() -> None:
    def ep(reason: str) -> dict[str, Any]:
        return {"stop_reason": reason, "error": f"{reason} here", "truncated": [False, True]}

    counts = RolloutCounts(0.5)
    counts.add([ep("answered"), ep("template_mismatch"), ep("max_turns"), ep("answered")])
    counts.add([ep("search_error"), ep("answered")])
    assert counts.summary() == {
        "rollouts": 6, "failed": 2, "replies": 12, "truncated_replies": 6,
        "stop_reasons": {"answered": 3, "template_mismatch": 1, "max_turns": 1,
                         "search_error": 1},
        "errors": ["template_mismatch: template_mismatch here", "search_error: search_error here"]}
    with pytest.raises(TrainError, match=r"7 of 11 rollouts failed \(template_mismatch 1, "
                       r"search_error 6\), more than the limit of 50%; the first: "
                       "template_mismatch"):
        counts.add([ep("search_error")] * 5)
    with pytest.raises(TrainError, match="rollout_failure_limit is a share"):
        parse(HcspGRPOConfig, ["--rollout_failure_limit", "2"])


# The agent's template, but once the conversation has gone on it writes the Latvia
# question differently (as templates do that mark the last user query): a re-rendering
# that is not an extension of what the policy saw.
MISMATCH = CHAT_TEMPLATE.replace(
    "+ message['content'] + '<|im_end|>\n' }}",
    "+ message['content'] + (' (asked before)' if 'capital of Latvia?' in message['content'] "
    "and not message.get('example') and messages[-1]['role'] != 'user' else '') "
    "+ '<|im_end|>\n' }}")


def test_a_mismatching_rollout_ends_alone_and_the_step_completes(
        smollm2_path: str, index: Any, qa_file: Path, tmp_path: Path) -> None:
    assert MISMATCH != CHAT_TEMPLATE
    config = parse(HcspGRPOConfig, [
        "--model", smollm2_path, "--questions", str(qa_file), "--output_dir", str(tmp_path),
        "--max_steps", "1", "--per_device_train_batch_size", "4", "--num_generations", "2",
        "--agent_max_turns", "2", "--agent_max_tokens", "32", "--temperature", "0.7",
        "--logging_steps", "1", "--save_strategy", "no", "--seed", "1", "--report_to", "none",
        "--rewards", "hcsp_reward", "tests.train.test_train:length_reward",
        "--reward_weights", "1", "1"])
    counts = RolloutCounts(config.rollout_failure_limit)
    # the first two questions: the capital of Latvia, Lincoln's birthplace; one group each
    trainer = build_trainer(config, read_questions(str(qa_file), 2), LocalSearch(index),
                            counts)
    trainer.processing_class.chat_template = MISMATCH
    trainer.train()
    assert trainer.state.global_step == 1
    s = counts.summary()
    assert s["rollouts"] == 4 and s["failed"] == 2
    assert s["stop_reasons"]["template_mismatch"] == 2
    assert "(asked before)" in s["errors"][0]
    row = next(h for h in trainer.state.log_history if "rewards/length_reward/mean" in h)
    # the failed rollouts score 0; the others wrote something
    assert row["rewards/length_reward/mean"] > 0
