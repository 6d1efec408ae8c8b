"""`rukun demo --scale N`: seeded cases of the four programs with about ten records each,
that verify clean, show in the case list and inboxes, and take further transitions."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from lokal import is_valid_nik
from sqlalchemy import ColumnElement, func, select

from engine.cli import main
from engine.demo_scale import run_scaled_demo, scale_cases, seed_scale, user_name
from engine.errors import Conflict
from engine.runtime import Rukun
from engine.store.models import Case, TransitionRecord
from tests.builders import World

SEEDED = 300


@pytest.fixture
def seeded(world: World) -> Rukun:
    """The four programs, the demo regions and 300 seeded cases."""
    seed_scale(world.app, SEEDED, 2026, echo=lambda _line: None)
    return world.app


def cases_where(app: Rukun, *conditions: ColumnElement[bool]) -> list[Case]:
    with app.context.sessions() as session:
        return list(session.scalars(select(Case).where(*conditions).order_by(Case.id)))


def test_seeding_gives_n_cases_over_every_program_with_about_ten_records_each(
    seeded: Rukun,
) -> None:
    with seeded.context.sessions() as session:
        per_program = dict(
            session.execute(select(Case.program, func.count()).group_by(Case.program)).all()
        )
        records = session.scalar(select(func.count(TransitionRecord.id)))
    assert set(per_program) == {"probebaya", "prolita", "rt_mandiri", "kube"}
    assert sum(per_program.values()) == SEEDED == scale_cases(seeded)
    assert 8 <= (records or 0) / SEEDED <= 12
    states = {c.state for c in cases_where(seeded)}
    assert {"closed", "draft", "submitted", "implementing", "rejected"} <= states
    kube = [c for c in cases_where(seeded, Case.program == "kube") if "members" in c.data]
    niks = [m["nik"] for c in kube for m in c.data["members"]]
    assert niks and all(is_valid_nik(n) for n in niks) and len(set(niks)) == len(niks)


def test_seeded_cases_verify_clean(seeded: Rukun) -> None:
    verifier = seeded.audit.verifier()
    assert [str(f) for f in verifier.run()] == []
    assert verifier.summary.cases == SEEDED


def test_seeded_cases_fill_the_case_list_and_the_inboxes(seeded: Rukun) -> None:
    city = user_name("city", "64.72")
    listed = seeded.cases.page(viewer=city, limit=50).rows
    assert len(listed) == 50 and {c["program"] for c in listed} <= {"probebaya", "kube"}
    waiting = cases_where(seeded, Case.program == "probebaya", Case.state == "submitted")[0]
    kelurahan = user_name("kelurahan", waiting.region_path.split("/")[3])
    inbox = seeded.cases.inbox(kelurahan).rows
    assert waiting.id in {c["id"] for c in inbox}
    overdue = seeded.cases.page(viewer=city, overdue=True, limit=5).rows
    assert overdue


def test_a_seeded_case_takes_a_normal_transition(seeded: Rukun) -> None:
    case = cases_where(seeded, Case.program == "probebaya", Case.state == "submitted")[0]
    kelurahan = user_name("kelurahan", case.region_path.split("/")[3])
    moved = seeded.cases.fire(case.id, "verify", kelurahan, {"verification_notes": "Lengkap"})
    assert (moved["state"], moved["version"]) == ("verified", case.version + 1)
    assert list(seeded.audit.verifier(case_id=case.id).run()) == []


def test_seeding_a_database_with_fewer_seeded_cases_is_refused(seeded: Rukun) -> None:
    with pytest.raises(Conflict, match="stopped part-way"):
        run_scaled_demo(seeded, 2026, SEEDED + 1, lambda _line: None)
    assert scale_cases(seeded) == SEEDED


def test_rukun_demo_scale_seeds_once_without_serving(app: Rukun, env: dict[str, str]) -> None:
    def demo() -> str:
        result = CliRunner().invoke(
            main, ["demo", "--scale", "50", "--no-serve"], env=env, catch_exceptions=False
        )
        assert result.exit_code == 0, result.output
        return result.stdout

    assert "seeded 50 cases" in demo()
    assert "nothing seeded" in demo()
    assert scale_cases(app) == 50
    assert list(app.audit.verifier().run()) == []
