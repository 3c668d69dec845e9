"""Optional quality filters, as in the InfoSeek paper, recorded per question.

- difficulty: a judge model answers the question with no search and no evidence; a
  question it answers correctly is "too easy";
- verifiability: the judge answers with the tree's evidence (sentences and infobox
  values) in front of it; a question it still misses is "unverifiable".

Scores are stored with the tree; nothing needs a judge to run.
"""

from __future__ import annotations

from hcsp.answers import answer_matches
from hcsp.chat import ChatModel as LLM
from synth.model import Tree
from synth.store import evidence
from synth.usage import LLMUsage

CLOSED_BOOK = ("Answer the question with the name of one Wikipedia article, and nothing "
               "else. If you do not know, guess.\n\nQuestion: {q}")
WITH_EVIDENCE = ("Answer the question with the name of one Wikipedia article, and nothing "
                 "else, using the evidence.\n\nEvidence:\n{e}\n\nQuestion: {q}")


def evidence_text(tree: Tree) -> str:
    lines = []
    for ev in evidence(tree):
        if ev.get("sentence"):
            lines.append(f"- {ev['page']}: {ev['sentence']}")
        elif ev.get("key") and ev.get("value") is not None:
            lines.append(f"- {ev['page']}: {ev['key']} = {ev['value']}")
        elif ev.get("category"):
            lines.append(f"- {ev['page']} is in the category {ev['category']}")
        elif ev.get("links_to"):
            lines.append(f"- {ev['page']} mentions {ev['links_to']}")
        elif ev.get("title_initial"):
            lines.append(f"- {ev['page']}")
        elif ev.get("target"):
            lines.append(f"- {ev['page']} ({ev.get('rel')} {ev.get('key') or ''}) "
                         f"{ev['target']}")
    return "\n".join(lines)


def score(tree: Tree, judge: LLM, usage: LLMUsage | None = None) -> dict[str, object]:
    """Ask the judge closed-book and with evidence (two calls, counted in ``usage`` as
    the ``scorer``'s); record both outcomes."""
    usage = usage if usage is not None else LLMUsage()
    out: dict[str, object] = {"judge": judge.name}
    for name, prompt in (("closed_book", CLOSED_BOOK.format(q=tree.question)),
                         ("with_evidence", WITH_EVIDENCE.format(q=tree.question,
                                                                e=evidence_text(tree)))):
        try:
            reply = usage.complete("scorer", judge, prompt, out)
        except Exception as e:  # a judge failure leaves the tree unscored, not lost
            out[f"{name}_error"] = type(e).__name__
            continue
        out[f"{name}_reply"] = reply.strip()[:200]
        out[f"{name}_correct"] = answer_matches(reply, tree.answer, tree.aliases)
    if "cost_usd" in out:  # the scorer's alone, apart from the writer's
        out["scorer_cost_usd"] = out.pop("cost_usd")
    tree.scores.update(out)
    return out


def verdict(scores: dict[str, object]) -> str | None:
    """The filter's reason to drop a scored tree, or None to keep it."""
    if scores.get("closed_book_correct") is True:
        return "too_easy"
    if scores.get("with_evidence_correct") is False:
        return "unverifiable"
    return None
