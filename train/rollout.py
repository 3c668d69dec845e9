"""GRPO rollouts: agent episodes at the token level, trained on what the policy sampled.

Each rollout plays the episode state machine of ``hcsp agent rollout`` and ``eval``
(agent.episode: prompt, parsing, footer, format reminder, observations, stop reasons).
Its sequence is built as it goes, never re-rendered:

- the prompt: the episode's first messages rendered by the tokenizer's chat template;
- each reply: the ids the policy generated, cut after its action (or after the
  end-of-turn token it produced itself, or where ``max_tokens`` cut it), ``env_mask`` 1,
  with the log-probability of each under the policy (``log_softmax(logits / T)``);
- after a reply: the chat markup and tool turn exactly as the template writes them next
  (its end of turn, the search notes or reminder, the next generation prompt), tokenized
  on their own, ``env_mask`` 0. The template must write the conversation as its turns one
  after another (its text after a turn starts with its text before it, plus the reply);
  one that does not ends that rollout (``template_mismatch``), not the run.

An episode that ended on its own closes with the template's end-of-turn token (mask 0),
so the trainer sees a finished completion; one whose last reply was cut at
``max_tokens`` does not, so the trainer counts it as truncated. No end-of-turn token
the policy did not produce carries mask 1. A rollout that fails (``FAILED``: the
template, the search tool, anything else around it) keeps its tokens with mask 0.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agent.episode import AgentConfig, EpisodeState
from agent.format import STOPS, cut_point
from agent.local import end_tokens
from agent.refine import Refiner
from agent.tools import SearchTool

log = logging.getLogger(__name__)

# stop reasons of rollouts that failed around the policy (reward 0, no loss)
FAILED = ("template_mismatch", "search_error", "error")

# contexts in, (generated ids, their log-probabilities) out, one per context
Generate = Callable[[list[list[int]]], list[tuple[list[int], list[float]]]]


@dataclass(slots=True)
class Reply:
    """One reply as the policy generated it."""

    ids: list[int]          # cut after its action / its own end of turn / at max_tokens
    logprobs: list[float]
    text: str
    truncated: bool         # hit max_tokens with no action and no end of turn


def cut_generated(tok: Any, row: list[int], logprobs: list[float], ends: set[int]) -> Reply:
    """The reply in one row of generated ids: up to the end of its first action (or
    before results it made up: agent.format.cut_point), else up to and with the first
    end-of-turn token, else all of it (truncated). What follows is padding or tokens
    past a stop.

    A token that completes an action may carry text past it (``>\\n``): kept, as sampled.
    """
    end = next((n for n, t in enumerate(row) if t in ends), None)
    body = row if end is None else row[:end]
    text = tok.decode(body, skip_special_tokens=True)
    at = cut_point(text)
    if at is not None:
        lo, hi = 1, len(body)  # the fewest tokens whose text reaches the cut
        while lo < hi:
            mid = (lo + hi) // 2
            if len(tok.decode(body[:mid], skip_special_tokens=True)) >= at:
                hi = mid
            else:
                lo = mid + 1
        n, truncated = lo, False
    elif end is not None:
        n, truncated = end + 1, False
    else:
        n, truncated = len(body), True
    return Reply(row[:n], list(logprobs[:n]), tok.decode(row[:n], skip_special_tokens=True),
                 truncated)


def render_text(tok: Any, messages: list[dict[str, Any]], **kw: Any) -> str:
    return str(tok.apply_chat_template(messages, tokenize=False, **kw))


class TemplateMismatch(Exception):
    """The chat template did not write the conversation as its turns one after another."""


class TokenEpisode:
    """One rollout: the episode state machine and the token sequence built turn by turn."""

    def __init__(self, question: str, c: AgentConfig, tok: Any, ends: set[int]) -> None:
        self.state = EpisodeState(question, c)
        self.tok, self.ends = tok, ends
        self.text = render_text(tok, self.state.messages, add_generation_prompt=True)
        self.prompt_ids: list[int] = list(tok.apply_chat_template(
            self.state.messages, add_generation_prompt=True, tokenize=True,
            return_dict=True)["input_ids"])
        self.ids: list[int] = []
        self.mask: list[int] = []
        self.logprobs: list[float | None] = []
        self.spans: list[tuple[int, int]] = []  # each reply's ids in self.ids
        self.truncated: list[bool] = []
        self.retrieved: list[str] = []
        self._head = self.text
        self._own_end = False
        self._cut = False

    @property
    def context(self) -> list[int]:
        return self.prompt_ids + self.ids

    @property
    def failed(self) -> bool:
        return self.state.stop_reason in FAILED

    def take(self, reply: Reply) -> None:
        """The policy's reply: its ids (mask 1) go on the sequence, its text to the
        machine; then the markup that follows, unless a search must run first."""
        turn = self.state.reply(reply.text, truncated=reply.truncated)
        self.spans.append((len(self.ids), len(self.ids) + len(reply.ids)))
        self.truncated.append(reply.truncated)
        self._append(reply.ids, 1, reply.logprobs)
        self._head = self.text + turn.text
        self._own_end = bool(reply.ids) and reply.ids[-1] in self.ends
        self._cut = reply.truncated
        if not self.state.queries:
            self.markup()

    def fail(self, reason: str, error: str) -> None:
        """End this rollout on a failure around the policy; none of it is trained on."""
        self.state.stop(reason, error)
        self.mask = [0] * len(self.mask)
        log.warning("rollout ended (%s): %s", reason, error)

    def markup(self) -> None:
        """What the template writes after the last reply (mask 0): while the episode goes
        on, its end of turn, the tool turn and the next generation prompt; at the end,
        its end-of-turn token alone (none after a reply cut at max_tokens, none again
        after one the policy produced)."""
        st = self.state
        try:
            nxt = render_text(self.tok, st.messages, add_generation_prompt=not st.done)
            if not nxt.startswith(self._head):
                at = next(i for i, (a, b) in enumerate(zip(nxt + "\0", self._head, strict=False))
                          if a != b)
                raise TemplateMismatch(
                    "the chat template does not write the conversation as its turns one "
                    f"after another: after reply {len(st.turns)} it wrote "
                    f"{nxt[max(0, at - 30):at + 30]!r} where the rollout had "
                    f"{self._head[max(0, at - 30):at + 30]!r}")
        except Exception as e:  # a template that raises or rewrites: this rollout only
            self.fail("template_mismatch", str(e) if isinstance(e, TemplateMismatch)
                      else f"the chat template failed: {type(e).__name__}: {e}")
            return
        tail = nxt[len(self._head):]
        if self._own_end:
            own = self.tok.decode(self.ids[-1:])
            tail = tail.removeprefix(own)
        ids = self.tok.encode(tail, add_special_tokens=False)
        if st.done:
            end = next((n for n, t in enumerate(ids) if t in self.ends), None)
            ids = [] if self._cut or self._own_end or end is None else ids[:end + 1]
        self._append(ids, 0, [None] * len(ids))
        self.text = nxt

    def observe(self, notes: list[list[str]], found: bool) -> None:
        self.state.observe(notes, found=found)
        self.markup()

    def _append(self, ids: list[int], mask: int, logprobs: list[Any]) -> None:
        self.ids += ids
        self.mask += [mask] * len(ids)
        self.logprobs += logprobs

    def result(self) -> dict[str, Any]:
        st = self.state
        return {"prompt_ids": self.prompt_ids, "completion_ids": self.ids,
                "env_mask": self.mask, "logprobs": self.logprobs,
                "reply_spans": self.spans, "truncated": self.truncated,
                "agent_turns": [t.text for t in st.turns], "observations": st.observations,
                "retrieved_titles": self.retrieved, "n_searches": st.n_searches,
                "stop_reason": st.stop_reason, "error": st.error}


def search_step(eps: list[TokenEpisode], tool: SearchTool, refiner: Refiner, k: int) -> None:
    """Run the searches of every episode waiting for one, in one call to the tool; when
    that call fails, each episode's alone, so a failure ends only the rollouts it hits
    (``search_error``)."""
    try:
        hits = tool.search([q for e in eps for q in e.state.queries], k)
        per = []
        for e in eps:
            per.append(hits[:len(e.state.queries)])
            hits = hits[len(e.state.queries):]
    except Exception:
        per = []
        for e in eps:
            try:
                per.append(tool.search(e.state.queries, k))
            except Exception as err:
                per.append(None)
                e.fail("search_error", f"{type(err).__name__}: {err}")
    for e, mine in zip(eps, per, strict=True):
        if mine is None:
            continue
        try:
            notes = refiner.refine(e.state.question, e.state.queries, mine)
        except Exception as err:
            e.fail("error", f"the refiner failed: {type(err).__name__}: {err}")
            continue
        for row in mine:
            e.retrieved += [h.title for h in row if h.title not in e.retrieved]
        e.observe(notes, found=any(mine))


def play(generate: Generate, tok: Any, ends: set[int], questions: list[str],
         tool: SearchTool, refiner: Refiner, c: AgentConfig, batch_size: int = 0
         ) -> list[dict[str, Any]]:
    """Episodes run turn by turn together: at each turn the episodes still going
    generate their replies (``batch_size`` contexts a call, 0: all), then all their
    searches go to the tool in one call."""
    eps = [TokenEpisode(q, c, tok, ends) for q in questions]
    step = batch_size or len(eps)
    while live := [e for e in eps if not e.state.done]:
        for lo in range(0, len(live), step):
            part = live[lo:lo + step]
            rows = generate([e.context for e in part])
            for e, (row, logprobs) in zip(part, rows, strict=True):
                e.take(cut_generated(tok, row, logprobs, ends))
        searching = [e for e in live if e.state.queries]
        if searching:
            search_step(searching, tool, refiner, c.k)
    return [e.result() for e in eps]


def hf_generate(model: Any, tok: Any, c: AgentConfig, *, temperature: float = 1.0,
                top_p: float = 1.0, top_k: int = 0) -> Generate:
    """Generation with ``model.generate`` on the model's device: the contexts of a call
    left-padded into one batch, each row's log-probabilities recorded as it samples."""
    import torch

    pad = tok.pad_token_id
    # greedy takes no sampling flags (transformers warns of them); top_k 0 means none
    how = ({"do_sample": True, "temperature": temperature, "top_p": top_p, "top_k": top_k}
           if temperature > 0 else {"do_sample": False})

    def generate(seqs: list[list[int]]) -> list[tuple[list[int], list[float]]]:
        from transformers import LogitsProcessorList

        width = max(map(len, seqs))
        ids = torch.tensor([[pad] * (width - len(s)) + s for s in seqs], device=model.device)
        attn = torch.tensor([[0] * (width - len(s)) + [1] * len(s) for s in seqs],
                            device=model.device)
        rec = SampledLogprobs(temperature or 1.0)
        with torch.no_grad():
            out = model.generate(ids, attention_mask=attn, max_new_tokens=c.max_tokens,
                                 stop_strings=list(STOPS), tokenizer=tok, pad_token_id=pad,
                                 logits_processor=LogitsProcessorList([rec]), **how)
        new = out[:, width:]
        return list(zip(new.tolist(), rec.finish(new).tolist(), strict=True))
    return generate


