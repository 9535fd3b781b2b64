"""The ``interlink-bot`` command: a thin layer over the library (SPEC: "Commands").

Only this module prints, exits or reads the environment. Exit statuses: 0 all went well;
1 something needs a person (an invalid queue file, a failed publish); 2 the bot could not run
at all (usage, config).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import textwrap
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from bot.config import Config, load_config
from bot.errors import BotError, ConfigError, CredentialsMissing, Problem, printable
from bot.networks import REGISTRY, all_variables, entry, secret_variables
from bot.spending import Budget, dollars, money, post_price, price
from bot.times import iso_utc, local, until

if TYPE_CHECKING:
    import logging

    from bot.config import FeedSource
    from bot.feeds import FeedImport
    from bot.ledger import Ledger, Record
    from bot.posts import Post, Queue
    from bot.reports import Going, PlannedSpend, Result, Status, Timetable
    from bot.runner import Account

# Each command imports what it needs when it runs: cron starts `run` every few minutes, and
# it should not pay for what `check`, `preview` or the publisher load.

OK, NEEDS_A_PERSON, CANNOT_RUN = 0, 1, 2


class _CommandParser(argparse.ArgumentParser):
    """A command's parser: -v is accepted after the command too (`interlink-bot run -v`)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(**kwargs)
        self.add_argument(
            "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="debug logging"
        )


NOW_FORMATS = (
    "T is ISO 8601: 2026-03-29T08:05Z, 2026-03-29T09:05+01:00, or '2026-03-29 09:05' and "
    "2026-03-29 (midnight) in the config's time zone"
)


def _command(
    commands: Any, name: str, summary: str, details: str, examples: Sequence[str]
) -> argparse.ArgumentParser:
    """A command with its one-line summary (in `interlink-bot --help`), what it does, and
    examples (in `interlink-bot NAME --help`), as twine and httpie show theirs."""
    shown = "\n".join(f"  interlink-bot {example}" for example in examples)
    parser: argparse.ArgumentParser = commands.add_parser(
        name,
        help=summary,
        description=f"{summary[0].upper()}{summary[1:]}.\n\n{textwrap.fill(details, 78)}",
        epilog=f"examples:\n{shown}",
    )
    return parser


def _now_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--now", type=_moment_argument, metavar="T", help=f"{what}; {NOW_FORMATS}")


def build_parser() -> argparse.ArgumentParser:
    from bot import __version__  # noqa: PLC0415

    parser = argparse.ArgumentParser(
        prog="interlink-bot",
        description=(
            "Publishes approved posts from queue/ to X and Bluesky on a schedule, exactly once "
            "per network."
        ),
        epilog="`interlink-bot COMMAND --help` shows a command's options and examples.",
    )
    parser.add_argument("--version", action="version", version=f"interlink-bot {__version__}")
    parser.add_argument(
        "--root",
        type=Path,
        help="the deployment folder (default: $BOT_ROOT, else the current folder)",
    )
    parser.add_argument(
        "--config", type=Path, help="the settings file (default: ROOT/config/bot.yaml)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging on stderr")
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_CommandParser
    )
    check_command = _command(
        commands,
        "check",
        "validate the config and every queue file, offline",
        "One line per problem, PATH:LINE: message, naming the field and the fix. Exit 1 if a "
        "queue file is invalid, 2 if the config is. Nothing is sent or written.",
        ["check", "check --json", "--root /srv/interlink check"],
    )
    check_command.add_argument(
        "--format",
        choices=("text", "json", "github"),
        default="text",
        help="text (default); json: one object a line (path, line, field, message, severity); "
        "github: GitHub Actions annotations, each on its file's line, titled with the field",
    )
    check_command.add_argument(
        "--json", action="store_const", const="json", dest="format", help="same as --format json"
    )
    check_command.set_defaults(handler=check)

    preview = _command(
        commands,
        "preview",
        "print each post exactly as it will be published, with its length",
        "Shows every part of each post (thread replies too) as each network will show it, its "
        "length counted as that network counts (n/280 on X, n/300 on Bluesky), and what was "
        "shortened to fit. --format markdown: the same as a pull-request comment, one table "
        "a post, with its cost and the slot `plan` gives it, and the problems of a broken "
        "post. Offline.",
        [
            "preview",
            "preview 2019/10/mek-and-fake-news",
            "preview --format markdown queue/2019/10/mek-and-fake-news.yaml > preview.md",
        ],
    )
    preview.add_argument("ids", nargs="*", metavar="ID", help="post ids or files (default: all)")
    preview.add_argument(
        "--format",
        choices=("text", "markdown"),
        default="text",
        help="text (default); markdown: for a pull-request comment",
    )
    _now_option(preview, "markdown: the slots as `plan` gives them from T")
    preview.set_defaults(handler=preview_posts)

    run = _command(
        commands,
        "run",
        "the cron job: publish what is due now, then exit",
        "Publishes what is due at T (default: the clock) and records every request in the "
        "ledger before it is sent. --dry-run shows what would be sent and writes nothing.",
        ["run", "run --dry-run", "run --now '2026-12-01 08:30'"],
    )
    _now_option(run, "act as if it were T")
    run.add_argument(
        "--dry-run", action="store_true", help="do everything but send; write nothing at all"
    )
    run.set_defaults(handler=run_once, logs=True)

    plan = _command(
        commands,
        "plan",
        "which post goes out when, without network",
        "Every post that would go out over the next N days, at which slot, as if each went "
        "out; those the daily cap holds back; and every approved post that will not go out, "
        "with why.",
        ["plan", "plan --days 2", "plan --now 2026-12-01 --json"],
    )
    plan.add_argument(
        "--days",
        type=_positive("--days", most=366),
        default=7,
        metavar="N",
        help="how far ahead, 1 to 366 (default 7)",
    )
    _now_option(plan, "plan from T")
    plan.add_argument("--json", action="store_true", help="one JSON object a line")
    plan.set_defaults(handler=show_plan)

    history = _command(
        commands,
        "log",
        "publish history, newest first",
        "One line per post, network and part: when, status, the link or the error. "
        "--attempts lists every request made, with the network's answer.",
        ["log", "log --limit 10", "log --post 2019/10/mek-and-fake-news", "log --attempts"],
    )
    history.add_argument(
        "--limit",
        type=_positive("--limit"),
        default=50,
        metavar="N",
        help="at most N lines (default 50)",
    )
    history.add_argument("--post", metavar="ID", help="only this post (its id or file)")
    history.add_argument("--network", metavar="NAME", help="only this network (x, bluesky)")
    history.add_argument(
        "--attempts", action="store_true", help="every request made, with its outcome"
    )
    history.add_argument("--json", action="store_true", help="one JSON object a line")
    history.set_defaults(handler=show_log)

    status = _command(
        commands,
        "status",
        "queue, schedule, last results",
        "Queue counts, the next slot, posts today against the cap, the last success and the "
        "last error with their times, whether credentials are set, whether runs are paused, "
        "and every post that will not go out, with why.",
        ["status", "status --json"],
    )
    _now_option(status, "as if it were T")
    status.add_argument("--json", action="store_true", help="as one JSON object")
    status.set_defaults(handler=show_status)

    pause = _command(
        commands,
        "pause",
        "emergency stop: run publishes nothing",
        "Until `interlink-bot resume`, runs publish nothing. Pausing again keeps the first "
        "time and adds the new reason.",
        ["pause --reason 'wrong link in the 13:00 post'"],
    )
    pause.add_argument("--reason", default="", help="shown by status, plan and run")
    pause.set_defaults(handler=pause_runs)
    _command(
        commands,
        "resume",
        "undo pause",
        "Runs publish again: the next one publishes what is due, including what the pause "
        "held back (a missed publish_at goes at the next slot).",
        ["resume"],
    ).set_defaults(handler=resume_runs)
    retry = _command(
        commands,
        "retry",
        "put a post that failed for good back in line",
        "After you fixed what the network refused (the text, the image), the post goes out at "
        "the next run; its image is uploaded again.",
        ["retry 2019/10/mek-and-fake-news", "retry queue/2019/10/mek-and-fake-news.yaml"],
    )
    retry.add_argument("id", metavar="ID", help="the post's id (as log shows it) or its file")
    retry.set_defaults(handler=retry_post)

    sandbox = _command(
        commands,
        "sandbox",
        "serve a local stand-in for the X API",
        "On 127.0.0.1: posts, replies, media, duplicate and rate-limit behaviour, and a page "
        "listing what was posted. Set X_API_BASE_URL to its address to rehearse against it.",
        ["sandbox", "sandbox --port 8100"],
    )
    sandbox.add_argument(
        "--port", type=_port, default=8099, metavar="N", help="1-65535 (default 8099)"
    )
    sandbox.set_defaults(handler=serve_sandbox, needs_config=False)
    _draft_commands(commands)
    return parser


