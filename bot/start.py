"""The `interlink-bot` entry point, kept light: most cron runs have nothing to do.

Cron starts `interlink-bot run` every few minutes. When a full run finds nothing due and no
slot open, it leaves a *quiet marker* in the ledger (bot.runner, Ledger.mark_quiet): nothing
can become due before ``until`` (the next slot, or the earliest publish_at), as long as the
config file, every queue file and the ledger stay as they were. Every other ledger write
deletes the marker.

A plain ``run`` (``[--root DIR] [--config FILE] run [--now T-with-offset]``) first checks the
marker here, with nothing but ``os``, ``sqlite3`` and ``hashlib``: if the time is inside the
quiet window and the stats of the config and of every queue file are unchanged, the run
repeats the problems the full run found (on stdout, exit 0: they were told when they opened)
and ends. Anything else, or any doubt, and the full program (bot.cli) decides. The ledger must
be in its default place, ROOT/state. A rehearsal (``X_API_BASE_URL``) reads its own ledger's
marker; one set only in ROOT/.env takes the full way, which reads .env.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Literal, NamedTuple

from bot import __version__

MARKER_VERSION = 1


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    quiet = quiet_run(arguments, os.environ, time.time())
    if quiet is not None:
        status, problems, heartbeat = quiet
        endpoint = os.environ.get("X_API_BASE_URL")
        mark = f"[rehearsal against {endpoint}] " if endpoint else ""
        for line in problems:
            print(f"{mark}still: {line}")
        if heartbeat:  # a quiet run is a completed run too (SPEC: heartbeat_url)
            from bot.notify import ping_heartbeat  # noqa: PLC0415

            failure = ping_heartbeat(heartbeat)
            if failure:
                print(mark + failure)
        return status
    from bot.cli import main as full  # noqa: PLC0415 - only when the short way does not apply

    return full(arguments)


def quiet_run(
    argv: list[str], environ: Mapping[str, str], clock: float
) -> tuple[int, list[str], str | None] | None:
    """(exit status, problems to repeat, heartbeat URL) when the quiet marker holds; otherwise
    None. The problems were told by the run that found them: a quiet run repeats them with
    status 0."""
    options = _plain_run(argv)
    if options is None:
        return None
    root = os.path.abspath(options.get("--root") or environ.get("BOT_ROOT") or os.getcwd())
    config_file = os.path.join(root, options.get("--config") or os.path.join("config", "bot.yaml"))
    now = clock
    if "--now" in options:
        moment = _aware_epoch(options["--now"])
        if moment is None:
            return None
        now = moment
    if _rehearsal_in_dotenv(os.path.join(root, ".env")):
        return None
    from bot.ledger import ledger_file_name, read_quiet_marker  # noqa: PLC0415

    endpoint = environ.get("X_API_BASE_URL") or None
    ledger_file = os.path.join(root, "state", ledger_file_name(endpoint))
    if not os.path.exists(ledger_file):
        return None

    text = read_quiet_marker(ledger_file)
    if text is None:
        return None
    marker = json.loads(text)
    if (
        marker.get("version") != [MARKER_VERSION, __version__]
        or marker.get("config") != file_key(config_file)
        or not marker["since"] <= now < marker["until"]
        or marker.get("queue") != _fingerprint(marker["queue_dir"])
    ):
        return None
    problems: list[str] = marker["problems"]
    return 0, problems, marker.get("heartbeat")


def _rehearsal_in_dotenv(env_file: str) -> bool:
    """Whether ROOT/.env may set X_API_BASE_URL (only the full program reads .env)."""
    try:
        with open(env_file, "rb") as handle:
            text = handle.read(65536)
    except OSError:
        return False
    if b"X_API_BASE_URL" not in text:
        return False
    for line in text.splitlines():
        name, equals, value = line.strip().removeprefix(b"export ").partition(b"=")
        if name.strip() == b"X_API_BASE_URL" and equals and value.strip(b" \t'\"#"):
            return True
    return False


def _fingerprint(queue_dir: str) -> str | None:
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


POST_SUFFIXES = (".yaml", ".yml")
TOOL_FILES = (".#", "._")
"""Name prefixes of the files that tools keep beside a post, never posts themselves: emacs's
lock files (``.#post.yaml``, a link to nowhere, there while the post has unsaved changes) and
macOS's AppleDouble metadata (``._post.yaml``, left on shared and removable drives). Skipped
without a word, like ``post.yaml~`` and ``.post.yaml.swp``, which do not end in .yaml."""


class Unreadable(NamedTuple):
    """An entry the walk could not open or follow: reported on its own and skipped."""

    path: str
    kind: Literal["folder", "link", "file"]  # a folder cannot be listed, a link followed
    error: OSError


class QueueScan(NamedTuple):
    """One walk of the queue folder, shared by this short path and bot.posts."""

    fingerprint: str  # a digest of every name and of every post file's stat
    files: list[tuple[str, str, os.stat_result, bool]]  # relative, path, stat, is a link
    folder_links: list[str]  # links to folders: reported, never followed
    unreadable: list[Unreadable]  # post files, links to them and folders that failed


def scan_queue(queue_dir: str, *, list_files: bool = True) -> QueueScan | None:
    """Walk the queue folder once, stat-ing each post file. Any edit, addition, removal or
    rename changes the fingerprint. None if the queue folder itself cannot be read; an entry
    inside it that cannot be (a link that loops or leads nowhere, a closed sub-folder) is
    listed in ``unreadable`` and the walk goes on without it. The short path, which needs only
    the fingerprint, saves ~6 ms on 5,000 files with ``list_files=False``."""
    digest = hashlib.sha256()
    scan = QueueScan("", [], [], [])
    folders = [(queue_dir, "")]
    while folders:
        folder, prefix = folders.pop()
        try:
            lines = _list_folder(folder, prefix, folders, scan, list_files=list_files)
        except OSError as error:
            if not prefix:
                return None  # the queue folder itself
            lines = [prefix, f"\0!{error.errno}"]
            if list_files and not isinstance(error, FileNotFoundError):  # else: just removed
                scan.unreadable.append(Unreadable(folder, "folder", error))
        digest.update("\n".join(lines).encode("utf-8", "surrogateescape") + b"\n\n")
    return scan._replace(fingerprint=digest.hexdigest())


def _list_folder(
    folder: str,
    prefix: str,
    folders: list[tuple[str, str]],
    scan: QueueScan,
    *,
    list_files: bool,
) -> list[str]:
    """The fingerprint lines of one folder; its sub-folders go onto ``folders``, its post
    files (with ``list_files``) and links to folders into ``scan``."""
    # scandir's order is the folder's own: the same while nothing changes, and anything that
    # changes it is a change worth a full run.
    lines = [prefix]
    files = scan.files if list_files else None
    with os.scandir(folder) as entries:
        for entry in entries:
            name = entry.name
            try:  # costs nothing until an entry fails
                if entry.is_dir(follow_symlinks=False):
                    folders.append((entry.path, f"{prefix}{name}/"))
                    lines.append(name + "/")
                elif entry.is_symlink() and entry.is_dir():
                    scan.folder_links.append(entry.path)
                    lines.append(name + "@/")
                elif name.endswith(POST_SUFFIXES):  # and TOOL_FILES: bot.posts skips those
                    info = entry.stat()
                    if files is not None:
                        files.append((prefix + name, entry.path, info, entry.is_symlink()))
                    # stat_key, inlined: this line runs for every post file on every run
                    key = f"{info.st_size}:{info.st_mtime_ns}:{info.st_ctime_ns}:{info.st_ino}"
                    lines.append(f"{name}\0{key}")
                else:
                    lines.append(name)
            except OSError as error:
                lines.append(_unfollowed(entry, error, scan.unreadable if list_files else None))
    return lines


def _unfollowed(entry: os.DirEntry[str], error: OSError, found: list[Unreadable] | None) -> str:
    """The fingerprint line of an entry whose stat failed, noted in ``found`` when it is a
    post file: a link that loops, leads nowhere or through a closed folder, or a file that
    cannot be stat-ed (its folder lacks x permission) or was removed since the listing."""
    name = entry.name
    try:
        link = entry.is_symlink()
    except OSError:
        link = False
    try:
        key = stat_key(entry.stat(follow_symlinks=False))  # a retargeted link changes it
    except OSError:
        key = ""
    post_file = name.endswith(POST_SUFFIXES) and not name.startswith(TOOL_FILES)
    # A plain file not found was removed since the listing: the next walk will not see it.
    if found is not None and post_file and (link or not isinstance(error, FileNotFoundError)):
        found.append(Unreadable(entry.path, "link" if link else "file", error))
    return f"{name}\0!{error.errno}:{key}"


def stat_key(info: os.stat_result) -> str:
    """Changes whenever the file does: ctime moves on every write, whatever a tool does
    to mtime."""
    return f"{info.st_size}:{info.st_mtime_ns}:{info.st_ctime_ns}:{info.st_ino}"


def _plain_run(argv: list[str]) -> dict[str, str] | None:
    """The options of ``[--root DIR] [--config FILE] run [--now T]``, or None for anything
    else (another command, -v, --dry-run, help): those take the full way."""
    options: dict[str, str] = {}
    index = 0
    command_seen = False
    while index < len(argv):
        word = argv[index]
        if word == "run" and not command_seen:
            command_seen = True
        elif (word in ("--root", "--config") and not command_seen and index + 1 < len(argv)) or (
            word == "--now" and command_seen and index + 1 < len(argv)
        ):
            options[word] = argv[index + 1]
            index += 1
        else:
            return None
        index += 1
    return options if command_seen else None


def _aware_epoch(text: str) -> float | None:
    from datetime import datetime  # noqa: PLC0415

    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return moment.timestamp() if moment.tzinfo else None
