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

import os
import sys
import time
from collections.abc import Mapping, Sequence


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
    from bot.quiet_marker import ENDPOINT_VARIABLES, may_be_stand_in  # noqa: PLC0415

    # A rehearsal (a network pointed at a stand-in) takes the full way, which decides it.
    if any(
        may_be_stand_in(environ.get(name, ""), local_only=local)
        for name, local in ENDPOINT_VARIABLES.items()
    ) or _rehearsal_in_dotenv(os.path.join(root, ".env"), ENDPOINT_VARIABLES):
        return None
    from bot.ledger import LEDGER_FILE, read_quiet_marker  # noqa: PLC0415

    ledger_file = os.path.join(root, "state", LEDGER_FILE)
    if not os.path.exists(ledger_file):
        return None

    text = read_quiet_marker(ledger_file)
    if text is None:
        return None
    from bot.quiet_marker import holds  # noqa: PLC0415

    held = holds(text, config_file=config_file, now=now)
    if held is None:
        return None
    problems, heartbeat = held
    return 0, problems, heartbeat


def _rehearsal_in_dotenv(env_file: str, names: dict[str, bool]) -> bool:
    """Whether ROOT/.env may point a network at a stand-in (only the full program reads .env);
    ``names``: each endpoint variable, and whether only a local one is a stand-in."""
    from bot.quiet_marker import may_be_stand_in  # noqa: PLC0415

    try:
        with open(env_file, "rb") as handle:
            text = handle.read(65536)
    except OSError:
        return False
    wanted = {name.encode() for name in names}
    if not any(name in text for name in wanted):
        return False
    for line in text.splitlines():
        name, equals, value = line.strip().removeprefix(b"export ").partition(b"=")
        shown = value.strip(b" \t'\"#").decode(errors="replace")
        local = names.get(name.strip().decode(errors="replace"), False)
        if name.strip() in wanted and equals and may_be_stand_in(shown, local_only=local):
            return True
    return False


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
