"""A fast, purpose-built wikitext extractor.

A full ``mwparserfromhell`` parse builds a node tree for every page (~1 MB/s per core,
measured in ``bench/ingest.py``). We need only a few things from each article, so this
module scans the text with regular expressions and a brace-depth counter instead:

- the infobox (its name and raw ``key = value`` parameters),
- the ``{{Short description}}``, disambiguation markers,
- body links, each with the plain-text sentence it stands in,
- categories, and the lead's first sentence.

Infobox parameter values are small, so they are turned into typed literals by
``ingest.values`` (which may use mwparserfromhell on those few bytes).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from ingest.namespaces import Namespaces

# Templates that mark a disambiguation (or set index) page, English and Latgalian.
DISAMBIGUATION_TEMPLATES = frozenset({
    "dab", "disamb", "disambig", "disambiguation", "hndis", "geodis", "numberdis",
    "letter disambiguation", "letter-number combination disambiguation", "mil-unit-dis",
    "schooldis", "species latin name disambiguation", "roaddis", "mountainindex",
    "set index article", "shipindex", "sia", "zeimeibu škiršona",
})

# Tags whose whole content is dropped from the body text.
_DROP_TAGS = ("ref", "math", "gallery", "timeline", "score", "syntaxhighlight", "source",
              "chem", "ce", "graph", "mapframe", "imagemap", "references", "templatedata")
_RE_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.S)
_RE_DROP_TAG = re.compile(
    r"<(" + "|".join(_DROP_TAGS) + r")\b[^>]*?(?:/>|>.*?</\1\s*>)", re.S | re.I
)
_RE_NOWIKI = re.compile(r"<nowiki\s*>(.*?)</nowiki\s*>", re.S | re.I)
_RE_TEMPLATE_TOKEN = re.compile(r"\{\{|\}\}|^[ \t]*\{\||^[ \t]*\|\}", re.M)
_RE_LINK_TOKEN = re.compile(r"\[\[|\]\]")
# An innermost wikilink: no brackets inside.
_RE_LINK = re.compile(r"\[\[([^\[\]\|\n]*)(?:\|([^\[\]]*))?\]\]([a-z]*)")
_RE_EXTLINK = re.compile(r"\[(?:https?:|ftp:)?//[^\s\]]+(?:\s+([^\]]*))?\]")
_RE_BARE_URL = re.compile(r"https?://\S+")
_RE_TAG = re.compile(r"</?[a-zA-Z][^>]*?/?>")
_RE_BOLD_ITALIC = re.compile(r"'{2,5}")
_RE_HEADING = re.compile(r"^\s*(={1,6})[^=\n].*?\1\s*$", re.M)
_RE_MAGIC = re.compile(r"__[A-Z]+__")
_RE_LIST_PREFIX = re.compile(r"^[*#:;]+\s*", re.M)
_RE_SPACES = re.compile(r"[ \t\u00a0]+")
_RE_EMPTY_PARENS = re.compile(r"\(\s*[,;:]?\s*\)|\(\s*[,;:]\s*")
_RE_SENTENCE_END = re.compile(
    r"[.!?][\"'”’)\]]*\s+(?=[\"“'(\[]?[A-Z0-9\u00c0-\u024f\u0400-\u04ff])")
_RE_MARK = re.compile(r"\x01(\d+)\x02")
_NO_SPLIT_AFTER = frozenset(
    "mr mrs ms dr st jr sr vs etc e.g i.e c ca no nos vol pp p fig approx gen col lt sgt "
    "prof rev hon mt ft inc ltd co corp u.s u.k a.d b.c".split()
)
MAX_SENTENCE_CHARS = 600
LEAD_SENTENCES = 12


@dataclass(slots=True)
class Template:
    """A top-level template found in the page: its name and inner text."""

    name: str
    body: str


@dataclass(slots=True)
class Link:
    """A body link: the target as written (not yet resolved), its sentence, and its
    anchor: the text the link shows in that sentence (label or target, with the link
    trail: ``[[Daugava|the Daugava]]s`` shows "the Daugavas")."""

    target: str
    sentence: str
    anchor: str


@dataclass(slots=True)
class ParsedArticle:
    """What ingest keeps from one article's wikitext."""

    short_description: str | None = None
    first_sentence: str | None = None
    lead: list[str] = field(default_factory=list)
    """The first sentences (up to LEAD_SENTENCES), for the one that says what it is."""
    infobox: Template | None = None
    disambiguation: bool = False
    links: list[Link] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)


def normalize_title(raw: str) -> str:
    """Normalize a page title the way MediaWiki does for a first-letter-case wiki.

    >>> normalize_title("  abraham_lincoln#Early life ")
    'Abraham lincoln'
    """
    t = html.unescape(raw).replace("_", " ")
    hash_at = t.find("#")
    if hash_at >= 0:
        t = t[:hash_at]
    t = _RE_SPACES.sub(" ", t).strip()
    if t.startswith(":"):
        t = t[1:].lstrip()
    return t[:1].upper() + t[1:] if t else t


