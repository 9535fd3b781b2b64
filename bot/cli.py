"""The ``interlink-bot`` command: a thin layer over the library (SPEC: "Commands").

Only this module prints, exits or reads the environment. Exit statuses: 0 all went well;
1 something needs a person (an invalid queue file, a failed publish); 2 the bot could not run
at all (usage, config).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
import textwrap
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.publisher import Credentials, Publisher

from bot.config import Config, load_config
from bot.errors import BotError, ConfigError, Problem

if TYPE_CHECKING:
    from bot.ledger import Ledger, Record
    from bot.posts import Post, Queue

# Each command imports what it needs when it runs: cron starts `run` every few minutes, and
# it should not pay for what `check`, `preview` or the publisher load.

OK, NEEDS_A_PERSON, CANNOT_RUN = 0, 1, 2

log = logging.getLogger("bot")


class _CommandParser(argparse.ArgumentParser):
    """A command's parser: -v is accepted after the command too (`interlink-bot run -v`)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_argument(
            "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="debug logging"
        )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="interlink-bot",
        description="Publishes approved posts from queue/ to X on a schedule.",
    )
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
    commands.add_parser(
        "check", help="validate the config and every queue file, offline"
    ).set_defaults(handler=check)
    preview = commands.add_parser(
        "preview", help="print each post exactly as it will be published, with its length"
    )
    preview.add_argument("ids", nargs="*", metavar="ID", help="post ids (default: all)")
    preview.set_defaults(handler=preview_posts)

    run = commands.add_parser("run", help="the cron job: publish what is due now, then exit")
    run.add_argument("--now", type=_moment_argument, help="act as if it were this time")
    run.add_argument(
        "--dry-run", action="store_true", help="do everything but send; record nothing"
    )
    run.set_defaults(handler=run_once)

    plan = commands.add_parser("plan", help="which post goes out when, without network")
    plan.add_argument("--days", type=int, default=7, help="how far ahead (default 7)")
    plan.add_argument("--now", type=_moment_argument, help="plan from this time")
    plan.add_argument("--json", action="store_true", help="one JSON object a line")
    plan.set_defaults(handler=show_plan)

    history = commands.add_parser("log", help="publish history, newest first")
    history.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    history.add_argument("--post", metavar="ID", help="only this post")
    history.add_argument("--network", metavar="NAME", help="only this network (x)")
    history.add_argument(
        "--attempts", action="store_true", help="every request made, with its outcome"
    )
    history.add_argument("--json", action="store_true", help="one JSON object a line")
    history.set_defaults(handler=show_log)

    status = commands.add_parser("status", help="queue, schedule, last results")
    status.add_argument("--now", type=_moment_argument, help="as if it were this time")
    status.add_argument("--json", action="store_true", help="as one JSON object")
    status.set_defaults(handler=show_status)
    pause = commands.add_parser("pause", help="emergency stop: run publishes nothing")
    pause.add_argument("--reason", default="", help="shown by status and run")
    pause.set_defaults(handler=pause_runs)
    commands.add_parser("resume", help="undo pause").set_defaults(handler=resume_runs)
    retry = commands.add_parser("retry", help="put a post that failed for good back in line")
    retry.add_argument("id", metavar="ID")
    retry.set_defaults(handler=retry_post)

    sandbox = commands.add_parser("sandbox", help="serve a local stand-in for the X API")
    sandbox.add_argument("--port", type=int, default=8099, help="default 8099")
    sandbox.set_defaults(handler=serve_sandbox, needs_config=False)
    return parser


def _moment_argument(text: str) -> str:
    """Checked for form here; read in the config's time zone once that is known."""
    try:
        datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a time; write ISO 8601, e.g. 2026-03-29T08:05Z or '2026-03-29 09:05'"
        ) from None
    return text.strip()


def _now(args: argparse.Namespace, config: Config) -> datetime:
    """--now (no offset: the config's time zone), else the clock: the only clock reading."""
    if getattr(args, "now", None):
        moment = datetime.fromisoformat(args.now)
        return moment if moment.tzinfo else moment.replace(tzinfo=config.timezone)
    return datetime.now(UTC)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    root = (args.root or Path(os.environ.get("BOT_ROOT") or Path.cwd())).resolve()
    secrets = _Secrets(root)
    _log_to_stderr(verbose=args.verbose, secrets=secrets)
    args.secrets = secrets
    try:
        if not getattr(args, "needs_config", True):
            return int(args.handler(None, args))
        config = load_config(root, args.config)
        status: int = args.handler(config, args)
    except ConfigError as error:
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


