"""A real Mastodon API server on 127.0.0.1 for the tests: PyPI's mastodon-mock, run by the venv.

Not a test module. `running_mastodon()` starts ``python -m mastodon_mock serve`` (FastAPI and
SQLite, written by people outside this project) as a process of its own, bound to 127.0.0.1 on
a free port, with its database, its uploaded media and its config in a temporary folder of its
own, and waits, within a deadline, until it answers ``GET /health``. Nothing goes online.

`create_account()` makes an account the way one is made on a real instance: an app registers,
a person signs up, and the bot's app is granted a token by the OAuth authorization-code flow.
`list_statuses()` reads what the server stored. Both use urllib, not Mastodon.py, so that a
test judges the client under test by the server's own word, not by the client's.

What the mock does differently from a real instance (the smoke test pins each down):
``/oauth/authorize`` is an account picker with no password, so a code is had for any username;
it checks no client secret, redirect URI or scope, and enforces no scopes unless configured to;
it counts a status's length with ``len()``, every URL at its full length (Mastodon counts 23).
"""

from __future__ import annotations

import html
import importlib.util
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import IO, Any

START_TIMEOUT = 30.0  # seconds to a healthy server; it takes about 2 s on a 2-core machine
STOP_TIMEOUT = 10.0
HTTP_TIMEOUT = 30.0
POLL_SECONDS = 0.05
BIND_ATTEMPTS = 3  # a free port picked here can be taken before the server binds it
OOB = "urn:ietf:wg:oauth:2.0:oob"  # the code is shown to the person, who gives it to the bot
# What the bot needs: to post (statuses, media) and to find its own recent statuses again.
BOT_SCOPES = "read:accounts read:statuses write:media write:statuses"


class MastodonError(RuntimeError):
    """The server did not start, or stopped early."""


class ApiError(RuntimeError):
    """A call answered with an HTTP error: its status and the body's ``error``."""

    def __init__(self, method: str, path: str, status: int, error: str | None) -> None:
        super().__init__(f"{method} {path}: HTTP {status}: {error}")
        self.method = method
        self.path = path
        self.status = status
        self.error = error


