"""The expression sandbox for ``expr`` guards.

Expressions are checked statically against a whitelist of syntax (no lambdas,
comprehensions, imports, dunder or arbitrary attribute access, no calls except a few
named functions) and known names, then evaluated by ``simpleeval`` — never by ``eval``.

Every operation is bounded while it runs (:class:`Limits`): the text, list and integer
values an expression makes, the number of evaluation steps and the time they take. Text
formatting (``'%s' % x``) is not part of the language: ``%`` is the remainder of numbers.
Inputs come from forms, so the bounds hold whatever a resident types.
"""

from __future__ import annotations

import ast
import datetime as dt
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import simpleeval

from engine.language.model import LEDGER_TOTALS

MAX_EXPRESSION_LENGTH = 2000
MAX_LITERAL_LENGTH = 1000
MAX_COLLECTION_LITERAL = 200
#: Deeper syntax trees would exhaust Python's recursion limit while checking or evaluating.
MAX_EXPRESSION_DEPTH = 100
_TOO_DEEP = f"expression nested too deeply (more than {MAX_EXPRESSION_DEPTH} levels)"
#: round(x, -n) computes 10**n: without a bound it is the power operator by another name.
MAX_ROUND_DIGITS = 20
CASE_ATTRIBUTES = ("year", "region")


@dataclass(frozen=True)
class Limits:
    """What one evaluation may make and spend. ``size`` counts a text's characters and a
    list's items, through nested lists (``[members, members]`` is twice ``members``)."""

    size: int = 10_000
    integer_bits: int = 128
    steps: int = 10_000
    seconds: float = 1.0


LIMITS = Limits()


_ALLOWED_NODES: tuple[type[ast.AST], ...] = (
    ast.Expression,
    ast.BoolOp,
    ast.And,
    ast.Or,
    ast.BinOp,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.FloorDiv,
    ast.Mod,
    ast.UnaryOp,
    ast.Not,
    ast.USub,
    ast.UAdd,
    ast.Compare,
    ast.Eq,
    ast.NotEq,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
    ast.In,
    ast.NotIn,
    ast.IfExp,
    ast.Constant,
    ast.Name,
    ast.Load,
    ast.Attribute,
    ast.Subscript,
    ast.Call,
    ast.List,
    ast.Tuple,
)

_NODE_NAMES = {
    ast.Lambda: "lambda functions",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.Pow: "the power operator",
    ast.NamedExpr: "assignment expressions",
    ast.Starred: "star arguments",
    ast.JoinedStr: "f-strings",
    ast.Dict: "dictionary literals",
    ast.Set: "set literals",
    ast.Slice: "slices",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.BitAnd: "bitwise operators",
    ast.BitOr: "bitwise operators",
    ast.BitXor: "bitwise operators",
    ast.LShift: "bitwise operators",
    ast.RShift: "bitwise operators",
    ast.Invert: "bitwise operators",
    ast.Is: "'is' comparisons",
    ast.IsNot: "'is not' comparisons",
    ast.MatMult: "the matrix operator",
}


def days_since(value: Any, *, today: dt.date | None = None) -> int:
    """Whole days from a date (``date`` or ISO ``YYYY-MM-DD`` text) until today (UTC)."""
    if isinstance(value, dt.datetime):
        value = value.date()
    elif isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    if not isinstance(value, dt.date):
        raise TypeError("days_since needs a date")
    return ((today or dt.datetime.now(dt.UTC).date()) - value).days


def _sum(values: Any) -> Any:
    return sum(v for v in values if v is not None)


def _round(value: Any, digits: int | None = None) -> Any:
    if digits is not None and abs(digits) > MAX_ROUND_DIGITS:
        raise ValueError(f"round() takes at most {MAX_ROUND_DIGITS} digits either way")
    return round(value, digits)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": len,
    "sum": _sum,
    "min": min,
    "max": max,
    "abs": abs,
    "round": _round,
    "days_since": days_since,
}


class ExpressionError(ValueError):
    """The expression is not acceptable; ``offset`` is the 0-based column inside it."""

    def __init__(self, message: str, offset: int = 0) -> None:
        super().__init__(message)
        self.offset = offset