def check(config: Config, _: argparse.Namespace) -> int:
    """One line per problem on stdout, a summary on stderr; exit 1 if any post is invalid."""
    from bot.config import config_warnings  # noqa: PLC0415
    from bot.posts import load_queue  # noqa: PLC0415

    queue = load_queue(config)
    for warning in config_warnings(config):  # shown, but no reason to fail the check
        print(warning)
    for problem in sorted(queue.problems, key=_problem_order):
        print(problem)
    valid = len(queue.posts)
    invalid = len(queue.invalid_files)
    print(
        f"{valid} post{'s' if valid != 1 else ''} valid, "
        f"{invalid} file{'s' if invalid != 1 else ''} with problems",
        file=sys.stderr,
    )
    return NEEDS_A_PERSON if queue.problems else OK


def preview_posts(config: Config, args: argparse.Namespace) -> int:
    from bot.posts import load_queue  # noqa: PLC0415

    queue = load_queue(config)
    wanted: list[str] = args.ids
    by_id = {post.id: post for post in queue.posts}
    status = OK
    posts: list[Post] = []
    for post_id in wanted or list(by_id):
        if post_id in by_id:
            posts.append(by_id[post_id])
        else:
            if not _print_problems_of(post_id, queue, config):
                queue_folder = config.shown(config.paths.queue)
                print(
                    f"interlink-bot: no post with id '{post_id}' in {queue_folder}/",
                    file=sys.stderr,
                )
            status = NEEDS_A_PERSON
    for post in posts:
        print(_describe(post, config))
        print()
    if not wanted and queue.problems:
        for problem in sorted(queue.problems, key=_problem_order):
            print(problem, file=sys.stderr)
        status = NEEDS_A_PERSON
    return status


def _print_problems_of(post_id: str, queue: Queue, config: Config) -> bool:
    shown = config.shown(config.paths.queue)
    mine = [
        problem
        for problem in queue.problems
        if problem.path.rsplit(".", 1)[0] == f"{shown}/{post_id}"
    ]
    for problem in mine:
        print(problem, file=sys.stderr)
    return bool(mine)


def _describe(post: Post, config: Config) -> str:
    from bot.formatting import DoesNotFit  # noqa: PLC0415
    from bot.posts import render_post  # noqa: PLC0415
    from bot.text import MAX_WEIGHTED_LENGTH  # noqa: PLC0415

    facts = ["approved" if post.approved else "draft (approved: false)"]
    zone = config.timezone
    for label, moment in (
        ("at", post.publish_at),
        ("not before", post.not_before),
        ("until", post.expires),
    ):
        if moment is not None:
            facts.append(f"{label} {moment.astimezone(zone):%Y-%m-%d %H:%M %Z}")
    if post.priority:
        facts.append(f"priority {post.priority}")
    lines = [f"{post.id} · {' · '.join(facts)}"]
    try:
        parts = render_post(post, config)
    except DoesNotFit as error:  # load_queue checked it; kept for a post changed since
        return f"{lines[0]}\n  does not fit: {error}"
    for number, part in enumerate(parts, start=1):
        label = f"part {number}/{len(parts)} · " if len(parts) > 1 else ""
        note = f" · shortened: {', '.join(part.shortened)}" if part.shortened else ""
        lines.append(f"  {label}{part.length}/{MAX_WEIGHTED_LENGTH}{note}")
        lines.append(textwrap.indent(part.text, "  │ ", predicate=lambda _: True))
        if number == 1 and post.image is not None:
            lines.append(f"  │ [image {config.shown(post.image.path)} · alt: {post.image.alt}]")
    return "\n".join(lines)


def _problem_order(problem: Problem) -> tuple[str, int]:
    return (problem.path, problem.line or 0)


# --- credentials and logging -------------------------------------------------------------------

CREDENTIAL_NAMES = ("X_API_KEY", "X_API_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET")


