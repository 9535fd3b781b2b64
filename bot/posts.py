"""The queue: one YAML file per post under queue/, loaded and validated (SPEC: "A queued post").

``load_queue`` never stops at a bad file: each problem becomes a ``Problem`` naming the file,
the line and the fix, and every valid post still comes back.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shlex
import stat
from collections.abc import Callable, Iterator
from dataclasses import asdict, astuple, dataclass, field, fields
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from bot.config import Config, Format, check_hashtags
from bot.errors import UNSAFE_CHARACTERS, InvalidFile, Problem
from bot.queue_scan import TOOL_FILES, Unreadable, scan_queue, stat_key

if TYPE_CHECKING:
    from bot.formatting import Fields, Rendered
    from bot.ledger import IndexEntry
    from bot.loading import YamlMapping

# Reading and measuring a post file needs YAML, the length rules and emoji data: imported by
# the functions that do it, so a cron run that finds every file unchanged never loads them.

POST_KEYS = (
    "title", "url", "source", "summary", "hashtags", "text", "approved", "publish_at",
    "not_before", "expires", "priority", "thread", "image", "allow_repeat", "networks",
)  # fmt: skip
_SPACE = re.compile(r"\s")
# A web address urlsplit surely accepts (an ASCII host, nothing it could read as IPv6, no
# space), settled without it: most of them.
_PLAIN_WEB_ADDRESS = re.compile(r"https?://(?:(?![/?#\[\]])[!-~])+(?:[/?#]\S*)?\Z")
_UNSAFE_NAME = re.compile(f"[{UNSAFE_CHARACTERS}]")
MAX_ALT_TEXT = 1000
MAX_IMAGE_BYTES = 5 * 1024 * 1024
# Longer fields are certainly mistakes, and measuring them would only waste time.
MAX_FIELD_CHARACTERS = 5000
_IMAGE_SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


@dataclass(frozen=True)
class Image:
    path: Path
    alt: str


@dataclass(frozen=True)
class Post:
    id: str  # its path under queue/ without the extension: 2019/10/mek-and-fake-news
    file: str  # its path under queue/, written with "/": 2019/10/mek-and-fake-news.yaml
    title: str = ""
    url: str = ""
    source: str = ""
    summary: str = ""
    hashtags: tuple[str, ...] = ()
    text: str | None = None
    approved: bool = False
    publish_at: datetime | None = None
    not_before: datetime | None = None
    expires: datetime | None = None
    priority: int = 0
    thread: tuple[str, ...] = ()
    image: Image | None = None
    allow_repeat: bool = False
    networks: tuple[str, ...] = ()  # only these of the configured networks; () = all of them


def targets(post: Post, config: Config) -> list[str]:
    """The configured networks the post goes to, in the config's order."""
    return [name for name in config.networks if not post.networks or name in post.networks]


_POST_FIELDS = {field.name for field in fields(Post)}


@dataclass
class Queue:
    posts: list[Post] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    invalid_files: set[str] = field(default_factory=set)

    def add_problem(self, problem: Problem) -> None:
        self.problems.append(problem)
        self.invalid_files.add(problem.path)


def _fields(post: Post, config: Config) -> Fields:
    from bot.formatting import Fields, hashtags_for  # noqa: PLC0415

    hashtags = hashtags_for(post.hashtags, config.format.hashtags)
    return Fields(post.title, post.source, post.summary, post.url, hashtags)


def _format_for(config: Config, network: str) -> Format:
    """The network's template (networks.NAME.template) or format.template, and the hashtags."""
    settings = config.networks.get(network)
    template = settings.template if settings and settings.template else config.format.template
    return Format(template, config.format.hashtags)


def check_post_fits(post: Post, config: Config, network: str | None = None) -> None:
    """Raise DoesNotFit (naming the network) unless every part of the post can be published
    on ``network`` (on every network it goes to when None); cheaper than render_post: it
    does not look for the best shortening."""
    from bot.formatting import DoesNotFit, check_fits  # noqa: PLC0415
    from bot.networks import counting_of, entry  # noqa: PLC0415

    for name in [network] if network else targets(post, config):
        counting = counting_of(name, config.paths.state)
        try:
            if post.text is None:
                check_fits(_fields(post, config), _format_for(config, name), counting)
            elif counting.at_most(post.text) > counting.limit:  # else it surely fits
                _verbatim(post.text, "text", "text", name, config)
            for number, part in enumerate(post.thread, start=2):
                if counting.at_most(part) > counting.limit:
                    _verbatim(part, "thread", f"thread part {number}", name, config)
        except DoesNotFit as error:
            error.network = entry(name).label
            raise


