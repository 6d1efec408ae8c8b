"""Builders for small inline definitions: a valid two-state workflow (draft -> done by one
transition `go`) with only the parts a test cares about filled in."""

from __future__ import annotations

from engine.language import Definition, parse_definition


def mini_workflow(
    *, params: str = "{}", fields: str = "{}", form: str = "[]", guards: str = "[]"
) -> str:
    """YAML text of a valid definition; each argument is YAML in flow style."""
    return f"""\
rukun: 1
program: mini
title: Mini
subject: rt
params: {params}
fields: {fields}
states:
  - {{name: draft, initial: true}}
  - {{name: done, final: true}}
transitions:
  - trigger: go
    source: draft
    dest: done
    roles: [ketua_rt]
    form: {form}
    guards: {guards}
"""


def mini_definition(
    *, params: str = "{}", fields: str = "{}", form: str = "[]", guards: str = "[]"
) -> Definition:
    """The parsed :func:`mini_workflow`."""
    text = mini_workflow(params=params, fields=fields, form=form, guards=guards)
    return parse_definition(text, "mini.yaml")
