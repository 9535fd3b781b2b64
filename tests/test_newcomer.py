"""What a newcomer trips over (issue 9): one clock in all output, a clear error for every bad
argument, the CLI's conventions, and the lines `status`, `plan`, `log`, `run` and `preview`
print, read as a person reads them, in an America/New_York deployment.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot import __version__
from bot.ledger import Ledger
from bot.networks.x.client import Credentials, Publisher
from bot.networks.x.sandbox import Sandbox
from tests.conftest import KEYS, Deployment, Result
from tests.test_publisher import script
from tests.test_run import post, tick

Cli = Callable[..., Result]
Connect = Callable[[Credentials], Publisher]
NEW_YORK = (
    "timezone: America/New_York\n"
    "schedule:\n  slots:\n    daily: ['08:30', '12:30', '17:30']\n  max_per_day: 4\n"
)
# 2026-12-01 is a Tuesday; New York is on EST (UTC-5): the 08:30 slot is 13:30 UTC.
MORNING = datetime(2026, 12, 1, 13, 35, tzinfo=UTC)
ALL_CREDENTIALS = {
    "X_API_KEY": KEYS.api_key,
    "X_API_SECRET": KEYS.api_secret,
    "X_ACCESS_TOKEN": KEYS.access_token,
    "X_ACCESS_TOKEN_SECRET": KEYS.access_token_secret,
}


@pytest.fixture
def site(deployment: Deployment, monkeypatch: pytest.MonkeyPatch) -> Deployment:
    deployment.write("config/bot.yaml", NEW_YORK)
    for name in (*ALL_CREDENTIALS, "X_API_BASE_URL", "NOTIFY_URLS", "BOT_ROOT"):
        monkeypatch.delenv(name, raising=False)
    return deployment


# --- one clock ---------------------------------------------------------------------------------


def test_every_time_people_read_is_in_the_config_zone_and_json_stays_utc(
    site: Deployment, emulator: Sandbox, connect: Connect, cli: Cli
) -> None:
    site.post("a", post("Morning story"))
    site.post("b", post("Evening story"))
    script(emulator, "400")
    assert tick(site, connect, MORNING).problems  # a is refused; b goes out in its place
    root = site.root
    log_lines = cli("--root", root, "log").out.splitlines()
    assert [line.split("  ")[0] for line in log_lines] == [
        "2026-12-01 08:35:00 EST",
        "2026-12-01 08:35:00 EST",
    ]
    status = cli("--root", root, "status", "--now", "2026-12-01 09:00").out.splitlines()
    assert "next slot: Tue 2026-12-01 12:30 EST" in status
    assert any(line.startswith("x: last success: 2026-12-01 08:35 EST b ") for line in status)
    assert any(line.startswith("x: last error: 2026-12-01 08:35 EST a: ") for line in status)
    site.post("c", post("Noon story"))
    plan = cli("--root", root, "plan", "--now", "2026-12-01 09:00", "--days", "1").out
    assert plan.splitlines()[0] == "Tue 2026-12-01 12:30 EST  slot  c"
    assert cli("--root", root, "pause", "--reason", "checking a link").status == 0
    paused = cli("--root", root, "status").out  # paused at the clock's time, shown in EST
    assert re.search(
        r"^paused: yes, since \d{4}-\d\d-\d\d \d\d:\d\d E[SD]T: checking a link$", paused, re.M
    )
    for text in (log_lines, status, plan.splitlines()):
        assert not any("UTC" in line or line.split("  ")[0].endswith("Z") for line in text)
    entries = [json.loads(line) for line in cli("--root", root, "log", "--json").out.splitlines()]
    assert {entry["at"] for entry in entries} == {"2026-12-01T13:35:00Z"}
    summary = json.loads(cli("--root", root, "status", "--now", "2026-12-01 09:00", "--json").out)
    assert summary["next_slot"] == "2026-12-01T17:30:00Z"


def test_a_dry_run_names_the_slot_in_the_config_zone(site: Deployment, cli: Cli) -> None:
    site.post("a", post("Story"))
    result = cli("--root", site.root, "run", "--dry-run", "--now", "2026-12-01 08:35")
    assert result.out.splitlines() == [
        "would publish a (slot 2026-12-01 08:30 EST): Story https://example.org/Story",
        "but a real run would not send: credentials are not set: X_API_KEY, X_API_SECRET, "
        "X_ACCESS_TOKEN and X_ACCESS_TOKEN_SECRET are missing; put them in .env or the "
        "environment (see README: credentials)",
    ]
    assert result.status == 1  # as the real run would: a problem nobody was told of yet
    assert not (site.root / "state").exists()


def test_status_shows_the_slot_open_now_as_plan_does(site: Deployment, cli: Cli) -> None:
    site.post("a", post("Story"))
    now = "2026-12-01 17:40"  # the 17:30 slot is open (grace) and not served yet
    status = cli("--root", site.root, "status", "--now", now).out.splitlines()
    plan = cli("--root", site.root, "plan", "--now", now, "--days", "1").out.splitlines()
    assert "next slot: Tue 2026-12-01 17:30 EST (open now)" in status
    assert plan[0] == "Tue 2026-12-01 17:40 EST  slot  a"


def test_status_plan_and_run_agree_when_the_gap_holds_an_open_slot(
    deployment: Deployment, emulator: Sandbox, connect: Connect, cli: Cli
) -> None:
    deployment.write(
        "config/bot.yaml",
        "timezone: America/New_York\nschedule:\n  slots:\n    daily: ['08:30', '09:00', '17:00']\n"
        "  min_gap_minutes: 60\n  grace_minutes: 90\n",
    )
    deployment.post("a", post("First", priority="1"))
    deployment.post("b", post("Second"))
    tick(deployment, connect, datetime(2026, 12, 1, 13, 31, tzinfo=UTC))  # a, at 08:31 EST
    root = deployment.root
    status = cli("--root", root, "status", "--now", "2026-12-01 09:05").out.splitlines()
    assert (
        "next slot: Tue 2026-12-01 09:00 EST (open now; min_gap_minutes holds it until "
        "2026-12-01 09:31 EST)"
    ) in status
    plan = cli("--root", root, "plan", "--now", "2026-12-01 09:05", "--days", "1").out
    assert plan.splitlines()[0] == "Tue 2026-12-01 09:31 EST  slot  b"
    report = tick(deployment, connect, datetime(2026, 12, 1, 14, 31, tzinfo=UTC))  # 09:31 EST
    assert [line.split(":")[0] for line in report.done] == ["published b"]


def test_a_rate_limit_reset_is_said_in_the_config_zone(
    site: Deployment, emulator: Sandbox, connect: Connect, cli: Cli
) -> None:
    site.post("a", post("Story"))
    script(emulator, *["429:3600"] * 3)
    report = tick(site, connect, MORNING)
    assert any("the limit resets at" in line and " EST" in line for line in report.done)
    assert not any("UTC" in line for line in report.done)


def test_expires_on_a_day_reads_as_the_end_of_that_day(site: Deployment, cli: Cli) -> None:
    site.post("a", post("Story", expires="2026-12-07"))
    first = cli("--root", site.root, "preview", "a").out.splitlines()[0]
    assert first == "a · approved · until the end of 7 Dec 2026"


# --- every bad argument is a usage error -----------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["run", "--now", "0001-01-01"], "out of range"),
        (["run", "--now", "tomorrow"], "is not a time"),
        (["sandbox", "--port", "-1"], "is not a port"),
        (["sandbox", "--port", "70000"], "is not a port"),
        (["sandbox", "--port", "99999"], "is not a port"),
        (["log", "--limit", "0"], "1 or more"),
        (["log", "--limit", "-1"], "1 or more"),
        (["plan", "--days", "0"], "1 up to 366"),
        (["plan", "--days", "-1"], "1 up to 366"),
        (["plan", "--days", "3000000"], "1 up to 366"),
    ],
)
def test_bad_arguments_are_usage_errors(
    site: Deployment, cli: Cli, capsys: pytest.CaptureFixture[str], argv: list[str], says: str
) -> None:
    with pytest.raises(SystemExit) as stop:
        cli("--root", site.root, *argv)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert says in err
    assert "internal error" not in err
    assert "Traceback" not in err


def test_version(cli: Cli, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        cli("--version")
    assert stop.value.code == 0
    assert capsys.readouterr().out == f"interlink-bot {__version__}\n"


@pytest.mark.parametrize(
    "command", ["check", "preview", "run", "plan", "log", "status", "pause", "resume", "retry"]
)
def test_every_command_has_help_with_a_description_and_examples(
    cli: Cli, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    with pytest.raises(SystemExit):
        cli(command, "--help")
    shown = capsys.readouterr().out
    assert "examples:\n  interlink-bot " in shown
    summary, details = shown.split("\n\n")[1:3]
    assert summary.endswith(".")
    assert len(details) > 30
    assert not details.startswith("options")
    if command in ("run", "plan", "status"):
        assert "2026-03-29T08:05Z" in shown
        assert "config's time zone" in shown


def test_a_busy_port_is_named_with_how_to_pick_another(cli: Cli) -> None:
    busy = Sandbox(0, None)
    try:
        port = busy.server_address[1]
        result = cli("sandbox", "--port", str(port))
    finally:
        busy.server_close()
    assert result.status == 2
    assert result.err == (
        f"interlink-bot: port {port} is in use (another sandbox?); pick another with --port, "
        f"e.g. --port {port + 1}\n"
    )


def test_retry_and_log_name_unknown_ids_and_published_posts(
    site: Deployment, emulator: Sandbox, connect: Connect, cli: Cli
) -> None:
    site.post("digest/families-appeal", post("Appeal"))
    site.post("digest/refused", post("Refused", priority="1"))
    script(emulator, "400")
    tick(site, connect, MORNING)
    root = site.root
    unknown = cli("--root", root, "retry", "digest/familes-appeal")
    assert (unknown.status, unknown.err) == (
        1,
        "interlink-bot: no post with id 'digest/familes-appeal' in queue/ or the ledger; did "
        "you mean 'digest/families-appeal'?\n",
    )
    published = cli("--root", root, "retry", "digest/families-appeal")
    assert published.status == 1
    assert "digest/families-appeal is already published (https://x.com/i/web/status/" in (
        published.err
    )
    by_path = cli("--root", root, "retry", "queue/digest/refused.yaml")
    assert (by_path.status, by_path.out) == (0, "digest/refused is back in line for the next run\n")
    again = cli("--root", root, "retry", "digest/refused")
    assert again.status == 1
    assert "has not failed for good: it is still in line" in again.err
    # after retry, log no longer tells anyone to run retry
    line = next(
        line for line in cli("--root", root, "log").out.splitlines() if "digest/refused" in line
    )
    assert "retrying" in line
    assert "back in line (retry)" in line
    assert "retry`" not in line
    for attempts in ([], ["--attempts"]):
        unknown_log = cli("--root", root, "log", "--post", "nope", *attempts)
        assert unknown_log.status == 1
        assert "no post with id 'nope'" in unknown_log.err
    preview = cli("--root", root, "preview", "queue/digest/families-appeal.yaml")
    assert preview.out.startswith("digest/families-appeal · approved")
    nope = cli("--root", root, "log", "--post", "nope")
    assert nope.status == 1
    assert "no post with id 'nope'" in nope.err
    site.post("digest/draft", post("Draft").replace("approved: true", "approved: false"))
    draft = cli("--root", root, "retry", "digest/draft")
    assert draft.err == (
        "interlink-bot: digest/draft has not been sent yet, so there is nothing to retry; it "
        "is a draft: set approved: true for it to go out\n"
    )
    site.post("digest/later", post("Later"))
    later = cli("--root", root, "log", "--post", "digest/later")
    assert (later.status, later.out) == (0, "digest/later: nothing published or attempted yet\n")


def test_a_missing_folder_credential_ledger_or_state_is_named(
    site: Deployment, cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing = cli("--root", tmp_path / "nonexistent", "status")
    assert missing.status == 2
    assert missing.err.startswith(f"interlink-bot: {tmp_path / 'nonexistent'}: no such folder")
    for name, value in ALL_CREDENTIALS.items():
        if name != "X_ACCESS_TOKEN_SECRET":
            monkeypatch.setenv(name, value)
    status = cli("--root", site.root, "status").out
    assert "x: credentials: NOT SET: X_ACCESS_TOKEN_SECRET missing" in status
    assert (
        "x: credentials are not set: X_ACCESS_TOKEN_SECRET is missing (the other 3 are set)"
        in status
    )
    state = site.root / "state"
    state.mkdir()
    (state / "ledger.sqlite3").write_bytes(b"this is not a database" * 100)
    for command in ("status", "run", "log", "plan"):
        corrupt = cli("--root", site.root, command)
        assert corrupt.status == 2, command
        assert "ledger.sqlite3: cannot be opened as the bot's ledger" in corrupt.err
        assert "Restore it from a backup" in corrupt.err
        assert "internal error" not in corrupt.err
    shutil.rmtree(state)
    cli("--root", site.root, "pause", "--reason", "r")  # a real ledger, then pages damaged
    ledger = sqlite3.connect(state / "ledger.sqlite3")
    with ledger:
        ledger.execute("CREATE TABLE filler (x)")
        ledger.executemany("INSERT INTO filler VALUES (?)", [("y" * 500,)] * 200)
    # the pages every command reads: the parts table's, its indexes' and the settings'
    page_size = ledger.execute("PRAGMA page_size").fetchone()[0]
    roots = ledger.execute(
        "SELECT rootpage FROM sqlite_master WHERE tbl_name IN ('parts', 'settings')"
    ).fetchall()
    ledger.close()
    damaged = bytearray((state / "ledger.sqlite3").read_bytes())
    for (root,) in roots:
        damaged[(root - 1) * page_size : root * page_size] = b"\xff" * page_size
    (state / "ledger.sqlite3").write_bytes(bytes(damaged))
    for command in ("status", "plan", "log", "run", "resume"):
        broken = cli("--root", site.root, command)
        assert broken.status == 2, command
        assert "cannot be opened as the bot's ledger (database disk image is malformed)" in (
            broken.err
        )
    shutil.rmtree(state)
    state.write_text("not a folder")
    for command in ("run", "pause", "status", "plan", "log", "resume"):
        result = cli("--root", site.root, command)
        assert result.status == 2, command
        assert result.err == (
            f"interlink-bot: {state}: the state folder cannot be used; it is a file: move it "
            "aside, or set paths.state to a folder\n"
        )


def test_the_sandbox_script_refuses_what_it_does_not_understand(emulator: Sandbox) -> None:
    def send(body: bytes) -> tuple[int, dict[str, object]]:
        request = urllib.request.Request(
            f"{emulator.base_url}/sandbox/script", data=body, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    for body, says in (
        (b"{not json", "the body is not JSON"),
        (b'{"a": 1}', "the body is not a list"),
        (b'["explode"]', "unknown answer 'explode'"),
        (b'["upload:maybe"]', "unknown answer 'upload:maybe'"),
    ):
        status, answer = send(body)
        assert status == 400
        assert str(answer["detail"]).startswith(says)
        assert '"429:SECONDS"' in str(answer["detail"])
    assert send(b'["503", "429:30", "upload:400"]') == (
        200,
        {"script": ["503", "429:30", "upload:400"]},
    )


# --- text people read --------------------------------------------------------------------------


def test_thread_parts_are_numbered_one_way_for_people(
    site: Deployment, emulator: Sandbox, connect: Connect, cli: Cli
) -> None:
    site.post("t", post("Digest") + 'thread: ["second", "third"]\n')
    report = tick(site, connect, MORNING)
    assert [line.split(":")[0] for line in report.done] == [
        "published t part 1/3",
        "published t part 2/3",
        "published t part 3/3",
    ]
    preview = cli("--root", site.root, "preview", "t").out
    assert "part 1/3 · " in preview
    assert "part 3/3 · " in preview
    lines = cli("--root", site.root, "log", "--post", "t", "--limit", "1").out.splitlines()
    assert len(lines) == 1
    assert "  t part 1/3  " in lines[0]
    all_lines = cli("--root", site.root, "log", "--post", "t").out.splitlines()
    assert [line.split("  x  ")[1].split("  ")[0] for line in all_lines] == [
        "t part 1/3",
        "t part 2/3",
        "t part 3/3",
    ]
    parts = [
        json.loads(line)["part"]
        for line in cli("--root", site.root, "log", "--post", "t", "--json").out.splitlines()
    ]
    assert parts == [0, 1, 2]  # SPEC's part stays 0-based


def test_a_second_pause_keeps_the_first_reason_and_plan_says_paused(
    site: Deployment, cli: Cli
) -> None:
    site.post("a", post("Story"))
    assert cli("--root", site.root, "pause", "--reason", "wrong link").status == 0
    second = cli("--root", site.root, "pause", "--reason", "legal check")
    assert "already paused since" in second.out
    assert "reasons now: wrong link; legal check" in second.out
    status = cli("--root", site.root, "status").out
    assert "wrong link; legal check" in status
    plan = cli("--root", site.root, "plan", "--now", "2026-12-01 08:00").out.splitlines()
    assert plan[0].startswith("PAUSED since ")
    assert "(wrong link; legal check)" in plan[0]
    assert cli("--root", site.root, "resume").out == "resumed: the next run publishes what is due\n"


def test_status_while_a_part_is_being_sent_shows_no_old_error_with_a_new_time(
    site: Deployment, emulator: Sandbox, connect: Connect, cli: Cli
) -> None:
    site.post("a", post("Story"))
    script(emulator, "503")
    tick(site, connect, MORNING)  # a meets a 503 at 08:35 EST and waits
    ledger = sqlite3.connect(site.root / "state" / "ledger.sqlite3")
    with ledger:  # a run at 12:35 has begun sending it again: pending, and still no answer
        ledger.execute("UPDATE parts SET status = 'pending', at = '2026-12-01T17:35:00Z'")
    ledger.close()
    status = cli("--root", site.root, "status", "--now", "2026-12-01 12:36").out
    assert "x: last error: 2026-12-01 08:35 EST a: X is having trouble (503" in status
    line = cli("--root", site.root, "log").out
    assert "being sent now" in line
    assert "503" not in line


def test_a_one_letter_credential_never_garbles_output(
    site: Deployment, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    site.post("a", post("Story"))
    for name, value in zip(ALL_CREDENTIALS, ("x", "s", "a", "e"), strict=True):
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("X_API_BASE_URL", "http://127.0.0.1:9")  # "rehearsal's" holds an s
    status = cli("--root", site.root, "status").out
    assert "****" not in status
    assert "x: credentials: set" in status
    assert "about the rehearsal's records" in status
    summary = json.loads(cli("--root", site.root, "status", "--json").out)
    assert list(summary["networks"]) == ["x"]


def test_check_json_and_github_formats(site: Deployment, cli: Cli) -> None:
    site.post("bad", "title: Story\nurl: ftp://example.org\napproved: true\n")
    site.post("good", post("Story"))
    text = cli("--root", site.root, "check")
    entries = [
        json.loads(line) for line in cli("--root", site.root, "check", "--json").out.splitlines()
    ]
    plan_kinds = {
        json.loads(line)["kind"]
        for line in cli("--root", site.root, "plan", "--json").out.splitlines()
    }
    assert plan_kinds == {"planned", "spending", "will_not_go_out"}  # spending: X's month
    assert [(e["path"], e["line"], e["field"], e["severity"]) for e in entries] == [
        ("queue/bad.yaml", 2, "url", "error")
    ]
    assert set(entries[0]) == {"path", "line", "field", "message", "severity"}
    assert text.out == f"queue/bad.yaml:2: {entries[0]['message']}\n"
    github = cli("--root", site.root, "check", "--format", "github")
    assert github.status == 1
    assert github.out == (
        "::error file=queue/bad.yaml,line=2,title=interlink-bot check%3A url::"
        f"{entries[0]['message']}\n"
    )
    site.write("config/bot.yaml", "timezone: Mars/Olympus\n")
    broken = cli("--root", site.root, "check", "--format", "github")
    assert broken.status == 2
    assert broken.out.startswith(
        "::error file=config/bot.yaml,line=1,title=interlink-bot check%3A timezone::timezone"
    )


def test_a_file_with_two_problems_is_told_both_and_counted_once(
    site: Deployment, emulator: Sandbox, connect: Connect, cli: Cli
) -> None:
    site.post("bad", "title: Story\nurl: ftp://example.org\napproved: maybe\n")
    report = tick(site, connect, MORNING)
    assert [line.split(": ")[0] for line in report.problems] == [
        "queue/bad.yaml:2",
        "queue/bad.yaml:3",
    ]
    status = cli("--root", site.root, "status").out.splitlines()
    assert status[0] == (
        "queue: 0 approved, 0 drafts, 1 invalid, 0 published, 0 expired, 0 failed, "
        "1 will not go out"
    )
    assert sum(line.startswith("  queue/bad.yaml:") for line in status) == 2


def test_a_dry_run_says_a_rate_limit_would_hold_a_real_run(
    site: Deployment, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in ALL_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    site.post("a", post("Story"))
    ledger = Ledger.open(site.root / "state")
    ledger.hold_network("x", datetime(2026, 12, 1, 14, 0, 5, tzinfo=UTC))
    ledger.close()
    result = cli("--root", site.root, "run", "--dry-run", "--now", "2026-12-01 08:35")
    assert result.out.splitlines() == [
        "would publish a (slot 2026-12-01 08:30 EST): Story https://example.org/Story",
        "but a real run would not send now: X's rate limit resets at 2026-12-01 09:00:05 EST; "
        "nothing is sent to X before then, and what is due waits",
    ]
