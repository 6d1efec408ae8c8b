"""What the validator checks in a document template before it is published: its Jinja
syntax and filters, that it reaches no other template, and that every name and field it
reads exists (``data.budjet`` is refused with the line it is on, as a guard's unknown field
is). Nothing here renders anything."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, cast

from jinja2 import TemplateSyntaxError, nodes

from engine.guards.registry import hint
from engine.paperwork.sandbox import FIELD_NAMES, MAX_TEMPLATE_LENGTH, NAMES, environment


@dataclass(frozen=True)
class TemplateProblem:
    """Something wrong in a template, at ``line`` of its text (1-based)."""

    line: int
    message: str
    #: Where on that line (0-based), when the check could tell.
    column: int = 0


def check_template(
    text: str, fields: Mapping[str, Any], params: Mapping[str, Any]
) -> list[TemplateProblem]:
    """Every problem of template ``text`` against a definition's ``fields`` and
    ``params`` (empty: it can be published)."""
    if len(text) > MAX_TEMPLATE_LENGTH:
        return [TemplateProblem(1, f"template too long (more than {MAX_TEMPLATE_LENGTH} chars)")]
    env = environment()
    try:
        tree = env.parse(text)
    except TemplateSyntaxError as exc:
        return [TemplateProblem(exc.lineno or 1, f"template error: {exc.message}")]
    lines = text.splitlines()
    found = [_placed(p, lines) for p in _names(tree, fields, params)]
    try:
        env.compile(tree)  # unknown filters and tests are found when compiling
    except TemplateSyntaxError as exc:
        found.append(
            _placed(TemplateProblem(exc.lineno or 1, f"template error: {exc.message}"), lines)
        )
    return sorted(set(found), key=lambda p: (p.line, p.column, p.message))


def _placed(problem: TemplateProblem, lines: list[str]) -> TemplateProblem:
    """``problem`` with the column of the first name it quotes on its line."""
    text = lines[problem.line - 1] if 0 < problem.line <= len(lines) else ""
    for quoted in problem.message.split("'")[1::2]:
        needle = quoted.rsplit(".", 1)[-1]
        column = text.find(needle) if needle else -1
        if column >= 0:
            return TemplateProblem(problem.line, problem.message, column)
    return problem


def _names(
    tree: nodes.Template, fields: Mapping[str, Any], params: Mapping[str, Any]
) -> Iterator[TemplateProblem]:
    for node in tree.find_all((nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)):
        yield TemplateProblem(node.lineno, "a template cannot include or import another")
    declared = _declared(tree)
    for name in tree.find_all(nodes.Name):
        if name.ctx == "load" and name.name not in NAMES and name.name not in declared:
            if name.name == "range":
                continue
            known = sorted(NAMES)
            yield TemplateProblem(
                name.lineno,
                f"unknown name '{name.name}' (a template reads {', '.join(known)})"
                f"{hint(name.name, known)}",
            )
    for found in tree.find_all((nodes.Getattr, nodes.Getitem)):
        access = cast(nodes.Getattr | nodes.Getitem, found)
        key = _key(access)
        if key is None:
            continue
        if key.startswith("_"):
            yield TemplateProblem(access.lineno, f"'{key}' is not reachable from a template")
            continue
        owner = access.node
        if not isinstance(owner, nodes.Name) or owner.name in declared:
            continue
        if owner.name in FIELD_NAMES:
            allowed: Any = fields
            what = "field"
        elif owner.name == "params":
            allowed, what = params, "param"
        elif owner.name in NAMES:
            allowed, what = NAMES[owner.name] or (), f"key of '{owner.name}'"
        else:
            continue
        if key not in allowed:
            yield TemplateProblem(
                access.lineno,
                f"unknown {what} '{owner.name}.{key}'{hint(key, list(allowed))}",
            )


def _key(node: nodes.Getattr | nodes.Getitem) -> str | None:
    if isinstance(node, nodes.Getattr):
        return node.attr
    if isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
        return node.arg.value
    return None


def _declared(tree: nodes.Template) -> set[str]:
    """Names a template binds itself (``set``, ``for``, ``macro`` and their arguments,
    ``with``): not the case's."""
    names: set[str] = set()
    for node in tree.find_all(nodes.Name):
        if node.ctx in ("store", "param"):
            names.add(node.name)
    for macro in tree.find_all((nodes.Macro, nodes.CallBlock)):
        if isinstance(macro, nodes.Macro):
            names.add(macro.name)
    names.update(("loop", "caller", "varargs", "kwargs"))
    return names
