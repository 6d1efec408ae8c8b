"""Sessions, the secret key, the security headers and documents as downloads (issue #11):
cookie flags, idle sign-out, CSRF lifetime, a key file shared by every worker process, and
an uploaded HTML or SVG document that never runs in the browser."""

from __future__ import annotations

import http.client
import multiprocessing
import os
import re
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, request
from werkzeug.http import parse_options_header
from werkzeug.test import TestResponse

from admin import create_app
from admin.secret_key import secret_key
from admin.security import LAST_SEEN
from engine.errors import InvalidData
from engine.runtime import Rukun
from engine.settings import DEFAULT_DOCUMENT_TYPES, Settings
from tests.builders import Scenario
from tests.integration.test_admin import PASSWORD, csrf, login, user_with_password

#: Headers every response carries, whatever it is (pages, errors, redirects, downloads).
EVERY_RESPONSE = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def security_header_problems(response: TestResponse) -> list[str]:
    """What is missing or too lax in ``response``'s security headers (empty: all good)."""
    headers = response.headers
    problems = [
        f"{name}: {headers.get(name)!r}"
        for name, value in EVERY_RESPONSE.items()
        if headers.get(name) != value
    ]
    directives = {
        part.split()[0]: part.split()[1:]
        for part in headers.get("Content-Security-Policy", "").split(";")
        if part.strip()
    }
    scripts = directives.get("script-src", directives.get("default-src"))
    if scripts is None or "'unsafe-inline'" in scripts or "'unsafe-eval'" in scripts:
        problems.append(f"script-src: {scripts!r}")
    if directives.get("frame-ancestors") != ["'none'"]:
        problems.append(f"frame-ancestors: {directives.get('frame-ancestors')!r}")
    if response.mimetype == "text/html" and (
        directives.get("script-src") != ["'self'"]
        or "'unsafe-inline'" in directives.get("style-src", [])
    ):
        problems.append(f"page policy: {headers.get('Content-Security-Policy')!r}")
    if response.headers.get("Content-Disposition", "").startswith("attachment") and (
        "/documents/" in (response.request.path if response.request else "")
        and "sandbox" not in directives
    ):
        problems.append("a document without the sandbox policy")
    return problems


def web_app(scenario: Scenario, **config: Any) -> Flask:
    return create_app(scenario.app, {"TESTING": True, "SECRET_KEY": "test", **config})


@pytest.fixture
def web(scenario: Scenario) -> Flask:
    return web_app(scenario)


def session_cookie(response: TestResponse) -> str:
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, response.headers
    return cookies[-1]


def flags(cookie: str) -> set[str]:
    return {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}


# ------------------------------------------------------------------------------ cookies


def test_the_session_cookie_is_httponly_lax_and_not_secure_over_plain_http(web: Flask) -> None:
    cookie = session_cookie(web.test_client().get("/login"))
    assert {"httponly", "expires", "path"} <= flags(cookie)
    assert "samesite=lax" in cookie.lower()
    assert "secure" not in flags(cookie)


def test_secure_cookies_mark_the_session_cookie_secure_and_send_hsts(
    scenario: Scenario,
) -> None:
    settings = replace(scenario.app.context.settings, secure_cookies=True)
    app = create_app(Rukun(settings, engine=scenario.app.engine), {"SECRET_KEY": "test"})
    response = app.test_client().get("/login")
    assert "secure" in flags(session_cookie(response))
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    plain = web_app(scenario).test_client().get("/login")
    assert "Strict-Transport-Security" not in plain.headers


def test_behind_a_trusted_proxy_https_gives_secure_cookies_and_the_client_address(
    scenario: Scenario,
) -> None:
    def client_address() -> str:
        return request.remote_addr or ""

    behind = web_app(scenario, RUKUN_PROXY_COUNT=1)
    behind.add_url_rule("/client-address", view_func=client_address)
    forwarded = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
    client = behind.test_client()
    assert client.get("/client-address", headers=forwarded).text == "203.0.113.7"
    assert "secure" in flags(session_cookie(client.get("/login", headers=forwarded)))

    direct = web_app(scenario)  # no proxy configured: forwarded headers are anyone's words
    direct.add_url_rule("/client-address", view_func=client_address)
    client = direct.test_client()
    assert client.get("/client-address", headers=forwarded).text == "127.0.0.1"
    assert "secure" not in flags(session_cookie(client.get("/login", headers=forwarded)))


def test_the_cookie_outlives_the_idle_limit_only_so_the_login_page_can_say_why(
    web: Flask,
) -> None:
    lifetime = web.config["PERMANENT_SESSION_LIFETIME"].total_seconds()
    assert web.config["RUKUN_IDLE_SECONDS"] == 30 * 60
    assert 30 * 60 < lifetime <= 30 * 60 + 12 * 3600
    assert web.config["WTF_CSRF_TIME_LIMIT"] == 8 * 3600


