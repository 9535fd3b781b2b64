"""X (Twitter): twitter-text counting (``text``), tweepy and the v2 media upload (``client``),
the interface the runner calls (``network``), and a local stand-in for X's API (``sandbox``).
Only ``COUNTING`` is cheap to import: the rest loads when something is sent."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.networks import Counting
from bot.networks.x.prices import PRICES
from bot.networks.x.text import (
    MAX_WEIGHTED_LENGTH,
    prefix_lengths,
    weighted_length,
    weighted_length_at_most,
)

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from bot.config import NetworkSettings
    from bot.networks import Network
    from bot.retries import RetryBudget

__all__ = ["COUNTING", "MAX_IMAGE_BYTES", "PRICES", "connect"]

MAX_IMAGE_BYTES = 5 * 1024 * 1024  # X's v2 media upload: images up to 5 MB

# X's weighted length (twitter-text v3: URLs 23, CJK and emoji 2).
COUNTING = Counting(MAX_WEIGHTED_LENGTH, weighted_length, weighted_length_at_most, prefix_lengths)


def connect(
    variables: Mapping[str, str], budget: RetryBudget, state: Path, settings: NetworkSettings
) -> Network:
    """X's client for a run, from X_API_KEY… (and X_API_BASE_URL for a rehearsal);
    CredentialsMissing names the ones not set. X keeps nothing in ``state``; its
    ``settings`` (a budget) are the runner's to apply."""
    del state, settings
    from bot.errors import CredentialsMissing  # noqa: PLC0415
    from bot.networks import entry  # noqa: PLC0415
    from bot.networks.x.client import Credentials, Publisher  # noqa: PLC0415 - tweepy
    from bot.networks.x.network import XNetwork  # noqa: PLC0415

    names = entry("x").credentials
    missing = [name for name in names if not variables.get(name)]
    if missing:
        raise CredentialsMissing(missing, names)
    credentials = Credentials(*(variables[name] for name in names))
    return XNetwork(Publisher(credentials, base_url=variables.get("X_API_BASE_URL")), budget)
