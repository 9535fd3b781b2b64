"""One cron tick (bot.runner) against the X emulator: what goes out, once, and what is recorded."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from bot.config import Config, load_config
from bot.ledger import Copy, Ledger, Record
from bot.networks.x.client import Credentials, Publisher
from bot.networks.x.sandbox import Sandbox
from bot.runner import RunReport, run
from tests.conftest import (
    CREDENTIALS,
    Deployment,
    Result,
    on_x,
    posts_on,
    titles_on,
    tweet_requests,
)
from tests.test_publisher import script

Connect = Callable[[Credentials], Publisher]
SLOT = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # a Monday; London is on GMT
AT_SLOT = datetime(2026, 1, 5, 9, 5, tzinfo=UTC)
CONFIG = "timezone: Europe/London\nschedule:\n  slots:\n    daily: ['09:00', '13:00']\n"


def post(title: str, **extra: str) -> str:
    lines = [
        f"title: {title}",
        f"url: https://example.org/{title.replace(' ', '-')}",
        "approved: true",
    ]
    lines += [f"{key}: {value}" for key, value in extra.items()]
    return "\n".join(lines) + "\n"


@pytest.fixture
def site(deployment: Deployment) -> Deployment:
    deployment.write("config/bot.yaml", CONFIG)
    return deployment


def tick(
    site: Deployment, connect: Connect, now: datetime = AT_SLOT, **options: object
) -> RunReport:
    config = load_config(site.root)
    return run(config, now, accounts=on_x(connect), **options)  # type: ignore[arg-type]


def ledger_rows(site: Deployment, endpoint: str | None = None) -> list[tuple[str, int, str, int]]:
    """(post, part, status, attempts) of the real ledger, or of a rehearsal's (``endpoint``)."""
    config: Config = load_config(site.root)
    ledger = Ledger.open(config.paths.state, endpoint)
    try:
        return [(r.post_id, r.part, r.status, r.attempts) for r in ledger.records()]
    finally:
        ledger.close()


def test_a_due_post_is_published_once_with_one_request(
    site: Deployment, emulator: Sandbox, connect: Connect
) -> None:
    site.post("a", post("First story"))
    report = tick(site, connect)
    assert report.problems == []
    assert tweet_requests(emulator) == 1
    (sent,) = posts_on(emulator)
    assert sent["text"] == "First story https://example.org/First-story"
    assert report.done == [f"published a: https://x.com/i/web/status/{sent['id']}"]
    assert ledger_rows(site) == [("a", 0, "published", 1)]
    # The next run, still in the slot's grace: nothing more.
    tick(site, connect, datetime(2026, 1, 5, 9, 10, tzinfo=UTC))
    assert tweet_requests(emulator) == 1


def test_nothing_due_means_no_request_at_all(
    site: Deployment, emulator: Sandbox, connect: Connect
) -> None:
    site.post("a", post("Story"))
    built: list[Credentials] = []

    def counting(credentials: Credentials) -> Publisher:
        built.append(credentials)
        return connect(credentials)

    report = tick(site, counting, datetime(2026, 1, 5, 11, 0, tzinfo=UTC))  # between slots
    assert report.done == []
    assert built == []
    assert emulator.state.requests == []


def test_a_thread_goes_out_as_linked_replies(
    site: Deployment, emulator: Sandbox, connect: Connect
) -> None:
    site.post("t", post("Digest") + 'thread: ["part two", "part three"]\n')
    tick(site, connect)
    first, second, third = posts_on(emulator)
    assert (first["in_reply_to"], second["in_reply_to"], third["in_reply_to"]) == (
        None,
        first["id"],
        second["id"],
    )
    assert [row[:3] for row in ledger_rows(site)] == [
        ("t", 2, "published"),
        ("t", 1, "published"),
        ("t", 0, "published"),
    ]


def test_an_invalid_file_blocks_nothing(
    site: Deployment, emulator: Sandbox, connect: Connect
) -> None:
    site.post("a-broken", "title: [\n")
    site.post("b-good", post("Good story"))
    report = tick(site, connect)
    assert len(posts_on(emulator)) == 1
    assert report.needs_a_person
    assert report.problems[0].startswith("queue/a-broken.yaml:2: invalid YAML")


