"""Mastodon as the third network (issue 12), judged by a real Mastodon API server
(tests/mastodon_server.py: PyPI's mastodon-mock, a process of its own on 127.0.0.1) and by
what it stored (the account's statuses, read with urllib), never by what the bot says it did.
tests/mastodon_proxy.py stands in front of it for what the mock cannot be made to do: hold a
request while the bot is killed, answer a 429, 5xx or 422, process media asynchronously,
advertise other limits.

How the mock differs from Mastodon, and what that means here (its smoke test pins each down):
it keeps an Idempotency-Key for ever, where Mastodon keeps it an hour, so the tests of the
look-up path prove it by the proxy's counts of requests, not by what was stored; and it counts
a status's length with len() against a constant 500, so the test of shortening checks the
text against Mastodon's documented rule (grapheme clusters, every URL 23), not against the
mock's verdict. Skipped without mastodon-mock.
"""

from __future__ import annotations

import html
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path
from typing import Any

import pytest
import regex
from mastodon import Mastodon

from bot.config import load_config
from bot.ledger import Copy, Ledger
from bot.networks import Outgoing, counting_of
from bot.networks.mastodon import COUNTING, INSTANCE_FILE, counting, kept_limits
from bot.networks.mastodon.client import MastodonNetwork, comparable, open_network, plain_text
from bot.networks.mastodon.text import at_most, measure, prefix_lengths
from bot.networks.x.sandbox import Sandbox
from bot.retries import RetryBudget
from bot.runner import Account, RunReport, run
from tests import mastodon_server
from tests.conftest import Deployment, Result, Sleeps, environment, posts_on, serving
from tests.mastodon_proxy import MastodonProxy
from tests.pds_server import tiny_png

pytestmark = pytest.mark.skipif(
    not mastodon_server.installed(),
    reason="mastodon-mock is not installed: .venv/bin/pip install mastodon-mock",
)

AT_SLOT = datetime(2026, 1, 5, 9, 5, tzinfo=UTC)
NEXT_SLOT = datetime(2026, 1, 5, 13, 5, tzinfo=UTC)
CONFIG = (
    "timezone: Europe/London\nschedule:\n  slots:\n    daily: ['09:00', '13:00']\n"
    "networks:\n  mastodon: {}\n"
)
STORY = "title: Story\nurl: https://example.org/a\napproved: true\n"
STATUSES = "POST /api/v1/statuses"
_names = count(1)


class Clock:
    """Real time, standing still unless a test moves it: the instance keeps keys and rate
    limits by real time, and the client reads its own (injected) clock for both."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def instance() -> Iterator[mastodon_server.Mastodon]:
    with mastodon_server.running_mastodon() as running:
        yield running


@pytest.fixture
def newsroom(instance: mastodon_server.Mastodon) -> mastodon_server.Account:
    """A fresh account per test, so each test's statuses are its own."""
    return mastodon_server.create_account(instance.url, f"newsroom{next(_names)}")


@pytest.fixture
def proxy(instance: mastodon_server.Mastodon) -> Iterator[MastodonProxy]:
    running = MastodonProxy(instance.url)
    with serving(running):
        yield running


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def site(deployment: Deployment) -> Deployment:
    deployment.write("config/bot.yaml", CONFIG)
    return deployment


def tick(
    site: Deployment,
    url: str,
    account: mastodon_server.Account,
    sleeps: Sleeps,
    clock: Clock,
    now: datetime = AT_SLOT,
    budget: RetryBudget | None = None,
) -> RunReport:
    """One run through the runner, Mastodon reached at ``url`` (the instance or the proxy),
    with the test's sleep and clock (so nothing waits for real)."""
    config = load_config(site.root)

    def mastodon(run_budget: RetryBudget) -> MastodonNetwork:
        return open_network(
            api_base_url=url,
            access_token=account.access_token,
            budget=run_budget,
            state=config.paths.state,
            settings=config.networks["mastodon"],
            sleep=sleeps,
            clock=clock,
            elapsed=clock,
        )

    return run(config, now, accounts={"mastodon": Account(mastodon)}, budget=budget)


