"""`interlink-bot import`: drafts from the organisation's feed (SPEC "Feeds", issue 13), against
a real HTTP server on 127.0.0.1 serving feeds built from the site's own page (tests/data)."""

from __future__ import annotations

import itertools
import re
import socket
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from bot.config import load_config
from bot.drafts import canonical_link, plain_text
from bot.feeds import import_feeds
from bot.ledger import Ledger
from tests.conftest import REPO, Deployment, Result
from tests.feed_files import (
    Item,
    atom,
    billion_laughs,
    deeply_nested,
    entity_expansion_small,
    html_page,
    many_items,
    rss,
    seed_items,
    truncated,
)
from tests.feed_server import FeedServer

FEED = "/feed/"
AFTER_THE_SEED = "2019-10-21T12:00Z"  # the morning after the seed page's newest entry


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as serving:
        yield serving


def configure(site: Deployment, *urls: str, extra: str = "") -> None:
    feeds = "".join(f"  - url: {url}\n{extra}" for url in urls)
    site.write("config/bot.yaml", f"timezone: Europe/London\nfeeds:\n{feeds}")


def drafts(site: Deployment) -> dict[str, dict[str, object]]:
    """Every draft file under queue/imported, by its path there, as YAML reads it."""
    folder = site.root / "queue" / "imported"
    return {
        path.relative_to(folder).as_posix(): yaml.safe_load(path.read_text(encoding="utf-8"))
        for path in sorted(folder.rglob("*.yaml"))
    }


def test_the_seed_pages_entries_become_drafts_with_the_pages_outlet_and_excerpt(
    deployment: Deployment, server: FeedServer, cli: Callable[..., Result]
) -> None:
    server.serve(FEED, rss(seed_items()))
    configure(deployment, server.url(FEED))

    result = cli(
        "--root", deployment.root, "import", "--now", AFTER_THE_SEED, "--since", "2019-10-01"
    )

    assert result.status == 0, result.err
    found = drafts(deployment)
    assert len(found) == 10
    assert found["2019/10/mek-and-fake-news.yaml"] == {
        "title": "MEK and Fake News",
        "url": "https://iran-interlink.org/2019/10/20/mek-and-fake-news/",
        "source": "NPO Radio",
        "summary": (
            "The Mojahedin Khalq (MEK) troll bunker A good example of this is the story of the "
            "MEK. An Iranian Mojahedin cult with its own troll bunker in Albania. The group even "
            "managed to come up with its own writer in addition to the propaganda tweets: "
            "Heshmet Alavi . A ‘writer’ who managed to publish his stories on The Daily Caller, "
            "The Diplomat and Forbes and thus even influence Trump’s policies. There are "
            "countless fascinating stories. These range from American useful idiots in the "
            "Mueller report, sent by Russian trolls with pocket money to demonstrate "
            "theatrically, to the “my tweet is right” by Marjolein Faber."
        ),
        "approved": False,
    }
    nbc = found["2019/10/giuliani-work-for-mek-with-bloody-past-could-lead-to-more-legal-woes.yaml"]
    assert nbc["source"] == "NBC News"  # no author before the outlet
    assert str(nbc["summary"]).startswith(
        "The group, whose name translates as “People’s Holy Warriors of Iran,” is accused of"
    )  # <em> removed without a space; the entities decoded
    digest = found["2019/10/iran-interlink-weekly-digest-october-18-2019.yaml"]
    assert digest["title"] == "Iran Interlink Weekly Digest – October 18, 2019"  # &#8211;
    assert digest["source"] == "Iran Interlink"
    # The page's own typo stays: a draft carries what the site says, for an editor to mend.
    assert "some executios are bad. nOne article in particular lists" in str(digest["summary"])
    times = found["2019/10/trace-of-blood-a-film-about-mek-history.yaml"]
    assert times["source"] == "Tehran Times"
    assert str(times["summary"]).startswith("Mahdavian’s second movie, “The Midday Event”")
    assert found["2019/10/democratic-cover-for-terrorist-proxies-like-mek.yaml"]["source"] == (
        "Nejat Society"
    )
    # Each file says where it came from, and every draft is a valid post, held as a draft.
    text = (deployment.root / "queue/imported/2019/10/mek-and-fake-news.yaml").read_text()
    assert text.startswith(f"# Drafted by `interlink-bot import` from {server.url(FEED)}\n")
    assert "wrote queue/imported/2019/10/mek-and-fake-news.yaml" in result.out
    check = cli("--root", deployment.root, "check")
    assert check.status == 0, check.out
    assert "10 posts valid, 0 files with problems" in check.err
    status = cli("--root", deployment.root, "status", "--now", AFTER_THE_SEED)
    assert "10 drafts" in status.out


