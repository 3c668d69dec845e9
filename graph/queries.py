"""Every Cypher query the product runs, as named constants and a few builders.

Values go in only as ``$parameters``. Labels and types come from graph.model. Writes
are ``UNWIND $rows AS row`` batches with ``MERGE``, so rerunning one changes nothing.
:func:`all_queries` lists them all, rendered for a dialect; the contract tests run
them on the embedded engine and parse them with Neo4j's own parser.
"""

from __future__ import annotations

from graph.dialect import Dialect, in_degree_expr, out_degree_expr
from graph.model import Label, Rel

E, F, C, D, M = Label.ENTITY, Label.FACT, Label.CATEGORY, Label.DUMP, Label.MIGRATION
T, V = Label.RESEARCH_TREE, Label.TREE_VERTEX
S, SEL = Label.SUMMARY, Label.SELECTIVITY

# -- schema bookkeeping ---------------------------------------------------------------
APPLIED_MIGRATIONS = f"MATCH (m:{M}) RETURN m.id AS id"
RECORD_MIGRATION = f"MERGE (m:{M} {{id: $id}}) SET m.applied_at = $applied_at"

# -- ingest writes --------------------------------------------------------------------
UPSERT_ENTITIES = f"""
UNWIND $rows AS row
MERGE (e:{E} {{title: row.title}})
SET e.page_id = row.page_id, e.description = row.description,
    e.infobox = row.infobox, e.short_description = row.short_description,
    e.disambiguation = row.disambiguation, e.stub = false,
    e.rand = row.rand, e.bucket = row.bucket, e.text_bytes = row.text_bytes
"""

UPSERT_STUBS = f"""
UNWIND $rows AS row
MERGE (e:{E} {{title: row.title}})
ON CREATE SET e.stub = true, e.disambiguation = false, e.rand = row.rand,
              e.bucket = row.bucket
"""

# A title that is now known to be a redirect must not remain a stub entity: its
# links were written to the redirect's target.
DELETE_STUBS = f"""
UNWIND $titles AS title
MATCH (e:{E} {{title: title}})
WHERE e.stub = true
DETACH DELETE e
"""

SET_ALIASES = f"""
UNWIND $rows AS row
MATCH (e:{E} {{title: row.title}})
SET e.aliases = row.aliases
"""

UPSERT_LITERAL_FACTS = f"""
UNWIND $rows AS row
MATCH (e:{E} {{title: row.title}})
MERGE (f:{F} {{id: row.id}})
SET f.key = row.key, f.kind = row.kind, f.text = row.text, f.raw = row.raw,
    f.num = row.num, f.num_hi = row.num_hi, f.unit = row.unit, f.year = row.year,
    f.month = row.month, f.day = row.day, f.date = row.date, f.bk_v = row.bk_v,
    f.bk_decade = row.bk_decade, f.bk_part = row.bk_part, f.bk_century = row.bk_century,
    f.bk_season = row.bk_season, f.bk_lead = row.bk_lead, f.bk_mag = row.bk_mag
MERGE (e)-[h:{Rel.HAS_FACT}]->(f)
SET h.key = row.key
"""

UPSERT_CATEGORIES = f"""
UNWIND $rows AS row
MATCH (e:{E} {{title: row.title}})
MERGE (c:{C} {{name: row.name}})
MERGE (e)-[:{Rel.IN_CATEGORY}]->(c)
"""

UPSERT_LINKS = f"""
UNWIND $rows AS row
MATCH (a:{E} {{title: row.src}})
MATCH (b:{E} {{title: row.dst}})
MERGE (a)-[r:{Rel.LINKS_TO}]->(b)
ON CREATE SET r.sentence = row.sentence, r.anchor = row.anchor
"""

UPSERT_ENTITY_FACTS = f"""
UNWIND $rows AS row
MATCH (a:{E} {{title: row.src}})
MATCH (b:{E} {{title: row.dst}})
MERGE (a)-[r:{Rel.FACT} {{key: row.key}}]->(b)
ON CREATE SET r.text = row.text, r.raw = row.raw
"""

RECORD_DUMP = f"""
MERGE (d:{D} {{source: $source}})
SET d += $props
"""