def _draft_commands(commands: Any) -> None:
    """The editors' commands that write drafts: `import` and `new` (issue 13)."""
    imports = _command(
        commands,
        "import",
        "turn the new entries of the organisation's feeds into drafts under queue/",
        "Reads each feed in config's feeds: (or the web addresses and feed files given), "
        "conditionally, and writes one draft (approved: false unless the feed says approve: "
        "true) per new entry, under queue/FOLDER/YYYY/MM/. An entry is new if neither its id "
        "nor its link was imported before and no queue file has its link; an existing file is "
        "never overwritten. A feed's first import takes the last 7 days (or from --since), and "
        "no later one goes further back. Exit 1 if a feed could not be read.",
        [
            "import",
            "import --dry-run",
            "import https://iran-interlink.org/feed/ --since 2026-11-01",
        ],
    )
    imports.add_argument(
        "feeds", nargs="*", metavar="URL_OR_FILE", help="these feeds (default: config's feeds:)"
    )
    imports.add_argument(
        "--since",
        type=_moment_argument,
        metavar="DATE",
        help="at a feed's first import, take entries published from DATE on (default: the "
        "last 7 days); later imports keep the cut-off the first one fixed",
    )
    imports.add_argument(
        "--dry-run", action="store_true", help="print the drafts it would write; write nothing"
    )
    _now_option(imports, "import as if it were T (for rehearsals)")
    imports.set_defaults(handler=import_drafts)

    new = _command(
        commands,
        "new",
        "write a draft for one article from its page's Open Graph tags",
        "Fetches the page and writes a draft (approved: false): title from og:title, source "
        "from og:site_name, summary from og:description, link from og:url. Prints the file's "
        "path, and says what the page did not have.",
        ["new https://www.example.org/2026/12/a-story/", "new URL --folder drafts"],
    )
    new.add_argument("url", metavar="URL", help="the article's web address")
    new.add_argument(
        "--folder", default="", help="a folder under queue/ (default: queue/YYYY/MM/ of today)"
    )
    _now_option(new, "date the draft's folder as if it were T")
    new.set_defaults(handler=new_draft)


