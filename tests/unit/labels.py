"""The check that an engine error is made with a :class:`Label` (so the operator UI can show
it in its own language), run over the source of a module: used by test_engine_messages."""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import Any

from engine.errors import RukunError
from engine.text import Label


class _Refusals(ast.NodeVisitor):
    """Finds each RukunError made without a Label: ``SomeError(message, ...)`` whose message
    is not ``Label(...)`` (or its ``.format``), a function of the module returning a Label,
    a name bound to one of those, a parameter annotated ``Label``, or a conditional
    choosing between them. A subclass with
    an ``__init__`` of its own (:class:`DraftConflict`) is checked at its ``super().__init__``."""

    def __init__(self, tree: ast.Module, namespace: Mapping[str, Any]) -> None:
        self.namespace = namespace
        functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
        self.label_functions = {
            f.name for f in functions if isinstance(f.returns, ast.Name) and f.returns.id == "Label"
        }
        self.own_init = {
            c.name
            for c in ast.walk(tree)
            if isinstance(c, ast.ClassDef)
            and self._error_class(ast.Name(c.name)) is not None
            and any(isinstance(n, ast.FunctionDef) and n.name == "__init__" for n in c.body)
        }
        self.scopes: list[dict[str, list[ast.expr]]] = []
        self.classes: list[str] = []
        self.unlabelled: list[int] = []

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.classes.append(node.name)
        self.generic_visit(node)
        self.classes.pop()

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        bound: dict[str, list[ast.expr]] = {}
        arguments = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
        for argument in arguments:  # `why: Label` (or `Label | None`) is a Label
            if argument.annotation is not None and "Label" in ast.unparse(argument.annotation):
                bound[argument.arg] = [ast.Call(ast.Name("Label"), [], [])]
        for child in ast.walk(node):
            if isinstance(child, ast.Assign):
                for target in child.targets:
                    if isinstance(target, ast.Name):
                        bound.setdefault(target.id, []).append(child.value)
        self.scopes.append(bound)
        self.generic_visit(node)
        self.scopes.pop()

    def visit_Raise(self, node: ast.Raise) -> None:
        # `raise Forbidden`: an error with no message at all
        bare = node.exc is not None and not isinstance(node.exc, ast.Call)
        if bare and self._error_class(node.exc) is not None:  # type: ignore[arg-type]
            self.unlabelled.append(node.lineno)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        made = self._error_class(node.func)
        own = made is not None and made.__name__ in self.own_init
        if (made is not None and not own) or self._super_init_of_own(node):
            message = node.args[0] if node.args else None
            message = next((k.value for k in node.keywords if k.arg == "message"), message)
            if message is None or not self._labelled(message):
                self.unlabelled.append(node.lineno)
        self.generic_visit(node)

    def _error_class(self, func: ast.expr) -> type[RukunError] | None:
        if isinstance(func, ast.Name):
            found = self.namespace.get(func.id)
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            found = getattr(self.namespace.get(func.value.id), func.attr, None)
        else:
            return None
        return found if isinstance(found, type) and issubclass(found, RukunError) else None

    def _super_init_of_own(self, node: ast.Call) -> bool:
        func = node.func
        return (
            bool(self.classes)
            and self.classes[-1] in self.own_init
            and isinstance(func, ast.Attribute)
            and func.attr == "__init__"
            and isinstance(func.value, ast.Call)
            and isinstance(func.value.func, ast.Name)
            and func.value.func.id == "super"
        )

    def _labelled(self, value: ast.expr) -> bool:
        if isinstance(value, ast.IfExp):
            return self._labelled(value.body) and self._labelled(value.orelse)
        if isinstance(value, ast.Call):
            func = value.func
            if isinstance(func, ast.Name):
                return func.id == "Label" or func.id in self.label_functions
            return (
                isinstance(func, ast.Attribute)
                and func.attr == "format"
                and (self._labelled(func.value))
            )
        if isinstance(value, ast.Name):
            if isinstance(self.namespace.get(value.id), Label):
                return True
            for scope in reversed(self.scopes):
                if value.id in scope:
                    return all(self._labelled(v) for v in scope[value.id])
        return False


def unlabelled(source: str, namespace: Mapping[str, Any]) -> list[int]:
    """The lines of ``source`` (a module whose globals are ``namespace``) that make a
    RukunError without a Label."""
    tree = ast.parse(source)
    refusals = _Refusals(tree, namespace)
    refusals.visit(tree)
    return refusals.unlabelled
