"""Publishing to Bluesky with the atproto SDK (pinned: its API still moves), behind the network
interface (bot.networks).

The facts this rests on (../shared/NETWORKS-NOTES.md, atproto 0.0.73, a local PDS):

- A post is an ``app.bsky.feed.post`` record made with ``com.atproto.repo.createRecord``. Its
  record key (a TID) is chosen here *before* the request and stored in the ledger (the part's
  ``token``): a request whose answer was lost is resolved with ``getRecord`` for that key — the
  record exists or it does not — never by posting again. Creating an existing key again fails
  (a PDS answers 500), so a resend always asks first.
- ``createSession`` is limited (about 30 per 5 minutes per account): the session is kept in the
  state folder (mode 0600, never printed) and refreshed by the SDK, and a login happens only
  when there is none or it was refused.
- ``login(..., fetch_bsky_profile=False)``: a PDS without an AppView cannot answer the profile
  look-up the SDK makes by default; the DID is read from the session.
- Replies carry strong refs (uri and cid) of the thread's root and of the parent.
- Images: ``uploadBlob`` then ``app.bsky.embed.images`` with the alt text; the lexicon's
  ``maxSize`` is 2,000,000 bytes (1,000,000 in older lexicons).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
import tenacity
from atproto import Client, exceptions, models
from atproto_client.request import Request

from bot.networks import AccountRefused, PostRefused, PublishError, Remote, Retryable
from bot.networks.bluesky import MAX_IMAGE_BYTES
from bot.networks.bluesky.text import facets
from bot.networks.calls import journaled, retrying_within
from bot.retries import RetryBudget

if TYPE_CHECKING:
    from bot.networks import Attachment, Journal, LinkCard, Outgoing, Reply

log = logging.getLogger(__name__)

POST = "app.bsky.feed.post"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
_BASE32_SORTABLE = "234567abcdefghijklmnopqrstuvwxyz"
_T = TypeVar("_T")


def tid(microseconds: int, clock_id: int) -> str:
    """A record key: 13 characters of base32-sortable, the microseconds since 1970 shifted
    left 10 bits, plus a 10-bit clock id (atproto's TID syntax)."""
    value = (microseconds << 10) | (clock_id & 0x3FF)
    return "".join(_BASE32_SORTABLE[(value >> shift) & 31] for shift in range(60, -1, -5))


def post_url(uri: str, handle: str) -> str:
    """The public link to a post: at://DID/app.bsky.feed.post/KEY → bsky.app/profile/…/post/KEY."""
    return f"https://bsky.app/profile/{handle}/post/{uri.rsplit('/', 1)[-1]}"


class BlueskyNetwork:
    name = "bluesky"
    link_cards = True  # a link is a card only if the client makes one (app.bsky.embed.external)

    def __init__(
        self,
        *,
        service: str,
        handle: str,
        password: str,
        session_file: Path,
        budget: RetryBudget,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        elapsed: Callable[[], float] = time.monotonic,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
    ) -> None:
        self.service, self.handle = service.rstrip("/"), handle
        self._password = password
        self._session_file = session_file
        self.budget = budget
        # ``clock``: the network's time, for ratelimit-reset; ``elapsed``: how long an attempt
        # took (a monotonic clock, for the run's retry budget). Tests inject both, and sleep.
        self._sleep, self._clock, self._elapsed = sleep, clock, elapsed
        self._client = Client(base_url=self.service, request=Request(timeout=timeout))
        self._client.on_session_change(lambda _event, _session: self._keep_session())
        self._did: str | None = None
        self._session_spent = 0  # sessions the PDS refused in this run
        self._last_micros = 0
        self.journal: Journal | None = None

    # --- the session: kept, refreshed, logged into only when need be ------------------------

    def _keep_session(self) -> None:
        """Write the session where the next run finds it, readable by the bot's user only."""
        try:
            data = self._client.export_session_string()
            descriptor = os.open(self._session_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(data)
            self._session_file.chmod(0o600)  # also when it was there before
        except OSError as error:  # the run goes on; the next one logs in again
            log.warning("the Bluesky session could not be kept: %s", error.strerror)

    def _forget_session(self) -> None:
        """The PDS no longer takes the kept session (revoked, expired): log in anew."""
        self._did = None
        self._session_spent += 1
        with contextlib.suppress(OSError):
            self._session_file.unlink()

    def _same_account(self, kept: str) -> bool:
        """Whether a kept session is BLUESKY_HANDLE's: the server spells the handle in lower
        case, and a DID names the account too."""
        handle, _, rest = kept.partition(":::")
        did = rest.partition(":::")[0]
        wanted = self.handle.strip().lower().removeprefix("@")
        return wanted in (handle.lower(), did.lower())

    def _signed_in(self) -> str:
        """The account's DID, from the kept session or a new login. AccountRefused when the
        handle or app password is refused, or when even a new session is not taken."""
        if self._did is not None:
            return self._did
        if self._session_spent > 1:
            raise AccountRefused(
                "Bluesky does not take the bot's session even after a new login; check the "
                "app password (Settings → Privacy and security → App passwords)"
            )
        kept = None
        if not self._session_spent:
            with contextlib.suppress(OSError):
                kept = self._session_file.read_text()
            if kept and not self._same_account(kept):
                kept = None  # another account's (BLUESKY_HANDLE changed): log in as this one
        if kept:
            try:
                self._client.login(session_string=kept, fetch_bsky_profile=False)
            except (exceptions.AtProtocolError, ValueError) as error:
                log.info(
                    "the kept Bluesky session was not taken (%s); logging in", type(error).__name__
                )
                kept = None
        if not kept:
            # Not in the attempts table: a login is the account's, not a post's request.
            try:
                self._client.login(self.handle, self._password, fetch_bsky_profile=False)
            except exceptions.AtProtocolError as error:
                raise _explain(error, uncertain=False, login=True) from None
            self._keep_session()
        session = self._client._session
        if session is None or not session.did:
            raise Retryable("Bluesky answered the login without the account's DID")
        self._did = session.did
        return self._did

    # --- the interface --------------------------------------------------------------------

    def token(self, now: datetime) -> str:
        """A fresh record key from the run's time (later parts get later keys)."""
        micros = max(int(now.timestamp() * 1_000_000), self._last_micros + 1)
        self._last_micros = micros
        return tid(micros, secrets.randbelow(1024))

    def upload(
        self, image: Attachment, stored: str | None, keep: Callable[[str | None], None]
    ) -> str:
        """The uploaded blob (as JSON, kept in the ledger) and the alt text with it."""
        del stored  # a blob not yet in a record may be gone; uploading again costs no post
        self._retrying()(self._signed_in)
        data = image.path.read_bytes()
        if len(data) > MAX_IMAGE_BYTES:
            raise PostRefused(
                f"the image is {len(data):,} bytes; Bluesky takes at most {MAX_IMAGE_BYTES:,}: "
                "make it smaller"
            )
        blob = self._journaled(
            "media", lambda: self._client.upload_blob(data).blob, uncertain=False
        )
        handle = json.dumps(
            {"blob": blob.model_dump(by_alias=True, exclude_none=True), "alt": image.alt}
        )
        keep(handle)
        return handle

    def publish(self, part: Outgoing, reply: Reply | None) -> Remote:
        key = part.token or self.token(datetime.now(UTC))  # the runner always passes one
        uncertain = part.uncertain

        def attempt() -> Remote:
            nonlocal uncertain
            did = self._signed_in()
            if uncertain:  # an earlier request may have made it: the key tells
                found = self._get(did, key)
                if found is not None:
                    return found
            try:
                return self._create(did, key, part, reply)
            except Retryable as error:
                uncertain = uncertain or error.uncertain
                raise

        try:
            return self._retrying()(attempt)
        except PublishError as error:
            error.uncertain = error.uncertain or uncertain
            raise

    def locate(self, part: Outgoing) -> Remote | None:
        if part.token is None:
            return None
        try:
            return self._retrying()(lambda: self._get(self._signed_in(), part.token or ""))
        except PublishError as error:
            log.info("looking up a Bluesky post failed: %s", error)
            return None

    # --- requests -----------------------------------------------------------------------------

    def _record(self, part: Outgoing, reply: Reply | None) -> dict[str, Any]:
        record: dict[str, Any] = {
            "$type": POST,
            "text": part.text,
            "createdAt": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        }
        found = facets(part.text)
        if found:
            record["facets"] = found
        if reply is not None:
            record["reply"] = {
                "root": {"uri": reply.root.id, "cid": reply.root.ref},
                "parent": {"uri": reply.parent.id, "cid": reply.parent.ref},
            }
        if part.media:
            images = [json.loads(handle) for handle in part.media]
            record["embed"] = {
                "$type": "app.bsky.embed.images",
                "images": [{"image": i["blob"], "alt": i["alt"]} for i in images],
            }
        elif part.card is not None:  # an embed is images or a card, never both
            record["embed"] = {
                "$type": "app.bsky.embed.external",
                "external": self._card(part.card),
            }
        return record

    def _card(self, card: LinkCard) -> dict[str, Any]:
        external: dict[str, Any] = {
            "uri": card.uri,
            "title": card.title,
            "description": card.description,
        }
        if card.thumb is not None:
            try:
                blob = self._journaled(
                    "media", lambda: self._client.upload_blob(card.thumb).blob, uncertain=False
                )
            except PublishError as error:  # the card goes without its picture
                log.info("the link card's image was not uploaded: %s", error)
            else:
                external["thumb"] = blob.model_dump(by_alias=True, exclude_none=True)
        return external

    def _create(self, did: str, key: str, part: Outgoing, reply: Reply | None) -> Remote:
        data = models.ComAtprotoRepoCreateRecord.Data(
            repo=did, collection=POST, rkey=key, record=self._record(part, reply)
        )
        answer = self._journaled(
            "post", lambda: self._client.com.atproto.repo.create_record(data), uncertain=True
        )
        return Remote(answer.uri, post_url(answer.uri, self.handle), answer.cid)

    def _get(self, did: str, key: str) -> Remote | None:
        """The post with record key ``key``, or None if the repo has none (the PDS answers
        400 RecordNotFound: an answer, not a failure)."""
        params = models.ComAtprotoRepoGetRecord.Params(repo=did, collection=POST, rkey=key)

        def get() -> Any:
            try:
                return self._client.com.atproto.repo.get_record(params)
            except exceptions.BadRequestError as error:
                if "RecordNotFound" in str(error):
                    return None
                raise

        answer = self._journaled("lookup", get, uncertain=False)
        if answer is None:
            return None
        return Remote(answer.uri, post_url(answer.uri, self.handle), answer.cid)

    def _journaled(self, kind: str, request: Callable[[], _T], *, uncertain: bool) -> _T:
        """One request, journaled, its atproto errors made the interface's outcomes."""

        def call() -> _T:
            try:
                return request()
            except exceptions.AtProtocolError as error:
                explained = _explain(error, uncertain=uncertain)
                if isinstance(explained, _SessionRefused):
                    self._forget_session()  # the retry logs in anew
                raise explained from None

        return journaled(self.journal, kind, call)

    def _retrying(self) -> tenacity.Retrying:
        return retrying_within(
            self.budget, sleep=self._sleep, clock=self._clock, elapsed=self._elapsed
        )


class _SessionRefused(Retryable):
    """The PDS no longer takes the session (ExpiredToken, InvalidToken, a revoked refresh
    token, whatever the status code): worth a new login and one more try."""


def _refused_login(detail: str) -> AccountRefused:
    error = AccountRefused(
        f"Bluesky refused the login ({detail}): check BLUESKY_HANDLE and BLUESKY_APP_PASSWORD; "
        "make a new app password in Settings → Privacy and security → App passwords if it was "
        "revoked"
    )
    error.http_status = 401
    return error


def _error_name(response: Any) -> str:
    """The XRPC error's name (``ExpiredToken``…), as the SDK holds it: a model or a dict."""
    content = getattr(response, "content", None)
    if isinstance(content, dict):
        return str(content.get("error") or "")
    return str(getattr(content, "error", None) or "")


def _explain(
    error: exceptions.AtProtocolError, *, uncertain: bool, login: bool = False
) -> PublishError:
    """The network interface's outcome for an SDK error (``uncertain``: the request may have
    made the record although no answer came; ``login``: it was createSession)."""
    response = getattr(error, "response", None)
    status = response.status_code if response is not None else None
    detail = str(error)
    name = _error_name(response)
    explained: PublishError
    if isinstance(error, exceptions.RateLimitExceededError):
        what = "login" if login else "rate"
        explained = Retryable(f"Bluesky {what} limit reached (429)", reset=error.reset_at)
    elif response is None:  # no answer: a timeout, a dropped connection
        explained = Retryable(
            f"could not reach Bluesky ({type(error).__name__})", uncertain=uncertain
        )
    elif name in ("ExpiredToken", "InvalidToken") and not login:
        explained = _SessionRefused(f"Bluesky no longer takes the session ({detail})")
    elif status in (401, 403) or (login and status is not None and status < 500):
        explained = _refused_login(detail)
    elif (status is not None and status >= 500) or status in (409, 502):
        explained = Retryable(f"Bluesky is having trouble ({detail})", uncertain=uncertain)
    else:  # 400 InvalidRequest (too long, a bad facet), 413 too large
        explained = PostRefused(f"Bluesky rejected the post ({detail})")
    explained.http_status = status
    return explained
