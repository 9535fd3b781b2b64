"""The networks the bot publishes to, one folder each (issue 11), behind this one interface.

The core (queue, schedule, formatting, ledger, runner, read models, CLI) calls only what is
here and never looks behind it: everything a network's rules, library and credentials are
lives in its folder. A network's folder is imported only when something goes to it (or a
command asks how it counts): the registry below names modules, it does not import them.

What a network does (Postiz's provider interface was the model; ours is smaller):

- ``measure`` and ``limit``: how it counts a text, so the formatter shortens to *its* limit;
- ``token``: what makes a resend recognisable, chosen before the first request and stored
  (X: none, the text itself is it; Bluesky: the record key);
- ``upload``: an image with its alt text; ``publish``: one part, optionally a reply, with the
  uploaded images; a part whose earlier request may have gone out (``uncertain``) is resolved
  by the network's own means inside ``publish`` (X: its duplicate 403; Bluesky: the stored
  record key), never by posting it again;
- ``locate``: a part that went out while its answer was lost, found again (a reply needs it);
- its errors leave its folder only as the few below, and the runner decides what each means.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from bot.errors import BotError

if TYPE_CHECKING:
    from datetime import datetime
    from pathlib import Path

    from bot.config import NetworkSettings
    from bot.retries import RetryBudget


@dataclass(frozen=True)
class Entry:
    """A network as the registry knows it without importing it."""

    name: str  # as config and log name it
    label: str  # as sentences name it
    module: str  # its folder's module with ``connect`` and ``measure``
    credentials: tuple[str, ...]  # the variables it needs, all of them
    options: tuple[str, ...] = ()  # variables it reads if set (endpoints)
    endpoint: str | None = None  # the option that points it at another server
    real_hosts: tuple[str, ...] = ()  # hosts that are the network itself, not a stand-in
    local_only: bool = False  # only a server on this machine is a stand-in (see rehearsals)
    ids_are_tweets: bool = False  # log --json repeats its ids as tweet_id, tweet_url (SPEC)
    # credentials that are no secret (a handle): named in messages, never replaced in them
    public: tuple[str, ...] = ()
    settings: tuple[str, ...] = ()  # its keys in networks.NAME beyond template (bot.config)
    # its limits are its server's own, read and kept in the state folder (its folder's
    # ``counting(state)``): how a post is shortened depends on what was read last
    instance_limits: bool = False
    billed: bool = False  # it bills each post (its folder's PRICES): a budget may cap it


# One line per network: adding a network is its folder and its line here.
REGISTRY: dict[str, Entry] = {
    entry.name: entry
    for entry in (
        Entry(
            "x",
            "X",
            "bot.networks.x",
            ("X_API_KEY", "X_API_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET"),
            ("X_API_BASE_URL",),
            endpoint="X_API_BASE_URL",
            real_hosts=("api.twitter.com", "api.x.com", "x.com", "twitter.com"),
            ids_are_tweets=True,
            settings=("monthly_budget_usd",),
            billed=True,
        ),
        Entry(
            "bluesky",
            "Bluesky",
            "bot.networks.bluesky",
            ("BLUESKY_HANDLE", "BLUESKY_APP_PASSWORD"),
            ("BLUESKY_SERVICE",),
            # An organisation may run its own PDS: only one on this machine is a rehearsal.
            endpoint="BLUESKY_SERVICE",
            local_only=True,
            public=("BLUESKY_HANDLE",),
        ),
        Entry(
            "mastodon",
            "Mastodon",
            "bot.networks.mastodon",
            ("MASTODON_API_BASE_URL", "MASTODON_ACCESS_TOKEN"),
            # The instance is a credential (no default) and its endpoint: only one on this
            # machine is a rehearsal, any other may be the organisation's own instance.
            endpoint="MASTODON_API_BASE_URL",
            local_only=True,
            public=("MASTODON_API_BASE_URL",),
            settings=("visibility", "language"),
            instance_limits=True,
        ),
    )
}
DEFAULT_NETWORKS = ("x",)  # SPEC: networks: default {x: {}}


def entry(name: str) -> Entry:
    return REGISTRY[name]


_LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


def _host(url: str) -> str:
    netloc = url.rsplit("://", maxsplit=1)[-1].split("/", maxsplit=1)[0].lower()
    return netloc if netloc.startswith("[") and netloc.endswith("]") else netloc.rsplit(":", 1)[0]


def stand_ins(variables: Mapping[str, str]) -> dict[str, str]:
    """The networks pointed at a stand-in rather than at themselves (the sandbox, a test PDS),
    with its URL: what makes a run a rehearsal, whose records are kept apart from the real
    ones. X: X_API_BASE_URL set to anything but X's own hosts; Bluesky: BLUESKY_SERVICE on
    this machine (127.0.0.1, localhost), since any other may be the organisation's own PDS."""
    found = {}
    for e in REGISTRY.values():
        url = variables.get(e.endpoint or "")
        if not url:
            continue
        host = _host(url)
        if host in e.real_hosts or (e.local_only and host not in _LOOPBACK):
            continue
        found[e.name] = url.rstrip("/")
    return found


