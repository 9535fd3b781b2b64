"""A small HTTP proxy in front of the test PDS, for what the PDS itself cannot be made to do:
hold one request (before or after the PDS has seen it) while a test kills the bot, and count
the XRPC calls that went through. Not a test module."""

from __future__ import annotations

import http.client
import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "host", "content-length"}


class PdsProxy(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, target: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.target = urlsplit(target)
        self.calls: Counter[str] = Counter()  # XRPC method -> requests that reached the PDS
        self.held = threading.Event()  # set when the chosen request is being held
        self._release = threading.Event()
        self._hold: tuple[str, bool] | None = None
        self._answers: dict[str, list[tuple[int, dict[str, str], bytes]]] = {}
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def hold(self, method: str, *, after_forwarding: bool) -> None:
        """Hold the next ``method`` call: with ``after_forwarding`` the PDS gets it and acts
        on it, but its answer never reaches the client; without, the PDS never sees it."""
        with self._lock:
            self._hold = (method, after_forwarding)

    def answer(
        self, method: str, status: int, body: dict[str, str], headers: dict[str, str] | None = None
    ) -> None:
        """Answer the next ``method`` call with this, without the PDS seeing it (a 429, a 5xx,
        as the real network gives them)."""
        with self._lock:
            self._answers.setdefault(method, []).append(
                (status, headers or {}, json.dumps(body).encode())
            )

    def _take_answer(self, method: str) -> tuple[int, dict[str, str], bytes] | None:
        with self._lock:
            queued = self._answers.get(method)
            return queued.pop(0) if queued else None

    def release(self) -> None:
        """Let a held request end: its connection is closed without an answer."""
        self._release.set()

    def _take_hold(self, method: str) -> bool | None:
        with self._lock:
            if self._hold is None or self._hold[0] != method:
                return None
            after = self._hold[1]
            self._hold = None
            return after


class _Handler(BaseHTTPRequestHandler):
    server: PdsProxy
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self._forward()

    def do_POST(self) -> None:
        self._forward()

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        method = urlsplit(self.path).path.removeprefix("/xrpc/")
        scripted = self.server._take_answer(method)
        if scripted is not None:
            status, extra, payload = scripted
            self.send_response(status)
            for key, value in {"Content-Type": "application/json", **extra}.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        held = self.server._take_hold(method)
        if held is False:  # the PDS never sees it
            self._hold_then_drop()
            return
        self.server.calls[method] += 1
        target = self.server.target
        connection = http.client.HTTPConnection(target.hostname or "", target.port, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        connection.request(self.command, self.path, body=body, headers=headers)
        answer = connection.getresponse()
        payload = answer.read()
        connection.close()
        if held:  # the PDS acted on it; its answer is lost
            self._hold_then_drop()
            return
        self.send_response(answer.status)
        for key, value in answer.getheaders():
            if key.lower() not in _HOP_BY_HOP:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _hold_then_drop(self) -> None:
        self.server.held.set()
        self.server._release.wait(timeout=120)
        self.close_connection = True
