"""Loading and validating queue files, including hostile ones (SPEC: "A queued post")."""

from __future__ import annotations

import os
import sqlite3
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import load_config
from bot.ledger import Ledger
from bot.posts import Queue, indexed_problems, load_queue, refresh_index
from tests.conftest import Deployment

# Every test here runs with each of PyYAML's safe loaders: libyaml's, and the pure-Python one
# that platforms without libyaml fall back to (conftest.yaml_loader).
pytestmark = pytest.mark.usefixtures("yaml_loader")

VALID = "title: A title\nurl: https://example.org/a\napproved: true\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


def load(site: Deployment) -> Queue:
    return load_queue(load_config(site.root))


def only_problem(site: Deployment) -> str:
    queue = load(site)
    assert len(queue.problems) == 1, queue.problems
    return str(queue.problems[0])


def test_valid_post_and_its_id(deployment: Deployment) -> None:
    deployment.post("2019/10/mek-and-fake-news", VALID + "priority: 2\nhashtags: [MEK]\n")
    queue = load(deployment)
    assert queue.problems == []
    (post,) = queue.posts
    assert post.id == "2019/10/mek-and-fake-news"
    assert (post.title, post.priority, post.hashtags, post.approved) == (
        "A title",
        2,
        ("MEK",),
        True,
    )


def test_files_not_ending_in_yaml_are_ignored(deployment: Deployment) -> None:
    deployment.write("queue/notes.txt", "not a post: [")
    deployment.write("queue/a.yml", VALID)
    assert [post.id for post in load(deployment).posts] == ["a"]


def test_invalid_yaml_names_its_line(deployment: Deployment) -> None:
    deployment.post("broken", "title: ok\nurl: https://example.org\nsummary: [unclosed\n")
    message = only_problem(deployment)
    assert message.startswith("queue/broken.yaml:")
    assert "invalid YAML" in message
    assert int(message.split(":")[1]) >= 3


def test_non_utf8_bytes(deployment: Deployment) -> None:
    deployment.write(
        "queue/latin1.yaml", "title: caf\xe9\nurl: https://example.org\n".encode("latin-1")
    )
    assert only_problem(deployment) == (
        "queue/latin1.yaml:1: is not UTF-8 text (byte 0xe9 cannot be decoded); "
        "save the file as UTF-8"
    )


def test_control_character(deployment: Deployment) -> None:
    deployment.write("queue/nul.yaml", b"title: ok\nurl: https://e.org\nsummary: a\x00b\n")
    assert only_problem(deployment) == (
        "queue/nul.yaml:3: holds the control character U+0000, which YAML does not allow; remove it"
    )


def test_empty_file(deployment: Deployment) -> None:
    deployment.post("empty", "# nothing yet\n")
    assert "queue/empty.yaml: is empty; a post needs at least 'title:'" in only_problem(deployment)


def test_python_object_tag_is_refused_and_never_run(deployment: Deployment, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    deployment.post(
        "evil",
        f"title: !!python/object/apply:os.system ['touch {marker}']\nurl: https://example.org\n",
    )
    message = only_problem(deployment)
    assert message.startswith("queue/evil.yaml:1: uses the YAML tag")
    assert "python/object/apply" in message
    assert not marker.exists()


def test_billion_laughs_is_refused_quickly(deployment: Deployment) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, 10):
        previous = chr(ord("a") + level - 1)
        name = chr(ord("a") + level)
        lines.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]")
    deployment.post("bomb", "\n".join(lines) + "\n")
    assert "uses a YAML alias (*name)" in only_problem(deployment)