def stored(account: mastodon_server.Account) -> list[dict[str, Any]]:
    """The account's statuses as the server keeps them, oldest first."""
    return list(reversed(mastodon_server.list_statuses(account.url, account.access_token)))


def text_of(status: dict[str, Any]) -> str:
    """A status's text as a reader sees it: its HTML without tags, entities decoded (the
    mock shows a link's address as its text)."""
    content = status["content"].replace("<br />", "\n")
    return html.unescape(re.sub(r"<[^>]+>", "", content))


def ledger_of(site: Deployment, endpoint: str | None = None) -> Ledger:
    return Ledger.open(load_config(site.root).paths.state, endpoint)


def log_lines(cli: Callable[..., Result], site: Deployment) -> list[dict[str, Any]]:
    return [json.loads(line) for line in cli("--root", site.root, "log", "--json").out.splitlines()]


# --- publishing: once, as configured, in a thread, with its image ----------------------------


def test_a_post_goes_out_once_and_log_names_the_status(
    site: Deployment,
    instance: mastodon_server.Mastodon,
    newsroom: mastodon_server.Account,
    sleeps: Sleeps,
    clock: Clock,
    cli: Callable[..., Result],
) -> None:
    site.post("a", STORY)
    report = tick(site, instance.url, newsroom, sleeps, clock)
    assert report.problems == []
    (status,) = stored(newsroom)
    assert text_of(status) == "Story https://example.org/a"
    assert (status["visibility"], status["language"], status["in_reply_to_id"]) == (
        "public",
        None,
        None,
    )
    (line,) = log_lines(cli, site)
    assert (line["network"], line["status"], line["remote_id"], line["url"]) == (
        "mastodon",
        "published",
        status["id"],
        status["url"],
    )
    assert (line["tweet_id"], line["tweet_url"], line["cost_usd"]) == (None, None, None)
    again = tick(site, instance.url, newsroom, sleeps, clock, AT_SLOT + timedelta(minutes=5))
    assert again.problems == []
    assert len(stored(newsroom)) == 1
    assert sleeps == []


def test_visibility_and_language_from_the_config_reach_the_instance(
    site: Deployment,
    instance: mastodon_server.Mastodon,
    newsroom: mastodon_server.Account,
    sleeps: Sleeps,
    clock: Clock,
) -> None:
    site.write(
        "config/bot.yaml",
        CONFIG.replace("mastodon: {}", "mastodon: {visibility: unlisted, language: fa}"),
    )
    site.post("a", "title: خبر\nurl: https://example.org/fa\napproved: true\n")
    tick(site, instance.url, newsroom, sleeps, clock)
    (status,) = stored(newsroom)  # the owner's token sees its unlisted statuses too
    assert (status["visibility"], status["language"]) == ("unlisted", "fa")


def test_a_thread_is_chained_by_in_reply_to_id(
    site: Deployment,
    instance: mastodon_server.Mastodon,
    newsroom: mastodon_server.Account,
    sleeps: Sleeps,
    clock: Clock,
) -> None:
    site.post("t", STORY + "thread: ['second part', 'third part']\n")
    tick(site, instance.url, newsroom, sleeps, clock)
    first, second, third = stored(newsroom)
    assert [text_of(s) for s in (first, second, third)] == [
        "Story https://example.org/a",
        "second part",
        "third part",
    ]
    assert [s["in_reply_to_id"] for s in (first, second, third)] == [
        None,
        first["id"],
        second["id"],
    ]


def test_an_image_goes_with_its_alt_text_once_the_instance_has_processed_it(
    site: Deployment,
    proxy: MastodonProxy,
    newsroom: mastodon_server.Account,
    sleeps: Sleeps,
    clock: Clock,
) -> None:
    image = tiny_png()
    site.write("media/court.png", image)
    alt = "Families outside the court in Tirana, Albania"
    site.post("a", STORY + f"image: {{path: media/court.png, alt: {alt!r}}}\n")
    # as a real instance: 202 with url null, then 206 twice while it is processed
    proxy.delay_media(polls=2)
    report = tick(site, proxy.url, newsroom, sleeps, clock)
    assert report.problems == [], report.done
    (status,) = stored(newsroom)
    (attachment,) = status["media_attachments"]
    assert (attachment["description"], attachment["type"]) == (alt, "image")
    # polled until it was ready (waiting between polls, never for real), then attached once:
    # never the 422 a status attaching unprocessed media gets
    assert proxy.count("GET /api/v1/media") == 3
    assert len(sleeps) == 2
    assert proxy.calls[STATUSES] == 1
    assert [seen.route for seen in proxy.seen].count(STATUSES) == 1


