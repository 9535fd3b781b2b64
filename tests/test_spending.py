"""X's bill (SPEC "X's bill", issue 12): each request's cost in the ledger when X accepts it, a
monthly budget that holds X's copies back while the other networks go ahead, a template
without {url}, and a 402 that stops X for the run and nothing else.

The prices are X's own (../shared/NETWORKS-NOTES.md, "X pricing"): $0.015 a post, $0.20 a post
containing a URL, $0.005 an image's alt text, $0.001 each of the account's own posts read.
They are spelled out here, not imported from the bot."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from bot.config import load_config
from bot.networks.x.client import Credentials, Publisher
from bot.networks.x.sandbox import Sandbox
from bot.runner import RunReport, run
from tests import pds_server
from tests.conftest import Deployment, Result, Sleeps, on_x, on_x_and_bluesky, posts_on, serving
from tests.test_notify import Receiver
from tests.test_publisher import script

Connect = Callable[[Credentials], Publisher]
AT = datetime(2026, 1, 5, 9, 5, tzinfo=UTC)
NEXT_MONTH = datetime(2026, 2, 1, 9, 5, tzinfo=UTC)


def config(*, budget: str = "", x_template: str = "", notify: str = "") -> str:
    """X and Bluesky, with X's budget or template if given, and a json:// target if given."""
    x = ""
    if budget:
        x += f"\n    monthly_budget_usd: {budget}"
    if x_template:
        x += f"\n    template: {json.dumps(x_template)}"
    text = (
        "timezone: Europe/London\nschedule:\n  slots:\n    daily: ['09:00', '13:00']\n"
        f"networks:\n  x:{x or ' {}'}\n  bluesky: {{}}\n"
    )
    if notify:
        text += f"notify:\n  urls: ['json://{notify}/hook']\n"
    return text


def link_post(title: str, at: str = "2026-01-05T09:00Z") -> str:
    return (
        f"title: {title}\nurl: https://example.org/{title.lower()}\n"
        f"publish_at: {at}\napproved: true\n"
    )


def tick(
    site: Deployment,
    account: pds_server.Account,
    connect: Connect,
    sleeps: Sleeps,
    now: datetime = AT,
    notify: list[str] | None = None,
) -> RunReport:
    return run(
        load_config(site.root),
        now,
        accounts=on_x_and_bluesky(site.root, account, connect, sleeps),
        link_card=lambda _: None,
        notify_urls=notify,
    )


def on_bluesky(account: pds_server.Account) -> list[str]:
    records = pds_server.list_records(account.service, account.did, "app.bsky.feed.post")
    return sorted(str(record["value"]["text"]) for record in records)


def x_lines(cli: Callable[..., Result], site: Deployment) -> dict[str, dict[str, object]]:
    lines = [
        json.loads(line)
        for line in cli("--root", site.root, "log", "--json").out.split("\n")
        if line
    ]
    return {str(line["post_id"]): line for line in lines if line["network"] == "x"}


