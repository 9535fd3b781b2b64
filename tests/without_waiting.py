"""``python -m bot`` for the tests' subprocesses, except that waiting returns at once.

A child process cannot be handed the injected sleep that in-process tests use, so this stands
in for ``python -m bot``: it replaces ``time.sleep`` before the bot is imported (the publisher
binds its default sleep when it is imported), so a run that backs off between retries does
its attempts without waiting for real. Everything else is the real entry point.
"""

import sys
import time
from typing import SupportsIndex


def _no_wait(seconds: float | SupportsIndex) -> None:
    """Return at once, however long the bot asked to wait."""


time.sleep = _no_wait

from bot.start import main  # noqa: E402  (after time.sleep is replaced, on purpose)

sys.exit(main())