def render_post(post: Post, config: Config, network: str | None = None) -> list[Rendered]:
    """Every part of the post as it will be published on ``network`` (the first it goes to
    when None): the first post, then its thread, in that network's template and counting.

    Raises DoesNotFit (naming the network) when a part is too long (a literal ``text`` or a
    thread part is never shortened).
    """
    from bot.formatting import DoesNotFit, render  # noqa: PLC0415
    from bot.networks import counting_of, entry  # noqa: PLC0415

    name = network or (targets(post, config) or list(config.networks))[0]
    try:
        if post.text is not None:
            first = _verbatim(post.text, "text", "text", name, config)
        else:
            counting = counting_of(name, config.paths.state)
            first = render(_fields(post, config), _format_for(config, name), counting)
        thread = [
            _verbatim(part, "thread", f"thread part {number}", name, config)
            for number, part in enumerate(post.thread, start=2)
        ]
    except DoesNotFit as error:
        error.network = entry(name).label
        raise
    return [first, *thread]


def _verbatim(text: str, field: str, what: str, network: str, config: Config) -> Rendered:
    from bot.formatting import DoesNotFit, Rendered  # noqa: PLC0415
    from bot.networks import counting_of  # noqa: PLC0415

    counting = counting_of(network, config.paths.state)
    length, limit = counting.measure(text), counting.limit
    if length > limit:
        raise DoesNotFit(
            field,
            f"{what} is {length}/{limit}; it is sent as written, so cut it by {length - limit}",
        )
    return Rendered(text, length, ())


def load_queue(config: Config) -> Queue:
    """Every post under the queue folder, validated; problems for the files that are not."""
    queue = Queue()
    for _, loaded in _loaded(_post_files(config, queue)[1], config):
        if isinstance(loaded, InvalidFile):
            for problem in loaded.problems:
                queue.add_problem(problem)
        else:
            queue.posts.append(loaded)
    return queue


_BATCH = 250
"""Files read before they are checked. The YAML parser and the checks each run faster over a
batch than taking turns file by file, as each keeps its code and data in the processor's
caches: 10 to 30 per cent off reading 5,000 posts, measured (issue 9). A batch is held in
memory at once."""


def _loaded(
    files: list[_PostFile], config: Config
) -> Iterator[tuple[_PostFile, Post | InvalidFile]]:
    """Each file with its post, or with its problems, in the order of ``files``."""
    from bot.loading import read_yaml_mapping  # noqa: PLC0415

    queue_shown = config.shown(config.paths.queue)
    prefix = "" if queue_shown == "." else queue_shown + "/"  # as config.shown, without Path
    for start in range(0, len(files), _BATCH):
        batch = []
        for file in files[start : start + _BATCH]:
            shown = prefix + file.relative
            try:
                document: YamlMapping | InvalidFile = read_yaml_mapping(
                    file.path, shown, empty_hint=_EMPTY_POST
                )
            except InvalidFile as error:
                document = error
            batch.append((file, shown, document))
        for file, shown, document in batch:
            if isinstance(document, InvalidFile):
                yield file, document
                continue
            try:
                yield file, _validated(document, file.relative, shown, file.post_id, config)
            except InvalidFile as error:
                yield file, error


# --- the queue index -------------------------------------------------------------------------
#
# A cron run must not re-read 5,000 post files to find that nothing is due. The index (kept
# in the ledger) holds each file's validated result under a key made of its size, mtime,
# ctime and inode (ctime changes on every write, whatever a tool does to mtime) and a
# fingerprint of the config and the bot's version. A run stats every file and re-reads only
# those whose key changed. Posts with an image are read every time: the image may change.


class PostIndex(Protocol):
    def indexed_keys(self) -> dict[str, str]: ...
    def index(self, entries: list[IndexEntry], removed: list[str]) -> None: ...
    def indexed_posts(self) -> list[str]: ...
    def indexed_problems(self) -> list[str]: ...


