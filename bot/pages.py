"""One web page's Open Graph card: its title, description and image, for a Bluesky link card
and the drafts of `new`; and the fetching with limits that feeds share (issue 13).

Fetched with limits, since the page is anyone's: http(s) only, a timeout, at most 5 MB, at
most three redirects (each to http(s) again). Read with the standard library's HTML parser,
never with regular expressions. A page that cannot be fetched or read gives no card: the post
then goes out with its plain link, never fails for it.
"""

from __future__ import annotations

import http.client
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from bot.networks import LinkCard

if TYPE_CHECKING:
    from bot.drafts import Draft

log = logging.getLogger(__name__)

TIMEOUT = 10.0  # seconds, for each request
MAX_PAGE_BYTES = 5 * 1024 * 1024
MAX_IMAGE_BYTES = 1_000_000  # app.bsky.embed.external#external: thumb maxSize
MAX_REDIRECTS = 3
_USER_AGENT = "interlink-bot (link card)"


class PageError(Exception):
    """The page could not be fetched or used; the message says why, for the log."""


class _Redirects(urllib.request.HTTPRedirectHandler):
    max_redirections = MAX_REDIRECTS

    def redirect_request(  # noqa: PLR0917 - urllib's own signature
        self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> urllib.request.Request | None:
        if urlsplit(newurl).scheme not in ("http", "https"):
            raise PageError(f"redirected to {urlsplit(newurl).scheme}:, not a web page")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_Redirects)


@dataclass(frozen=True)
class Fetched:
    """What a GET brought back: the body (empty for 304 Not Modified) and its headers."""

    status: int  # 200, or 304 to a conditional request
    body: bytes
    kind: str  # the content type, e.g. text/html
    url: str  # after redirects
    headers: Message


def get(
    url: str,
    limit: int,
    *,
    headers: dict[str, str] | None = None,
    user_agent: str = _USER_AGENT,
    clock: Callable[[], float] = time.monotonic,
) -> Fetched:
    """GET ``url`` (``headers`` added, e.g. If-None-Match), reading at most ``limit`` bytes
    within TIMEOUT seconds in all: a server that trickles its answer cannot hold a run, since
    a socket timeout alone only bounds each read. PageError if it cannot be had."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise PageError("not an http(s) address")
    deadline = clock() + TIMEOUT
    request = urllib.request.Request(  # noqa: S310 - http(s), checked above
        url, headers={"User-Agent": user_agent, **(headers or {})}
    )
    try:
        with _OPENER.open(request, timeout=TIMEOUT) as response:
            chunks, size = [], 0
            while chunk := response.read1(65_536):
                size += len(chunk)
                if size > limit:
                    raise PageError(f"larger than {limit:,} bytes")
                if clock() > deadline:
                    raise PageError(f"took longer than {TIMEOUT:g} seconds to arrive")
                chunks.append(chunk)
            return Fetched(
                response.status,
                b"".join(chunks),
                response.headers.get_content_type(),
                response.url,
                response.headers,
            )
    except urllib.error.HTTPError as error:
        if error.code == 304:  # urllib counts it an error; for a conditional GET it is news
            return Fetched(304, b"", "", error.url or url, error.headers)
        raise PageError(f"{error.code} {error.reason}") from None
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as error:
        reason = getattr(error, "reason", None)
        detail = f": {reason}" if isinstance(reason, str | OSError) else ""
        raise PageError(f"cannot be fetched ({type(error).__name__}{detail})") from None


def fetch(url: str, limit: int) -> tuple[bytes, str]:
    """The body (at most ``limit`` bytes) and content type of ``url``; PageError if not."""
    found = get(url, limit)
    return found.body, found.kind


class _OpenGraph(HTMLParser):
    """The page's <meta property="og:…"> (and name="twitter:…", "description") and <title>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {key: value or "" for key, value in attrs}
        if tag == "meta":
            key = (values.get("property") or values.get("name") or "").strip().lower()
            if key and "content" in values:
                self.meta.setdefault(key, " ".join(values["content"].split()))
        elif tag == "title":
            self._in_title = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data


