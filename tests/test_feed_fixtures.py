"""The feed fixtures themselves (tests/feed_files.py, tests/feed_server.py): that they say what
the import tests take them to say. Standard library only, and nothing from ``bot``."""

from __future__ import annotations

import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime

import pytest

from tests.feed_files import (
    atom,
    deeply_nested,
    entity_expansion_small,
    many_items,
    rss,
    seed_entries,
    seed_items,
    truncated,
    wordpress_title,
)
from tests.feed_server import FeedServer

TIMEOUT = 5.0
ATOM = "{http://www.w3.org/2005/Atom}"


def parse(document: bytes) -> ET.Element:
    return ET.fromstring(document)  # noqa: S314 - the fixtures' own documents, not a stranger's


def test_the_seed_page_has_its_ten_entries_as_the_page_shows_them() -> None:
    entries = seed_entries()

    assert len(entries) == 10
    assert entries[0].title == "MEK and Fake News"
    assert entries[0].posted == date(2019, 10, 20)
    assert entries[0].excerpt.endswith("by Marjolein Faber.\xa0 MEK and Fake News")
    assert entries[-1].title == "Iran Interlink Weekly Digest – October 11, 2019"
    assert [entry.title for entry in entries if entry.posted is None] == [
        "Iran Interlink Weekly Digest – October 18, 2019",
        "Iran Interlink Weekly Digest – October 11, 2019",
    ]
    assert "executios are bad.\xa0nOne article in particular" in entries[2].excerpt


def test_seed_items_carry_the_entries_as_wordpress_would() -> None:
    items = seed_items()

    assert items[2].link == (
        "https://iran-interlink.org/2019/10/19/iran-interlink-weekly-digest-october-18-2019/"
    )
    assert items[2].published is None
    assert items[0].published == datetime(2019, 10, 20, 10, tzinfo=UTC)
    assert items[2].title_html == "Iran Interlink Weekly Digest &#8211; October 18, 2019"
    assert "&#8220;People&#8217;s <em>Holy Warriors of Iran</em>,&#8221;" in (
        items[3].description_html
    )
    assert not items[0].description_html.endswith("MEK and Fake News</p>")
    assert wordpress_title("Q&A <b> — “it’s…”") == (
        "Q&amp;A &lt;b&gt; &#8212; &#8220;it&#8217;s&#8230;&#8221;"
    )


def test_the_rss_and_atom_feeds_parse_into_the_seed_items() -> None:
    channel = parse(rss(seed_items())).find("channel")
    assert channel is not None
    titles = [item.findtext("title") for item in channel.iter("item")]
    assert titles == [entry.title for entry in seed_entries()]
    assert [item.findtext("pubDate") for item in channel.iter("item")][2] == ""

    feed = parse(atom(seed_items()))
    assert len(feed.findall(f"{ATOM}entry")) == 10


def test_the_other_builders_are_what_they_claim() -> None:
    archive = many_items(40, datetime(2024, 1, 1, tzinfo=UTC))
    assert len({item.guid for item in archive}) == 40
    assert parse(deeply_nested(depth=1000)).find("channel/item/title") is not None
    title = parse(entity_expansion_small()).findtext("channel/title")
    assert title == "lol" * 1000

    document = rss(seed_items())
    cut = truncated(document)
    assert cut.count(b"</item>") == 9
    assert document.startswith(cut)
    with pytest.raises(ET.ParseError):
        parse(cut)


def test_the_server_answers_what_it_was_given() -> None:
    body = rss(seed_items())
    with FeedServer() as server:
        server.serve("/feed/", body, etag='"v1"', last_modified="Sun, 20 Oct 2019 10:00:00 GMT")
        server.redirect("/old-feed", "/feed/")

        with urllib.request.urlopen(server.url("/feed/"), timeout=TIMEOUT) as response:
            assert response.status == 200
            assert response.headers["ETag"] == '"v1"'
            assert response.read() == body

        for validator in (
            {"If-None-Match": '"v1"'},
            {"If-Modified-Since": "Sun, 20 Oct 2019 10:00:00 GMT"},
        ):
            request = urllib.request.Request(server.url("/feed/"), headers=validator)
            with pytest.raises(urllib.error.HTTPError) as unchanged:
                urllib.request.urlopen(request, timeout=TIMEOUT)
            assert unchanged.value.code == 304
            assert unchanged.value.read() == b""

        with urllib.request.urlopen(server.url("/old-feed"), timeout=TIMEOUT) as response:
            assert response.url == server.url("/feed/")
            assert response.read() == body

        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(server.url("/nothing"), timeout=TIMEOUT)
        assert missing.value.code == 404

    assert [path for path, _ in server.requests] == [
        "/feed/",
        "/feed/",
        "/feed/",
        "/old-feed",
        "/feed/",
        "/nothing",
    ]
    assert server.requests[1][1]["If-None-Match"] == '"v1"'


def test_slow_and_endless_answers_end_quietly_when_the_client_hangs_up(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with FeedServer() as server:
        server.trickle("/slow", b"x" * 256, pause=0.001)
        server.endless("/endless")

        with urllib.request.urlopen(server.url("/slow"), timeout=TIMEOUT) as response:
            assert "Content-Length" not in response.headers
            assert response.read() == b"x" * 256
        with urllib.request.urlopen(server.url("/endless"), timeout=TIMEOUT) as response:
            assert len(response.read(100_000)) == 100_000
        with urllib.request.urlopen(server.url("/slow"), timeout=TIMEOUT) as response:
            assert response.read(64) == b"x" * 64

    assert capsys.readouterr().err == ""
