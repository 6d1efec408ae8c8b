"""Round-trip YAML plumbing for the studio's form edits: load a workflow's text with
ruamel.yaml, change nodes in place and write the text back with its comments, key order,
quoting, anchors and layout kept."""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterable, Iterator
from typing import Any

import yaml as pyyaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, merge_attrib
from ruamel.yaml.error import CommentMark, YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString
from ruamel.yaml.tokens import CommentToken

from engine.errors import InvalidData
from engine.language.source import YamlSourceError, load_yaml
from engine.text import Label

Node = CommentedMap | CommentedSeq
Scalar = str | int | float | bool
#: Where a map keeps the comment after a value's line, and where a sequence does.
_MAP_EOL, _SEQ_EOL = 2, 0


class Document:
    """A workflow's YAML text loaded for editing; :meth:`dump` writes it back."""

    def __init__(self, text: str) -> None:
        self._yaml = YAML(typ="rt")
        self._yaml.preserve_quotes = True
        self._yaml.width = 4096  # never fold: long labels and expressions stay on one line
        self._yaml.indent(*guess_indent(text))
        self._yaml.explicit_start = _first_content_line(text) == "---"
        try:  # the validator's bounds first (node count, depth, alias cycles): ruamel has none
            load_yaml(text, "<draft>")
        except YamlSourceError as exc:
            problem = exc.problem
            raise InvalidData(
                Label(
                    id=f"baris {problem.line}, kolom {problem.col}: {problem.message}",
                    en=f"{problem.line}:{problem.col}: {problem.message}",
                ),
                {"line": problem.line, "col": problem.col},
            ) from exc
        try:
            root = self._yaml.load(text)
        except YAMLError as exc:
            raise _syntax_error(exc) from exc
        if not isinstance(root, CommentedMap):
            raise InvalidData(
                Label(
                    id="bukan alur kerja: tingkat teratasnya harus berupa pemetaan",
                    en="not a workflow definition: the top level must be a mapping",
                )
            )
        for node in walk(root):
            # ruamel drops an anchor nothing refers to; the text had it, so keep it
            if node.anchor.value:
                node.yaml_set_anchor(node.anchor.value, always_dump=True)
        self.root = root

    def dump(self) -> str:
        """The document as YAML text."""
        out = io.StringIO()
        self._yaml.dump(self.root, out)
        return out.getvalue()


def guess_indent(text: str) -> tuple[int, int, int]:
    """The (mapping, sequence, offset) indentation the text uses; the workflows' 2, 4, 2 by
    default. ``sequence`` counts from the parent key to an item's content, ``offset`` to
    its dash."""
    mapping: int | None = None
    sequence: int | None = None
    offset: int | None = None
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    for parent, child in itertools.pairwise(lines):
        if not parent.rstrip().endswith(":"):
            continue
        stripped = parent.lstrip()
        base = len(parent) - len(stripped) + (2 if stripped.startswith("- ") else 0)
        column = len(child) - len(child.lstrip())
        if child.lstrip().startswith("- ") and offset is None:
            offset = column - base
            sequence = column + 1 + len(child[column + 1 :]) - len(child[column + 1 :].lstrip())
            sequence -= base
        elif not child.lstrip().startswith("- ") and mapping is None and column > base:
            mapping = column - base
    return (
        mapping or 2,
        sequence if sequence is not None and sequence > 0 else 4,
        offset if offset is not None and offset >= 0 else 2,
    )


def _first_content_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            return line.rstrip()
    return ""


def _syntax_error(exc: YAMLError) -> InvalidData:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None) or str(exc)
    if mark is None:
        return InvalidData(
            Label(id=f"bukan YAML yang sah: {problem}", en=f"not valid YAML: {problem}")
        )
    line, col = mark.line + 1, mark.column + 1
    return InvalidData(
        Label(
            id=f"baris {line}, kolom {col}: bukan YAML yang sah: {problem}",
            en=f"{line}:{col}: not valid YAML: {problem}",
        ),
        {"line": line, "col": col},
    )


# --------------------------------------------------------------------------- reading


def walk(node: Any) -> Iterator[Node]:
    """Every collection under ``node`` (itself included) once, in document order; merged
    keys (``<<``) are not visited again."""
    seen: set[int] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if not isinstance(current, CommentedMap | CommentedSeq) or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        stack.extend(reversed([value for _, value in own_items(current)]))


def own_items(node: Node) -> Iterator[tuple[Any, Any]]:
    """The entries written in ``node`` itself: (key, value) or (index, item)."""
    if isinstance(node, CommentedMap):
        yield from node.non_merged_items()
    else:
        yield from enumerate(node)


def own_keys(mapping: CommentedMap) -> list[Any]:
    return [key for key, _ in mapping.non_merged_items()]


def is_block(node: Any) -> bool:
    """``node`` is a non-empty collection written in block style (one entry per line)."""
    return isinstance(node, CommentedMap | CommentedSeq) and bool(node) and not node.fa.flow_style()


