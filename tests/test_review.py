"""Review in pull requests (issue 13), through the command line: `check --format github`'s
annotations, `preview --format markdown`'s comment, and examples/github-workflow.yml, which
runs them on a deployment's pull requests."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.cli import build_parser
from tests.conftest import REPO, Deployment, Result

Cli = Callable[..., Result]
WORKFLOW = REPO / "examples" / "github-workflow.yml"
GOOD = "title: Court ruling\nurl: https://example.org/court\napproved: true\n"
BROKEN = "title: Story\nurl: https://example.org/story\napproved: maybe\n"  # line 3
TWO_NETWORKS = (
    "timezone: Europe/London\n"
    "networks: {x: {}, bluesky: {}}\n"
    "schedule:\n  slots:\n    daily: ['09:00']\n"
)
MONDAY = "2026-12-07"  # a Monday, before its 09:00 slot (GMT in December)


# --- check --format github -------------------------------------------------------------------


def test_check_annotates_the_broken_post_on_its_line_with_the_field_as_title(
    cli: Cli, deployment: Deployment
) -> None:
    deployment.post("good", GOOD)
    deployment.post("broken", BROKEN)
    result = cli("--root", deployment.root, "check", "--format", "github")
    assert result.status == 1
    # GitHub reads %3A back as ":": the title shows as "interlink-bot check: approved".
    assert result.out == (
        "::error file=queue/broken.yaml,line=3,title=interlink-bot check%3A approved::"
        "approved must be true or false, not 'maybe'\n"
    )


def test_annotation_escapes_what_would_end_a_property_or_the_command(
    cli: Cli, deployment: Deployment
) -> None:
    # A "," would end the file property, a ":" the properties, a newline the command; and
    # "%" is the escape itself.
    deployment.post("we,ird:50%", 'title: T\nurl: https://example.org/t\n"a,b:\\nc%": 1\n')
    result = cli("--root", deployment.root, "check", "--format", "github")
    assert result.status == 1
    # The key's newline is shown escaped (\n), as check shows a field; it never reaches the
    # log as a line of its own, which GitHub would read as a command.
    assert result.out == (
        "::error file=queue/we%2Cird%3A50%25.yaml,line=3,"
        "title=interlink-bot check%3A a%2Cb%3A\\nc%25::"
        "unknown field 'a,b: c%25'; remove it (see README: posts)\n"
    )


def test_a_config_warning_is_a_warning_annotation_and_a_config_error_an_error(
    cli: Cli, deployment: Deployment
) -> None:
    deployment.write("config/bot.yaml", "timezone: Europe/London\nschedule:\n  slots: {}\n")
    deployment.post("good", GOOD)
    warned = cli("--root", deployment.root, "check", "--format", "github")
    assert warned.status == 0  # shown, not failed
    assert warned.out == (
        "::warning file=config/bot.yaml,title=interlink-bot check::schedule.slots has no "
        "times at all, so only posts with publish_at will ever go out; add slots, e.g. "
        'daily: ["09:00", "13:00"]\n'
    )
    deployment.write("config/bot.yaml", "timezone: Mars/Olympus\n")
    broken = cli("--root", deployment.root, "check", "--format", "github")
    assert broken.status == 2
    assert broken.out.startswith(
        "::error file=config/bot.yaml,line=1,title=interlink-bot check%3A timezone::"
        "timezone 'Mars/Olympus' is not an IANA time zone name"
    )


# --- preview --format markdown ---------------------------------------------------------------


def cells(row: str) -> list[str]:
    """A Markdown table row's cells, as GitHub splits them: at each | not escaped."""
    assert row.startswith("| "), row
    assert row.endswith(" |"), row
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", row[1:-1])]


def rows(markdown: str) -> list[list[str]]:
    return [cells(line) for line in markdown.splitlines() if line.startswith("| ")]


@pytest.fixture
def two_networks(deployment: Deployment) -> Deployment:
    deployment.write("config/bot.yaml", TWO_NETWORKS)
    deployment.post(
        "court", "title: Judges | lawyers\nurl: https://example.org/court\napproved: true\n"
    )
    deployment.post("thread", 'text: "Three things"\nthread: ["one", "two"]\napproved: true\n')
    return deployment