def refresh_index(config: Config, index: PostIndex) -> tuple[str | None, list[Problem]]:
    """Bring the index up to date with the queue folder. Returns the fingerprint of the scan
    it started from (taken before any file was read: bot.start's quiet marker) and the
    problems of the walk itself (links, clashing ids), which are not indexed."""
    from bot.ledger import IndexEntry  # noqa: PLC0415

    walk = Queue()
    config_key = _config_fingerprint(config)
    known = index.indexed_keys()
    seen: set[str] = set()
    entries = []
    scanned, files = _post_files(config, walk)
    changed = []
    for file in files:
        seen.add(file.relative)
        if known.get(file.relative) != f"{stat_key(file.info)}:{config_key}":
            changed.append(file)
    for file, post in _loaded(changed, config):
        relative, post_id = file.relative, file.post_id
        key = f"{stat_key(file.info)}:{config_key}"
        if isinstance(post, InvalidFile):
            problems = [list(astuple(problem)) for problem in post.problems]
            entries.append(IndexEntry(relative, key, post_id, None, json.dumps(problems)))
            continue
        entries.append(
            IndexEntry(
                relative,
                "" if post.image else key,
                post_id,
                _post_to_json(post),
                None,
                post.approved,
                post.publish_at,
                post.expires,
                1 + len(post.thread),
            )
        )
    index.index(entries, [path for path in known if path not in seen])
    return scanned, walk.problems


def indexed_problems(index: PostIndex, walk_problems: list[Problem]) -> Queue:
    """The problems of the queue as the (refreshed) index holds them, without the posts."""
    queue = Queue()
    for found in walk_problems:
        queue.add_problem(found)
    for stored in index.indexed_problems():
        for path, line, message, *about in _stored_problems(stored):
            queue.add_problem(Problem(path, line, message, *about))
    return queue


def _stored_problems(stored: str) -> list[list[Any]]:
    """A file's problems as the index holds them: a list of [path, line, message, field], or
    (as written before a file could have several) one [path, line, message] on its own."""
    problems: list[list[Any]] = json.loads(stored)
    return [problems] if problems and isinstance(problems[0], str) else problems


def indexed_queue(index: PostIndex, walk_problems: list[Problem]) -> Queue:
    """The queue as the (refreshed) index holds it: what load_queue would return."""
    queue = indexed_problems(index, walk_problems)
    # One JSON document for all of them: 5,000 posts decode in a third of the time (issue 9).
    stored = json.loads(f"[{','.join(index.indexed_posts())}]")
    queue.posts = [_post_from_values(values) for values in stored]
    return queue


def _config_fingerprint(config: Config) -> str:
    from bot import __version__  # noqa: PLC0415

    digest = hashlib.sha256(f"{__version__}\0{config.root}\0".encode())
    digest.update(config.file.read_bytes())
    from bot.networks import REGISTRY, counting_of  # noqa: PLC0415

    for name in config.networks:
        if REGISTRY[name].instance_limits:  # a post that fit the old limit may not fit the new
            limit = counting_of(name, config.paths.state).limit
            digest.update(f"\0{name}:{limit}".encode())
    return digest.hexdigest()[:16]


def _post_to_json(post: Post) -> str:
    values = asdict(post)
    for name in ("publish_at", "not_before", "expires"):
        moment = getattr(post, name)
        values[name] = moment.isoformat() if moment else None
    values["image"] = {"path": str(post.image.path), "alt": post.image.alt} if post.image else None
    return json.dumps(values, ensure_ascii=False)


def _post_from_values(values: dict[str, Any]) -> Post:
    for name in ("publish_at", "not_before", "expires"):
        if values[name]:
            values[name] = datetime.fromisoformat(values[name])
    values["hashtags"] = tuple(values["hashtags"])
    values["thread"] = tuple(values["thread"])
    values["networks"] = tuple(values.get("networks", ()))
    image = values["image"]
    values["image"] = Image(Path(image["path"]), image["alt"]) if image else None
    # Validated when it was indexed: filled in directly, skipping the frozen dataclass's
    # __init__, which is most of the cost of 5,000 posts in `status` and `plan` (issue 9).
    if values.keys() != _POST_FIELDS:  # written by another version: the checked way
        return Post(**values)
    post = object.__new__(Post)
    post.__dict__.update(values)
    return post


@dataclass(frozen=True)
class _PostFile:
    post_id: str
    relative: str  # to the queue folder, with "/"
    path: str
    info: os.stat_result


