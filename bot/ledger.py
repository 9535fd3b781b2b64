"""The ledger: what was sent to X, when, and how it ended (SQLite under state/).

Every request is recorded before it is made (``pending``) and completed after it returns, so a
run killed mid-request leaves a trace the next run resolves instead of posting twice. WAL mode
lets `log` and `status` read while a run writes. The schema is versioned (PRAGMA user_version).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
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
)


@dataclass(frozen=True)
class Record:
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

    @property
    def tweet_url(self) -> str | None:
        return f"https://x.com/i/web/status/{self.tweet_id}" if self.tweet_id else None


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
            "SELECT post_id, part, status, text, url, slot, tweet_id, attempts, error, at "
            "FROM parts ORDER BY at DESC, post_id, part DESC"
        )
        return [
            Record(
                row[0], row[1], row[2], row[3], row[4], _moment(row[5]), row[6], row[7], row[8],
                datetime.fromisoformat(row[9]),
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

    def published(self, post_id: str, part: int, tweet_id: str | None, now: datetime) -> None:
        self._write(
            "UPDATE parts SET status = 'published', tweet_id = ?, error = NULL, at = ? "
            "WHERE post_id = ? AND part = ?",
            (tweet_id, _iso(now), post_id, part),
        )

    def failed(self, post_id: str, part: int, error: str, now: datetime, *, for_good: bool) -> None:
        """A request that did not publish: ``retrying`` (it stays in line) or ``failed``."""
        self._write(
            "UPDATE parts SET status = ?, error = ?, at = ? WHERE post_id = ? AND part = ?",
            (FAILED if for_good else RETRYING, error, _iso(now), post_id, part),
        )

    def retry(self, post_id: str, now: datetime) -> bool:
        """Put a post that failed for good back in line; False if it has no failed part."""
        cursor = self._write(
            "UPDATE parts SET status = 'retrying', at = ? WHERE post_id = ? AND status = 'failed'",
            (_iso(now), post_id),
        )
        return cursor.rowcount > 0

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

    def _write(self, sql: str, parameters: tuple[object, ...]) -> sqlite3.Cursor:
        with self._db:
            return self._db.execute(sql, parameters)
