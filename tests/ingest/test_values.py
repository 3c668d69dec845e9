"""Infobox values to typed facts: ranges, layout sizes, units against prose, BC years,
years from categories, and synonymous keys under one name."""

from __future__ import annotations

import pytest

from ingest.dump import RawPage
from ingest.namespaces import Namespaces
from ingest.pipeline import ParseArticles
from ingest.values import (
    CANONICAL_KEYS,
    category_year_facts,
    infobox_facts,
    literal_fact,
    normalize_key,
    type_text,
    value_facts,
)
from ingest.wikitext import DISAMBIGUATION_TEMPLATES, Template, WikitextParser

NS = Namespaces.default()


@pytest.mark.parametrize(("text", "lo", "hi", "unit"), [
    ("20–44 minutes", 20.0, 44.0, "minutes"),
    ("20-44 minutes", 20.0, 44.0, "minutes"),
    ("20 to 44 minutes", 20.0, 44.0, "minutes"),
    ("1,200–1,500 km", 1200.0, 1500.0, "km"),
    ("$1–2 million", 1e6, 2e6, "USD"),
    ("1958–86", 1958.0, 1986.0, None),  # an abbreviated end
    ("9-12", 9.0, 12.0, None),
])
def test_a_range_is_a_range(text: str, lo: float, hi: float, unit: str | None) -> None:
    f = type_text("runtime", text, text)
    assert (f.kind, f.num, f.num_hi, f.unit, f.text) == ("range", lo, hi, unit, text)


@pytest.mark.parametrize("text", [
    "870–274",        # a win-loss record: the end is below the start
    "2003–present",   # no upper end
    "0-810-91868-4",  # an ISBN-like code
    "20–44 years of war in the region",
])
def test_what_only_looks_like_a_range_is_text(text: str) -> None:
    assert type_text("record", text, text).kind == "text"


def test_identifiers_are_text() -> None:
    assert type_text("issn", "1999-4893", "1999-4893").kind == "text"
    assert type_text("isbn", "0-452-28424-4", "0-452-28424-4").kind == "text"
    assert type_text("address", "75 Kent Street", "75 Kent Street").kind == "text"


@pytest.mark.parametrize("value", ["30px", "250x250px", "250 px", "x200px", "upright=1.2",
                                   "upright"])
def test_image_sizes_are_not_facts(value: str) -> None:
    assert literal_fact("static_image_width", value, value) is None
    assert value_facts("pixels", value, NS) == []


def test_a_file_link_shows_nothing_in_a_value() -> None:
    value = "[[File:Wild Rose.svg|24px]]{{spaces|1}}[[Rosa acicularis|Wild rose]]"
    assert [(f.kind, f.target, f.text) for f in value_facts("flower", value, NS)] == [
        ("entity", "Rosa acicularis", "Wild rose")]
    (f,) = value_facts("flower", "[[File:Wild Rose.svg|24px]] Wild rose", NS)
    assert (f.kind, f.text) == ("text", "Wild rose")


@pytest.mark.parametrize(("text", "num", "unit"), [
    ("100 minutes", 100.0, "minutes"),
    ("44579000 km2", 44579000.0, "km2"),
    ("7.41 km²", 7.41, "km²"),
    ("52,419 sq mi", 52419.0, "sq mi"),
    ("87/km2 (225/sq mi)", 87.0, "/km2"),
    ("1.80 m", 1.8, "m"),
    ("8.4% (2012 est.)", 8.4, "%"),
    ("About 1,200 inhabitants (2011)", 1200.0, "inhabitants"),
    ("1,234,567 people", 1234567.0, "people"),
    ("$130.4 billion (PPP) (2012 est.)", 130.4e9, "USD"),
    ("5,954+ (as of 2018)", 5954.0, None),
    ("1,234.5", 1234.5, None),
    ("4 561", 4561.0, None),
    ("392,7", 392.7, None),
    ("16th", 16.0, "ordinal"),
])
def test_a_number_keeps_a_clean_unit(text: str, num: float, unit: str | None) -> None:
    f = type_text("size", text, text)
    assert (f.kind, f.num, f.num_hi, f.unit) == ("number", num, None, unit)


@pytest.mark.parametrize("text", [
    "48 UN members 6 other states",                 # digits after the number
    "12 was the number of people who came first",   # running text
    "5 km long river in the east",                  # more than three words
    "19th-century philosophy",                      # an ordinal with words is a name
    "9th Earl of Bessborough",
    "1st Texas Rifles (USV), 2nd U.S. Cavalry",
    "20–44 minutes of this and that and more",
    "39:13",
    "2016 Q1",
])
def test_a_number_followed_by_prose_is_text(text: str) -> None:
    f = type_text("x", text, text)
    assert (f.kind, f.num, f.unit, f.text) == ("text", None, None, text)