def infobox_name(name: str) -> str:
    """An infobox template's name as MediaWiki resolves it: spaces collapsed, first
    letter upper case (the rest is kept as written).

    >>> infobox_name("automatic  taxobox"), infobox_name("Infobox officeholder")
    ('Automatic taxobox', 'Infobox officeholder')
    """
    name = _RE_SPACES.sub(" ", name.replace("_", " ")).strip()
    return name[:1].upper() + name[1:]


def template_name(body: str) -> str:
    """The normalized name of a template from its inner text (``Infobox person|...``)."""
    end = len(body)
    for sep in ("|", "\n"):
        i = body.find(sep)
        if 0 <= i < end:
            end = i
    name = body[:end].strip().replace("_", " ")
    if name.lower().startswith("template:"):
        name = name[9:].strip()
    return _RE_SPACES.sub(" ", name)


def strip_templates(text: str) -> tuple[str, list[Template]]:
    """Remove every top-level template and table; return the rest and the templates.

    Nested templates and tables are removed with their parent. An unclosed template
    runs to the end of the text (as MediaWiki renders it, the rest is lost anyway).
    """
    out: list[str] = []
    templates: list[Template] = []
    stack: list[tuple[str, int]] = []  # (kind, start offset)
    pos = 0
    for m in _RE_TEMPLATE_TOKEN.finditer(text):
        tok = m.group().strip()
        if tok == "{{" or tok == "{|":
            if not stack:
                out.append(text[pos:m.start()])
            stack.append((tok, m.end()))
        elif stack:
            opener = "{{" if tok == "}}" else "{|"
            # Close the innermost matching opener; ignore strays.
            for i in range(len(stack) - 1, -1, -1):
                if stack[i][0] == opener:
                    kind, start = stack[i]
                    del stack[i:]
                    break
            else:
                continue
            if not stack:
                if kind == "{{":
                    body = text[start:m.start()]
                    templates.append(Template(template_name(body), body))
                pos = m.end()
    if not stack:
        out.append(text[pos:])
    return "".join(out), templates


def split_params(body: str) -> list[tuple[str | None, str]]:
    """Split a template's inner text into ``(key, value)`` pairs at top-level pipes.

    Positional parameters get the key ``None``. The template name is not included.
    """
    parts: list[str] = []
    depth_t = depth_l = 0
    last = 0
    for m in re.finditer(r"\{\{|\}\}|\[\[|\]\]|\|", body):
        tok = m.group()
        if tok == "{{":
            depth_t += 1
        elif tok == "}}":
            depth_t = max(0, depth_t - 1)
        elif tok == "[[":
            depth_l += 1
        elif tok == "]]":
            depth_l = max(0, depth_l - 1)
        elif depth_t == 0 and depth_l == 0:
            parts.append(body[last:m.start()])
            last = m.end()
    parts.append(body[last:])
    params: list[tuple[str | None, str]] = []
    for part in parts[1:]:
        eq = part.find("=")
        # '=' inside a nested template or link belongs to the value, not the key.
        if eq > 0 and "{{" not in part[:eq] and "[[" not in part[:eq]:
            params.append((part[:eq].strip(), part[eq + 1:].strip()))
        else:
            params.append((None, part.strip()))
    return params