def test_file_over_1_mb(deployment: Deployment) -> None:
    deployment.post("huge", VALID + "summary: " + "x" * 1_100_000 + "\n")
    message = only_problem(deployment)
    assert message.startswith("queue/huge.yaml: is 1,100,")
    assert "the limit is 1,000,000 (1 MB)" in message


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        # KeyError in PyYAML's bool constructor: an "internal error" before issue 9.
        (VALID + "allow_repeat: !!bool maybe\n", "4: holds a value YAML cannot read ('maybe'"),
        (VALID + "priority: !!int " + "1" * 5000 + "\n", "4: holds a value YAML cannot read ("),
        ("title: !!str [a, b]\nurl: https://e.org\n", "1: invalid YAML: the tag !!str does not"),
        (VALID + "thread: !!map [a]\n", "4: invalid YAML: the tag !!map does not go with a list"),
        (VALID + "thread: !!seq text\n", "4: invalid YAML: the tag !!seq does not go with a value"),
        (VALID + "<<: {priority: 1}\n", "4: uses the YAML tag 'tag:yaml.org,2002:merge'"),
        # The alias is the anchored node itself: its line is the anchor's.
        (VALID + "summary: &s text\nsource: *s\n", "4: uses a YAML alias (*name)"),
        (VALID + "thread: [&s part, *s]\n", "4: uses a YAML alias (*name)"),
        (VALID + "? [a]\n: b\n", "4: a list as a field name is not a name; field names are"),
        (VALID + "1: b\n", "4: field name '1' is not a name; field names are words like 'title'"),
        ("thread:\n- {[a]: b}\n", "2: invalid YAML: found unhashable key"),
        (VALID + "approved: false\n", "4: field 'approved' is written twice (lines 3 and 4); keep"),
    ],
)
def test_yaml_that_is_not_plain_data_is_one_line_naming_it(
    deployment: Deployment, yaml_loader: str, content: str, expected: str
) -> None:
    deployment.post("p", content)
    assert only_problem(deployment).startswith("queue/p.yaml:" + expected)


def test_an_ampersand_is_no_anchor_and_an_anchor_unused_is_harmless(
    deployment: Deployment, yaml_loader: str
) -> None:
    deployment.post("amp", "title: Q&A\nurl: https://e.org/?a=1&b=2\nsource: &name NPO\n")
    (post,) = load(deployment).posts
    assert (post.title, post.url, post.source) == ("Q&A", "https://e.org/?a=1&b=2", "NPO")


DEEP = (
    "queue/deep.yaml:{line}: is nested more than 64 levels deep; a post or config has two or three"
)


def _nested(style: str, depth: int) -> str:
    if style == "flow sequences":
        return "title: " + "[" * depth + "]" * depth + "\n"
    if style == "flow mappings":
        return "title: " + "{a: " * depth + "}" * depth + "\n"
    return "title:\n" + "- " * depth + "x\n"  # block sequences, one per "- "


@pytest.mark.parametrize("depth", [2_000, 50_000])
@pytest.mark.parametrize("style", ["flow sequences", "flow mappings", "block sequences"])
def test_deeply_nested_yaml(
    deployment: Deployment, yaml_loader: str, style: str, depth: int
) -> None:
    # 50,000 levels crashed the interpreter inside libyaml's composer before the depth check.
    # libyaml 0.2.6 (PyYAML 6.0.4) refuses flow nesting past 1,000 levels itself, in a
    # scanner error read before bot.loading's own check sees 64: the message is still ours.
    deployment.post("deep", _nested(style, depth))
    line = 2 if style == "block sequences" else 1
    assert only_problem(deployment) == DEEP.format(line=line)


def test_deep_nesting_is_reported_on_its_line(deployment: Deployment, yaml_loader: str) -> None:
    mappings = "".join(f"{'  ' * level}a{level}:\n" for level in range(30))
    deployment.post("deep", mappings + "  " * 30 + "[" * 2_000 + "]" * 2_000 + "\n")
    assert only_problem(deployment) == DEEP.format(line=31)


def test_nesting_libyaml_allows_is_still_too_deep(deployment: Deployment, yaml_loader: str) -> None:
    deployment.post("deep", _nested("flow sequences", 65))
    assert only_problem(deployment) == DEEP.format(line=1)


def test_symlink_outside_the_queue(deployment: Deployment, tmp_path: Path) -> None:
    secret = tmp_path / "secret.yaml"
    secret.write_text(VALID)
    (deployment.root / "queue" / "link.yaml").symlink_to(secret)
    assert only_problem(deployment) == (
        "queue/link.yaml: is a link that leads outside the queue folder; copy the post into "
        "queue/ instead"
    )


