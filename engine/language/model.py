"""The definition model: frozen objects that everything else (machine, schemas, guards,
diagrams, validation of data) is a function of."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.text import Label

LANGUAGE_VERSION = 1

#: Scalar field types; ``list`` holds records of scalar sub-fields, ``cases`` links other cases.
SCALAR_TYPES = (
    "string",
    "text",
    "integer",
    "money",
    "decimal",
    "date",
    "boolean",
    "choice",
    "document",
    "nik",
    "kk_number",
)
FIELD_TYPES = (*SCALAR_TYPES, "list", "cases")
NUMERIC_TYPES = ("integer", "money", "decimal")
#: Types that hold personal data and are masked unless the viewer's role needs them.
PII_TYPES = ("nik", "kk_number")

#: What a transition may post to the case's ledger, and the totals guards can read.
LEDGER_POSTS = ("budget", "approve", "disburse", "report", "accept_report", "reject_report")
LEDGER_TOTALS = (
    "budget",
    "approved",
    "disbursed",
    "tranches",
    "reported",
    "spent",
    "reports_accepted",
    "reports_pending",
)


@dataclass(frozen=True)
class Choice:
    value: str
    label: Label


@dataclass(frozen=True)
class FieldSpec:
    """One datum of a case: its type and constraints."""

    name: str
    type: str
    label: Label
    help: Label | None = None
    min: float | None = None
    max: float | None = None
    max_length: int | None = None
    choices: tuple[Choice, ...] = ()
    pii: bool = False
    #: ``document``: shown to anyone on the public page (berita acara, LPJ summaries).
    public: bool = False
    #: ``list``: the sub-fields of one item, and how many items are allowed.
    item: Mapping[str, FieldSpec] | None = None
    min_items: int | None = None
    max_items: int | None = None
    #: ``cases``: the program the linked cases must belong to, and the link's name.
    program: str | None = None
    link: str | None = None

    @property
    def is_numeric(self) -> bool:
        return self.type in NUMERIC_TYPES


@dataclass(frozen=True)
class Deadline:
    """An SLA on a state: after ``days`` (calendar) or ``working_days`` it is overdue."""

    days: int | None = None
    working_days: int | None = None
    escalate_to: str | None = None


@dataclass(frozen=True)
class StateSpec:
    name: str
    label: Label
    initial: bool = False
    final: bool = False
    description: Label | None = None
    deadline: Deadline | None = None


@dataclass(frozen=True)
class GuardSpec:
    """A guard as written in YAML: the registered guard's name, its arguments, a message."""

    name: str
    args: Mapping[str, Any]
    message: Label | None = None


@dataclass(frozen=True)
class FormItem:
    field: str
    required: bool = True


@dataclass(frozen=True)
class LedgerPosting:
    """What firing a transition writes to the case's ledger (see docs: Ledger)."""

    post: str
    lines: str | None = None
    amount: str | None = None
    date: str | None = None
    document: str | None = None


@dataclass(frozen=True)
class TemplateSpec:
    """A document template (HTML with Jinja, rendered to PDF in a sandbox): the paperwork
    a transition generates, such as a berita acara or a kuitansi."""

    name: str
    title: Label
    html: str
    #: The stem of the generated file's name (``berita-acara-verifikasi`` ->
    #: ``berita-acara-verifikasi-12.pdf`` for case 12).
    filename: str


@dataclass(frozen=True)
class Generates:
    """One document a transition generates when it fires: ``template`` rendered into the
    document field ``field``."""

    template: str
    field: str


@dataclass(frozen=True)
class TransitionSpec:
    trigger: str
    sources: tuple[str, ...]
    dest: str
    roles: tuple[str, ...]
    label: Label
    form: tuple[FormItem, ...] = ()
    guards: tuple[GuardSpec, ...] = ()
    description: Label | None = None
    any_source: bool = False
    ledger: LedgerPosting | None = None
    generates: tuple[Generates, ...] = ()

    @property
    def form_fields(self) -> tuple[str, ...]:
        return tuple(item.field for item in self.form)


@dataclass(frozen=True)
class RoleSpec:
    name: str
    level: str | None
    label: Label


@dataclass(frozen=True, eq=False)
class Definition:
    """A validated workflow definition of one program (one YAML file).

    Compared and hashed by identity: one parsed object per stored version.
    """

    program: str
    title: Label
    subject: str
    params: Mapping[str, Any]
    fields: Mapping[str, FieldSpec]
    states: tuple[StateSpec, ...]
    transitions: tuple[TransitionSpec, ...]
    roles: Mapping[str, RoleSpec]
    description: Label | None = None
    #: Roles that see personal data (NIK, KK numbers) in full; everyone else sees it masked.
    pii_roles: tuple[str, ...] = ()
    #: Region codes (e.g. a kota) the program runs in; cases elsewhere are refused. Empty: anywhere.
    regions: tuple[str, ...] = ()
    #: Fields whose values may be given when a case is started (default: none; data comes
    #: through the transitions' forms, where roles and guards apply).
    start_form: tuple[FormItem, ...] = ()
    #: Document templates by name (see :class:`TemplateSpec`).
    templates: Mapping[str, TemplateSpec] = field(default_factory=dict)
    language: int = LANGUAGE_VERSION
    _states_by_name: dict[str, StateSpec] = field(default_factory=dict, compare=False, repr=False)
    #: The transitions out of each state, in definition order (looked up on every firing).
    _leaving: dict[str, tuple[TransitionSpec, ...]] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )
    _triggers: frozenset[str] = field(default=frozenset(), init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._states_by_name.update({s.name: s for s in self.states})
        for state in self.states:
            leaving = tuple(t for t in self.transitions if state.name in t.sources)
            self._leaving[state.name] = leaving
        object.__setattr__(self, "_triggers", frozenset(t.trigger for t in self.transitions))

    @property
    def initial_state(self) -> StateSpec:
        return next(s for s in self.states if s.initial)

    def state(self, name: str) -> StateSpec:
        return self._states_by_name[name]

    def has_state(self, name: str) -> bool:
        return name in self._states_by_name

    def transitions_from(self, state: str) -> list[TransitionSpec]:
        leaving = self._leaving.get(state)
        if leaving is None:  # not one of its states: whatever names it as a source
            return [t for t in self.transitions if state in t.sources]
        return list(leaving)

    def steps_from(self, state: str) -> list[TransitionSpec]:
        """The transitions that move a case on from ``state``: those leaving it, without
        a ``"*"`` one such as cancel (which any state has)."""
        return [t for t in self.transitions_from(state) if not t.any_source]

    def transition(self, trigger: str, state: str) -> TransitionSpec | None:
        leaving = self._leaving.get(state)
        if leaving is None:
            leaving = tuple(self.transitions_from(state))
        return next((t for t in leaving if t.trigger == trigger), None)

    def triggers(self) -> frozenset[str]:
        return self._triggers