def test_a_post_refused_for_good_gives_its_turn_to_the_next(
    site: Deployment, emulator: Sandbox, connect: Connect
) -> None:
    site.post("a", post("Refused story", priority="5"))
    site.post("b", post("Next story"))
    script(emulator, "400")
    report = tick(site, connect)
    assert titles_on(emulator) == ["Next story"]
    assert report.needs_a_person
    assert report.problems == [
        "a: failed for good: X rejected the post (400: One or more parameters are invalid.); "
        "fix it, then `interlink-bot retry a`"
    ]
    assert sorted(row[:3] for row in ledger_rows(site)) == [
        ("a", 0, "failed"),
        ("b", 0, "published"),
    ]


def test_an_account_refusal_stops_the_run_and_keeps_the_post_in_line(
    site: Deployment, emulator: Sandbox, connect: Connect
) -> None:
    site.post("a", post("Story one", priority="1"))
    site.post("b", post("Story two"))
    script(emulator, "403-permissions")
    report = tick(site, connect)
    assert tweet_requests(emulator) == 1  # b was not tried: it would fail the same way
    assert "Read and Write" in report.problems[0]
    assert ledger_rows(site) == [("a", 0, "retrying", 1)]
    tick(site, connect, datetime(2026, 1, 5, 9, 20, tzinfo=UTC))  # fixed; the next run
    assert [row[:3] for row in ledger_rows(site)] == [("a", 0, "published")]


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (
            "401",
            "x: X refused the credentials (401 Unauthorized): check X_API_KEY, X_API_SECRET, "
            "X_ACCESS_TOKEN and X_ACCESS_TOKEN_SECRET; regenerate them in the developer portal "
            "if they were revoked",
        ),
        (
            "402",
            "x: X refused: the account has no API credits left (402 CreditsDepleted); add "
            "credits in the developer portal, then posts go out again",
        ),
    ],
    ids=["unauthorized", "no credits"],
)
def test_401_or_402_in_the_middle_of_a_run_stops_it_and_keeps_the_post_in_line(
    site: Deployment, emulator: Sandbox, connect: Connect, answer: str, problem: str
) -> None:
    # SPEC "Retries": 401 and 402 stop the run, since every later post would fail the same way;
    # a refusal about the account leaves the post in line for when the account is fixed.
    site.post(
        "t",
        post("Digest", publish_at="2026-01-05T09:02Z") + 'thread: ["part two", "part three"]\n',
    )
    site.post("c", post("Other story"))  # due in the 09:00 slot, after the publish_at thread
    script(emulator, "ok", answer)  # part one goes out, then X refuses the account
    report = tick(site, connect)
    assert tweet_requests(emulator) == 2  # neither part three nor c was tried
    assert titles_on(emulator) == ["Digest"]
    assert report.problems == [problem]  # what needs a person: the account, said once
    statuses = {(row[0], row[1]): row[2] for row in ledger_rows(site)}
    assert statuses[("t", 0)] == "published"
    assert "failed" not in statuses.values()
    tick(site, connect, datetime(2026, 1, 5, 9, 20, tzinfo=UTC))  # the account is fixed
    first, second, third, *_ = posts_on(emulator)
    assert (second["text"], third["text"]) == ("part two", "part three")
    assert (second["in_reply_to"], third["in_reply_to"]) == (first["id"], second["id"])


def test_x_failing_leaves_the_post_retrying_for_the_next_run(
    site: Deployment, emulator: Sandbox, connect: Connect
) -> None:
    site.post("a", post("Story"))
    script(emulator, *["503"] * 10)
    report = tick(site, connect)
    assert not report.needs_a_person  # nothing for a person to do yet
    assert ledger_rows(site)[0][:3] == ("a", 0, "retrying")
    with emulator.state.lock:
        emulator.state.script.clear()
    tick(site, connect, datetime(2026, 1, 5, 9, 15, tzinfo=UTC))
    rows = ledger_rows(site)
    assert rows[0][:3] == ("a", 0, "published")
    assert rows[0][3] == tweet_requests(emulator)  # every request counted, across runs
    assert len(posts_on(emulator)) == 1