def test_symlinked_folder_is_reported_not_followed(deployment: Deployment, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "post.yaml").write_text(VALID)
    (deployment.root / "queue" / "more").symlink_to(elsewhere)
    assert "queue/more: is a link to a folder" in only_problem(deployment)


def test_fifo_is_not_opened(deployment: Deployment) -> None:
    os.mkfifo(deployment.root / "queue" / "pipe.yaml")
    assert "queue/pipe.yaml: is not a regular file" in only_problem(deployment)


def test_duplicate_ids(deployment: Deployment) -> None:
    deployment.write("queue/a.yaml", VALID)
    deployment.write("queue/a.yml", VALID)
    queue = load(deployment)
    assert queue.posts == []
    assert sorted(problem.path for problem in queue.problems) == ["queue/a.yaml", "queue/a.yml"]
    assert all("id 'a' is used by both" in problem.message for problem in queue.problems)


def test_one_bad_file_does_not_stop_the_others(deployment: Deployment) -> None:
    deployment.post("good-1", VALID)
    deployment.post("bad", "title: [")
    deployment.post("good-2", VALID)
    queue = load(deployment)
    assert [post.id for post in queue.posts] == ["good-1", "good-2"]
    assert queue.invalid_files == {"queue/bad.yaml"}


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (VALID + "tittle: typo\n", "queue/p.yaml:4: unknown field 'tittle'; did you mean 'title'?"),
        (
            "url: https://example.org\n",
            "queue/p.yaml: 'title' is required (or give the whole post as 'text:'); add title: ...",
        ),
        ("title: T\n", "queue/p.yaml: 'url' is required"),
        (
            "title: T\nurl: ftp://example.org/x\n",
            "queue/p.yaml:2: url 'ftp://example.org/x' is not a web address; it must start with https://",
        ),
        (
            "title: T\nurl: https://[e.org/a\n",
            "queue/p.yaml:2: url 'https://[e.org/a' is not a web address (Invalid IPv6 URL); "
            "fix the host after https://",
        ),
        (
            "title: T\nurl: javascript:alert(1)\n",
            "queue/p.yaml:2: url 'javascript:alert(1)' is not a web address",
        ),
        (
            "title: 2019\nurl: https://e.org\n",
            "queue/p.yaml:1: title must be text, not 2019; put it in quotes",
        ),
        ('text: ""\n', "queue/p.yaml:1: text is empty; write the post there"),
        (
            'title: T\nurl: "https://e.org/a\\nb"\n',
            "queue/p.yaml:2: url holds U+000A (line break); it is one line of text, so remove it",
        ),
        (
            "title: " + "t" * 5001 + "\nurl: https://e.org\n",
            "queue/p.yaml:1: title is 5,001 characters; a post is at most 280: shorten it",
        ),
        (
            VALID + "priority: high\n",
            "queue/p.yaml:4: priority must be a whole number like 0 or 5, not 'high'",
        ),
        (VALID + "priority: true\n", "queue/p.yaml:4: priority must be a whole number"),
        (
            "title: T\nurl: https://e.org\napproved: maybe\n",
            "queue/p.yaml:3: approved must be true or false, not 'maybe'",
        ),
        (VALID + 'hashtags: ["#MEK"]\n', "queue/p.yaml:4: hashtags: write hashtags without '#'"),
        (VALID + "hashtags: MEK\n", "queue/p.yaml:4: hashtags: must be a list like [MEK, Iran]"),
        (
            VALID + "publish_at: next tuesday\n",
            "queue/p.yaml:4: publish_at: 'next tuesday' is not a date",
        ),
        (VALID + "expires: 2019-13-45\n", "queue/p.yaml:4: expires: '2019-13-45' is not a date"),
        (
            VALID + "publish_at: 2019-10-20\n",
            "queue/p.yaml:4: publish_at: 2019-10-20 has no time; give a time, e.g. 2019-10-20 "
            "09:00",
        ),
        (
            VALID + "publish_at: 2019-10-20 09:00\nnot_before: 2019-10-21\n",
            "queue/p.yaml:4: publish_at is before not_before, so the post could never go out",
        ),
        (
            VALID + "not_before: 2020-01-10\nexpires: 2020-01-01\n",
            "queue/p.yaml:5: expires is before the post may go out",
        ),
        (VALID + "thread: just one string\n", "queue/p.yaml:4: thread must be a list of texts"),
        (
            "text: " + "x" * 281 + "\n",
            "queue/p.yaml:1: does not fit on X: text is 281/280; it is sent as written, "
            "so cut it by 1",
        ),
        (
            VALID + 'thread: ["' + "日" * 141 + '"]\n',
            "queue/p.yaml:4: does not fit on X: thread part 2 is 282/280",
        ),
        ('text: "bad \\ufeff char"\n', "queue/p.yaml:1: text holds a character X refuses"),
        (
            "- title: T\n",
            "queue/p.yaml:1: must be a mapping of fields (like 'title: ...'), not a list",
        ),
        (
            "title: T\ntitle: U\nurl: https://e.org\n",
            "queue/p.yaml:2: field 'title' is written twice (lines 1 and 2); keep one",
        ),
    ],
)
def test_field_problems_name_line_field_and_fix(
    deployment: Deployment, content: str, expected: str
) -> None:
    deployment.post("p", content)
    assert only_problem(deployment).startswith(expected)


