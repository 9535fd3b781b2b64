"""What is due: given the posts, the ledger's history and ``now``, which posts go out now.

Pure: no clock, no files, no network. Every rule reads ``now`` (SPEC: "Time").

- Slots are local times in the config's time zone. On a daylight-saving day a slot in the
  skipped hour still fires, once (01:30 on the spring-forward day in London is read with the
  offset before the change, so it fires at 02:30 BST); a slot in the repeated hour fires once,
  at its first occurrence (fold=0).
- A slot is served by one post. A slot not served within ``grace_minutes`` is skipped: after
  downtime the bot posts for the current slot only, never a burst of missed ones.
- ``publish_at`` posts go out at that time (or at a run within ``grace_minutes`` after it),
  before slot posts. One that was missed — the bot was down, the daily cap held it back, it was
  set in the past — is never sent in the middle of the night, nor in a burst: it waits for the
  next slot and goes first there, taking that slot (issue 8), unless it expired.
  ``max_per_day`` counts everything published that local day; ``min_gap_minutes`` separates
  slot posts.
- `plan` is `run` simulated: ``plan`` asks ``due`` at every moment a run could act.
- A candidate is approved, not published, not failed for good, not expired, past
  ``not_before``; highest ``priority`` first, then oldest (``not_before``, then id). A link the
  account already published is skipped unless the post says ``allow_repeat: true``.
"""

from __future__ import annotations

import heapq
import itertools
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.config import Config
from bot.ledger import FAILED, PUBLISHED, Record
from bot.posts import Post

_EARLIEST = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Due:
    post: Post
    slot: datetime | None  # the slot it serves; None for a publish_at post


def slot_instants(day: date, config: Config) -> list[datetime]:
    """The slots of a local day, as instants (UTC), earliest first."""
    zone: ZoneInfo = config.timezone
    instants = {
        # fold=0: the first of a repeated local time; for a skipped one, the offset before
        # the change, which lands just after the gap.
        datetime.combine(day, moment, tzinfo=zone).astimezone(UTC)
        for moment in config.schedule.slots_for(day.weekday())
    }
    return sorted(instants)


def current_slot(now: datetime, config: Config) -> datetime | None:
    """The latest slot at or before ``now`` that is still within its grace period."""
    today = now.astimezone(config.timezone).date()
    grace = timedelta(minutes=config.schedule.grace_minutes)
    for day in (today, today - timedelta(days=1)):
        for slot in reversed(slot_instants(day, config)):
            if slot <= now:
                return slot if now < slot + grace else None
    return None


def next_slot(now: datetime, config: Config) -> datetime | None:
    """The first slot after ``now`` (within a fortnight)."""
    today = now.astimezone(config.timezone).date()
    for offset in range(15):
        for slot in slot_instants(today + timedelta(days=offset), config):
            if slot > now:
                return slot
    return None


class History:
    """What the ledger says about the posts, in the shape the rules need."""

    def __init__(self, records: Iterable[Record], config: Config) -> None:
        self.zone = config.timezone
        self.done: set[str] = set()  # published (first part) or failed for good
        self.links: set[str] = set()
        self.published_at: list[datetime] = []  # first parts, for the daily cap
        self.slots_served: set[datetime] = set()
        self.last_slot_post = _EARLIEST
        self._per_day: Counter[date] | None = None
        first_out: dict[str, Record] = {}  # a post's first copy out: caps count posts, not copies
        for record in records:
            if record.status == FAILED:
                self.done.add(record.post_id)
            if record.part != 0 or record.status != PUBLISHED:
                continue
            earlier = first_out.get(record.post_id)
            if earlier is None or record.at < earlier.at:
                first_out[record.post_id] = record
        for record in first_out.values():
            self.done.add(record.post_id)
            if record.url:
                self.links.add(record.url)
            self.published_at.append(record.at)
            if record.slot is not None:
                self.slots_served.add(record.slot)
                self.last_slot_post = max(self.last_slot_post, record.at)

    def published_on(self, day: date) -> int:
        if self._per_day is None:  # counted once, not at each moment `plan` asks (issue 9)
            self._per_day = Counter(
                moment.astimezone(self.zone).date() for moment in self.published_at
            )
        return self._per_day[day]

    def add(self, post: Post, slot: datetime | None, at: datetime) -> None:
        """Count ``post`` as published at ``at`` (for the rest of a run, or for `plan`)."""
        self.done.add(post.id)
        if post.url:
            self.links.add(post.url)
        self.published_at.append(at)
        if self._per_day is not None:
            self._per_day[at.astimezone(self.zone).date()] += 1
        if slot is not None:
            self.slots_served.add(slot)
            self.last_slot_post = max(self.last_slot_post, at)


def is_candidate(post: Post, history: History, now: datetime) -> bool:
    return (
        post.approved
        and post.id not in history.done
        and (post.expires is None or now < post.expires)
        and (post.not_before is None or post.not_before <= now)
        and (post.allow_repeat or not post.url or post.url not in history.links)
    )


