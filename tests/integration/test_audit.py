"""Auditors' replay and verification, on every configured database: the demo's histories
replay to the stored cases, and every tampering an attacker with database rights might try
is caught by `audit verify`, naming the case and the sequence number."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Connection, Engine, delete, insert, select, text, update
from sqlalchemy.exc import DBAPIError

from engine.audit.projection import Projection
from engine.cli import main
from engine.demo import run_demo
from engine.errors import Forbidden, InvalidData
from engine.runtime import Rukun
from engine.runtime.case_views import record_json
from engine.store.chain import GENESIS, record_hash
from engine.store.db import upgrade
from engine.store.models import Case, CaseLink, LedgerEntry, TransitionRecord
from engine.store.privileges import APPEND_ONLY_TABLES, app_role_statements, grant_app_role

Tamper = Callable[[Rukun], Any]
APPEND_ONLY = ("transition_records", "ledger_entries", "chain_anchors", "anchor_heads")


@pytest.fixture
def demo(app: Rukun) -> Rukun:
    """The demo: a Probebaya case end to end and cases of every program in many states."""
    run_demo(app, 2026, lambda _line: None)
    return app


@pytest.fixture
def tampering(owner_engine: Engine) -> Tamper:
    """A connection of someone with full rights who switched the append-only triggers off."""

    @contextmanager
    def connect(_app: Rukun) -> Iterator[Connection]:
        with owner_engine.begin() as connection:
            _triggers_off(connection)
            yield connection

    return connect


def _triggers_off(connection: Connection) -> None:
    for table in APPEND_ONLY:
        if connection.dialect.name == "sqlite":
            for when in ("update", "delete"):
                connection.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_{when}"))
        else:
            connection.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))


def findings(app: Rukun, **kwargs: Any) -> list[str]:
    return [str(f) for f in app.audit.verifier(**kwargs).run()]


def records(app: Rukun, case_id: int) -> list[dict[str, Any]]:
    return app.cases.history(case_id)


def case_with(app: Rukun, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    return next(c for c in app.cases.list(limit=1000) if predicate(app.cases.show(c["id"])))


def test_demo_verifies_and_every_case_replays_to_what_is_stored(demo: Rukun) -> None:
    verifier = demo.audit.verifier()
    assert list(verifier.run()) == []
    summary = verifier.summary
    cases = demo.cases.list(limit=1000)
    assert summary.cases == len(cases) > 10
    assert summary.records == sum(c["version"] for c in cases)
    assert summary.documents > 0 and summary.old_rule_records == 0
    for case in cases:
        replay = demo.audit.replay(case["id"])
        stored = demo.cases.show(case["id"])
        assert replay["divergences"] == [], case["id"]
        assert (replay["state"], replay["version"]) == (stored["state"], stored["version"])
        assert replay["data"] == stored["data"]
        assert replay["ledger"] == stored["ledger"]
        assert all(s["role_ok"] and s["guards_ok"] and s["matches"] for s in replay["steps"])


def test_replay_at_a_moment_mid_history_gives_the_earlier_case(demo: Rukun) -> None:
    history = records(demo, 1)
    middle = history[8]  # after the approval, before the second tranche
    replay = demo.audit.replay(1, dt.datetime.fromisoformat(middle["at"]))
    assert replay["state"] == middle["dest"] != demo.cases.show(1)["state"]
    assert replay["version"] == middle["seq"]
    assert [s["seq"] for s in replay["steps"]] == list(range(1, middle["seq"] + 1))
    # the ledger as it stood: entries posted up to then, not the later tranches and LPJs
    later = sum(1 for r in history[middle["seq"] :] for _ in (r["effects"] or {}).get("ledger", []))
    now = demo.audit.replay(1)["ledger"]
    assert later > 0
    assert replay["ledger"]["totals"]["disbursed"] < now["totals"]["disbursed"]
    assert replay["divergences"] == []


def test_replay_guards_see_the_data_as_it_stood(demo: Rukun, tampering: Tamper) -> None:
    """Guards are evaluated again, not copied: a guard that failed in the stored record's
    own data would show as a divergence (here: a record's payload rewritten to break quorum,
    its chain recomputed so only the replay can tell)."""
    case_id = 1
    history = records(demo, case_id)
    rembug = next(r for r in history if r["trigger"] == "record_rembug")
    with tampering(demo) as connection:
        rewrite_chain(connection, case_id, {rembug["seq"]: {"attendees": 1}})
    replay = demo.audit.replay(case_id)
    step = next(s for s in replay["steps"] if s["seq"] == rembug["seq"])
    assert step["guards_ok"] is False and step["matches"] is False
    fields = {(d["seq"], d["field"]) for d in replay["divergences"]}
    assert (rembug["seq"], "guards") in fields
    assert any(f == "data" for _, f in fields)  # the stored case still has the real number


def rewrite_chain(
    connection: Connection,
    case_id: int,
    payloads: dict[int, dict[str, Any]],
    rule: int = 2,
    actors: dict[int, str] | None = None,
) -> None:
    """Rewrite a case's records (payload changes and actors by seq, the hash rule) and
    recompute every hash: what someone with full rights does to hide a change from the
    chain check, and the case row's chain head with them."""
    rows = connection.execute(
        select(TransitionRecord)
        .where(TransitionRecord.case_id == case_id)
        .order_by(TransitionRecord.seq)
    ).all()
    prev = GENESIS
    for row in rows:
        fields = {c: getattr(row, c) for c in row._fields}
        fields["payload"] = {**fields["payload"], **payloads.get(row.seq, {})}
        fields["actor"] = (actors or {}).get(row.seq, row.actor)
        fields["prev_hash"] = prev
        fields["rule"] = rule
        if rule == 1:
            fields["effects"] = None
        digest = record_hash(fields)
        connection.execute(
            update(TransitionRecord)
            .where(TransitionRecord.id == row.id)
            .values(
                payload=fields["payload"],
                actor=fields["actor"],
                prev_hash=prev,
                hash=digest,
                rule=rule,
                effects=fields["effects"],
            )
        )
        prev = digest
    # the case row's chain head follows (migration 0008 set it from the last record)
    connection.execute(update(Case).where(Case.id == case_id).values(head_hash=prev))


