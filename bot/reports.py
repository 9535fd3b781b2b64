"""Read models: what `status`, `plan` and `run` say about the queue, computed in one place.

``will_not_go_out`` is the one place that decides which approved posts will not go out, and
why (SPEC: "Nothing in silence"); `plan` and `status` show its answer, and the runner turns it
into problems that are told once. Everything here returns plain data for the CLI (or a future
web page) to render; nothing prints, reads the clock or opens a file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from bot.errors import CredentialsMissing
from bot.ledger import (
    FAILED,
    PENDING,
    PUBLISHED,
    RETRYING,
    WAITING,
    Attempt,
    NetworkState,
    Record,
)
from bot.networks import entry
from bot.schedule import Held, History, Planned, current_slot, next_slot
from bot.schedule import plan as schedule_plan
from bot.spending import Budget, billed, budget_of, money, post_price
from bot.times import local, until

if TYPE_CHECKING:
    from collections.abc import Mapping

    from bot.config import Config
    from bot.ledger import Ledger
    from bot.posts import Queue


def part_label(part: int, parts: int | None) -> str:
    """How a part is named for people: `` part 2/3`` (counted from 1; JSON keeps SPEC's
    0-based ``part``); nothing for a post without a thread. ``parts`` None: not known."""
    if parts is None:
        return f" part {part + 1}" if part else ""
    return f" part {part + 1}/{parts}" if parts > 1 else ""


@dataclass(frozen=True)
class WillNotGoOut:
    """One approved post (or file, or network) that will not go out, and why."""

    key: str  # stable across runs: the problem it is, for telling people once
    subject: str  # the post id, the file, or the network
    reason: str  # what is wrong, and what to do

    def __str__(self) -> str:
        return f"{self.subject}: {self.reason}"


def will_not_go_out(
    queue: Queue,
    records: list[Record],
    now: datetime,
    config: Config,
    *,
    networks: Mapping[str, NetworkState] | None = None,
    missing_credentials: Mapping[str, list[str]] | None = None,
) -> list[WillNotGoOut]:
    """Every approved post that will not go out, with why: its link was already published
    (naming the post that published it), it expired unpublished, it failed for good, it has no
    slot to go out at; every queue file that cannot be read (a post that does not fit, a
    missing or invalid image…); and each network whose credentials are missing or refused
    (``missing_credentials``: network -> the names not set; a network absent from it: not
    known here)."""
    found: list[WillNotGoOut] = []
    zone = config.timezone
    published: set[str] = set()
    link_owner: dict[str, str] = {}
    failed: dict[str, str] = {}
    for record in sorted(records, key=lambda record: record.at):
        if record.status == FAILED:
            failed.setdefault(record.post_id, record.error or "refused")
        elif record.part == 0 and record.status == PUBLISHED:
            published.add(record.post_id)
            if record.url:
                link_owner.setdefault(record.url, record.post_id)
    for problem in queue.problems:
        where = problem.path if problem.line is None else f"{problem.path}:{problem.line}"
        # one per problem: a file with two is told both, and each clears on its own
        key = f"file:{problem.path}:{problem.line or ''}:{problem.message}"
        found.append(WillNotGoOut(key, where, problem.message))
    no_slots = next_slot(now, config) is None
    for post in sorted(queue.posts, key=lambda post: post.id):
        if not post.approved:
            continue
        if post.id in failed:  # a thread's reply may fail after its first post went out
            error = failed[post.id]
            reason = (
                f"failed for good: {error}"
                if "interlink-bot retry" in error  # it says what to do itself
                else f"failed for good: {error}; fix it, then `interlink-bot retry {post.id}`"
            )
            found.append(WillNotGoOut(f"failed:{post.id}", post.id, reason))
        elif post.id in published:
            continue
        elif post.expires is not None and post.expires <= now:
            found.append(
                WillNotGoOut(
                    f"expired:{post.id}",
                    post.id,
                    f"expired unpublished at {until(post.expires, zone)}; change expires: to "
                    "publish it, or remove the file",
                )
            )
        elif post.url and not post.allow_repeat and post.url in link_owner:
            found.append(
                WillNotGoOut(
                    f"repeat:{post.id}",
                    post.id,
                    f"its link was already published by {link_owner[post.url]}; add "
                    "allow_repeat: true to publish it again",
                )
            )
        elif post.publish_at is None and no_slots:
            found.append(
                WillNotGoOut(
                    f"no-slots:{post.id}",
                    post.id,
                    "no slots are configured (schedule.slots), so it has no time to go out; "
                    "add slots or give it a publish_at",
                )
            )
    for state in (networks or {}).values():
        found += _network_blocks(state, (missing_credentials or {}).get(state.network))
    for network, ids in waiting_for_budget(queue, records, config).items():
        label = entry(network).label
        budget = config.networks[network].monthly_budget or 0
        count = len(ids)
        # One problem for every post it holds back (SPEC), open until they have gone: a new
        # month clears it when they go out, not at midnight while they still wait.
        several = count != 1
        found.append(
            WillNotGoOut(
                f"budget:{network}",
                network,
                f"{label}'s monthly budget ({money(budget)}) holds back {count} "
                f"post{'s' if several else ''} on {label} ({', '.join(ids)}); "
                f"{'they go' if several else 'it goes'} out when a month's budget allows, or "
                f"raise networks.{network}.monthly_budget_usd",
            )
        )
    return found


def waiting_for_budget(queue: Queue, records: list[Record], config: Config) -> dict[str, list[str]]:
    """Network -> the approved posts whose copy there waits for its monthly budget (a budget
    still set), in id order: a copy waits until a run sends it, whichever month it was held
    back in."""
    approved = {post.id for post in queue.posts if post.approved}
    waiting: dict[str, list[str]] = {}
    for record in records:
        settings = config.networks.get(record.network)
        if (
            record.status == WAITING
            and record.part == 0
            and record.post_id in approved
            and settings is not None
            and settings.monthly_budget is not None
        ):
            waiting.setdefault(record.network, []).append(record.post_id)
    return {network: sorted(ids) for network, ids in waiting.items()}


def _network_blocks(network: NetworkState, missing: list[str] | None) -> list[WillNotGoOut]:
    name = network.network
    if missing or (missing is None and network.credentials_missing):
        reason = (
            str(CredentialsMissing(missing, entry(name).credentials))
            if missing
            else network.credentials_missing or ""
        )
        return [WillNotGoOut(f"credentials:{name}", name, reason)]
    if network.account_refused:
        return [WillNotGoOut(f"account:{name}", name, network.account_refused)]
    return []


def outage(
    network: NetworkState, now: datetime, outage_minutes: int, zone: tzinfo
) -> WillNotGoOut | None:
    """A network failing for at least ``notify.outage_minutes`` (SPEC: Notifications)."""
    since = network.failing_since
    if since is None or now - since < timedelta(minutes=outage_minutes):
        return None
    minutes = int((now - since).total_seconds() // 60)
    return WillNotGoOut(
        f"outage:{network.network}",
        network.network,
        f"has been failing for {minutes} minutes, since {local(since, zone)} "
        f"({network.failure}); posts wait and are tried again at the next runs",
    )


@dataclass(frozen=True)
class LastResults:
    """The latest success and the latest error: a later success never erases the error."""

    success: Result | None  # when, and what (a post id with its link)
    error: Result | None  # when, and the message


def thread_lengths(ledger: Ledger, records: list[Record]) -> dict[str, int]:
    """How many parts each post has, for naming them ``part 2/3``: as its queue file says,
    or, for a post whose file is gone, as far as the ledger has seen."""
    counts = ledger.part_counts()
    for record in records:
        counts[record.post_id] = max(counts.get(record.post_id, 1), record.part + 1)
    return counts


def last_results(
    records: list[Record], attempts: list[Attempt], parts: dict[str, int]
) -> LastResults:
    """The last published part, and the last error seen: from the attempts table (the time
    of the request that met it), and from the parts for a ledger older than that table. A
    part being sent now keeps no error: its old one must not appear with a new time.
    ``parts``: each post's number of parts (``thread_lengths``), to name a part as log does."""
    success: Result | None = None
    error: Result | None = None
    for record in records:  # newest first
        if success is None and record.status == PUBLISHED:
            link = f" {record.remote_url}" if record.remote_url else ""
            label = part_label(record.part, parts.get(record.post_id))
            success = Result(record.at, f"{record.post_id}{label}{link}")
        if error is None and record.error and record.status in (FAILED, RETRYING):
            error = Result(record.at, f"{record.post_id}: {record.error}")
    for attempt in attempts:  # newest first
        if attempt.outcome != "ok" and attempt.error:
            if error is None or attempt.at >= error.at:
                error = Result(attempt.at, f"{attempt.post_id}: {attempt.error}")
            break
    return LastResults(success, error)


