"""Who may act where: roles held by a user, each limited to a region and everything under it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from engine.errors import Forbidden
from engine.language.roles import READ_ONLY_ROLES
from engine.text import Label


@dataclass(frozen=True)
class Grant:
    role: str
    region_code: str | None

    def covers(self, region_codes: Sequence[str]) -> bool:
        """True if the grant is unscoped or its region is one of ``region_codes`` (a case's
        subject and its ancestors)."""
        return self.region_code is None or self.region_code in region_codes

    def __str__(self) -> str:
        return f"{self.role}@{self.region_code}" if self.region_code else f"{self.role}@*"


@dataclass(frozen=True)
class Actor:
    """A user as the runtime sees them when they act."""

    name: str
    grants: tuple[Grant, ...]

    def roles(self) -> set[str]:
        return {g.role for g in self.grants}

    def may_view(self, region_codes: Sequence[str]) -> bool:
        """Any of the actor's grants covers the region (reading needs no particular role)."""
        return any(g.covers(region_codes) for g in self.grants)

    def check_view(self, case_id: int, region_codes: Sequence[str]) -> None:
        """:class:`Forbidden` unless the actor may see the case (:meth:`may_view`)."""
        if not self.may_view(region_codes):
            raise Forbidden(
                Label(
                    id=f"pengguna '{self.name}' tidak berwenang melihat kasus {case_id}: "
                    "di luar cakupan wilayahnya",
                    en=f"user '{self.name}' may not see case {case_id}: outside their region scope",
                )
            )

    def require_role(self, roles: Sequence[str], action: str | Label) -> list[Grant]:
        """The actor's grants of any of ``roles`` (anywhere); :class:`Forbidden` naming the
        roles ``action`` needs and those the actor holds if there is none. ``action`` is a
        verb phrase ("start a probebaya case"), as a :class:`Label` for the UI's Indonesian."""
        matching = [g for g in self.grants if g.role in roles]
        if not matching:
            held = ", ".join(str(g) for g in self.grants)
            what = _phrase(action)
            raise Forbidden(
                Label(
                    id=f"pengguna '{self.name}' tidak dapat {what.id}: diperlukan peran "
                    f"{' atau '.join(roles)} (peran pengguna: {held or 'tidak ada'})",
                    en=f"user '{self.name}' may not {what.en}: it needs role "
                    f"{' or '.join(roles)} (user has: {held or 'none'})",
                )
            )
        return matching

    def authorize(
        self, roles: Sequence[str], region_codes: Sequence[str], action: str | Label
    ) -> str:
        """The role under which the actor may do ``action`` on a subject within
        ``region_codes``; :class:`Forbidden` saying why not otherwise. A read-only role
        (the call centre) is never the answer, even where ``roles`` names it."""
        what = _phrase(action)
        acting = [r for r in roles if r not in READ_ONLY_ROLES]
        if roles and not acting:
            raise Forbidden(
                Label(
                    id=f"pengguna '{self.name}' tidak dapat {what.id}: peran "
                    f"{' atau '.join(roles)} hanya dapat membaca kasus",
                    en=f"user '{self.name}' may not {what.en}: {' or '.join(roles)} "
                    "only read cases",
                )
            )
        matching = self.require_role(acting, what)
        for grant in matching:
            if grant.covers(region_codes):
                return grant.role
        scopes = ", ".join(str(g) for g in matching)
        raise Forbidden(
            Label(
                id=f"pengguna '{self.name}' tidak dapat {what.id}: {region_codes[-1]} berada "
                f"di luar cakupan wilayahnya ({scopes})",
                en=f"user '{self.name}' may not {what.en}: {region_codes[-1]} is outside their "
                f"region scope ({scopes})",
            )
        )


def _phrase(action: str | Label) -> Label:
    """An action given in English only is shown as it is in the Indonesian message too."""
    return action if isinstance(action, Label) else Label(id=action, en=action)