def test_dates_without_offset_are_in_the_config_timezone(deployment: Deployment) -> None:
    london = ZoneInfo("Europe/London")
    deployment.post(
        "p",
        VALID
        + "publish_at: 2019-10-20 09:00\nnot_before: 2019-10-19\nexpires: '2019-10-27T08:00Z'\n",
    )
    (post,) = load(deployment).posts
    assert post.publish_at == datetime(2019, 10, 20, 9, tzinfo=london)
    assert post.not_before == datetime(2019, 10, 19, tzinfo=london)
    assert post.expires == datetime(2019, 10, 27, 8, tzinfo=ZoneInfo("UTC"))


def test_expires_as_a_date_lasts_the_whole_day(deployment: Deployment) -> None:
    deployment.post("p", VALID + "expires: 2019-10-27\n")
    (post,) = load(deployment).posts
    assert post.expires == datetime(2019, 10, 28, tzinfo=ZoneInfo("Europe/London"))


def test_unquoted_time_stays_text(deployment: Deployment) -> None:
    # YAML 1.1 would read 13:00 as the number 780; a title like this must survive.
    deployment.post("p", "title: Meeting at 13:00\nurl: https://e.org\n")
    (post,) = load(deployment).posts
    assert post.title == "Meeting at 13:00"


def test_long_post_is_valid_because_it_will_be_shortened(deployment: Deployment) -> None:
    deployment.post("p", VALID + "summary: " + "many words " * 60 + "\n")
    assert load(deployment).problems == []


# --- Images ------------------------------------------------------------------------------------


def image_post(path: str, alt: str = "A crowd outside the court") -> str:
    return VALID + f"image: {{path: {path}, alt: {alt!r}}}\n"


def test_image_accepted(deployment: Deployment) -> None:
    deployment.write("media/photo.png", PNG)
    deployment.post("p", image_post("media/photo.png"))
    (post,) = load(deployment).posts
    assert post.image is not None
    assert post.image.alt == "A crowd outside the court"


@pytest.mark.parametrize(
    ("setup", "path", "alt", "expected"),
    [
        ("media/fake.jpg", "media/fake.jpg", "alt", "is not a JPEG, PNG, GIF or WEBP image"),
        (
            "media/big.png",
            "media/big.png",
            "alt",
            "is 6,291,528 bytes; X accepts at most 5,242,880 (5 MB): make it smaller",
        ),
        ("media/photo.png", "media/photo.png", "", "image.alt is missing"),
        ("media/photo.png", "media/photo.png", "x" * 1001, "image.alt is 1,001 characters"),
        (
            "elsewhere/photo.png",
            "elsewhere/photo.png",
            "alt",
            "is outside media/; put the image there",
        ),
        ("media/photo.png", "media/../config/bot.yaml", "alt", "is outside media/"),
        ("media/photo.png", "media/missing.png", "alt", "not found"),
    ],
)
def test_image_problems(
    deployment: Deployment, setup: str, path: str, alt: str, expected: str
) -> None:
    content = {
        "media/fake.jpg": b"just some text, renamed",
        "media/big.png": PNG + b"\0" * (6 * 1024 * 1024),
    }.get(setup, PNG)
    deployment.write(setup, content)
    deployment.post("p", image_post(path, alt))
    message = only_problem(deployment)
    assert message.startswith("queue/p.yaml:4: ")
    assert expected in message


