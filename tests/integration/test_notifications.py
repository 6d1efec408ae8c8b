"""Notifications from real histories: each test fires transitions, hands the last record
to ``Notifications.on_event`` as the outbox would (an ``Event`` built from the stored
record, in a write transaction), and reads what each user's bell and mailbox got. E-mail
goes to a local SMTP server (aiosmtpd) on a free port."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import email.policy
import json
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine, select, update

from engine.errors import Forbidden, InvalidData, NotFound
from engine.runtime import Rukun
from engine.runtime.notifications import MAX_EMAIL_ATTEMPTS, Notifications
from engine.runtime.outbox import Event, event_of
from engine.settings import Settings
from engine.store.db import write_session
from engine.store.models import Case, Notification, Region, TransitionRecord, User, utcnow
from tests.builders import Scenario, World, kube_members
from tests.integration.test_cli import Cli

KELURAHAN_ADDRESS = "lurah@samarinda.example.go.id"


# ------------------------------------------------------------------------------ helpers


def last_event(app: Rukun, case_id: int) -> Event:
    """The case's newest history record as the outbox hands it out."""
    with app.context.sessions() as session:
        record = session.scalars(
            select(TransitionRecord)
            .where(TransitionRecord.case_id == case_id)
            .order_by(TransitionRecord.seq.desc())
            .limit(1)
        ).one()
        case = session.get(Case, case_id)
        assert case is not None
        return event_of(app.context, record, case, case.state)


def deliver(app: Rukun, case_id: int, notifications: Notifications | None = None) -> Event:
    """Hand the case's newest record to the notifications, in one write transaction."""
    event = last_event(app, case_id)
    with write_session(app.context.sessions) as session:
        (notifications or app.notifications).on_event(session, event)
    return event


def rows(app: Rukun, case_id: int | None = None) -> list[Notification]:
    with app.context.sessions() as session:
        query = select(Notification).order_by(Notification.id)
        if case_id is not None:
            query = query.where(Notification.case_id == case_id)
        return list(session.scalars(query))


def told(app: Rukun, case_id: int) -> dict[str, str]:
    """Who got a notification about the case, and of which kind."""
    with app.context.sessions() as session:
        return dict(
            session.execute(
                select(User.name, Notification.kind)
                .join(User, User.id == Notification.user_id)
                .where(Notification.case_id == case_id)
            ).all()
        )


def with_settings(app: Rukun, **changes: Any) -> Notifications:
    """The notifications of ``app`` with some settings changed (the same database)."""
    settings = dataclasses.replace(app.context.settings, **changes)
    return Notifications(dataclasses.replace(app.context, settings=settings))


def other_kelurahan(scenario: Scenario) -> str:
    own = scenario.rt.rsplit(".", 2)[0]
    return next(
        r["code"]
        for r in scenario.app.regions.list(level="kelurahan")
        if r["code"] != own and r["code"].startswith("64.72.")
    )


@dataclass
class Mailbox:
    """What the local SMTP server received: (envelope sender, recipients, message)."""

    host: str
    port: int
    received: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)
    #: Recipients the server answers 550 (or, ``4…``-prefixed, 450) to.
    refused: set[str] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refused:
            return "550 5.1.1 no such mailbox"
        if "4" + address in self.refused:
            return "450 4.2.1 mailbox busy, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox("127.0.0.1", free_port())
    controller = Controller(box, hostname=box.host, port=box.port)
    controller.start()
    yield box
    controller.stop()


def submitted(scenario: Scenario) -> dict[str, Any]:
    """A Probebaya proposal that has just reached its kelurahan."""
    return scenario.probebaya_case("submitted")


# ------------------------------------------------------------------------------ who is told