# --- the instance's own limits ----------------------------------------------------------------

# A summary whose words hold graphemes of several code points: flags (two regional
# indicators), a family (seven code points joined by ZWJ), a letter with a combining mark that
# has no precomposed form (NFC keeps it two code points).
SUMMARY = " ".join(["Families 🇮🇷🇦🇱 came from Iran and Albania", "👨‍👩‍👧‍👦 to hear q̃ the case"] * 12)
LONG_URL = "https://example.org/2026/01/" + "the-mek-trial-in-tirana-" * 3 + "and-what-it-means"


def mastodon_length(text: str, url: str) -> int:
    """Mastodon's StatusLengthValidator, for a text whose only URL is ``url``: grapheme
    clusters, the URL as 23 characters. Independent of the bot's own counting."""
    assert text.count(url) == 1
    return len(regex.findall(r"\X", text.replace(url, "x" * 23)))


def test_a_post_is_shortened_to_the_instances_own_limit_as_mastodon_counts(
    site: Deployment,
    proxy: MastodonProxy,
    newsroom: mastodon_server.Account,
    sleeps: Sleeps,
    clock: Clock,
    cli: Callable[..., Result],
) -> None:
    proxy.limits(max_characters=200, description_limit=420)
    site.post(
        "a",
        f"title: The MEK trial\nsource: NPO Radio\nsummary: {SUMMARY}\nurl: {LONG_URL}\n"
        "approved: true\n",
    )
    report = tick(site, proxy.url, newsroom, sleeps, clock)
    assert report.problems == [], report.done
    (status,) = stored(newsroom)
    text = text_of(status)
    head, _, tail = text.partition(": ")
    summary, _, url = tail.rpartition(" ")
    assert (head, url) == ("The MEK trial — NPO Radio", LONG_URL)  # the URL whole
    assert summary.endswith("…")
    kept = regex.findall(r"\X", summary.removesuffix("…").rstrip())
    assert kept == regex.findall(r"\X", SUMMARY)[: len(kept)]  # no grapheme split
    # within the instance's 200 as Mastodon counts, and using the room it gives: by len()
    # (the mock's way) it is far longer
    assert 185 <= mastodon_length(text, LONG_URL) <= 200 < len(text)
    assert measure(text) == mastodon_length(text, LONG_URL)

    limits = kept_limits(site.root / "state")
    assert limits is not None
    assert (limits.url, limits.max_characters, limits.characters_reserved_per_url) == (
        proxy.url,
        200,
        23,
    )
    assert limits.description_limit == 420
    assert proxy.count("GET /api/v2/instance") == 1
    # kept: the next run (within a day) asks the instance nothing about its limits
    site.post("b", "title: Next\nurl: https://example.org/b\napproved: true\n")
    tick(site, proxy.url, newsroom, sleeps, clock, NEXT_SLOT)
    assert len(stored(newsroom)) == 2
    assert proxy.count("GET /api/v2/instance") == 1
    assert proxy.count("GET /api/v1/instance") == 0
    # offline, preview and check count with them, and say whose they are
    host = proxy.url.removeprefix("http://")
    source = f"the limits of {host} read "
    shown = cli("--root", site.root, "preview", "a")
    assert f"{mastodon_length(text, LONG_URL)}/200" in shown.out
    assert source in shown.out + shown.err
    checked = cli("--root", site.root, "check")
    assert f"mastodon: counted with {source}" in checked.err
    assert "(200 characters, links 23)" in checked.err
    # a day later they are read again
    clock.now += timedelta(days=1, minutes=1).total_seconds()
    site.post("c", "title: Later\nurl: https://example.org/c\napproved: true\n")
    tick(site, proxy.url, newsroom, sleeps, clock, AT_SLOT + timedelta(days=1))
    assert proxy.count("GET /api/v2/instance") == 2
    assert len(stored(newsroom)) == 3


