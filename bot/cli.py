"""The ``interlink-bot`` command: a thin layer over the library (SPEC: "Commands").

Only this module prints, exits or reads the environment. Exit statuses: 0 all went well;
1 something needs a person (an invalid queue file, a failed publish); 2 the bot could not run
at all (usage, config).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import textwrap
import traceback
from collections.abc import Sequence
from pathlib import Path

from bot.config import Config, load_config
from bot.errors import BotError, ConfigError, Problem
from bot.formatting import DoesNotFit
from bot.posts import Post, Queue, load_queue, render_post
from bot.text import MAX_WEIGHTED_LENGTH

OK, NEEDS_A_PERSON, CANNOT_RUN = 0, 1, 2

log = logging.getLogger("bot")


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
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser(
        "check", help="validate the config and every queue file, offline"
    ).set_defaults(handler=check)
    preview = commands.add_parser(
        "preview", help="print each post exactly as it will be published, with its length"
    )
    preview.add_argument("ids", nargs="*", metavar="ID", help="post ids (default: all)")
    preview.set_defaults(handler=preview_posts)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    root = args.root or Path(os.environ.get("BOT_ROOT") or Path.cwd())
    try:
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
            traceback.print_exc()
        print(
            f"interlink-bot: internal error: {type(error).__name__}: {error} "
            "(please report it; -v shows the traceback)",
            file=sys.stderr,
        )
        return NEEDS_A_PERSON
    return status


def check(config: Config, _: argparse.Namespace) -> int:
    """One line per problem on stdout, a summary on stderr; exit 1 if any post is invalid."""
    queue = load_queue(config)
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
