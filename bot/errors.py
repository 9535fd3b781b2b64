"""Every error the bot reports to a person: where, what, and what to do about it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

UNSAFE_CHARACTERS = "\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
"""C0 and C1 controls, and the bidirectional embeddings, overrides and isolates: never part of
the text people read (bot.loading refuses them in posts; a message shows them escaped)."""
_UNSAFE = re.compile(f"[{UNSAFE_CHARACTERS}]")


def printable(text: str) -> str:
    """``text`` with each control or bidirectional character written as its escape (``\\x1b``,
    ``\\u202e``): shown to people, never obeyed by their terminal."""
    return _UNSAFE.sub(lambda found: found[0].encode("unicode_escape").decode(), text)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one file, printed as ``PATH:LINE: message``.

    What it holds is safe to print however it is printed (text, JSON, annotations, a
    notification): the message is one line, and a file name or a field name that carries an
    escape sequence is shown escaped, never obeyed."""

    path: str
    line: int | None
    message: str
    field: str | None = None  # the field it is about, where known (check --format json)

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", printable(self.path))
        object.__setattr__(self, "message", printable(" ".join(self.message.split())))

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: {self.message}"


class BotError(Exception):
    """Base of the bot's own errors; the message is meant for the person at the terminal."""


class InvalidFile(BotError):
    """A file the bot reads (a post, the config) cannot be used as it is."""

    def __init__(self, problem: Problem, *more: Problem) -> None:
        super().__init__("\n".join(map(str, (problem, *more))))
        self.problem = problem  # the first
        self.problems = (problem, *more)  # every problem found, each on its own line


class ConfigError(BotError):
    """config/bot.yaml is missing or wrong: the bot cannot run at all."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(map(str, problems)))
        self.problems = problems


class CredentialsMissing(BotError):
    """Some of a network's credentials are not set (neither in the environment nor .env)."""

    def __init__(self, missing: list[str], every: tuple[str, ...]) -> None:
        names = " and ".join(
            [", ".join(missing[:-1]), missing[-1]] if len(missing) > 1 else missing
        )
        verb = "is" if len(missing) == 1 else "are"
        others = (
            ""
            if len(missing) == len(every)
            else f" (the other {len(every) - len(missing)} are set)"
        )
        super().__init__(
            f"credentials are not set: {names} {verb} missing{others}; put "
            f"{'it' if len(missing) == 1 else 'them'} in .env or the environment "
            "(see README: credentials)"
        )
        self.missing = missing


class LedgerError(BotError):
    """The ledger file cannot be opened as a ledger: corrupt, not a database, unreadable."""

    def __init__(self, file: Path, error: Exception) -> None:
        super().__init__(
            f"{file}: cannot be opened as the bot's ledger ({error}). Restore it from a backup "
            "(see README: the ledger); do not just delete it: without it the bot no longer "
            "knows what it published and would publish it again"
        )


class StateFolderError(BotError):
    """The state folder cannot be made or used (a file in its place, no permission)."""

    def __init__(self, folder: Path, error: OSError) -> None:
        if folder.exists() and not folder.is_dir():
            fix = "it is a file: move it aside, or set paths.state to a folder"
        else:
            fix = f"{error.strerror or error}: let the bot's user create and write it"
        super().__init__(f"{folder}: the state folder cannot be used; {fix}")