# Counts that depend on all links being in place; run once loading ends, a range of
# buckets (see Entity.bucket) at a time so one query never holds the whole graph.
def degree_update(dialect: Dialect) -> str:
    """Set popularity (in-links), out_links and n_facts for the entities of a range of
    buckets ``$lo <= bucket < $hi``."""
    return f"""
UNWIND range($lo, $hi - 1) AS b
MATCH (e:{E} {{bucket: b}})
SET e.popularity = {in_degree_expr('e', Rel.LINKS_TO, dialect)},
    e.out_links = {out_degree_expr('e', Rel.LINKS_TO, dialect)},
    e.n_facts = {out_degree_expr('e', Rel.HAS_FACT, dialect)}
              + {out_degree_expr('e', Rel.FACT, dialect)}
RETURN count(e) AS n
"""


# -- reads: stats ---------------------------------------------------------------------
COUNT_ENTITIES = f"""
MATCH (e:{E})
RETURN count(e) AS entities,
       sum(CASE WHEN e.stub = true THEN 1 ELSE 0 END) AS stubs,
       sum(CASE WHEN e.disambiguation = true THEN 1 ELSE 0 END) AS disambiguation,
       sum(CASE WHEN e.aliases IS NULL THEN 0 ELSE size(e.aliases) END) AS aliases
"""
COUNT_LINKS = f"MATCH (:{E})-[r:{Rel.LINKS_TO}]->(:{E}) RETURN count(r) AS n"
COUNT_ENTITY_FACTS = f"MATCH (:{E})-[r:{Rel.FACT}]->(:{E}) RETURN count(r) AS n"
COUNT_FACTS_BY_KIND = f"MATCH (f:{F}) RETURN f.kind AS kind, count(f) AS n ORDER BY kind"
COUNT_CATEGORIES = f"MATCH (c:{C}) RETURN count(c) AS n"
COUNT_CATEGORY_EDGES = f"MATCH (:{E})-[r:{Rel.IN_CATEGORY}]->(:{C}) RETURN count(r) AS n"
LIST_DUMP_LANGUAGES = f"MATCH (d:{D}) RETURN DISTINCT d.lang AS lang ORDER BY lang"
LIST_DUMPS = f"MATCH (d:{D}) RETURN d.source AS source, d.dbname AS dbname, " \
             f"d.finished AS finished ORDER BY source"

# -- reads: single entities (tests, the CLI, later the sampler) -------------------------
ENTITY_BY_TITLE = f"""
MATCH (e:{E} {{title: $title}})
RETURN e.title AS title, e.page_id AS page_id, e.description AS description,
       e.infobox AS infobox, e.short_description AS short_description,
       e.aliases AS aliases, e.disambiguation AS disambiguation, e.stub AS stub,
       e.popularity AS popularity, e.out_links AS out_links, e.n_facts AS n_facts,
       e.rand AS rand, e.bucket AS bucket
"""
ENTITY_BY_ALIAS = f"""
MATCH (e:{E})
WHERE $alias IN e.aliases
RETURN e.title AS title
"""
LITERAL_FACTS_OF = f"""
MATCH (e:{E} {{title: $title}})-[:{Rel.HAS_FACT}]->(f:{F})
RETURN f.key AS key, f.kind AS kind, f.text AS text, f.num AS num, f.num_hi AS num_hi,
       f.unit AS unit, f.year AS year, f.month AS month, f.day AS day, f.date AS date,
       f.raw AS raw
ORDER BY key, text, kind, raw, num, num_hi, unit, date
"""
ENTITY_FACTS_OF = f"""
MATCH (e:{E} {{title: $title}})-[r:{Rel.FACT}]->(t:{E})
RETURN r.key AS key, t.title AS target, r.text AS text
ORDER BY key, target, text
"""
LINKS_OF = f"""
MATCH (e:{E} {{title: $title}})-[r:{Rel.LINKS_TO}]->(t:{E})
RETURN t.title AS target, r.sentence AS sentence, r.anchor AS anchor
ORDER BY target
"""
CATEGORIES_OF = f"""
MATCH (e:{E} {{title: $title}})-[:{Rel.IN_CATEGORY}]->(c:{C})
RETURN c.name AS name
ORDER BY name
"""
# What a sampler reads of one entity to blur it (synth.blur.profile), in one round trip:
# ENTITY_BY_TITLE's description and infobox, and the rows of LITERAL_FACTS_OF,
# ENTITY_FACTS_OF and CATEGORIES_OF as lists (unordered: graph.store.card sorts them
# as those queries do). An OPTIONAL MATCH that finds nothing adds one map of nulls.
CARD_OF = f"""
MATCH (e:{E} {{title: $title}})
OPTIONAL MATCH (e)-[:{Rel.HAS_FACT}]->(f:{F})
WITH e, collect({{key: f.key, kind: f.kind, text: f.text, num: f.num, num_hi: f.num_hi,
                  unit: f.unit, year: f.year, month: f.month, day: f.day, date: f.date,
                  raw: f.raw}}) AS facts
OPTIONAL MATCH (e)-[r:{Rel.FACT}]->(t:{E})
WITH e, facts, collect({{key: r.key, target: t.title, text: r.text}}) AS entity_facts
OPTIONAL MATCH (e)-[:{Rel.IN_CATEGORY}]->(c:{C})
WITH e, facts, entity_facts, collect(c.name) AS categories
RETURN e.description AS description, e.infobox AS infobox, facts, entity_facts,
       categories
"""

