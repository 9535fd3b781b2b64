"""Turning a queued post into the exact text that goes out (SPEC: "Template placeholders").

The template's fields are filled in; an empty field is dropped together with the separator
before it, so "{title} — {source}: {summary}" without a source reads "Title: summary". When the
result is longer than the network allows, as it counts (bot.networks' ``Counting``: X's weighted
length, Bluesky's graphemes), it is shortened in
the order SPEC gives: the summary first (at a word boundary, ending in "…"), then the title
(down to its first word), then hashtags are dropped from the last; only as a last resort is the
title cut inside a word. The URL is never cut, and no grapheme (an emoji, a letter with its
marks) is split.
"""

from __future__ import annotations

import functools
import re
import string
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from bot.config import Format
from bot.networks import DEFAULT_NETWORKS, Counting, counting_of

ELLIPSIS = "…"
# Dropped from the end of a shortened field before the ellipsis: "war, …" reads badly.
_TRAILING = " \t\n,;:.!?—–-"
_WORD_END = re.compile(r"(?<=\S)\s")


@dataclass(frozen=True)
class Fields:
    title: str = ""
    source: str = ""
    summary: str = ""
    url: str = ""
    hashtags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rendered:
    text: str
    length: int
    shortened: tuple[str, ...]  # which fields were shortened or dropped, for preview


class DoesNotFit(ValueError):
    """Even shortened as far as the rules allow, the post is longer than its network accepts."""

    def __init__(self, field: str, reason: str, network: str = "") -> None:
        super().__init__(reason)
        self.field = field  # the post's field to change
        self.network = network  # the label of the network it does not fit on, once known


@functools.lru_cache(maxsize=8)
def _parsed(template: str) -> tuple[tuple[str, str | None], ...]:
    """The template's literal texts and field names, parsed once (check fills it 5,000 times)."""
    return tuple((literal, name) for literal, name, _, _ in string.Formatter().parse(template))


def fill(template: str, fields: Fields) -> str:
    """The template with its fields filled in and empty fields left out cleanly.

    The text before the first placeholder and after the last one always stays. Between two
    fields that are kept, only the text written right before the later one stays: the
    separators of the fields dropped in between go with them.
    """
    values = {
        "title": fields.title.strip(),
        "source": fields.source.strip(),
        "summary": fields.summary.strip(),
        "url": fields.url.strip(),
        "hashtags": " ".join(f"#{tag}" for tag in fields.hashtags),
    }
    out: list[str] = []
    kept_one = False
    for index, (literal, name) in enumerate(_parsed(template)):
        if name is None:  # the text after the last placeholder
            out.append(literal)
            break
        if index == 0:
            out.append(literal)
        value = values.get(name, "")
        if not value:
            continue
        if kept_one:
            out.append(literal)
        out.append(value)
        kept_one = True
    return "".join(out).strip()


def hashtags_for(own: tuple[str, ...], shared: tuple[str, ...]) -> tuple[str, ...]:
    """The post's own hashtags, then the config's, each once (case-insensitively)."""
    seen: set[str] = set()
    tags = []
    for tag in (*own, *shared):
        if tag.casefold() not in seen:
            seen.add(tag.casefold())
            tags.append(tag)
    return tuple(tags)


def _default() -> Counting:
    return counting_of(DEFAULT_NETWORKS[0])


def check_fits(fields: Fields, fmt: Format, counting: Counting | None = None) -> None:
    """Raise DoesNotFit unless ``render`` can fit the post, measuring as little as it can.

    ``render`` falls back to the shortest form, so the post fits if the full text or the
    shortest form does; an upper bound usually settles it without measuring either.
    """
    counting = counting or _default()
    limit = counting.limit
    full = fill(fmt.template, fields)
    if counting.at_most(full) <= limit:
        return  # most posts: the shortest form is never needed
    shortest = _shortest(fields, fmt)
    if counting.at_most(shortest) <= limit:
        return
    length = counting.measure(full)
    if length > limit:
        _refuse_if_too_long(length, counting.measure(shortest), limit)


def _shortest(fields: Fields, fmt: Format) -> str:
    """The most the rules can take away: no summary, no hashtags, the title's first grapheme."""
    return fill(fmt.template, _shortest_fields(fields))


def _shortest_fields(fields: Fields) -> Fields:
    return Fields(_first_grapheme(fields.title), fields.source, "", fields.url, ())


def _refuse_if_too_long(length: int, least: int, limit: int) -> None:
    if least > limit:
        raise DoesNotFit(
            "title",
            f"is {length}/{limit} and cannot be shortened enough: even with no summary, no "
            f"hashtags and a one-letter title it is {least}/{limit}; shorten the source or the URL",
        )


