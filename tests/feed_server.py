"""A real HTTP server on 127.0.0.1 for the tests of the ``import`` command. Not a test module.

``with FeedServer() as server:`` serves, on a free port, whatever the test has placed at each
path: a document (optionally with an ETag and a Last-Modified date it honours), a redirect, a
body trickled out slowly, or an endless one. Every request is recorded with its headers.
Anything else is a 404. It speaks HTTP/1.0, one request per connection, so a body without a
Content-Length simply ends when the connection does.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import sys
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, cast
from urllib.parse import urlsplit

# serve_forever looks for shutdown() once per poll interval (0.5 s by default), which every
# test's teardown would otherwise wait out.
POLL_SECONDS = 0.005
JOIN_SECONDS = 5.0
# A client that stops reading without hanging up would block an endless or trickled write
# for ever; this ends such a write (quietly) if teardown somehow does not.
WRITE_TIMEOUT = 30.0
_HANG_UPS = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)


@dataclass(frozen=True)
class _Document:
    body: bytes
    content_type: str
    etag: str | None
    last_modified: str | None
    status: int


@dataclass(frozen=True)
class _Redirect:
    to: str
    status: int


@dataclass(frozen=True)
class _Trickle:
    body: bytes
    chunk: int
    pause: float


@dataclass(frozen=True)
class _Endless:
    chunk: bytes


_Route = _Document | _Redirect | _Trickle | _Endless


class FeedServer:
    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._routes: dict[str, _Route] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._live: dict[threading.Thread, socket.socket] = {}
        self._http = _HTTPServer(self)
        self.base = f"http://127.0.0.1:{self._http.server_address[1]}"
        self._thread = threading.Thread(
            target=self._http.serve_forever,
            kwargs={"poll_interval": POLL_SECONDS},
            name=f"FeedServer {self.base}",
            daemon=True,
        )

    def __enter__(self) -> FeedServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stopping.set()
        self._http.shutdown()
        with self._lock:
            live = dict(self._live)
        # Unblocks a handler stuck writing to a client that stopped reading; the handler's
        # own thread then closes the socket.
        for connection in live.values():
            with contextlib.suppress(OSError):  # the client may have gone already
                connection.shutdown(socket.SHUT_RDWR)
        for thread in live:
            thread.join(JOIN_SECONDS)
        self._http.server_close()
        self._thread.join(JOIN_SECONDS)

    def url(self, path: str) -> str:
        return self.base + path

    def serve(
        self,
        path: str,
        body: bytes,
        *,
        content_type: str = "application/rss+xml; charset=UTF-8",
        etag: str | None = None,
        last_modified: str | None = None,
        status: int = 200,
    ) -> None:
        """``path`` answers ``body``. With ``etag`` (sent as given, quotes included) or
        ``last_modified`` (an HTTP date), a GET or HEAD carrying the same value back in
        If-None-Match, or, when it sends no If-None-Match, in If-Modified-Since, gets a 304
        with no body. Values are compared as strings, as a cache would send them back."""
        self._place(path, _Document(body, content_type, etag, last_modified, status))

    def redirect(self, path: str, to: str, status: int = 301) -> None:
        """``path`` redirects to ``to``, sent in Location exactly as given (a path on this
        server or a full URL)."""
        self._place(path, _Redirect(to, status))

    def trickle(self, path: str, body: bytes, *, chunk: int = 64, pause: float = 0.005) -> None:
        """``path`` answers ``body`` slowly: ``chunk`` bytes at a time, ``pause`` seconds
        apart, with no Content-Length."""
        self._place(path, _Trickle(body, chunk, pause))

    def endless(self, path: str, chunk: bytes = b"<a>" * 1000) -> None:
        """``path`` answers ``chunk`` over and over until the client hangs up."""
        self._place(path, _Endless(chunk))

    def _place(self, path: str, route: _Route) -> None:
        with self._lock:
            self._routes[path] = route

    def _route(self, target: str) -> _Route | None:
        with self._lock:
            return self._routes.get(target) or self._routes.get(urlsplit(target).path)

    def _record(self, target: str, headers: dict[str, str]) -> None:
        with self._lock:
            self.requests.append((target, headers))

    def _started(self, connection: socket.socket) -> None:
        with self._lock:
            self._live[threading.current_thread()] = connection

    def _finished(self) -> None:
        with self._lock:
            self._live.pop(threading.current_thread(), None)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, owner: FeedServer) -> None:
        self.owner = owner
        super().__init__(("127.0.0.1", 0), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind asks for the host's FQDN, a reverse DNS lookup that can take
        # seconds on a machine with a slow resolver; the name is used for nothing here.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def handle_error(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any
    ) -> None:
        # A client hanging up mid-answer is what the tests do on purpose; anything else is a
        # bug in this server, and its traceback is wanted.
        if not isinstance(sys.exc_info()[1], _HANG_UPS):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    timeout = WRITE_TIMEOUT

    @property
    def owner(self) -> FeedServer:
        return cast(_HTTPServer, self.server).owner

    def setup(self) -> None:
        super().setup()
        self.owner._started(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.owner._finished()

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self._answer(with_body=True)

    def do_HEAD(self) -> None:
        self._answer(with_body=False)

    def _answer(self, *, with_body: bool) -> None:
        # Canonical capitalisation, whatever the client sent: urllib, for one, sends
        # "If-none-match", and a test should not have to know that.
        headers = {_canonical(name): value for name, value in self.headers.items()}
        self.owner._record(self.path, headers)
        route = self.owner._route(self.path)
        try:
            if isinstance(route, _Document):
                self._document(route, headers, with_body=with_body)
            elif isinstance(route, _Redirect):
                self._send(route.status, b"", "text/html; charset=UTF-8", {"Location": route.to})
            elif isinstance(route, _Trickle):
                self._stream(route.body, route.chunk, route.pause, with_body=with_body)
            elif isinstance(route, _Endless):
                self._endless(route.chunk, with_body=with_body)
            else:
                body = b"<!DOCTYPE html><title>Not Found</title><h1>Not Found</h1>\n"
                self._send(404, body, "text/html; charset=UTF-8", {}, with_body=with_body)
        except _HANG_UPS:
            self.close_connection = True

    def _document(self, route: _Document, headers: dict[str, str], *, with_body: bool) -> None:
        validators = {}
        if route.etag is not None:
            validators["ETag"] = route.etag
        if route.last_modified is not None:
            validators["Last-Modified"] = route.last_modified
        if not 200 <= route.status < 300:
            unchanged = False  # an error has nothing a cache could hold on to
        elif "If-None-Match" in headers:
            unchanged = route.etag is not None and headers["If-None-Match"] == route.etag
        else:
            unchanged = (
                route.last_modified is not None
                and headers.get("If-Modified-Since") == route.last_modified
            )
        if unchanged:
            self.send_response(304)
            for name, value in validators.items():
                self.send_header(name, value)
            self.end_headers()
            return
        self._send(route.status, route.body, route.content_type, validators, with_body=with_body)

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        extra: dict[str, str],
        *,
        with_body: bool = True,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        # A HEAD is told the length a GET would get.
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml; charset=UTF-8")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.flush()

    def _stream(self, body: bytes, chunk: int, pause: float, *, with_body: bool) -> None:
        self._start_stream()
        if not with_body:
            return
        stopping = self.owner._stopping
        for start in range(0, len(body), chunk):
            # Waiting on the event, not sleeping, lets teardown end a trickle at once.
            if start and stopping.wait(pause):
                return
            self.wfile.write(body[start : start + chunk])
            self.wfile.flush()

    def _endless(self, chunk: bytes, *, with_body: bool) -> None:
        self._start_stream()
        if not with_body:
            return
        stopping = self.owner._stopping
        while not stopping.is_set():
            self.wfile.write(chunk)


def _canonical(name: str) -> str:
    return "-".join(part.capitalize() for part in name.split("-"))