# CARD_OF for many entities in one round trip (graph.store.cards).
CARDS_OF = ("UNWIND $titles AS title\n" + CARD_OF.strip()
            .replace("{title: $title}", "{title: title}")
            .replace("RETURN e.description AS", "RETURN e.title AS title, e.description AS")
            + "\n")


# -- research trees: sampling walks ----------------------------------------------------
_ELIGIBLE_ANY = ("e.stub = false AND e.disambiguation = false AND e.n_facts + e.out_links "
                 ">= $min_degree")
_ELIGIBLE = (f"{_ELIGIBLE_ANY} AND e.popularity >= $min_popularity AND "
             "e.popularity <= $max_popularity")
# Where roots are drawn: with a popularity band, and (the default: any popularity)
# without one. A band that admits every entity still costs: FalkorDB answered a bucket's
# roots in 4.2 ms with the band's two comparisons and 1.8 ms without (1M entities).


def _with_and_without_band(query: str) -> tuple[str, str]:
    """``query`` (its WHERE written ``{eligible}``) with the popularity band, and
    without it."""
    return query.replace("{eligible}", _ELIGIBLE), query.replace("{eligible}", _ELIGIBLE_ANY)


ELIGIBLE_BUCKETS, ELIGIBLE_BUCKETS_ANY_POPULARITY = _with_and_without_band(f"""
MATCH (e:{E})
WHERE {{eligible}}
RETURN e.bucket AS bucket, count(e) AS n
ORDER BY bucket
""")
ELIGIBLE_IN_BUCKET, ELIGIBLE_IN_BUCKET_ANY_POPULARITY = _with_and_without_band(f"""
MATCH (e:{E} {{bucket: $bucket}})
WHERE {{eligible}}
RETURN e.title AS title
ORDER BY e.rand, title
""")
# The k-th of them alone (a bucket's first draw: at 3M entities, 3.4 ms against 5.5 ms
# for all ~700 titles; the summary counts a bucket's roots, so k is drawn without them).
ELIGIBLE_KTH_IN_BUCKET, ELIGIBLE_KTH_IN_BUCKET_ANY_POPULARITY = _with_and_without_band(f"""
MATCH (e:{E} {{bucket: $bucket}})
WHERE {{eligible}}
WITH e ORDER BY e.rand, e.title SKIP $k LIMIT 1
RETURN e.title AS title
""")
_NEIGHBOUR = ("u.title AS title, u.stub AS stub, u.disambiguation AS disambiguation, "
              "u.n_facts AS n_facts, u.out_links AS out_links, u.popularity AS popularity")