def test_limits_the_instance_will_not_give_leave_the_run_going_with_the_defaults(
    site: Deployment,
    proxy: MastodonProxy,
    newsroom: mastodon_server.Account,
    sleeps: Sleeps,
    clock: Clock,
) -> None:
    # what a rehearsal against another instance kept: larger limits than this one's may be
    other = {
        "url": "http://127.0.0.1:1",
        "read_at": "2026-01-05T09:00:00+00:00",
        "max_characters": 1000,
        "characters_reserved_per_url": 23,
        "description_limit": 1500,
        "image_size_limit": 16777216,
    }
    site.write(f"state/{INSTANCE_FILE}", json.dumps(other))
    assert counting_of("mastodon", site.root / "state").limit == 1000
    proxy.answer("GET /api/v2/instance", 503, b"<html>down for maintenance</html>")
    site.post("a", STORY)
    report = tick(site, proxy.url, newsroom, sleeps, clock)
    assert report.problems == []
    assert len(stored(newsroom)) == 1
    assert not (site.root / "state" / INSTANCE_FILE).exists()  # read again by the next run
    assert counting_of("mastodon", site.root / "state") is COUNTING


# --- exactly once, whatever moment the run is killed at (SPEC: Publishing guarantees) --------

RUN = [sys.executable, "-m", "bot", "run", "--now"]
KILLED_AT = {
    # the route the proxy holds while the run is killed, and whether the server got it
    "before-the-instance-saw-the-status": (STATUSES, False),
    "after-the-instance-made-the-status": (STATUSES, True),
    "while-the-image-was-uploaded": ("POST /api/v2/media", True),
    "while-the-image-was-processed": ("GET /api/v1/media", True),
}