def test_preview_markdown_has_one_table_a_post_with_text_length_cost_and_slot(
    cli: Cli, two_networks: Deployment
) -> None:
    result = cli("--root", two_networks.root, "preview", "--format", "markdown", "--now", MONDAY)
    assert result.status == 0, result.err
    out = result.out
    assert out.splitlines()[0] == "interlink-bot preview: 2 posts (no problems)"
    assert "### `court`\n\napproved · `queue/court.yaml`\n\n" in out
    assert "### `thread`\n\napproved · `queue/thread.yaml`\n\n" in out
    assert out.count("| network | part | text | length | cost | slot |") == 2
    assert rows(out) == [
        ["network", "part", "text", "length", "cost", "slot"],
        ["---"] * 6,
        # "Judges | lawyers " is 17 and X counts any link as 23: 40; a post with a link is
        # $0.20 on X. It takes the first slot, Monday's: it comes before thread in id order.
        [
            "X",
            "",
            r"`Judges \| lawyers https://example.org/court`",
            "40/280",
            "$0.200",
            "Mon 2026-12-07 09:00 GMT",
        ],
        # Bluesky counts the link as written (25): 42; it bills nothing.
        [
            "Bluesky",
            "",
            r"`Judges \| lawyers https://example.org/court`",
            "42/300",
            "—",
            "Mon 2026-12-07 09:00 GMT",
        ],
        ["network", "part", "text", "length", "cost", "slot"],
        ["---"] * 6,
        # one post a slot a day: the thread goes the next day; $0.015 each without a link
        ["X", "1/3", "`Three things`", "12/280", "$0.015", "Tue 2026-12-08 09:00 GMT"],
        ["X", "2/3", "`one`", "3/280", "$0.015", "Tue 2026-12-08 09:00 GMT"],
        ["X", "3/3", "`two`", "3/280", "$0.015", "Tue 2026-12-08 09:00 GMT"],
        ["Bluesky", "1/3", "`Three things`", "12/300", "—", "Tue 2026-12-08 09:00 GMT"],
        ["Bluesky", "2/3", "`one`", "3/300", "—", "Tue 2026-12-08 09:00 GMT"],
        ["Bluesky", "3/3", "`two`", "3/300", "—", "Tue 2026-12-08 09:00 GMT"],
    ]
    # what the table leaves out, below it: the link's share, and a thread's whole cost
    assert (
        "\nX cost: $0.200; $0.015 without the link (a networks.x.template without {url})\n" in out
    )
    assert "\nX cost: $0.045 for 3 posts\n" in out
    assert out.endswith(
        "\n\nSlots as `interlink-bot plan` gives them from Mon 2026-12-07 00:00 GMT for the "
        "next 7 days, as if nothing had been published before (no publish history here).\n"
    )
    # the text form is another document
    text = cli("--root", two_networks.root, "preview", "court").out
    assert text.startswith("court · approved\n  X · 40/280\n  │ Judges | lawyers https")


def test_preview_markdown_shows_the_text_as_written_whatever_it_holds(
    cli: Cli, deployment: Deployment
) -> None:
    # Emphasis, HTML, a mention, a code span's backtick and a line break: GitHub would act on
    # each in prose; in a code span a line, none is acted on.
    deployment.post(
        "odd", 'text: "*not bold* <b>x</b> @someone `tick`\\n\\n  indented |"\napproved: true\n'
    )
    result = cli("--root", deployment.root, "preview", "odd", "--format", "markdown")
    assert result.status == 0, result.err
    [_, _, row] = rows(result.out)
    # The first line ends in a backtick: a space keeps it off the fence (GitHub drops it).
    assert row[2] == r"`` *not bold* <b>x</b> @someone `tick` ``<br><br>`  indented \|`"