class WikitextParser:
    """Extracts a :class:`ParsedArticle` from one article's wikitext.

    One parser serves one wiki: it knows that wiki's namespace names (a localized
    ``Category:`` prefix, say) and which template names mark infoboxes and
    disambiguation pages.
    """

    def __init__(
        self,
        namespaces: Namespaces,
        *,
        infobox_prefixes: tuple[str, ...] = ("infobox", "infoskreine", "taxobox", "speciesbox",
                                             "automatic taxobox", "geobox"),
        disambiguation_templates: frozenset[str] = frozenset(),
    ) -> None:
        self.ns = namespaces
        self.infobox_prefixes = tuple(p.lower() for p in infobox_prefixes)
        self.disambiguation_templates = frozenset(t.lower() for t in disambiguation_templates)

    # -- public ---------------------------------------------------------------------
    def parse(self, text: str) -> ParsedArticle:
        """Parse one article. Never raises on odd markup; returns what it could read."""
        art = ParsedArticle()
        text = _RE_COMMENT.sub("", text)
        text = _RE_DROP_TAG.sub("", text)
        text = _RE_NOWIKI.sub(lambda m: html.escape(m.group(1)), text)
        body, templates = strip_templates(text)
        self._read_templates(templates, art)
        body = self._strip_nested_links(body, art)
        targets: list[tuple[str, str]] = []
        body = _RE_LINK.sub(lambda m: self._replace_link(m, art, targets), body)
        self._sentences(body, targets, art)
        return art

    # -- steps ----------------------------------------------------------------------
    def _read_templates(self, templates: list[Template], art: ParsedArticle) -> None:
        for t in templates:
            low = t.name.lower()
            if art.infobox is None and low.startswith(self.infobox_prefixes):
                art.infobox = t
            elif low == "short description":
                params = split_params(t.body)
                if params and params[0][0] is None and params[0][1]:
                    desc = params[0][1].strip()
                    if desc.lower() != "none":
                        art.short_description = desc
            elif low in self.disambiguation_templates or (
                    low.startswith("disambig") and "needed" not in low):
                art.disambiguation = True

    def _strip_nested_links(self, body: str, art: ParsedArticle) -> str:
        """Remove file/image links whole: their captions nest other links."""
        if "[[" not in body:
            return body
        out: list[str] = []
        pos = 0
        depth = 0
        start = 0
        for m in _RE_LINK_TOKEN.finditer(body):
            if m.group() == "[[":
                if depth == 0:
                    start = m.start()
                depth += 1
            elif depth:
                depth -= 1
                if depth == 0:
                    inner = body[start + 2:m.start()]
                    prefix = inner.split(":", 1)[0] if ":" in inner[:40] else ""
                    if prefix and self.ns.is_file(prefix):
                        out.append(body[pos:start])
                        pos = m.end()
        if pos == 0:
            return body
        out.append(body[pos:])
        return "".join(out)

    def _replace_link(self, m: re.Match[str], art: ParsedArticle,
                      targets: list[tuple[str, str]]) -> str:
        raw_target = m.group(1)
        label = m.group(2)
        trail = m.group(3)
        target = raw_target.strip()
        colon = target.find(":")
        if colon > 0:
            prefix = target[:colon].strip()
            kind = self.ns.classify(prefix)
            if kind == "category" and not target.startswith(":"):
                art.categories.append(normalize_title(target[colon + 1:]))
                return ""
            if kind == "interwiki":
                return ""
            if kind is not None and kind != "article":
                # A link into another namespace: keep its label as text, no entity.
                text = label if label is not None else target[colon + 1:]
                return text + trail
        if target.startswith(":") and ":" in target[1:]:
            return (label if label is not None else target[1:]) + trail
        title = normalize_title(target)
        if label is None:  # shown as written, underscores as spaces
            text = raw_target.strip().lstrip(":").replace("_", " ")
        elif label == "":  # the "pipe trick": [[Paris, Texas|]] shows "Paris"
            text = re.sub(r"\s*\(.*\)$|,.*$", "", title)
        else:
            text = label
        text += trail
        if not title:
            return text
        targets.append((title, anchor_text(text)))
        return f"\x01{len(targets) - 1}\x02{text}"

    def paragraphs(self, text: str) -> list[str]:
        """The article's plain text, a paragraph (or list item) a string: what a
        reader sees, without templates, tables, references or markup."""
        art = ParsedArticle()
        text = _RE_COMMENT.sub("", text)
        text = _RE_DROP_TAG.sub("", text)
        text = _RE_NOWIKI.sub(lambda m: html.escape(m.group(1)), text)
        body, _ = strip_templates(text)
        body = self._strip_nested_links(body, art)
        body = _RE_LINK.sub(lambda m: _RE_MARK.sub("", self._replace_link(m, art, [])), body)
        out = []
        for para in _plain(body).split("\n"):
            para = _RE_SPACES.sub(" ", para).strip()
            para = _RE_EMPTY_PARENS.sub(lambda m: "" if m.group().endswith(")") else "(", para)
            if para and not marks_only(para):
                out.append(para)
        return out

    def _sentences(self, body: str, targets: list[tuple[str, str]],
                   art: ParsedArticle) -> None:
        body = _plain(body)
        seen: set[tuple[str, str]] = set()
        for para in body.split("\n"):
            if not para.strip():
                continue
            para = _RE_SPACES.sub(" ", para).strip()
            para = _RE_EMPTY_PARENS.sub(lambda m: "" if m.group().endswith(")") else "(", para)
            for sent in split_sentences(para):
                marks = _RE_MARK.findall(sent)
                clean = _RE_MARK.sub("", sent).strip()
                if len(clean) > MAX_SENTENCE_CHARS:
                    clean = clean[: MAX_SENTENCE_CHARS - 1].rstrip() + "…"
                if len(clean) > 20 and not marks_only(clean):
                    if art.first_sentence is None:
                        art.first_sentence = clean
                    if len(art.lead) < LEAD_SENTENCES:
                        art.lead.append(clean)
                for idx in marks:
                    target, anchor = targets[int(idx)]
                    key = (target, clean)
                    if key in seen:
                        continue
                    seen.add(key)
                    art.links.append(Link(target, clean, anchor))


