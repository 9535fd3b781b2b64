"""Bluesky as the second network, judged by a real PDS (tests/pds_server.py: @atproto/dev-env's
TestNetworkNoAppView on 127.0.0.1) and by what its repo stored (com.atproto.repo.listRecords),
never by what the bot says it did. Skipped where tests/pds is not installed."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from bot.config import load_config
from bot.ledger import Copy, Ledger
from bot.networks import LinkCard
from bot.networks.bluesky.client import BlueskyNetwork, tid
from bot.networks.x.client import Credentials, Publisher
from bot.networks.x.sandbox import Sandbox
from bot.pages import link_card
from bot.retries import RetryBudget
from bot.runner import Account, RunReport, run
from tests import pds_server
from tests.conftest import (
    BLUESKY_NOW,
    Deployment,
    Result,
    Sleeps,
    environment,
    on_x,
    on_x_and_bluesky,
    posts_on,
    serving,
)
from tests.pds_proxy import PdsProxy
from tests.test_publisher import script

pytestmark = pytest.mark.skipif(
    not pds_server.installed(),
    reason="tests/pds/node_modules is not installed: run .venv/bin/python tools/install_pds.py",
)

Connect = Callable[[Credentials], Publisher]
AT_SLOT = datetime(2026, 1, 5, 9, 5, tzinfo=UTC)
CONFIG = (
    "timezone: Europe/London\nschedule:\n  slots:\n    daily: ['09:00', '13:00']\n"
    "networks:\n  x: {}\n  bluesky: {}\n"
)


@pytest.fixture
def proxy(pds: pds_server.Pds) -> Iterator[PdsProxy]:
    """A proxy in front of the PDS (tests/pds_proxy.py), serving for the test."""
    server = PdsProxy(pds.url)
    with serving(server):
        yield server


def through(proxy: PdsProxy, account: pds_server.Account) -> pds_server.Account:
    """The account, reached through ``proxy``."""
    return replace(account, service=proxy.url)


@pytest.fixture
def site(deployment: Deployment) -> Deployment:
    deployment.write("config/bot.yaml", CONFIG)
    return deployment


def accounts(
    site: Deployment, account: pds_server.Account, connect: Connect, sleeps: Sleeps
) -> dict[str, Account]:
    return on_x_and_bluesky(site.root, account, connect, sleeps)


def tick(
    site: Deployment,
    account: pds_server.Account,
    connect: Connect,
    sleeps: Sleeps,
    now: datetime = AT_SLOT,
) -> RunReport:
    config = load_config(site.root)
    return run(config, now, accounts=accounts(site, account, connect, sleeps), link_card=local_card)


def local_card(url: str) -> LinkCard | None:
    """bot.pages.link_card for the tests' own pages: no test goes online."""
    if not url.startswith("http://127.0.0.1:"):
        return None  # example.org: as a page that cannot be fetched
    return link_card(url)


def plain(value: dict[str, Any]) -> dict[str, Any]:
    """A record's object without the ``$type`` markers the PDS keeps in it."""
    return {key: item for key, item in value.items() if key != "$type"}


def stored(account: pds_server.Account) -> list[dict[str, Any]]:
    """The account's posts as the PDS keeps them, oldest first."""
    records = pds_server.list_records(account.service, account.did, "app.bsky.feed.post")
    return sorted(records, key=lambda record: record["uri"])