def test_a_submitted_proposal_tells_the_kelurahan_users_of_that_kelurahan_only(
    scenario: Scenario,
) -> None:
    app = scenario.app
    own = scenario.rt.rsplit(".", 2)[0]
    app.users.add("lurah_dua", "kelurahan", [own])
    app.users.add("lurah_lain", "kelurahan", [other_kelurahan(scenario)])
    app.users.add("lurah_nonaktif", "kelurahan", [own])
    app.users.set_active("lurah_nonaktif", False)
    case = submitted(scenario)
    deliver(app, case["id"])
    assert told(app, case["id"]) == {"demo_kelurahan": "waiting", "lurah_dua": "waiting"}
    (first, *_) = app.notifications.list("demo_kelurahan")
    number = f"#{case['id']}"
    assert first["title"] == {
        "id": f"Kasus {number} menunggu tindakan Anda",
        "en": f"Case {number} is waiting for you",
    }
    assert "Probebaya" in first["body"]["id"] and "Usulan di kelurahan" in first["body"]["id"]
    assert "Proposal at the kelurahan" in first["body"]["en"]
    assert "Ajukan usulan ke kelurahan" in first["body"]["id"]  # the step, by its label
    assert "RT 001" in first["body"]["id"] and "2026" in first["body"]["id"]
    text = json.dumps(first)
    assert "Drainase" not in text and "200.000.000" not in text and "200000000" not in text
    assert first["read"] is False and first["case_id"] == case["id"]


def test_the_actor_is_not_told_of_their_own_next_step(scenario: Scenario) -> None:
    app = scenario.app
    case = scenario.start()
    role, values, documents = scenario.step("record_rembug")
    scenario.fire(case["id"], "record_rembug", role, values, documents)
    deliver(app, case["id"])  # rembug_held: the ketua RT who just held it must submit next
    assert told(app, case["id"]) == {}
    app.users.add("ketua_rt_kedua", "ketua_rt", [scenario.rt])
    deliver(app, case["id"])
    assert told(app, case["id"]) == {"ketua_rt_kedua": "waiting"}


def test_handing_out_the_same_event_again_writes_nothing_new(scenario: Scenario) -> None:
    app = scenario.app
    case = submitted(scenario)
    deliver(app, case["id"])
    before = [(r.id, r.user_id, r.kind) for r in rows(app, case["id"])]
    assert len(before) == 1
    deliver(app, case["id"])
    deliver(app, case["id"])
    assert [(r.id, r.user_id, r.kind) for r in rows(app, case["id"])] == before


def test_a_stale_event_of_a_case_that_moved_on_tells_nobody_to_act(scenario: Scenario) -> None:
    app = scenario.app
    case = submitted(scenario)
    event = last_event(app, case["id"])
    scenario.fire(case["id"], "verify", "kelurahan")
    with write_session(app.context.sessions) as session:
        app.notifications.on_event(session, dataclasses.replace(event, state="verified"))
    assert told(app, case["id"]) == {}


def test_an_escalation_tells_earlier_actors_those_who_must_act_and_the_escalation_role(
    scenario: Scenario,
) -> None:
    app = scenario.app
    own = scenario.rt.rsplit(".", 3)[0]
    elsewhere = next(
        r["code"]
        for r in app.regions.list(level="kecamatan")
        if r["code"] != own and r["code"].startswith("64.72.")
    )
    app.users.add("camat_lain", "kecamatan", [elsewhere])
    case = submitted(scenario)
    app.cases.tick(utcnow() + dt.timedelta(days=15))  # submitted: 14 days, then kecamatan
    event = deliver(app, case["id"])
    assert event.record["kind"] == "escalation"
    assert told(app, case["id"]) == {
        "demo_ketua_rt": "escalated",  # opened the case, held the rembug, submitted
        "demo_kelurahan": "escalated",  # must act
        "demo_kecamatan": "escalated",  # the deadline's escalate_to
    }
    (note,) = app.notifications.list("demo_ketua_rt")
    assert note["title"]["en"] == f"Case #{case['id']} is past its deadline"
    assert "Diteruskan ke: Kecamatan" in note["body"]["id"]


def test_a_return_for_revision_tells_those_who_acted_before(scenario: Scenario) -> None:
    app = scenario.app
    case = submitted(scenario)
    scenario.fire(case["id"], "return_for_revision", "kelurahan", {"revision_notes": "RAB"})
    deliver(app, case["id"])
    # the ketua RT acted before and must resubmit: one notification, the more specific
    assert told(app, case["id"]) == {"demo_ketua_rt": "returned"}
    (note,) = app.notifications.list("demo_ketua_rt")
    assert note["title"]["id"] == f"Kasus #{case['id']} dikembalikan"
    assert "Perlu perbaikan" in note["body"]["id"] and "RAB" not in note["body"]["id"]