def test_a_budget_of_50_cents_sends_two_of_four_link_posts_to_x_and_all_four_elsewhere(
    deployment: Deployment,
    emulator: Sandbox,
    connect: Connect,
    sleeps: Sleeps,
    account: pds_server.Account,
    cli: Callable[..., Result],
) -> None:
    receiver = Receiver()
    with serving(receiver):
        site = deployment
        site.write("config/bot.yaml", config(budget="0.50", notify=receiver.url))
        for title in ("Alpha", "Bravo", "Charlie", "Delta"):
            site.post(title.lower(), link_post(title))
        notify = [f"json://{receiver.url}/hook"]
        first = tick(site, account, connect, sleeps, notify=notify)

        # Two link posts at $0.20 fit $0.50; a third would make $0.60.
        assert sorted(str(p["text"]) for p in posts_on(emulator)) == [
            "Alpha https://example.org/alpha",
            "Bravo https://example.org/bravo",
        ]
        assert len(on_bluesky(account)) == 4
        problem = (
            "x: X's monthly budget ($0.500) holds back 2 posts on X (charlie, delta); they go "
            "out when a month's budget allows, or raise networks.x.monthly_budget_usd"
        )
        assert first.problems == [problem]
        assert (
            "charlie on X: waits for X's monthly budget: it costs $0.200 and $0.100 of the "
            "$0.500 for January 2026 is left ($0.400 spent); it goes out when the month ends, or "
            "raise networks.x.monthly_budget_usd" in first.done
        )
        (message,) = receiver.messages
        assert message["title"] == "interlink-bot: 1 new problem"
        assert message["message"] == f"NEW: {problem}"

        logged = x_lines(cli, site)
        assert {post: (line["status"], line["cost_usd"]) for post, line in logged.items()} == {
            "alpha": ("published", 0.2),
            "bravo": ("published", 0.2),
            "charlie": ("waiting", None),  # nothing billed
            "delta": ("waiting", None),
        }
        status = cli("--root", site.root, "status", "--now", "2026-01-05T10:00Z").out
        assert "x: spent $0.400 in January 2026, of a $0.500 monthly budget ($0.100 left)" in status
        assert "x: 2 posts waiting for the budget: charlie, delta" in status
        assert f"  {problem}" in status
        plan = cli("--root", site.root, "plan", "--now", "2026-01-05T10:00Z").out
        assert f"  {problem}" in plan

        # Later runs this month: nothing more to X, and no second message.
        again = tick(
            site, account, connect, sleeps, datetime(2026, 1, 5, 13, 5, tzinfo=UTC), notify
        )
        assert again.problems == []
        assert again.persisting == [problem]
        assert len(posts_on(emulator)) == 2
        assert len(receiver.messages) == 1

        # A new month: the two waiting copies go to X, and the problem clears, told once.
        later = tick(site, account, connect, sleeps, NEXT_MONTH, notify)
        assert sorted(str(p["text"]) for p in posts_on(emulator))[2:] == [
            "Charlie https://example.org/charlie",
            "Delta https://example.org/delta",
        ]
        assert len(on_bluesky(account)) == 4  # never twice elsewhere
        assert later.cleared == [problem]
        assert receiver.messages[-1]["message"] == f"CLEARED: {problem}"
        assert len(receiver.messages) == 2
    status = cli("--root", site.root, "status", "--now", "2026-02-01T10:00Z").out
    assert "x: spent $0.400 in February 2026, of a $0.500 monthly budget ($0.100 left)" in status


def test_a_link_less_x_template_costs_a_cent_and_a_half_in_preview_and_in_the_ledger(
    deployment: Deployment,
    emulator: Sandbox,
    connect: Connect,
    sleeps: Sleeps,
    account: pds_server.Account,
    cli: Callable[..., Result],
) -> None:
    site = deployment
    site.write("config/bot.yaml", config(x_template="{title} — {source}"))
    site.post("a", link_post("Alpha") + "source: The Outlet\n")
    site.post("b", link_post("Bravo") + "source: The Outlet\nnetworks: [x]\n")
    preview = cli("--root", site.root, "preview", "a").out
    assert "  X · cost: $0.015 (without the link: networks.x.template has no {url})" in preview
    assert "  │ Alpha — The Outlet\n" in preview
    tick(site, account, connect, sleeps)
    assert [p["text"] for p in posts_on(emulator)] == ["Alpha — The Outlet", "Bravo — The Outlet"]
    # Bluesky keeps format.template, and with it the link.
    assert on_bluesky(account) == ["Alpha — The Outlet https://example.org/alpha"]
    logged = x_lines(cli, site)
    assert [logged[post]["cost_usd"] for post in ("a", "b")] == [0.015, 0.015]
    assert "(attempts: 1, $0.015)" in cli("--root", site.root, "log", "--network", "x").out


def test_preview_shows_a_threads_whole_cost_and_what_it_costs_without_its_link(
    deployment: Deployment, cli: Callable[..., Result]
) -> None:
    site = deployment
    site.write("config/bot.yaml", "timezone: Europe/London\n")
    site.write("media/chart.png", pds_server.tiny_png())
    site.post(
        "t",
        link_post("Thread")
        + "thread: ['Second part', 'Third part']\n"
        + "image: {path: media/chart.png, alt: A chart}\n",
    )
    preview = cli("--root", site.root, "preview", "t").out
    # $0.20 + 2 × $0.015 + $0.005; without the link: 3 × $0.015 + $0.005
    assert (
        "  X cost: $0.235 for 3 posts and the image's alt text; $0.050 without the link "
        "(a networks.x.template without {url})"
    ) in preview


