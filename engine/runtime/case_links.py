"""Links between cases (``cases`` fields, e.g. an RT Mandiri group's upstream case): set
from a form's values when a case is started or fired, and shown both ways."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from engine.errors import Forbidden, InvalidData
from engine.language import Definition
from engine.runtime.access import Actor
from engine.runtime.case_views import CaseRow
from engine.store.models import Case, CaseLink
from engine.text import Label


def update_links(
    session: Session,
    case: Case | CaseRow,
    definition: Definition,
    payload: Mapping[str, Any],
    actor: Actor,
) -> dict[str, list[int]]:
    """Check the case ids in ``cases`` fields of ``payload`` (each exists, is of the
    field's program and within the ``actor``'s scope) and make the links match them;
    returns the targets set per field (what the history record's effects say). A payload
    without ``cases`` fields reads and writes nothing."""
    changed: dict[str, list[int]] = {}
    for name, value in payload.items():
        spec = definition.fields[name]
        if spec.type != "cases":
            continue
        targets = list(dict.fromkeys(value or []))
        shown = spec.label.id  # the field as the Indonesian screens name it
        for target_id in targets:
            target = session.get(Case, target_id)
            if target is None:
                raise InvalidData(
                    Label(
                        id=f"{shown}: tidak ada kasus {target_id}",
                        en=f"{name}: no case {target_id}",
                    )
                )
            if target_id == case.id:
                raise InvalidData(
                    Label(
                        id=f"{shown}: kasus tidak dapat ditautkan ke dirinya sendiri",
                        en=f"{name}: a case cannot link to itself",
                    )
                )
            if not actor.may_view(target.region_path.split("/")):
                raise Forbidden(
                    Label(
                        id=f"{shown}: pengguna '{actor.name}' tidak dapat menautkan kasus "
                        f"{target_id}: kasus itu di luar cakupan wilayahnya",
                        en=f"{name}: user '{actor.name}' may not link case {target_id}: "
                        "it is outside their region scope",
                    )
                )
            if spec.program and target.program != spec.program:
                raise InvalidData(
                    Label(
                        id=f"{shown}: kasus {target_id} adalah kasus {target.program}, "
                        f"bukan {spec.program}",
                        en=f"{name}: case {target_id} is a {target.program} case, "
                        f"not {spec.program}",
                    )
                )
        session.execute(delete(CaseLink).where(CaseLink.case_id == case.id, CaseLink.field == name))
        session.add_all(
            CaseLink(case_id=case.id, field=name, link=spec.link or name, target_id=t)
            for t in targets
        )
        changed[name] = targets
    return changed


def links_view(
    session: Session, case_id: int, viewer: Actor | None
) -> dict[str, list[dict[str, Any]]]:
    """Links both ways: cases this one points at, and cases pointing at it. Of a linked
    case the viewer may not see, only its number and program are given (``visible``)."""

    def rows(column: Any, other: Any) -> list[dict[str, Any]]:
        query = (
            select(
                CaseLink.field,
                CaseLink.link,
                Case.id,
                Case.program,
                Case.subject_code,
                Case.state,
                Case.region_path,
            )
            .join(Case, Case.id == other)
            .where(column == case_id)
            .order_by(Case.id)
        )
        found = []
        for f, link, i, p, sub, st, path in session.execute(query):
            visible = viewer is None or viewer.may_view(path.split("/"))
            found.append(
                {
                    "field": f,
                    "link": link,
                    "case_id": i,
                    "program": p,
                    "subject": sub if visible else None,
                    "state": st if visible else None,
                    "visible": visible,
                }
            )
        return found

    return {
        "outgoing": rows(CaseLink.case_id, CaseLink.target_id),
        "incoming": rows(CaseLink.target_id, CaseLink.case_id),
    }
