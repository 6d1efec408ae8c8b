"""Configuration: one settings object read from ``RUKUN_*`` environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from engine.errors import InvalidData

DEFAULT_DATABASE_FILE = "rukun.sqlite"
DEFAULT_SMTP_FROM = "rukun@localhost"
#: The forms of ``RUKUN_SMTP_URL``: how the connection to the mail server is secured.
SMTP_SCHEMES = ("smtp", "smtp+starttls", "smtps")

#: Media types accepted for documents unless ``RUKUN_DOCUMENT_TYPES`` says otherwise.
DEFAULT_DOCUMENT_TYPES = (
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/webp",
    "text/plain",
    "text/csv",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
)


@dataclass(frozen=True)
class SignInPolicy:
    """When sign-in attempts are refused unchecked (HTTP 429) and for how long, in seconds.

    Per user name (as typed): after ``name_limit`` failures since the name's last success
    (failures older than ``name_memory`` are forgotten), the next attempt waits
    ``first_wait`` after the latest failure, doubled for every further failure, at most
    ``max_wait``. Per client address: at most ``address_limit`` failures, whatever the
    names, in any ``address_window``; a success does not clear that count.
    """

    name_limit: int = 5
    first_wait: int = 60
    max_wait: int = 15 * 60
    name_memory: int = 24 * 60 * 60
    address_limit: int = 20
    address_window: int = 15 * 60

    @classmethod
    def from_env(cls, env: dict[str, str]) -> SignInPolicy:
        """A limit of 0 turns that half of the throttle off."""
        defaults = cls()
        return cls(
            name_limit=_count(env, "RUKUN_SIGN_IN_NAME_LIMIT", defaults.name_limit, minimum=0),
            address_limit=_count(
                env, "RUKUN_SIGN_IN_ADDRESS_LIMIT", defaults.address_limit, minimum=0
            ),
            max_wait=_count(env, "RUKUN_SIGN_IN_MAX_WAIT", defaults.max_wait, minimum=1),
        )


@dataclass(frozen=True)
class Settings:
    """Everything configurable about a Rukun installation.

    - ``RUKUN_DATABASE_URL``: SQLAlchemy URL; default ``sqlite:///rukun.sqlite`` in the
      working directory (WAL mode).
    - ``RUKUN_STORAGE``: directory for documents; default ``rukun-storage`` next to the
      SQLite file (or in the working directory for other databases).
    - ``RUKUN_MAX_DOCUMENT_BYTES``: largest accepted document; default 20 MiB.
    - ``RUKUN_DOCUMENT_TYPES``: comma-separated media types accepted for documents.
    - ``RUKUN_SIGN_IN_NAME_LIMIT``, ``RUKUN_SIGN_IN_ADDRESS_LIMIT``, ``RUKUN_SIGN_IN_MAX_WAIT``:
      sign-in throttling (see :class:`SignInPolicy`).

    The operator UI's sessions (docs/deploy.md):

    - ``RUKUN_SECRET_KEY``: signs session cookies and CSRF tokens; without it the key is
      read from ``RUKUN_SECRET_KEY_FILE``, default ``rukun-secret-key`` next to the SQLite
      file (in the storage directory for other databases), which is made once (mode 0600)
      so that every worker process and restart shares it. An in-memory SQLite database
      has no key file: each process makes its own key.
    - ``RUKUN_SECURE_COOKIES``: ``1`` marks the session cookie ``Secure`` and sends HSTS
      (the UI is served over HTTPS only); requests that arrive over HTTPS get ``Secure``
      cookies anyway.
    - ``RUKUN_PROXY_COUNT``: how many reverse proxies stand in front of the UI; their
      ``X-Forwarded-For/-Proto/-Host`` headers are trusted that many hops deep. Default 0.
    - ``RUKUN_IDLE_MINUTES``: a session unused this long is signed out; default 30.
    - ``RUKUN_CSRF_MINUTES``: how long a form's CSRF token is accepted; default 480.

    The API (docs/api.md):

    - ``RUKUN_API_RATE_LIMIT``: requests each API token may make, as ``N/second|minute|
      hour|day`` (several separated by ``;``); default ``300/minute``.
    - ``RUKUN_API_RATE_STORAGE``: where the counts are kept, a ``limits`` storage URL;
      default ``memory://``, which counts in each worker process on its own (with several
      workers, point it at a shared store such as ``redis://`` or ``memcached://``).

    Notifications (README: Notifications):

    - ``RUKUN_SMTP_URL``: the mail server e-mails are sent through, as
      ``smtp://[user:password@]host[:port]`` (plain, port 25), ``smtp+starttls://…``
      (STARTTLS, port 587) or ``smtps://…`` (TLS from the start, port 465); user and
      password percent-encoded. Unset: no e-mail is sent or queued, the bell only.
    - ``RUKUN_SMTP_FROM``: the sender of those e-mails; default ``rukun@localhost``.
    - ``RUKUN_BASE_URL``: where the UI is served (``https://rukun.example.go.id``); e-mails
      link to the case under it. Unset: e-mails carry no link.
    - ``RUKUN_NOTIFY_DUE_HOURS``: a case whose state's deadline is this many hours away or
      less tells those who must act (once per entry into the state); default 48.
    """

    database_url: str
    storage_dir: Path
    max_document_bytes: int = 20 * 1024 * 1024
    document_types: tuple[str, ...] = field(default=DEFAULT_DOCUMENT_TYPES)
    sign_in: SignInPolicy = field(default_factory=SignInPolicy)
    secret_key: str | None = field(default=None, repr=False)
    secret_key_file: Path | None = None
    secure_cookies: bool = False
    proxy_count: int = 0
    idle_minutes: int = 30
    csrf_minutes: int = 480
    api_rate_limit: str = "300/minute"
    api_rate_storage: str = "memory://"
    smtp_url: str | None = field(default=None, repr=False)
    smtp_from: str = DEFAULT_SMTP_FROM
    base_url: str | None = None
    notify_due_hours: int = 48
    paperwork_seconds: int = 20
    paperwork_memory_mb: int = 1024

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        url = env.get("RUKUN_DATABASE_URL") or f"sqlite:///{DEFAULT_DATABASE_FILE}"
        storage = env.get("RUKUN_STORAGE")
        storage_dir = Path(storage) if storage else _default_storage(url)
        types = env.get("RUKUN_DOCUMENT_TYPES")
        key_file = env.get("RUKUN_SECRET_KEY_FILE")
        return cls(
            database_url=url,
            storage_dir=storage_dir,
            max_document_bytes=int(env.get("RUKUN_MAX_DOCUMENT_BYTES", 20 * 1024 * 1024)),
            document_types=(
                tuple(t.strip() for t in types.split(",") if t.strip())
                if types
                else DEFAULT_DOCUMENT_TYPES
            ),
            sign_in=SignInPolicy.from_env(env),
            secret_key=env.get("RUKUN_SECRET_KEY") or None,
            secret_key_file=Path(key_file) if key_file else _default_key_file(url, storage_dir),
            secure_cookies=_flag(env, "RUKUN_SECURE_COOKIES"),
            proxy_count=_count(env, "RUKUN_PROXY_COUNT", 0, minimum=0),
            idle_minutes=_count(env, "RUKUN_IDLE_MINUTES", 30, minimum=1),
            csrf_minutes=_count(env, "RUKUN_CSRF_MINUTES", 480, minimum=1),
            api_rate_limit=env.get("RUKUN_API_RATE_LIMIT") or "300/minute",
            api_rate_storage=env.get("RUKUN_API_RATE_STORAGE") or "memory://",
            smtp_url=_smtp_url(env),
            smtp_from=_one_line(env, "RUKUN_SMTP_FROM") or DEFAULT_SMTP_FROM,
            base_url=(_one_line(env, "RUKUN_BASE_URL") or "").rstrip("/") or None,
            notify_due_hours=_count(env, "RUKUN_NOTIFY_DUE_HOURS", 48, minimum=1),
            paperwork_seconds=_count(env, "RUKUN_PAPERWORK_SECONDS", 20, minimum=1),
            paperwork_memory_mb=_count(env, "RUKUN_PAPERWORK_MEMORY_MB", 1024, minimum=256),
        )


def _default_storage(url: str) -> Path:
    """Storage lives next to the SQLite file, or in the working directory otherwise."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and len(url) > len(prefix) and ":memory:" not in url:
        return Path(url[len(prefix) :]).parent / "rukun-storage"
    return Path("rukun-storage")


def _default_key_file(url: str, storage_dir: Path) -> Path | None:
    """Next to the SQLite file, or in the storage directory (which every worker of an
    installation shares) for other databases; none for an in-memory database."""
    prefix = "sqlite:///"
    if url.startswith("sqlite"):
        if not url.startswith(prefix) or len(url) == len(prefix) or ":memory:" in url:
            return None
        return Path(url[len(prefix) :]).parent / "rukun-secret-key"
    return storage_dir / "rukun-secret-key"


def _flag(env: dict[str, str], name: str) -> bool:
    value = env.get(name, "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise InvalidData(f"{name}={env[name]!r}: expected 1 or 0 (true/false, yes/no, on/off)")


def _count(env: dict[str, str], name: str, default: int, minimum: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < minimum:
        raise InvalidData(f"{name}={raw!r}: expected a whole number of at least {minimum}")
    return int(raw)


def _one_line(env: dict[str, str], name: str) -> str:
    """The variable stripped; InvalidData if it holds a line break (it goes into headers)."""
    value = env.get(name, "").strip()
    if "\r" in value or "\n" in value:
        raise InvalidData(f"{name} must be one line")
    return value


def _smtp_url(env: dict[str, str]) -> str | None:
    """``RUKUN_SMTP_URL`` if it is one of :data:`SMTP_SCHEMES` with a host (None if unset);
    the message never repeats the URL, which may hold a password."""
    url = _one_line(env, "RUKUN_SMTP_URL")
    if not url:
        return None
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 (raises for a port that is not a number)
    except ValueError:
        raise InvalidData("RUKUN_SMTP_URL: the port must be a number") from None
    if parts.scheme not in SMTP_SCHEMES or not parts.hostname:
        raise InvalidData(
            "RUKUN_SMTP_URL: expected smtp://, smtp+starttls:// or smtps:// "
            "followed by [user:password@]host[:port]"
        )
    return url