# ------------------------------------------------------------------------------ idle sign-out


def test_an_idle_session_is_signed_out_with_a_message_on_the_login_page(
    web: Flask, scenario: Scenario
) -> None:
    client = web.test_client()
    login(client, user_with_password(scenario, "kelurahan", scenario.rt.rsplit(".", 2)[0]))
    with client.session_transaction() as session:  # used a minute short of the limit
        session[LAST_SEEN] = int(time.time()) - 29 * 60
    assert client.get("/").status_code == 200
    with client.session_transaction() as session:  # then left for longer than the limit
        session[LAST_SEEN] = int(time.time()) - 30 * 60 - 5
    response = client.get("/cases/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    page = client.get(response.headers["Location"]).text
    assert "tidak aktif selama 30 menit" in page
    assert client.get("/").status_code == 302  # signed out for good, not just once


def test_a_request_rewrites_the_session_cookie_only_when_the_session_changed(
    web: Flask, scenario: Scenario
) -> None:
    # a cookie session is last-writer-wins: were every response to rewrite it, a live guard
    # check answering after a form's response would drop the form's "saved" message
    client = web.test_client()
    login(client, user_with_password(scenario, "kelurahan", scenario.rt.rsplit(".", 2)[0]))
    assert client.get("/").status_code == 200
    quiet = client.get("/cases/")
    assert quiet.status_code == 200 and "Set-Cookie" not in quiet.headers
    with client.session_transaction() as session:  # last used more than a minute ago
        session[LAST_SEEN] = int(time.time()) - 61
    assert "Set-Cookie" in client.get("/cases/").headers
    assert "Set-Cookie" not in client.get("/cases/").headers


def test_the_idle_limit_follows_the_setting(scenario: Scenario) -> None:
    settings = Settings.from_env(
        {
            "RUKUN_DATABASE_URL": scenario.app.context.settings.database_url,
            "RUKUN_STORAGE": str(scenario.app.context.settings.storage_dir),
            "RUKUN_IDLE_MINUTES": "5",
            "RUKUN_CSRF_MINUTES": "60",
        }
    )
    app = create_app(Rukun(settings, engine=scenario.app.engine), {"SECRET_KEY": "test"})
    assert app.config["RUKUN_IDLE_SECONDS"] == 300
    assert app.config["WTF_CSRF_TIME_LIMIT"] == 3600
    with pytest.raises(InvalidData, match="RUKUN_IDLE_MINUTES='0'"):
        Settings.from_env({"RUKUN_IDLE_MINUTES": "0"})
    with pytest.raises(InvalidData, match="RUKUN_SECURE_COOKIES='maybe'"):
        Settings.from_env({"RUKUN_SECURE_COOKIES": "maybe"})


def test_an_expired_csrf_token_is_refused_with_the_form_expired_page(
    scenario: Scenario,
) -> None:
    client = web_app(scenario, WTF_CSRF_TIME_LIMIT=1).test_client()
    token = csrf(client, "/login")
    time.sleep(2.1)  # tokens carry whole seconds
    name = user_with_password(scenario, "kelurahan", scenario.rt.rsplit(".", 2)[0])
    response = client.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 400
    assert "Formulir kedaluwarsa" in response.text
    assert security_header_problems(response) == []
    fresh = csrf(client, "/login")
    response = client.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": fresh})
    assert response.status_code == 302


# ------------------------------------------------------------------------------ the key


def test_the_key_file_is_made_once_with_mode_0600_and_reused(tmp_path: Path) -> None:
    settings = Settings.from_env({"RUKUN_DATABASE_URL": f"sqlite:///{tmp_path / 'r.sqlite'}"})
    assert settings.secret_key_file == tmp_path / "rukun-secret-key"
    key = secret_key(settings)
    assert len(key) >= 32
    assert stat.S_IMODE(settings.secret_key_file.stat().st_mode) == 0o600
    assert secret_key(settings) == key
    assert [p.name for p in tmp_path.iterdir()] == ["rukun-secret-key"]  # no stray temp file


def test_the_key_file_of_other_databases_is_in_the_storage_directory(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {"RUKUN_DATABASE_URL": "postgresql+psycopg://h/db", "RUKUN_STORAGE": str(tmp_path)}
    )
    assert settings.secret_key_file == tmp_path / "rukun-secret-key"
    elsewhere = Settings.from_env({"RUKUN_SECRET_KEY_FILE": str(tmp_path / "k")})
    assert elsewhere.secret_key_file == tmp_path / "k"
    assert Settings.from_env({"RUKUN_DATABASE_URL": "sqlite://"}).secret_key_file is None


def test_rukun_secret_key_wins_and_no_file_is_made(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {"RUKUN_DATABASE_URL": f"sqlite:///{tmp_path / 'r.sqlite'}", "RUKUN_SECRET_KEY": "k" * 40}
    )
    assert secret_key(settings) == "k" * 40
    assert "k" * 40 not in repr(settings)
    assert not (tmp_path / "rukun-secret-key").exists()


def test_a_key_file_others_may_read_or_a_short_key_is_refused(tmp_path: Path) -> None:
    settings = Settings.from_env({"RUKUN_SECRET_KEY_FILE": str(tmp_path / "key")})
    assert settings.secret_key_file is not None
    settings.secret_key_file.write_text("x" * 64)
    settings.secret_key_file.chmod(0o644)
    with pytest.raises(InvalidData, match=r"readable or writable by others \(mode 0644\)"):
        secret_key(settings)
    settings.secret_key_file.chmod(0o600)
    assert secret_key(settings) == "x" * 64
    settings.secret_key_file.write_text("short\n")
    with pytest.raises(InvalidData, match="holds 5 characters"):
        secret_key(settings)


def _key_when_released(key_file: str, barrier: Any, keys: Any) -> None:
    barrier.wait()
    keys.put(secret_key(Settings.from_env({"RUKUN_SECRET_KEY_FILE": key_file})))


def test_workers_starting_together_all_get_the_one_key(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    barrier, keys = context.Barrier(6), context.Queue()
    workers = [
        context.Process(target=_key_when_released, args=(str(tmp_path / "key"), barrier, keys))
        for _ in range(6)
    ]
    for worker in workers:
        worker.start()
    found = [keys.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    assert len(set(found)) == 1
    assert found[0] == (tmp_path / "key").read_text().strip()
    assert [p.name for p in tmp_path.iterdir()] == ["key"]


# ------------------------------------------------------------------------------ two workers


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def two_workers(app: Rukun, env: dict[str, str]) -> Iterator[list[int]]:
    """Two `rukun serve` processes on the test database, without RUKUN_SECRET_KEY."""
    environment = {k: v for k, v in os.environ.items() if k != "RUKUN_SECRET_KEY"}
    environment.update(env)
    ports = [_free_port(), _free_port()]
    rukun = str(Path(sys.executable).with_name("rukun"))
    workers = [
        subprocess.Popen(
            [rukun, "serve", "--port", str(port), "--threads", "2"],
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for port in ports
    ]
    try:
        for port, worker in zip(ports, workers, strict=True):
            _wait_for(port, worker)
        yield ports
    finally:
        for worker in workers:
            worker.terminate()
            worker.wait(timeout=30)


def _wait_for(port: int, worker: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise AssertionError(worker.stderr.read() if worker.stderr else b"")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"rukun serve did not listen on {port}")


def _request(
    port: int, method: str, path: str, cookie: str = "", body: str = ""
) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Cookie": cookie} if cookie else {}
    if body:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    connection.request(method, path, body=body or None, headers=headers)
    response = connection.getresponse()
    response.read()
    return response


def _cookie_of(response: http.client.HTTPResponse) -> str:
    jar = SimpleCookie()
    for header in response.headers.get_all("Set-Cookie") or []:
        jar.load(header)
    return f"session={jar['session'].value}"


def test_a_second_worker_process_accepts_the_first_ones_session(
    two_workers: list[int], app: Rukun
) -> None:
    app.users.add("web_two_workers", "auditor", [], PASSWORD)
    first, second = two_workers
    connection = http.client.HTTPConnection("127.0.0.1", first, timeout=30)
    connection.request("GET", "/login")
    page = connection.getresponse()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.read().decode())
    assert token
    cookie = _cookie_of(page)
    form = f"name=web_two_workers&password={PASSWORD}&csrf_token={token.group(1)}"
    signed_in = _request(first, "POST", "/login", cookie, form)
    assert (signed_in.status, signed_in.headers["Location"]) == (302, "/")
    cookie = _cookie_of(signed_in)
    assert _request(second, "GET", "/audit/", cookie).status == 200
    assert _request(first, "GET", "/audit/", cookie).status == 200
    assert _request(second, "GET", "/audit/").status == 302  # no cookie: the login page
    key_file = app.context.settings.secret_key_file
    assert key_file is not None and stat.S_IMODE(key_file.stat().st_mode) == 0o600


# ------------------------------------------------------------------------------ headers


def test_every_kind_of_response_carries_the_security_headers(
    web: Flask, scenario: Scenario
) -> None:
    client = web.test_client()
    responses = {
        "login": client.get("/login"),
        "not found": client.get("/no-such-page"),
        "redirect": client.get("/cases/"),
        "static script": client.get("/static/rukun.js"),
        "flask-admin static": client.get("/static/admin/vendor/jquery.min.js"),
        "csrf refused": client.post("/login", data={"name": "x", "password": "y"}),
    }
    assert {name: r.status_code for name, r in responses.items()} == {
        "login": 200,
        "not found": 404,
        "redirect": 302,
        "static script": 200,
        "flask-admin static": 200,
        "csrf refused": 400,
    }
    assert {name: security_header_problems(r) for name, r in responses.items()} == {
        name: [] for name in responses
    }
    policy = responses["login"].headers["Content-Security-Policy"]
    assert "'nonce-" not in policy  # only pages that inject a style get one
    assert "camera=()" in responses["login"].headers["Permissions-Policy"]


def test_no_page_template_has_inline_script_or_style() -> None:
    """The policy allows neither: behaviour lives in static/rukun.js, looks in rukun.css."""
    templates = Path(__file__).resolve().parents[2] / "admin" / "templates"
    found = [
        (path.name, match)
        for path in templates.rglob("*.html")
        for match in re.findall(
            r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+=|javascript:",
            path.read_text(encoding="utf-8"),
        )
    ]
    assert found == []


# ------------------------------------------------------------------------------ documents

HOSTILE_HTML = b"<!DOCTYPE html><html><body><script>fetch('/cases/')</script></body></html>"
HOSTILE_SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg">'
    b"<script>alert(document.cookie)</script></svg>"
)


@pytest.fixture
def hostile_case(scenario: Scenario, tmp_path: Path) -> dict[str, Any]:
    """A case whose rembug minutes are an HTML page and attendance list an SVG with script:
    stored by an installation whose RUKUN_DOCUMENT_TYPES was opened to them."""
    lax = Rukun(
        replace(
            scenario.app.context.settings,
            document_types=(*DEFAULT_DOCUMENT_TYPES, "text/html", "image/svg+xml"),
        )
    )
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    minutes = uploads / 'notulen "rembug"; <b>.html'
    minutes.write_bytes(HOSTILE_HTML)
    attendance = uploads / "hadir.svg"
    attendance.write_bytes(HOSTILE_SVG)
    case = scenario.start()
    role, values, _ = scenario.step("record_rembug")
    try:
        return lax.cases.fire(
            case["id"],
            "record_rembug",
            scenario.users[role],
            values,
            {"minutes": minutes, "attendance_list": attendance},
        )
    finally:
        lax.close()


def test_an_uploaded_html_or_svg_document_is_downloaded_never_rendered(
    web: Flask, scenario: Scenario, hostile_case: dict[str, Any]
) -> None:
    assert hostile_case["data"]["minutes"]["media_type"] == "text/html"
    assert hostile_case["data"]["attendance_list"]["media_type"] == "image/svg+xml"
    scenario.app.users.add("web_auditor", "auditor", [], PASSWORD)
    client = web.test_client()
    login(client, "web_auditor")
    case_id = hostile_case["id"]
    for field, content, name in (
        ("minutes", HOSTILE_HTML, "notulen _rembug__ _b_.html"),
        ("attendance_list", HOSTILE_SVG, "hadir.svg"),
    ):
        sha = hostile_case["data"][field]["sha256"]
        for url in (f"/cases/{case_id}/documents/{sha}", f"/audit/cases/{case_id}/documents/{sha}"):
            response = client.get(url)
            assert response.status_code == 200, url
            assert response.data == content
            assert response.mimetype == "application/octet-stream", url
            disposition = parse_options_header(response.headers["Content-Disposition"])
            assert disposition == ("attachment", {"filename": name}), url
            assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
            assert "sandbox" in response.headers["Content-Security-Policy"]
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            assert "private" in response.headers["Cache-Control"]
            assert security_header_problems(response) == [], url


def test_a_pdf_keeps_its_type_but_is_an_attachment_too(web: Flask, scenario: Scenario) -> None:
    client = web.test_client()
    scenario.app.users.add("web_auditor", "auditor", [], PASSWORD)
    login(client, "web_auditor")
    case = scenario.probebaya_case("submitted")
    sha = case["data"]["minutes"]["sha256"]
    response = client.get(f"/cases/{case['id']}/documents/{sha}")
    assert response.mimetype == "application/pdf"
    disposition = parse_options_header(response.headers["Content-Disposition"])
    assert disposition == ("attachment", {"filename": "minutes.pdf"})
