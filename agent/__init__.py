"""agent/: a deep-research agent over the local corpus. It reads dumps, question files
and the API, never the graph.

- :mod:`agent.search`, :mod:`agent.service`, :mod:`agent.tools`: passages of the ingested
  pages under BM25, several queries per call, in-process or over HTTP;
- :mod:`agent.format`: the turn format (think / search / information / answer) and the
  chat template shared with training; :mod:`agent.episode`: the episode state machine
  (shared with GRPO), :mod:`agent.loop`: the agent that plays it;
  :mod:`agent.refine`: evidence notes; :mod:`agent.local`: local transformers models;
- :mod:`agent.questions`, :mod:`agent.rollout`, :mod:`agent.select`,
  :mod:`agent.evaluate`: question sets, batch runs, rejection sampling, scores.
"""

from agent import local  # noqa: F401  (registers transformers:PATH with hcsp.chat.make_chat)