def test_importing_the_same_feed_again_writes_nothing_and_asks_conditionally(
    deployment: Deployment, server: FeedServer, cli: Callable[..., Result]
) -> None:
    server.serve(
        FEED, rss(seed_items()), etag='"v1"', last_modified="Mon, 21 Oct 2019 09:00:00 GMT"
    )
    configure(deployment, server.url(FEED))
    first = cli(
        "--root", deployment.root, "import", "--now", AFTER_THE_SEED, "--since", "2019-10-01"
    )
    assert first.status == 0
    written = drafts(deployment)

    again = cli("--root", deployment.root, "import", "--now", "2019-10-21T13:00Z")

    assert again.status == 0
    assert server.requests[-1][1]["If-None-Match"] == '"v1"'
    assert server.requests[-1][1]["If-Modified-Since"] == "Mon, 21 Oct 2019 09:00:00 GMT"
    assert f"{server.url(FEED)}: not changed since the last import" in again.out
    assert "wrote" not in again.out
    assert drafts(deployment) == written

    # A server that ignores validators: the whole feed again, and still nothing new.
    server.serve(FEED, rss(seed_items()))
    third = cli("--root", deployment.root, "import", "--now", "2019-10-21T14:00Z")
    assert third.status == 0
    assert "wrote" not in third.out
    assert "10 already imported" in third.out
    assert drafts(deployment) == written


def story(number: int, link: str, published: datetime, guid: str | None = None) -> Item:
    return Item(
        f"Story {number}",
        link,
        guid or f"https://iran-interlink.org/?p={number}",
        published,
        f"<p>NPO Radio, October 20 2019:&#8230; Story {number} says something.</p>",
    )


def test_an_entry_republished_with_a_new_id_or_a_tracking_link_is_not_imported_again(
    deployment: Deployment, server: FeedServer, cli: Callable[..., Result]
) -> None:
    moment = datetime(2019, 10, 21, 8, tzinfo=UTC)
    server.serve(FEED, rss([story(1, "https://iran-interlink.org/2019/10/21/story/", moment)]))
    configure(deployment, server.url(FEED))
    assert cli("--root", deployment.root, "import", "--now", AFTER_THE_SEED).status == 0
    assert list(drafts(deployment)) == ["2019/10/story.yaml"]

    server.serve(
        FEED,
        rss(
            [
                story(1, "https://iran-interlink.org/2019/10/21/story/", moment, guid="urn:new-id"),
                story(
                    1,
                    "HTTPS://Iran-Interlink.org/2019/10/21/story?utm_source=twitter&utm_medium=social#comments",
                    moment,
                    guid="urn:again",
                ),
                story(
                    1,
                    "https://iran-interlink.org/2019/10/21/story/?fbclid=IwAR0x&gclid=abc",
                    moment,
                    guid="urn:third",
                ),
                story(
                    2,
                    "https://iran-interlink.org/2019/10/21/other-story/?utm_campaign=weekly",
                    moment,
                ),
            ]
        ),
    )
    again = cli("--root", deployment.root, "import", "--now", "2019-10-21T13:00Z")

    assert again.status == 0
    assert list(drafts(deployment)) == ["2019/10/other-story.yaml", "2019/10/story.yaml"]
    # The link a draft keeps has its tracking parameters removed (SPEC: url).
    assert drafts(deployment)["2019/10/other-story.yaml"]["url"] == (
        "https://iran-interlink.org/2019/10/21/other-story/"
    )
    assert "3 already imported or queued" in again.out


def test_an_entry_whose_link_a_queue_file_already_has_is_not_drafted(
    deployment: Deployment, server: FeedServer, cli: Callable[..., Result]
) -> None:
    moment = datetime(2019, 10, 21, 8, tzinfo=UTC)
    deployment.post(
        "2019/10/by-hand",
        "title: Written by hand\nurl: http://iran-interlink.org/2019/10/21/story\napproved: true\n",
    )
    server.serve(FEED, rss([story(1, "https://iran-interlink.org/2019/10/21/story/", moment)]))
    configure(deployment, server.url(FEED))

    result = cli("--root", deployment.root, "import", "--now", AFTER_THE_SEED)

    assert result.status == 0
    assert not (deployment.root / "queue" / "imported").exists()
    assert "1 already imported or queued" in result.out


