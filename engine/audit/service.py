"""What ``rukun.audit`` offers: replay, verification, anchors. Role and region scope are
checked here for every named user (the screens and the API name one; the local command
line, run by someone with the database in hand, may not)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from engine.audit import anchors
from engine.audit.replay import Replayer
from engine.audit.verify import Progress, Verifier
from engine.privacy import masked_data, may_see_pii
from engine.runtime import queries
from engine.runtime.access import Actor
from engine.runtime.case_queries import load_case
from engine.runtime.context import Context
from engine.store.db import write_session
from engine.text import Label

#: Who may verify a whole program or database, take anchors and export histories.
AUDIT_ROLES = ("auditor", "program_officer", "admin")


def require_auditor(context: Context, session: Session, user: str, action: Label) -> Actor:
    """The user, Forbidden unless they hold an audit role (:data:`AUDIT_ROLES`)."""
    actor = context.actor(session, user)
    actor.require_role(AUDIT_ROLES, action)
    return actor


class Audit:
    def __init__(self, context: Context) -> None:
        self.context = context

    def require_auditor(self, viewer: str, action: Label) -> None:
        """Forbidden unless ``viewer`` holds an audit role (anywhere)."""
        with self.context.sessions() as session:
            require_auditor(self.context, session, viewer, action)

    def replay(
        self, case_id: int, at: dt.datetime | None = None, viewer: str | None = None
    ) -> dict[str, Any]:
        """The case rebuilt from its records (see :class:`Replayer`); with ``viewer``, only
        within their scope, and personal data masked unless their roles may see it."""
        with self.context.sessions() as session:
            case = load_case(session, self.context.engine.dialect.name, case_id)
            roles = None
            if viewer is not None:
                actor = self.context.actor(session, viewer)
                actor.check_view(case.id, case.region_path.split("/"))
                roles = actor.roles()
            result = Replayer(self.context).replay(session, case, at)
            definition = self.context.definition(case.definition_version)
        if not may_see_pii(definition, roles):
            result["data"] = masked_data(definition, result["data"])
            for divergence in result["divergences"]:
                if divergence["field"] == "data":
                    for side in ("stored", "replayed"):
                        if isinstance(divergence[side], dict):
                            divergence[side] = masked_data(definition, divergence[side])
        return result

    def verifier(
        self,
        case_id: int | None = None,
        program: str | None = None,
        anchor: str | None = None,
        progress: Progress | None = None,
        viewer: str | None = None,
    ) -> Verifier:
        """A verification run over one case, one program or everything (iterate its
        :meth:`~Verifier.run`, then read its ``summary``); with ``viewer``, who must hold an
        audit role, only over the cases within their region scope."""
        scope = None
        if viewer is not None:
            self.require_auditor(viewer, Label(id="memeriksa riwayat", en="verify the history"))
            with self.context.sessions() as session:
                actor = self.context.actor(session, viewer)
                scope = queries.scope_filter(session, actor, self.context.engine.dialect.name)
        return Verifier(self.context, case_id, program, anchor, progress, scope)

    def problems_by_case(self, case_ids: list[int]) -> dict[int, int]:
        """How many problems verification finds in each of ``case_ids`` (one run over all
        of them; the caller has checked they may see them): the status column of a list."""
        counts = dict.fromkeys(case_ids, 0)
        for finding in Verifier(self.context, case_ids=case_ids).run():
            if finding.case_id in counts:
                counts[finding.case_id] += 1
        return counts

    def anchor(self, actor: str = "system") -> dict[str, Any]:
        """Take (store) an anchor over every chain head now, and return it."""
        with write_session(self.context.sessions) as session:
            taken = anchors.take(session, actor)
            return anchors.anchor_json(taken)

    def anchors(self, limit: int = 10) -> list[dict[str, Any]]:
        with self.context.sessions() as session:
            return anchors.latest(session, limit)
