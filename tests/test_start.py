"""bot.start: a cron run with nothing to do ends early, and any change sends it the full way."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.networks.x.client import Credentials, Publisher
from bot.networks.x.sandbox import Sandbox
from bot.start import quiet_run
from tests.conftest import Deployment, Result, environment, titles_on
from tests.test_run import CONFIG, post, tick

Connect = Callable[[Credentials], Publisher]
BETWEEN_SLOTS = datetime(2026, 1, 5, 11, 0, tzinfo=UTC)  # slots at 09:00 and 13:00


@pytest.fixture
def site(deployment: Deployment) -> Deployment:
    deployment.write("config/bot.yaml", CONFIG)
    deployment.post("a", post("Story one"))
    deployment.post("later", post("Timed story", publish_at="2026-01-05T12:00Z"))
    return deployment


def quiet(site: Deployment, at: datetime) -> tuple[int, list[str]] | None:
    """(exit status, problems repeated) of the short way, or None if it does not apply."""
    argv = ["--root", str(site.root), "run", "--now", at.isoformat()]
    result = quiet_run(argv, {}, 0.0)
    return result[:2] if result else None


def settle(site: Deployment, connect: Connect) -> None:
    """A full run between slots, which finds nothing due and leaves the quiet marker."""
    report = tick(site, connect, BETWEEN_SLOTS)
    assert report.done == []


def touch_later(path: Path) -> None:
    info = path.stat()
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000_000))


def test_a_run_with_nothing_due_ends_early_until_the_next_moment_something_could_be_due(
    site: Deployment, emulator: Sandbox, connect: Connect
) -> None:
    settle(site, connect)
    assert quiet(site, datetime(2026, 1, 5, 11, 30, tzinfo=UTC)) == (0, [])
    # The earliest publish_at (12:00) ends the quiet window, before the 13:00 slot.
    assert quiet(site, datetime(2026, 1, 5, 12, 0, tzinfo=UTC)) is None
    assert quiet(site, datetime(2026, 1, 5, 10, 59, tzinfo=UTC)) is None  # before it began
    assert emulator.state.requests == []


def test_only_a_plain_run_takes_the_short_way(site: Deployment, connect: Connect) -> None:
    settle(site, connect)
    at = "2026-01-05T11:30:00+00:00"
    root = str(site.root)
    assert quiet_run(["--root", root, "run", "--now", at], {}, 0.0) == (0, [], None)
    assert quiet_run(["--root", root, "run", "--now", "2026-01-05 11:30"], {}, 0.0) is None
    assert quiet_run(["--root", root, "-v", "run", "--now", at], {}, 0.0) is None
    assert quiet_run(["--root", root, "run", "--dry-run", "--now", at], {}, 0.0) is None
    assert quiet_run(["--root", root, "status"], {}, 0.0) is None
    assert quiet_run(["run", "--now", at], {"BOT_ROOT": root}, 0.0) == (0, [], None)


@pytest.mark.parametrize(
    "change",
    [
        "edit a post",
        "add a post",
        "remove a post",
        "touch the config",
        "pause",
        "add a folder",
    ],
)
def test_any_change_sends_the_next_run_the_full_way(
    site: Deployment, connect: Connect, cli: Callable[..., Result], change: str
) -> None:
    settle(site, connect)
    at = datetime(2026, 1, 5, 11, 30, tzinfo=UTC)
    assert quiet(site, at) == (0, [])
    queue = site.root / "queue"
    if change == "edit a post":
        touch_later(queue / "a.yaml")
    elif change == "add a post":
        site.post("new", post("New story"))
    elif change == "remove a post":
        (queue / "later.yaml").unlink()
    elif change == "touch the config":
        touch_later(site.root / "config" / "bot.yaml")
    elif change == "pause":
        assert cli("--root", site.root, "pause").status == 0
    elif change == "add a folder":
        (queue / "2027").mkdir()
    assert quiet(site, at) is None


def test_an_edit_between_slots_is_acted_on_by_the_next_run(
    site: Deployment, emulator: Sandbox, connect: Connect
) -> None:
    settle(site, connect)
    # An editor moves the timed post forward to 11:15; the 11:20 run must see it.
    site.post("later", post("Timed story", publish_at="2026-01-05T11:15Z"))
    assert quiet(site, datetime(2026, 1, 5, 11, 20, tzinfo=UTC)) is None
    tick(site, connect, datetime(2026, 1, 5, 11, 20, tzinfo=UTC))
    assert titles_on(emulator) == ["Timed story"]


def test_problems_are_told_once_then_repeated_with_status_0(
    site: Deployment, connect: Connect
) -> None:
    site.post("broken", "title: [\n")
    report = tick(site, connect, BETWEEN_SLOTS)
    assert report.problems == [
        "queue/broken.yaml:2: invalid YAML: did not find expected node content; fix the syntax "
        "(put text containing ': ' or starting with a special character in quotes)"
    ]
    # Told by the run that found it (exit 1, one cron mail); later runs only repeat it.
    assert quiet(site, datetime(2026, 1, 5, 11, 30, tzinfo=UTC)) == (0, report.problems)


def test_a_run_that_found_work_leaves_no_marker(site: Deployment, connect: Connect) -> None:
    tick(site, connect, datetime(2026, 1, 5, 9, 5, tzinfo=UTC))  # publishes for the 09:00 slot
    assert quiet(site, datetime(2026, 1, 5, 9, 10, tzinfo=UTC)) is None
    tick(site, connect, datetime(2026, 1, 5, 9, 10, tzinfo=UTC))  # slot served: quiet now
    assert quiet(site, datetime(2026, 1, 5, 9, 15, tzinfo=UTC)) == (0, [])


@pytest.mark.parametrize(
    "instance",
    [
        None,
        # A deployment's real instance is a credential, always set: it is no rehearsal, and
        # must not send every tick the full way (only one on this machine is a stand-in).
        "https://mastodon.example.org",
    ],
)
def test_the_entry_point_ends_a_quiet_run_without_the_full_program(
    site: Deployment, emulator: Sandbox, connect: Connect, instance: str | None
) -> None:
    settle(site, connect)
    # A fresh interpreter, as cron starts it: the short way must not even load the full
    # program (bot.cli, YAML), nor what the error classes cost (dataclasses pulls in inspect
    # and ast: 8 ms of a 50 ms tick), which is what makes a quiet run cheap.
    probe = (
        "import sys; from bot.start import main; "
        "status = main(sys.argv[1:]); "
        "print(status, *(name in sys.modules for name in ('bot.cli', 'yaml', 'dataclasses')))"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            probe,
            "--root",
            str(site.root),
            "run",
            "--now",
            "2026-01-05T11:30Z",
        ],
        # The real account's ledger: without X_API_BASE_URL (a rehearsal has its own).
        env={
            **{k: v for k, v in environment(emulator, site.root).items() if k != "X_API_BASE_URL"},
            **({"MASTODON_API_BASE_URL": instance} if instance else {}),
        },
        capture_output=True,
        text=True,
        check=False,
    )
    status, *loaded = done.stdout.split()
    assert int(status) == 0, done.stderr
    assert emulator.state.requests == []
    assert loaded == ["False", "False", "False"]


def test_the_quiet_tick_knows_every_variable_that_makes_a_rehearsal() -> None:
    # bot.start cannot afford to import bot.networks: its own list must name every endpoint
    from bot.networks import REGISTRY  # noqa: PLC0415
    from bot.quiet_marker import ENDPOINT_VARIABLES  # noqa: PLC0415

    assert {e.endpoint: e.local_only for e in REGISTRY.values() if e.endpoint} == ENDPOINT_VARIABLES