def test_a_thread_is_priced_whole_before_its_first_part_goes(
    deployment: Deployment, emulator: Sandbox, connect: Connect, cli: Callable[..., Result]
) -> None:
    site = deployment
    site.write(
        "config/bot.yaml",
        "timezone: Europe/London\nnetworks:\n  x:\n    monthly_budget_usd: 0.22\n",
    )
    # $0.20 for the first part, and $0.015 for each reply: $0.23 in all
    site.post("t", link_post("Thread") + "thread: ['Second part', 'Third part']\n")
    report = run(load_config(site.root), AT, accounts=on_x(connect))
    assert posts_on(emulator) == []
    assert report.problems == [
        "x: X's monthly budget ($0.220) holds back 1 post on X (t); it goes out when a month's "
        "budget allows, or raise networks.x.monthly_budget_usd"
    ]
    line = x_lines(cli, site)["t"]
    assert line["status"] == "waiting"
    assert str(line["error"]) == (
        "waits for X's monthly budget: it costs $0.230, more than the whole $0.220 a month; "
        "raise networks.x.monthly_budget_usd"
    )
    # Raised: the whole thread goes at the next run.
    site.write(
        "config/bot.yaml",
        "timezone: Europe/London\nnetworks:\n  x:\n    monthly_budget_usd: 0.25\n",
    )
    later = run(
        load_config(site.root), datetime(2026, 1, 5, 9, 20, tzinfo=UTC), accounts=on_x(connect)
    )
    assert len(posts_on(emulator)) == 3, later.done
    assert later.cleared == report.problems
    status = cli("--root", site.root, "status", "--now", "2026-01-05T10:00Z").out
    assert "x: spent $0.230 in January 2026, of a $0.250 monthly budget ($0.020 left)" in status


def test_402_stops_x_for_the_run_and_nothing_else(
    deployment: Deployment,
    emulator: Sandbox,
    connect: Connect,
    sleeps: Sleeps,
    account: pds_server.Account,
    cli: Callable[..., Result],
) -> None:
    site = deployment
    site.write("config/bot.yaml", config())
    for title in ("Alpha", "Bravo"):
        site.post(title.lower(), link_post(title))
    script(emulator, "402")
    first = tick(site, account, connect, sleeps)
    assert posts_on(emulator) == []
    with emulator.state.lock:  # X was asked once: the 402 stopped it for the run
        assert sum(1 for r in emulator.state.requests if r["path"] == "/2/tweets") == 1
    assert len(on_bluesky(account)) == 2
    (problem,) = first.problems
    assert problem.startswith("x: X refused: the account has no API credits left (402")
    logged = x_lines(cli, site)
    assert {post: line["status"] for post, line in logged.items()} == {
        "alpha": "retrying",
        "bravo": "retrying",
    }
    assert all(line["cost_usd"] is None for line in logged.values())  # nothing billed
    # Credits bought: both go out to X at the next run, and the problem clears.
    later = tick(site, account, connect, sleeps, datetime(2026, 1, 5, 9, 20, tzinfo=UTC))
    assert len(posts_on(emulator)) == 2
    assert later.cleared == first.problems
    assert len(on_bluesky(account)) == 2


def test_a_post_found_published_after_its_answer_was_lost_is_billed_once(
    deployment: Deployment,
    emulator: Sandbox,
    hung_x: Connect,
    cli: Callable[..., Result],
) -> None:
    site = deployment
    site.write("config/bot.yaml", "timezone: Europe/London\n")
    site.post("a", link_post("Alpha"))
    script(emulator, "hang")  # X makes the post; its answer never comes; the resend is a duplicate
    run(load_config(site.root), AT, accounts=on_x(hung_x))
    assert len(posts_on(emulator)) == 1
    line = x_lines(cli, site)["a"]
    assert line["status"] == "published"
    # $0.20 for the post X accepted (billed on the request whose answer was lost), and $0.001
    # for each of the account's posts read to find its id: one.
    assert line["cost_usd"] == pytest.approx(0.201)
    attempts = [
        json.loads(text)
        for text in cli("--root", site.root, "log", "--attempts", "--json").out.split("\n")
        if text
    ]
    assert [(a["kind"], a["outcome"]) for a in reversed(attempts)][:2] == [
        ("post", "unknown"),
        ("post", "refused"),
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-1", "networks.x.monthly_budget_usd must be a number of US dollars, 0 or more"),
        ("twenty", "networks.x.monthly_budget_usd must be a number of US dollars, 0 or more"),
    ],
)
def test_a_budget_that_is_not_a_number_of_dollars_is_named(
    deployment: Deployment, cli: Callable[..., Result], value: str, message: str
) -> None:
    deployment.write(
        "config/bot.yaml",
        f"timezone: Europe/London\nnetworks:\n  x:\n    monthly_budget_usd: {value}\n",
    )
    done = cli("--root", deployment.root, "check")
    assert done.status == 2
    assert message in done.err


def test_a_budget_on_a_network_that_does_not_bill_is_an_unknown_key(
    deployment: Deployment, cli: Callable[..., Result]
) -> None:
    deployment.write(
        "config/bot.yaml",
        "timezone: Europe/London\nnetworks:\n  bluesky:\n    monthly_budget_usd: 5\n",
    )
    done = cli("--root", deployment.root, "check")
    assert done.status == 2
    assert "unknown key 'networks.bluesky.monthly_budget_usd'" in done.err


