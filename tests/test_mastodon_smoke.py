"""The local Mastodon server (tests/mastodon_server.py: mastodon-mock) and the proxy in front of
it (tests/mastodon_proxy.py), against Mastodon.py: the calls the bot will make, and the facts
of the server that it will rely on, each judged by what the server stored.

A status posted twice with one Idempotency-Key is stored once; replies chain a thread; an
image's alt text is its description; an over-long status is refused (and how the mock counts,
unlike Mastodon); the instance documents' limits; how Mastodon.py raises for a 429, a 401, a
422 and a 5xx; a post whose answer was lost, sent again with its key, is the same status; media
processed asynchronously, as a real instance does it. Skipped without mastodon-mock.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

import pytest
from mastodon import (
    Mastodon,
    MastodonAPIError,
    MastodonInternalServerError,
    MastodonNetworkError,
    MastodonRatelimitError,
    MastodonServiceUnavailableError,
    MastodonUnauthorizedError,
)

from tests import mastodon_server
from tests.conftest import serving
from tests.mastodon_proxy import NOT_READY, MastodonProxy
from tests.pds_server import tiny_png

pytestmark = pytest.mark.skipif(
    not mastodon_server.installed(),
    reason="mastodon-mock is not installed: .venv/bin/pip install mastodon-mock",
)

_names = count(1)
TOO_LONG = "Validation failed: Text is too long (maximum is 500 characters)"


@pytest.fixture(scope="module")
def server() -> Iterator[mastodon_server.Mastodon]:
    with mastodon_server.running_mastodon() as running:
        yield running


@pytest.fixture
def account(server: mastodon_server.Mastodon) -> mastodon_server.Account:
    """A fresh account per test, so that each test's statuses are its own."""
    return mastodon_server.create_account(server.url, f"bot{next(_names)}")


@pytest.fixture
def proxy(server: mastodon_server.Mastodon) -> Iterator[MastodonProxy]:
    running = MastodonProxy(server.url)
    with serving(running):
        yield running


def client(url: str, account: mastodon_server.Account) -> Mastodon:
    """As the bot will make it: raise on a 429 rather than sleep, a timeout of its own, and
    no version check (none is the default: nothing is asked on construction)."""
    return Mastodon(
        access_token=account.access_token,
        api_base_url=url,
        ratelimit_method="throw",
        request_timeout=10,
        version_check_mode="none",
    )


def stored(account: mastodon_server.Account) -> list[dict[str, Any]]:
    return mastodon_server.list_statuses(account.url, account.access_token)


def test_an_account_by_the_authorization_code_grant(
    server: mastodon_server.Mastodon, account: mastodon_server.Account
) -> None:
    assert server.url.startswith("http://127.0.0.1:")
    assert account.scopes == mastodon_server.BOT_SCOPES  # the app's scopes, as granted
    me = client(server.url, account).account_verify_credentials()
    assert (str(me.id), me.username, me.acct) == (
        account.account_id,
        account.username,
        account.acct,
    )
    # The mock's authorization: a code for any local username, no password asked; it is
    # the username itself. A real instance asks the person to log in.
    code = mastodon_server.authorization_code(server.url, account.client_id, account.username, "")
    assert code == f"mockcode_{account.username}"
    with pytest.raises(mastodon_server.ApiError) as unknown:
        mastodon_server.api(
            server.url,
            "GET",
            "/api/v1/accounts/verify_credentials",
            token="not-a-token",
        )
    assert unknown.value.status == 401


def test_construction_asks_nothing_and_media_asks_the_version(
    proxy: MastodonProxy, account: mastodon_server.Account
) -> None:
    api = client(proxy.url, account)
    assert proxy.seen == []
    api.status_post("First")
    assert [seen.route for seen in proxy.seen] == ["POST /api/v1/statuses"]
    # media_post picks /api/v2/media by the server's version: its first call fetches both
    # instance documents (cached for the client's life), even with version_check_mode="none"
    api.media_post(tiny_png(), mime_type="image/png")
    api.media_post(tiny_png(), mime_type="image/png")
    assert [seen.route for seen in proxy.seen[1:]] == [
        "GET /api/v1/instance",
        "GET /api/v2/instance",
        "POST /api/v2/media",
        "POST /api/v2/media",
    ]
    assert proxy.seen[1].path == "/api/v1/instance/"  # with its slash
    assert proxy.seen[0].headers["Authorization"] == f"Bearer {account.access_token}"
    assert proxy.seen[0].headers["User-Agent"] == "mastodonpy"