def _turn(post: Post) -> tuple[int, datetime, str]:
    return (-post.priority, post.not_before or _EARLIEST, post.id)


def due(
    posts: Sequence[Post],
    history: History,
    now: datetime,
    config: Config,
    *,
    held: list[Post] | None = None,
    in_turn: bool = False,
) -> list[Due]:
    """The posts to publish at ``now``, in order. ``history`` is updated as if they went out.
    ``held`` collects the posts that would go now but for ``max_per_day``. ``in_turn``: the
    posts are already sorted by their turn (``plan`` sorts once for all its moments)."""
    schedule = config.schedule
    today = now.astimezone(config.timezone).date()
    room = schedule.max_per_day - history.published_on(today)
    grace = timedelta(minutes=schedule.grace_minutes)
    ordered = posts if in_turn else sorted(posts, key=_turn)
    chosen: list[Due] = []

    timed = sorted(
        (
            post
            for post in ordered
            if post.publish_at is not None
            and post.publish_at <= now
            and is_candidate(post, history, now)
        ),
        key=lambda post: (post.publish_at, *_turn(post)),
    )
    on_time = [post for post in timed if post.publish_at and now - post.publish_at <= grace]
    on_time_ids = {post.id for post in on_time}
    missed = [post for post in timed if post.id not in on_time_ids]
    for post in on_time:
        if not is_candidate(post, history, now):  # an earlier one may have taken its link
            continue
        if len(chosen) >= room:
            if held is not None:
                held.append(post)
            continue
        chosen.append(Due(post, None))
        history.add(post, None, now)

    slot = current_slot(now, config)
    gap = timedelta(minutes=schedule.min_gap_minutes)
    if slot is None or slot in history.slots_served or history.last_slot_post + gap > now:
        return chosen
    # A missed publish_at goes first at the slot, ahead of the slot posts; only the first
    # that can go is needed, so the others are never looked at (plan asks at every moment).
    line = itertools.chain(missed, (post for post in ordered if post.publish_at is None))
    for post in line:
        if not is_candidate(post, history, now):
            continue
        if len(chosen) >= room:
            if held is not None:
                held.append(post)
            break
        chosen.append(Due(post, slot))
        history.add(post, slot, now)
        break
    return chosen


@dataclass(frozen=True)
class Planned:
    at: datetime
    post: Post
    slot: datetime | None


@dataclass(frozen=True)
class Held:
    """A post the daily cap keeps back: when it first would have gone."""

    post: Post
    at: datetime

    def reason(self, config: Config) -> str:
        day = self.at.astimezone(config.timezone)
        return (
            f"held back by max_per_day ({config.schedule.max_per_day}) on {day:%a %Y-%m-%d}; "
            "it goes at the next slot with room, first in line"
        )


def plan(
    posts: list[Post],
    history: History,
    now: datetime,
    config: Config,
    days: int = 7,
    *,
    held: list[Held] | None = None,
) -> list[Planned]:
    """What `run` would publish, and when, over the next ``days``, if every post went out:
    ``due`` asked at each moment a run could act (the slots, each publish_at and not_before).
    ``held`` collects each post the daily cap keeps back, once, at the first such moment."""
    end = now + timedelta(days=days)
    local_today = now.astimezone(config.timezone).date()
    moments = {now}
    for offset in range(days + 1):
        moments.update(slot_instants(local_today + timedelta(days=offset), config))
    moments.update(post.publish_at for post in posts if post.publish_at and now < post.publish_at)
    # Not before a post may go out, nor after: the run at those moments decides too.
    moments.update(post.not_before for post in posts if post.not_before and now < post.not_before)
    # Only these can ever be due in the plan: each moment's `due` need not look at the rest.
    posts = sorted(
        (post for post in posts if post.approved and post.id not in history.done), key=_turn
    )
    # A slot that min_gap_minutes holds back opens to a run when the gap ends, within grace.
    gap = timedelta(minutes=config.schedule.min_gap_minutes)
    if gap:
        moments.add(history.last_slot_post + gap)
    waiting = sorted(moment for moment in moments if now <= moment <= end)
    heapq.heapify(waiting)
    planned: list[Planned] = []
    seen_held: set[str] = set()
    done_moments: set[datetime] = set()
    while waiting:
        moment = heapq.heappop(waiting)
        if moment in done_moments:
            continue
        done_moments.add(moment)
        kept: list[Post] = []
        found = due(posts, history, moment, config, held=kept, in_turn=True)
        planned += [Planned(moment, item.post, item.slot) for item in found]
        if gap and any(item.slot for item in found) and moment + gap <= end:
            heapq.heappush(waiting, moment + gap)
        for post in kept:
            if held is not None and post.id not in seen_held:
                seen_held.add(post.id)
                held.append(Held(post, moment))
    return planned
