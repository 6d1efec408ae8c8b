"""Line-aware YAML loading: plain Python data plus the source position of every node.

PyYAML's composer keeps a mark on each node; we construct plain data from the node graph
ourselves so every value (and every mapping key) can be traced back to ``line:col``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from engine.errors import Problem

Path = tuple[str | int, ...]

#: A definition never needs more nodes than this; stops alias bombs ("billion laughs").
MAX_NODES = 50_000
#: Nor deeper nesting than this; PyYAML's composer and our builder recurse once per level.
MAX_DEPTH = 64
_TOO_DEEP = f"document nested too deeply (more than {MAX_DEPTH} levels)"


@dataclass
class Positions:
    """Source positions (1-based line and column) of values and mapping keys by data path."""

    source: str
    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)
    #: Block scalars (``|`` and ``>``): the line their text starts on and its indentation
    #: (1-based column), so that a position inside the text (a template's line) is found.
    blocks: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def forget(self, path: Path) -> None:
        """Drop the positions of ``path`` and everything below it."""
        for store in (self.values, self.keys, self.blocks):
            for known in [p for p in store if p[: len(path)] == path]:
                del store[known]

    def of(self, path: Path) -> tuple[int, int]:
        """Position of the value at ``path``, or of its nearest ancestor that has one."""
        for prefix in _prefixes(path):
            if prefix in self.values:
                return self.values[prefix]
        return (1, 1)

    def inside(self, path: Path, line: int) -> tuple[int, int]:
        """Where line ``line`` (1-based) of the text at ``path`` is: in a block scalar, that
        line of the block; in any other scalar (one line), the value itself."""
        block = self.blocks.get(path)
        if block is None:
            return self.of(path)
        first, indent = block
        return first + max(line, 1) - 1, indent

    def of_key(self, path: Path) -> tuple[int, int]:
        """Position of the mapping key whose value is at ``path`` (falls back to the value)."""
        return self.keys.get(path) or self.of(path)

    def problem(self, path: Path, message: str, *, at_key: bool = False) -> Problem:
        line, col = self.of_key(path) if at_key else self.of(path)
        return Problem(self.source, line, col, message)


def _prefixes(path: Path) -> Iterator[Path]:
    for end in range(len(path), -1, -1):
        yield path[:end]


class YamlSourceError(Exception):
    """The text is not a single well-formed YAML document; carries the problem."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


#: PyYAML's safe loader on libyaml, or None where PyYAML was built without it.
_LibyamlLoader: type[yaml.CSafeLoader] | None = getattr(yaml, "CSafeLoader", None)


class _Loader(yaml.SafeLoader):
    """A safe loader whose composer refuses nesting deeper than :data:`MAX_DEPTH`."""

    def __init__(self, text: str, source: str) -> None:
        super().__init__(text)
        self.source = source
        self.depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.depth >= MAX_DEPTH:
            mark = self.peek_event().start_mark
            raise YamlSourceError(Problem(self.source, mark.line + 1, mark.column + 1, _TOO_DEEP))
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def load_yaml(text: str, source: str, *, read_before: bool = False) -> tuple[Any, Positions]:
    """Parse ``text`` into plain data and positions; raise :class:`YamlSourceError` if bad.

    ``read_before``: the text passed here once already (a stored definition version), so it
    is read with libyaml, PyYAML's C parser, where installed: ~6x faster, the same data and
    positions. Whatever libyaml refuses is read again the usual way, which says what and
    where exactly as for any text.
    """
    libyaml = _LibyamlLoader if read_before else None
    if libyaml is not None:
        try:
            return _load_with_libyaml(libyaml, text, source)
        except (yaml.YAMLError, YamlSourceError, ValueError):  # ValueError: not UTF-8-able
            pass
    positions = Positions(source)
    try:
        loader = _Loader(text, source)
    except yaml.reader.ReaderError as exc:
        line, col = _line_col(text, exc.position)
        raise YamlSourceError(
            Problem(
                source,
                line,
                col,
                f"YAML syntax error: character #x{exc.character:04x} is not allowed",
            )
        ) from exc
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        reason = exc.problem or exc.context or "malformed YAML"
        if reason == "but found another document":
            reason = "a second YAML document starts here (one workflow per file)"
        raise YamlSourceError(Problem(source, line, col, f"YAML syntax error: {reason}")) from exc
    except yaml.YAMLError as exc:
        raise YamlSourceError(Problem(source, 1, 1, f"YAML syntax error: {exc}")) from exc
    finally:
        loader.dispose()
    return _built(loader, node, positions, text)


