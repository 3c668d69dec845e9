"""train/: SFT and GRPO with TRL. Not built yet: see issue 6."""
