"""LLM rewrites (through a fake that implements the LLM protocol: no paid API runs
here) and the synth/tree commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from graph.backend import FalkorBackend
from synth.checks import hidden_names
from synth.errors import SynthError
from synth.llm import make_llm, rewrite_question
from synth.model import Tree
from synth.pipeline import synthesize
from synth.sampler import SynthConfig
from tests.conftest import LTGWIKI


class ScriptedLLM:
    """A real implementation of the LLM protocol whose answer is a function of the
    prompt, standing in for a paid API."""

    def __init__(self, reply: Any, name: str = "scripted") -> None:
        self.reply = reply
        self.name = name
        self.calls = 0

    def complete(self, messages: list[dict[str, str]], **_: Any) -> str:
        self.calls += 1
        question = messages[-1]["content"].split("Question: ", 1)[1]
        return self.reply(question)


@pytest.fixture(scope="module")
def tree(ltg: FalkorBackend) -> Tree:
    trees, _ = synthesize(ltg, SynthConfig(vertices=6), count=1, seed=21)
    return trees[0]


def _copy(t: Tree) -> Tree:
    return Tree.from_dict(t.to_dict())


def test_a_faithful_rewrite_is_kept(ltg: FalkorBackend, tree: Tree) -> None:
    t = _copy(tree)
    llm = ScriptedLLM(lambda q: "Here is a puzzle: " + q[0].lower() + q[1:])
    rewrite_question(t, llm, hidden_names(ltg, t))
    assert t.renderer == "scripted" and t.question.startswith("Here is a puzzle: which")
    assert t.scores["template_question"] == tree.question


@pytest.mark.parametrize(("reply", "reason"), [
    (lambda q: q + " (Hint: it is {answer}.)", "named a hidden entity"),
    (lambda q: "Which thing is it?", "dropped a constraint"),
    (lambda q: "", "returned nothing"),
])
def test_unsafe_rewrites_fall_back_to_the_template(ltg: FalkorBackend, tree: Tree, reply: Any,
                                                  reason: str) -> None:
    t = _copy(tree)
    llm = ScriptedLLM(lambda q: reply(q).replace("{answer}", tree.answer))
    rewrite_question(t, llm, hidden_names(ltg, t))
    assert t.question == tree.question
    assert reason in t.renderer


def test_a_failing_model_never_loses_the_tree(ltg: FalkorBackend) -> None:
    def boom(q: str) -> str:
        raise TimeoutError("model timed out")

    trees, report = synthesize(ltg, SynthConfig(vertices=6), count=2, seed=21,
                               llm=ScriptedLLM(boom))
    assert len(trees) == 2 and report.llm_fallbacks == 2
    assert all(t.renderer == "template (llm failed: TimeoutError)" for t in trees)


def test_unknown_llm_and_missing_sdk() -> None:
    assert make_llm("none") is None
    with pytest.raises(SynthError, match="unknown LLM"):
        make_llm("gpt")


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
                          (("synth", "--llm", "bard"), "unknown LLM")):
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