def check_expression(text: str, field_names: set[str], params: Mapping[str, Any]) -> None:
    """Raise :class:`ExpressionError` unless ``text`` is a safe expression over known names."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("expression must be a non-empty string")
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(f"expression longer than {MAX_EXPRESSION_LENGTH} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(
            f"expression syntax error: {exc.msg}", max((exc.offset or 1) - 1, 0)
        ) from exc
    except (RecursionError, MemoryError) as exc:
        raise ExpressionError(_TOO_DEEP) from exc
    _Checker(field_names, params).visit(tree)


class _Checker(ast.NodeVisitor):
    def __init__(self, field_names: set[str], params: Mapping[str, Any]) -> None:
        self.field_names = field_names
        self.params = params
        self.depth = 0

    def fail(self, node: ast.AST, message: str) -> ExpressionError:
        return ExpressionError(message, getattr(node, "col_offset", 0))

    def visit(self, node: ast.AST) -> None:
        if self.depth >= MAX_EXPRESSION_DEPTH:
            raise self.fail(node, _TOO_DEEP)
        self.depth += 1
        try:
            super().visit(node)
        finally:
            self.depth -= 1

    def generic_visit(self, node: ast.AST) -> None:
        if not isinstance(node, _ALLOWED_NODES):
            what = _NODE_NAMES.get(type(node), f"'{type(node).__name__}' syntax")
            raise self.fail(node, f"{what} not allowed in expressions")
        super().generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str | bytes) and len(node.value) > MAX_LITERAL_LENGTH:
            raise self.fail(node, "text literal too long")
        if isinstance(node.value, bytes | complex) or node.value is Ellipsis:
            raise self.fail(node, f"literal {node.value!r} not allowed in expressions")
        if isinstance(node.value, int) and node.value.bit_length() > LIMITS.integer_bits:
            raise self.fail(node, f"number literal larger than 2**{LIMITS.integer_bits}")

    def visit_BinOp(self, node: ast.BinOp) -> None:
        # what can never be safe is refused here; the rest is bounded while it runs
        left, right = _literal(node.left), _literal(node.right)
        if isinstance(node.op, ast.Mod) and isinstance(left, str):
            raise self.fail(node, "text formatting ('%' after a text) is not allowed")
        if isinstance(node.op, ast.Mult):
            for sequence, count in ((left, right), (right, left)):
                if (
                    isinstance(sequence, str | list)
                    and isinstance(count, int)
                    and count * len(sequence) > LIMITS.size
                ):
                    raise self.fail(node, f"repeats a literal past {LIMITS.size} items")
        self.generic_visit(node)

    def visit_List(self, node: ast.List) -> None:
        self._check_collection(node, node.elts)

    def visit_Tuple(self, node: ast.Tuple) -> None:
        self._check_collection(node, node.elts)

    def _check_collection(self, node: ast.AST, elts: list[ast.expr]) -> None:
        if len(elts) > MAX_COLLECTION_LITERAL:
            raise self.fail(node, f"list literal longer than {MAX_COLLECTION_LITERAL} items")
        for elt in elts:
            self.visit(elt)

    def visit_Name(self, node: ast.Name) -> None:
        name = node.id
        if name.startswith("_"):
            raise self.fail(node, f"name '{name}' not allowed in expressions")
        if name in ("params", "case", "ledger"):
            raise self.fail(node, f"'{name}' must be followed by an attribute, e.g. {name}.x")
        if name in FUNCTIONS:
            raise self.fail(node, f"function '{name}' must be called")
        if name not in self.field_names:
            raise self.fail(node, f"unknown name '{name}'{_hint(name, self.field_names)}")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        chain: list[str] = []
        current: ast.expr = node
        while isinstance(current, ast.Attribute):
            if current.attr.startswith("_"):
                raise self.fail(current, f"attribute '{current.attr}' not allowed in expressions")
            chain.insert(0, current.attr)
            current = current.value
        if not isinstance(current, ast.Name) or current.id not in ("params", "case", "ledger"):
            raise self.fail(
                node, "attribute access is only allowed on 'params', 'case' and 'ledger'"
            )
        if current.id == "ledger":
            if len(chain) > 1 or chain[0] not in LEDGER_TOTALS:
                raise self.fail(
                    node,
                    f"unknown 'ledger.{'.'.join(chain)}' (one of {', '.join(LEDGER_TOTALS)})",
                )
            return
        if current.id == "case":
            if chain[0] not in CASE_ATTRIBUTES or len(chain) > 1:
                allowed = ", ".join(f"case.{a}" for a in CASE_ATTRIBUTES)
                raise self.fail(node, f"unknown 'case.{'.'.join(chain)}' (allowed: {allowed})")
            return
        value: Any = self.params
        for i, part in enumerate(chain):
            if not isinstance(value, Mapping) or part not in value:
                known = set(value) if isinstance(value, Mapping) else set()
                ref = "params." + ".".join(chain[: i + 1])
                raise self.fail(node, f"unknown parameter '{ref}'{_hint(part, known)}")
            value = value[part]

    def visit_Call(self, node: ast.Call) -> None:
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            name = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
            allowed = ", ".join(sorted(FUNCTIONS))
            raise self.fail(node, f"call to '{name}' not allowed (allowed: {allowed})")
        if node.keywords:
            raise self.fail(node, "keyword arguments not allowed in expressions")
        for arg in node.args:
            self.visit(arg)


def _literal(node: ast.expr) -> Any:
    """The value of a text or number literal, or the items of a list literal (else None)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str | int):
        return node.value
    if isinstance(node, ast.List | ast.Tuple):
        return node.elts
    return None


def _hint(name: str, known: set[str]) -> str:
    from difflib import get_close_matches

    match = get_close_matches(name, sorted(known), n=1)
    return f" (did you mean '{match[0]}'?)" if match else ""


class EvaluationLimit(ExpressionError):
    """An evaluation went past one of its :class:`Limits`: the guard does not hold."""


