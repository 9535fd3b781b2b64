"""What `interlink-bot check` (and `status`) print about queue files: every problem of a file,
each on its own line, and counts of files, not of problems (issue 9, "Text people read")."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from tests.conftest import Deployment, Result

# Every test here runs with each of PyYAML's safe loaders: libyaml's, and the pure-Python one
# that platforms without libyaml fall back to (conftest.yaml_loader).
pytestmark = pytest.mark.usefixtures("yaml_loader")

Cli = Callable[..., Result]
VALID = "title: A title\nurl: https://example.org/a\napproved: true\n"


def test_check_prints_every_problem_of_a_file_and_counts_the_file_once(
    cli: Cli, deployment: Deployment
) -> None:
    deployment.post("good", VALID)
    deployment.post("bad", "title: T\nurl: https://example.org/b\npriority: high\nsumary: x\n")
    result = cli("--root", deployment.root, "check")
    assert result.status == 1
    assert result.out.splitlines() == [
        "queue/bad.yaml:3: priority must be a whole number like 0 or 5, not 'high'",
        "queue/bad.yaml:4: unknown field 'sumary'; did you mean 'summary'?",
    ]
    assert result.err == (
        "1 post valid, 1 file with problems\n"
        "x: credentials are not set: X_API_KEY, X_API_SECRET, X_ACCESS_TOKEN and "
        "X_ACCESS_TOKEN_SECRET are missing; put them in .env or the environment (see README: "
        "credentials); `run` publishes nothing there until then\n"
    )
    status = cli("--root", deployment.root, "status", "--json", "--now", "2026-01-05T10:00Z")
    assert json.loads(status.out)["queue"]["invalid"] == 1


def test_an_escape_sequence_never_reaches_the_terminal(cli: Cli, deployment: Deployment) -> None:
    deployment.post("red", 'title: "\\x1b[31mRed alert"\nurl: https://example.org/a\n')
    check = cli("--root", deployment.root, "check")
    assert check.status == 1
    assert check.out == (
        "queue/red.yaml:1: title holds U+001B (escape), a control character, which a post must "
        'not carry (a YAML escape such as "\\x1b" or "\\0" writes one); remove it\n'
    )
    preview = cli("--root", deployment.root, "preview", "red")
    assert preview.status == 1
    assert "\x1b" not in preview.out + preview.err
    assert "queue/red.yaml:1: title holds U+001B (escape)" in preview.err


def test_a_missing_queue_folder_is_named_as_paths_queue_names_it(
    cli: Cli, deployment: Deployment
) -> None:
    deployment.write("config/bot.yaml", "timezone: UTC\npaths:\n  queue: nothere\n")
    result = cli("--root", deployment.root, "check")
    assert (result.status, result.out) == (
        1,
        "nothere: queue folder not found; create it (mkdir nothere)\n",
    )


def test_the_mkdir_to_type_works_for_a_nested_name_with_a_space(
    cli: Cli, deployment: Deployment
) -> None:
    deployment.write("config/bot.yaml", "timezone: UTC\npaths:\n  queue: posts/to go\n")
    result = cli("--root", deployment.root, "check")
    assert result.out == "posts/to go: queue folder not found; create it (mkdir -p 'posts/to go')\n"


def test_messages_about_links_name_the_configured_queue_folder(
    cli: Cli, deployment: Deployment
) -> None:
    deployment.write("config/bot.yaml", "timezone: UTC\npaths:\n  queue: posts\n")
    (deployment.root / "posts").mkdir()
    (deployment.root / "posts" / "loop.yaml").symlink_to("loop.yaml")
    (deployment.root / "posts" / "elsewhere.yaml").symlink_to(deployment.root / "config/bot.yaml")
    result = cli("--root", deployment.root, "check")
    assert result.out.splitlines() == [
        "posts/elsewhere.yaml: is a link that leads outside the queue folder; copy the post into "
        "posts/ instead",
        "posts/loop.yaml: is a link to 'loop.yaml' that goes round in a loop and never reaches a "
        "file; remove it, or point it at a post file in posts/",
    ]


def test_preview_names_only_what_it_shortened(cli: Cli, deployment: Deployment) -> None:
    deployment.post("long", "title: " + "Headline words " * 30 + "\nurl: https://example.org/a\n")
    result = cli("--root", deployment.root, "preview", "long")
    assert result.status == 0, result.err
    assert " · shortened: title\n" in result.out