def _positive(option: str, most: int | None = None) -> Callable[[str], int]:
    def whole(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = 0
        if value < 1 or (most is not None and value > most):
            upto = f" up to {most}" if most is not None else " or more"
            raise argparse.ArgumentTypeError(f"{option} takes a whole number of 1{upto}")
        return value

    return whole


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port; give one from 1 to 65535")
    return value


def _moment_argument(text: str) -> str:
    """Checked for form and range here; read in the config's time zone once that is known."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a time; {NOW_FORMATS}") from None
    if not 2000 <= moment.year <= 9000:  # the schedule looks a fortnight either side
        raise argparse.ArgumentTypeError(
            f"{text!r} is out of range; give a time between the years 2000 and 9000"
        )
    return text.strip()


def _now(args: argparse.Namespace, config: Config) -> datetime:
    """--now (no offset: the config's time zone), else the clock: the only clock reading."""
    if getattr(args, "now", None):
        return _moment(args.now, config)
    return datetime.now(UTC)


def _moment(text: str, config: Config) -> datetime:
    """A moment checked by _moment_argument; without an offset, in the config's time zone."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=config.timezone)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    root = (args.root or Path(os.environ.get("BOT_ROOT") or Path.cwd())).resolve()
    secrets = _Secrets(root)
    if args.verbose or getattr(args, "logs", False):  # the others log nothing: no logging
        _log_to_stderr(verbose=args.verbose, secrets=secrets)
    args.secrets = secrets
    config: Config | None = None
    try:
        if not getattr(args, "needs_config", True):
            return int(args.handler(None, args))
        if not root.is_dir():
            where = "--root" if args.root else ("$BOT_ROOT" if os.environ.get("BOT_ROOT") else "")
            print(
                f"interlink-bot: {root}: "
                + ("is not a folder" if root.exists() else "no such folder")
                + (f" (from {where})" if where else "")
                + "; give the deployment folder, the one holding config/ and queue/",
                file=sys.stderr,
            )
            return CANNOT_RUN
        config = load_config(root, args.config)
        status: int = args.handler(config, args)
    except ConfigError as error:
        form = getattr(args, "format", "text") if args.command == "check" else "text"
        if form != "text":  # a pull request's check wants the config's problems annotated too
            _print_problems([(problem, "error") for problem in error.problems], form)
        else:
            for problem in error.problems:
                print(problem, file=sys.stderr)
        return CANNOT_RUN
    except BotError as error:
        print(f"interlink-bot: {error}", file=sys.stderr)
        return CANNOT_RUN
    except BrokenPipeError:  # `interlink-bot preview | head`
        sys.stderr.close()
        return OK
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # noqa: BLE001 - a bug: one line; the traceback only with -v
        from bot.ledger import damaged, ledger_file_name  # noqa: PLC0415

        state = root / "state" if config is None else config.paths.state
        ledger_error = damaged(error, state / ledger_file_name(secrets.endpoint()))
        if ledger_error is not None:
            print(f"interlink-bot: {ledger_error}", file=sys.stderr)
            return CANNOT_RUN
        if args.verbose:
            print(secrets.redact(traceback.format_exc()), file=sys.stderr, end="")
        _say(
            args,
            f"interlink-bot: internal error: {type(error).__name__}: {error} "
            "(please report it; -v shows the traceback)",
            problem=True,
        )
        return NEEDS_A_PERSON
    return status


def check(config: Config, args: argparse.Namespace) -> int:
    """One line per problem on stdout, a summary on stderr; exit 1 if any post is invalid.
    ``--format json``: one object a line; ``github``: GitHub Actions annotations."""
    from bot.config import config_warnings  # noqa: PLC0415
    from bot.posts import load_queue  # noqa: PLC0415

    queue = load_queue(config)
    found = [
        *((warning, "warning") for warning in config_warnings(config)),  # shown, not failed
        *((problem, "error") for problem in sorted(queue.problems, key=_problem_order)),
    ]
    _print_problems(found, getattr(args, "format", "text"))
    valid = len(queue.posts)
    invalid = len(queue.invalid_files)
    print(
        f"{valid} post{'s' if valid != 1 else ''} valid, "
        f"{invalid} file{'s' if invalid != 1 else ''} with problems",
        file=sys.stderr,
    )
    # SPEC: a configured network without credentials is named by check too (it does not fail
    # it: check is about the queue, and a pull request's CI has no credentials).
    for name in config.networks:
        missing = args.secrets.missing_credentials(name)
        if missing:
            error = CredentialsMissing(missing, entry(name).credentials)
            print(f"{name}: {error}; `run` publishes nothing there until then", file=sys.stderr)
    _say_limits(config, sys.stderr)
    return NEEDS_A_PERSON if queue.problems else OK


def _say_limits(config: Config, stream: TextIO) -> None:
    for line in _limits(config):
        print(line, file=stream)


def _limits(config: Config) -> list[str]:
    """Which limits a network whose server sets its own was checked against, offline: those
    read last from it and kept, or its defaults (issue 12)."""
    from bot.networks import counting_of  # noqa: PLC0415

    return [
        f"{name}: counted with {counting_of(name, config.paths.state).source}"
        for name in config.networks
        if entry(name).instance_limits
    ]


def _print_problems(found: list[tuple[Problem, str]], form: str) -> None:
    """Problems as text lines, JSON lines or GitHub Actions annotations (SPEC: check)."""
    for problem, severity in found:
        message = " ".join(problem.message.split())
        if form == "json":
            entry = {
                "path": problem.path,
                "line": problem.line,
                "field": getattr(problem, "field", None),
                "message": message.removeprefix("warning: "),
                "severity": severity,
            }
            print(json.dumps(entry, ensure_ascii=False))
        elif form == "github":
            print(_annotation(problem, severity, message.removeprefix("warning: ")))
        else:
            print(problem)


def _annotation(problem: Problem, severity: str, message: str) -> str:
    """A GitHub Actions workflow command, ``::error file=PATH,line=N,title=TITLE::message``:
    the pull request shows it on that line of the file, under a title naming the field.
    Escaped as GitHub's toolkit escapes them, so that a ``,`` or ``:`` in a file name ends no
    property and a newline ends no command."""
    field = getattr(problem, "field", None)
    # A field is a key of the file as written: shown escaped, as Problem shows its message.
    title = f"interlink-bot check: {printable(field)}" if field else "interlink-bot check"
    properties = [f"file={_property_value(problem.path)}"]
    if problem.line:
        properties.append(f"line={problem.line}")
    properties.append(f"title={_property_value(title)}")
    return f"::{severity} {','.join(properties)}::{_command_data(message)}"


def _command_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property_value(text: str) -> str:
    return _command_data(text).replace(":", "%3A").replace(",", "%2C")


def preview_posts(config: Config, args: argparse.Namespace) -> int:
    from bot.posts import load_queue  # noqa: PLC0415

    queue = load_queue(config)
    if getattr(args, "format", "text") == "markdown":
        return _preview_markdown(config, args, queue)
    wanted: list[str] = args.ids
    by_id = {post.id: post for post in queue.posts}
    status = OK
    posts: list[Post] = []
    for post_id in [_post_id(given, config) for given in wanted] or list(by_id):
        if post_id in by_id:
            posts.append(by_id[post_id])
        else:
            if not _print_problems_of(post_id, queue, config):
                print(_unknown_post(post_id, set(by_id), config, ledger=False), file=sys.stderr)
            status = NEEDS_A_PERSON
    if posts:
        print("\n\n".join(_describe(post, config) for post in posts))  # blank lines between
        _say_limits(config, sys.stdout)
    if not wanted and queue.problems:
        for problem in sorted(queue.problems, key=_problem_order):
            print(problem, file=sys.stderr)
        status = NEEDS_A_PERSON
    return status


def _print_problems_of(post_id: str, queue: Queue, config: Config) -> bool:
    mine = [problem for problem in queue.problems if _file_id(problem, config) == post_id]
    for problem in mine:
        print(problem, file=sys.stderr)
    return bool(mine)


def _file_id(problem: Problem, config: Config) -> str | None:
    """The id of the queue file a problem is about; None for one about no file of the queue
    (the queue folder itself)."""
    stem = problem.path.rsplit(".", 1)[0]
    prefix = _queue_prefix(config)
    return stem.removeprefix(prefix) if stem.startswith(prefix) else None


def _queue_prefix(config: Config) -> str:
    """What a queue file's path starts with as messages show it: ``queue/`` (as bot.posts
    shows them: nothing for a queue that is the deployment folder itself)."""
    shown = config.shown(config.paths.queue)
    return "" if shown == "." else f"{shown}/"


# --- preview --format markdown: a pull request's comment -------------------------------------


def _preview_markdown(config: Config, args: argparse.Namespace, queue: Queue) -> int:
    """The posts asked for (all, by id, when none is) as a Markdown document: a heading and
    one table a post, its problems shown in it rather than on stderr, as a comment on the
    pull request that changes them must show a broken post. The slots are `plan`'s."""
    from bot import reports  # noqa: PLC0415

    by_id = {post.id: post for post in queue.posts}
    broken: dict[str, list[Problem]] = {}
    elsewhere: list[Problem] = []  # about no one file: the queue folder
    for problem in sorted(queue.problems, key=_problem_order):
        file_id = _file_id(problem, config)
        if file_id is None:
            elsewhere.append(problem)
        else:
            broken.setdefault(file_id, []).append(problem)
    given = list(dict.fromkeys(_post_id(text, config) for text in args.ids))
    now = _now(args, config)
    endpoint = args.secrets.endpoint()
    with _snapshot(config, endpoint) as ledger:
        times = reports.timetable(config, queue, ledger, now)
    sections: list[str] = []
    posts = troubled = unknown = 0
    for post_id in given or sorted({*by_id, *broken}):
        if post_id in by_id:
            section, fits = _post_markdown(by_id[post_id], config, times)
            sections.append(section)
            posts += 1
            troubled += not fits
        elif post_id in broken:
            sections.append(f"### {_code(post_id)}\n\n{_problem_block(broken[post_id])}")
            posts += 1
            troubled += 1
        else:
            message = _unknown_post(post_id, set(by_id), config, ledger=False)
            sections.append(_problem_block([message.removeprefix("interlink-bot: ")]))
            unknown += 1
    if given:
        elsewhere = []
    summary = (
        f"interlink-bot preview: {posts} post{'s' if posts != 1 else ''} "
        + (f"({troubled} with problems)" if troubled else "(no problems)")
        + (f", {unknown} unknown id{'s' if unknown != 1 else ''}" if unknown else "")
        + (
            f"; {len(elsewhere)} problem{'s' if len(elsewhere) != 1 else ''} in the queue"
            if elsewhere
            else ""
        )
    )
    blocks = [summary]
    if elsewhere:
        blocks.append(_problem_block(elsewhere))
    blocks += sections
    if by_id.keys() & set(given or by_id):
        blocks.append(_slots_note(times, now, config, endpoint))
    blocks += [_md(line) for line in _limits(config)]
    print("\n\n".join(blocks))
    needs_a_person = troubled or unknown or elsewhere
    return NEEDS_A_PERSON if needs_a_person else OK


def _post_markdown(post: Post, config: Config, times: Timetable) -> tuple[str, bool]:
    """A post's heading, its facts and file, and one table: a row for each part on each
    network. Also whether it fits on every network it goes to."""
    from bot.formatting import DoesNotFit  # noqa: PLC0415
    from bot.networks import counting_of  # noqa: PLC0415
    from bot.posts import render_post, targets  # noqa: PLC0415

    file = _queue_prefix(config) + post.file
    facts = _md(" · ".join(_facts(post, config)))
    rows = [
        "| network | part | text | length | cost | slot |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    notes: list[str] = []
    fits = True
    for network in targets(post, config):
        label = entry(network).label
        try:
            parts = render_post(post, config, network)
        except DoesNotFit as error:  # load_queue checked it; kept for a post changed since
            notes.append(f"> **Does not fit on {label}:** {_md(str(error))}")
            fits = False
            continue
        limit = counting_of(network, config.paths.state).limit
        slot = _md(_slot(times.posts.get(post.id), network, config))
        for number, part in enumerate(parts, start=1):
            # each part is a post of its own, billed as one; the image's alt text with the first
            cost = price(network, [part.text], alt_text=number == 1 and post.image is not None)
            length = f"{part.length}/{limit}"
            if part.shortened:
                length += f" · shortened: {', '.join(part.shortened)}"
            cells = [
                label,
                f"{number}/{len(parts)}" if len(parts) > 1 else "",
                _code_lines(part.text),
                _md(length),
                money(cost) if cost is not None else "—",
                slot,
            ]
            rows.append(f"| {' | '.join(cells)} |")
        texts = [part.text for part in parts]
        whole = _cost_line(post, config, network, texts)
        total = price(network, texts, alt_text=post.image is not None)
        if whole and total is not None and whole != f"cost: {money(total)}":
            notes.append(f"{label} {_md(whole)}")  # a thread's total, the link's share
    if post.image is not None:
        image = f"{_code(config.shown(post.image.path))}, alt text: {_code(post.image.alt)}"
        notes.insert(0, f"Image, with the first part: {image}")
    table = "\n".join(rows) if len(rows) > 2 else ""
    blocks = [f"### {_code(post.id)}", f"{facts} · {_code(file)}", table, *notes]
    return "\n\n".join(block for block in blocks if block), fits


def _slot(going: Going | None, network: str, config: Config) -> str:
    """When `plan` sends the post (``Tue 2026-12-08 09:00 GMT``), or why it does not."""
    if going is None:
        return ""
    if going.at is None:
        return going.why
    when = _local(going.at, config, weekday=True) + ("" if going.slot else " (its publish_at)")
    if network in going.waits:
        when += f" (waits for {entry(network).label}'s monthly budget)"
    return when


def _slots_note(times: Timetable, now: datetime, config: Config, endpoint: str | None) -> str:
    """What the slot column assumes: the moment, and the history the ledger here knows (a
    pull request's checkout has none: every slot is as if nothing went out before)."""
    days = times.plan.days
    note = (
        f"Slots as `interlink-bot plan` gives them from {_md(_local(now, config, weekday=True))}"
        f" for the next {days} day{'s' if days != 1 else ''}"
    )
    if endpoint:
        note += f", from the records of the rehearsal against {_code(endpoint)}"
    elif not times.history:
        note += ", as if nothing had been published before (no publish history here)"
    note += "."
    if times.plan.paused:
        since, reason = times.plan.paused
        note += (
            f" Runs are paused since {_md(_local(since, config))} "
            f"({_md(reason or 'no reason given')}): these are the slots once resumed."
        )
    return note


def _problem_block(problems: Sequence[Problem | str]) -> str:
    return "\n>\n".join(f"> **Problem:** {_md(str(problem))}" for problem in problems)


_MARKDOWN_SIGNS = re.compile(r"([\\`*_\[\]<>|~&])")


def _md(text: str) -> str:
    """``text`` as Markdown prose that reads as written: each sign Markdown, HTML or a table
    would act on is escaped (a ``|`` would end the table's cell)."""
    return _MARKDOWN_SIGNS.sub(r"\\\1", text)


def _code(text: str, *, cell: bool = False) -> str:
    """``text`` as a code span: GitHub shows it as written, with no emphasis, HTML, link,
    @mention, #reference or :emoji: made of it. In a table cell (``cell``) a ``|`` is written
    ``\\|``, which GitHub reads back as ``|`` even in a code span."""
    if not text:
        return ""
    ticks = max((len(run) for run in re.findall("`+", text)), default=0)
    fence = "`" * (ticks + 1)
    # A space each side keeps a backtick at an end off the fence; a span with a space at both
    # ends loses one of each, so those get another.
    both = text.startswith(" ") and text.endswith(" ") and text.strip(" ")
    pad = " " if text.startswith("`") or text.endswith("`") or both else ""
    if cell:
        text = text.replace("|", "\\|")
    return f"{fence}{pad}{text}{pad}{fence}"


def _code_lines(text: str) -> str:
    """A post's text in a table cell: a code span a line, its line breaks as ``<br>``."""
    return "<br>".join(_code(line, cell=True) for line in re.split(r"\r\n|\r|\n", text))


def _describe(post: Post, config: Config) -> str:
    from bot.formatting import DoesNotFit  # noqa: PLC0415
    from bot.networks import counting_of  # noqa: PLC0415
    from bot.posts import render_post, targets  # noqa: PLC0415

    lines = [f"{post.id} · {' · '.join(_facts(post, config))}"]
    several = len(config.networks) > 1
    for network in targets(post, config):
        on = f"{entry(network).label} · " if several else ""
        try:
            parts = render_post(post, config, network)
        except DoesNotFit as error:  # load_queue checked it; kept for a post changed since
            lines.append(f"  {on}does not fit: {error}")
            continue
        limit = counting_of(network, config.paths.state).limit
        for number, part in enumerate(parts, start=1):
            label = f"part {number}/{len(parts)} · " if len(parts) > 1 else ""
            note = f" · shortened: {', '.join(part.shortened)}" if part.shortened else ""
            lines.append(f"  {on}{label}{part.length}/{limit}{note}")
            lines.append(textwrap.indent(part.text, "  │ ", predicate=lambda _: True))
            if number == 1 and post.image is not None:
                lines.append(f"  │ [image {config.shown(post.image.path)} · alt: {post.image.alt}]")
        cost = _cost_line(post, config, network, [part.text for part in parts])
        if cost:  # "X · cost: …" among several networks, else "X cost: …"
            lines.append(f"  {on}{cost}" if several else f"  {entry(network).label} {cost}")
    return "\n".join(lines)


def _facts(post: Post, config: Config) -> list[str]:
    """``approved``, ``at 2026-12-08 09:00 GMT``, ``until the end of 7 Dec 2026``…"""
    facts = ["approved" if post.approved else "draft (approved: false)"]
    zone = config.timezone
    for label, moment in (("at", post.publish_at), ("not before", post.not_before)):
        if moment is not None:
            facts.append(f"{label} {local(moment, zone)}")
    if post.expires is not None:
        facts.append(f"until {until(post.expires, zone)}")
    if post.priority:
        facts.append(f"priority {post.priority}")
    return facts


def _cost_line(post: Post, config: Config, network: str, parts: list[str]) -> str | None:
    """What the post costs on a network that bills each post, and what it would cost with or
    without its link (SPEC: a template without {url} makes a post without a link)."""
    from bot.formatting import DoesNotFit  # noqa: PLC0415

    cost = price(network, parts, alt_text=post.image is not None)
    if cost is None:
        return None
    what = [f"{len(parts)} posts"] if len(parts) > 1 else []
    if post.image is not None:
        what.append("the image's alt text")
    line = f"cost: {money(cost)}" + (f" for {' and '.join(what)}" if what else "")
    if post.url and post.text is None:
        own = config.networks[network].template
        if "{url}" not in (own or config.format.template):
            key = f"networks.{network}.template" if own else "format.template"
            return line + f" (without the link: {key} has no {{url}})"
        try:
            without = post_price(replace(post, url=""), config, network)
        except DoesNotFit:
            without = None
        if without is not None and without < cost:
            line += (
                f"; {money(without)} without the link (a networks.{network}.template "
                "without {url})"
            )
    return line


def _problem_order(problem: Problem) -> tuple[str, int]:
    return (problem.path, problem.line or 0)


# --- credentials and logging -------------------------------------------------------------------

CREDENTIAL_NAMES = secret_variables()


_SHORTEST_SECRET = 8


class _Secrets:
    """The credentials, from the environment or ROOT/.env (which never overrides the
    environment), read once and only when asked for."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._values: dict[str, str] | None = None

    def values(self) -> dict[str, str]:
        if self._values is None:
            env_file = self.root / ".env"
            from_file: dict[str, str | None] = {}
            if env_file.is_file():
                from dotenv import dotenv_values  # noqa: PLC0415 - 8 ms: only when there is one

                from_file = dotenv_values(env_file)
            names = (*all_variables(), "NOTIFY_URLS")
            self._values = {
                name: value
                for name in names
                if (value := os.environ.get(name) or from_file.get(name) or "")
            }
        return self._values

    def endpoint(self) -> str | None:
        """A rehearsal's stand-ins (the sandbox's URL, a local PDS's), or None: the real
        accounts."""
        from bot.networks import stand_ins  # noqa: PLC0415

        return " ".join(stand_ins(self.values()).values()) or None

    def left_out(self, config: Config) -> dict[str, str]:
        """In a rehearsal, the configured networks that point at the real network, not at a
        stand-in: left out, so that a rehearsal never publishes for real."""
        from bot.networks import stand_ins  # noqa: PLC0415

        rehearsed = stand_ins(self.values())
        if not rehearsed:
            return {}
        return {
            name: (
                f"{entry(name).label} is left out of this rehearsal: it would publish for real; "
                f"point {entry(name).endpoint or 'it'} at a stand-in on this machine to include it"
            )
            for name in config.networks
            if name not in rehearsed
        }

    def missing_credentials(self, network: str) -> list[str]:
        """The network's credential names not set; [] when all are."""
        values = self.values()
        return [name for name in entry(network).credentials if not values.get(name)]

    def accounts(self, config: Config) -> dict[str, Account]:
        """How the run reaches each configured network (connected only when needed)."""
        from bot.networks import connector  # noqa: PLC0415
        from bot.runner import Account  # noqa: PLC0415

        values = self.values()
        return {
            name: Account(
                connector(name, values, config.paths.state, config.networks[name]),
                partial(self.missing_credentials, name),
            )
            for name in config.networks
        }

    def notify_urls(self, config: Config) -> list[str]:
        from bot.notify import notification_urls  # noqa: PLC0415

        return notification_urls(config.notify.urls, self.values().get("NOTIFY_URLS"))

    def redact(self, text: str) -> str:
        """Every secret value replaced by ****, as a whole: a value is never replaced inside
        a longer word (a one-letter credential would garble every line, issue 9)."""
        if self._values is None:
            return text
        secrets = [self._values[name] for name in CREDENTIAL_NAMES if self._values.get(name)]
        # each notification URL carries its target's token
        secrets += re.split(r"[\s,]+", self._values.get("NOTIFY_URLS", ""))
        # X's keys and tokens are 25 to 50 characters: a value much shorter is no real secret,
        # and replacing it would garble words and JSON keys instead (issue 9).
        for value in sorted(
            (v for v in secrets if len(v) >= _SHORTEST_SECRET), key=len, reverse=True
        ):
            text = re.sub(rf"(?<![\w\-]){re.escape(value)}(?![\w\-])", "****", text)
        return text


class _Redacting:
    """A logging filter (any object with ``filter`` is one) that takes credentials out."""

    def __init__(self, secrets: _Secrets) -> None:
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self.secrets.redact(message)
        if redacted != message or record.exc_info:
            record.msg, record.args = redacted, None
        return True


def _log_to_stderr(*, verbose: bool, secrets: _Secrets) -> None:
    """Warnings always, the bot's own debug lines with -v; never a credential. Other
    libraries' debug output (requests-oauthlib logs signed headers) stays off."""
    import logging  # noqa: PLC0415 - 6 ms that `status` and `plan` do not need

    logger = logging.getLogger("bot")
    for old in list(logger.handlers):
        logger.removeHandler(old)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_Redacting(secrets))
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbose else logging.WARNING)
    logger.propagate = False