# --- every problem of a file at once -------------------------------------------------------------


def test_every_problem_of_a_file_is_reported_each_on_its_own_line(
    deployment: Deployment,
) -> None:
    deployment.post(
        "p",
        "title: 2019\n"
        "url: ftp://example.org/x\n"
        "approved: yes please\n"
        "priority: high\n"
        "publish_at: next tuesday\n"
        "tittle: typo\n"
        "thread: ['fine', '']\n",
    )
    queue = load(deployment)
    assert queue.posts == []
    assert queue.invalid_files == {"queue/p.yaml"}
    assert [str(problem) for problem in queue.problems] == [  # in the file's order
        "queue/p.yaml:1: title must be text, not 2019; put it in quotes",
        "queue/p.yaml:2: url 'ftp://example.org/x' is not a web address; it must start with "
        "https://",
        "queue/p.yaml:3: approved must be true or false, not 'yes please'",
        "queue/p.yaml:4: priority must be a whole number like 0 or 5, not 'high'",
        "queue/p.yaml:5: publish_at: 'next tuesday' is not a date; write e.g. 2019-10-20 or "
        "2019-10-20 09:00",
        "queue/p.yaml:6: unknown field 'tittle'; did you mean 'title'?",
        'queue/p.yaml:7: thread part 3 is empty; thread must be a list of texts, e.g. ["second '
        'post", "third"]',
    ]


def test_a_field_with_a_problem_is_not_also_called_missing(deployment: Deployment) -> None:
    # title: 2019 is a number: one problem, not a second one saying title is required.
    deployment.post("p", "title: 2019\nurl: https://example.org/a\n")
    assert only_problem(deployment) == (
        "queue/p.yaml:1: title must be text, not 2019; put it in quotes"
    )


def test_the_index_reads_every_problem_and_the_single_problem_it_used_to_store(
    deployment: Deployment,
) -> None:
    deployment.post("p", "title: T\nurl: https://example.org/a\npriority: high\nsumary: x\n")
    config = load_config(deployment.root)
    ledger = Ledger.open(config.paths.state)
    try:
        _, walk = refresh_index(config, ledger)
        every = indexed_problems(ledger, walk).problems
        assert every == load_queue(config).problems  # lines, messages and fields
        assert [problem.field for problem in every] == ["priority", "sumary"]
        # An entry an earlier version wrote: one [path, line, message], not a list of them.
        with sqlite3.connect(config.paths.state / "ledger.sqlite3") as db:
            db.execute(
                "UPDATE queue_files SET problem = ?",
                ('["queue/p.yaml", 3, "priority must be a whole number"]',),
            )
        _, walk = refresh_index(config, ledger)  # the file is unchanged: not read again
        queue = indexed_problems(ledger, walk)
        assert [str(problem) for problem in queue.problems] == [
            "queue/p.yaml:3: priority must be a whole number"
        ]
        assert queue.invalid_files == {"queue/p.yaml"}
    finally:
        ledger.close()


# --- control and bidirectional characters, however they are written ----------------------------

ESCAPES = [
    ("\\x1b[31m", "U+001B (escape), a control character"),
    ("\\0", "U+0000 (NUL), a control character"),
    ("\\r", "U+000D (carriage return), a control character"),
    ("\\x9b", "U+009B, a control character"),
    ("\\x7f", "U+007F (delete), a control character"),
    ("\\u202e", "U+202E (RIGHT-TO-LEFT OVERRIDE), a bidirectional control"),
    ("\\u202b", "U+202B (RIGHT-TO-LEFT EMBEDDING), a bidirectional control"),
    ("\\u2067", "U+2067 (RIGHT-TO-LEFT ISOLATE), a bidirectional control"),
]
TEXT_FIELDS = [
    # (the post with the character in its place, the field the message names, its line)
    ('title: "Red{c}alert"\nurl: https://e.org/a\n', "title", 1),
    ('title: T\nurl: "https://e.org/{c}a"\n', "url", 2),
    ('title: T\nurl: https://e.org/a\nsource: "NPO{c}"\n', "source", 3),
    ('title: T\nurl: https://e.org/a\nsummary: "Sum{c}mary"\n', "summary", 3),
    ('text: "Literal{c} post"\n', "text", 1),
    ('title: T\nurl: https://e.org/a\nthread: ["fine", "re{c}ply"]\n', "thread part 3", 3),
    ('title: T\nurl: https://e.org/a\nhashtags: ["MEK{c}"]\n', "hashtags: a hashtag", 3),
    (
        'title: T\nurl: https://e.org/a\nimage: {{path: media/photo.png, alt: "A{c} crowd"}}\n',
        "image.alt",
        3,
    ),
]