def _post_files(config: Config, queue: Queue) -> tuple[str | None, list[_PostFile]]:
    """The queue scan's fingerprint and each post file, in id order. What the walk could not
    open or follow, links that lead outside the folder, links to folders and ids used twice
    are problems in ``queue``, each on its own: the other files still load. Tools' own files
    (TOOL_FILES: editors' lock files, macOS metadata) are skipped without a word."""
    root = config.paths.queue
    scan = scan_queue(str(root))
    if scan is None:
        queue.add_problem(_queue_folder_problem(root, config))
        return None, []
    for link in scan.folder_links:
        queue.add_problem(
            Problem(
                config.shown(Path(link)),
                None,
                "is a link to a folder, which the queue does not follow; "
                f"move the posts into {_queue_shown(config)}/ itself",
            )
        )
    for entry in scan.unreadable:
        queue.add_problem(_unreadable_problem(entry, config))
    real_root = root.resolve()
    by_id: dict[str, list[_PostFile]] = {}
    for relative, path, info, is_link in scan.files:
        if relative.rpartition("/")[2].startswith(TOOL_FILES):
            continue
        unsafe = _UNSAFE_NAME.search(relative)
        if unsafe:  # the id is the path: preview, plan and log would print it
            queue.add_problem(
                Problem(
                    config.shown(Path(path)),
                    None,
                    f"its name holds U+{ord(unsafe[0]):04X}, a control or bidirectional "
                    "character, which the post's id would carry to the screen; rename the file",
                )
            )
            continue
        if is_link:
            try:
                inside = Path(path).resolve().is_relative_to(real_root)
            except (OSError, RuntimeError) as error:  # changed since the walk
                if not isinstance(error, OSError):  # Python 3.11's word for a loop
                    error = OSError(errno.ELOOP, os.strerror(errno.ELOOP))
                queue.add_problem(_unreadable_problem(Unreadable(path, "link", error), config))
                continue
            if not inside:
                queue.add_problem(
                    Problem(
                        config.shown(Path(path)),
                        None,
                        "is a link that leads outside the queue folder; "
                        f"copy the post into {_queue_shown(config)}/ instead",
                    )
                )
                continue
        post_id = relative.rpartition(".")[0]
        by_id.setdefault(post_id, []).append(_PostFile(post_id, relative, path, info))
    files = []
    for post_id, found in sorted(by_id.items()):
        if len(found) > 1:  # a.yaml and a.yml: which one is meant is not ours to guess
            names = " and ".join(sorted(file.relative.rpartition("/")[2] for file in found))
            for file in sorted(found, key=lambda file: file.relative):
                queue.add_problem(
                    Problem(
                        config.shown(Path(file.path)),
                        None,
                        f"id '{post_id}' is used by both {names}; rename or remove one of them",
                    )
                )
            continue
        files.append(found[0])
    return scan.fingerprint, files


def _queue_folder_problem(root: Path, config: Config) -> Problem:
    """Why the queue folder itself could not be read. Nothing in the queue can load then."""
    shown = config.shown(root)
    # The command to type, for the folder paths.queue names: quoted if the shell needs it,
    # and with -p if the folders around it are missing too.
    mkdir = f"mkdir {'' if root.parent.is_dir() else '-p '}{shlex.quote(shown)}"
    try:
        is_folder = stat.S_ISDIR(root.stat().st_mode)
    except OSError:  # missing, or a link to nothing
        return Problem(shown, None, f"queue folder not found; create it ({mkdir})")
    if not is_folder:
        return Problem(
            shown,
            None,
            f"is a file, not the queue folder; move it aside and create the folder ({mkdir})",
        )
    try:
        os.scandir(root).close()
    except OSError as error:
        return Problem(
            shown,
            None,
            f"the queue folder cannot be read ({error.strerror}); let the bot's user open it "
            f"(chmod a+rx {shlex.quote(shown)})",
        )
    return Problem(
        shown, None, "the queue folder could not be read to the end; check the disk and run again"
    )


def _queue_shown(config: Config) -> str:
    """The queue folder as messages name it: paths.queue, not always queue/."""
    return config.shown(config.paths.queue)