def test_a_first_import_of_a_500_entry_feed_takes_the_last_week_and_later_ones_never_the_rest(
    deployment: Deployment, server: FeedServer, cli: Callable[..., Result]
) -> None:
    now = datetime(2026, 12, 3, 12, tzinfo=UTC)
    archive = many_items(500, newest=now - timedelta(hours=1), step=timedelta(hours=6))
    server.serve(FEED, rss(archive))
    configure(deployment, server.url(FEED))

    first = cli("--root", deployment.root, "import", "--now", "2026-12-03T12:00Z")

    # Published from 26 Nov 12:00 on: now - 1 h - i * 6 h for i = 0 .. 27.
    assert first.status == 0
    assert len(drafts(deployment)) == 28
    assert "first import" in first.out
    assert "472 published before the cut-off" in first.out

    # An hour later, one new entry, and the archive the first import left is left again —
    # even though the whole of it is still in the feed.
    newer = Item("Fresh news", "https://iran-interlink.org/fresh/", "urn:fresh", now, "<p>x</p>")
    server.serve(FEED, rss([newer, *archive]))
    second = cli("--root", deployment.root, "import", "--now", "2026-12-03T13:00Z")
    assert second.status == 0
    assert len(drafts(deployment)) == 29
    assert "wrote queue/imported/2026/12/fresh.yaml" in second.out

    # --since cannot reach behind the cut-off a first import fixed.
    third = cli(
        "--root", deployment.root, "import", "--now", "2026-12-03T14:00Z", "--since", "2026-01-01"
    )
    assert third.status == 0
    assert len(drafts(deployment)) == 29
    assert "cut-off" in third.out


def test_an_edited_draft_survives_every_later_import(
    deployment: Deployment, server: FeedServer, cli: Callable[..., Result], tmp_path: Path
) -> None:
    server.serve(FEED, rss(seed_items()))
    configure(deployment, server.url(FEED))
    cli("--root", deployment.root, "import", "--now", AFTER_THE_SEED, "--since", "2019-10-01")
    draft = deployment.root / "queue/imported/2019/10/mek-and-fake-news.yaml"
    edited = (
        "title: MEK and fake news, on Dutch radio\n"
        "url: https://iran-interlink.org/2019/10/20/mek-and-fake-news/\n"
        "approved: true\n"
    )
    draft.write_text(edited, encoding="utf-8")

    # Even with the ledger gone (a new machine, a lost state/), the queue's own links protect it.
    for state in (deployment.root / "state").iterdir():
        state.unlink()
    again = cli(
        "--root", deployment.root, "import", "--now", "2019-10-21T13:00Z", "--since", "2019-10-01"
    )

    assert again.status == 0
    assert draft.read_text(encoding="utf-8") == edited
    assert "wrote" not in again.out
    assert len(drafts(deployment)) == 10


def test_two_entries_with_one_slug_get_two_files(
    deployment: Deployment, server: FeedServer, cli: Callable[..., Result]
) -> None:
    moment = datetime(2019, 10, 21, 8, tzinfo=UTC)
    server.serve(
        FEED,
        rss(
            [
                story(1, "https://iran-interlink.org/news/weekly-digest/", moment),
                story(
                    2,
                    "https://iran-interlink.org/views/weekly-digest/",
                    moment + timedelta(hours=1),
                ),
            ]
        ),
    )
    configure(deployment, server.url(FEED))

    result = cli("--root", deployment.root, "import", "--now", AFTER_THE_SEED)

    assert result.status == 0
    found = drafts(deployment)
    assert found["2019/10/weekly-digest.yaml"]["title"] == "Story 1"
    assert found["2019/10/weekly-digest-2.yaml"]["title"] == "Story 2"


def test_dry_run_prints_what_it_would_write_and_writes_nothing(
    deployment: Deployment, server: FeedServer, cli: Callable[..., Result]
) -> None:
    server.serve(FEED, rss(seed_items()), etag='"v1"')
    configure(deployment, server.url(FEED))

    dry = cli(
        "--root",
        deployment.root,
        "import",
        "--now",
        AFTER_THE_SEED,
        "--since",
        "2019-10-01",
        "--dry-run",
    )

    assert dry.status == 0
    assert "would write queue/imported/2019/10/mek-and-fake-news.yaml" in dry.out
    assert not (deployment.root / "queue" / "imported").exists()
    assert not (deployment.root / "state").exists()  # no ledger, no lock file
    # Not even the import records: the real import is still the feed's first, with its --since.
    real = cli(
        "--root", deployment.root, "import", "--now", AFTER_THE_SEED, "--since", "2019-10-01"
    )
    assert "If-None-Match" not in server.requests[-1][1]
    assert len(drafts(deployment)) == 10
    assert "first import" in real.out