def _edit_payload(app: Rukun, c: Connection) -> tuple[int, int]:
    c.execute(
        update(TransitionRecord)
        .where(TransitionRecord.case_id == 1, TransitionRecord.seq == 2)
        .values(payload={"attendees": 99})
    )
    return 1, 2


def _delete_record(app: Rukun, c: Connection) -> tuple[int, int]:
    c.execute(
        delete(TransitionRecord).where(TransitionRecord.case_id == 1, TransitionRecord.seq == 5)
    )
    return 1, 6


def _swap_records(app: Rukun, c: Connection) -> tuple[int, int]:
    where = TransitionRecord.case_id == 1
    c.execute(update(TransitionRecord).where(where, TransitionRecord.seq == 3).values(seq=-3))
    c.execute(update(TransitionRecord).where(where, TransitionRecord.seq == 4).values(seq=3))
    c.execute(update(TransitionRecord).where(where, TransitionRecord.seq == -3).values(seq=4))
    return 1, 3


def _change_ledger(app: Rukun, c: Connection) -> tuple[int, int]:
    entry = c.execute(select(LedgerEntry).where(LedgerEntry.kind == "tranche")).first()
    assert entry is not None
    c.execute(
        update(LedgerEntry).where(LedgerEntry.id == entry.id).values(amount=entry.amount * 10)
    )
    return entry.case_id, entry.seq


def _change_state(app: Rukun, c: Connection) -> tuple[int, int]:
    c.execute(update(Case).where(Case.id == 2).values(state="closed", data={}))
    return 2, app.cases.show(2)["version"]


def _add_link(app: Rukun, c: Connection) -> tuple[int, int]:
    c.execute(insert(CaseLink).values(case_id=1, field="upstream_groups", link="x", target_id=2))
    return 1, app.cases.show(1)["version"]


def _overwrite_document(app: Rukun, c: Connection) -> tuple[int, int]:
    record = next(r for r in records(app, 1) if r["documents"])
    path = app.context.documents.path_for(next(iter(record["documents"].values())))
    path.write_bytes(b"%PDF-1.4 forged")
    return 1, record["seq"]