def test_a_pending_attempt_that_reached_x_is_resolved_without_a_second_post(
    site: Deployment, emulator: Sandbox, connect: Connect
) -> None:
    site.post("a", post("Story"))
    text = "Story https://example.org/Story"
    connect(CREDENTIALS).post(text)  # X published it, but the run died before hearing so
    config = load_config(site.root)
    ledger = Ledger.open(config.paths.state)
    ledger.begin(Copy("a", "x"), 0, text, SLOT, url="https://example.org/Story", slot=SLOT)
    ledger.close()
    report = tick(site, connect, datetime(2026, 1, 5, 13, 5, tzinfo=UTC))  # a later slot
    assert len(posts_on(emulator)) == 1
    assert report.problems == []
    assert ledger_rows(site)[0][:3] == ("a", 0, "published")


def test_a_pending_attempt_that_never_reached_x_is_sent(
    site: Deployment, emulator: Sandbox, connect: Connect
) -> None:
    site.post("a", post("Story"))
    config = load_config(site.root)
    ledger = Ledger.open(config.paths.state)
    ledger.begin(Copy("a", "x"), 0, "Story https://example.org/Story", SLOT, slot=SLOT)
    ledger.close()
    tick(site, connect, datetime(2026, 1, 5, 11, 0, tzinfo=UTC))  # not a slot: still resolved
    assert len(posts_on(emulator)) == 1
    assert ledger_rows(site)[0][:3] == ("a", 0, "published")


def test_expired_posts_never_go_out(
    site: Deployment, emulator: Sandbox, connect: Connect, cli: Callable[..., Result]
) -> None:
    site.post("a", post("Old news", expires="2026-01-04", priority="9"))
    site.post("b", post("New news"))  # the queue was read: the post beside it goes out
    tick(site, connect)
    tick(site, connect, datetime(2026, 1, 5, 13, 5, tzinfo=UTC))  # the next slot too
    assert titles_on(emulator) == ["New news"]
    status = cli("--root", site.root, "status", "--now", "2026-01-05T13:10Z").out.splitlines()
    assert status[0] == (
        "queue: 0 approved, 0 drafts, 0 invalid, 1 published, 1 expired, 0 failed, "
        "1 will not go out"
    )
    assert (
        "  a: expired unpublished at the end of 4 Jan 2026; change expires: to publish it, "
        "or remove the file"
    ) in status


def test_the_daily_cap(site: Deployment, emulator: Sandbox, connect: Connect) -> None:
    site.write(
        "config/bot.yaml",
        "timezone: Europe/London\nschedule:\n  slots:\n    daily: ['09:00', '10:00', '11:00']\n"
        "  max_per_day: 2\n  min_gap_minutes: 0\n",
    )
    for name in ("a", "b", "c"):
        site.post(name, post(f"Story {name}"))
    for hour in (9, 10, 11):
        tick(site, connect, datetime(2026, 1, 5, hour, 1, tzinfo=UTC))
    assert titles_on(emulator) == ["Story a", "Story b"]  # the 11:00 slot is over the cap
    tick(site, connect, datetime(2026, 1, 6, 9, 1, tzinfo=UTC))
    assert titles_on(emulator) == ["Story a", "Story b", "Story c"]  # a new day


def test_pause_and_resume(
    site: Deployment, emulator: Sandbox, connect: Connect, cli: Callable[..., Result]
) -> None:
    site.post("a", post("Story"))
    assert cli("--root", site.root, "pause", "--reason", "wrong link in story").status == 0
    report = tick(site, connect)
    assert emulator.state.requests == []
    assert "wrong link in story" in report.done[0]
    assert cli("--root", site.root, "resume").status == 0
    tick(site, connect)
    assert len(posts_on(emulator)) == 1


def test_retry_puts_a_failed_post_back_in_line(
    site: Deployment, emulator: Sandbox, connect: Connect, cli: Callable[..., Result]
) -> None:
    site.post("a", post("Story"))
    script(emulator, "400")
    tick(site, connect)
    assert cli("--root", site.root, "retry", "nope").status == 1
    assert cli("--root", site.root, "retry", "a").status == 0
    tick(site, connect, datetime(2026, 1, 5, 13, 5, tzinfo=UTC))
    assert len(posts_on(emulator)) == 1


