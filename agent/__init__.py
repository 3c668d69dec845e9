"""agent/: the search agent and its trajectories. Not built yet: see issue 5."""
