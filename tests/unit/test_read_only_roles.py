"""The call centre only reads: a definition naming it as a transition's role is refused
with the problem's file:line:col, and the runtime's authorisation never answers with it,
whatever roles an action names (defence in depth for definitions stored before)."""

from __future__ import annotations

import pytest

from engine.errors import DefinitionError, Forbidden
from engine.language import parse_definition
from engine.language.roles import BUILTIN_ROLES, READ_ONLY_ROLES
from engine.runtime.access import Actor, Grant
from tests.unit.helpers import mini_workflow

SAMARINDA = ["64", "64.72", "64.72.02", "64.72.02.1001"]


def problems(text: str) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        parse_definition(text, "t.yaml")
    return [str(p) for p in caught.value.problems]


def test_the_call_centre_is_a_built_in_read_only_role_at_city_level() -> None:
    spec = BUILTIN_ROLES["call_centre"]
    assert (spec.level, spec.label.id, spec.label.en) == (
        "kota",
        "Pusat layanan (call centre)",
        "Call centre",
    )
    assert set(READ_ONLY_ROLES) == {"call_centre"}


def test_a_transition_naming_the_call_centre_is_refused_where_it_is_named() -> None:
    text = mini_workflow().replace("roles: [ketua_rt]", "roles: [ketua_rt, call_centre]")
    assert problems(text) == [
        "t.yaml:14:23: role 'call_centre' only reads cases and may never fire a transition; "
        "name the role that acts here"
    ]


def test_the_call_centre_as_a_transitions_only_role_is_refused_too() -> None:
    text = mini_workflow().replace("roles: [ketua_rt]", "roles: call_centre")
    assert problems(text) == [
        "t.yaml:14:12: role 'call_centre' only reads cases and may never fire a transition; "
        "name the role that acts here"
    ]


def test_the_call_centre_may_still_be_told_of_an_overdue_case() -> None:
    """Escalating to a role fires nothing: a deadline may name the call centre."""
    text = mini_workflow().replace(
        "{name: draft, initial: true}",
        "{name: draft, initial: true, deadline: {days: 3, escalate_to: call_centre}}",
    )
    definition = parse_definition(text, "t.yaml")
    deadline = definition.state("draft").deadline
    assert deadline is not None and deadline.escalate_to == "call_centre"


def test_authorize_never_answers_with_the_call_centre_even_where_an_action_names_it() -> None:
    caller = Actor("cc", (Grant("call_centre", "64.72"),))
    with pytest.raises(Forbidden) as only_reads:
        caller.authorize(["call_centre"], SAMARINDA, "fire 'verify' on case 1")
    assert only_reads.value.message == (
        "user 'cc' may not fire 'verify' on case 1: call_centre only read cases"
    )
    with pytest.raises(Forbidden) as needs:
        caller.authorize(["kelurahan", "call_centre"], SAMARINDA, "fire 'verify' on case 1")
    assert needs.value.message == (
        "user 'cc' may not fire 'verify' on case 1: it needs role kelurahan "
        "(user has: call_centre@64.72)"
    )


def test_another_grant_of_the_same_user_still_acts_under_its_own_role() -> None:
    both = Actor("lurah", (Grant("call_centre", "64.72"), Grant("kelurahan", "64.72.02.1001")))
    assert both.authorize(["call_centre", "kelurahan"], SAMARINDA, "fire 'verify'") == "kelurahan"
    assert both.may_view(SAMARINDA)


def test_messages_for_other_roles_are_unchanged() -> None:
    lurah = Actor("lurah", (Grant("kelurahan", "64.72.02.1002"),))
    with pytest.raises(Forbidden) as outside:
        lurah.authorize(["kelurahan"], SAMARINDA, "fire 'verify'")
    assert outside.value.message == (
        "user 'lurah' may not fire 'verify': 64.72.02.1001 is outside their region scope "
        "(kelurahan@64.72.02.1002)"
    )
