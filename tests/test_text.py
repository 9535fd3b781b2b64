"""bot.text against X's own conformance data, then cases X's data does not cover."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.text import (
    V2,
    V3,
    UrlSpan,
    extract_urls,
    extract_urls_with_indices,
    parse_text,
    prefix_lengths,
    weighted_length,
    weighted_length_at_most,
)
from tests.conftest import REFERENCE, REPO


def _cases(name: str) -> list[dict[str, Any]]:
    # Collected at import time so each case is its own test; the `reference` fixture fails
    # loudly when the folder is missing.
    path = REFERENCE / name
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []


LENGTH_CASES = _cases("weighted_length_cases.json")
URL_CASES = [case for case in _cases("url_extraction_cases.json") if case["file"] == "extract.yml"]


def test_reference_data_is_present(reference: Path) -> None:
    assert len(LENGTH_CASES) == 44
    assert len(URL_CASES) == 108


@pytest.mark.parametrize("case", LENGTH_CASES, ids=[case["id"] for case in LENGTH_CASES])
def test_weighted_length_conformance(case: dict[str, Any]) -> None:
    config = V2 if case["config"] == "v2" else V3
    measured = parse_text(case["text"], config)
    assert measured.weighted_length == case["weightedLength"]
    assert measured.valid is case["valid"]
    assert measured.permillage == case["permillage"]
    assert weighted_length(case["text"], config) == case["weightedLength"]


@pytest.mark.parametrize("case", URL_CASES, ids=[case["id"] for case in URL_CASES])
def test_url_extraction_conformance(case: dict[str, Any]) -> None:
    expected = case["expected"]
    found: list[object]
    if expected and isinstance(expected[0], dict):
        found = [
            {"url": span.url, "indices": [span.start, span.end]}
            for span in extract_urls_with_indices(case["text"])
        ]
    else:
        found = [span.url for span in extract_urls_with_indices(case["text"])]
    assert found == expected


def _tld_cases() -> list[dict[str, Any]]:
    path = REFERENCE / "tlds.yml"
    if not path.is_file():
        return []
    tests = yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]
    return [case for section in tests.values() for case in section]


TLD_CASES = _tld_cases()


def test_every_tld_case_is_run(reference: Path) -> None:
    assert len(TLD_CASES) == 1574


@pytest.mark.parametrize("case", TLD_CASES, ids=[case["description"] for case in TLD_CASES])
def test_tld_conformance(case: dict[str, Any]) -> None:
    assert extract_urls(case["text"]) == case["expected"]


def test_tld_data_file_matches_twitter_text(reference: Path) -> None:
    upstream = yaml.safe_load((reference / "tld_lib.yml").read_text(encoding="utf-8"))
    ours = (REPO / "bot" / "data" / "tlds.txt").read_text(encoding="utf-8")
    body = [line for line in ours.splitlines() if line and not line.startswith("#")]
    expected = ["[country]", *upstream["country"], "[generic]", *upstream["generic"]]
    assert body == expected


# --- Beyond the conformance data ---------------------------------------------------------


def test_spec_examples() -> None:
    assert weighted_length("Hello https://example.org/a-long/path 🇮🇷") == 32
    assert extract_urls("see example.org.") == ["example.org"]


@pytest.mark.parametrize(
    ("emoji", "name"),
    [
        ("🧑‍💻", "technologist: ZWJ sequence, Unicode 12"),
        ("🫠", "melting face, Unicode 14"),
        ("❤️‍🔥", "heart on fire: ZWJ sequence with VS16, Unicode 13.1"),
        ("👩🏽‍🔬", "woman scientist with skin tone"),
        ("🏳️‍🌈", "rainbow flag"),
        ("🇮🇷", "flag: regional indicator pair"),
        ("#️⃣", "keycap"),
    ],
)
def test_each_emoji_sequence_counts_two(emoji: str, name: str) -> None:
    assert weighted_length(emoji) == 2, name
    assert weighted_length(f"a {emoji} b") == 6, name


def test_emoji_not_in_twitter_texts_2020_table_count_two_each() -> None:
    # Three of them: 2 each, not the 4 to 6 that counting code points would give.
    assert weighted_length("🫠❤️‍🔥🧑‍💻") == 6
    assert weighted_length("🫠❤️‍🔥🧑‍💻", V2) == 2 + 2 + 2 + 1 + 2 + 2 + 1 + 2


@pytest.mark.parametrize(
    ("text", "length", "why"),
    [
        ("©", 1, "text by default: an emoji to X only before U+FE0F"),
        ("®", 1, "text by default"),
        ("©\ufe0f", 2, "with U+FE0F, an emoji"),
        ("™", 2, "text by default, but outside the ranges that count 1"),
        ("↔", 2, "text and emoji forms: an emoji without U+FE0F too"),
        ("☺\ufe0f", 2, "U+FE0F belongs to the emoji"),
        ("☺\ufe0e", 4, "U+FE0E asks for text: ☺ and U+FE0E count 2 each"),
        ("⌚\ufe0f", 2, "emoji by default, with a text form: U+FE0F belongs to it"),
        ("⭐\ufe0f", 2, "emoji by default, with a text form"),
        ("😀\ufe0f", 4, "no text form: U+FE0F is one of its own"),
        ("😀", 2, "no text form"),
        ("\ufe0f", 2, "U+FE0F alone"),
        ("✌\ufe0f🏽", 2, "U+FE0F and a skin tone"),
        ("#\ufe0f\u20e3", 2, "keycap"),
        ("#\u20e3", 2, "keycap without U+FE0F"),
        ("👨\u200d⚕", 5, "a ZWJ sequence only in its fully qualified form: 👨, ZWJ, ⚕"),
        ("👨\u200d⚕\ufe0f", 2, "fully qualified"),
    ],
)
def test_emoji_as_x_finds_them(text: str, length: int, why: str) -> None:
    assert weighted_length(text) == length, why


def test_text_presentation_copyright_sign_in_a_sentence() -> None:
    assert weighted_length("© 2024 Interlink") == 16
    assert weighted_length("©\ufe0f 2024 Interlink") == 17


def test_persian_letters_count_one_and_emoji_two() -> None:
    persian = "سلام دنیا"  # 9 code points, all under U+10FF
    assert weighted_length(persian) == 9
    # ZWNJ (U+200C) is inside X's light range 8192-8205, so it counts 1 too.
    assert weighted_length("می‌خواهم") == 8
    assert weighted_length(persian + " 🇮🇷") == 12


def test_cjk_counts_two() -> None:
    assert weighted_length("日本語") == 6


def test_text_is_nfc_normalised_before_counting() -> None:
    assert weighted_length("e\u0301") == 1  # é decomposed


@pytest.mark.parametrize(
    ("text", "urls"),
    [
        ("read main.py now", ["main.py"]),
        ("example.org", ["example.org"]),
        ("mail user@example.com today", []),
        ("(see https://example.org/a)", ["https://example.org/a"]),
        (
            "https://en.wikipedia.org/wiki/Primer_(film).",
            ["https://en.wikipedia.org/wiki/Primer_(film)"],
        ),
        ("go to https://example.org/path, then", ["https://example.org/path"]),
        ("Is it https://example.org/?q=1!", ["https://example.org/?q=1"]),
        ("no tld here: foo.notatld", []),
        ("https://ایران.ایران/", ["https://ایران.ایران/"]),
    ],
)
def test_url_boundaries(text: str, urls: list[str]) -> None:
    assert extract_urls(text) == urls


def test_every_url_counts_23_whatever_its_length() -> None:
    long_url = "https://example.org/" + "a" * 500
    assert weighted_length(long_url) == 23
    assert weighted_length("a.co b.co") == 23 + 1 + 23


@pytest.mark.parametrize("case", LENGTH_CASES, ids=[case["id"] for case in LENGTH_CASES])
def test_upper_bound_is_never_below_the_length(case: dict[str, Any]) -> None:
    config = V2 if case["config"] == "v2" else V3
    assert weighted_length_at_most(case["text"], config) >= case["weightedLength"]


def test_upper_bound_with_urls_shorter_than_23() -> None:
    assert weighted_length("a.co b.co") == 47
    assert weighted_length_at_most("a.co b.co") >= 47


@pytest.mark.parametrize(
    "text", ["abc def", "سلام 🧑‍💻 see https://a.org/x, ok 日本", "x.org (y.org/a_(b)) é", ""]
)
def test_prefix_lengths_are_exact_at_word_boundaries(text: str) -> None:
    prefixes = prefix_lengths(text)
    assert len(prefixes) == len(text) + 1
    for index in range(len(text) + 1):
        if index == len(text) or text[index] == " ":
            assert prefixes[index] == weighted_length(text[:index]), index


def test_url_counts_by_its_own_length_where_it_is_shorter_than_its_span() -> None:
    # Without a protocol only the ASCII domain is kept: the URL is "y.ایران/p" at [2, 14), and
    # parseTweet steps over 9 characters, not 12: "x_", the URL, then "ac/" count on their own.
    assert extract_urls_with_indices("x_y.ایران.ac/p") == [UrlSpan("y.ایران/p", 2, 14)]
    assert weighted_length("x_y.ایران.ac/p") == 2 + 23 + 3


def test_a_domain_may_begin_inside_a_character_beyond_u_ffff() -> None:
    # twitter-text matches UTF-16 code units: the second half of 😀 begins the domain, so the
    # "-" is inside it and not a character before the URL that would refuse it.
    assert extract_urls("y.org:0😀-k.рф") == ["y.org", "-k.рф"]
    assert extract_urls("x😀-k.рф") == ["-k.рф"]
    assert weighted_length("y.org:0😀-k.рф") == 23 + 2 + 2 + 23


def test_permillage_is_computed_in_floating_point_as_parse_tweet_does() -> None:
    assert parse_text("x" * 4522).permillage == 16149  # 4522 / 280 * 1000 = 16149.999...
    assert parse_text("x" * 280).permillage == 1000


def test_invalid_characters_make_a_text_invalid() -> None:
    assert parse_text("ok").valid
    assert not parse_text("bad \ufffe").valid
    assert not parse_text("").valid
