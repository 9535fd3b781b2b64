"""config/bot.yaml: the deployment's settings, validated (SPEC: "config/bot.yaml").

Unknown keys are errors, so a typo is never silently ignored; every key but ``timezone`` has a
default. Relative paths resolve against ROOT.
"""

from __future__ import annotations

import difflib
import re
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import time
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.errors import ConfigError, InvalidFile, Problem
from bot.loading import read_yaml_mapping, unsafe_character
from bot.networks import DEFAULT_NETWORKS, REGISTRY

DEFAULT_TEMPLATE = "{title} — {source}: {summary} {url} {hashtags}"
PLACEHOLDERS = ("title", "source", "summary", "url", "hashtags")
VISIBILITIES = ("public", "unlisted", "private")  # Mastodon's, for a status the bot posts
DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SLOT_KEYS = ("daily", "weekdays", "weekends", *DAY_KEYS)

_TIME = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")
# X links a hashtag made of letters, digits, marks and underscores, not only digits.
_HASHTAG = re.compile(r"(?=\w*[^\W\d])[\w\u200c\u200d]+")


@dataclass(frozen=True)
class Schedule:
    # slot key (daily, weekdays, weekends, mon..sun) -> local times, sorted
    slots: dict[str, tuple[time, ...]] = field(
        default_factory=lambda: {"daily": (time(9), time(13), time(18))}
    )
    max_per_day: int = 6
    min_gap_minutes: int = 60
    grace_minutes: int = 90

    def slots_for(self, weekday: int) -> tuple[time, ...]:
        """The slot times of a day (Monday is 0): the most specific key wins."""
        for key in (DAY_KEYS[weekday], "weekends" if weekday >= 5 else "weekdays", "daily"):
            if key in self.slots:
                return self.slots[key]
        return ()


@dataclass(frozen=True)
class Format:
    template: str = DEFAULT_TEMPLATE
    hashtags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Notify:
    """SPEC "Notifications": apprise URLs (NOTIFY_URLS adds more), when an outage is worth a
    message, and the dead-man's switch fetched after every completed run."""

    urls: tuple[str, ...] = ()
    outage_minutes: int = 60
    heartbeat_url: str | None = None


@dataclass(frozen=True)
class NetworkSettings:
    """One entry of ``networks:``: an account the posts go to."""

    template: str | None = None  # instead of format.template, for this network
    # networks.x.monthly_budget_usd, in millionths of a dollar (exact sums: SPEC "X's bill")
    monthly_budget: int | None = None
    visibility: str | None = None  # networks.mastodon.visibility: public, unlisted, private
    language: str | None = None  # networks.mastodon.language: the posts' ISO 639 code


@dataclass(frozen=True)
class FeedSource:
    """One entry of ``feeds:``: a feed of the organisation's own, for `import` (SPEC "Feeds")."""

    url: str
    folder: str = "imported"  # drafts go under queue/FOLDER/YYYY/MM/
    approve: bool = False  # true: drafts are written with approved: true


def _default_networks() -> dict[str, NetworkSettings]:
    return {name: NetworkSettings() for name in DEFAULT_NETWORKS}


@dataclass(frozen=True)
class Paths:
    queue: Path
    state: Path
    media: Path


@dataclass(frozen=True)
class Config:
    root: Path
    file: Path
    timezone: ZoneInfo
    schedule: Schedule
    format: Format
    paths: Paths
    notify: Notify = field(default_factory=Notify)
    networks: dict[str, NetworkSettings] = field(default_factory=_default_networks)
    feeds: tuple[FeedSource, ...] = ()

    def shown(self, path: Path) -> str:
        """``path`` as messages show it: relative to ROOT when it lies inside."""
        return _shown(path, self.root)


def default_config_file(root: Path) -> Path:
    return root / "config" / "bot.yaml"


