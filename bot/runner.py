"""One cron tick: `interlink-bot run` publishes what is due at ``now``, and nothing else.

Order of work, under the run lock:
1. paused? then nothing;
2. unfinished work first: a part left ``pending`` by a run that was killed mid-request is sent
   again with the same text (X's duplicate 403 then means the first attempt went out), and a
   thread whose first post is out continues at its first unpublished part;
3. then what the schedule says is due (bot.schedule.due);
4. then the problems: what needs a person now (bot.reports) is compared with what the ledger
   already knows, so that each problem is told once when it opens and once when it clears
   (the report's ``problems``, and a notification), never again while it only persists.

Every request is written to the ledger before it is made and completed after. One retry
budget (bot.retries) serves the whole run. Nothing here prints or reads the clock: the CLI
passes ``now`` and shows the report.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.config import Config
from bot.errors import X_CREDENTIALS, CredentialsMissing
from bot.ledger import (
    FAILED,
    PENDING,
    PUBLISHED,
    RETRYING,
    Ledger,
    OpenProblem,
    Record,
    make_state_folder,
)
from bot.lock import LockHeld, RunLock
from bot.posts import Image, Post, Queue, indexed_queue, refresh_index, render_post
from bot.quiet_marker import make_marker
from bot.reports import WillNotGoOut, outage, part_label, will_not_go_out
from bot.retries import RetryBudget
from bot.schedule import History, current_slot, due, next_slot
from bot.times import local

if TYPE_CHECKING:
    from bot.networks.x.client import Credentials, Publisher

log = logging.getLogger(__name__)

LOCK_FILE = "run.lock"
_MAX_TURNS = 20  # posts that fail for good, each replaced by the next, in one run
# A full run checks again at least this often, whatever the quiet marker says.
_LONGEST_QUIET = timedelta(hours=6)


@dataclass
class RunReport:
    done: list[str] = field(default_factory=list)  # what happened, for stdout
    problems: list[str] = field(default_factory=list)  # problems that open now: stderr, exit 1
    persisting: list[str] = field(default_factory=list)  # already told: stdout, exit 0
    cleared: list[str] = field(default_factory=list)  # problems that cleared in this run
    rehearsal: str | None = None  # the base URL of a rehearsal: every line says so

    @property
    def needs_a_person(self) -> bool:
        return bool(self.problems)


class _StopRun(Exception):
    """The account was refused, or X keeps failing: later posts would fare no better."""


@dataclass
class _Work:
    post_id: str
    parts: list[str]  # the text of every part
    start: int  # the first part to send
    url: str | None
    slot: datetime | None
    reply_to: str | None = None  # the id of the part before ``start``
    pending: frozenset[int] = frozenset()  # parts whose last request has no known outcome
    image: Image | None = None  # sent with the first part


def run(
    config: Config,
    now: datetime,
    *,
    dry_run: bool = False,
    credentials: Credentials | Callable[[], Credentials | None] | None = None,
    connect: Callable[[Credentials], Publisher] | None = None,
    endpoint: str | None = None,
    budget: RetryBudget | None = None,
    notify_urls: list[str] | None = None,
) -> RunReport:
    """Publish what is due at ``now``. ``credentials`` may be a function, called only when
    something is to be sent; ``connect`` makes the Publisher (tests inject sleep).
    ``endpoint``: the X base URL of a rehearsal (its records are kept apart from the real
    ones); ``budget``: the run's retry budget (tests make it small); ``notify_urls``: where
    problems are told (notify.urls and NOTIFY_URLS). After a run that completed, the
    heartbeat URL is fetched."""
    report = RunReport(rehearsal=endpoint or None)

    def go(ledger: Ledger) -> None:
        try:
            _Run(
                config=config,
                now=now,
                ledger=ledger,
                report=report,
                credentials=credentials,
                connect=connect,
                budget=budget or RetryBudget(),
                notify_urls=notify_urls or [],
            ).go(dry_run=dry_run)
        finally:
            ledger.close()

    if dry_run:  # "record nothing": it works on a copy in memory, and takes no lock
        go(Ledger.snapshot(config.paths.state, endpoint))
        return report
    lock_name = LOCK_FILE if not endpoint else f"{LOCK_FILE}.rehearsal"
    make_state_folder(config.paths.state)
    try:
        with RunLock(config.paths.state / lock_name):
            go(Ledger.open(config.paths.state, endpoint))
    except LockHeld:
        report.done.append("another run is publishing; this one stops here")
        return report
    if config.notify.heartbeat_url:
        from bot.notify import ping_heartbeat  # noqa: PLC0415

        failure = ping_heartbeat(config.notify.heartbeat_url)
        if failure:
            report.done.append(failure)
    return report


class _Journal:
    """Writes each request of one part into the attempts table, before and after it."""

    def __init__(self, ledger: Ledger, now: datetime, post_id: str, part: int) -> None:
        self.ledger, self.now, self.post_id, self.part = ledger, now, post_id, part
        self.current = 0

    def started(self, kind: str) -> None:
        self.current = self.ledger.attempt_started(self.post_id, self.part, kind, self.now)

    def ended(self, outcome: str, http_status: int | None, error: str | None) -> None:
        self.ledger.attempt_ended(self.current, outcome, http_status, error)
        if outcome == "ok":
            self.ledger.network_answered()
        elif outcome == "refused" and http_status not in (401, 402, 403):
            self.ledger.network_answered(accepted=False)  # it refused the post, not the account
        elif outcome in ("retryable", "unknown"):
            self.ledger.network_failed(error or outcome, self.now)


class _Run:
    def __init__(
        self,
        *,
        config: Config,
        now: datetime,
        ledger: Ledger,
        report: RunReport,
        credentials: Credentials | Callable[[], Credentials | None] | None,
        connect: Callable[[Credentials], Publisher] | None,
        budget: RetryBudget,
        notify_urls: list[str],
    ) -> None:
        self.config, self.now, self.ledger, self.report = config, now, ledger, report
        self.credentials, self.connect, self.budget = credentials, connect, budget
        self.notify_urls = notify_urls
        self.publisher: Publisher | None = None
        self.missing_credentials: list[str] | None = None  # None: not looked at in this run

    def go(self, *, dry_run: bool) -> None:
        paused = self.ledger.paused()
        if paused:
            at, reason = paused
            since = local(at, self.config.timezone)
            self.report.done.append(
                f"paused since {since} ({reason or 'no reason given'}): nothing published; "
                "`interlink-bot resume` to continue"
            )
            return
        fingerprint, walk_problems = refresh_index(self.config, self.ledger)
        queue = indexed_queue(self.ledger, walk_problems)
        if not self._maybe_due():
            told = self._problems(queue, dry_run=dry_run)
            if not dry_run and fingerprint is not None:
                self._mark_quiet(fingerprint, told)
            return
        posts = {post.id: post for post in queue.posts}
        unfinished = _unfinished(self.ledger.records(), posts, self.config)
        if dry_run:
            history = History(self.ledger.records(), self.config)
            chosen = due(queue.posts, history, self.now, self.config)
            works = [*unfinished, *(self._fresh(item.post, item.slot) for item in chosen)]
            for work in works:
                self._describe(work)
            if works:
                self._would_send()
            self._problems(queue, dry_run=True)
            return
        try:
            self._check_rate_limit()
            for work in unfinished:
                self._send(work)
            for _ in range(_MAX_TURNS):
                # A post that fails for good gives its turn to the next one (SPEC).
                history = History(self.ledger.records(), self.config)
                chosen = due(queue.posts, history, self.now, self.config)
                sent = [self._send(self._fresh(item.post, item.slot)) for item in chosen]
                if all(sent):
                    break
        except _StopRun:
            pass
        self._problems(queue, dry_run=False)

    # --- problems: told once --------------------------------------------------------------

    def _current_problems(self, queue: Queue) -> list[WillNotGoOut]:
        network = self.ledger.network_state()
        found = will_not_go_out(
            queue,
            self.ledger.records(),
            self.now,
            self.config,
            network=network,
            missing_credentials=self.missing_credentials,
        )
        down = outage(network, self.now, self.config.notify.outage_minutes, self.config.timezone)
        return [*found, down] if down else found

    def _problems(self, queue: Queue, *, dry_run: bool) -> list[str]:
        """Compare what needs a person now with what the ledger knows: the report's
        ``problems`` are those that open in this run (exit 1, a notification), its
        ``persisting`` those already told. Returns the messages of every open problem."""
        current = {item.key: str(item) for item in self._current_problems(queue)}
        if dry_run:
            known = {p.key for p in self.ledger.problems() if p.cleared is None}
            self.report.problems += [m for k, m in current.items() if k not in known]
            self.report.persisting += [m for k, m in current.items() if k in known]
            return list(current.values())
        opened, cleared = self.ledger.reconcile_problems(current, self.now)
        new = {problem.key for problem in opened}
        self.report.problems += [problem.message for problem in opened]
        self.report.persisting += [m for k, m in current.items() if k not in new]
        self.report.cleared += [problem.message for problem in cleared]
        if opened or cleared:
            self._tell([p for p in self.ledger.problems() if not p.told or p.cleared])
        return list(current.values())

    def _tell(self, untold: list[OpenProblem]) -> None:
        """One notification with every problem not yet told: those that opened, those that
        cleared, and any an earlier undelivered message held. Without notification URLs the
        run's exit status and output are how people hear, so they count as told; a message
        that reached no target is sent again with the next one."""
        if self.notify_urls:
            from bot.notify import send  # noqa: PLC0415 - apprise only when there is news

            opened = [p for p in untold if p.cleared is None]
            cleared = [p for p in untold if p.cleared is not None]
            mark = f"[rehearsal against {self.report.rehearsal}] " if self.report.rehearsal else ""
            count = len(opened)
            plural = "s" if (count or len(cleared)) != 1 else ""
            news = (
                f"{count} new problem{plural}"
                if count
                else f"{len(cleared)} problem{plural} cleared"
            )
            title = f"{mark}interlink-bot: {news}"
            body = "\n".join(
                [
                    *(f"NEW: {p.message}" for p in opened),
                    *(f"CLEARED: {p.message}" for p in cleared),
                ]
            )
            delivery = send(self.notify_urls, title, body)
            for failure in delivery.failed:
                log.info("notification not delivered: %s", failure)
                self.report.done.append(f"notification not delivered to {failure}")
            if not delivery.delivered:
                return  # kept for the next message
        self.ledger.problems_told([problem.key for problem in untold])

    def _mark_quiet(self, fingerprint: str, problems: list[str]) -> None:
        """Nothing can become due before the next slot or the next publish_at (no slot is
        open, nothing is unfinished): later runs until then may stop at bot.start."""
        candidates = [
            self.now + _LONGEST_QUIET,
            next_slot(self.now, self.config),
            self.ledger.next_publish_at(self.now),
        ]
        until = min(moment for moment in candidates if moment is not None)
        self.ledger.mark_quiet(
            make_marker(
                config_file=str(self.config.file),
                queue_dir=str(self.config.paths.queue),
                queue=fingerprint,
                since=self.now.timestamp(),
                until=until.timestamp(),
                problems=problems,
                heartbeat=self.config.notify.heartbeat_url,
            )
        )

    def _maybe_due(self) -> bool:
        """Whether anything could be due, asked of the index and the ledger without reading a
        single post: most cron runs stop here. ``due`` makes the exact decision."""
        slot = current_slot(self.now, self.config)
        return (
            self.ledger.anything_unfinished()
            or self.ledger.publish_at_due(
                self.now, timedelta(minutes=self.config.schedule.grace_minutes)
            )
            or (slot is not None and not self.ledger.slot_served(slot))
        )

    def _would_send(self) -> None:
        """What would stop a real run from sending, said by a dry run: a rate limit in force,
        credentials not set. Nothing is connected to."""
        held = self._rate_limit_hold()
        if held:
            self.report.done.append(f"but a real run would not send now: {held}")
        try:
            credentials = self.credentials() if callable(self.credentials) else self.credentials
        except CredentialsMissing as error:
            self.missing_credentials = error.missing
            self.report.done.append(f"but a real run would not send: {error}")
            return
        if credentials is None:
            self.missing_credentials = list(X_CREDENTIALS)
            missing = CredentialsMissing(self.missing_credentials, X_CREDENTIALS)
            self.report.done.append(f"but a real run would not send: {missing}")

    def _check_rate_limit(self) -> None:
        """A 429 whose reset lay beyond an earlier run's budget: nothing goes to X before it."""
        held = self._rate_limit_hold()
        if held:
            self.report.done.append(held)
            raise _StopRun

    def _rate_limit_hold(self) -> str | None:
        until = self.ledger.network_state().rate_limited_until
        if until is None or self.now >= until:
            return None
        return (
            f"X's rate limit resets at {local(until, self.config.timezone, seconds=True)}; "
            "nothing is sent to X before then, and what is due waits"
        )

    def _fresh(self, post: Post, slot: datetime | None) -> _Work:
        parts = [rendered.text for rendered in render_post(post, self.config)]
        return _Work(post.id, parts, 0, post.url or None, slot, image=post.image)

    def _describe(self, work: _Work) -> None:
        if work.pending or work.start > 0:
            where = "unfinished: a killed run or a thread stopped part-way"
        elif work.slot:
            where = f"slot {local(work.slot, self.config.timezone)}"
        else:
            where = "its publish_at"
        for number in range(work.start, len(work.parts)):
            self.report.done.append(
                f"would publish {work.post_id}{part_label(number, len(work.parts))} ({where}): "
                f"{work.parts[number]}"
            )

    def _connected(self) -> Publisher:
        if self.publisher is None:
            try:
                credentials = self.credentials() if callable(self.credentials) else self.credentials
            except CredentialsMissing as error:  # names the ones missing
                self.missing_credentials = error.missing
                self.ledger.credentials_missing(str(error))
                raise _StopRun from None
            if credentials is None:
                self.missing_credentials = list(X_CREDENTIALS)
                self.ledger.credentials_missing(
                    str(CredentialsMissing(self.missing_credentials, X_CREDENTIALS))
                )
                raise _StopRun
            self.missing_credentials = []
            self.ledger.credentials_missing(None)
            if self.connect is not None:
                self.publisher = self.connect(credentials)
            else:
                from bot.networks.x.client import Publisher  # noqa: PLC0415 - tweepy only when sending

                self.publisher = Publisher(credentials)
            self.publisher.budget = self.budget  # one budget for the whole run
        return self.publisher

    def _send(self, work: _Work) -> bool:
        """Send the parts from ``work.start``; False if the post failed for good."""
        from bot.networks.x.client import (  # noqa: PLC0415 - loaded with the publisher
            DuplicateContent,
            MediaUnknown,
            PublishError,
        )

        publisher = self._connected()
        ledger, now, report = self.ledger, self.now, self.report
        reply_to = work.reply_to
        for number in range(work.start, len(work.parts)):
            publisher.journal = _Journal(ledger, now, work.post_id, max(number - 1, 0))
            if number > 0 and reply_to is None:
                # The part before went out, but X's answer with its id was lost: ask X for it.
                # Without it this part would be a post of its own, not a reply.
                # The first part carried an image if the ledger kept its media id (also for a
                # post whose file is gone since, whose image is sent from that id).
                sent_with_image = number == 1 and ledger.media_id(work.post_id, 0) is not None
                reply_to = publisher.find_published(
                    work.parts[number - 1], with_media=sent_with_image
                )
                if reply_to is None:
                    report.done.append(
                        f"{work.post_id}{part_label(number - 1, len(work.parts))} went out but X "
                        "does not say its id; "
                        "the rest of the thread waits for the next run"
                    )
                    return True
                ledger.published(work.post_id, number - 1, reply_to, now)
            ledger.begin(
                work.post_id,
                number,
                work.parts[number],
                now,
                url=work.url if number == 0 else None,
                slot=work.slot if number == 0 else None,
            )
            publisher.journal = _Journal(ledger, now, work.post_id, number)
            unknown = number in work.pending
            for upload in (1, 2):  # X may have forgotten an uploaded image: upload it again
                media_ids: list[str] = []
                if number == 0:
                    image = self._image(work, publisher)
                    if image is None:
                        return False
                    media_ids = image
                try:
                    tweet_id = publisher.post(
                        work.parts[number], reply_to=reply_to, media_ids=media_ids or None
                    )
                except MediaUnknown as error:
                    unknown = unknown or error.uncertain
                    if upload == 1 and media_ids and work.image is not None:
                        ledger.forget_media(work.post_id, 0)
                        continue
                    return self._not_published(work, number, error, str(error), unknown=unknown)
                except DuplicateContent as error:
                    if not (unknown or error.uncertain):
                        message = f"{error}; change the text"
                        return self._not_published(work, number, error, message, unknown=False)
                    # The earlier request, whose answer never came, had published it.
                    tweet_id = publisher.find_published(
                        work.parts[number], with_media=bool(media_ids)
                    )
                except PublishError as error:
                    unknown = unknown or error.uncertain
                    return self._not_published(work, number, error, str(error), unknown=unknown)
                if tweet_id is None:  # sent earlier in this run, its answer lost: look it up
                    tweet_id = publisher.find_published(
                        work.parts[number], with_media=bool(media_ids)
                    )
                break
            ledger.published(work.post_id, number, tweet_id, now)
            part = part_label(number, len(work.parts))
            link = f": https://x.com/i/web/status/{tweet_id}" if tweet_id else " (sent earlier)"
            report.done.append(f"published {work.post_id}{part}{link}")
            reply_to = tweet_id
        return True

    def _image(self, work: _Work, publisher: Publisher) -> list[str] | None:
        """The media ids to send with the first part: its image, uploaded now or on an
        earlier try, its alt text set; [] for a post without one; None when it did not work
        out. A post never goes out without its image: the log says why it waits. An image
        X no longer knows (its ids expire) is uploaded again, once, in the same run."""
        from bot.networks.x.client import MediaUnknown, PostRefused, PublishError, Transient  # noqa: PLC0415
        from bot.posts import image_type  # noqa: PLC0415

        media_id = self.ledger.media_id(work.post_id, 0)
        if work.image is None:  # a post whose file is gone keeps the image it was sent with
            return [media_id] if media_id else []
        # A part left pending may have gone out already: whatever fails now, that stays known.
        unknown = 0 in work.pending
        name = work.image.path.name
        for upload in (1, 2):
            try:
                if media_id is None:
                    with work.image.path.open("rb") as handle:
                        media_type = image_type(handle.read(16)) or "application/octet-stream"
                    media_id = publisher.upload_image(work.image.path, media_type)
                    self.ledger.uploaded(work.post_id, 0, media_id, self.now)  # reused on retries
                publisher.describe_image(media_id, work.image.alt)
            except OSError as error:
                message = f"image {name} cannot be read ({error.strerror}); put it back in media/"
                self._not_published(work, 0, error, message, unknown=unknown)
                return None
            except MediaUnknown as error:
                if upload == 1:
                    self.ledger.forget_media(work.post_id, 0)
                    media_id = None
                    continue
                self._not_published(work, 0, error, f"image {name}: {error}", unknown=unknown)
                return None
            except PublishError as error:
                if isinstance(error, Transient):
                    message = f"image {name} could not be uploaded: {error}"
                elif isinstance(error, PostRefused):
                    message = f"image {name} was refused: {error}"
                else:
                    message = f"image {name}: {error}"
                self._not_published(work, 0, error, message, unknown=unknown)
                return None
            break
        return [media_id] if media_id else []

    def _not_published(
        self, work: _Work, part: int, error: Exception, message: str, *, unknown: bool
    ) -> bool:
        """What a request that did not publish means, decided in one place. Returns False
        (the post failed for good: the next one takes its turn) or raises _StopRun.

        - X refused the account or the app (401, 402, 403 permissions): every later post would
          fail the same way, so the run stops; the post stays in line (``retrying``), and the
          account's problem is kept until a request goes through.
        - X or the network failed (Transient): the post waits for the next run (``retrying``);
          nobody needs to act yet (unless it lasts: an outage). A rate limit whose reset lies
          beyond the run's retry budget: nothing more goes to X before the reset, in this run
          or the next ones.
        - X refused the post itself (400, other 403s, an unreadable image): ``failed`` until
          someone runs `retry`.

        ``unknown``: an earlier request may have published it; the ledger keeps that known.
        """
        from bot.networks.x.client import AccountRefused, RateLimited, Transient  # noqa: PLC0415

        stop = isinstance(error, AccountRefused | Transient)
        post_id = work.post_id
        if isinstance(error, RateLimited) and error.reset is not None:
            message += (
                f"; the limit resets at {local(error.reset, self.config.timezone, seconds=True)}"
            )
        self.ledger.failed(post_id, part, message, self.now, for_good=not stop, uncertain=unknown)
        if isinstance(error, RateLimited) and error.reset is not None and error.reset > self.now:
            self.ledger.hold_network(error.reset)
        if isinstance(error, Transient):
            self.report.done.append(f"{post_id}: {message}; it will be tried on the next run")
        elif isinstance(error, AccountRefused):
            self.ledger.account_refused(str(error))
            self.report.done.append(f"{post_id}: waits: {message}")
        else:
            self.report.done.append(f"{post_id}: not published: {message}")
        if stop:
            raise _StopRun
        return False