def test_a_post_goes_to_x_and_to_bluesky_with_its_link_and_hashtag_as_facets(
    site: Deployment,
    emulator: Sandbox,
    connect: Connect,
    sleeps: Sleeps,
    account: pds_server.Account,
    cli: Callable[..., Result],
) -> None:
    site.post(
        "a",
        "title: Tehran’s “war” — خبر\nurl: https://example.org/2026/01/story\n"
        "hashtags: [Iran]\napproved: true\n",
    )
    report = tick(site, account, connect, sleeps)
    assert report.problems == []
    ((x_post,),) = [posts_on(emulator)]
    (record,) = stored(account)
    text = record["value"]["text"]
    assert text == x_post["text"] == "Tehran’s “war” — خبر https://example.org/2026/01/story #Iran"
    raw = text.encode()
    # Worked out by hand: the title and its space are 21 characters but 32 bytes (’ “ ” — are
    # 3 bytes each, each Arabic letter 2), so the link starts at byte 32, not at 21; it is 33
    # bytes long, then " " and the 5 bytes of "#Iran".
    assert len("Tehran’s “war” — خبر ") == 21
    assert len("Tehran’s “war” — خبر ".encode()) == 32
    (link, tag) = record["value"]["facets"]
    assert plain(link["index"]) == {"byteStart": 32, "byteEnd": 65}
    assert link["features"] == [
        {"$type": "app.bsky.richtext.facet#link", "uri": "https://example.org/2026/01/story"}
    ]
    assert raw[65:] == b" #Iran"
    assert plain(tag["index"]) == {"byteStart": 66, "byteEnd": 71}
    assert tag["features"] == [{"$type": "app.bsky.richtext.facet#tag", "tag": "Iran"}]
    log = cli("--root", site.root, "log", "--json").out
    lines = [json.loads(line) for line in log.splitlines()]
    by_network = {line["network"]: line for line in lines}
    assert set(by_network) == {"x", "bluesky"}
    assert by_network["bluesky"]["remote_id"] == record["uri"]
    assert by_network["bluesky"]["url"] == (
        f"https://bsky.app/profile/{account.handle}/post/{record['uri'].rsplit('/', 1)[1]}"
    )
    assert by_network["bluesky"]["tweet_id"] is None
    assert by_network["x"]["tweet_id"] == x_post["id"]
    # the session is kept for the next run, for the bot's user only, without the password
    session = site.root / "state" / "bluesky-session"
    assert stat.S_IMODE(session.stat().st_mode) == 0o600
    assert account.app_password not in session.read_text()


def test_a_three_part_thread_is_chained_by_root_and_parent(
    site: Deployment,
    emulator: Sandbox,
    connect: Connect,
    sleeps: Sleeps,
    account: pds_server.Account,
) -> None:
    site.post(
        "t",
        "title: Thread\nurl: https://example.org/t\napproved: true\n"
        "thread: ['second part', 'third part']\n",
    )
    tick(site, account, connect, sleeps)
    first, second, third = stored(account)  # record keys are TIDs: they sort in order
    assert [r["value"]["text"] for r in (first, second, third)] == [
        "Thread https://example.org/t",
        "second part",
        "third part",
    ]
    assert "reply" not in first["value"]
    root = {"uri": first["uri"], "cid": first["cid"]}
    reply = second["value"]["reply"]
    assert (plain(reply["root"]), plain(reply["parent"])) == (root, root)
    reply = third["value"]["reply"]
    assert (plain(reply["root"]), plain(reply["parent"])) == (
        root,
        {"uri": second["uri"], "cid": second["cid"]},
    )
    assert len(posts_on(emulator)) == 3


