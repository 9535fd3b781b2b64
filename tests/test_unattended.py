"""Left alone for weeks (issue 8): every attempt kept, one retry budget per run, rate limits
remembered, problems told once, lost answers and stale media resolved, rehearsals kept apart.

Everything runs against the X emulator over real HTTP; what is judged is what the emulator
received and what `log`, `status` and `run` say.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import load_config
from bot.ledger import Copy, Ledger
from bot.networks.x.client import Credentials, Publisher
from bot.networks.x.sandbox import Sandbox
from bot.retries import RetryBudget
from bot.runner import run
from tests.conftest import (
    KEYS,
    Clock,
    Deployment,
    Result,
    Sleeps,
    environment,
    on_x,
    posts_on,
    serving,
    titles_on,
    tweet_requests,
)
from tests.test_publisher import script
from tests.test_run import AT_SLOT, CONFIG, ledger_rows, post, tick

Connect = Callable[[Credentials], Publisher]
DATA = Path(__file__).parent / "data"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


@pytest.fixture
def site(deployment: Deployment) -> Deployment:
    deployment.write("config/bot.yaml", CONFIG)
    return deployment


def at(hour: int, minute: int = 0, day: int = 5) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=UTC)


# --- history: the attempts table -------------------------------------------------------------


def test_log_attempts_shows_every_request_with_its_outcome(
    site: Deployment, emulator: Sandbox, connect: Connect, cli: Callable[..., Result]
) -> None:
    site.post("a", post("Story"))
    script(emulator, "503", "ok")
    tick(site, connect)
    lines = cli("--root", site.root, "log", "--attempts").out.splitlines()
    assert lines == [
        "2026-01-05 09:05:00 GMT  x  a  post      ok           -",
        "2026-01-05 09:05:00 GMT  x  a  post      unknown    503  X is having trouble "
        "(503: Service Unavailable)",
    ]
    entries = [
        json.loads(line)
        for line in cli("--root", site.root, "log", "--attempts", "--json").out.splitlines()
    ]
    assert [(e["kind"], e["outcome"], e["http_status"]) for e in entries] == [
        ("post", "ok", None),
        ("post", "unknown", 503),  # a 5xx may have published it: X's duplicate answer decides
    ]
    assert set(entries[0]) == {
        "at", "post_id", "network", "part", "kind", "outcome", "http_status", "error",
    }  # fmt: skip
    assert entries[1]["error"] == "X is having trouble (503: Service Unavailable)"
    assert entries[0]["at"] == "2026-01-05T09:05:00Z"
    # log's attempts count reads from the same table
    (entry,) = [
        json.loads(line) for line in cli("--root", site.root, "log", "--json").out.splitlines()
    ]
    assert entry["attempts"] == 2 == tweet_requests(emulator)


def test_status_keeps_the_last_error_after_a_later_success(
    site: Deployment, emulator: Sandbox, connect: Connect, cli: Callable[..., Result]
) -> None:
    site.post("a", post("Story one", priority="1"))
    site.post("b", post("Story two"))
    script(emulator, "400")
    tick(site, connect)  # a refused, b published in its place
    tick(site, connect, at(13, 5))  # nothing left but a success would not erase the error
    status = cli("--root", site.root, "status", "--now", "2026-01-05T13:10Z").out
    assert "x: last success: 2026-01-05 09:05 GMT b https://x.com/i/web/status/" in status
    assert (
        "x: last error: 2026-01-05 09:05 GMT a: X rejected the post (400: One or more parameters "
        "are invalid.)" in status
    )
    assert "1 failed" in status
    assert "will not go out:\n  a: failed for good: X rejected the post (400" in status


# --- one retry budget per run, rate limits remembered ----------------------------------------


def test_one_budget_for_the_whole_run_not_per_post(
    site: Deployment, emulator: Sandbox, sleeps: Sleeps, connect: Connect
) -> None:
    site.post("a", post("Story"))
    site.post("t", post("Thread") + 'thread: ["two", "three"]\npublish_at: 2026-01-05T09:04Z\n')
    script(emulator, "ok", *["503"] * 30)  # the thread's first part goes, then X fails
    config = load_config(site.root)

    report = run(config, AT_SLOT, accounts=on_x(connect))
    assert sum(sleeps) <= 60.0  # in all, across every request and post of the run
    assert not report.needs_a_person
    assert titles_on(emulator) == ["Thread"]
    # The next run resumes the thread at its first unpublished part, then the slot post.
    with emulator.state.lock:
        emulator.state.script.clear()
    run(config, AT_SLOT + timedelta(minutes=5), accounts=on_x(connect))
    assert titles_on(emulator) == ["Thread", "two", "three", "Story"]
    texts = [p["text"] for p in posts_on(emulator)]
    assert len(texts) == len(set(texts))


def test_an_image_post_s_three_requests_share_the_run_s_one_budget(
    site: Deployment, emulator: Sandbox, sleeps: Sleeps, connect: Connect
) -> None:
    # Upload, alt text and post each meet a rate limit that resets in 55 s: a budget per
    # request would wait 3 x 56 s in one run; the run's one budget waits once.
    site.write("media/court.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    site.post("a", post("Story") + "image: {path: media/court.png, alt: The court}\n")
    script(emulator, "upload:429:55", "metadata:429:55", "429:55")
    config = load_config(site.root)
    run(config, AT_SLOT, accounts=on_x(connect))
    assert sleeps == [56.0]  # the upload's wait, to the reset plus a second
    assert sum(sleeps) <= 60.0
    assert posts_on(emulator) == []  # the rest waits for a later run
    assert ledger_rows(site)[0][:3] == ("a", 0, "retrying")


def test_a_small_budget_spent_leaves_the_rest_retrying(
    site: Deployment, emulator: Sandbox, connect: Connect, cli: Callable[..., Result]
) -> None:
    site.post("a", post("Story"))
    script(emulator, *["503"] * 10)
    config = load_config(site.root)
    report = run(config, AT_SLOT, accounts=on_x(connect), budget=RetryBudget(0))
    assert tweet_requests(emulator) == 1  # no budget: no second try in this run
    assert report.done == [
        "a: X is having trouble (503: Service Unavailable); it will be tried on the next run"
    ]
    assert ledger_rows(site) == [("a", 0, "retrying", 1)]


def test_a_rate_limit_beyond_the_budget_ends_the_run_and_is_remembered(
    site: Deployment,
    emulator: Sandbox,
    connect: Connect,
    sleeps: Sleeps,
    cli: Callable[..., Result],
    x_clock: Clock,
) -> None:
    now = datetime.fromtimestamp(x_clock(), UTC)  # X's reset is in X's time
    due_now = (now - timedelta(minutes=1)).isoformat()
    site.post("a", post("Story one", publish_at=f"'{due_now}'"))
    site.post("b", post("Story two", publish_at=f"'{due_now}'"))
    script(emulator, "429:900")  # X's 15-minute window, far beyond a minute
    report = tick(site, connect, now)
    assert sleeps == []
    assert tweet_requests(emulator) == 1  # nothing more was sent to X in this run
    assert "429" in report.done[0]
    status = cli("--root", site.root, "status", "--now", now.isoformat()).out
    assert "x: rate limited until" in status
    # The following cron runs send nothing to X before the reset (today: a 429 every run).
    for minutes in (5, 10):
        later = tick(site, connect, now + timedelta(minutes=minutes))
        assert "nothing is sent to X before then" in later.done[0]
    assert tweet_requests(emulator) == 1
    tick(site, connect, now + timedelta(minutes=16))
    assert tweet_requests(emulator) > 1


# --- told once -------------------------------------------------------------------------------


def test_a_refused_post_is_told_once_then_only_persists(
    site: Deployment, emulator: Sandbox, connect: Connect
) -> None:
    site.post("a", post("Refused story"))
    script(emulator, "400")
    first = tick(site, connect)
    assert first.needs_a_person
    second = tick(site, connect, at(9, 10))
    assert not second.needs_a_person  # the same problem, already told: exit 0
    assert second.persisting == first.problems
    assert tweet_requests(emulator) == 1  # failed for good: not sent again
    # `retry` clears it; the next run tells that it cleared
    config = load_config(site.root)
    ledger = Ledger.open(config.paths.state)
    ledger.retry("a", at(9, 12))
    ledger.close()
    third = tick(site, connect, at(9, 15))
    assert third.cleared == first.problems
    assert titles_on(emulator) == ["Refused story"]


def test_x_down_for_outage_minutes_is_a_problem_once(
    site: Deployment, emulator: Sandbox, sleeps: Sleeps, connect: Connect
) -> None:
    site.post("a", post("Story"))
    config = load_config(site.root)

    script(emulator, *["503"] * 200)
    reports = [
        run(
            config,
            at(9, 5) + timedelta(minutes=minutes),
            accounts=on_x(connect),
            budget=RetryBudget(0),
        )
        for minutes in range(0, 85, 5)
    ]
    opened = [i for i, report in enumerate(reports) if report.needs_a_person]
    assert len(opened) == 1  # one run exits 1, the others 0
    first = reports[opened[0]]
    # 09:05 was the first failure; the run 60 minutes later tells it.
    assert opened[0] == 60 // 5
    assert first.problems[0].startswith(
        "x: has been failing for 60 minutes, since 2026-01-05 09:05 GMT"
    )
    with emulator.state.lock:
        emulator.state.script.clear()
    back = run(config, at(10, 29), accounts=on_x(connect))
    assert back.cleared[0].startswith("x: has been failing")
    assert not back.needs_a_person


# --- lost answers and stale media ------------------------------------------------------------


def test_a_lost_answer_is_resolved_with_the_real_tweet_id(
    site: Deployment, emulator: Sandbox, slow_x: Connect, cli: Callable[..., Result]
) -> None:
    site.post("a", post("Story"))
    config = load_config(site.root)

    script(emulator, "hang", *["503"] * 10)  # published, no answer; then X fails
    run(config, AT_SLOT, accounts=on_x(slow_x), budget=RetryBudget(0))
    assert ledger_rows(site)[0][:3] == ("a", 0, "retrying")
    with emulator.state.lock:
        emulator.state.script.clear()
    run(config, at(9, 10), accounts=on_x(slow_x))
    (sent,) = posts_on(emulator)
    (entry,) = [
        json.loads(line) for line in cli("--root", site.root, "log", "--json").out.splitlines()
    ]
    assert entry["status"] == "published"
    assert entry["tweet_id"] == sent["id"]  # not null: found among the account's posts
    assert entry["tweet_url"] == f"https://x.com/i/web/status/{sent['id']}"


def test_an_image_x_forgot_is_uploaded_again_in_the_same_run(
    site: Deployment, emulator: Sandbox, connect: Connect
) -> None:
    site.write("media/court.png", PNG)
    site.post("a", post("Story") + "image: {path: media/court.png, alt: The court}\n")
    script(emulator, "503", "503", "503", "503", "503", "503")  # the post fails after upload
    tick(site, connect, budget=RetryBudget(0))
    assert ledger_rows(site)[0][:3] == ("a", 0, "retrying")
    emulator.expire_media()  # a day later, X no longer knows the uploaded image
    with emulator.state.lock:
        emulator.state.script.clear()
    report = tick(site, connect, at(9, 20))
    assert report.problems == []
    (sent,) = posts_on(emulator)
    assert sent["media_ids"] == list(emulator.state.media)  # the new upload
    assert emulator.state.media[sent["media_ids"][0]]["alt"] == "The court"


# --- rehearsals never touch the real ledger --------------------------------------------------


def test_a_rehearsal_never_changes_what_the_real_deployment_publishes(
    site: Deployment,
    emulator: Sandbox,
    connect: Connect,
    cli: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
    sleeps: Sleeps,
) -> None:
    site.post("a", post("Story"))
    config = load_config(site.root)
    sandbox = Sandbox(0, KEYS)  # the rehearsal's stand-in; `emulator` plays the real X

    def to_sandbox(credentials: Credentials) -> Publisher:
        return Publisher(credentials, base_url=sandbox.base_url, timeout=2.0, sleep=sleeps)

    # A future-dated rehearsal, inside the deployment, as README's rehearsal is run.
    with serving(sandbox):
        rehearsal = run(
            config, at(9, 5, day=6), accounts=on_x(to_sandbox),
            endpoint=sandbox.base_url,
        )  # fmt: skip
        assert titles_on(sandbox) == ["Story"]
    assert rehearsal.rehearsal == sandbox.base_url
    assert ledger_rows(site) == []  # the real ledger knows nothing of it
    # The real run today still publishes at its slot: the rehearsal blocked nothing.
    tick(site, connect, AT_SLOT)
    assert titles_on(emulator) == ["Story"]
    assert ledger_rows(site) == [("a", 0, "published", 1)]
    assert ledger_rows(site, sandbox.base_url)[0][:3] == ("a", 0, "published")
    # status, log and plan say which records they show
    monkeypatch.setenv("X_API_BASE_URL", sandbox.base_url)
    for command in (["log"], ["status"], ["log", "--attempts"], ["plan"]):
        out = cli("--root", site.root, *command).out
        assert out.startswith(f"[rehearsal against {sandbox.base_url}] "), command
    monkeypatch.delenv("X_API_BASE_URL")
    assert not cli("--root", site.root, "log").out.startswith("[rehearsal")


def test_run_lines_say_when_they_are_about_a_rehearsal(
    site: Deployment, emulator: Sandbox, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    site.post("a", post("Story"))
    for name, value in (
        ("X_API_KEY", KEYS.api_key),
        ("X_API_SECRET", KEYS.api_secret),
        ("X_ACCESS_TOKEN", KEYS.access_token),
        ("X_ACCESS_TOKEN_SECRET", KEYS.access_token_secret),
        ("X_API_BASE_URL", emulator.base_url),
    ):
        monkeypatch.setenv(name, value)
    result = cli("--root", site.root, "run", "--now", "2026-01-05T09:05Z")
    assert result.status == 0, result.err
    lines = result.out.splitlines()
    assert lines
    assert all(line.startswith(f"[rehearsal against {emulator.base_url}] ") for line in lines)
    assert not (site.root / "state" / "ledger.sqlite3").exists()


# --- upgrades lose nothing -------------------------------------------------------------------


def ledger_written_by(site: Deployment, version: str) -> Ledger:
    """The deployment's ledger is a copy of the one an earlier version wrote (tests/data/
    ledgers/README.md), opened (and so migrated) by today's code."""
    state = site.root / "state"
    state.mkdir()
    shutil.copy(DATA / "ledgers" / f"ledger-{version}.sqlite3", state / "ledger.sqlite3")
    return Ledger.open(load_config(site.root).paths.state)