def _unreadable_problem(entry: Unreadable, config: Config) -> Problem:
    """What the walk could not open or follow, with what to do about it."""
    shown = config.shown(Path(entry.path))
    reason = entry.error.strerror or str(entry.error)
    if entry.kind == "folder":
        message = (
            f"is a folder that cannot be read ({reason}), so its posts are skipped; "
            f"let the bot's user open it (chmod a+rx {shlex.quote(shown)}) or move the posts out"
        )
    elif entry.kind == "file":
        message = (
            f"cannot be read ({reason}); let the bot's user read it and open its folder "
            "(chmod a+r on the file, a+rx on the folder)"
        )
    else:
        try:
            target = f" to '{Path(entry.path).readlink()}'"
        except OSError:
            target = ""
        if entry.error.errno == errno.ELOOP:
            message = (
                f"is a link{target} that goes round in a loop and never reaches a file; "
                f"remove it, or point it at a post file in {_queue_shown(config)}/"
            )
        elif entry.error.errno == errno.ENOENT:
            message = (
                f"is a link{target}, which does not exist; remove the link, or restore the "
                "file it points to"
            )
        else:
            message = (
                f"is a link{target} that cannot be followed ({reason}); remove it, or point it "
                f"at a post file in {_queue_shown(config)}/"
            )
    return Problem(shown, None, message)


def load_post(path: Path, post_id: str, config: Config) -> Post:
    """One post file, validated; raises InvalidFile with every problem found, each on its own
    line (a file that cannot be read as YAML at all has just that one)."""
    from bot.loading import read_yaml_mapping  # noqa: PLC0415

    shown = config.shown(path)
    document = read_yaml_mapping(path, shown, empty_hint=_EMPTY_POST)
    try:
        file = path.relative_to(config.paths.queue).as_posix()
    except ValueError:
        file = path.as_posix()
    return _validated(document, file, shown, post_id, config)


_EMPTY_POST = "a post needs at least 'title:' and 'url:' (or 'text:')"


def _validated(document: YamlMapping, file: str, shown: str, post_id: str, config: Config) -> Post:
    reader = _PostReader(document.data, document.line, shown)
    post = reader.post(file, post_id, config)
    if post is None:  # in the order of the file, as an editor reads it
        raise InvalidFile(*sorted(reader.problems, key=lambda problem: problem.line or 0))
    return post


# The fields the template fills in: with a literal ``text`` none of them is published.
_TEMPLATE_FIELDS = ("title", "url", "source", "summary", "hashtags")
# What a post's text is made of: while one of these has a problem, whether it fits is unknown.
_TEXT_FIELDS = (*_TEMPLATE_FIELDS, "text", "thread")


