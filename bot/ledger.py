"""The ledger: what was sent, when, and how it ended (SQLite under state/).

Every request is recorded before it is made (``pending``, and an ``attempts`` row whose outcome
is ``unknown`` until the answer comes) and completed after it returns, so a run killed
mid-request leaves a trace the next run resolves instead of posting twice. WAL mode lets `log`
and `status` read while a run writes.

The schema grows by named migrations, each applied once in its own transaction
(PRAGMA user_version counts them; the ``migrations`` table names them): a ledger written by an
earlier version is upgraded in place on first use and loses nothing.

A rehearsal (a network pointed at a stand-in: the sandbox, a local PDS) keeps its own ledger
file beside the real one (``ledger_file_name``): nothing it records can change what the real
deployment publishes (issue 8).
"""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

from bot.times import iso_utc

if TYPE_CHECKING:
    from pathlib import Path

    from bot.errors import BotError

LEDGER_FILE = "ledger.sqlite3"

PENDING, PUBLISHED, RETRYING, FAILED = "pending", "published", "retrying", "failed"
WAITING = "waiting"  # held back, never sent: its network's monthly budget is reached
OK, REFUSED, RETRYABLE, UNKNOWN = "ok", "refused", "retryable", "unknown"  # attempt outcomes


def check_state_folder(folder: Path) -> None:
    """StateFolderError if something other than a folder stands where the state folder goes
    (a missing one is fine: there is no ledger yet)."""
    if folder.exists() and not folder.is_dir():
        from bot.errors import StateFolderError  # noqa: PLC0415 - off the quiet tick's path

        raise StateFolderError(folder, NotADirectoryError(20, "Not a directory"))


def damaged(error: BaseException, file: Path) -> BotError | None:
    """The LedgerError for ``error`` if it is SQLite finding the ledger damaged (a page past
    the header overwritten: "database disk image is malformed"), else None."""
    if not isinstance(error, sqlite3.DatabaseError) or isinstance(
        error, sqlite3.IntegrityError | sqlite3.ProgrammingError | sqlite3.OperationalError
    ):
        return None
    from bot.errors import LedgerError  # noqa: PLC0415 - off the quiet tick's path

    return LedgerError(file, error)