def _say(args: argparse.Namespace, line: str, *, problem: bool = False) -> None:
    print(args.secrets.redact(line), file=sys.stderr if problem else sys.stdout)


# --- publishing ------------------------------------------------------------------------------


def run_once(config: Config, args: argparse.Namespace) -> int:
    from bot.runner import run  # noqa: PLC0415 - the run's own imports stay off other commands

    secrets: _Secrets = args.secrets
    report = run(
        config,
        _now(args, config),
        dry_run=args.dry_run,
        accounts=secrets.accounts(config),
        left_out=secrets.left_out(config),
        endpoint=secrets.endpoint(),
        notify_urls=secrets.notify_urls(config),
    )
    mark = _rehearsal_mark(report.rehearsal)
    for line in report.done:
        _say(args, mark + line)
    for line in report.cleared:
        _say(args, f"{mark}cleared: {line}")
    for line in report.persisting:  # told already: stdout, so cron mails it only once
        _say(args, f"{mark}still: {line}")
    for line in report.problems:
        _say(args, mark + line, problem=True)
    # 1 only in the run that first meets a problem: one cron mail per problem (SPEC).
    return NEEDS_A_PERSON if report.needs_a_person else OK


def _rehearsal_mark(endpoint: str | None) -> str:
    return f"[rehearsal against {endpoint}] " if endpoint else ""