def test_a_refusal_by_the_kecamatan_tells_the_rt_and_the_kelurahan(scenario: Scenario) -> None:
    app = scenario.app
    case = scenario.probebaya_case("verified")
    scenario.fire(case["id"], "reject_kecamatan", "kecamatan", {"rejection_reason": "Ganda"})
    deliver(app, case["id"])
    assert told(app, case["id"]) == {"demo_ketua_rt": "returned", "demo_kelurahan": "returned"}
    (note,) = app.notifications.list("demo_kelurahan")
    assert note["title"] == {
        "id": f"Kasus #{case['id']} ditolak",
        "en": f"Case #{case['id']} was refused",
    }
    assert "Ganda" not in json.dumps(note)


def test_an_earlier_actor_who_left_the_region_is_not_told(scenario: Scenario) -> None:
    app = scenario.app
    case = scenario.probebaya_case("verified")
    app.users.grant("demo_kelurahan", "kelurahan", other_kelurahan(scenario))  # moved
    app.users.revoke("demo_kelurahan", "kelurahan", scenario.rt.rsplit(".", 2)[0])
    scenario.fire(case["id"], "reject_kecamatan", "kecamatan", {"rejection_reason": "Ganda"})
    deliver(app, case["id"])
    assert told(app, case["id"]) == {"demo_ketua_rt": "returned"}


# ------------------------------------------------------------------------------ the bell


def test_unread_count_and_marking_read_are_each_users_own(scenario: Scenario) -> None:
    app = scenario.app
    first, second = submitted(scenario), submitted(scenario)
    deliver(app, first["id"])
    deliver(app, second["id"])
    bell = app.notifications
    assert bell.unread_count("demo_kelurahan") == 2
    newest, oldest = bell.list("demo_kelurahan")
    assert (newest["case_id"], oldest["case_id"]) == (second["id"], first["id"])
    # another user can neither see nor mark them
    assert bell.list("demo_ketua_rt") == []
    assert bell.mark_read("demo_ketua_rt", [newest["id"], oldest["id"]]) == 0
    assert bell.mark_read("demo_ketua_rt") == 0
    assert bell.unread_count("demo_kelurahan") == 2
    assert bell.mark_read("demo_kelurahan", [oldest["id"]]) == 1
    assert bell.unread_count("demo_kelurahan") == 1
    assert [n["case_id"] for n in bell.list("demo_kelurahan", unread_only=True)] == [second["id"]]
    assert bell.mark_read("demo_kelurahan") == 1
    assert bell.unread_count("demo_kelurahan") == 0
    assert all(n["read"] for n in bell.list("demo_kelurahan"))
    with pytest.raises(NotFound):
        bell.list("nobody")


# ------------------------------------------------------------------------------ preferences


def test_preferences_default_to_the_bell_for_all_and_email_for_waiting_and_escalated(
    scenario: Scenario,
) -> None:
    chosen = scenario.app.notifications.preferences("demo_kelurahan")
    assert chosen["email"] is None and chosen["email_enabled"] is False
    assert chosen["kinds"] == {
        "waiting": {"in_app": True, "email": True},
        "returned": {"in_app": True, "email": False},
        "escalated": {"in_app": True, "email": True},
        "due_soon": {"in_app": True, "email": False},
    }


def test_email_off_queues_no_email_and_bell_off_shows_nothing(
    scenario: Scenario, mailbox: Mailbox
) -> None:
    app = scenario.app
    notifications = with_settings(app, smtp_url=mailbox.url)
    app.users.set_email("demo_kelurahan", KELURAHAN_ADDRESS)
    own = scenario.rt.rsplit(".", 2)[0]
    app.users.add("lurah_dua", "kelurahan", [own], email="dua@samarinda.example.go.id")
    app.users.add("lurah_tiga", "kelurahan", [own], email="tiga@samarinda.example.go.id")
    app.notifications.set_preferences("demo_kelurahan", {"waiting": {"email": False}})
    app.notifications.set_preferences("lurah_dua", {"waiting": {"in_app": False}})
    app.notifications.set_preferences(
        "lurah_tiga", {"waiting": {"in_app": False, "email": False}}, by="lurah_tiga"
    )
    case = submitted(scenario)
    deliver(app, case["id"], notifications)
    by_user = {
        _name(app, row.user_id): (row.in_app, row.email_status) for row in rows(app, case["id"])
    }
    assert by_user == {"demo_kelurahan": (True, "none"), "lurah_dua": (False, "pending")}
    assert notifications.unread_count("lurah_dua") == 0 and notifications.list("lurah_dua") == []
    assert notifications.send_emails()["sent"] == 1
    assert [to for _, to, _ in mailbox.received] == [["dua@samarinda.example.go.id"]]