def make_state_folder(folder: Path) -> None:
    """Create the state folder if need be; StateFolderError if it cannot be used."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        from bot.errors import StateFolderError  # noqa: PLC0415 - off the quiet tick's path

        raise StateFolderError(folder, error) from None


def ledger_file_name(endpoint: str | None) -> str:
    """The ledger of the real accounts, or of a rehearsal against stand-ins (``endpoint``:
    their URLs, as bot.networks.stand_ins finds them): one file per rehearsal, so a
    rehearsal never touches the real records."""
    if not endpoint:
        return LEDGER_FILE
    addresses = " ".join(url.split("://")[-1] for url in endpoint.split())
    readable = "".join(c if c.isalnum() or c in ".-" else "-" for c in addresses)
    return f"rehearsal-{readable.strip('-.')[:80]}.sqlite3"


# Statements are split on ";": none may appear inside one (nor in a comment).
_MIGRATIONS: tuple[tuple[str, str], ...] = (
    (
        "parts: one row per post part (part 0 is the post itself, 1.. its thread replies)",
        """
    CREATE TABLE parts (
        post_id TEXT NOT NULL,
        part INTEGER NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'published', 'retrying', 'failed')),
        text TEXT NOT NULL,
        url TEXT,
        slot TEXT,
        tweet_id TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        at TEXT NOT NULL,
        PRIMARY KEY (post_id, part)
    );
    CREATE INDEX parts_by_time ON parts (at);
    CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
    ),
    (
        "queue index: a run re-reads only the post files that changed",
        """
    CREATE TABLE queue_files (
        path TEXT PRIMARY KEY,
        key TEXT NOT NULL,
        post_id TEXT NOT NULL,
        post TEXT,
        problem TEXT,
        approved INTEGER NOT NULL DEFAULT 0,
        publish_at TEXT,
        expires TEXT,
        parts INTEGER NOT NULL DEFAULT 1
    );
    CREATE INDEX queue_files_by_publish_at ON queue_files (publish_at) WHERE publish_at IS NOT NULL;
    """,
    ),
    (
        # a timeout, a dropped connection, a 5xx: a later duplicate 403 then means it went out
        "uncertain outcomes",
        "ALTER TABLE parts ADD COLUMN uncertain INTEGER NOT NULL DEFAULT 0",
    ),
    (
        "media ids: the uploaded image of a part, reused",
        "ALTER TABLE parts ADD COLUMN media_id TEXT",
    ),
    (
        # Append-only: a row is written before its request, as 'unknown', and given its
        # outcome once the answer comes; a run killed mid-request leaves it 'unknown'. The
        # counts kept in parts before this table existed stay, as attempts_before_history.
        "attempts: every request and its outcome",
        """
    CREATE TABLE attempts (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        post_id TEXT NOT NULL,
        network TEXT NOT NULL DEFAULT 'x',
        part INTEGER NOT NULL,
        kind TEXT NOT NULL,
        outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'refused', 'retryable', 'unknown')),
        http_status INTEGER,
        error TEXT
    );
    CREATE INDEX attempts_by_part ON attempts (post_id, part);
    ALTER TABLE parts RENAME COLUMN attempts TO attempts_before_history;
    CREATE TABLE migrations (number INTEGER PRIMARY KEY, name TEXT NOT NULL, applied TEXT)
    """,
    ),
    (
        # What a network's answers mean beyond one post: a 429 whose reset lies beyond the
        # run's retry budget (nothing is sent before it), failures since when (an outage),
        # a refused account, missing credentials.
        "networks: rate-limit resets, outages, refused accounts",
        """
    CREATE TABLE networks (
        network TEXT PRIMARY KEY,
        rate_limited_until TEXT,
        failing_since TEXT,
        failure TEXT,
        account_refused TEXT,
        credentials_missing TEXT
    )
    """,
    ),
    (
        # Each problem is told once when it opens and once when it clears (SPEC: Notifications).
        "problems: what needs a person, and whether they were told",
        """
    CREATE TABLE problems (
        key TEXT PRIMARY KEY,
        message TEXT NOT NULL,
        opened TEXT NOT NULL,
        cleared TEXT,
        told INTEGER NOT NULL DEFAULT 0
    )
    """,
    ),
    (
        # Issue 11: a post goes to several networks, each copy with its own parts. What an
        # X-only ledger holds is X's: its tweet ids become remote ids, with their public URL.
        # remote_ref is what a reply needs beyond the id (Bluesky's cid); token is what makes a
        # resend recognisable, chosen before the first request (Bluesky's record key).
        "parts per network: remote ids and urls, reply references, idempotency tokens",
        """
    CREATE TABLE parts_per_network (
        post_id TEXT NOT NULL,
        network TEXT NOT NULL,
        part INTEGER NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'published', 'retrying', 'failed')),
        text TEXT NOT NULL,
        url TEXT,
        slot TEXT,
        remote_id TEXT,
        remote_url TEXT,
        remote_ref TEXT,
        token TEXT,
        media_id TEXT,
        attempts_before_history INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        at TEXT NOT NULL,
        uncertain INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (post_id, network, part)
    );
    INSERT INTO parts_per_network (post_id, network, part, status, text, url, slot, remote_id,
        remote_url, media_id, attempts_before_history, error, at, uncertain)
    SELECT post_id, 'x', part, status, text, url, slot, tweet_id,
        CASE WHEN tweet_id IS NULL THEN NULL ELSE 'https://x.com/i/web/status/' || tweet_id END,
        media_id, attempts_before_history, error, at, uncertain
    FROM parts;
    DROP TABLE parts;
    ALTER TABLE parts_per_network RENAME TO parts;
    CREATE INDEX parts_by_time ON parts (at);
    DROP INDEX attempts_by_part;
    CREATE INDEX attempts_by_part ON attempts (post_id, network, part)
    """,
    ),
    (
        # Issue 12: what each request cost (X bills each post it accepts), in millionths of
        # a dollar, exact when summed; and 'waiting': a copy held back while its post goes out
        # elsewhere (a monthly budget reached), sent once the budget allows.
        "costs of requests, and copies waiting for a budget",
        """
    ALTER TABLE attempts ADD COLUMN cost INTEGER;
    CREATE TABLE parts_with_waiting (
        post_id TEXT NOT NULL,
        network TEXT NOT NULL,
        part INTEGER NOT NULL,
        status TEXT NOT NULL
            CHECK (status IN ('pending', 'published', 'retrying', 'failed', 'waiting')),
        text TEXT NOT NULL,
        url TEXT,
        slot TEXT,
        remote_id TEXT,
        remote_url TEXT,
        remote_ref TEXT,
        token TEXT,
        media_id TEXT,
        attempts_before_history INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        at TEXT NOT NULL,
        uncertain INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (post_id, network, part)
    );
    INSERT INTO parts_with_waiting SELECT post_id, network, part, status, text, url, slot,
        remote_id, remote_url, remote_ref, token, media_id, attempts_before_history, error, at,
        uncertain FROM parts;
    DROP TABLE parts;
    ALTER TABLE parts_with_waiting RENAME TO parts;
    CREATE INDEX parts_by_time ON parts (at);
    CREATE INDEX attempts_by_time ON attempts (network, at)
    """,
    ),
    (
        # Issue 13: what `import` took from each feed, so no entry becomes a draft twice (by
        # its id or its canonical link), each feed's conditional-request validators, and the
        # cut-off its first import fixed (no archive flood, ever).
        "imports: feed entries made into drafts, feeds' validators and cut-offs",
        """
    CREATE TABLE feeds (
        url TEXT PRIMARY KEY,
        cut_off TEXT NOT NULL,
        etag TEXT,
        last_modified TEXT,
        first_import TEXT NOT NULL,
        last_import TEXT NOT NULL
    );
    CREATE TABLE imported (
        feed TEXT NOT NULL,
        entry_id TEXT,
        link TEXT NOT NULL,
        file TEXT,
        at TEXT NOT NULL
    );
    CREATE INDEX imported_by_id ON imported (entry_id);
    CREATE INDEX imported_by_link ON imported (link)
    """,
    ),
    (
        # Issue 13, its review: entry ids are a feed's own (two feeds may both number from
        # 1), and the configured feeds refused since when, so that an hourly import tells a
        # broken feed once. A migration of its own: ledgers made by migration 10 as first
        # written must get these too.
        "imports: entry ids per feed, feeds refused since when",
        """
    DROP INDEX IF EXISTS imported_by_id;
    CREATE INDEX imported_by_id ON imported (feed, entry_id);
    CREATE TABLE IF NOT EXISTS feed_refusals (
        url TEXT PRIMARY KEY,
        message TEXT NOT NULL,
        since TEXT NOT NULL
    )
    """,
    ),
)


