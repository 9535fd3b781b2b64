"""bot.schedule: pure rules, driven by ``now`` (SPEC: "Which post goes out", "Time")."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.config import Config, load_config
from bot.ledger import FAILED, PUBLISHED, Record
from bot.posts import Post
from bot.schedule import Held, History, current_slot, due, plan, slot_instants
from tests.conftest import Deployment

LONDON = ZoneInfo("Europe/London")


def config_with(site: Deployment, schedule: str) -> Config:
    site.write("config/bot.yaml", f"timezone: Europe/London\nschedule:\n{schedule}")
    return load_config(site.root)


def post(post_id: str, **fields: object) -> Post:
    values: dict[str, object] = {
        "title": post_id,
        "url": f"https://example.org/{post_id}",
        "approved": True,
    }
    values.update(fields)
    return Post(id=post_id, file=f"{post_id}.yaml", **values)  # type: ignore[arg-type]


def published(post_id: str, at: datetime, slot: datetime | None = None) -> Record:
    return Record(
        post_id, 0, PUBLISHED, "t", f"https://example.org/{post_id}", slot, "1", 1, None, at
    )


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def simulate(
    posts: list[Post], config: Config, start: datetime, hours: int, every: int = 5
) -> list[tuple[datetime, str, datetime | None]]:
    """Run the rules every ``every`` minutes, as cron would, remembering what went out."""
    history = History([], config)
    out = []
    moment = start
    while moment < start + timedelta(hours=hours):
        out += [(moment, item.post.id, item.slot) for item in due(posts, history, moment, config)]
        moment += timedelta(minutes=every)
    return out


DAILY = "  slots:\n    daily: ['01:30', '09:00']\n  max_per_day: 10\n  min_gap_minutes: 0\n"


def test_spring_forward_slot_in_the_skipped_hour_fires_once(deployment: Deployment) -> None:
    # 2026-03-29: London clocks go from 01:00 GMT to 02:00 BST; 01:30 never happens.
    config = config_with(deployment, DAILY)
    posts = [post(f"p{n}") for n in range(10)]
    sent = simulate(posts, config, utc("2026-03-28T23:00"), hours=12)
    slots = [slot for _, _, slot in sent]
    assert slots == [utc("2026-03-29T01:30"), utc("2026-03-29T08:00")]  # 02:30 BST, 09:00 BST
    assert sent[0][0] == utc("2026-03-29T01:30")


def test_fall_back_slot_in_the_repeated_hour_fires_once_at_its_first_occurrence(
    deployment: Deployment,
) -> None:
    # 2026-10-25: London clocks go from 02:00 BST back to 01:00 GMT; 01:30 happens twice.
    config = config_with(deployment, DAILY)
    posts = [post(f"p{n}") for n in range(10)]
    sent = simulate(posts, config, utc("2026-10-24T22:00"), hours=14)
    assert [slot for _, _, slot in sent] == [utc("2026-10-25T00:30"), utc("2026-10-25T09:00")]
    assert sent[0][0].astimezone(LONDON).strftime("%H:%M %Z") == "01:30 BST"


def test_slot_instants_follow_the_zone(deployment: Deployment) -> None:
    config = config_with(deployment, "  slots:\n    daily: ['09:00']\n")
    winter = slot_instants(datetime(2026, 1, 5).date(), config)
    summer = slot_instants(datetime(2026, 7, 6).date(), config)
    assert winter == [utc("2026-01-05T09:00")]
    assert summer == [utc("2026-07-06T08:00")]


def test_after_downtime_only_the_current_slot_is_served(deployment: Deployment) -> None:
    config = config_with(
        deployment, "  slots:\n    daily: ['09:00', '13:00', '18:00']\n  grace_minutes: 90\n"
    )
    posts = [post(f"p{n}") for n in range(5)]
    history = History([], config)
    # Down all day; back at 18:20 London: one post, for the 18:00 slot, not three.
    chosen = due(posts, history, utc("2026-01-05T18:20"), config)
    assert [(item.post.id, item.slot) for item in chosen] == [("p0", utc("2026-01-05T18:00"))]
    assert due(posts, history, utc("2026-01-05T18:25"), config) == []


def test_a_slot_past_its_grace_is_skipped(deployment: Deployment) -> None:
    config = config_with(deployment, "  slots:\n    daily: ['09:00']\n  grace_minutes: 30\n")
    assert current_slot(utc("2026-01-05T09:29"), config) == utc("2026-01-05T09:00")
    assert current_slot(utc("2026-01-05T09:30"), config) is None
    assert due([post("p")], History([], config), utc("2026-01-05T09:31"), config) == []


def test_the_daily_cap_counts_everything(deployment: Deployment) -> None:
    config = config_with(
        deployment,
        "  slots:\n    daily: ['09:00', '10:00', '11:00']\n"
        "  max_per_day: 2\n  min_gap_minutes: 0\n",
    )
    timed = post("timed", publish_at=utc("2026-01-05T08:00"))
    posts = [timed, post("a"), post("b"), post("c")]
    sent = simulate(posts, config, utc("2026-01-05T07:00"), hours=6)
    assert [post_id for _, post_id, _ in sent] == ["timed", "a"]
    # The next day the cap starts again.
    sent = simulate(posts, config, utc("2026-01-05T07:00"), hours=30)
    assert len(sent) == 4


def test_min_gap_between_slot_posts(deployment: Deployment) -> None:
    config = config_with(
        deployment,
        "  slots:\n    daily: ['09:00', '09:30']\n  min_gap_minutes: 60\n  grace_minutes: 60\n",
    )
    sent = simulate([post("a"), post("b")], config, utc("2026-01-05T08:00"), hours=3)
    # The 09:30 slot waits for the gap, and is still within its grace at 10:00.
    assert [(moment, post_id) for moment, post_id, _ in sent] == [
        (utc("2026-01-05T09:00"), "a"),
        (utc("2026-01-05T10:00"), "b"),
    ]


def test_a_slot_the_gap_keeps_past_its_grace_is_skipped(deployment: Deployment) -> None:
    config = config_with(
        deployment,
        "  slots:\n    daily: ['09:00', '09:30']\n  min_gap_minutes: 60\n  grace_minutes: 20\n",
    )
    sent = simulate([post("a"), post("b")], config, utc("2026-01-05T08:00"), hours=3)
    assert [(moment, post_id) for moment, post_id, _ in sent] == [(utc("2026-01-05T09:00"), "a")]


def test_publish_at_goes_first_at_its_time(deployment: Deployment) -> None:
    config = config_with(deployment, "  slots:\n    daily: ['09:00']\n")
    posts = [post("slot-post", priority=9), post("timed", publish_at=utc("2026-01-05T09:00"))]
    chosen = due(posts, History([], config), utc("2026-01-05T09:02"), config)
    assert [(item.post.id, item.slot) for item in chosen] == [
        ("timed", None),
        ("slot-post", utc("2026-01-05T09:00")),
    ]


def test_priority_then_oldest_then_id(deployment: Deployment) -> None:
    config = config_with(deployment, "  slots:\n    daily: ['09:00']\n")
    posts = [
        post("b-new", not_before=utc("2026-01-04T00:00")),
        post("a-new", not_before=utc("2026-01-04T00:00")),
        post("old", not_before=utc("2026-01-01T00:00")),
        post("urgent", priority=2, not_before=utc("2026-01-04T00:00")),
    ]
    order = [
        post_id for _, post_id, _ in simulate(posts, config, utc("2026-01-05T08:00"), hours=24 * 4)
    ]
    assert order == ["urgent", "old", "a-new", "b-new"]


@pytest.mark.parametrize(
    ("fields", "goes_out"),
    [
        ({}, True),
        ({"approved": False}, False),
        ({"expires": utc("2026-01-05T09:00")}, False),
        ({"expires": utc("2026-01-05T09:06")}, True),
        ({"not_before": utc("2026-01-05T10:00")}, False),
    ],
)
def test_who_is_a_candidate(
    deployment: Deployment, fields: dict[str, object], goes_out: bool
) -> None:
    config = config_with(deployment, "  slots:\n    daily: ['09:00']\n")
    chosen = due([post("p", **fields)], History([], config), utc("2026-01-05T09:05"), config)
    assert bool(chosen) is goes_out


def test_a_link_goes_out_once_unless_allow_repeat(deployment: Deployment) -> None:
    config = config_with(deployment, "  slots:\n    daily: ['09:00']\n")
    earlier = published("old", utc("2026-01-01T09:00"))
    repeat = replace(post("new"), url="https://example.org/old")
    now = utc("2026-01-05T09:05")
    assert due([repeat], History([earlier], config), now, config) == []
    allowed = replace(repeat, allow_repeat=True)
    assert [item.post.id for item in due([allowed], History([earlier], config), now, config)] == [
        "new"
    ]


def test_published_and_failed_posts_are_not_candidates(deployment: Deployment) -> None:
    config = config_with(deployment, "  slots:\n    daily: ['09:00']\n")
    failed = Record("f", 0, FAILED, "t", None, None, None, 1, "400", utc("2026-01-04T09:00"))
    records = [published("done", utc("2026-01-04T09:00")), failed]
    posts = [post("done"), post("f"), post("next")]
    chosen = due(posts, History(records, config), utc("2026-01-05T09:05"), config)
    assert [item.post.id for item in chosen] == ["next"]


def test_a_served_slot_is_not_served_again(deployment: Deployment) -> None:
    config = config_with(deployment, "  slots:\n    daily: ['09:00']\n  min_gap_minutes: 0\n")
    slot = utc("2026-01-05T09:00")
    history = History([published("a", utc("2026-01-05T09:01"), slot)], config)
    assert due([post("b")], history, utc("2026-01-05T09:10"), config) == []


def test_plan_lists_the_next_days(deployment: Deployment) -> None:
    config = config_with(deployment, "  slots:\n    weekdays: ['09:00']\n")
    posts = [post("a"), post("b"), post("c")]
    entries = plan(posts, History([], config), utc("2026-01-09T08:00"), config, days=4)  # a Friday
    assert [(entry.at, entry.post.id) for entry in entries] == [
        (utc("2026-01-09T09:00"), "a"),
        (utc("2026-01-12T09:00"), "b"),  # Monday: no slots at the weekend
    ]


# --- plan and run agree; nothing bursts at midnight (issue 8) ---------------------------------


def test_publish_at_held_back_by_the_cap_goes_at_the_next_slots_not_at_midnight(
    deployment: Deployment,
) -> None:
    config = config_with(deployment, "  slots:\n    daily: ['09:00', '13:00']\n  max_per_day: 1\n")
    timed = [post(f"t{n}", publish_at=utc(f"2026-01-05T1{n}:00")) for n in range(3)]
    sent = simulate(timed, config, utc("2026-01-05T08:00"), hours=60)
    # t0 at its time; t1 and t2 held by the cap, then one per slot (first there), never 00:05.
    assert [(moment, post_id) for moment, post_id, _ in sent] == [
        (utc("2026-01-05T10:00"), "t0"),
        (utc("2026-01-06T09:00"), "t1"),
        (utc("2026-01-07T09:00"), "t2"),
    ]
    assert all(moment.hour >= 9 for moment, _, _ in sent)


def test_a_publish_at_from_2019_waits_for_the_next_slot_and_goes_first(
    deployment: Deployment,
) -> None:
    config = config_with(deployment, "  slots:\n    daily: ['09:00']\n")
    posts = [post("slot-post", priority=9), post("old", publish_at=utc("2019-10-20T09:00"))]
    sent = simulate(posts, config, utc("2026-01-05T02:00"), hours=40)
    assert [(moment, post_id) for moment, post_id, _ in sent] == [
        (utc("2026-01-05T09:00"), "old"),  # not at 02:00: at the slot, ahead of priority 9
        (utc("2026-01-06T09:00"), "slot-post"),
    ]


@pytest.mark.parametrize("minutes", [5, 7])
def test_plan_is_run_simulated(deployment: Deployment, minutes: int) -> None:
    config = config_with(
        deployment,
        "  slots:\n    weekdays: ['08:30', '12:30', '17:30']\n    weekends: ['10:00']\n"
        "  max_per_day: 2\n  min_gap_minutes: 90\n  grace_minutes: 60\n",
    )
    posts = [
        *(post(f"p{n}", priority=n % 3) for n in range(8)),
        post("timed-early", publish_at=utc("2026-01-05T06:10")),
        post("timed-capped", publish_at=utc("2026-01-05T19:00")),
        post("late-start", not_before=utc("2026-01-06T12:00"), priority=5),
        post("expiring", expires=utc("2026-01-05T10:00"), priority=-1),
    ]
    start = utc("2026-01-05T06:00")
    planned = plan(posts, History([], config), start, config, days=5)
    ran = simulate(posts, config, start, hours=5 * 24, every=minutes)
    # The same posts in the same order, each run at the first cron tick at or after its plan.
    assert [entry.post.id for entry in planned] == [post_id for _, post_id, _ in ran]
    for entry, (moment, _, slot) in zip(planned, ran, strict=True):
        assert entry.at <= moment < entry.at + timedelta(minutes=minutes)
        assert entry.slot == slot


def test_plan_names_posts_the_cap_holds_back(deployment: Deployment) -> None:
    config = config_with(deployment, "  slots:\n    daily: ['09:00']\n  max_per_day: 1\n")
    posts = [
        post("a", publish_at=utc("2026-01-05T08:00")),
        post("b", publish_at=utc("2026-01-05T08:30")),
    ]
    held: list[Held] = []
    planned = plan(posts, History([], config), utc("2026-01-05T07:00"), config, days=2, held=held)
    assert [(entry.at, entry.post.id) for entry in planned] == [
        (utc("2026-01-05T08:00"), "a"),
        (utc("2026-01-06T09:00"), "b"),
    ]
    assert [(item.post.id, item.at) for item in held] == [("b", utc("2026-01-05T08:30"))]
    assert held[0].reason(config) == (
        "held back by max_per_day (1) on Mon 2026-01-05; it goes at the next slot with room, "
        "first in line"
    )
