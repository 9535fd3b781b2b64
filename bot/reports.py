"""Read models: what `status`, `plan` and `run` say about the queue, computed in one place.

``will_not_go_out`` is the one place that decides which approved posts will not go out, and
why (SPEC: "Nothing in silence"); `plan` and `status` show its answer, and the runner turns it
into problems that are told once. Everything here returns plain data for the CLI (or a future
web page) to render; nothing prints, reads the clock or opens a file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.ledger import FAILED, PUBLISHED, Attempt, NetworkState, Record
from bot.schedule import next_slot

if TYPE_CHECKING:
    from bot.config import Config
    from bot.posts import Queue


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
    network: NetworkState | None = None,
    credentials_set: bool | None = None,
) -> list[WillNotGoOut]:
    """Every approved post that will not go out, with why: its link was already published
    (naming the post that published it), it expired unpublished, it failed for good, it has no
    slot to go out at; every queue file that cannot be read (a post that does not fit, a
    missing or invalid image…); and the network, if its credentials are missing or refused
    (``credentials_set`` None: not known here)."""
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
        found.append(WillNotGoOut(f"file:{problem.path}", where, problem.message))
    no_slots = next_slot(now, config) is None
    for post in sorted(queue.posts, key=lambda post: post.id):
        if not post.approved:
            continue
        if post.id in failed:  # a thread's reply may fail after its first post went out
            reason = (
                f"failed for good: {failed[post.id]}; fix it, then `interlink-bot retry {post.id}`"
            )
            found.append(WillNotGoOut(f"failed:{post.id}", post.id, reason))
        elif post.id in published:
            continue
        elif post.expires is not None and post.expires <= now:
            when = post.expires.astimezone(zone)
            found.append(
                WillNotGoOut(
                    f"expired:{post.id}",
                    post.id,
                    f"expired unpublished at {when:%Y-%m-%d %H:%M %Z}; change expires: to "
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
    if network is not None:
        found += _network_blocks(network, credentials_set)
    return found


def _network_blocks(network: NetworkState, credentials_set: bool | None) -> list[WillNotGoOut]:
    name = network.network
    if credentials_set is False or (credentials_set is None and network.credentials_missing):
        reason = network.credentials_missing or (
            "credentials are not set: put X_API_KEY, X_API_SECRET, X_ACCESS_TOKEN and "
            "X_ACCESS_TOKEN_SECRET in .env (see README: credentials)"
        )
        return [WillNotGoOut(f"credentials:{name}", name, reason)]
    if network.account_refused:
        return [WillNotGoOut(f"account:{name}", name, network.account_refused)]
    return []


def outage(network: NetworkState, now: datetime, outage_minutes: int) -> WillNotGoOut | None:
    """A network failing for at least ``notify.outage_minutes`` (SPEC: Notifications)."""
    since = network.failing_since
    if since is None or now - since < timedelta(minutes=outage_minutes):
        return None
    minutes = int((now - since).total_seconds() // 60)
    return WillNotGoOut(
        f"outage:{network.network}",
        network.network,
        f"has been failing for {minutes} minutes, since {since:%Y-%m-%d %H:%M} UTC "
        f"({network.failure}); posts wait and are tried again at the next runs",
    )


@dataclass(frozen=True)
class LastResults:
    """The latest success and the latest error: a later success never erases the error."""

    success: tuple[datetime, str] | None  # when, and what (a post id with its link)
    error: tuple[datetime, str] | None  # when, and the message


def last_results(records: list[Record], attempts: list[Attempt]) -> LastResults:
    """From the attempts table where it has history, else (a ledger from before it) from the
    parts: the last published part, the last error seen."""
    success: tuple[datetime, str] | None = None
    error: tuple[datetime, str] | None = None
    for record in records:  # newest first
        if success is None and record.status == PUBLISHED:
            link = f" {record.tweet_url}" if record.tweet_url else ""
            part = f" part {record.part}" if record.part else ""
            success = (record.at, f"{record.post_id}{part}{link}")
        if error is None and record.error:
            error = (record.at, f"{record.post_id}: {record.error}")
    for attempt in attempts:  # newest first
        if attempt.outcome != "ok" and attempt.error:
            if error is None or attempt.at >= error[0]:
                error = (attempt.at, f"{attempt.post_id}: {attempt.error}")
            break
    return LastResults(success, error)