def test_preview_markdown_names_why_a_post_does_not_go_out(
    cli: Cli, deployment: Deployment
) -> None:
    deployment.write("config/bot.yaml", TWO_NETWORKS.replace("{x: {}, bluesky: {}}", "{x: {}}"))
    deployment.post("draft", GOOD.replace("approved: true", "approved: false"))
    deployment.post("later", GOOD.replace("court", "later") + "not_before: 2027-01-04\n")
    deployment.post("gone", GOOD.replace("court", "gone") + "expires: 2026-12-01\n")
    result = cli("--root", deployment.root, "preview", "--format", "markdown", "--now", MONDAY)
    slots = {row[5] for row in rows(result.out)[1:] if row[0] == "X"}
    assert slots == {
        "draft: not approved",
        "not within the next 7 days",
        "expired unpublished at the end of 1 Dec 2026; change expires: to publish it, or "
        "remove the file",
    }
    assert "draft (approved: false) · `queue/draft.yaml`" in result.out
    assert "approved · not before 2027-01-04 00:00 GMT · `queue/later.yaml`" in result.out


def test_preview_markdown_shows_a_broken_post_asked_for_and_an_unknown_id(
    cli: Cli, deployment: Deployment
) -> None:
    deployment.post("good", GOOD)
    deployment.post("broken", BROKEN)
    result = cli("--root", deployment.root, "preview", "--format", "markdown", "broken", "nope")
    assert result.status == 1
    assert result.out.splitlines()[0] == (
        "interlink-bot preview: 1 post (1 with problems), 1 unknown id"
    )
    # in the comment, not only on stderr: a pull request's comment must show a broken post
    assert (
        "\n\n### `broken`\n\n> **Problem:** queue/broken.yaml:3: approved must be true or "
        "false, not 'maybe'\n\n> **Problem:** no post with id 'nope' in queue/; "
        r"\`interlink-bot preview\` lists the ids" + "\n"
    ) in result.out
    assert "### `good`" not in result.out


def test_preview_markdown_of_the_whole_queue_shows_its_broken_files_too(
    cli: Cli, deployment: Deployment
) -> None:
    deployment.post("good", GOOD)
    deployment.post("broken", BROKEN)
    result = cli("--root", deployment.root, "preview", "--format", "markdown")
    assert result.status == 1
    assert result.out.splitlines()[0] == "interlink-bot preview: 2 posts (1 with problems)"
    assert result.out.index("### `broken`") < result.out.index("### `good`")  # in id order


def test_preview_of_the_files_a_pull_request_changed_shows_those_posts_only(
    cli: Cli, deployment: Deployment
) -> None:
    for name in ("a", "b", "c"):
        deployment.post(f"2026/12/{name}", GOOD.replace("court", name))
    result = cli(
        "--root",
        deployment.root,
        "preview",
        "--format",
        "markdown",
        "queue/2026/12/a.yaml",
        "queue/2026/12/c.yaml",
    )
    assert result.status == 0, result.err
    headings = [line for line in result.out.splitlines() if line.startswith("### ")]
    assert headings == ["### `2026/12/a`", "### `2026/12/c`"]
    assert result.out.splitlines()[0] == "interlink-bot preview: 2 posts (no problems)"


def test_the_readmes_review_example_is_what_the_commands_print(cli: Cli, tmp_path: Path) -> None:
    """README "Review in pull requests": its files, written out, give the output it shows."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Review in pull requests\n")[1].split("\n## ")[0]
    files = re.findall(r"^`([\w/.-]+)`:\n\n```yaml\n(.*?)^```", section, re.M | re.S)
    assert [path for path, _ in files] == [
        "config/bot.yaml",
        "queue/2026/12/court-ruling.yaml",
        "queue/2026/12/vigil.yaml",
    ]
    site = Deployment(tmp_path / "site")
    for path, content in files:
        site.write(path, content)
    shown = re.findall(r"^```(?:console|markdown)\n(.*?)^```", section, re.M | re.S)
    check_block, preview_block, markdown = shown
    check_command, check_output, _, status = check_block.splitlines()
    check = cli("--root", site.root, *shlex.split(check_command.removeprefix("$ interlink-bot")))
    assert (check.out, str(check.status)) == (check_output + "\n", status)
    words = shlex.split(preview_block.replace("\\\n", " ").removeprefix("$ interlink-bot"))
    preview = cli("--root", site.root, *words)
    assert preview.status == 1
    assert preview.out == markdown


# --- examples/github-workflow.yml ------------------------------------------------------------


def workflow() -> dict[Any, Any]:
    loaded = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def steps() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = workflow()["jobs"]["review"]["steps"]
    return found


def commands() -> list[list[str]]:
    """Each interlink-bot command line in the workflow's run steps, up to a shell operator."""
    found = []
    for step in steps():
        for line in step.get("run", "").replace("\\\n", " ").splitlines():
            if not line.strip().startswith("interlink-bot "):
                continue
            words = shlex.split(line, comments=True)
            if words[:1] == ["interlink-bot"]:
                ends = [i for i, word in enumerate(words) if word in {">", "|", "||", "&&", ";"}]
                found.append(words[1 : ends[0] if ends else None])
    return found