class IndexEntry(NamedTuple):
    """What the queue index keeps of one post file (bot.posts builds and reads these)."""

    path: str
    key: str
    post_id: str
    post: str | None  # the valid post, as JSON
    problem: str | None  # or what is wrong with the file, as JSON
    approved: bool = False
    publish_at: datetime | None = None
    expires: datetime | None = None
    parts: int = 1


class Record(NamedTuple):
    """One part of one post's copy on one network, as the ledger last saw it."""

    post_id: str
    part: int
    status: str
    text: str
    url: str | None  # the post's link, on part 0: a link goes out once unless allow_repeat
    slot: datetime | None  # the schedule slot it was sent for; None for publish_at posts
    remote_id: str | None  # the network's id of what it published
    attempts: int
    error: str | None
    at: datetime  # the last change
    uncertain: bool = False  # a request may have published it although no answer came
    network: str = ""
    remote_url: str | None = None  # the public link to it
    remote_ref: str | None = None  # what a reply needs beyond the id (Bluesky: the cid)
    token: str | None = None  # what makes a resend recognisable, chosen before sending
    cost: int | None = None  # what the network billed for it, in millionths of a dollar


class Copy(NamedTuple):
    """Which post, on which network: the ledger's rows of one copy are its parts."""

    post_id: str
    network: str


class Attempt(NamedTuple):
    """One request, as the append-only attempts table keeps it."""

    at: datetime
    post_id: str
    network: str
    part: int
    kind: str  # post, media, alt-text, lookup
    outcome: str  # ok, refused, retryable, unknown (no answer came)
    http_status: int | None
    error: str | None
    cost: int | None = None  # what the network billed for it, in millionths of a dollar


class NetworkState(NamedTuple):
    network: str
    rate_limited_until: datetime | None
    failing_since: datetime | None
    failure: str | None  # the latest failure's message, while failing
    account_refused: str | None
    credentials_missing: str | None


class FeedState(NamedTuple):
    """What the ledger keeps of one feed between imports."""

    cut_off: datetime  # no entry published before it is ever taken
    etag: str | None
    last_modified: str | None


class OpenProblem(NamedTuple):
    key: str
    message: str
    opened: datetime
    cleared: datetime | None  # cleared, but not yet told so
    told: bool  # its opening reached people


