"""The wikitext extractor and infobox typing, on hand-written snippets and real pages."""

from __future__ import annotations

import pytest

from ingest.dump import DumpReader
from ingest.namespaces import Namespaces
from ingest.values import infobox_facts, parse_number, type_text, value_facts
from ingest.wikitext import (
    DISAMBIGUATION_TEMPLATES,
    WikitextParser,
    normalize_title,
    split_params,
    strip_templates,
)
from tests.conftest import ENWIKI, LTGWIKI


@pytest.fixture(scope="module")
def parser() -> WikitextParser:
    ns = Namespaces.default()
    ns.add(14, "Kategoreja")
    ns.add(6, "Fails")
    return WikitextParser(ns, disambiguation_templates=DISAMBIGUATION_TEMPLATES)


def test_links_keep_their_sentence_and_resolve_pipes_and_trails(parser: WikitextParser) -> None:
    art = parser.parse(
        "'''Foo''' is a [[city]] in [[south_korea#History|South Korea]]. "
        "It has many [[bridge]]s. See [[Paris, Texas|]] too.")
    pairs = {(lk.target, lk.sentence) for lk in art.links}
    assert ("City", "Foo is a city in South Korea.") in pairs
    assert ("South korea", "Foo is a city in South Korea.") in pairs
    assert ("Bridge", "It has many bridges.") in pairs
    assert ("Paris, Texas", "See Paris too.") in pairs
    assert art.first_sentence == "Foo is a city in South Korea."


def test_links_keep_the_text_they_show_as_their_anchor(parser: WikitextParser) -> None:
    art = parser.parse(
        "Riga lies on [[Daugava|the Daugava]]s. It has many [[bridge]]s and a "
        "[[Riga Cathedral|''cathedral'']]. See [[Paris, Texas|]] and [[:riga_port]].\n"
        "Again [[Daugava|the river]].")
    anchors = {(lk.target, lk.anchor) for lk in art.links}
    assert anchors == {("Daugava", "the Daugavas"), ("Bridge", "bridges"),
                       ("Riga Cathedral", "cathedral"), ("Paris, Texas", "Paris"),
                       ("Riga port", "riga port"), ("Daugava", "the river")}
    for lk in art.links:
        assert lk.anchor in lk.sentence


def test_templates_tables_refs_and_comments_are_not_text(parser: WikitextParser) -> None:
    art = parser.parse(
        "{{Infobox person|name=X|birth_place=[[Oslo]]}}<!-- [[Hidden]] -->"
        "X was born in [[Norway]].<ref>[[Cited]] source</ref>\n"
        "{| class=wikitable\n| [[InTable]] {{nested|[[Deep]]}}\n|}\n"
        "He moved to [[Bergen]].")
    assert [lk.target for lk in art.links] == ["Norway", "Bergen"]
    assert art.links[0].sentence == "X was born in Norway."
    assert art.infobox is not None and art.infobox.name == "Infobox person"


def test_files_categories_interwiki_and_other_namespaces(parser: WikitextParser) -> None:
    art = parser.parse(
        "[[File:Map.png|thumb|A map of [[Riga]] in [[Latvia]]]]"
        "[[Fails:Bilde.jpg|thumb|caption [[Daugava]]]]"
        "Text about [[Wikipedia:Policy|policy]] and [[Rēzne]].\n"
        "[[Category:Cities in Latvia|Riga]] [[Kategoreja:Mīsti Latgolā]] [[:Category:Seen]]"
        " [[en:Riga]] [[lv:Rīga]]")
    assert [lk.target for lk in art.links] == ["Rēzne"]
    assert art.links[0].sentence == "Text about policy and Rēzne."
    assert art.categories == ["Cities in Latvia", "Mīsti Latgolā"]


def test_short_description_and_disambiguation(parser: WikitextParser) -> None:
    art = parser.parse("{{Short description|American president}}'''A''' was a man.")
    assert art.short_description == "American president"
    assert not art.disambiguation
    assert parser.parse("'''Austin''' may mean:\n* [[Austin, Texas]]\n{{disambiguation|geo}}"
                        ).disambiguation
    assert parser.parse("x {{Zeimeibu škiršona}}").disambiguation
    assert not parser.parse("x{{Disambiguation needed|date=May 2020}} y").disambiguation


def test_unclosed_markup_does_not_raise(parser: WikitextParser) -> None:
    art = parser.parse("Start [[Link one]]. {{Infobox broken|a=[[B]] ... [[Never closed")
    assert [lk.target for lk in art.links] == ["Link one"]
    parser.parse("]] }} |} [[ {{ <ref> <!--")


def test_helpers() -> None:
    assert normalize_title(" united_States#Geo ") == "United States"
    body, templates = strip_templates("a{{x|{{y}}}}b{{z}}c")
    assert body == "abc" and [t.name for t in templates] == ["x", "z"]
    assert split_params("x|a = [[B|c]]|{{d|e=f}}|g=h") == [
        ("a", "[[B|c]]"), (None, "{{d|e=f}}"), ("g", "h")]


