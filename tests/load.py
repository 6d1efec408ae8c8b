"""A bounded load test of the operator UI under gunicorn, on 127.0.0.1 only.

A few clients sign in through the login form, then for a fixed time mix reads (inbox, case
list, case detail) with fires (the case page's form posted, firing a real transition on a
seeded case), and the run reports p50/p95 per route and every server error. The tests run
it at CI size (tests/integration/test_gunicorn.py); as a script it runs longer:

    RUKUN_DATABASE_URL=postgresql+psycopg://rukun:rukun@127.0.0.1/rukun_scratch \\
        python -m tests.load --minutes 3 --clients 4

Run it from the repository's root. It migrates and seeds that database (use a scratch
one; without RUKUN_DATABASE_URL, a SQLite file in a temporary directory), starts gunicorn
with the configuration that docs/deploy.md shows, and stops it when done. The exit code
is 1 if any response was a 5xx or a client failed.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

from engine.runtime import Rukun
from engine.settings import Settings
from tests.builders import Scenario

ROOT = Path(__file__).resolve().parent.parent
DEPLOY_DOC = ROOT / "docs" / "deploy.md"
PASSWORD = "kata-sandi-beban-uji"
#: Each access-log line: worker pid, status, request line, milliseconds.
ACCESS_FORMAT = '%(p)s %(s)s "%(r)s" %(M)s'
ACCESS_LINE = re.compile(r'<?(\d+)>? (\d+) "([^"]*)"')
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
VERSION = re.compile(r'name="expected_version" value="(\d+)"')


def documented_gunicorn_conf() -> str:
    """The gunicorn.conf.py that docs/deploy.md shows (the python block naming it)."""
    text = DEPLOY_DOC.read_text(encoding="utf-8")
    match = re.search(r"^```python\n(# [^\n]*gunicorn\.conf\.py\n.*?)^```$", text, re.S | re.M)
    assert match, "docs/deploy.md shows no gunicorn.conf.py"
    return match.group(1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# ------------------------------------------------------------------------------ gunicorn


@dataclass
class Server:
    """A running gunicorn: where it listens and where it logs."""

    port: int
    process: subprocess.Popen[bytes]
    access_log: Path
    error_log: Path

    def worker_pids(self, request: str = "") -> set[int]:
        """The worker processes that answered a request (one whose request line starts
        with ``request``, e.g. ``GET /cases/7``) with 200, from the access log."""
        lines = self.access_log.read_text(encoding="utf-8").splitlines()
        return {
            int(found.group(1))
            for line in lines
            if (found := ACCESS_LINE.match(line))
            and found.group(2) == "200"
            and found.group(3).startswith(request)
        }


@contextmanager
def gunicorn(
    env: Mapping[str, str], run_dir: Path, workers: int = 2, conf: str | None = None
) -> Iterator[Server]:
    """gunicorn serving ``admin.wsgi:app`` on 127.0.0.1 with the documented configuration,
    run in its own session and always stopped: SIGTERM (graceful), then SIGKILL to the group."""
    run_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    access_log, error_log = run_dir / "access.log", run_dir / "error.log"
    # settings a test needs, appended so they win over the documented ones
    overrides = {
        "bind": f"127.0.0.1:{port}",
        "workers": workers,
        "accesslog": str(access_log),
        "access_log_format": ACCESS_FORMAT,
        "errorlog": str(error_log),
        "control_socket": str(run_dir / "gunicorn.ctl"),
        "pidfile": None,
    }
    conf_file = run_dir / "gunicorn.conf.py"
    conf_file.write_text(
        (documented_gunicorn_conf() if conf is None else conf)
        + "\n# the test's own\n"
        + "".join(f"{name} = {value!r}\n" for name, value in overrides.items()),
        encoding="utf-8",
    )
    executable = str(Path(sys.executable).with_name("gunicorn"))
    process = subprocess.Popen(
        [executable, "-c", str(conf_file), "admin.wsgi:app"],
        # only the settings given: none of the caller's own RUKUN_* (e.g. a secret key)
        env={**{k: v for k, v in os.environ.items() if not k.startswith("RUKUN_")}, **env},
        cwd=run_dir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    server = Server(port, process, access_log, error_log)
    try:
        _wait_until_it_answers(server)
        yield server
    finally:
        _stop(server.process)


def _wait_until_it_answers(server: Server, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"gunicorn exited:\n{_tail(server.error_log)}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
            connection.request("GET", "/login")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"gunicorn did not answer in {seconds}s:\n{_tail(server.error_log)}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=30)
    with suppress(ProcessLookupError):  # workers the master left behind, if any
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def _tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return ""
    return "\n".join(path.read_text(encoding="utf-8").splitlines()[-lines:])


# ------------------------------------------------------------------------------ clients


@dataclass
class Response:
    status: int
    body: str
    location: str | None


@dataclass
class Timings:
    """Milliseconds per route, and every response that was a server error."""

    samples: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    server_errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, route: str, millis: float, status: int, path: str) -> None:
        with self.lock:
            self.samples[route].append(millis)
            if status >= 500:
                self.server_errors.append(f"{status} {path}")

    def table(self) -> str:
        rows = [f"{'route':<32} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}"]
        for route, values in sorted(self.samples.items()):
            ordered = sorted(values)
            p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
            rows.append(
                f"{route:<32} {len(values):>6} {statistics.median(values):>8.1f}"
                f" {p95:>8.1f} {ordered[-1]:>8.1f}"
            )
        return "\n".join(rows)


class Browser:
    """One signed-in user's cookie, over a new loopback connection per request (gunicorn's
    sync workers close every connection); each request is timed under its route's name."""

    def __init__(self, port: int, timings: Timings) -> None:
        self.port = port
        self.timings = timings
        self.cookie = ""

    def request(
        self, route: str, method: str, path: str, form: Mapping[str, str] | None = None
    ) -> Response:
        headers = {"Cookie": self.cookie} if self.cookie else {}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=headers)
            answer = connection.getresponse()
            text = answer.read().decode("utf-8", "replace")
        finally:
            connection.close()
        self.timings.add(route, (time.perf_counter() - started) * 1000, answer.status, path)
        jar = SimpleCookie()
        for header in answer.headers.get_all("Set-Cookie") or []:
            jar.load(header)
        if "session" in jar:
            self.cookie = f"session={jar['session'].value}"
        return Response(answer.status, text, answer.headers.get("Location"))

    def get(self, route: str, path: str) -> Response:
        return self.request(route, "GET", path)

    def sign_in(self, name: str, password: str) -> None:
        """Through the login form, with the CSRF token the page carries."""
        token = CSRF.search(self.get("GET /login", "/login").body)
        assert token, "the login page has no CSRF token"
        form = {"name": name, "password": password, "csrf_token": token.group(1)}
        answer = self.request("POST /login", "POST", "/login", form)
        assert (answer.status, answer.location) == (302, "/"), (answer.status, answer.body[:300])

    def fire(self, case_id: int, trigger: str) -> Response:
        """Open the case page and post its form for ``trigger``, as a person would."""
        page = self.get("GET /cases/<id>", f"/cases/{case_id}")
        action = f"/cases/{case_id}/fire/{trigger}"
        token, version = CSRF.search(page.body), VERSION.search(page.body)
        if page.status != 200 or f'action="{action}"' not in page.body or not token or not version:
            return page
        form = {"csrf_token": token.group(1), "expected_version": version.group(1)}
        return self.request(f"POST fire {trigger}", "POST", action, form)


