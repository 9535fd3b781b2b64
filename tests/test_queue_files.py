"""One bad file blocks nothing: what the queue walk cannot open or follow (a link that loops or
leads nowhere, a FIFO, a closed folder) is reported on its own and skipped, and every other post
still loads, is planned and goes out, by every way in: check, plan, load_queue, the ledger's
queue index that run uses, and the quiet cron path (SPEC: "Publishing guarantees")."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.config import load_config
from bot.networks.x.client import Credentials, Publisher
from bot.networks.x.sandbox import Sandbox
from bot.posts import load_queue
from bot.queue_scan import QueueScan, scan_queue
from bot.start import quiet_run
from tests.conftest import Deployment, Result, environment, titles_on
from tests.test_run import CONFIG, post, tick

# Every test here runs with each of PyYAML's safe loaders: libyaml's, and the pure-Python one
# that platforms without libyaml fall back to (conftest.yaml_loader).
pytestmark = pytest.mark.usefixtures("yaml_loader")

Connect = Callable[[Credentials], Publisher]
Cli = Callable[..., Result]


def _permissions_bind() -> bool:
    """Whether this process is refused a file without permissions: root is not."""
    with tempfile.TemporaryDirectory() as folder:
        probe = Path(folder) / "probe"
        probe.write_text("")
        probe.chmod(0)
        try:
            probe.read_text()
        except PermissionError:
            return True
        return False


PERMISSIONS_IGNORED = not _permissions_bind()  # as root: every file and folder opens
SKIP_AS_ROOT = pytest.mark.skipif(PERMISSIONS_IGNORED, reason="root opens any file or folder")
BETWEEN_SLOTS = datetime(2026, 1, 5, 11, 0, tzinfo=UTC)  # slots at 09:00 and 13:00 London

LOOP = (
    "queue/loop.yaml: is a link to 'loop.yaml' that goes round in a loop and never reaches a "
    "file; remove it, or point it at a post file in queue/"
)
DANGLING = (
    "queue/gone.yaml: is a link to 'nowhere.yaml', which does not exist; remove the link, or "
    "restore the file it points to"
)
FIFO = "queue/pipe.yaml: is not a regular file; post and config files must be plain files"


@pytest.fixture
def site(deployment: Deployment) -> Deployment:
    deployment.write("config/bot.yaml", CONFIG)
    deployment.post("a-first", post("First story"))
    deployment.post("2026/z-second", post("Second story"))
    return deployment


def queue_of(site: Deployment) -> tuple[list[str], list[str]]:
    """The ids that load_queue loaded and its problems, as printed."""
    queue = load_queue(load_config(site.root))
    return [post.id for post in queue.posts], [str(problem) for problem in queue.problems]


def loop(site: Deployment) -> None:
    (site.root / "queue" / "loop.yaml").symlink_to("loop.yaml")  # ln -s loop.yaml queue/loop.yaml


@pytest.fixture
def x_cli(emulator: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's own credentials and publisher, pointed at the emulator."""
    for name, value in environment(emulator, Path()).items():
        if name.startswith("X_"):
            monkeypatch.setenv(name, value)


# --- each kind of bad entry, reported alone -----------------------------------------------------


def make_entry(site: Deployment, kind: str) -> None:
    queue = site.root / "queue"
    if kind == "a link that loops":
        loop(site)
    elif kind == "links that loop through each other":
        (queue / "loop.yaml").symlink_to("other")
        (queue / "other").symlink_to("loop.yaml")
    elif kind == "a link to nothing":
        (queue / "gone.yaml").symlink_to("nowhere.yaml")
    elif kind == "a FIFO":
        os.mkfifo(queue / "pipe.yaml")


@pytest.mark.parametrize(
    ("kind", "problem"),
    [
        ("a link that loops", LOOP),
        ("links that loop through each other", LOOP.replace("'loop.yaml'", "'other'")),
        ("a link to nothing", DANGLING),
        ("a FIFO", FIFO),
    ],
)
def test_a_bad_entry_is_one_problem_and_the_other_posts_load(
    site: Deployment, kind: str, problem: str
) -> None:
    make_entry(site, kind)
    assert queue_of(site) == (["2026/z-second", "a-first"], [problem])


