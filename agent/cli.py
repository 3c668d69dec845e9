"""``hcsp agent ...``: the research agent's commands.

    index | search | serve-search   the local search engine (BM25 over the dumps' passages)
    rollout | select | eval         episodes as JSONL, rejection sampling, scores
    serve-model                     a local model behind an OpenAI-compatible endpoint

Models are named as everywhere in hcsp (hcsp.chat.make_chat): ``transformers:PATH``
(``transformers:smollm2`` for the bundled SmolLM2), ``openai:MODEL`` (``--base-url`` for
a compatible server), ``anthropic:MODEL``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from hcsp.cliutil import friendly_errors

if TYPE_CHECKING:
    from agent.loop import Agent, AgentConfig
    from agent.questions import Question
    from agent.rollout import RolloutReport

agent_app = typer.Typer(no_args_is_help=True)
console = Console(stderr=True)
out = Console()
IndexOption = Annotated[Path, typer.Option("--index", help="The index folder.")]
DEFAULT_INDEX = Path(".hcsp/search")


@agent_app.command("index")
@friendly_errors
def index_command(
    sources: Annotated[list[str], typer.Argument(help="Dumps (files or URLs, as for ingest).")],
    index: IndexOption = DEFAULT_INDEX,
    words: Annotated[int, typer.Option(help="Words per passage (about).")] = 100,
    limit: Annotated[int | None, typer.Option(help="Read at most this many pages a dump.")
                     ] = None,
) -> None:
    """Build the BM25 passage index the agent searches, from the same dumps as ingest."""
    from agent.search import build_index
    from ingest.sample import fetch_enwiki_sample, is_sample

    paths = [str(fetch_enwiki_sample(Path(".hcsp/data"))) if is_sample(s) else s
             for s in sources]
    with console.status("indexing...") as status:
        meta = build_index(paths, index, words=words, limit=limit,
                           progress=lambda n: status.update(f"indexing: {n:,} passages"))
    console.print(f"indexed {meta.passages:,} passages of {meta.pages:,} pages in "
                  f"{meta.seconds:.1f} s into {index}")


@agent_app.command("search")
@friendly_errors
def search_command(
    queries: Annotated[list[str], typer.Argument(help="One or more queries.")],
    index: IndexOption = DEFAULT_INDEX,
    k: Annotated[int, typer.Option("-k", help="Results per query.")] = 5,
) -> None:
    """Search the index (several queries at once) and print the top passages."""
    from agent.search import SearchIndex

    idx = SearchIndex.load(index)
    for q, hits in zip(queries, idx.search(queries, k), strict=True):
        out.print(f"[bold]{q}[/]" + ("" if hits else "  (no results)"))
        for h in hits:
            out.print(f"  {h.score:7.2f}  [cyan]{h.title}[/]  {h.text[:160]}", highlight=False)


@agent_app.command("serve-search")
@friendly_errors
def serve_search_command(
    index: IndexOption = DEFAULT_INDEX,
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8001,
) -> None:
    """Serve the search tool over HTTP (POST /search) for training rollouts."""
    import uvicorn

    from agent.service import create_search_app

    uvicorn.run(create_search_app(index), host=host, port=port, log_level="warning")


PolicyOption = Annotated[str, typer.Option(
    "--policy", help="transformers:PATH (transformers:smollm2) | openai:MODEL | "
    "anthropic:MODEL")]
DEFAULT_POLICY = "transformers:smollm2"
BaseUrlOption = Annotated[str | None, typer.Option(
    "--base-url", help="An OpenAI-compatible server for --policy openai (e.g. vLLM).")]
RefinerOption = Annotated[str, typer.Option(
    "--refiner", help="extractive (no model) | policy (the policy writes the notes) | a model "
    "spec as for --policy")]
SearchOption = Annotated[str, typer.Option(
    "--search", help="An index folder or the URL of `hcsp agent serve-search`.")]


def _build_agent(policy: str, base_url: str | None, refiner: str, search: str,
                 config: AgentConfig) -> Agent:
    from agent.loop import Agent
    from agent.refine import ExtractiveRefiner, ModelRefiner
    from agent.tools import open_search
    from hcsp.chat import make_chat

    tool = open_search(search)
    model = make_chat(policy, base_url)
    if model is None:
        raise typer.BadParameter("--policy none cannot run the agent")
    if refiner == "extractive":
        ref = ExtractiveRefiner(hits=config.k)
    elif refiner == "policy":
        ref = ModelRefiner(model, hits=config.k)
    else:
        other = make_chat(refiner, base_url)
        if other is None:
            raise typer.BadParameter("--refiner none: use extractive")
        ref = ModelRefiner(other, hits=config.k)
    return Agent(model, tool, ref, config)


def _questions(source: str, count: int | None, vertices: int | None) -> list[Question]:
    from agent.questions import load_questions

    if source.startswith(("http://", "https://")):
        from hcsp.settings import get_settings

        token = get_settings().api_token
        return load_questions(source, count or 100, vertices=vertices,
                              token=token.get_secret_value() if token else None)
    return load_questions(source, count)


def _run(agent: Agent, questions: list[Question], out_path: Path, samples: int, workers: int,
         seed: int) -> RolloutReport:
    from agent.rollout import run_rollouts

    total = len(questions) * samples
    with console.status("running episodes...") as status:
        report = run_rollouts(
            agent, questions, out_path, samples=samples, workers=workers, seed=seed,
            progress=lambda r: status.update(
                f"episodes: {r.resumed + r.written}/{total} ({r.correct} correct, "
                f"{r.episodes_per_min:.1f}/min)"))
    return report


def _config(max_turns: int, max_tokens: int, k: int, max_queries: int, obs_chars: int,
            temperature: float, example: bool) -> AgentConfig:
    from agent.loop import AgentConfig

    return AgentConfig(max_turns=max_turns, max_tokens=max_tokens, k=k, max_queries=max_queries,
                       observation_chars=obs_chars, temperature=temperature, example=example)


MaxTurns = Annotated[int, typer.Option(help="Assistant replies per episode.")]
MaxTokens = Annotated[int, typer.Option(help="New tokens per reply.")]
KOption = Annotated[int, typer.Option("-k", help="Passages per query.")]
MaxQueries = Annotated[int, typer.Option(help="Queries per search step.")]
ObsChars = Annotated[int, typer.Option(help="Characters per tool turn.")]
ExampleOption = Annotated[bool, typer.Option(
    help="Show the worked example before the question (small models need it; strong ones "
    "may copy it).")]
CountOption = Annotated[int | None, typer.Option(
    "--count", "-K", help="How many questions (all of a file when not given; 100 from an API).")]
VerticesOption = Annotated[int | None, typer.Option(
    help="Only N-vertex questions (API source).")]


@agent_app.command("rollout")
@friendly_errors
def rollout_command(
    questions: Annotated[str, typer.Argument(help="Question JSONL file or the API's URL.")],
    out_file: Annotated[Path, typer.Option("--out", help="Trajectory JSONL (appended; reruns "
                                           "resume).")] = Path(".hcsp/trajectories.jsonl"),
    policy: PolicyOption = DEFAULT_POLICY,
    base_url: BaseUrlOption = None,
    refiner: RefinerOption = "extractive",
    search: SearchOption = str(DEFAULT_INDEX),
    count: CountOption = None,
    vertices: VerticesOption = None,
    samples: Annotated[int, typer.Option("--samples", "-n", help="Episodes per question.")] = 1,
    workers: Annotated[int, typer.Option(help="Episodes run at once.")] = 1,
    temperature: Annotated[float, typer.Option(help="Sampling temperature (0: greedy).")] = 0.7,
    seed: Annotated[int, typer.Option()] = 0,
    max_turns: MaxTurns = 6, max_tokens: MaxTokens = 256, k: KOption = 3,
    max_queries: MaxQueries = 3, observation_chars: ObsChars = 1500,
    example: ExampleOption = True,
) -> None:
    """Run the agent on K questions, n samples each; write every trajectory as JSONL."""
    qs = _questions(questions, count, vertices)
    config = _config(max_turns, max_tokens, k, max_queries, observation_chars, temperature,
                     example)
    agent = _build_agent(policy, base_url, refiner, search, config)
    r = _run(agent, qs, out_file, samples, workers, seed)
    reasons = ", ".join(f"{k} {v}" for k, v in r.stop_reasons.most_common())
    console.print(
        f"{r.written} episodes in {r.seconds:.1f} s ({r.episodes_per_min:.1f}/min; "
        f"{r.resumed} already done), {r.correct} correct; ended: {reasons or '-'}; "
        f"trajectories in {out_file}")


@agent_app.command("select")
@friendly_errors
def select_command(
    trajectories: Annotated[Path, typer.Argument(help="Trajectory JSONL from rollout.")],
    out_file: Annotated[Path, typer.Option("--out", help="SFT dataset JSONL.")
                        ] = Path(".hcsp/sft.jsonl"),
    min_searches: Annotated[int, typer.Option(help="Keep episodes with this many searches.")
                            ] = 1,
    max_turns: Annotated[int | None, typer.Option(help="Drop longer episodes.")] = None,
    max_chars: Annotated[int | None, typer.Option(help="Drop episodes over this size.")
                         ] = None,
    per_question: Annotated[int | None, typer.Option(help="Keep at most this many a question "
                                                     "(the shortest).")] = None,
    allow_leaks: Annotated[bool, typer.Option(help="Keep questions naming their answer.")
                           ] = False,
) -> None:
    """Rejection sampling: keep the correct trajectories that pass the filters."""
    from agent.rollout import read_trajectories
    from agent.select import SelectConfig, select, write_sft

    recs = read_trajectories(trajectories)
    kept, dropped = select(recs, SelectConfig(min_searches, max_turns, max_chars, per_question,
                                              allow_leaks))
    write_sft(kept, out_file)
    why = ", ".join(f"{k} {v}" for k, v in dropped.most_common())
    console.print(f"kept {len(kept)} of {len(recs)} trajectories "
                  f"({len({r['question_id'] for r in kept})} questions) into {out_file}; "
                  f"dropped: {why or '-'}")


@agent_app.command("eval")
@friendly_errors
def eval_command(
    questions: Annotated[str | None, typer.Argument(
        help="Question JSONL (ours or {question, answer}) or the API's URL.")] = None,
    trajectories: Annotated[Path | None, typer.Option(
        help="Score this trajectory file instead of running the agent.")] = None,
    out_file: Annotated[Path, typer.Option("--out", help="Trajectories of this run (reruns "
                                           "resume).")] = Path(".hcsp/eval/trajectories.jsonl"),
    report_file: Annotated[Path | None, typer.Option("--report", help="Report JSON (default: "
                                                     "next to --out).")] = None,
    policy: PolicyOption = DEFAULT_POLICY,
    base_url: BaseUrlOption = None,
    refiner: RefinerOption = "extractive",
    search: SearchOption = str(DEFAULT_INDEX),
    count: CountOption = None,
    vertices: VerticesOption = None,
    workers: Annotated[int, typer.Option(help="Episodes run at once.")] = 1,
    max_turns: MaxTurns = 6, max_tokens: MaxTokens = 256, k: KOption = 3,
    max_queries: MaxQueries = 3, observation_chars: ObsChars = 1500,
    example: ExampleOption = True,
) -> None:
    """Accuracy (exact and alias-aware), searches per question, evidence recall."""
    import json

    from agent.evaluate import summarize
    from agent.rollout import read_trajectories

    if trajectories is None:
        if questions is None:
            raise typer.BadParameter("give a question set, or --trajectories FILE")
        qs = _questions(questions, count, vertices)
        config = _config(max_turns, max_tokens, k, max_queries, observation_chars, 0.0,
                         example)
        agent = _build_agent(policy, base_url, refiner, search, config)
        _run(agent, qs, out_file, 1, workers, 0)
        wanted = {f"{q.id}:0" for q in qs}
        recs = [r for r in read_trajectories(out_file) if r["id"] in wanted]
        trajectories = out_file
    else:
        recs = read_trajectories(trajectories)
    rep = summarize(recs)
    report_file = report_file or trajectories.with_suffix(".report.json")
    report_file.parent.mkdir(parents=True, exist_ok=True)
    report_file.write_text(json.dumps(rep, indent=1))
    out.print(f"episodes        {rep['episodes']}")
    out.print(f"exact match     {rep['exact_match']:.1%}")
    out.print(f"alias match     {rep['alias_match']:.1%}")
    out.print(f"answered        {rep['answered']:.1%}")
    out.print(f"avg searches    {rep['avg_searches']:.2f}")
    recall = rep["evidence_recall"]
    out.print(f"evidence recall {'-' if recall is None else f'{recall:.1%}'} "
              f"({rep['with_evidence']} with evidence)")
    out.print("ended           " + ", ".join(f"{k} {v}" for k, v in rep["stop_reasons"].items()))
    console.print(f"report in {report_file}; trajectories in {trajectories}")


@agent_app.command("serve-model")
@friendly_errors
def serve_model_command(
    model: Annotated[str, typer.Option(help="smollm2 or a transformers model folder / Hub id.")
                     ] = "smollm2",
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8002,
) -> None:
    """Serve a local model as an OpenAI-compatible chat endpoint (for --policy openai)."""
    import uvicorn

    from agent.local import TransformersChat
    from agent.model_server import create_model_app

    console.print(f"loading {model}...")
    chat = TransformersChat(model)
    console.print(f"serving {model} at http://{host}:{port}/v1 "
                  f"(--policy openai:{model} --base-url http://{host}:{port}/v1)")
    uvicorn.run(create_model_app(chat), host=host, port=port, log_level="warning")
