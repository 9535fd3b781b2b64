"""config/bot.yaml (SPEC: "config/bot.yaml")."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import time

import pytest

from bot.config import load_config
from bot.errors import ConfigError
from tests.conftest import Deployment, Result

# Every test here runs with each of PyYAML's safe loaders: libyaml's, and the pure-Python one
# that platforms without libyaml fall back to (conftest.yaml_loader).
pytestmark = pytest.mark.usefixtures("yaml_loader")


def problems(site: Deployment, content: str) -> list[str]:
    site.write("config/bot.yaml", content)
    with pytest.raises(ConfigError) as caught:
        load_config(site.root)
    return [str(problem) for problem in caught.value.problems]


def test_defaults_need_only_a_timezone(deployment: Deployment) -> None:
    config = load_config(deployment.root)
    assert config.timezone.key == "Europe/London"
    assert config.schedule.slots_for(0) == (time(9), time(13), time(18))
    assert config.schedule.max_per_day == 6
    assert config.paths.queue == (deployment.root / "queue").resolve()


def test_most_specific_slot_key_wins(deployment: Deployment) -> None:
    deployment.write(
        "config/bot.yaml",
        "timezone: Europe/London\nschedule:\n  slots:\n    daily: ['09:00']\n"
        "    weekends: ['10:00']\n    sun: [11:00, '12:30']\n",
    )
    schedule = load_config(deployment.root).schedule
    assert schedule.slots_for(0) == (time(9),)
    assert schedule.slots_for(5) == (time(10),)
    assert schedule.slots_for(6) == (time(11), time(12, 30))


def test_missing_timezone(deployment: Deployment) -> None:
    assert problems(deployment, "schedule: {}\n") == [
        "config/bot.yaml: 'timezone' is required; add e.g. 'timezone: Europe/London'"
    ]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            "timezone: Europe/Londn\n",
            "config/bot.yaml:1: timezone 'Europe/Londn' is not an IANA time zone name",
        ),
        (
            "timezone: ../../etc/passwd\n",
            "config/bot.yaml:1: timezone '../../etc/passwd' is not an IANA",
        ),
        (
            "timezone: UTC\nshedule: {}\n",
            "config/bot.yaml:2: unknown key 'shedule'; did you mean 'schedule'?",
        ),
        (
            "timezone: UTC\nschedule:\n  slots:\n    daily: ['25:00']\n",
            "config/bot.yaml:4: schedule.slots.daily: '25:00' is not a time",
        ),
        (
            "timezone: UTC\nschedule:\n  slots:\n    weekday: ['09:00']\n",
            "config/bot.yaml:4: unknown key 'schedule.slots.weekday'; did you mean 'weekdays'?",
        ),
        (
            "timezone: UTC\nschedule:\n  max_per_day: 0\n",
            "config/bot.yaml:3: schedule.max_per_day must be a whole number of at least 1, not 0",
        ),
        (
            "timezone: UTC\nformat:\n  template: '{title} {link}'\n",
            "config/bot.yaml:3: format.template: unknown placeholder {link}",
        ),
        (
            "timezone: UTC\nformat:\n  template: 'News of the day'\n",
            "config/bot.yaml:3: format.template has no placeholder, so every post would read "
            "the same; use {title}, {source}, {summary}, {url}, {hashtags}",
        ),
        (
            "timezone: UTC\nformat:\n  hashtags: ['#MEK']\n",
            "config/bot.yaml:3: format.hashtags: write hashtags without '#'",
        ),
        ("timezone: [UTC\n", "config/bot.yaml:2: invalid YAML"),
    ],
)
def test_config_problems(deployment: Deployment, content: str, expected: str) -> None:
    found = problems(deployment, content)
    assert len(found) == 1, found
    assert found[0].startswith(expected)


def test_every_problem_is_reported_at_once(deployment: Deployment) -> None:
    found = problems(deployment, "timezone: Nowhere\nschedule:\n  max_per_day: x\nformats: {}\n")
    assert len(found) == 3


@pytest.mark.parametrize("depth", [65, 2_000, 50_000])
def test_deeply_nested_config(deployment: Deployment, yaml_loader: str, depth: int) -> None:
    nested = "timezone: Europe/London\nformat:\n  hashtags: " + "[" * depth + "]" * depth + "\n"
    assert problems(deployment, nested) == [
        "config/bot.yaml:3: is nested more than 64 levels deep; a post or config has two or three"
    ]


def test_missing_config_file(deployment: Deployment) -> None:
    (deployment.root / "config" / "bot.yaml").unlink()
    with pytest.raises(ConfigError, match=r"config/bot.yaml: not found; create it"):
        load_config(deployment.root)


def test_a_config_without_any_slot_is_a_warning_not_an_error(
    deployment: Deployment, cli: Callable[..., Result]
) -> None:
    deployment.write(
        "config/bot.yaml", "timezone: Europe/London\nschedule:\n  slots: {daily: []}\n"
    )
    deployment.post("a", "title: A\nurl: https://example.org/a\napproved: true\n")
    result = cli("--root", deployment.root, "check")
    assert result.status == 0
    assert result.out.splitlines() == [
        "config/bot.yaml: warning: schedule.slots has no times at all, so only posts with "
        'publish_at will ever go out; add slots, e.g. daily: ["09:00", "13:00"]'
    ]
    status = cli("--root", deployment.root, "status", "--now", "2026-01-05T10:00Z").out
    assert "  a: no slots are configured (schedule.slots), so it has no time to go out" in status


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            'timezone: UTC\nformat:\n  template: "\\x1b[1m{title}\\x1b[0m {url}"\n',
            "config/bot.yaml:3: format.template holds U+001B (escape), a control character",
        ),
        (
            'timezone: UTC\nformat:\n  hashtags: ["MEK\\u202e"]\n',
            "config/bot.yaml:3: format.hashtags: a hashtag holds U+202E (RIGHT-TO-LEFT "
            "OVERRIDE), a bidirectional control",
        ),
    ],
)
def test_control_characters_are_refused_in_what_the_config_adds_to_posts(
    deployment: Deployment, content: str, expected: str
) -> None:
    (found,) = problems(deployment, content)
    assert found.startswith(expected)
    assert found.endswith("remove it") or "; remove it" in found


def test_a_template_may_keep_its_line_breaks(deployment: Deployment) -> None:
    deployment.write("config/bot.yaml", 'timezone: UTC\nformat:\n  template: "{title}\\n{url}"\n')
    assert load_config(deployment.root).format.template == "{title}\n{url}"


def test_each_config_problem_names_its_field(deployment: Deployment) -> None:
    deployment.write("config/bot.yaml", "timezone: Nowhere\nschedule:\n  max_per_day: x\n")
    with pytest.raises(ConfigError) as caught:
        load_config(deployment.root)
    assert [problem.field for problem in caught.value.problems] == [
        "timezone",
        "schedule.max_per_day",
    ]


def test_a_template_without_url_makes_posts_without_their_link(
    deployment: Deployment, cli: Callable[..., Result]
) -> None:
    # SPEC: a template without {url} is allowed; on X such a post costs $0.015, not $0.20.
    deployment.write(
        "config/bot.yaml", "timezone: UTC\nformat:\n  template: '{title}: {summary}'\n"
    )
    deployment.post(
        "a",
        "title: Court date set\nurl: https://example.org/court\nsummary: The trial opens Monday.\n"
        "approved: true\n",
    )
    assert cli("--root", deployment.root, "check").status == 0
    preview = cli("--root", deployment.root, "preview", "a").out
    assert "Court date set: The trial opens Monday." in preview
    assert "example.org" not in preview


# --- networks: (SPEC "config/bot.yaml": where posts go; issue 11) ----------------------------


def test_networks_default_to_x_and_a_typo_names_the_known_ones(deployment: Deployment) -> None:
    assert list(load_config(deployment.root).networks) == ["x"]
    assert problems(deployment, "timezone: Europe/London\nnetworks:\n  twiter: {}\n") == [
        "config/bot.yaml:3: unknown key 'networks.twiter'; allowed: x, bluesky, mastodon"
    ]
    assert problems(deployment, "timezone: Europe/London\nnetworks: {}\n") == [
        "config/bot.yaml:2: networks: is empty; name at least one, e.g. 'x: {}'"
    ]
    assert problems(
        deployment, "timezone: Europe/London\nnetworks:\n  x:\n    template: '{titel}'\n"
    ) == [
        "config/bot.yaml:4: networks.x.template: unknown placeholder {titel}; use {title}, "
        "{source}, {summary}, {url}, {hashtags}"
    ]


def test_a_network_template_is_what_goes_out_on_that_network(
    deployment: Deployment, cli: Callable[..., Result]
) -> None:
    deployment.write(
        "config/bot.yaml",
        "timezone: Europe/London\nnetworks:\n  x:\n    template: '{title} {url}'\n",
    )
    deployment.post(
        "a",
        "title: Story\nsource: Outlet\nsummary: Words.\nurl: https://example.org/a\n"
        "approved: true\n",
    )
    shown = cli("--root", deployment.root, "preview", "a").out.splitlines()
    assert shown[1:] == [
        "  29/280",
        "  │ Story https://example.org/a",
        "  X cost: $0.200; $0.015 without the link (a networks.x.template without {url})",
    ]


def test_a_post_names_its_networks_among_the_configured_ones(
    deployment: Deployment, cli: Callable[..., Result]
) -> None:
    deployment.write(
        "config/bot.yaml", "timezone: Europe/London\nnetworks:\n  x: {}\n  bluesky: {}\n"
    )
    deployment.post(
        "only-bluesky",
        "title: Story\nurl: https://example.org/a\napproved: true\nnetworks: [bluesky]\n",
    )
    deployment.post(
        "typo", "title: Story\nurl: https://example.org/b\napproved: true\nnetworks: [mastodon]\n"
    )
    checked = cli("--root", deployment.root, "check")
    assert checked.status == 1
    assert checked.out.splitlines() == [
        "queue/typo.yaml:4: networks: 'mastodon' is not one of the networks in config/bot.yaml "
        "(x, bluesky); use those names, or add it under networks: there"
    ]
    shown = cli("--root", deployment.root, "preview", "only-bluesky").out.splitlines()
    assert shown[1:] == ["  Bluesky · 27/300", "  │ Story https://example.org/a"]
    deployment.post("both", "title: Both\nurl: https://example.org/c\napproved: true\n")
    planned = cli("--root", deployment.root, "plan", "--days", "1", "--now", "2026-01-05 08:00")
    assert planned.out.splitlines()[:2] == [
        "Mon 2026-01-05 09:00 GMT  slot  both  → x, bluesky",
        "Mon 2026-01-05 13:00 GMT  slot  only-bluesky  → bluesky",
    ]
    lines = [
        json.loads(line)
        for line in cli(
            "--root", deployment.root, "plan", "--days", "1", "--now", "2026-01-05 08:00", "--json"
        ).out.splitlines()
    ]
    assert [line.get("networks") for line in lines[:2]] == [["x", "bluesky"], ["bluesky"]]


def test_preview_shows_each_network_against_its_own_limit_and_what_does_not_fit_where(
    deployment: Deployment, cli: Callable[..., Result]
) -> None:
    deployment.write(
        "config/bot.yaml", "timezone: Europe/London\nnetworks:\n  x: {}\n  bluesky: {}\n"
    )
    # X counts every link 23; Bluesky shows it as written: 200 characters and a link of 120 are
    # 200 + 23 = 223 on X, 200 + 120 = 320 on Bluesky ('text' is sent as written, never cut).
    link = "https://example.org/" + "a" * 100
    deployment.post("long", f"text: '{'word ' * 40}{link}'\napproved: true\n")
    deployment.post("both", "title: Story\nurl: https://example.org/a\napproved: true\n")
    shown = cli("--root", deployment.root, "preview", "both").out.splitlines()
    assert shown[1:] == [
        "  X · 29/280",
        "  │ Story https://example.org/a",
        "  X · cost: $0.200; $0.015 without the link (a networks.x.template without {url})",
        "  Bluesky · 27/300",
        "  │ Story https://example.org/a",
    ]
    checked = cli("--root", deployment.root, "check")
    assert checked.out.splitlines() == [
        "queue/long.yaml:1: does not fit on Bluesky: text is 320/300; it is sent as written, "
        "so cut it by 20"
    ]


def test_check_names_an_image_too_large_for_bluesky_and_how_to_send_it_anyway(
    deployment: Deployment, cli: Callable[..., Result]
) -> None:
    deployment.write(
        "config/bot.yaml", "timezone: Europe/London\nnetworks:\n  x: {}\n  bluesky: {}\n"
    )
    deployment.write("media/big.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 2_500_000)  # < 5 MB for X
    image = "image: {path: media/big.png, alt: A chart}\n"
    deployment.post("both", "title: A\nurl: https://example.org/a\napproved: true\n" + image)
    deployment.post(
        "x-only",
        "title: B\nurl: https://example.org/b\napproved: true\nnetworks: [x]\n" + image,
    )
    checked = cli("--root", deployment.root, "check")
    assert checked.status == 1
    assert checked.out.splitlines() == [
        "queue/both.yaml:4: image 'media/big.png' is 2,500,008 bytes; Bluesky takes at most "
        "2,000,000: make it smaller, or leave Bluesky out: networks: [x]"
    ]