def test_plan_shows_the_months_spend_and_the_day_the_budget_runs_out(
    deployment: Deployment, cli: Callable[..., Result]
) -> None:
    site = deployment
    site.write(
        "config/bot.yaml",
        "timezone: Europe/London\nschedule:\n  slots:\n    daily: ['09:00']\n"
        "networks:\n  x:\n    monthly_budget_usd: 0.50\n",
    )
    for number, title in enumerate(("Alpha", "Bravo", "Charlie", "Delta")):
        site.post(
            title.lower(),
            f"title: {title}\nurl: https://example.org/{number}\n"
            f"approved: true\npriority: {9 - number}\n",
        )
    plan = cli("--root", site.root, "plan", "--now", "2026-01-28T08:00Z", "--days", "6")
    assert plan.out.splitlines()[:5] == [
        "Wed 2026-01-28 09:00 GMT  slot  alpha",
        "Thu 2026-01-29 09:00 GMT  slot  bravo",
        "Fri 2026-01-30 09:00 GMT  slot  charlie  (X waits for its monthly budget)",
        "Sat 2026-01-31 09:00 GMT  slot  delta  (X waits for its monthly budget)",
        # February is a new month, with its own budget: nothing planned then counts here
        "x: January 2026: $0.000 spent, $0.400 more planned (2 posts): $0.400, of a $0.500 "
        "monthly budget; it runs out on Fri 2026-01-30 09:00 GMT: from then 2 planned posts "
        "wait for February or a raised budget",
    ]
    spending = [
        json.loads(line)
        for line in cli(
            "--root", site.root, "plan", "--now", "2026-01-28T08:00Z", "--json"
        ).out.splitlines()
        if '"spending"' in line
    ]
    assert spending == [
        {
            "kind": "spending",
            "network": "x",
            "month": "January 2026",
            "spent_usd": 0.0,
            "budget_usd": 0.5,
            "planned_usd": 0.4,
            "runs_out": "2026-01-30T09:00:00Z",
            "waiting": ["charlie", "delta"],
        }
    ]


def test_a_dry_run_says_which_copy_the_budget_would_hold_back(
    deployment: Deployment, cli: Callable[..., Result]
) -> None:
    site = deployment
    site.write(
        "config/bot.yaml",
        "timezone: Europe/London\nnetworks:\n  x:\n    monthly_budget_usd: 0.10\n",
    )
    site.post("a", link_post("Alpha"))
    done = cli("--root", site.root, "run", "--dry-run", "--now", "2026-01-05T09:05Z")
    assert (
        "would not send a: waits for X's monthly budget: it costs $0.200, more than the whole "
        "$0.100 a month; raise networks.x.monthly_budget_usd"
    ) in done.out
    assert "would publish" not in done.out


def test_a_waiting_copy_the_budget_still_holds_back_lets_cron_ticks_go_quiet(
    deployment: Deployment,
    emulator: Sandbox,
    connect: Connect,
    sleeps: Sleeps,
    account: pds_server.Account,
) -> None:
    from bot.start import quiet_run  # noqa: PLC0415

    site = deployment
    site.write("config/bot.yaml", config(budget="0.21"))
    # $0.20 and $0.015: $0.215 in all, over $0.21, though its first part alone fits
    site.post("t", link_post("Thread") + "thread: ['Second part']\n")
    first = tick(site, account, connect, sleeps)
    assert posts_on(emulator) == []
    assert len(on_bluesky(account)) == 2
    assert first.problems

    def stays_quiet(at: str) -> bool:
        return quiet_run(["--root", str(site.root), "run", "--now", at], {}, 0.0) is not None

    # 11:00: the 09:00 slot's grace is over, so nothing else keeps a tick awake
    tick(site, account, connect, sleeps, datetime(2026, 1, 5, 11, 0, tzinfo=UTC))
    assert stays_quiet("2026-01-05T11:05Z")  # the next tick stops at bot.start
    # Withdrawn while its X copy waits, and the budget raised: it could go, but its post
    # does not, so it keeps no tick awake either.
    site.post("t", link_post("Thread").replace("approved: true", "approved: false"))
    site.write("config/bot.yaml", config(budget="5"))
    tick(site, account, connect, sleeps, datetime(2026, 1, 5, 11, 10, tzinfo=UTC))
    assert stays_quiet("2026-01-05T11:15Z")
    assert posts_on(emulator) == []