def test_an_atom_feed_is_read_too(
    deployment: Deployment, server: FeedServer, cli: Callable[..., Result]
) -> None:
    server.serve(FEED, atom(seed_items()[:3]), content_type="application/atom+xml")
    configure(deployment, server.url(FEED))

    result = cli(
        "--root", deployment.root, "import", "--now", AFTER_THE_SEED, "--since", "2019-10-01"
    )

    assert result.status == 0, result.err
    found = drafts(deployment)
    assert found["2019/10/mek-and-fake-news.yaml"]["source"] == "NPO Radio"
    assert found["2019/10/iran-interlink-weekly-digest-october-18-2019.yaml"]["title"] == (
        "Iran Interlink Weekly Digest – October 18, 2019"
    )


HOSTILE = {
    "truncated": (truncated(rss(seed_items())), "a download cut short looks like this"),
    "billion laughs": (billion_laughs(), "declares XML entities"),
    "a small entity expansion": (entity_expansion_small(), "declares XML entities"),
    "deeply nested": (deeply_nested(), "nests elements more than 64 deep"),
    "a web page": (html_page(), "is a web page, not a feed"),
    "not a feed": (
        b'<?xml version="1.0"?><catalog><book>x</book></catalog>',
        "not an RSS or Atom feed",
    ),
}


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_a_feed_that_is_not_well_formed_or_hostile_is_refused_whole_and_the_others_still_import(
    kind: str, deployment: Deployment, server: FeedServer, cli: Callable[..., Result]
) -> None:
    document, why = HOSTILE[kind]
    server.serve(
        "/bad/",
        document,
        content_type="text/html" if kind == "a web page" else "application/rss+xml",
    )
    server.serve(FEED, rss(seed_items()[:2]))
    configure(deployment, server.url("/bad/"), server.url(FEED))

    result = cli(
        "--root", deployment.root, "import", "--now", AFTER_THE_SEED, "--since", "2019-10-01"
    )

    assert result.status == 1
    refusals = [line for line in result.err.splitlines() if server.url("/bad/") in line]
    assert len(refusals) == 1, result.err
    assert why in refusals[0]
    assert "Traceback" not in result.err
    assert len(drafts(deployment)) == 2  # the good feed's two, nothing of the bad one
    # Refused whole: not remembered, so a mended feed is still a first import.
    server.serve("/bad/", rss(seed_items()[2:4]))
    mended = cli(
        "--root", deployment.root, "import", "--now", AFTER_THE_SEED, "--since", "2019-10-01"
    )
    assert mended.status == 0
    assert len(drafts(deployment)) == 4


def test_feeds_that_cannot_be_fetched_are_one_line_each(
    deployment: Deployment, server: FeedServer, cli: Callable[..., Result]
) -> None:
    server.serve("/gone/", b"no", status=500, content_type="text/plain")
    server.endless("/endless/")
    server.redirect("/moved/", FEED)
    server.serve(FEED, rss(seed_items()[:1]))
    configure(
        deployment,
        server.url("/gone/"),
        server.url("/endless/"),
        "http://127.0.0.1:9/feed/",
        server.url("/moved/"),
    )

    result = cli(
        "--root", deployment.root, "import", "--now", AFTER_THE_SEED, "--since", "2019-10-01"
    )

    assert result.status == 1
    lines = result.err.splitlines()
    assert any(server.url("/gone/") in line and "500" in line for line in lines), result.err
    assert any(server.url("/endless/") in line and "is larger than 5 MB" in line for line in lines)
    assert any("http://127.0.0.1:9/feed/" in line and "cannot be fetched" in line for line in lines)
    assert "Traceback" not in result.err
    assert list(drafts(deployment)) == ["2019/10/mek-and-fake-news.yaml"]  # the redirect followed


def import_with_ticking_clock(deployment: Deployment) -> tuple[str | None, int]:
    """Import the configured feed with a clock on which a second passes at each look: what
    refused it, and how many looks it took."""
    config = load_config(deployment.root)
    ticks = itertools.count()
    ledger = Ledger.open(config.paths.state)
    try:
        results = import_feeds(
            config,
            ledger,
            list(config.feeds),
            datetime(2019, 10, 21, 12, tzinfo=UTC),
            clock=lambda: float(next(ticks)),
        )
    finally:
        ledger.close()
    return results[0].refused, next(ticks)


def test_a_feed_that_trickles_is_given_up_after_ten_seconds_in_all(
    deployment: Deployment, server: FeedServer
) -> None:
    server.trickle(FEED, rss(seed_items()), chunk=64, pause=0.01)
    configure(deployment, server.url(FEED))

    refused, looks = import_with_ticking_clock(deployment)

    assert refused == "took longer than 10 seconds to arrive"
    assert looks < 20  # it gave up as soon as the ten seconds were up
    assert not (deployment.root / "queue" / "imported").exists()