def _name(app: Rukun, user_id: int) -> str:
    with app.context.sessions() as session:
        return str(session.scalar(select(User.name).where(User.id == user_id)))


def test_only_the_user_or_an_admin_changes_preferences_and_only_known_kinds(
    scenario: Scenario,
) -> None:
    bell = scenario.app.notifications
    scenario.app.users.add("admin_notif", "admin")
    with pytest.raises(Forbidden, match="only the user or an admin"):
        bell.set_preferences("demo_kelurahan", {"waiting": {"email": False}}, by="demo_ketua_rt")
    changed = bell.set_preferences(
        "demo_kelurahan", {"due_soon": {"email": True}}, by="admin_notif"
    )
    assert changed["kinds"]["due_soon"] == {"in_app": True, "email": True}
    with pytest.raises(InvalidData, match="unknown notification kind 'gossip'"):
        bell.set_preferences("demo_kelurahan", {"gossip": {"email": True}})
    with pytest.raises(InvalidData, match="in_app and email"):
        bell.set_preferences("demo_kelurahan", {"waiting": {"sms": True}})
    with pytest.raises(InvalidData):
        bell.set_preferences("demo_kelurahan", {"waiting": {"email": "yes"}})  # type: ignore[dict-item]
    assert bell.preferences("demo_kelurahan")["kinds"]["waiting"]["email"] is True


# ------------------------------------------------------------------------------ deadlines


def test_a_near_deadline_tells_those_who_must_act_once_per_entry_into_the_state(
    scenario: Scenario,
) -> None:
    app = scenario.app
    case = submitted(scenario)
    due = dt.datetime.fromisoformat(app.cases.show(case["id"])["due_at"].replace("Z", "+00:00"))
    bell = app.notifications
    assert bell.deadlines(due - dt.timedelta(hours=49)) == 0  # not near yet
    assert bell.deadlines(due - dt.timedelta(hours=47)) == 1
    assert bell.deadlines(due - dt.timedelta(hours=46)) == 0  # once
    assert app.cases.tick(due - dt.timedelta(hours=1)) == []  # tick asks again: still once
    (note,) = bell.list("demo_kelurahan")
    assert note["kind"] == "due_soon"
    assert note["title"]["id"] == f"Tenggat kasus #{case['id']} sudah dekat"
    assert "WITA" in note["body"]["id"]
    # sent back and resubmitted: a new entry into "submitted", a new reminder (by tick)
    scenario.fire(case["id"], "return_for_revision", "kelurahan", {"revision_notes": "RAB"})
    role, values, documents = scenario.step("submit_proposal")
    scenario.fire(case["id"], "resubmit", role, values, documents)
    due = dt.datetime.fromisoformat(app.cases.show(case["id"])["due_at"].replace("Z", "+00:00"))
    app.cases.tick(due - dt.timedelta(hours=2))
    assert [n["kind"] for n in bell.list("demo_kelurahan")] == ["due_soon", "due_soon"]


def test_an_escalated_case_gets_no_deadline_reminder(scenario: Scenario) -> None:
    app = scenario.app
    case = submitted(scenario)
    app.cases.tick(utcnow() + dt.timedelta(days=15))
    assert app.notifications.deadlines(utcnow() + dt.timedelta(days=13)) == 0
    assert told(app, case["id"]) == {}


# ------------------------------------------------------------------------------ e-mail


