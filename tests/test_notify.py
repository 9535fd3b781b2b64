"""Told once (SPEC "Notifications"): real apprise, its json:// target, and a real HTTP receiver
on 127.0.0.1 — one message when a problem opens, one when it clears, nothing in between; the
heartbeat after every completed run, quiet ones included."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from bot.config import load_config
from bot.ledger import Ledger
from bot.networks.x.client import Credentials, Publisher
from bot.networks.x.sandbox import Sandbox
from bot.notify import notification_urls, redact_url, send
from bot.runner import RunReport, run
from bot.start import main as start_main
from tests.conftest import KEYS, Deployment, Result, on_x, serving
from tests.test_publisher import script
from tests.test_run import AT_SLOT, CONFIG, post

Connect = Callable[[Credentials], Publisher]
TOKEN = "s3cr3t-webhook-token-QZ"


class Receiver(ThreadingHTTPServer):
    """Records every request; answers ``status`` (200 unless told otherwise)."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.messages: list[dict[str, Any]] = []
        self.gets: list[str] = []
        self.status = 200

    @property
    def url(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.messages.append({"path": self.path, **json.loads(body or b"{}")})
        self._answer()

    def do_GET(self) -> None:
        self.server.gets.append(self.path)
        self._answer()

    def _answer(self) -> None:
        self.send_response(self.server.status)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    with serving(server):
        yield server


@pytest.fixture
def site(deployment: Deployment, receiver: Receiver) -> Deployment:
    deployment.write(
        "config/bot.yaml",
        CONFIG + f"notify:\n  heartbeat_url: http://{receiver.url}/ping/{TOKEN}\n",
    )
    return deployment


def tick(site: Deployment, connect: Connect, receiver: Receiver, now: datetime) -> RunReport:
    urls = [f"json://{receiver.url}/hook/{TOKEN}"]
    return run(load_config(site.root), now, accounts=on_x(connect), notify_urls=urls)


def test_a_problem_is_told_once_when_it_opens_and_once_when_it_clears(
    site: Deployment, emulator: Sandbox, connect: Connect, receiver: Receiver
) -> None:
    site.post("a", post("Refused story"))
    script(emulator, "400")
    first = tick(site, connect, receiver, AT_SLOT)
    assert first.needs_a_person
    (message,) = receiver.messages
    assert message["title"] == "interlink-bot: 1 new problem"
    assert message["message"] == f"NEW: {first.problems[0]}"
    assert message["path"] == f"/hook/{TOKEN}"
    for minutes in (5, 10, 15):  # it persists: nothing more
        assert not tick(site, connect, receiver, AT_SLOT + timedelta(minutes=minutes)).problems
    assert len(receiver.messages) == 1
    config = load_config(site.root)
    ledger = Ledger.open(config.paths.state)
    ledger.retry("a", AT_SLOT)
    ledger.close()
    tick(site, connect, receiver, AT_SLOT + timedelta(minutes=20))
    assert [m["title"] for m in receiver.messages] == [
        "interlink-bot: 1 new problem",
        "interlink-bot: 1 problem cleared",
    ]
    assert receiver.messages[1]["message"] == f"CLEARED: {first.problems[0]}"
    # every completed run fetched the heartbeat
    assert receiver.gets == [f"/ping/{TOKEN}"] * 5


def test_an_undelivered_notification_never_fails_the_run_and_goes_with_the_next(
    site: Deployment, emulator: Sandbox, connect: Connect, receiver: Receiver
) -> None:
    site.post("a", post("Refused story", priority="1"))
    # b may go out only between the slots (09:00, 13:00), so it expires unpublished at 12:00.
    site.post("b", post("Old news", not_before="2026-01-05T10:00Z", expires="2026-01-05T12:00Z"))
    script(emulator, "400")
    receiver.status = 500
    first = tick(site, connect, receiver, AT_SLOT)
    assert first.needs_a_person  # the exit status still tells cron's mail
    assert "notification not delivered to json target #1: not delivered" in first.done
    assert all(TOKEN not in line for line in first.done)
    receiver.status = 200
    assert not tick(site, connect, receiver, AT_SLOT + timedelta(minutes=5)).problems
    assert len(receiver.messages) == 1  # the failed one; nothing new, so nothing sent
    # b expires at 12:00: the next message carries it and the one that was not delivered
    later = tick(site, connect, receiver, datetime(2026, 1, 5, 12, 5, tzinfo=UTC))
    assert later.problems == [
        "b: expired unpublished at 2026-01-05 12:00 GMT; change expires: to publish it, or "
        "remove the file"
    ]
    body = receiver.messages[-1]["message"].splitlines()
    assert body == [f"NEW: {first.problems[0]}", f"NEW: {later.problems[0]}"]
    assert receiver.messages[-1]["title"] == "interlink-bot: 2 new problems"


def test_a_notification_to_nowhere_is_reported_without_its_token() -> None:
    delivery = send([f"json://127.0.0.1:9/{TOKEN}", f"nonsense{TOKEN}"], "t", "b")
    assert delivery.delivered == []
    assert delivery.failed == [
        "json target #1: not delivered",
        "? target #2: not a notification URL apprise knows; fix it",
    ]
    assert redact_url(f"slack://{TOKEN}/B000/{TOKEN}", 3) == "slack target #3"


def test_notify_urls_come_from_the_config_and_notify_urls() -> None:
    assert notification_urls(["mailto://a@example.org"], "json://h/x, ntfy://t  json://h/x") == [
        "mailto://a@example.org",
        "json://h/x",
        "ntfy://t",
    ]


def test_notify_urls_from_the_environment_never_appear_in_output(
    site: Deployment, emulator: Sandbox, receiver: Receiver, cli: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    for name, value in (
        ("X_API_KEY", KEYS.api_key),
        ("X_API_SECRET", KEYS.api_secret),
        ("X_ACCESS_TOKEN", KEYS.access_token),
        ("X_ACCESS_TOKEN_SECRET", KEYS.access_token_secret),
        ("X_API_BASE_URL", emulator.base_url),
        ("NOTIFY_URLS", f"json://{receiver.url}/hook/{TOKEN}"),
    ):
        monkeypatch.setenv(name, value)
    site.post("a", post("Refused story"))
    script(emulator, "400")
    receiver.status = 500
    result = cli("--root", site.root, "-v", "run", "--now", "2026-01-05T09:05Z")
    assert result.status == 1
    assert receiver.messages  # it was tried
    assert TOKEN not in result.out + result.err
    assert "notification not delivered" in result.out


def test_a_quiet_run_fetches_the_heartbeat_too(
    site: Deployment, emulator: Sandbox, connect: Connect, receiver: Receiver,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    site.post("a", post("Story", publish_at="2026-01-05T12:00Z"))
    tick(site, connect, receiver, datetime(2026, 1, 5, 10, 0, tzinfo=UTC))  # leaves the marker
    assert receiver.gets == [f"/ping/{TOKEN}"]
    status = start_main(["--root", str(site.root), "run", "--now", "2026-01-05T10:30Z"])
    assert status == 0
    assert "bot.cli" not in capsys.readouterr().out
    assert receiver.gets == [f"/ping/{TOKEN}"] * 2
    assert emulator.state.requests == []


def test_importing_the_notifier_does_not_import_apprise() -> None:
    probe = "import sys, bot.notify, bot.runner; print('apprise' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("notify", "message"),
    [
        (
            "  url: [x]\n",
            "config/bot.yaml:6: unknown key 'notify.url'; did you mean 'urls'?",
        ),
        ("  urls: 5\n", "config/bot.yaml:6: notify.urls must be a list of apprise URLs"),
        (
            "  outage_minutes: soon\n",
            "config/bot.yaml:6: notify.outage_minutes must be a whole number",
        ),
        (
            "  heartbeat_url: ftp://x\n",
            "config/bot.yaml:6: notify.heartbeat_url must be a web address",
        ),
    ],
)
def test_a_wrong_notify_setting_is_one_clear_line(
    deployment: Deployment, cli: Callable[..., Result], notify: str, message: str
) -> None:
    deployment.write("config/bot.yaml", CONFIG + "notify:\n" + notify)
    result = cli("--root", deployment.root, "check")
    assert result.status == 2
    assert result.err.startswith(message), result.err
    assert len(result.err.splitlines()) == 1