def test_a_link_that_begins_to_loop_after_the_walk_is_one_problem(
    site: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    link = site.root / "queue" / "loop.yaml"
    link.symlink_to("a-first.yaml")

    def scan_then_edit(queue_dir: str) -> QueueScan | None:
        scan = scan_queue(queue_dir)
        link.unlink()  # an editor's checkout lands between the walk and the reading
        loop(site)
        return scan

    monkeypatch.setattr("bot.posts.scan_queue", scan_then_edit)
    assert queue_of(site) == (["2026/z-second", "a-first"], [LOOP])


def test_editors_lock_and_metadata_files_are_skipped_without_a_word(site: Deployment) -> None:
    queue = site.root / "queue"
    # emacs's lock file while a.yaml has unsaved changes: a link to "user@host.pid:boot".
    (queue / ".#a-first.yaml").symlink_to("editor@desk.4242:1700000000")
    # macOS's AppleDouble metadata beside a post copied from a Mac to a shared drive.
    site.write("queue/2026/._z-second.yaml", b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X")
    # Backups and swap files do not end in .yaml: ignored like any other file.
    site.write("queue/a-first.yaml~", "title: [")
    site.write("queue/.a-first.yaml.swp", b"\x00b0VIM")
    assert queue_of(site) == (["2026/z-second", "a-first"], [])


def test_a_hidden_post_file_other_than_a_tools_is_still_a_post(site: Deployment) -> None:
    site.post(".hidden", post("Hidden story"))
    assert queue_of(site)[0] == [".hidden", "2026/z-second", "a-first"]


def test_a_dangling_link_was_a_post_once_and_is_forgotten_by_the_index(
    site: Deployment, emulator: Sandbox, connect: Connect
) -> None:
    tick(site, connect, BETWEEN_SLOTS)  # indexes both posts
    target = site.root / "queue" / "moved.yaml"
    (site.root / "queue" / "a-first.yaml").rename(target)
    (site.root / "queue" / "a-first.yaml").symlink_to("moved.yaml")
    target.unlink()  # the link is left pointing at nothing
    report = tick(site, connect)
    assert report.problems == [
        "queue/a-first.yaml: is a link to 'moved.yaml', which does not exist; remove the link, "
        "or restore the file it points to"
    ]
    assert titles_on(emulator) == ["Second story"]


# --- folders ------------------------------------------------------------------------------------


@pytest.fixture
def closed(monkeypatch: pytest.MonkeyPatch) -> Callable[[Path], None]:
    """Make a folder answer as one the bot's user may not open: os.scandir raises
    PermissionError for it, as it does for a folder without r or x permission (root opens
    every folder whatever its permissions, so tests that run as root simulate it here)."""
    closed_paths: set[str] = set()
    real_scandir = os.scandir

    def scandir(path: Any = ".") -> Any:
        if os.fspath(path) in closed_paths:
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    return lambda folder: closed_paths.add(str(folder.resolve()))


def test_a_folder_that_cannot_be_opened_is_one_problem(
    site: Deployment, closed: Callable[[Path], None]
) -> None:
    closed(site.root / "queue" / "2026")
    assert queue_of(site) == (
        ["a-first"],
        [
            "queue/2026: is a folder that cannot be read (Permission denied), so its posts are "
            "skipped; let the bot's user open it (chmod a+rx queue/2026) or move the posts out"
        ],
    )


@pytest.fixture
def chmod_back(site: Deployment) -> Iterator[list[Path]]:
    """Paths whose permissions a test takes away; given back so tmp_path can be removed."""
    paths: list[Path] = []
    yield paths
    for path in paths:
        path.chmod(0o755)


@SKIP_AS_ROOT
def test_a_folder_without_permissions_is_one_problem(
    site: Deployment, chmod_back: list[Path]
) -> None:
    folder = site.root / "queue" / "2026"
    folder.chmod(0)
    chmod_back.append(folder)
    assert queue_of(site) == (
        ["a-first"],
        [
            "queue/2026: is a folder that cannot be read (Permission denied), so its posts are "
            "skipped; let the bot's user open it (chmod a+rx queue/2026) or move the posts out"
        ],
    )


@SKIP_AS_ROOT
def test_files_in_a_folder_without_x_permission_are_problems_one_by_one(
    site: Deployment, chmod_back: list[Path]
) -> None:
    folder = site.root / "queue" / "2026"
    folder.chmod(0o644)  # its names can be listed, its files not opened
    chmod_back.append(folder)
    assert queue_of(site) == (
        ["a-first"],
        [
            "queue/2026/z-second.yaml: cannot be read (Permission denied); let the bot's user "
            "read it and open its folder (chmod a+r on the file, a+rx on the folder)"
        ],
    )


@SKIP_AS_ROOT
def test_a_file_without_read_permission_is_one_problem(
    site: Deployment, chmod_back: list[Path]
) -> None:
    file = site.root / "queue" / "a-first.yaml"
    file.chmod(0)
    chmod_back.append(file)
    ids, problems = queue_of(site)
    assert ids == ["2026/z-second"]
    assert problems == [
        "queue/a-first.yaml: cannot be read (Permission denied); check that it exists and is "
        "readable"
    ]


def test_the_queue_folder_itself(
    deployment: Deployment, cli: Cli, closed: Callable[[Path], None]
) -> None:
    queue = deployment.root / "queue"
    queue.rmdir()
    missing = cli("--root", deployment.root, "check")
    assert (missing.status, missing.out) == (
        1,
        "queue: queue folder not found; create it (mkdir queue)\n",
    )
    queue.write_text("")
    a_file = cli("--root", deployment.root, "check")
    assert a_file.out == (
        "queue: is a file, not the queue folder; move it aside and create the folder "
        "(mkdir queue)\n"
    )
    queue.unlink()
    queue.mkdir()
    closed(queue)
    unreadable = cli("--root", deployment.root, "check")
    assert unreadable.out == (
        "queue: the queue folder cannot be read (Permission denied); let the bot's user open it "
        "(chmod a+rx queue)\n"
    )


# --- through the commands people run ------------------------------------------------------------


def test_check_lists_each_problem_and_exits_1(site: Deployment, cli: Cli) -> None:
    loop(site)
    make_entry(site, "a link to nothing")
    make_entry(site, "a FIFO")
    site.post("broken", "title: [\n")
    result = cli("--root", site.root, "check")
    assert result.status == 1
    broken, *others = result.out.splitlines()
    assert broken.startswith("queue/broken.yaml:2: invalid YAML: ")  # libyaml's own words follow
    assert others == [DANGLING, LOOP, FIFO]
    assert result.err == (
        "2 posts valid, 4 files with problems\n"
        "x: credentials are not set: X_API_KEY, X_API_SECRET, X_ACCESS_TOKEN and "
        "X_ACCESS_TOKEN_SECRET are missing; put them in .env or the environment (see README: "
        "credentials); `run` publishes nothing there until then\n"
    )


def test_plan_shows_the_other_posts_and_names_the_loop(site: Deployment, cli: Cli) -> None:
    loop(site)
    result = cli("--root", site.root, "plan", "--days", "1", "--now", "2026-01-05T08:00Z")
    assert result.status == 1
    assert result.out.splitlines() == [
        "Mon 2026-01-05 09:00 GMT  slot  2026/z-second",
        "Mon 2026-01-05 13:00 GMT  slot  a-first",
        "x: January 2026: $0.000 spent, $0.400 more planned (2 posts): $0.400; no monthly "
        "budget set (networks.x.monthly_budget_usd)",
        "will not go out:",
        f"  {LOOP}",
        # no credentials in this test: plan names them, as status does
        "  x: credentials are not set: X_API_KEY, X_API_SECRET, X_ACCESS_TOKEN and "
        "X_ACCESS_TOKEN_SECRET are missing; put them in .env or the environment (see README: "
        "credentials)",
    ]


@pytest.mark.usefixtures("x_cli")
def test_run_publishes_the_other_posts_when_a_link_loops(
    site: Deployment, cli: Cli, emulator: Sandbox
) -> None:
    loop(site)
    first = cli("--root", site.root, "run", "--now", "2026-01-05T09:05Z")
    assert titles_on(emulator) == ["Second story"]
    assert first.status == 1
    mark = f"[rehearsal against {emulator.base_url}] "
    assert first.out.startswith(mark + "published 2026/z-second: https://x.com/i/web/status/")
    assert first.err == mark + LOOP + "\n"
    # The next slot, with the ledger's queue index already holding both posts; the loop was
    # told already: repeated on stdout, exit 0.
    second = cli("--root", site.root, "run", "--now", "2026-01-05T13:05Z")
    assert titles_on(emulator) == ["Second story", "First story"]
    assert (second.status, second.err) == (0, "")
    assert second.out.endswith(f"{mark}still: {LOOP}\n")


def test_the_index_keeps_reporting_a_loop_and_reads_it_once_fixed(
    site: Deployment, emulator: Sandbox, connect: Connect
) -> None:
    loop(site)
    assert tick(site, connect, BETWEEN_SLOTS).problems == [LOOP]
    again = tick(site, connect, BETWEEN_SLOTS)  # every file indexed
    assert (again.problems, again.persisting) == ([], [LOOP])  # told once
    link = site.root / "queue" / "loop.yaml"
    link.unlink()
    site.post("loop", post("Fixed story", priority="5"))
    report = tick(site, connect)
    assert report.problems == []
    assert titles_on(emulator) == ["Fixed story"]


# --- the quiet cron path (bot.start) ------------------------------------------------------------


def quiet(site: Deployment, at: datetime) -> tuple[int, list[str]] | None:
    result = quiet_run(["--root", str(site.root), "run", "--now", at.isoformat()], {}, 0.0)
    return result[:2] if result else None


def test_a_quiet_run_repeats_the_loop_and_still_lets_the_next_slot_through(
    site: Deployment, emulator: Sandbox, connect: Connect
) -> None:
    loop(site)
    tick(site, connect, BETWEEN_SLOTS)  # nothing due: leaves the quiet marker
    assert quiet(site, datetime(2026, 1, 5, 11, 30, tzinfo=UTC)) == (0, [LOOP])
    assert quiet(site, datetime(2026, 1, 5, 13, 5, tzinfo=UTC)) is None  # the slot: full way
    tick(site, connect, datetime(2026, 1, 5, 13, 5, tzinfo=UTC))
    assert titles_on(emulator) == ["Second story"]


@pytest.mark.parametrize(
    "kind", ["a link that loops", "links that loop through each other", "a link to nothing"]
)
def test_a_bad_entry_added_between_runs_sends_the_next_run_the_full_way(
    site: Deployment, connect: Connect, kind: str
) -> None:
    tick(site, connect, BETWEEN_SLOTS)
    at = datetime(2026, 1, 5, 11, 30, tzinfo=UTC)
    assert quiet(site, at) == (0, [])
    make_entry(site, kind)
    assert quiet(site, at) is None
    report = tick(site, connect, at)
    assert len(report.problems) == 1
    assert quiet(site, at) == (0, report.problems)  # and quiet again, with the problem


def test_a_folder_closed_between_runs_sends_the_next_run_the_full_way(
    site: Deployment, connect: Connect, closed: Callable[[Path], None]
) -> None:
    tick(site, connect, BETWEEN_SLOTS)
    at = datetime(2026, 1, 5, 11, 30, tzinfo=UTC)
    closed(site.root / "queue" / "2026")
    assert quiet(site, at) is None
    problems = tick(site, connect, at).problems
    assert problems == [
        "queue/2026: is a folder that cannot be read (Permission denied), so its posts are "
        "skipped; let the bot's user open it (chmod a+rx queue/2026) or move the posts out"
    ]
    assert quiet(site, at) == (0, problems)


def test_the_cron_entry_point_publishes_the_other_posts_when_a_link_loops(
    site: Deployment, emulator: Sandbox
) -> None:
    loop(site)
    env = environment(emulator, site.root)

    def cron(now: str) -> tuple[int, str, str]:
        done = subprocess.run(
            [sys.executable, "-m", "bot", "run", "--now", now],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        return done.returncode, done.stdout, done.stderr

    mark = f"[rehearsal against {emulator.base_url}] "
    # nothing due: tells the loop once (exit 1) and leaves the marker
    assert cron("2026-01-05T11:00Z") == (1, "", mark + LOOP + "\n")
    assert cron("2026-01-05T11:30Z") == (0, f"{mark}still: {LOOP}\n", "")  # the short way
    status, out, err = cron("2026-01-05T13:05Z")
    assert (status, err) == (0, "")
    assert out.startswith(mark + "published 2026/z-second: https://x.com/i/web/status/")
    assert titles_on(emulator) == ["Second story"]
