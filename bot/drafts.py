"""Draft posts the bot writes for editors (`import` from feeds, `new` from a link): where each
goes, how links are compared, and writing one without ever overwriting a file (SPEC "Feeds").

A draft is an ordinary queue file with ``approved: false`` (unless a feed says ``approve:
true``) and a comment saying where it came from, so an editor reads, edits and approves it as
any other post. A file is written once, atomically, and never again: an editor's edits
survive every later import.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from bot.errors import UNSAFE_CHARACTERS, BotError
from bot.loading import dump_yaml_mapping, read_yaml_mapping
from bot.queue_scan import POST_SUFFIXES, scan_queue

MAX_SLUG = 100  # characters of a file name: WordPress slugs of long headlines reach 90

_UNSAFE = re.compile(f"[{UNSAFE_CHARACTERS}]")
# Query parameters that only say where a reader came from: the same article with any of them
# is the same article (NETWORKS-NOTES: "tracking parameters making one link look like two").
_TRACKING = re.compile(r"utm_.*|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|_ga|igshid", re.I)


@dataclass(frozen=True)
class Draft:
    """A post for an editor to check: the fields of a queue file."""

    title: str
    url: str
    source: str | None = None
    summary: str | None = None
    approved: bool = False


_WEB = re.compile(r"https?://\S+", re.IGNORECASE)


def web_address(text: str) -> bool:
    """``text`` is an http(s) address a draft can take: no spaces, a host, a valid port."""
    if not _WEB.fullmatch(text):
        return False
    try:
        parts = urlsplit(text)
        _ = parts.port  # ValueError when out of range
    except ValueError:  # "http://[oops/": an unclosed IPv6 bracket
        return False
    return bool(parts.hostname)


def canonical_link(url: str) -> str:
    """``url`` as links are compared: scheme and host lower-cased, tracking parameters
    (``utm_*``, ``fbclid``, ``gclid``…) and the fragment removed, the default port and a
    trailing slash dropped; http counted as https (a site that moved to https still has
    the same articles). Two links with the same canonical form are one article."""
    parts = urlsplit(url.strip())
    scheme = "https" if parts.scheme.lower() in ("http", "https") else parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port if parts.port not in (None, 80, 443) else None
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = (f"{userinfo}@" if userinfo else "") + host + (f":{port}" if port else "")
    query = urlencode(
        [
            (key, value)
            for key, value in parse_qsl(parts.query, keep_blank_values=True)
            if not _TRACKING.fullmatch(key)
        ]
    )
    path = parts.path.rstrip("/")
    return urlunsplit((scheme, netloc, path, query, ""))


def without_tracking(url: str) -> str:
    """``url`` as a draft keeps it: as written, less its tracking parameters and fragment
    (the trailing slash and the letters' case stay: some sites care)."""
    parts = urlsplit(url.strip())
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(key, value) for key, value in pairs if not _TRACKING.fullmatch(key)]
    query = parts.query if len(kept) == len(pairs) else urlencode(kept)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def slug(link: str, title: str) -> str:
    """A file name for a draft: the link's last path segment when it reads as one
    (WordPress's ``/2019/10/20/mek-and-fake-news/``), else the title's words."""
    last = unquote(urlsplit(link).path.rstrip("/").rpartition("/")[2]).lower()
    last = re.sub(r"\.(html?|php|aspx?)$", "", last)
    readable = re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", last) and re.search("[a-z]", last)
    if readable and len(last) <= MAX_SLUG:
        return last
    return words_slug(title) or words_slug(last) or "entry"


def words_slug(text: str) -> str:
    """Letters and digits of ``text``, lower-cased, joined by hyphens (accents folded to
    ASCII; a title in another script keeps its own letters)."""
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(c for c in folded if not unicodedata.combining(c)).lower()
    words = re.findall(r"[^\W_]+", folded)
    name = ""
    for word in words:
        longer = f"{name}-{word}" if name else word
        if len(longer) > MAX_SLUG:
            break
        name = longer
    return name or (words[0][:MAX_SLUG] if words else "")


def plain_text(html: str) -> str:
    """HTML as the plain text a post carries: tags removed without adding spaces where they
    were (``<em>Holy Warriors</em>,”`` stays ``Holy Warriors,”``), entities decoded (WordPress
    writes ``&#8211;``), runs of whitespace collapsed, control characters dropped."""
    parser = _TextOnly()
    parser.feed(html)
    parser.close()
    return tidy("".join(parser.text))


def tidy(text: str) -> str:
    """One line of text: whitespace runs collapsed, control and bidirectional-override
    characters (which `check` refuses in a post) dropped."""
    return " ".join(_UNSAFE.sub(" ", text).split())


class _TextOnly(HTMLParser):
    _HIDDEN = frozenset(("script", "style", "template"))

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._hidden += tag in self._HIDDEN

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.text.append(data)


def queue_links(queue_dir: Path) -> dict[str, str]:
    """The canonical link of every queue file that has one (valid or not, draft or not) →
    its path under the queue: an article already queued is never drafted again."""
    scan = scan_queue(str(queue_dir))
    links: dict[str, str] = {}
    for relative, path, _, _ in scan.files if scan else []:
        try:
            url = read_yaml_mapping(path, relative, empty_hint="").data.get("url")
        except Exception:  # noqa: BLE001, S112 - a file `check` reports; it has no link to give
            continue
        if isinstance(url, str) and web_address(url.strip()):  # else `check` names it
            links.setdefault(canonical_link(url), relative)
    return links


def free_name(folder: Path, name: str, taken: set[Path]) -> Path:
    """``folder/name.yaml``, or ``name-2.yaml``… when that file (in either suffix) exists or
    was chosen already: two entries with one slug get two files."""
    number = 1
    while True:
        stem = name if number == 1 else f"{name}-{number}"
        path = folder / f"{stem}.yaml"
        if path not in taken and not any(
            (folder / f"{stem}{suffix}").exists() for suffix in POST_SUFFIXES
        ):
            taken.add(path)
            return path
        number += 1


def render(draft: Draft, comment: list[str]) -> str:
    """The file's text: the comment lines, then the fields in the order editors read them."""
    fields: dict[str, object] = {"title": draft.title, "url": draft.url}
    if draft.source:
        fields["source"] = draft.source
    if draft.summary:
        fields["summary"] = draft.summary
    fields["approved"] = draft.approved
    head = "".join(f"# {line}\n" for line in comment)
    return head + dump_yaml_mapping(fields)


def write_new(path: Path, text: str) -> bool:
    """Write ``text`` to ``path`` atomically, only if no file is there (False if one is): it
    appears whole or not at all, and nothing an editor saved is ever replaced."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".draft-", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(temporary, path)  # fails if the name is taken, unlike a rename
        except FileExistsError:
            return False
    finally:
        with contextlib.suppress(FileNotFoundError):
            Path(temporary).unlink()
    return True


def write_draft(
    queue: Path, folder: Path, name: str, text: str, taken: set[Path], *, dry_run: bool
) -> Path:
    """Write a draft as ``folder/name.yaml`` or the next free name; in a dry run, only choose
    the name. NotDrafted if ``folder`` leads outside ``queue`` (a link in the queue)."""
    inside = queue.resolve()
    if not folder.resolve().is_relative_to(inside):
        raise NotDrafted(
            f"{folder} leads outside the queue folder {queue} (a link?); drafts are written "
            "inside it only: remove the link or change the folder"
        )
    while True:
        path = free_name(folder, name, taken)
        if dry_run or write_new(path, text):  # False: a file appeared there meanwhile
            return path


class NotDrafted(BotError):
    """Why `new` wrote no draft; the message says what to do."""