def open_graph(html: str) -> dict[str, str]:
    """The page's card fields: ``title``, ``description``, ``image``, ``site_name``, ``url``
    (Open Graph first, then the Twitter card, then <title> and the description meta)."""
    parser = _OpenGraph()
    parser.feed(html)
    parser.close()
    meta = parser.meta
    found = {}
    for name in ("title", "description", "image", "site_name", "url"):
        value = meta.get(f"og:{name}") or meta.get(f"twitter:{name}")
        if value:
            found[name] = value
    found.setdefault("title", " ".join(parser.title.split()))
    if meta.get("description"):
        found.setdefault("description", meta["description"])
    return {key: value for key, value in found.items() if value}


def link_card(url: str) -> LinkCard | None:
    """The card of the page at ``url``, or None (logged) when there is none to be had."""
    from bot.posts import image_type  # noqa: PLC0415 - the queue's own image rule

    try:
        body, kind = fetch(url, MAX_PAGE_BYTES)
        if kind not in ("text/html", "application/xhtml+xml"):
            raise PageError(f"not a web page ({kind})")
        fields = open_graph(body.decode("utf-8", errors="replace"))
    except PageError as error:
        log.info("no link card for %s: %s", url, error)
        return None
    if not fields.get("title"):
        log.info("no link card for %s: the page has no title", url)
        return None
    thumb, thumb_type = None, None
    if fields.get("image"):
        image_url = urljoin(url, fields["image"])
        try:
            data, _ = fetch(image_url, MAX_IMAGE_BYTES)
            thumb_type = image_type(data[:16])
            thumb = data if thumb_type else None
        except PageError as error:
            log.info("the card of %s goes without its image %s: %s", url, image_url, error)
    return LinkCard(url, fields["title"], fields.get("description", ""), thumb, thumb_type)


@dataclass(frozen=True)
class PageDraft:
    """A draft made from one article's page (`new`), and what the page did not say."""

    draft: Draft
    missing: list[str]  # e.g. "no site name (og:site_name): source left out"


def page_draft(url: str, *, approved: bool = False) -> PageDraft:
    """The draft of the article at ``url``: ``og:title`` (else the Twitter card's, else
    <title>), ``og:site_name`` as its source, ``og:description`` as its summary, ``og:url``
    as its link (tracking parameters removed). PageError if the page cannot be had or has
    no title."""
    from bot.drafts import Draft, plain_text, without_tracking  # noqa: PLC0415

    found = get(url, MAX_PAGE_BYTES, user_agent="interlink-bot (new draft)")
    if found.kind not in ("text/html", "application/xhtml+xml"):
        raise PageError(f"is not a web page ({found.kind})")
    fields = open_graph(found.body.decode(_charset(found), errors="replace"))
    title = plain_text(fields.get("title", ""))
    if not title:
        raise PageError("has no title (no og:title, twitter:title or <title>)")
    missing = []
    canonical = urljoin(found.url, fields.get("url", ""))
    if not fields.get("url") or urlsplit(canonical).scheme not in ("http", "https"):
        canonical = found.url
        missing.append("no canonical link (og:url): the address fetched is used")
    source = plain_text(fields.get("site_name", "")) or None
    if source is None:
        missing.append("no site name (og:site_name): source left out; add the outlet by hand")
    summary = plain_text(fields.get("description", "")) or None
    if summary is None:
        missing.append("no description (og:description): summary left out; write one")
    return PageDraft(Draft(title, without_tracking(canonical), source, summary, approved), missing)


def _charset(found: Fetched) -> str:
    import codecs  # noqa: PLC0415

    charset = found.headers.get_content_charset() or "utf-8"
    try:
        return codecs.lookup(charset).name
    except LookupError:
        return "utf-8"
