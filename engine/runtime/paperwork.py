"""Paperwork generated from a case: what a template may read (a plain view of the case
built here, never an engine object), the PDFs a firing generates (stored as documents and
recorded in its history record like uploads, so the chain covers them), and previews.

A template sees the case's data with personal data (NIK, KK numbers) masked: a generated
document is filed with the case, where people who may not see those numbers read it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import NotFound
from engine.language import Definition, TransitionSpec
from engine.language.model import FieldSpec, TemplateSpec
from engine.money import format_money
from engine.paperwork.render import Bounds, render_pdf
from engine.paperwork.sandbox import tanggal
from engine.privacy import masked_data
from engine.runtime.attachments import add_document_row
from engine.runtime.case_queries import load_case
from engine.runtime.case_views import CaseRow
from engine.runtime.context import Context
from engine.runtime.evaluation import stored_ledger
from engine.runtime.ledger import LedgerState
from engine.store.documents import DocumentStore, Pending
from engine.store.models import Case, Region
from engine.text import Label


@dataclass(frozen=True)
class Act:
    """The step a document records: who takes it, in which role, when."""

    transition: TransitionSpec
    actor: str
    role: str
    at: dt.datetime


def reads_ledger(definition: Definition, transition: TransitionSpec) -> bool:
    """Whether a template ``transition`` generates may read the ledger (it names it): if
    none does, the firing need not read it."""
    return any("ledger" in definition.templates[g.template].html for g in transition.generates)


def region_names(session: Session, path: str) -> list[tuple[str, str, str]]:
    """``(code, level, name)`` of each region on a case's path, widest first."""
    codes = path.split("/")
    rows = session.execute(
        select(Region.code, Region.level, Region.name).where(Region.code.in_(codes))
    ).all()
    order = {code: i for i, code in enumerate(codes)}
    return sorted(((r.code, r.level, r.name) for r in rows), key=lambda r: order[r[0]])


def _shown(spec: FieldSpec, value: Any) -> str:
    """A field's value as a document writes it."""
    if value is None:
        return ""
    if spec.type == "choice":
        return next((c.label.id for c in spec.choices if c.value == value), str(value))
    if spec.type == "boolean":
        return "Ya" if value else "Tidak"
    if spec.type == "money" and isinstance(value, int):
        return format_money(value)
    if spec.type == "date":
        return tanggal(value)
    if spec.type == "document" and isinstance(value, Mapping):
        return str(value.get("filename", ""))
    if spec.type == "list" and isinstance(value, list):
        return str(len(value))
    return str(value)


def template_values(
    definition: Definition,
    template: TemplateSpec,
    case: CaseRow,
    data: Mapping[str, Any],
    ledger: LedgerState,
    regions: list[tuple[str, str, str]],
    subject_name: str,
    act: Act | None,
    reference: str,
) -> dict[str, Any]:
    """What ``template`` reads (the names of :data:`engine.paperwork.sandbox.NAMES`)."""
    visible = masked_data(definition, data)
    state = definition.state(case.state) if definition.has_state(case.state) else None
    values: dict[str, Any] = {
        "case": {
            "id": case.id,
            "program": case.program,
            "year": case.year,
            "state": case.state,
            "state_label": state.label.id if state else case.state,
            "created": case.created_at.date().isoformat(),
            "subject_code": case.subject_code,
            "subject_name": subject_name,
            "region": {level: name for _, level, name in regions},
            "regions": {code: name for code, _, name in regions},
        },
        "data": visible,
        "shown": {
            name: _shown(spec, visible.get(name)) for name, spec in definition.fields.items()
        },
        "labels": {name: spec.label.id for name, spec in definition.fields.items()},
        "params": dict(definition.params),
        "ledger": ledger.totals(),
        "program": {"code": definition.program, "title": definition.title.id},
        "document": {"title": template.title.id, "reference": reference, "template": template.name},
        "act": None,
    }
    if act is not None:
        role = definition.roles.get(act.role)
        values["act"] = {
            "trigger": act.transition.trigger,
            "label": act.transition.label.id,
            "actor": act.actor,
            "role": act.role,
            "role_label": role.label.id if role else act.role,
            "at": act.at.isoformat(),
            "date": act.at.date().isoformat(),
        }
    return values


