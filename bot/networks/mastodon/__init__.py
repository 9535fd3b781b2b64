"""Mastodon: its counting (``text``), the limits each instance sets for itself and the state
folder keeps (here), and the Mastodon.py client behind the network interface (``client``).

Cheap to import: Mastodon.py (with requests and dateutil) loads only when something is sent,
so that ``check``, ``preview`` and the quiet cron tick never pay for it.

An instance sets its own limits (``GET /api/v2/instance``: configuration.statuses.
max_characters and characters_reserved_per_url, configuration.media_attachments.
description_limit and image_size_limit). A run that may send reads them when what
``mastodon-instance.json`` keeps is older than a day or was read from another instance, before
anything is formatted; every other command counts with what was kept, offline, and says so.
A rehearsal (an instance on this machine) keeps its limits in the same file: the instance URL
recorded in it makes the next real run read its own instance's again.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot.networks.mastodon.text import DEFAULT_MAX_CHARACTERS, DEFAULT_URL_WEIGHT
from bot.networks.mastodon.text import counting as _made

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from bot.config import NetworkSettings
    from bot.networks import Counting, Network
    from bot.retries import RetryBudget

__all__ = ["COUNTING", "MAX_IMAGE_BYTES", "connect", "counting"]

log = logging.getLogger(__name__)

INSTANCE_FILE = "mastodon-instance.json"
DEFAULT_DESCRIPTION_LIMIT = 1_500  # configuration.media_attachments.description_limit (4.4)
MAX_IMAGE_BYTES = 16 * 1024 * 1024  # Mastodon 4.x's image_size_limit (MediaAttachment)
_LARGEST_FILE = 64 * 1024  # a kept limits file is a few hundred bytes: anything more is not one
# What a kept value may be; outside these the file is not taken (a hostile or broken file must
# not make every post one character long, or let them grow past any instance's limit).
BOUNDS = {
    "max_characters": (1, 1_000_000),
    "characters_reserved_per_url": (1, 10_000),
    "description_limit": (1, 1_000_000),
    "image_size_limit": (1, 10 * 1024**3),
}

COUNTING = _made(
    DEFAULT_MAX_CHARACTERS,
    DEFAULT_URL_WEIGHT,
    f"Mastodon's default limits ({DEFAULT_MAX_CHARACTERS} characters, links "
    f"{DEFAULT_URL_WEIGHT}): the instance's own are read at the first run that sends to it",
)


@dataclass(frozen=True)
class InstanceLimits:
    """An instance's limits as read from it on ``read_at`` (or Mastodon's defaults)."""

    url: str  # the instance, as MASTODON_API_BASE_URL names it (normalised)
    read_at: datetime  # UTC
    max_characters: int = DEFAULT_MAX_CHARACTERS
    characters_reserved_per_url: int = DEFAULT_URL_WEIGHT
    description_limit: int = DEFAULT_DESCRIPTION_LIMIT
    image_size_limit: int = MAX_IMAGE_BYTES

    @property
    def host(self) -> str:
        return self.url.split("://", 1)[-1].split("/", 1)[0]

    def source(self) -> str:
        return (
            f"the limits of {self.host} read {self.read_at:%Y-%m-%d %H:%M} UTC "
            f"({self.max_characters} characters, links {self.characters_reserved_per_url})"
        )

    def to_json(self) -> str:
        values: dict[str, Any] = {
            "url": self.url,
            "read_at": self.read_at.astimezone(UTC).isoformat(),
            **{name: getattr(self, name) for name in BOUNDS},
        }
        return json.dumps(values, indent=2) + "\n"


def instance_url(value: str) -> str:
    """MASTODON_API_BASE_URL as Mastodon.py reads it (https:// when it names no scheme),
    without a trailing slash: one spelling per instance in the kept file."""
    value = value.strip().rstrip("/")
    return value if value.startswith(("http://", "https://")) else f"https://{value}"


def kept_limits(state: Path) -> InstanceLimits | None:
    """The limits kept in the state folder, or None if there are none or the file is not
    one this module wrote (unreadable, malformed, values out of bounds): never an error."""
    try:
        with (state / INSTANCE_FILE).open("rb") as handle:
            raw = handle.read(_LARGEST_FILE + 1)
        if len(raw) > _LARGEST_FILE:
            return None
        data = json.loads(raw)
        if not isinstance(data, dict) or not isinstance(data.get("url"), str):
            return None
        read_at = datetime.fromisoformat(str(data["read_at"]))
        if read_at.tzinfo is None:
            return None
        values: dict[str, int] = {}
        for name, (least, most) in BOUNDS.items():
            value = data.get(name)
            if type(value) is not int or not least <= value <= most:
                return None
            values[name] = value
        return InstanceLimits(data["url"], read_at.astimezone(UTC), **values)
    except (OSError, ValueError, KeyError, TypeError, OverflowError, RecursionError):
        return None


_counted: dict[Path, tuple[tuple[int, int, int], Counting]] = {}


def counting(state: Path) -> Counting:
    """How posts are counted for Mastodon: the limits last read from the instance and kept in
    ``state``, or COUNTING. Read once per version of the file (it is asked for every post)."""
    path = state / INSTANCE_FILE
    try:
        stat = path.stat()
    except OSError:
        return COUNTING
    version = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
    cached = _counted.get(path)
    if cached is not None and cached[0] == version:
        return cached[1]
    limits = kept_limits(state)
    if limits is None:
        log.info("%s is not a limits file the bot wrote; counting with the defaults", path)
        made = COUNTING
    else:
        made = _made(limits.max_characters, limits.characters_reserved_per_url, limits.source())
    _counted[path] = (version, made)
    return made


def connect(
    variables: Mapping[str, str], budget: RetryBudget, state: Path, settings: NetworkSettings
) -> Network:
    """Mastodon's client for a run, from MASTODON_API_BASE_URL and MASTODON_ACCESS_TOKEN, with
    ``networks.mastodon``'s visibility and language; the instance's limits are refreshed in
    ``state`` when what is kept there is old or another instance's."""
    from bot.errors import CredentialsMissing  # noqa: PLC0415
    from bot.networks import entry  # noqa: PLC0415
    from bot.networks.mastodon.client import open_network  # noqa: PLC0415 - Mastodon.py

    names = entry("mastodon").credentials
    missing = [name for name in names if not (variables.get(name) or "").strip()]
    if missing:
        raise CredentialsMissing(missing, names)
    return open_network(
        api_base_url=variables["MASTODON_API_BASE_URL"],
        access_token=variables["MASTODON_ACCESS_TOKEN"],
        budget=budget,
        state=state,
        settings=settings,
    )