def all_variables() -> tuple[str, ...]:
    """Every credential and option variable of every network, in registry order."""
    return tuple(name for e in REGISTRY.values() for name in (*e.credentials, *e.options))


def secret_variables() -> tuple[str, ...]:
    return tuple(name for e in REGISTRY.values() for name in e.credentials if name not in e.public)


@dataclass(frozen=True)
class Attachment:
    """An image to send: its file, its type as judged by its bytes, its alt text."""

    path: Path
    media_type: str
    alt: str


@dataclass(frozen=True)
class Remote:
    """What a network gave back for a published part. ``id`` None: it went out, but the
    network's answer (and so its id) was lost."""

    id: str | None
    url: str | None = None
    ref: str | None = None  # what a reply needs beyond the id (Bluesky: the record's cid)


@dataclass(frozen=True)
class Reply:
    """Where a thread's part goes: under ``parent``, in the thread begun by ``root``."""

    root: Remote
    parent: Remote


@dataclass(frozen=True)
class LinkCard:
    """A page's Open Graph card (bot.pages), for a network that shows links as cards."""

    uri: str
    title: str
    description: str
    thumb: bytes | None = None  # the page's image, checked to be one
    thumb_type: str | None = None


@dataclass(frozen=True)
class Outgoing:
    """One part as it is to be sent."""

    text: str
    media: tuple[str, ...] = ()  # the uploaded images' handles (``upload``)
    token: str | None = None  # chosen before the first request (``token``), stored
    uncertain: bool = False  # an earlier request may have published it
    card: LinkCard | None = None  # the link's card, for a first part without images


class Journal(Protocol):
    """Where each request is written down: before it is made, and with its outcome."""

    def started(self, kind: str) -> None: ...
    def ended(
        self,
        outcome: str,
        http_status: int | None,
        error: str | None,
        *,
        account: bool = False,
        cost: int = 0,
    ) -> None:
        """``account``: the network refused the account, not this request's post; ``cost``:
        what the network bills for it (its folder's PRICES), in millionths of a dollar."""

    def billed_earlier(self, cost: int) -> None:
        """The part went out on an earlier request whose answer was lost (found by a later
        one): that request is what the network billed."""


class Network(Protocol):
    name: str
    journal: Journal | None
    link_cards: bool  # whether it shows a post's link as a card (then the runner fetches it)

    def token(self, now: datetime) -> str | None: ...
    def upload(
        self, image: Attachment, stored: str | None, keep: Callable[[str | None], None]
    ) -> str: ...
    def publish(self, part: Outgoing, reply: Reply | None) -> Remote: ...
    def locate(self, part: Outgoing) -> Remote | None: ...


Connect = Callable[["RetryBudget"], Network]
"""Makes a network's client for a run (its one retry budget); raises CredentialsMissing."""