class _PostReader:
    """Reads one post file's fields, collecting every problem rather than stopping at the
    first: an editor fixes a file in one go, not one `check` at a time."""

    def __init__(self, data: dict[str, Any], line: Callable[[str], int | None], shown: str) -> None:
        self.data, self.line, self.shown = data, line, shown
        self.problems: list[Problem] = []
        self.broken: set[str] = set()  # fields with a problem: checks that need them wait

    def problem(self, key: str | None, message: str, *, field: str | None = None) -> None:
        """``key``: the field whose line the problem points at (None: no line)."""
        line = self.line(key) if key else None
        self.problems.append(Problem(self.shown, line, message, field or key))
        if field or key:
            self.broken.add(field or key or "")

    def post(self, file: str, post_id: str, config: Config) -> Post | None:
        """The post, or None when there were problems (in ``problems``)."""
        from bot.formatting import DoesNotFit  # noqa: PLC0415

        self.unknown_fields()
        data = self.data
        text = self.text("text", line_breaks=True) if "text" in data else None
        title, source, summary = self.text("title"), self.text("source"), self.text("summary")
        url = self.text("url")
        url = url.strip() if url is not None else None
        hashtags = self.hashtags()
        self.content(text, title, url)
        thread = self.thread()
        approved, allow_repeat = self.flag("approved"), self.flag("allow_repeat")
        priority = self.priority()
        publish_at, not_before, expires = self.timing(config.timezone)
        image = _image(data.get("image"), config, self.problem)
        networks = self.networks(config)
        if image is not None:
            self.image_fits(image, data["image"]["path"], networks, config)
        post = Post(
            id=post_id,
            file=file,
            title=title or "",
            url=url or "",
            source=source or "",
            summary=summary or "",
            hashtags=hashtags,
            text=text,
            approved=approved,
            publish_at=publish_at,
            not_before=not_before,
            expires=expires,
            priority=priority,
            thread=thread,
            image=image,
            allow_repeat=allow_repeat,
            networks=networks,
        )
        if not self.broken & set(_TEXT_FIELDS):
            try:
                check_post_fits(post, config)
            except DoesNotFit as error:
                self.problem(error.field, f"does not fit on {error.network}: {error}")
        return None if self.problems else post

    def unknown_fields(self) -> None:
        import difflib  # noqa: PLC0415

        for key in self.data:
            if key not in POST_KEYS:
                close = difflib.get_close_matches(key, POST_KEYS, n=1)
                fix = f"did you mean '{close[0]}'?" if close else "remove it (see README: posts)"
                self.problem(key, f"unknown field '{key}'; {fix}")

    def text(self, key: str, *, line_breaks: bool = False) -> str | None:
        """The text of field ``key`` ("" when it is not given), or None after a problem."""
        value = self.data.get(key)
        if value is None:
            return ""
        if not isinstance(value, str):
            self.problem(key, f"{key} must be text, not {value!r}; put it in quotes")
            return None
        message = _text_problem(value, key, line_breaks=line_breaks)
        if message:
            self.problem(key, message)
            return None
        return value

    def content(self, text: str | None, title: str | None, url: str | None) -> None:
        """A post is either a literal ``text`` or a title with a web address, never both."""
        data = self.data
        if "text" in data:
            if text is not None and not text.strip():
                self.problem(
                    "text", "text is empty; write the post there, or use title: and url: instead"
                )
            elif text is not None:
                for key in _TEMPLATE_FIELDS:
                    if key not in self.broken and data.get(key) not in (None, "", []):
                        self.problem(
                            key,
                            f"text and {key} are both given: text is published as written, so "
                            f"{key} would be dropped; remove one",
                        )
        else:
            for key, value in (("title", title), ("url", url)):
                if value is not None and not value.strip():
                    self.problem(
                        key if key in data else None,
                        f"'{key}' is required (or give the whole post as 'text:'); add {key}: ...",
                        field=key,
                    )
        if url and "url" not in self.broken and not _PLAIN_WEB_ADDRESS.match(url):
            from urllib.parse import urlsplit  # noqa: PLC0415

            try:
                parts = urlsplit(url)
            except ValueError as error:  # "https://[e.org/": "Invalid IPv6 URL"
                self.problem(
                    "url",
                    f"url {url!r} is not a web address ({error}); fix the host after https://",
                )
            else:
                if parts.scheme not in ("http", "https") or not parts.netloc or _SPACE.search(url):
                    self.problem(
                        "url", f"url {url!r} is not a web address; it must start with https://"
                    )

    def hashtags(self) -> tuple[str, ...]:
        hashtags = check_hashtags(self.data.get("hashtags"))
        if isinstance(hashtags, str):
            self.problem("hashtags", f"hashtags: {hashtags}")
            return ()
        return hashtags

    def thread(self) -> tuple[str, ...]:
        thread = self.data.get("thread") or []
        if not isinstance(thread, list):
            self.problem("thread", 'thread must be a list of texts, e.g. ["second post", "third"]')
            return ()
        parts = []
        for number, part in enumerate(thread, start=2):  # the post itself is part 1
            what = f"thread part {number}"
            if not isinstance(part, str) or not part.strip():
                self.problem(
                    "thread",
                    f"{what} is {'empty' if isinstance(part, str) or part is None else repr(part)}"
                    '; thread must be a list of texts, e.g. ["second post", "third"]',
                )
                continue
            message = _text_problem(part, what, line_breaks=True)
            if message:
                self.problem("thread", message)
                continue
            parts.append(part)
        return tuple(parts)

    def image_fits(
        self, image: Image, path: str, networks: tuple[str, ...], config: Config
    ) -> None:
        """An image too large for one of the post's networks is named, with that network."""
        from bot.networks import entry, image_limit  # noqa: PLC0415

        try:
            size = image.path.stat().st_size
        except OSError:
            return  # gone since it was checked: the run says so when it sends it
        chosen = [name for name in config.networks if not networks or name in networks]
        for name in chosen:
            limit = image_limit(name)
            if size > limit:
                others = [other for other in chosen if other != name]
                leave_out = f", or leave {entry(name).label} out: networks: [{', '.join(others)}]"
                self.problem(
                    "image",
                    f"image {path!r} is {size:,} bytes; {entry(name).label} takes at most "
                    f"{limit:,}: make it smaller{leave_out if others else ''}",
                    field="image.path",
                )

    def networks(self, config: Config) -> tuple[str, ...]:
        """``networks: [bluesky]``: only these of the configured networks; () = all."""
        value = self.data.get("networks")
        if value is None:
            return ()
        configured = ", ".join(config.networks)
        example = f"e.g. [{next(iter(config.networks))}]"
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value:
            self.problem(
                "networks",
                f"networks must be a list of the configured networks ({configured}), {example}; "
                "remove it to publish on all of them",
            )
            return ()
        chosen: list[str] = []
        for name in value:
            if not isinstance(name, str) or name not in config.networks:
                self.problem(
                    "networks",
                    f"networks: {name!r} is not one of the networks in config/bot.yaml "
                    f"({configured}); use those names, or add it under networks: there",
                )
                return ()
            if name not in chosen:
                chosen.append(name)
        return tuple(chosen)

    def flag(self, key: str) -> bool:
        value = self.data.get(key, False)
        if not isinstance(value, bool):
            self.problem(key, f"{key} must be true or false, not {value!r}")
            return False
        return value

    def priority(self) -> int:
        priority = self.data.get("priority", 0)
        if isinstance(priority, bool) or not isinstance(priority, int):
            self.problem(
                "priority", f"priority must be a whole number like 0 or 5, not {priority!r}"
            )
            return 0
        return priority

    def timing(self, zone: ZoneInfo) -> tuple[datetime | None, datetime | None, datetime | None]:
        """publish_at, not_before and expires, each on its own, then against each other."""

        def moment(key: str, *, day_end: bool = False) -> datetime | None:
            try:
                return _moment(key, self.data.get(key), zone, day_end=day_end)
            except _BadMoment as error:
                self.problem(error.key, str(error))
                return None

        publish_at = moment("publish_at")
        not_before = moment("not_before")
        expires = moment("expires", day_end=True)
        if publish_at and not_before and publish_at < not_before:
            self.problem(
                "publish_at",
                "publish_at is before not_before, so the post could never go out at its time; "
                "move publish_at later or remove not_before",
            )
        earliest = max((moment for moment in (publish_at, not_before) if moment), default=None)
        if expires and earliest and expires <= earliest:
            self.problem(
                "expires", "expires is before the post may go out, so it would never be published"
            )
        return publish_at, not_before, expires