def read_quiet_marker(ledger_file: str) -> str | None:
    """The quiet marker of a ledger, read-only, or None; for bot.start, which must not pay for
    opening the ledger properly."""
    try:
        connection = sqlite3.connect(f"file:{ledger_file}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return None
    try:
        row = connection.execute("SELECT value FROM settings WHERE key = 'quiet'").fetchone()
    except sqlite3.Error:
        return None
    finally:
        connection.close()
    return row[0] if row else None


_NAMED_SINCE = 5  # the migration that made the migrations table; earlier ones are not dated


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


class Ledger:
    """The state/ledger.sqlite3 database; open it with ``Ledger.open(state_dir)``."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection

    @classmethod
    def open(cls, state_dir: Path, endpoint: str | None = None) -> Ledger:
        """The real account's ledger, or with ``endpoint`` (a base URL other than the
        network's own) that rehearsal's own."""
        make_state_folder(state_dir)
        connection = cls._connect(state_dir / ledger_file_name(endpoint))
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")  # a post X has is never forgotten
        return cls._migrated(connection)

    @classmethod
    def snapshot(cls, state_dir: Path, endpoint: str | None = None) -> Ledger:
        """A copy in memory of the ledger (an empty one if there is none): what a dry run and
        the read-only commands use, so that they write nothing at all, yet may migrate it and
        refresh the queue index as a run would (issue 9). Nothing it holds is changed (SQLite
        may fold a killed run's WAL file into it on closing: the same records)."""
        check_state_folder(state_dir)
        memory = sqlite3.connect(":memory:", isolation_level=None)
        file = state_dir / ledger_file_name(endpoint)
        if file.exists():
            # Opened for writing but only read: the last connection to close removes the WAL
            # files it made (a read-only one would leave them behind). A ledger the bot's user
            # may not write is read read-only.
            mode = "rw" if os.access(file, os.W_OK) and os.access(file.parent, os.W_OK) else "ro"
            try:
                uri = f"{file.resolve().as_uri()}?mode={mode}"
                source = sqlite3.connect(uri, uri=True, timeout=30)
                try:
                    source.backup(memory)
                finally:
                    source.close()
            except sqlite3.Error as error:
                from bot.errors import LedgerError  # noqa: PLC0415 - off the quiet tick's path

                memory.close()
                raise LedgerError(file, error) from None
        return cls._migrated(memory)

    @staticmethod
    def _connect(file: Path) -> sqlite3.Connection:
        try:
            connection = sqlite3.connect(file, timeout=30, isolation_level=None)
            connection.execute("PRAGMA schema_version").fetchone()  # reads the header
        except sqlite3.Error as error:
            from bot.errors import LedgerError  # noqa: PLC0415 - off the quiet tick's path

            raise LedgerError(file, error) from None
        return connection

    @classmethod
    def _migrated(cls, connection: sqlite3.Connection) -> Ledger:
        for number, (name, script) in enumerate(_MIGRATIONS, start=1):
            # Checked again inside the write lock: five runs may open a new ledger at once.
            connection.execute("BEGIN IMMEDIATE")
            try:
                if connection.execute("PRAGMA user_version").fetchone()[0] < number:
                    for statement in filter(str.strip, script.split(";")):
                        connection.execute(statement)
                    connection.execute(f"PRAGMA user_version = {number}")
                    if number >= _NAMED_SINCE:
                        connection.execute(
                            "INSERT INTO migrations (number, name, applied) VALUES (?, ?, ?)",
                            (number, name, iso_utc(datetime.now(UTC))),
                        )
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
        return cls(connection)

    def migrations(self) -> list[tuple[int, str, datetime | None]]:
        """Every migration this ledger has had: number, name, when (None: before 0.2)."""
        applied = dict(self._db.execute("SELECT number, applied FROM migrations"))
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        return [
            (number, name, _moment(applied.get(number)))
            for number, (name, _) in enumerate(_MIGRATIONS[:version], start=1)
        ]

    def close(self) -> None:
        self._db.close()

    # --- parts -------------------------------------------------------------------------------

    def records(self) -> list[Record]:
        """Every part ever attempted, newest change first. ``attempts`` counts every request
        made for it: the attempts table, plus what was counted before it existed."""
        rows = self._db.execute(
            "SELECT post_id, part, status, text, url, slot, remote_id, attempts_before_history + "
            "(SELECT count(*) FROM attempts a WHERE a.post_id = p.post_id "
            "AND a.network = p.network AND a.part = p.part), "
            "error, at, uncertain, network, remote_url, remote_ref, token, "
            "(SELECT sum(a.cost) FROM attempts a WHERE a.post_id = p.post_id "
            "AND a.network = p.network AND a.part = p.part) "
            "FROM parts p ORDER BY at DESC, post_id, network, part DESC"
        )
        return [
            Record(
                row[0], row[1], row[2], row[3], row[4], _moment(row[5]), row[6], row[7], row[8],
                datetime.fromisoformat(row[9]), bool(row[10]), *row[11:],
            )
            for row in rows
        ]  # fmt: skip

    def begin(
        self,
        copy: Copy,
        part: int,
        text: str,
        now: datetime,
        *,
        url: str | None = None,
        slot: datetime | None = None,
        token: str | None = None,
    ) -> None:
        """Record that requests for this part are about to be made (before making them);
        ``attempt_started`` then writes down each request as it is made. ``token``, once
        stored, is kept: every resend of the part carries the first one."""
        self._write(
            "INSERT INTO parts (post_id, network, part, status, text, url, slot, token, "
            "attempts_before_history, at) VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, 0, ?) "
            "ON CONFLICT (post_id, network, part) DO UPDATE SET status = 'pending', "
            "text = excluded.text, url = excluded.url, slot = coalesce(excluded.slot, slot), "
            "token = coalesce(token, excluded.token), at = excluded.at",
            (
                *copy, part, text, url, iso_utc(slot) if slot else None, token, iso_utc(now),
            ),
        )  # fmt: skip

    def token(self, copy: Copy, part: int) -> str | None:
        """The idempotency token stored for this part, if any."""
        row = self._db.execute(
            "SELECT token FROM parts WHERE post_id = ? AND network = ? AND part = ?",
            (*copy, part),
        ).fetchone()
        return row[0] if row else None

    def queue_copies(
        self,
        copies: list[Copy],
        text: dict[str, str],
        now: datetime,
        *,
        url: str | None,
        slot: datetime | None,
    ) -> None:
        """A post's turn has come: one row for each of its copies, written together before
        any is sent, so a run that dies after the first network still owes the others
        (``text``: each network's first part)."""
        with self._db:
            self._db.execute("DELETE FROM settings WHERE key = 'quiet'")
            self._db.executemany(
                "INSERT INTO parts (post_id, network, part, status, text, url, slot, at) "
                "VALUES (?, ?, 0, 'retrying', ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [
                    (*copy, text[copy.network], url, iso_utc(slot) if slot else None, iso_utc(now))
                    for copy in copies
                ],
            )

    def hold_back(
        self,
        copy: Copy,
        text: str,
        message: str,
        now: datetime,
        *,
        url: str | None,
        slot: datetime | None,
    ) -> None:
        """A copy not sent because its network's monthly budget would be passed: ``waiting``,
        with why, until a run finds the budget allows it (a new month, a raised budget)."""
        self._write(
            "INSERT INTO parts (post_id, network, part, status, text, url, slot, error, at) "
            "VALUES (?, ?, 0, 'waiting', ?, ?, ?, ?, ?) ON CONFLICT (post_id, network, part) "
            # the same reason again (each run asks) keeps the time it first waited
            "DO UPDATE SET at = CASE WHEN status = 'waiting' AND error = excluded.error "
            "THEN at ELSE excluded.at END, status = 'waiting', error = excluded.error "
            "WHERE status IN ('retrying', 'waiting')",
            (*copy, text, url, iso_utc(slot) if slot else None, message, iso_utc(now)),
        )

    def anything_waiting(self) -> bool:
        """A copy held back by a budget (bot.runner asks whether the budget now allows it)."""
        row = self._db.execute("SELECT 1 FROM parts WHERE status = 'waiting' LIMIT 1").fetchone()
        return row is not None

    def spent(self, network: str, since: datetime, before: datetime) -> int:
        """What the network billed for the requests made from ``since`` to ``before``, in
        millionths of a dollar."""
        row = self._db.execute(
            "SELECT coalesce(sum(cost), 0) FROM attempts WHERE network = ? AND at >= ? AND at < ?",
            (network, iso_utc(since), iso_utc(before)),
        ).fetchone()
        return int(row[0])

    def waiting(self, copy: Copy, message: str, now: datetime) -> None:
        """A copy not sent because its network takes nothing now (refused account, rate
        limit, no credentials): why, until a later run sends it."""
        self._write(
            "UPDATE parts SET error = ?, at = ? WHERE post_id = ? AND network = ? AND part = 0 "
            "AND status = 'retrying'",
            (message, iso_utc(now), *copy),
        )

    # --- attempts: one row per request ------------------------------------------------------

    def attempt_started(self, copy: Copy, part: int, kind: str, now: datetime) -> int:
        """Write a request down before it is made; its outcome stays ``unknown`` until
        ``attempt_ended`` (a run killed in the middle leaves it so)."""
        cursor = self._write(
            "INSERT INTO attempts (at, post_id, network, part, kind, outcome) "
            "VALUES (?, ?, ?, ?, ?, 'unknown')",
            (iso_utc(now), *copy, part, kind),
        )
        self._write(
            # A published part's time is when it went out (the daily cap reads it): a look-up
            # made for it later does not move it.
            "UPDATE parts SET at = ? WHERE post_id = ? AND network = ? AND part = ? "
            "AND status != 'published'",
            (iso_utc(now), *copy, part),
        )
        return int(cursor.lastrowid or 0)

    def attempt_ended(
        self,
        attempt: int,
        outcome: str,
        http_status: int | None,
        error: str | None,
        *,
        cost: int | None = None,
    ) -> None:
        """The request's outcome, and ``cost``: what the network billed for it."""
        self._write(
            "UPDATE attempts SET outcome = ?, http_status = ?, error = ?, cost = ? WHERE id = ?",
            (outcome, http_status, error, cost or None, attempt),
        )

    def billed_earlier(self, copy: Copy, part: int, cost: int) -> None:
        """A part found published by a later request (X's duplicate 403): the request whose
        answer was lost is the one the network billed. Its cost is recorded on it (the
        part's latest post request without an answer; else its latest request)."""
        self._write(
            "UPDATE attempts SET cost = coalesce(cost, 0) + ? WHERE id = coalesce("
            "(SELECT max(id) FROM attempts WHERE post_id = ? AND network = ? AND part = ? "
            " AND kind = 'post' AND outcome = 'unknown'), "
            "(SELECT max(id) FROM attempts WHERE post_id = ? AND network = ? AND part = ?))",
            (cost, *copy, part, *copy, part),
        )

    def attempts(self, post_id: str | None = None) -> list[Attempt]:
        """Every request, newest first (or those of one post)."""
        rows = self._db.execute(
            "SELECT at, post_id, network, part, kind, outcome, http_status, error, cost "
            "FROM attempts "
            "WHERE ? IS NULL OR post_id = ? ORDER BY id DESC",
            (post_id, post_id),
        )
        return [Attempt(datetime.fromisoformat(row[0]), *row[1:]) for row in rows]

    def media_id(self, copy: Copy, part: int) -> str | None:
        """The network's id of the image already uploaded for this part, if any."""
        row = self._db.execute(
            "SELECT media_id FROM parts WHERE post_id = ? AND network = ? AND part = ?",
            (*copy, part),
        ).fetchone()
        return row[0] if row else None

    def uploaded(self, copy: Copy, part: int, media_id: str | None, now: datetime) -> None:
        """Keep the uploaded image's id for resends (None: the network forgot it, upload it
        again)."""
        self._write(
            "UPDATE parts SET media_id = ?, at = ? WHERE post_id = ? AND network = ? AND part = ?",
            (media_id, iso_utc(now), *copy, part),
        )

    def published(
        self,
        copy: Copy,
        part: int,
        now: datetime,
        *,
        remote_id: str | None,
        remote_url: str | None = None,
        remote_ref: str | None = None,
    ) -> None:
        self._write(
            "UPDATE parts SET status = 'published', remote_id = ?, remote_url = ?, "
            "remote_ref = ?, error = NULL, uncertain = 0, at = ? "
            "WHERE post_id = ? AND network = ? AND part = ?",
            (remote_id, remote_url, remote_ref, iso_utc(now), *copy, part),
        )

    def failed(
        self,
        copy: Copy,
        part: int,
        error: str,
        now: datetime,
        *,
        for_good: bool,
        uncertain: bool = False,
    ) -> None:
        """Requests that did not publish: ``retrying`` (it stays in line) or ``failed``.
        ``uncertain``: one may have published it after all (once so, it stays so)."""
        self._write(
            "UPDATE parts SET status = ?, error = ?, at = ?, uncertain = max(uncertain, ?) "
            "WHERE post_id = ? AND network = ? AND part = ?",
            (FAILED if for_good else RETRYING, error, iso_utc(now), uncertain, *copy, part),
        )

    def retry(self, post_id: str, now: datetime) -> bool:
        """Put a post that failed for good back in line, on every network where it failed;
        False if it has no failed part. Its image is uploaded again: media ids expire (X's
        expires_after_secs: a day)."""
        # Its error is dropped: what X said stays in the attempts table (log --attempts), and
        # `log` no longer tells people to run retry (issue 9).
        cursor = self._write(
            "UPDATE parts SET status = 'retrying', media_id = NULL, error = NULL, at = ? "
            "WHERE post_id = ? AND status = 'failed'",
            (iso_utc(now), post_id),
        )
        return cursor.rowcount > 0

    # --- the queue index --------------------------------------------------------------------

    def indexed_keys(self) -> dict[str, str]:
        """Queue file path -> the key (stat and config fingerprint) it was indexed under."""
        return dict(self._db.execute("SELECT path, key FROM queue_files"))

    def index(self, entries: list[IndexEntry], removed: list[str]) -> None:
        if not entries and not removed:
            return
        with self._db:
            self._db.execute("DELETE FROM settings WHERE key = 'quiet'")
            self._db.executemany("DELETE FROM queue_files WHERE path = ?", [(p,) for p in removed])
            self._db.executemany(
                "INSERT OR REPLACE INTO queue_files (path, key, post_id, post, problem, approved, "
                "publish_at, expires, parts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        e.path, e.key, e.post_id, e.post, e.problem, e.approved,
                        iso_utc(e.publish_at) if e.publish_at else None,
                        iso_utc(e.expires) if e.expires else None, e.parts,
                    )
                    for e in entries
                ],
            )  # fmt: skip

    def part_counts(self) -> dict[str, int]:
        """How many parts each indexed post has (its first post and thread replies)."""
        query = "SELECT post_id, parts FROM queue_files WHERE post IS NOT NULL"
        return dict(self._db.execute(query))

    def indexed_posts(self) -> list[str]:
        """The valid posts of the index, as JSON, in path order."""
        query = "SELECT post FROM queue_files WHERE post IS NOT NULL ORDER BY path"
        return [row[0] for row in self._db.execute(query)]

    def indexed_problems(self) -> list[str]:
        """The problems of the invalid files, as JSON, in path order."""
        query = "SELECT problem FROM queue_files WHERE problem IS NOT NULL ORDER BY path"
        return [row[0] for row in self._db.execute(query)]

    def anything_unfinished(self) -> bool:
        """A part left pending, a copy waiting while its post had its turn on another network,
        or a thread whose first post is out but not all its parts (bot.runner resumes these
        before anything else)."""
        row = self._db.execute(
            "SELECT 1 FROM parts WHERE status = 'pending' "
            "OR (status = 'retrying' AND (part > 0 OR uncertain)) "
            "UNION ALL "
            # a copy owed since its post's turn came on another network, while the post is
            # approved (a withdrawn one waits without keeping every cron run awake)
            "SELECT 1 FROM parts w WHERE w.status = 'retrying' AND w.part = 0 "
            "AND EXISTS (SELECT 1 FROM parts o WHERE o.post_id = w.post_id AND o.part = 0 "
            "            AND o.network != w.network "
            "            AND (o.status IN ('published', 'failed', 'pending') OR o.uncertain)) "
            "AND EXISTS (SELECT 1 FROM queue_files q WHERE q.post_id = w.post_id "
            "            AND q.approved AND q.post IS NOT NULL) "
            "UNION ALL "
            "SELECT 1 FROM queue_files q JOIN parts p ON p.post_id = q.post_id AND p.part = 0 "
            "WHERE q.parts > 1 AND p.status = 'published' "
            "AND (SELECT count(*) FROM parts d WHERE d.post_id = q.post_id "
            "     AND d.network = p.network AND d.status = 'published') < q.parts "
            "AND NOT EXISTS (SELECT 1 FROM parts f WHERE f.post_id = q.post_id "
            "                AND f.network = p.network AND f.status = 'failed') "
            "LIMIT 1"
        ).fetchone()
        return row is not None

    def next_publish_at(self, now: datetime) -> datetime | None:
        """The earliest publish_at after ``now`` of an approved post not yet out."""
        moment = iso_utc(now)
        row = self._db.execute(
            "SELECT min(q.publish_at) FROM queue_files q WHERE q.approved AND q.publish_at > ? "
            "AND (q.expires IS NULL OR q.expires > q.publish_at) "
            "AND NOT EXISTS (SELECT 1 FROM parts p WHERE p.post_id = q.post_id AND p.part = 0 "
            "                AND p.status IN ('published', 'failed'))",
            (moment,),
        ).fetchone()
        return _moment(row[0]) if row else None

    def publish_at_due(self, now: datetime, grace: timedelta) -> bool:
        """An approved, indexed post whose publish_at came within ``grace`` before ``now``,
        not published nor failed. One missed for longer waits for a slot (bot.schedule)."""
        moment = iso_utc(now)
        row = self._db.execute(
            "SELECT 1 FROM queue_files q WHERE q.approved AND q.publish_at <= ? "
            "AND q.publish_at >= ? AND (q.expires IS NULL OR q.expires > ?) "
            "AND NOT EXISTS (SELECT 1 FROM parts p WHERE p.post_id = q.post_id AND p.part = 0 "
            "                AND p.status IN ('published', 'failed')) "
            "LIMIT 1",
            (moment, iso_utc(now - grace), moment),
        ).fetchone()
        return row is not None

    def slot_served(self, slot: datetime) -> bool:
        row = self._db.execute(
            "SELECT 1 FROM parts WHERE part = 0 AND status = 'published' AND slot = ? LIMIT 1",
            (iso_utc(slot),),
        ).fetchone()
        return row is not None

    # --- networks: rate limits, outages, refused accounts -------------------------------------

    def network_state(self, network: str) -> NetworkState:
        row = self._db.execute(
            "SELECT rate_limited_until, failing_since, failure, account_refused, "
            "credentials_missing FROM networks WHERE network = ?",
            (network,),
        ).fetchone()
        if row is None:
            return NetworkState(network, None, None, None, None, None)
        return NetworkState(network, _moment(row[0]), _moment(row[1]), *row[2:])

    def _network(self, network: str, assignments: str, parameters: tuple[object, ...]) -> None:
        self._write("INSERT OR IGNORE INTO networks (network) VALUES (?)", (network,))
        # ``assignments`` are this class's own constants, never outside text.
        sql = f"UPDATE networks SET {assignments} WHERE network = ?"  # noqa: S608
        self._write(sql, (*parameters, network))

    def network_answered(self, network: str, *, accepted: bool = True) -> None:
        """The network answered: no outage. ``accepted``: it took the request, so the account
        works and the credentials are there (a refusal of one post proves only the first)."""
        account = ", account_refused = NULL, credentials_missing = NULL" if accepted else ""
        self._network(network, f"failing_since = NULL, failure = NULL{account}", ())

    def network_failed(self, network: str, message: str, now: datetime) -> None:
        """The network could not be reached or failed (5xx, 429, timeouts): since when."""
        self._network(
            network,
            "failing_since = coalesce(failing_since, ?), failure = ?",
            (iso_utc(now), message),
        )

    def hold_network(self, network: str, until: datetime) -> None:
        """Send nothing to the network before ``until`` (a rate limit's reset)."""
        self._network(network, "rate_limited_until = ?", (iso_utc(until),))

    def account_refused(self, network: str, message: str) -> None:
        self._network(network, "account_refused = ?", (message,))

    def credentials_missing(self, network: str, message: str | None) -> None:
        """Record (or with None, clear) that the network's credentials are not set."""
        if message is None and self.network_state(network).credentials_missing is None:
            return
        self._network(network, "credentials_missing = ?", (message,))

    # --- problems: each told once when it opens, once when it clears ------------------------

    def problems(self) -> list[OpenProblem]:
        """Open problems, and cleared ones whose clearing was not yet told; oldest first."""
        rows = self._db.execute(
            "SELECT key, message, opened, cleared, told FROM problems ORDER BY opened, key"
        )
        return [
            OpenProblem(
                row[0], row[1], datetime.fromisoformat(row[2]), _moment(row[3]), bool(row[4])
            )
            for row in rows
        ]

    def reconcile_problems(
        self, current: dict[str, str], now: datetime
    ) -> tuple[list[OpenProblem], list[OpenProblem]]:
        """Bring the problems table to ``current`` (key -> message): those that open now,
        and those that cleared now. A problem that persists keeps its first message's
        time; a problem that comes back after clearing opens anew."""
        known = {problem.key: problem for problem in self.problems()}
        opened, cleared = [], []
        with self._db:
            self._db.execute("DELETE FROM settings WHERE key = 'quiet'")
            for key, message in current.items():
                old = known.get(key)
                if old is not None and old.cleared is None:
                    self._db.execute(
                        "UPDATE problems SET message = ? WHERE key = ?", (message, key)
                    )
                    continue
                self._db.execute(
                    "INSERT OR REPLACE INTO problems (key, message, opened) VALUES (?, ?, ?)",
                    (key, message, iso_utc(now)),
                )
                opened.append(OpenProblem(key, message, now, None, told=False))
            for key, old in known.items():
                if key not in current and old.cleared is None:
                    self._db.execute(
                        "UPDATE problems SET cleared = ? WHERE key = ?", (iso_utc(now), key)
                    )
                    cleared.append(old._replace(cleared=now))
        return opened, cleared

    def problems_told(self, keys: list[str]) -> None:
        """The opening or clearing of these problems reached people: a cleared one is
        forgotten, an open one is not told again."""
        with self._db:
            for key in keys:
                self._db.execute(
                    "DELETE FROM problems WHERE key = ? AND cleared IS NOT NULL", (key,)
                )
                self._db.execute("UPDATE problems SET told = 1 WHERE key = ?", (key,))

    # --- settings ----------------------------------------------------------------------------

    def pause(self, reason: str, now: datetime) -> tuple[datetime, str] | None:
        """Pause runs. Pausing again keeps the first time and adds the new reason to the old
        ones, so nobody's reason is lost (issue 9). Returns the pause that was already on."""
        before = self.paused()
        since = before[0] if before else now
        reasons = [r for r in ((before[1] if before else ""), reason.strip()) if r]
        if len(reasons) == 2 and reasons[1] in reasons[0].split("; "):
            reasons.pop()
        self._write(
            "INSERT OR REPLACE INTO settings (key, value) VALUES ('paused', ?)",
            (f"{iso_utc(since)} {'; '.join(reasons)}".strip(),),
        )
        return before

    def resume(self) -> bool:
        return self._write("DELETE FROM settings WHERE key = 'paused'", ()).rowcount > 0

    def paused(self) -> tuple[datetime, str] | None:
        """When and why `run` was paused, or None."""
        row = self._db.execute("SELECT value FROM settings WHERE key = 'paused'").fetchone()
        if row is None:
            return None
        at, _, reason = row[0].partition(" ")
        return datetime.fromisoformat(at), reason

    # --- imports (bot.feeds) -----------------------------------------------------------------
    # Written without removing the quiet marker: a draft is never due, and the files an import
    # writes change the queue's fingerprint, which is what the quiet tick compares.

    def feed_state(self, feed: str) -> FeedState | None:
        """What the last import of ``feed`` left (None: never imported)."""
        row = self._db.execute(
            "SELECT cut_off, etag, last_modified FROM feeds WHERE url = ?", (feed,)
        ).fetchone()
        if row is None:
            return None
        return FeedState(datetime.fromisoformat(row[0]), row[1], row[2])

    def feed_imported(
        self,
        feed: str,
        state: FeedState,
        now: datetime,
        entries: list[tuple[str | None, str, str | None]],
    ) -> None:
        """One import of ``feed``, in one transaction: its validators and cut-off, and each
        entry taken (id, canonical link, the draft file written, or None for an entry
        remembered without a draft)."""
        at = iso_utc(now)
        with self._db:
            self._db.execute(
                "INSERT INTO feeds (url, cut_off, etag, last_modified, first_import, last_import)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (url) DO UPDATE SET etag = excluded.etag,"
                " last_modified = excluded.last_modified, last_import = excluded.last_import",
                (feed, iso_utc(state.cut_off), state.etag, state.last_modified, at, at),
            )
            self._db.executemany(
                "INSERT INTO imported (feed, entry_id, link, file, at) VALUES (?, ?, ?, ?, ?)",
                [(feed, entry_id, link, file, at) for entry_id, link, file in entries],
            )

    def feed_refusal(self, feed: str) -> datetime | None:
        """Since when ``feed`` has been refused, import after import (None: it was not)."""
        row = self._db.execute("SELECT since FROM feed_refusals WHERE url = ?", (feed,)).fetchone()
        return None if row is None else datetime.fromisoformat(row[0])

    def feed_refused(self, feed: str, message: str, now: datetime) -> None:
        with self._db:
            self._db.execute(
                "INSERT INTO feed_refusals (url, message, since) VALUES (?, ?, ?) "
                "ON CONFLICT (url) DO UPDATE SET message = excluded.message",
                (feed, message, iso_utc(now)),
            )

    def feed_readable(self, feed: str) -> None:
        with self._db:
            self._db.execute("DELETE FROM feed_refusals WHERE url = ?", (feed,))

    def forget_refusals(self, keep: set[str]) -> None:
        """Forget the refusals of feeds no longer configured: one added back later is told
        anew if it is broken then."""
        with self._db:
            for (url,) in self._db.execute("SELECT url FROM feed_refusals").fetchall():
                if url not in keep:
                    self._db.execute("DELETE FROM feed_refusals WHERE url = ?", (url,))

    def imported_before(self, feed: str, entry_id: str | None, link: str) -> tuple[bool, bool]:
        """Whether an entry with this id was taken from ``feed`` before (ids are a feed's
        own: two feeds may both number theirs from 1), and whether one with this canonical
        link was, from any feed."""
        id_known = (
            entry_id is not None
            and self._db.execute(
                "SELECT 1 FROM imported WHERE feed = ? AND entry_id = ? LIMIT 1", (feed, entry_id)
            ).fetchone()
            is not None
        )
        link_known = (
            self._db.execute("SELECT 1 FROM imported WHERE link = ? LIMIT 1", (link,)).fetchone()
            is not None
        )
        return id_known, link_known

    # --- the quiet marker (bot.start) --------------------------------------------------------

    def mark_quiet(self, marker: str) -> None:
        """Record that nothing can become due before the time in ``marker`` (JSON, made and
        read by bot.start). Every other write removes it."""
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO settings (key, value) VALUES ('quiet', ?)", (marker,)
            )

    def _write(self, sql: str, parameters: tuple[object, ...]) -> sqlite3.Cursor:
        with self._db:
            self._db.execute("DELETE FROM settings WHERE key = 'quiet'")
            return self._db.execute(sql, parameters)
