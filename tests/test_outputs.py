"""What people read, whole: three cron runs through the CLI in an America/New_York deployment
across the night clocks go forward (8 March 2026), then `status`, `plan`, `log` and `preview`,
asserted line by line as a maintainer or an editor reads them.

The runs are a rehearsal against the emulator (``X_API_BASE_URL``): the same commands a
newcomer tries first, whose every line says so. Every figure here is worked out by hand in the
comments: the lengths as X counts them (a link is 23), the times in the zone of the day.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from bot.networks.x.client import Credentials, Publisher
from bot.networks.x.sandbox import Sandbox
from tests.conftest import KEYS, Deployment, Result, posts_on
from tests.test_images import PNG
from tests.test_newcomer import Cli
from tests.test_publisher import script
from tests.test_run import post, tick

Connect = Callable[[Credentials], Publisher]
CONFIG = (
    "timezone: America/New_York\n"
    "schedule:\n  slots:\n    daily: ['08:30', '17:30']\n  max_per_day: 2\n"
)
BROKEN = (
    "queue/broken.yaml:2: invalid YAML: did not find expected ',' or ']'; fix the syntax "
    "(put text containing ': ' or starting with a special character in quotes)"
)
EXPIRED = (
    "d: expired unpublished at the end of 6 Mar 2026; change expires: to publish it, "
    "or remove the file"
)
REFUSED = "X rejected the post (400: One or more parameters are invalid.)"
FAILED = f"b: failed for good: {REFUSED}; fix it, then `interlink-bot retry b`"
STATUS_URL = "https://x.com/i/web/status/"
# A post with a link is $0.20 on X, $0.015 without (SPEC "X's bill")
WITHOUT_THE_LINK = "  X cost: $0.200; $0.015 without the link (a networks.x.template without {url})"


@pytest.fixture
def site(deployment: Deployment, emulator: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Deployment:
    deployment.write("config/bot.yaml", CONFIG)
    deployment.write("media/court.png", PNG)
    environment = {
        "X_API_KEY": KEYS.api_key,
        "X_API_SECRET": KEYS.api_secret,
        "X_ACCESS_TOKEN": KEYS.access_token,
        "X_ACCESS_TOKEN_SECRET": KEYS.access_token_secret,
        "X_API_BASE_URL": emulator.base_url,
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    for name in ("NOTIFY_URLS", "BOT_ROOT"):
        monkeypatch.delenv(name, raising=False)
    summary = "'Judges & lawyers <met> today.'"
    deployment.post("a", post("Court hears the appeal", priority="2", summary=summary))
    deployment.post("b", post("Refused story"))
    image = "{path: media/court.png, alt: Protesters outside the court}"
    deployment.post("c", post("Digest", image=image) + 'thread: ["Part two of the digest"]\n')
    deployment.post("d", post("Old news", expires="2026-03-06"))
    deployment.post("e", post("Next week", not_before="2026-03-09T10:00"))
    deployment.post("f", post("Sunday story", not_before="2026-03-08"))
    deployment.write("queue/broken.yaml", "title: [unclosed\n")
    return deployment


def lines(result: Result) -> tuple[int, list[str], list[str]]:
    return result.status, result.out.splitlines(), result.err.splitlines()


def test_three_runs_across_the_clock_change_then_what_each_command_shows(
    site: Deployment, emulator: Sandbox, cli: Cli
) -> None:
    root = site.root
    mark = f"[rehearsal against {emulator.base_url}] "
    script(emulator, "ok", "400")

    # Saturday 08:31 EST: a (priority 2) takes the 08:30 slot; the two problems are new (exit 1).
    first = lines(cli("--root", root, "run", "--now", "2026-03-07 08:31"))
    assert first == (
        1,
        [f"{mark}published a: {STATUS_URL}1850000000000000001"],
        [mark + BROKEN, mark + EXPIRED],
    )
    # 17:31 EST: X refuses b; c (image, then its reply) takes the slot in its place. The old
    # problems are said again on stdout as "still:", and only b's is new (stderr, exit 1).
    second = lines(cli("--root", root, "run", "--now", "2026-03-07 17:31"))
    assert second == (
        1,
        [
            f"{mark}b: not published: {REFUSED}",
            f"{mark}published c part 1/2: {STATUS_URL}1850000000000000003",
            f"{mark}published c part 2/2: {STATUS_URL}1850000000000000004",
            f"{mark}still: {BROKEN}",
            f"{mark}still: {EXPIRED}",
        ],
        [mark + FAILED],
    )
    # Sunday 08:31 is EDT (clocks went forward at 02:00): f's first day. Nothing new: exit 0.
    third = lines(cli("--root", root, "run", "--now", "2026-03-08 08:31"))
    assert third == (
        0,
        [
            f"{mark}published f: {STATUS_URL}1850000000000000005",
            f"{mark}still: {BROKEN}",
            f"{mark}still: {FAILED}",
            f"{mark}still: {EXPIRED}",
        ],
        [],
    )
    stored = [(sent["text"], sent["in_reply_to"]) for sent in posts_on(emulator)]
    assert stored == [
        ("Court hears the appeal: Judges & lawyers <met> today. "
         "https://example.org/Court-hears-the-appeal", None),
        ("Digest https://example.org/Digest", None),
        ("Part two of the digest", "1850000000000000003"),
        ("Sunday story https://example.org/Sunday-story", None),
    ]  # fmt: skip

    status = lines(cli("--root", root, "status", "--now", "2026-03-08 09:00"))
    assert status == (
        0,
        [
            "[rehearsal against " + emulator.base_url + "] about the rehearsal's records, "
            "not the real ones",
            # approved: e (waiting for Monday); published: a, c, f; b failed, d expired.
            "queue: 1 approved, 0 drafts, 1 invalid, 3 published, 1 expired, 1 failed, "
            "3 will not go out",
            "next slot: Sun 2026-03-08 17:30 EDT",
            "today: 1 of 2 posts",  # f; Saturday's two are yesterday's
            f"x: last success: 2026-03-08 08:31 EDT f {STATUS_URL}1850000000000000005",
            f"x: last error: 2026-03-07 17:31 EST b: {REFUSED}",
            "x: credentials: set",
            # a, f: $0.20 each; c: $0.20 with its image's alt text ($0.005), its reply $0.015
            "x: spent $0.620 in March 2026, no monthly budget set (networks.x.monthly_budget_usd)",
            "paused: no",
            "will not go out:",
            "  " + BROKEN,
            "  " + FAILED,
            "  " + EXPIRED,
        ],
        [],
    )

    # e may go out from Monday 10:00 EDT: after the 08:30 slot, so at 17:30. Exit 1: problems.
    plan = lines(cli("--root", root, "plan", "--now", "2026-03-08 09:00", "--days", "2"))
    assert plan == (
        1,
        [
            f"{mark[:-1]} history from the rehearsal's records, not the real ones",
            "Mon 2026-03-09 17:30 EDT  slot  e",
            "x: March 2026: $0.620 spent, $0.200 more planned (1 post): $0.820; no monthly "
            "budget set (networks.x.monthly_budget_usd)",
            "will not go out:",
            "  " + BROKEN,
            "  " + FAILED,
            "  " + EXPIRED,
        ],
        [],
    )

    log = lines(cli("--root", root, "log"))
    assert log == (
        0,
        [
            f"{mark[:-1]} these are the rehearsal's records, not the real ones",
            f"2026-03-08 08:31:00 EDT  published  x  f  (attempts: 1, $0.200)  {STATUS_URL}"
            "1850000000000000005",
            f"2026-03-07 17:31:00 EST  failed     x  b  (attempts: 1)  {REFUSED}",  # not billed
            f"2026-03-07 17:31:00 EST  published  x  c part 2/2  (attempts: 1, $0.015)  "
            f"{STATUS_URL}1850000000000000004",
            # upload, alt text, post: three requests for the image post, two of them billed
            f"2026-03-07 17:31:00 EST  published  x  c part 1/2  (attempts: 3, $0.205)  "
            f"{STATUS_URL}1850000000000000003",
            f"2026-03-07 08:31:00 EST  published  x  a  (attempts: 1, $0.200)  {STATUS_URL}"
            "1850000000000000001",
        ],
        [],
    )
    assert lines(cli("--root", root, "log", "--limit", "2"))[1] == log[1][:3]

    # Lengths as X counts them: "Digest " is 7 and the link 23; the reply has no link.
    assert lines(cli("--root", root, "preview", "c")) == (
        0,
        [
            "c · approved",
            "  part 1/2 · 30/280",
            "  │ Digest https://example.org/Digest",
            "  │ [image media/court.png · alt: Protesters outside the court]",
            "  part 2/2 · 22/280",
            "  │ Part two of the digest",
            # $0.20 + $0.015 + $0.005; without the link the first post is $0.015 too
            "  X cost: $0.220 for 2 posts and the image's alt text; $0.035 without the link (a "
            "networks.x.template without {url})",
        ],
        [],
    )
    # 23 + 1 + 29 ("Judges & lawyers <met> today.") + 1 + 23; the times in the zone of the day.
    assert lines(cli("--root", root, "preview", "a", "d", "e")) == (
        0,
        [
            "a · approved · priority 2",
            "  77/280",
            "  │ Court hears the appeal: Judges & lawyers <met> today. "
            "https://example.org/Court-hears-the-appeal",
            WITHOUT_THE_LINK,
            "",
            "d · approved · until the end of 6 Mar 2026",
            "  32/280",
            "  │ Old news https://example.org/Old-news",
            WITHOUT_THE_LINK,
            "",
            "e · approved · not before 2026-03-09 10:00 EDT",
            "  33/280",
            "  │ Next week https://example.org/Next-week",
            WITHOUT_THE_LINK,
        ],
        [],
    )


def test_the_real_records_read_the_same_without_the_rehearsal_s_mark(
    site: Deployment, emulator: Sandbox, connect: Connect, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    script(emulator, "ok", "400")
    tick(site, connect, datetime(2026, 3, 7, 13, 31, tzinfo=UTC))  # 08:31 EST
    tick(site, connect, datetime(2026, 3, 7, 22, 31, tzinfo=UTC))  # 17:31 EST
    monkeypatch.delenv("X_API_BASE_URL")
    status = lines(cli("--root", site.root, "status", "--now", "2026-03-07 18:00"))
    assert status == (
        0,
        [
            "queue: 2 approved, 0 drafts, 1 invalid, 2 published, 1 expired, 1 failed, "
            "3 will not go out",
            "next slot: Sun 2026-03-08 08:30 EDT",  # the first slot after the clocks go forward
            "today: 2 of 2 posts",
            # a thread's part is named as log names it
            f"x: last success: 2026-03-07 17:31 EST c part 2/2 {STATUS_URL}1850000000000000004",
            f"x: last error: 2026-03-07 17:31 EST b: {REFUSED}",
            "x: credentials: set",
            "x: spent $0.420 in March 2026, no monthly budget set (networks.x.monthly_budget_usd)",
            "paused: no",
            "will not go out:",
            "  " + BROKEN,
            "  " + FAILED,
            "  " + EXPIRED,
        ],
        [],
    )
    log = lines(cli("--root", site.root, "log", "--post", "c"))
    assert log == (
        0,
        [
            f"2026-03-07 17:31:00 EST  published  x  c part 1/2  (attempts: 3, $0.205)  "
            f"{STATUS_URL}1850000000000000003",
            f"2026-03-07 17:31:00 EST  published  x  c part 2/2  (attempts: 1, $0.015)  "
            f"{STATUS_URL}1850000000000000004",
        ],
        [],
    )
