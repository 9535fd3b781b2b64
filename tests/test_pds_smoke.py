"""The local PDS (tests/pds_server.py) against the atproto SDK: the calls the bot will make.

An account with an app password, a post with a record key of our choosing (so that a retry
cannot post twice), read back; the same key again refused; an absent key not found; a blob
uploaded; and the PDS's own listRecords as the judge. Skipped while tests/pds is not installed
(tools/install_pds.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from atproto import Client, models
from atproto.exceptions import BadRequestError, RequestException
from atproto_client.models.common import XrpcError

from tests import pds_server

pytestmark = pytest.mark.skipif(
    not pds_server.installed(),
    reason="tests/pds/node_modules is not installed: run .venv/bin/python tools/install_pds.py",
)

POST = "app.bsky.feed.post"
TID = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")


@pytest.fixture(scope="module")
def pds() -> Iterator[pds_server.Pds]:
    with pds_server.running_pds() as server:
        yield server


def test_tid_form() -> None:
    assert pds_server.make_tid(0, 0) == "2222222222222"
    key = pds_server.make_tid()
    assert TID.match(key), key
    assert pds_server.make_tid(1_700_000_000_000_000, 1) < pds_server.make_tid(
        1_700_000_000_000_001, 0
    )


def test_post_with_chosen_rkey(pds: pds_server.Pds) -> None:
    assert pds.url.startswith("http://127.0.0.1:")
    assert pds.plc_url.startswith("http://127.0.0.1:")
    account = pds_server.create_account(pds.url, "alice.test")
    assert account.did.startswith("did:plc:")

    # As the bot logs in: its handle and an app password; no AppView here to fetch a profile.
    client = Client(base_url=pds.url)
    assert client.login(account.handle, account.app_password, fetch_bsky_profile=False) is None

    key = pds_server.make_tid()
    text = "Hello from the test"
    record = models.AppBskyFeedPost.Record(text=text, created_at=client.get_current_time_iso())
    data = models.ComAtprotoRepoCreateRecord.Data(
        repo=account.did, collection=POST, rkey=key, record=record
    )
    created = client.com.atproto.repo.create_record(data)
    assert created.uri == f"at://{account.did}/{POST}/{key}"

    got = client.com.atproto.repo.get_record({"repo": account.did, "collection": POST, "rkey": key})
    assert isinstance(got.value, models.AppBskyFeedPost.Record)
    assert got.value.text == text
    assert got.cid == created.cid

    # The same key again is refused, but not as a client error: @atproto/pds 0.5.35 answers
    # 500 InternalServerError (its log: "There is already a value at key: ..."), so a retry
    # after a lost answer must look (getRecord) rather than trust the status.
    with pytest.raises(RequestException) as duplicate:
        client.com.atproto.repo.create_record(data)
    assert duplicate.value.response is not None
    assert duplicate.value.response.status_code == 500

    # An absent key: 400 RecordNotFound, not 404.
    with pytest.raises(BadRequestError) as missing:
        client.com.atproto.repo.get_record(
            {"repo": account.did, "collection": POST, "rkey": pds_server.make_tid()}
        )
    assert missing.value.response is not None
    assert missing.value.response.status_code == 400
    assert isinstance(missing.value.response.content, XrpcError)
    assert missing.value.response.content.error == "RecordNotFound"

    png = pds_server.tiny_png()
    blob = client.upload_blob(png).blob
    assert blob.mime_type == "image/png"
    assert blob.size == len(png)

    # The PDS's own word: exactly the one post, as written.
    records = pds_server.list_records(pds.url, account.did, POST)
    assert [r["uri"] for r in records] == [created.uri]
    assert records[0]["value"]["text"] == text
