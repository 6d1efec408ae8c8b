"""The outbox and webhooks against a real HTTP receiver on the loopback: each event handed
out once, signed, retried with backoff until accepted, and a slow receiver never holding
up a firing."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.errors import Forbidden, InvalidData, NotFound
from engine.runtime import outbox as outbox_module
from engine.store.models import (
    DispatchedEvent,
    OutboxState,
    TransitionRecord,
    WebhookDelivery,
    utcnow,
)
from tests.builders import Scenario
from tests.integration.test_cli import Cli
from tests.integration.test_notifications import Mailbox, mailbox  # noqa: F401 (fixture)

SECRET = "rahasia-bersama-16+"


@dataclass
class Receiver:
    """A webhook receiver: answers ``fail`` times with ``status`` first, then 204; can
    hold each request until ``release`` is set."""

    url: str = ""
    status: int = 500
    fail: int = 0
    hold: threading.Event | None = None
    holding: threading.Event = field(default_factory=threading.Event)
    received: list[tuple[dict[str, str], bytes, int]] = field(default_factory=list)

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body, status in self.received if status < 300]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if state.hold is not None:
                state.holding.set()
                state.hold.wait(20)
            status = state.status if state.fail > 0 else 204
            state.fail -= 1
            state.received.append((dict(self.headers), body, status))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_port}/hooks/rukun"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()


@pytest.fixture
def cli(env: dict[str, str]) -> Cli:
    return Cli(env)


def verified(headers: dict[str, str], body: bytes) -> bool:
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(headers["X-Rukun-Signature"], expected)


def records(scenario: Scenario) -> int:
    with scenario.app.context.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(TransitionRecord)) or 0)


def test_a_webhook_gets_each_event_once_signed_and_retried_until_accepted(
    scenario: Scenario, receiver: Receiver
) -> None:
    app = scenario.app
    app.outbox.add_webhook(receiver.url, SECRET, "probebaya")
    case = scenario.probebaya_case("submitted")  # start, rembug, proposal: three events
    receiver.fail = 3  # each event's first attempt
    first = app.outbox.deliver()
    assert {k: first[k] for k in ("events", "delivered", "retrying")} == {
        "events": 3,
        "delivered": 0,
        "retrying": 3,
    }
    with app.context.sessions() as session:
        waiting = list(session.scalars(select(WebhookDelivery)))
    assert {d.attempts for d in waiting} == {1} and {d.last_status for d in waiting} == {500}
    assert all(d.next_attempt_at > utcnow() for d in waiting)  # backing off
    idle = app.outbox.deliver()
    assert (idle["events"], idle["delivered"], idle["retrying"]) == (0, 0, 0)
    later = utcnow() + dt.timedelta(minutes=5)
    assert app.outbox.deliver(later)["delivered"] == 3
    assert app.outbox.deliver(later + dt.timedelta(hours=1))["delivered"] == 0  # once

    accepted = receiver.bodies()
    assert sorted(b["id"] for b in accepted) == [f"{case['id']}.{seq}" for seq in (1, 2, 3)]
    assert all(verified(h, body) for h, body, _ in receiver.received)
    ids = [h["X-Rukun-Event"] for h, _, _ in receiver.received]
    assert len(ids) == 6 and len(set(ids)) == 3  # retries carry the same event id
    proposal = next(b for b in accepted if b["record"]["trigger"] == "submit_proposal")
    assert proposal["type"] == "transition" and proposal["case"]["state"] == "submitted"
    assert proposal["record"]["role"] == "ketua_rt"
    # the values the form carried are not sent (personal data stays behind the API)
    assert "payload" not in proposal["record"] and "Drainase" not in json.dumps(accepted)


def test_a_forged_body_fails_the_signature_check(scenario: Scenario, receiver: Receiver) -> None:
    scenario.app.outbox.add_webhook(receiver.url, SECRET)
    scenario.start()
    scenario.app.outbox.deliver()
    [(headers, body, _)] = receiver.received
    assert verified(headers, body)
    assert not verified(headers, body.replace(b'"start"', b'"transition"'))


def test_a_slow_receiver_never_holds_up_a_firing(scenario: Scenario, receiver: Receiver) -> None:
    app = scenario.app
    app.outbox.add_webhook(receiver.url, SECRET)
    case = scenario.start()
    receiver.hold = threading.Event()
    sending = threading.Thread(target=app.outbox.deliver)
    sending.start()
    assert receiver.holding.wait(20)  # the receiver holds the delivery's request open
    moved = scenario.fire(case["id"], *_step(scenario, "record_rembug"))
    assert moved["state"] == "rembug_held"  # fired while the send waited
    receiver.hold.set()
    sending.join(20)
    assert not sending.is_alive()


def _step(scenario: Scenario, trigger: str) -> tuple[str, str, dict[str, str], tuple[str, ...]]:
    role, values, documents = scenario.step(trigger)
    return trigger, role, values, documents


def test_a_receiver_that_times_out_is_retried(
    scenario: Scenario, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox_module, "TIMEOUT", 0.5)
    scenario.app.outbox.add_webhook(receiver.url, SECRET)
    scenario.start()
    receiver.hold = threading.Event()  # never set before the timeout
    assert scenario.app.outbox.deliver()["retrying"] == 1
    receiver.hold.set()
    with scenario.app.context.sessions() as session:
        [delivery] = session.scalars(select(WebhookDelivery))
    assert delivery.status == "pending" and "timed out" in (delivery.last_error or "")


def test_deliveries_give_up_after_the_last_attempt(
    scenario: Scenario, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox_module, "MAX_ATTEMPTS", 2)
    scenario.app.outbox.add_webhook(receiver.url, SECRET)
    scenario.start()
    receiver.fail = 10
    scenario.app.outbox.deliver()
    assert scenario.app.outbox.deliver(utcnow() + dt.timedelta(days=1))["failed"] == 1
    assert scenario.app.outbox.deliver(utcnow() + dt.timedelta(days=2))["failed"] == 0
    [hook] = scenario.app.outbox.webhooks()
    assert hook["deliveries"] == {"failed": 1}


def test_backoff_doubles_up_to_a_ceiling() -> None:
    waits = [outbox_module.backoff(n) for n in range(1, 16)]
    assert waits[0] == outbox_module.FIRST_WAIT and waits[1] == 2 * waits[0]
    assert max(waits) == outbox_module.MAX_WAIT == waits[-1]


def test_several_deliverers_at_once_hand_each_event_out_once(
    scenario: Scenario, receiver: Receiver
) -> None:
    app = scenario.app
    app.outbox.add_webhook(receiver.url, SECRET)
    for _ in range(6):
        scenario.probebaya_case("submitted")
    total = records(scenario)
    start = threading.Barrier(3)
    handed: list[int] = []

    def run() -> None:
        start.wait()
        handed.append(app.outbox.dispatch(batch=5))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(handed) == total
    app.outbox.send_due()
    ids = [h["X-Rukun-Event"] for h, _, _ in receiver.received]
    assert len(ids) == total == len(set(ids))


def test_escalations_are_events_too(scenario: Scenario, receiver: Receiver) -> None:
    scenario.app.outbox.add_webhook(receiver.url, SECRET)
    case = scenario.probebaya_case("submitted")
    escalated = scenario.app.cases.tick(utcnow() + dt.timedelta(days=400))
    assert [c["id"] for c in escalated] == [case["id"]]
    scenario.app.outbox.deliver()
    kinds = [b["type"] for b in receiver.bodies()]
    assert kinds.count("escalation") == 1


def test_the_floor_moves_past_settled_events_and_stops_at_a_gap(scenario: Scenario) -> None:
    app = scenario.app
    scenario.probebaya_case("submitted")
    later = utcnow() + dt.timedelta(hours=1)
    app.outbox.dispatch(later)
    with app.context.sessions() as session:
        floor = session.scalar(select(OutboxState.floor))
        newest = session.scalar(select(func.max(TransitionRecord.id)))
        claims = session.scalar(select(func.count()).select_from(DispatchedEvent))
    assert floor == newest and claims == 0  # everything settled was handed out
    scenario.start()
    app.outbox.dispatch()  # not settled yet: the floor stays, the claim is kept
    with app.context.sessions() as session:
        assert session.scalar(select(OutboxState.floor)) == floor
        assert session.scalar(select(func.count()).select_from(DispatchedEvent)) == 1


def test_a_removed_webhook_gets_nothing_more(scenario: Scenario, receiver: Receiver) -> None:
    app = scenario.app
    hook = app.outbox.add_webhook(receiver.url, SECRET)
    scenario.start()
    app.outbox.dispatch()
    removed = app.outbox.remove_webhook(hook["id"])
    assert removed["removed_at"] is not None
    scenario.start()
    assert app.outbox.deliver()["delivered"] == 0
    assert receiver.received == []
    assert app.outbox.webhooks()[0]["deliveries"] == {"dropped": 1}


def test_bad_webhooks_are_refused_and_only_admins_manage_them(scenario: Scenario) -> None:
    outbox = scenario.app.outbox
    for url in ("ftp://example.org/x", "http:///nohost", "https://user:pw@example.org/", "x"):
        with pytest.raises(InvalidData):
            outbox.add_webhook(url, SECRET)
    with pytest.raises(InvalidData, match="16 to 200"):
        outbox.add_webhook("https://example.org/hook", "short")
    with pytest.raises(NotFound):
        outbox.add_webhook("https://example.org/hook", SECRET, program="nope")
    kelurahan = scenario.users["kelurahan"]
    with pytest.raises(Forbidden):
        outbox.add_webhook("https://example.org/hook", SECRET, by=kelurahan)
    with pytest.raises(Forbidden):
        outbox.webhooks(by=kelurahan)
    assert outbox.webhooks() == []


def test_rukun_webhook_and_outbox_commands(
    scenario: Scenario, receiver: Receiver, cli: Cli
) -> None:
    made = cli.json("webhook", "add", receiver.url, "--secret", SECRET, "--program", "probebaya")
    assert made["url"] == receiver.url and "secret" not in made
    scenario.start()
    result = cli.json("outbox", "deliver")
    assert result == {
        "events": 1,
        "delivered": 1,
        "retrying": 0,
        "failed": 0,
        "emails": {"sent": 0, "retrying": 0, "failed": 0},  # no RUKUN_SMTP_URL here
    }
    [listed] = cli.json("webhook", "list")
    assert listed["deliveries"] == {"delivered": 1}
    assert cli("outbox", "deliver").stdout.startswith("0 events handed out")
    assert cli.json("webhook", "remove", str(made["id"]))["removed_at"]
    cli("webhook", "add", "gopher://x", "--secret", SECRET, code=1)


def test_a_kelurahan_user_gets_an_email_when_a_proposal_reaches_them(
    scenario: Scenario,
    mailbox: Mailbox,  # noqa: F811 (the fixture imported above)
) -> None:
    """The whole way: the firing writes its record, `rukun outbox deliver` hands it to the
    notifications in its claiming transaction and sends the e-mail they queued."""
    from dataclasses import replace

    app = scenario.app
    app.context.settings = replace(app.context.settings, smtp_url=mailbox.url)
    app.users.set_email(scenario.users["kelurahan"], "lurah@kelurahan.example")
    case = scenario.probebaya_case("submitted")
    result = app.outbox.deliver()
    assert result["events"] == 3 and result["emails"]["sent"] == 1
    [(_, recipients, message)] = mailbox.received
    assert recipients == ["lurah@kelurahan.example"]
    assert f"#{case['id']}" in str(message["Subject"])
    assert app.outbox.deliver()["emails"]["sent"] == 0  # once