# ------------------------------------------------------------------------------ the run


@dataclass
class Client:
    """A user, and the seeded cases only this client fires ``trigger`` on."""

    user: str
    trigger: str
    cases: list[int]


@dataclass
class Seed:
    clients: list[Client]
    all_cases: list[int]


#: (role, trigger, the state its cases are seeded in): kelurahan verifies, kecamatan approves
KINDS = (("kelurahan", "verify", "submitted"), ("kecamatan", "approve_kecamatan", "verified"))


def seed(app: Rukun, work_dir: Path, clients: int, cases_per_client: int) -> Seed:
    """Probebaya with cases waiting for each client's role, and a user with a password per
    client (alternately kelurahan and kecamatan of the scenario's RT)."""
    scenario = Scenario.probebaya(app, work_dir)
    kelurahan = scenario.rt.rsplit(".", 2)[0]
    regions = {"kelurahan": kelurahan, "kecamatan": kelurahan.rsplit(".", 1)[0]}
    made, every = [], []
    for number in range(clients):
        role, trigger, state = KINDS[number % len(KINDS)]
        user = f"load_{role}_{number}"
        app.users.add(user, role, [regions[role]], PASSWORD)
        cases = [scenario.probebaya_case(state)["id"] for _ in range(cases_per_client)]
        made.append(Client(user, trigger, cases))
        every.extend(cases)
    return Seed(made, every)


@dataclass
class Outcome:
    timings: Timings
    fired: dict[int, int] = field(default_factory=dict)  # case id -> fire status
    failures: list[str] = field(default_factory=list)


def run(port: int, seeded: Seed, seconds: float, rng_seed: int = 12) -> Outcome:
    """Every client in its own thread for ``seconds``: each round reads the inbox, the case
    list and a case page, then fires on its next case (reads only once they are used up)."""
    outcome = Outcome(Timings())
    deadline = time.monotonic() + seconds

    def client(number: int, spec: Client) -> None:
        rng = random.Random(rng_seed + number)
        browser = Browser(port, outcome.timings)
        try:
            browser.sign_in(spec.user, PASSWORD)
            waiting = list(spec.cases)
            while time.monotonic() < deadline:
                browser.get("GET / (inbox)", "/")
                browser.get("GET /cases/", "/cases/")
                browser.get("GET /cases/<id>", f"/cases/{rng.choice(spec.cases)}")
                if waiting:
                    case_id = waiting.pop(0)
                    outcome.fired[case_id] = browser.fire(case_id, spec.trigger).status
        except Exception as error:  # reported by the caller, which fails the run
            outcome.failures.append(f"client {number}: {type(error).__name__}: {error}")

    threads = [
        threading.Thread(target=client, args=(n, spec), daemon=True)
        for n, spec in enumerate(seeded.clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 120)
        if thread.is_alive():
            outcome.failures.append(f"{thread.name} still running after the deadline")
    return outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--cases", type=int, default=50, help="cases seeded per client")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="rukun-load-") as tmp:
        work = Path(tmp)
        url = os.environ.get("RUKUN_DATABASE_URL") or f"sqlite:///{work / 'rukun.sqlite'}"
        env = {"RUKUN_DATABASE_URL": url, "RUKUN_STORAGE": str(work / "storage")}
        app = Rukun(Settings.from_env(env))
        app.upgrade()
        seeded = seed(app, work, args.clients, args.cases)
        with gunicorn(env, work / "gunicorn", workers=args.workers) as server:
            outcome = run(server.port, seeded, args.minutes * 60)
        app.close()
    print(outcome.timings.table())
    fired = sorted(outcome.fired.values())
    print(f"fires: {len(fired)} ({fired.count(302)} saved)")
    for line in outcome.failures + outcome.timings.server_errors:
        print(line, file=sys.stderr)
    return 1 if outcome.timings.server_errors or outcome.failures else 0


if __name__ == "__main__":
    sys.exit(main())