def as_list(value: Any) -> list[Any]:
    """A YAML value that may be one item or a list of them, as a list."""
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


# --------------------------------------------------------------------------- building


def quoted(value: str) -> DoubleQuotedScalarString:
    """Text shown to people (labels, messages, expressions), double-quoted as the files do."""
    return DoubleQuotedScalarString(value)


def scalar(value: Scalar) -> Scalar:
    """A value written plain when YAML reads the plain form back as the same text (in YAML
    1.1, which the engine's loader speaks, and inside flow collections), else quoted."""
    if not isinstance(value, str) or isinstance(value, DoubleQuotedScalarString):
        return value
    try:
        plain = pyyaml.safe_load(value) == value and pyyaml.safe_load(f"[{value}]") == [value]
    except pyyaml.YAMLError:
        plain = False
    return value if plain and value.strip() == value else quoted(value)


def flow_seq(items: Iterable[Any]) -> CommentedSeq:
    seq = CommentedSeq(items)
    seq.fa.set_flow_style()
    return seq


def flow_map(pairs: Iterable[tuple[Any, Any]]) -> CommentedMap:
    mapping = CommentedMap(pairs)
    mapping.fa.set_flow_style()
    return mapping


def block_map(pairs: Iterable[tuple[Any, Any]]) -> CommentedMap:
    mapping = CommentedMap(pairs)
    mapping.fa.set_block_style()
    return mapping


def detached(value: Any, _open: frozenset[int] = frozenset()) -> Any:
    """A deep copy of ``value`` with its style but without anchors, aliases or comments,
    merged keys written out; for giving one place its own copy of a shared part."""
    if not isinstance(value, CommentedMap | CommentedSeq):
        return value
    if id(value) in _open:
        raise InvalidData(
            Label(
                id="sebuah alias merujuk ke bagian yang memuat alias itu sendiri",
                en="an alias refers to a part that contains it",
            )
        )
    inner = _open | {id(value)}
    copy: Node
    if isinstance(value, CommentedMap):
        copy = CommentedMap((key, detached(item, inner)) for key, item in value.items())
    else:
        copy = CommentedSeq(detached(item, inner) for item in value)
    if value.fa.flow_style():
        copy.fa.set_flow_style()
    else:
        copy.fa.set_block_style()
    return copy


# --------------------------------------------------------------------------- changing


def set_key(mapping: CommentedMap, key: str, value: Any, *, after: Iterable[str] = ()) -> None:
    """Set ``mapping[key]`` to ``value``. An existing key keeps its place and its line's
    comment; a new one goes after the last of ``after`` present, else at the end."""
    keep_merged_copies(mapping, key)
    keys = own_keys(mapping)
    if key in keys:
        mapping[key] = value
        return
    wanted = set(after)
    places = [index for index, name in enumerate(keys) if name in wanted]
    if places and places[-1] < len(keys) - 1:
        mapping.insert(places[-1] + 1, key, value)
        return
    mapping[key] = value
    if keys and is_block(mapping):
        _put_following(mapping, key, _take_following(mapping, keys[-1]))


def delete_key(mapping: CommentedMap, key: str) -> None:
    """Remove ``key``; the blank and comment lines that followed it stay in the text."""
    keys = own_keys(mapping)
    if key not in keys:
        raise InvalidData(
            Label(
                id=f"'{key}' berasal dari penggabungan YAML (<<); ubahlah di tempat ia ditulis",
                en=f"'{key}' comes from a YAML merge (<<); change it where it is written",
            )
            if key in mapping
            else Label(id=f"tidak ada kunci '{key}'", en=f"no key '{key}'")
        )
    keep_merged_copies(mapping, key)
    following = _take_following(mapping, key) if is_block(mapping) else ""
    referers, mapping._ref = mapping._ref, []  # ruamel 0.19 fails to update them on delete
    try:
        del mapping[key]
    finally:
        mapping._ref = referers
    position = keys.index(key)
    neighbours = keys[position - 1 : position] or keys[position + 1 : position + 2]
    if neighbours:
        _put_following(mapping, neighbours[0], following)


def insert_item(seq: CommentedSeq, index: int, item: Any) -> None:
    """Insert ``item`` at ``index``: the lines that followed the item before it now follow
    the new one, and a blank line separates it when one separates its neighbours."""
    seq.insert(index, item)
    if index == 0 or not is_block(seq):
        return
    _put_following(seq, index, _take_following(seq, index - 1))
    if _blank_before(seq, index - 1) or _blank_before(seq, index + 1):
        seq.ca.items.setdefault(index, [None, None, None, None])[1] = [_token("\n")]