def connector(
    name: str, variables: Mapping[str, str], state: Path, settings: NetworkSettings
) -> Connect:
    """How the run reaches network ``name`` with these variables (environment and .env) and
    its ``networks.NAME`` settings, imported only when called; what it keeps between runs (a
    session, the instance's limits) lives in ``state``."""

    def connect(budget: RetryBudget) -> Network:
        module = importlib.import_module(REGISTRY[name].module)
        network: Network = module.connect(variables, budget, state, settings)
        return network

    return connect


@dataclass(frozen=True)
class Counting:
    """How a network counts a text, for the formatter to shorten to its limit."""

    limit: int
    measure: Callable[[str], int]
    at_most: Callable[[str], int]  # a cheap upper bound of ``measure``
    prefix_lengths: Callable[[str], list[int]]  # measure of each prefix value[:i], i = 0..len
    # where the limits come from, for a network whose servers set their own (a Mastodon
    # instance's, read on a given day, or the defaults): preview and check say it
    source: str = ""


@dataclass(frozen=True)
class Prices:
    """What a network bills (SPEC "X's bill"), in millionths of a US dollar: exact when summed
    over a month, and every price X lists is a whole number of them."""

    post: Callable[[str], int]  # a post with this text (X: more when it contains a URL)
    alt_text: int  # setting an image's alt text
    read: int  # each of the account's own posts read back (to resolve an unknown outcome)


def prices_of(name: str) -> Prices | None:
    """What network ``name`` bills (its folder's ``PRICES``), or None for a network that does
    not bill per post."""
    if not REGISTRY[name].billed:
        return None
    prices: Prices = importlib.import_module(REGISTRY[name].module).PRICES
    return prices


def image_limit(name: str) -> int:
    """The largest image, in bytes, network ``name`` takes (its folder's MAX_IMAGE_BYTES)."""
    limit: int = importlib.import_module(REGISTRY[name].module).MAX_IMAGE_BYTES
    return limit


def counting_of(name: str, state: Path | None = None) -> Counting:
    """How network ``name`` counts (its folder's ``COUNTING``; imports only its text rules).
    A network whose server sets its limits (``instance_limits``) counts as its folder's
    ``counting(state)`` says: the limits last read and kept in the state folder, or its
    defaults."""
    module = importlib.import_module(REGISTRY[name].module)
    counting: Counting
    if REGISTRY[name].instance_limits and state is not None:
        counting = module.counting(state)
    else:
        counting = module.COUNTING
    return counting


# --- the few outcomes a network's errors become ------------------------------------------


class PublishError(BotError):
    """The network did not publish the part. ``str()`` says what to do; it never holds a
    credential."""

    http_status: int | None = None
    outcome = "refused"  # as the attempts table records it
    # An earlier request of the same call may have published the post (a timeout, a 5xx):
    # whatever the last answer was, that stays known (exactly once).
    uncertain = False


class Retryable(PublishError):
    """Worth trying again: the network, a timeout, a 5xx, a rate limit (``reset``: when it
    takes requests again, if it said so).

    ``uncertain``: a request may have reached the network and published the post although
    no answer came back (a read timeout, a dropped connection, a 5xx).
    """

    def __init__(
        self, message: str, *, uncertain: bool = False, reset: datetime | None = None
    ) -> None:
        super().__init__(message)
        self.uncertain = uncertain
        self.reset = reset

    @property
    def outcome(self) -> str:  # type: ignore[override]
        return "unknown" if self.uncertain else "retryable"


class AccountRefused(PublishError):
    """The network refused the account or the app (bad credentials, no credits, no
    permission): every later post would fail the same way, so nothing more goes to it in
    this run, and the post stays in line."""


class PostRefused(PublishError):
    """The network refused this post: it is ``failed`` until `retry`."""


class MediaExpired(PostRefused):
    """The network no longer knows an uploaded image (ids expire): upload it again."""
