"""Images with alt text on X's v2 media upload, against the emulator."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.networks import PostRefused
from bot.networks.x.client import Credentials, Publisher
from bot.networks.x.sandbox import Sandbox
from tests.conftest import CREDENTIALS, Deployment, Result, posts_on, serving
from tests.test_publisher import script
from tests.test_run import AT_SLOT, CONFIG, ledger_rows, post, tick

Connect = Callable[[Credentials], Publisher]
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 256
ALT = "Protesters outside the court in Tirana"


@pytest.fixture
def site(deployment: Deployment) -> Deployment:
    deployment.write("config/bot.yaml", CONFIG)
    deployment.write("media/court.png", PNG)
    deployment.post("a", post("Story") + f"image: {{path: media/court.png, alt: {ALT!r}}}\n")
    return deployment


def requests_to(emulator: Sandbox) -> list[str]:
    with emulator.state.lock:
        return [request["path"] for request in emulator.state.requests]


def test_an_image_post_is_one_upload_one_alt_text_and_one_post(
    site: Deployment, emulator: Sandbox, connect: Connect
) -> None:
    report = tick(site, connect)
    assert report.problems == []
    assert requests_to(emulator) == ["/2/media/upload", "/2/media/metadata", "/2/tweets"]
    ((media_id, media),) = emulator.state.media.items()
    assert (media["type"], media["size"], media["alt"]) == ("image/png", len(PNG), ALT)
    (sent,) = posts_on(emulator)
    assert sent["media_ids"] == [media_id]
    assert ledger_rows(site) == [("a", 0, "published", 3)]  # every request counted


def test_a_failed_upload_never_becomes_a_text_only_post(
    site: Deployment, emulator: Sandbox, connect: Connect, cli: Callable[..., Result]
) -> None:
    script(emulator, *["upload:503"] * 6)
    tick(site, connect)
    assert posts_on(emulator) == []
    assert "/2/tweets" not in requests_to(emulator)
    assert ledger_rows(site)[0][:3] == ("a", 0, "retrying")
    log = cli("--root", site.root, "log").out
    assert "image court.png could not be uploaded: X is having trouble (503" in log
    tick(site, connect, datetime(2026, 1, 5, 9, 20, tzinfo=UTC))  # X is back
    (sent,) = posts_on(emulator)
    assert sent["media_ids"] == list(emulator.state.media)


def test_an_image_x_refuses_fails_the_post_with_the_reason(
    site: Deployment, emulator: Sandbox, connect: Connect
) -> None:
    script(emulator, "upload:400")
    report = tick(site, connect)
    assert posts_on(emulator) == []
    assert ledger_rows(site)[0][:3] == ("a", 0, "failed")
    assert report.problems[0].startswith(
        "a: failed for good: image court.png was refused: X rejected the post (400"
    )
    assert report.problems[0].endswith("; fix it, then `interlink-bot retry a`")


def test_the_uploaded_image_is_reused_when_the_post_is_sent_again(
    site: Deployment, emulator: Sandbox, connect: Connect
) -> None:
    script(emulator, *["503"] * 6)  # the upload works, the post does not
    tick(site, connect)
    assert len(emulator.state.media) == 1
    with emulator.state.lock:
        emulator.state.script.clear()
    tick(site, connect, datetime(2026, 1, 5, 11, 0, tzinfo=UTC))
    assert requests_to(emulator).count("/2/media/upload") == 1
    (sent,) = posts_on(emulator)
    assert sent["media_ids"] == list(emulator.state.media)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"just some text, renamed .jpg", "not supported"),
        (PNG + b"\0" * (6 * 1024 * 1024), "larger than 5 MB"),
    ],
)
def test_the_emulator_refuses_what_x_refuses(
    emulator: Sandbox, connect: Connect, tmp_path: Path, content: bytes, reason: str
) -> None:
    image = tmp_path / "photo.jpg"
    image.write_bytes(content)
    with pytest.raises(PostRefused, match=reason):
        connect(CREDENTIALS).upload_image(image, "image/jpeg")
    assert emulator.state.media == {}


def test_the_emulator_refuses_an_upload_without_oauth(emulator: Sandbox) -> None:
    request = urllib.request.Request(
        emulator.base_url + "/2/media/upload",
        data=b"--x\r\nContent-Disposition: form-data; name=media\r\n\r\n" + PNG + b"\r\n--x--\r\n",
        headers={"Content-Type": "multipart/form-data; boundary=x"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request)
    assert refused.value.code == 401
    assert emulator.state.media == {}


def test_the_sandbox_page_shows_the_image_and_its_alt_text(
    site: Deployment, emulator: Sandbox, connect: Connect
) -> None:
    site.post("t", post("Digest") + 'thread: ["second part"]\n')
    tick(site, connect)
    tick(site, connect, datetime(2026, 1, 5, 13, 5, tzinfo=UTC))
    with urllib.request.urlopen(emulator.base_url + "/") as answer:
        page = answer.read().decode()
    assert f'alt="{ALT}"' in page
    assert f"alt: {ALT}" in page
    assert page.index("Digest") < page.index('<ul><li><p class="text">second part')


def test_retry_uploads_the_image_again(
    site: Deployment, emulator: Sandbox, connect: Connect, cli: Callable[..., Result]
) -> None:
    script(emulator, "400")  # the post with its media id is refused (an expired id, say)
    tick(site, connect)
    assert ledger_rows(site)[0][:3] == ("a", 0, "failed")
    assert cli("--root", site.root, "retry", "a").status == 0
    tick(site, connect, datetime(2026, 1, 5, 13, 5, tzinfo=UTC))
    assert requests_to(emulator).count("/2/media/upload") == 2
    (sent,) = posts_on(emulator)
    assert sent["media_ids"] == [list(emulator.state.media)[-1]]


# --- what X gives back is not what was sent -----------------------------------------------


def test_x_gives_a_post_back_with_t_co_links_escapes_and_its_media_link(tmp_path: Path) -> None:
    # X's timeline shows each link as a 23-character t.co link, escapes &, < and > as HTML, and
    # ends a post with media with the media's own t.co link; the bot's look-ups meet that.
    image = tmp_path / "court.png"
    image.write_bytes(PNG)
    sandbox = Sandbox(0, None)
    with serving(sandbox):
        publisher = Publisher(CREDENTIALS, base_url=sandbox.base_url, timeout=2.0)
        media_id = publisher.upload_image(image, "image/png")
        publisher.post("Fish & chips <3 at https://example.org/a-long/path.", media_ids=[media_id])
        publisher.post("No image, https://example.org/b and more")
        with urllib.request.urlopen(f"{sandbox.base_url}/2/users/1234/tweets") as response:
            timeline = json.load(response)["data"]
    second, first = (tweet["text"] for tweet in timeline)
    tco = r"https://t\.co/[0-9a-z]{10}"
    assert re.fullmatch(rf"Fish &amp; chips &lt;3 at {tco}\. {tco}", first)
    assert re.fullmatch(rf"No image, {tco} and more", second)


def test_a_lost_answer_to_an_image_post_is_found_and_its_thread_goes_on(
    site: Deployment, emulator: Sandbox, slow_x: Connect
) -> None:
    site.post(
        "a",
        post("Story", summary="'Fish & chips <3, see https://example.org/menu.'")
        + f"image: {{path: media/court.png, alt: {ALT!r}}}\n"
        + 'thread: ["part two"]\n',
    )
    script(emulator, "hang")  # the image post goes out; its answer (and id) is lost
    report = tick(site, slow_x)
    assert report.problems == []
    first, second = posts_on(emulator)
    assert first["media_ids"]
    assert "Fish & chips <3, see https://example.org/menu." in str(first["text"])
    assert second["in_reply_to"] == first["id"]  # a reply, not a post of its own
    assert [row[:3] for row in ledger_rows(site)] == [("a", 1, "published"), ("a", 0, "published")]


def test_a_thread_whose_image_post_lost_its_id_goes_on_as_a_reply_after_the_image_is_dropped(
    site: Deployment, emulator: Sandbox, slow_x: Connect
) -> None:
    site.post(
        "a",
        post("Story") + f'image: {{path: media/court.png, alt: {ALT!r}}}\nthread: ["part two"]\n',
    )
    # The image post goes out but its answer is lost, and X's reads fail: its id stays unknown.
    script(emulator, "hang", "lookup:503", "lookup:503")
    report = tick(site, slow_x)
    assert report.problems == []
    assert report.done[-1] == (
        "a part 1/2 went out but X does not say its id; "
        "the rest of the thread waits for the next run"
    )
    (first,) = posts_on(emulator)
    assert first["media_ids"]

    # An editor drops the image from the file meanwhile: what went out still carried it.
    site.post("a", post("Story") + 'thread: ["part two"]\n')
    report = tick(site, slow_x, AT_SLOT + timedelta(minutes=5))  # the next cron run
    assert report.problems == []
    first, second = posts_on(emulator)
    # X shows the first part ending in its image's t.co link; the thread still finds it.
    assert second["text"] == "part two"
    assert second["in_reply_to"] == first["id"]
    assert [row[:3] for row in ledger_rows(site)] == [("a", 1, "published"), ("a", 0, "published")]


# The first bytes of each format X accepts, from the formats' own specifications (JFIF/EXIF
# SOI marker, PNG signature, GIF87a/GIF89a header, RIFF....WEBP container), not from the bot.
FORMATS = [
    ("photo.jpg", b"\xff\xd8\xff\xe0\0\x10JFIF\0", "image/jpeg"),
    ("photo.jpeg", b"\xff\xd8\xff\xe1\0\x18Exif\0\0", "image/jpeg"),
    ("chart.png", PNG[:8], "image/png"),
    ("old.gif", b"GIF87a\x01\0\x01\0", "image/gif"),
    ("moving.gif", b"GIF89a\x01\0\x01\0", "image/gif"),
    ("photo.webp", b"RIFF\x24\0\0\0WEBPVP8 ", "image/webp"),
]


@pytest.mark.parametrize(("name", "head", "media_type"), FORMATS)
def test_each_format_x_accepts_is_recognised_and_uploaded_as_itself(
    site: Deployment,
    emulator: Sandbox,
    connect: Connect,
    cli: Callable[..., Result],
    name: str,
    head: bytes,
    media_type: str,
) -> None:
    site.write(f"media/{name}", head + b"\0" * 256)
    site.post("a", post("Story") + f"image: {{path: media/{name}, alt: {ALT!r}}}\n")
    assert cli("--root", site.root, "check").status == 0
    report = tick(site, connect)
    assert report.problems == []
    ((media_id, media),) = emulator.state.media.items()
    assert (media["declared"], media["type"]) == (media_type, media_type)
    (sent,) = posts_on(emulator)
    assert sent["media_ids"] == [media_id]


def test_a_file_named_like_an_image_that_is_not_one_is_refused_by_check(
    site: Deployment, cli: Callable[..., Result]
) -> None:
    site.write("media/fake.webp", b"RIFF\x24\0\0\0WAVEfmt " + b"\0" * 64)  # a sound, not WEBP
    site.post("a", post("Story") + f"image: {{path: media/fake.webp, alt: {ALT!r}}}\n")
    checked = cli("--root", site.root, "check")
    assert checked.status == 1
    assert "media/fake.webp" in checked.out
    assert "is not a JPEG, PNG, GIF or WEBP image" in checked.out