def _plain(body: str) -> str:
    """Markup left after templates and links are gone: external links, headings (as
    paragraph breaks), tags, bold/italic quotes, magic words, list bullets, entities."""
    body = _RE_EXTLINK.sub(lambda m: m.group(1) or "", body)
    body = _RE_BARE_URL.sub("", body)
    body = _RE_HEADING.sub("\n\n", body)
    body = _RE_TAG.sub("", body)
    body = _RE_BOLD_ITALIC.sub("", body)
    body = _RE_MAGIC.sub("", body)
    body = _RE_LIST_PREFIX.sub("", body)
    return html.unescape(body)


def anchor_text(text: str) -> str:
    """A link's shown text as plain text, the way it reads in its plain sentence.

    >>> anchor_text("''the  Daugava''s")
    'the Daugavas'
    """
    return _RE_SPACES.sub(" ", _plain(text).replace("\n", " ")).strip()


def marks_only(s: str) -> bool:
    """True for leftovers that are no sentence (a lone caption, a list of pipes)."""
    letters = sum(c.isalpha() for c in s)
    return letters < 10


def split_sentences(paragraph: str) -> list[str]:
    """Split a paragraph into sentences, not after common abbreviations or initials.

    >>> split_sentences("Born in 1809 in Kentucky. He was a lawyer, e.g. in Illinois. Mr. X left.")
    ['Born in 1809 in Kentucky.', 'He was a lawyer, e.g. in Illinois.', 'Mr. X left.']
    """
    out: list[str] = []
    start = 0
    for m in _RE_SENTENCE_END.finditer(paragraph):
        end = m.start() + 1
        word_start = max(start, paragraph.rfind(" ", start, end - 1) + 1)
        word = _RE_MARK.sub("", paragraph[word_start:end - 1]).lower().lstrip("(\"'")
        if word in _NO_SPLIT_AFTER or (len(word) == 1 and word.isalpha()):
            continue
        out.append(paragraph[start:m.end()].strip())
        start = m.end()
    tail = paragraph[start:].strip()
    if tail:
        out.append(tail)
    return out


# Text that stands before the lead in some dumps: image captions, notices, navigation.
_NOT_LEAD = re.compile(r"^(?:CAPTION:|Image:|File:|This is a (?:featured|good) article|"
                       r"SOS Children|Part of (?:the|a) |Fossil range:|For other uses|"
                       r"Main article:|See also:|\^|\d+\s*\^|Cover (?:page|art|of)\b|"
                       r"(?:Portrait|Photograph|Map|Statue|Bust|Painting) of )|\bEnlarge\b",
                       re.I)
_COPULA = re.compile(r"\b(?:is|was|are|were|refers to)\b")


def lead_definition(sentences: list[str], title: str) -> str | None:
    """The sentence of the lead that says what the subject is: the first with a copula
    in its first 40 words that names the subject (a word of its title, or starts with a
    pronoun), skipping captions and notices; None if there is none.

    >>> lead_definition(["CAPTION: Socrates", "Socrates (c. 470-399 BC) was an ancient "
    ...                  "Greek philosopher."], "Socrates")
    'Socrates (c. 470-399 BC) was an ancient Greek philosopher.'
    >>> lead_definition(["SOS Children works in India.", "India is a country."], "India")
    'India is a country.'
    >>> lead_definition(["An 1838 edition of Oliver Twist, in parts, was reprinted.",
    ...                  "Oliver Twist is the second novel by Dickens."], "Oliver Twist")
    'Oliver Twist is the second novel by Dickens.'
    >>> lead_definition(["The .eu domain is also shared with other states.",
    ...                  "England (IPA: /x/) is a nation in northwest Europe."], "England")
    'England (IPA: /x/) is a nation in northwest Europe.'
    """
    words = {w.lower() for w in re.findall(r"\w{3,}", title)} or {title.lower()}
    # First a sentence that starts by naming the subject ("Oliver Twist is ..."), then
    # any that names it before its verb ("The novel by Dickens, Oliver Twist, was ...").
    for opening in (3, 40):
        for sent in sentences:
            if _NOT_LEAD.search(sent):
                continue
            m = _COPULA.search(sent)
            if not m or len(sent[:m.start()].split()) > 40:
                continue
            before = sent[:m.start()]
            start = " ".join(re.sub(r"\([^)]*\)?", " ", before).split()[:opening])
            # "The <word>": not a footnote's "The .eu domain is also shared ...".
            if words & {w.lower() for w in re.findall(r"\w{3,}", start)} \
                    or re.match(r"^(?:(?:He|She|It|They)\b|The\s+[A-Za-z])", before):
                return sent
    return None