# --- status, plan and log: what the commands show, as plain data -----------------------------


def current_queue(config: Config, ledger: Ledger) -> Queue:
    """The queue as a run sees it, through the queue index: only files changed since the
    last run are read again (status and plan on 5,000 posts stay fast). ``ledger`` should be
    a ``Ledger.snapshot`` for read-only commands: the refreshed index is then never written."""
    from bot.posts import indexed_queue, refresh_index  # noqa: PLC0415

    _, walk_problems = refresh_index(config, ledger)
    return indexed_queue(ledger, walk_problems)


@dataclass(frozen=True)
class Result:
    at: datetime
    what: str


@dataclass(frozen=True)
class NetworkStatus:
    name: str
    credentials_set: bool
    last_success: Result | None
    last_error: Result | None
    rate_limited_until: datetime | None
    failing_since: datetime | None
    spending: Budget | None = None  # a network that bills each post: this month's spend
    waiting: tuple[str, ...] = ()  # posts whose copy here waits for its monthly budget


@dataclass(frozen=True)
class Status:
    """What `status` shows. ``counts`` in SPEC's order: approved, drafts, invalid,
    published, expired, failed, will_not_go_out."""

    counts: dict[str, int]
    next_slot: datetime | None
    next_slot_open: bool  # the slot is open now (within its grace) and not yet served
    next_slot_waits_until: datetime | None  # min_gap_minutes holds the open slot till then
    published_today: int
    max_per_day: int
    networks: list[NetworkStatus]
    paused: tuple[datetime, str] | None
    will_not_go_out: list[WillNotGoOut]