def generate(
    store: DocumentStore,
    session: Session,
    definition: Definition,
    case: CaseRow,
    data: Mapping[str, Any],
    ledger: LedgerState,
    subject_name: str,
    act: Act,
    seq: int,
    bounds: Bounds,
) -> tuple[dict[str, Any], list[Pending]]:
    """The documents ``act``'s transition generates, rendered from the case as it will be
    after the firing (its ``data`` and ``ledger``): the form values naming them (one per
    generated field) and the files still to write. Raises
    :class:`~engine.paperwork.render.RenderFailed` having added nothing."""
    regions = region_names(session, case.region_path)
    made: dict[str, Any] = {}
    files: list[Pending] = []
    for generated in act.transition.generates:
        template = definition.templates[generated.template]
        values = template_values(
            definition,
            template,
            case,
            data,
            ledger,
            regions,
            subject_name,
            act,
            reference(case, seq),
        )
        pdf = render_pdf(template.name, template.html, values, bounds)
        files.append(store.check_bytes(pdf, f"{template.filename}-{case.id}.pdf"))
        made[generated.field] = files[-1].file.to_json()
    for pending in files:  # only once every document rendered: a failure adds no row
        add_document_row(session, pending.file, act.actor)
    return made, files


def reference(case: CaseRow, seq: int) -> str:
    """The number a generated document carries: the case, the record that files it, the
    year (``RKN/12/7/2026``): whoever holds the paper can find its record."""
    return f"RKN/{case.id}/{seq}/{case.year}"


def preview(
    definition: Definition,
    name: str,
    case: CaseRow,
    ledger: LedgerState,
    session: Session,
    subject_name: str,
    bounds: Bounds,
) -> bytes:
    """Template ``name`` rendered against the case as it is now (no step taken: the
    signature block of ``act`` is empty); nothing is stored."""
    template = definition.templates.get(name)
    if template is None:
        raise NotFound(
            Label(
                f"{definition.program} tidak punya templat dokumen '{name}'",
                f"{definition.program} has no document template '{name}'",
            )
        )
    values = template_values(
        definition,
        template,
        case,
        case.data,
        ledger,
        region_names(session, case.region_path),
        subject_name,
        None,
        f"PRATINJAU/{case.id}",
    )
    return render_pdf(template.name, template.html, values, bounds)


class Paperwork:
    """What ``rukun.paperwork`` offers: the templates of a case's program, and a preview
    of one against the case as it is now (for whoever may see the case)."""

    def __init__(self, context: Context) -> None:
        self.context = context

    def templates(self, case_id: int, viewer: str) -> list[dict[str, Any]]:
        """Each template of the case's definition version, with the steps that generate it
        and the field each fills."""
        with self.context.sessions() as session:
            case = self._visible(session, case_id, viewer)
            definition = self.context.definition(case.definition_version)
        return [
            {
                "name": template.name,
                "title": template.title.to_json(),
                "generated_by": [
                    {"trigger": t.trigger, "label": t.label.to_json(), "field": g.field}
                    for t in _unique(definition.transitions)
                    for g in t.generates
                    if g.template == template.name
                ],
            }
            for template in definition.templates.values()
        ]

    def preview(self, case_id: int, name: str, viewer: str) -> tuple[bytes, str]:
        """Template ``name`` rendered against case ``case_id`` now: the PDF and a file
        name for it. Nothing is stored and the case does not change."""
        with self.context.sessions() as session:
            case = self._visible(session, case_id, viewer)
            definition = self.context.definition(case.definition_version)
            row = CaseRow(*(getattr(case, f) for f in CaseRow.__slots__))
            subject = session.get(Region, case.subject_code)
            pdf = preview(
                definition,
                name,
                row,
                stored_ledger(session, case.id),
                session,
                subject.name if subject is not None else case.subject_code,
                self.context.paperwork_bounds,
            )
        return pdf, f"pratinjau-{definition.templates[name].filename}-{case.id}.pdf"

    def _visible(self, session: Session, case_id: int, viewer: str) -> Case:
        case = load_case(session, session.get_bind().dialect.name, case_id)
        self.context.actor(session, viewer).check_view(case.id, case.region_path.split("/"))
        return case


def _unique(transitions: Any) -> list[TransitionSpec]:
    """One transition per trigger (a self-loop declared once per state counts once)."""
    seen: dict[str, TransitionSpec] = {}
    for transition in transitions:
        seen.setdefault(transition.trigger, transition)
    return list(seen.values())
