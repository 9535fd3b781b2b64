"""X's length rules: how long a post is, as X counts it, and which parts of it are URLs.

A faithful port of twitter-text 3.1.0 (https://github.com/twitter/twitter-text), the library X
publishes for its own clients: ``parseTweet`` for the weighted length and
``extractUrlsWithIndices`` for the URLs, with the v3 configuration (config/v3.json) as default.
The conformance data in tests/data/twitter-text passes in full (tests/test_text.py).

The rules, in short: the text is NFC-normalised; every URL counts 23 (it becomes a t.co link);
every emoji counts 2; every other code point counts by range (1 for Latin, Persian, Arabic,
Hebrew..., 2 for CJK and the rest).

What is an emoji is what parseTweet's emoji parser, twemoji-parser 11.0.2, finds with its own
pattern (vendored in bot/data/twemoji-regex.txt): © and ® are text (1) unless U+FE0F follows; a
character with a text and an emoji form, such as ☺ or ⌚, takes one U+FE0F, and is text before
U+FE0E; U+FE0F after any other emoji (😀) counts on its own. That pattern holds Emoji 11.0;
sequences of later releases come from the ``emoji`` package's current Unicode data, so 🧑‍💻
(Emoji 12.1) and ❤️‍🔥 (13.1) count 2 as X counts them today, not 5.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources
from itertools import accumulate
from typing import NamedTuple

from bot.networks.tlds import tld_lists

__all__ = [
    "MAX_WEIGHTED_LENGTH",
    "V2",
    "V3",
    "TextConfig",
    "TextLength",
    "UrlSpan",
    "extract_urls",
    "extract_urls_with_indices",
    "has_invalid_characters",
    "parse_text",
    "prefix_lengths",
    "weighted_length",
    "weighted_length_at_most",
]


class _WeightClass(NamedTuple):
    weight: int
    outside: re.Pattern[str]  # one code point outside this weight's ranges
    covers_ascii: bool


@dataclass(frozen=True)
class TextConfig:
    """A twitter-text length configuration (config/v2.json, config/v3.json)."""

    max_weighted_length: int
    scale: int
    default_weight: int
    transformed_url_length: int
    # (first code point, last code point, weight): code points outside every range weigh
    # default_weight.
    ranges: tuple[tuple[int, int, int], ...]
    emoji_parsing: bool

    @cached_property
    def bound_weights(self) -> tuple[int, int]:
        """The heaviest weight of any code point, and the heaviest of an ASCII one."""
        heaviest = max(self.default_weight, *(weight for _, _, weight in self.ranges))
        ascii_weights = {
            next((w for a, b, w in self.ranges if a <= code <= b), self.default_weight)
            for code in range(128)
        }
        return heaviest, max(ascii_weights)

    @cached_property
    def weight_classes(self) -> tuple[_WeightClass, ...]:
        """Per weight: a pattern for one code point outside its ranges. Cached on the instance
        (a frozen dataclass): hashing the config for a cache look-up per call cost more."""
        by_weight: dict[int, list[tuple[int, int]]] = {}
        for first, last, weight in self.ranges:
            by_weight.setdefault(weight, []).append((first, last))
        return tuple(
            _WeightClass(
                weight,
                re.compile(
                    "[^"
                    + "".join(f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in spans)
                    + "]"
                ),
                any(a == 0 and b >= 0x7F for a, b in spans),
            )
            for weight, spans in by_weight.items()
        )

    @cached_property
    def char_weights(self) -> dict[str, int]:
        """Scaled weight of each code point (outside URLs and emoji), filled in on first use."""
        config = self

        class Weights(dict[str, int]):
            def __missing__(self, char: str) -> int:
                code = ord(char)
                self[char] = next(
                    (w for a, b, w in config.ranges if a <= code <= b), config.default_weight
                )
                return self[char]

        return Weights()


_V3_RANGES = ((0, 4351, 100), (8192, 8205, 100), (8208, 8223, 100), (8242, 8247, 100))

V3 = TextConfig(280, 100, 200, 23, _V3_RANGES, emoji_parsing=True)
"""X's current rules (twitter-text config/v3.json)."""

V2 = TextConfig(280, 100, 200, 23, _V3_RANGES, emoji_parsing=False)
"""The 2017 rules (config/v2.json): as v3, but every code point of an emoji counts on its own."""

