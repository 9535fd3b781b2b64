"""X's client (bot.networks.x.client) over real HTTP against the X emulator, which checks
OAuth 1.0a signatures."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from requests.adapters import HTTPAdapter

from bot.networks import AccountRefused, PostRefused
from bot.networks.x.client import (
    Credentials,
    DuplicateContent,
    Publisher,
    RateLimited,
    Transient,
)
from bot.networks.x.sandbox import Sandbox
from bot.retries import RUN_RETRY_SECONDS
from tests.conftest import (
    CREDENTIALS,
    SECRET_VALUES,
    Clock,
    Sleeps,
    posts_on,
    tweet_requests,
)

Connect = Callable[[Credentials], Publisher]


def script(emulator: Sandbox, *answers: str) -> None:
    request = urllib.request.Request(
        emulator.base_url + "/sandbox/script", data=json.dumps(answers).encode(), method="POST"
    )
    with urllib.request.urlopen(request) as response:
        assert response.status == 200


def test_a_post_goes_to_the_base_url_signed(emulator: Sandbox, connect: Connect) -> None:
    tweet_id = connect(CREDENTIALS).post("Hello from the tests https://example.org")
    (stored,) = posts_on(emulator)
    assert re.fullmatch(r"Hello from the tests https://t\.co/[0-9a-z]{10}", str(stored["shown"]))
    assert posts_on(emulator) == [
        {
            "id": tweet_id,
            "text": "Hello from the tests https://example.org",
            "shown": stored["shown"],
            "in_reply_to": None,
            "media_ids": [],
            "at": posts_on(emulator)[0]["at"],
        }
    ]
    assert tweet_requests(emulator) == 1


def test_a_reply_names_the_post_it_answers(emulator: Sandbox, connect: Connect) -> None:
    publisher = connect(CREDENTIALS)
    first = publisher.post("first")
    second = publisher.post("second", reply_to=first)
    assert [post["in_reply_to"] for post in posts_on(emulator)] == [None, first]
    assert second != first


def test_a_wrong_signature_is_refused_as_401(emulator: Sandbox, connect: Connect) -> None:
    wrong = Credentials(CREDENTIALS.api_key, "not-the-secret", *CREDENTIALS.values()[2:])
    with pytest.raises(AccountRefused, match="401 Unauthorized"):
        connect(wrong).post("never published")
    assert posts_on(emulator) == []


@pytest.mark.parametrize(
    ("answer", "error", "words"),
    [
        ("400", PostRefused, "X rejected the post (400"),
        ("401", AccountRefused, "check X_API_KEY, X_API_SECRET"),
        ("402", AccountRefused, "no API credits left (402"),
        ("403", PostRefused, "X rejected the post (403"),
        ("403-permissions", AccountRefused, "Read and Write, then regenerate the access token"),
    ],
)
def test_refusals_are_not_retried_and_say_what_to_do(
    emulator: Sandbox, connect: Connect, sleeps: Sleeps, answer: str, error: type, words: str
) -> None:
    script(emulator, answer)
    with pytest.raises(error, match=words.replace("(", r"\(")) as caught:
        connect(CREDENTIALS).post("text")
    assert tweet_requests(emulator) == 1
    assert sleeps == []
    assert not any(secret in str(caught.value) for secret in SECRET_VALUES)


def test_duplicate_text_is_a_403_of_its_own(emulator: Sandbox, connect: Connect) -> None:
    publisher = connect(CREDENTIALS)
    publisher.post("same words")
    with pytest.raises(DuplicateContent, match="duplicate"):
        publisher.post("same words")
    assert len(posts_on(emulator)) == 1


def test_too_long_is_refused_by_x(emulator: Sandbox, connect: Connect) -> None:
    with pytest.raises(PostRefused, match="too long"):
        connect(CREDENTIALS).post("x" * 281)


def test_503_503_then_201_publishes_once(
    emulator: Sandbox, connect: Connect, sleeps: Sleeps
) -> None:
    script(emulator, "503", "503")
    connect(CREDENTIALS).post("third time lucky")
    assert tweet_requests(emulator) == 3
    assert len(posts_on(emulator)) == 1
    assert len(sleeps) == 2
    assert all(0 <= seconds <= 30 for seconds in sleeps)


def test_429_waits_for_the_reset(emulator: Sandbox, connect: Connect, sleeps: Sleeps) -> None:
    script(emulator, "429:20")
    connect(CREDENTIALS).post("after the limit")
    assert len(posts_on(emulator)) == 1
    assert sleeps == [21.0]  # until x-rate-limit-reset, plus a second


def test_429_with_a_far_reset_leaves_the_post_for_the_next_run(
    emulator: Sandbox, connect: Connect, sleeps: Sleeps, x_clock: Clock
) -> None:
    script(emulator, "429:900")  # X's 15-minute window
    with pytest.raises(RateLimited, match="429") as caught:
        connect(CREDENTIALS).post("later")
    assert caught.value.reset is not None
    assert caught.value.reset.timestamp() == x_clock() + 900
    assert sleeps == []
    assert tweet_requests(emulator) == 1


def test_retrying_stops_within_about_a_minute(
    emulator: Sandbox, connect: Connect, sleeps: Sleeps
) -> None:
    script(emulator, *["503"] * 20)
    with pytest.raises(Transient, match="503"):
        connect(CREDENTIALS).post("never")
    assert sum(sleeps) <= RUN_RETRY_SECONDS
    assert 2 <= tweet_requests(emulator) <= 6


def test_a_hung_request_times_out_instead_of_hanging_the_run(
    emulator: Sandbox, hung_x: Connect
) -> None:
    script(emulator, *["hang"] * 6)
    publisher = hung_x(CREDENTIALS)
    with pytest.raises(Transient, match="did not answer in time"):
        publisher.post("stuck")
    assert tweet_requests(emulator) >= 2  # retried: a timeout is worth another try


def test_connection_refused_is_transient(sleeps: Sleeps) -> None:
    publisher = Publisher(CREDENTIALS, base_url="http://127.0.0.1:9", timeout=0.5, sleep=sleeps)
    with pytest.raises(Transient, match="could not reach X"):
        publisher.post("nobody home")
    assert len(sleeps) >= 1


def test_credentials_never_show_in_repr() -> None:
    assert not any(secret in repr(CREDENTIALS) for secret in SECRET_VALUES)


def test_a_timeout_whose_post_went_out_is_not_sent_twice(emulator: Sandbox, sleeps: Sleeps) -> None:
    # X creates the post but its answer never arrives; the retry meets X's duplicate 403.
    script(emulator, "hang")
    publisher = Publisher(CREDENTIALS, base_url=emulator.base_url, timeout=0.3, sleep=sleeps)
    assert publisher.post("went out the first time") is None  # published, id unknown
    assert len(posts_on(emulator)) == 1
    assert tweet_requests(emulator) == 2


def test_failing_after_an_unknown_outcome_says_so(emulator: Sandbox, hung_x: Connect) -> None:
    script(emulator, *["hang"] * 6)
    publisher = hung_x(CREDENTIALS)
    with pytest.raises(Transient) as caught:
        publisher.post("maybe out")
    assert caught.value.uncertain


def test_a_rate_limit_is_a_known_outcome(emulator: Sandbox, connect: Connect) -> None:
    script(emulator, "429:900")
    with pytest.raises(RateLimited) as caught:
        connect(CREDENTIALS).post("not sent")
    assert not caught.value.uncertain


def test_every_request_has_a_timeout_by_default(
    emulator: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SPEC "Requests have timeouts": a Publisher made as the CLI makes it, with no timeout
    # given, hands requests a finite one (without it, a silent X would hang the run for ever).
    seen: list[object] = []
    send = HTTPAdapter.send

    def spy(self: HTTPAdapter, request: Any, **options: Any) -> Any:
        seen.append(options.get("timeout"))
        return send(self, request, **options)

    monkeypatch.setattr(HTTPAdapter, "send", spy)
    publisher = Publisher(CREDENTIALS, base_url=emulator.base_url)
    publisher.post("with a timeout")
    assert publisher.find_published("with a timeout") is not None
    assert len(seen) == 3  # the post, then the look-up's two reads
    for timeout in seen:
        parts = timeout if isinstance(timeout, tuple) else (timeout,)
        assert all(isinstance(part, int | float) and 0 < part <= 60 for part in parts), timeout
