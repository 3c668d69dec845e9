"""The agent loop, batch rollouts, rejection sampling and evaluation.

End to end with a real local model (SmolLM2-135M-Instruct on CPU: weak, so the tests
assert mechanics, not accuracy); the failure paths with a scripted policy, a real
implementation of the chat protocol whose replies are fixed, and with real SDK
clients pointed at a port where nothing listens.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agent.evaluate import summarize
from agent.format import cut_reply, format_ok
from agent.loop import Agent, AgentConfig
from agent.questions import Question, load_questions, read_jsonl
from agent.refine import ExtractiveRefiner, ModelRefiner
from agent.rollout import read_trajectories, run_rollouts
from agent.search import SearchIndex
from agent.select import SelectConfig, select, write_sft
from agent.tools import HttpSearch, LocalSearch
from hcsp.chat import ModelError, OpenAIChat
from hcsp.cli import app
from tests.conftest import PUBLIC_QA, model_server
from tests.conftest import free_port as closed_port

STOP_REASONS = {"answered", "max_turns", "no_results", "malformed", "model_error",
                "search_error", "error"}


class Scripted:
    """A chat model whose reply is a function of the messages so far."""

    def __init__(self, reply: Callable[[list[dict[str, str]]], str], name: str = "scripted"
                 ) -> None:
        self.reply = reply
        self.name = name
        self.calls = 0

    def complete(self, messages: list[dict[str, str]], **_: Any) -> str:
        self.calls += 1
        return self.reply(messages)


def question_of(messages: list[dict[str, str]]) -> str:
    return messages[-1 - 2 * _turns(messages)]["content"].removeprefix("Question: ")


def _turns(messages: list[dict[str, str]]) -> int:
    for n, m in enumerate(reversed(messages)):
        if m["content"].startswith("Question: "):
            return n // 2
    return 0


def oracle(questions: dict[str, Question]) -> Scripted:
    """Searches the evidence pages (or the answer) first, then gives the gold answer."""
    def reply(messages: list[dict[str, str]]) -> str:
        q = questions[question_of(messages)]
        if _turns(messages) == 0:
            queries = "\n".join(q.evidence_pages[:3] or [q.answer])
            return f"<think>Look it up.</think>\n<search>{queries}</search>"
        return f"<think>Found it.</think>\n<answer>{q.answer}</answer>"
    return Scripted(reply, "oracle")


def agent_with(model: Any, index: SearchIndex, **config: Any) -> Agent:
    return Agent(model, LocalSearch(index), ExtractiveRefiner(), AgentConfig(**config))


# ---- end to end with the real local model -------------------------------------------

def test_smollm2_end_to_end(smollm2: Any, index: SearchIndex, qa_file: Path, hcsp_file: Path,
                            tmp_path: Path) -> None:
    questions = read_jsonl(qa_file)[:2] + read_jsonl(hcsp_file)[:2]
    agent = agent_with(smollm2, index, max_turns=3, max_tokens=96)
    out = tmp_path / "traj.jsonl"
    report = run_rollouts(agent, questions, out, samples=1)
    assert report.written == 4 and report.resumed == 0
    recs = read_trajectories(out)
    assert sorted(r["question_id"] for r in recs) == sorted(q.id for q in questions)
    titles = {p.title for p in index.passages}
    searched = 0
    for r in recs:
        assert r["stop_reason"] in STOP_REASONS - {"model_error", "search_error", "error"}
        assert r["policy"].startswith("transformers:")
        msgs = r["messages"]
        assert msgs[0]["role"] == "system" and msgs[-1]["role"] in {"assistant", "tool"}
        own = [m["content"] for m in msgs[6:] if m["role"] == "assistant"]
        assert own == [cut_reply(t["reply"]) for t in r["turns"]]
        assert [m["role"] for m in msgs[6:]][::2] == ["assistant"] * len(own)
        assert len(r["turns"]) == r["n_turns"] <= 3
        for t in r["turns"]:
            if "hits" not in t:  # no search, or one in the last reply (not run)
                continue
            searched += 1
            assert t["observation"].startswith("<information>\n")
            for q in t["queries"]:
                assert f"Query: {q}" in t["observation"]
            hit_titles = {h["title"] for row in t["hits"] for h in row}
            assert hit_titles <= titles
            for notes in t["notes"]:
                for note in notes:
                    assert note[1:].split("]", 1)[0] in hit_titles
        assert set(r["retrieved_titles"]) <= titles
        if r["evidence_pages"]:
            assert 0.0 <= r["evidence_recall"] <= 1.0
    assert searched >= 1, "the model never searched: the format or the prompt broke"
    # a rerun finds everything done
    again = run_rollouts(agent, questions, out, samples=1)
    assert (again.written, again.resumed) == (0, 4)


def test_sampling_is_seeded(smollm2: Any, index: SearchIndex, qa_file: Path,
                            tmp_path: Path) -> None:
    q = read_jsonl(qa_file)[0]
    agent = agent_with(smollm2, index, max_turns=1, max_tokens=48, temperature=0.8)
    a, b = agent.run(q, seed=5), agent.run(q, seed=5)
    assert a["turns"][0]["reply"] == b["turns"][0]["reply"]


def test_cli_eval_with_the_local_model(index_path: Path, qa_file: Path, tmp_path: Path,
                                       smollm2_path: str) -> None:
    out = tmp_path / "eval.jsonl"
    res = CliRunner().invoke(app, [
        "agent", "eval", str(qa_file), "--policy", f"transformers:{smollm2_path}",
        "--search", str(index_path), "--out", str(out), "--max-turns", "2",
        "--max-tokens", "64", "--count", "2"])
    assert res.exit_code == 0, res.output
    assert "exact match" in res.output and "evidence recall" in res.output
    report = json.loads(out.with_suffix(".report.json").read_text())
    assert report["episodes"] == 2
    assert sum(report["stop_reasons"].values()) == 2


# ---- the loop's failure paths ------------------------------------------------------

def test_oracle_gets_everything_right(index: SearchIndex, qa_file: Path, hcsp_file: Path,
                                      tmp_path: Path) -> None:
    questions = read_jsonl(qa_file) + read_jsonl(hcsp_file)
    agent = agent_with(oracle({q.question: q for q in questions}), index)
    out = tmp_path / "t.jsonl"
    run_rollouts(agent, questions, out, samples=2, workers=3)
    recs = read_trajectories(out)
    assert len(recs) == 2 * len(questions)
    assert all(r["correct"] and r["exact_match"] and r["n_searches"] == 1 for r in recs)
    assert all(format_ok([m["content"] for m in r["messages"][5:] if m["role"] == "assistant"])
               for r in recs)
    rep = summarize(recs)
    assert rep["exact_match"] == rep["alias_match"] == 1.0 and rep["avg_searches"] == 1.0
    # searching the evidence pages' titles retrieves them
    assert rep["with_evidence"] == 6 and rep["evidence_recall"] > 0.5


def test_malformed_replies_get_one_reminder_then_end(index: SearchIndex) -> None:
    q = Question("q1", "What is the capital of Latvia?", "Riga")
    r = agent_with(Scripted(lambda m: "Riga, I think."), index).run(q)
    assert r["stop_reason"] == "malformed" and r["n_turns"] == 2
    assert "Format error" in r["messages"][-2]["content"]
    fixed = Scripted(lambda m: "Riga?" if _turns(m) == 0 else "<think>ok</think><answer>Riga"
                     "</answer>")
    r = agent_with(fixed, index).run(q)
    assert (r["stop_reason"], r["prediction"], r["correct"]) == ("answered", "Riga", True)
    assert r["turns"][0]["action"] == "malformed"


def test_no_results_and_never_answering(index: SearchIndex) -> None:
    q = Question("q2", "Which river?", "Daugava")
    r = agent_with(Scripted(lambda m: "<think>?</think><search>qqqzzx\nxxyyzq</search>"),
                   index, max_turns=3).run(q)
    # the third reply's search is not run: it is the last turn, nothing would read it
    assert r["stop_reason"] == "no_results" and r["n_searches"] == 2
    assert "(no results)" in r["turns"][0]["observation"]
    assert "last turn" not in r["turns"][0]["observation"]
    assert "last turn" in r["turns"][1]["observation"]
    assert r["turns"][2]["queries"] and "observation" not in r["turns"][2]
    assert r["messages"][-1]["role"] == "assistant"
    r = agent_with(Scripted(lambda m: "<think>?</think><search>Lincoln</search>"),
                   index, max_turns=2).run(q)
    assert r["stop_reason"] == "max_turns" and r["prediction"] is None


def test_queries_over_the_limit_and_invented_results_are_cut(index: SearchIndex) -> None:
    q = Question("q3", "Which river?", "Daugava")
    many = "\n".join(f"- query {i}" for i in range(6))
    model = Scripted(lambda m: f"<think>a</think><search>{many}</search><information>fake"
                     if _turns(m) == 0 else "<think>b</think><answer>Daugava</answer>")
    r = agent_with(model, index, max_queries=2).run(q)
    assert r["turns"][0]["queries"] == ["query 0", "query 1"]
    assert "4 queries over the limit" in r["turns"][0]["error"]
    assert r["messages"][6]["content"].endswith("</search>")
    assert "fake" not in r["messages"][6]["content"]


def test_failures_are_recorded_and_rerun_retries_them(index: SearchIndex, tmp_path: Path
                                                      ) -> None:
    qs = [Question(f"q{i}", f"Question number {i}?", "Riga") for i in range(3)]

    def flaky(messages: list[dict[str, str]]) -> str:
        if "number 1" in question_of(messages):
            raise RuntimeError("a bug in the policy")
        return "<think>x</think><answer>Riga</answer>"

    out = tmp_path / "t.jsonl"
    rep = run_rollouts(agent_with(Scripted(flaky), index), qs, out)
    assert rep.written == 3 and rep.stop_reasons["error"] == 1
    bad = next(r for r in read_trajectories(out) if r["question_id"] == "q1")
    assert bad["error"] == "RuntimeError: a bug in the policy"
    # a crash mid-write leaves half a line; the rerun drops it and retries only q1
    with open(out, "a") as fh:
        fh.write('{"id": "q2:0", "stop_reas')
    fine = Scripted(lambda m: "<think>x</think><answer>Riga</answer>")
    rep = run_rollouts(agent_with(fine, index), qs, out)
    assert (rep.written, rep.resumed) == (1, 2) and fine.calls == 1
    assert all(r["correct"] for r in read_trajectories(out))
    assert all(json.loads(line) for line in out.read_text().splitlines())


def test_model_server_down(index: SearchIndex, tmp_path: Path) -> None:
    port = closed_port()
    model = OpenAIChat("any", base_url=f"http://127.0.0.1:{port}/v1", timeout=5, max_retries=0)
    with pytest.raises(ModelError, match="Connection"):
        model.complete([{"role": "user", "content": "hi"}])
    qs = [Question(f"q{i}", f"Q {i}?", "Riga") for i in range(2)]
    rep = run_rollouts(agent_with(model, index), qs, tmp_path / "t.jsonl")
    assert rep.stop_reasons == {"model_error": 2}
    rec = read_trajectories(tmp_path / "t.jsonl")[0]
    assert "openai:any failed" in rec["error"]


def test_search_service_down(tmp_path: Path) -> None:
    tool = HttpSearch(f"http://127.0.0.1:{closed_port()}", retries=1)
    agent = Agent(Scripted(lambda m: "<think>x</think><search>Riga</search>"), tool,
                  ExtractiveRefiner())
    r = agent.run(Question("q", "Which river?", "Daugava"))
    assert r["stop_reason"] == "search_error" and "unreachable" in r["error"]


def test_only_a_search_failure_is_a_search_error(index: SearchIndex) -> None:
    """Another AgentError (here the index refusing k=0, set past AgentConfig's check) is
    our bug, recorded as ``error``, not blamed on the search service."""
    agent = agent_with(Scripted(lambda m: "<think>x</think><search>Riga</search>"), index)
    agent.config.k = 0
    r = agent.run(Question("q", "Which river?", "Daugava"))
    assert r["stop_reason"] == "error" and r["error"].startswith("AgentError: k must be")


def test_model_refiner_keeps_titles_and_falls_back(index: SearchIndex) -> None:
    hits = index.search(["Abraham Lincoln Kentucky"], k=2)
    good = ModelRefiner(Scripted(lambda m: f"[{hits[0][0].title}] He was born in Kentucky.\n"
                                 "[Invented Page] nonsense"))
    assert good.refine("Where?", ["Abraham Lincoln Kentucky"], hits) == [
        [f"[{hits[0][0].title}] He was born in Kentucky."]]
    bad = ModelRefiner(Scripted(lambda m: "no notes here"))
    notes = bad.refine("Where?", ["Abraham Lincoln Kentucky"], hits)[0]
    assert notes and all(n.startswith(f"[{h.title}]") for n, h in zip(notes, hits[0],
                                                                      strict=False))


# ---- selection ---------------------------------------------------------------------

def test_select_keeps_correct_searched_episodes(index: SearchIndex, tmp_path: Path) -> None:
    qs = [Question("ok", "Which river flows through Riga?", "Daugava"),
          Question("leak", "Is the Daugava the river of Riga?", "Daugava"),
          Question("wrong", "Which river flows through Kaunas?", "Neman")]
    by_q = {q.question: q for q in qs}

    def reply(messages: list[dict[str, str]]) -> str:
        if _turns(messages) == 0:
            return "<think>x</think><search>Riga river</search>"
        return "<think>y</think><answer>Daugava</answer>"

    out = tmp_path / "t.jsonl"
    run_rollouts(agent_with(Scripted(reply), index), list(by_q.values()), out, samples=2)
    kept, dropped = select(read_trajectories(out), SelectConfig(per_question=1))
    assert [r["question_id"] for r in kept] == ["ok"]
    assert dropped == {"answer_in_question": 2, "wrong_answer": 2, "over_per_question": 1}
    msgs = kept[0]["messages"]
    assert [m["role"] for m in msgs[5:]] == ["user", "assistant", "tool", "assistant"]
    sft = tmp_path / "sft.jsonl"
    write_sft(kept, sft)
    import datasets

    ds = datasets.load_dataset("json", data_files=str(sft), split="train")
    assert ds[0]["messages"][-1]["content"].endswith("<answer>Daugava</answer>")
    res = CliRunner().invoke(app, ["agent", "select", str(out), "--out", str(tmp_path / "x"),
                                   "--min-searches", "5"])
    assert res.exit_code == 1 and "no trajectory passed the filters" in res.output


# ---- question files ----------------------------------------------------------------

def test_question_files_are_checked_before_any_work(tmp_path: Path) -> None:
    from agent.errors import AgentError

    with pytest.raises(AgentError, match="no question file"):
        load_questions(str(tmp_path / "missing.jsonl"))
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(AgentError, match="holds no questions"):
        load_questions(str(tmp_path / "empty.jsonl"))
    (tmp_path / "bad.jsonl").write_text(
        '{"question": "Q?", "answer": "A"}\n{"question": "Q2?"}\nnot json\n[1]\n')
    with pytest.raises(AgentError, match=r"3 bad question lines: .*bad.jsonl:2: no answer.*"
                       r"bad.jsonl:3: not JSON.*bad.jsonl:4: expected a JSON object"):
        load_questions(str(tmp_path / "bad.jsonl"))
    res = CliRunner().invoke(app, ["agent", "rollout", str(tmp_path / "bad.jsonl")])
    assert res.exit_code == 1 and "bad question lines" in res.output
    assert "Traceback" not in res.output


def test_hcsp_records_carry_evidence_pages(hcsp_file: Path) -> None:
    qs = read_jsonl(hcsp_file)
    recs = [json.loads(line) for line in hcsp_file.read_text().splitlines()]
    assert [q.id for q in qs] == [r["id"] for r in recs]
    for q, r in zip(qs, recs, strict=True):
        assert q.answer == r["answer"] and q.evidence_pages
        assert set(q.evidence_pages) == {e["page"] for e in r["evidence"] if e.get("page")}


def test_openai_adapter_against_the_local_model_server(smollm2: Any, index: SearchIndex,
                                                       qa_file: Path) -> None:
    """The OpenAI SDK path, for real: `hcsp agent serve-model`'s app on loopback, the
    same model behind it; greedy episodes through it equal the in-process ones."""
    with model_server(smollm2) as url:
        remote = OpenAIChat("smollm2", base_url=url, max_retries=0)
        q = read_jsonl(qa_file)[0]
        config = {"max_turns": 2, "max_tokens": 80}
        via_http = agent_with(remote, index, **config).run(q)
        direct = agent_with(smollm2, index, **config).run(q)
    assert via_http["stop_reason"] == direct["stop_reason"] != "model_error"
    assert [t["reply"].strip() for t in via_http["turns"]] == \
        [t["reply"].strip() for t in direct["turns"]]


def test_cli_rollout_without_the_example(index_path: Path, qa_file: Path, tmp_path: Path,
                                         smollm2_path: str) -> None:
    out = tmp_path / "t.jsonl"
    args = ["agent", "rollout", str(qa_file), "--policy", f"transformers:{smollm2_path}",
            "--search", str(index_path), "--out", str(out), "--max-turns", "1",
            "--max-tokens", "16", "--count", "1", "--no-example"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "1 episodes" in res.output and str(out) in res.output.replace("\n", "")
    (rec,) = read_trajectories(out)
    assert [m["role"] for m in rec["messages"][:2]] == ["system", "user"]
    assert rec["messages"][1]["content"] == f"Question: {PUBLIC_QA[0]['question']}"
    again = CliRunner().invoke(app, args)
    assert "0 episodes" in again.output and "1 already done" in again.output


def test_agent_and_train_never_load_the_graph_layer() -> None:
    """agent/ and train/ read dumps, files and the API; graph/ and synth/ stay unloaded."""
    import subprocess
    import sys

    code = ("import sys, agent.cli, agent.loop, agent.rollout, agent.select, agent.evaluate, "
            "agent.search, agent.service, agent.model_server, train.cli, train.sft, train.grpo; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'graph', 'synth'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