class SampledLogprobs:
    """A logits processor that keeps, step by step, the log-probability of the token
    each row sampled: ``log_softmax(logits / temperature)`` (the scores transformers
    hands custom processors, before its own top-k / top-p; as TRL scores tokens). Only
    one step's distribution is held at a time."""

    def __init__(self, temperature: float) -> None:
        self.temperature = temperature
        self.last: Any = None
        self.steps: list[Any] = []

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import torch

        if self.last is not None:  # the token sampled from the previous step's scores
            self.steps.append(self.last.gather(1, input_ids[:, -1:]).squeeze(1))
        self.last = torch.log_softmax(scores.float() / self.temperature, dim=-1)
        return scores

    def finish(self, new_ids: Any) -> Any:
        """(rows, steps) log-probabilities of ``new_ids``, the generated tokens."""
        import torch

        if self.last is not None and len(self.steps) < new_ids.shape[1]:
            self.steps.append(self.last.gather(1, new_ids[:, len(self.steps):][:, :1]).squeeze(1))
        return torch.stack(self.steps, dim=1).cpu() if self.steps else new_ids.float().cpu()


def vllm_generate(trainer: Any, c: AgentConfig) -> Generate:
    """Generation with TRL's vLLM backend (``--use_vllm``, server or colocate): each
    turn's contexts go to vLLM as token ids, stopping at the end of an action or
    ``max_tokens``, the sampled tokens' log-probabilities coming back with them."""
    vg = trainer.vllm_generation

    def generate(seqs: list[list[int]]) -> list[tuple[list[int], list[float]]]:
        saved = vg.generation_kwargs
        vg.generation_kwargs = {**(saved or {}), "max_tokens": c.max_tokens,
                                "stop": list(STOPS), "include_stop_str_in_output": True}
        try:
            _, ids, logprobs, _ = vg.generate(prompts=seqs, images=None, num_generations=1)
        finally:
            vg.generation_kwargs = saved
        return [(list(row), [lp[0] if lp and lp[0] is not None else float("nan") for lp in lps])
                for row, lps in zip(ids, logprobs, strict=True)]
    return generate


def rollout_batch(model: Any, tok: Any, questions: list[str], tool: SearchTool,
                  refiner: Refiner, c: AgentConfig, *, temperature: float = 1.0,
                  top_p: float = 1.0, top_k: int = 0, batch_size: int = 0
                  ) -> list[dict[str, Any]]:
    """Agent episodes at the token level with ``model.generate``, run turn by turn
    together. Per episode: prompt ids, completion ids, env mask (1 = the policy's own
    sampled tokens), their log-probabilities (None under mask 0), each reply's span in
    the completion and whether it was truncated, the kept replies, the tool turns,
    what was retrieved, the stop reason (and error)."""
    gen = hf_generate(model, tok, c, temperature=temperature, top_p=top_p, top_k=top_k)
    return play(gen, tok, end_tokens(model, tok), questions, tool, refiner, c, batch_size)


def rollout_episode(model: Any, tok: Any, question: str, tool: SearchTool,
                    refiner: Refiner, c: AgentConfig, **sampling: Any) -> dict[str, Any]:
    """One agent episode at the token level (``rollout_batch`` of one)."""
    return rollout_batch(model, tok, [question], tool, refiner, c, **sampling)[0]
