"""hcsp: turn Wikipedia into hard, verifiable deep-research questions.

This package holds what every other package shares: the error tree, settings and
the command-line entry point. The work itself lives in the top-level packages
ingest/, graph/, synth/, api/, agent/ and train/.
"""

__version__ = "0.1.0"
