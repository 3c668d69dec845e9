"""One agent episode as a pure state machine: the prompt, each reply parsed and kept
(cut after its action), the tool turn that answers it (search notes, or one format
reminder), the footer before the last turn, and why the episode ended.

It runs nothing itself. A driver asks the policy for a reply to :attr:`messages`, hands
it to :meth:`EpisodeState.reply`, and when a search waits in :attr:`queries`, runs it
and hands the notes to :meth:`EpisodeState.observe`. agent.loop drives it with messages
(rollouts, evaluation); train.grpo drives it with token ids rendered by the tokenizer's
chat template (GRPO rollouts). Both therefore see the same turns::

    state = EpisodeState(question, config)
    while not state.done:
        state.reply(policy(state.messages))
        if state.queries:
            hits = tool.search(state.queries, config.k)
            state.observe(refiner.refine(question, state.queries, hits), found=any(hits))

Its stop reasons:

- ``answered``: the model gave an ``<answer>``;
- ``max_turns``: it never answered within the turn limit (a search in the last reply is
  not run: nothing would read its results);
- ``no_results``: it never answered, and no search it made found anything;
- ``malformed``: ``max_malformed`` replies in a row had no well-formed action (each
  one before that is answered with a format reminder); a reply cut at ``max_tokens``
  before its action is one of them, marked ``truncated``.

Drivers add their own for failures around it (agent.loop: ``model_error``,
``search_error``, ``error``) through :meth:`EpisodeState.stop`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.errors import AgentError
from agent.format import (
    LAST_TURN,
    Turn,
    initial_messages,
    parse_turn,
    render_observation,
    render_reminder,
)
from hcsp.chat import Message


@dataclass
class AgentConfig:
    """Turn format and limits."""

    max_turns: int = 6            # assistant replies per episode
    max_tokens: int = 256         # new tokens per reply
    k: int = 3                    # passages per query
    max_queries: int = 3          # queries per search step
    observation_chars: int = 1500  # size of one tool turn
    temperature: float = 0.0      # 0: greedy; sampling is seeded per episode and turn
    max_malformed: int = 2        # malformed replies in a row that end an episode
    example: bool = True          # show the worked example before the question

    def __post_init__(self) -> None:
        for name in ("max_turns", "max_tokens", "k", "max_queries", "observation_chars",
                     "max_malformed"):
            if getattr(self, name) < 1:
                raise AgentError(f"{name} must be at least 1, not {getattr(self, name)}")
        if self.temperature < 0:
            raise AgentError(f"temperature must be >= 0, not {self.temperature}")


@dataclass
class EpisodeState:
    """Where one episode stands.

    >>> s = EpisodeState("Which river flows through Riga?", AgentConfig(max_turns=2))
    >>> s.reply("<think>Look.</think><search>Riga river</search>").action, s.queries
    ('search', ['Riga river'])
    >>> print(s.observe([["[Riga] It lies on the Daugava."]]))
    <information>
    Query: Riga river
    - [Riga] It lies on the Daugava.
    This is your last turn: reply with <answer>.
    </information>
    >>> s.reply("<think>So.</think><answer>Daugava</answer>").answer, s.stop_reason
    ('Daugava', 'answered')
    """

    question: str
    config: AgentConfig = field(default_factory=AgentConfig)
    messages: list[Message] = field(init=False)
    turns: list[Turn] = field(init=False, default_factory=list)
    # the tool turn that answered each reply (None: none did, the episode ended there)
    observations: list[str | None] = field(init=False, default_factory=list)
    queries: list[str] = field(init=False, default_factory=list)  # a search to run
    stop_reason: str | None = field(init=False, default=None)
    error: str | None = field(init=False, default=None)
    n_searches: int = field(init=False, default=0)
    n_queries: int = field(init=False, default=0)
    empty_searches: int = field(init=False, default=0)
    malformed_in_a_row: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        c = self.config
        self.messages = initial_messages(self.question, max_queries=c.max_queries,
                                         example=c.example)

    @property
    def done(self) -> bool:
        return self.stop_reason is not None

    @property
    def answer(self) -> str | None:
        """The answer the episode ended with, if it did."""
        return self.turns[-1].answer if self.stop_reason == "answered" else None

    def stop(self, reason: str, error: str | None = None) -> None:
        """End the episode (a driver's failure reasons, or the machine's own)."""
        self.stop_reason, self.error = reason, error
        self.queries = []

    def footer(self) -> str:
        """The line closing a tool turn: a warning when the next reply is the last."""
        return LAST_TURN if len(self.turns) == self.config.max_turns - 1 else ""

    def reply(self, text: str, truncated: bool = False) -> Turn:
        """Take the policy's next reply: parse it, keep it and decide what follows: the
        end (an answer, one malformed reply too many, the last turn), a format reminder,
        or a search for the driver to run (:attr:`queries`). ``truncated``: the reply hit
        the token limit (``max_tokens``) before it ended; it is kept as it is, and without
        an action it is malformed, its reminder saying so."""
        if self.done or self.queries:
            raise AgentError("the episode is not waiting for a reply "
                             f"({self.stop_reason or 'a search is waiting for its results'})")
        c = self.config
        turn = parse_turn(text, c.max_queries)
        if truncated and turn.action == "malformed":
            turn.truncated = True
            turn.error = f"the reply reached the limit of {c.max_tokens} tokens before its action"
        self.turns.append(turn)
        self.observations.append(None)
        self.messages.append({"role": "assistant", "content": turn.text})
        last = len(self.turns) >= c.max_turns
        if turn.action == "answer":
            self.stop("answered")
        elif turn.action == "malformed":
            self.malformed_in_a_row += 1
            if self.malformed_in_a_row >= c.max_malformed:
                self.stop("malformed", turn.error)
            elif last:
                self._out_of_turns()
            else:
                self._tool_turn(render_reminder(turn.error or "malformed", self.footer()))
        else:
            self.malformed_in_a_row = 0
            if last:
                self._out_of_turns()
            else:
                self.queries = list(turn.queries)
        return turn

    def observe(self, notes: list[list[str]], found: bool = True) -> str:
        """The tool turn for the search in :attr:`queries`: each query's notes (``found``:
        whether the search returned anything at all). Returns its text."""
        if not self.queries:
            raise AgentError("no search is waiting for its results")
        obs = render_observation(self.queries, notes, self.config.observation_chars,
                                 self.footer())
        self.n_searches += 1
        self.n_queries += len(self.queries)
        self.empty_searches += not found
        self.queries = []
        self._tool_turn(obs)
        return obs

    def _tool_turn(self, text: str) -> None:
        self.observations[-1] = text
        self.messages.append({"role": "tool", "content": text})

    def _out_of_turns(self) -> None:
        if self.n_searches and self.empty_searches == self.n_searches:
            self.stop("no_results", "no search found anything")
        else:
            self.stop("max_turns")