@pytest.mark.parametrize(("escape", "described"), ESCAPES)
@pytest.mark.parametrize(("template", "field", "line"), TEXT_FIELDS)
def test_a_control_or_bidi_character_written_as_a_yaml_escape_is_refused_in_every_text_field(
    deployment: Deployment, template: str, field: str, line: int, escape: str, described: str
) -> None:
    deployment.write("media/photo.png", PNG)
    deployment.post("p", template.format(c=escape))
    message = only_problem(deployment)
    assert message.startswith(f"queue/p.yaml:{line}: {field} holds {described}")
    assert "; remove it" in message


def test_the_character_is_refused_when_written_raw_too(deployment: Deployment) -> None:
    # YAML itself lets U+202E through unescaped.
    deployment.post("p", "title: gnp.\u202eexe\nurl: https://e.org/a\n")
    assert only_problem(deployment).startswith(
        "queue/p.yaml:1: title holds U+202E (RIGHT-TO-LEFT OVERRIDE), a bidirectional control "
        "that makes text display in another order than it is written; remove it"
    )


def test_line_breaks_and_tabs_belong_to_text_and_thread_only(deployment: Deployment) -> None:
    deployment.post("lines", 'text: "one\\n\\ttwo"\nthread: ["three\\nfour"]\napproved: true\n')
    deployment.post("title", 'title: "one\\ntwo"\nurl: https://e.org/a\n')
    deployment.post("folded", "title: >\n  Folded title\nurl: https://e.org/b\n")
    queue = load(deployment)
    assert sorted(post.id for post in queue.posts) == ["folded", "lines"]
    assert [str(problem) for problem in queue.problems] == [
        "queue/title.yaml:1: title holds U+000A (line break); it is one line of text, so remove "
        "it (only text: and thread: may have line breaks and tabs)"
    ]


def test_persian_with_its_joiners_and_marks_is_welcome(deployment: Deployment) -> None:
    title = "گزارش\u200cها \u200fدربارهٔ جداشدگان"  # ZWNJ and RLM: part of writing Persian
    deployment.post("fa", f'title: "{title}"\nurl: https://e.org/fa\n')
    (post,) = load(deployment).posts
    assert post.title == title


def test_a_file_name_with_a_control_character_is_refused_and_shown_escaped(
    deployment: Deployment,
) -> None:
    deployment.post("red\x1b[31m", VALID)
    assert [problem.path for problem in load(deployment).problems] == ["queue/red\\x1b[31m.yaml"]
    assert only_problem(deployment) == (
        "queue/red\\x1b[31m.yaml: its name holds U+001B, a control or bidirectional character, "
        "which the post's id would carry to the screen; rename the file"
    )


def test_a_field_name_with_an_escape_sequence_is_shown_escaped(deployment: Deployment) -> None:
    deployment.post("p", VALID + '"\\x1b[2Jtitle": x\n')
    # Whatever prints the problem (check's text, JSON or annotations) gets it escaped.
    (problem,) = load(deployment).problems
    assert problem.message == "unknown field '\\x1b[2Jtitle'; did you mean 'title'?"
    assert only_problem(deployment) == (
        "queue/p.yaml:4: unknown field '\\x1b[2Jtitle'; did you mean 'title'?"
    )


# --- text is the whole post: nothing else silently dropped --------------------------------------


