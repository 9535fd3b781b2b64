"""Bluesky (the AT Protocol): its counting and facets (``text``), and the atproto client behind
the network interface (``client``). Only ``COUNTING`` is cheap to import: the atproto SDK takes
about 0.6 s and loads only when something goes to Bluesky."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.networks.bluesky.text import COUNTING

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from bot.config import NetworkSettings
    from bot.networks import Network
    from bot.retries import RetryBudget

__all__ = ["COUNTING", "MAX_IMAGE_BYTES", "connect"]

DEFAULT_SERVICE = "https://bsky.social"
MAX_IMAGE_BYTES = (
    2_000_000  # app.bsky.embed.images#image: image maxSize (1,000,000 in older lexicons)
)


def connect(
    variables: Mapping[str, str], budget: RetryBudget, state: Path, settings: NetworkSettings
) -> Network:
    """Bluesky's client for a run, from BLUESKY_HANDLE and BLUESKY_APP_PASSWORD (and
    BLUESKY_SERVICE, the account's PDS); its session is kept in ``state``. It has no
    ``settings`` beyond its template."""
    del settings
    from bot.errors import CredentialsMissing  # noqa: PLC0415
    from bot.networks import entry  # noqa: PLC0415
    from bot.networks.bluesky.client import BlueskyNetwork  # noqa: PLC0415 - the atproto SDK

    names = entry("bluesky").credentials
    missing = [name for name in names if not variables.get(name)]
    if missing:
        raise CredentialsMissing(missing, names)
    from bot.networks import stand_ins  # noqa: PLC0415

    service = variables.get("BLUESKY_SERVICE") or DEFAULT_SERVICE
    # A rehearsal's session (a PDS on this machine) never takes the real one's place.
    rehearsal = bool(stand_ins({"BLUESKY_SERVICE": service}))
    return BlueskyNetwork(
        service=service,
        handle=variables["BLUESKY_HANDLE"],
        password=variables["BLUESKY_APP_PASSWORD"],
        session_file=state / ("bluesky-session.rehearsal" if rehearsal else "bluesky-session"),
        budget=budget,
    )
