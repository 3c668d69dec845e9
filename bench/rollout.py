"""GRPO rollout benchmark: agent episodes at the token level with the policy being
trained (SmolLM2-135M), one at a time vs generated together. Prints a table.

    .venv/bin/python bench/rollout.py                # 4 and 8 episodes a row
    .venv/bin/python bench/rollout.py --sizes 4 16

Each row runs the same prompts (questions about pages of the enwiki sample, repeated
as GRPO repeats a prompt for its group) against the index of the enwiki and ltgwiki
samples; greedy decoding, so both ways must give the same episodes (checked). The
one-at-a-time and batched runs of a size alternate, so they share the machine's state.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from table import print_table  # noqa: E402

from agent.loop import AgentConfig  # noqa: E402
from agent.refine import ExtractiveRefiner  # noqa: E402
from agent.search import SearchIndex, build_index  # noqa: E402
from agent.tools import LocalSearch  # noqa: E402
from train.model import load_for_training  # noqa: E402
from train.rollout import rollout_batch  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "wiki"
QUESTIONS = ["In which Kentucky town was Abraham Lincoln born?",
             "Which political philosophy is skeptical of all justifications for authority?",
             "What is the capital of Latvia?",
             "Which US state has Montgomery as its capital?"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[4, 8])
    ap.add_argument("--max-turns", type=int, default=3)
    ap.add_argument("--max-tokens", type=int, default=64)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="hcsp-bench-rollout-"))
    try:
        build_index([str(DATA / "enwiki-sample-206.xml.bz2"),
                     str(DATA / "ltgwiki-complete-2004.xml.bz2")], tmp / "idx")
        tool = LocalSearch(SearchIndex.load(tmp / "idx"))
        model, tok = load_for_training("smollm2", padding_side="left")
        model.eval()
        c = AgentConfig(max_turns=args.max_turns, max_tokens=args.max_tokens)
        rows = []
        for n in args.sizes:
            prompts = [QUESTIONS[i % len(QUESTIONS)] for i in range(n)]
            runs = {}
            for batch in (1, 0):
                t0 = time.perf_counter()
                eps = rollout_batch(model, tok, prompts, tool, ExtractiveRefiner(), c,
                                    temperature=0.0, batch_size=batch)
                runs[batch] = (time.perf_counter() - t0, eps)
            same = all(a["completion_ids"] == b["completion_ids"]
                       for a, b in zip(runs[1][1], runs[0][1], strict=True))
            for batch, (secs, eps) in runs.items():
                generated = sum(sum(e["env_mask"]) for e in eps)
                rows.append([str(n), "1" if batch == 1 else str(n), f"{secs:.1f}",
                             f"{n / secs * 60:.1f}", f"{generated / secs:.0f}",
                             f"{sum(len(e['agent_turns']) for e in eps) / n:.2f}",
                             f"{runs[1][0] / secs:.2f}x", "yes" if same else "NO"])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print_table(["episodes", "together", "seconds", "episodes/min", "policy tokens/s",
                 "turns", "speed-up", "same episodes"], rows)


if __name__ == "__main__":
    main()
