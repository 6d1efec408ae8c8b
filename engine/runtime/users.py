"""Users, their roles and region scopes; passwords are stored as Argon2 hashes."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import Conflict, InvalidData, NotFound
from engine.language.roles import BUILTIN_ROLES
from engine.runtime.context import Context
from engine.runtime.levels import level_word
from engine.runtime.mail import MAX_ADDRESS, valid_address
from engine.store.db import write_session
from engine.store.models import DefinitionVersion, GrantEvent, Region, RoleGrant, User
from engine.text import Label

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 8


def user_json(user: User) -> dict[str, Any]:
    return {
        "name": user.name,
        "active": user.active,
        "email": user.email,
        "grants": [{"role": g.role, "region": g.region_code} for g in user.grants],
    }


def generate_password() -> str:
    """A strong random password (about 96 bits) for a user who was given none."""
    return secrets.token_urlsafe(12)


def _grant_label(role: str, region: str | None) -> str:
    return f"{role}@{region or '*'}"


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
        self,
        name: str,
        role: str,
        regions: Sequence[str] = (),
        password: str | None = None,
        by: str | None = None,
        email: str | None = None,
    ) -> dict[str, Any]:
        """Create a user holding ``role`` in each of ``regions`` (or everywhere if none),
        with an e-mail address for notifications if given."""
        name = name.strip()
        if not name or len(name) > 100 or any(ch.isspace() for ch in name):
            raise InvalidData(
                Label(
                    id="nama pengguna terdiri atas 1-100 karakter tanpa spasi",
                    en="user name must be 1-100 characters without spaces",
                )
            )
        level = self._role_level(role)
        if password is not None:
            _check_password(password)
        email = _check_email(email)
        with write_session(self.context.sessions) as session:
            if session.scalar(select(User).where(User.name == name)) is not None:
                raise Conflict(
                    Label(id=f"pengguna '{name}' sudah ada", en=f"user '{name}' already exists")
                )
            for code in regions:
                _check_region(session, role, level, code)
            user = User(
                name=name, password_hash=_hasher.hash(password) if password else None, email=email
            )
            user.grants = [RoleGrant(role=role, region_code=code) for code in regions] or [
                RoleGrant(role=role)
            ]
            session.add(user)
            session.add_all(_event(name, "granted", g.role, g.region_code, by) for g in user.grants)
            session.flush()
            return user_json(user)

    def grant(
        self, name: str, role: str, region: str | None = None, by: str | None = None
    ) -> dict[str, Any]:
        """Give an existing user ``role`` in ``region`` (or everywhere if None), checked like
        :meth:`add`: the role must be known and the region of the role's level."""
        level = self._role_level(role)
        region = region or None
        with write_session(self.context.sessions) as session:
            user = _user(session, name)
            if region is not None:
                _check_region(session, role, level, region)
            if any(g.role == role and g.region_code == region for g in user.grants):
                grant = _grant_label(role, region)
                raise Conflict(
                    Label(
                        id=f"pengguna '{name}' sudah memegang {grant}",
                        en=f"user '{name}' already holds {grant}",
                    )
                )
            user.grants.append(RoleGrant(role=role, region_code=region))
            session.add(_event(name, "granted", role, region, by))
            session.flush()
            return user_json(user)

    def revoke(
        self, name: str, role: str, region: str | None = None, by: str | None = None
    ) -> dict[str, Any]:
        """Take ``role`` in ``region`` away from a user, who must keep at least one grant;
        ``by`` (the admin doing it) may not take their own last admin grant."""
        region = region or None
        with write_session(self.context.sessions) as session:
            user = _user(session, name)
            label = _grant_label(role, region)
            found = [g for g in user.grants if g.role == role and g.region_code == region]
            if not found:
                held = ", ".join(_grant_label(g.role, g.region_code) for g in user.grants)
                raise NotFound(
                    Label(
                        id=f"pengguna '{name}' tidak memegang {label} (memegang: "
                        f"{held or 'tidak ada'})",
                        en=f"user '{name}' does not hold {label} (holds: {held or 'none'})",
                    )
                )
            if len(user.grants) == 1:
                raise Conflict(
                    Label(
                        id=f"{label} tidak dapat dicabut: itu satu-satunya hak pengguna "
                        f"'{name}'; berikan peran lain lebih dulu, atau nonaktifkan pengguna",
                        en=f"cannot revoke {label}: it is the only grant of user '{name}'; "
                        "grant another role first, or deactivate the user",
                    )
                )
            if by == name and role == "admin" and sum(g.role == "admin" for g in user.grants) == 1:
                raise Conflict(
                    Label(
                        id=f"{label} tidak dapat dicabut: itu hak admin terakhir Anda sendiri; "
                        "mintalah admin lain melakukannya",
                        en=f"cannot revoke {label}: it is your own last admin grant; "
                        "ask another admin to do it",
                    )
                )
            user.grants.remove(found[0])
            session.add(_event(name, "revoked", role, region, by))
            session.flush()
            return user_json(user)

    def set_active(self, name: str, active: bool, by: str | None = None) -> dict[str, Any]:
        """Deactivate a user (they can no longer sign in or act) or reactivate them; ``by``
        (the admin doing it) may not deactivate themself."""
        if by == name and not active:
            raise Conflict(
                Label(
                    id=f"pengguna '{name}' tidak dapat menonaktifkan akunnya sendiri; mintalah "
                    "admin lain",
                    en=f"user '{name}' cannot deactivate their own account; ask another admin",
                )
            )
        with write_session(self.context.sessions) as session:
            user = _user(session, name)
            if user.active != active:
                session.add(_event(name, "activated" if active else "deactivated", by=by))
            user.active = active
            session.flush()
            return user_json(user)

    def set_email(self, name: str, email: str | None, by: str | None = None) -> dict[str, Any]:
        """Set (or, with None or "", remove) the address a user's notification e-mails go
        to. ``by`` is who asks: an admin (None: the command line)."""
        email = _check_email(email)
        with write_session(self.context.sessions) as session:
            if by is not None:
                action = Label(
                    id=f"mengubah alamat e-mail '{name}'",
                    en=f"change the e-mail address of '{name}'",
                )
                self.context.actor(session, by).require_role(("admin",), action)
            user = _user(session, name)
            user.email = email
            session.flush()
            return user_json(user)

    def _role_level(self, role: str) -> str | None:
        """The region level ``role`` is scoped to (None: any); InvalidData if unknown."""
        roles = self.known_roles()
        if role not in roles:
            one_of = ", ".join(sorted(roles))
            raise InvalidData(
                Label(
                    id=f"peran '{role}' tidak dikenal (salah satu dari {one_of})",
                    en=f"unknown role '{role}' (one of {one_of})",
                )
            )
        return roles[role]

    def set_password(self, name: str, password: str) -> None:
        """Replace a user's password (stored as an Argon2 hash)."""
        _check_password(password)
        with write_session(self.context.sessions) as session:
            _user(session, name).password_hash = _hasher.hash(password)

    def list(self, search: str | None = None) -> list[dict[str, Any]]:
        """Users by name (those whose name contains ``search``, ignoring case); each grant
        also carries its region's name."""
        with self.context.sessions() as session:
            query = select(User).order_by(User.name)
            if search:
                query = query.where(User.name.icontains(search.strip(), autoescape=True))
            users = list(session.scalars(query))
            codes = {g.region_code for u in users for g in u.grants if g.region_code}
            names = {
                code: region_name
                for code, region_name in session.execute(
                    select(Region.code, Region.name).where(Region.code.in_(codes))
                )
            }
            rows = []
            for user in users:
                row = user_json(user)
                for grant in row["grants"]:
                    grant["region_name"] = names.get(grant["region"]) if grant["region"] else None
                rows.append(row)
            return rows

    def credential_stamp(self, name: str) -> str | None:
        """A short fingerprint of the user's current password hash (None for an unknown,
        inactive or password-less user): a web session made with it ends once the password
        changes."""
        with self.context.sessions() as session:
            user = session.scalar(select(User).where(User.name == name))
            if user is None or not user.active or not user.password_hash:
                return None
            return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]

    def check_password(self, name: str, password: str) -> bool:
        """True if the user exists, is active and the password matches. An unknown,
        inactive or password-less user costs one Argon2 verification too (against a dummy
        hash), so the answer's time does not tell which names exist."""
        with self.context.sessions() as session:
            user = session.scalar(select(User).where(User.name == name))
            stored = user.password_hash if user is not None and user.active else None
        try:
            matches = _hasher.verify(stored or _dummy_hash(), password)
        except VerificationError:
            return False
        return matches and bool(stored)