def test_one_idempotency_key_one_status(
    proxy: MastodonProxy, account: mastodon_server.Account
) -> None:
    api = client(proxy.url, account)
    first = api.status_post("Once only", idempotency_key="post-a-1")
    again = api.status_post("Once only", idempotency_key="post-a-1")
    # the key alone decides, not the text: Mastodon keeps the key an hour, the mock for ever
    changed = api.status_post("Something else", idempotency_key="post-a-1")
    assert first.id == again.id == changed.id
    assert proxy.calls["POST /api/v1/statuses"] == 3
    assert {seen.headers["Idempotency-Key"] for seen in proxy.seen} == {"post-a-1"}
    (status,) = stored(account)
    assert status["id"] == str(first.id)
    assert status["content"] == "<p>Once only</p>"
    other = api.status_post("Once only", idempotency_key="post-a-2")
    assert other.id != first.id
    assert len(stored(account)) == 2


def test_replies_chain_a_thread(
    server: mastodon_server.Mastodon, account: mastodon_server.Account
) -> None:
    api = client(server.url, account)
    head = api.status_post("1/3 head")
    middle = api.status_post("2/3 middle", in_reply_to_id=head.id)
    tail = api.status_post("3/3 tail", in_reply_to_id=middle)  # a status is taken for its id
    chain = {s["id"]: s["in_reply_to_id"] for s in stored(account)}
    assert chain == {str(head.id): None, str(middle.id): str(head.id), str(tail.id): str(middle.id)}
    assert [s.id for s in api.status_context(tail).ancestors] == [head.id, middle.id]
    assert all(s["in_reply_to_account_id"] in (None, account.account_id) for s in stored(account))


def test_an_image_keeps_its_alt_text(
    server: mastodon_server.Mastodon, account: mastodon_server.Account
) -> None:
    api = client(server.url, account)
    media = api.media_post(tiny_png(), mime_type="image/png", description="A red dot")
    # the mock processes at once: url set, 200 (a real instance: 202, url null, see the proxy)
    assert media.url is not None
    assert media.type == "image"
    posted = api.status_post(
        "With a picture", media_ids=[media], visibility="unlisted", language="en"
    )
    (status,) = stored(account)
    assert status["id"] == str(posted.id)
    assert (status["visibility"], status["language"]) == ("unlisted", "en")
    (attachment,) = status["media_attachments"]
    assert attachment["id"] == str(media.id)
    assert attachment["description"] == "A red dot"
    assert attachment["type"] == "image"


def test_an_over_long_status_is_refused_by_len(
    server: mastodon_server.Mastodon, account: mastodon_server.Account
) -> None:
    api = client(server.url, account)
    api.status_post("x" * 500)
    with pytest.raises(MastodonAPIError) as refused:
        api.status_post("x" * 501)
    assert type(refused.value) is MastodonAPIError
    assert refused.value.args == (
        "Mastodon API returned error",
        422,
        "Unprocessable Entity",
        TOO_LONG,
    )
    # The difference from Mastodon: the mock counts len(), code points, with every URL at
    # its full length. Mastodon counts grapheme clusters, every URL as 23 characters
    # (characters_reserved_per_url), and a remote mention by its local part. Each of
    # these is under 500 to Mastodon and refused by the mock; the bot must count as
    # Mastodon does, and its tests must not post such a text to the mock.
    url_counted_23 = "y" * 400 + " https://example.com/" + "a" * 200  # Mastodon: 424
    flags = "\U0001f1ec\U0001f1e7" * 300  # 300 flags, 600 code points; Mastodon: 300
    for text in (url_counted_23, flags):
        with pytest.raises(MastodonAPIError) as also:
            api.status_post(text)
        assert also.value.args[1:] == (422, "Unprocessable Entity", TOO_LONG)
    assert len(stored(account)) == 1


def test_the_account_lists_its_statuses(
    server: mastodon_server.Mastodon, account: mastodon_server.Account
) -> None:
    api = client(server.url, account)
    posted = [api.status_post(f"number {n}").id for n in range(3)]
    me = api.account_verify_credentials()
    assert str(me.id) == account.account_id
    listed = api.account_statuses(me, limit=2)  # newest first, paged
    assert [s.id for s in listed] == posted[:0:-1]
    rest = api.fetch_next(listed)
    assert rest is not None
    assert [s.id for s in rest] == posted[:1]
    assert [s["id"] for s in stored(account)] == [str(i) for i in reversed(posted)]


def test_the_instance_documents(proxy: MastodonProxy, account: mastodon_server.Account) -> None:
    v2 = mastodon_server.api(proxy.url, "GET", "/api/v2/instance")
    v1 = mastodon_server.api(proxy.url, "GET", "/api/v1/instance")
    statuses = {
        "max_characters": 500,
        "max_media_attachments": 4,
        "characters_reserved_per_url": 23,
    }
    for document in (v1, v2):  # the same "configuration" in both
        assert document["configuration"]["statuses"] == statuses
        media = document["configuration"]["media_attachments"]
        assert media["image_size_limit"] == 10 * 1024 * 1024
        assert "image/png" in media["supported_mime_types"]
        assert "description_limit" not in media  # Mastodon 4.4 advertises it; the mock, not
    assert (v1["version"], v2["version"], v2["api_versions"]) == (
        "4.6.0",
        "4.6.0",
        {"mastodon": 10},
    )
    assert (v1["uri"], v2["domain"]) == (proxy.target.netloc, proxy.target.netloc)

    proxy.limits(max_characters=300, characters_reserved_per_url=25, description_limit=1500)
    proxy.limits(image_size_limit=1_000_000)
    api = client(proxy.url, account)
    for document in (api.instance_v2(), api.instance_v1()):
        assert document.configuration.statuses.max_characters == 300
        assert document.configuration.statuses.characters_reserved_per_url == 25
        assert document.configuration.media_attachments.description_limit == 1500
        assert document.configuration.media_attachments.image_size_limit == 1_000_000
    # only advertised: the mock still takes 500
    api.status_post("z" * 500)


