"""Publishing to a Mastodon instance with Mastodon.py, behind the network interface
(bot.networks). The one module that imports Mastodon.py.

The facts this rests on (../shared/NETWORKS-NOTES.md; Mastodon 4.x; Mastodon.py 2.3):

- ``status_post(..., idempotency_key=)`` sends the ``Idempotency-Key`` header: the instance
  remembers the key for an hour (PostStatusService keeps it 3,600 s) and answers a repeat with
  the status it made the first time. The key is chosen here *before* the first request and
  stored in the ledger (the part's ``token``), so a request whose answer was lost is resolved
  by sending it again with that key. The key says when it was made: once it may have been
  forgotten (after ``KEY_KEPT``), the account's recent statuses are read first and compared
  with the part's text, and only a part not among them is sent (with the same key).
- Media is processed asynchronously: ``POST /api/v2/media`` answers 202 with ``url`` null, and
  ``GET /api/v1/media/:id`` answers 206 until it is ready; a status that attaches it earlier is
  refused (422). An unattached upload can be reused by a later run; one that is gone or already
  attached answers 404 (MediaController#show looks only at the account's unattached media).
- Errors: 401/403 are the token's (revoked, or without the scopes), 422 the status's, 429 the
  rate limit (300 requests per 5 minutes; Mastodon.py raises MastodonRatelimitError without a
  status and keeps the reset, adjusted to the local clock, in ``ratelimit_reset``), 5xx the
  instance's.
- Mastodon.py reads ``access_token`` as a file's name when a file of that name exists (and a
  base URL from it): the token is therefore set on the client after it is made, never passed
  to the constructor.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import unquote

from mastodon import (
    Mastodon,
    MastodonAPIError,
    MastodonError,
    MastodonNetworkError,
    MastodonNotFoundError,
    MastodonRatelimitError,
)

from bot.networks import (
    AccountRefused,
    MediaExpired,
    PostRefused,
    PublishError,
    Remote,
    Retryable,
)
from bot.networks.calls import journaled, retrying_within
from bot.networks.mastodon import (
    BOUNDS,
    DEFAULT_DESCRIPTION_LIMIT,
    INSTANCE_FILE,
    MAX_IMAGE_BYTES,
    InstanceLimits,
    instance_url,
    kept_limits,
)
from bot.networks.mastodon.text import (
    DEFAULT_MAX_CHARACTERS,
    DEFAULT_URL_WEIGHT,
    mention_spans,
)

if TYPE_CHECKING:
    from pathlib import Path

    import tenacity

    from bot.config import NetworkSettings
    from bot.networks import Attachment, Journal, Outgoing, Reply
    from bot.retries import RetryBudget

log = logging.getLogger(__name__)

# Connect, read (requests' pair): an instance that does not answer cannot hold up a run.
DEFAULT_TIMEOUT = (5.0, 30.0)
# Instances keep an Idempotency-Key 3,600 s; ten minutes less allows for the two clocks and
# the time between choosing the key and the server taking the request.
KEY_KEPT = timedelta(minutes=50)
# A status found by its text must be younger than its key (the server's clock may be behind).
CLOCK_SKEW = timedelta(minutes=15)
LIMITS_KEPT = timedelta(days=1)  # how long the instance's limits are taken as read
RECENT_STATUSES = 40  # the most GET /api/v1/accounts/:id/statuses gives in one page
_TOKEN_PREFIX = "interlink-"  # noqa: S105 - a name, no secret
_DETAIL_LENGTH = 200
_T = TypeVar("_T")

_SCOPES_HELP = (
    "check MASTODON_ACCESS_TOKEN; the token needs the scopes write:statuses, write:media, "
    "read:accounts and read:statuses (make one in Preferences → Development → New application)"
)


class _StillProcessing(Retryable):
    """The instance has not finished processing an uploaded image: ask again after a wait."""


def open_network(
    *,
    api_base_url: str,
    access_token: str,
    budget: RetryBudget,
    state: Path,
    settings: NetworkSettings,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
    elapsed: Callable[[], float] = time.monotonic,
    timeout: Any = DEFAULT_TIMEOUT,
) -> MastodonNetwork:
    """The client for a run, with the instance's limits refreshed in ``state`` if need be."""
    network = MastodonNetwork(
        api_base_url=api_base_url,
        access_token=access_token,
        budget=budget,
        visibility=settings.visibility or "public",
        language=settings.language,
        sleep=sleep,
        clock=clock,
        elapsed=elapsed,
        timeout=timeout,
    )
    network.refresh_limits(state)
    return network