MAX_WEIGHTED_LENGTH = V3.max_weighted_length


class UrlSpan(NamedTuple):
    """A URL found in a text: the URL and its [start, end) code-point offsets."""

    url: str
    start: int
    end: int


class TextLength(NamedTuple):
    """What X's ``parseTweet`` reports about a text."""

    weighted_length: int
    valid: bool
    permillage: int


# --- URL extraction (twitter-text js/src/regexp/*.js, extractUrlsWithIndices.js) -------------

_LATIN_ACCENTS = (
    "\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00ff\u0100-\u024f\u0253\u0254\u0256\u0257\u0259"
    "\u025b\u0263\u0268\u026f\u0272\u0289\u028b\u02bb\u0300-\u036f\u1e00-\u1eff"
)
_CYRILLIC = "\u0400-\u04ff"
# twitter-text's punctuation class; it has no double quote and no backtick, and that is kept.
_PUNCTUATION = r"!'#%&()*+,\\\-./:;<=>?@\[\]^_{|}~$"
_SPACES = "\t-\r \u0085\u00a0\u1680\u180e\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_INVALID = "\ufffe\ufeff\uffff"
_DIRECTIONAL_MARKS = "\u202a-\u202e\u061c\u200e\u200f\u2066-\u2069"

_INVALID_CHARACTER = re.compile(f"[{_INVALID}]")

_MAX_URL_LENGTH = 4096
_MAX_TCO_SLUG_LENGTH = 40
_MAX_DOMAIN_LABEL_LENGTH = 63
_DEFAULT_PROTOCOL = "https://"


class _UrlPatterns(NamedTuple):
    extract: re.Pattern[str]
    ascii_domain: re.Pattern[str]
    tco: re.Pattern[str]
    without_protocol_bad_preceding: re.Pattern[str]


@cache
def _url_patterns() -> _UrlPatterns:
    """Compiled on first use: a text without a dot never needs them."""
    tlds = tld_lists()

    def tld_group(names: list[str]) -> str:
        # Alternatives grouped by first letter, in list order within each group: the regex
        # engine then compares the first letter once instead of for each of 1,574 TLDs. Only
        # TLDs with the same first letter can match at the same place, so the order in which
        # twitter-text tries them is kept.
        by_first: dict[str, list[str]] = {}
        for name in names:
            by_first.setdefault(name[0].lower(), []).append(re.escape(name[1:]))
        groups = [
            re.escape(first) + "(?:" + "|".join(rests) + ")" for first, rests in by_first.items()
        ]
        return "(?:(?:" + "|".join(groups) + ")(?=[^0-9a-zA-Z@+-]|$))"

    gtld = tld_group(tlds["generic"])
    cctld = tld_group(tlds["country"])
    punycode = r"(?:xn--[\-0-9a-z]+)"

    domain_char = f"[^{_PUNCTUATION}{_SPACES}{_INVALID}{_DIRECTIONAL_MARKS}]"
    subdomain = rf"(?:(?:{domain_char}(?:[_-]|{domain_char})*)?{domain_char}\.)"
    domain_name = rf"(?:(?:{domain_char}(?:-|{domain_char})*)?{domain_char}\.)"
    domain = f"(?:{subdomain}*{domain_name}(?:{gtld}|{cctld}|{punycode}))"

    path_char = rf"[a-z{_CYRILLIC}0-9!*';:=+,.$/%#\[\]\-\u2013_~@|&{_LATIN_ACCENTS}]"
    # Up to two levels of balanced parentheses: /wiki/Primer_(film), /S(dfd346)/.
    balanced_parens = rf"\((?:{path_char}+|(?:{path_char}*\({path_char}+\){path_char}*))\)"
    path_ending = rf"(?:[+\-a-z{_CYRILLIC}0-9=_#/{_LATIN_ACCENTS}]|(?:{balanced_parens}))"
    # '@' is allowed in a path only in the middle: http://example.com/@user/
    path = (
        rf"(?:(?:{path_char}*(?:{balanced_parens}{path_char}*)*{path_ending})"
        rf"|(?:@{path_char}+/))"
    )
    query_char = r"[a-z0-9!?*'@();:&=+$/%#\[\]\-_.,~|]"
    query_ending = r"[a-z0-9\-_&=#/]"
    # twitter-text matches UTF-16 code units: the character before a URL may be the first half
    # of a character beyond U+FFFF, whose second half then begins the domain (after 😀, a domain
    # begins inside it: "x😀-k.рф" has the URL "-k.рф", with nothing before it to refuse). Here,
    # nothing before the URL, tried first as twitter-text tries that half first.
    preceding = (
        f"(?:(?=[\U00010000-\U0010ffff])|[^A-Za-z0-9@\uff20$#\uff03{_INVALID}]"
        f"|[{_DIRECTIONAL_MARKS}]|^)"
    )

    extract = re.compile(
        f"({preceding})"  # 1: the character before the URL
        "("  # 2: the URL
        r"(https?://)?"  # 3: protocol
        f"({domain})"  # 4: domain
        r"(?::[0-9]+)?"  # port
        rf"(/{path}*)?"  # 5: path
        rf"(?:\?{query_char}*{query_ending})?"  # query
        ")",
        re.IGNORECASE,
    )
    ascii_domain = re.compile(
        rf"(?:(?:[\-a-z0-9{_LATIN_ACCENTS}]+)\.)+(?:{gtld}|{cctld}|{punycode})", re.IGNORECASE
    )
    tco = re.compile(
        rf"https?://t\.co/([a-z0-9]+)(?:\?{query_char}*{query_ending})?", re.IGNORECASE
    )
    return _UrlPatterns(extract, ascii_domain, tco, re.compile(r"[-_./]$"))