@contextmanager
def _snapshot(config: Config, endpoint: str | None) -> Iterator[Ledger]:
    """The ledger as it is now, in memory (an empty one if there is none): read-only
    commands never write to state/, not even the queue index they refresh."""
    from bot.ledger import Ledger  # noqa: PLC0415

    ledger = Ledger.snapshot(config.paths.state, endpoint)
    try:
        yield ledger
    finally:
        ledger.close()


def _local(moment: datetime, config: Config, **form: bool) -> str:
    return local(moment, config.timezone, **form)


def show_plan(config: Config, args: argparse.Namespace) -> int:
    from bot import reports  # noqa: PLC0415
    from bot.posts import targets  # noqa: PLC0415

    now = _now(args, config)
    endpoint = args.secrets.endpoint()
    with _snapshot(config, endpoint) as ledger:
        queue = reports.current_queue(config, ledger)
        missing = {name: args.secrets.missing_credentials(name) for name in config.networks}
        planned = reports.plan(config, queue, ledger, now, args.days, missing_credentials=missing)
    waits = {spend.budget.network: set(spend.waits) for spend in planned.spending}
    if args.json:
        for entry in planned.entries:
            line = {
                "kind": "planned",
                "at": iso_utc(entry.at),
                "post_id": entry.post.id,
                "slot": iso_utc(entry.slot) if entry.slot else None,
                "networks": targets(entry.post, config),
                # networks whose monthly budget would hold this post's copy back
                "waiting": [name for name, ids in waits.items() if entry.post.id in ids],
                "cost_usd": {
                    spend.budget.network: dollars(spend.costs[entry.post.id])
                    for spend in planned.spending
                    if entry.post.id in spend.costs
                },
            }
            print(json.dumps(line, ensure_ascii=False))
        for spend in planned.spending:
            spend_json = {
                "kind": "spending",
                "network": spend.budget.network,
                **_spending_json(spend.budget),
                "planned_usd": dollars(spend.planned),
                "runs_out": iso_utc(spend.runs_out) if spend.runs_out else None,
                "waiting": list(spend.waits),
            }
            print(json.dumps(spend_json, ensure_ascii=False))
        for item in planned.will_not_go_out:
            entry_json = {"kind": "will_not_go_out", "post_id": item.subject}
            print(json.dumps({**entry_json, "will_not_go_out": item.reason}, ensure_ascii=False))
        for kept in planned.held:
            held_json = {"kind": "held_back", "post_id": kept.post.id}
            print(json.dumps({**held_json, "held_back": kept.reason(config)}, ensure_ascii=False))
        if planned.paused:
            since, reason = planned.paused
            paused_json = {"since": iso_utc(since), "reason": reason}
            print(json.dumps({"kind": "paused", "paused": paused_json}, ensure_ascii=False))
        return NEEDS_A_PERSON if queue.problems else OK
    mark = _rehearsal_mark(endpoint)
    if endpoint:
        print(f"{mark}history from the rehearsal's records, not the real ones")
    if planned.paused:
        since, reason = planned.paused
        print(
            f"PAUSED since {_local(since, config)} ({reason or 'no reason given'}): runs publish "
            "nothing until `interlink-bot resume`; this is the plan once resumed"
        )
    several = len(config.networks) > 1
    for entry in planned.entries:
        kind = "slot" if entry.slot else "at  "
        to = f"  → {', '.join(targets(entry.post, config))}" if several else ""
        held = [
            f"{REGISTRY[name].label} waits for its monthly budget"
            for name, ids in waits.items()
            if entry.post.id in ids
        ]
        note = f"  ({'; '.join(held)})" if held else ""
        print(f"{_local(entry.at, config, weekday=True)}  {kind}  {entry.post.id}{to}{note}")
    if not planned.entries:
        print(f"nothing to publish in the next {args.days} day{'s' if args.days != 1 else ''}")
    for spend in planned.spending:
        print(_planned_spend_line(spend, config))
    if planned.held:
        print("held back:")
        for kept in planned.held:
            print(f"  {kept.post.id}: {kept.reason(config)}")
    if planned.will_not_go_out:
        print("will not go out:")
        for item in planned.will_not_go_out:
            print(f"  {item}")
    return NEEDS_A_PERSON if queue.problems else OK


