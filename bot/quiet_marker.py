"""The quiet marker: what a full run that found nothing due leaves in the ledger, so that the
next cron runs until ``until`` can stop at bot.start without loading the program.

It holds the config file's stat, the queue's fingerprint (bot.queue_scan), the window, and the
problems to repeat. It holds only while all of them are as they were. Only the standard
library, so the quiet tick stays lean.
"""

from __future__ import annotations

import json
import os

from bot import __version__
from bot.queue_scan import scan_queue, stat_key

MARKER_VERSION = 1
# The variables that point a network at a stand-in (bot.networks.REGISTRY's ``endpoint``s,
# kept in step by tests/test_start.py), each with whether only a server on this machine is a
# stand-in (the registry's ``local_only``: MASTODON_API_BASE_URL is always set, to the real
# instance, in a deployment). With a stand-in set, a run may be a rehearsal, and takes the full
# way, which tells (bot.networks is too heavy to import for a quiet tick).
ENDPOINT_VARIABLES = {
    "X_API_BASE_URL": False,
    "BLUESKY_SERVICE": True,
    "MASTODON_API_BASE_URL": True,
}
_LOOPBACK = ("127.0.0.1", "localhost", "[::1]")


def may_be_stand_in(value: str, *, local_only: bool) -> bool:
    """Whether an endpoint variable's value may point at a stand-in: any value, or for a
    ``local_only`` one, a URL on this machine (the full program decides exactly)."""
    if not value:
        return False
    if not local_only:
        return True
    host = value.split("://", 1)[-1].split("/", 1)[0].lower()
    return any(host == name or host.startswith(name + ":") for name in _LOOPBACK)


def holds(text: str, *, config_file: str, now: float) -> tuple[list[str], str | None] | None:
    """(problems to repeat, heartbeat URL) when the marker ``text`` still holds at ``now``:
    the same program, config file and queue, and ``now`` inside its window; else None."""
    marker = json.loads(text)
    if (
        marker.get("version") != [MARKER_VERSION, __version__]
        or marker.get("config") != file_key(config_file)
        or not marker["since"] <= now < marker["until"]
        or marker.get("queue") != fingerprint(marker["queue_dir"])
    ):
        return None
    problems: list[str] = marker["problems"]
    return problems, marker.get("heartbeat")


def fingerprint(queue_dir: str) -> str | None:
    scan = scan_queue(queue_dir, list_files=False)
    return scan.fingerprint if scan else None


def make_marker(
    *,
    config_file: str,
    queue_dir: str,
    queue: str,
    since: float,
    until: float,
    problems: list[str],
    heartbeat: str | None = None,
) -> str:
    """The marker a quiet full run leaves; ``queue`` is the fingerprint of the scan taken
    *before* that run read any post file, so a change made while it ran is seen by the next."""
    return json.dumps(
        {
            "version": [MARKER_VERSION, __version__],
            "config": file_key(config_file),
            "queue_dir": queue_dir,
            "queue": queue,
            "since": since,
            "until": until,
            "problems": problems,
            "heartbeat": heartbeat,  # from the committed config: not a secret
        }
    )


def file_key(path: str) -> str | None:
    try:
        return stat_key(os.stat(path))
    except OSError:
        return None
