"""Every error the bot reports to a person: where, what, and what to do about it."""

from __future__ import annotations

import re
from dataclasses import dataclass

UNSAFE_CHARACTERS = "\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
"""C0 and C1 controls, and the bidirectional embeddings, overrides and isolates: never part of
the text people read (bot.loading refuses them in posts; a message shows them escaped)."""
_UNSAFE = re.compile(f"[{UNSAFE_CHARACTERS}]")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one file, printed as ``PATH:LINE: message``."""

    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        line = f"{where}: {' '.join(self.message.split())}"  # always exactly one line
        # A file name or a field name can carry an escape sequence too: shown, never obeyed.
        return _UNSAFE.sub(lambda found: found[0].encode("unicode_escape").decode(), line)


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
