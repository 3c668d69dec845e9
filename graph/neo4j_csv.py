"""CSV files for ``neo4j-admin database import``: the bulk path for a full Wikipedia
dump into Neo4j, where batched MERGEs would take days.

It has the same interface as graph.bulk.BulkWriter, so the bulk loader writes either
into the embedded engine or into these files: one file of nodes per label and one of
relationships per type, with neo4j-admin's typed headers. Node ids are one sequence
over all labels (a single ID space, ``n``); they are not stored as properties.
After the import, opening the graph with any hcsp command applies the indexes.
"""

from __future__ import annotations

import csv
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

ARRAY_DELIMITER = "|"  # no MediaWiki title contains "|"
_TYPES = {
    "page_id": "long", "text_bytes": "long", "popularity": "long", "out_links": "long",
    "n_facts": "long", "bucket": "int", "rand": "double", "num": "double", "num_hi": "double",
    "year": "long", "month": "int", "day": "int", "bk_v": "int", "disambiguation": "boolean",
    "stub": "boolean", "aliases": "string[]", "pages_read": "long", "finished": "boolean",
}


def _header_field(prop: str) -> str:
    kind = _TYPES.get(prop)
    return f"{prop}:{kind}" if kind else prop


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list | tuple):
        return ARRAY_DELIMITER.join(str(x).replace(ARRAY_DELIMITER, " ") for x in v)
    return str(v)


IMPORT_SCRIPT = """\
#!/usr/bin/env bash
# Imports the CSV files beside this script into Neo4j's database `neo4j`, replacing it.
# Run it with Neo4j stopped and neo4j-admin on PATH (scripts/neo4j.sh import DIR does
# both); then, with Neo4j running: hcsp graph migrate --graph-uri bolt://...
set -euo pipefail
cd "$(dirname "$0")"
{command}
"""


class Neo4jCsvWriter:
    """Writes nodes and relationships as neo4j-admin import CSV files into ``out``."""

    def __init__(self, out: Path) -> None:
        self.out = Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.next_id = 0
        self.nodes_sent = self.edges_sent = 0
        self.node_files: list[Path] = []
        self.rel_files: list[Path] = []
        self._fh: TextIO | None = None
        self._csv: Any = None
        self._label = ""

    def _open(self, path: Path, header: list[str]) -> None:
        self._close()
        self._fh = open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115
        self._csv = csv.writer(self._fh, quoting=csv.QUOTE_MINIMAL)
        self._csv.writerow(header)

    def _close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def begin_nodes(self, label: str, props: Sequence[str]) -> None:
        """Start the file of one label's nodes."""
        self._label = str(label)
        path = self.out / f"nodes_{self._label}.csv"
        self.node_files.append(path)
        self._open(path, [":ID(n)", *(_header_field(p) for p in props), ":LABEL"])

    def begin_edges(self, rel_type: str, props: Sequence[str]) -> None:
        """Start the file of one relationship type."""
        self._label = str(rel_type)
        path = self.out / f"rels_{self._label}.csv"
        self.rel_files.append(path)
        self._open(path, [":START_ID(n)", ":END_ID(n)", *(_header_field(p) for p in props),
                          ":TYPE"])

    def node(self, values: Sequence[Any]) -> int:
        """Write one node; returns its id."""
        nid = self.next_id
        self.next_id += 1
        self._csv.writerow([nid, *(_cell(v) for v in values), self._label])
        self.nodes_sent += 1
        return nid

    def edge(self, src: int, dst: int, values: Sequence[Any]) -> None:
        """Write one relationship between two node ids."""
        self._csv.writerow([src, dst, *(_cell(v) for v in values), self._label])
        self.edges_sent += 1

    def finish(self) -> None:
        """Close the last file and write ``import.sh``, the script that imports them."""
        self._close()
        path = self.out / "import.sh"
        path.write_text(IMPORT_SCRIPT.format(command=self.import_command()))
        path.chmod(0o755)

    def record_dump(self, source: str, props: dict[str, Any]) -> None:
        """Write the (:Dump {source, ...}) node that a batched ingest records, in a file
        of its own, and the import script again to include it (after :meth:`finish`)."""
        names = ["source", *sorted(props)]
        self.begin_nodes("Dump", names)
        self.node([source, *(props[k] for k in names[1:])])
        self.finish()

    def import_command(self, database: str = "neo4j") -> str:
        """The neo4j-admin command that imports these files (run with Neo4j stopped)."""
        parts = ["neo4j-admin", "database", "import", "full", database, "--overwrite-destination",
                 f"--array-delimiter={ARRAY_DELIMITER}", "--multiline-fields=true"]
        parts += [f"--nodes={p.name}" for p in self.node_files]
        parts += [f"--relationships={p.name}" for p in self.rel_files]
        return " ".join(shlex.quote(p) for p in parts)
