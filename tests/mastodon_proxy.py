"""A small HTTP proxy in front of the test Mastodon server (tests/mastodon_server.py), for what
mastodon-mock itself cannot be made to do. Not a test module.

It forwards every request as it came (headers, Authorization and Idempotency-Key among them,
and bodies, multipart uploads included) and counts those that reached the server. Routes are
named ``"METHOD /path"`` without a query or a trailing slash (Mastodon.py asks for
``/api/v1/instance/``); a route names its own path and every path below it, so
``"GET /api/v1/media"`` is each ``GET /api/v1/media/:id``. On a test's word it will:

* hold the next call to a route, before the server sees it or after the server acted on it
  (its answer never reaches the client), while the test kills the bot;
* answer the next call to a route itself, the server never seeing it (a 429 with Mastodon's
  ISO 8601 ``X-RateLimit-Reset``, a 5xx, a 401, a 422);
* process media as a real instance does, asynchronously: ``POST /api/v2/media`` answers 202
  with ``url`` null, the next N polls of ``GET /api/v1/media/:id`` answer 206 with ``url`` null,
  and a status that attaches it meanwhile is refused with Mastodon's 422 (the mock is
  synchronous: it stores the file and answers 200 with its URL);
* advertise other limits in ``GET /api/v1/instance`` and ``/api/v2/instance``. Only the
  advertisement: the mock still refuses what is longer than 500 by ``len()``.

Its shape is tests/pds_proxy.py's (keyed there by XRPC method); a shared base would save
about forty lines, at the price of coupling the two networks' tests.
"""

from __future__ import annotations

import http.client
import json
import threading
import urllib.parse
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "host", "content-length"}
HOLD_TIMEOUT = 120.0
NOT_READY = "Cannot attach files that have not finished processing. Try again in a moment!"
# Where a real instance advertises each limit (v1 and v2 alike, under "configuration");
# description_limit is Mastodon 4.4's, which the mock does not advertise.
LIMITS = {
    "max_characters": ("statuses", "max_characters"),
    "characters_reserved_per_url": ("statuses", "characters_reserved_per_url"),
    "max_media_attachments": ("statuses", "max_media_attachments"),
    "description_limit": ("media_attachments", "description_limit"),
    "image_size_limit": ("media_attachments", "image_size_limit"),
    "supported_mime_types": ("media_attachments", "supported_mime_types"),
}

Answer = tuple[int, dict[str, str], bytes]


def route_of(method: str, path: str) -> str:
    """``"POST /api/v1/statuses"``: the method and the path, without query or trailing slash."""
    bare = urllib.parse.urlsplit(path).path.rstrip("/") or "/"
    return f"{method.upper()} {bare}"


def _matches(route: str, wanted: str) -> bool:
    return route == wanted or route.startswith(wanted.rstrip("/") + "/")


@dataclass(frozen=True)
class Seen:
    """One request as the proxy received it; ``forwarded``: whether the server got it."""

    route: str
    path: str  # with its query
    headers: dict[str, str]
    body: bytes
    forwarded: bool


