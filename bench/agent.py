"""Agent benchmark: episodes/min with the local model (SmolLM2-135M) on CPU. Prints a table.

    .venv/bin/python bench/agent.py            # 12 episodes a row
    .venv/bin/python bench/agent.py --episodes 30

Questions: public {question, answer} pairs about pages of the enwiki sample, run
against the index of the enwiki and ltgwiki samples, extractive refiner. Rows: greedy
and sampled decoding, one and two episodes at a time (the local model serializes
generation, so two workers overlap only search and refining).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from table import print_table  # noqa: E402

from agent.local import TransformersChat  # noqa: E402
from agent.loop import Agent, AgentConfig  # noqa: E402
from agent.questions import Question  # noqa: E402
from agent.refine import ExtractiveRefiner  # noqa: E402
from agent.rollout import read_trajectories, run_rollouts  # noqa: E402
from agent.search import SearchIndex, build_index  # noqa: E402
from agent.tools import LocalSearch  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "wiki"
QUESTIONS = [
    ("In which Kentucky town was Abraham Lincoln born?", "Hodgenville"),
    ("Which political philosophy is skeptical of all justifications for authority?",
     "Anarchism"),
    ("What is the capital of Latvia?", "Riga"),
    ("Which ancient Greek philosopher was a student of Plato and teacher of Alexander?",
     "Aristotle"),
    ("Which US state has Montgomery as its capital?", "Alabama"),
    ("Which chemical element has the symbol Al?", "Aluminium"),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--episodes", type=int, default=12)
    ap.add_argument("--max-turns", type=int, default=4)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="hcsp-bench-agent-"))
    try:
        build_index([str(DATA / "enwiki-sample-206.xml.bz2"),
                     str(DATA / "ltgwiki-complete-2004.xml.bz2")], tmp / "idx")
        tool = LocalSearch(SearchIndex.load(tmp / "idx"))
        model = TransformersChat()
        qs = [Question(f"q{i}", q, a) for i, (q, a) in enumerate(QUESTIONS)]
        rows = []
        for temperature in (0.0, 0.7):
            for workers in (1, 2):
                agent = Agent(model, tool, ExtractiveRefiner(),
                              AgentConfig(max_turns=args.max_turns, temperature=temperature))
                samples = -(-args.episodes // len(qs))
                out = tmp / f"t{temperature}-{workers}.jsonl"
                rep = run_rollouts(agent, qs, out, samples=samples, workers=workers)
                recs = read_trajectories(out)
                secs = sorted(r["seconds"] for r in recs)
                rows.append([
                    f"{temperature}", str(workers), str(rep.written),
                    f"{rep.episodes_per_min:.1f}",
                    f"{statistics.mean(r['n_turns'] for r in recs):.2f}",
                    f"{statistics.mean(r['n_searches'] for r in recs):.2f}",
                    f"{secs[len(secs) // 2]:.2f}", f"{secs[int(len(secs) * .95)]:.2f}",
                    f"{sum(r['correct'] for r in recs)}/{len(recs)}",
                    ", ".join(f"{k} {v}" for k, v in rep.stop_reasons.most_common())])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print_table(["temperature", "workers", "episodes", "episodes/min", "turns", "searches",
                 "p50 s", "p95 s", "correct", "ended"], rows)


if __name__ == "__main__":
    main()
