"""One cron tick: `interlink-bot run` publishes what is due at ``now``, and nothing else.

Order of work, under the run lock:
1. paused? then nothing;
2. unfinished work first: a part left ``pending`` by a run that was killed mid-request is
   resolved by its network's own means (bot.networks: X's duplicate 403, Bluesky's record
   key), a thread whose first post is out continues at its first unpublished part, and a
   post's copy that its network did not take while another network did goes out now;
3. then what the schedule says is due (bot.schedule.due), on every network it is meant for:
   one network down, refusing or without credentials never holds up the others;
4. then the problems: what needs a person now (bot.reports) is compared with what the ledger
   already knows, so that each problem is told once when it opens and once when it clears
   (the report's ``problems``, and a notification), never again while it only persists.

Every request is written to the ledger before it is made and completed after. One retry
budget (bot.retries) serves the whole run. Nothing here prints or reads the clock: the CLI
passes ``now`` and shows the report.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.config import Config
from bot.errors import CredentialsMissing
from bot.ledger import (
    FAILED,
    PENDING,
    PUBLISHED,
    RETRYING,
    WAITING,
    Copy,
    Ledger,
    OpenProblem,
    Record,
    make_state_folder,
)
from bot.lock import LockHeld, RunLock
from bot.networks import (
    AccountRefused,
    Attachment,
    MediaExpired,
    Outgoing,
    PostRefused,
    PublishError,
    Remote,
    Reply,
    Retryable,
    entry,
)
from bot.posts import (
    Image,
    Post,
    Queue,
    image_type,
    indexed_queue,
    refresh_index,
    render_post,
    targets,
)
from bot.quiet_marker import make_marker
from bot.reports import WillNotGoOut, outage, part_label, will_not_go_out
from bot.retries import RetryBudget
from bot.schedule import History, current_slot, due, next_slot
from bot.spending import budget_of, month_of, price
from bot.times import local, until

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from bot.networks import Connect, LinkCard, Network

log = logging.getLogger(__name__)

LOCK_FILE = "run.lock"
_MAX_TURNS = 20  # posts that fail for good, each replaced by the next, in one run
# A full run checks again at least this often, whatever the quiet marker says.
_LONGEST_QUIET = timedelta(hours=6)


@dataclass(frozen=True)
class Account:
    """How a run reaches one network: ``connect`` makes its client when something is to be
    sent (CredentialsMissing names what is not set); ``missing`` names, without connecting,
    the credentials that are not set (for a dry run)."""

    connect: Connect
    missing: Callable[[], list[str]] = list


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
    """Every network the work needs stopped taking requests in this run."""


class _StopNetwork(Exception):
    """The network refused the account, keeps failing, has no credentials or is rate
    limited: later posts would fare no better on it in this run."""


@dataclass
class _Work:
    """One post's copy on one network: the parts still to send."""

    post_id: str
    network: str
    parts: list[str]  # the text of every part
    start: int  # the first part to send
    url: str | None
    slot: datetime | None
    root: Remote | None = None  # the first part, once published
    parent: Remote | None = None  # the part before ``start``
    pending: frozenset[int] = frozenset()  # parts whose last request has no known outcome
    image: Image | None = None  # sent with the first part
    waiting: bool = False  # never sent: its post went out on another network
    expired: str = ""  # never sent, and its post expired: why it will not go out

    @property
    def copy(self) -> Copy:
        return Copy(self.post_id, self.network)


