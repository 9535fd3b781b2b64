"""Drafts from the organisation's own feeds: what `interlink-bot import` does (SPEC "Feeds").

Each feed is fetched by us (bot.pages: 10 s in all, 5 MB, conditionally with the ETag and
Last-Modified the ledger kept) and checked to be well-formed XML before feedparser reads it:
feedparser salvages entries from truncated XML and expands internal entities, and a feed
half-read would lose entries or flood the queue. Each entry that is new — neither its id nor
its canonical link taken before, its link in no queue file — and published on or after the
feed's cut-off becomes one draft file (bot.drafts).

The cut-off is fixed by a feed's first import, 7 days before it (or ``--since``), and kept:
no import ever takes the archive the first one left (NETWORKS-NOTES: "the first run posting the
whole archive" is what other tools' users most often report).
"""

from __future__ import annotations

import io
import re
import time
import xml.parsers.expat
import xml.sax
from calendar import timegm
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.config import Config, FeedSource
from bot.drafts import (
    Draft,
    NotDrafted,
    canonical_link,
    plain_text,
    queue_links,
    render,
    slug,
    tidy,
    web_address,
    without_tracking,
    write_draft,
)
from bot.ledger import FeedState, Ledger
from bot.pages import PageError, get
from bot.times import local

ARCHIVE = timedelta(days=7)  # a first import takes the last week, not the archive
MAX_FEED_BYTES = 5 * 1024 * 1024
MAX_DEPTH = 64  # RSS and Atom nest five or six levels; hostile documents nest thousands
_USER_AGENT = "interlink-bot (feed import)"

_MONTHS = (
    "January|February|March|April|May|June|July|August|September|October|November|December"
    "|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec"
)
# The organisation's excerpts: "Author, Outlet, Month D YYYY:… text" (the author may be left
# out: "NBC News, October 18 2019:… The group…").
_EXCERPT = re.compile(
    rf"(?P<byline>[^:]{{1,300}}?),\s*(?P<month>{_MONTHS})\.?\s+(?P<day>\d{{1,2}}),?\s+"
    r"(?P<year>\d{4})\s*:\s*(?:…|\.\.\.)?\s*(?P<text>.*)",
    re.S,
)
_WEB = re.compile(r"https?://\S+", re.IGNORECASE)
_MONTH_NUMBERS = {name[:3]: number for number, name in enumerate(_MONTHS.split("|")[:12], 1)}


class FeedRefused(Exception):
    """The feed as a whole cannot be used; the message says why, for the person reading."""


@dataclass(frozen=True)
class FeedEntry:
    """One entry of a feed, as a draft would take it."""

    id: str | None
    link: str  # as the feed gives it, tracking parameters removed
    title: str
    source: str | None
    summary: str
    published: datetime | None


@dataclass(frozen=True)
class Written:
    """A draft written (or, in a dry run, that would be)."""

    file: str  # as people read it: queue/imported/2019/10/mek-and-fake-news.yaml
    entry: FeedEntry


@dataclass
class FeedImport:
    """What one import did with one feed: the read model `import` prints."""

    feed: str  # the URL or file, as configured or given
    approve: bool = False  # its drafts are written approved (the feed's approve: true)
    refused: str | None = None  # why the feed was refused whole; nothing was imported from it
    refused_since: datetime | None = None  # refused by earlier imports too, since then: told
    cleared: bool = False  # refused by the last import, readable again now
    not_modified: bool = False  # a 304: nothing new since the last import
    first: bool = False  # this import fixed the feed's cut-off
    cut_off: datetime | None = None
    written: list[Written] = field(default_factory=list)
    already: int = 0  # entries imported before, or whose link a queue file has
    older: int = 0  # entries published before the cut-off (or --since)
    undated: int = 0  # entries without a date at the first import: taken as archive
    skipped: list[str] = field(default_factory=list)  # entries that cannot be drafts, and why