def test_errors_as_mastodon_py_raises_them(
    proxy: MastodonProxy, account: mastodon_server.Account
) -> None:
    api = client(proxy.url, account)
    post = "POST /api/v1/statuses"
    reset = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=5)
    proxy.rate_limit(post, reset)
    with pytest.raises(MastodonRatelimitError) as limited:
        api.status_post("Limited")
    # a 429 is no MastodonAPIError and carries no status; the reset is on the client
    assert not isinstance(limited.value, MastodonAPIError)
    assert limited.value.args == ("Hit rate limit.",)
    assert api.ratelimit_reset is not None
    assert abs(api.ratelimit_reset - reset.timestamp()) < 2  # ISO 8601, adjusted by Date
    assert api.ratelimit_remaining == 0

    proxy.answer(post, 401, {"error": "The access token is invalid"})
    with pytest.raises(MastodonUnauthorizedError) as unauthorized:
        api.status_post("Unauthorized")
    assert unauthorized.value.args[1:] == (401, "Unauthorized", "The access token is invalid")

    proxy.answer(post, 422, {"error": "Validation failed: Text can't be blank"})
    with pytest.raises(MastodonAPIError) as invalid:
        api.status_post("Invalid")
    assert type(invalid.value) is MastodonAPIError
    assert invalid.value.args[1:] == (
        422,
        "Unprocessable Entity",
        "Validation failed: Text can't be blank",
    )

    proxy.answer(post, 500, {"error": "We're sorry, but something went wrong"})
    proxy.answer(post, 503, b"<html>Service Unavailable</html>")  # not JSON: a load balancer
    with pytest.raises(MastodonInternalServerError):
        api.status_post("Broken")
    with pytest.raises(MastodonServiceUnavailableError) as unavailable:
        api.status_post("Away")
    assert unavailable.value.args[1:] == (503, "Service Unavailable", None)
    assert proxy.calls[post] == 0  # the server saw none of them
    assert stored(account) == []


@pytest.mark.parametrize("server_got_it", [True, False], ids=["after-forwarding", "before"])
def test_a_lost_answer_and_the_same_key_again(
    proxy: MastodonProxy, account: mastodon_server.Account, server_got_it: bool
) -> None:
    api = client(proxy.url, account)
    proxy.hold("POST /api/v1/statuses", after_forwarding=server_got_it)
    with ThreadPoolExecutor(max_workers=1) as pool:
        sent = pool.submit(api.status_post, "Held", idempotency_key="held-1")
        try:
            assert proxy.held.wait(timeout=10), "the post never arrived"
        finally:
            proxy.release()
        with pytest.raises(MastodonNetworkError):  # the connection closed without an answer
            sent.result(timeout=10)
    before = stored(account)
    assert len(before) == (1 if server_got_it else 0)
    again = api.status_post("Held", idempotency_key="held-1")
    (status,) = stored(account)
    assert status["id"] == str(again.id)
    if server_got_it:  # the mock honours the key: the first attempt's status, not a second
        assert before[0]["id"] == str(again.id)
    assert proxy.calls["POST /api/v1/statuses"] == (2 if server_got_it else 1)


def test_media_processed_asynchronously(
    proxy: MastodonProxy, account: mastodon_server.Account
) -> None:
    api = client(proxy.url, account)
    proxy.delay_media(polls=2)
    started = time.monotonic()
    media = api.media_post(tiny_png(), mime_type="image/png", description="Alt")
    assert time.monotonic() - started < 2  # synchronous=False: no polling, no waiting
    assert media.url is None
    assert proxy.processing(str(media.id))
    with pytest.raises(MastodonAPIError) as not_ready:
        api.status_post("Too soon", media_ids=[media])
    assert not_ready.value.args[1:] == (422, "Unprocessable Entity", NOT_READY)
    polled = [api.media(media).url for _ in range(3)]  # 206, 206, then 200
    assert polled[:2] == [None, None]
    assert polled[2] is not None
    assert proxy.count("GET /api/v1/media") == 3
    posted = api.status_post("Ready", media_ids=[media])
    (status,) = stored(account)
    assert status["id"] == str(posted.id)
    assert status["media_attachments"][0]["description"] == "Alt"
