"""``hcsp train grpo``: TRL's GRPOTrainer where every rollout is the agent's episode.

Each rollout plays the same episode state machine as ``hcsp agent rollout`` and
``eval`` (agent.episode: prompt, parsing, footer, format reminder, observations, stop
reasons), at the token level: at each turn the episode's messages are rendered by the
tokenizer's chat template, the policy being trained generates a reply (sampled), and
the reply, the searches it asks for and the refiner's notes go back into the episode,
until it ends. The completion handed to the trainer is the rendered conversation after
the prompt, with an ``env_mask`` of 1 on the tokens the template marks as the
assistant's (``{% generation %}``: each reply, cut after its action, and its
end-of-turn token) and 0 on everything else (tool turns, chat markup), so retrieved
text carries no loss. What the policy was conditioned on at every turn is a prefix of
that sequence (checked). Rewards: train.rewards.
"""

from __future__ import annotations

import time
from typing import Any

from agent.episode import AgentConfig, EpisodeState
from agent.format import STOPS
from agent.refine import ExtractiveRefiner, Refiner
from agent.tools import SearchTool, open_search
from train.config import HcspGRPOConfig
from train.data import fingerprint, read_questions
from train.errors import TrainError
from train.model import load_for_training
from train.rewards import resolve_reward
from train.runcard import run_stage


def render(tok: Any, messages: list[dict[str, Any]], **kw: Any) -> dict[str, Any]:
    """Token ids (and, with ``return_assistant_tokens_mask``, the assistant mask) of a
    conversation under the tokenizer's own chat template."""
    return dict(tok.apply_chat_template(messages, tokenize=True, return_dict=True, **kw))


class _Rollout:
    """One rollout while a batch of them runs turn by turn: the episode and the token
    ids the policy was last conditioned on."""

    def __init__(self, question: str, c: AgentConfig) -> None:
        self.state = EpisodeState(question, c)
        self.prompt_ids: list[int] = []
        self.context: list[int] = []
        self.retrieved: list[str] = []

    def next_context(self, tok: Any) -> list[int]:
        ids = list(render(tok, self.state.messages, add_generation_prompt=True)["input_ids"])
        if ids[:len(self.context)] != self.context:
            raise _not_prefix()
        self.context = ids
        if not self.prompt_ids:
            self.prompt_ids = ids
        return ids

    def result(self, tok: Any) -> dict[str, Any]:
        full = render(tok, self.state.messages, return_assistant_tokens_mask=True)
        ids, mask = list(full["input_ids"]), list(full["assistant_masks"])
        if ids[:len(self.context)] != self.context:
            raise _not_prefix()
        if not any(mask):
            raise TrainError("the tokenizer's chat template marks no assistant tokens",
                             hint="use a template with {% generation %} around assistant text "
                             "(agent.format.CHAT_TEMPLATE; train.model.load_for_training sets it)")
        completion, env = ids[len(self.prompt_ids):], mask[len(self.prompt_ids):]
        while env and not env[-1]:  # the markup after the last reply is no one's to learn
            completion.pop()
            env.pop()
        st = self.state
        return {"prompt_ids": self.prompt_ids, "completion_ids": completion, "env_mask": env,
                "agent_turns": [t.text for t in st.turns], "observations": st.observations,
                "retrieved_titles": self.retrieved, "n_searches": st.n_searches,
                "stop_reason": st.stop_reason}


def _not_prefix() -> TrainError:
    return TrainError("the tokenizer's chat template does not render a conversation as its "
                      "turns one after another (a later turn changed earlier tokens)",
                      hint="use agent.format.CHAT_TEMPLATE or another template that appends")


def _generate(model: Any, tok: Any, seqs: list[list[int]], c: AgentConfig, sampling: dict
              ) -> list[str]:
    """One reply for each sequence, generated together (left-padded), each decoded up to
    where it stopped: a closing action tag, the end of its turn or the token limit."""
    import torch

    pad = tok.pad_token_id
    ends = model.generation_config.eos_token_id
    # the chat template's end of turn too: a model whose eos is another token would
    # otherwise run past it into a made-up next turn
    im_end = tok.convert_tokens_to_ids("<|im_end|>") if "<|im_end|>" in tok.get_vocab() else None
    ends = {*(ends if isinstance(ends, list) else [ends]), tok.eos_token_id, im_end} - {None}
    width = max(map(len, seqs))
    ids = torch.tensor([[pad] * (width - len(s)) + s for s in seqs], device=model.device)
    attn = torch.tensor([[0] * (width - len(s)) + [1] * len(s) for s in seqs],
                        device=model.device)
    temperature = sampling.get("temperature", 1.0)
    # greedy takes no sampling flags (transformers warns of them); top_k 0 means none
    how = ({"do_sample": True, "temperature": temperature, "top_p": sampling.get("top_p", 1.0),
            "top_k": sampling.get("top_k", 0)} if temperature > 0 else {"do_sample": False})
    with torch.no_grad():
        out = model.generate(ids, attention_mask=attn, max_new_tokens=c.max_tokens,
                             stop_strings=list(STOPS), tokenizer=tok, pad_token_id=pad,
                             **how)
    replies = []
    for row in out[:, width:].tolist():
        # a reply that finished early is followed by padding (which may be its end token)
        cut = next((n for n, t in enumerate(row) if t in ends), len(row))
        row = row[:cut]
        while row and row[-1] == pad:
            row.pop()
        replies.append(tok.decode(row, skip_special_tokens=True))
    return replies