def import_feeds(
    config: Config,
    ledger: Ledger,
    feeds: list[FeedSource],
    now: datetime,
    *,
    since: datetime | None = None,
    dry_run: bool = False,
    clock: Callable[[], float] = time.monotonic,
) -> list[FeedImport]:
    """Import each feed in turn; one refused never stops the others. ``dry_run``: fetch and
    decide, but write neither drafts nor the ledger."""
    importer = _Importer(config, ledger, now, since, dry_run=dry_run, clock=clock)
    results = [importer.feed(feed) for feed in feeds]
    if not dry_run:
        ledger.forget_refusals({feed.url for feed in config.feeds})
    return results


class _Importer:
    """One `import`: what every feed of it shares (the queue's links, the names taken)."""

    def __init__(
        self,
        config: Config,
        ledger: Ledger,
        now: datetime,
        since: datetime | None,
        *,
        dry_run: bool,
        clock: Callable[[], float],
    ) -> None:
        self.config, self.ledger, self.now, self.since = config, ledger, now, since
        self.dry_run, self.clock = dry_run, clock
        self.known = queue_links(config.paths.queue)  # canonical link -> queue file
        self.taken: set[Path] = set()

    def feed(self, feed: FeedSource) -> FeedImport:
        """Import one feed, and keep whether it was refused: a person is told once (SPEC: one
        cron mail per problem), and once more when it mends."""
        result = self.entries_of(feed)
        if feed not in self.config.feeds:  # a feed named by hand: told each time it is given
            return result
        since = self.ledger.feed_refusal(feed.url)
        if result.refused:
            result.refused_since = since
            if not self.dry_run:
                self.ledger.feed_refused(feed.url, result.refused, self.now)
        elif since is not None:
            result.cleared = True
            if not self.dry_run:
                self.ledger.feed_readable(feed.url)
        return result

    def entries_of(self, feed: FeedSource) -> FeedImport:
        result = FeedImport(feed.url, feed.approve)
        state = self.ledger.feed_state(feed.url)
        try:
            body, etag, modified = _fetch(feed.url, state, self.clock)
            if body is None:
                result.not_modified = True
                return result
            entries, result.skipped = read_feed(body)
        except FeedRefused as error:
            result.refused = str(error)
            return result
        result.first = state is None
        cut_off = state.cut_off if state else (self.since or self.now - ARCHIVE)
        result.cut_off = cut_off
        earliest = max(cut_off, self.since) if self.since else cut_off
        remembered: list[tuple[str | None, str, str | None]] = []
        # Oldest first: of two entries with one slug, the earlier keeps the plain name.
        for entry in sorted(entries, key=lambda e: e.published or self.now):
            link = canonical_link(entry.link)
            id_known, link_known = self.ledger.imported_before(feed.url, entry.id, link)
            if id_known or link_known or link in self.known:
                result.already += 1
                if not link_known or (entry.id is not None and not id_known):
                    # Queued by hand, re-published under a new id or a new link: what is new
                    # of it is remembered once, so that it stays known when the file goes
                    # (an editor rejecting the story), and the ledger does not grow hourly.
                    remembered.append((entry.id, link, None))
                continue
            if entry.published is None and result.first:
                result.undated += 1
                remembered.append((entry.id, link, None))  # judged once, as the archive
                continue
            if entry.published is not None and entry.published < earliest:
                result.older += 1
                continue
            try:
                written = self.draft(feed, entry)
            except NotDrafted as error:  # the folder is a link out of the queue
                result.refused = str(error)
                # Not the validators: the next import must see the entries left, not a 304.
                etag = modified = None
                break
            self.known[link] = written.file
            remembered.append((entry.id, link, written.file))
            result.written.append(written)
        if not self.dry_run:
            state = FeedState(cut_off, etag, modified)
            self.ledger.feed_imported(feed.url, state, self.now, remembered)
        return result

    def draft(self, feed: FeedSource, entry: FeedEntry) -> Written:
        config = self.config
        moment = (entry.published or self.now).astimezone(config.timezone)
        folder = config.paths.queue / feed.folder / f"{moment:%Y}" / f"{moment:%m}"
        draft = Draft(entry.title, entry.link, entry.source, entry.summary or None, feed.approve)
        comment = [
            f"Drafted by `interlink-bot import` from {feed.url}",
            # tidy: a feed's id is anyone's text; a line break in it would end the comment
            # and write fields of its own into the draft.
            f"(entry {tidy(entry.id or entry.link)}) on {local(self.now, config.timezone)}.",
            "Check it, then set approved: true to publish it."
            if not feed.approve
            else "Approved by the feed's approve: true; set approved: false to hold it.",
        ]
        name, text = slug(entry.link, entry.title), render(draft, comment)
        path = write_draft(config.paths.queue, folder, name, text, self.taken, dry_run=self.dry_run)
        return Written(config.shown(path), entry)