def status(
    config: Config,
    queue: Queue,
    ledger: Ledger,
    now: datetime,
    *,
    missing_credentials: Mapping[str, list[str]],
) -> Status:
    """``missing_credentials``: each configured network's credential names not set."""
    records = ledger.records()
    states = {name: ledger.network_state(name) for name in config.networks}
    blocked = will_not_go_out(
        queue, records, now, config, networks=states, missing_credentials=missing_credentials
    )
    for state in states.values():
        down = outage(state, now, config.notify.outage_minutes, config.timezone)
        if down:
            blocked.append(down)
    published = {r.post_id for r in records if r.part == 0 and r.status == PUBLISHED}
    failed = {r.post_id for r in records if r.status == FAILED} - published
    done = published | failed
    expired = {
        post.id
        for post in queue.posts
        if post.approved and post.expires and post.expires <= now and post.id not in done
    }
    gone = done | expired
    approved = sum(1 for post in queue.posts if post.approved and post.id not in gone)
    history = History(records, config)
    open_slot = current_slot(now, config)
    slot_open = open_slot is not None and open_slot not in history.slots_served
    gap_ends = history.last_slot_post + timedelta(minutes=config.schedule.min_gap_minutes)
    grace = timedelta(minutes=config.schedule.grace_minutes)
    waits_until = None
    if slot_open and open_slot is not None and gap_ends > now:
        # min_gap_minutes holds the open slot: a run takes it when the gap ends, if within
        # grace (as `run` and `plan` do), else the next slot is the next one.
        if gap_ends < open_slot + grace:
            waits_until = gap_ends
        else:
            slot_open = False
    lengths = thread_lengths(ledger, records)
    attempts = ledger.attempts()
    waiting = waiting_for_budget(queue, records, config)
    counts = {
        "approved": approved,
        "drafts": sum(1 for post in queue.posts if not post.approved),
        "invalid": len(queue.invalid_files),
        "published": len(published),
        "expired": len(expired),
        "failed": len(failed),
        # files (however many problems each has) and posts: a network's own problem
        # (credentials, an outage) is listed, not counted among the queue's figures
        "will_not_go_out": len(queue.invalid_files)
        + sum(
            1 for item in blocked if not item.key.startswith("file:") and item.subject not in states
        ),
    }
    return Status(
        counts=counts,
        next_slot=open_slot if slot_open else next_slot(now, config),
        next_slot_open=slot_open,
        next_slot_waits_until=waits_until,
        published_today=history.published_on(now.astimezone(config.timezone).date()),
        max_per_day=config.schedule.max_per_day,
        networks=[
            _network_status(
                state,
                records,
                attempts,
                lengths,
                now=now,
                missing_credentials=missing_credentials,
                spending=budget_of(config, ledger, state.network, now)
                if entry(state.network).billed
                else None,
                waiting=waiting.get(state.network, []),
            )
            for state in states.values()
        ],
        paused=ledger.paused(),
        will_not_go_out=blocked,
    )


