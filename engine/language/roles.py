"""Built-in vocabulary shared by definitions, the store and the runtime: region levels,
roles with their scope level, and the kinds of case subject."""

from __future__ import annotations

from engine.language.model import Label, RoleSpec

#: Administrative levels from the widest to the narrowest; ``group`` is a community group
#: (Pokmas, KUBE, RT Mandiri group) registered under an RT or kelurahan.
LEVELS = ("provinsi", "kota", "kecamatan", "kelurahan", "rw", "rt", "group")

BUILTIN_ROLES: dict[str, RoleSpec] = {
    spec.name: spec
    for spec in (
        RoleSpec("ketua_rt", "rt", Label("Ketua RT", "RT head")),
        RoleSpec("pokmas", "rt", Label("Pokmas", "Pokmas (community implementing group)")),
        RoleSpec("pendamping", "kelurahan", Label("Pendamping", "Facilitator")),
        RoleSpec("kelurahan", "kelurahan", Label("Kelurahan", "Kelurahan office")),
        RoleSpec("kecamatan", "kecamatan", Label("Kecamatan", "Kecamatan office")),
        RoleSpec("city", "kota", Label("Pemerintah kota (Bappeda)", "City government (Bappeda)")),
        RoleSpec("skpd", "kota", Label("SKPD", "City agency (SKPD)")),
        RoleSpec("dinsos", "provinsi", Label("Dinas Sosial", "Social affairs office (Dinsos)")),
        RoleSpec("call_centre", "kota", Label("Pusat layanan (call centre)", "Call centre")),
        RoleSpec("program_officer", None, Label("Pengelola program", "Program officer")),
        RoleSpec("auditor", None, Label("Auditor", "Auditor")),
        RoleSpec("admin", None, Label("Administrator", "Administrator")),
    )
}

#: Roles that only read: they answer residents' questions about cases and may never fire,
#: start, bulk-fire or migrate anything (the definition checker refuses them in a
#: transition's ``roles``; :meth:`engine.runtime.access.Actor.authorize` never grants them).
READ_ONLY_ROLES = frozenset({"call_centre"})

#: What one case can be about, and the region level its subject code must have.
SUBJECTS: dict[str, str] = {
    "rt": "rt",
    "rw": "rw",
    "kelurahan": "kelurahan",
    "group": "group",
    "household_group": "group",
}


def level_rank(level: str) -> int:
    """0 for provinsi ... 6 for group: smaller is wider."""
    return LEVELS.index(level)
