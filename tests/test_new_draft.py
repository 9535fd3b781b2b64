"""`interlink-bot new URL`: a draft from one article's Open Graph tags (issue 13), fetched from
a real HTTP server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import yaml

from tests.conftest import Deployment, Result
from tests.feed_server import FeedServer

ARTICLE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Giuliani work for MEK could lead to more legal woes | NBC News</title>
<meta property="og:title"
 content="Giuliani work for MEK with bloody past could lead to more legal woes">
<meta property="og:site_name" content="NBC News">
<meta property="og:description" content="The group, whose name translates as
 &#8220;People&#8217;s Holy Warriors of Iran,&#8221; is accused of killing six Americans.">
<meta property="og:url" content="https://www.nbcnews.com/politics/giuliani-work-for-mek-n1068321?utm_source=twitter&amp;cid=x">
<meta name="twitter:title" content="Not this one">
</head><body><p>The article.</p></body></html>
"""

BARE = """<!DOCTYPE html><html><head><title>  A page with
only a title </title></head><body></body></html>"""


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as serving:
        yield serving


def test_new_writes_a_draft_from_the_pages_open_graph_tags_and_prints_its_path(
    deployment: Deployment, server: FeedServer, cli: Callable[..., Result]
) -> None:
    server.serve("/story?utm_source=feed", ARTICLE.encode(), content_type="text/html")

    result = cli(
        "--root",
        deployment.root,
        "new",
        server.url("/story?utm_source=feed"),
        "--now",
        "2026-12-03T12:00Z",
    )

    assert result.status == 0, result.err
    assert result.out == "queue/2026/12/giuliani-work-for-mek-n1068321.yaml\n"
    assert result.err == ""  # the page had everything
    written = deployment.root / "queue/2026/12/giuliani-work-for-mek-n1068321.yaml"
    text = written.read_text(encoding="utf-8")
    assert text.startswith("# Drafted by `interlink-bot new` from http://127.0.0.1:")
    assert yaml.safe_load(text) == {
        "title": "Giuliani work for MEK with bloody past could lead to more legal woes",
        "url": "https://www.nbcnews.com/politics/giuliani-work-for-mek-n1068321?cid=x",
        "source": "NBC News",
        "summary": (
            "The group, whose name translates as “People’s Holy Warriors of Iran,” is accused of "
            "killing six Americans."
        ),
        "approved": False,
    }
    preview = cli("--root", deployment.root, "preview", "2026/12/giuliani-work-for-mek-n1068321")
    assert preview.status == 0
    assert "draft (approved: false)" in preview.out
    assert "— NBC News: The group, whose name translates" in preview.out


def test_new_says_plainly_what_the_page_does_not_have(
    deployment: Deployment, server: FeedServer, cli: Callable[..., Result]
) -> None:
    server.serve("/bare/", BARE.encode(), content_type="text/html")

    result = cli(
        "--root", deployment.root, "new", server.url("/bare/"), "--now", "2026-12-03T12:00Z"
    )

    assert result.status == 0
    assert result.out == "queue/2026/12/bare.yaml\n"
    assert result.err.splitlines() == [
        "the page has no canonical link (og:url): the address fetched is used",
        "the page has no site name (og:site_name): source left out; add the outlet by hand",
        "the page has no description (og:description): summary left out; write one",
    ]
    draft = yaml.safe_load((deployment.root / "queue/2026/12/bare.yaml").read_text())
    assert draft == {
        "title": "A page with only a title",
        "url": server.url("/bare/"),
        "approved": False,
    }


def test_new_writes_nothing_for_a_page_that_cannot_be_had_or_is_queued_already(
    deployment: Deployment, server: FeedServer, cli: Callable[..., Result]
) -> None:
    server.serve("/story", ARTICLE.encode(), content_type="text/html")
    server.serve("/feed/", b"<rss/>", content_type="application/rss+xml")
    deployment.post(
        "2019/10/nbc",
        "title: NBC\nurl: https://www.nbcnews.com/politics/giuliani-work-for-mek-n1068321/?cid=x\n",
    )

    missing = cli("--root", deployment.root, "new", server.url("/nowhere"))
    not_a_page = cli("--root", deployment.root, "new", server.url("/feed/"))
    queued = cli("--root", deployment.root, "new", server.url("/story"))
    nonsense = cli("--root", deployment.root, "new", "iran-interlink.org")

    assert missing.status == 1
    assert missing.err == (
        f"interlink-bot: new: {server.url('/nowhere')} cannot be fetched: the server answered "
        "404 Not Found; nothing was written\n"
    )
    assert not_a_page.status == 1
    assert "is not a web page (the server says it is application/rss+xml)" in not_a_page.err
    assert queued.status == 1
    assert (
        "queued already as https://www.nbcnews.com/politics/giuliani-work-for-mek-n1068321"
        in queued.err
    )
    assert "in queue/2019/10/nbc.yaml" in queued.err
    assert nonsense.status == 1
    assert "is not a web address" in nonsense.err
    assert [path.name for path in (deployment.root / "queue").rglob("*.yaml")] == ["nbc.yaml"]


def test_new_keeps_what_the_tags_say_as_text(
    deployment: Deployment, server: FeedServer, cli: Callable[..., Result]
) -> None:
    page = (
        '<html><head><meta property="og:title" content="Why the &lt;style&gt; element matters">'
        '<meta property="og:site_name" content="AT&amp;amp;T Blog"></head></html>'
    )
    server.serve("/style", page.encode(), content_type="text/html; charset=utf-8")

    result = cli("--root", deployment.root, "new", server.url("/style"), "--now", "2026-12-03")

    assert result.status == 0, result.err
    draft = yaml.safe_load((deployment.root / "queue/2026/12/style.yaml").read_text())
    assert draft["title"] == "Why the <style> element matters"
    assert draft["source"] == "AT&amp;T Blog"  # written so in the page: &amp;amp; is "&amp;"