def rate_limit_answer(reset: datetime, limit: int = 300) -> tuple[int, dict[str, str], Any]:
    """Mastodon's 429: status, headers (the reset as ISO 8601, as Rails writes it) and body."""
    stamp = reset.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    headers = {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": "0"}
    headers["X-RateLimit-Reset"] = stamp
    return 429, headers, {"error": "Too many requests"}


class MastodonProxy(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, target: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.target = urllib.parse.urlsplit(target)
        self.calls: Counter[str] = Counter()  # route -> requests that reached the server
        self.seen: list[Seen] = []  # every request, in order, forwarded or not
        self.held = threading.Event()  # set when the chosen request is being held
        self._release = threading.Event()
        self._hold: tuple[str, bool] | None = None
        self._answers: list[tuple[str, Answer]] = []
        self._media_polls = 0  # 206s each new v2 upload answers before it is ready
        self._processing: dict[str, int] = {}  # media id -> 206s still to answer
        self._limits: dict[str, Any] = {}
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def count(self, route: str) -> int:
        """Requests that reached the server on ``route`` or below it."""
        with self._lock:
            return sum(n for seen, n in self.calls.items() if _matches(seen, route))

    def hold(self, route: str, *, after_forwarding: bool) -> None:
        """Hold the next ``route`` call: with ``after_forwarding`` the server gets it and acts
        on it, but its answer never reaches the client; without, the server never sees it."""
        with self._lock:
            self._hold = (route, after_forwarding)
            self.held.clear()
            self._release.clear()

    def release(self) -> None:
        """Let a held request end: its connection is closed without an answer."""
        self._release.set()

    def answer(
        self,
        route: str,
        status: int,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next ``route`` call with this (a JSON body unless bytes), without the
        server seeing it. Queued: two calls answer the next two requests."""
        payload = (
            body if isinstance(body, bytes) else json.dumps({} if body is None else body).encode()
        )
        with self._lock:
            self._answers.append((route, (status, dict(headers or {}), payload)))

    def rate_limit(self, route: str, reset: datetime) -> None:
        """The next ``route`` call answers Mastodon's 429, resetting at ``reset``."""
        status, headers, body = rate_limit_answer(reset)
        self.answer(route, status, body, headers)

    def delay_media(self, polls: int) -> None:
        """From now on, each ``POST /api/v2/media`` answers 202 with ``url`` null, and its
        next ``polls`` ``GET /api/v1/media/:id`` answer 206 with ``url`` null; 0: as the mock."""
        with self._lock:
            self._media_polls = polls

    def limits(self, **advertised: Any) -> None:
        """Advertise these in the instance documents: max_characters,
        characters_reserved_per_url, max_media_attachments, description_limit,
        image_size_limit, supported_mime_types."""
        unknown = set(advertised) - set(LIMITS)
        if unknown:
            raise ValueError(f"unknown limits: {sorted(unknown)}")
        with self._lock:
            self._limits.update(advertised)

    def processing(self, media_id: str) -> bool:
        """Whether ``media_id`` is, as far as clients are told, still being processed."""
        with self._lock:
            return media_id in self._processing

    # -- for the handler ------------------------------------------------------------------

    def _take_answer(self, route: str) -> Answer | None:
        with self._lock:
            for index, (wanted, answer) in enumerate(self._answers):
                if _matches(route, wanted):
                    del self._answers[index]
                    return answer
            return None

    def _take_hold(self, route: str) -> bool | None:
        with self._lock:
            if self._hold is None or not _matches(route, self._hold[0]):
                return None
            after = self._hold[1]
            self._hold = None
            return after

    def _attaches_unready(self, route: str, headers: dict[str, str], body: bytes) -> bool:
        if route != "POST /api/v1/statuses" and not route.startswith("PUT /api/v1/statuses/"):
            return False
        with self._lock:
            if not self._processing:
                return False
        kind = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
        ids: list[str] = []
        if kind.startswith("application/json"):
            with_ids = json.loads(body or b"{}").get("media_ids") or []
            ids = [str(one) for one in with_ids]
        else:
            form = urllib.parse.parse_qs(body.decode("utf-8", errors="replace"))
            ids = form.get("media_ids[]", []) + form.get("media_ids", [])
        return any(self.processing(one) for one in ids)

    def _still_processing(self, route: str) -> bool:
        """For a poll of a media id being processed: one fewer 206 to answer."""
        if not route.startswith("GET /api/v1/media/"):
            return False
        media_id = route.rsplit("/", 1)[1]
        with self._lock:
            left = self._processing.get(media_id)
            if left is None:
                return False
            if left <= 1:
                del self._processing[media_id]
            else:
                self._processing[media_id] = left - 1
            return True

    def _rewrite(self, route: str, status: int, payload: bytes, poll: bool) -> tuple[int, bytes]:
        """The server's answer as the test wants the client to see it."""
        if status >= 300:
            return status, payload
        if route in ("GET /api/v1/instance", "GET /api/v2/instance"):
            with self._lock:
                limits = dict(self._limits)
            if not limits:
                return status, payload
            document = json.loads(payload)
            for name, value in limits.items():
                section, key = LIMITS[name]
                document.setdefault("configuration", {}).setdefault(section, {})[key] = value
            return status, json.dumps(document).encode()
        if route == "POST /api/v2/media":
            with self._lock:
                polls = self._media_polls
            if polls <= 0:
                return status, payload
            media = json.loads(payload)
            with self._lock:
                self._processing[str(media["id"])] = polls
            media["url"] = None
            return 202, json.dumps(media).encode()
        if poll:
            media = json.loads(payload)
            media["url"] = None
            return 206, json.dumps(media).encode()
        return status, payload


class _Handler(BaseHTTPRequestHandler):
    server: MastodonProxy
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self._forward()

    def do_HEAD(self) -> None:
        self._forward()

    def do_POST(self) -> None:
        self._forward()

    def do_PUT(self) -> None:
        self._forward()

    def do_PATCH(self) -> None:
        self._forward()

    def do_DELETE(self) -> None:
        self._forward()

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        route = route_of(self.command, self.path)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        server = self.server

        scripted = server._take_answer(route)
        if scripted is None and server._attaches_unready(route, headers, body):
            scripted = (422, {}, json.dumps({"error": NOT_READY}).encode())
        held = None if scripted is not None else server._take_hold(route)
        forwarded = scripted is None and held is not False
        with server._lock:
            server.seen.append(Seen(route, self.path, headers, body, forwarded))
        if scripted is not None:
            status, extra, payload = scripted
            own = {"Content-Type": "application/json", "Date": formatdate(usegmt=True)}
            self._send(status, list({**own, **extra}.items()), payload)
            return
        if held is False:  # the server never sees it
            self._hold_then_drop()
            return

        poll = server._still_processing(route)
        with server._lock:
            server.calls[route] += 1
        target = server.target
        connection = http.client.HTTPConnection(target.hostname or "", target.port, timeout=30)
        try:
            connection.request(self.command, self.path, body=body or None, headers=headers)
            answer = connection.getresponse()
            payload = answer.read()
            answer_headers = answer.getheaders()
        finally:
            connection.close()
        if held:  # the server acted on it; its answer is lost
            self._hold_then_drop()
            return
        status, payload = server._rewrite(route, answer.status, payload, poll)
        kept = [(k, v) for k, v in answer_headers if k.lower() not in _HOP_BY_HOP]
        self._send(status, kept, payload)

    def _send(self, status: int, headers: list[tuple[str, str]], payload: bytes) -> None:
        # send_response_only: no second Date or Server beside the server's own (a doubled Date
        # is one comma-joined header to requests, and Mastodon.py parses it with a reset)
        self.send_response_only(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _hold_then_drop(self) -> None:
        self.server.held.set()
        self.server._release.wait(timeout=HOLD_TIMEOUT)
        self.close_connection = True