def rows_of(ledger: Ledger) -> dict[tuple[str, int], tuple[str, int, str | None, bool]]:
    """What an X-only ledger holds, which migration 8 makes X's copies."""
    records = ledger.records()
    assert {r.network for r in records} == {"x"}
    for r in records:  # the public link X's ids had, now stored with them
        assert r.remote_url == (
            f"https://x.com/i/web/status/{r.remote_id}" if r.remote_id else None
        )
    return {(r.post_id, r.part): (r.status, r.attempts, r.remote_id, r.uncertain) for r in records}


def test_a_ledger_from_0_1_0_migrates_in_place_and_loses_nothing(
    site: Deployment, emulator: Sandbox, connect: Connect, cli: Callable[..., Result]
) -> None:
    ledger = ledger_written_by(site, "0.1.0")
    try:
        rows = rows_of(ledger)
        names = [name for _, name, _ in ledger.migrations()]
        paused = ledger.paused()
    finally:
        ledger.close()
    assert rows == {
        ("2019/10/mek-and-fake-news", 0): ("published", 2, "1850000000000000001", False),
        ("digest/2019-10-18", 0): ("published", 1, "1850000000000000002", False),
        ("digest/2019-10-18", 1): ("published", 1, "1850000000000000003", False),
        ("digest/2019-10-18", 2): ("retrying", 1, None, True),
        ("2019/10/war-agenda", 0): ("failed", 1, None, False),
        ("2019/10/albania-court-photo", 0): ("pending", 1, None, False),
    }
    assert len(names) == 11
    assert names[4] == "attempts: every request and its outcome"
    assert names[7].startswith("parts per network")
    assert names[8] == "costs of requests, and copies waiting for a budget"
    assert paused == (datetime(2026, 12, 1, 9, 5, tzinfo=UTC), "testing the migration")
    log = cli("--root", site.root, "log").out
    assert (
        "published  x  2019/10/mek-and-fake-news  (attempts: 2)  https://x.com/i/web/status/1850000000000000001"
        in log
    )
    # What it records as published never goes out again.
    cli("--root", site.root, "resume")
    site.post("2019/10/mek-and-fake-news", post("MEK and fake news"))
    tick(site, connect, datetime(2026, 12, 1, 9, 5, tzinfo=UTC))
    assert "MEK and fake news" not in titles_on(emulator)