# punycode.js's toASCII splits a domain on these separators, not only on '.'.
_IDNA_SEPARATORS = re.compile("[.\u3002\uff0e\uff61]")


def _punycode_length(label: str) -> int:
    """Length of ``punycode.toASCII(label)`` in punycode.js, as twitter-text calls it."""
    length = 0
    for part in _IDNA_SEPARATORS.split(label):
        length += len(part) if part.isascii() else 4 + len(part.encode("punycode"))
    return length + len(_IDNA_SEPARATORS.findall(label))


def _is_valid_domain(domain: str, patterns: _UrlPatterns) -> bool:
    """twitter-text's ``idna.toAscii`` check: every DNS label 1 to 63 characters once encoded."""
    if domain.startswith("xn--") and not patterns.ascii_domain.search(domain):
        return False
    return all(
        0 < _punycode_length(label) <= _MAX_DOMAIN_LABEL_LENGTH for label in domain.split(".")
    )


# A URL never spans whitespace, so the URL pattern only needs to run over the runs of
# non-space text that hold a dot (starting one character early, for the preceding character).
_DOTTED_WORD = re.compile(f"[^{_SPACES}]*\\.[^{_SPACES}]*")


def _url_matches(text: str, pattern: re.Pattern[str]) -> Iterator[re.Match[str]]:
    for word in _DOTTED_WORD.finditer(text):
        yield from pattern.finditer(text, max(word.start() - 1, 0), word.end())


def extract_urls_with_indices(text: str) -> list[UrlSpan]:
    """The URLs X finds in ``text`` (already NFC-normalised), with code-point offsets.

    As twitter-text's ``extractUrlsWithIndices`` with its default options: a domain without a
    protocol counts when it is ASCII and ends in a known TLD (``example.org``, ``main.py``);
    trailing punctuation and unbalanced parentheses stay outside; ``user@example.com`` is not a
    URL.
    """
    if "." not in text:
        return []
    patterns = _url_patterns()
    urls: list[UrlSpan] = []
    for match in _url_matches(text, patterns.extract):
        before, url, protocol, domain, path = match.group(1, 2, 3, 4, 5)
        start, end = match.start(2), match.end(2)
        if not _is_valid_domain(domain, patterns):
            continue
        if len(protocol or _DEFAULT_PROTOCOL) + len(url) > _MAX_URL_LENGTH:
            continue
        if protocol:
            tco = patterns.tco.match(url)
            if tco:
                # A t.co link ends with its slug and query, whatever follows them.
                if len(tco.group(1)) > _MAX_TCO_SLUG_LENGTH:
                    continue
                url = tco.group(0)
                end = start + len(url)
            urls.append(UrlSpan(url, start, end))
            continue
        if patterns.without_protocol_bad_preceding.search(before):
            continue
        # Without a protocol only ASCII domains count; a run of them may hold several.
        domain_start = 0
        last: UrlSpan | None = None
        for ascii_match in patterns.ascii_domain.finditer(domain):
            ascii_start = domain.index(ascii_match.group(0), domain_start)
            domain_start = ascii_start + len(ascii_match.group(0))
            last = UrlSpan(ascii_match.group(0), start + ascii_start, start + domain_start)
            urls.append(last)
        if last is not None and path:
            # The last domain carries the path and query that follow it.
            urls[-1] = UrlSpan(url.replace(domain, last.url, 1), last.start, end)
    return urls