def test_the_workflow_runs_on_pull_requests_with_what_it_needs() -> None:
    flow = workflow()
    trigger = flow[True]  # YAML 1.1 reads the key `on` as true; GitHub reads it as "on"
    assert trigger["pull_request"]["paths"] == ["queue/**", "config/**"]
    assert flow["permissions"] == {"contents": "read", "pull-requests": "write"}
    by_name = {step.get("name", step.get("uses", step.get("run"))): step for step in steps()}
    assert by_name["actions/checkout@v4"]["with"]["fetch-depth"] == 0
    assert by_name["actions/setup-python@v5"]["with"]["python-version"] == "3.12"
    assert "pip install interlink-bot" in by_name
    # check's failure fails the job, but only after the preview was posted
    assert by_name["check"]["continue-on-error"] is True
    assert list(by_name)[-1] == "fail if check found problems"
    assert by_name["fail if check found problems"]["if"] == "steps.check.outcome == 'failure'"
    comment = by_name["comment"]
    assert comment["env"]["GH_TOKEN"] == "${{ secrets.GITHUB_TOKEN }}"
    assert "--body-file preview.md --edit-last" in comment["run"]


def test_the_workflows_commands_are_the_clis_own() -> None:
    parsed = [build_parser().parse_args(words) for words in commands()]  # exits if one is not
    assert [(args.command, args.format) for args in parsed] == [
        ("check", "github"),
        ("preview", "markdown"),
    ]
    assert parsed[1].ids == ["${files[@]}"]  # the changed files, as preview takes them


@pytest.mark.skipif(shutil.which("git") is None or shutil.which("bash") is None, reason="no git")
def test_the_workflows_preview_step_previews_the_posts_a_pull_request_adds_or_changes(
    deployment: Deployment, tmp_path: Path
) -> None:
    """The preview step's own script, run in a deployment's repository on a pull request's
    branch: the posts it adds (at any depth) or changes are previewed; the one it leaves
    alone, the one it deletes and the config are not."""
    root = deployment.root
    for name in ("2026/12/changed", "2026/12/untouched", "deleted"):
        deployment.post(name, GOOD.replace("court", name.replace("/", "-")))

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "base")
    git("update-ref", "refs/remotes/origin/main", "HEAD")  # as checkout's fetch-depth 0 has it
    git("checkout", "-qb", "new-posts")
    deployment.post("2026/12/changed", GOOD.replace("court", "changed-again"))
    deployment.post("top", GOOD.replace("court", "top"))
    deployment.write("queue/2027/01/deep.yml", GOOD.replace("court", "deep"))
    (root / "queue" / "deleted.yaml").unlink()
    git("add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "posts")
    [step] = [step for step in steps() if step.get("id") == "preview"]
    summary = tmp_path / "summary.md"
    environment = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '/usr/bin')}",
        "BASE_REF": step["env"]["BASE_REF"].replace("${{ github.base_ref }}", "main"),
        "RUNNER_TEMP": str(tmp_path),
        "GITHUB_STEP_SUMMARY": str(summary),
    }
    done = subprocess.run(
        ["bash", "-eo", "pipefail", "-c", step["run"]],
        cwd=root,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    preview = (root / "preview.md").read_text(encoding="utf-8")
    headings = [line for line in preview.splitlines() if line.startswith("### ")]
    assert headings == ["### `2026/12/changed`", "### `2027/01/deep`", "### `top`"]
    assert "https://example.org/changed-again" in preview  # the branch's version of it
    assert summary.read_text(encoding="utf-8") == preview