class MastodonNetwork:
    name = "mastodon"
    link_cards = False  # the instance makes the link's preview card itself

    def __init__(
        self,
        *,
        api_base_url: str,
        access_token: str,
        budget: RetryBudget,
        visibility: str = "public",
        language: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        elapsed: Callable[[], float] = time.monotonic,
        timeout: Any = DEFAULT_TIMEOUT,
    ) -> None:
        self.url = instance_url(api_base_url)
        self.budget = budget
        self.visibility, self.language = visibility, language
        # ``clock``: real time, by which the instance keeps keys and limits age and a rate
        # limit resets; ``elapsed``: a monotonic clock, for the run's retry budget. Tests
        # inject both, and sleep.
        self._sleep, self._clock, self._elapsed = sleep, clock, elapsed
        self._api = Mastodon(
            api_base_url=self.url,
            request_timeout=timeout,
            ratelimit_method="throw",  # the run's budget decides how long to wait, not the library
            version_check_mode="none",  # no request on construction
        )
        token = access_token.strip()
        # A token with spaces or line breaks in it cannot go in a header (and requests would
        # quote it in its error): refused before any request.
        self._token_unusable = not token or any(c.isspace() or ord(c) < 32 for c in token)
        if not self._token_unusable:
            self._api.access_token = token  # after construction: never taken for a file name
        self._account: str | None = None
        self.limits = InstanceLimits(self.url, datetime.fromtimestamp(clock(), UTC))
        self.journal: Journal | None = None

    @property
    def host(self) -> str:
        return self.limits.host

    # --- the instance's limits -----------------------------------------------------------

    def refresh_limits(self, state: Path) -> InstanceLimits:
        """The limits kept in ``state`` if they are this instance's and less than a day old;
        else read from the instance and kept. A failure to read them is logged and the kept
        (or default) limits are used: it never stops the run."""
        now = datetime.fromtimestamp(self._clock(), UTC)
        kept = kept_limits(state)
        mine = kept if kept is not None and kept.url == self.url else None
        if mine is not None and timedelta(0) <= now - mine.read_at < LIMITS_KEPT:
            self.limits = mine
            return mine
        try:
            read = self._read_limits(now)
        except PublishError as error:
            log.info(
                "the limits of %s were not read (%s); counting with %s",
                self.host,
                error,
                "those read before" if mine else "Mastodon's defaults",
            )
            if kept is not None and mine is None:
                # Another instance's (a rehearsal's): its limits may be larger than this one
                # takes. Without them posts are counted with the defaults, and the next run
                # reads this instance's again.
                (state / INSTANCE_FILE).unlink(missing_ok=True)
            self.limits = mine or InstanceLimits(self.url, now)
            return self.limits
        self._keep(state, read)
        self.limits = read
        return read

    def _read_limits(self, now: datetime) -> InstanceLimits:
        """GET /api/v2/instance (Mastodon 4.0 and later), else /api/v1/instance; what neither
        says is Mastodon's default. One try each: a run does not wait for them."""
        try:
            document = self._ask(self._api.instance_v2, uncertain=False, what="request")
        except PublishError as error:
            if error.http_status not in (404, 410):
                raise
            with warnings.catch_warnings():  # the v1 document is deprecated: no stderr line
                warnings.simplefilter("ignore")
                document = self._ask(self._api.instance_v1, uncertain=False, what="request")
        configuration = _section(document, "configuration")
        statuses = _section(configuration, "statuses")
        media = _section(configuration, "media_attachments")

        def value(section: dict[str, Any], name: str, default: int, *older: str) -> int:
            for key in (name, *older):
                found = section.get(key)
                least, most = BOUNDS[name]
                if type(found) is int and least <= found <= most:
                    return found
            return default

        return InstanceLimits(
            self.url,
            now,
            # max_toot_chars: what instances before Mastodon 3.4 (and forks) advertise
            max_characters=value(statuses, "max_characters", DEFAULT_MAX_CHARACTERS)
            if statuses
            else value(dict(document), "max_characters", DEFAULT_MAX_CHARACTERS, "max_toot_chars"),
            characters_reserved_per_url=value(
                statuses, "characters_reserved_per_url", DEFAULT_URL_WEIGHT
            ),
            description_limit=value(media, "description_limit", DEFAULT_DESCRIPTION_LIMIT),
            image_size_limit=value(media, "image_size_limit", MAX_IMAGE_BYTES),
        )

    def _keep(self, state: Path, limits: InstanceLimits) -> None:
        """Written whole or not at all (another command may be reading it)."""
        if not state.is_dir():
            return
        target = state / INSTANCE_FILE
        partial = state / f".{INSTANCE_FILE}.{os.getpid()}.tmp"
        try:
            partial.write_text(limits.to_json(), encoding="utf-8")
            partial.replace(target)
        except OSError as error:
            log.warning("the limits of %s could not be kept: %s", self.host, error.strerror)
            partial.unlink(missing_ok=True)

    # --- the interface --------------------------------------------------------------------

    def token(self, now: datetime) -> str:
        """A fresh Idempotency-Key that says when it was made, by the clock the instance keeps
        keys by (real time, not the run's ``--now``: a rehearsal in the past must not take
        every key for expired)."""
        del now
        return f"{_TOKEN_PREFIX}{int(self._clock())}-{secrets.token_hex(8)}"

    def upload(
        self, image: Attachment, stored: str | None, keep: Callable[[str | None], None]
    ) -> str:
        """The image's media id, processed and ready to attach: the one uploaded on an earlier
        try if the instance still has it unattached, else a new upload (kept at once)."""
        limits = self.limits
        if len(image.alt) > limits.description_limit:
            raise PostRefused(
                f"its alt text is {len(image.alt):,} characters; {self.host} takes at most "
                f"{limits.description_limit:,} (description_limit): shorten it"
            )
        size = image.path.stat().st_size
        if size > limits.image_size_limit:
            raise PostRefused(
                f"the image is {size:,} bytes; {self.host} takes at most "
                f"{limits.image_size_limit:,} (image_size_limit): make it smaller"
            )
        if stored:
            try:
                return self._retrying()(lambda: self._ready(stored))
            except MediaExpired:
                log.info("media %s is gone or attached already; uploading the image again", stored)
        data = image.path.read_bytes()

        def post() -> Any:
            # bytes with the type judged by them (a path would have Mastodon.py guess the type
            # from the file's name, and keep the file open)
            return self._api.media_post(data, mime_type=image.media_type, description=image.alt)

        media = self._retrying()(lambda: self._journaled("media", post, uncertain=False))
        media_id = str(media["id"])
        keep(media_id)  # a later try reuses it rather than uploading it again
        if media.get("url"):
            return media_id
        return self._retrying()(lambda: self._ready(media_id))

    def publish(self, part: Outgoing, reply: Reply | None) -> Remote:
        key = part.token or self.token(datetime.now(UTC))  # the runner always passes one
        made = key_time(key)
        uncertain = part.uncertain
        looked = False

        def attempt() -> Remote:
            nonlocal uncertain, looked
            if uncertain and not looked and self._key_may_be_forgotten(made):
                # The instance may have forgotten the key: a resend could post it twice.
                found = self._find(part, reply, since=made, check_reply=True)
                looked = True  # from here on the key is fresh on the instance again
                if found is not None:
                    return found
            try:
                return self._post(part, reply, key)
            except Retryable as error:
                uncertain = uncertain or error.uncertain
                raise

        try:
            return self._retrying()(attempt)
        except PublishError as error:
            error.uncertain = error.uncertain or uncertain
            raise

    def locate(self, part: Outgoing) -> Remote | None:
        """A part that went out while its answer was lost, among the account's recent
        statuses (by its text, its images, and not older than its key)."""
        since = key_time(part.token) if part.token else None
        try:
            return self._retrying()(lambda: self._find(part, None, since=since, check_reply=False))
        except PublishError as error:
            log.info("looking up a Mastodon status failed: %s", error)
            return None

    # --- requests -------------------------------------------------------------------------

    def _key_may_be_forgotten(self, made: float | None) -> bool:
        return made is None or self._clock() - made > KEY_KEPT.total_seconds()

    def _post(self, part: Outgoing, reply: Reply | None, key: str) -> Remote:
        def send() -> Any:
            return self._api.status_post(
                part.text,
                in_reply_to_id=reply.parent.id if reply is not None else None,
                media_ids=list(part.media) or None,
                visibility=self.visibility,
                language=self.language,
                idempotency_key=key,
            )

        return _remote(self._journaled("post", send, uncertain=True, what="status"))

    def _ready(self, media_id: str) -> str:
        """``media_id`` once the instance has processed it; _StillProcessing before (a 206 is
        an answer: the request went well), MediaExpired if it is gone or attached."""
        media = self._journaled("media", lambda: self._api.media(media_id), uncertain=False)
        if not media.get("url"):
            raise _StillProcessing(
                f"{self.host} is still processing the image (media {media_id}); the post goes "
                "out once it is ready"
            )
        return media_id

    def _account_id(self) -> str:
        if self._account is None:
            me = self._journaled("lookup", self._api.account_verify_credentials, uncertain=False)
            self._account = str(me["id"])
        return self._account

    def _find(
        self, part: Outgoing, reply: Reply | None, *, since: float | None, check_reply: bool
    ) -> Remote | None:
        """The account's recent status that is ``part``: the same text (as the instance shows
        it, links by their address), the same images, in reply to the same status, and made
        after its key was (the newest first: older ones are not looked at)."""
        account = self._account_id()
        statuses = self._journaled(
            "lookup",
            lambda: self._api.account_statuses(
                account, limit=RECENT_STATUSES, exclude_reblogs=True
            ),
            uncertain=False,
        )
        wanted = comparable(part.text)
        parent = str(reply.parent.id or "") if reply is not None else ""
        earliest = since - CLOCK_SKEW.total_seconds() if since is not None else None
        for status in statuses:
            created = status.get("created_at")
            made_at = created.timestamp() if isinstance(created, datetime) else None
            if earliest is not None and made_at is not None and made_at < earliest:
                break
            if comparable(plain_text(str(status.get("content") or ""))) != wanted:
                continue
            if check_reply and str(status.get("in_reply_to_id") or "") != parent:
                continue
            attached = sorted(str(media["id"]) for media in status.get("media_attachments") or [])
            if part.media and attached != sorted(part.media):
                continue
            return _remote(status)
        return None

    def _ask(self, request: Callable[[], _T], *, uncertain: bool, what: str) -> _T:
        """One request, its Mastodon.py errors made the interface's outcomes."""
        if self._token_unusable:
            error = AccountRefused(
                "MASTODON_ACCESS_TOKEN holds spaces or line breaks; put the token alone in it"
            )
            error.http_status = 401
            raise error
        try:
            return request()
        except MastodonError as error:
            raise _explain(error, uncertain=uncertain, what=what, reset=self._reset()) from None

    def _journaled(
        self, kind: str, request: Callable[[], _T], *, uncertain: bool, what: str = ""
    ) -> _T:
        what = what or ("image" if kind == "media" else "request")
        return journaled(
            self.journal, kind, lambda: self._ask(request, uncertain=uncertain, what=what)
        )

    def _reset(self) -> datetime | None:
        """When the rate limit resets, as the last answer said (Mastodon.py's epoch seconds)."""
        reset = self._api.ratelimit_reset
        if not isinstance(reset, int | float):
            return None
        return datetime.fromtimestamp(reset, UTC)

    def _retrying(self) -> tenacity.Retrying:
        return retrying_within(
            self.budget, sleep=self._sleep, clock=self._clock, elapsed=self._elapsed
        )


