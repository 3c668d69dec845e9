"""The LLM writer (through scripted implementations of the chat protocol, a server that
is down, SmolLM2 behind `hcsp agent serve-model`, and an OpenAI-compatible stand-in server
that counts calls: no paid API runs here) and the synth/tree commands."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from graph.backend import FalkorBackend
from hcsp.chat import ModelError, make_chat
from synth.checks import hidden_names, leaks
from synth.cli import llm_rows
from synth.clues import tree_clues
from synth.config import SynthConfig
from synth.llm import write_question, writer_prompt
from synth.model import Tree
from synth.pipeline import polish, synthesize
from synth.render import constraint_markers
from synth.usage import LLMUsage
from tests.conftest import LTGWIKI, free_port, model_server
from tests.synth.openai_server import openai_server


class ScriptedLLM:
    """A real implementation of the chat protocol whose reply is a function of the
    prompt, standing in for a paid API."""

    def __init__(self, reply: Any, name: str = "scripted") -> None:
        self.reply = reply
        self.name = name
        self.calls = 0
        self.prompts: list[str] = []

    def complete(self, messages: list[dict[str, str]], **_: Any) -> str:
        self.calls += 1
        self.prompts.append(messages[-1]["content"])
        return self.reply(messages[-1]["content"])


@pytest.fixture(scope="module")
def tree(ltg: FalkorBackend) -> Tree:
    trees, _ = synthesize(ltg, SynthConfig(vertices=6), count=1, seed=21)
    return trees[0]


def _copy(t: Tree) -> Tree:
    return Tree.from_dict(t.to_dict())


def faithful(t: Tree, question: str | None = None, drop: str | None = None) -> str:
    """What a good writer returns for ``t``: the question, and the words used per clue
    (for a relation, the phrase up to the hidden entity)."""
    words = []
    for c in tree_clues(t):
        v = next(v for v in t.vertices if v.id == c.vertex)
        if c.kind != "relation":  # one said as a sentence about it: up to where it stands
            w = v.constraint.text.split("{p}")[0]
        elif "{c}" in v.relation.phrase:  # "{c} hosted the grave of {p}"
            w = v.relation.phrase.split("{c}")[1].split("{p}")[0]
        else:
            w = v.relation.phrase.split("{}")[0]
        w = w.strip() or c.words
        if w not in (question or t.question):  # "is a town in Latgale" said as the noun
            w = re.sub(r"^is an? ", "", w)
        if c.id != drop:
            words.append({"id": c.id, "words": w})
    return "Sure! " + json.dumps({"question": question or t.question, "clues": words})


def test_the_writer_sees_clues_evidence_and_forbidden_names(ltg: FalkorBackend, tree: Tree
                                                            ) -> None:
    t = _copy(tree)
    llm = ScriptedLLM(lambda p: faithful(t, "Here is a puzzle: " + t.question))
    write_question(t, llm, hidden_names(ltg, t))
    assert t.renderer == "scripted" and t.question.startswith("Here is a puzzle: ")
    assert t.scores["template_question"] == tree.question and t.scores["writer"]["kept"]
    prompt = llm.prompts[0]
    for c in tree_clues(tree):
        assert f"- {c.id}: [E" in prompt
        if c.evidence.get("sentence"):
            assert c.evidence["sentence"] in prompt
    for v in tree.entity_vertices():
        assert f'"{v.entity}"' in prompt  # told what it must not write
    assert "Wikipedia" in prompt and "JSON" in prompt  # told what not to mention, and how


@pytest.mark.parametrize(("reply", "reason"), [
    (lambda t: faithful(t, t.question + " (Hint: it is {answer}.)"), "named a hidden entity"),
    (lambda t: faithful(t, drop=tree_clues(t)[0].id), "lost clue"),
    (lambda t: faithful(t, "Which thing is it, and what does it do in the world?"),
     "not in the question"),
    (lambda t: faithful(t, t.question + " It is near [E1]."), "left a label"),
    (lambda t: "The question is: which one?", "no valid JSON"),
    (lambda t: '{"question": 3}', "no valid JSON"),
    (lambda t: "", "returned nothing"),
])
def test_unsafe_writing_falls_back_to_the_template(ltg: FalkorBackend, tree: Tree, reply: Any,
                                                  reason: str) -> None:
    t = _copy(tree)
    llm = ScriptedLLM(lambda p: reply(t).replace("{answer}", tree.answer))
    write_question(t, llm, hidden_names(ltg, t))
    assert t.question == tree.question
    assert reason in t.renderer and reason in t.scores["writer"]["reason"]
    assert t.scores["writer"]["kept"] is False


def test_a_dropped_marker_falls_back(ltg: FalkorBackend, tree: Tree) -> None:
    t = _copy(tree)
    marker = constraint_markers(t)[0]
    changed = t.question.replace(marker, "several")
    write_question(t, ScriptedLLM(lambda p: json.dumps({"question": changed, "clues": [
        {"id": c.id, "words": "several"} for c in tree_clues(t)]})), hidden_names(ltg, t))
    assert t.question == tree.question and "dropped a marker" in t.renderer


def test_the_judge_confirms_each_clue(ltg: FalkorBackend, tree: Tree) -> None:
    ids = [c.id for c in tree_clues(tree)]
    t = _copy(tree)
    yes = ScriptedLLM(lambda p: json.dumps(dict.fromkeys(ids, True)), name="judge")
    write_question(t, ScriptedLLM(lambda p: faithful(t)), hidden_names(ltg, t), yes)
    assert t.scores["writer"]["kept"] and t.scores["writer"]["judge"] == "judge"
    t = _copy(tree)
    doubts = ScriptedLLM(lambda p: json.dumps({**dict.fromkeys(ids, True), ids[-1]: False}))
    write_question(t, ScriptedLLM(lambda p: faithful(t)), hidden_names(ltg, t), doubts)
    assert t.question == tree.question and f"clue {ids[-1]} unfaithful" in t.renderer


def test_a_failing_model_never_loses_the_tree(ltg: FalkorBackend) -> None:
    def boom(q: str) -> str:
        raise TimeoutError("model timed out")

    trees, report = synthesize(ltg, SynthConfig(vertices=6), count=2, seed=21,
                               llm=ScriptedLLM(boom))
    assert len(trees) == 2 and report.llm_fallbacks == 2 and report.llm_kept == 0
    assert all(t.renderer == "template (llm failed: TimeoutError)" for t in trees)


def test_a_server_that_is_down_keeps_the_template(ltg: FalkorBackend, tree: Tree) -> None:
    t = _copy(tree)
    down = make_chat("openai:any", f"http://127.0.0.1:{free_port()}/v1")
    assert down is not None
    down.client = down.client.with_options(max_retries=0, timeout=5)
    write_question(t, down, hidden_names(ltg, t))
    assert t.question == tree.question and t.renderer == "template (llm failed: ModelError)"


def test_the_whole_path_against_the_local_model_server(ltg: FalkorBackend, tree: Tree,
                                                      smollm2: Any) -> None:
    """`hcsp agent serve-model`'s app on loopback with SmolLM2 behind it, reached with the
    real OpenAI SDK: the prompt goes out, a reply comes back with token usage, and the
    checks decide (SmolLM2 is far too small to write well: this tests the protocol and
    the fallbacks, not the quality)."""
    with model_server(smollm2) as url:
        llm = make_chat("openai:smollm2", url)
        assert llm is not None
        t = _copy(tree)
        write_question(t, llm, hidden_names(ltg, t), max_tokens=48)
    rec = t.scores["writer"]
    assert rec["model"] == "openai:smollm2" and rec["writer_input_tokens"] > 100
    assert 0 < rec["writer_output_tokens"] <= 48 and "cost_usd" not in rec
    if rec["kept"]:
        assert t.renderer == "openai:smollm2" and not leaks(t.question, hidden_names(ltg, t))
    else:
        assert t.question == tree.question and t.renderer.startswith("template (llm ")


def test_unknown_llm() -> None:
    assert make_chat("none") is None
    with pytest.raises(ModelError, match="unknown model 'gpt'"):
        make_chat("gpt")


def hcsp(graph: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HCSP_GRAPH_URI": str(graph), "COLUMNS": "150"}
    return subprocess.run([sys.executable, "-m", "hcsp.cli", *args], capture_output=True,
                          text=True, env=env, timeout=300)


def test_synth_and_tree_commands(tmp_path: Path) -> None:
    graph = tmp_path / "g"
    assert hcsp(graph, "ingest", str(LTGWIKI), "--staging", str(tmp_path / "s")).returncode == 0
    out = tmp_path / "q.jsonl"
    r = hcsp(graph, "synth", "--vertices", "6", "--count", "3", "--seed", "4", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "accepted" in r.stderr and "3 of 3" in r.stderr and str(out) in r.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 3 and all(rec["n_vertices"] == 6 for rec in records)

    shown = hcsp(graph, "tree", "show", records[0]["id"])
    assert shown.returncode == 0, shown.stderr
    assert records[0]["answer"] in shown.stdout and "solver agreed: True" in shown.stdout
    assert "evidence:" in shown.stdout or "alone:" in shown.stdout

    exported = tmp_path / "all.jsonl"
    r = hcsp(graph, "tree", "export", "--out", str(exported))
    assert r.returncode == 0 and len(exported.read_text().splitlines()) == 3

    for args, message in ((("synth", "--vertices", "3"), "vertices must be at least 4"),
                          (("tree", "show", "t000"), "no research tree"),
                          (("synth", "--llm", "bard"), "unknown model 'bard'")):
        r = hcsp(graph, *args)
        assert r.returncode == 1 and message in r.stderr and "Traceback" not in r.stderr


def test_judge_scores_and_filters(ltg: FalkorBackend, tree: Tree) -> None:
    from synth.quality import score, verdict

    class EvidenceJudge(ScriptedLLM):
        """Knows the answer only when the evidence is in front of it."""

        def complete(self, messages: list[dict[str, str]], **_: Any) -> str:
            prompt = messages[-1]["content"]
            return f"I think {tree.answer}." if "Evidence:" in prompt else "No idea."

    t = _copy(tree)
    s = score(t, EvidenceJudge(None, name="judge"))
    assert s["closed_book_correct"] is False and s["with_evidence_correct"] is True
    assert verdict(s) is None and t.scores["judge"] == "judge"

    knows = ScriptedLLM(lambda q: tree.answer)
    assert verdict(score(_copy(tree), knows)) == "too_easy"
    clueless = ScriptedLLM(lambda q: "Riga")
    assert verdict(score(_copy(tree), clueless)) == "unverifiable"

    trees, report = synthesize(ltg, SynthConfig(vertices=6), count=1, seed=21,
                               judge=ScriptedLLM(lambda q: "Riga"), drop_by_judge=True,
                               max_attempts=10)
    assert trees == [] and report.rejected.get("unverifiable", 0) >= 1
    trees, _ = synthesize(ltg, SynthConfig(vertices=6), count=1, seed=21,
                          judge=ScriptedLLM(lambda q: "Riga"))
    assert trees and trees[0].scores["with_evidence_correct"] is False  # recorded, kept


def _without_words(t: Tree) -> dict[str, Any]:
    d = t.to_dict()
    for k in ("question", "renderer", "scores"):
        d.pop(k)
    return d


def test_models_are_called_for_kept_trees_only(ltg: FalkorBackend) -> None:
    """Against a real OpenAI-compatible server on loopback, through the openai SDK, with
    every call's first request answered 503: the writer gets one call per kept tree and
    none for rejected or duplicate candidates, the judge at most one, and the client
    counts the requests (retries included) and tokens the server saw."""
    cfg = SynthConfig(vertices=6)
    first, _ = synthesize(ltg, cfg, count=3, seed=21)
    taken = {first[0].answer}  # the candidate that gave it is now a duplicate
    plain, plain_report = synthesize(ltg, cfg, count=3, seed=21, exclude_answers=taken,
                                     workers=2)
    assert plain_report.rejected.get("duplicate_answer", 0) >= 1
    with openai_server(fail_first=True) as (url, rec):
        writer, judge = make_chat("openai:writer", url), make_chat("openai:judge", url)
        trees, report = synthesize(ltg, cfg, count=3, seed=21, exclude_answers=taken,
                                   workers=2, llm=writer, judge=judge)
        # Dropped by the difficulty judge (it cannot verify): scored, never written.
        dropped, drop_report = synthesize(ltg, cfg, count=3, seed=21, max_attempts=8,
                                          llm=writer, judge=judge, drop_by_judge=True)
    assert len(trees) == len(plain) == 3 and report.attempts == plain_report.attempts
    for a, b in zip(plain, trees, strict=True):  # the same trees as without a writer
        assert _without_words(a) == _without_words(b)
        assert b.scores.get("template_question", b.question) == a.question
    written = {r["prompt"] for r in rec.calls("writer")}
    assert len(rec.calls("writer")) == 3 and written == {
        writer_prompt(t, hidden_names(ltg, t), tree_clues(t)) for t in trees}
    judged = [t for t in trees if "judge" in t.scores["writer"]]
    assert 1 <= len(judged) == report.llm_kept and len(rec.calls("judge")) == len(judged)
    assert all(t.renderer == "openai:writer" for t in judged)
    u = report.llm
    assert (u["writer"]["calls"], u["judge"]["calls"], u["scorer"]["calls"]) == \
        (3, len(judged), 6)
    assert report.llm_per_kept()["writer"] == 1.0 and report.llm_per_kept()["judge"] <= 1
    for role in ("writer", "judge", "scorer"):  # each call: a 503, then its retry
        assert u[role]["requests"] == 2 * u[role]["calls"] == 2 * u[role]["retries"]
    assert report.llm_input_tokens + drop_report.llm_input_tokens == sum(
        r.get("prompt_tokens", 0) for r in rec.requests)  # as the server counted them
    shown = dict(llm_rows(report))  # as `hcsp synth` prints them
    assert shown["LLM calls: writer"] == \
        "3 calls, 1.00 per kept question (6 HTTP requests, 3 retries)"
    assert shown["LLM calls: judge (difficulty)"].startswith("6 calls, 2.00 per kept")
    assert dropped == [] and "writer" not in drop_report.llm
    assert drop_report.llm["scorer"]["calls"] == 2 * drop_report.rejected["unverifiable"]
    assert len(rec.requests) == 2 * sum(x["calls"] for r in (report, drop_report)
                                        for x in r.llm.values())


def test_trees_past_the_deadline_keep_the_template(ltg: FalkorBackend, tree: Tree) -> None:
    t, writer = _copy(tree), ScriptedLLM(lambda p: "{}")
    usage = LLMUsage()
    polish([t], [hidden_names(ltg, t)], writer, None, None, usage,
           deadline=time.monotonic() - 1)
    assert writer.calls == 0 and usage.as_dict() == {} and t.question == tree.question
    assert t.renderer == "template (llm not written: the deadline passed)"