# Any character _text_problem looks at: a field without one (most) is settled by one search.
_SUSPECT = re.compile(f"[{UNSAFE_CHARACTERS}\ufeff\ufffe\uffff]")


def _text_problem(value: str, what: str, *, line_breaks: bool) -> str | None:
    """What is wrong with the text of a field (``what``: its name in the message), or None."""
    if len(value) <= MAX_FIELD_CHARACTERS and _SUSPECT.search(value) is None:
        return None
    from bot.loading import unsafe_character  # noqa: PLC0415
    from bot.networks.x.text import has_invalid_characters  # noqa: PLC0415

    if len(value) > MAX_FIELD_CHARACTERS:
        return f"{what} is {len(value):,} characters; a post is at most 280: shorten it"
    if has_invalid_characters(value):
        return f"{what} holds a character X refuses (U+FFFE, U+FEFF or U+FFFF); remove it"
    # A line break or tab at either end goes when the text is filled in (`summary: >`).
    return unsafe_character(
        value if line_breaks else value.strip(" \t\n"), what, line_breaks=line_breaks
    )


class _BadMoment(ValueError):
    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def _moment(key: str, value: object, zone: ZoneInfo, *, day_end: bool = False) -> datetime | None:
    """A point in time from YAML: a date, a datetime, or ISO 8601 text; without an offset it
    is in the config's time zone. A bare date means the start of that day, or with
    ``day_end`` its end (``expires: 2019-10-27`` lets the post out all that day); publish_at
    needs a time."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if key == "publish_at" and len(text) == 10:
            # A bare date would mean midnight: a post released at 00:00 (issue 8).
            raise _BadMoment(
                "publish_at",
                f"publish_at: {text} has no time; give a time, e.g. {text} 09:00 (or use "
                "not_before: for 'not before that day')",
            )
        try:
            value = _iso_moment(text)
        except ValueError:
            padded = _two_digit_form(text)
            if padded:
                padded_text, parts = padded
                raise _BadMoment(
                    key, f"{key}: {value!r} is not a date: {parts}; write {padded_text}"
                ) from None
            raise _BadMoment(
                key, f"{key}: {value!r} is not a date; write e.g. 2019-10-20 or 2019-10-20 09:00"
            ) from None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=zone)
    if isinstance(value, date):
        day = value + timedelta(days=1) if day_end else value
        return datetime.combine(day, time(), zone)
    raise _BadMoment(key, f"{key} must be a date like 2019-10-20 09:00, not {value!r}")


def _iso_moment(text: str) -> date:
    return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)


_LOOSE_MOMENT = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})(?:([ T])(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?)?(\D.*)?"
)
_MOMENT_PARTS = ("month", "day", "hour", "minute", "second")


def _two_digit_form(text: str) -> tuple[str, str] | None:
    """``2026-12-03 9:00`` written the way ISO 8601 needs it (``2026-12-03 09:00``) and which
    parts took one digit ("the hour takes two digits"), when that is all that is wrong."""
    found = _LOOSE_MOMENT.fullmatch(text)
    if found is None:
        return None
    year, month, day, separator, hour, minute, second, rest = found.groups()
    numbers = (month, day, hour, minute, second)
    short = [
        name for name, part in zip(_MOMENT_PARTS, numbers, strict=True) if part and len(part) == 1
    ]
    if not short:
        return None
    padded = f"{year}-{month:0>2}-{day:0>2}"
    if separator:
        padded += f"{separator}{hour:0>2}:{minute:0>2}" + (f":{second:0>2}" if second else "")
    padded += rest or ""
    try:
        _iso_moment(padded)
    except ValueError:
        return None
    if len(short) == 1:
        return padded, f"the {short[0]} takes two digits"
    return padded, f"the {', '.join(short[:-1])} and {short[-1]} take two digits"


def _image(value: object, config: Config, problem: Callable[..., None]) -> Image | None:
    """The image of a post: inside media/, a real JPEG/PNG/GIF/WEBP of at most 5 MB, with alt
    text (X: alt text at most 1,000 characters). Each problem goes to ``problem``; None then."""
    if value is None:
        return None
    usage = 'write image: {path: media/photo.jpg, alt: "what the picture shows"}'
    if not isinstance(value, dict) or not set(value) <= {"path", "alt"}:
        problem("image", f"image must have just 'path' and 'alt'; {usage}")
        return None
    path, alt = value.get("path"), value.get("alt")
    alt_problem = None
    if not isinstance(alt, str) or not alt.strip():
        alt_problem = (
            "image.alt is missing: describe the picture for people who cannot see it (1 to 1,000 "
            "characters)"
        )
    elif len(alt) > MAX_ALT_TEXT:
        alt_problem = f"image.alt is {len(alt):,} characters; X allows at most 1,000"
    else:
        alt_problem = _text_problem(alt, "image.alt", line_breaks=False)
    if alt_problem:
        problem("image", alt_problem, field="image.alt")
    file = _image_file(path, config, usage)
    if isinstance(file, str):
        problem("image", file, field="image.path")
        return None
    return None if alt_problem or not isinstance(alt, str) else Image(file, alt)


def _image_file(path: object, config: Config, usage: str) -> Path | str:
    """The image file at ``path`` (checked), or what is wrong with it."""
    if not isinstance(path, str) or not path.strip():
        return f"image.path is missing; {usage}"
    from bot.loading import unsafe_character  # noqa: PLC0415

    unsafe = unsafe_character(path, "image.path")
    if unsafe:
        return unsafe
    media = config.paths.media
    file = (config.root / path).resolve()
    if not file.is_relative_to(media):
        return f"image.path {path!r} is outside {config.shown(media)}/; put the image there"
    try:
        size = file.stat().st_size
        with file.open("rb") as handle:
            head = handle.read(16)
    except OSError:
        return f"image.path {path!r} not found; add the file or fix the path"
    if size > MAX_IMAGE_BYTES:
        return (
            f"image {path!r} is {size:,} bytes; X accepts at most {MAX_IMAGE_BYTES:,} (5 MB): "
            "make it smaller (fewer pixels, or a JPEG of lower quality)"
        )
    if image_type(head) is None:
        return (
            f"image {path!r} is not a JPEG, PNG, GIF or WEBP image (judged by its content, not "
            "its name); export it in one of those formats"
        )
    return file


def image_type(head: bytes) -> str | None:
    """The MIME type of a JPEG, PNG, GIF or WEBP image judged by its first bytes, or None."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return next((kind for magic, kind in _IMAGE_SIGNATURES if head.startswith(magic)), None)
