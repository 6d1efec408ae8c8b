"""The plan of `rukun demo --scale`: the paths of :data:`PATHS` with their programs'
definitions, the regions they run in, the seeded users who act on them, and the template
cases driven along them (:mod:`engine.demo_scale`), which :mod:`engine.demo_copies` copies."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from engine.errors import InvalidData
from engine.language import Definition
from engine.language.model import FieldSpec
from engine.language.roles import BUILTIN_ROLES, SUBJECTS
from engine.runtime import Rukun
from engine.store.models import DefinitionVersion

PATHS = Path(__file__).resolve().parent / "demo_scale.yaml"
#: Seeded users are named ``scale_<role>_<region>``; the cases they opened are scale data.
USER_PREFIX = "scale_"
WITA = dt.timezone(dt.timedelta(hours=8))


@dataclass(frozen=True)
class PathSpec:
    """One path of a program through its workflow (see :data:`PATHS`)."""

    name: str
    weight: int
    subject: str
    steps: tuple[tuple[str, str, dict[str, Any], dict[str, str]], ...]
    link: str | None

    @property
    def roles(self) -> set[str]:
        return {role for _, role, _, _ in self.steps}


@dataclass
class ProgramPlan:
    """A program's share of the seeded cases, its paths and the RTs they may run in."""

    definition: Definition
    version: DefinitionVersion
    weight: int
    paths: list[PathSpec]
    sites: list[str] = field(default_factory=list)

    @property
    def program(self) -> str:
        return self.definition.program

    def level(self, role: str) -> str | None:
        spec = self.definition.roles.get(role) or BUILTIN_ROLES.get(role)
        if spec is None:
            raise InvalidData(f"{PATHS.name}: {self.program} has no role '{role}'")
        return spec.level


def load_paths(app: Rukun) -> list[ProgramPlan]:
    """:data:`PATHS` with each program's published definition."""
    document = yaml.safe_load(PATHS.read_text(encoding="utf-8"))
    plan = []
    with app.context.sessions() as session:
        for program, spec in document["programs"].items():
            version = session.scalar(
                select(DefinitionVersion).where(
                    DefinitionVersion.program == program, DefinitionVersion.status == "published"
                )
            )
            if version is None:
                raise InvalidData(f"{PATHS.name}: no published program '{program}'")
            paths = [
                PathSpec(
                    name=path["name"],
                    weight=int(path["weight"]),
                    subject=path.get("subject", ""),
                    steps=tuple(
                        (step[0], step[1], dict(step[2]), dict(step[3]) if len(step) > 3 else {})
                        for step in path["steps"]
                    ),
                    link=_link_of(path["steps"]),
                )
                for path in spec["paths"]
            ]
            plan.append(
                ProgramPlan(app.context.definition(version), version, int(spec["weight"]), paths)
            )
    return plan


def _link_of(steps: Sequence[Sequence[Any]]) -> str | None:
    for step in steps:
        for value in step[2].values():
            if isinstance(value, str) and value.startswith("{link:"):
                return value[6:-1]
    return None


@dataclass
class RegionIndex:
    """Every region's level and path, to find a subject's ancestors without queries."""

    levels: dict[str, str]
    paths: dict[str, str]

    def ancestor(self, code: str, level: str) -> str:
        for ancestor in self.paths[code].split("/"):
            if self.levels[ancestor] == level:
                return ancestor
        raise InvalidData(f"region {code} is not inside a {level}")

    def sites(self, program: ProgramPlan) -> list[str]:
        """The demo RTs in the program's regions with a subject for each of its paths."""
        level = SUBJECTS[program.definition.subject]
        wanted = set(program.definition.regions)
        return sorted(
            code
            for code, path in self.paths.items()
            if self.levels[code] == "rt"
            and (not wanted or wanted & set(path.split("/")))
            and all(self.levels.get(code + p.subject) == level for p in program.paths)
        )


@dataclass
class Template:
    """A case driven through the engine along one path: what its copies copy."""

    program: ProgramPlan
    path: PathSpec
    case_id: int
    site: str
    year: int
    records: list[dict[str, Any]]
    #: Indexes of the records whose guard results name an actor, a region or the year.
    named: set[int] = field(default_factory=set)


def user_name(role: str, region: str | None) -> str:
    """The seeded user holding ``role`` in ``region`` (None: everywhere)."""
    return f"{USER_PREFIX}{role}_{region}" if region else f"{USER_PREFIX}{role}"


def actor_for(program: ProgramPlan, regions: RegionIndex, role: str, subject: str) -> str:
    """The seeded user who acts as ``role`` on a case about ``subject``."""
    level = program.level(role)
    return user_name(role, regions.ancestor(subject, level) if level else None)


def household_members(spec: FieldSpec, kecamatan: str, number: int) -> list[dict[str, str]]:
    """The households of a list field of NIK items (a new KUBE): well-formed NIK and KK
    numbers of the kecamatan, distinct for each ``number`` (a case id)."""
    prefix = kecamatan.replace(".", "")[:6]
    count = spec.min_items or 10
    members = []
    for index in range(count):
        n = number * count + index
        serial, rest = 1 + n % 9999, n // 9999
        born = f"{1 + rest % 28:02d}{1 + rest // 28 % 12:02d}{60 + rest // 336 % 40:02d}"
        item: dict[str, str] = {}
        for name, sub in (spec.item or {}).items():
            if sub.type == "nik":
                item[name] = f"{prefix}{born}{serial:04d}"
            elif sub.type == "kk_number":
                item[name] = f"{prefix}{n % 10**10:010d}"
            else:
                item[name] = f"Kepala Keluarga Demo {n}"
        members.append(item)
    return members
