"""Turning a queued post into the exact text that goes out (SPEC: "Template placeholders").

The template's fields are filled in; an empty field is dropped together with the separator
before it, so "{title} — {source}: {summary}" without a source reads "Title: summary". When the
result is longer than X allows (bot.text.weighted_length), it is shortened in the order SPEC
gives: the summary first (at a word boundary, ending in "…"), then the title (down to its first
word), then hashtags are dropped from the last; only as a last resort is the title cut inside
a word. The URL is never cut, and no grapheme (an emoji, a letter with its marks) is split.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from bot.config import Format
from bot.text import MAX_WEIGHTED_LENGTH, weighted_length

ELLIPSIS = "…"
# Dropped from the end of a shortened field before the ellipsis: "war, …" reads badly.
_TRAILING = " \t\n,;:.!?—–-"


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
    """Even shortened as far as the rules allow, the post is longer than X accepts."""

    def __init__(self, field: str, length: int, reason: str) -> None:
        super().__init__(reason)
        self.field = field  # the post's field to change
        self.length = length


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
    for index, (literal, name, _, _) in enumerate(string.Formatter().parse(template)):
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


def render(fields: Fields, fmt: Format, limit: int = MAX_WEIGHTED_LENGTH) -> Rendered:
    """The post as it will be published, shortened to fit ``limit``, or DoesNotFit."""
    full = fill(fmt.template, fields)
    length = weighted_length(full)
    if length <= limit:
        return Rendered(full, length, ())

    def fits(candidate: Fields) -> int | None:
        size = weighted_length(fill(fmt.template, candidate))
        return size if size <= limit else None

    tags = fields.hashtags
    for keep in range(len(tags), -1, -1):
        trial = replace(fields, hashtags=tags[:keep])
        dropped = ("hashtags",) if keep < len(tags) else ()
        shortened = _shorten_summary_then_title(trial, fits, by_grapheme=keep == 0)
        if shortened is not None:
            best, what = shortened
            text = fill(fmt.template, best)
            return Rendered(text, weighted_length(text), (*what, *dropped))
    bare = fill(
        fmt.template, replace(fields, summary="", title=_first_grapheme(fields.title), hashtags=())
    )
    raise DoesNotFit(
        "title",
        weighted_length(bare),
        f"is {length}/{limit} and cannot be shortened enough: even with no summary, no hashtags "
        f"and a one-letter title it is {weighted_length(bare)}/{limit}; shorten the source or "
        "the URL",
    )


def _shorten_summary_then_title(
    fields: Fields, fits: Callable[[Fields], int | None], *, by_grapheme: bool
) -> tuple[Fields, tuple[str, ...]] | None:
    if fits(fields) is not None:
        return fields, ()
    summary = _longest(fields.summary, lambda s: fits(replace(fields, summary=s)) is not None)
    if summary is not None:
        return replace(fields, summary=summary), ("summary",)
    no_summary = replace(fields, summary="")
    if fits(no_summary) is not None:
        return no_summary, ("summary",)
    title = _longest(
        fields.title,
        lambda t: fits(replace(no_summary, title=t)) is not None,
        by_grapheme=by_grapheme,
    )
    if title is not None:
        return replace(no_summary, title=title), ("summary", "title")
    return None


def _longest(value: str, fits: Callable[[str], bool], *, by_grapheme: bool = False) -> str | None:
    """The longest shortening of ``value`` (ending in "…") that fits, or None.

    Binary search over the cut points: the length is monotonic in the cut except where a cut
    turns a URL into plain text, and every answer is checked, so it always fits.
    """
    value = value.strip()
    cuts = list(_word_cuts(value))
    if by_grapheme and not any(fits(_cut(value, end)) for end in cuts[:1]):
        cuts = list(_grapheme_cuts(value))
    low, high, best = 0, len(cuts) - 1, None
    while low <= high:
        middle = (low + high) // 2
        candidate = _cut(value, cuts[middle])
        if fits(candidate):
            best, low = candidate, middle + 1
        else:
            high = middle - 1
    return best


def _cut(value: str, end: int) -> str:
    return value[:end].rstrip(_TRAILING) + ELLIPSIS


def _word_cuts(value: str) -> Iterator[int]:
    """Ends of each word but the last, shortest first (whitespace never splits a grapheme)."""
    for index in range(1, len(value)):
        word_ends = value[index].isspace() and not value[index - 1].isspace()
        if word_ends and value[:index].rstrip(_TRAILING):
            yield index


def _grapheme_cuts(value: str) -> Iterator[int]:
    import regex  # noqa: PLC0415 - needed only for a title too long for its first word

    for cluster in regex.finditer(r"\X", value):
        if cluster.end() < len(value):
            yield cluster.end()


def _first_grapheme(value: str) -> str:
    value = value.strip()
    cuts = list(_grapheme_cuts(value))
    return _cut(value, cuts[0]) if cuts else value
