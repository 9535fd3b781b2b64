"""X (Twitter): twitter-text counting (``text``), tweepy and the v2 media upload (``client``),
the interface the runner calls (``network``), and a local stand-in for X's API (``sandbox``).
Only ``measure`` is cheap to import: the rest loads when something is sent."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.networks.x.text import weighted_length as measure

if TYPE_CHECKING:
    from collections.abc import Mapping

    from bot.networks import Network
    from bot.retries import RetryBudget

__all__ = ["connect", "measure"]


def connect(variables: Mapping[str, str], budget: RetryBudget) -> Network:
    """X's client for a run, from X_API_KEY… (and X_API_BASE_URL for a rehearsal);
    CredentialsMissing names the ones not set."""
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