def _fetch(
    feed: str, state: FeedState | None, clock: Callable[[], float]
) -> tuple[bytes | None, str | None, str | None]:
    """The feed's bytes (None: not modified since the last import) and its validators."""
    if not _WEB.match(feed):
        if "://" in feed:
            raise FeedRefused("is neither a web address (http:// or https://) nor a file")
        try:
            with Path(feed).open("rb") as file:  # read(): a device or a pipe has no size
                body = file.read(MAX_FEED_BYTES + 1)
        except OSError as error:
            raise FeedRefused(f"cannot be read ({error.strerror or error})") from None
        if len(body) > MAX_FEED_BYTES:
            raise FeedRefused("is larger than 5 MB")
        return body, None, None
    headers = {}
    if state and state.etag:
        headers["If-None-Match"] = state.etag
    if state and state.last_modified:
        headers["If-Modified-Since"] = state.last_modified
    try:
        found = get(feed, MAX_FEED_BYTES, headers=headers, user_agent=_USER_AGENT, clock=clock)
    except PageError as error:
        raise FeedRefused(str(error)) from None
    if found.status == 304:
        return None, None, None
    if found.kind in ("text/html", "application/xhtml+xml") and _looks_like_html(found.body):
        raise FeedRefused(_A_PAGE)
    return found.body, found.headers.get("ETag"), found.headers.get("Last-Modified")


_A_PAGE = (
    "is a web page, not a feed; give the feed's own address (on WordPress, the site's address "
    "followed by /feed/)"
)


def _looks_like_html(body: bytes) -> bool:
    start = body.lstrip()[:512].lower()
    return start.startswith((b"<!doctype html", b"<html")) or b"<html" in start


def read_feed(body: bytes) -> tuple[list[FeedEntry], list[str]]:
    """The entries of an RSS or Atom document, and why each other one cannot be a draft; or
    FeedRefused: a document that is not well-formed, declares entities, nests absurdly deep or
    is not a feed is refused whole."""
    import feedparser  # noqa: PLC0415 - only `import` needs it

    if not body.strip():
        raise FeedRefused("is empty: the server sent no feed")
    if _looks_like_html(body):
        raise FeedRefused(_A_PAGE)
    _check_well_formed(body)
    parsed = feedparser.parse(
        io.BytesIO(body)
    )  # bytes as such: parse() may take a str for a file name
    error = parsed.get("bozo_exception")
    if parsed.get("bozo") and isinstance(error, xml.sax.SAXException):
        raise FeedRefused(f"is not well-formed XML ({error}); nothing was imported from it")
    if not parsed.get("version"):
        raise FeedRefused("is well-formed XML but not an RSS or Atom feed")
    entries, skipped = [], []
    for number, item in enumerate(parsed.entries, start=1):
        entry = _entry(item)
        if isinstance(entry, str):
            named = tidy(item.get("id") or item.get("title") or "") or "no id"
            skipped.append(f"entry {number} ({named}): {entry}")
        else:
            entries.append(entry)
    return _without_reused_ids(entries), skipped


def _without_reused_ids(entries: list[FeedEntry]) -> list[FeedEntry]:
    """An id the feed gives to two different links (a site that puts its home page in every
    <guid>) identifies nothing: those entries are known by their links alone, or the second
    story would pass for the first."""
    links: dict[str, set[str]] = {}
    for entry in entries:
        if entry.id is not None:
            links.setdefault(entry.id, set()).add(canonical_link(entry.link))
    return [
        replace(entry, id=None) if entry.id is not None and len(links[entry.id]) > 1 else entry
        for entry in entries
    ]


class _Hostile(Exception):
    pass