@pytest.mark.parametrize("created_before_the_answer_was_lost", [True, False])
def test_a_part_whose_answer_was_lost_is_resolved_by_its_record_key(
    site: Deployment,
    emulator: Sandbox,
    connect: Connect,
    sleeps: Sleeps,
    account: pds_server.Account,
    created_before_the_answer_was_lost: bool,
) -> None:
    # A run chose the key, stored it, sent the request and was killed: the PDS made the
    # record (or never got the request), the answer never came.
    site.post("a", "title: Story\nurl: https://example.org/a\napproved: true\n")
    config = load_config(site.root)
    ledger = Ledger.open(config.paths.state)
    key = tid(int(AT_SLOT.timestamp() * 1_000_000), 7)
    ledger.begin(Copy("a", "bluesky"), 0, "Story https://example.org/a", AT_SLOT, token=key)
    ledger.close()
    if created_before_the_answer_was_lost:
        pds_server.xrpc(
            account.service,
            "com.atproto.repo.createRecord",
            body={
                "repo": account.did,
                "collection": "app.bsky.feed.post",
                "rkey": key,
                "record": {
                    "$type": "app.bsky.feed.post",
                    "text": "Story https://example.org/a",
                    "createdAt": "2026-01-05T09:05:00Z",
                },
            },
            token=account.access_jwt,
        )
    tick(site, account, connect, sleeps, datetime(2026, 1, 5, 11, 0, tzinfo=UTC))  # no slot
    (record,) = stored(account)
    assert record["uri"].endswith(f"/app.bsky.feed.post/{key}")  # the stored key, not a new one
    ledger = Ledger.open(config.paths.state)
    try:
        (row,) = ledger.records()
        requests = [(a.kind, a.outcome) for a in reversed(ledger.attempts())]
    finally:
        ledger.close()
    assert (row.status, row.remote_id, row.remote_ref) == (
        "published",
        record["uri"],
        record["cid"],
    )
    # asked first; sent only when the PDS had no such record
    found = [("lookup", "ok")]  # RecordNotFound is an answer too
    assert requests == (found if created_before_the_answer_was_lost else [*found, ("post", "ok")])
    tick(site, account, connect, sleeps, datetime(2026, 1, 5, 13, 5, tzinfo=UTC))
    assert len(stored(account)) == 1


def test_x_down_never_holds_up_bluesky_and_its_copy_goes_out_later_once(
    site: Deployment,
    emulator: Sandbox,
    connect: Connect,
    sleeps: Sleeps,
    account: pds_server.Account,
    cli: Callable[..., Result],
) -> None:
    site.post("a", "title: Story\nurl: https://example.org/a\napproved: true\n")
    script(emulator, *["503"] * 6)  # every attempt the run's budget allows fails
    first = tick(site, account, connect, sleeps)
    assert posts_on(emulator) == []
    assert len(stored(account)) == 1
    assert "published a on Bluesky" in "\n".join(first.done)
    log = cli("--root", site.root, "log").out
    assert (
        "retrying   x        a  (attempts: 6)  X is having trouble (503: Service Unavailable)"
        in log
    )
    assert "published  bluesky  a  (attempts: 1)  https://bsky.app/profile/" in log
    # X is back (its script is spent)
    later = tick(site, account, connect, sleeps, datetime(2026, 1, 5, 10, 0, tzinfo=UTC))
    assert [p["text"] for p in posts_on(emulator)] == ["Story https://example.org/a"], later.done
    assert len(stored(account)) == 1  # not posted twice on Bluesky
    assert later.problems == [], later.done


# --- killed at any moment: exactly one record (SPEC: Publishing guarantees) ------------------

RUN = [sys.executable, "-m", "bot", "run", "--now"]