def test_text_with_title_and_url_names_each_field_that_would_be_dropped(
    deployment: Deployment,
) -> None:
    deployment.post(
        "p", "text: The whole post.\ntitle: A title\nurl: https://example.org/a\napproved: true\n"
    )
    queue = load(deployment)
    assert queue.posts == []
    assert [str(problem) for problem in queue.problems] == [
        "queue/p.yaml:2: text and title are both given: text is published as written, so title "
        "would be dropped; remove one",
        "queue/p.yaml:3: text and url are both given: text is published as written, so url "
        "would be dropped; remove one",
    ]


@pytest.mark.parametrize("extra", ["source: NPO Radio", "summary: A summary.", "hashtags: [MEK]"])
def test_text_with_any_other_template_field_is_refused_too(
    deployment: Deployment, extra: str
) -> None:
    deployment.post("p", f"text: The whole post.\n{extra}\n")
    key = extra.split(":", maxsplit=1)[0]
    assert only_problem(deployment) == (
        f"queue/p.yaml:2: text and {key} are both given: text is published as written, so "
        f"{key} would be dropped; remove one"
    )


def test_text_alone_with_its_own_settings_is_fine(deployment: Deployment) -> None:
    deployment.post("p", 'text: The whole post.\napproved: true\npriority: 2\nthread: ["more"]\n')
    (post,) = load(deployment).posts
    assert (post.text, post.title, post.url) == ("The whole post.", "", "")


# --- a time written with one digit -----------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "written", "fix"),
    [
        ("publish_at", "2026-12-03 9:00", "the hour takes two digits; write 2026-12-03 09:00"),
        (
            "not_before",
            "2026-12-03 9:5",
            "the hour and minute take two digits; write 2026-12-03 09:05",
        ),
        ("expires", "2026-12-03T18:5Z", "the minute takes two digits; write 2026-12-03T18:05Z"),
        ("not_before", "2026-1-3", "the month and day take two digits; write 2026-01-03"),
    ],
)
def test_a_one_digit_hour_or_minute_gets_the_two_digit_form_as_its_fix(
    deployment: Deployment, field: str, written: str, fix: str
) -> None:
    deployment.post("p", VALID + f"{field}: {written}\n")
    assert only_problem(deployment) == f"queue/p.yaml:4: {field}: {written!r} is not a date: {fix}"


def test_a_time_that_two_digits_would_not_save_is_still_just_not_a_date(
    deployment: Deployment,
) -> None:
    deployment.post("p", VALID + "publish_at: 2026-12-03 25:0\n")
    assert only_problem(deployment) == (
        "queue/p.yaml:4: publish_at: '2026-12-03 25:0' is not a date; write e.g. 2019-10-20 or "
        "2019-10-20 09:00"
    )


def test_an_image_just_over_5_mb_is_shown_to_be_over(deployment: Deployment) -> None:
    deployment.write("media/big.png", PNG + b"\0" * (5 * 1024 * 1024 + 1 - len(PNG)))
    deployment.post("p", image_post("media/big.png"))
    assert only_problem(deployment) == (
        "queue/p.yaml:4: image 'media/big.png' is 5,242,881 bytes; X accepts at most 5,242,880 "
        "(5 MB): make it smaller (fewer pixels, or a JPEG of lower quality)"
    )


def test_an_image_of_exactly_5_mb_is_accepted(deployment: Deployment) -> None:
    deployment.write("media/big.png", PNG + b"\0" * (5 * 1024 * 1024 - len(PNG)))
    deployment.post("p", image_post("media/big.png"))
    assert load(deployment).problems == []


def test_each_problem_names_its_field_for_check_s_json(deployment: Deployment) -> None:
    deployment.post("p", "url: https://example.org/a\npriority: high\nimage: {path: x.png}\n")
    deployment.post("broken", "title: [\n")
    fields = {
        (problem.path, problem.message.split(" ")[0]): problem.field
        for problem in load(deployment).problems
    }
    assert fields == {
        ("queue/broken.yaml", "invalid"): None,  # the file as a whole
        ("queue/p.yaml", "'title'"): "title",  # missing: no line, but a field
        ("queue/p.yaml", "priority"): "priority",
        ("queue/p.yaml", "image.alt"): "image.alt",
        ("queue/p.yaml", "image.path"): "image.path",
    }