def load_config(root: Path, file: Path | None = None) -> Config:
    """Load and validate the config, or raise ConfigError listing every problem found."""
    root = root.resolve()
    file = (file or default_config_file(root)).resolve()
    shown = _shown(file, root)
    if not file.exists():
        raise ConfigError(
            [Problem(shown, None, "not found; create it (see README.md: 'config/bot.yaml')")]
        )
    try:
        document = read_yaml_mapping(file, shown, empty_hint="it needs at least 'timezone:'")
    except InvalidFile as error:
        raise ConfigError([error.problem]) from None
    checker = _Checker(shown, document.line)
    data = document.data
    checker.unknown_keys(
        data, ("timezone", "schedule", "format", "paths", "notify", "networks", "feeds"), ""
    )

    timezone = checker.timezone(data.get("timezone"))
    schedule = checker.schedule(data.get("schedule", {}))
    fmt = checker.format(data.get("format", {}))
    paths = checker.paths(data.get("paths", {}), root)
    notify = checker.notify(data.get("notify", {}))
    networks = checker.networks(data.get("networks"))
    feeds = checker.feeds(data.get("feeds"))
    if checker.problems or timezone is None:
        raise ConfigError(checker.problems)
    return Config(root, file, timezone, schedule, fmt, paths, notify, networks, feeds)


def config_warnings(config: Config) -> list[Problem]:
    """What is allowed but probably a mistake: for `check` to show, without failing it."""
    if not any(config.schedule.slots.values()):
        return [
            Problem(
                config.shown(config.file),
                None,
                "warning: schedule.slots has no times at all, so only posts with publish_at "
                'will ever go out; add slots, e.g. daily: ["09:00", "13:00"]',
            )
        ]
    return []