@pytest.mark.parametrize(("text", "kind", "field", "value"), [
    ("February 12, 1809", "date", "date", "1809-02-12"),
    ("12 February 1809", "date", "date", "1809-02-12"),
    ("1809-02-12", "date", "date", "1809-02-12"),
    ("March 1861", "year", "month", 3),
    ("1834", "year", "year", 1834),
    ("c. 1500", "year", "year", 1500),
    ("500 BC", "year", "year", -500),
    ("52,419 sq mi", "number", "num", 52419.0),
    ("$1.5 billion", "number", "num", 1.5e9),
    ("4 561", "number", "num", 4561.0),
    ("392,7", "number", "num", 392.7),
    ("16th", "number", "unit", "ordinal"),
    ("American", "text", "text", "American"),
])
def test_literals_are_typed(text: str, kind: str, field: str, value: object) -> None:
    fact = type_text("founded", text, text)
    assert fact.kind == kind
    assert (fact.date if field == "date" else getattr(fact, field)) == value


def test_a_bare_number_is_a_year_only_under_a_time_key() -> None:
    assert type_text("dzeivuotuoju_skaits", "1406", "1406").kind == "number"
    assert type_text("population", "1406", "1406").num == 1406.0
    assert type_text("term_start3", "1834", "1834").year == 1834
    assert type_text("dzeivuotuoji_gods", "2009", "2009").year == 2009


def test_value_with_links_and_date_templates() -> None:
    ns = Namespaces.default()
    facts = value_facts("death_place", "[[Petersen House (Washington, D.C.)|Petersen House]],"
                        "<br />[[Washington, D.C.]], U.S.", ns)
    assert [(f.kind, f.target) for f in facts] == [
        ("entity", "Petersen House (Washington, D.C.)"), ("entity", "Washington, D.C.")]
    (born,) = value_facts("birth_date", "{{birth date and age|1950|5|17|df=y}}", ns)
    assert (born.kind, born.date, born.text) == ("date", "1950-05-17", "1950-05-17")
    (area,) = value_facts("area", "{{convert|52419|sqmi|km2}}", ns)
    assert (area.kind, area.num, area.unit) == ("number", 52419.0, "sqmi")
    assert value_facts("image", "Foo.jpg", ns) == []
    assert parse_number("1,234.5") == 1234.5


def _real_page(path: object, title: str) -> tuple[str, Namespaces]:
    with DumpReader(str(path)) as reader:
        for page in reader.pages():
            if page.title == title:
                return page.text or "", reader.info.namespaces
    raise AssertionError(f"{title} not in {path}")


def test_real_lincoln_page() -> None:
    """Checked by hand against the XML of the enwiki sample."""
    text, ns = _real_page(ENWIKI, "Abraham Lincoln")
    art = WikitextParser(ns, disambiguation_templates=DISAMBIGUATION_TEMPLATES).parse(text)
    assert art.infobox is not None and art.infobox.name == "Infobox officeholder"
    assert sum(lk.anchor in lk.sentence for lk in art.links) >= 0.98 * len(art.links)
    facts = {(f.key, f.kind): f for f in infobox_facts(art.infobox, ns)}
    assert facts[("birth_date", "date")].date == "1809-02-12"
    assert facts[("death_date", "date")].date == "1865-04-15"
    assert facts[("birth_place", "entity")].target == "Hodgenville, Kentucky"
    assert facts[("term_start3", "year")].year == 1834
    assert facts[("term_start", "date")].date == "1861-03-04"
    sentences = {lk.sentence for lk in art.links if lk.target == "Hodgenville, Kentucky"}
    assert any(s.startswith("Born in Hodgenville, Kentucky, Lincoln grew up on the western "
                            "frontier in Kentucky and Indiana.") for s in sentences)
    assert "American classical liberals" in art.categories
    assert art.first_sentence.startswith("Abraham Lincoln (February 12, 1809 – April 15, 1865)"
                                         " was the 16th President of the United States")


def test_real_latgalian_page_uses_localized_namespaces() -> None:
    text, ns = _real_page(LTGWIKI, "Aglyunys nūvods")
    art = WikitextParser(ns).parse(text)
    assert art.infobox is not None and art.infobox.name == "Infoskreine Latvejis nūvods"
    assert art.categories == ["Aglyunys nūvods"]
    assert {lk.target for lk in art.links} == {"Latveja", "Latgola"}
    facts = {f.key: f for f in infobox_facts(art.infobox, ns) if f.kind != "entity"}
    assert facts["dzeivuotuoju_skaits"].num == 4561
    assert facts["pluots"].num == 392.7
    assert facts["īstateits"].year == 2009