def _check_well_formed(body: bytes) -> None:
    """Refuse what a salvaging parser would half-read: XML that is not well-formed (a
    truncated download), entity declarations (the "billion laughs" expansion needs them, and no
    feed does) and nesting past MAX_DEPTH."""
    parser = xml.parsers.expat.ParserCreate()
    depth = 0

    def opened(_name: str, _attributes: dict[str, str]) -> None:
        nonlocal depth
        depth += 1
        if depth > MAX_DEPTH:
            raise _Hostile(f"it nests elements more than {MAX_DEPTH} deep, as no feed does")

    def closed(_name: str) -> None:
        nonlocal depth
        depth -= 1

    def entity(*_: object) -> None:
        raise _Hostile(
            "it declares XML entities (<!ENTITY>), which no feed needs (entity-expansion "
            "attacks are made of them)"
        )

    parser.StartElementHandler = opened
    parser.EndElementHandler = closed
    parser.EntityDeclHandler = entity
    parser.UnparsedEntityDeclHandler = entity
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    try:
        parser.Parse(body, True)
    except _Hostile as error:
        raise FeedRefused(f"refused: {error}; nothing was imported from it") from None
    except ValueError as error:  # expat reads no multi-byte encoding but UTF-8 and UTF-16
        raise FeedRefused(
            f"is in an encoding that cannot be read ({error}); a feed in UTF-8 can be"
        ) from None
    except xml.parsers.expat.ExpatError as error:
        where = f"line {error.lineno}, column {error.offset + 1}"
        message = xml.parsers.expat.errors.messages.get(error.code, str(error))
        cut_short = message in _CUT_SHORT
        raise FeedRefused(
            f"is not well-formed XML ({message} at {where}"
            + ("; a download cut short looks like this" if cut_short else "")
            + "); nothing was imported from it"
        ) from None


# What expat says of a document that ends too soon (a truncated download, a dropped connection).
_CUT_SHORT = frozenset(
    getattr(xml.parsers.expat.errors, name)
    for name in (
        "XML_ERROR_NO_ELEMENTS",
        "XML_ERROR_UNCLOSED_TOKEN",
        "XML_ERROR_UNCLOSED_CDATA_SECTION",
    )
)


def _entry(item: Any) -> FeedEntry | str:
    """The entry as a draft takes it, or why it cannot be one."""
    link = item.get("link") or ""
    if not web_address(link) and web_address(item.get("id") or ""):
        link = item["id"]
    title = _text(item, "title")
    if not web_address(link):
        return "has no valid web link, so it cannot be a post; left out"
    if not title:
        return "has no title; left out (write the post by hand if it should go out)"
    summary = _text(item, "summary")
    if not summary and item.get("content"):
        summary = _plain(item["content"][0].get("value", ""), html=True)
    source, summary, written = split_excerpt(summary)
    if summary.endswith(title) and summary != title:  # the site's page repeats the title
        summary = summary[: -len(title)].rstrip()
    # dict.get: feedparser's own get maps a missing "updated" to "published", with a warning.
    moment = dict.get(item, "published_parsed") or dict.get(item, "updated_parsed")
    published = datetime.fromtimestamp(timegm(moment), UTC) if moment else written
    return FeedEntry(
        item.get("id") or None, without_tracking(link), title, source, summary, published
    )


def _text(item: Any, name: str) -> str:
    detail = item.get(f"{name}_detail") or {}
    return _plain(item.get(name) or "", html="html" in (detail.get("type") or "html"))


def _plain(text: str, *, html: bool) -> str:
    return plain_text(text) if html else tidy(text)


def split_excerpt(excerpt: str) -> tuple[str | None, str, datetime | None]:
    """The organisation's excerpt ``Author, Outlet, Month D YYYY:… text`` as its outlet (the
    field before the date), its text and its date; an excerpt of another form is the summary
    whole, with no source."""
    found = _EXCERPT.fullmatch(excerpt)
    if found is None:
        return None, excerpt, None
    written = None
    try:
        month = _MONTH_NUMBERS[found["month"][:3]]
        written = datetime(int(found["year"]), month, int(found["day"]), tzinfo=UTC)
    except ValueError:  # "February 30": the text is still the excerpt's
        pass
    source = found["byline"].rsplit(",", 1)[-1].strip() or None
    return source, found["text"].strip(), written