def test_a_ledger_from_0_2_0_opens_with_everything_it_records(
    site: Deployment, emulator: Sandbox, connect: Connect, cli: Callable[..., Result]
) -> None:
    # Written by real runs of 0.2.0 against the emulator (tests/data/ledgers/README.md): the
    # X-only ledger that the per-network ledger of issue 11 must migrate without a loss.
    ledger = ledger_written_by(site, "0.2.0")
    try:
        rows = rows_of(ledger)
        media = ledger.media_id(Copy("2019/10/albania-court-photo", "x"), 0)
        requests = len(ledger.attempts())
        paused = ledger.paused()
    finally:
        ledger.close()
    assert rows == {
        ("2019/10/mek-and-fake-news", 0): ("published", 1, "1850000000000000001", False),
        ("2019/10/albania-court-photo", 0): ("published", 3, "1850000000000000003", False),
        ("2019/10/war-agenda", 0): ("failed", 1, None, False),
        ("digest/2019-10-18", 0): ("published", 1, "1850000000000000004", False),
        ("digest/2019-10-18", 1): ("published", 1, "1850000000000000005", False),
        ("digest/2019-10-18", 2): ("retrying", 7, None, True),
    }
    assert media == "1855000000000000002"
    assert requests == 14
    assert paused == (datetime(2026, 12, 1, 9, 5, tzinfo=UTC), "testing the migration")
    log = cli("--root", site.root, "log").out.splitlines()
    assert log[-1] == (
        "2026-11-30 09:01:00 GMT  published  x  2019/10/mek-and-fake-news  (attempts: 1)  "
        "https://x.com/i/web/status/1850000000000000001"
    )
    # What it records as published never goes out again; the thread's last part does, once.
    cli("--root", site.root, "resume")
    site.post("2019/10/mek-and-fake-news", post("MEK and fake news"))
    # (after the 429 reset it holds, 2026-12-03 13:07 UTC)
    tick(site, connect, datetime(2026, 12, 4, 9, 5, tzinfo=UTC))
    sent = [(sent["text"], sent["in_reply_to"]) for sent in posts_on(emulator)]
    assert sent == [("2/ part three", "1850000000000000005")]