def _event(
    user: str,
    change: str,
    role: str | None = None,
    region: str | None = None,
    by: str | None = None,
) -> GrantEvent:
    """One entry of the grant log (what replay asks: did this user hold that role then?)."""
    return GrantEvent(user_name=user, change=change, role=role, region_code=region, by=by)


def _user(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise NotFound(Label(id=f"tidak ada pengguna '{name}'", en=f"no user '{name}'"))
    return user


@cache
def _dummy_hash() -> str:
    """An Argon2 hash of a random password, made with the current parameters on first use
    (not at import: the command line would pay for it on every start)."""
    return _hasher.hash(secrets.token_urlsafe(16))


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidData(
            Label(
                id=f"kata sandi paling sedikit {MIN_PASSWORD_LENGTH} karakter",
                en=f"password must have at least {MIN_PASSWORD_LENGTH} characters",
            )
        )


def _check_email(email: str | None) -> str | None:
    """The address stripped (None for none); InvalidData unless it is a plain address."""
    email = (email or "").strip()
    if not email:
        return None
    if not valid_address(email):
        raise InvalidData(
            Label(
                id=f"bukan alamat e-mail yang diterima Rukun: nama@contoh.go.id, paling banyak "
                f"{MAX_ADDRESS} karakter, tanpa spasi, tanda kutip, atau ganti baris",
                en=f"not an e-mail address Rukun accepts: name@example.go.id, at most "
                f"{MAX_ADDRESS} characters, no spaces, quotes or line breaks",
            )
        )
    return email


def _check_region(session: Session, role: str, level: str | None, code: str) -> None:
    """The region exists and is of the level ``role`` is scoped to."""
    region = session.get(Region, code)
    if region is None:
        raise NotFound(Label(id=f"tidak ada wilayah {code}", en=f"no region {code}"))
    if level is not None and region.level != level:
        raise InvalidData(
            Label(
                id=f"peran {role} berlaku untuk satu {level_word(level)}; {code} adalah "
                f"{level_word(region.level)}",
                en=f"role {role} is scoped to a {level}; {code} is a {region.level}",
            )
        )
