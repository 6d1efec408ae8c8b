"""Every operation of an ``expr`` is bounded: text formatting is not part of the language,
and the text, lists and numbers an expression makes, its steps and its time are limited,
whatever the workflow author writes or a resident types into a form.

Bombs run in a child process under a memory limit (prlimit --as), so that a regression
cannot take the machine down; so does the hypothesis search over hostile expressions."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.guards.expressions import (
    LIMITS,
    EvaluationLimit,
    ExpressionError,
    Limits,
    check_expression,
    evaluate,
)
from tests.limited import run_limited

ROOT = Path(__file__).resolve().parents[2]
FIELDS = {"n", "area", "members", "votes"}
PARAMS = {"ceiling": 300}
#: A process that evaluates an expression may grow by this much at most (bytes).
MEMORY_BOUND = 8 * 1024 * 1024
TIME_BOUND = 2.0  # seconds; the sandbox's own deadline is LIMITS.seconds (1 s)


def run(text: str, limits: Limits = LIMITS, **values: Any) -> Any:
    fields: dict[str, Any] = dict.fromkeys(FIELDS)
    fields.update(values)
    return evaluate(
        text, fields, PARAMS, {"year": 2026, "region": "64"}, dt.date(2026, 3, 1), {}, limits
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('"%0*d" % (n, 1)', "text formatting ('%' after a text) is not allowed"),
        ("'%s' % area", "text formatting"),
        ("'a' * 100000000", "repeats a literal past 10000 items"),
        ("100000000 * 'a'", "repeats a literal past 10000 items"),
        ("[0] * 20000", "repeats a literal past 10000 items"),
        (str(2**129), "number literal larger than 2**128"),
    ],
)
def test_the_validator_refuses_what_can_never_be_safe(text: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=re.escape(message)):
        check_expression(text, FIELDS, PARAMS)


def test_modulo_of_numbers_stays_in_the_language() -> None:
    assert run("n % 7 == 3", n=10) is True
    assert run("'a' * 3 + area", area="b") == "aaab"


@pytest.mark.parametrize(
    ("text", "values", "message"),
    [
        # the bomb, with the format text and the width from form fields
        ("area % (n, 1)", {"area": "%0*d", "n": 20_000_000}, "text formatting"),
        ("area * n", {"area": "abcdefghij", "n": 10**9}, "a text in the expression grew past"),
        ("n * area", {"area": "ab", "n": 10**9}, "a text in the expression grew past"),
        ("(area + area) + area", {"area": "x" * 4000}, "a text in the expression grew past"),
        ("members + members", {"members": list(range(6000))}, "a list in the expression grew"),
        ("[members, members]", {"members": list(range(6000))}, "a list in the expression grew"),
        ("members * n", {"members": [1, 2], "n": 10**6}, "a list in the expression grew"),
        ("n * n * n * n * n", {"n": 10**10}, "a number in the expression grew past 2**128"),
        ("votes * 2 > 1", {"votes": 10**60}, "a number in the expression grew past 2**128"),
        ("round(n, 20) > 0", {"n": 10**200}, "a number in the expression grew past 2**128"),
        ("sum(members) > 0", {"members": [2**127] * 4}, "a number in the expression grew past"),
    ],
)
def test_a_bound_hit_while_evaluating_stops_the_evaluation(
    text: str, values: dict[str, Any], message: str
) -> None:
    check_expression(text, FIELDS, PARAMS)  # each passes the validator: inputs make it hostile
    with pytest.raises(ExpressionError, match=re.escape(message)):
        run(text, **values)


def test_steps_and_time_are_bounded() -> None:
    with pytest.raises(EvaluationLimit, match="more than 5 steps"):
        run("n + n + n + n + n", Limits(steps=5), n=1)
    with pytest.raises(EvaluationLimit, match="took longer than 0 s"):
        run("n + 1", Limits(seconds=0), n=1)
    assert run("n + n + n", Limits(steps=50), n=1) == 3


def test_the_formatting_bomb_is_refused_and_memory_stays_bounded() -> None:
    code = """
        import json, tracemalloc
        from engine.guards.expressions import evaluate
        out = []
        for text, values in [
            ("area % (n, 1)", {"area": "%0*d", "n": 20_000_000}),
            ("area % (n, 1) + area", {"area": "%0*d", "n": 10**9}),
            ("area * n", {"area": "x", "n": 10**12}),
            ("members * n", {"members": [0], "n": 10**12}),
        ]:
            tracemalloc.start()
            try:
                evaluate(text, values, {}, {})
                outcome = "evaluated"
            except Exception as error:
                outcome = str(error)
            out.append([text, outcome, tracemalloc.get_traced_memory()[1]])
            tracemalloc.stop()
        print(json.dumps(out))
    """
    result = run_limited(code)
    assert result.returncode == 0, result.stderr[-2000:]
    for text, outcome, peak in json.loads(result.stdout):
        assert outcome != "evaluated", text
        assert "not allowed" in outcome or "grew past" in outcome, (text, outcome)
        assert peak < MEMORY_BOUND, (text, peak)


# --------------------------------------------------------------------- hypothesis search

ATOMS = st.sampled_from(
    [
        "n",
        "area",
        "members",
        "votes",
        "0",
        "1",
        "-1",
        "7",
        "2.5",
        "1e308",
        str(2**128),
        "'%0*d'",
        "'%s%s%s'",
        "'ab'",
        "''",
        "[1, 2, 3]",
        "[]",
        "params.ceiling",
        "ledger.disbursed",
        "case.year",
        "True",
        "None",
        "(area * n)",
        "(members + members)",
        "(area % (n, 1))",
        "[members, area]",
    ]
)
#: Weighted towards the operators that make big values.
OPERATORS = st.sampled_from(
    ["+", "+", "+", "*", "*", "*", "%", "%", "-", "/", "//", "==", "<", "in", "and", "or"]
)


def _combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, OPERATORS, children).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(st.sampled_from(["len", "sum", "min", "max", "abs", "round"]), children).map(
            lambda t: f"{t[0]}({t[1]})"
        ),
        st.tuples(children, children).map(lambda t: f"round({t[0]}, {t[1]})"),
        st.tuples(children, children).map(lambda t: f"[{t[0]}, {t[1]}]"),
        st.tuples(children, children, children).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
        children.map(lambda c: f"(not {c})"),
        children.map(lambda c: f"(-{c})"),
        st.tuples(children, st.integers(-3, 3)).map(lambda t: f"{t[0]}[{t[1]}]"),
    )


EXPRESSIONS = st.recursive(ATOMS, _combine, max_leaves=16)
INPUTS = st.fixed_dictionaries(
    {
        "n": st.sampled_from([0, 1, -1, 10**6, 10**9, 2**127, 10**4000, 2.5, None]),
        "area": st.sampled_from(["", "x", "%0*d", "%s" * 500, "x" * 10_000, None]),
        "members": st.sampled_from([[], [1, 2], list(range(10_000)), ["x" * 5000] * 2, None]),
        "votes": st.integers(min_value=-(10**50), max_value=10**50) | st.none(),
    }
)


@settings(
    max_examples=600,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
@given(text=EXPRESSIONS, values=INPUTS)
def hostile_expressions_stay_bounded(text: str, values: dict[str, Any]) -> None:
    """Each evaluation either gives a value or raises an ordinary error (which the guard
    turns into "does not hold"), within the time and memory bounds."""
    try:
        check_expression(text, FIELDS, PARAMS)
    except ExpressionError:
        return  # refused before it runs
    tracemalloc.start()
    started = time.perf_counter()
    try:
        run(text, **values)
    except (MemoryError, RecursionError) as error:  # what a bound exists to prevent
        raise AssertionError(f"{text!r} with {list(values)}: {error!r}") from error
    except Exception:  # any ordinary error fails the guard, as intended
        pass
    finally:
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert elapsed < TIME_BOUND, (text, elapsed)
    assert peak < MEMORY_BOUND, (text, peak)


def test_generated_hostile_expressions_stay_within_time_and_memory() -> None:
    code = """
        from tests.unit.test_expression_bounds import hostile_expressions_stay_bounded
        hostile_expressions_stay_bounded()
        print("ok")
    """
    result = run_limited(code)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-4000:]
