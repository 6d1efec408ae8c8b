"""`rukun user grant / revoke / deactivate / activate / password`: the engine's checks (role
level against region level, unknown role or user, last grant, password length) and their
exit codes."""

from __future__ import annotations

import pytest

from tests.builders import Scenario
from tests.integration.test_cli import Cli


@pytest.fixture
def cli(env: dict[str, str]) -> Cli:
    return Cli(env)


def kelurahan_of(scenario: Scenario) -> str:
    return scenario.rt.rsplit(".", 2)[0]


def grants(scenario: Scenario, name: str) -> list[tuple[str, str | None]]:
    user = next(u for u in scenario.app.users.list() if u["name"] == name)
    return [(g["role"], g["region"]) for g in user["grants"]]


def test_grant_adds_a_role_in_a_region_of_the_roles_level(scenario: Scenario, cli: Cli) -> None:
    name = scenario.users["kelurahan"]
    kecamatan = kelurahan_of(scenario).rsplit(".", 1)[0]
    result = cli.json("user", "grant", name, "--role", "kecamatan", "--region", kecamatan)
    assert {"role": "kecamatan", "region": kecamatan} in result["grants"]
    human = cli("user", "grant", name, "--role", "auditor").stdout
    assert human.startswith(f"{name} now holds: ") and "auditor@*" in human
    assert ("auditor", None) in grants(scenario, name)


def test_grant_is_checked_like_user_add(scenario: Scenario, cli: Cli) -> None:
    name = scenario.users["kelurahan"]
    wrong_level = cli("user", "grant", name, "--role", "kecamatan", "--region", scenario.rt, code=1)
    assert f"role kecamatan is scoped to a kecamatan; {scenario.rt} is a rt" in wrong_level.stderr
    assert "unknown role 'bupati'" in cli("user", "grant", name, "--role", "bupati", code=1).stderr
    assert (
        "no region 99.99"
        in cli("user", "grant", name, "--role", "city", "--region", "99.99", code=5).stderr
    )
    assert "no user 'nobody'" in cli("user", "grant", "nobody", "--role", "auditor", code=5).stderr
    error = cli.json(
        "user", "grant", name, "--role", "kelurahan", "--region", kelurahan_of(scenario), code=4
    )
    assert error["error"]["kind"] == "conflict"
    assert grants(scenario, name) == [("kelurahan", kelurahan_of(scenario))]


def test_revoke_keeps_at_least_one_grant(scenario: Scenario, cli: Cli) -> None:
    name = scenario.users["kelurahan"]
    cli("user", "grant", name, "--role", "auditor")
    result = cli.json(
        "user", "revoke", name, "--role", "kelurahan", "--region", kelurahan_of(scenario)
    )
    assert result["grants"] == [{"role": "auditor", "region": None}]
    last = cli("user", "revoke", name, "--role", "auditor", code=4)
    assert "it is the only grant of user" in last.stderr
    missing = cli("user", "revoke", name, "--role", "city", "--region", "64.72", code=5)
    assert f"user '{name}' does not hold city@64.72 (holds: auditor@*)" in missing.stderr
    assert grants(scenario, name) == [("auditor", None)]


def test_deactivate_blocks_sign_in_and_acting_until_activated(scenario: Scenario, cli: Cli) -> None:
    name = scenario.users["ketua_rt"]
    cli("user", "password", name, "--password-stdin", stdin="rahasia-sekali\n")
    assert scenario.app.users.check_password(name, "rahasia-sekali")
    assert cli("user", "deactivate", name).stdout.strip() == f"deactivated user {name}"
    assert not scenario.app.users.check_password(name, "rahasia-sekali")
    assert "(inactive)" in cli("user", "list").stdout
    start = cli(
        "case",
        "start",
        "probebaya",
        "--subject",
        scenario.rt,
        "--year",
        "2026",
        "--as",
        name,
        code=5,
    )
    assert f"no active user '{name}'" in start.stderr
    assert cli.json("user", "activate", name)["active"] is True
    assert scenario.app.users.check_password(name, "rahasia-sekali")
    cli("user", "deactivate", "nobody", code=5)


def test_password_is_generated_and_shown_once_or_read_from_stdin(
    scenario: Scenario, cli: Cli
) -> None:
    name = scenario.users["city"]
    generated = cli.json("user", "password", name)
    assert len(generated["password"]) >= 16
    assert scenario.app.users.check_password(name, generated["password"])
    human = cli("user", "password", name).stdout
    assert human.startswith(f"new password for {name} (shown only now): ")
    assert not scenario.app.users.check_password(name, generated["password"])
    short = cli("user", "password", name, "--password-stdin", stdin="pendek\n", code=1)
    assert "password must have at least 8 characters" in short.stderr
    quiet = cli("user", "password", name, "--password-stdin", stdin="panjang-sekali\n")
    assert quiet.stdout.strip() == f"changed the password of {name}"
    assert scenario.app.users.check_password(name, "panjang-sekali")
    cli("user", "password", "nobody", code=5)
