"""A local stand-in for the X API: `interlink-bot sandbox`, and the tests' emulator.

It serves ``POST /2/tweets`` on 127.0.0.1 the way X answers it (X's API notes): 201 with a new
id; 400 for a text over 280 (counted by its own ``x_length``); 403 for a duplicate of a
post it already has; and, when told to, 400, 401, 402, 403, 429 with ``x-rate-limit-reset``,
5xx, a hang, or a hold. With credentials it checks every request's OAuth 1.0a signature (HMAC-SHA1,
RFC 5849) against X's own URL, as X would, and answers 401 when it is wrong.

- ``GET /2/users/me`` and ``GET /2/users/:id/tweets``: the account and its recent posts, whose
  text reads as X gives it back, not as it was sent: links as t.co links, ``&<>`` escaped,
  a post with media ending in the media's t.co link (``as_x_shows``);
- ``GET /`` a page listing what was posted (replies under the post they answer);
- ``GET /sandbox/state`` the posts and every request received, as JSON;
- ``POST /sandbox/expire-media`` forgets every uploaded image, as X does after a day;
- ``POST /sandbox/script`` a JSON list of answers for the next ``POST /2/tweets`` requests:
  ``"ok"``, ``"400"``, ``"401"``, ``"402"``, ``"403"``, ``"403-permissions"``, ``"429"`` or
  ``"429:SECONDS"`` (reset that far ahead), ``"500"``, ``"503"``, ``"hang"`` (the post is
  created, then no answer comes: a response lost on the way back), ``"hold"`` (no answer
  until ``Sandbox.release()``, then as ``"ok"``: a slow X, for tests of overlapping runs).
  ``"upload:…"``, ``"metadata:…"`` and ``"lookup:…"`` (e.g. ``"lookup:503"``) are the next
  answer of the media upload, the alt text and the account's reads (``GET``) instead.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import itertools
import json
import re
import threading
import time
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import emoji

# X's rules, stated here on their own (never the bot's validators, which the tests check):
# X-API-NOTES "Limits and cost", twitter-text config/v3.json, X's media upload documentation.
MAX_WEIGHTED_LENGTH = 280
URL_WEIGHT = 23  # every link is a t.co link
MAX_ALT_TEXT = 1000
MAX_IMAGE_BYTES = 5 * 1024 * 1024
_LIGHT = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))  # weight 1; the rest weigh 2
# A link runs to the next space, less the punctuation that ends a sentence after it.
_LINK = re.compile(r"https?://\S+?(?=[.,;:!?'\")\]]*(?:\s|$))", re.IGNORECASE)
_SHORT_LINK = "https://t.co/"  # and ten letters or digits: 23 characters, as X shows every link
_IMAGES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF8", "image/gif"),
)


def x_length(text: str) -> int:
    """X's weighted length, as the emulator counts it: NFC first; each link 23; each emoji
    (a whole sequence, from the emoji package's Unicode data) 2; a code point in X's light
    ranges 1, any other 2. Simpler than twitter-text in one way: only links written with
    http(s):// count as links here, so a bare domain is counted as its letters (stricter than
    X, never more lenient)."""
    text = _LINK.sub("\0" * URL_WEIGHT, unicodedata.normalize("NFC", text))
    length = 0
    for token in emoji.analyze(text, non_emoji=True, join_emoji=True):
        if isinstance(token.value, emoji.EmojiMatch):
            length += 2
            continue
        code = ord(token.chars)
        length += 1 if any(a <= code <= b for a, b in _LIGHT) else 2
    return length


def as_x_shows(text: str, post_id: str, with_media: bool) -> str:
    """The text as X gives it back (the create answer, the account's timeline): each link
    replaced by its t.co link, ``&``, ``<`` and ``>`` HTML-escaped, and, for a post with
    media, the media's own t.co link appended after a space."""
    links = itertools.count()

    def short(_: re.Match[str] | None = None) -> str:
        digest = hashlib.sha256(f"{post_id}/{next(links)}".encode()).hexdigest()
        return _SHORT_LINK + digest[:10]

    shown = _LINK.sub(short, text)
    shown = shown.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"{shown} {short()}" if with_media else shown


def image_kind(head: bytes) -> str | None:
    """The image type X accepts, by its first bytes: JPEG, PNG, GIF or WEBP."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return next((kind for magic, kind in _IMAGES if head.startswith(magic)), None)


X_API = "https://api.twitter.com"
ACCOUNT_ID = "1234"  # the sandbox's one account
HANG_SECONDS = 120.0  # a hung answer ends at the latest then, or when the server stops


_INVALID = "https://api.twitter.com/2/problems/invalid-request"
_NO_PERMISSION = (
    "Your client app is not configured with the appropriate oauth1 app permissions for this "
    "endpoint."
)


def _problem(status: int, title: str, detail: str, kind: str = "about:blank") -> dict[str, Any]:
    return {"title": title, "detail": detail, "type": kind, "status": status}


_ANSWERS: dict[str, tuple[int, dict[str, Any]]] = {
    "400": (400, _problem(400, "Invalid Request", "One or more parameters are invalid.", _INVALID)),
    "401": (401, _problem(401, "Unauthorized", "Unauthorized")),
    "402": (402, _problem(402, "CreditsDepleted", "Your account does not have any credits.", "https://api.twitter.com/2/problems/credits")),
    "403": (403, _problem(403, "Forbidden", "You are not permitted to perform this action.")),
    "403-permissions": (403, _problem(403, "Forbidden", _NO_PERMISSION)),
    "500": (500, _problem(500, "Internal Server Error", "Internal Server Error")),
    "503": (503, _problem(503, "Service Unavailable", "Service Unavailable")),
}  # fmt: skip
_DUPLICATE = {
    "detail": "You are not allowed to create a Tweet with duplicate content.",
    "type": "about:blank",
    "title": "Forbidden",
    "status": 403,
}
_TOO_LONG = {
    "detail": "Your Tweet text is too long. For more information on how Twitter determines "
    "text length see https://github.com/twitter/twitter-text.",
    "title": "Invalid Request",
    "status": 400,
}


_SCRIPT_ANSWERS = (
    "ok", "400", "401", "402", "403", "403-permissions", "429", "500", "503", "hang", "hold",
)  # fmt: skip


def _script(raw: bytes) -> list[str]:
    """The answers of a ``POST /sandbox/script`` body, or ValueError saying what it accepts."""
    accepted = (
        'a JSON list of answers, e.g. ["503", "ok"]; each one of '
        + ", ".join(_SCRIPT_ANSWERS)
        + ', "429:SECONDS", or "upload:"/"metadata:"/"lookup:" followed by one of them'
    )
    try:
        answers = json.loads(raw or b"[]")
    except (ValueError, UnicodeDecodeError):
        raise ValueError(f"the body is not JSON; send {accepted}") from None
    if not isinstance(answers, list):
        raise ValueError(f"the body is not a list; send {accepted}")
    for answer in answers:
        if not isinstance(answer, str):
            raise ValueError(f"{answer!r} is not an answer; send {accepted}")
        target, _, rest = answer.partition(":")
        bare = rest if target in ("upload", "metadata", "lookup") else answer
        seconds = bare.partition(":")[2] if bare.startswith("429:") else None
        if bare not in _SCRIPT_ANSWERS and not (seconds and seconds.replace(".", "", 1).isdigit()):
            raise ValueError(f"unknown answer {answer!r}; send {accepted}")
    return answers


@dataclass
class SandboxState:
    posts: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    script: list[str] = field(default_factory=list)
    ids: itertools.count[int] = field(
        default_factory=lambda: itertools.count(1_850_000_000_000_000_001)
    )
    lock: threading.Lock = field(default_factory=threading.Lock)
    media: dict[str, dict[str, Any]] = field(default_factory=dict)
    received: threading.Condition = field(default_factory=threading.Condition)
    stopping: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)


_ENDPOINTS = {"/2/tweets": "tweets", "/2/media/upload": "upload", "/2/media/metadata": "metadata"}


def _invalid(detail: str) -> dict[str, Any]:
    return _problem(400, "Invalid Request", detail, _INVALID)


def _multipart(raw: bytes, content_type: str) -> dict[str, tuple[bytes, str]]:
    """The fields of a multipart/form-data body, each with the type its part declares."""
    if not content_type.startswith("multipart/form-data"):
        return {}
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + raw
    )
    fields = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            fields[name] = (payload, part.get_content_type())
    return fields


@dataclass(frozen=True)
class OAuthKeys:
    """What the server needs to check signatures: the four values of the account."""

    api_key: str
    api_secret: str
    access_token: str
    access_token_secret: str

    @classmethod
    def from_variables(cls, variables: Mapping[str, str]) -> OAuthKeys | None:
        """The keys from X_API_KEY… (the environment or .env), or None unless all four are set:
        the sandbox then takes any signature."""
        names = ("X_API_KEY", "X_API_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET")
        if not all(variables.get(name) for name in names):
            return None
        return cls(*(variables[name] for name in names))


def _encode(value: str) -> str:
    return quote(value, safe="~")


def oauth_signature_valid(
    method: str, url: str, authorization: str, keys: OAuthKeys, form: list[tuple[str, str]]
) -> bool:
    """RFC 5849 HMAC-SHA1 over X's URL, its query and form parameters and the oauth_ ones."""
    if not authorization.startswith("OAuth "):
        return False
    oauth = {}
    for item in authorization[len("OAuth ") :].split(","):
        name, _, value = item.strip().partition("=")
        oauth[unquote(name)] = unquote(value.strip('"'))
    signature = oauth.pop("oauth_signature", "")
    oauth.pop("realm", None)
    if (
        oauth.get("oauth_signature_method") != "HMAC-SHA1"
        or oauth.get("oauth_consumer_key") != keys.api_key
        or oauth.get("oauth_token") != keys.access_token
    ):
        return False
    parts = urlsplit(url)
    parameters = [*oauth.items(), *parse_qsl(parts.query, keep_blank_values=True), *form]
    normalized = "&".join(
        f"{k}={v}" for k, v in sorted((_encode(k), _encode(v)) for k, v in parameters)
    )
    base_url = f"{parts.scheme}://{parts.netloc}{parts.path}"
    base = "&".join((method.upper(), _encode(base_url), _encode(normalized)))
    key = f"{_encode(keys.api_secret)}&{_encode(keys.access_token_secret)}"
    expected = base64.b64encode(hmac.new(key.encode(), base.encode(), hashlib.sha1).digest())
    return hmac.compare_digest(expected.decode(), signature)


class _Handler(BaseHTTPRequestHandler):
    server: Sandbox

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the page and /sandbox/state show what happened."""

    def do_GET(self) -> None:
        if self.path.startswith("/2/"):
            self._x_get()
            return
        if self.path == "/sandbox/state":
            with self.server.state.lock:
                body = {"posts": self.server.state.posts, "requests": self.server.state.requests}
            self._send(200, body)
        elif self.path in ("/", "/index.html"):
            self._send_html(self.server.page())
        else:
            self._send(404, {"title": "Not Found", "status": 404})

    def do_POST(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self._send(
                400, {"title": "Invalid Request", "detail": "bad Content-Length", "status": 400}
            )
            return
        raw = self.rfile.read(length) if length else b""
        if self.path == "/sandbox/script":
            try:
                answers = _script(raw)
            except ValueError as error:
                self._send(400, {"title": "Invalid Request", "detail": str(error), "status": 400})
                return
            with self.server.state.lock:
                self.server.state.script.extend(answers)
            self._send(200, {"script": self.server.state.script})
            return
        if self.path == "/sandbox/expire-media":
            self.server.expire_media()
            self._send(200, {"media": 0})
            return
        state = self.server.state
        record: dict[str, Any] = {"method": "POST", "path": self.path, "status": None}
        with state.received:
            state.requests.append(record)
            state.received.notify_all()
        endpoint = _ENDPOINTS.get(self.path)
        if endpoint is None:
            record["status"] = 404
            self._send(404, {"title": "Not Found", "status": 404})
            return
        keys = self.server.keys
        authorization = self.headers.get("Authorization", "")
        if (keys is None and not authorization.startswith("OAuth ")) or (
            keys is not None
            and not oauth_signature_valid("POST", X_API + self.path, authorization, keys, [])
        ):
            record["status"] = 401
            self._send(401, _ANSWERS["401"][1])
            return
        answer = self.server.next_answer(endpoint)
        if answer == "hold":
            state.released.wait(HANG_SECONDS)
        if endpoint == "tweets":
            status, body, headers = self.server.answer(answer, json.loads(raw or b"{}"))
        else:
            status, body, headers = self.server.media(
                endpoint, answer, raw, self.headers.get("Content-Type", "")
            )
        record["status"] = status
        if answer == "hang":
            state.stopping.wait(HANG_SECONDS)
            return
        self._send(status, body, headers)

    def _x_get(self) -> None:
        """X's user look-ups: who the account is, and its recent posts, newest first."""
        state = self.server.state
        record: dict[str, Any] = {"method": "GET", "path": self.path, "status": None}
        with state.received:
            state.requests.append(record)
            state.received.notify_all()
        keys = self.server.keys
        if keys is not None and not oauth_signature_valid(
            "GET", X_API + self.path, self.headers.get("Authorization", ""), keys, []
        ):
            record["status"] = 401
            self._send(401, _ANSWERS["401"][1])
            return
        route = urlsplit(self.path)
        query = dict(parse_qsl(route.query))
        answer = self.server.next_answer("lookup")
        if answer == "hold":
            state.released.wait(HANG_SECONDS)
        if answer == "hang":
            state.stopping.wait(HANG_SECONDS)
        elif answer not in ("ok", "hold"):
            status, body, headers = self.server.answer(answer, {})
            record["status"] = status
            self._send(status, body, headers)
        elif route.path == "/2/users/me":
            record["status"] = 200
            self._send(200, {"data": {"id": ACCOUNT_ID, "name": "Sandbox", "username": "sandbox"}})
        elif route.path == f"/2/users/{ACCOUNT_ID}/tweets":
            limit = min(max(int(query.get("max_results", 10)), 5), 100)
            with state.lock:
                recent = [
                    {
                        "id": post["id"],
                        "text": post["shown"],
                        "edit_history_tweet_ids": [post["id"]],
                    }
                    for post in reversed(state.posts[-limit:])
                ]
            record["status"] = 200
            self._send(200, {"data": recent, "meta": {"result_count": len(recent)}})
        else:
            record["status"] = 404
            self._send(404, {"title": "Not Found", "status": 404})

    def _send(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _send_html(self, page: str) -> None:
        data = page.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class Sandbox(ThreadingHTTPServer):
    """``Sandbox(port, keys)``; ``keys=None`` accepts any OAuth 1.0a header's signature."""

    daemon_threads = True

    def __init__(
        self,
        port: int = 0,
        keys: OAuthKeys | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.keys = keys
        self.state = SandboxState()
        # X's clock: rate-limit resets and the posts' times. Tests hand it the clock the
        # publisher reads, so a slow machine cannot move a reset between the two.
        self.clock = clock

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def next_answer(self, endpoint: str) -> str:
        """The next scripted answer for ``endpoint``: "upload:503", "metadata:400" and
        "lookup:503" are for the media endpoints and the reads, the others for posts."""
        with self.state.lock:
            for index, entry in enumerate(self.state.script):
                target, _, rest = entry.partition(":")
                if target in ("upload", "metadata", "lookup"):
                    if target == endpoint:
                        del self.state.script[index]
                        return rest
                elif endpoint == "tweets":
                    del self.state.script[index]
                    return entry
        return "ok"

    def media(
        self, endpoint: str, answer: str, raw: bytes, content_type: str
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """X's v2 media upload (multipart ``media``) and alt text (``/2/media/metadata``)."""
        if answer not in ("ok", "hang", "hold"):
            return self.answer(answer, {})
        state = self.state
        if endpoint == "metadata":
            body = json.loads(raw or b"{}")
            media_id = str(body.get("id", ""))
            alt = str(((body.get("metadata") or {}).get("alt_text") or {}).get("text", ""))
            with state.lock:
                if media_id not in state.media:
                    return 400, _invalid("Unknown media id."), {}
                if not 0 < len(alt) <= MAX_ALT_TEXT:
                    return 400, _invalid("Alt text must be 1 to 1,000 characters."), {}
                state.media[media_id]["alt"] = alt
            return 200, {"data": {"id": media_id, "associated_metadata": True}}, {}
        field = _multipart(raw, content_type).get("media")
        if field is None:
            return 400, _invalid("The media field is missing."), {}
        data, declared = field
        kind = image_kind(data[:16])
        if kind is None:
            return 400, _invalid("The media type is not supported."), {}
        if len(data) > MAX_IMAGE_BYTES:
            return 400, _invalid("The image is larger than 5 MB."), {}
        with state.lock:
            media_id = str(next(state.ids) + 5_000_000_000_000_000)
            state.media[media_id] = {
                "type": kind,  # as the emulator reads the bytes
                "declared": declared,  # as the upload said
                "size": len(data),
                "alt": None,
                "data": data,
            }
        uploaded = {"id": media_id, "media_key": f"3_{media_id}", "size": len(data)}
        return 200, {"data": {**uploaded, "expires_after_secs": 86400}}, {}

    def answer(
        self, answer: str, body: dict[str, Any]
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        state = self.state
        if answer.startswith("429"):
            seconds = float(answer.partition(":")[2] or 60)
            reset = str(int(self.clock() + seconds))
            limits = {
                "x-rate-limit-limit": "100",
                "x-rate-limit-remaining": "0",
                "x-rate-limit-reset": reset,
            }
            return (
                429,
                {
                    "title": "Too Many Requests",
                    "detail": "Too Many Requests",
                    "type": "about:blank",
                    "status": 429,
                },
                limits,
            )
        if answer in _ANSWERS:
            status, problem = _ANSWERS[answer]
            return status, problem, {}
        text = str(body.get("text", ""))
        reply_to = (body.get("reply") or {}).get("in_reply_to_tweet_id")
        media_ids = [str(media) for media in (body.get("media") or {}).get("media_ids", [])]
        with state.lock:
            if x_length(text) > MAX_WEIGHTED_LENGTH:
                return 400, _TOO_LONG, {}
            if any(media not in state.media for media in media_ids):
                return 400, _invalid("Your media IDs are invalid."), {}
            if any(post["text"] == text for post in state.posts):
                return 403, _DUPLICATE, {}
            post_id = str(next(state.ids))
            shown = as_x_shows(text, post_id, bool(media_ids))
            state.posts.append(
                {
                    "id": post_id,
                    "text": text,
                    "shown": shown,
                    "in_reply_to": reply_to,
                    "media_ids": media_ids,
                    "at": self.clock(),
                }
            )
        created = {"id": post_id, "text": shown, "edit_history_tweet_ids": [post_id]}
        return 201, {"data": created}, {}

    def page(self) -> str:
        with self.state.lock:
            posts = list(self.state.posts)
            requests = list(self.state.requests)
            media = dict(self.state.media)
        replies: dict[str | None, list[dict[str, Any]]] = {}
        for post in posts:
            replies.setdefault(post["in_reply_to"], []).append(post)

        def render(post: dict[str, Any]) -> str:
            children = "".join(render(child) for child in replies.get(post["id"], []))
            thread = f"<ul>{children}</ul>" if children else ""
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(post["at"]))
            images = "".join(image(media_id) for media_id in post.get("media_ids", []))
            return (
                f'<li><p class="text">{html.escape(post["text"])}</p>{images}'
                f'<p class="meta">#{post["id"]} · {when} UTC</p>{thread}</li>'
            )

        def image(media_id: str) -> str:
            item = media.get(media_id, {})
            alt = item.get("alt") or ""
            data = base64.b64encode(item.get("data", b"")).decode()
            return (
                f'<figure><img src="data:{item.get("type")};base64,{data}" '
                f'alt="{html.escape(alt, quote=True)}" width="320">'
                f"<figcaption>alt: {html.escape(alt) or '<em>none</em>'}</figcaption></figure>"
            )

        items = "".join(render(post) for post in replies.get(None, [])) or "<li>Nothing yet.</li>"
        failed = sum(1 for request in requests if request["status"] not in (201, None))
        return (
            "<!doctype html><meta charset=utf-8><title>interlink-bot sandbox</title>"
            "<style>body{font:16px system-ui;max-width:40em;margin:2em auto}"
            ".text{white-space:pre-wrap;margin:.2em 0}.meta{color:#667;font-size:.8em;margin:0}"
            "li{margin:1em 0}</style><h1>interlink-bot sandbox</h1>"
            f"<p>A stand-in for X: {len(posts)} posts received, {failed} requests refused.</p>"
            f"<ul>{items}</ul>"
        )

    def wait_for_requests(self, count: int, timeout: float = 10.0) -> bool:
        """Block until ``count`` requests have arrived (for tests), or ``timeout``."""
        with self.state.received:
            return self.state.received.wait_for(lambda: len(self.state.requests) >= count, timeout)

    def expire_media(self) -> None:
        """Forget every uploaded image, as X does once ``expires_after_secs`` has passed:
        its id is then "Unknown media id." to the alt-text endpoint, and a post that names it
        is refused with "Your media IDs are invalid." (400)."""
        with self.state.lock:
            self.state.media.clear()

    def release(self) -> None:
        """Answer the requests kept waiting by ``"hold"``."""
        self.state.released.set()

    def stop(self) -> None:
        self.state.stopping.set()
        self.state.released.set()
        self.shutdown()
        self.server_close()