def test_convert_keeps_its_unit() -> None:
    (area,) = value_facts("area", "{{convert|52419|sqmi|km2}}", NS)
    assert (area.kind, area.num, area.unit) == ("number", 52419.0, "sqmi")
    (length,) = value_facts("length", "{{convert|20|-|44|km|mi}}", NS)
    assert (length.kind, length.num, length.num_hi, length.unit) == ("range", 20.0, 44.0, "km")


def test_bc_years() -> None:
    for text, year in (("500 BC", -500), ("44 BCE", -44), ("c. 1500", 1500), ("79 AD", 79)):
        f = type_text("founded", text, text)
        assert (f.kind, f.year, f.text) == ("year", year, text)


def test_a_date_with_notes_is_a_date() -> None:
    f = type_text("published", "17 August 1945 (Secker and Warburg, London)", "x")
    assert (f.kind, f.date, f.text) == ("date", "1945-08-17", "17 August 1945")
    assert type_text("founded", "1406 (2011)", "x").year == 1406


def test_key_synonyms() -> None:
    for raw, key in (("born", "birth_date"), ("Date of birth", "birth_date"),
                     ("birthdate", "birth_date"), ("birth", "birth_date"),
                     ("died", "death_date"), ("date_of_death", "death_date"),
                     ("deathdate", "death_date"), ("death", "death_date"),
                     ("place of birth", "birth_place"), ("birthplace", "birth_place"),
                     ("place_of_death", "death_place"), ("deathplace", "death_place"),
                     ("spouses", "spouse"), ("partner", "partner"), ("Birth date", "birth_date")):
        assert normalize_key(raw) == key, raw
    assert set(CANONICAL_KEYS.values()) == {"birth_date", "death_date", "birth_place",
                                            "death_place", "spouse"}
    box = Template("Infobox person", "Infobox person|born={{birth date|1862|1|29}}|"
                                     "birthplace=[[Riga]]|spouses=[[Anna]]")
    facts = {(f.key, f.kind) for f in infobox_facts(box, NS)}
    assert facts == {("birth_date", "date"), ("birth_place", "entity"), ("spouse", "entity")}


def test_category_years() -> None:
    facts = category_year_facts(["1862 births", "1912 deaths", "Latvian painters"], set())
    assert [(f.key, f.kind, f.year, f.text, f.raw) for f in facts] == [
        ("birth_date", "year", 1862, "1862", "1862 births"),
        ("death_date", "year", 1912, "1912", "1912 deaths")]
    (bc,) = category_year_facts(["420 BC births", "5th-century BC births",
                                 "1860s births", "Births in 1862"], set())
    assert (bc.key, bc.year, bc.text, bc.raw) == ("birth_date", -420, "420 BC", "420 BC births")
    assert category_year_facts(["1862 births"], {"birth_date"}) == []


def _parse(text: str) -> list[tuple[str, str, int | None, str]]:
    step = ParseArticles(lambda: WikitextParser(
        NS, disambiguation_templates=DISAMBIGUATION_TEMPLATES))
    art = step.apply(RawPage("Jānis Rozentāls", 0, 1, None, text, 1))
    return sorted((f.key, f.kind, f.year, f.raw) for f in art.facts
                  if f.key in ("birth_date", "death_date"))


def test_a_category_year_only_without_an_infobox_date() -> None:
    cats = "\n[[Category:1866 births]]\n[[Category:1916 deaths]]"
    body = "'''Jānis Rozentāls''' was a Latvian painter from [[Saldus]]."
    assert _parse(body + cats) == [("birth_date", "year", 1866, "1866 births"),
                                   ("death_date", "year", 1916, "1916 deaths")]
    box = "{{Infobox artist|birth_date={{birth date|1866|3|18}}}}\n"
    assert _parse(box + body + cats) == [
        ("birth_date", "date", 1866, "{{birth date|1866|3|18}}"),
        ("death_date", "year", 1916, "1916 deaths")]
    # An infobox value that is only text does not stop the category's year.
    box = "{{Infobox artist|birth_date=unknown}}\n"
    assert _parse(box + body + cats) == [
        ("birth_date", "text", None, "unknown"),
        ("birth_date", "year", 1866, "1866 births"),
        ("death_date", "year", 1916, "1916 deaths")]