def _measure(value: Any, budget: int) -> int:
    """The size of ``value`` (see :class:`Limits`); stops counting once past ``budget``."""
    total = 0
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, list | tuple):
            total += len(item)
            pending.extend(i for i in item if isinstance(i, str | list | tuple | dict))
        elif isinstance(item, dict):
            total += len(item)
            pending.extend(i for i in item.values() if isinstance(i, str | list | tuple | dict))
        if total > budget:
            break
    return total


class _Bounded:
    """The operators and functions of one evaluation, each checking its result's size
    (and, where the result could be huge, its operands' before it is made)."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits

    def too_big(self, value: Any) -> EvaluationLimit:
        if isinstance(value, int):
            return EvaluationLimit(
                f"a number in the expression grew past 2**{self.limits.integer_bits}"
            )
        what, unit = ("a text", "characters") if isinstance(value, str) else ("a list", "items")
        return EvaluationLimit(f"{what} in the expression grew past {self.limits.size} {unit}")

    def size(self, value: Any) -> Any:
        if isinstance(value, bool):
            return value
        too_big = (
            value.bit_length() > self.limits.integer_bits
            if isinstance(value, int)
            else isinstance(value, str | list | tuple | dict)
            and _measure(value, self.limits.size) > self.limits.size
        )
        if too_big:
            raise self.too_big(value)
        return value

    def add(self, left: Any, right: Any) -> Any:
        if isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
            budget = self.limits.size
            if _measure(left, budget) + _measure(right, budget) > budget:
                raise self.too_big(left)
        return self.size(left + right)

    def sub(self, left: Any, right: Any) -> Any:
        return self.size(left - right)

    def mult(self, left: Any, right: Any) -> Any:
        for sequence, count in ((left, right), (right, left)):
            if isinstance(sequence, str | list | tuple) and isinstance(count, int):
                if count > 0 and _measure(sequence, self.limits.size) * count > self.limits.size:
                    raise self.too_big(sequence)
                return sequence * count
        if (  # checked before the product is made
            isinstance(left, int)
            and isinstance(right, int)
            and left.bit_length() + right.bit_length() > self.limits.integer_bits + 1
        ):
            raise self.too_big(0)
        return self.size(left * right)

    def div(self, left: Any, right: Any) -> Any:
        return left / right

    def floordiv(self, left: Any, right: Any) -> Any:
        return self.size(left // right)

    def mod(self, left: Any, right: Any) -> Any:
        if isinstance(left, str | bytes):
            raise ExpressionError("text formatting ('%' after a text) is not allowed")
        return self.size(left % right)

    def call(self, function: Callable[..., Any]) -> Callable[..., Any]:
        return lambda *args: self.size(function(*args))


class _Evaluator(simpleeval.EvalWithCompoundTypes):
    """simpleeval with a step count, a deadline and bounded list literals."""

    def __init__(self, bounded: _Bounded, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bounded = bounded
        self.steps = 0
        self.deadline = time.monotonic() + bounded.limits.seconds

    def _eval(self, node: ast.AST) -> Any:
        self.steps += 1
        limits = self.bounded.limits
        if self.steps > limits.steps:
            raise EvaluationLimit(f"the expression took more than {limits.steps} steps")
        if time.monotonic() > self.deadline:
            raise EvaluationLimit(f"the expression took longer than {limits.seconds:g} s")
        result = super()._eval(node)
        if isinstance(node, ast.List | ast.Tuple):
            self.bounded.size(result)
        return result


def evaluate(
    text: str,
    fields: Mapping[str, Any],
    params: Mapping[str, Any],
    case: Mapping[str, Any],
    today: dt.date | None = None,
    ledger: Mapping[str, int] | None = None,
    limits: Limits = LIMITS,
) -> Any:
    """Check, then evaluate an expression with simpleeval within ``limits``; raises on
    evaluation errors (:class:`EvaluationLimit` when a bound is hit).

    Checked again here (cheap) so no caller can hand simpleeval an unchecked expression:
    on its own it would allow method calls such as ``members.pop()``.
    """
    check_expression(text, set(fields), params)
    names: dict[str, Any] = dict(fields)
    names["params"] = params
    names["case"] = case
    names["ledger"] = {total: (ledger or {}).get(total, 0) for total in LEDGER_TOTALS}
    bounded = _Bounded(limits)
    functions = {name: bounded.call(function) for name, function in FUNCTIONS.items()}
    functions["days_since"] = bounded.call(lambda value: days_since(value, today=today))
    operators: dict[type[ast.AST], Callable[..., Any]] = {
        ast.Add: bounded.add,
        ast.Sub: bounded.sub,
        ast.Mult: bounded.mult,
        ast.Div: bounded.div,
        ast.FloorDiv: bounded.floordiv,
        ast.Mod: bounded.mod,
        ast.USub: lambda value: -value,
        ast.UAdd: lambda value: +value,
        ast.Not: lambda value: not value,
        **{op: simpleeval.DEFAULT_OPERATORS[op] for op in _COMPARISONS},
    }
    # compound types for list literals (`x in [...]`); comprehensions never pass the checker
    evaluator = _Evaluator(bounded, operators=operators, names=names, functions=functions)
    return evaluator.eval(text.strip())


_COMPARISONS = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn)