# --- nothing in silence ----------------------------------------------------------------------


def test_plan_and_status_name_every_post_that_will_not_go_out_and_why(
    site: Deployment, emulator: Sandbox, connect: Connect, cli: Callable[..., Result]
) -> None:
    site.post("first", post("Shared story"))
    tick(site, connect)  # publishes first, with its link
    site.post("again", post("Shared story").replace("title: Shared story", "title: Again"))
    site.post("old", post("Old news", expires="2026-01-04"))
    site.post("broken", "title: [\n")
    expected = [
        "will not go out:",
        "  queue/broken.yaml:2: invalid YAML: did not find expected node content; fix the syntax "
        "(put text containing ': ' or starting with a special character in quotes)",
        "  again: its link was already published by first; add allow_repeat: true to publish "
        "it again",
        "  old: expired unpublished at the end of 4 Jan 2026; change expires: to publish it, or "
        "remove the file",
    ]
    status = cli("--root", site.root, "status", "--now", "2026-01-05T10:00Z").out.splitlines()
    assert status[0] == (
        "queue: 1 approved, 0 drafts, 1 invalid, 1 published, 1 expired, 0 failed, "
        "3 will not go out"
    )
    assert status[-5:] == [
        *expected,
        "  x: credentials are not set: X_API_KEY, X_API_SECRET, X_ACCESS_TOKEN and "
        "X_ACCESS_TOKEN_SECRET are missing; put them in .env or the environment (see README: "
        "credentials)",
    ]
    plan = cli("--root", site.root, "plan", "--now", "2026-01-05T10:00Z").out.splitlines()
    assert plan[-5:] == [*expected, status[-1]]  # and the credentials, as status says them
    # the run that first meets them says so, once
    first = tick(site, connect, at(13, 5))
    assert first.problems == [line.strip() for line in expected[1:]]
    assert tick(site, connect, at(13, 10)).problems == []