def test_a_kelurahan_user_gets_an_email_when_a_proposal_reaches_them(
    scenario: Scenario, mailbox: Mailbox
) -> None:
    app = scenario.app
    app.users.set_email("demo_kelurahan", KELURAHAN_ADDRESS)
    notifications = with_settings(
        app,
        smtp_url=mailbox.url,
        smtp_from="Rukun Samarinda <rukun@samarinda.example.go.id>",
        base_url="https://rukun.example.go.id",
    )
    case = submitted(scenario)
    deliver(app, case["id"], notifications)
    assert mailbox.received == []  # written in the transaction, sent afterwards
    assert notifications.send_emails() == {"enabled": True, "sent": 1, "retrying": 0, "failed": 0}
    ((sender, recipients, message),) = mailbox.received
    assert sender == "rukun@samarinda.example.go.id" and recipients == [KELURAHAN_ADDRESS]
    assert message["To"] == KELURAHAN_ADDRESS
    number = case["id"]
    assert message["Subject"] == (
        f"[Rukun] Kasus #{number} menunggu tindakan Anda / Case #{number} is waiting for you"
    )
    body = message.get_content()
    assert body.index("Usulan di kelurahan") < body.index("Proposal at the kelurahan")
    assert f"https://rukun.example.go.id/cases/{number}" in body
    assert "Drainase" not in body and "200.000.000" not in body
    (row,) = rows(app, number)
    assert (row.email_status, row.email_attempts, row.email_error) == ("sent", 1, None)
    assert notifications.send_emails()["sent"] == 0  # sent once


def test_a_kube_email_carries_no_nik_or_kk_digits(world: World, mailbox: Mailbox) -> None:
    app = world.app
    dinsos = world.user("dinsos", "64")
    app.users.set_email(dinsos, "dinsos@kaltim.example.go.id")
    office = world.user("dinsos_kota", "64.72")
    group = world.groups("64.72")[0]
    members = kube_members(world.ancestor(group, "kecamatan"), 1)
    case = app.cases.start("kube", group, 2026, office)
    app.cases.fire(
        case["id"],
        "propose",
        office,
        {
            "kube_name": "KUBE Sejahtera",
            "business_type": "food_stall",
            "members": json.dumps(members),
        },
    )
    notifications = with_settings(app, smtp_url=mailbox.url)
    deliver(app, case["id"], notifications)
    assert notifications.send_emails()["sent"] == 1
    ((_, recipients, message),) = mailbox.received
    assert recipients == ["dinsos@kaltim.example.go.id"]
    text = message.as_string()
    for member in members:
        assert member["nik"] not in text and member["kk_number"] not in text
        assert member["name"] not in text
    assert "KUBE Sejahtera" not in text
    assert "Diusulkan ke Dinsos" in text and "Proposed to Dinsos" in text


def test_a_mail_server_that_is_down_leaves_the_email_pending_with_its_error(
    scenario: Scenario, mailbox: Mailbox
) -> None:
    app = scenario.app
    app.users.set_email("demo_kelurahan", KELURAHAN_ADDRESS)
    down = with_settings(app, smtp_url=f"smtp://127.0.0.1:{free_port()}")
    case = submitted(scenario)
    deliver(app, case["id"], down)
    now = utcnow()
    assert down.send_emails(now) == {"enabled": True, "sent": 0, "retrying": 1, "failed": 0}
    (row,) = rows(app, case["id"])
    assert (row.email_status, row.email_attempts) == ("pending", 1)
    assert row.email_error and "Connection" in row.email_error
    assert row.email_next_at is not None and row.email_next_at > now
    assert down.send_emails(now)["retrying"] == 0  # not again before its next try
    # the server is back (the URL now points at it): sent at the next try
    up = with_settings(app, smtp_url=mailbox.url)
    assert up.send_emails(now + dt.timedelta(minutes=2))["sent"] == 1
    (row,) = rows(app, case["id"])
    assert (row.email_status, row.email_attempts, row.email_error) == ("sent", 2, None)
    assert len(mailbox.received) == 1


def test_a_recipient_the_server_refuses_fails_alone_and_the_others_are_sent(
    scenario: Scenario, mailbox: Mailbox
) -> None:
    app = scenario.app
    own = scenario.rt.rsplit(".", 2)[0]
    app.users.set_email("demo_kelurahan", "hilang@samarinda.example.go.id")
    app.users.add("lurah_dua", "kelurahan", [own], email="sibuk@samarinda.example.go.id")
    app.users.add("lurah_tiga", "kelurahan", [own], email="tiga@samarinda.example.go.id")
    mailbox.refused |= {"hilang@samarinda.example.go.id", "4sibuk@samarinda.example.go.id"}
    notifications = with_settings(app, smtp_url=mailbox.url)
    case = submitted(scenario)
    deliver(app, case["id"], notifications)
    assert notifications.send_emails() == {"enabled": True, "sent": 1, "retrying": 1, "failed": 1}
    assert [to for _, to, _ in mailbox.received] == [["tiga@samarinda.example.go.id"]]
    status = {_name(app, r.user_id): (r.email_status, r.email_error) for r in rows(app, case["id"])}
    assert status["demo_kelurahan"][0] == "failed" and "550" in (status["demo_kelurahan"][1] or "")
    assert status["lurah_dua"][0] == "pending" and "450" in (status["lurah_dua"][1] or "")
    assert status["lurah_tiga"] == ("sent", None)


