"""The ``hcsp`` command: one entry point, a subcommand group per package.

    hcsp ingest SOURCE          a dump into the graph
    hcsp graph stats|start|stop|status
    hcsp synth -n N -c K        proven research trees and their questions
    hcsp tree show ID|export
    hcsp serve                  the REST API

Errors from our code print as one line with what to do, and a non-zero exit code;
never a traceback.
"""

from __future__ import annotations

import sys

import typer

from hcsp.cliutil import friendly_errors

app = typer.Typer(
    name="hcsp", no_args_is_help=True, add_completion=False,
    help="Turn Wikipedia into hard, verifiable deep-research questions.")


def _register() -> None:
    from agent.cli import agent_app
    from api.cli import serve_command
    from graph.cli import graph_app
    from ingest.cli import ingest_command
    from synth.cli import synth_command, tree_app
    from train.cli import train_app

    app.command("ingest")(friendly_errors(ingest_command))
    app.command("serve")(serve_command)
    app.command("synth")(synth_command)
    app.add_typer(graph_app, name="graph", help="Inspect and run the graph database.")
    app.add_typer(tree_app, name="tree", help="Show and export stored research trees.")
    app.add_typer(agent_app, name="agent",
                  help="The research agent: search index, rollouts, selection, evaluation.")
    app.add_typer(train_app, name="train", help="SFT and GRPO of the agent's model (TRL).")


_register()


def main() -> None:
    """Console-script entry point. SIGTERM and SIGHUP unwind a command as Ctrl-C does,
    so that an embedded engine it started is stopped (hcsp.signals)."""
    from hcsp import signals

    signals.install()
    sys.exit(app())


if __name__ == "__main__":
    main()