TAMPERINGS = {
    "payload edited": (_edit_payload, "hash does not match"),
    "record deleted": (_delete_record, "sequence gap"),
    "records swapped": (_swap_records, "prev_hash does not match"),
    "ledger amount changed": (_change_ledger, "ledger["),
    "case state and data changed": (_change_state, "case state differs"),
    "link added": (_add_link, "links differs"),
    "document overwritten": (_overwrite_document, "was changed"),
}


@pytest.mark.parametrize("name", sorted(TAMPERINGS))
def test_verify_catches_tampering_naming_case_and_seq(
    demo: Rukun, name: str, tampering: Tamper
) -> None:
    tamper, reason = TAMPERINGS[name]
    with tampering(demo) as connection:
        case_id, seq = tamper(demo, connection)
    found = findings(demo)
    assert any(f.startswith(f"case {case_id} seq {seq}: ") and reason in f for f in found), found
    # the one-case form says the same, and other cases are not blamed for it
    assert any(reason in b["reason"] for b in demo.cases.verify(case_id))
    assert all(f.startswith(f"case {case_id} ") for f in found)


def test_report_budget_cannot_hide_inflated_money_from_verify(
    demo: Rukun, tampering: Tamper
) -> None:
    with tampering(demo) as connection:
        connection.execute(update(LedgerEntry).values(amount=LedgerEntry.amount * 10))
    found = findings(demo)
    cases_with_money = {e.case_id for e in _ledger(demo)}
    assert {int(f.split()[1]) for f in found} == cases_with_money


def _ledger(app: Rukun) -> list[Any]:
    with app.context.sessions() as session:
        return list(session.scalars(select(LedgerEntry)))


def test_a_tail_cut_back_consistently_is_caught_by_an_earlier_anchor(
    demo: Rukun, tampering: Tamper
) -> None:
    anchor = demo.audit.anchor("demo_auditor")
    assert anchor["cases"] == len(demo.cases.list(limit=1000))
    case_id = 1
    history = records(demo, case_id)
    keep = history[:-3]
    with tampering(demo) as connection:
        cut_back(connection, case_id, keep, demo)
    assert findings(demo) == []  # consistent: the chain and the rows agree again
    found = findings(demo, anchor=anchor["digest"])
    assert found == [
        f"case {case_id} seq {history[-1]['seq']}: record covered by anchor "
        f"{anchor['digest']} is missing (the history now ends at seq {keep[-1]['seq']})"
    ]


def cut_back(connection: Connection, case_id: int, keep: list[dict[str, Any]], app: Rukun) -> None:
    """Delete a case's last records and make its rows agree with the shorter history."""
    last = keep[-1]["seq"]
    connection.execute(
        delete(TransitionRecord).where(
            TransitionRecord.case_id == case_id, TransitionRecord.seq > last
        )
    )
    connection.execute(
        delete(LedgerEntry).where(LedgerEntry.case_id == case_id, LedgerEntry.seq > last)
    )
    projection = Projection(case_id)
    with app.context.sessions() as session:
        rows = session.scalars(select(TransitionRecord).where(TransitionRecord.case_id == case_id))
        definition = app.context.definition(session.get(Case, case_id).definition_version)
        for row in sorted(rows, key=lambda r: r.seq)[: len(keep)]:
            projection.apply(record_json(row), definition)
    values = projection.values

    def when(name: str) -> dt.datetime | None:
        return dt.datetime.fromisoformat(values[name]) if values[name] else None

    connection.execute(
        update(Case)
        .where(Case.id == case_id)
        .values(
            state=values["state"],
            data=values["data"],
            version=values["version"],
            updated_at=when("updated_at"),
            state_entered_at=when("state_entered_at"),
            due_at=when("due_at"),
            escalated_at=when("escalated_at"),
            head_hash=values["head_hash"],
        )
    )


def test_anchor_rows_changed_or_removed_are_reported(demo: Rukun, tampering: Tamper) -> None:
    anchor = demo.audit.anchor()
    assert demo.audit.anchor()["digest"] == anchor["digest"]  # nothing changed: same anchor
    with tampering(demo) as connection:
        connection.execute(text("UPDATE anchor_heads SET seq = seq - 1 WHERE case_id = 1"))
    found = findings(demo, anchor=anchor["digest"])
    assert any("stored heads no longer give this digest" in f for f in found), found