def _network_status(
    state: NetworkState,
    records: list[Record],
    attempts: list[Attempt],
    lengths: dict[str, int],
    *,
    now: datetime,
    missing_credentials: Mapping[str, list[str]],
    spending: Budget | None,
    waiting: list[str],
) -> NetworkStatus:
    name = state.network
    results = last_results(
        [r for r in records if r.network == name],
        [a for a in attempts if a.network == name],
        lengths,
    )
    held = state.rate_limited_until
    return NetworkStatus(
        name=name,
        credentials_set=not missing_credentials.get(name),
        last_success=results.success,
        last_error=results.error,
        rate_limited_until=held if held is not None and now < held else None,
        failing_since=state.failing_since,
        spending=spending,
        waiting=tuple(waiting),
    )


@dataclass(frozen=True)
class PlannedSpend:
    """What the plan implies on a network that bills each post, for the month of ``now``."""

    budget: Budget  # spent so far this month, and the cap
    planned: int  # what the plan's posts in this month cost there, as far as the cap allows
    costs: dict[str, int]  # post id -> its cost there (planned in this month)
    runs_out: datetime | None  # the first planned post there the cap would not allow
    waits: tuple[str, ...]  # planned posts whose copy there would wait for the cap


@dataclass(frozen=True)
class Plan:
    entries: list[Planned]
    held: list[Held]
    will_not_go_out: list[WillNotGoOut]
    paused: tuple[datetime, str] | None
    days: int
    spending: list[PlannedSpend] = field(default_factory=list)


def plan(
    config: Config,
    queue: Queue,
    ledger: Ledger,
    now: datetime,
    days: int,
    *,
    missing_credentials: Mapping[str, list[str]] | None = None,
) -> Plan:
    """``missing_credentials``: each configured network's credential names not set (its
    problems then join what will not go out, as in `status`)."""

    records = ledger.records()
    held: list[Held] = []
    entries = schedule_plan(queue.posts, History(records, config), now, config, days, held=held)
    states = {name: ledger.network_state(name) for name in config.networks}
    blocked = will_not_go_out(
        queue, records, now, config, networks=states, missing_credentials=missing_credentials
    )
    spending = [
        _planned_spend(entries, budget_of(config, ledger, network, now), config)
        for network in billed(config)
    ]
    return Plan(entries, held, blocked, ledger.paused(), days, spending)


@dataclass(frozen=True)
class Going:
    """When `plan` would send one post, or why it would not (``at`` None)."""

    at: datetime | None  # the run that sends it
    slot: bool = False  # at one of the schedule's slots; False: at its publish_at
    waits: tuple[str, ...] = ()  # networks whose monthly budget would hold its copy back
    why: str = ""  # ``at`` None: why it does not go out within the plan's days


