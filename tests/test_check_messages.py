"""What `interlink-bot check` (and `status`) print about queue files: every problem of a file,
each on its own line, and counts of files, not of problems (issue 9, "Text people read")."""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.conftest import Deployment, Result

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
    assert result.err == "1 post valid, 1 file with problems\n"
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
