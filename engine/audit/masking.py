"""What an auditor may read of the history: each record's payload with personal data
masked unless the reader's roles may see it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import NotFound
from engine.language import Definition
from engine.privacy import masked_data, may_see_pii
from engine.runtime.context import Context
from engine.store.models import DefinitionVersion
from engine.text import Label


class Masking:
    """Masks a record's payload unless the reader's roles may see personal data under the
    record's definition (looked up by program and version once each)."""

    def __init__(self, context: Context, session: Session, roles: set[str]) -> None:
        self.context, self.session, self.roles = context, session, roles
        self.definitions: dict[tuple[str, int], Definition] = {}

    def payload(self, record: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
        """The payload as this reader may see it, and whether anything was masked."""
        payload = record["payload"]
        definition = self._definition(record["program"], record["definition_version"])
        if may_see_pii(definition, self.roles):
            return payload, False
        masked = masked_data(definition, payload)
        return masked, masked != payload

    def _definition(self, program: str, version: int) -> Definition:
        key = (program, version)
        if key not in self.definitions:
            query = select(DefinitionVersion).where(DefinitionVersion.program == program)
            row = self.session.scalar(query.where(DefinitionVersion.version == version))
            # a version the record names but the database lost: its newest fields still
            # say which are personal (the verifier reports the missing version)
            row = row or self.session.scalar(query.order_by(DefinitionVersion.version.desc()))
            if row is None:
                raise NotFound(
                    Label(
                        id=f"tidak ada alur kerja program '{program}' yang tersimpan",
                        en=f"no definition of program '{program}' is stored",
                    )
                )
            self.definitions[key] = self.context.definition(row)
        return self.definitions[key]