def _planned_spend_line(spend: PlannedSpend, config: Config) -> str:
    """``x: December 2026: $0.400 spent, $2.400 more planned (12 posts): $2.800, of a $20.00
    monthly budget``, and the day the budget would run out."""
    budget = spend.budget
    total = budget.spent + spend.planned
    going = len(spend.costs) - len(spend.waits)
    line = (
        f"{budget.network}: {budget.month}: {money(budget.spent)} spent, "
        f"{money(spend.planned)} more planned ({going} post{'s' if going != 1 else ''}): "
        f"{money(total)}"
    )
    if budget.budget is None:
        return line + f"; no monthly budget set (networks.{budget.network}.monthly_budget_usd)"
    line += f", of a {money(budget.budget)} monthly budget"
    if spend.runs_out is not None:
        count = len(spend.waits)
        line += (
            f"; it runs out on {_local(spend.runs_out, config, weekday=True)}: from then "
            f"{count} planned post{'s' if count != 1 else ''} wait{'s' if count == 1 else ''} "
            f"for {budget.month_ends.astimezone(config.timezone):%B} or a raised budget"
        )
    return line


def _post_id(text: str, config: Config) -> str:
    """A post id as people give it: the id itself, or the post's file (`queue/a/b.yaml`,
    relative to the current folder or the deployment, or absolute)."""
    candidate = text.strip()
    if candidate.endswith((".yaml", ".yml")):
        # Not resolved: a link in the queue is a post of its own, not the one it points to.
        queue = Path(os.path.normpath(config.paths.queue.absolute()))
        for path in (Path(candidate), config.root / candidate):
            given = Path(os.path.normpath(path.absolute()))
            if given.is_relative_to(queue):
                return given.relative_to(queue).with_suffix("").as_posix()
        return candidate.rsplit(".", 1)[0]
    return candidate.strip("/")


def _unknown_post(post_id: str, known: set[str], config: Config, *, ledger: bool = True) -> str:
    import difflib  # noqa: PLC0415

    close = difflib.get_close_matches(post_id, sorted(known), n=1, cutoff=0.5)
    lister = "`interlink-bot log`" if ledger else "`interlink-bot preview`"
    hint = f"; did you mean '{close[0]}'?" if close else f"; {lister} lists the ids"
    where = f"{config.shown(config.paths.queue)}/" + (" or the ledger" if ledger else "")
    return f"interlink-bot: no post with id '{post_id}' in {where}{hint}"


def _queue_files(config: Config) -> dict[str, str]:
    """Each post id in the queue folder and its file, without reading them."""
    from bot.queue_scan import scan_queue  # noqa: PLC0415

    scan = scan_queue(str(config.paths.queue))
    return {relative.rpartition(".")[0]: path for relative, path, *_ in scan.files} if scan else {}


def show_log(config: Config, args: argparse.Namespace) -> int:
    from bot import reports  # noqa: PLC0415

    endpoint = args.secrets.endpoint()
    if args.network not in (None, *config.networks):
        print(
            f"interlink-bot: no network '{args.network}' in this deployment; use "
            + " or ".join(config.networks),
            file=sys.stderr,
        )
        return CANNOT_RUN
    post_id = _post_id(args.post, config) if args.post else None
    with _snapshot(config, endpoint) as ledger:
        if post_id is not None:
            known = {record.post_id for record in ledger.records()} | set(_queue_files(config))
            if post_id not in known:
                print(_unknown_post(post_id, known, config), file=sys.stderr)
                return NEEDS_A_PERSON
        if args.attempts:
            return _show_attempts(config, args, ledger, endpoint, post_id)
        lines = reports.log(ledger, post_id=post_id, network=args.network, limit=args.limit)
    if post_id and not lines:
        print(f"{post_id}: nothing published or attempted yet")
        return OK
    if endpoint and not args.json:
        print(f"{_rehearsal_mark(endpoint)}these are the rehearsal's records, not the real ones")
    width = _network_width(config, [line.record.network for line in lines])
    for line in lines:
        record = line.record
        if args.json:
            print(json.dumps(_log_entry(record), ensure_ascii=False))
            continue
        cost = f", {money(record.cost)}" if record.cost else ""
        print(
            f"{_local(record.at, config, seconds=True)}  {record.status:<9}  "
            f"{record.network:<{width}}  "
            f"{record.post_id}{line.label}  (attempts: {record.attempts}{cost})  "
            f"{line.detail}".rstrip()
        )
    if not lines and not args.json:
        print("nothing published yet")
    return OK


def _network_width(config: Config, shown: list[str]) -> int:
    """The network column's width: the longest name configured or shown."""
    return max(len(name) for name in [*config.networks, *shown])


def _show_attempts(
    config: Config,
    args: argparse.Namespace,
    ledger: Ledger,
    endpoint: str | None,
    post_id: str | None,
) -> int:
    from bot.reports import part_label, thread_lengths  # noqa: PLC0415

    every = ledger.attempts(post_id)
    attempts = [a for a in every if args.network in (None, a.network)][: args.limit]
    width = _network_width(config, [attempt.network for attempt in attempts])
    counts = thread_lengths(ledger, ledger.records())
    if endpoint and not args.json:
        print(f"{_rehearsal_mark(endpoint)}these are the rehearsal's requests, not the real ones")
    for attempt in attempts:
        if args.json:
            entry = {
                "at": iso_utc(attempt.at),
                "post_id": attempt.post_id,
                "network": attempt.network,
                "part": attempt.part,
                "kind": attempt.kind,
                "outcome": attempt.outcome,
                "http_status": attempt.http_status,
                "error": attempt.error,
            }
            print(json.dumps(entry, ensure_ascii=False))
            continue
        where = attempt.post_id + part_label(attempt.part, counts.get(attempt.post_id))
        answer = str(attempt.http_status) if attempt.http_status else "-"
        detail = attempt.error or ("no answer came" if attempt.outcome == "unknown" else "")
        print(
            f"{_local(attempt.at, config, seconds=True)}  {attempt.network:<{width}}  {where}  "
            f"{attempt.kind:<8}  {attempt.outcome:<9}  {answer:>3}  {detail}".rstrip()
        )
    if not attempts and not args.json:
        print("no requests made yet")
    return OK


def _log_entry(record: Record) -> dict[str, object]:
    """SPEC "log --json fields"; ``tweet_id`` and ``tweet_url`` are kept for X's lines."""
    tweets = entry(record.network).ids_are_tweets if record.network in REGISTRY else False
    return {
        "post_id": record.post_id,
        "network": record.network,
        "part": record.part,
        "status": record.status,
        "remote_id": record.remote_id,
        "url": record.remote_url,
        "tweet_id": record.remote_id if tweets else None,
        "tweet_url": record.remote_url if tweets else None,
        "text": record.text,
        "attempts": record.attempts,
        "error": record.error,
        "at": iso_utc(record.at),
        # what the network billed for it (X); null where nothing is billed
        # null too where it is not known: a request made before costs were recorded (0.2)
        "cost_usd": dollars(record.cost)
        if record.cost is not None and _billed(record.network)
        else None,
    }


def _billed(network: str) -> bool:
    return network in REGISTRY and entry(network).billed


