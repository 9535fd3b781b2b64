"""Sending posts to X: tweepy's ``Client.create_tweet`` with OAuth 1.0a, retried with tenacity.

The facts this rests on (X's API notes, tweepy 4.17's source):

- tweepy hard-codes https://api.twitter.com and sets no timeout (tweepy issue #2024). An
  ``HTTPAdapter`` mounted on the client's session sends every request to ``X_API_BASE_URL``
  when it is set, and gives every request a timeout. requests signs OAuth 1.0a before the
  adapter runs, so the signature still covers X's own URL, as a stand-in for X expects.
- ``wait_on_rate_limit`` sleeps 15 minutes, or loops without bound when the reset header is
  missing; rate limits are handled here instead.
- Retried: connection errors, timeouts, 5xx and 429 (waiting for ``x-rate-limit-reset``), with
  exponential backoff and jitter, from the run's one retry budget (bot.retries: about a minute
  for the whole run). Not retried: 400, 401, 402, 403.
- Every request is told to ``journal`` before it is made and again with its outcome, so the
  ledger's attempts table holds each one, even one whose answer never came.

This module is imported only when something will be sent: tweepy and requests take a while.
"""

from __future__ import annotations

import html
import logging
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import requests
import tenacity
import tweepy
from requests.adapters import HTTPAdapter

from bot.networks import (
    AccountRefused,
    MediaExpired,
    PostRefused,
    PublishError,
    Retryable,
)
from bot.networks.calls import journaled, retrying_within
from bot.networks.x.prices import ALT_TEXT, READ, post_cost
from bot.networks.x.text import extract_urls_with_indices
from bot.retries import RetryBudget

if TYPE_CHECKING:
    from bot.networks import Journal

log = logging.getLogger(__name__)

X_API = "https://api.twitter.com"
DEFAULT_TIMEOUT = (5.0, 30.0)  # connect, read (seconds)
_T = TypeVar("_T")


@dataclass(frozen=True)
class Credentials:
    """OAuth 1.0a user-context credentials. ``repr`` never shows the values."""

    api_key: str
    api_secret: str
    access_token: str
    access_token_secret: str

    def __repr__(self) -> str:
        return "Credentials(****)"

    def values(self) -> tuple[str, ...]:
        return (self.api_key, self.api_secret, self.access_token, self.access_token_secret)


# X's answers, as the network interface's few outcomes (bot.networks).
Transient = Retryable


class RateLimited(Retryable):
    """429: X did not take the request; ``reset``: when it will again."""

    def __init__(self, message: str, reset: datetime | None) -> None:
        super().__init__(message, reset=reset)


class DuplicateContent(PostRefused):
    """403: the account recently posted this exact text."""


class MediaUnknown(MediaExpired):
    """400: X no longer knows an uploaded image's id (media ids expire): upload it again."""


class _BaseUrlAdapter(HTTPAdapter):
    def __init__(self, base_url: str | None, timeout: float | tuple[float, float]) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/") if base_url else None
        self.timeout = timeout

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if self.base_url and request.url and request.url.startswith(X_API):
            request.url = self.base_url + request.url[len(X_API) :]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


_LINK = "<link>"  # what _comparable puts in place of each link


def _comparable(text: str) -> str:
    """``text`` as X would echo it, minus what X changes: links (t.co) and HTML escapes."""
    normalized = unicodedata.normalize("NFC", html.unescape(text))
    pieces, position = [], 0
    for span in extract_urls_with_indices(normalized):
        pieces += [normalized[position : span.start], _LINK]
        position = span.end
    return "".join([*pieces, normalized[position:]]).strip()


