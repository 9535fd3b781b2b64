"""How Bluesky counts a post, and its facets (app.bsky.richtext.facet).

Bluesky's limit is 300 graphemes *and* 3,000 UTF-8 bytes (app.bsky.feed.post: maxGraphemes
300, maxLength 3000). ``length`` folds both into one figure against 300: the graphemes, or a
tenth of the bytes when that is more, so the formatter can shorten to either limit with one
number. Links and hashtags are clickable only as facets, whose offsets count UTF-8 bytes, not
characters (the most reported defect of other bots: a URL in the text that is not a link).
"""

from __future__ import annotations

import math
import re
from typing import Any

import regex

from bot.networks import Counting

MAX_GRAPHEMES = 300
MAX_BYTES = 3000
_GRAPHEME = regex.compile(r"\X")
# A link as the formatter writes it (the post's url is http(s) only), without the punctuation
# that ends a sentence after it.
_URL = re.compile(r"https?://[^\s<>\"'`]+")
_URL_TAIL = ".,;:!?)]}…'\""
# A hashtag: '#' at the start or after a space, then letters, digits, marks or '_', not only
# digits (as Bluesky's own apps detect them).
_TAG = regex.compile(r"(?:^|(?<=\s))#((?=[\p{L}\p{M}\p{N}_]*[\p{L}\p{M}_])[\p{L}\p{M}\p{N}_]+)")


def graphemes(text: str) -> int:
    return len(_GRAPHEME.findall(text))


def length(text: str) -> int:
    """Graphemes, or a tenth of the UTF-8 bytes when that is more (see the module's note)."""
    return max(graphemes(text), math.ceil(len(text.encode()) * MAX_GRAPHEMES / MAX_BYTES))


def length_at_most(text: str) -> int:
    """A cheap upper bound of ``length``: code points are never fewer than graphemes."""
    return max(len(text), math.ceil(len(text.encode()) * MAX_GRAPHEMES / MAX_BYTES))


def prefix_lengths(text: str) -> list[int]:
    """``length`` of ``text[:i]`` for every i, in one pass (the formatter's estimate)."""
    starts = {match.start() for match in _GRAPHEME.finditer(text)}
    counts, count, size = [0], 0, 0
    for index, character in enumerate(text):
        count += index in starts
        size += len(character.encode())
        counts.append(max(count, math.ceil(size * MAX_GRAPHEMES / MAX_BYTES)))
    return counts


COUNTING = Counting(MAX_GRAPHEMES, length, length_at_most, prefix_lengths)


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode())


def links(text: str) -> list[tuple[int, int, str]]:
    """(start, end, uri) of every link in ``text``, as character indices."""
    found = []
    for match in _URL.finditer(text):
        uri = match.group().rstrip(_URL_TAIL)
        if uri.count("(") > uri.count(")") and match.group()[len(uri) : len(uri) + 1] == ")":
            uri += ")"  # a link to a page whose address has brackets (Wikipedia)
        found.append((match.start(), match.start() + len(uri), uri))
    return found


def facets(text: str) -> list[dict[str, Any]]:
    """The facets that make the links and hashtags of ``text`` clickable, with UTF-8 byte
    offsets (app.bsky.richtext.facet#link and #tag), in text order."""
    found: list[tuple[int, dict[str, Any]]] = []
    taken: list[tuple[int, int]] = []
    for start, end, uri in links(text):
        taken.append((start, end))
        found.append((start, _facet(text, start, end, "#link", uri=uri)))
    for match in _TAG.finditer(text):
        start, end = match.start(), match.end()
        if any(s <= start < e for s, e in taken):
            continue  # a '#' inside a link is the link's fragment
        tag = match.group(1)
        found.append((start, _facet(text, start, end, "#tag", tag=tag)))
    return [facet for _, facet in sorted(found, key=lambda item: item[0])]


def _facet(text: str, start: int, end: int, kind: str, **feature: str) -> dict[str, Any]:
    return {
        "index": {"byteStart": _byte_offset(text, start), "byteEnd": _byte_offset(text, end)},
        "features": [{"$type": f"app.bsky.richtext.facet{kind}", **feature}],
    }