class _Secrets:
    """The credentials, from the environment or ROOT/.env (which never overrides the
    environment), read once and only when asked for."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._values: dict[str, str] | None = None

    def values(self) -> dict[str, str]:
        if self._values is None:
            from dotenv import dotenv_values  # noqa: PLC0415 - only commands that send need it

            env_file = self.root / ".env"
            from_file = dotenv_values(env_file) if env_file.is_file() else {}
            names = (*CREDENTIAL_NAMES, "X_API_BASE_URL", "NOTIFY_URLS")
            self._values = {
                name: value
                for name in names
                if (value := os.environ.get(name) or from_file.get(name) or "")
            }
        return self._values

    def endpoint(self) -> str | None:
        """X_API_BASE_URL: a rehearsal against another base URL (the sandbox), or None."""
        return self.values().get("X_API_BASE_URL") or None

    def credentials(self) -> Credentials | None:
        values = self.values()
        if not all(values.get(name) for name in CREDENTIAL_NAMES):
            return None
        from bot.publisher import Credentials  # noqa: PLC0415

        return Credentials(*(values[name] for name in CREDENTIAL_NAMES))

    def notify_urls(self, config: Config) -> list[str]:
        from bot.notify import notification_urls  # noqa: PLC0415

        return notification_urls(config.notify.urls, self.values().get("NOTIFY_URLS"))

    def redact(self, text: str) -> str:
        if self._values is None:
            return text
        for name in CREDENTIAL_NAMES:
            value = self._values.get(name)
            if value:
                text = text.replace(value, "****")
        for url in filter(None, re.split(r"[\s,]+", self._values.get("NOTIFY_URLS", ""))):
            text = text.replace(url, "****")  # each carries its target's token
        return text


class _Redacting(logging.Filter):
    def __init__(self, secrets: _Secrets) -> None:
        super().__init__()
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
        credentials=secrets.credentials,
        connect=_connect(secrets),
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


def _connect(secrets: _Secrets) -> Callable[[Credentials], Publisher]:
    def connect(credentials: Credentials) -> Publisher:
        from bot.publisher import Publisher  # noqa: PLC0415 - tweepy only when sending

        return Publisher(credentials, base_url=secrets.values().get("X_API_BASE_URL"))

    return connect


@contextmanager
def _ledger(config: Config, endpoint: str | None = None) -> Iterator[Ledger | None]:
    """The ledger if there is one (a rehearsal's, with ``endpoint``): read-only commands
    never create state/."""
    from bot.ledger import Ledger, ledger_file_name  # noqa: PLC0415

    if not (config.paths.state / ledger_file_name(endpoint)).exists():
        yield None
        return
    ledger = Ledger.open(config.paths.state, endpoint)
    try:
        yield ledger
    finally:
        ledger.close()


def _records(config: Config, endpoint: str | None = None) -> list[Record]:
    with _ledger(config, endpoint) as ledger:
        return ledger.records() if ledger else []


def show_plan(config: Config, args: argparse.Namespace) -> int:
    from bot.posts import load_queue  # noqa: PLC0415
    from bot.reports import will_not_go_out  # noqa: PLC0415
    from bot.schedule import Held, History, plan  # noqa: PLC0415

    queue = load_queue(config)
    now = _now(args, config)
    endpoint = args.secrets.endpoint()
    records = _records(config, endpoint)
    history = History(records, config)
    zone = config.timezone
    held: list[Held] = []
    entries = plan(queue.posts, history, now, config, days=args.days, held=held)
    blocked = will_not_go_out(queue, records, now, config)
    if args.json:
        for entry in entries:
            line = {
                "at": _utc(entry.at),
                "post_id": entry.post.id,
                "slot": _utc(entry.slot) if entry.slot else None,
                "networks": ["x"],
            }
            print(json.dumps(line, ensure_ascii=False))
        for item in blocked:
            print(json.dumps({"post_id": item.subject, "will_not_go_out": item.reason}))
        for kept in held:
            print(json.dumps({"post_id": kept.post.id, "held_back": kept.reason(config)}))
        return NEEDS_A_PERSON if queue.problems else OK
    if endpoint:
        print(f"{_rehearsal_mark(endpoint)}history from the rehearsal's records, not the real ones")
    for entry in entries:
        kind = "slot" if entry.slot else "at  "
        print(f"{entry.at.astimezone(zone):%a %Y-%m-%d %H:%M %Z}  {kind}  {entry.post.id}")
    if not entries:
        print(f"nothing to publish in the next {args.days} days")
    if held:
        print("held back:")
        for kept in held:
            print(f"  {kept.post.id}: {kept.reason(config)}")
    if blocked:
        print("will not go out:")
        for item in blocked:
            print(f"  {item}")
    return NEEDS_A_PERSON if queue.problems else OK


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def show_log(config: Config, args: argparse.Namespace) -> int:
    endpoint = args.secrets.endpoint()
    if args.network not in (None, "x"):
        print(f"interlink-bot: no network '{args.network}' in this deployment; use x")
        return CANNOT_RUN
    if args.attempts:
        return _show_attempts(config, args, endpoint)
    records = [r for r in _records(config, endpoint) if args.post in (None, r.post_id)]
    records = records[: args.limit]
    if endpoint and not args.json:
        print(f"{_rehearsal_mark(endpoint)}these are the rehearsal's records, not the real ones")
    for record in records:
        if args.json:
            print(json.dumps(_log_entry(record), ensure_ascii=False))
            continue
        where = f"{record.post_id}" + (f" part {record.part}" if record.part else "")
        outcome = record.tweet_url or record.error or ""
        print(
            f"{record.at:%Y-%m-%d %H:%M:%S}Z  {record.status:<9}  {record.network}  {where}  "
            f"(attempts: {record.attempts})  {outcome}".rstrip()
        )
    if not records and not args.json:
        print("nothing published yet")
    return OK


def _show_attempts(config: Config, args: argparse.Namespace, endpoint: str | None) -> int:
    with _ledger(config, endpoint) as ledger:
        attempts = ledger.attempts(args.post) if ledger else []
    attempts = attempts[: args.limit]
    if endpoint and not args.json:
        print(f"{_rehearsal_mark(endpoint)}these are the rehearsal's requests, not the real ones")
    for attempt in attempts:
        if args.json:
            entry = {
                "at": _utc(attempt.at),
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
        where = attempt.post_id + (f" part {attempt.part}" if attempt.part else "")
        answer = str(attempt.http_status) if attempt.http_status else "-"
        detail = attempt.error or ("no answer came" if attempt.outcome == "unknown" else "")
        print(
            f"{attempt.at:%Y-%m-%d %H:%M:%S}Z  {attempt.network}  {where}  {attempt.kind:<8}  "
            f"{attempt.outcome:<9}  {answer:>3}  {detail}".rstrip()
        )
    if not attempts and not args.json:
        print("no requests made yet")
    return OK


def _log_entry(record: Record) -> dict[str, object]:
    """SPEC "log --json fields"."""
    return {
        "post_id": record.post_id,
        "network": record.network,
        "part": record.part,
        "status": record.status,
        "remote_id": record.tweet_id,
        "url": record.tweet_url,
        "tweet_id": record.tweet_id,
        "tweet_url": record.tweet_url,
        "text": record.text,
        "attempts": record.attempts,
        "error": record.error,
        "at": _utc(record.at),
        "cost_usd": None,  # what X billed: recorded from the X's-bill issue on
    }


def show_status(config: Config, args: argparse.Namespace) -> int:
    from bot.ledger import FAILED, PUBLISHED, NetworkState  # noqa: PLC0415
    from bot.posts import load_queue  # noqa: PLC0415
    from bot.reports import last_results, outage, will_not_go_out  # noqa: PLC0415
    from bot.schedule import History, next_slot  # noqa: PLC0415

    queue = load_queue(config)
    now = _now(args, config)
    endpoint = args.secrets.endpoint()
    with _ledger(config, endpoint) as ledger:
        records = ledger.records() if ledger else []
        attempts = ledger.attempts() if ledger else []
        paused = ledger.paused() if ledger else None
        network = ledger.network_state() if ledger else NetworkState("x", *[None] * 5)
    history = History(records, config)
    zone = config.timezone
    credentials_set = args.secrets.credentials() is not None
    blocked = will_not_go_out(
        queue, records, now, config, network=network, credentials_set=credentials_set
    )
    minutes = getattr(getattr(config, "notify", None), "outage_minutes", None) or 60
    down = outage(network, now, minutes)
    if down:
        blocked.append(down)
    published = {r.post_id for r in records if r.part == 0 and r.status == PUBLISHED}
    failed = {r.post_id for r in records if r.status == FAILED} - published
    expired = [
        post.id
        for post in queue.posts
        if post.approved
        and post.expires
        and post.expires <= now
        and post.id not in published | failed
    ]
    approved = [
        post.id
        for post in queue.posts
        if post.approved and post.id not in published | failed and post.id not in expired
    ]
    drafts = sum(1 for post in queue.posts if not post.approved)
    upcoming = next_slot(now, config)
    today = history.published_on(now.astimezone(zone).date())
    results = last_results(records, attempts)
    held = (
        network.rate_limited_until
        if network.rate_limited_until and now < network.rate_limited_until
        else None
    )
    summary: dict[str, Any] = {
        "rehearsal": endpoint,
        "queue": {
            "approved": len(approved),
            "drafts": drafts,
            "invalid": len(queue.invalid_files),
            "published": len(published),
            "expired": len(expired),
            "failed": len(failed),
            "will_not_go_out": len(blocked),
        },
        "next_slot": _utc(upcoming) if upcoming else None,
        "today": {"published": today, "max_per_day": config.schedule.max_per_day},
        "networks": {
            "x": {
                "credentials": credentials_set,
                "last_success": _result(results.success),
                "last_error": _result(results.error),
                "rate_limited_until": _utc(held) if held else None,
                "failing_since": _utc(network.failing_since) if network.failing_since else None,
            }
        },
        "paused": {"since": _utc(paused[0]), "reason": paused[1]} if paused else None,
        "will_not_go_out": [{"subject": b.subject, "reason": b.reason} for b in blocked],
    }
    if args.json:
        _say(args, json.dumps(summary, ensure_ascii=False))
        return OK

    def when(result: tuple[datetime, str] | None) -> str:
        return f"{result[0]:%Y-%m-%d %H:%M}Z {result[1]}" if result else "none"

    counts = summary["queue"]
    lines = [
        *(
            [f"{_rehearsal_mark(endpoint)}about the rehearsal's records, not the real ones"]
            if endpoint
            else []
        ),
        f"queue: {counts['approved']} approved, {drafts} drafts, {counts['invalid']} invalid, "
        f"{counts['published']} published, {counts['expired']} expired, {counts['failed']} "
        f"failed, {counts['will_not_go_out']} will not go out",
        "next slot: "
        + (f"{upcoming.astimezone(zone):%a %Y-%m-%d %H:%M %Z}" if upcoming else "none"),
        f"today: {today} of {config.schedule.max_per_day} posts",
        f"x: last success: {when(results.success)}",
        f"x: last error: {when(results.error)}",
        "x: credentials: " + ("set" if credentials_set else "NOT SET (see README: credentials)"),
        *([f"x: rate limited until {held:%Y-%m-%d %H:%M:%S}Z"] if held else []),
        "paused: " + (f"yes, since {paused[0]:%Y-%m-%d %H:%M}Z: {paused[1]}" if paused else "no"),
    ]
    if blocked:
        lines.append("will not go out:")
        lines += [f"  {item}" for item in blocked]
    for line in lines:
        _say(args, line)
    return OK


def _result(result: tuple[datetime, str] | None) -> dict[str, str] | None:
    return {"at": _utc(result[0]), "what": result[1]} if result else None


def pause_runs(config: Config, args: argparse.Namespace) -> int:
    from bot.ledger import Ledger  # noqa: PLC0415

    ledger = Ledger.open(config.paths.state)
    try:
        ledger.pause(args.reason, _now(args, config))
    finally:
        ledger.close()
    print("paused: `run` publishes nothing until `interlink-bot resume`")
    return OK


def resume_runs(config: Config, _: argparse.Namespace) -> int:
    with _ledger(config) as ledger:
        resumed = ledger.resume() if ledger else False
    print("resumed: the next run publishes what is due" if resumed else "was not paused")
    return OK


def retry_post(config: Config, args: argparse.Namespace) -> int:
    with _ledger(config, args.secrets.endpoint()) as ledger:
        ok = ledger.retry(args.id, _now(args, config)) if ledger else False
    if not ok:
        print(
            f"interlink-bot: '{args.id}' has not failed for good; nothing to retry", file=sys.stderr
        )
        return NEEDS_A_PERSON
    print(f"{args.id} is back in line for the next run")
    return OK


def serve_sandbox(_: Config | None, args: argparse.Namespace) -> int:
    from bot.sandbox import OAuthKeys, Sandbox  # noqa: PLC0415

    # With credentials set, it checks every signature against them, as X does.
    credentials = args.secrets.credentials()
    server = Sandbox(args.port, OAuthKeys(*credentials.values()) if credentials else None)
    print(f"sandbox: a stand-in for X at {server.base_url} (page: {server.base_url}/)", flush=True)
    print(f"  X_API_BASE_URL={server.base_url} interlink-bot run   # to publish to it", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return OK