def _load_with_libyaml(
    libyaml: type[yaml.CSafeLoader], text: str, source: str
) -> tuple[Any, Positions]:
    # libyaml composes the whole document itself (and stops at 1000 levels); the builder
    # still refuses more than MAX_DEPTH, and any refusal sends the text to the usual reader
    loader = libyaml(text)
    try:
        node = loader.get_single_node()
    finally:
        loader.dispose()
    return _built(loader, node, Positions(source), text)


def _built(
    loader: yaml.SafeLoader | yaml.CSafeLoader,
    node: yaml.Node | None,
    positions: Positions,
    text: str,
) -> tuple[Any, Positions]:
    """The plain data of the document ``loader`` composed into ``node`` (``None``: an empty
    document), with where each of its nodes is."""
    if node is None:
        return None, positions
    return _Builder(loader, positions, text).build(node, ()), positions


def _line_col(text: str, position: int) -> tuple[int, int]:
    before = text[:position]
    return before.count("\n") + 1, position - (before.rfind("\n") + 1) + 1


class _Builder:
    def __init__(
        self, loader: yaml.SafeLoader | yaml.CSafeLoader, positions: Positions, text: str
    ) -> None:
        self.loader = loader
        self.positions = positions
        self.lines = text.splitlines()
        self.count = 0
        #: Collection nodes being built right now: meeting one again means an alias cycle.
        self.open: set[int] = set()

    def _problem(self, node: yaml.Node, message: str) -> YamlSourceError:
        mark = node.start_mark
        return YamlSourceError(
            Problem(self.positions.source, mark.line + 1, mark.column + 1, message)
        )

    def build(self, node: yaml.Node, path: Path) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise self._problem(node, f"document too large (more than {MAX_NODES} nodes)")
        if id(node) in self.open:
            raise self._problem(node, "YAML error: an alias refers to a node that contains it")
        if len(path) > MAX_DEPTH:  # aliases can nest deeper than the text itself
            raise self._problem(node, _TOO_DEEP)
        self.positions.values.setdefault(
            path, (node.start_mark.line + 1, node.start_mark.column + 1)
        )
        if isinstance(node, yaml.ScalarNode) and node.style in ("|", ">"):
            self.positions.blocks.setdefault(path, self.block_start(node))
        if isinstance(node, yaml.CollectionNode):
            self.open.add(id(node))
            try:
                return self.build_collection(node, path)
            finally:
                self.open.discard(id(node))
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as exc:
            raise self._problem(node, f"YAML error: {exc.problem}") from exc

    def build_collection(self, node: yaml.CollectionNode, path: Path) -> Any:
        if isinstance(node, yaml.MappingNode):
            explicit = sum(1 for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge")
            try:
                self.loader.flatten_mapping(node)
            except yaml.constructor.ConstructorError as exc:  # `<<:` given a scalar
                mark = exc.problem_mark or node.start_mark
                raise YamlSourceError(
                    Problem(
                        self.positions.source,
                        mark.line + 1,
                        mark.column + 1,
                        f"YAML error: {exc.problem}",
                    )
                ) from exc
            merged = len(node.value) - explicit  # merge keys (<<) come first; explicit ones win
            result: dict[str, Any] = {}
            explicit_keys: set[str] = set()
            for index, (key_node, value_node) in enumerate(node.value):
                key = self.build_key(key_node)
                if index >= merged:
                    if key in explicit_keys:
                        raise self._problem(key_node, f"duplicate key '{key}'")
                    explicit_keys.add(key)
                child = (*path, key)
                if key in result:  # an explicit key overriding a merged one: its positions win
                    self.positions.forget(child)
                self.positions.keys[child] = (
                    key_node.start_mark.line + 1,
                    key_node.start_mark.column + 1,
                )
                result[key] = self.build(value_node, child)
            return result
        return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]

    def block_start(self, node: yaml.ScalarNode) -> tuple[int, int]:
        """The line after a block scalar's indicator (its text's first line, blank or
        not) and the indentation of its first line with text (1-based column)."""
        first = node.start_mark.line + 2
        for text in self.lines[first - 1 : first + 50]:
            if text.strip():
                return first, len(text) - len(text.lstrip(" ")) + 1
        return first, node.start_mark.column + 1

    def build_key(self, node: yaml.Node) -> str:
        if not isinstance(node, yaml.ScalarNode):
            raise self._problem(node, "mapping keys must be plain names")
        value = self.loader.construct_object(node)
        return str(value)
