"""Feed documents for the tests of the ``import`` command, as bytes. Not a test module.

The realistic ones are built from the organisation's own page (tests/data/seed-page.txt, a
verbatim copy of a sample of its site), shaped the way its WordPress writes RSS and Atom; the
hostile ones (entity expansion, deep nesting, a cut-off download, an HTML page) are what a feed
URL can answer with on a bad day. Standard library only, and nothing from ``bot``: the fixtures
must not agree with the code under test by sharing it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

SEED_PAGE = Path(__file__).resolve().parent / "data" / "seed-page.txt"

SITE = "https://iran-interlink.org"
AUTHOR = "Iran Interlink"
# The site's own words (the page's header), as a WordPress tagline would carry them.
TAGLINE = (
    "Aims of Iran-Interlink – to inform as widely as possible about the real nature of the "
    "Iranian Mojahedin Khalq cult"
)
# lastBuildDate and Atom's feed-level <updated> when no item has a date: fixed, so that the
# same call always builds the same bytes.
FALLBACK_BUILT = datetime(2019, 10, 20, 10, 0, tzinfo=UTC)

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

# What WordPress's wptexturize/ent2ncr leave in a feed's <title>: typographic characters as
# numeric character references, which are valid XML where named HTML entities are not.
_WORDPRESS_ENTITIES = {
    ord("–"): "&#8211;",
    ord("—"): "&#8212;",
    ord("’"): "&#8217;",
    ord("‘"): "&#8216;",
    ord("“"): "&#8220;",
    ord("”"): "&#8221;",
    ord("…"): "&#8230;",
}

# One entry on the page: its title line, the "Posted on:" line (a date, or nothing at all on
# some entries) and the one-line excerpt, each pair of lines separated by an empty one.
_ENTRY = re.compile(
    r"^(?P<title>[^\n]+)\n\nPosted on:(?P<posted>[^\n]*)\n\n(?P<excerpt>[^\n]*)", re.MULTILINE
)
_WRITTEN_DATE = re.compile(
    r"\b(?P<month>" + "|".join(_MONTHS) + r") (?P<day>\d{1,2}),? (?P<year>\d{4})\b"
)
_NBC_PHRASE = "People&#8217;s Holy Warriors of Iran"


@dataclass(frozen=True)
class Item:
    title_html: str
    link: str
    guid: str | None
    published: datetime | None
    description_html: str


@dataclass(frozen=True)
class SeedEntry:
    title: str
    posted: date | None
    excerpt: str


def seed_entries() -> list[SeedEntry]:
    """The page's entries in page order (newest first). Titles lose the page's stray
    no-break spaces at either end; excerpts keep everything up to their trailing whitespace,
    the title repeated at their end included."""
    text = SEED_PAGE.read_text(encoding="utf-8")
    entries = []
    for match in _ENTRY.finditer(text):
        posted = match["posted"].strip()
        entries.append(
            SeedEntry(
                title=match["title"].strip(),
                posted=datetime.strptime(posted, "%Y/%m/%d").date() if posted else None,
                excerpt=match["excerpt"].rstrip(),
            )
        )
    return entries


def wordpress_title(text: str) -> str:
    return escape(text).translate(_WORDPRESS_ENTITIES)


def seed_items(base: str = SITE) -> list[Item]:
    items = []
    for index, entry in enumerate(seed_entries()):
        if not entry.excerpt.endswith(entry.title):
            raise ValueError(f"the page's excerpt does not end with its title: {entry.title!r}")
        body = wordpress_title(entry.excerpt.removesuffix(entry.title).rstrip())
        if _NBC_PHRASE in body:
            # The only markup in the seed feed, so that a test sees tags stripped, not kept.
            body = body.replace(_NBC_PHRASE, "People&#8217;s <em>Holy Warriors of Iran</em>")
        day = entry.posted or _written_date(entry.excerpt)
        items.append(
            Item(
                title_html=wordpress_title(entry.title),
                link=f"{base}/{day:%Y/%m/%d}/{_slug(entry.title)}/",
                guid=f"{base}/?p={1000 + index}",
                published=(
                    datetime(
                        entry.posted.year, entry.posted.month, entry.posted.day, 10, tzinfo=UTC
                    )
                    if entry.posted
                    else None
                ),
                description_html=f"<p>{body}</p>",
            )
        )
    return items


def rss(items: Sequence[Item], *, title: str = "Iran Interlink", link: str = SITE) -> bytes:
    """RSS 2.0 laid out as WordPress 6 writes it. Each item's ``title_html`` goes in verbatim
    (it must be XML text already, as wordpress_title makes it); descriptions go in CDATA."""
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"\n'
        '\txmlns:content="http://purl.org/rss/1.0/modules/content/"\n'
        '\txmlns:wfw="http://wellformedweb.org/CommentAPI/"\n'
        '\txmlns:dc="http://purl.org/dc/elements/1.1/"\n'
        '\txmlns:atom="http://www.w3.org/2005/Atom"\n'
        '\txmlns:sy="http://purl.org/rss/1.0/modules/syndication/"\n'
        '\txmlns:slash="http://purl.org/rss/1.0/modules/slash/"\n'
        "\t>\n\n"
        "<channel>\n"
        f"\t<title>{wordpress_title(title)}</title>\n"
        f'\t<atom:link href={quoteattr(link + "/feed/")} rel="self" '
        'type="application/rss+xml" />\n'
        f"\t<link>{escape(link)}</link>\n"
        f"\t<description>{wordpress_title(TAGLINE)}</description>\n"
        f"\t<lastBuildDate>{format_datetime(_built(items))}</lastBuildDate>\n"
        "\t<language>en-US</language>\n"
        "\t<sy:updatePeriod>\n\thourly\t</sy:updatePeriod>\n"
        "\t<sy:updateFrequency>\n\t1\t</sy:updateFrequency>\n"
        "\t<generator>https://wordpress.org/?v=6.4.3</generator>\n"
    ]
    for item in items:
        published = format_datetime(item.published) if item.published else ""
        guid = f'\t\t<guid isPermaLink="false">{escape(item.guid)}</guid>\n' if item.guid else ""
        parts.append(
            "\t<item>\n"
            f"\t\t<title>{item.title_html}</title>\n"
            f"\t\t<link>{escape(item.link)}</link>\n"
            f"\t\t<dc:creator>{_cdata(AUTHOR)}</dc:creator>\n"
            f"\t\t<pubDate>{published}</pubDate>\n"
            f"\t\t<category>{_cdata('News')}</category>\n"
            f"{guid}"
            f"\t\t<description>{_cdata(item.description_html)}</description>\n"
            "\t</item>\n"
        )
    parts.append("\t</channel>\n</rss>\n")
    return "".join(parts).encode()


def atom(items: Sequence[Item], *, title: str = "Iran Interlink") -> bytes:
    """Atom 1.0. Titles and summaries are ``type="html"``: the HTML escaped once more, so that
    an Atom reader gets back exactly ``title_html`` and ``description_html``."""
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en-US">\n'
        f'\t<title type="text">{escape(title)}</title>\n'
        f'\t<subtitle type="text">{escape(TAGLINE)}</subtitle>\n'
        f"\t<updated>{_built(items).isoformat()}</updated>\n"
        f'\t<link rel="alternate" type="text/html" href="{SITE}" />\n'
        f"\t<id>{SITE}/feed/atom/</id>\n"
        f'\t<link rel="self" type="application/atom+xml" href="{SITE}/feed/atom/" />\n'
    ]
    for item in items:
        dates = (
            f"\t\t<published>{item.published.isoformat()}</published>\n"
            f"\t\t<updated>{item.published.isoformat()}</updated>\n"
            if item.published
            else ""
        )
        parts.append(
            "\t<entry>\n"
            f"\t\t<author><name>{escape(AUTHOR)}</name></author>\n"
            f'\t\t<title type="html">{escape(item.title_html)}</title>\n'
            f'\t\t<link rel="alternate" type="text/html" href={quoteattr(item.link)} />\n'
            f"\t\t<id>{escape(item.guid or item.link)}</id>\n"
            f"{dates}"
            f'\t\t<summary type="html">{escape(item.description_html)}</summary>\n'
            "\t</entry>\n"
        )
    parts.append("</feed>\n")
    return "".join(parts).encode()


def many_items(count: int, newest: datetime, step: timedelta = timedelta(hours=6)) -> list[Item]:
    """An archive, newest first: item ``i`` (from 0) is ``i`` steps older than ``newest``."""
    return [
        Item(
            title_html=f"Archive story {i}",
            link=f"{SITE}/archive/{i}/",
            # Far above seed_items' guids, so an archive and the seed can share a feed.
            guid=f"{SITE}/?p={100_000 + i}",
            published=newest - i * step,
            description_html=f"<p>Archive story {i}, from the site&#8217;s older posts.</p>",
        )
        for i in range(count)
    ]


def truncated(document: bytes) -> bytes:
    """``document`` (RSS or Atom) cut off halfway through its last item, as a dropped
    connection leaves it: every item before that one is complete."""
    item, entry = document.rfind(b"<item>"), document.rfind(b"<entry>")
    start, closing = (item, b"</item>") if item > entry else (entry, b"</entry>")
    if start < 0:
        raise ValueError("the document has no <item> or <entry> to cut")
    inside = document.index(b">", start) + 1
    end = document.find(closing, inside)
    cut = (inside + (len(document) if end < 0 else end)) // 2
    # Back to a character boundary: a cut inside a UTF-8 sequence would test the decoder,
    # not the salvaging.
    while cut > start and document[cut] & 0xC0 == 0x80:
        cut -= 1
    return document[:cut]


def billion_laughs() -> bytes:
    """The classic: ten levels of ten, about 3 GB of "lol" if a parser expands &lol9;."""
    return _with_entities(9, "&lol9;")


def entity_expansion_small() -> bytes:
    """Three levels of ten: &lol3; is 1000 × "lol" (3000 characters), harmless enough for a
    parser to expand without complaint."""
    return _with_entities(3, "&lol3;")


def deeply_nested(depth: int = 50_000) -> bytes:
    """Well-formed, with ``depth`` nested elements in the channel before one real item: a
    recursive parser or tree walk runs out of stack here."""
    item = seed_items()[0]
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
        "<title>Iran Interlink</title>"
        f"<link>{SITE}</link><description>nested</description>"
        + "<x>" * depth
        + "</x>" * depth
        + _plain_item(item)
        + "</channel></rss>\n"
    ).encode()


def html_page() -> bytes:
    """The site's home page: HTML5, not a feed (what a mistyped feed URL answers with). It
    carries WordPress's feed autodiscovery <link>, as the real home page would."""
    articles = "".join(
        f'<article class="post"><h2 class="entry-title"><a href="{escape(item.link)}">'
        f"{item.title_html}</a></h2>{item.description_html}</article>\n"
        for item in seed_items()[:3]
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en-US">\n<head>\n<meta charset="UTF-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        "<title>Iran Interlink</title>\n"
        '<meta property="og:title" content="Iran Interlink">\n'
        '<meta property="og:type" content="website">\n'
        f'<meta property="og:url" content="{SITE}/">\n'
        f'<meta property="og:description" content={quoteattr(TAGLINE)}>\n'
        '<link rel="alternate" type="application/rss+xml" title="Iran Interlink &raquo; Feed"'
        f' href="{SITE}/feed/">\n'
        "</head>\n<body>\n<main>\n"
        f"{articles}"
        "</main>\n</body>\n</html>\n"
    ).encode()


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def _written_date(excerpt: str) -> date:
    match = _WRITTEN_DATE.search(excerpt)
    if match is None:
        raise ValueError(f"no date written in the excerpt: {excerpt[:60]!r}")
    return date(int(match["year"]), _MONTHS.index(match["month"]) + 1, int(match["day"]))


def _built(items: Sequence[Item]) -> datetime:
    return max((item.published for item in items if item.published), default=FALLBACK_BUILT)


def _cdata(text: str) -> str:
    # "]]>" would end the section early: split it across two sections.
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _plain_item(item: Item) -> str:
    published = format_datetime(item.published) if item.published else ""
    return (
        f"<item><title>{item.title_html}</title><link>{escape(item.link)}</link>"
        f"<pubDate>{published}</pubDate>"
        f'<guid isPermaLink="false">{escape(item.guid or item.link)}</guid>'
        f"<description>{_cdata(item.description_html)}</description></item>"
    )


def _with_entities(levels: int, reference: str) -> bytes:
    declarations = ['<!ENTITY lol "lol">']
    for level in range(1, levels + 1):
        inner = "&lol;" if level == 1 else f"&lol{level - 1};"
        declarations.append(f'<!ENTITY lol{level} "{inner * 10}">')
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        "<!DOCTYPE rss [\n " + "\n ".join(declarations) + "\n]>\n"
        '<rss version="2.0"><channel>'
        f"<title>{reference}</title><link>{SITE}</link><description>laughs</description>"
        + _plain_item(seed_items()[0])
        + "</channel></rss>\n"
    ).encode()