class Publisher:
    """Posts text to X. ``sleep``, ``clock`` (X's time, for rate-limit resets) and
    ``elapsed`` (a monotonic clock, for how long a failed attempt took) are injectable so
    tests never wait."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        base_url: str | None = None,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        elapsed: Callable[[], float] = time.monotonic,
        budget: RetryBudget | None = None,
    ) -> None:
        self._client = tweepy.Client(
            consumer_key=credentials.api_key,
            consumer_secret=credentials.api_secret,
            access_token=credentials.access_token,
            access_token_secret=credentials.access_token_secret,
        )
        self._client.session.mount(X_API + "/", _BaseUrlAdapter(base_url, timeout))
        # tweepy's own OAuth 1.0a signing, for the requests tweepy cannot make (media).
        self._auth = tweepy.OAuth1UserHandler(*credentials.values()).apply_auth()
        self._sleep = sleep
        self._clock = clock
        self._elapsed = elapsed
        self._timeout = timeout
        # The run hands every client its one budget; alone, a Publisher has its own.
        self.budget = budget or RetryBudget()
        self.journal: Journal | None = None

    def post(
        self, text: str, *, reply_to: str | None = None, media_ids: list[str] | None = None
    ) -> str | None:
        """Publish ``text`` (as a reply to ``reply_to``): the new post's id, or None when an
        earlier attempt of this call, whose answer was lost, had published it (X answered a
        retry with its duplicate 403). Raises PublishError when X does not publish it, after
        retrying what is worth retrying; a Transient one says whether it may have gone out."""
        uncertain = False

        def attempt() -> str | None:
            nonlocal uncertain
            try:
                return self._post_once(text, reply_to, media_ids)
            except DuplicateContent:
                if uncertain:
                    return None
                raise
            except Transient as error:
                uncertain = uncertain or error.uncertain
                raise

        try:
            return self._retrying()(attempt)
        except PublishError as error:
            error.uncertain = error.uncertain or uncertain
            raise

    def upload_image(self, path: Path, media_type: str) -> str:
        """Upload an image through X's v2 media upload (tweepy 4.17 has only the deprecated
        v1.1 one); the media id. One multipart request, signed like tweepy's own."""

        def attempt() -> str:
            data = path.read_bytes()
            response = self._request(
                "media",
                "/2/media/upload",
                files={"media": (path.name, data, media_type)},
                data={"media_category": "tweet_image"},
            )
            media_id = (response.get("data") or {}).get("id")
            if not media_id:
                raise Transient("X answered the upload without a media id")
            return str(media_id)

        return self._retrying()(attempt)

    def describe_image(self, media_id: str, alt: str) -> None:
        """Set the alt text of an uploaded image (X: POST /2/media/metadata)."""
        body = {"id": media_id, "metadata": {"alt_text": {"text": alt}}}
        self._retrying()(
            lambda: self._request("alt-text", "/2/media/metadata", cost=ALT_TEXT, json=body)
        )

    def _request(self, kind: str, route: str, *, cost: int = 0, **body: Any) -> dict[str, Any]:
        """POST to X through the client's session (base URL, timeout, OAuth 1.0a); ``cost``:
        what X bills for it when it accepts it."""

        def send() -> dict[str, Any]:
            try:
                response = self._client.session.post(X_API + route, auth=self._auth, **body)
            except requests.RequestException as error:
                # A lost answer to an upload costs only a second upload: nothing is published.
                raise Transient(f"could not reach X ({type(error).__name__})") from None
            try:
                answer = response.json()
            except ValueError:
                answer = {}
            if not 200 <= response.status_code < 300:
                reset = response.headers.get("x-rate-limit-reset")
                raise _refusal(response.status_code, _detail(answer, response.reason), reset)
            return answer if isinstance(answer, dict) else {}

        return self._journaled(kind, send, cost=lambda _: cost)

    def _journaled(
        self, kind: str, request: Callable[[], _T], *, cost: Callable[[_T], int] | None = None
    ) -> _T:
        return journaled(self.journal, kind, request, cost=cost)

    def _retrying(self) -> tenacity.Retrying:
        return retrying_within(
            self.budget,
            sleep=self._sleep,
            clock=self._clock,
            elapsed=self._elapsed,
            log=self._log_retry,
        )

    def find_published(self, text: str, *, with_media: bool = False) -> str | None:
        """The id of the account's recent post with ``text``, or None: for a post that went
        out while X's answer (and so its id) was lost. Two reads (billed), so only when a
        reply needs the id. X gives a post's text back with its links as t.co links, ``&<>``
        HTML-escaped, and, ``with_media``, the media's own t.co link at the end: links are
        compared as links, and that last one is not part of the text that was sent."""

        def look_up(call: Callable[[], Any]) -> Any:
            def once() -> Any:
                try:
                    return call()
                except tweepy.TweepyException as error:
                    raise self._explain(error) from None
                except requests.RequestException as error:
                    raise Transient(f"could not reach X ({type(error).__name__})") from None

            # X bills each of the account's posts read (not the look-up of the account).
            return self._journaled("lookup", once, cost=lambda answer: READ * _posts_in(answer))

        try:
            me = look_up(lambda: self._client.get_me(user_auth=True))
            recent = look_up(
                lambda: self._client.get_users_tweets(me.data.id, max_results=20, user_auth=True)
            )
        except PublishError as error:
            log.info("looking up the account's recent posts failed: %s", error)
            return None
        wanted = _comparable(text)
        for tweet in recent.data or []:
            shown = _comparable(tweet.text)
            if with_media:
                shown = shown.removesuffix(_LINK).rstrip()
            if shown == wanted:
                return str(tweet.id)
        return None

    def _post_once(self, text: str, reply_to: str | None, media_ids: list[str] | None) -> str:
        return self._journaled(
            "post", lambda: self._create(text, reply_to, media_ids), cost=lambda _: post_cost(text)
        )

    def _create(self, text: str, reply_to: str | None, media_ids: list[str] | None) -> str:
        try:
            response = self._client.create_tweet(
                text=text, in_reply_to_tweet_id=reply_to, media_ids=media_ids, user_auth=True
            )
        except tweepy.TweepyException as error:
            raise self._explain(error) from None
        except requests.ConnectTimeout:
            raise Transient(f"could not reach X in time (timeout {self._timeout} s)") from None
        except requests.Timeout:
            message = f"X did not answer in time (timeout {self._timeout} s)"
            raise Transient(message, uncertain=True) from None
        except requests.RequestException as error:
            # Refused before sending, or dropped after: which one is not always knowable.
            raise Transient(f"could not reach X ({type(error).__name__})", uncertain=True) from None
        data = response.data if isinstance(response, tweepy.Response) else None
        if not isinstance(data, dict) or "id" not in data:
            raise Transient("X answered without the new post's id", uncertain=True)
        return str(data["id"])

    def _log_retry(self, state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.info(
            "attempt %d failed (%s); next in %.0f s",
            state.attempt_number,
            error,
            state.upcoming_sleep,
        )

    @staticmethod
    def _explain(error: tweepy.TweepyException) -> PublishError:
        if not isinstance(error, tweepy.HTTPException):
            return Transient(f"could not reach X ({type(error).__name__})")
        response = error.response
        detail = " ".join(error.api_messages) or response.reason or ""
        return _refusal(response.status_code, detail, response.headers.get("x-rate-limit-reset"))


def _posts_in(answer: object) -> int:
    """How many posts a look-up's answer holds (a user's answer holds none)."""
    data = getattr(answer, "data", None)
    return len(data) if isinstance(data, list) else 0


def _detail(answer: object, reason: str | None) -> str:
    if isinstance(answer, dict):
        if answer.get("detail"):
            return str(answer["detail"])
        messages = [e.get("message", "") for e in answer.get("errors", []) if isinstance(e, dict)]
        if any(messages):
            return " ".join(messages)
    return reason or ""


def _refusal(status: int, detail: str, reset_header: str | None) -> PublishError:
    """The error for X's answer ``status``, with a message a maintainer can act on."""
    error = _error_for(status, detail, reset_header)
    error.http_status = status
    return error


def _error_for(status: int, detail: str, reset_header: str | None) -> PublishError:
    if status == 429:
        try:
            when = datetime.fromtimestamp(int(reset_header), UTC) if reset_header else None
        except (ValueError, OverflowError, OSError):
            when = None  # a header we cannot read: back off as for any 429
        # When it resets is said by the runner, in the deployment's time zone (one clock).
        return RateLimited("X rate limit reached (429)", when)
    if status >= 500:
        return Transient(f"X is having trouble ({status}: {detail})", uncertain=True)
    if status == 401:
        return AccountRefused(
            "X refused the credentials (401 Unauthorized): check X_API_KEY, X_API_SECRET, "
            "X_ACCESS_TOKEN and X_ACCESS_TOKEN_SECRET; regenerate them in the developer "
            "portal if they were revoked"
        )
    if status == 402:
        return AccountRefused(
            "X refused: the account has no API credits left (402 CreditsDepleted); add "
            "credits in the developer portal, then posts go out again"
        )
    if status == 400 and "media id" in detail.lower():
        # "Unknown media id." (alt text) or "Your media IDs are invalid." (the post)
        return MediaUnknown(f"X no longer knows the uploaded image ({status}: {detail})")
    if status == 403 and "duplicate" in detail.lower():
        return DuplicateContent(f"X refused a duplicate of a recent post (403: {detail})")
    if status == 403 and "permission" in detail.lower():
        return AccountRefused(
            "X refused: the app may not post (403: app permissions). In the developer "
            "portal set the app's permissions to Read and Write, then regenerate the "
            "access token and secret and put the new ones in .env"
        )
    return PostRefused(f"X rejected the post ({status}: {detail})")