def show_status(config: Config, args: argparse.Namespace) -> int:
    from bot import reports  # noqa: PLC0415

    now = _now(args, config)
    endpoint = args.secrets.endpoint()
    missing = {name: args.secrets.missing_credentials(name) for name in config.networks}
    with _snapshot(config, endpoint) as ledger:
        queue = reports.current_queue(config, ledger)
        found = reports.status(config, queue, ledger, now, missing_credentials=missing)
    if args.json:
        _say(args, json.dumps(_status_json(found, endpoint), ensure_ascii=False))
        return OK

    def when(result: reports.Result | None) -> str:
        return f"{_local(result.at, config)} {result.what}" if result else "none"

    counts = found.counts
    slot = found.next_slot
    lines = [
        *(
            [f"{_rehearsal_mark(endpoint)}about the rehearsal's records, not the real ones"]
            if endpoint
            else []
        ),
        f"queue: {counts['approved']} approved, {counts['drafts']} drafts, {counts['invalid']} "
        f"invalid, {counts['published']} published, {counts['expired']} expired, "
        f"{counts['failed']} failed, {counts['will_not_go_out']} will not go out",
        "next slot: "
        + (f"{_local(slot, config, weekday=True)}{_slot_note(found, config)}" if slot else "none"),
        f"today: {found.published_today} of {found.max_per_day} posts",
    ]
    for network in found.networks:
        name = network.name
        lines += [
            f"{name}: last success: {when(network.last_success)}",
            f"{name}: last error: {when(network.last_error)}",
            f"{name}: credentials: "
            + (
                "set" if network.credentials_set else f"NOT SET: {', '.join(missing[name])} missing"
            ),
        ]
        if network.rate_limited_until:
            until = _local(network.rate_limited_until, config, seconds=True)
            lines.append(f"{name}: rate limited until {until}")
        if network.spending is not None:
            lines.append(f"{name}: {_spend_line(network.spending)}")
        if network.waiting:
            count = len(network.waiting)
            lines.append(
                f"{name}: {count} post{'s' if count != 1 else ''} waiting for the budget: "
                + ", ".join(network.waiting)
            )
    paused = found.paused
    lines.append(
        "paused: "
        + (
            f"yes, since {_local(paused[0], config)}: {paused[1] or 'no reason given'}"
            if paused
            else "no"
        )
    )
    if found.will_not_go_out:
        lines.append("will not go out:")
        lines += [f"  {item}" for item in found.will_not_go_out]
    for line in lines:
        _say(args, line)
    return OK


def _spend_line(spending: Budget) -> str:
    """``spent $0.40 in December 2026, of a $0.50 monthly budget ($0.10 left)``."""
    if spending.budget is None:
        cap = f"no monthly budget set (networks.{spending.network}.monthly_budget_usd)"
    else:
        left = max(spending.budget - spending.spent, 0)
        cap = f"of a {money(spending.budget)} monthly budget ({money(left)} left)"
    return f"spent {money(spending.spent)} in {spending.month}, {cap}"


def _slot_note(found: Status, config: Config) -> str:
    if not found.next_slot_open:
        return ""
    if found.next_slot_waits_until is None:
        return " (open now)"
    until = _local(found.next_slot_waits_until, config)
    return f" (open now; min_gap_minutes holds it until {until})"


def _status_json(found: Status, endpoint: str | None) -> dict[str, Any]:
    """README "status --json": stable field names, times in ISO 8601 UTC."""

    def result(value: Result | None) -> dict[str, str] | None:
        return {"at": iso_utc(value.at), "what": value.what} if value else None

    return {
        "rehearsal": endpoint,
        "queue": found.counts,
        "next_slot": iso_utc(found.next_slot) if found.next_slot else None,
        "next_slot_open": found.next_slot_open,
        "next_slot_waits_until": iso_utc(found.next_slot_waits_until)
        if found.next_slot_waits_until
        else None,
        "today": {"published": found.published_today, "max_per_day": found.max_per_day},
        "networks": {
            network.name: {
                "credentials": network.credentials_set,
                "last_success": result(network.last_success),
                "last_error": result(network.last_error),
                "rate_limited_until": iso_utc(network.rate_limited_until)
                if network.rate_limited_until
                else None,
                "failing_since": iso_utc(network.failing_since) if network.failing_since else None,
                **(_spending_json(network.spending) if network.spending else {}),
                **({"waiting": list(network.waiting)} if network.spending else {}),
            }
            for network in found.networks
        },
        "paused": {"since": iso_utc(found.paused[0]), "reason": found.paused[1]}
        if found.paused
        else None,
        "will_not_go_out": [
            {"subject": b.subject, "reason": b.reason} for b in found.will_not_go_out
        ],
    }


def _spending_json(spending: Budget) -> dict[str, Any]:
    return {
        "month": spending.month,
        "spent_usd": dollars(spending.spent),
        "budget_usd": dollars(spending.budget) if spending.budget is not None else None,
    }


def pause_runs(config: Config, args: argparse.Namespace) -> int:
    from bot.ledger import Ledger  # noqa: PLC0415

    endpoint = args.secrets.endpoint()
    ledger = Ledger.open(config.paths.state, endpoint)
    try:
        before = ledger.pause(args.reason, _now(args, config))
        paused = ledger.paused()
    finally:
        ledger.close()
    mark = _rehearsal_mark(endpoint)
    if before is not None and paused is not None:
        print(
            f"{mark}already paused since {_local(before[0], config)}; reasons now: "
            f"{paused[1] or 'none given'}"
        )
    else:
        print(f"{mark}paused: `run` publishes nothing until `interlink-bot resume`")
    return OK


def resume_runs(config: Config, args: argparse.Namespace) -> int:
    from bot.ledger import Ledger, check_state_folder, ledger_file_name  # noqa: PLC0415

    endpoint = args.secrets.endpoint()
    resumed = False
    check_state_folder(config.paths.state)
    if (config.paths.state / ledger_file_name(endpoint)).exists():
        ledger = Ledger.open(config.paths.state, endpoint)
        try:
            resumed = ledger.resume()
        finally:
            ledger.close()
    mark = _rehearsal_mark(endpoint)
    print(mark + ("resumed: the next run publishes what is due" if resumed else "was not paused"))
    return OK


def retry_post(config: Config, args: argparse.Namespace) -> int:
    from bot.ledger import (  # noqa: PLC0415
        FAILED,
        PUBLISHED,
        Ledger,
        check_state_folder,
        ledger_file_name,
    )

    endpoint = args.secrets.endpoint()
    post_id = _post_id(args.id, config)
    if not post_id:
        print("interlink-bot: retry needs a post id, e.g. retry 2019/10/a-post", file=sys.stderr)
        return CANNOT_RUN
    check_state_folder(config.paths.state)
    records = []
    if (config.paths.state / ledger_file_name(endpoint)).exists():
        ledger = Ledger.open(config.paths.state, endpoint)
        try:
            every = ledger.records()
            records = [record for record in every if record.post_id == post_id]
            retried = any(r.status == FAILED for r in records) and ledger.retry(
                post_id, _now(args, config)
            )
            known = {record.post_id for record in every}
        finally:
            ledger.close()
    else:
        retried, known = False, set()
    mark = _rehearsal_mark(endpoint)
    if retried:
        print(f"{mark}{post_id} is back in line for the next run")
        return OK
    if not records:
        files = _queue_files(config)
        if post_id in files:
            print(
                f"interlink-bot: {post_id} has not been sent yet, so there is nothing to retry; "
                + _when_it_goes(post_id, Path(files[post_id]), config),
                file=sys.stderr,
            )
        else:
            print(_unknown_post(post_id, known | set(files), config), file=sys.stderr)
        return NEEDS_A_PERSON
    if all(record.status == PUBLISHED for record in records):
        link = next((r.remote_url for r in records if r.part == 0 and r.remote_url), None)
        print(
            f"interlink-bot: {post_id} is already published{f' ({link})' if link else ''}; "
            "nothing to retry (to publish it again, copy it to a new file with allow_repeat: "
            "true)",
            file=sys.stderr,
        )
        return NEEDS_A_PERSON
    print(
        f"interlink-bot: {post_id} has not failed for good: it is still in line and the next "
        "runs try it (`interlink-bot log --post ID` shows why it waits)",
        file=sys.stderr,
    )
    return NEEDS_A_PERSON