def extract_urls(text: str) -> list[str]:
    """The URLs in ``text`` as X finds them: ``extract_urls("see example.org.")`` is
    ``["example.org"]``."""
    return [span.url for span in extract_urls_with_indices(unicodedata.normalize("NFC", text))]


# --- Emoji (twemoji-parser, which twitter-text 3.1.0's parseTweet uses) ----------------------

# twemoji-parser 11.0.2's data is Emoji 11.0: sequences of later releases come from the `emoji`
# package instead.
_TWEMOJI_EMOJI_VERSION = 11.0

_LOW_SURROGATE = r"\\u(d[c-f][0-9a-f]{2})"
# A high surrogate followed by a low surrogate, or by a class of low surrogates and their ranges.
_SURROGATE_PAIRS = re.compile(
    rf"\\u(d[89ab][0-9a-f]{{2}})(?:{_LOW_SURROGATE}|\[((?:{_LOW_SURROGATE}(?:-{_LOW_SURROGATE})?)+)\])",
    re.IGNORECASE,
)
_LOW_SURROGATES = re.compile(rf"{_LOW_SURROGATE}(?:-{_LOW_SURROGATE})?", re.IGNORECASE)
# A code point named in a pattern, and the one that ends its range if it opens one.
_PATTERN_CHARACTER = r"\\U[0-9a-fA-F]{8}|\\u[0-9a-fA-F]{4}|[^\x00-\x7f]"
_PATTERN_CHARACTERS = re.compile(f"({_PATTERN_CHARACTER})(?:-({_PATTERN_CHARACTER}))?")


def _code_point_pattern(utf16_pattern: str) -> str:
    """A JavaScript pattern written in UTF-16 code units, rewritten in code points for ``re``.

    twemoji-parser writes an astral emoji as its surrogate pair (``\\ud83d\\ude00``) and a set of
    them as a high surrogate before a class of low ones (``\\ud83c[\\udffb-\\udfff]``); both
    become code points (``\\U0001f600``, ``[\\U0001f3fb-\\U0001f3ff]``). Everything else in the
    pattern (groups, ``?``, ``(?!...)``) means the same in Python.
    """

    def code_point(high: str, low: str) -> str:
        return f"\\U{0x10000 + ((int(high, 16) - 0xD800) << 10) + int(low, 16) - 0xDC00:08x}"

    def rewrite(pair: re.Match[str]) -> str:
        high, low, lows = pair.group(1, 2, 3)
        if low:
            return code_point(high, low)
        return (
            "["
            + "".join(
                code_point(high, first) + (f"-{code_point(high, last)}" if last else "")
                for first, last in _LOW_SURROGATES.findall(lows)
            )
            + "]"
        )

    pattern = _SURROGATE_PAIRS.sub(rewrite, utf16_pattern)
    if re.search(r"\\ud[89a-f]", pattern, re.IGNORECASE):
        raise ValueError("a surrogate that is not part of a pair is left in the emoji pattern")
    return pattern


def _pattern_code_points(pattern: str) -> set[int]:
    """Every non-ASCII code point a pattern names, alone or in a range: a match can only begin
    at one of them."""

    def value(character: str) -> int:
        return int(character[2:], 16) if character.startswith("\\") else ord(character)

    named: set[int] = set()
    for first, last in _PATTERN_CHARACTERS.findall(pattern):
        named.update(range(value(first), value(last or first) + 1))
    return named


class _EmojiTable(NamedTuple):
    # Where an emoji may begin: a keycap's ASCII base before U+FE0F or U+20E3, or a character in
    # the few code-point ranges that hold every other first character.
    candidate: re.Pattern[str]
    # X's own emoji pattern, matched where a candidate begins.
    twemoji: re.Pattern[str]
    # Sequences of Emoji releases newer than that pattern: first character -> the lengths of
    # the sequences starting with it, longest first.
    newer_lengths: dict[str, tuple[int, ...]]
    newer: frozenset[str]


