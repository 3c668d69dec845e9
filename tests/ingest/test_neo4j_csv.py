"""Files for neo4j-admin database import: the same graph the loaders build, as CSV.
(neo4j-admin itself needs Neo4j; here the files are checked against the embedded
graph built from the same dump.)"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from graph import store
from graph.backend import FalkorBackend
from graph.neo4j_csv import ARRAY_DELIMITER
from ingest.pipeline import IngestConfig, ingest_dump
from tests.conftest import LTGWIKI


def read(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def test_csv_files_hold_the_same_graph(tmp_path: Path) -> None:
    out = tmp_path / "csv"
    report = ingest_dump(str(LTGWIKI), None, IngestConfig(staging_root=tmp_path / "s1",
                                                          neo4j_csv=out))
    assert report.loader == "neo4j-csv" and report.articles == 903
    b = FalkorBackend(str(tmp_path / "g"))
    try:
        ingest_dump(str(LTGWIKI), b, IngestConfig(staging_root=tmp_path / "s2"))
        stats = store.graph_stats(b)
        links = store.export(b, "links")
    finally:
        b.close()

    head, entities = read(out / "nodes_Entity.csv")
    assert head[0] == ":ID(n)" and head[-1] == ":LABEL" and "title" in head
    assert "aliases:string[]" in head and "popularity:long" in head
    assert len(entities) == stats.entities
    col = {name.split(":")[0]: i for i, name in enumerate(head)}
    by_title = {r[col["title"]]: r for r in entities}
    assert by_title["Rēzne"][col["aliases"]].split(ARRAY_DELIMITER) == ["Rēzekne", "Rēzne (mīsts)"]
    assert sum(r[col["stub"]] == "true" for r in entities) == stats.stubs
    assert by_title["Aglyunys nūvods"][col["infobox"]] == "Infoskreine Latvejis nūvods"
    assert "short_description" in col

    head, rels = read(out / "rels_LINKS_TO.csv")
    assert head == [":START_ID(n)", ":END_ID(n)", "sentence", "anchor", ":TYPE"]
    assert len(rels) == stats.links == len(links)
    ids = {r[0]: r[col["title"]] for r in entities}
    pairs = {(ids[r[0]], ids[r[1]]): (r[2], r[3] or None) for r in rels}
    assert pairs == {(lk["src"], lk["dst"]): (lk["sentence"], lk["anchor"]) for lk in links}
    assert sum(a is not None for _, a in pairs.values()) > 0.99 * len(pairs)

    head, facts = read(out / "nodes_Fact.csv")
    assert "num_hi:double" in head
    assert Counter(r[-1] for r in facts) == {"Fact": sum(stats.literal_facts.values())}
    assert len(read(out / "rels_FACT.csv")[1]) == stats.entity_facts
    assert len(read(out / "rels_IN_CATEGORY.csv")[1]) == stats.category_edges
    assert len(read(out / "nodes_Category.csv")[1]) == stats.categories
    script = (out / "import.sh").read_text()
    assert script.startswith("#!/usr/bin/env bash") and 'cd "$(dirname "$0")"' in script
    command = script.splitlines()[-1]
    assert command.startswith("neo4j-admin database import full neo4j")
    for name in ("nodes_Entity.csv", "nodes_Fact.csv", "rels_LINKS_TO.csv", "rels_HAS_FACT.csv"):
        assert name in command