def test_a_server_that_never_sends_its_headers_cannot_hold_the_import(
    deployment: Deployment,
) -> None:
    # Listening, never accepting: the connection is made, and no byte ever comes back.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        configure(deployment, f"http://127.0.0.1:{silent.getsockname()[1]}/feed/")

        refused, looks = import_with_ticking_clock(deployment)

    assert refused == "took longer than 10 seconds to arrive"
    assert looks < 20


def test_a_feed_file_given_on_the_command_line_is_imported_into_its_folder(
    deployment: Deployment, cli: Callable[..., Result], tmp_path: Path
) -> None:
    feed = tmp_path / "saved-feed.xml"
    feed.write_bytes(rss(seed_items()[:1]))

    result = cli(
        "--root", deployment.root, "import", feed, "--now", AFTER_THE_SEED, "--since", "2019-10-01"
    )

    assert result.status == 0, result.err
    assert list(drafts(deployment)) == ["2019/10/mek-and-fake-news.yaml"]


def test_import_without_feeds_says_where_to_add_one(
    deployment: Deployment, cli: Callable[..., Result]
) -> None:
    result = cli("--root", deployment.root, "import")

    assert result.status == 2
    assert "feeds:" in result.err
    assert "config/bot.yaml" in result.err


def test_a_wrong_feeds_setting_is_named_with_its_line(
    deployment: Deployment, cli: Callable[..., Result]
) -> None:
    deployment.write(
        "config/bot.yaml",
        "timezone: Europe/London\nfeeds:\n  - url: ftp://example.org/feed\n"
        "  - url: https://example.org/feed/\n    folder: ../outside\n",
    )

    result = cli("--root", deployment.root, "check")

    assert result.status == 2
    assert "config/bot.yaml:3: feeds: feed 1: url must be the feed's web address" in result.err
    assert "config/bot.yaml:4: feeds: feed 2: folder must be a folder under queue/" in result.err


def test_plain_text_removes_tags_without_adding_spaces_and_decodes_entities() -> None:
    assert plain_text("“People&#8217;s <em>Holy Warriors</em>,&#8221;\n\t is") == (
        "“People’s Holy Warriors,” is"
    )
    assert plain_text("a<script>alert(1)</script>b &amp; c\x1b") == "ab & c"


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("https://example.org/a/", "HTTPS://EXAMPLE.ORG/a"),
        ("https://example.org/a?utm_source=x&id=3", "https://example.org/a?id=3"),
        ("https://example.org/a#comments", "https://example.org/a"),
        ("https://example.org:443/a?fbclid=1&gclid=2", "https://example.org/a"),
    ],
)
def test_links_that_differ_only_in_tracking_case_or_slash_are_one_article(
    one: str, other: str
) -> None:
    assert canonical_link(one) == canonical_link(other)


def test_links_to_different_articles_stay_apart() -> None:
    assert canonical_link("https://example.org/a?id=3") != canonical_link(
        "https://example.org/a?id=4"
    )
    assert canonical_link("https://example.org/A") != canonical_link("https://example.org/a")


def test_a_draft_reads_back_exactly_whatever_its_text_holds(
    deployment: Deployment, server: FeedServer, cli: Callable[..., Result]
) -> None:
    awkward = (
        "Iran: \"Yes\" — it's #1 - 'quoted' & more: a summary long enough to be folded "
        "over several lines, with a colon: here, a hash # there, [brackets] and {braces}, "
        "and an ending …"
    )
    item = Item(
        "- Not a list: 'MEK' &amp; #2",
        "https://iran-interlink.org/2019/10/21/awkward/",
        "urn:awkward",
        datetime(2019, 10, 21, 8, tzinfo=UTC),
        f"<p>{awkward.replace('&', '&amp;')}</p>",
    )
    server.serve(FEED, rss([item]))
    configure(deployment, server.url(FEED))

    assert cli("--root", deployment.root, "import", "--now", AFTER_THE_SEED).status == 0

    assert drafts(deployment)["2019/10/awkward.yaml"] == {
        "title": "- Not a list: 'MEK' & #2",
        "url": "https://iran-interlink.org/2019/10/21/awkward/",
        "summary": awkward,
        "approved": False,
    }
    assert cli("--root", deployment.root, "check").status == 0


