"""Reading the YAML files people write (config/bot.yaml, queue/**/*.yaml), defensively.

Only plain data comes out: mappings, lists, text, numbers, booleans and dates, through
libyaml's safe loader. Whatever else a file holds (invalid YAML, bytes that are not UTF-8,
Python object tags, aliases, a huge or special file) becomes one ``InvalidFile`` problem that
names the file, the line and the fix. Nothing here raises anything else for bad input.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.errors import UNSAFE_CHARACTERS, InvalidFile, Problem

MAX_FILE_BYTES = 1_000_000
"""Post and config files are small; a bigger one is a mistake or an attack (SPEC: over 1 MB)."""

MAX_NESTING = 64
"""Posts and configs nest two or three levels. libyaml's composer recurses once per level and
crashes the interpreter outright somewhere past 20,000 (seen at 50,000 ``[``), so depth is
checked first, on the parser's flat event stream."""

_SAFE_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "seq", "map")
)


def loader_on(base: type[Any]) -> type[Any]:
    """The safe loader ``base`` (libyaml's or the pure-Python one), minus YAML 1.1's base-60
    numbers (``13:00`` stays the text "13:00", not the integer 780) and minus its timestamps:
    dates stay text, for the reader to parse with a message that names the field (PyYAML
    raises a bare ValueError on 2019-13-45)."""
    loader: Any = type("_Loader", (base,), {})
    loader.yaml_implicit_resolvers = {
        first: [
            (tag, regexp)
            for tag, regexp in resolvers
            if ":[0-5]?[0-9]" not in regexp.pattern and tag != "tag:yaml.org,2002:timestamp"
        ]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    loader.add_implicit_resolver(
        "tag:yaml.org,2002:int",
        re.compile(
            r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"
        ),
        list("-+0123456789"),
    )
    loader.add_implicit_resolver(
        "tag:yaml.org,2002:float",
        re.compile(
            r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?"
            r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
        ),
        list("-+0123456789."),
    )
    _fast_resolution(loader)
    return loader  # type: ignore[no-any-return]


def _fast_resolution(loader: Any) -> None:
    """Give ``loader`` a resolver that does what PyYAML's BaseResolver does for a loader
    without path resolvers, without its per-node list building: the composer asks it once per
    node, 90,000 times in a `check` of 5,000 posts (issue 9)."""
    by_first: dict[str | None, list[tuple[str, re.Pattern[str]]]] = loader.yaml_implicit_resolvers
    anywhere = by_first.get(None, [])
    resolvers = {first: (*found, *anywhere) for first, found in by_first.items() if first}
    resolvers[""] = (*by_first.get("", []), *anywhere)
    otherwise = tuple(anywhere)
    scalar, sequence = yaml.ScalarNode, yaml.SequenceNode

    def resolve(_self: Any, kind: type, value: Any, implicit: Any) -> str:
        if kind is scalar:
            if implicit[0]:  # a plain scalar: "true", "12" and "~" are not text
                for tag, pattern in resolvers.get(value[:1], otherwise):
                    if pattern.match(value):
                        return tag
            return _STR
        return _SEQ if kind is sequence else _MAP

    def no_path_resolvers(_self: Any, *_args: object) -> None:
        return None

    loader.resolve = resolve
    loader.descend_resolver = loader.ascend_resolver = no_path_resolvers


_STR, _SEQ, _MAP = (f"tag:yaml.org,2002:{name}" for name in ("str", "seq", "map"))
_Loader = loader_on(getattr(yaml, "CSafeLoader", yaml.SafeLoader))


@dataclass(frozen=True)
class YamlMapping:
    """A YAML file whose top level is a mapping with text keys."""

    data: dict[str, Any]
    lines: dict[str, int]  # dotted key ("schedule.slots.daily") -> its 1-based line

    def line(self, key: str) -> int | None:
        """The line of ``key``, or of the nearest enclosing key that has one."""
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key.rpartition(".")[0]
        return None


def read_yaml_mapping(path: Path | str, shown_as: str, *, empty_hint: str) -> YamlMapping:
    """Read ``path`` (named ``shown_as`` in messages) as a YAML mapping, or raise InvalidFile."""

    def fail(message: str, line: int | None = None) -> InvalidFile:
        return InvalidFile(Problem(shown_as, line, message))

    try:
        info = os.stat(path)  # noqa: PTH116 - the queue walk's paths are text: no Path per file
        if not stat.S_ISREG(info.st_mode):
            raise fail("is not a regular file; post and config files must be plain files")
        if info.st_size > MAX_FILE_BYTES:
            raise fail(
                f"is {info.st_size:,} bytes; the limit is {MAX_FILE_BYTES:,} (1 MB): "
                "keep one short post per file"
            )
        with open(path, "rb") as handle:  # noqa: PTH123 - pathlib's open costs 2 µs a file
            # Its size and one byte more, to see it grew: asking for 1 MB would allocate 1 MB
            # for every post (a third of `check`'s time on 5,000 files, issue 9).
            raw = handle.read(min(info.st_size, MAX_FILE_BYTES) + 1)
            if len(raw) > info.st_size:  # it grew since stat(): read on, up to the limit
                raw += handle.read(MAX_FILE_BYTES + 1 - len(raw))
    except OSError as error:
        raise fail(
            f"cannot be read ({error.strerror}); check that it exists and is readable"
        ) from None
    if len(raw) > MAX_FILE_BYTES:  # grew after stat()
        raise fail(f"is over {MAX_FILE_BYTES:,} bytes (1 MB); keep one short post per file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise fail(
            f"is not UTF-8 text (byte 0x{raw[error.start]:02x} cannot be decoded); "
            "save the file as UTF-8",
            line,
        ) from None

    # Each level of nesting takes a bracket or a line, so most files need no depth check.
    if text.count("[") + text.count("{") + text.count("\n") + text.count("- ") > MAX_NESTING:
        _check_depth(text, fail)
    lines: dict[str, int] = {}
    loader = None
    try:
        # Inside the try: PyYAML's pure-Python reader checks every character as it is made,
        # where libyaml's checks them only while parsing (a NUL was a traceback without libyaml).
        loader = _Loader(text)
        node = loader.get_single_node()
        if node is None:
            raise fail(f"is empty; {empty_hint}")
        data = _Document(fail, lines, anchors="&" in text).build(node, "")
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        what = error.problem or error.context or "invalid YAML"
        raise fail(
            f"invalid YAML: {what}; fix the syntax (put text containing ': ' or "
            "starting with a special character in quotes)",
            mark.line + 1 if mark else None,
        ) from None
    except yaml.reader.ReaderError as error:
        raise fail(
            f"holds the control character U+{error.character:04X}, which YAML does not allow; "
            "remove it",
            text[: error.position].count("\n") + 1,
        ) from None
    except yaml.YAMLError as error:
        raise fail(f"invalid YAML: {error}; fix the syntax") from None
    finally:
        if loader is not None:
            loader.dispose()

    if not isinstance(data, dict):
        raise fail(
            f"must be a mapping of fields (like 'title: ...'), not {_kind(data)}; {empty_hint}",
            node.start_mark.line + 1,
        )
    return YamlMapping(data, lines)


_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_SCALARS = {
    "tag:yaml.org,2002:int": _CONSTRUCTOR.construct_yaml_int,
    "tag:yaml.org,2002:float": _CONSTRUCTOR.construct_yaml_float,
    "tag:yaml.org,2002:bool": _CONSTRUCTOR.construct_yaml_bool,
    "tag:yaml.org,2002:null": _CONSTRUCTOR.construct_yaml_null,
}


_SCALAR, _SEQUENCE = yaml.ScalarNode, yaml.SequenceNode
_NODE_KINDS = {_SCALAR: "value", _SEQUENCE: "list", yaml.MappingNode: "mapping"}


def _abridged(value: str, limit: int = 40) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


class _Document:
    """Plain data from a composed YAML document, in one walk: it refuses aliases (the "billion
    laughs" bomb is made of them) and non-data tags, and notes the line of each field. It does
    for these seven tags what PyYAML's SafeConstructor does, at a third of its cost (issue 9:
    5,000 posts in `check`, 18 nodes each)."""

    def __init__(self, fail: Any, lines: dict[str, int], *, anchors: bool) -> None:
        """``anchors``: the text may hold one. Without an anchor (``&name``) there is no alias
        either, so no node needs to be remembered."""
        self.fail, self.lines, self.anchors = fail, lines, anchors
        self.seen: set[int] = set()

    def build(self, node: yaml.Node, fields: str | None) -> Any:
        """``fields``: the dotted prefix of a mapping whose keys are fields with lines (the
        document's, and those nested in them), None for one inside a list."""
        if self.anchors:
            if id(node) in self.seen:
                raise self.fail(
                    "uses a YAML alias (*name); aliases are not allowed here: write the value out",
                    node.start_mark.line + 1,
                )
            self.seen.add(id(node))
        kind, tag = type(node), node.tag
        if kind is _SCALAR:
            if tag == _STR:
                return node.value
            if tag in _SCALARS:
                return self.scalar(tag, node)
        elif kind is _SEQUENCE:
            if tag == _SEQ:
                if fields is None:
                    return [self.build(item, None) for item in node.value]
                return self.sequence(node, fields)
        elif tag == _MAP:
            return self.mapping(node, fields)
        if tag not in _SAFE_TAGS:
            raise self.fail(
                f"uses the YAML tag {tag!r}; only plain text, numbers, true/false, dates, "
                "lists and mappings are allowed",
                node.start_mark.line + 1,
            )
        raise self.fail(  # "!!str [a]", "!!map text"
            f"invalid YAML: the tag {tag.replace('tag:yaml.org,2002:', '!!')} does not go with a "
            f"{_NODE_KINDS[kind]}; remove the tag",
            node.start_mark.line + 1,
        )

    def sequence(self, node: yaml.Node, fields: str) -> list[Any]:
        """A field's list: each item that is a mapping has its line (``feeds.0``), so that a
        message about it points at the item rather than at the list."""
        for number, item in enumerate(node.value):
            if type(item) is yaml.MappingNode:
                self.lines[f"{fields}{number}"] = item.start_mark.line + 1
        return [self.build(item, None) for item in node.value]

    def mapping(self, node: yaml.Node, fields: str | None) -> dict[Any, Any]:
        mapping: dict[Any, Any] = {}
        lines, plain = self.lines, not self.anchors
        for key_node, value_node in node.value:
            # Text, the common case, without a call (posts have 18 nodes; this is their walk).
            if plain and key_node.tag == _STR and type(key_node) is _SCALAR:
                key = key_node.value
            else:
                key = self.build(key_node, None)
            nested = None
            if fields is not None:
                line = key_node.start_mark.line + 1
                if key_node.tag != _STR:
                    name = (
                        f"field name {key_node.value!r} is"
                        if type(key_node) is _SCALAR
                        else f"a {_NODE_KINDS[type(key_node)]} as a field name is"
                    )
                    raise self.fail(f"{name} not a name; field names are words like 'title'", line)
                dotted = fields + key
                if dotted in lines:
                    raise self.fail(
                        f"field '{dotted}' is written twice (lines {lines[dotted]} and {line}); "
                        "keep one",
                        line,
                    )
                lines[dotted] = line
                nested = dotted + "."
            if plain and value_node.tag == _STR and type(value_node) is _SCALAR:
                value = value_node.value
            else:
                value = self.build(value_node, nested)
            try:
                mapping[key] = value
            except TypeError:  # a list or mapping as a key: as SafeConstructor says it
                raise self.fail(
                    "invalid YAML: found unhashable key; fix the syntax (put text containing "
                    "': ' or starting with a special character in quotes)",
                    key_node.start_mark.line + 1,
                ) from None
        return mapping

    def scalar(self, tag: str, node: yaml.Node) -> Any:
        try:
            return _SCALARS[tag](node)  # type: ignore[arg-type]
        except (ValueError, OverflowError, KeyError):  # KeyError: "!!bool maybe"
            raise self.fail(
                f"holds a value YAML cannot read ({_abridged(node.value)!r} is not "
                f"{tag.replace('tag:yaml.org,2002:', '!!')}); put it in quotes",
                node.start_mark.line + 1,
            ) from None


def _check_depth(text: str, fail: Any) -> None:
    def too_deep(mark: Any) -> InvalidFile:
        error: InvalidFile = fail(
            f"is nested more than {MAX_NESTING} levels deep; a post or config has two or three",
            mark.line + 1 if mark else None,
        )
        return error

    depth = 0
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_NESTING:
                    raise too_deep(event.start_mark)
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.MarkedYAMLError as error:
        # Newer libyaml (0.2.6, in PyYAML 6.0.4's wheels) has a nesting limit of its own, far
        # above ours (1000). Its scanner can reach it before this walk sees those levels:
        # looking for a "key:", it reads ahead along the line (up to 1,024 characters), and
        # "[[[[..." opens a level at each one. Past its limit is past ours.
        if "nesting" in f"{error.problem} {error.context}".lower():
            raise too_deep(error.problem_mark) from None
    except RecursionError:
        # The pure-Python parser (PyYAML without libyaml) recurses once per block level.
        raise too_deep(None) from None
    except yaml.YAMLError:
        return  # read_yaml_mapping reports the syntax error with its line


# C0 and C1 controls (a YAML escape such as "\x1b", "\0" or "\x9b" writes one) and the
# bidirectional embeddings, overrides and isolates, which make text display in another order
# than it is written (U+202E turns "gnp.exe" round). The marks U+200E, U+200F and U+061C and
# the joiners U+200C, U+200D stay: Persian and Arabic need them.
_UNSAFE = re.compile(f"[{UNSAFE_CHARACTERS}]")
_UNSAFE_IN_LINES = re.compile(f"(?![\t\n])[{UNSAFE_CHARACTERS}]")
_CONTROL_NAMES = {
    0x00: "NUL",
    0x09: "tab",
    0x0A: "line break",
    0x0D: "carriage return",
    0x1B: "escape",
    0x7F: "delete",
    0x85: "next line",
}


class _DraftDumper(yaml.SafeDumper):
    """Long text as a folded block (``summary: >-``), which an editor edits as prose: no quotes
    to balance, no apostrophe to double. It reads back exactly, whitespace being single."""


def _text(dumper: yaml.SafeDumper, text: str) -> yaml.Node:
    style = ">" if len(text) > 80 and "\n" not in text and "  " not in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_DraftDumper.add_representer(str, _text)


def dump_yaml_mapping(data: dict[str, Any]) -> str:
    """``data`` (text, booleans) as a YAML mapping a person edits: keys in the given order,
    Unicode as written, long text folded at about 90 columns (it reads back the same)."""
    text: str = yaml.dump(
        data,
        Dumper=_DraftDumper,
        sort_keys=False,
        allow_unicode=True,
        width=90,
        default_flow_style=False,
    )
    return text


def unsafe_character(text: str, what: str, *, line_breaks: bool = False) -> str | None:
    """What is wrong with the first control or bidirectional formatting character in ``text``
    (named ``what`` in the message), or None. ``line_breaks``: tabs and line breaks are
    allowed (a literal ``text`` or a thread part)."""
    found = (_UNSAFE_IN_LINES if line_breaks else _UNSAFE).search(text)
    if found is None:
        return None
    code = ord(found[0])
    if code >= 0x202A:
        import unicodedata  # noqa: PLC0415

        return (
            f"{what} holds U+{code:04X} ({unicodedata.name(found[0])}), a bidirectional control "
            "that makes text display in another order than it is written; remove it "
            "(Persian, Arabic and Hebrew display correctly without it)"
        )
    name = _CONTROL_NAMES.get(code)
    shown = f"U+{code:04X} ({name})" if name else f"U+{code:04X}"
    if code in (0x09, 0x0A):
        return (
            f"{what} holds {shown}; it is one line of text, so remove it (only text: and "
            "thread: may have line breaks and tabs)"
        )
    return (
        f"{what} holds {shown}, a control character, which a post must not carry (a YAML "
        'escape such as "\\x1b" or "\\0" writes one); remove it'
    )


def _kind(value: object) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a line of text"
    return f"a single value ({value!r})"