def test_dry_run_sends_and_records_nothing(
    site: Deployment, emulator: Sandbox, connect: Connect
) -> None:
    site.post("a", post("Story"))
    report = tick(site, connect, dry_run=True)
    assert report.done == [
        "would publish a (slot 2026-01-05 09:00 GMT): Story https://example.org/Story"
    ]
    assert emulator.state.requests == []
    state = site.root / "state"
    # "writes nothing": no ledger, no lock, not even the state folder (issue 9)
    assert not state.exists() or list(state.iterdir()) == []


def test_a_dry_run_leaves_an_existing_ledger_untouched(
    site: Deployment, emulator: Sandbox, connect: Connect
) -> None:
    site.post("a", post("Story"))
    tick(site, connect, datetime(2026, 1, 5, 9, 5, tzinfo=UTC))
    site.post("b", post("Another") + 'thread: ["a reply"]\n')
    ledger = site.root / "state" / "ledger.sqlite3"
    before = (ledger.read_bytes(), sorted(p.name for p in ledger.parent.iterdir()))
    report = tick(site, connect, datetime(2026, 1, 5, 13, 5, tzinfo=UTC), dry_run=True)
    assert report.done == [
        "would publish b part 1/2 (slot 2026-01-05 13:00 GMT): Another https://example.org/Another",
        "would publish b part 2/2 (slot 2026-01-05 13:00 GMT): a reply",
    ]
    assert (ledger.read_bytes(), sorted(p.name for p in ledger.parent.iterdir())) == before
    assert len(emulator.state.requests) == 1  # the 09:05 run's post, nothing since


def test_log_json_has_the_spec_fields(
    site: Deployment, emulator: Sandbox, connect: Connect, cli: Callable[..., Result]
) -> None:
    site.post("t", post("Digest") + 'thread: ["part two"]\n')
    tick(site, connect)
    result = cli("--root", site.root, "log", "--json")
    entries = [json.loads(line) for line in result.out.splitlines()]
    assert {entry["part"] for entry in entries} == {0, 1}
    for entry in entries:
        assert set(entry) == {
            "post_id", "network", "part", "status", "remote_id", "url", "tweet_id", "tweet_url",
            "text", "attempts", "error", "at", "cost_usd",
        }  # fmt: skip
        assert entry["status"] == "published"
        assert entry["network"] == "x"
        assert entry["tweet_url"] == f"https://x.com/i/web/status/{entry['tweet_id']}"
        assert (entry["remote_id"], entry["url"]) == (entry["tweet_id"], entry["tweet_url"])
        assert entry["attempts"] == 1
        assert entry["at"] == "2026-01-05T09:05:00Z"
    assert cli("--root", site.root, "log", "--post", "nope", "--json").out == ""


def test_the_queue_index_reads_a_changed_post_again(
    site: Deployment, emulator: Sandbox, connect: Connect
) -> None:
    site.post("a", post("Story"))
    tick(site, connect, datetime(2026, 1, 5, 11, 0, tzinfo=UTC))  # indexed, nothing due
    site.post("a", post("Story").replace("approved: true", "approved: false"))
    tick(site, connect, datetime(2026, 1, 5, 13, 5, tzinfo=UTC))
    assert emulator.state.requests == []


def test_the_queue_index_forgets_a_removed_post(
    site: Deployment, emulator: Sandbox, connect: Connect
) -> None:
    site.post("a", post("Story"))
    tick(site, connect, datetime(2026, 1, 5, 11, 0, tzinfo=UTC))
    (site.root / "queue" / "a.yaml").unlink()
    site.post("b", post("Other"))
    tick(site, connect, datetime(2026, 1, 5, 13, 5, tzinfo=UTC))
    assert titles_on(emulator) == ["Other"]


