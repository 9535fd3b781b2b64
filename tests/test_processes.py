"""Whole `interlink-bot` processes against the X emulator: kills, races, and secrets."""

from __future__ import annotations

import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from bot.networks.x.sandbox import Sandbox
from tests.conftest import (
    SECRET_VALUES,
    Deployment,
    environment,
    posts_on,
    tweet_requests,
)
from tests.test_publisher import script
from tests.test_run import CONFIG, ledger_rows, post

RUN = [sys.executable, "-m", "bot", "run", "--now", "2026-01-05T09:05Z"]


@pytest.fixture
def site(deployment: Deployment) -> Deployment:
    deployment.write("config/bot.yaml", CONFIG)
    deployment.post("a", post("Story"))
    return deployment


def test_killed_mid_request_then_the_next_run_publishes_exactly_once(
    site: Deployment, emulator: Sandbox
) -> None:
    script(emulator, "hang")  # X creates the post; its answer never arrives
    env = environment(emulator, site.root)
    first = subprocess.Popen(RUN, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert emulator.wait_for_requests(1, timeout=60), "the run never reached the emulator"
        first.send_signal(signal.SIGKILL)
    finally:
        first.wait(timeout=60)
    assert first.returncode == -signal.SIGKILL
    assert ledger_rows(site, emulator.base_url) == [("a", 0, "pending", 1)]

    second = subprocess.run(
        [*RUN[:-1], "2026-01-05T09:10Z"], env=env, capture_output=True, text=True, check=False
    )
    assert second.returncode == 0, second.stderr
    assert len(posts_on(emulator)) == 1
    # The resend met X's duplicate 403, then two reads (who am I, my posts) found its id.
    assert ledger_rows(site, emulator.base_url) == [("a", 0, "published", 4)]


def test_killed_during_part_two_of_a_thread_then_the_next_run_completes_it_once(
    site: Deployment, emulator: Sandbox
) -> None:
    site.post("a", post("Digest") + 'thread: ["part two", "part three"]\n')
    script(emulator, "ok", "hang")  # part two is created; its answer never arrives
    env = environment(emulator, site.root)
    first = subprocess.Popen(RUN, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert emulator.wait_for_requests(2, timeout=60)
        first.send_signal(signal.SIGKILL)
    finally:
        first.wait(timeout=60)
    assert [row[:3] for row in ledger_rows(site, emulator.base_url)] == [
        ("a", 1, "pending"),
        ("a", 0, "published"),
    ]

    second = subprocess.run(
        [*RUN[:-1], "2026-01-05T09:10Z"], env=env, capture_output=True, text=True, check=False
    )
    assert second.returncode == 0, second.stderr
    posted = posts_on(emulator)
    assert [p["text"] for p in posted][1:] == ["part two", "part three"]
    assert [p["in_reply_to"] for p in posted] == [None, posted[0]["id"], posted[1]["id"]]
    assert [row[2] for row in ledger_rows(site, emulator.base_url)] == ["published"] * 3


def wait_for_exits(runs: list[subprocess.Popen[bytes]], count: int) -> None:
    """Block until ``count`` of ``runs`` have exited (their stdout closes), without polling."""
    with selectors.DefaultSelector() as selector:
        for run in runs:
            assert run.stdout is not None
            selector.register(run.stdout, selectors.EVENT_READ)
        closed = 0
        while closed < count:
            events = selector.select(timeout=60)
            assert events, "runs did not finish"
            for key, _ in events:
                if not os.read(key.fd, 65536):
                    selector.unregister(key.fileobj)
                    closed += 1


def test_five_runs_started_together_publish_one_post(site: Deployment, emulator: Sandbox) -> None:
    # X holds the first request; the four other runs must give way rather than send too.
    script(emulator, "hold")
    env = environment(emulator, site.root)
    runs = [
        subprocess.Popen(RUN, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        for _ in range(5)
    ]
    try:
        assert emulator.wait_for_requests(1, timeout=60)
        wait_for_exits(runs, 4)
    finally:
        emulator.release()
        for run in runs:
            run.wait(timeout=60)
    assert [run.returncode for run in runs] == [0] * 5
    assert tweet_requests(emulator) == 1
    assert len(posts_on(emulator)) == 1
    assert [row[:3] for row in ledger_rows(site, emulator.base_url)] == [("a", 0, "published")]


def test_dotenv_is_read_but_never_overrides_the_environment(
    site: Deployment, emulator: Sandbox
) -> None:
    env = environment(emulator, site.root)
    lines = [
        f"{name}={env.pop(name)}"
        for name in list(env)
        if name.startswith("X_API_") or name.startswith("X_ACCESS")
    ]
    (site.root / ".env").write_text("\n".join(lines) + "\n")
    env["X_API_SECRET"] = "a-wrong-secret-in-the-environment"
    refused = subprocess.run(RUN, env=env, capture_output=True, text=True, check=False)
    assert refused.returncode == 1
    assert "401" in refused.stderr
    del env["X_API_SECRET"]
    published = subprocess.run(RUN, env=env, capture_output=True, text=True, check=False)
    assert published.returncode == 0, published.stderr
    assert len(posts_on(emulator)) == 1


# python -m bot, with every sleep returning at once: the runs below back off between retries.
WITHOUT_WAITING = [sys.executable, str(Path(__file__).with_name("without_waiting.py"))]


def run_bot(env: dict[str, str], root: Path, *args: str) -> str:
    done = subprocess.run(
        [*WITHOUT_WAITING, "-v", "--root", str(root), *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout + done.stderr


def test_no_secret_in_any_output_with_v(site: Deployment, emulator: Sandbox) -> None:
    env = environment(emulator, site.root)
    site.post("b", post("Second story"))
    site.post("c", post("Third story"))
    output = run_bot(env, site.root, "run", "--dry-run", "--now", "2026-01-05T09:05Z")
    script(emulator, "401")
    output += run_bot(env, site.root, "run", "--now", "2026-01-05T09:05Z")
    script(emulator, "403-permissions")
    output += run_bot(env, site.root, "run", "--now", "2026-01-05T09:06Z")
    script(emulator, "503", "503")
    output += run_bot(env, site.root, "run", "--now", "2026-01-05T09:07Z")
    output += run_bot(env, site.root, "run", "--now", "2026-01-05T13:05Z")
    unreachable = {**env, "X_API_BASE_URL": "http://127.0.0.1:9"}
    output += run_bot(unreachable, site.root, "run", "--now", "2026-01-06T09:05Z")
    for command in ("status", "log", "check", "plan"):
        output += run_bot(env, site.root, command)
    output += run_bot(env, site.root, "log", "--json")
    output += run_bot(env, site.root, "log", "--attempts", "--json")
    assert "published a" in output  # the runs really ran
    assert "401" in output
    for secret in SECRET_VALUES:
        assert secret not in output
    written = [path for path in (site.root / "state").rglob("*") if path.is_file()]
    assert any(path.suffix == ".sqlite3" for path in written)  # the rehearsal's ledgers
    for path in written:  # the ledger, its journal, the lock, the index: every file
        stored = path.read_bytes().decode("latin-1")
        for secret in SECRET_VALUES:
            assert secret not in stored, path


def test_the_sandbox_command_serves_a_rehearsal_end_to_end(site: Deployment) -> None:
    """`interlink-bot sandbox` as README starts it, then a run against it, as two processes:
    what it prints, what it stored, its page, its signature check, and a clean Ctrl-C."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base_url = f"http://127.0.0.1:{port}"
    env = environment(base_url, site.root)
    sandbox = subprocess.Popen(
        [*WITHOUT_WAITING, "sandbox", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert sandbox.stdout is not None
        waiting = selectors.DefaultSelector()
        waiting.register(sandbox.stdout, selectors.EVENT_READ)
        assert waiting.select(timeout=60), "the sandbox never said it listens"
        assert sandbox.stdout.readline() == (
            f"sandbox: a stand-in for X at {base_url} (page: {base_url}/)\n"
        )  # printed once it listens
        assert sandbox.stdout.readline() == (
            f"  X_API_BASE_URL={base_url} interlink-bot run   # to publish to it\n"
        )
        ran = subprocess.run(
            [*WITHOUT_WAITING, "--root", str(site.root), "run", "--now", "2026-01-05T09:05Z"],
            env=env, capture_output=True, text=True, check=False, timeout=60,
        )  # fmt: skip
        assert (ran.returncode, ran.stderr) == (0, "")
        assert ran.stdout == (
            f"[rehearsal against {base_url}] published a: "
            "https://x.com/i/web/status/1850000000000000001\n"
        )
        with urllib.request.urlopen(f"{base_url}/sandbox/state", timeout=10) as answer:
            (stored,) = json.load(answer)["posts"]
        assert (stored["id"], stored["text"]) == (
            "1850000000000000001",
            "Story https://example.org/Story",
        )
        with urllib.request.urlopen(f"{base_url}/", timeout=10) as answer:
            page = answer.read().decode()
        assert "Story https://example.org/Story" in page

        # The sandbox checks signatures against the credentials it was started with, as X does.
        forged = {**env, "X_ACCESS_TOKEN_SECRET": "not-the-secret"}
        site.post("b", post("Second story"))
        refused = subprocess.run(
            [*WITHOUT_WAITING, "--root", str(site.root), "run", "--now", "2026-01-05T13:05Z"],
            env=forged, capture_output=True, text=True, check=False, timeout=60,
        )  # fmt: skip
        assert refused.returncode == 1
        assert "b: waits: X refused the credentials (401" in refused.stdout
        with urllib.request.urlopen(f"{base_url}/sandbox/state", timeout=10) as answer:
            assert len(json.load(answer)["posts"]) == 1
    finally:
        sandbox.send_signal(signal.SIGINT)  # Ctrl-C, as a person stops it
        out, err = sandbox.communicate(timeout=30)
    assert (sandbox.returncode, out, err) == (0, "", "")
