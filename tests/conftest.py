"""Shared fixtures: a throwaway deployment folder and a way to run the CLI in-process."""

from __future__ import annotations

import itertools
import os
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

import bot.loading
from bot.cli import main
from bot.networks.x.client import Credentials, Publisher
from bot.networks.x.network import XNetwork
from bot.networks.x.sandbox import OAuthKeys, Sandbox
from bot.retries import RetryBudget
from bot.runner import Account
from tests import pds_server

REPO = Path(__file__).resolve().parents[1]
# X's conformance data, vendored (Apache-2.0, see tests/data/twitter-text/README.md).
REFERENCE = Path(
    os.environ.get("TWITTER_TEXT_REFERENCE") or REPO / "tests" / "data" / "twitter-text"
)

MINIMAL_CONFIG = "timezone: Europe/London\n"


@dataclass
class Result:
    status: int
    out: str
    err: str


@dataclass
class Deployment:
    root: Path

    def write(self, relative: str, content: str | bytes) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    def post(self, post_id: str, content: str) -> Path:
        return self.write(f"queue/{post_id}.yaml", content)


@pytest.fixture
def deployment(tmp_path: Path) -> Deployment:
    site = Deployment(tmp_path / "site")
    site.write("config/bot.yaml", MINIMAL_CONFIG)
    (site.root / "queue").mkdir()
    (site.root / "media").mkdir()
    return site


@pytest.fixture(params=["libyaml", "pure-Python"])
def yaml_loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs a test once with each of PyYAML's safe loaders, the one bot.loading uses where
    libyaml is installed and the one it falls back to where it is not."""
    if request.param == "libyaml":
        if not hasattr(yaml, "CSafeLoader"):
            pytest.skip("PyYAML was installed without libyaml")
        base: type[object] = yaml.CSafeLoader
    else:
        base = yaml.SafeLoader
    monkeypatch.setattr(bot.loading, "_Loader", bot.loading.loader_on(base))
    return str(request.param)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    def run(*args: str | Path) -> Result:
        status = main([str(arg) for arg in args])
        captured = capsys.readouterr()
        return Result(status, captured.out, captured.err)

    return run


@pytest.fixture(scope="session")
def reference() -> Path:
    """X's conformance data, read at test time (tests/data/twitter-text)."""
    if not (REFERENCE / "weighted_length_cases.json").is_file():
        pytest.fail(f"twitter-text reference not found at {REFERENCE}; set TWITTER_TEXT_REFERENCE")
    return REFERENCE


# --- X emulator ------------------------------------------------------------------------------

KEYS = OAuthKeys(
    api_key="test-consumer-key-7Hq",
    api_secret="test-consumer-secret-p2Z",
    access_token="1234-test-access-token-Xw9",
    access_token_secret="test-token-secret-Lm4",
)
CREDENTIALS = Credentials(
    KEYS.api_key, KEYS.api_secret, KEYS.access_token, KEYS.access_token_secret
)
# The four values as the test wrote them, not as the product's Credentials hands them back.
SECRET_VALUES = (KEYS.api_key, KEYS.api_secret, KEYS.access_token, KEYS.access_token_secret)


# serve_forever looks for shutdown() every poll_interval (0.5 s by default): each test server's
# teardown would wait that long, which once made the suite wait more than it worked.
POLL_SECONDS = 0.005


@contextmanager
def serving(server: socketserver.BaseServer) -> Iterator[None]:
    """Serve ``server`` on a thread for the block's duration; stopped at once afterwards."""
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": POLL_SECONDS}, daemon=True
    )
    thread.start()
    try:
        yield
    finally:
        if isinstance(server, Sandbox):
            server.stop()
        else:
            server.shutdown()
            server.server_close()
        thread.join(timeout=5)


class Clock:
    """X's clock in the tests, read by the emulator (rate-limit resets) and the publisher (how
    long to wait for one): it stands still, so a slow machine cannot move a reset between the
    two. A whole second, as X's ``x-rate-limit-reset`` is."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def x_clock() -> Clock:
    return Clock()


@pytest.fixture
def emulator(x_clock: Clock) -> Iterator[Sandbox]:
    """A local X that checks every request's OAuth 1.0a signature against KEYS."""
    server = Sandbox(0, KEYS, clock=x_clock)
    with serving(server):
        yield server


