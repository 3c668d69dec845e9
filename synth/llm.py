"""The LLM writer: one call per tree turns the verified clues, with their evidence,
into a question (InfoSeek's step), and checks the result before keeping it.

The model sees each clue's words and evidence (a sentence or a fact-box value), which
hidden thing it describes, and the names it must not write; it answers with JSON (a
question, and for each clue the words it used). The question is kept only if

- the JSON parses into :class:`WrittenQuestion` and names every clue,
- the words given for each clue occur in the question,
- no hidden entity is named (synth.checks.leaks),
- every marker (year, bound, letter, name) of the template clues is still there,
- and, where a judge is configured, the judge confirms each clue is stated faithfully.

Otherwise the template question stays and the tree says why (``renderer`` and
``scores["writer"]``). The writer and the judge are any chat model
(hcsp.chat.make_chat: ``openai:MODEL``, ``anthropic:MODEL``, ``transformers:PATH``).
Token counts and, for models with a known list price (synth.usage), the cost are recorded
when the SDK reports usage. The prompt is ``synth/prompts/writer.md``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from hcsp.chat import ChatModel
from synth.checks import leaks
from synth.clues import Clue, tree_clues
from synth.describe import with_article
from synth.model import Tree
from synth.render import missing_markers
from synth.usage import LLMUsage

LLM = ChatModel
PROMPT_FILE = Path(__file__).parent / "prompts" / "writer.md"
MAX_TOKENS = 700
JUDGE_PROMPT = """A question was written from verified clues. For each clue below, say
whether the question states it faithfully: it says what the clue says, and nothing
broader or different. Reply with JSON only: {{"c3": true, "c5": false, ...}}.

Question: {question}