# An entity's neighbours one way: at most $limit of them, a fixed sample (by the
# neighbour's random key) where there are more, read in title order. At 1M entities
# a hub's 10^5 links with their sentences took 350 ms to read; 1,000 of them, 40 ms.
# Ordered by the edge's key too: one entity may name another under two infobox keys.
_SAMPLE = "WITH r, u ORDER BY u.rand, u.title, r.key LIMIT $limit"
NEIGHBOURS_FACT_OUT = f"""
MATCH (v:{E} {{title: $title}})-[r:{Rel.FACT}]->(u:{E})
{_SAMPLE}
RETURN r.key AS key, r.text AS text, {_NEIGHBOUR}
ORDER BY key, title
"""
NEIGHBOURS_FACT_IN = f"""
MATCH (u:{E})-[r:{Rel.FACT}]->(v:{E} {{title: $title}})
{_SAMPLE}
RETURN r.key AS key, r.text AS text, {_NEIGHBOUR}
ORDER BY key, title
"""
NEIGHBOURS_LINK_OUT = f"""
MATCH (v:{E} {{title: $title}})-[r:{Rel.LINKS_TO}]->(u:{E})
{_SAMPLE}
RETURN r.sentence AS sentence, r.anchor AS anchor, {_NEIGHBOUR}
ORDER BY title
"""
NEIGHBOURS_LINK_IN = f"""
MATCH (u:{E})-[r:{Rel.LINKS_TO}]->(v:{E} {{title: $title}})
{_SAMPLE}
RETURN r.sentence AS sentence, r.anchor AS anchor, {_NEIGHBOUR}
ORDER BY title
"""
ALIASES_OF = f"""
UNWIND $titles AS t
MATCH (e:{E} {{title: t}})
RETURN e.title AS title, e.aliases AS aliases
"""

# Graphs loaded before blur buckets existed get them from a migration (graph.schema).
FACTS_WITHOUT_BUCKETS = f"""
MATCH (f:{F})
WHERE f.bk_v IS NULL OR f.bk_v < $version
RETURN f.id AS id, f.key AS key, f.kind AS kind, f.year AS year, f.month AS month,
       f.num AS num
"""
FACT_WITHOUT_BUCKETS_ANY = f"""
MATCH (f:{F})
WHERE f.bk_v IS NULL OR f.bk_v < $version
RETURN f.id AS id LIMIT 1
"""
LIST_TREES_WITHOUT_K = f"""
MATCH (t:{T})
WHERE t.k IS NULL
RETURN t.id AS id, t.json AS json
"""
SET_TREE_K = f"""
UNWIND $rows AS row
MATCH (t:{T} {{id: row.id}})
SET t.k = row.k
"""
SET_FACT_BUCKETS = f"""
UNWIND $rows AS row
MATCH (f:{F} {{id: row.id}})
SET f.bk_v = row.bk_v, f.bk_decade = row.bk_decade, f.bk_part = row.bk_part,
    f.bk_century = row.bk_century, f.bk_season = row.bk_season, f.bk_lead = row.bk_lead,
    f.bk_mag = row.bk_mag
"""