def rollout_batch(model: Any, tok: Any, questions: list[str], tool: SearchTool,
                  refiner: Refiner, c: AgentConfig, *, temperature: float = 1.0,
                  top_p: float = 1.0, top_k: int = 0, batch_size: int = 0
                  ) -> list[dict[str, Any]]:
    """Agent episodes at the token level, run turn by turn together: at each turn the
    episodes still going generate their replies in batches of ``batch_size`` (0: all at
    once), and all their searches go to the tool in one call. Per episode: prompt ids,
    completion ids, env mask (1 = the policy's own tokens), the kept replies, the tool
    turns, what was retrieved, the stop reason."""
    eps = [_Rollout(q, c) for q in questions]
    sampling = {"temperature": temperature, "top_p": top_p, "top_k": top_k}
    step = batch_size or len(eps)
    while live := [e for e in eps if not e.state.done]:
        for lo in range(0, len(live), step):
            part = live[lo:lo + step]
            replies = _generate(model, tok, [e.next_context(tok) for e in part], c, sampling)
            for e, reply in zip(part, replies, strict=True):
                e.state.reply(reply)
        searching = [e for e in live if e.state.queries]
        if not searching:
            continue
        hits = tool.search([q for e in searching for q in e.state.queries], c.k)
        for e in searching:
            queries = e.state.queries
            mine, hits = hits[:len(queries)], hits[len(queries):]
            for row in mine:
                e.retrieved += [h.title for h in row if h.title not in e.retrieved]
            e.state.observe(refiner.refine(e.state.question, queries, mine), found=any(mine))
    return [e.result(tok) for e in eps]


def rollout_episode(model: Any, tok: Any, question: str, tool: SearchTool,
                    refiner: Refiner, c: AgentConfig, **sampling: Any) -> dict[str, Any]:
    """One agent episode at the token level (``rollout_batch`` of one)."""
    return rollout_batch(model, tok, [question], tool, refiner, c, **sampling)[0]


def make_rollout_func(tool: SearchTool, refiner: Refiner, c: AgentConfig, batch_size: int = 0):
    """The ``rollout_func`` for GRPOTrainer: one episode per prompt it is given (a
    question), run together (``batch_size`` replies per generate call, 0: all)."""
    def rollout(prompts: list[str], trainer: Any) -> dict[str, Any]:
        model = trainer.accelerator.unwrap_model(trainer.model)
        was_training = model.training
        model.eval()
        args = trainer.args
        eps = rollout_batch(model, trainer.processing_class, prompts, tool, refiner, c,
                            temperature=args.temperature, top_p=args.top_p,
                            top_k=args.top_k or 0, batch_size=batch_size)
        if was_training:
            model.train()
        out: dict[str, Any] = {k: [e[k] for e in eps] for k in eps[0]}
        out["logprobs"] = None
        return out
    return rollout


def build_trainer(config: HcspGRPOConfig, questions: list[Any], tool: SearchTool) -> Any:
    from datasets import Dataset
    from trl import GRPOTrainer

    rewards = [resolve_reward(r) for r in config.rewards]
    model, tok = load_for_training(config.model, padding_side="left")
    agent = config.agent_config()
    # the prompt is the question itself: the episode builds the messages around it
    ds = Dataset.from_list([{
        "prompt": q.question, "answer": q.answer, "aliases": q.aliases,
        "evidence_pages": q.evidence_pages, "question_id": q.id} for q in questions])
    return GRPOTrainer(model=model, reward_funcs=rewards,
                       args=config, train_dataset=ds, processing_class=tok,
                       rollout_func=make_rollout_func(tool, ExtractiveRefiner(hits=agent.k),
                                                      agent, config.agent_batch_size))


def run_grpo(config: HcspGRPOConfig) -> dict[str, Any]:
    """Check questions, search tool and memory; train (resuming); save; run card."""
    import os

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
    return run_stage(config, stage="grpo", started=t0,
                     data={"source": config.questions, "questions": len(recs),
                           "fingerprint": fingerprint(recs), "ids": [q.id for q in questions]},
                     build=lambda: build_trainer(config, questions, tool),
                     summary=lambda trainer: {"reward_curve": reward_curve(trainer)})


def reward_curve(trainer: Any) -> list[dict[str, Any]]:
    """The logged rows that carry rewards: step and every reward column."""
    return [{k: v for k, v in h.items() if k.startswith(("reward", "step"))}
            for h in trainer.state.log_history if any(k.startswith("reward") for k in h)]
