"""Users, their roles and region scopes; passwords are stored as Argon2 hashes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import select

from engine.errors import Conflict, InvalidData, NotFound
from engine.language.roles import BUILTIN_ROLES
from engine.runtime.context import Context
from engine.store.db import write_session
from engine.store.models import DefinitionVersion, Region, RoleGrant, User

_hasher = PasswordHasher()


def user_json(user: User) -> dict[str, Any]:
    return {
        "name": user.name,
        "active": user.active,
        "grants": [{"role": g.role, "region": g.region_code} for g in user.grants],
    }


class Users:
    def __init__(self, context: Context) -> None:
        self.context = context

    def known_roles(self) -> dict[str, str | None]:
        """Built-in roles plus those declared by published definitions, with their levels."""
        roles = {name: spec.level for name, spec in BUILTIN_ROLES.items()}
        with self.context.sessions() as session:
            for row in session.scalars(
                select(DefinitionVersion).where(DefinitionVersion.status == "published")
            ):
                for name, spec in self.context.definition(row).roles.items():
                    roles.setdefault(name, spec.level)
        return roles

    def add(
        self, name: str, role: str, regions: Sequence[str] = (), password: str | None = None
    ) -> dict[str, Any]:
        """Create a user holding ``role`` in each of ``regions`` (or everywhere if none)."""
        name = name.strip()
        if not name or len(name) > 100 or any(ch.isspace() for ch in name):
            raise InvalidData("user name must be 1-100 characters without spaces")
        roles = self.known_roles()
        if role not in roles:
            raise InvalidData(f"unknown role '{role}' (one of {', '.join(sorted(roles))})")
        level = roles[role]
        if password is not None and len(password) < 8:
            raise InvalidData("password must have at least 8 characters")
        with write_session(self.context.sessions) as session:
            if session.scalar(select(User).where(User.name == name)) is not None:
                raise Conflict(f"user '{name}' already exists")
            for code in regions:
                region = session.get(Region, code)
                if region is None:
                    raise NotFound(f"no region {code}")
                if level is not None and region.level != level:
                    raise InvalidData(
                        f"role {role} is scoped to a {level}; {code} is a {region.level}"
                    )
            user = User(name=name, password_hash=_hasher.hash(password) if password else None)
            user.grants = [RoleGrant(role=role, region_code=code) for code in regions] or [
                RoleGrant(role=role)
            ]
            session.add(user)
            session.flush()
            return user_json(user)

    def set_password(self, name: str, password: str) -> None:
        """Replace a user's password (stored as an Argon2 hash)."""
        if len(password) < 8:
            raise InvalidData("password must have at least 8 characters")
        with write_session(self.context.sessions) as session:
            user = session.scalar(select(User).where(User.name == name))
            if user is None:
                raise NotFound(f"no user '{name}'")
            user.password_hash = _hasher.hash(password)

    def list(self) -> list[dict[str, Any]]:
        with self.context.sessions() as session:
            return [user_json(u) for u in session.scalars(select(User).order_by(User.name))]

    def check_password(self, name: str, password: str) -> bool:
        """True if the user exists, is active and the password matches."""
        with self.context.sessions() as session:
            user = session.scalar(select(User).where(User.name == name))
            if user is None or not user.active or not user.password_hash:
                return False
            try:
                return _hasher.verify(user.password_hash, password)
            except VerificationError:
                return False
