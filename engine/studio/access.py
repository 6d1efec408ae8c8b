"""Who may work on a program's definition: program officers and admins, each only on
programs whose regions lie inside one of their grants (an unscoped grant: every program)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import Forbidden
from engine.runtime.access import Actor
from engine.store.models import Region

STUDIO_ROLES = ("program_officer", "admin")


def _ancestors(session: Session, codes: Sequence[str]) -> dict[str, set[str]]:
    """Each region code with the codes of itself and everything above it. Codes missing
    from the region table fall back to their dotted prefixes (Kemendagri codes nest)."""
    rows = session.execute(select(Region.code, Region.path).where(Region.code.in_(codes)))
    paths = {code: path for code, path in rows}
    result: dict[str, set[str]] = {}
    for code in codes:
        if code in paths:
            result[code] = set(paths[code].split("/"))
        else:
            parts = code.split(".")
            result[code] = {".".join(parts[: i + 1]) for i in range(len(parts))}
    return result


def program_role(
    session: Session, actor: Actor, program: str, regions: Sequence[str], action: str
) -> str:
    """The studio role under which ``actor`` may do ``action`` on ``program`` (whose
    definition runs in ``regions``; empty: anywhere); :class:`Forbidden` otherwise."""
    grants = [g for g in actor.grants if g.role in STUDIO_ROLES]
    if not grants:
        raise Forbidden(
            f"user '{actor.name}' may not {action}: it needs role program_officer or admin"
        )
    for grant in grants:
        if grant.region_code is None:
            return grant.role
    if not regions:
        raise Forbidden(
            f"user '{actor.name}' may not {action}: {program} runs in every region, and "
            f"their grant is limited to {', '.join(str(g.region_code) for g in grants)}"
        )
    ancestors = _ancestors(session, regions)
    for grant in grants:
        if all(grant.region_code in ancestors[code] for code in regions):
            return grant.role
    raise Forbidden(
        f"user '{actor.name}' may not {action}: {program} runs in {', '.join(regions)}, "
        f"outside their grant ({', '.join(str(g) for g in grants)})"
    )


def may_work_on(session: Session, actor: Actor, program: str, regions: Sequence[str]) -> bool:
    try:
        program_role(session, actor, program, regions, "work on it")
    except Forbidden:
        return False
    return True