def run(
    config: Config,
    now: datetime,
    *,
    dry_run: bool = False,
    accounts: Mapping[str, Account] | None = None,
    endpoint: str | None = None,
    budget: RetryBudget | None = None,
    notify_urls: list[str] | None = None,
    link_card: Callable[[str], LinkCard | None] | None = None,
    left_out: Mapping[str, str] | None = None,
) -> RunReport:
    """Publish what is due at ``now``. ``accounts``: how each configured network is reached
    (a network without one has no credentials); ``endpoint``: the base URL of a rehearsal
    (its records are kept apart from the real ones); ``budget``: the run's retry budget
    (tests make it small); ``notify_urls``: where problems are told (notify.urls and
    NOTIFY_URLS); ``link_card``: how a link's card is read (bot.pages.link_card; tests keep
    it offline); ``left_out``: networks a rehearsal leaves out, with why. After a run that
    completed, the heartbeat URL is fetched."""
    report = RunReport(rehearsal=endpoint or None)

    def go(ledger: Ledger) -> None:
        try:
            _Run(
                config=config,
                now=now,
                ledger=ledger,
                report=report,
                accounts=accounts or {},
                budget=budget or RetryBudget(),
                notify_urls=notify_urls or [],
                link_card=link_card,
                left_out=left_out or {},
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

    def __init__(self, ledger: Ledger, now: datetime, copy: Copy, part: int) -> None:
        self.ledger, self.now, self.copy, self.part = ledger, now, copy, part
        self.current = 0

    def started(self, kind: str) -> None:
        self.current = self.ledger.attempt_started(self.copy, self.part, kind, self.now)

    def ended(
        self,
        outcome: str,
        http_status: int | None,
        error: str | None,
        *,
        account: bool = False,
        cost: int = 0,
    ) -> None:
        network = self.copy.network
        self.ledger.attempt_ended(self.current, outcome, http_status, error, cost=cost)
        if outcome == "ok":
            self.ledger.network_answered(network)
        elif outcome == "refused" and not account:
            # it refused the post, not the account
            self.ledger.network_answered(network, accepted=False)
        elif outcome in ("retryable", "unknown"):
            self.ledger.network_failed(network, error or outcome, self.now)

    def billed_earlier(self, cost: int) -> None:
        self.ledger.billed_earlier(self.copy, self.part, cost)


class _Run:
    def __init__(
        self,
        *,
        config: Config,
        now: datetime,
        ledger: Ledger,
        report: RunReport,
        accounts: Mapping[str, Account],
        budget: RetryBudget,
        notify_urls: list[str],
        link_card: Callable[[str], LinkCard | None] | None = None,
        left_out: Mapping[str, str] | None = None,
    ) -> None:
        self.config, self.now, self.ledger, self.report = config, now, ledger, report
        self.link_card = link_card
        self.left_out = dict(left_out or {})
        self.accounts, self.budget = accounts, budget
        self.notify_urls = notify_urls
        self.clients: dict[str, Network] = {}
        self.cards: dict[str, LinkCard | None] = {}  # link -> its page's card, this run
        # network -> why nothing more goes to it this run
        self.stopped: dict[str, str] = dict(self.left_out)
        self.skipped: set[str] = set()  # posts none of whose networks takes anything now
        # network -> the credential names not set; absent: not looked at in this run
        self.missing_credentials: dict[str, list[str]] = {}

    @property
    def networks(self) -> list[str]:
        return list(self.config.networks)

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
        if not self._maybe_due(queue):
            told = self._problems(queue, dry_run=dry_run)
            if not dry_run and fingerprint is not None:
                self._mark_quiet(fingerprint, told)
            return
        if not dry_run:
            self._read_limits()
        posts = {post.id: post for post in queue.posts}
        unfinished = _unfinished(
            self.ledger.records(), posts, self.config, self.now, _invalid_ids(queue, self.config)
        )
        if not dry_run:
            for work in unfinished:
                if work.expired:
                    self.ledger.failed(
                        work.copy, 0, work.expired, self.now, for_good=True, uncertain=False
                    )
        unfinished = [work for work in unfinished if not work.expired]
        if dry_run:
            history = History(self.ledger.records(), self.config)
            chosen = due(queue.posts, history, self.now, self.config)
            works = [
                *unfinished,
                *(w for item in chosen for w in self._fresh(item.post, item.slot)),
            ]
            for work in works:
                self._describe(work)
            self._would_send({work.network for work in works})
            self._problems(queue, dry_run=True)
            return
        try:
            for work in unfinished:
                self._send_copy(work)
            for _ in range(_MAX_TURNS):
                # A post that fails for good gives its turn to the next one (SPEC).
                history = History(self.ledger.records(), self.config)
                waiting = [post for post in queue.posts if post.id not in self.skipped]
                chosen = due(waiting, history, self.now, self.config)
                sent = [self._turn(item.post, self._fresh(item.post, item.slot)) for item in chosen]
                if all(sent):
                    break
        except _StopRun:
            pass
        self._problems(queue, dry_run=False)

    def _read_limits(self) -> None:
        """Connect first to each network whose server sets its own limits (a Mastodon
        instance): connecting reads them when what the state folder keeps is old, so that
        posts are shortened to them before anything is formatted. Only in a run that may
        send something: a quiet tick makes no request."""
        for network in self.networks:
            if entry(network).instance_limits and network not in self.stopped:
                try:
                    self._connected(network)
                except _StopNetwork as stop:
                    self.stopped[network] = str(stop)

    def _turn(self, post: Post, copies: list[_Work]) -> bool:
        """A post's turn: it goes out on every network it is meant for. False if it failed
        for good on all of them, or none of its networks takes anything in this run: the
        next post then takes the turn (this one keeps its place for the next runs);
        _StopRun if no network takes anything in this run."""
        if all(work.network in self.stopped for work in copies):
            return self._skip(post)
        if len(copies) > 1:
            # Written before anything is sent: a run that dies after the first network still
            # owes the others their copies (SPEC: Several networks).
            first = copies[0]
            self.ledger.queue_copies(
                [work.copy for work in copies],
                {work.network: work.parts[0] for work in copies},
                self.now,
                url=first.url,
                slot=first.slot,
            )
        results = [self._send_copy(work) for work in copies]
        if all(result is None for result in results):
            return self._skip(post)
        for work, result in zip(copies, results, strict=True):
            if result is None and work.network in self.stopped:
                # Its post had its turn on another network: this copy is kept in line and
                # goes out at a later run, without waiting for a slot.
                self.ledger.waiting(work.copy, self.stopped[work.network], self.now)
        return any(result is not False for result in results)

    def _skip(self, post: Post) -> bool:
        """None of the post's networks takes anything now: the next post takes its turn in
        this run, and it keeps its place for the next runs."""
        if set(self.stopped) >= set(self.networks):
            raise _StopRun  # every network stopped: later posts would fare no better
        self.skipped.add(post.id)
        return False

    def _send_copy(self, work: _Work) -> bool | None:
        """Send one copy: True if it went out (or waits for a later run), False if it failed
        for good, None if its network took nothing for it in this run."""
        if work.network in self.stopped:
            self._say_left_out(work.network)
            return None
        over = self._over_budget(work)
        if over:
            self.ledger.hold_back(
                work.copy, work.parts[0], over, self.now, url=work.url, slot=work.slot
            )
            self.report.done.append(f"{work.post_id}{self._on(work.network)}: {over}")
            return None
        try:
            return self._send(work)
        except _StopNetwork as stop:
            self.stopped[work.network] = str(stop)
            return None

    def _over_budget(self, work: _Work) -> str | None:
        """Why the copy waits for its network's monthly budget, or None when it may go. A copy
        is priced whole, thread and alt text included, before its first part goes (issue 12);
        a thread under way, or a part whose outcome is unknown, is finished whatever the
        budget says: half a thread, or a second copy, would be worse than the overspend."""
        if not entry(work.network).billed or work.start > 0 or work.pending:
            return None
        budget = budget_of(self.config, self.ledger, work.network, self.now)
        if budget.budget is None:
            return None
        cost = price(work.network, work.parts, alt_text=work.image is not None) or 0
        return None if budget.allows(cost) else budget.refusal(cost)

    def _budget_allows_waiting(self, queue: Queue) -> bool:
        """A copy held back by a budget that now allows it (a new month, a raised budget),
        whose post went out elsewhere and still goes there: it goes out without waiting for a
        slot. Decided as the run would send it (``_unfinished``, priced whole by
        ``_over_budget``), so a copy that cannot go keeps no cron run awake."""
        if not self.ledger.anything_waiting():
            return False
        records = self.ledger.records()
        held = {Copy(r.post_id, r.network) for r in records if r.status == WAITING}
        posts = {post.id: post for post in queue.posts}
        invalid = _invalid_ids(queue, self.config)
        return any(
            work.copy in held and not work.expired and self._over_budget(work) is None
            for work in _unfinished(records, posts, self.config, self.now, invalid)
        )

    # --- problems: told once --------------------------------------------------------------

    def _current_problems(self, queue: Queue) -> list[WillNotGoOut]:
        states = {name: self.ledger.network_state(name) for name in self.networks}
        found = will_not_go_out(
            queue,
            self.ledger.records(),
            self.now,
            self.config,
            networks=states,
            missing_credentials=self.missing_credentials,
        )
        for state in states.values():
            down = outage(state, self.now, self.config.notify.outage_minutes, self.config.timezone)
            if down:
                found.append(down)
        return found

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
            # a new month gives a budget's waiting copies their turn
            month_of(self.now, self.config.timezone)[1] if self.ledger.anything_waiting() else None,
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

    def _maybe_due(self, queue: Queue) -> bool:
        """Whether anything could be due, asked of the index and the ledger without reading a
        single post: most cron runs stop here. ``due`` makes the exact decision."""
        slot = current_slot(self.now, self.config)
        return (
            self.ledger.anything_unfinished()
            or self.ledger.publish_at_due(
                self.now, timedelta(minutes=self.config.schedule.grace_minutes)
            )
            or (slot is not None and not self.ledger.slot_served(slot))
            or self._budget_allows_waiting(queue)
        )

    def _say_left_out(self, network: str) -> None:
        """A network a rehearsal leaves out is said so, once a run, when a post is for it."""
        reason = self.left_out.pop(network, None)
        if reason:
            self.report.done.append(reason)

    def _would_send(self, networks: set[str]) -> None:
        """What would stop a real run from sending, said by a dry run: a rate limit in force,
        credentials not set. Nothing is connected to."""
        for network in self.networks:
            if network not in networks:
                continue
            if network in self.left_out:
                self._say_left_out(network)
                continue
            held = self._rate_limit_hold(network)
            if held:
                self.report.done.append(f"but a real run would not send now: {held}")
            account = self.accounts.get(network)
            missing = account.missing() if account else list(entry(network).credentials)
            if missing:
                self.missing_credentials[network] = missing
                error = CredentialsMissing(missing, entry(network).credentials)
                to = self._to(network)
                self.report.done.append(f"but a real run would not send{to}: {error}")
            else:
                self.missing_credentials[network] = []

    def _to(self, network: str) -> str:
        """`` to Bluesky``, where the deployment has more than one network."""
        return f" to {entry(network).label}" if len(self.networks) > 1 else ""

    def _on(self, network: str) -> str:
        return f" on {entry(network).label}" if len(self.networks) > 1 else ""

    def _rate_limit_hold(self, network: str) -> str | None:
        until = self.ledger.network_state(network).rate_limited_until
        if until is None or self.now >= until:
            return None
        label = entry(network).label
        return (
            f"{label}'s rate limit resets at {local(until, self.config.timezone, seconds=True)}; "
            f"nothing is sent to {label} before then, and what is due waits"
        )

    def _fresh(self, post: Post, slot: datetime | None) -> list[_Work]:
        """A post's copies, one per network it goes to."""
        return [
            _Work(
                post.id,
                network,
                [rendered.text for rendered in render_post(post, self.config, network)],
                0,
                post.url or None,
                slot,
                image=post.image,
            )
            for network in targets(post, self.config)
        ]

    def _describe(self, work: _Work) -> None:
        over = self._over_budget(work)
        if over:
            self.report.done.append(
                f"would not send {work.post_id}{self._on(work.network)}: {over}"
            )
            return
        if work.waiting:
            where = "waiting: its post went out on another network"
        elif work.pending or work.start > 0:
            where = "unfinished: a killed run or a thread stopped part-way"
        elif work.slot:
            where = f"slot {local(work.slot, self.config.timezone)}"
        else:
            where = "its publish_at"
        for number in range(work.start, len(work.parts)):
            self.report.done.append(
                f"would publish {work.post_id}{part_label(number, len(work.parts))}"
                f"{self._on(work.network)} ({where}): {work.parts[number]}"
            )

    def _connected(self, network: str) -> Network:
        """The network's client for this run; _StopNetwork if nothing can go to it now."""
        client = self.clients.get(network)
        if client is not None:
            return client
        held = self._rate_limit_hold(network)
        if held:
            # A 429 whose reset lay beyond an earlier run's budget: nothing goes out before it.
            self.report.done.append(held)
            raise _StopNetwork(held)
        account = self.accounts.get(network)
        every = entry(network).credentials
        try:
            if account is None:
                raise CredentialsMissing(list(every), every)
            client = account.connect(self.budget)  # one budget for the whole run
        except CredentialsMissing as error:  # names the ones missing
            self.missing_credentials[network] = error.missing
            self.ledger.credentials_missing(network, str(error))
            raise _StopNetwork(str(error)) from None
        self.missing_credentials[network] = []
        self.ledger.credentials_missing(network, None)
        self.clients[network] = client
        return client

    def _send(self, work: _Work) -> bool:
        """Send the copy's parts from ``work.start``; False if it failed for good."""
        client = self._connected(work.network)
        ledger, now, report, copy = self.ledger, self.now, self.report, work.copy
        label = entry(work.network).label
        root, parent = work.root, work.parent
        for number in range(work.start, len(work.parts)):
            client.journal = _Journal(ledger, now, copy, max(number - 1, 0))
            if number > 0 and (parent is None or parent.id is None):
                # The part before went out, but the answer with its id was lost: ask the
                # network for it. Without it this part would be a post of its own, not a
                # reply. The first part carried an image if the ledger kept its media id
                # (also for a post whose file is gone since, whose image is sent from that id).
                media_id = ledger.media_id(copy, 0) if number == 1 else None
                before = Outgoing(
                    work.parts[number - 1],
                    media=(media_id,) if media_id else (),
                    token=ledger.token(copy, number - 1),
                )
                parent = client.locate(before)
                if parent is None:
                    report.done.append(
                        f"{work.post_id}{part_label(number - 1, len(work.parts))} went out but "
                        f"{label} does not say its id; "
                        "the rest of the thread waits for the next run"
                    )
                    return True
                self._published(copy, number - 1, parent)
                if number == 1:
                    root = parent
            token = ledger.token(copy, number) or client.token(now)
            ledger.begin(
                copy,
                number,
                work.parts[number],
                now,
                url=work.url if number == 0 else None,
                slot=work.slot if number == 0 else None,
                token=token,
            )
            client.journal = _Journal(ledger, now, copy, number)
            unknown = number in work.pending
            reply = Reply(root or parent, parent) if number > 0 and parent else None
            for upload in (1, 2):  # the network may have forgotten an uploaded image
                media: tuple[str, ...] = ()
                if number == 0:
                    image = self._image(work, client)
                    if image is None:
                        return False
                    media = image
                card = self._card(work) if number == 0 and not media and client.link_cards else None
                outgoing = Outgoing(work.parts[number], media, token, uncertain=unknown, card=card)
                try:
                    remote = client.publish(outgoing, reply)
                except MediaExpired as error:
                    unknown = unknown or error.uncertain
                    if upload == 1 and media and work.image is not None:
                        ledger.uploaded(copy, 0, None, now)
                        continue
                    return self._not_published(work, number, error, str(error), unknown=unknown)
                except PublishError as error:
                    unknown = unknown or error.uncertain
                    return self._not_published(work, number, error, str(error), unknown=unknown)
                break
            self._published(copy, number, remote)
            part = part_label(number, len(work.parts))
            link = f": {remote.url or remote.id}" if remote.id else " (sent earlier)"
            report.done.append(f"published {work.post_id}{part}{self._on(work.network)}{link}")
            parent = remote
            if number == 0:
                root = remote
        return True

    def _card(self, work: _Work) -> LinkCard | None:
        """The card of the post's link (fetched once a run): None when the page gives none,
        and the post then goes with its plain link."""
        if not work.url:
            return None
        if work.url not in self.cards:
            if self.link_card is None:
                from bot.pages import link_card  # noqa: PLC0415 - only for a card

                self.link_card = link_card
            self.cards[work.url] = self.link_card(work.url)
        return self.cards[work.url]

    def _published(self, copy: Copy, part: int, remote: Remote) -> None:
        self.ledger.published(
            copy, part, self.now, remote_id=remote.id, remote_url=remote.url, remote_ref=remote.ref
        )

    def _image(self, work: _Work, client: Network) -> tuple[str, ...] | None:
        """The uploaded images to send with the first part: its image, uploaded now or on an
        earlier try, its alt text set; () for a post without one; None when it did not work
        out. A post never goes out without its image: the log says why it waits."""
        copy = work.copy
        media_id = self.ledger.media_id(copy, 0)
        if work.image is None:  # a post whose file is gone keeps the image it was sent with
            return (media_id,) if media_id else ()
        # A part left pending may have gone out already: whatever fails now, that stays known.
        unknown = 0 in work.pending
        name = work.image.path.name

        def keep(uploaded: str | None) -> None:
            self.ledger.uploaded(copy, 0, uploaded, self.now)  # reused on retries

        try:
            with work.image.path.open("rb") as handle:
                media_type = image_type(handle.read(16)) or "application/octet-stream"
            attachment = Attachment(work.image.path, media_type, work.image.alt)
            return (client.upload(attachment, media_id, keep),)
        except OSError as error:
            message = f"image {name} cannot be read ({error.strerror}); put it back in media/"
            self._not_published(work, 0, error, message, unknown=unknown)
        except PublishError as error:
            if isinstance(error, MediaExpired):
                message = f"image {name}: {error}"
            elif isinstance(error, Retryable):
                message = f"image {name} could not be uploaded: {error}"
            elif isinstance(error, PostRefused):
                message = f"image {name} was refused: {error}"
            else:
                message = f"image {name}: {error}"
            self._not_published(work, 0, error, message, unknown=unknown)
        return None

    def _not_published(
        self, work: _Work, part: int, error: Exception, message: str, *, unknown: bool
    ) -> bool:
        """What a request that did not publish means, decided in one place, for every
        network. Returns False (the copy failed for good: the next post takes its turn) or
        raises _StopNetwork.

        - The network refused the account or the app (AccountRefused: X's 401, 402, 403
          permissions; a bad app password): every later post would fail the same way, so
          nothing more goes to it in this run; the post stays in line (``retrying``), and the
          account's problem is kept until a request goes through.
        - The network failed (Retryable): the copy waits for the next run (``retrying``);
          nobody needs to act yet (unless it lasts: an outage). A rate limit whose reset lies
          beyond the run's retry budget: nothing more goes to it before the reset, in this
          run or the next ones.
        - The network refused the post itself (PostRefused, an unreadable image): ``failed``
          until someone runs `retry`.

        ``unknown``: an earlier request may have published it; the ledger keeps that known.
        """
        stop = isinstance(error, AccountRefused | Retryable)
        post_id, network = work.post_id, work.network
        reset = error.reset if isinstance(error, Retryable) else None
        if reset is not None:
            message += f"; the limit resets at {local(reset, self.config.timezone, seconds=True)}"
        self.ledger.failed(work.copy, part, message, self.now, for_good=not stop, uncertain=unknown)
        if reset is not None and reset > self.now:
            self.ledger.hold_network(network, reset)
        on = self._on(network)
        if isinstance(error, Retryable):
            self.report.done.append(f"{post_id}{on}: {message}; it will be tried on the next run")
        elif isinstance(error, AccountRefused):
            self.ledger.account_refused(network, str(error))
            self.report.done.append(f"{post_id}{on}: waits: {message}")
        else:
            self.report.done.append(f"{post_id}{on}: not published: {message}")
        if stop:
            raise _StopNetwork(message)
        return False


def _invalid_ids(queue: Queue, config: Config) -> set[str]:
    """The ids of the queue files that cannot be read now (an editor may be fixing them)."""
    folder = config.shown(config.paths.queue) + "/"
    return {
        path.removeprefix(folder).rsplit(".", 1)[0]
        for path in queue.invalid_files
        if path.startswith(folder)
    }


def _unfinished(
    records: list[Record],
    posts: dict[str, Post],
    config: Config,
    now: datetime,
    invalid: set[str],
) -> list[_Work]:
    """What the next run resolves before anything else, copy by copy: a part left
    ``pending`` by a killed run, a part whose last request may have gone out
    (``uncertain``), a thread stopped part-way, and a copy that waited while its post went
    out on another network. Such a part is resolved by its network's own means (X's
    duplicate 403 holds only for a while), so these cannot wait for a slot.

    A waiting copy goes out only while its post does: approved, still meant for that network
    (else it waits, kept: the editor may change it back); one whose post expired is
    ``expired``, and the run closes it.
    """
    by_copy: dict[Copy, dict[int, Record]] = {}
    for record in records:
        by_copy.setdefault(Copy(record.post_id, record.network), {})[record.part] = record
    # A post's turn came once a copy's first part went out, failed for good, or was sent with
    # no answer yet: its other copies are owed (queue_copies wrote them).
    turn_taken = {
        copy.post_id
        for copy, parts in by_copy.items()
        if parts.get(0) is not None
        and (parts[0].status in (PUBLISHED, FAILED, PENDING) or parts[0].uncertain)
    }
    work = []
    for copy, parts in sorted(by_copy.items()):
        first = parts.get(0)
        if first is None or any(record.status == FAILED for record in parts.values()):
            continue  # needs `retry`
        unknown = frozenset(
            number
            for number, record in parts.items()
            if record.status == PENDING or (record.status == RETRYING and record.uncertain)
        )
        never_sent = first.status != PUBLISHED and 0 not in unknown
        if never_sent and copy.post_id not in turn_taken:
            continue  # not started, or waiting for its turn: the schedule decides
        post = posts.get(copy.post_id)
        if never_sent and copy.post_id in invalid:
            continue  # its file cannot be read now: it waits for the editor's fix
        if never_sent:
            gone = post is None or not post.approved or copy.network not in targets(post, config)
            if gone:
                # Kept, not sent: a post unapproved for a while, a file moved aside during a
                # deploy, networks: changed back, and the copy goes after all.
                continue
            assert post is not None
            if post.expires is not None and post.expires <= now:
                label = entry(copy.network).label
                why = (
                    f"expired unpublished on {label} at {until(post.expires, config.timezone)}; "
                    f"to publish it there, change expires: and run `interlink-bot retry "
                    f"{copy.post_id}`"
                )
                work.append(_Work(copy.post_id, copy.network, [], 0, None, None, expired=why))
                continue
        elif copy.network not in config.networks:
            continue  # a network taken out of the config: its parts wait, in case it returns
        texts = [record.text for _, record in sorted(parts.items())]
        if post is not None:
            rendered = [part.text for part in render_post(post, config, copy.network)]
            if never_sent:
                texts = rendered  # never sent: the post as it reads now
            texts += rendered[len(texts) :]
        start = next(
            (n for n, _ in enumerate(texts) if n not in parts or parts[n].status != PUBLISHED),
            None,
        )
        if start is None:
            continue
        root = _remote(parts[0]) if start > 0 else None
        parent = _remote(parts[start - 1]) if start > 0 else None
        image = post.image if post is not None else None
        work.append(
            _Work(
                copy.post_id, copy.network, texts, start, first.url, first.slot,
                root, parent, unknown, image, waiting=never_sent,
            )
        )  # fmt: skip
    return work


def _remote(record: Record) -> Remote:
    return Remote(record.remote_id, record.remote_url, record.remote_ref)