def _when_it_goes(post_id: str, file: Path, config: Config) -> str:
    """For a queued post never sent: whether it is a draft, invalid, or simply waits. Only
    its own file is read."""
    from bot.posts import load_post  # noqa: PLC0415

    try:
        post = load_post(file, post_id, config)
    except BotError:
        return "its file has problems: `interlink-bot check` says which"
    if not post.approved:
        return "it is a draft: set approved: true for it to go out"
    return "it goes out when it is due (`interlink-bot plan`)"


# --- drafts for editors ------------------------------------------------------------------------


def import_drafts(config: Config, args: argparse.Namespace) -> int:
    """SPEC "Feeds": one line per draft written, a line per feed that had nothing new or was
    refused (on stderr, exit 1); the other feeds are imported all the same."""
    from bot.feeds import import_feeds  # noqa: PLC0415 - feedparser loads for `import` only
    from bot.ledger import Ledger  # noqa: PLC0415
    from bot.lock import LockHeld, RunLock  # noqa: PLC0415

    feeds = _feeds_given(args.feeds, config)
    if not feeds:
        print(
            "interlink-bot: import: no feeds to read; add one under feeds: in "
            f"{config.shown(config.file)} (- url: https://…/feed/) or name one: "
            "interlink-bot import URL_OR_FILE",
            file=sys.stderr,
        )
        return CANNOT_RUN
    now = _now(args, config)
    since = _moment(args.since, config) if args.since else None
    try:
        # No lock and no ledger file for a dry run: it writes nothing at all (SPEC). Imports
        # are the queue's, not an account's: one ledger, also while rehearsing against
        # stand-ins, so that going live does not import the last week again.
        with nullcontext() if args.dry_run else RunLock(config.paths.state / "import.lock"):
            ledger = (Ledger.snapshot if args.dry_run else Ledger.open)(config.paths.state)
            try:
                results = import_feeds(
                    config, ledger, feeds, now, since=since, dry_run=args.dry_run
                )
            finally:
                ledger.close()
    except LockHeld:
        print("another import is running; this one did nothing")
        return OK
    refused = False
    for result in results:
        for line in _import_lines(result, config, since, dry_run=args.dry_run):
            print(line)
        if result.refused and result.refused_since is not None:  # told already: stdout
            when = _local(result.refused_since, config)
            print(f"still: {result.feed}: {result.refused} (refused since {when})")
        elif result.refused:  # exit 1 once, as `run` does: one cron mail for a broken feed
            refused = True
            print(f"interlink-bot: import: {result.feed}: {result.refused}", file=sys.stderr)
        if result.cleared:
            print(f"cleared: {result.feed} can be read again")
    for line in _import_totals(results, dry_run=args.dry_run):
        print(line)
    return NEEDS_A_PERSON if refused else OK


def _import_totals(results: list[FeedImport], *, dry_run: bool) -> list[str]:
    verb = "would be written" if dry_run else "written"
    drafts = sum(len(result.written) for result in results if not result.approve)
    approved = sum(len(result.written) for result in results if result.approve)
    lines = []
    if drafts:
        lines.append(
            f"{drafts} draft{'s' if drafts != 1 else ''} {verb}; an editor checks each "
            "(interlink-bot preview ID) and sets approved: true to publish it"
        )
    if approved:
        lines.append(
            f"{approved} approved post{'s' if approved != 1 else ''} {verb} (the feed says "
            "approve: true): each goes out at its turn; interlink-bot plan shows when"
        )
    return lines


def _feeds_given(given: list[str], config: Config) -> list[FeedSource]:
    """The feeds to read: the config's, or those named (with the config's folder and
    approve where one is the config's own)."""
    from bot.config import FeedSource  # noqa: PLC0415

    configured = {feed.url: feed for feed in config.feeds}
    if not given:
        return list(config.feeds)
    return [
        configured.get(name) or FeedSource(name if "://" in name else str(Path(name).resolve()))
        for name in given
    ]


def _import_lines(
    result: FeedImport, config: Config, since: datetime | None, *, dry_run: bool
) -> list[str]:
    verb = "would write" if dry_run else "wrote"
    if result.refused:  # said on stderr; what it wrote before a refusal part-way is told here
        return [f"  {verb} {written.file} · {written.entry.title}" for written in result.written]
    if result.not_modified:
        return [f"{result.feed}: not changed since the last import"]
    lines = []
    if result.first and result.cut_off is not None:
        lines.append(
            f"{result.feed}: first import; entries published before "
            f"{_local(result.cut_off, config)} are the archive and are left alone, now and later"
        )
    elif since is not None and result.cut_off is not None and since < result.cut_off:
        lines.append(
            f"{result.feed}: --since goes behind the cut-off its first import fixed "
            f"({_local(result.cut_off, config)}); nothing older is taken"
        )
    for written in result.written:
        lines.append(f"  {verb} {written.file} · {written.entry.title}")
    left = []
    if result.already:
        left.append(f"{result.already} already imported or queued")
    if result.older:
        left.append(f"{result.older} published before the cut-off")
    if result.undated:
        left.append(f"{result.undated} without a date (taken as the archive)")
    if left or not result.written:
        summary = ", ".join(left) if left else "no entries"
        lines.append(f"  {'nothing new: ' if not result.written else 'left alone: '}{summary}")
    lines.extend(f"  {skipped}" for skipped in result.skipped)
    if not lines[0].startswith(result.feed):
        lines.insert(0, f"{result.feed}:")
    return lines


def new_draft(config: Config, args: argparse.Namespace) -> int:
    """`new URL`: the draft's path on stdout; what the page lacked, or why nothing was
    written, on stderr."""
    from bot.config import is_queue_folder  # noqa: PLC0415
    from bot.drafts import NotDrafted  # noqa: PLC0415
    from bot.pages import draft_from_page  # noqa: PLC0415

    folder: str = args.folder.strip("/")
    if folder and not is_queue_folder(folder):
        print(
            f"interlink-bot: new: --folder {args.folder!r} must be a folder under queue/, "
            "such as drafts",
            file=sys.stderr,
        )
        return CANNOT_RUN
    try:
        made = draft_from_page(config, args.url, _now(args, config), folder)
    except NotDrafted as error:
        print(f"interlink-bot: new: {error}", file=sys.stderr)
        return NEEDS_A_PERSON
    print(made.file)
    for missing in made.missing:
        print(f"the page has {missing}", file=sys.stderr)
    return OK


def serve_sandbox(_: Config | None, args: argparse.Namespace) -> int:
    from bot.networks.x.sandbox import OAuthKeys, Sandbox  # noqa: PLC0415

    # With credentials set, it checks every signature against them, as X does.
    secrets: _Secrets = args.secrets
    keys = OAuthKeys.from_variables(secrets.values())
    try:
        server = Sandbox(args.port, keys)
    except OSError as error:
        import errno  # noqa: PLC0415

        if error.errno == errno.EADDRINUSE:
            print(
                f"interlink-bot: port {args.port} is in use (another sandbox?); pick another "
                f"with --port, e.g. --port {args.port + 1 if args.port < 65535 else 8100}",
                file=sys.stderr,
            )
        else:
            print(
                f"interlink-bot: cannot listen on port {args.port} ({error.strerror}); pick "
                "another with --port (1024-65535 needs no special rights)",
                file=sys.stderr,
            )
        return CANNOT_RUN
    print(f"sandbox: a stand-in for X at {server.base_url} (page: {server.base_url}/)", flush=True)
    print(f"  X_API_BASE_URL={server.base_url} interlink-bot run   # to publish to it", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return OK