def test_an_email_that_keeps_failing_is_given_up_after_the_last_attempt(
    scenario: Scenario,
) -> None:
    app = scenario.app
    app.users.set_email("demo_kelurahan", KELURAHAN_ADDRESS)
    down = with_settings(app, smtp_url=f"smtp+starttls://127.0.0.1:{free_port()}")
    case = submitted(scenario)
    deliver(app, case["id"], down)
    later = utcnow()
    for _ in range(MAX_EMAIL_ATTEMPTS):
        later += dt.timedelta(days=1)
        down.send_emails(later)
    (row,) = rows(app, case["id"])
    assert (row.email_status, row.email_attempts) == ("failed", MAX_EMAIL_ATTEMPTS)
    assert down.send_emails(later + dt.timedelta(days=1))["failed"] == 0


def test_without_an_smtp_url_no_email_is_queued(scenario: Scenario) -> None:
    app = scenario.app
    app.users.set_email("demo_kelurahan", KELURAHAN_ADDRESS)
    case = submitted(scenario)
    deliver(app, case["id"])
    (row,) = rows(app, case["id"])
    assert row.email_status == "none"
    assert app.notifications.send_emails() == {
        "enabled": False,
        "sent": 0,
        "retrying": 0,
        "failed": 0,
    }


def test_a_line_break_in_a_region_name_cannot_add_headers(
    scenario: Scenario, mailbox: Mailbox, owner_engine: Engine
) -> None:
    app = scenario.app
    app.users.set_email("demo_kelurahan", KELURAHAN_ADDRESS)
    with owner_engine.begin() as connection:  # as a hostile import might have named it
        connection.execute(
            update(Region)
            .where(Region.code == scenario.rt)
            .values(name="RT 001\r\nBcc: evil@example.com\r\n\r\nSelamat")
        )
    notifications = with_settings(app, smtp_url=mailbox.url)
    case = submitted(scenario)
    deliver(app, case["id"], notifications)
    assert notifications.send_emails()["sent"] == 1
    ((_, recipients, message),) = mailbox.received
    assert recipients == [KELURAHAN_ADDRESS]
    assert message["Bcc"] is None and "evil@example.com" not in str(message["To"])
    assert "RT 001 Bcc: evil@example.com Selamat" in message.get_content()  # one line


def test_an_address_with_a_line_break_is_refused_and_never_sent_to(
    scenario: Scenario, mailbox: Mailbox, owner_engine: Engine
) -> None:
    app = scenario.app
    for bad in (
        "lurah@example.go.id\r\nBcc: evil@example.com",
        "lurah@example.go.id, evil@example.com",
        "Lurah <lurah@example.go.id>",
        "lurah@localhost",
        "lurah@@example.go.id",
        "a" * 250 + "@example.go.id",
    ):
        with pytest.raises(InvalidData, match="not an e-mail address"):
            app.users.set_email("demo_kelurahan", bad)
        with pytest.raises(InvalidData):
            app.users.add("lurah_baru", "kelurahan", [], email=bad)
    with owner_engine.begin() as connection:  # a row written around the engine's check
        connection.execute(
            update(User)
            .where(User.name == "demo_kelurahan")
            .values(email="lurah@example.go.id\r\nBcc: evil@example.com")
        )
    notifications = with_settings(app, smtp_url=mailbox.url)
    case = submitted(scenario)
    deliver(app, case["id"], notifications)
    assert notifications.send_emails()["failed"] == 1
    assert mailbox.received == []
    (row,) = rows(app, case["id"])
    assert row.email_status == "failed" and "not a valid e-mail address" in (row.email_error or "")