class Sleeps(list[float]):
    """An injected sleep: remembers how long it was asked to wait, and returns at once."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def connect(
    emulator: Sandbox, sleeps: Sleeps, x_clock: Clock
) -> Callable[[Credentials], Publisher]:
    def make(credentials: Credentials) -> Publisher:
        return Publisher(
            credentials, base_url=emulator.base_url, timeout=2.0, sleep=sleeps, clock=x_clock
        )

    return make


# For tests where every scripted answer hangs: no answer can come, so a short timeout cuts
# nothing but the wait (six attempts of 0.3 s each were 1.8 s a test).
HUNG_TIMEOUT = 0.05


@pytest.fixture
def hung_x(emulator: Sandbox, sleeps: Sleeps, x_clock: Clock) -> Callable[[Credentials], Publisher]:
    """An X scripted to hang every answer: requests give up after HUNG_TIMEOUT. Its clocks
    stand still, so how long a hang really took never changes how often it is retried."""

    def make(credentials: Credentials) -> Publisher:
        return Publisher(
            credentials,
            base_url=emulator.base_url,
            timeout=HUNG_TIMEOUT,
            sleep=sleeps,
            clock=x_clock,
            elapsed=x_clock,
        )

    return make


@pytest.fixture
def slow_x(emulator: Sandbox, sleeps: Sleeps, x_clock: Clock) -> Callable[[Credentials], Publisher]:
    """An X that may not answer: requests time out after 0.3 s (clocks standing, as hung_x)."""

    def make(credentials: Credentials) -> Publisher:
        return Publisher(
            credentials,
            base_url=emulator.base_url,
            timeout=0.3,
            sleep=sleeps,
            clock=x_clock,
            elapsed=x_clock,
        )

    return make


def on_x(
    connect: Callable[[Credentials], Publisher], credentials: Credentials = CREDENTIALS
) -> dict[str, Account]:
    """A run's accounts: X alone, through ``connect`` (a fixture above) with ``credentials``."""
    return {"x": Account(lambda budget: XNetwork(connect(credentials), budget))}


def posts_on(emulator: Sandbox) -> list[dict[str, object]]:
    with emulator.state.lock:
        return list(emulator.state.posts)


def titles_on(emulator: Sandbox) -> list[str]:
    """What the emulator received, each post's text up to its link."""
    return [str(post["text"]).split(" https")[0] for post in posts_on(emulator)]


def tweet_requests(emulator: Sandbox) -> int:
    with emulator.state.lock:
        return sum(1 for request in emulator.state.requests if request["path"] == "/2/tweets")


def environment(emulator: Sandbox | str, root: Path) -> dict[str, str]:
    """For a subprocess: the credentials, the emulator's address (or a sandbox's, given as
    its base URL), and nothing else of ours."""
    base_url = emulator if isinstance(emulator, str) else emulator.base_url
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "BOT_ROOT": str(root),
        "X_API_KEY": KEYS.api_key,
        "X_API_SECRET": KEYS.api_secret,
        "X_ACCESS_TOKEN": KEYS.access_token,
        "X_ACCESS_TOKEN_SECRET": KEYS.access_token_secret,
        "X_API_BASE_URL": base_url,
    }


# --- Bluesky: one real PDS per test module (tests/pds_server.py) ------------------------------

_handles = itertools.count(1)


@pytest.fixture(scope="module")
def pds() -> Iterator[pds_server.Pds]:
    """One PDS per test module (about 2 s), stopped at the module's end: two never run at
    once (a session-wide one broke while tests/test_pds_smoke.py ran its own, in CI)."""
    if not pds_server.installed():
        pytest.skip("tests/pds/node_modules is not installed: run tools/install_pds.py")
    with pds_server.running_pds() as server:
        yield server


@pytest.fixture
def account(pds: pds_server.Pds) -> pds_server.Account:
    """A fresh Bluesky account per test, so each test's repo holds only its own posts."""
    domain = pds.handle_domains[0]
    return pds_server.create_account(pds.url, f"bot{next(_handles)}-{int(time.time())}{domain}")


BLUESKY_NOW = 1_767_600_000.0  # the network's clock, as the Bluesky client reads it: standing still


def on_x_and_bluesky(
    root: Path,
    account: pds_server.Account,
    connect: Callable[[Credentials], Publisher],
    sleeps: Callable[[float], None],
) -> dict[str, Account]:
    """A run's accounts: X through ``connect``, and the PDS ``account`` on Bluesky (its
    session kept in ROOT/state, as the CLI keeps it)."""
    from bot.networks.bluesky.client import BlueskyNetwork  # noqa: PLC0415 - the atproto SDK

    def bluesky(budget: RetryBudget) -> BlueskyNetwork:
        return BlueskyNetwork(
            service=account.service,
            handle=account.handle,
            password=account.app_password,
            session_file=root / "state" / "bluesky-session",
            budget=budget,
            sleep=sleeps,
            clock=lambda: BLUESKY_NOW,
        )

    return {**on_x(connect), "bluesky": Account(bluesky)}
