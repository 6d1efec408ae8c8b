"""Who may work on a program's definition: program officers and admins, each only on
programs whose regions lie inside one of their grants (an unscoped grant: every program)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import Forbidden
from engine.runtime.access import Actor
from engine.store.models import Region
from engine.text import Label

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
    session: Session, actor: Actor, program: str, regions: Sequence[str], action: Label
) -> str:
    """The studio role under which ``actor`` may do ``action`` (a verb phrase, "publish
    it") on ``program`` (whose definition runs in ``regions``; empty: anywhere);
    :class:`Forbidden` otherwise."""
    grants = [g for g in actor.grants if g.role in STUDIO_ROLES]
    if not grants:
        raise Forbidden(
            Label(
                id=f"pengguna '{actor.name}' tidak dapat {action.id}: diperlukan peran "
                "program_officer atau admin",
                en=f"user '{actor.name}' may not {action.en}: it needs role program_officer or "
                "admin",
            )
        )
    for grant in grants:
        if grant.region_code is None:
            return grant.role
    if not regions:
        limits = ", ".join(str(g.region_code) for g in grants)
        raise Forbidden(
            Label(
                id=f"pengguna '{actor.name}' tidak dapat {action.id}: {program} berjalan di "
                f"semua wilayah, sedangkan wewenangnya terbatas pada {limits}",
                en=f"user '{actor.name}' may not {action.en}: {program} runs in every region, "
                f"and their grant is limited to {limits}",
            )
        )
    ancestors = _ancestors(session, regions)
    for grant in grants:
        if all(grant.region_code in ancestors[code] for code in regions):
            return grant.role
    where, held = ", ".join(regions), ", ".join(str(g) for g in grants)
    raise Forbidden(
        Label(
            id=f"pengguna '{actor.name}' tidak dapat {action.id}: {program} berjalan di "
            f"{where}, di luar wewenangnya ({held})",
            en=f"user '{actor.name}' may not {action.en}: {program} runs in {where}, "
            f"outside their grant ({held})",
        )
    )


def may_work_on(session: Session, actor: Actor, program: str, regions: Sequence[str]) -> bool:
    try:
        program_role(session, actor, program, regions, Label(id="mengerjakannya", en="work on it"))
    except Forbidden:
        return False
    return True