@dataclass(frozen=True)
class Mastodon:
    url: str  # http://127.0.0.1:PORT, what clients use (api_base_url)
    root: Path  # the server's own folder: config, database, media, log
    process: subprocess.Popen[bytes] = field(repr=False)
    log: Path = field(repr=False)  # the process's stdout and stderr (uvicorn's access log)

    def stderr(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@dataclass(frozen=True)
class Account:
    url: str  # the server's URL, for Mastodon(api_base_url=...)
    username: str
    email: str
    password: str
    account_id: str
    acct: str
    client_id: str  # the bot's app
    client_secret: str = field(repr=False)
    access_token: str = field(repr=False)  # from the authorization-code grant
    scopes: str = BOT_SCOPES  # as the token endpoint granted them


def installed() -> bool:
    """Whether mastodon-mock is importable by this interpreter (it is a test extra)."""
    return importlib.util.find_spec("mastodon_mock") is not None  # found, not imported


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """The authorization step's redirect carries the code; it is read, not followed."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: Message,
        newurl: str,
    ) -> None:
        return None


# No proxy from the environment (HTTP_PROXY and the like): these requests stay on this machine.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _toml(value: str) -> str:
    return json.dumps(value)  # a JSON string is a TOML basic string for these paths and names


def _write_config(root: Path, port: int) -> Path:
    """Everything in ``root``; no seeded accounts (tests make their own, as people do); the
    domain it puts in status URLs is the address it is reached at."""
    config = root / "mastodon_mock.toml"
    config.write_text(
        f'url_scheme = "http"\n'
        f"domain = {_toml(f'127.0.0.1:{port}')}\n"
        f"media_storage_path = {_toml(str(root / 'media'))}\n"
        f"[database]\npath = {_toml(str(root / 'mastodon.sqlite3'))}\n"
        f"[seed]\naccounts = []\n",
        encoding="utf-8",
    )
    return config


def _tail(log: Path, chars: int = 4000) -> str:
    try:
        return log.read_text(encoding="utf-8", errors="replace")[-chars:]
    except OSError:
        return "(no log)"


def _healthy(url: str) -> bool:
    try:
        with _OPENER.open(f"{url}/health", timeout=1) as response:
            return bool(response.status == 200)
    except (OSError, ValueError):
        return False


def _wait_ready(process: subprocess.Popen[bytes], url: str, deadline: float, log: Path) -> bool:
    """True once healthy; False if it exited because its port was taken; raises otherwise.
    Healthy is its own word that it bound the port, then an answer: another server that had
    the port first could answer /health too."""
    while f"Uvicorn running on {url}" not in _tail(log) or not _healthy(url):
        if process.poll() is not None:
            if "address already in use" in _tail(log).lower():
                return False
            raise MastodonError(
                f"mastodon_mock exited with status {process.returncode} before it was ready;"
                f" log:\n{_tail(log)}"
            )
        if time.monotonic() > deadline:
            raise MastodonError(f"not healthy by its deadline; log:\n{_tail(log)}")
        time.sleep(POLL_SECONDS)
    return True


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (uvicorn shuts down cleanly), then SIGKILL if it does not go in time."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _start(root: Path, log_file: IO[bytes], port: int) -> subprocess.Popen[bytes]:
    config = _write_config(root, port)
    command = [sys.executable, "-m", "mastodon_mock", "serve", "--config", str(config)]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "info"]
    return subprocess.Popen(
        command,
        cwd=root,  # no stray .mastodon_mock.toml or pyproject.toml is read from elsewhere
        env={**os.environ, "TMPDIR": str(root)},  # anything it puts in a temp file stays here
        stdin=subprocess.DEVNULL,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )


@contextmanager
def running_mastodon(timeout: float = START_TIMEOUT) -> Iterator[Mastodon]:
    """A fresh, empty server for the duration of the block, then stopped and its files removed."""
    root = Path(tempfile.mkdtemp(prefix="mastodon-"))
    log = root / "server.log"
    try:
        deadline = time.monotonic() + timeout
        for _ in range(BIND_ATTEMPTS):
            port = _free_port()
            url = f"http://127.0.0.1:{port}"
            with log.open("wb") as log_file:
                process = _start(root, log_file, port)
            try:
                if _wait_ready(process, url, deadline, log):
                    yield Mastodon(url=url, root=root, process=process, log=log)
                    return
            finally:
                _stop(process)
        raise MastodonError(f"no free port in {BIND_ATTEMPTS} attempts; log:\n{_tail(log)}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def call(
    url: str,
    method: str,
    path: str,
    *,
    token: str | None = None,
    form: Mapping[str, str] | None = None,
    params: Mapping[str, str | int] | None = None,
) -> tuple[int, Message, bytes]:
    """One request with urllib: its status, headers and body; a redirect is returned, not
    followed; an HTTP error raises ApiError with the body's ``error``."""
    target = f"{url.rstrip('/')}{path}"
    if params:
        target += "?" + urllib.parse.urlencode(params)
    headers = {"Accept": "application/json"}
    data = None
    if form is not None:
        data = urllib.parse.urlencode(form).encode("utf-8")
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(target, data=data, headers=headers, method=method)
    try:
        with _OPENER.open(request, timeout=HTTP_TIMEOUT) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        if 300 <= error.code < 400:
            return error.code, error.headers, error.read()
        text = error.read().decode("utf-8", errors="replace")
        try:
            message = json.loads(text).get("error")
        except (ValueError, AttributeError):
            message = text
        raise ApiError(method, path, error.code, message) from None


def api(
    url: str,
    method: str,
    path: str,
    *,
    token: str | None = None,
    form: Mapping[str, str] | None = None,
    params: Mapping[str, str | int] | None = None,
) -> Any:
    """One REST call, its JSON answer."""
    _, _, body = call(url, method, path, token=token, form=form, params=params)
    return json.loads(body) if body else None


def register_app(url: str, name: str, scopes: str, redirect_uri: str = OOB) -> dict[str, Any]:
    """POST /api/v1/apps: the client id and secret."""
    form = {"client_name": name, "redirect_uris": redirect_uri, "scopes": scopes}
    app: dict[str, Any] = api(url, "POST", "/api/v1/apps", form=form)
    return app


def authorization_code(
    url: str, client_id: str, username: str, scopes: str, redirect_uri: str = OOB
) -> str:
    """What the person does in the browser: open /oauth/authorize, pick (in the mock, there is
    no password) the account, approve; the code is shown (out of band) or redirected with."""
    query = {
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": scopes,
    }
    _, _, page = call(url, "GET", "/oauth/authorize", params=query)
    if f'value="{username}"' not in page.decode("utf-8", errors="replace"):
        raise ApiError("GET", "/oauth/authorize", 200, f"{username} is not offered to authorize")
    state = secrets.token_urlsafe(8)
    form = {
        "username": username,
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": scopes,
        "state": state,
    }
    status, headers, body = call(url, "POST", "/oauth/authorize", form=form)
    if 300 <= status < 400:
        answer = urllib.parse.parse_qs(urllib.parse.urlsplit(headers["Location"]).query)
        if answer.get("state") != [state]:
            raise ApiError("POST", "/oauth/authorize", status, "the state did not come back")
        return answer["code"][0]
    found = re.search(r"Authorization code:\s*([^<\s]+)", body.decode("utf-8", errors="replace"))
    if found is None:
        raise ApiError("POST", "/oauth/authorize", status, "no code on the page")
    return html.unescape(found.group(1))


def create_account(
    url: str,
    username: str = "interlink",
    password: str | None = None,
    *,
    email: str | None = None,
    scopes: str = BOT_SCOPES,
    app_name: str = "interlink-bot",
    redirect_uri: str = OOB,
) -> Account:
    """A person signs up (through a sign-up app's token, as Mastodon's API requires), then the
    bot's app is authorized for the account and exchanges the code for its access token."""
    password = password or secrets.token_urlsafe(12)
    email = email or f"{username}@example.com"

    signup = register_app(url, "sign-up", "write:accounts")
    app_token = api(
        url,
        "POST",
        "/oauth/token",
        form={
            "grant_type": "client_credentials",
            "client_id": signup["client_id"],
            "client_secret": signup["client_secret"],
            "scope": "write:accounts",
        },
    )["access_token"]
    api(
        url,
        "POST",
        "/api/v1/accounts",
        token=app_token,
        form={
            "username": username,
            "email": email,
            "password": password,
            "agreement": "true",
            "locale": "en",
        },
    )  # its user token is not the bot's: the bot's comes from its own app, below

    app = register_app(url, app_name, scopes, redirect_uri)
    code = authorization_code(url, app["client_id"], username, scopes, redirect_uri)
    granted = api(
        url,
        "POST",
        "/oauth/token",
        form={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "redirect_uri": redirect_uri,
            "scope": scopes,
        },
    )
    me = api(url, "GET", "/api/v1/accounts/verify_credentials", token=granted["access_token"])
    return Account(
        url=url,
        username=me["username"],
        email=email,
        password=password,
        account_id=me["id"],
        acct=me["acct"],
        client_id=app["client_id"],
        client_secret=app["client_secret"],
        access_token=granted["access_token"],
        scopes=granted["scope"],
    )


def list_statuses(
    url: str, token: str | None, account_id: str | None = None
) -> list[dict[str, Any]]:
    """Every status of the account (the token's own when ``account_id`` is None), newest first,
    as the server stores them: content, in_reply_to_id, media_attachments (with description),
    visibility, language. With the owner's token, its non-public statuses too."""
    if account_id is None:
        if token is None:
            raise ValueError("an account id, or a token to find it with")
        account_id = api(url, "GET", "/api/v1/accounts/verify_credentials", token=token)["id"]
    statuses: list[dict[str, Any]] = []
    params: dict[str, str | int] = {"limit": 40}
    while True:
        page = api(
            url, "GET", f"/api/v1/accounts/{account_id}/statuses", token=token, params=params
        )
        if not page:
            return statuses
        statuses.extend(page)
        params["max_id"] = page[-1]["id"]