@cache
def _emoji_table() -> _EmojiTable:
    """Built on first use: X's pattern from bot/data/twemoji-regex.txt, the newer sequences from
    the ``emoji`` package, which tracks the current Unicode release."""
    import emoji  # noqa: PLC0415 - 50 ms of JSON; only texts with non-ASCII characters need it

    data = resources.files("bot").joinpath("data/twemoji-regex.txt").read_text(encoding="utf-8")
    (utf16_pattern,) = [line for line in data.splitlines() if line and not line.startswith("#")]
    pattern = _code_point_pattern(utf16_pattern)

    # As X's pattern has them: a sequence of more than one code point only in its fully
    # qualified form (every U+FE0F in place), as in 🧑‍💻 and ❤️‍🔥.
    newer = frozenset(
        sequence
        for sequence, info in emoji.EMOJI_DATA.items()
        if info["E"] > _TWEMOJI_EMOJI_VERSION
        and (len(sequence) == 1 or info["status"] == emoji.STATUS["fully_qualified"])
    )
    lengths: dict[str, set[int]] = {}
    for sequence in newer:
        lengths.setdefault(sequence[0], set()).add(len(sequence))
    ordered = {char: tuple(sorted(sizes, reverse=True)) for char, sizes in lengths.items()}

    # A dozen ranges that also hold some symbols that start no emoji (each costs one failed
    # match below). The regex engine tests a character against each range in turn: the exact
    # ranges made `check` on the 5,000-post benchmark take 4.4 s instead of 2.8 s, and trying
    # X's pattern at every character costs 0.13 ms a post.
    starts = {ord(char) for char in lengths if not char.isascii()}
    starts |= _pattern_code_points(pattern)
    ranges: list[list[int]] = []
    for code in sorted(starts):
        if ranges and code - ranges[-1][1] <= 256:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    spans = "".join(f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges)
    candidate = re.compile(f"[#*0-9](?=[\ufe0f\u20e3])|[{spans}]")
    return _EmojiTable(candidate, re.compile(pattern), ordered, newer)


def _emoji_spans(text: str) -> list[tuple[int, int]]:
    """[start, end) of each emoji, left to right, as twemoji-parser finds them.

    X's pattern decides, with its own rules: © and ® are emoji only before U+FE0F; a character
    that has a text and an emoji form (☺, ⌚) takes one U+FE0F, and is text before U+FE0E; after
    any other emoji (😀) a U+FE0F is one of its own. Where a sequence of a later Emoji release
    than the pattern's is longer than what the pattern finds there (🧑‍💻, not 🧑), the sequence
    counts as one.
    """
    if text.isascii():
        return []
    table = _emoji_table()
    spans: list[tuple[int, int]] = []
    position = 0
    while candidate := table.candidate.search(text, position):
        start = candidate.start()
        match = table.twemoji.match(text, start)
        end = match.end() if match else start
        for length in table.newer_lengths.get(text[start], ()):
            if start + length <= end:
                break
            if text[start : start + length] in table.newer:
                end = start + length
                break
        if end > start:
            spans.append((start, end))
            position = end
        else:
            position = start + 1
    return spans


# --- Weighted length (twitter-text js/src/parseTweet.js) -------------------------------------


def _plain_weight(segment: str, config: TextConfig) -> int:
    """Scaled weight of a run of text that holds no URL and no emoji."""
    total = len(segment) * config.default_weight
    for weight_class in config.weight_classes:
        if weight_class.covers_ascii and segment.isascii():
            in_range = len(segment)
        else:  # the few code points outside the ranges are cheaper to count than those inside
            in_range = len(segment) - len(weight_class.outside.findall(segment))
        total += in_range * (weight_class.weight - config.default_weight)
    return total