def render(fields: Fields, fmt: Format, counting: Counting | None = None) -> Rendered:
    """The post as it will be published, shortened to fit the network's limit as it counts
    (``counting``: the default network's), or DoesNotFit."""
    counting = counting or _default()
    limit, weighted_length = counting.limit, counting.measure
    full = fill(fmt.template, fields)
    length = weighted_length(full)
    if length <= limit:
        return Rendered(full, length, ())

    measured = {full: length}

    def size(candidate: Fields) -> int:
        text = fill(fmt.template, candidate)
        if text not in measured:
            measured[text] = weighted_length(text)
        return measured[text]

    tags = fields.hashtags
    for keep in range(len(tags), -1, -1):
        trial = replace(fields, hashtags=tags[:keep])
        shortened = _shorten_summary_then_title(trial, size, counting, by_grapheme=keep == 0)
        if shortened is not None:
            best = shortened
            return Rendered(fill(fmt.template, best), size(best), _changed(fields, best, fmt))
    # The searches above measure cut after cut and, where a cut changes what counts as a URL,
    # can miss a fit; the shortest form is the guarantee check_fits relies on.
    least_fields = _shortest_fields(fields)
    shortest = fill(fmt.template, least_fields)
    least = weighted_length(shortest)
    _refuse_if_too_long(length, least, limit)
    return Rendered(shortest, least, _changed(fields, least_fields, fmt))


def _changed(before: Fields, after: Fields, fmt: Format) -> tuple[str, ...]:
    """Which fields the text shows shortened or dropped, in the order they are shortened: only
    fields the post has, whose placeholder the template uses, and whose value changed."""
    used = {name for _, name, _, _ in string.Formatter().parse(fmt.template) if name}
    changed = [
        name
        for name, old, new in (
            ("summary", before.summary.strip(), after.summary.strip()),
            ("title", before.title.strip(), after.title.strip()),
        )
        if name in used and old and new != old
    ]
    if "hashtags" in used and after.hashtags != before.hashtags:
        changed.append("hashtags")
    return tuple(changed)


def _shorten_summary_then_title(
    fields: Fields, size: Callable[[Fields], int], counting: Counting, *, by_grapheme: bool
) -> Fields | None:
    limit = counting.limit
    if size(fields) <= limit:
        return fields
    summary = _longest(fields.summary, lambda s: size(replace(fields, summary=s)), counting)
    if summary is not None:
        return replace(fields, summary=summary)
    no_summary = replace(fields, summary="")
    if size(no_summary) <= limit:
        return no_summary
    title = _longest(
        fields.title,
        lambda t: size(replace(no_summary, title=t)),
        counting,
        by_grapheme=by_grapheme,
    )
    if title is not None:
        return replace(no_summary, title=title)
    return None


def _longest(
    value: str, size: Callable[[str], int], counting: Counting, *, by_grapheme: bool = False
) -> str | None:
    """The longest shortening of ``value`` (ending in "…") with ``size`` at most ``limit``.

    ``size(v)`` is the weighted length of the whole post with ``v`` in place. It is the rest of
    the post plus the field itself, so one pass over the field's prefixes (the network's
    ``prefix_lengths``) estimates every cut; the chosen cut is then measured for real, and only if
    the estimate was off (a URL or emoji joining the field to its neighbours) does a binary
    search measure cut after cut.
    """
    limit = counting.limit
    value = unicodedata.normalize("NFC", value.strip())
    cuts = list(_word_cuts(value))
    if by_grapheme and not (cuts and size(_cut(value, cuts[0])) <= limit):
        cuts = list(_grapheme_cuts(value))
    if not cuts:
        return None
    prefix = counting.prefix_lengths(value)
    rest = size(value) - prefix[-1]
    ellipsis = counting.measure(ELLIPSIS)
    for end in reversed(cuts):
        kept = len(value[:end].rstrip(_TRAILING))
        if rest + prefix[kept] + ellipsis <= limit:
            if size(_cut(value, end)) <= limit:
                return _cut(value, end)
            break
    low, high, best = 0, len(cuts) - 1, None
    while low <= high:
        middle = (low + high) // 2
        candidate = _cut(value, cuts[middle])
        if size(candidate) <= limit:
            best, low = candidate, middle + 1
        else:
            high = middle - 1
    return best


def _cut(value: str, end: int) -> str:
    return value[:end].rstrip(_TRAILING) + ELLIPSIS


def _word_cuts(value: str) -> Iterator[int]:
    """Ends of each word but the last, shortest first (whitespace never splits a grapheme)."""
    for space in _WORD_END.finditer(value):
        if value[: space.start()].rstrip(_TRAILING):
            yield space.start()


@functools.cache
def _graphemes() -> Any:
    import regex  # noqa: PLC0415 - needed only for a title too long for its first word

    return regex.compile(r"\X")


def _grapheme_cuts(value: str) -> Iterator[int]:
    for cluster in _graphemes().finditer(value):
        if cluster.end() < len(value):
            yield cluster.end()


def _first_grapheme(value: str) -> str:
    """The first grapheme and "…", or ``value`` itself if it is one grapheme or less."""
    value = value.strip()
    if value[1:2].isascii() and value[:1].isascii() and value[:2] != "\r\n":
        # Two ASCII characters are two graphemes (UAX #29: only CR LF stays together), and
        # `check` shortens 5,000 titles without loading the grapheme rules.
        return value if len(value) < 2 else _cut(value, 1)
    first = next(_grapheme_cuts(value), None)
    return value if first is None else _cut(value, first)