# --- what the instance answered -------------------------------------------------------------


def key_time(key: str | None) -> float | None:
    """When an Idempotency-Key of ``token`` was made (epoch seconds), or None for another."""
    if not key or not key.startswith(_TOKEN_PREFIX):
        return None
    stamp = key[len(_TOKEN_PREFIX) :].split("-", 1)[0]
    return float(stamp) if stamp.isdigit() else None


def _remote(status: Any) -> Remote:
    return Remote(str(status["id"]), status.get("url") or None)


def _section(document: Any, name: str) -> dict[str, Any]:
    found = document.get(name) if isinstance(document, dict) else None
    return dict(found) if isinstance(found, dict) else {}


class _PlainText(HTMLParser):
    """A status's HTML ``content`` back as the text that was posted: paragraphs and line
    breaks as whitespace, a link as its address (Mastodon shows it shortened, with an
    ellipsis), a mention or hashtag as its text, entities unescaped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._anchors: list[bool] = []  # for each open <a>: whether its text is replaced

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")
        elif tag == "p":
            self.parts.append("\n\n")
        elif tag == "a":
            values = dict(attrs)
            classes = (values.get("class") or "").split()
            link = (
                "mention" not in classes and "hashtag" not in classes and bool(values.get("href"))
            )
            if link:
                self.parts.append(values.get("href") or "")
            self._anchors.append(link)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._anchors:
            self._anchors.pop()

    def handle_data(self, data: str) -> None:
        if not any(self._anchors):
            self.parts.append(data)


def plain_text(content: str) -> str:
    parser = _PlainText()
    parser.feed(content)
    parser.close()
    return "".join(parser.parts).strip()


def comparable(text: str) -> str:
    """A text as two spellings of one status compare: whitespace runs as one space (Mastodon
    strips the text and makes paragraphs of its blank lines), percent-escapes decoded (a link's
    address may come back encoded), a remote mention by its username (as Mastodon shows it)."""
    for span in reversed(mention_spans(text)):
        text = text[: span.start] + span.replacement + text[span.end :]
    return " ".join(unquote(text).split())


def _status_and_detail(error: MastodonAPIError) -> tuple[int | None, str]:
    """Mastodon.py's ('Mastodon API returned error', status, reason, the body's error)."""
    args = error.args
    status = args[1] if len(args) > 1 and isinstance(args[1], int) else None
    detail = next((str(a) for a in reversed(args[2:4]) if a), "") if status else ""
    detail = " ".join(detail.split())
    if len(detail) > _DETAIL_LENGTH:
        detail = detail[: _DETAIL_LENGTH - 1] + "…"
    return status, detail or "no reason given"


def _explain(
    error: MastodonError, *, uncertain: bool, what: str, reset: datetime | None
) -> PublishError:
    """The network interface's outcome for a Mastodon.py error. ``uncertain``: the request
    may have made the status although no answer came (a status post); ``what`` the request
    was about: ``status``, ``image`` or another ``request``. Never quotes the request itself
    (its headers hold the token)."""
    explained: PublishError
    if isinstance(error, MastodonRatelimitError):
        explained = Retryable("Mastodon's rate limit was reached (429)", reset=reset)
        explained.http_status = 429
        return explained
    if isinstance(error, MastodonNetworkError):
        # Mastodon.py's message quotes requests' exception, which may quote a header: only
        # the kind of failure is told.
        cause = type(error.__context__ or error).__name__
        return Retryable(f"could not reach Mastodon ({cause})", uncertain=uncertain)
    if not isinstance(error, MastodonAPIError):
        return PostRefused(f"Mastodon.py could not make the request ({type(error).__name__})")
    status, detail = _status_and_detail(error)
    lowered = detail.lower()
    if status is None:  # a 2xx whose body is not JSON (a proxy's page)
        explained = Retryable(
            "Mastodon answered with something that is not JSON", uncertain=uncertain
        )
    elif status in (401, 403):
        explained = AccountRefused(
            f"Mastodon refused the access token ({status}: {detail}): {_SCOPES_HELP}"
        )
    elif isinstance(error, MastodonNotFoundError) and what == "image":
        explained = MediaExpired(f"Mastodon no longer has the uploaded image (404: {detail})")
    elif status == 422 and "not finished processing" in lowered:
        explained = _StillProcessing(
            f"Mastodon has not finished processing the image (422: {detail})"
        )
    elif status == 422 and "not found" in lowered and "media" in lowered:
        # Mastodon 4.3+: a media id that is gone or attached to another status
        explained = MediaExpired(f"Mastodon no longer has the uploaded image (422: {detail})")
    elif status >= 500 or status == 408:
        explained = Retryable(
            f"Mastodon is having trouble ({status}: {detail})", uncertain=uncertain
        )
    elif status == 422 and what == "status":
        explained = PostRefused(
            f"Mastodon refused the status (422: {detail}); change the post so that the instance "
            "takes it, then run `interlink-bot retry` for it"
        )
    elif what == "image":
        explained = PostRefused(
            f"Mastodon refused the image ({status}: {detail}); change it, then run "
            "`interlink-bot retry` for the post"
        )
    else:
        explained = PostRefused(f"Mastodon refused the {what} ({status}: {detail})")
    explained.http_status = status
    return explained
