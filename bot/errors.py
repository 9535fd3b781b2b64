"""Every error the bot reports to a person: where, what, and what to do about it."""

from __future__ import annotations

import re
from dataclasses import dataclass

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
    field: str | None = None  # the field to change (title, schedule.slots.daily), where known

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