def delete_item(seq: CommentedSeq, index: int) -> None:
    """Remove ``seq[index]``; the comment lines after it stay, after the item before it,
    and the items around it stay separated as they were (by one blank line at most)."""
    following = _take_following(seq, index) if is_block(seq) else ""
    del seq[index]
    if index == 0:
        return
    before = _take_following(seq, index - 1)
    if _ends_blank(before):
        following = "".join(ln for ln in following.splitlines(keepends=True) if ln.strip())
    before += following
    if _ends_blank(before) and _blank_before(seq, index):
        seq.ca.items[index][1] = None
    _put_following(seq, index - 1, before)


def _blank_before(seq: CommentedSeq, index: int) -> bool:
    """A blank line (and nothing else) comes before ``seq[index]``."""
    entry = seq.ca.items.get(index)
    lines: list[Any] = (entry[1] if entry and len(entry) > 1 else None) or []
    return bool(lines) and all(not token.value.strip() for token in lines)


def _ends_blank(lines: str) -> bool:
    return lines.endswith("\n") and not lines.rstrip("\n").split("\n")[-1].strip()


def private(root: CommentedMap, container: Node, key: Any) -> Any:
    """``container[key]`` made safe to change in place: a part repeated elsewhere (an
    ``*alias`` or a ``<<`` merge) keeps its old content there, written out in full."""
    value = container[key]
    if not isinstance(value, CommentedMap | CommentedSeq):
        return value
    if isinstance(container, CommentedMap):
        keep_merged_copies(container, key)
        if key not in own_keys(container):  # inherited through <<: write our own copy
            set_key(container, key, detached(value))
            return container[key]
    places = [
        (node, name) for node in walk(root) for name, item in own_items(node) if item is value
    ]
    if len(places) <= 1:
        return value
    if places[0][0] is container and places[0][1] == key:  # this is where it is written
        for node, name in places[1:]:
            node[name] = detached(value)
        return value
    container[key] = detached(value)
    return container[key]


def keep_merged_copies(mapping: CommentedMap, key: Any) -> None:
    """Before ``mapping[key]`` changes: the maps that merge ``mapping`` (``<<: *it``) and
    inherit ``key`` get their own copy of the current value, so they stay as they are."""
    for referer in list(mapping._ref):
        if key in mapping and key not in own_keys(referer):
            set_key(referer, key, detached(mapping[key]))


def unmerge(mapping: CommentedMap, source: CommentedMap, *, reuse: bool = False) -> None:
    """Write out what ``mapping`` inherits from ``source`` (``<<: *source``) and drop the
    merge, so that ``source`` can be removed; ``reuse`` moves source's values instead of
    copying them (for the one map that takes over from a removed source)."""
    if len(getattr(mapping, merge_attrib, ())) != 1:
        raise InvalidData(
            Label(
                id="pemetaan yang menggabungkan beberapa pemetaan lain (<<: [...]) tidak dapat "
                "disunting",
                en="a mapping that merges several others (<<: [...]) cannot be edited",
            )
        )
    own = dict(mapping.non_merged_items())
    following = _take_following(mapping, list(own)[-1]) if own and is_block(mapping) else ""
    entries = [
        (k, own.pop(k) if k in own else (v if reuse else detached(v))) for k, v in source.items()
    ]
    entries += list(own.items())
    delattr(mapping, merge_attrib)
    source._ref = [referer for referer in source._ref if referer is not mapping]
    CommentedMap.clear(mapping)
    mapping._ok = set()
    for name, value in entries:
        mapping[name] = value
    if entries:
        _put_following(mapping, entries[-1][0], following)


# --------------------------------------------------------------------------- comments


def _token(value: str) -> CommentToken:
    return CommentToken(value, CommentMark(0), None)


def _last_key(node: Any) -> Any:
    """The key (or index) of the last entry written in a block collection, else None."""
    if not is_block(node):
        return None
    keys = own_keys(node) if isinstance(node, CommentedMap) else list(range(len(node)))
    return keys[-1] if keys else None


def _take_following(container: Node, key: Any) -> str:
    """Remove and return the lines (blank or comment) that follow ``container[key]``'s
    text; a comment on its own last line stays."""
    value = container[key]
    last = _last_key(value)
    if last is not None:
        following = _take_following(value, last)
        end = getattr(value.ca, "end", None)
        if end:
            following += "".join(token.value for token in end)
            value.ca.end = []
        return following
    entry = container.ca.items.get(key)
    slot = _MAP_EOL if isinstance(container, CommentedMap) else _SEQ_EOL
    if entry is None or entry[slot] is None:
        return ""
    head, newline, rest = entry[slot].value.partition("\n")
    entry[slot].value = head + newline
    return rest


def _put_following(container: Node, key: Any, lines: str) -> None:
    """Write ``lines`` (blank or comment lines) after ``container[key]``'s text."""
    if not lines:
        return
    last = _last_key(container[key])
    if last is not None:
        _put_following(container[key], last, lines)
        return
    entry = container.ca.items.setdefault(key, [None, None, None, None])
    slot = _MAP_EOL if isinstance(container, CommentedMap) else _SEQ_EOL
    if entry[slot] is None:
        entry[slot] = _token("\n" + lines)
    else:
        entry[slot].value += lines