def _entities(normalized: str, config: TextConfig) -> list[tuple[int, int, int]]:
    """(start, end, scaled weight) of the URLs and emoji sequences that count as a whole.

    As parseTweet walks the text: a URL starting here counts transformed_url_length, else an
    emoji sequence starting here counts default_weight; a URL wins over an emoji starting at
    the same place, and an entity starting inside one already counted is skipped. parseTweet
    steps over a URL by the length of its text, not to the end of its indices: where a run of
    domains leaves the URL shorter than its span (``x_y.ایران.ac/p`` gives ``y.ایران/p`` at
    [2, 15)), the rest of the span counts character by character.
    """
    url_weight = config.transformed_url_length * config.scale
    found = [
        (span.start, 0, span.start + len(span.url), url_weight)
        for span in extract_urls_with_indices(normalized)
    ]
    if config.emoji_parsing:
        found += [(start, 1, end, config.default_weight) for start, end in _emoji_spans(normalized)]
    found.sort()
    entities = []
    position = 0
    for start, _, end, weight in found:
        if start >= position:
            entities.append((start, end, weight))
            position = end
    return entities


def _scaled_length(normalized: str, config: TextConfig) -> int:
    total = 0
    position = 0
    for start, end, weight in _entities(normalized, config):
        total += _plain_weight(normalized[position:start], config) + weight
        position = end
    return total + _plain_weight(normalized[position:], config)


def weighted_length_at_most(text: str, config: TextConfig = V3) -> int:
    """An upper bound on ``weighted_length(text)``, without finding URLs or emoji.

    An ASCII character weighs what its range gives it (no emoji is ASCII alone: a keycap
    takes U+FE0F or U+20E3 after its digit); any other code point at most the heaviest weight,
    and an emoji sequence less than its code points. A URL weighs ``transformed_url_length``
    instead of its characters and its domain holds a dot with more after it, so there are no
    more URLs than such dots (a sentence's full stop before a space is none). `check` measures
    5,000 posts: most are settled here.
    """
    normalized = unicodedata.normalize("NFC", text)
    heaviest, light = config.bound_weights
    ascii_count = len(normalized) - len(_NOT_ASCII.findall(normalized))
    urls = len(_DOT_WITHIN.findall(normalized))
    other = len(normalized) - ascii_count
    return (
        ascii_count * light + other * heaviest + urls * config.transformed_url_length * config.scale
    ) // config.scale


_NOT_ASCII = re.compile(r"[^\x00-\x7f]")
_DOT_WITHIN = re.compile(r"\.(?![\s.]|$)")


def prefix_lengths(text: str, config: TextConfig = V3) -> list[int]:
    """``weighted_length`` of every prefix of ``text`` (which must be NFC) in one pass.

    Element ``i`` is the length of ``text[:i]`` wherever ``i`` does not fall inside a URL or an
    emoji sequence, e.g. at any whitespace; inside one, the whole entity is already counted.
    """
    scaled = [0]
    position = 0
    for start, end, weight in [*_entities(text, config), (len(text), len(text), 0)]:
        weights = map(config.char_weights.__getitem__, text[position:start])
        scaled += list(accumulate(weights, initial=scaled[-1]))[1:]
        scaled.extend([scaled[-1] + weight] * (end - start))
        position = end
    return [value // config.scale for value in scaled]


def has_invalid_characters(text: str) -> bool:
    """Whether ``text`` holds a character X refuses in a post (U+FFFE, U+FEFF, U+FFFF)."""
    return _INVALID_CHARACTER.search(text) is not None


def parse_text(text: str, config: TextConfig = V3) -> TextLength:
    """Weighted length, validity and permillage of ``text``, as twitter-text's ``parseTweet``.

    A text is valid when it is not empty, fits ``config.max_weighted_length`` and holds none of
    the characters X refuses (U+FFFE, U+FEFF, U+FFFF).
    """
    normalized = unicodedata.normalize("NFC", text)
    length = _scaled_length(normalized, config) // config.scale
    valid = (
        0 < length <= config.max_weighted_length and _INVALID_CHARACTER.search(normalized) is None
    )
    # In floating point, as parseTweet's Math.floor(length / max * 1000): 4522 gives 16149.
    permillage = math.floor(length / config.max_weighted_length * 1000)
    return TextLength(length, valid, permillage)


def weighted_length(text: str, config: TextConfig = V3) -> int:
    """The length X gives ``text`` (at most 280 may be posted):
    ``weighted_length("Hello https://example.org/a-long/path 🇮🇷")`` is 32."""
    return _scaled_length(unicodedata.normalize("NFC", text), config) // config.scale
