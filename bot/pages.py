"""One web page's Open Graph card: its title, description and image, for a Bluesky link card
and the drafts of `new`; and the fetching with limits that feeds share (issue 13).

Fetched with limits, since the page is anyone's: http(s) only, a timeout, at most 5 MB, at
most three redirects (each to http(s) again). Read with the standard library's HTML parser,
never with regular expressions. A page that cannot be fetched or read gives no card: the post
then goes out with its plain link, never fails for it.
"""

from __future__ import annotations

import codecs
import http.client
import logging
import socket
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, urljoin, urlsplit

from bot.drafts import (
    Draft,
    NotDrafted,
    canonical_link,
    queue_links,
    render,
    slug,
    tidy,
    web_address,
    without_tracking,
    write_draft,
)
from bot.errors import printable
from bot.networks import LinkCard
from bot.times import local

if TYPE_CHECKING:
    from datetime import datetime

    from bot.config import Config

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
        if _parts(newurl) is None:
            raise PageError(f"was redirected to {newurl!r}, which is not a web address")
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
    within TIMEOUT seconds in all. A socket timeout only bounds each read, so a server that
    trickles its headers or body a byte at a time could hold a run for hours: the request runs
    on a thread of its own, and is given up (the thread left to die with the process) once
    ``clock`` passes the deadline. PageError if the page cannot be had; its message follows
    the address: "… cannot be fetched: connection refused"."""
    parts = _parts(url)
    if parts is None:
        raise PageError("is not a web address (http:// or https://)")
    deadline = clock() + TIMEOUT
    request = urllib.request.Request(  # noqa: S310 - http(s), checked above
        url, headers={"User-Agent": user_agent, **(headers or {})}
    )
    outcome: list[Fetched | PageError] = []
    worker = threading.Thread(target=_get, args=(request, limit, outcome), daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(_POLL_SECONDS)
        if worker.is_alive() and clock() > deadline:
            raise PageError(f"took longer than {TIMEOUT:g} seconds to arrive")
    found = outcome[0]
    if isinstance(found, PageError):
        raise found
    return found


_POLL_SECONDS = 0.02  # how often the deadline is looked at; a quick answer returns at once


def _parts(url: str) -> SplitResult | None:
    try:
        parts = urlsplit(url)
        _ = parts.port  # ValueError if out of range
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return parts


def _get(request: urllib.request.Request, limit: int, outcome: list[Fetched | PageError]) -> None:
    try:
        with _OPENER.open(request, timeout=TIMEOUT) as response:
            chunks, size = [], 0
            while chunk := response.read1(65_536):
                size += len(chunk)
                if size > limit:
                    raise PageError(f"is larger than {_size(limit)}")
                chunks.append(chunk)
            kind = response.headers.get_content_type()
            found = Fetched(response.status, b"".join(chunks), kind, response.url, response.headers)
    except PageError as error:
        outcome.append(error)
    except urllib.error.HTTPError as error:
        error.close()
        if error.code == 304:  # urllib counts it an error; for a conditional GET it is news
            outcome.append(Fetched(304, b"", "", error.url or request.full_url, error.headers))
        elif 300 <= error.code < 400:  # urllib's own refusal: a loop, or to file: and the like
            outcome.append(
                PageError(
                    f"was redirected more than {MAX_REDIRECTS} times, or to an address that "
                    "is not a web page"
                )
            )
        else:
            reason = _one_line(str(error.reason))
            outcome.append(
                PageError(f"cannot be fetched: the server answered {error.code} {reason}")
            )
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as error:
        outcome.append(PageError(f"cannot be fetched: {_reason(error)}"))
    except Exception as error:  # noqa: BLE001 - the caller must get an answer, never an IndexError
        outcome.append(PageError(f"cannot be fetched ({type(error).__name__})"))
    else:
        outcome.append(found)


def _reason(error: BaseException) -> str:
    """What went wrong, as a person says it: "connection refused", "no such host"."""
    reason = getattr(error, "reason", error)
    if isinstance(reason, socket.gaierror):
        return "no such host (the name does not resolve)"
    if isinstance(reason, TimeoutError | socket.timeout):
        return f"no answer within {TIMEOUT:g} seconds"
    if isinstance(reason, ssl.SSLError):
        return f"its certificate or encryption was refused ({_one_line(str(reason))})"
    if isinstance(reason, OSError) and reason.strerror:
        return _one_line(reason.strerror).lower()
    return _one_line(str(reason)) or type(reason).__name__


def _one_line(text: str) -> str:
    """A server's words as one line, its control characters shown escaped, never obeyed by
    the terminal that shows them (a status line is anyone's text)."""
    return printable(" ".join(text.split()))[:200]


def _size(limit: int) -> str:
    megabytes = limit / (1024 * 1024)
    return f"{megabytes:g} MB" if megabytes >= 1 else f"{limit:,} bytes"


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


WEB_PAGES = ("text/html", "application/xhtml+xml")


def read_page(url: str, user_agent: str = _USER_AGENT) -> tuple[Fetched, dict[str, str]]:
    """The page at ``url`` and its card fields (see ``open_graph``), decoded in the charset
    its server names; PageError if it cannot be had or is not a web page."""
    found = get(url, MAX_PAGE_BYTES, user_agent=user_agent)
    if found.kind not in WEB_PAGES:
        raise PageError(f"is not a web page (the server says it is {_one_line(found.kind)})")
    return found, open_graph(found.body.decode(_charset(found), errors="replace"))


def link_card(url: str) -> LinkCard | None:
    """The card of the page at ``url``, or None (logged) when there is none to be had."""
    from bot.posts import image_type  # noqa: PLC0415 - the queue's own image rule

    try:
        _, fields = read_page(url)
    except PageError as error:
        log.info("no link card for %s: it %s", url, error)
        return None
    if not fields.get("title"):
        log.info("no link card for %s: the page has no title", url)
        return None
    thumb, thumb_type = None, None
    if fields.get("image"):
        image_url = urljoin(url, fields["image"])
        try:
            data = get(image_url, MAX_IMAGE_BYTES).body
            thumb_type = image_type(data[:16])
            thumb = data if thumb_type else None
        except PageError as error:
            log.info("the card of %s goes without its image %s: it %s", url, image_url, error)
    return LinkCard(url, fields["title"], fields.get("description", ""), thumb, thumb_type)


@dataclass(frozen=True)
class NewDraft:
    """The draft `new` wrote, and what the page did not have."""

    file: str  # as people read it: queue/2026/12/a-story.yaml
    draft: Draft
    missing: list[str]  # "no site name (og:site_name): source left out; …"


def draft_from_page(config: Config, url: str, now: datetime, folder: str = "") -> NewDraft:
    """`new URL`: a draft of the article at ``url`` from its Open Graph tags — ``og:title``
    (else the Twitter card's, else <title>), ``og:site_name`` as its source,
    ``og:description`` as its summary, ``og:url`` as its link (tracking parameters removed) —
    written under queue/FOLDER/YYYY/MM/ (today's, in the config's time zone). NotDrafted if
    the page cannot be had, has no title, or the article is queued already."""
    known = queue_links(config.paths.queue)
    queue = config.shown(config.paths.queue)
    if not web_address(url):
        raise NotDrafted(f"{url!r} is not a web address; give the article's https://… address")
    if canonical_link(url) in known:
        raise NotDrafted(f"{url} is queued already, in {queue}/{known[canonical_link(url)]}")
    try:
        found, fields = read_page(url, "interlink-bot (new draft)")
    except PageError as error:
        raise NotDrafted(f"{url} {error}; nothing was written") from None
    # The fields are text already (the parser decoded the attributes): tidied, not parsed
    # again as HTML, which would eat "&lt;style&gt;" written in a headline.
    title = tidy(fields.get("title", ""))
    if not title:
        raise NotDrafted(
            f"{url}: the page has no title (no og:title, twitter:title or <title>); nothing "
            "was written"
        )
    missing = []
    link = urljoin(found.url, fields.get("url", ""))
    if not fields.get("url") or not web_address(link):
        link = found.url
        missing.append("no canonical link (og:url): the address fetched is used")
    source = tidy(fields.get("site_name", "")) or None
    if source is None:
        missing.append("no site name (og:site_name): source left out; add the outlet by hand")
    summary = tidy(fields.get("description", "")) or None
    if summary is None:
        missing.append("no description (og:description): summary left out; write one")
    draft = Draft(title, without_tracking(link), source, summary)
    already = known.get(canonical_link(draft.url))
    if already:
        raise NotDrafted(f"{url} is queued already as {draft.url}, in {queue}/{already}")
    moment = now.astimezone(config.timezone)
    where = config.paths.queue / folder / f"{moment:%Y}" / f"{moment:%m}"
    comment = [
        f"Drafted by `interlink-bot new` from {url} on {local(now, config.timezone)}.",
        "Check it, then set approved: true to publish it.",
    ]
    name, text = slug(draft.url, draft.title), render(draft, comment)
    path = write_draft(config.paths.queue, where, name, text, set(), dry_run=False)
    return NewDraft(config.shown(path), draft, missing)


def _charset(found: Fetched) -> str:
    charset = found.headers.get_content_charset() or "utf-8"
    try:
        return codecs.lookup(charset).name
    except LookupError:
        return "utf-8"
