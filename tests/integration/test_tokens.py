"""API tokens: made with the secret shown once and stored only as its sha256, turned back
into their user while neither expired nor revoked nor the user deactivated (one refusal
for every reason), listed and revoked by their user or an admin; `rukun token`."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy import select

from engine.errors import Forbidden, InvalidData, NotFound, Unauthenticated
from engine.runtime import tokens as tokens_module
from engine.store.models import ApiToken
from tests.builders import Scenario
from tests.integration.test_cli import Cli


@pytest.fixture
def cli(env: dict[str, str]) -> Cli:
    return Cli(env)


@pytest.fixture
def admin(scenario: Scenario) -> str:
    scenario.app.users.add("token_admin", "admin", [])
    return "token_admin"


def test_a_token_is_shown_once_and_stored_only_as_its_digest(scenario: Scenario) -> None:
    app, user = scenario.app, scenario.users["kelurahan"]
    made = app.tokens.create(user, "Smart Probebaya", 30)
    secret = made["token"]
    assert secret.startswith("rukun_") and len(secret) >= 40
    assert made["prefix"] == secret[:12] and made["status"] == "active"
    assert made["user"] == user and made["name"] == "Smart Probebaya"
    with app.context.sessions() as session:
        row = session.scalars(select(ApiToken)).one()
        stored = [str(getattr(row, c.key)) for c in ApiToken.__table__.columns]
    assert row.digest == hashlib.sha256(secret.encode()).hexdigest()
    assert not any(secret in value for value in stored)
    listed = app.tokens.list(user)
    assert [t["id"] for t in listed] == [made["id"]]
    assert "token" not in listed[0] and "digest" not in listed[0]
    assert app.tokens.create(user)["token"] != secret  # each one fresh


def test_a_token_stands_for_its_user_until_revoked(scenario: Scenario) -> None:
    app, user = scenario.app, scenario.users["kelurahan"]
    made = app.tokens.create(user)
    assert app.tokens.authenticate(made["token"]) == user
    assert app.tokens.list(user)[0]["last_used_at"] is not None
    revoked = app.tokens.revoke(made["id"])
    assert revoked["status"] == "revoked" and revoked["revoked_by"] == "(command line)"
    with pytest.raises(Unauthenticated, match="unknown, expired or revoked"):
        app.tokens.authenticate(made["token"])
    again = app.tokens.revoke(made["id"])  # changes nothing
    assert again["revoked_at"] == revoked["revoked_at"]


@pytest.mark.parametrize(
    "secret",
    ["", "rukun_", "rukun_" + "x" * 43, "Bearer rukun_abc", "rukun_" + "x" * 500, "rukun_\x00"],
)
def test_anything_but_a_live_token_is_refused_alike(scenario: Scenario, secret: str) -> None:
    scenario.app.tokens.create(scenario.users["kelurahan"])
    with pytest.raises(Unauthenticated) as refused:
        scenario.app.tokens.authenticate(secret)
    assert refused.value.message == "the API token is unknown, expired or revoked"
    assert refused.value.http_status == 401


def test_an_expired_token_and_one_of_a_deactivated_user_are_refused(
    scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, user = scenario.app, scenario.users["kelurahan"]
    short = app.tokens.create(user, "short", 1)
    forever = app.tokens.create(user, "forever", None)
    assert forever["expires_at"] is None
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=1, minutes=1)
    monkeypatch.setattr(tokens_module, "utcnow", lambda: later)
    with pytest.raises(Unauthenticated):
        app.tokens.authenticate(short["token"])
    assert app.tokens.authenticate(forever["token"]) == user
    statuses = {t["name"]: t["status"] for t in app.tokens.list(user)}
    assert statuses == {"short": "expired", "forever": "active"}
    app.users.set_active(user, False)
    with pytest.raises(Unauthenticated):
        app.tokens.authenticate(forever["token"])
    with pytest.raises(InvalidData, match="not active"):
        app.tokens.create(user)


def test_only_the_user_or_an_admin_makes_lists_and_revokes_a_users_tokens(
    scenario: Scenario, admin: str
) -> None:
    app = scenario.app
    owner, other = scenario.users["kelurahan"], scenario.users["kecamatan"]
    mine = app.tokens.create(owner, "mine", by=owner)
    assert mine["created_by"] == owner
    for attempt in (
        lambda: app.tokens.create(owner, by=other),
        lambda: app.tokens.list(owner, by=other),
        lambda: app.tokens.list(None, by=other),
        lambda: app.tokens.revoke(mine["id"], by=other),
    ):
        with pytest.raises(Forbidden, match="only the user or an admin"):
            attempt()
    assert app.tokens.authenticate(mine["token"]) == owner  # nothing changed
    assert [t["id"] for t in app.tokens.list(owner, by=owner)] == [mine["id"]]
    made = app.tokens.create(owner, "for the app", by=admin)
    assert made["created_by"] == admin
    assert {t["id"] for t in app.tokens.list(None, by=admin)} == {mine["id"], made["id"]}
    assert app.tokens.revoke(mine["id"], by=admin)["revoked_by"] == admin
    assert app.tokens.revoke(made["id"], by=owner)["revoked_by"] == owner


def test_someone_refused_learns_neither_who_exists_nor_whose_a_token_is(
    scenario: Scenario,
) -> None:
    app = scenario.app
    owner, other = scenario.users["kelurahan"], scenario.users["kecamatan"]
    token = app.tokens.create(owner)
    for attempt in (
        lambda: app.tokens.create("no_such_user", by=other),
        lambda: app.tokens.list("no_such_user", by=other),
    ):
        with pytest.raises(Forbidden):  # as for a user who exists: not NotFound
            attempt()
    with pytest.raises(Forbidden) as refused:
        app.tokens.revoke(token["id"], by=other)
    assert owner not in refused.value.message


def test_a_tokens_name_and_lifetime_are_checked(scenario: Scenario) -> None:
    app, user = scenario.app, scenario.users["kelurahan"]
    for name, days in (("x" * 101, 30), ("tab\there", 30), ("ok", 0), ("ok", 3651)):
        with pytest.raises(InvalidData):
            app.tokens.create(user, name, days)
    with pytest.raises(NotFound):
        app.tokens.create("nobody")
    with pytest.raises(NotFound):
        app.tokens.revoke(999)
    assert app.tokens.list(user) == []


def test_rukun_token_create_list_revoke(scenario: Scenario, cli: Cli, admin: str) -> None:
    user = scenario.users["kelurahan"]
    made = cli.json("token", "create", user, "--name", "Smart Probebaya", "--expires", "7")
    assert made["token"].startswith("rukun_") and made["expires_at"]
    human = cli("token", "create", user, "--no-expiry").stdout.splitlines()
    assert human[0].startswith("rukun_") and "no expiry" in human[1]
    assert "not shown again" in human[1]
    listed = cli("token", "list", user).stdout
    assert made["prefix"] in listed and made["token"] not in listed and human[0] not in listed
    assert [t["id"] for t in cli.json("token", "list")] == [made["id"] + 1, made["id"]]
    other = scenario.users["kecamatan"]
    refused = cli.json("token", "revoke", str(made["id"]), "--as", other, code=3)
    assert refused["error"]["kind"] == "forbidden"
    revoked = cli.json("token", "revoke", str(made["id"]), "--as", admin)
    assert revoked["status"] == "revoked" and revoked["revoked_by"] == admin
    assert "revoked" in cli("token", "revoke", str(made["id"])).stdout
    assert cli("token", "create", user, "--expires", "0", code=1).stderr
    assert cli("token", "create", user, "--expires", "5", "--no-expiry", code=2).stderr
    assert "no user 'nobody'" in cli("token", "create", "nobody", code=5).stderr
    assert cli("token", "list", "--as", other, code=3).stderr
