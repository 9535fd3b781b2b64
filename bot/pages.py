"""One web page's Open Graph card: its title, description and image, for a Bluesky link card
(and the drafts of `new`, issue 13).

Fetched with limits, since the page is anyone's: http(s) only, a timeout, at most 5 MB, at
most three redirects (each to http(s) again). Read with the standard library's HTML parser,
never with regular expressions. A page that cannot be fetched or read gives no card: the post
then goes out with its plain link, never fails for it.
"""

from __future__ import annotations

import logging
import urllib.error
import urllib.request
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

from bot.networks import LinkCard

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


def fetch(url: str, limit: int) -> tuple[bytes, str]:
    """The body (at most ``limit`` bytes) and content type of ``url``; PageError if not."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise PageError("not an http(s) address")
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})  # noqa: S310 - http(s), checked above
    try:
        with _OPENER.open(request, timeout=TIMEOUT) as response:
            body = response.read(limit + 1)
            kind = response.headers.get_content_type()
    except urllib.error.HTTPError as error:
        raise PageError(f"{error.code} {error.reason}") from None
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise PageError(f"cannot be fetched ({type(error).__name__})") from None
    if len(body) > limit:
        raise PageError(f"larger than {limit:,} bytes")
    return body, kind


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