@dataclass(frozen=True)
class Timetable:
    """The plan, post by post: what a preview shows next to each post's text."""

    plan: Plan
    posts: dict[str, Going]  # every post of the queue, valid ones only
    history: bool  # the ledger holds any record: the plan knows what was published


def timetable(
    config: Config, queue: Queue, ledger: Ledger, now: datetime, days: int = 7
) -> Timetable:
    """When each post of ``queue`` would go out over the next ``days``, as `plan` says; for a
    post that would not, the first reason the plan knows (what will not go out, the daily
    cap, published already, a draft), else that it falls after those days."""
    planned = plan(config, queue, ledger, now, days)
    records = ledger.records()
    published = {r.post_id for r in records if r.part == 0 and r.status == PUBLISHED}
    waits = {spend.budget.network: set(spend.waits) for spend in planned.spending}
    blocked = {item.subject: item.reason for item in planned.will_not_go_out}
    held = {kept.post.id: kept.reason(config) for kept in planned.held}
    posts: dict[str, Going] = {}
    for item in planned.entries:
        held_back = tuple(name for name, ids in waits.items() if item.post.id in ids)
        posts.setdefault(item.post.id, Going(item.at, item.slot is not None, held_back))
    for post in queue.posts:
        if post.id in posts:
            continue
        if post.id in blocked:
            why = blocked[post.id]
        elif post.id in held:
            why = held[post.id]
        elif post.id in published:
            why = "published already"
        elif not post.approved:
            why = "draft: not approved"
        else:
            why = f"not within the next {days} day{'s' if days != 1 else ''}"
        posts[post.id] = Going(None, why=why)
    return Timetable(planned, posts, bool(records))


def _planned_spend(entries: list[Planned], budget: Budget, config: Config) -> PlannedSpend:
    """Walk the plan's posts on the billed network in this month, in order, as the runner
    would: each goes while the cap allows it, and waits once it does not."""
    from bot.formatting import DoesNotFit  # noqa: PLC0415
    from bot.posts import targets  # noqa: PLC0415

    network = budget.network
    planned, runs_out = 0, None
    costs: dict[str, int] = {}
    waits: list[str] = []
    for item in entries:
        if item.at >= budget.month_ends or network not in targets(item.post, config):
            continue
        try:
            cost = post_price(item.post, config, network) or 0
        except DoesNotFit:
            continue  # named among what will not go out
        costs[item.post.id] = cost
        if budget.allows(planned + cost):
            planned += cost
        else:
            runs_out = runs_out or item.at
            waits.append(item.post.id)
    return PlannedSpend(budget, planned, costs, runs_out, tuple(waits))


@dataclass(frozen=True)
class LogLine:
    """One part of a post as `log` shows it. ``part`` is SPEC's 0-based number; ``label``
    names it for people (`` part 2/3``)."""

    record: Record
    label: str
    detail: str  # the link, the error, or what it is waiting for


def log(ledger: Ledger, *, post_id: str | None, network: str | None, limit: int) -> list[LogLine]:
    """The publish history, newest change first; for one post, its parts in thread order."""
    records = ledger.records()
    counts = thread_lengths(ledger, records)
    chosen = [
        record
        for record in records
        if post_id in (None, record.post_id) and network in (None, record.network)
    ]
    if post_id is not None:
        chosen.sort(key=lambda record: record.part)
    return [
        LogLine(record, part_label(record.part, counts.get(record.post_id)), _detail(record))
        for record in chosen[:limit]
    ]


def _detail(record: Record) -> str:
    if record.status == PUBLISHED:
        return record.remote_url or record.remote_id or "(its id was not returned)"
    if record.status == PENDING:
        return "being sent now (or a run was stopped while sending: the next run resolves it)"
    if record.status == RETRYING and not record.error and not record.attempts:
        return "its turn came: goes out on this network at the next run"
    if record.status == RETRYING and not record.error:
        return "back in line (retry): goes out at the next run or slot"
    return record.error or ""