def test_append_only_tables_refuse_changes(demo: Rukun, owner_engine: Engine) -> None:
    """Even the tables' owner is refused while the triggers are in place."""
    demo.audit.anchor()
    statements = [
        "UPDATE ledger_entries SET amount = 1",
        "DELETE FROM ledger_entries",
        "DELETE FROM anchor_heads",
        "UPDATE chain_anchors SET root = 'x'",
        "DELETE FROM grant_events",
    ]
    if demo.engine.dialect.name == "postgresql":
        statements += [
            f"TRUNCATE {t} CASCADE"
            for t in ("transition_records", "ledger_entries", "chain_anchors", "grant_events")
        ]
    for statement in statements:
        with pytest.raises(DBAPIError, match="append-only"), owner_engine.begin() as connection:
            connection.execute(text(statement))
    assert findings(demo) == []


def test_records_written_before_the_migration_verify_under_rule_1(
    demo: Rukun, tampering: Tamper
) -> None:
    """A database from before migration 0006: records without effects, hashed under rule 1.
    They still verify and replay (ledger and links derived from the definition), and the
    summary says how many there are."""
    with tampering(demo) as connection:
        rewrite_chain(connection, 1, {}, rule=1)
    verifier = demo.audit.verifier()
    assert list(verifier.run()) == []
    assert verifier.summary.old_rule_records == len(records(demo, 1))
    assert any("rule 1" in line for line in verifier.summary.lines())
    replay = demo.audit.replay(1)
    assert replay["divergences"] == []
    assert replay["old_rule_records"] == [r["seq"] for r in records(demo, 1)]
    # a ledger change is still caught, by deriving the postings again
    with tampering(demo) as connection:
        connection.execute(
            update(LedgerEntry)
            .where(LedgerEntry.case_id == 1)
            .values(amount=LedgerEntry.amount + 1)
        )
    assert any(f.startswith("case 1 seq ") and "ledger[" in f for f in findings(demo))


def test_a_record_downgraded_to_rule_1_after_rule_2_is_reported(
    demo: Rukun, tampering: Tamper
) -> None:
    history = records(demo, 1)
    last = history[-1]
    with tampering(demo) as connection:  # the last one re-hashed under rule 1: no chain break
        fields = {**last, "rule": 1, "effects": None}
        connection.execute(
            update(TransitionRecord)
            .where(TransitionRecord.case_id == 1, TransitionRecord.seq == last["seq"])
            .values(rule=1, effects=None, hash=record_hash(fields))
        )
    assert any(
        f.startswith(f"case 1 seq {last['seq']}: ") and "rule 1 after a rule-2" in f
        for f in findings(demo)
    )


def test_migration_0006_logs_existing_grants(owner_url: str) -> None:
    from engine.settings import Settings

    app = Rukun(Settings.from_env({"RUKUN_DATABASE_URL": owner_url}))
    try:
        upgrade(app.engine, "0005")
        with app.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO users (id, name, active, created_at) "
                    "VALUES (1, 'lama', true, '2025-01-02 03:04:05')"
                )
            )
            connection.execute(
                text("INSERT INTO role_grants (user_id, role) VALUES (1, 'auditor')")
            )
        upgrade(app.engine)
        with app.engine.connect() as connection:
            rows = connection.execute(
                text("SELECT user_name, change, role, by FROM grant_events")
            ).all()
        assert [tuple(r) for r in rows] == [("lama", "granted", "auditor", "migration 0006")]
    finally:
        app.close()


def test_replay_across_a_version_migration(demo: Rukun, tmp_path: Path) -> None:
    from engine.studio.migration import Selection

    source = demo.definitions.get("probebaya")[0].source
    changed = source.replace('"Perlu perbaikan"', '"Perlu diperbaiki"', 1)
    assert changed != source
    path = tmp_path / "probebaya.yaml"
    path.write_text(changed, encoding="utf-8")
    version = demo.definitions.publish(path, "demo_program_officer", "relabel").version
    case_id = next(
        c["id"]
        for c in demo.cases.list(program="probebaya", limit=1000)
        if not c["final"] and c["definition_version"] == 1
    )
    plan = demo.studio.migrate(
        "probebaya", version, "demo_program_officer", Selection(case_ids=(case_id,)), note="x"
    )
    assert plan.valid and plan.rows[0]["ok"]
    replay = demo.audit.replay(case_id)
    versions = [s["definition_version"] for s in replay["steps"]]
    assert versions[0] == 1 and versions[-1] == 2
    assert replay["steps"][-1]["kind"] == "migration" and replay["steps"][-1]["role_ok"]
    assert replay["definition_version"] == 2 and replay["divergences"] == []
    assert findings(demo) == []