def test_only_a_stand_in_makes_a_rehearsal_never_the_networks_own_servers() -> None:
    from bot.ledger import LEDGER_FILE, ledger_file_name  # noqa: PLC0415
    from bot.networks import stand_ins  # noqa: PLC0415

    for url in ("https://api.twitter.com", "https://api.x.com/", "HTTPS://API.X.COM"):
        assert stand_ins({"X_API_BASE_URL": url}) == {}
    # a Bluesky PDS elsewhere may be the organisation's own: only one on this machine is not
    for url in ("https://bsky.social", "https://pds.example.org", "http://192.168.1.5:2583"):
        assert stand_ins({"BLUESKY_SERVICE": url}) == {}
    both = {"X_API_BASE_URL": "http://127.0.0.1:8099/", "BLUESKY_SERVICE": "http://localhost:2583"}
    assert stand_ins(both) == {"x": "http://127.0.0.1:8099", "bluesky": "http://localhost:2583"}
    assert ledger_file_name(None) == LEDGER_FILE
    assert ledger_file_name("http://127.0.0.1:8099") == "rehearsal-127.0.0.1-8099.sqlite3"
    assert (
        ledger_file_name("http://127.0.0.1:8099 http://localhost:2583")
        == "rehearsal-127.0.0.1-8099-localhost-2583.sqlite3"
    )


