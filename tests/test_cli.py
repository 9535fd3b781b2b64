"""The `check` and `preview` commands, through the command line (SPEC: "Commands")."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import pytest

from tests.conftest import REPO, Deployment, Result

Cli = Callable[..., Result]
VALID = "title: A title\nurl: https://example.org/a\napproved: true\n"


def test_check_on_the_example_queue_passes(cli: Cli) -> None:
    result = cli("--root", REPO, "check")
    assert result.status == 0, result.out + result.err
    assert result.out == ""
    assert "0 files with problems" in result.err


def test_preview_shows_every_example_post_with_its_length(cli: Cli) -> None:
    result = cli("--root", REPO, "preview")
    assert result.status == 0, result.err
    posts = list((REPO / "queue").rglob("*.yaml"))
    assert len(posts) >= 10
    for path in posts:
        post_id = path.relative_to(REPO / "queue").with_suffix("").as_posix()
        assert f"\n{post_id} · " in "\n" + result.out
    assert result.out.count("/280") >= len(posts)


def test_check_prints_one_precise_line_per_problem_and_exits_1(
    cli: Cli, deployment: Deployment
) -> None:
    deployment.post("good", VALID)
    deployment.post("typo", VALID + "sumary: x\n")
    deployment.post("yaml", "title: [\n")
    deployment.write("queue/bytes.yaml", b"title: \xff\n")
    deployment.post("long", "text: " + "y" * 300 + "\n")
    result = cli("--root", deployment.root, "check")
    assert result.status == 1
    lines = result.out.splitlines()
    assert lines == sorted(lines)
    assert len(lines) == 4
    assert lines[0].startswith("queue/bytes.yaml:1: is not UTF-8 text")
    assert lines[1].startswith("queue/long.yaml:1: does not fit on X: text is 300/280")
    assert lines[2] == "queue/typo.yaml:4: unknown field 'sumary'; did you mean 'summary'?"
    assert lines[3].startswith("queue/yaml.yaml:2: invalid YAML")
    assert "1 post valid, 4 files with problems" in result.err


def test_check_exits_2_when_the_config_is_invalid(cli: Cli, deployment: Deployment) -> None:
    deployment.write("config/bot.yaml", "timezone: Mars/Olympus\n")
    result = cli("--root", deployment.root, "check")
    assert result.status == 2
    assert result.err.startswith("config/bot.yaml:1: timezone 'Mars/Olympus'")


def test_preview_one_post_with_its_thread(cli: Cli, deployment: Deployment) -> None:
    deployment.post("t", VALID + 'thread: ["second", "third 🧑‍💻"]\n')
    deployment.post("other", VALID)
    result = cli("--root", deployment.root, "preview", "t")
    assert result.status == 0
    assert "other" not in result.out
    assert "part 1/3 · 31/280\n  │ A title https://example.org/a" in result.out
    assert "part 2/3 · 6/280\n  │ second" in result.out
    assert "part 3/3 · 8/280\n  │ third 🧑‍💻" in result.out


def test_preview_of_an_unknown_or_invalid_id(cli: Cli, deployment: Deployment) -> None:
    deployment.post("bad", "title: [\n")
    result = cli("--root", deployment.root, "preview", "nope", "bad")
    assert result.status == 1
    assert "no post with id 'nope'" in result.err
    assert "queue/bad.yaml:2: invalid YAML" in result.err


def test_root_from_environment(deployment: Deployment) -> None:
    deployment.post("p", VALID)
    done = subprocess.run(
        [sys.executable, "-m", "bot", "check"],
        capture_output=True,
        text=True,
        env={"BOT_ROOT": str(deployment.root), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "1 post valid" in done.stderr


def test_hostile_queue_never_prints_a_traceback(deployment: Deployment) -> None:
    deployment.post("tag", "title: !!python/name:os.system\nurl: https://e.org\n")
    deployment.post("alias", "a: &x [1]\nb: *x\n")
    deployment.write("queue/nul.yaml", b"title: \x00\n")
    deployment.post("list", "[1, 2]\n")
    done = subprocess.run(
        [sys.executable, "-m", "bot", "--root", str(deployment.root), "-v", "check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stdout + done.stderr
    assert len(done.stdout.splitlines()) == 4


def test_usage_error_exits_2(cli: Cli) -> None:
    with pytest.raises(SystemExit) as exited:
        cli("frobnicate")
    assert exited.value.code == 2


HOSTILE_FILES: dict[str, str | bytes] = {
    "queue/tag.yaml": "title: !!python/name:os.system\nurl: https://e.org\n",
    "queue/alias.yaml": "a: &x [1]\nb: *x\n",
    "queue/nul.yaml": b"title: \x00\n",
    "queue/list.yaml": "[1, 2]\n",
    "queue/binary.yaml": bytes(range(256)),
    "queue/deep.yaml": "title: " + "[" * 500 + "]" * 500 + "\n",  # past MAX_NESTING
    "queue/latin1.yaml": "title: Caf\xe9\nurl: https://e.org\napproved: true\n".encode("latin-1"),
}
EVERY_COMMAND = [
    ["check"],
    ["preview"],
    ["preview", "tag"],
    ["plan", "--now", "2026-01-05T08:00Z"],
    ["status", "--now", "2026-01-05T08:00Z"],
    ["log"],
    ["run", "--dry-run", "--now", "2026-01-05T09:05Z"],
    ["retry", "tag"],
    ["pause", "--reason", "checking"],
    ["resume"],
]

# The commands that read the whole queue and say what is wrong with it (SPEC: "Commands").
LISTS_EVERY_PROBLEM = [
    " ".join(command)
    for command in EVERY_COMMAND
    if command[0] in ("check", "preview", "plan", "status", "run") and command[1:] != ["tag"]
]


@pytest.mark.usefixtures("yaml_loader")  # libyaml's and the pure-Python loader
@pytest.mark.parametrize("command", EVERY_COMMAND, ids=" ".join)
def test_every_command_meets_hostile_queue_files_with_one_line_each_and_no_traceback(
    cli: Cli, deployment: Deployment, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    for name in ("X_API_KEY", "X_API_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET"):
        monkeypatch.delenv(name, raising=False)
    for path, content in HOSTILE_FILES.items():
        deployment.write(path, content)
    deployment.post("good", "title: Good\nurl: https://example.org/good\napproved: true\n")
    result = cli("--root", deployment.root, *command)  # an exception here fails the test
    said = result.out + result.err
    assert "Traceback" not in said
    assert result.status in (0, 1)
    if " ".join(command) in LISTS_EVERY_PROBLEM:
        for path in HOSTILE_FILES:  # each one named, on one line of its own
            assert sum(line.count(path) for line in said.splitlines()) == 1, path
    if command == ["preview", "tag"]:
        assert result.status == 1
        (line,) = result.err.splitlines()  # why the post cannot be shown
        assert line.startswith("queue/tag.yaml:1: ")
    if command == ["retry", "tag"]:
        assert (result.status, result.err) == (
            1,
            "interlink-bot: tag has not been sent yet, so there is nothing to retry; its file "
            "has problems: `interlink-bot check` says which\n",
        )


@pytest.mark.parametrize("command", EVERY_COMMAND, ids=" ".join)
def test_every_command_meets_a_hostile_config_with_exit_2_and_one_line(
    cli: Cli, deployment: Deployment, command: list[str]
) -> None:
    deployment.write(
        "config/bot.yaml", b"timezone: Europe/London\nschedule: !!python/object:os\n\x00"
    )
    result = cli("--root", deployment.root, *command)
    assert result.status == 2
    assert "Traceback" not in result.out + result.err
    (line,) = result.err.splitlines()
    assert line.startswith("config/bot.yaml")
