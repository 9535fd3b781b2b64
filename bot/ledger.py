"""The ledger: what was sent to X, when, and how it ended (SQLite under state/).

Every request is recorded before it is made (``pending``) and completed after it returns, so a
run killed mid-request leaves a trace the next run resolves instead of posting twice. WAL mode
lets `log` and `status` read while a run writes. The schema is versioned (PRAGMA user_version).
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from pathlib import Path

LEDGER_FILE = "ledger.sqlite3"

PENDING, PUBLISHED, RETRYING, FAILED = "pending", "published", "retrying", "failed"

_MIGRATIONS = (
    # 1: one row per post part (part 0 is the post itself, 1.. its thread replies)
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
    # 2: the queue index, so that a run re-reads only the post files that changed
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
    # 3: a request whose outcome is unknown (a timeout, a dropped connection, a 5xx): a
    # later duplicate 403 for the same text then means it went out
    """
    ALTER TABLE parts ADD COLUMN uncertain INTEGER NOT NULL DEFAULT 0;
    """,
    # 4: the uploaded image of a part, reused when the post is sent again
    """
    ALTER TABLE parts ADD COLUMN media_id TEXT;
    """,
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
    """One part of one post, as the ledger last saw it."""

    post_id: str
    part: int
    status: str
    text: str
    url: str | None  # the post's link, on part 0: a link goes out once unless allow_repeat
    slot: datetime | None  # the schedule slot it was sent for; None for publish_at posts
    tweet_id: str | None
    attempts: int
    error: str | None
    at: datetime  # the last change
    uncertain: bool = False  # a request may have published it although no answer came

    @property
    def tweet_url(self) -> str | None:
        return f"https://x.com/i/web/status/{self.tweet_id}" if self.tweet_id else None


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


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


class Ledger:
    """The state/ledger.sqlite3 database; open it with ``Ledger.open(state_dir)``."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection

    @classmethod
    def open(cls, state_dir: Path) -> Ledger:
        state_dir.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(state_dir / LEDGER_FILE, timeout=30, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")  # a post X has is never forgotten
        for number, script in enumerate(_MIGRATIONS, start=1):
            # Checked again inside the write lock: five runs may open a new ledger at once.
            connection.execute("BEGIN IMMEDIATE")
            try:
                if connection.execute("PRAGMA user_version").fetchone()[0] < number:
                    for statement in filter(str.strip, script.split(";")):
                        connection.execute(statement)
                    connection.execute(f"PRAGMA user_version = {number}")
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
        return cls(connection)

    def close(self) -> None:
        self._db.close()

    # --- parts -------------------------------------------------------------------------------

    def records(self) -> list[Record]:
        """Every part ever attempted, newest change first."""
        rows = self._db.execute(
            "SELECT post_id, part, status, text, url, slot, tweet_id, attempts, error, at, "
            "uncertain FROM parts ORDER BY at DESC, post_id, part DESC"
        )
        return [
            Record(
                row[0], row[1], row[2], row[3], row[4], _moment(row[5]), row[6], row[7], row[8],
                datetime.fromisoformat(row[9]), bool(row[10]),
            )
            for row in rows
        ]  # fmt: skip

    def begin(
        self,
        post_id: str,
        part: int,
        text: str,
        now: datetime,
        *,
        url: str | None = None,
        slot: datetime | None = None,
    ) -> None:
        """Record that requests for this part are about to be made (before making them);
        ``count_attempt`` then counts each request as it is made."""
        self._write(
            "INSERT INTO parts (post_id, part, status, text, url, slot, attempts, at) "
            "VALUES (?, ?, 'pending', ?, ?, ?, 0, ?) "
            "ON CONFLICT (post_id, part) DO UPDATE SET status = 'pending', text = excluded.text, "
            "url = excluded.url, slot = coalesce(excluded.slot, slot), at = excluded.at",
            (post_id, part, text, url, _iso(slot) if slot else None, _iso(now)),
        )

    def count_attempt(self, post_id: str, part: int, now: datetime) -> None:
        """One more request for a pending part, written before the request is made."""
        self._write(
            "UPDATE parts SET attempts = attempts + 1, at = ? WHERE post_id = ? AND part = ?",
            (_iso(now), post_id, part),
        )

    def media_id(self, post_id: str, part: int) -> str | None:
        """The id X gave the image already uploaded for this part, if any."""
        row = self._db.execute(
            "SELECT media_id FROM parts WHERE post_id = ? AND part = ?", (post_id, part)
        ).fetchone()
        return row[0] if row else None

    def uploaded(self, post_id: str, part: int, media_id: str, now: datetime) -> None:
        self._write(
            "UPDATE parts SET media_id = ?, at = ? WHERE post_id = ? AND part = ?",
            (media_id, _iso(now), post_id, part),
        )

    def published(self, post_id: str, part: int, tweet_id: str | None, now: datetime) -> None:
        self._write(
            "UPDATE parts SET status = 'published', tweet_id = ?, error = NULL, uncertain = 0, "
            "at = ? "
            "WHERE post_id = ? AND part = ?",
            (tweet_id, _iso(now), post_id, part),
        )

    def failed(
        self,
        post_id: str,
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
            "WHERE post_id = ? AND part = ?",
            (FAILED if for_good else RETRYING, error, _iso(now), uncertain, post_id, part),
        )

    def retry(self, post_id: str, now: datetime) -> bool:
        """Put a post that failed for good back in line; False if it has no failed part. Its
        image is uploaded again: X's media ids expire (expires_after_secs, a day)."""
        cursor = self._write(
            "UPDATE parts SET status = 'retrying', media_id = NULL, at = ? "
            "WHERE post_id = ? AND status = 'failed'",
            (_iso(now), post_id),
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
                        _iso(e.publish_at) if e.publish_at else None,
                        _iso(e.expires) if e.expires else None, e.parts,
                    )
                    for e in entries
                ],
            )  # fmt: skip

    def indexed_posts(self) -> list[str]:
        """The valid posts of the index, as JSON, in path order."""
        query = "SELECT post FROM queue_files WHERE post IS NOT NULL ORDER BY path"
        return [row[0] for row in self._db.execute(query)]

    def indexed_problems(self) -> list[str]:
        """The problems of the invalid files, as JSON, in path order."""
        query = "SELECT problem FROM queue_files WHERE problem IS NOT NULL ORDER BY path"
        return [row[0] for row in self._db.execute(query)]

    def anything_unfinished(self) -> bool:
        """A part left pending, or a thread whose first post is out but not all its parts
        (bot.runner resumes these before anything else)."""
        row = self._db.execute(
            "SELECT 1 FROM parts WHERE status = 'pending' "
            "OR (status = 'retrying' AND (part > 0 OR uncertain)) "
            "UNION ALL "
            "SELECT 1 FROM queue_files q JOIN parts p ON p.post_id = q.post_id AND p.part = 0 "
            "WHERE q.parts > 1 AND p.status = 'published' "
            "AND (SELECT count(*) FROM parts d WHERE d.post_id = q.post_id "
            "     AND d.status = 'published') < q.parts "
            "AND NOT EXISTS (SELECT 1 FROM parts f WHERE f.post_id = q.post_id "
            "                AND f.status = 'failed') "
            "LIMIT 1"
        ).fetchone()
        return row is not None

    def next_publish_at(self, now: datetime) -> datetime | None:
        """The earliest publish_at after ``now`` of an approved post not yet out."""
        moment = _iso(now)
        row = self._db.execute(
            "SELECT min(q.publish_at) FROM queue_files q WHERE q.approved AND q.publish_at > ? "
            "AND (q.expires IS NULL OR q.expires > q.publish_at) "
            "AND NOT EXISTS (SELECT 1 FROM parts p WHERE p.post_id = q.post_id AND p.part = 0 "
            "                AND p.status IN ('published', 'failed'))",
            (moment,),
        ).fetchone()
        return _moment(row[0]) if row else None

    def publish_at_due(self, now: datetime) -> bool:
        """An approved, indexed post whose publish_at has come, not published nor failed."""
        moment = _iso(now)
        row = self._db.execute(
            "SELECT 1 FROM queue_files q WHERE q.approved AND q.publish_at <= ? "
            "AND (q.expires IS NULL OR q.expires > ?) "
            "AND NOT EXISTS (SELECT 1 FROM parts p WHERE p.post_id = q.post_id AND p.part = 0 "
            "                AND p.status IN ('published', 'failed')) "
            "LIMIT 1",
            (moment, moment),
        ).fetchone()
        return row is not None

    def slot_served(self, slot: datetime) -> bool:
        row = self._db.execute(
            "SELECT 1 FROM parts WHERE part = 0 AND status = 'published' AND slot = ? LIMIT 1",
            (_iso(slot),),
        ).fetchone()
        return row is not None

    # --- settings ----------------------------------------------------------------------------

    def pause(self, reason: str, now: datetime) -> None:
        self._write(
            "INSERT OR REPLACE INTO settings (key, value) VALUES ('paused', ?)",
            (f"{_iso(now)} {reason}".strip(),),
        )

    def resume(self) -> bool:
        return self._write("DELETE FROM settings WHERE key = 'paused'", ()).rowcount > 0

    def paused(self) -> tuple[datetime, str] | None:
        """When and why `run` was paused, or None."""
        row = self._db.execute("SELECT value FROM settings WHERE key = 'paused'").fetchone()
        if row is None:
            return None
        at, _, reason = row[0].partition(" ")
        return datetime.fromisoformat(at), reason

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
