"""Checking a definition's transitions: sources and destination, roles, the form, the
guards against the guard registry, and what a firing posts to the ledger."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.guards import REGISTRY
from engine.guards.registry import Scope, check_guard_args, hint, known
from engine.language.checking import humanize
from engine.language.model import (
    LEDGER_POSTS,
    FieldSpec,
    FormItem,
    GuardSpec,
    LedgerPosting,
    StateSpec,
    TemplateSpec,
    TransitionSpec,
)
from engine.language.paperwork_checks import PaperworkChecks
from engine.language.roles import READ_ONLY_ROLES
from engine.language.source import Path

TRANSITION_KEYS = (
    "trigger",
    "label",
    "description",
    "source",
    "dest",
    "roles",
    "form",
    "guards",
    "ledger",
    "generates",
)
LEDGER_KEYS = ("post", "lines", "amount", "date", "document")
#: For each ledger post: (required keys, optional keys) and the field type each key names.
LEDGER_RULES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "budget": (("lines",), ()),
    "approve": (("amount",), ()),
    "disburse": (("amount",), ("date",)),
    "report": (("amount",), ("document",)),
    "accept_report": ((), ()),
    "reject_report": ((), ()),
}
LEDGER_KEY_TYPES = {"lines": "list", "amount": "money", "date": "date", "document": "document"}
FORM_ITEM_KEYS = ("field", "required")


class TransitionChecks(PaperworkChecks):
    """The ``transitions`` of a definition (and the start form, which is a form too)."""

    def trigger_names(self, raw: Any) -> frozenset[str]:
        if not isinstance(raw, list):
            return frozenset()
        return frozenset(
            t["trigger"] for t in raw if isinstance(t, dict) and isinstance(t.get("trigger"), str)
        )

    def transitions(
        self,
        raw: Any,
        states: list[StateSpec],
        scope: Scope,
        templates: Mapping[str, TemplateSpec] | None = None,
    ) -> list[tuple[TransitionSpec, int]]:
        items = self.sequence(raw, ("transitions",), "transitions")
        by_name = {s.name: s for s in states}
        non_final = tuple(s.name for s in states if not s.final)
        result: list[tuple[TransitionSpec, int]] = []
        seen_pairs: dict[tuple[str, str], int] = {}
        for i, item in enumerate(items or []):
            path: Path = ("transitions", i)
            body = self.mapping(item, path, "a transition")
            if body is None:
                continue
            self.keys(body, TRANSITION_KEYS, path, "transition")
            for key in ("trigger", "source", "dest", "roles"):
                if key not in body:
                    self.err(path, f"transition needs '{key}'")
            trigger = (
                self.name(body.get("trigger"), (*path, "trigger"), "trigger")
                if "trigger" in body
                else None
            )
            sources, any_source = (
                self.sources(body.get("source"), (*path, "source"), by_name, non_final)
                if "source" in body
                else ((), False)
            )
            dest = body.get("dest")
            if "dest" in body and not known(dest, by_name):
                self.err((*path, "dest"), f"unknown state {dest!r}{hint(str(dest), list(by_name))}")
                dest = None
            roles = (
                self.transition_roles(body.get("roles"), (*path, "roles"), scope)
                if "roles" in body
                else ()
            )
            form = self.form(body.get("form", []), (*path, "form"), scope)
            guards = self.guards(body.get("guards", []), (*path, "guards"), scope)
            ledger = self.ledger(body.get("ledger"), (*path, "ledger"), scope)
            fields: Mapping[str, FieldSpec] = scope.fields
            generates = self.generates(
                body.get("generates"), (*path, "generates"), templates or {}, fields, form
            )
            if trigger is None:
                continue
            for source in sources:
                pair = (trigger, source)
                if pair in seen_pairs:
                    line = self.pos.of(("transitions", seen_pairs[pair]))[0]
                    self.err(
                        (*path, "trigger"),
                        f"duplicate transition '{trigger}' from state '{source}' "
                        f"(already defined on line {line})",
                    )
                else:
                    seen_pairs[pair] = i
            if dest is None or not sources:
                continue
            spec = TransitionSpec(
                trigger=trigger,
                sources=sources,
                dest=str(dest),
                roles=roles,
                label=self.label(body.get("label"), (*path, "label"), humanize(trigger))
                or humanize(trigger),
                form=form,
                guards=guards,
                description=self.label(body.get("description"), (*path, "description")),
                any_source=any_source,
                ledger=ledger,
                generates=generates,
            )
            result.append((spec, i))
        return result

    def ledger(self, raw: Any, path: Path, scope: Scope) -> LedgerPosting | None:
        if raw is None:
            return None
        body = self.mapping(raw, path, "ledger")
        if body is None:
            return None
        self.keys(body, LEDGER_KEYS, path, "ledger")
        post = body.get("post")
        if not known(post, LEDGER_POSTS):
            self.err(
                (*path, "post") if "post" in body else path,
                (f"unknown ledger post {post!r}" if "post" in body else "ledger needs 'post'")
                + f" (one of {', '.join(LEDGER_POSTS)}){hint(str(post), LEDGER_POSTS)}",
            )
            return None
        required, optional = LEDGER_RULES[post]
        refs: dict[str, str] = {}
        for key in LEDGER_KEY_TYPES:
            if key not in body:
                if key in required:
                    self.err(path, f"ledger post '{post}' needs '{key}'")
                continue
            if key not in required + optional:
                self.err((*path, key), f"ledger post '{post}' takes no '{key}'", at_key=True)
                continue
            name, wanted = body[key], LEDGER_KEY_TYPES[key]
            spec = scope.fields.get(name) if isinstance(name, str) else None
            if spec is None:
                self.err(
                    (*path, key), f"unknown field {name!r}{hint(str(name), set(scope.fields))}"
                )
            elif spec.type != wanted:
                self.err(
                    (*path, key), f"field '{name}' is {spec.type}; '{key}' needs a {wanted} field"
                )
            elif key == "lines" and not (
                spec.item and spec.item.get("amount") and spec.item["amount"].type == "money"
            ):
                self.err(
                    (*path, key), f"list field '{name}' needs an 'amount' money field in its item"
                )
            else:
                refs[key] = name
        if len(refs) < len([k for k in body if k in LEDGER_KEY_TYPES]):
            return None
        return LedgerPosting(post=post, **refs)

    def sources(
        self, raw: Any, path: Path, by_name: Mapping[str, StateSpec], non_final: tuple[str, ...]
    ) -> tuple[tuple[str, ...], bool]:
        if raw == "*":
            return non_final, True
        items = [raw] if isinstance(raw, str) else raw
        if not isinstance(items, list) or not items:
            self.err(path, 'source must be a state, a list of states, or "*"')
            return (), False
        sources: list[str] = []
        for j, name in enumerate(items):
            where = path if isinstance(raw, str) else (*path, j)
            if not known(name, by_name):
                self.err(where, f"unknown state {name!r}{hint(str(name), list(by_name))}")
            elif by_name[name].final:
                self.err(where, f"transition out of final state '{name}'")
            elif name in sources:
                self.err(where, f"state '{name}' listed twice")
            else:
                sources.append(name)
        return tuple(sources), False

    def transition_roles(self, raw: Any, path: Path, scope: Scope) -> tuple[str, ...]:
        items = [raw] if isinstance(raw, str) else raw
        if not isinstance(items, list) or not items:
            self.err(path, "roles must be a non-empty list of role names")
            return ()
        roles = []
        for j, role in enumerate(items):
            where = path if isinstance(raw, str) else (*path, j)
            if not known(role, scope.roles):
                self.err(where, f"unknown role {role!r}{hint(str(role), scope.roles)}")
            elif role in READ_ONLY_ROLES:
                self.err(
                    where,
                    f"role '{role}' only reads cases and may never fire a transition; "
                    "name the role that acts here",
                )
            else:
                roles.append(role)
        return tuple(roles)

    def form(self, raw: Any, path: Path, scope: Scope) -> tuple[FormItem, ...]:
        items = self.sequence(raw, path, "form")
        result: list[FormItem] = []
        for j, item in enumerate(items or []):
            where = (*path, j)
            required = True
            if isinstance(item, dict):
                self.keys(item, FORM_ITEM_KEYS, where, "form item")
                required_raw = item.get("required", True)
                if not isinstance(required_raw, bool):
                    self.err((*where, "required"), "'required' must be true or false")
                required = bool(required_raw)
                where = (*where, "field")
                item = item.get("field")
            if not isinstance(item, str) or item not in scope.fields:
                self.err(
                    where,
                    f"form field {item!r} is not declared in 'fields'"
                    f"{hint(str(item), set(scope.fields))}",
                )
                continue
            if any(f.field == item for f in result):
                self.err(where, f"form field '{item}' listed twice")
                continue
            result.append(FormItem(item, required))
        return tuple(result)

    def guards(self, raw: Any, path: Path, scope: Scope) -> tuple[GuardSpec, ...]:
        items = self.sequence(raw, path, "guards")
        result: list[GuardSpec] = []
        for j, item in enumerate(items or []):
            where = (*path, j)
            body = self.mapping(item, where, "a guard")
            if body is None:
                continue
            names = [k for k in body if k != "message"]
            if len(names) != 1:
                self.err(
                    where,
                    f"a guard names exactly one guard "
                    f"(one of {', '.join(sorted(REGISTRY))}), got {len(names)}",
                )
                continue
            name = names[0]
            if name not in REGISTRY:
                self.err(
                    (*where, name),
                    f"unknown guard '{name}'{hint(name, list(REGISTRY))}",
                    at_key=True,
                )
                continue
            args, problems = check_guard_args(REGISTRY[name], body[name], scope)
            for sub, message in problems:
                # a parameter the guard does not take: point at its name, as for unknown keys
                unknown = len(sub) == 1 and sub[0] not in REGISTRY[name].params
                self.err((*where, name, *sub), f"guard '{name}': {message}", at_key=unknown)
            message_label = self.label(body.get("message"), (*where, "message"))
            if not problems:
                result.append(GuardSpec(name, args, message_label))
        return tuple(result)