def test_an_smtp_url_of_another_kind_is_refused_when_the_settings_are_read() -> None:
    base = {"RUKUN_DATABASE_URL": "sqlite:///:memory:"}
    for url in ("http://mail.example", "smtp://", "smtp://host:port", "mail.example:25"):
        with pytest.raises(InvalidData, match="RUKUN_SMTP_URL"):
            Settings.from_env({**base, "RUKUN_SMTP_URL": url})
    settings = Settings.from_env(
        {**base, "RUKUN_SMTP_URL": "smtps://rukun:s%40cret@mail.example:465"}
    )
    assert settings.smtp_url == "smtps://rukun:s%40cret@mail.example:465"
    assert "s%40cret" not in repr(settings)
    assert settings.smtp_from == "rukun@localhost" and settings.notify_due_hours == 48
    with pytest.raises(InvalidData, match="one line"):
        Settings.from_env({**base, "RUKUN_SMTP_FROM": "a@b.example\nBcc: c@d.example"})


# ------------------------------------------------------------------------------ addresses


def test_addresses_are_set_by_the_command_line_and_shown_with_the_user(
    scenario: Scenario, env: dict[str, str]
) -> None:
    cli = Cli(env)
    added = cli.json(
        "user", "add", "lurah_cli", "--role", "auditor", "--email", "cli@example.go.id"
    )
    assert added["email"] == "cli@example.go.id"
    changed = cli.json("user", "email", "demo_kelurahan", KELURAHAN_ADDRESS)
    assert changed["email"] == KELURAHAN_ADDRESS
    assert f"<{KELURAHAN_ADDRESS}>" in cli("user", "list").stdout
    error = cli.json("user", "email", "demo_kelurahan", "bukan alamat", code=1)
    assert "not an e-mail address" in error["error"]["message"]
    assert cli.json("user", "email", "demo_kelurahan", "")["email"] is None
    assert cli.json("user", "email", "nobody", KELURAHAN_ADDRESS, code=5)
    assert "e-mail is off" in cli("notify", "send").stdout
    scenario.app.users.add("admin_email", "admin")
    with pytest.raises(Forbidden):
        scenario.app.users.set_email("demo_kelurahan", KELURAHAN_ADDRESS, by="demo_ketua_rt")
    assert (
        scenario.app.users.set_email("demo_kelurahan", KELURAHAN_ADDRESS, by="admin_email")["email"]
        == KELURAHAN_ADDRESS
    )


def test_notify_send_and_list_on_the_command_line(
    scenario: Scenario, env: dict[str, str], mailbox: Mailbox
) -> None:
    app = scenario.app
    app.users.set_email("demo_kelurahan", KELURAHAN_ADDRESS)
    case = submitted(scenario)
    deliver(app, case["id"], with_settings(app, smtp_url=mailbox.url))
    cli = Cli({**env, "RUKUN_SMTP_URL": mailbox.url})
    assert cli.json("notify", "send")["sent"] == 1
    assert len(mailbox.received) == 1
    listed = cli.json("notify", "list", "demo_kelurahan", "--unread")
    assert [n["case_id"] for n in listed] == [case["id"]]
    assert re.search(
        rf"\* waiting\s+Kasus #{case['id']}", cli("notify", "list", "demo_kelurahan").stdout
    )
    assert "no notifications" in cli("notify", "list", "demo_ketua_rt").stdout


def test_rukun_outbox_deliver_emails_the_kelurahan_when_a_proposal_reaches_it(
    scenario: Scenario, env: dict[str, str], mailbox: Mailbox
) -> None:
    """The whole way: the history record is the event, `rukun outbox deliver` hands it
    to the notifications and then sends the e-mail; delivering again sends nothing."""
    app = scenario.app
    app.users.set_email("demo_kelurahan", KELURAHAN_ADDRESS)
    cli = Cli({**env, "RUKUN_SMTP_URL": mailbox.url})
    cli("outbox", "deliver")  # the records made while setting up
    mailbox.received.clear()
    case = submitted(scenario)
    cli("outbox", "deliver")
    ((_, recipients, message),) = mailbox.received
    assert recipients == [KELURAHAN_ADDRESS]
    assert f"Kasus #{case['id']} menunggu tindakan Anda" in message["Subject"]
    assert told(app, case["id"]) == {"demo_kelurahan": "waiting"}
    cli("outbox", "deliver")
    assert len(mailbox.received) == 1
    assert app.notifications.unread_count("demo_kelurahan") == 1