def test_drafts_are_never_written_through_a_link_out_of_the_queue(
    deployment: Deployment, server: FeedServer, cli: Callable[..., Result], tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (deployment.root / "queue" / "imported").symlink_to(outside)
    server.serve(FEED, rss(seed_items()[:1]))
    configure(deployment, server.url(FEED))

    result = cli(
        "--root", deployment.root, "import", "--now", AFTER_THE_SEED, "--since", "2019-10-01"
    )

    assert result.status == 1
    assert "leads outside the queue folder" in result.err
    assert list(outside.rglob("*")) == []
    # Once the link is gone, the entry is still there to take: nothing was marked as read.
    (deployment.root / "queue" / "imported").unlink()
    mended = cli("--root", deployment.root, "import", "--now", "2019-10-21T13:00Z")
    assert mended.status == 0
    assert list(drafts(deployment)) == ["2019/10/mek-and-fake-news.yaml"]


def test_the_readmes_import_example_is_what_import_prints_and_writes(
    deployment: Deployment, server: FeedServer, cli: Callable[..., Result]
) -> None:
    """README "Drafts from the feed": the seed page's feed with its newest entry of yesterday."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Drafts from the feed\n")[1].split("\n## ")[0]
    example = re.search(r"^```console\n(.*?)^```", section, re.M | re.S)
    assert example is not None
    items = seed_items()
    items[0] = replace(items[0], published=datetime(2026, 12, 2, 10, tzinfo=UTC))
    server.serve(FEED, rss(items), last_modified="Wed, 02 Dec 2026 10:00:00 GMT")
    configure(deployment, server.url(FEED))
    shown = example[1].replace("https://iran-interlink.org/feed/", server.url(FEED))
    first, later, cat = shown.split("$ ")[1:]

    done = cli("--root", deployment.root, "import", "--now", "2026-12-03T12:00Z")
    again = cli("--root", deployment.root, "import", "--now", "2026-12-03T13:00Z")

    assert first == "interlink-bot import\n" + done.out
    assert later == "interlink-bot import        # an hour later\n" + again.out
    file = deployment.root / "queue/imported/2026/12/mek-and-fake-news.yaml"
    assert cat == f"cat {file.relative_to(deployment.root)}\n" + file.read_text(encoding="utf-8")


def test_one_bad_entry_or_queue_file_blocks_nothing(
    deployment: Deployment, server: FeedServer, cli: Callable[..., Result]
) -> None:
    moment = datetime(2019, 10, 21, 8, tzinfo=UTC)
    deployment.post("2019/10/typo", "title: A typo\nurl: https://example.org:99999/a\n")
    deployment.post("2019/10/bracket", 'title: Another\nurl: "http://[oops/a"\n')
    server.serve(
        FEED,
        rss(
            [
                story(1, "http://[iran-interlink.org/bad", moment, guid="urn:bad"),
                story(2, "https://iran-interlink.org/2019/10/21/good/", moment),
            ]
        ),
    )
    configure(deployment, server.url(FEED))

    result = cli("--root", deployment.root, "import", "--now", AFTER_THE_SEED)

    assert result.status == 0, result.err
    assert "internal error" not in result.err
    assert list(drafts(deployment)) == ["2019/10/good.yaml"]
    assert (
        "  entry 1 (urn:bad): has no valid web link, so it cannot be a post; left out"
    ) in result.out.splitlines()


def test_a_feed_in_an_encoding_that_cannot_be_read_is_refused_in_one_line(
    deployment: Deployment, server: FeedServer, cli: Callable[..., Result]
) -> None:
    document = rss(seed_items()[:1]).replace(b'encoding="UTF-8"', b'encoding="gb2312"')
    server.serve(FEED, document)
    configure(deployment, server.url(FEED))

    result = cli("--root", deployment.root, "import", "--now", AFTER_THE_SEED)

    assert result.status == 1
    assert result.err == (
        f"interlink-bot: import: {server.url(FEED)}: is in an encoding that cannot be read "
        "(multi-byte encodings are not supported); a feed in UTF-8 can be\n"
    )


def test_two_feeds_may_number_their_entries_alike(
    deployment: Deployment, server: FeedServer, cli: Callable[..., Result]
) -> None:
    moment = datetime(2019, 10, 21, 8, tzinfo=UTC)
    server.serve("/a/", rss([story(1, "https://a.example/2019/one-story/", moment, guid="1")]))
    server.serve("/b/", rss([story(2, "https://b.example/2019/another-story/", moment, guid="1")]))
    configure(deployment, server.url("/a/"), server.url("/b/"))

    result = cli("--root", deployment.root, "import", "--now", AFTER_THE_SEED)

    assert result.status == 0
    assert list(drafts(deployment)) == [
        "2019/10/another-story.yaml",
        "2019/10/one-story.yaml",
    ]


def test_a_hostile_id_cannot_write_fields_into_the_draft(
    deployment: Deployment, server: FeedServer, cli: Callable[..., Result]
) -> None:
    moment = datetime(2019, 10, 21, 8, tzinfo=UTC)
    hostile = 'urn:x\nthread: ["Buy pills https://spam.example"]\npriority: 99\n# '
    server.serve(FEED, rss([story(1, "https://iran-interlink.org/2019/10/21/a/", moment, hostile)]))
    configure(deployment, server.url(FEED))

    assert cli("--root", deployment.root, "import", "--now", AFTER_THE_SEED).status == 0

    draft = drafts(deployment)["2019/10/a.yaml"]
    assert set(draft) == {"title", "url", "source", "summary", "approved"}
    preview = cli("--root", deployment.root, "preview", "imported/2019/10/a")
    assert "spam.example" not in preview.out.split("│", 1)[1]


def test_drafts_the_feed_approves_are_said_to_be_approved(
    deployment: Deployment, server: FeedServer, cli: Callable[..., Result]
) -> None:
    server.serve(FEED, rss(seed_items()[:1]))
    configure(deployment, server.url(FEED), extra="    approve: true\n")

    result = cli(
        "--root", deployment.root, "import", "--now", AFTER_THE_SEED, "--since", "2019-10-01"
    )

    assert result.status == 0
    assert drafts(deployment)["2019/10/mek-and-fake-news.yaml"]["approved"] is True
    assert result.out.splitlines()[-1] == (
        "1 approved post written (the feed says approve: true): each goes out at its turn; "
        "interlink-bot plan shows when"
    )
    text = (deployment.root / "queue/imported/2019/10/mek-and-fake-news.yaml").read_text()
    assert "# Approved by the feed's approve: true; set approved: false to hold it.\n" in text


@pytest.mark.parametrize(
    "excerpt",
    [
        "The minister said on March 3, 2019: we will act.",
        "Updated May 5 2020: the count rose.",
    ],
)
def test_a_sentence_that_only_looks_like_the_excerpt_form_is_the_summary_whole(
    excerpt: str, deployment: Deployment, server: FeedServer, cli: Callable[..., Result]
) -> None:
    item = Item(
        "A story",
        "https://x.example/2019/a-story/",
        "urn:a",
        datetime(2019, 10, 21, 8, tzinfo=UTC),
        f"<p>{excerpt}</p>",
    )
    server.serve(FEED, rss([item]))
    configure(deployment, server.url(FEED))

    assert cli("--root", deployment.root, "import", "--now", AFTER_THE_SEED).status == 0

    draft = drafts(deployment)["2019/10/a-story.yaml"]
    assert "source" not in draft
    assert draft["summary"] == excerpt


def test_a_rejected_draft_stays_rejected_without_the_ledger_growing(
    deployment: Deployment, server: FeedServer, cli: Callable[..., Result]
) -> None:
    server.serve(FEED, rss(seed_items()))
    configure(deployment, server.url(FEED))
    cli("--root", deployment.root, "import", "--now", AFTER_THE_SEED, "--since", "2019-10-01")
    for draft in (deployment.root / "queue" / "imported").rglob("*.yaml"):
        draft.unlink()  # an editor rejects them all

    for hour in (13, 14, 15):
        server.serve(FEED, rss(seed_items()) + f"<!-- {hour} -->".encode())  # changed each hour
        again = cli("--root", deployment.root, "import", "--now", f"2019-10-21T{hour}:00Z")
        assert "wrote" not in again.out

    with sqlite3.connect(deployment.root / "state" / "ledger.sqlite3") as ledger:
        (rows,) = ledger.execute("SELECT count(*) FROM imported").fetchone()
    assert rows == 10


def test_a_broken_feed_is_told_once_and_once_more_when_it_mends(
    deployment: Deployment, server: FeedServer, cli: Callable[..., Result]
) -> None:
    server.serve(FEED, b"down for maintenance", status=503, content_type="text/plain")
    configure(deployment, server.url(FEED))
    url = server.url(FEED)

    first = cli("--root", deployment.root, "import", "--now", "2019-10-21T12:00Z")
    second = cli("--root", deployment.root, "import", "--now", "2019-10-21T13:00Z")
    server.serve(FEED, rss(seed_items()[:1]))
    mended = cli("--root", deployment.root, "import", "--now", "2019-10-21T14:00Z")
    quiet = cli("--root", deployment.root, "import", "--now", "2019-10-21T15:00Z")

    # One cron mail (stderr, exit 1) for the outage, as `run` tells a problem once.
    reason = "cannot be fetched: the server answered 503 Service Unavailable"
    assert (first.status, first.err) == (1, f"interlink-bot: import: {url}: {reason}\n")
    assert (second.status, second.err) == (0, "")
    assert second.out == f"still: {url}: {reason} (refused since 2019-10-21 13:00 BST)\n"
    assert mended.status == 0
    assert f"cleared: {url} can be read again" in mended.out.splitlines()
    assert "cleared" not in quiet.out


def test_a_ledger_from_the_first_form_of_the_imports_migration_upgrades(
    deployment: Deployment, server: FeedServer, cli: Callable[..., Result]
) -> None:
    # Migration 10 as it first shipped: no feed_refusals table, ids indexed across feeds.
    server.serve(FEED, rss(seed_items()[:1]))
    configure(deployment, server.url(FEED))
    assert cli("--root", deployment.root, "import", "--now", AFTER_THE_SEED).status == 0
    with sqlite3.connect(deployment.root / "state" / "ledger.sqlite3") as ledger:
        ledger.executescript(
            "DROP TABLE feed_refusals; DROP INDEX imported_by_id;"
            "CREATE INDEX imported_by_id ON imported (entry_id);"
            "DELETE FROM migrations WHERE number = 11; PRAGMA user_version = 10;"
        )
    server.serve(FEED, b"gone", status=500, content_type="text/plain")

    broken = cli("--root", deployment.root, "import", "--now", "2019-10-21T13:00Z")
    again = cli("--root", deployment.root, "import", "--now", "2019-10-21T14:00Z")

    assert broken.status == 1, broken.err
    assert "internal error" not in broken.err
    assert again.status == 0
    assert again.out.startswith(f"still: {server.url(FEED)}: cannot be fetched")


def test_a_feed_named_by_hand_is_told_each_time_it_fails(
    deployment: Deployment, server: FeedServer, cli: Callable[..., Result]
) -> None:
    server.serve("/adhoc/", b"gone", status=500, content_type="text/plain")

    for _ in range(2):
        result = cli("--root", deployment.root, "import", server.url("/adhoc/"))
        assert result.status == 1
        assert "the server answered 500" in result.err


@contextmanager
def raw_http(answer: bytes) -> Iterator[str]:
    """A server that answers every request with ``answer`` as it is, however wrong."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            with connection:
                connection.recv(65_536)
                connection.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/feed/"
    finally:
        listener.close()
        thread.join(timeout=5)


def test_a_servers_words_reach_the_terminal_as_text_never_as_commands(
    deployment: Deployment, cli: Callable[..., Result]
) -> None:
    hostile = b"HTTP/1.1 503 \x1b[2J\x1b]0;owned\x07 \xe2\x80\xae\r\nContent-Length: 0\r\n\r\n"
    with raw_http(hostile) as url:
        result = cli("--root", deployment.root, "import", url)

    assert result.status == 1
    assert "\x1b" not in result.err
    # The status line is read as Latin-1 (HTTP's own): the override's bytes arrive as "â\x80®",
    # whose C1 control is shown escaped too.
    assert result.err == (
        f"interlink-bot: import: {url}: cannot be fetched: the server answered 503 "
        "\\x1b[2J\\x1b]0;owned\\x07 â\\x80®\n"
    )


def test_a_redirect_loop_is_one_line(
    deployment: Deployment, server: FeedServer, cli: Callable[..., Result]
) -> None:
    server.redirect("/loop/", "/loop/", status=302)

    result = cli("--root", deployment.root, "import", server.url("/loop/"))

    assert result.status == 1
    assert result.err == (
        f"interlink-bot: import: {server.url('/loop/')}: was redirected more than 3 times, or "
        "to an address that is not a web page\n"
    )


def test_an_id_the_feed_gives_to_two_stories_is_no_id(
    deployment: Deployment, server: FeedServer, cli: Callable[..., Result]
) -> None:
    moment = datetime(2019, 10, 21, 8, tzinfo=UTC)
    home = "https://iran-interlink.org/"
    first = story(10, "https://iran-interlink.org/2019/10/21/ten/", moment, guid=home)
    server.serve(FEED, rss([first]))
    configure(deployment, server.url(FEED))
    assert cli("--root", deployment.root, "import", "--now", AFTER_THE_SEED).status == 0

    later = story(11, "https://iran-interlink.org/2019/10/21/eleven/", moment, guid=home)
    server.serve(FEED, rss([later, first]))
    result = cli("--root", deployment.root, "import", "--now", "2019-10-21T13:00Z")

    assert result.status == 0
    assert list(drafts(deployment)) == ["2019/10/eleven.yaml", "2019/10/ten.yaml"]