@pytest.mark.parametrize("pds_got_it", [True, False], ids=["after-the-pds-created-it", "before"])
def test_a_run_killed_while_its_post_is_held_leaves_exactly_one_record(
    deployment: Deployment,
    proxy: PdsProxy,
    account: pds_server.Account,
    cli: Callable[..., Result],
    pds_got_it: bool,
    article_site: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    deployment.write("config/bot.yaml", CONFIG.replace("  x: {}\n", ""))
    # its link is a page of this test's (a 404: no card), so the run never goes online
    deployment.post("a", f"title: Story\nurl: {article_site}/a\napproved: true\n")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "BOT_ROOT": str(deployment.root),
        "BLUESKY_HANDLE": account.handle,
        "BLUESKY_APP_PASSWORD": account.app_password,
        "BLUESKY_SERVICE": proxy.url,
    }
    for name in ("BLUESKY_HANDLE", "BLUESKY_APP_PASSWORD", "BLUESKY_SERVICE"):
        monkeypatch.setenv(name, env[name])  # `log` reads this rehearsal's records too
    proxy.hold("com.atproto.repo.createRecord", after_forwarding=pds_got_it)
    first = subprocess.Popen(
        [*RUN, "2026-01-05T09:05Z"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        assert proxy.held.wait(timeout=60), "the run never sent its post"
        first.send_signal(signal.SIGKILL)
    finally:
        first.wait(timeout=60)
        proxy.release()
    assert first.returncode == -signal.SIGKILL
    assert len(stored(account)) == (1 if pds_got_it else 0)
    log = cli("--root", deployment.root, "log").out
    assert "pending    bluesky  a  (attempts: 1)  being sent now" in log

    second = subprocess.run(
        [*RUN, "2026-01-05T09:10Z"], env=env, capture_output=True, text=True, check=False
    )
    assert second.returncode == 0, second.stderr
    (record,) = stored(account)
    config = load_config(deployment.root)
    # a PDS on this machine is a stand-in: its records are a rehearsal's, apart
    assert not (config.paths.state / "ledger.sqlite3").exists()
    ledger = Ledger.open(config.paths.state, proxy.url)
    try:
        (row,) = ledger.records()
    finally:
        ledger.close()
    # the key chosen before the first request is the record's, and nothing else was made
    assert record["uri"].endswith(f"/{row.token}")
    assert (row.status, row.remote_id) == ("published", record["uri"])
    assert proxy.calls["com.atproto.repo.getRecord"] == 1  # the next run asked first
    # the PDS saw one create either way: the killed run's (found by its key), or the next
    # run's (the held one never reached it)
    assert proxy.calls["com.atproto.repo.createRecord"] == 1
    # the killed run's session was kept: the next run did not log in again
    assert proxy.calls["com.atproto.server.createSession"] == 1


# --- link cards and images ------------------------------------------------------------------


class _Site(BaseHTTPRequestHandler):
    """The article a post links to, as a publisher's site serves it."""

    pages: ClassVar[dict[str, tuple[int, str, bytes]]] = {}

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        status, kind, body = self.pages.get(self.path, (404, "text/plain", b"not found"))
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def article_site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    _Site.pages = {}
    with serving(server):
        yield f"http://127.0.0.1:{server.server_address[1]}"


ARTICLE = b"""<!doctype html><html><head>
<title>Ignored when og:title is there</title>
<meta property="og:title" content="Albania &#8211; the MEK trial">
<meta property="og:description" content="Families came from Iran to hear the case.">
<meta property="og:image" content="/images/court.png">
</head><body><p>The article.</p></body></html>"""


def blob_of(account: pds_server.Account, ref: dict[str, Any]) -> bytes:
    cid = ref["ref"]["$link"]
    url = f"{account.service}/xrpc/com.atproto.sync.getBlob?did={account.did}&cid={cid}"
    with urllib.request.urlopen(url, timeout=30) as response:
        return bytes(response.read())


def test_a_link_becomes_a_card_with_the_pages_title_description_and_image(
    site: Deployment,
    emulator: Sandbox,
    connect: Connect,
    sleeps: Sleeps,
    account: pds_server.Account,
    article_site: str,
) -> None:
    image = pds_server.tiny_png()
    _Site.pages = {
        "/2019/10/trial": (200, "text/html; charset=utf-8", ARTICLE),
        "/images/court.png": (200, "image/png", image),
    }
    link = f"{article_site}/2019/10/trial"
    site.post("a", f"title: Trial\nurl: {link}\napproved: true\n")
    site.post("b", f"title: Gone\nurl: {article_site}/gone\napproved: true\npriority: -1\n")
    tick(site, account, connect, sleeps)
    tick(site, account, connect, sleeps, datetime(2026, 1, 5, 13, 5, tzinfo=UTC))
    card_post, plain_post = stored(account)
    external = card_post["value"]["embed"]["external"]
    assert card_post["value"]["embed"]["$type"] == "app.bsky.embed.external"
    assert (external["uri"], external["title"], external["description"]) == (
        link,
        "Albania – the MEK trial",
        "Families came from Iran to hear the case.",
    )
    assert external["thumb"]["mimeType"] == "image/png"
    assert blob_of(account, external["thumb"]) == image  # the page's picture, uploaded
    # a page that cannot be fetched: the post goes out all the same, its link clickable
    assert "embed" not in plain_post["value"]
    (facet,) = plain_post["value"]["facets"]
    assert facet["features"][0]["uri"] == f"{article_site}/gone"


def test_an_image_goes_with_its_alt_text_and_no_card(
    site: Deployment,
    emulator: Sandbox,
    connect: Connect,
    sleeps: Sleeps,
    account: pds_server.Account,
    article_site: str,
) -> None:
    image = pds_server.tiny_png()
    _Site.pages = {"/a": (200, "text/html", ARTICLE)}
    site.write("media/court.png", image)
    alt = "Families outside the court in Tirana, Albania"
    site.post(
        "a",
        f"title: Trial\nurl: {article_site}/a\napproved: true\n"
        f"image: {{path: media/court.png, alt: {alt!r}}}\n",
    )
    tick(site, account, connect, sleeps)
    (record,) = stored(account)
    embed = record["value"]["embed"]
    assert embed["$type"] == "app.bsky.embed.images"  # images or a card, never both
    (picture,) = embed["images"]
    assert picture["alt"] == alt
    assert blob_of(account, picture["image"]) == image


# --- two networks, one of them unable: nothing lost, nothing twice, the other goes on --------


def only_x(site: Deployment, connect: Connect, now: datetime) -> RunReport:
    """A run whose Bluesky credentials are not set."""
    return run(load_config(site.root), now, accounts=on_x(connect), link_card=local_card)


def test_caps_and_gaps_count_posts_not_copies(
    site: Deployment,
    emulator: Sandbox,
    connect: Connect,
    sleeps: Sleeps,
    account: pds_server.Account,
) -> None:
    site.write(
        "config/bot.yaml",
        CONFIG.replace("daily: ['09:00', '13:00']", "daily: ['09:00', '13:00', '18:00']").replace(
            "schedule:\n", "schedule:\n  max_per_day: 2\n"
        ),
    )
    for name in ("a", "b", "c"):
        site.post(name, f"title: {name}\nurl: https://example.org/{name}\napproved: true\n")
    for hour in (9, 13, 18):
        tick(site, account, connect, sleeps, datetime(2026, 1, 5, hour, 5, tzinfo=UTC))
    # two posts a day, each on both networks: four copies, and c waits for tomorrow
    assert [p["text"] for p in posts_on(emulator)] == [
        "a https://example.org/a",
        "b https://example.org/b",
    ]
    assert [r["value"]["text"] for r in stored(account)] == [
        "a https://example.org/a",
        "b https://example.org/b",
    ]


def test_a_network_without_credentials_is_told_once_and_its_copy_goes_out_when_they_are_set(
    site: Deployment,
    emulator: Sandbox,
    connect: Connect,
    sleeps: Sleeps,
    account: pds_server.Account,
    cli: Callable[..., Result],
) -> None:
    site.post("a", "title: Story\nurl: https://example.org/a\napproved: true\n")
    first = only_x(site, connect, AT_SLOT)
    assert first.problems == [
        "bluesky: credentials are not set: BLUESKY_HANDLE and BLUESKY_APP_PASSWORD are "
        "missing; put them in .env or the environment (see README: credentials)"
    ]
    assert [p["text"] for p in posts_on(emulator)] == ["Story https://example.org/a"]
    log = cli("--root", site.root, "log").out.splitlines()
    assert log[0].endswith(
        "retrying   bluesky  a  (attempts: 0)  credentials are not set: BLUESKY_HANDLE and "
        "BLUESKY_APP_PASSWORD are missing; put them in .env or the environment (see README: "
        "credentials)"
    )
    again = only_x(site, connect, datetime(2026, 1, 5, 9, 10, tzinfo=UTC))
    assert again.problems == []  # told once
    assert len(again.persisting) == 1
    # the credentials are set: the next run, not a slot, sends Bluesky's copy, and X's not again
    later = tick(site, account, connect, sleeps, datetime(2026, 1, 5, 10, 0, tzinfo=UTC))
    assert [r["value"]["text"] for r in stored(account)] == ["Story https://example.org/a"]
    assert len(posts_on(emulator)) == 1
    assert later.cleared == [first.problems[0]]


def test_a_run_that_dies_between_networks_still_owes_the_second_its_copy(
    site: Deployment,
    emulator: Sandbox,
    connect: Connect,
    sleeps: Sleeps,
    account: pds_server.Account,
) -> None:
    class Killed(BaseException):
        """The process dies here (a SIGKILL cannot be caught; this stands for it)."""

    def dies(budget: RetryBudget) -> BlueskyNetwork:
        raise Killed

    site.post("a", "title: Story\nurl: https://example.org/a\napproved: true\n")
    with pytest.raises(Killed):
        run(
            load_config(site.root),
            AT_SLOT,
            accounts={**on_x(connect), "bluesky": Account(dies)},
            link_card=local_card,
        )
    assert len(posts_on(emulator)) == 1  # X's copy went out before the run died
    tick(site, account, connect, sleeps, datetime(2026, 1, 5, 9, 10, tzinfo=UTC))
    assert [r["value"]["text"] for r in stored(account)] == ["Story https://example.org/a"]
    assert len(posts_on(emulator)) == 1


@pytest.mark.parametrize(
    "change", ["networks: [x]", "approved: false", "expires: 2026-01-05 09:30"]
)
def test_a_waiting_copy_goes_only_while_its_post_still_goes_there(
    site: Deployment,
    emulator: Sandbox,
    connect: Connect,
    sleeps: Sleeps,
    account: pds_server.Account,
    cli: Callable[..., Result],
    change: str,
) -> None:
    site.post("a", "title: Story\nurl: https://example.org/a\napproved: true\n")
    only_x(site, connect, AT_SLOT)  # Bluesky's copy waits for its credentials
    field = change.split(":", maxsplit=1)[0]
    content = "title: Story\nurl: https://example.org/a\napproved: true\n"
    if field == "approved":
        content = content.replace("approved: true", change)
    else:
        content += change + "\n"
    site.post("a", content)
    tick(site, account, connect, sleeps, datetime(2026, 1, 5, 10, 0, tzinfo=UTC))
    assert stored(account) == []
    log = cli("--root", site.root, "log", "--network", "bluesky").out
    if field == "expires":
        assert log.endswith(
            "failed     bluesky  a  (attempts: 0)  expired unpublished on Bluesky at 2026-01-05 "
            "09:30 GMT; to publish it there, change expires: and run `interlink-bot retry a`\n"
        )
        return
    # withdrawn: kept, not sent, and it goes when the editor changes it back
    assert "retrying   bluesky  a  (attempts: 0)  credentials are not set" in log
    site.post("a", "title: Story\nurl: https://example.org/a\napproved: true\n")
    tick(site, account, connect, sleeps, datetime(2026, 1, 5, 10, 30, tzinfo=UTC))
    assert [r["value"]["text"] for r in stored(account)] == ["Story https://example.org/a"]
    assert len(posts_on(emulator)) == 1


def test_a_post_whose_only_network_takes_nothing_now_does_not_hold_up_the_others(
    site: Deployment, emulator: Sandbox, connect: Connect
) -> None:
    site.post(
        "a",
        "title: First\nurl: https://example.org/a\napproved: true\npriority: 5\n"
        "networks: [bluesky]\n",
    )
    site.post("b", "title: Second\nurl: https://example.org/b\napproved: true\n")
    only_x(site, connect, AT_SLOT)
    assert [p["text"] for p in posts_on(emulator)] == ["Second https://example.org/b"]


def test_a_skipped_post_keeps_its_place_for_when_its_network_takes_posts_again(
    site: Deployment,
    emulator: Sandbox,
    connect: Connect,
    sleeps: Sleeps,
    account: pds_server.Account,
) -> None:
    site.post(
        "a",
        "title: First\nurl: https://example.org/a\napproved: true\npriority: 5\n"
        "networks: [bluesky]\n",
    )
    site.post("b", "title: Second\nurl: https://example.org/b\napproved: true\n")
    only_x(site, connect, AT_SLOT)  # b takes the slot on X
    # Bluesky is back: b's copy owed from its turn, then a at the next slot, first in line
    tick(site, account, connect, sleeps, datetime(2026, 1, 5, 13, 5, tzinfo=UTC))
    assert [r["value"]["text"] for r in stored(account)] == [
        "Second https://example.org/b",
        "First https://example.org/a",
    ]
    assert [p["text"] for p in posts_on(emulator)] == ["Second https://example.org/b"]


def test_a_run_dying_while_the_first_networks_answer_is_unknown_still_owes_the_second(
    site: Deployment,
    emulator: Sandbox,
    connect: Connect,
    sleeps: Sleeps,
    account: pds_server.Account,
) -> None:
    site.post("a", "title: Story\nurl: https://example.org/a\napproved: true\n")
    config = load_config(site.root)
    ledger = Ledger.open(config.paths.state)
    text = "Story https://example.org/a"
    copies = [Copy("a", "x"), Copy("a", "bluesky")]
    ledger.queue_copies(
        copies, {"x": text, "bluesky": text}, AT_SLOT, url="https://example.org/a", slot=None
    )
    ledger.begin(copies[0], 0, text, AT_SLOT, url="https://example.org/a")  # then killed
    ledger.close()
    script(emulator, *["503"] * 6)  # and X is down when the next run resolves it
    tick(site, account, connect, sleeps, datetime(2026, 1, 5, 11, 0, tzinfo=UTC))  # no slot
    assert [r["value"]["text"] for r in stored(account)] == [text]
    assert posts_on(emulator) == []


# --- sessions and refusals ----------------------------------------------------------------


def test_a_session_the_pds_no_longer_takes_is_replaced_by_one_new_login(
    site: Deployment,
    emulator: Sandbox,
    connect: Connect,
    sleeps: Sleeps,
    proxy: PdsProxy,
    account: pds_server.Account,
) -> None:
    through_proxy = through(proxy, account)
    site.post("a", "title: First\nurl: https://example.org/a\napproved: true\n")
    tick(site, account=through_proxy, connect=connect, sleeps=sleeps)
    assert proxy.calls["com.atproto.server.createSession"] == 1
    # the next run takes the kept session, however BLUESKY_HANDLE is capitalised
    site.post("z", "title: Kept\nurl: https://example.org/z\napproved: true\npriority: -9\n")
    shouted = replace(through_proxy, handle=account.handle.upper())
    tick(site, shouted, connect, sleeps, datetime(2026, 1, 5, 9, 10, tzinfo=UTC))
    tick(site, shouted, connect, sleeps, datetime(2026, 1, 5, 13, 5, tzinfo=UTC))
    assert len(stored(account)) == 2
    assert proxy.calls["com.atproto.server.createSession"] == 1
    session = site.root / "state" / "bluesky-session"
    kept = session.read_text().split(":::")
    header, payload, signature = kept[2].split(".")  # the access token, its signature spoilt
    kept[2] = f"{header}.{payload}.{signature[::-1]}"
    session.write_text(":::".join(kept))
    site.post("b", "title: Second\nurl: https://example.org/b\napproved: true\n")
    later = tick(site, through_proxy, connect, sleeps, datetime(2026, 1, 6, 9, 5, tzinfo=UTC))
    assert later.problems == []
    assert [r["value"]["text"] for r in stored(account)] == [
        "First https://example.org/a",
        "Kept https://example.org/z",
        "Second https://example.org/b",
    ]
    assert proxy.calls["com.atproto.server.createSession"] == 2  # one new login, no more
    assert session.read_text().split(":::")[2] != kept[2]  # the new session is kept


def test_a_refused_app_password_is_told_once_and_the_post_waits_for_bluesky(
    site: Deployment,
    emulator: Sandbox,
    connect: Connect,
    sleeps: Sleeps,
    account: pds_server.Account,
    cli: Callable[..., Result],
) -> None:
    site.post("a", "title: Story\nurl: https://example.org/a\napproved: true\n")
    wrong = replace(account, app_password="not-the-app-password")
    first = tick(site, wrong, connect, sleeps)
    assert len(first.problems) == 1
    assert first.problems[0].startswith("bluesky: Bluesky refused the login (401")
    assert first.problems[0].endswith(
        "check BLUESKY_HANDLE and BLUESKY_APP_PASSWORD; make a new app password in Settings → "
        "Privacy and security → App passwords if it was revoked"
    )
    assert "not-the-app-password" not in "\n".join([*first.done, *first.problems])
    assert len(posts_on(emulator)) == 1  # X is not held up
    again = tick(site, wrong, connect, sleeps, datetime(2026, 1, 5, 9, 10, tzinfo=UTC))
    assert again.problems == []  # told once
    fixed = tick(site, account, connect, sleeps, datetime(2026, 1, 5, 9, 15, tzinfo=UTC))
    assert [r["value"]["text"] for r in stored(account)] == ["Story https://example.org/a"]
    assert fixed.cleared == first.problems
    assert len(posts_on(emulator)) == 1


def test_a_rehearsal_against_the_sandbox_leaves_a_real_bluesky_account_out(
    site: Deployment,
    emulator: Sandbox,
    cli: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    site.post("a", "title: Story\nurl: https://example.org/a\napproved: true\n")
    for name, value in environment(emulator, site.root).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("BLUESKY_HANDLE", "news.example.org")
    monkeypatch.setenv("BLUESKY_APP_PASSWORD", "xxxx-xxxx-xxxx-xxxx")
    # not on this machine: it may be the organisation's own PDS (TEST-NET: never reached)
    monkeypatch.setenv("BLUESKY_SERVICE", "http://192.0.2.1:9")
    ran = cli("--root", site.root, "run", "--now", "2026-01-05T09:05Z")
    mark = f"[rehearsal against {emulator.base_url}] "
    assert ran.out.splitlines() == [
        f"{mark}published a on X: https://x.com/i/web/status/1850000000000000001",
        f"{mark}Bluesky is left out of this rehearsal: it would publish for real; point "
        "BLUESKY_SERVICE at a stand-in on this machine to include it",
    ]
    assert [p["text"] for p in posts_on(emulator)] == ["Story https://example.org/a"]
    assert not (site.root / "state" / "ledger.sqlite3").exists()  # the real records: untouched
    assert not (site.root / "state" / "bluesky-session").exists()


def test_a_rate_limit_is_waited_out_within_the_runs_budget_and_5xx_is_retried(
    site: Deployment,
    emulator: Sandbox,
    connect: Connect,
    sleeps: Sleeps,
    proxy: PdsProxy,
    account: pds_server.Account,
) -> None:
    through_proxy = through(proxy, account)
    reset = int(BLUESKY_NOW) + 20
    proxy.answer(
        "com.atproto.repo.createRecord",
        429,
        {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
        {"ratelimit-limit": "5000", "ratelimit-remaining": "0", "ratelimit-reset": str(reset)},
    )
    proxy.answer("com.atproto.repo.createRecord", 502, {"error": "UpstreamFailure", "message": "x"})
    site.post("a", "title: Story\nurl: https://example.org/a\napproved: true\n")
    report = tick(site, through_proxy, connect, sleeps)
    assert report.problems == []
    (record,) = stored(account)  # after the 429 and the 502, one post
    assert record["value"]["text"] == "Story https://example.org/a"
    # it waited for the reset and a second more (never for real), then backed off once
    assert sleeps[0] == 21.0
    assert len(sleeps) == 2