# -- research trees: storage -------------------------------------------------------------
UPSERT_TREE = f"""
MERGE (t:{T} {{id: $id}})
ON CREATE SET t.created_at = $created_at
SET t += $props
"""
UPSERT_TREE_VERTICES = f"""
UNWIND $rows AS row
MATCH (t:{T} {{id: $tree}})
MERGE (v:{V} {{id: row.id}})
SET v.tree = $tree, v.idx = row.idx, v.kind = row.kind, v.text = row.text
MERGE (t)-[:{Rel.HAS_VERTEX}]->(v)
"""
LINK_TREE_PARENTS = f"""
UNWIND $rows AS row
MATCH (v:{V} {{id: row.id}})
MATCH (p:{V} {{id: row.parent}})
MERGE (v)-[:{Rel.CHILD_OF}]->(p)
"""
LINK_TREE_ENTITIES = f"""
UNWIND $rows AS row
MATCH (v:{V} {{id: row.id}})
MATCH (e:{E} {{title: row.title}})
MERGE (v)-[:{Rel.STANDS_FOR}]->(e)
"""
TREE_BY_ID = f"MATCH (t:{T} {{id: $id}}) RETURN t.json AS json"
TREES_PAGE = f"""
MATCH (t:{T})
WHERE t.id > $after
RETURN t.id AS id, t.json AS json
ORDER BY id
LIMIT $limit
"""
COUNT_TREES = f"MATCH (t:{T}) RETURN t.n_vertices AS n_vertices, count(t) AS n ORDER BY n_vertices"
# The question pool, filtered and paged by id (a cursor). A null filter is no filter.
QUESTIONS_PAGE = f"""
MATCH (t:{T})
WHERE t.id > $after
  AND ($n_vertices IS NULL OR t.n_vertices = $n_vertices)
  AND ($shape IS NULL OR t.shape = $shape)
  AND ($k IS NULL OR t.k = $k)
  AND ($created_after IS NULL OR t.created_at > $created_after)
  AND ($min_difficulty IS NULL OR t.difficulty >= $min_difficulty)
  AND ($max_difficulty IS NULL OR t.difficulty <= $max_difficulty)
RETURN t.id AS id, t.json AS json
ORDER BY id
LIMIT $limit
"""
DELETE_TREE = f"""
MATCH (t:{T} {{id: $id}})
OPTIONAL MATCH (t)-[:{Rel.HAS_VERTEX}]->(v:{V})
DETACH DELETE t, v
RETURN count(DISTINCT t) AS n
"""
# -- reads: whole-graph exports (tests compare graphs built by different loaders) -------
EXPORT_ENTITIES = f"""
MATCH (e:{E})
RETURN e.title AS title, e.page_id AS page_id, e.description AS description,
       e.infobox AS infobox, e.short_description AS short_description,
       e.aliases AS aliases, e.disambiguation AS disambiguation, e.stub AS stub,
       e.rand AS rand, e.bucket AS bucket, e.text_bytes AS text_bytes,
       e.popularity AS popularity, e.out_links AS out_links, e.n_facts AS n_facts
ORDER BY title
SKIP $skip LIMIT $limit
"""
EXPORT_LINKS = f"""
MATCH (a:{E})-[r:{Rel.LINKS_TO}]->(b:{E})
RETURN a.title AS src, b.title AS dst, r.sentence AS sentence, r.anchor AS anchor
ORDER BY src, dst
SKIP $skip LIMIT $limit
"""
EXPORT_ENTITY_FACTS = f"""
MATCH (a:{E})-[r:{Rel.FACT}]->(b:{E})
RETURN a.title AS src, r.key AS key, b.title AS dst, r.text AS text, r.raw AS raw
ORDER BY src, key, dst
SKIP $skip LIMIT $limit
"""
EXPORT_LITERAL_FACTS = f"""
MATCH (e:{E})-[h:{Rel.HAS_FACT}]->(f:{F})
RETURN e.title AS title, h.key AS hkey, f.id AS id, f.key AS key, f.kind AS kind,
       f.text AS text, f.raw AS raw, f.num AS num, f.num_hi AS num_hi, f.unit AS unit,
       f.year AS year, f.month AS month, f.day AS day, f.date AS date, f.bk_v AS bk_v,
       f.bk_decade AS bk_decade, f.bk_part AS bk_part, f.bk_century AS bk_century,
       f.bk_season AS bk_season, f.bk_lead AS bk_lead, f.bk_mag AS bk_mag
ORDER BY id
SKIP $skip LIMIT $limit
"""
EXPORT_CATEGORIES = f"""
MATCH (e:{E})-[:{Rel.IN_CATEGORY}]->(c:{C})
RETURN e.title AS title, c.name AS name
ORDER BY title, name
SKIP $skip LIMIT $limit
"""


# -- the summary ingest keeps (graph.summary) --------------------------------------------
# Each selectivity query is candidates_query's count of one predicate, for every
# predicate of a kind at once, where it reaches $t: distinct entities e that are not
# disambiguation pages.
def selectivity_of_buckets(prop: str) -> str:
    """Entities per value of one blur-bucket property (graph.buckets)."""
    from graph.buckets import BUCKET_PROPS

    if prop not in BUCKET_PROPS:
        raise ValueError(f"not a bucket property: {prop!r}")
    return f"""
MATCH (e:{E})-[:{Rel.HAS_FACT}]->(f:{F})
WHERE f.{prop} IS NOT NULL AND e.disambiguation = false
WITH f.{prop} AS v, count(DISTINCT e) AS n
WHERE n >= $t
RETURN v, n ORDER BY v
"""


def _selectivity(match: str, value: str, key: str | None = None) -> str:
    """Distinct non-disambiguation ``e`` per ``value`` (and ``key``) of ``match``."""
    group = f"{key} AS k, {value} AS v" if key else f"{value} AS v"
    out = "k, v" if key else "v"
    return f"""
MATCH {match}
WHERE e.disambiguation = false
WITH {group}, count(DISTINCT e) AS n
WHERE n >= $t
RETURN {out}, n ORDER BY {out}
"""