def _shown(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


class _Checker:
    """Collects every problem of one config file rather than stopping at the first."""

    def __init__(self, shown: str, line: Callable[[str], int | None]) -> None:
        self.shown = shown
        self.line = line
        self.problems: list[Problem] = []

    def problem(self, key: str, message: str) -> None:
        """``key`` is dotted (schedule.slots.daily): the message points at its line."""
        self.problems.append(Problem(self.shown, self.line(key), message, key))

    def unknown_keys(self, data: dict[Any, Any], allowed: tuple[str, ...], prefix: str) -> None:
        for key in data:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1)
                fix = f"did you mean '{close[0]}'?" if close else f"allowed: {', '.join(allowed)}"
                self.problem(f"{prefix}{key}", f"unknown key '{prefix}{key}'; {fix}")

    def mapping(self, value: object, name: str) -> dict[str, Any] | None:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.problem(name, f"'{name}' must be a mapping of settings, not {value!r}")
            return None
        return value

    def timezone(self, value: object) -> ZoneInfo | None:
        if value is None:
            self.problem("timezone", "'timezone' is required; add e.g. 'timezone: Europe/London'")
            return None
        if isinstance(value, str):
            try:
                return ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                pass
        self.problem(
            "timezone",
            f"timezone {value!r} is not an IANA time zone name; use one like 'Europe/London'",
        )
        return None

    def integer(
        self, section: str, data: dict[str, Any], key: str, default: int, least: int
    ) -> int:
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            self.problem(
                f"{section}.{key}",
                f"{section}.{key} must be a whole number of at least {least}, not {value!r}",
            )
            return default
        return value

    def schedule(self, value: object) -> Schedule:
        data = self.mapping(value, "schedule")
        if data is None:
            return Schedule()
        self.unknown_keys(
            data,
            ("slots", "max_per_day", "min_gap_minutes", "grace_minutes"),
            "schedule.",
        )
        slots = Schedule().slots
        if "slots" in data:
            slots = self.slots(data["slots"])
        return Schedule(
            slots,
            self.integer("schedule", data, "max_per_day", 6, 1),
            self.integer("schedule", data, "min_gap_minutes", 60, 0),
            self.integer("schedule", data, "grace_minutes", 90, 1),
        )

    def slots(self, value: object) -> dict[str, tuple[time, ...]]:
        if not isinstance(value, dict):
            self.problem(
                "schedule.slots",
                'schedule.slots must map days to times, e.g. daily: ["09:00", "13:00"]',
            )
            return {}
        self.unknown_keys(value, SLOT_KEYS, "schedule.slots.")
        slots: dict[str, tuple[time, ...]] = {}
        for key in SLOT_KEYS:
            if key not in value:
                continue
            times = value[key] if isinstance(value[key], list) else [value[key]]
            parsed = []
            for item in times:
                match = _TIME.fullmatch(item) if isinstance(item, str) else None
                if match is None:
                    self.problem(
                        f"schedule.slots.{key}",
                        f"schedule.slots.{key}: {item!r} is not a time; write 24-hour "
                        'times in quotes, e.g. ["09:00", "18:30"]',
                    )
                    continue
                parsed.append(time(int(match[1]), int(match[2])))
            slots[key] = tuple(sorted(set(parsed)))
        return slots

    def format(self, value: object) -> Format:
        data = self.mapping(value, "format")
        if data is None:
            return Format()
        self.unknown_keys(data, ("template", "hashtags"), "format.")
        template = self.template(data.get("template", DEFAULT_TEMPLATE), "format.template")
        if template is None:
            template = DEFAULT_TEMPLATE
        hashtags = check_hashtags(data.get("hashtags", []))
        if isinstance(hashtags, str):
            self.problem("format.hashtags", f"format.hashtags: {hashtags}")
            hashtags = ()
        return Format(template, hashtags)

    def template(self, template: object, key: str) -> str | None:
        """A valid template, or None (its problem recorded)."""
        if not isinstance(template, str):
            self.problem(key, f"{key} must be text, e.g. '{DEFAULT_TEMPLATE}'")
            return None
        if not self.template_ok(template, key):
            return None
        unsafe = unsafe_character(template, key, line_breaks=True)
        if unsafe:
            self.problem(key, unsafe)
            return None
        return template

    def networks(self, value: object) -> dict[str, NetworkSettings]:
        if value is None:
            return _default_networks()
        if isinstance(value, list) and all(isinstance(name, str) for name in value):
            value = dict.fromkeys(value)  # networks: [x, bluesky]
        data = self.mapping(value, "networks")
        if data is None:
            return _default_networks()
        if not data:
            self.problem("networks", "networks: is empty; name at least one, e.g. 'x: {}'")
            return _default_networks()
        self.unknown_keys(data, tuple(REGISTRY), "networks.")
        networks = {}
        for name, settings in data.items():
            if name not in REGISTRY:
                continue
            entry = self.mapping(settings, f"networks.{name}")
            if entry is None:
                continue
            self.unknown_keys(entry, ("template", *REGISTRY[name].settings), f"networks.{name}.")
            template = None
            if "template" in entry:
                template = self.template(entry["template"], f"networks.{name}.template")
            networks[name] = NetworkSettings(
                template,
                self.budget(entry.get("monthly_budget_usd"), f"networks.{name}"),
                self.choice(entry.get("visibility"), f"networks.{name}.visibility", VISIBILITIES),
                self.language(entry.get("language"), f"networks.{name}.language"),
            )
        return networks

    def budget(self, value: object, where: str) -> int | None:
        """``monthly_budget_usd`` in millionths of a dollar: a number of dollars, 0 or more."""
        if value is None:
            return None
        key = f"{where}.monthly_budget_usd"
        if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
            self.problem(
                key,
                f"{key} must be a number of US dollars, 0 or more (e.g. 20 or 7.50), not {value!r}",
            )
            return None
        return round(Decimal(str(value)) * 1_000_000)

    def choice(self, value: object, key: str, choices: tuple[str, ...]) -> str | None:
        if value is None:
            return None
        if value not in choices:
            self.problem(key, f"{key} must be one of {', '.join(choices)}, not {value!r}")
            return None
        return str(value)

    def language(self, value: object, key: str) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or not re.fullmatch(r"[a-z]{2,3}", value):
            self.problem(
                key, f"{key} must be an ISO 639 language code such as en or fa, not {value!r}"
            )
            return None
        return value

    def template_ok(self, template: str, key: str = "format.template") -> bool:
        allowed = ", ".join("{" + name + "}" for name in PLACEHOLDERS)
        try:
            fields = [
                (name, spec, conversion)
                for _, name, spec, conversion in string.Formatter().parse(template)
                if name is not None
            ]
        except ValueError as error:
            self.problem(key, f"{key}: {error}; write a literal brace as {{{{ or }}}}")
            return False
        for name, spec, conversion in fields:
            if name not in PLACEHOLDERS or spec or conversion:
                self.problem(key, f"{key}: unknown placeholder {{{name}}}; use {allowed}")
                return False
        # A template without {url} is allowed (SPEC: a post without a link costs $0.015 on X
        # instead of $0.20); one without any placeholder would say the same in every post.
        if not any(name for name, _, _ in fields):
            self.problem(
                key,
                f"{key} has no placeholder, so every post would read the same; use {allowed}",
            )
            return False
        return True

    def notify(self, value: object) -> Notify:
        data = self.mapping(value, "notify")
        if data is None:
            return Notify()
        self.unknown_keys(data, ("urls", "outage_minutes", "heartbeat_url"), "notify.")
        urls = data.get("urls", [])
        if isinstance(urls, str):
            urls = [urls]
        if not isinstance(urls, list) or not all(isinstance(u, str) and u.strip() for u in urls):
            self.problem(
                "notify.urls",
                'notify.urls must be a list of apprise URLs, e.g. ["mailto://…"]; put URLs '
                "with tokens in NOTIFY_URLS in .env instead",
            )
            urls = []
        heartbeat = data.get("heartbeat_url")
        if heartbeat is not None and not (
            isinstance(heartbeat, str) and re.fullmatch(r"https?://\S+", heartbeat.strip())
        ):
            self.problem(
                "notify.heartbeat_url",
                "notify.heartbeat_url must be a web address (https://…), fetched after every run",
            )
            heartbeat = None
        return Notify(
            tuple(url.strip() for url in urls),
            self.integer("notify", data, "outage_minutes", 60, 1),
            heartbeat.strip() if isinstance(heartbeat, str) else None,
        )

    def feeds(self, value: object) -> tuple[FeedSource, ...]:
        if value is None:
            return ()
        example = "e.g. '- url: https://example.org/feed/'"
        if not isinstance(value, list):
            self.problem("feeds", f"feeds must be a list of feeds, each with a url, {example}")
            return ()
        feeds = []
        for number, given in enumerate(value):
            key, label = f"feeds.{number}", f"feeds: feed {number + 1}"  # key: for the line
            item = {"url": given} if isinstance(given, str) else given
            if not isinstance(item, dict):
                self.problem(key, f"{label} must be a mapping with a url, {example}, not {item!r}")
                continue
            self.unknown_keys(item, ("url", "folder", "approve"), f"{key}.")
            url = item.get("url")
            if not (isinstance(url, str) and re.fullmatch(r"https?://\S+", url.strip())):
                self.problem(
                    f"{key}.url", f"{label}: url must be the feed's web address (https://…/feed/)"
                )
                continue
            folder = item.get("folder", FeedSource.folder)
            if not self.queue_folder(folder, f"{key}.folder", label):
                continue
            approve = item.get("approve", False)
            if not isinstance(approve, bool):
                self.problem(f"{key}.approve", f"{label}: approve must be true or false")
                continue
            feeds.append(FeedSource(url.strip(), folder.strip("/"), approve))
        return tuple(feeds)

    def queue_folder(self, folder: object, key: str, label: str) -> bool:
        if not (isinstance(folder, str) and is_queue_folder(folder)):
            self.problem(
                key,
                f"{label}: folder must be a folder under queue/ such as imported or "
                f"drafts/feed, not {folder!r}",
            )
            return False
        return True

    def paths(self, value: object, root: Path) -> Paths:
        data = self.mapping(value, "paths") or {}
        self.unknown_keys(data, ("queue", "state", "media"), "paths.")
        resolved = {}
        for key in ("queue", "state", "media"):
            item = data.get(key, key)
            if not isinstance(item, str) or not item:
                self.problem(f"paths.{key}", f"paths.{key} must be a folder name, not {item!r}")
                item = key
            resolved[key] = (root / item).resolve()
        return Paths(**resolved)


def is_queue_folder(folder: str) -> bool:
    """``folder`` names a folder under queue/ as a relative path of plain names (``imported``,
    ``drafts/feed``): drafts written there never land outside the queue."""
    parts = folder.strip("/").split("/")
    return all(re.fullmatch(r"\w[\w.-]*", part) for part in parts)


def check_hashtags(value: object) -> tuple[str, ...] | str:
    """The hashtags of a list like ``[MEK, Iran]``, or what is wrong with it."""
    if value is None:
        return ()
    if not isinstance(value, list):
        return f"must be a list like [MEK, Iran], not {value!r}"
    tags = []
    for item in value:
        if not isinstance(item, str | int) or isinstance(item, bool):
            return f"{item!r} is not a hashtag; write words like [MEK, Iran]"
        tag = str(item)
        unsafe = unsafe_character(tag, "a hashtag")
        if unsafe:
            return unsafe
        if tag.startswith("#"):
            return f"write hashtags without '#': {tag[1:]!r}, not {tag!r}"
        if not _HASHTAG.fullmatch(tag):
            return f"{tag!r} is not a hashtag; X links one word of letters, digits or _"
        tags.append(tag)
    return tuple(tags)