def test_replay_checks_the_actor_held_the_role_then(demo: Rukun, tampering: Tamper) -> None:
    """A grant revoked later still counts for what the user did while holding it; a
    record whose actor never held the role is reported."""
    history = records(demo, 1)
    kelurahan = [r["seq"] for r in history if r["actor"] == "demo_kelurahan"]
    [grant] = [g for g in _grants(demo, "demo_kelurahan") if g["role"] == "kelurahan"]
    demo.users.grant("demo_kelurahan", "auditor")
    demo.users.revoke("demo_kelurahan", "kelurahan", grant["region"])
    demo.users.set_active("demo_kelurahan", False)
    steps = {s["seq"]: s for s in demo.audit.replay(1)["steps"]}
    assert kelurahan and all(steps[seq]["role_ok"] for seq in kelurahan)
    with tampering(demo) as connection:
        rewrite_chain(connection, 1, {}, actors={history[1]["seq"]: "demo_auditor"})
    replay = demo.audit.replay(1)
    step = next(s for s in replay["steps"] if s["seq"] == history[1]["seq"])
    assert step["role_ok"] is False
    assert any(d["field"] == "role" for d in replay["divergences"])


def _grants(app: Rukun, name: str) -> list[dict[str, Any]]:
    return next(u["grants"] for u in app.users.list() if u["name"] == name)


def test_cli_audit_commands_and_exit_codes(
    demo: Rukun, env: dict[str, str], tampering: Tamper
) -> None:
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(main, list(args), env=env, catch_exceptions=False)

    ok = run("audit", "verify")
    assert ok.exit_code == 0 and "intact" in ok.output
    replay = run("audit", "replay", "1", "--json")
    assert replay.exit_code == 0
    body = json.loads(replay.output)
    assert set(body) >= {
        "case_id",
        "at",
        "state",
        "version",
        "definition_version",
        "data",
        "ledger",
        "steps",
        "divergences",
    }
    assert set(body["steps"][0]) >= {
        "seq",
        "kind",
        "trigger",
        "source",
        "dest",
        "actor",
        "role",
        "role_ok",
        "guards_ok",
        "matches",
    }
    anchor = json.loads(run("audit", "anchor", "--json").output)
    assert run("audit", "verify", "--anchor", anchor["digest"]).exit_code == 0
    assert anchor["digest"] in run("audit", "anchors").output
    assert run("audit", "replay", "1", "--at", "yesterday").exit_code == 2
    assert run("audit", "replay", "1", "--at", "2001-01-01").exit_code == 5
    assert run("audit", "replay", "999").exit_code == 5
    assert run("audit", "verify", "--anchor", "f" * 64).exit_code == 5
    with tampering(demo) as connection:
        _change_state(demo, connection)
    broken = run("audit", "verify", "--program", "probebaya")
    assert broken.exit_code == 1
    assert (
        "case 2 seq " in broken.output and "2 problem(s)" in broken.output
    )  # its state and its data
    assert run("audit", "replay", "2").exit_code == 1