def test_a_timeout_then_a_refusal_keeps_the_post_s_outcome_unknown(
    site: Deployment, emulator: Sandbox, slow_x: Connect
) -> None:
    site.post("a", post("Story"))
    config = load_config(site.root)

    script(emulator, "hang", "403-permissions")  # published, no answer; then the app refused
    run(config, AT_SLOT, accounts=on_x(slow_x))
    config_ledger = Ledger.open(config.paths.state)
    try:
        (record,) = config_ledger.records()
    finally:
        config_ledger.close()
    assert (record.status, record.uncertain) == ("retrying", True)
    # The next run's resend meets X's duplicate answer: published once, never twice.
    run(config, at(9, 10), accounts=on_x(slow_x))
    assert len(posts_on(emulator)) == 1
    assert ledger_rows(site)[0][:3] == ("a", 0, "published")


def test_log_is_newest_first_and_limit_keeps_the_newest(
    site: Deployment, emulator: Sandbox, connect: Connect, cli: Callable[..., Result]
) -> None:
    for name in ("a", "b", "c"):  # one a day, in id order
        site.post(name, post(f"Story {name}"))
    for day in (5, 6, 7):
        tick(site, connect, datetime(2026, 1, day, 9, 5, tzinfo=UTC))
    assert titles_on(emulator) == ["Story a", "Story b", "Story c"]

    def ids(*args: str) -> list[str]:
        lines = cli("--root", site.root, "log", *args).out.splitlines()
        return [line.split("  ")[3] for line in lines]

    assert ids() == ["c", "b", "a"]
    assert ids("--limit", "2") == ["c", "b"]
    first = cli("--root", site.root, "log", "--limit", "1").out
    assert first.startswith(
        "2026-01-07 09:05:00 GMT  published  x  c  (attempts: 1, $0.200)  https://"
    )


def test_a_run_without_a_credential_names_it_once_and_sends_nothing(
    site: Deployment, emulator: Sandbox, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    site.post("a", post("Story"))
    for name, value in environment(emulator, site.root).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("X_ACCESS_TOKEN_SECRET")
    first = cli("--root", site.root, "run", "--now", "2026-01-05T09:05Z")
    assert first.status == 1  # a problem that needs a person, the first time
    assert (
        "x: credentials are not set: X_ACCESS_TOKEN_SECRET is missing (the other 3 are set); "
        "put it in .env or the environment (see README: credentials)"
    ) in first.out + first.err
    later = cli("--root", site.root, "run", "--now", "2026-01-05T09:10Z")
    assert later.status == 0  # told already
    assert later.out == (
        f"[rehearsal against {emulator.base_url}] still: x: credentials are not set: "
        "X_ACCESS_TOKEN_SECRET is missing (the other 3 are set); put it in .env or the "
        "environment (see README: credentials)\n"
    )
    assert emulator.state.requests == []
    status = cli("--root", site.root, "status", "--now", "2026-01-05T09:10Z").out
    assert "x: credentials: NOT SET: X_ACCESS_TOKEN_SECRET missing" in status