def _unfinished(records: list[Record], posts: dict[str, Post], config: Config) -> list[_Work]:
    """What the next run resolves before anything else: a part left ``pending`` by a killed
    run, a part whose last request may have gone out (``uncertain``), a thread stopped
    part-way. Such a part is sent again with the text recorded: X recognises a resend of the
    same text as a duplicate, and only for a while, so these cannot wait for a slot.
    """
    by_post: dict[str, dict[int, Record]] = {}
    for record in records:
        by_post.setdefault(record.post_id, {})[record.part] = record
    work = []
    for post_id, parts in sorted(by_post.items()):
        first = parts.get(0)
        if first is None or any(record.status == FAILED for record in parts.values()):
            continue  # needs `retry`
        unknown = frozenset(
            number
            for number, record in parts.items()
            if record.status == PENDING or (record.status == RETRYING and record.uncertain)
        )
        if first.status != PUBLISHED and 0 not in unknown:
            continue  # not started, or waiting for its turn: the schedule decides
        texts = [record.text for _, record in sorted(parts.items())]
        post = posts.get(post_id)
        if post is not None:
            rendered = [part.text for part in render_post(post, config)]
            texts += rendered[len(texts) :]
        start = next(
            (n for n, _ in enumerate(texts) if n not in parts or parts[n].status != PUBLISHED),
            None,
        )
        if start is None:
            continue
        reply_to = parts[start - 1].tweet_id if start > 0 else None
        image = post.image if post is not None else None
        work.append(_Work(post_id, texts, start, first.url, first.slot, reply_to, unknown, image))
    return work