def test_the_app_role_may_only_append_to_the_evidence(app: Rukun, owner_url: str) -> None:
    """The role the app signs in with holds no UPDATE, DELETE or TRUNCATE on the evidence
    tables (what docs/deploy.md sets up and CI runs the PostgreSQL tests as)."""
    statements = app_role_statements("rukun_app", "public")
    for table in APPEND_ONLY_TABLES:
        assert f"GRANT SELECT, INSERT ON public.{table} TO rukun_app" in statements
    assert not any("TRUNCATE" in s for s in statements)
    with pytest.raises(InvalidData):
        app_role_statements("rukun; DROP TABLE cases", "public")
    if app.engine.dialect.name == "sqlite":
        with pytest.raises(InvalidData, match="PostgreSQL"):
            grant_app_role(app.engine, "rukun_app")
        return
    if owner_url == app.context.settings.database_url:
        return  # one role only (no RUKUN_TEST_APP_DATABASE_URL): nothing more to try
    for statement in (
        "UPDATE transition_records SET actor = 'x'",
        "DELETE FROM ledger_entries",
        "TRUNCATE grant_events",
        "ALTER TABLE transition_records DISABLE TRIGGER USER",
    ):
        with (
            pytest.raises(DBAPIError, match=r"permission denied|must be owner"),
            app.engine.begin() as connection,
        ):
            connection.execute(text(statement))


def test_verify_reports_a_broken_database_without_crashing(demo: Rukun, tampering: Tamper) -> None:
    """Rows that are not what the engine writes (a payload that is a list, a document name
    that walks out of storage, a case whose history is gone) are reported one by one."""
    with tampering(demo) as connection:
        connection.execute(
            update(TransitionRecord)
            .where(TransitionRecord.case_id == 1, TransitionRecord.seq == 2)
            .values(payload=[1, 2], documents={"minutes": "../../../../etc/passwd"})
        )
        connection.execute(delete(TransitionRecord).where(TransitionRecord.case_id == 3))
    found = findings(demo)
    assert any(f.startswith("case 1 seq 2: ") and "payload" in f for f in found), found
    assert any(f.startswith("case 1 seq 2: ") and "is not a sha256" in f for f in found)
    assert "case 3 seq -: the case has no history records" in found
    replay = demo.audit.replay(3)
    assert replay["steps"] == [] and replay["divergences"]


def test_verify_streams_in_batches_so_memory_stays_flat(
    scenario: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ten times the cases: the same number of rows held at once, about the same peak."""
    import tracemalloc

    from engine.audit import verify as verify_module

    monkeypatch.setattr(verify_module, "BATCH", 20)
    held: list[int] = []
    original = verify_module.Verifier._batch

    def counting(self: Any, session: Any, cases: Any, *args: Any) -> Any:
        yield from original(self, session, cases, *args)
        held.append(len(session.identity_map))

    monkeypatch.setattr(verify_module.Verifier, "_batch", counting)

    def peak(cases: int) -> tuple[int, int]:
        while len(scenario.app.cases.list(limit=100_000)) < cases:
            scenario.start()
        held.clear()
        verifier = scenario.app.audit.verifier()
        tracemalloc.start()
        assert list(verifier.run()) == []
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert verifier.summary.cases == cases
        return top, max(held)

    small_peak, small_held = peak(40)
    large_peak, large_held = peak(400)
    assert large_held <= small_held  # at most one batch of cases (and their rows) at a time
    assert large_peak < 1.5 * small_peak, (small_peak, large_peak)


def test_escalations_replay_and_verify(demo: Rukun) -> None:
    """`rukun tick` escalations are in the chain too: the replay sets escalated_at as the
    stored case has it, and a later move clears it again."""
    escalated = demo.cases.tick(dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    assert escalated
    assert findings(demo) == []
    for case in escalated:
        replay = demo.audit.replay(case["id"])
        assert replay["divergences"] == [], case["id"]
        last = replay["steps"][-1]
        assert last["kind"] == "escalation" and last["role_ok"] and last["actor"] == "system"


def test_a_scoped_auditor_verifies_only_the_cases_in_their_region(
    demo: Rukun, tampering: Tamper
) -> None:
    demo.users.add("auditor_bontang", "auditor", ["64.74"])
    bontang = [c for c in demo.cases.list(limit=1000) if c["subject"].startswith("64.74.")]
    assert bontang and len(bontang) < len(demo.cases.list(limit=1000))
    with tampering(demo) as connection:
        _change_state(demo, connection)  # case 2, in Samarinda
    verifier = demo.audit.verifier(viewer="auditor_bontang")
    assert list(verifier.run()) == [] and verifier.summary.cases == len(bontang)
    assert any(f.startswith("case 2 ") for f in findings(demo, viewer="demo_auditor"))
    with pytest.raises(Forbidden):
        demo.audit.verifier(viewer="demo_ketua_rt")