Clues:
{clues}
"""


class ClueWords(BaseModel):
    id: str = Field(min_length=1)
    words: str = Field(min_length=1)


class WrittenQuestion(BaseModel):
    """What the writer returns."""

    question: str = Field(min_length=10)
    clues: list[ClueWords]


def _label(tree: Tree, vid: int) -> str:
    order = [v.id for v in sorted(tree.entity_vertices(), key=lambda v: v.id)]
    v = next(x for x in tree.vertices if x.id == vid)
    return f"[E{order.index(vid)}] ({v.noun or 'thing'})"


def _evidence(c: Clue) -> str:
    ev = c.evidence
    if ev.get("sentence"):
        return f'sentence on the page about {ev.get("page")}: "{ev["sentence"]}"'
    if ev.get("key"):
        return f"fact box of {ev.get('page')}: {ev['key']} = {ev.get('raw') or ev.get('value')}"
    if ev.get("category"):
        return f"listed among: {ev['category']}"
    return "the name itself"


def clue_lines(tree: Tree, clues: list[Clue], *, hide: bool = True) -> str:
    """The clues as the prompt shows them: id, which thing, words, evidence."""
    lines = []
    for c in clues:
        about = _label(tree, c.about)
        words = c.words
        if c.kind == "relation":
            child = next(v for v in tree.vertices if v.id == c.vertex)
            words = c.words.replace(f"the {child.noun}", _label(tree, c.vertex), 1)
        if c.evidence.get("stated") == "writer":
            words = words.replace("is tied to", "is related to", 1) + " (" + STATE_IT + ")"
        ev = _evidence(c) if hide else ""
        lines.append(f"- {c.id}: {about} {words}" + (f"\n  evidence: {ev}" if ev else ""))
    return "\n".join(lines)


STATE_IT = "say how, as its evidence sentence says it, and no more"
"""Asked of a relation the patterns could not read from its sentence (Relation.stated)."""


def unstated(clues: list[Clue], words: dict[str, str]) -> str | None:
    """The first clue the writer was to state from its sentence and did not."""
    for c in clues:
        if c.evidence.get("stated") == "writer":
            w = _norm(words.get(c.id, ""))
            if not w or "tied to" in w or "related to" in w or STATE_IT in w:
                return c.id
    return None


def writer_prompt(tree: Tree, names: dict[str, list[str]], clues: list[Clue]) -> str:
    template = PROMPT_FILE.read_text(encoding="utf-8")
    forbidden = sorted({n for ns in names.values() for n in ns if len(n) >= 3})
    return template.format(
        answer_kind=with_article(tree.root.noun or "thing"),
        n_hidden=len(tree.entity_vertices()) - 1,
        clues=clue_lines(tree, clues), forbidden=", ".join(f'"{n}"' for n in forbidden))


def parse_reply(text: str) -> WrittenQuestion | None:
    """The first JSON object in ``text`` as a WrittenQuestion, or None."""
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        return None
    try:
        return WrittenQuestion.model_validate(json.loads(text[start:end + 1]))
    except (ValueError, ValidationError):
        return None


_LABEL = re.compile(r"\[E\d+\]")


def _norm(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip().lower()


def problems(tree: Tree, written: WrittenQuestion, names: dict[str, list[str]],
             clues: list[Clue]) -> str | None:
    """Why a written question cannot replace the template one, or None if it can."""
    q = written.question
    got = {c.id: c.words for c in written.clues}
    lost = [c.id for c in clues if c.id not in got]
    if lost:
        return f"lost clue {lost[0]}"
    absent = [cid for cid, w in got.items() if _norm(w) not in _norm(q)]
    if absent:
        return f"words for {absent[0]} not in the question"
    if _LABEL.search(q):
        return "left a label ([E1]) in the question"
    missed = unstated(clues, got)
    if missed:
        return f"did not state clue {missed} from its sentence"
    named = leaks(q, names)
    if named:
        return "named a hidden entity"
    if missing_markers(q, tree):
        return "dropped a marker"
    return None


def write_question(tree: Tree, llm: LLM, names: dict[str, list[str]],
                   judge: LLM | None = None, *, max_tokens: int = MAX_TOKENS,
                   usage: LLMUsage | None = None) -> None:
    """Replace the template question by the writer's if it passes every check; record
    why not otherwise. Never raises for a model failure: the tree is kept. One writer
    call, and at most one judge call (only for a written question that passed the
    checks); ``usage`` counts them for the run."""
    usage = usage if usage is not None else LLMUsage()
    clues = tree_clues(tree)
    record: dict[str, Any] = {"model": llm.name}
    tree.scores["writer"] = record

    def fallback(why: str) -> None:
        record["kept"] = False
        record["reason"] = why
        tree.renderer = f"template (llm {why})"

    try:
        text = usage.complete("writer", llm, writer_prompt(tree, names, clues), record,
                              max_tokens=max_tokens, temperature=0)
    except Exception as e:  # any SDK or network failure: keep the template question
        return fallback(f"failed: {type(e).__name__}")
    record["reply"] = text[:2000]
    written = parse_reply(text)
    if written is None:
        return fallback("returned no valid JSON" if text.strip() else "returned nothing")
    why = problems(tree, written, names, clues)
    if why:
        return fallback(why)
    if judge is not None:
        try:
            verdict = usage.complete("judge", judge, JUDGE_PROMPT.format(
                question=written.question, clues=clue_lines(tree, clues)), record,
                max_tokens=MAX_TOKENS, temperature=0)
        except Exception as e:  # a judge failure: not confirmed, so not kept
            return fallback(f"judge failed: {type(e).__name__}")
        start, end = verdict.find("{"), verdict.rfind("}")
        try:
            marks = json.loads(verdict[start:end + 1]) if start >= 0 else {}
        except ValueError:
            marks = {}
        unfaithful = [c.id for c in clues if marks.get(c.id) is not True]
        record["judge"] = judge.name
        if unfaithful:
            return fallback(f"judge found clue {unfaithful[0]} unfaithful")
    record["kept"] = True
    record["clue_words"] = {c.id: c.words for c in written.clues}
    tree.scores["template_question"] = tree.question
    tree.question = written.question.strip()
    tree.renderer = llm.name