@pytest.mark.parametrize("moment", list(KILLED_AT))
def test_a_run_killed_at_any_moment_leaves_exactly_one_status(
    deployment: Deployment,
    proxy: MastodonProxy,
    newsroom: mastodon_server.Account,
    cli: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
    moment: str,
) -> None:
    route, server_got_it = KILLED_AT[moment]
    with_image = "media" in route
    deployment.write("config/bot.yaml", CONFIG)
    post = STORY
    if with_image:
        deployment.write("media/dot.png", tiny_png())
        post += "image: {path: media/dot.png, alt: A red dot}\n"
        if "processed" in moment:
            proxy.delay_media(polls=1)  # the held poll is the one that would say "not yet"
    deployment.post("a", post)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "BOT_ROOT": str(deployment.root),
        "MASTODON_API_BASE_URL": proxy.url,
        "MASTODON_ACCESS_TOKEN": newsroom.access_token,
    }
    for name in ("MASTODON_API_BASE_URL", "MASTODON_ACCESS_TOKEN"):
        monkeypatch.setenv(name, env[name])  # the in-process runs below: this rehearsal's
    proxy.hold(route, after_forwarding=server_got_it)
    first = subprocess.Popen(
        [*RUN, "2026-01-05T09:05Z"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        assert proxy.held.wait(timeout=60), "the run never made the request"
        first.send_signal(signal.SIGKILL)
    finally:
        first.wait(timeout=60)
        proxy.release()
    assert first.returncode == -signal.SIGKILL
    made = 1 if route == STATUSES and server_got_it else 0
    assert len(stored(newsroom)) == made
    assert "pending    mastodon  a" in cli("--root", deployment.root, "log").out

    second = cli("--root", deployment.root, "run", "--now", "2026-01-05T09:10Z")
    assert second.status == 0, second.err
    (status,) = stored(newsroom)
    assert text_of(status) == "Story https://example.org/a"
    # a server on this machine is a stand-in: its records are a rehearsal's, apart
    ledger = ledger_of(deployment, proxy.url)
    try:
        (row,) = ledger.records()
    finally:
        ledger.close()
    assert (row.status, row.remote_id, row.remote_url) == ("published", status["id"], status["url"])
    # every status request carried the key stored before the first one
    keys = {seen.headers.get("Idempotency-Key") for seen in proxy.seen if seen.route == STATUSES}
    assert keys == {row.token}
    assert row.token is not None
    assert row.token.startswith("interlink-")
    # the instance saw a second status request only where it had made the first: answered
    # by the key with the same status
    assert proxy.calls[STATUSES] == 1 + made
    if with_image:
        (attachment,) = status["media_attachments"]
        assert attachment["description"] == "A red dot"
        # an upload whose answer was lost is made again; one the ledger kept is reused
        uploads = proxy.count("POST /api/v2/media")
        assert uploads == (1 if "processed" in moment else 2)
    later = cli("--root", deployment.root, "run", "--now", "2026-01-05T13:05Z")
    assert later.status == 0, later.err
    assert len(stored(newsroom)) == 1


@pytest.mark.parametrize("created", [True, False], ids=["it-went-out", "it-never-arrived"])
def test_an_unknown_outcome_older_than_the_key_is_resolved_from_the_recent_statuses(
    site: Deployment,
    proxy: MastodonProxy,
    newsroom: mastodon_server.Account,
    sleeps: Sleeps,
    clock: Clock,
    created: bool,
) -> None:
    # A run chose the key, stored it, sent the status and was killed two hours ago: the
    # instance made the status (or never got the request) and, by now, has forgotten the key.
    site.post("a", STORY)
    text = "Story https://example.org/a"
    key = f"interlink-{int(clock.now)}-00c0ffee00c0ffee"
    ledger = ledger_of(site)
    ledger.begin(Copy("a", "mastodon"), 0, text, AT_SLOT, token=key)
    ledger.close()
    if created:
        sent = Mastodon(api_base_url=newsroom.url, version_check_mode="none")
        sent.access_token = newsroom.access_token
        sent.status_post(text, idempotency_key=key)
    clock.now += timedelta(hours=2).total_seconds()
    report = tick(site, proxy.url, newsroom, sleeps, clock, AT_SLOT + timedelta(hours=2))
    assert report.problems == [], report.done
    (status,) = stored(newsroom)
    ledger = ledger_of(site)
    try:
        (row,) = ledger.records()
        requests = [(a.kind, a.outcome) for a in reversed(ledger.attempts())]
    finally:
        ledger.close()
    assert (row.status, row.remote_id) == ("published", status["id"])
    # The mock keeps keys for ever, so a resend would also have found the status: that the
    # recent statuses were read first, and nothing was sent when it was there, is what the
    # proxy saw.
    assert proxy.count(f"GET /api/v1/accounts/{newsroom.account_id}/statuses") == 1
    assert proxy.calls[STATUSES] == (0 if created else 1)
    looked = [("lookup", "ok"), ("lookup", "ok")]  # the account, then its statuses
    assert requests == (looked if created else [*looked, ("post", "ok")])


def test_an_unknown_outcome_within_the_hour_is_resolved_by_its_key_alone(
    site: Deployment,
    proxy: MastodonProxy,
    newsroom: mastodon_server.Account,
    sleeps: Sleeps,
    clock: Clock,
) -> None:
    site.post("a", STORY)
    text = "Story https://example.org/a"
    key = f"interlink-{int(clock.now)}-00c0ffee00c0ffee"
    ledger = ledger_of(site)
    ledger.begin(Copy("a", "mastodon"), 0, text, AT_SLOT, token=key)
    ledger.close()
    first = Mastodon(api_base_url=newsroom.url, version_check_mode="none")
    first.access_token = newsroom.access_token
    made = first.status_post(text, idempotency_key=key)
    clock.now += timedelta(minutes=10).total_seconds()
    tick(site, proxy.url, newsroom, sleeps, clock, AT_SLOT + timedelta(minutes=10))
    (status,) = stored(newsroom)
    assert status["id"] == str(made["id"])
    assert proxy.calls[STATUSES] == 1  # sent again with its key: the same status came back
    assert proxy.count(f"GET /api/v1/accounts/{newsroom.account_id}/statuses") == 0


# --- refusals and outages: each told once, nothing held up --------------------------------


def rehearsal_env(monkeypatch: pytest.MonkeyPatch, url: str, token: str) -> None:
    monkeypatch.setenv("MASTODON_API_BASE_URL", url)
    monkeypatch.setenv("MASTODON_ACCESS_TOKEN", token)


def test_a_status_the_instance_refuses_fails_and_is_named_once(
    site: Deployment,
    proxy: MastodonProxy,
    newsroom: mastodon_server.Account,
    cli: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rehearsal_env(monkeypatch, proxy.url, newsroom.access_token)
    site.post("a", STORY)
    site.post("b", "title: Next\nurl: https://example.org/b\napproved: true\n")
    refusal = "Validation failed: Text is too long (maximum is 500 characters)"
    proxy.answer(STATUSES, 422, {"error": refusal})
    first = cli("--root", site.root, "run", "--now", "2026-01-05T09:05Z")
    assert first.status == 1
    assert f"Mastodon refused the status (422: {refusal})" in first.err
    # a post that fails for good gives its turn to the next one
    assert [text_of(s) for s in stored(newsroom)] == ["Next https://example.org/b"]
    (line,) = [line for line in log_lines(cli, site) if line["post_id"] == "a"]
    assert line["status"] == "failed"
    assert f"(422: {refusal})" in line["error"]
    later = cli("--root", site.root, "run", "--now", "2026-01-05T13:05Z")
    assert later.status == 0, later.err
    assert refusal not in later.err  # told once: later runs only repeat it on stdout
    assert len(stored(newsroom)) == 1
    assert proxy.calls[STATUSES] == 1  # b's: a failed post is not sent again until `retry`


def test_a_refused_token_is_told_once_and_the_post_waits_while_x_goes_out(
    site: Deployment,
    instance: mastodon_server.Mastodon,
    newsroom: mastodon_server.Account,
    emulator: Sandbox,
    cli: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    site.write("config/bot.yaml", CONFIG.replace("  mastodon: {}", "  x: {}\n  mastodon: {}"))
    site.post("a", STORY)
    for name, value in environment(emulator, site.root).items():
        monkeypatch.setenv(name, value)
    wrong = "revoked-token-0123456789abcdef"
    rehearsal_env(monkeypatch, instance.url, wrong)
    first = cli("--root", site.root, "run", "--now", "2026-01-05T09:05Z")
    assert first.status == 1
    problems = first.err.strip().splitlines()
    assert len(problems) == 1, first.err
    assert "Mastodon refused the access token (401" in problems[0]
    assert "check MASTODON_ACCESS_TOKEN" in problems[0]
    assert "write:statuses, write:media, read:accounts and read:statuses" in problems[0]
    assert "Preferences → Development → New application" in problems[0]
    assert wrong not in first.out + first.err
    assert [p["text"] for p in posts_on(emulator)] == ["Story https://example.org/a"]
    assert stored(newsroom) == []
    mastodon_line = next(line for line in log_lines(cli, site) if line["network"] == "mastodon")
    assert mastodon_line["status"] == "retrying"  # in line for when the token is fixed
    again = cli("--root", site.root, "run", "--now", "2026-01-05T09:10Z")
    assert again.status == 0
    assert again.err == ""
    rehearsal_env(monkeypatch, instance.url, newsroom.access_token)
    fixed = cli("--root", site.root, "run", "--now", "2026-01-05T09:15Z")
    assert fixed.status == 0, fixed.err
    assert [text_of(s) for s in stored(newsroom)] == ["Story https://example.org/a"]
    assert "cleared: mastodon: Mastodon refused the access token (401" in fixed.out
    assert len(posts_on(emulator)) == 1  # X's copy not sent again


def test_a_rate_limit_and_a_503_are_waited_out_within_the_runs_budget(
    site: Deployment,
    proxy: MastodonProxy,
    newsroom: mastodon_server.Account,
    sleeps: Sleeps,
    clock: Clock,
) -> None:
    proxy.rate_limit(STATUSES, datetime.fromtimestamp(clock.now + 20, UTC))
    proxy.answer(STATUSES, 503, b"<html>Service Unavailable</html>")
    site.post("a", STORY)
    report = tick(site, proxy.url, newsroom, sleeps, clock)
    assert report.problems == [], report.done
    assert len(stored(newsroom)) == 1
    assert proxy.calls[STATUSES] == 1  # the two refusals never reached the instance
    # waited for the reset (ISO 8601, as Mastodon writes it) and a second more, never for
    # real (Mastodon.py reads the reset against the server's Date, to the second), then
    # backed off once after the 503
    assert 19 <= sleeps[0] <= 23
    assert len(sleeps) == 2


def test_a_rate_limit_beyond_the_budget_holds_mastodon_until_it_resets(
    site: Deployment,
    proxy: MastodonProxy,
    newsroom: mastodon_server.Account,
    sleeps: Sleeps,
    clock: Clock,
) -> None:
    proxy.rate_limit(STATUSES, datetime.fromtimestamp(clock.now + 600, UTC))
    site.post("a", STORY)
    report = tick(site, proxy.url, newsroom, sleeps, clock)
    assert sleeps == []
    assert stored(newsroom) == []
    assert "Mastodon's rate limit was reached (429)" in "\n".join(report.done)
    assert report.problems == []  # nobody needs to act yet


# --- the counting and the client's own rules, without a server -------------------------------


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("Story https://example.org/a", 6 + 23),
        ("see https://example.org/" + "a" * 80 + ".", 4 + 23 + 1),  # the full stop is text
        ("http://127.0.0.1:8000/story and more", 36),  # no TLD: Mastodon counts it in full
        ("example.org alone", 17),  # no protocol: in full
        ("hi @alice@mastodon.social", 3 + 6),  # a mention by its username
        ("🇮🇷🇦🇱 👨‍👩‍👧‍👦 q̃", 6),  # flags, a ZWJ family, a letter and its mark
        ("https://en.wikipedia.org/wiki/Primer_(film) ok", 23 + 3),
    ],
)
def test_mastodon_counts_graphemes_and_links_as_23(text: str, length: int) -> None:
    assert measure(text) == length
    assert at_most(text) >= length
    assert prefix_lengths(text)[-1] == length
    assert len(prefix_lengths(text)) == len(text) + 1


PIECES = [
    "a",
    "word ",
    " ",
    "\n",
    ".",
    ")",
    "(",
    "https://",
    "http://",
    "gemini://",
    "example.org",
    "t.co/x",
    "127.0.0.1",
    "/path",
    "?q=1",
    "@",
    "alice",
    "@m.example",
    "🇮🇷",
    "👨‍👩‍👧",
    "q̃",
    "é",
    "\r\n",
    "xn--p1ai",
    ":8080",
    "#tag",
]


def test_the_cheap_bound_is_never_below_mastodons_count() -> None:
    shuffle = random.Random(12)  # noqa: S311 - reproducible test data, no secret
    for _ in range(3000):
        text = "".join(shuffle.choice(PIECES) for _ in range(shuffle.randrange(1, 14)))
        length = measure(text)
        assert at_most(text) >= length, text
        prefixes = prefix_lengths(text)
        assert len(prefixes) == len(text) + 1
        assert prefixes == sorted(prefixes), text  # a longer prefix never counts less
        assert abs(prefixes[-1] - length) <= 1, text


def test_the_kept_limits_file_is_taken_only_when_it_is_one(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    assert counting(state) is COUNTING  # none yet
    good = {
        "url": "https://mastodon.example",
        "read_at": "2026-12-03T09:00:00+00:00",
        "max_characters": 1000,
        "characters_reserved_per_url": 23,
        "description_limit": 1500,
        "image_size_limit": 16777216,
    }
    (state / INSTANCE_FILE).write_text(json.dumps(good))
    kept = counting(state)
    assert kept.limit == 1000
    assert kept.source == (
        "the limits of mastodon.example read 2026-12-03 09:00 UTC (1000 characters, links 23)"
    )
    assert counting(state) is kept  # read once per version of the file
    hostile = [
        "not json",
        "[]",
        json.dumps({**good, "max_characters": 0}),
        json.dumps({**good, "max_characters": "500"}),
        json.dumps({**good, "characters_reserved_per_url": 10**12}),
        json.dumps({**good, "read_at": "yesterday"}),
        json.dumps({**good, "read_at": "2026-12-03T09:00:00"}),  # no zone
        json.dumps({key: value for key, value in good.items() if key != "url"}),
        json.dumps({**good, "pad": "x" * 100_000}),
        "[" * 100_000,
    ]
    for content in hostile:
        (state / INSTANCE_FILE).write_text(content)
        assert counting(state) is COUNTING, content[:40]


def test_a_token_that_names_a_file_is_taken_as_a_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Mastodon.py reads an access_token that names an existing file from that file.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "token-abc123").write_text("another-token\nhttps://elsewhere.example\n")
    network = MastodonNetwork(
        api_base_url="mastodon.example", access_token="token-abc123", budget=RetryBudget()
    )
    assert network._api.access_token == "token-abc123"
    assert network._api.api_base_url == "https://mastodon.example"
    assert network.url == "https://mastodon.example"


def test_a_status_as_mastodon_shows_it_compares_with_the_text_that_was_sent() -> None:
    # Mastodon 4's HTML: a link shortened to 30 characters with an ellipsis, a hashtag, a
    # remote mention shown by its username, a line break, an entity.
    content = (
        '<p>Tehran &amp; Tirana: <a href="https://example.org/2026/01/the-mek-trial-in-tirana" '
        'target="_blank" rel="nofollow noopener" translate="no"><span class="invisible">https://'
        '</span><span class="ellipsis">example.org/2026/01/the-mek-tr</span><span class='
        '"invisible">ial-in-tirana</span></a> <a href="https://m.example/tags/Iran" class='
        '"mention hashtag" rel="tag">#<span>Iran</span></a><br />cc <span class="h-card" '
        'translate="no"><a href="https://m.example/@desk" class="u-url mention">@<span>desk'
        "</span></a></span></p>"
    )
    sent = (
        "Tehran & Tirana: https://example.org/2026/01/the-mek-trial-in-tirana #Iran\n"
        "cc @desk@m.example"
    )
    assert comparable(plain_text(content)) == comparable(sent)
    assert comparable(plain_text(content)) != comparable(sent.replace("Tirana:", "Tirana"))


def test_a_part_is_located_among_the_recent_statuses_by_its_text(
    instance: mastodon_server.Mastodon, newsroom: mastodon_server.Account, clock: Clock
) -> None:
    network = MastodonNetwork(
        api_base_url=instance.url,
        access_token=newsroom.access_token,
        budget=RetryBudget(),
        clock=clock,
    )
    token = network.token(AT_SLOT)
    posted = network.publish(Outgoing("Head of a thread https://example.org/t", token=token), None)
    assert network.locate(Outgoing("Head of a thread https://example.org/t", token=token)) == posted
    assert network.locate(Outgoing("Another text", token=token)) is None
    # a status with the same text made before the key was is another post's (allow_repeat)
    clock.now += timedelta(hours=1).total_seconds()
    later = network.token(AT_SLOT)
    assert network.locate(Outgoing("Head of a thread https://example.org/t", token=later)) is None


def test_alt_text_longer_than_the_instance_takes_fails_the_post_naming_the_limit(
    site: Deployment,
    proxy: MastodonProxy,
    newsroom: mastodon_server.Account,
    sleeps: Sleeps,
    clock: Clock,
    cli: Callable[..., Result],
) -> None:
    proxy.limits(description_limit=20)
    site.write("media/dot.png", tiny_png())
    site.post("a", STORY + "image: {path: media/dot.png, alt: A red dot on a white page}\n")
    report = tick(site, proxy.url, newsroom, sleeps, clock)
    host = proxy.url.removeprefix("http://")
    assert len(report.problems) == 1
    assert (
        f"its alt text is 25 characters; {host} takes at most 20 (description_limit): shorten it"
        in report.problems[0]
    )
    assert stored(newsroom) == []
    assert proxy.count("POST /api/v2/media") == 0  # refused before anything was uploaded
    (line,) = log_lines(cli, site)
    assert line["status"] == "failed"


def test_importing_the_network_leaves_mastodon_py_unloaded() -> None:
    # check, preview and the quiet tick import the folder for its counting only
    probe = (
        "import sys, bot.networks.mastodon as m; m.counting(__import__('pathlib').Path('.'));"
        "print('mastodon' in sys.modules, 'requests' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]
