"""How Mastodon counts a status, as its StatusLengthValidator does (app/validators/
status_length_validator.rb, Mastodon 4.x):

- the text's **grapheme clusters** (``each_grapheme_cluster.size``): a flag, an emoji with its
  modifiers, a letter with its combining marks is one;
- every URL **with a protocol** counts as ``characters_reserved_per_url`` (23; the validator
  writes an ``x`` placeholder of that length in its place). Which text is a URL is decided by
  twitter-text's extractor (the ``twitter-text`` 3.1 gem, TLD list included) with Mastodon's own
  path and query rules (config/initializers/twitter_regex.rb) and
  ``extract_url_without_protocol: false``: ``example.org`` alone counts in full, and so does a
  link to an IP address or to ``localhost`` (no known TLD);
- a mention ``@user@domain`` counts as ``@user`` (Account::MENTION_RE; only the username part).

Counting more than Mastodon only shortens a post a little more than it had to; counting less
would have it refused (422). So where this module cannot be exact it errs high: a mention is
only shortened where Mastodon surely sees one.

The TLD list is the one twitter-text 3.1.0 ships (bot/data/tlds.txt, shared with X's rules):
Mastodon pins that gem, so both extract the same domains.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import regex

from bot.networks import Counting
from bot.networks.tlds import tld_lists

DEFAULT_MAX_CHARACTERS = 500  # configuration.statuses.max_characters, Mastodon's default
DEFAULT_URL_WEIGHT = 23  # configuration.statuses.characters_reserved_per_url

_GRAPHEME = regex.compile(r"\X")

# --- twitter-text (Ruby, 3.1.0) character classes --------------------------------------------

_PUNCTUATION = r"!\"#$%&'()*+,\-./:;<=>?@\[\]^_`{|}~"  # Ruby's PUNCTUATION_CHARS, with " and `
_SPACES = "\t-\r \u0085\u00a0\u1680\u180e\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_CONTROL = "\x00-\x1f\x7f"
_INVALID = "\ufffe\ufeff\uffff"
_DIRECTIONAL = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_MAX_URL_LENGTH = 4096  # twitter-text's is_valid_domain
_MAX_TCO_SLUG_LENGTH = 40
_MAX_DOMAIN_LENGTH = 253  # Mastodon's Extractor: a longer mention domain is no mention

# Mastodon's protocols (twitter_regex.rb); a URL without one is not counted as a URL.
_PROTOCOLS = "https?|dat|dweb|ipfs|ipns|ssb|gopher|gemini"

# Account::MENTION_RE (Mastodon 4.x), with [[:word:]] spelt out. Only a mention *with* a domain
# counts differently from its text, so only those are looked for.
_WORD = r"[\p{L}\p{M}\p{Nd}\p{Pc}]"
_MENTION = regex.compile(
    rf"(?<![=/]|{_WORD})@([a-z0-9_]+(?:[.-]+[a-z0-9_]+)*)@({_WORD}+(?:[.-]+{_WORD}+)*)",
    regex.IGNORECASE,
)
# twitter-text's end_mention_match: what after a mention makes it none
_END_MENTION = regex.compile(r"[@\uff20]|://")


class Span(NamedTuple):
    start: int
    end: int
    replacement: str  # what the validator counts in its place


class _UrlPatterns(NamedTuple):
    url: regex.Pattern[str]
    tco: regex.Pattern[str]


@functools.cache
def _url_patterns() -> _UrlPatterns:
    """Twitter-text's valid_url as Mastodon redefines it, compiled on first use (a text
    without a dot and a colon never needs it)."""
    tlds = tld_lists()

    def tld_group(names: list[str]) -> str:
        # grouped by first letter, in list order within a group: the order twitter-text
        # tries them in is kept, and the engine compares each first letter once
        by_first: dict[str, list[str]] = {}
        for name in names:
            by_first.setdefault(name[0].lower(), []).append(regex.escape(name[1:]))
        groups = [
            regex.escape(first) + "(?:" + "|".join(rest) + ")" for first, rest in by_first.items()
        ]
        return "(?:(?:" + "|".join(groups) + ")(?=[^0-9a-z@+-]|$))"

    gtld, cctld = tld_group(tlds["generic"]), tld_group(tlds["country"])
    punycode = r"(?:xn--[\-0-9a-z]+)"
    domain_char = f"[^{_DIRECTIONAL}{_PUNCTUATION}{_SPACES}{_CONTROL}{_INVALID}]"
    subdomain = rf"(?:(?:{domain_char}(?:[_-]|{domain_char})*)?{domain_char}\.)"
    domain_name = rf"(?:(?:{domain_char}(?:-|{domain_char})*)?{domain_char}\.)"
    domain = f"(?:{subdomain}*{domain_name}(?:{gtld}|{cctld}|{punycode}))"

    # Mastodon's path and query rules (config/initializers/twitter_regex.rb)
    path_char = r"[^\p{White_Space}<>()?]"
    balanced = rf"\((?:{path_char}+|(?:{path_char}*\({path_char}+\){path_char}*))\)"
    path_end = rf"(?:[^\p{{White_Space}}()?!*\"'「」<>;:=,.$%\[\]~&|@]|{balanced})"
    path = rf"(?:(?:{path_char}*(?:{balanced}{path_char}*)*{path_end})|(?:{path_char}+/))"
    unicode_chars = (
        "\u00a0-\ud7ff\uf900-\ufdcf\ufdf0-\uffef\U00010000-\U0001fffd\U00020000-\U0002fffd"
        "\U00030000-\U0003fffd\U00040000-\U0004fffd\U00050000-\U0005fffd\U00060000-\U0006fffd"
        "\U00070000-\U0007fffd\U00080000-\U0008fffd\U00090000-\U0009fffd\U000a0000-\U000afffd"
        "\U000b0000-\U000bfffd\U000c0000-\U000cfffd\U000d0000-\U000dfffd\U000e1000-\U000efffd"
        "\ue000-\uf8ff\U000f0000-\U000ffffd\U00100000-\U0010fffd"
    )
    query_char = rf"[a-z0-9!?*'();:&=+$/%#\[\]\-_.,~|@\^{unicode_chars}]"
    query_end = rf"[a-z0-9_&=#/\-{unicode_chars}]"
    preceding = f"(?:[^A-Z0-9@\uff20$#\uff03{_INVALID}]|[{_DIRECTIONAL}]|^)"
    url = regex.compile(
        f"({preceding})"  # 1: the character before
        "("  # 2: the URL
        f"((?:{_PROTOCOLS})://)?"  # 3: protocol (a match without one is not counted)
        f"({domain})"  # 4: domain
        r"(?::[0-9]+)?"
        rf"(?:/{path}*)?"
        rf"(?:\?{query_char}*{query_end})?"
        ")",
        regex.IGNORECASE,
    )
    tco = regex.compile(rf"https?://t\.co/([a-z0-9]+)(?:\?{query_char}*{query_end})?", regex.I)
    return _UrlPatterns(url, tco)


def _valid_domain(url: str, domain: str) -> bool:
    """twitter-text's is_valid_domain: the domain encodes to ASCII (IDNA), and the URL with it
    so encoded is at most 4,096 characters."""
    try:
        encoded = domain.encode("idna")
    except UnicodeError:
        return False
    return len(url) + max(len(encoded) - len(domain), 0) <= _MAX_URL_LENGTH


# A URL never spans whitespace, and its domain holds a dot: only such runs are searched, from
# one character before them (the character before a URL decides whether it is one).
_DOTTED_RUN = regex.compile(rf"[^{_SPACES}]*\.[^{_SPACES}]*")


def url_spans(text: str, per_url: int = DEFAULT_URL_WEIGHT) -> list[Span]:
    """The URLs Mastodon counts as ``per_url`` characters, as code-point offsets."""
    if ":" not in text or "." not in text:
        return []
    patterns = _url_patterns()
    found = []
    for run in _DOTTED_RUN.finditer(text):
        if "://" not in run.group():
            continue
        for match in patterns.url.finditer(text, max(run.start() - 1, 0), run.end()):
            url, protocol, domain = match.group(2, 3, 4)
            if not protocol:
                continue  # extract_url_without_protocol: false
            start, end = match.span(2)
            tco = patterns.tco.match(url)
            if tco:  # a t.co link ends with its slug (and query), whatever follows
                if len(tco.group(1)) > _MAX_TCO_SLUG_LENGTH:
                    continue
                end = start + len(tco.group())
            if _valid_domain(url, domain):
                found.append(Span(start, end, "x" * per_url))
    return found


def mention_spans(text: str) -> list[Span]:
    """Mentions with a domain, each counted as its ``@user`` part."""
    if text.count("@") < 2:
        return []
    found = []
    for match in _MENTION.finditer(text):
        if _END_MENTION.match(text, match.end()) or len(match.group(2)) > _MAX_DOMAIN_LENGTH:
            continue
        found.append(Span(match.start(), match.end(), "@" + match.group(1)))
    return found


def entities(text: str, per_url: int = DEFAULT_URL_WEIGHT) -> list[Span]:
    """URLs and mentions, without overlaps: the one that starts first wins (Extractor.
    remove_overlapping_entities)."""
    spans = sorted(url_spans(text, per_url) + mention_spans(text), key=lambda span: span.start)
    kept: list[Span] = []
    for span in spans:
        if kept and kept[-1].end > span.start:
            continue
        kept.append(span)
    return kept


def graphemes(text: str) -> int:
    if text.isascii() and "\r" not in text:
        return len(text)  # every ASCII character is a grapheme but CR LF (UAX #29)
    return len(_GRAPHEME.findall(text))


def countable(text: str, per_url: int = DEFAULT_URL_WEIGHT) -> str:
    """The text as the validator counts it: each URL an ``x`` placeholder, each mention its
    username (StatusLengthValidator#countable_text)."""
    found = entities(text, per_url)
    if not found:
        return text
    parts, last = [], 0
    for span in found:
        parts += [text[last : span.start], span.replacement]
        last = span.end
    parts.append(text[last:])
    return "".join(parts)


def measure(text: str, per_url: int = DEFAULT_URL_WEIGHT) -> int:
    """The status's length as Mastodon counts it."""
    return graphemes(countable(text, per_url))


def at_most(text: str, per_url: int = DEFAULT_URL_WEIGHT) -> int:
    """A cheap upper bound of ``measure``: code points are never fewer than graphemes, a
    mention counts less than its text, and each URL (which needs its ``://``) adds less than
    ``per_url`` to them."""
    return len(text) + per_url * text.count("://")


def prefix_lengths(text: str, per_url: int = DEFAULT_URL_WEIGHT) -> list[int]:
    """``measure`` of ``text[:i]`` for every i, estimated in one pass (the formatter measures
    the cut it chooses): a URL or mention counts in full from its first character on, as it
    would if the cut kept it whole; elsewhere each grapheme counts one, from its first code
    point. The last value is ``measure(text)`` but where an entity joins a grapheme with its
    neighbour."""
    starts = {match.start() for match in _GRAPHEME.finditer(text)}
    weights: dict[int, int] = {}
    covered: set[int] = set()
    for span in entities(text, per_url):
        weights[span.start] = graphemes(span.replacement)
        covered.update(range(span.start, span.end))
    counts, count = [0], 0
    for index in range(len(text)):
        if index in weights:
            count += weights[index]
        elif index not in covered and index in starts:
            count += 1
        counts.append(count)
    return counts


def counting(
    limit: int = DEFAULT_MAX_CHARACTERS, per_url: int = DEFAULT_URL_WEIGHT, source: str = ""
) -> Counting:
    """Mastodon's counting for an instance's ``max_characters`` and
    ``characters_reserved_per_url``; ``source`` says where they come from."""
    return Counting(
        limit,
        functools.partial(measure, per_url=per_url),
        functools.partial(at_most, per_url=per_url),
        functools.partial(prefix_lengths, per_url=per_url),
        source,
    )
