"""The template, empty fields and shortening (SPEC: "Template placeholders")."""

from __future__ import annotations

import pytest

from bot.config import Format
from bot.formatting import ELLIPSIS, DoesNotFit, Fields, fill, hashtags_for, render
from bot.networks.x.text import weighted_length

TEMPLATE = "{title} — {source}: {summary} {url} {hashtags}"
URL = "https://example.org/2019/10/mek-and-fake-news"


def test_all_fields() -> None:
    fields = Fields("MEK and fake news", "NPO Radio", "One sentence.", URL, ("MEK",))
    assert fill(TEMPLATE, fields) == f"MEK and fake news — NPO Radio: One sentence. {URL} #MEK"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (Fields("T", "", "S.", URL), f"T: S. {URL}"),
        (Fields("T", "Src", "", URL), f"T — Src {URL}"),
        (Fields("T", "", "", URL), f"T {URL}"),
        (Fields("T", "Src", "S.", URL), f"T — Src: S. {URL}"),
        (Fields("T", "", "", URL, ("A", "B")), f"T {URL} #A #B"),
    ],
)
def test_empty_fields_leave_no_dangling_separator(fields: Fields, expected: str) -> None:
    assert fill(TEMPLATE, fields) == expected


def test_template_prefix_and_line_breaks_are_kept() -> None:
    template = "📰 {title}\n\n{summary}\n{url}"
    assert fill(template, Fields("T", "", "", URL)) == f"📰 T\n{URL}"
    assert fill(template, Fields("T", "", "S", URL)) == f"📰 T\n\nS\n{URL}"


def test_hashtags_own_first_then_shared_each_once() -> None:
    assert hashtags_for(("Iran", "mek"), ("MEK", "Albania")) == ("Iran", "mek", "Albania")


def _fields_of_length(target: int) -> Fields:
    """Fields whose full text weighs exactly ``target`` (summary padded with 'x')."""
    base = Fields("Title", "Source", "", URL)
    fixed = weighted_length(fill(TEMPLATE, base))  # "Title — Source URL"
    # Adding a summary adds ": " plus the summary itself.
    size = target - fixed - 2
    summary = "word " * ((size - 1) // 5)
    summary += "x" * (size - len(summary))
    fields = Fields("Title", "Source", summary, URL)
    assert weighted_length(fill(TEMPLATE, fields)) == target
    return fields


def test_exactly_280_is_left_alone() -> None:
    fields = _fields_of_length(280)
    rendered = render(fields, Format(TEMPLATE))
    assert rendered.length == 280
    assert rendered.shortened == ()
    assert rendered.text == fill(TEMPLATE, fields)


def test_281_is_shortened_at_a_word_boundary_with_ellipsis() -> None:
    fields = _fields_of_length(281)
    rendered = render(fields, Format(TEMPLATE))
    assert rendered.length <= 280
    assert rendered.shortened == ("summary",)
    summary = rendered.text.split(": ", 1)[1].rsplit(" " + URL, 1)[0]
    assert summary.endswith(ELLIPSIS)
    assert fields.summary.startswith(summary[:-1])
    # Cut at a word boundary: what is kept is whole words of the original.
    assert fields.summary[len(summary) - 1] == " "
    assert rendered.text.endswith(URL)


def test_summary_goes_before_title_and_title_before_hashtags() -> None:
    long_summary = "A sentence about the news. " * 12
    fields = Fields("A title that is fine", "Src", long_summary, URL, ("MEK",))
    rendered = render(fields, Format(TEMPLATE))
    assert rendered.shortened == ("summary",)
    assert rendered.text.startswith("A title that is fine — Src: A sentence")
    assert rendered.text.endswith(f"{URL} #MEK")

    long_title = "Headline words " * 30
    rendered = render(Fields(long_title, "Src", long_summary, URL, ("MEK",)), Format(TEMPLATE))
    assert rendered.shortened == ("summary", "title")
    assert rendered.text.endswith(f"— Src {URL} #MEK")
    assert ELLIPSIS in rendered.text
    assert rendered.length <= 280


def test_hashtags_are_dropped_last_from_the_end() -> None:
    # With a 150-letter word as the title, no word boundary helps: hashtags go, last first.
    title = "W" * 150
    tags = tuple(f"Tag{n}" for n in range(20))
    rendered = render(Fields(title, "Source", "", URL, tags), Format(TEMPLATE))
    assert rendered.length <= 280
    assert "hashtags" in rendered.shortened
    assert title in rendered.text
    assert "#Tag0" in rendered.text
    assert "#Tag19" not in rendered.text


def test_url_is_never_cut_even_when_very_long() -> None:
    url = "https://example.org/" + "segment/" * 60  # counts 23 whatever its length
    rendered = render(Fields("T " * 200, "S", "x " * 200, url), Format(TEMPLATE))
    assert url in rendered.text
    assert rendered.length <= 280


def test_no_grapheme_is_ever_split() -> None:
    title = "🧑‍💻" * 200  # one "word" of 200 ZWJ sequences
    rendered = render(Fields(title, "S", "", URL), Format(TEMPLATE))
    kept = rendered.text.split(ELLIPSIS)[0]
    assert kept
    assert kept == "🧑‍💻" * (len(kept) // 3)
    assert rendered.length <= 280


@pytest.mark.parametrize("extra", range(0, 400, 7))
def test_result_always_fits(extra: int) -> None:
    fields = Fields(
        "Title é 日本 " * (extra // 20 + 1), "Source", "word 🫠 " * extra, URL, ("A", "B")
    )
    assert render(fields, Format(TEMPLATE)).length <= 280


def test_too_long_even_shortened_says_what_to_change() -> None:
    with pytest.raises(DoesNotFit, match="shorten the source or the URL"):
        render(Fields("T", "S" * 300, "", URL), Format(TEMPLATE))


# --- what preview says was shortened: only fields the post has and the text shows cut ---------


def test_a_post_without_summary_reports_only_its_title_as_shortened() -> None:
    rendered = render(Fields("Headline words " * 30, "Src", "", URL, ("MEK",)), Format(TEMPLATE))
    assert rendered.shortened == ("title",)
    assert rendered.text.endswith(f"— Src {URL} #MEK")


def test_dropped_hashtags_are_named_but_a_summary_that_was_never_there_is_not() -> None:
    # A title of one 300-letter word: nothing but dropping the hashtags and cutting inside
    # the word makes it fit.
    rendered = render(Fields("W" * 300, "Src", "", URL, ("MEK",)), Format(TEMPLATE))
    assert rendered.shortened == ("title", "hashtags")
    assert "#MEK" not in rendered.text


def test_a_field_the_template_does_not_show_is_never_named() -> None:
    fields = Fields("Headline words " * 30, "Src", "A summary.", URL, ("MEK",))
    rendered = render(fields, Format("{title} {url}"))
    assert rendered.shortened == ("title",)
    assert rendered.text.endswith(f"… {URL}")


def test_nothing_is_named_when_nothing_was_shortened() -> None:
    assert render(Fields("T", "Src", "", URL, ("MEK",)), Format(TEMPLATE)).shortened == ()