def test_a_timed_out_post_that_went_out_is_recorded_published_not_failed(
    site: Deployment, emulator: Sandbox, slow_x: Connect
) -> None:
    site.post("a", post("Story"))
    script(emulator, "hang")

    report = tick(site, slow_x)
    assert report.problems == []
    assert len(posts_on(emulator)) == 1
    # The resend met X's duplicate 403, then two reads (who am I, my posts) found its id.
    assert ledger_rows(site) == [("a", 0, "published", 4)]


def test_an_unknown_outcome_is_resolved_first_by_the_next_run(
    site: Deployment, emulator: Sandbox, hung_x: Connect, connect: Connect
) -> None:
    site.post("a", post("Story"))
    script(emulator, *["hang"] * 6)

    tick(site, hung_x)
    assert ledger_rows(site)[0][:3] == ("a", 0, "retrying")
    tick(site, connect, datetime(2026, 1, 5, 11, 0, tzinfo=UTC))  # between slots: resolved
    assert len(posts_on(emulator)) == 1
    assert ledger_rows(site)[0][:3] == ("a", 0, "published")


def test_a_thread_part_whose_answer_was_lost_is_found_on_x_and_the_thread_goes_on(
    site: Deployment, emulator: Sandbox, slow_x: Connect
) -> None:
    site.post("t", post("Digest") + 'thread: ["part two", "part three"]\n')
    script(emulator, "ok", "hang")  # part two goes out, but its answer (and id) is lost

    report = tick(site, slow_x)
    assert report.problems == []
    first, second, third = posts_on(emulator)
    assert (second["in_reply_to"], third["in_reply_to"]) == (first["id"], second["id"])
    assert [row[:3] for row in ledger_rows(site)] == [
        ("t", 2, "published"),
        ("t", 1, "published"),
        ("t", 0, "published"),
    ]


def test_an_error_on_part_two_then_the_next_run_completes_the_thread(
    site: Deployment, emulator: Sandbox, connect: Connect
) -> None:
    site.post("t", post("Digest") + 'thread: ["part two", "part three"]\n')
    script(emulator, "ok", *["503"] * 6)
    tick(site, connect)
    assert len(posts_on(emulator)) == 1
    with emulator.state.lock:
        emulator.state.script.clear()
    tick(site, connect, datetime(2026, 1, 5, 11, 0, tzinfo=UTC))  # between slots
    first, second, third = posts_on(emulator)
    assert [second["text"], third["text"]] == ["part two", "part three"]
    assert (second["in_reply_to"], third["in_reply_to"]) == (first["id"], second["id"])


@pytest.mark.parametrize(
    ("day_start", "expected"),
    [
        # 2026-03-29: 01:00 GMT becomes 02:00 BST; the 01:30 slot fires once, at 02:30 BST.
        ("2026-03-28T23:00", ["2026-03-29T01:30", "2026-03-29T08:00"]),
        # 2026-10-25: 02:00 BST becomes 01:00 GMT; 01:30 happens twice and fires at the first.
        ("2026-10-24T23:00", ["2026-10-25T00:30", "2026-10-25T09:00"]),
    ],
)
def test_a_day_of_cron_runs_across_a_clock_change(
    site: Deployment, emulator: Sandbox, connect: Connect, day_start: str, expected: list[str]
) -> None:
    site.write(
        "config/bot.yaml",
        "timezone: Europe/London\nschedule:\n  slots:\n    daily: ['01:30', '09:00']\n"
        "  min_gap_minutes: 0\n",
    )
    for number in range(4):
        site.post(f"p{number}", post(f"Story {number}"))
    moment = datetime.fromisoformat(day_start).replace(tzinfo=UTC)
    for _ in range(24 * 6):  # every ten minutes, as cron would
        tick(site, connect, moment)
        moment += timedelta(minutes=10)
    assert len(posts_on(emulator)) == 2
    slots = sorted(r.slot for r in _records(site) if r.slot is not None and r.status == "published")
    assert [slot.strftime("%Y-%m-%dT%H:%M") for slot in slots] == expected


def _records(site: Deployment) -> list[Record]:
    ledger = Ledger.open(load_config(site.root).paths.state)
    try:
        return ledger.records()
    finally:
        ledger.close()