SELECTIVITY_INITIALS = _selectivity(f"(e:{E})", "toUpper(left(e.title, 1))")
SELECTIVITY_CATEGORIES = _selectivity(f"(e:{E})-[:{Rel.IN_CATEGORY}]->(c:{C})", "c.name")
# Per anchor entity ``a``, a range of its buckets at a time ($lo <= a.bucket < $hi): one
# query over all links grouped 15M edges by title in memory (the engine grew by 12 GB
# on a 3M-entity graph). A range, not UNWIND of bucket numbers: with UNWIND, FalkorDB
# scanned every entity once per bucket.
def _anchored(pattern: str, value: str, key: str | None = None) -> str:
    return _selectivity(pattern, value, key).replace(
        "WHERE e.disambiguation = false",
        "WHERE a.bucket >= $lo AND a.bucket < $hi AND e.disambiguation = false")


SELECTIVITY_LINKERS = _anchored(f"(a:{E})<-[:{Rel.LINKS_TO}]-(e:{E})", "a.title")
SELECTIVITY_LINKED = _anchored(f"(a:{E})-[:{Rel.LINKS_TO}]->(e:{E})", "a.title")
SELECTIVITY_FACT_IN = _anchored(f"(a:{E})<-[r:{Rel.FACT}]-(e:{E})", "a.title", "r.key")
SELECTIVITY_FACT_OUT = _anchored(f"(a:{E})-[r:{Rel.FACT}]->(e:{E})", "a.title", "r.key")

# How each infobox key spreads (graph.summary.KeyShape): per holder, how many values it
# names; per value, how many holders name it. A range of buckets at a time, as above.
_KEY_SHAPE = f"""
MATCH (a:{E})-[r:{Rel.FACT}]->(b:{E})
WHERE {{anchor}}.bucket >= $lo AND {{anchor}}.bucket < $hi
WITH r.key AS k, {{anchor}} AS x, count(DISTINCT {{other}}) AS n
RETURN k, count(x) AS n, sum(CASE WHEN n = 1 THEN 1 ELSE 0 END) AS one
ORDER BY k
"""
KEY_SHAPE_HOLDERS = _KEY_SHAPE.format(anchor="a", other="b")
KEY_SHAPE_VALUES = _KEY_SHAPE.format(anchor="b", other="a")


COUNT_BUCKET_MAX = f"""
MATCH (e:{E})
WITH e.bucket AS b, count(e) AS n
RETURN max(n) AS n, max(b) AS top
"""
CLEAR_SUMMARY = f"MATCH (s:{S}) DELETE s"
CLEAR_SELECTIVITY = f"MATCH (s:{SEL}) DELETE s"
WRITE_SELECTIVITY = f"""
UNWIND $rows AS row
MERGE (s:{SEL} {{key: row.key}})
SET s.n = row.n
"""
WRITE_SUMMARY = f"""
MERGE (s:{S} {{id: 'graph'}})
SET s.version = $version, s.stats = $stats, s.fingerprint = $fingerprint,
    s.bucket_max = $bucket_max, s.bucket_top = $bucket_top, s.threshold = $threshold,
    s.rows = $rows, s.roots = $roots, s.keys = $keys,
    s.updated_at = $updated_at
"""
LIST_SUMMARY = f"""
MATCH (s:{S} {{id: 'graph'}})
RETURN s.version AS version, s.stats AS stats, s.fingerprint AS fingerprint,
       s.bucket_max AS bucket_max, s.bucket_top AS bucket_top, s.threshold AS threshold,
       s.roots AS roots, s.keys AS keys
"""
LIST_SELECTIVITY = f"MATCH (s:{SEL}) RETURN s.key AS key, s.n AS n"
ELIGIBLE_ALL, ELIGIBLE_ALL_ANY_POPULARITY = _with_and_without_band(f"""
MATCH (e:{E})
WHERE {{eligible}}
RETURN e.bucket AS bucket, e.title AS title
ORDER BY bucket, e.rand, title
""")
ELIGIBLE_SOME = f"""
MATCH (e:{E})
WHERE {_ELIGIBLE}
WITH e LIMIT $n
RETURN count(e) AS n
"""


def all_queries(dialect: Dialect) -> dict[str, str]:
    """Every query of this module, rendered for ``dialect``, by name."""
    out = {name: q for name, q in globals().items()
           if name.isupper() and isinstance(q, str) and not name.startswith("_")
           and name not in {"E", "F", "C", "D", "M", "T", "V", "S", "SEL"}}
    out["degree_update"] = degree_update(dialect)
    out["selectivity_of_buckets"] = selectivity_of_buckets("bk_decade")
    from graph.constraints import example_queries

    out.update(example_queries())
    return out
