"""train/: SFT on rejection-sampled trajectories, then GRPO with a verifiable reward (TRL).

    hcsp train sft  --model smollm2 --data .hcsp/sft.jsonl
    hcsp train grpo --model .hcsp/runs/sft --questions http://localhost:8000 --search .hcsp/search
"""
