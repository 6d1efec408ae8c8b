"""Sending plain-text e-mails through the SMTP server of ``RUKUN_SMTP_URL`` (smtplib):
one connection for a batch of messages, every wait bounded, every failure reported per
message rather than raised. Messages are :class:`email.message.EmailMessage`, which refuses
a header value with a line break, so no address or subject can add headers."""

from __future__ import annotations

import datetime as dt
import re
import smtplib
import ssl
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from urllib.parse import unquote, urlsplit

#: Seconds any one connect, command or answer of the mail server may take.
TIMEOUT = 10
DEFAULT_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}
MAX_ADDRESS = 254
#: An address as Rukun accepts it: ASCII, a dot-atom local part, a domain of at least two
#: labels. Stricter than RFC 5322 on purpose: no quoting, comments, spaces or line breaks.
ADDRESS = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}",
    re.ASCII,
)


def valid_address(address: str) -> bool:
    return len(address) <= MAX_ADDRESS and ADDRESS.fullmatch(address) is not None


@dataclass(frozen=True)
class Letter:
    """One e-mail to send: the key its outcome is reported under, and its parts."""

    key: int
    to: str
    subject: str
    body: str


@dataclass(frozen=True)
class Outcome:
    """What became of one letter: sent, or the error and whether trying again may help."""

    key: int
    sent: bool
    error: str | None = None
    permanent: bool = False


@dataclass(frozen=True)
class SmtpServer:
    """The mail server of an ``smtp://``, ``smtp+starttls://`` or ``smtps://`` URL (checked
    when the settings were read: :func:`engine.settings._smtp_url`)."""

    scheme: str
    host: str
    port: int
    username: str | None
    password: str | None

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        parts = urlsplit(url)
        return cls(
            scheme=parts.scheme,
            host=parts.hostname or "",
            port=parts.port or DEFAULT_PORTS[parts.scheme],
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )

    def connect(self) -> smtplib.SMTP:
        """A connection, secured as the scheme says and signed in if the URL has a user."""
        context = ssl.create_default_context()
        connection: smtplib.SMTP
        if self.scheme == "smtps":
            connection = smtplib.SMTP_SSL(self.host, self.port, timeout=TIMEOUT, context=context)
        else:
            connection = smtplib.SMTP(self.host, self.port, timeout=TIMEOUT)
        try:
            if self.scheme == "smtp+starttls":
                connection.starttls(context=context)
            if self.username is not None:
                connection.login(self.username, self.password or "")
        except BaseException:
            connection.close()
            raise
        return connection


def message(letter: Letter, sender: str, now: dt.datetime) -> EmailMessage:
    """The letter as an e-mail (``ValueError`` for an address or subject that would break
    its headers)."""
    if not valid_address(letter.to):
        raise ValueError("not a valid e-mail address")
    mail = EmailMessage()
    mail["Subject"] = letter.subject
    mail["From"] = sender
    mail["To"] = letter.to
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = make_msgid(domain="rukun.invalid")
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
    mail.set_content(letter.body)
    return mail


def send(
    server: SmtpServer, sender: str, letters: Iterable[Letter], now: dt.datetime
) -> Iterator[Outcome]:
    """Send each letter, yielding its outcome; never raises. A letter the server answers
    no to fails alone (for good on a 5xx answer); a server that cannot be reached, or a
    connection that breaks, fails every letter left with the same error (tried again
    later), so one batch waits at most about one :data:`TIMEOUT` for a dead server."""
    connection: smtplib.SMTP | None = None
    waiting = iter(letters)
    try:
        for letter in waiting:
            try:
                mail = message(letter, sender, now)
            except ValueError as refused:
                yield Outcome(letter.key, False, f"not sent: {refused}", permanent=True)
                continue
            try:
                if connection is None:
                    connection = server.connect()
                connection.send_message(mail, from_addr=_envelope(sender), to_addrs=[letter.to])
            except (OSError, smtplib.SMTPException) as failed:
                answered = None if connection is None else _answered(failed)
                if answered is not None:
                    yield Outcome(letter.key, False, _describe(failed), permanent=answered >= 500)
                    continue
                yield Outcome(letter.key, False, _describe(failed))
                yield from (Outcome(rest.key, False, _describe(failed)) for rest in waiting)
                return
            else:
                yield Outcome(letter.key, True)
    finally:
        if connection is not None:
            _close(connection)


def _answered(error: BaseException) -> int | None:
    """The SMTP code the server refused one message with (None: the connection failed, or
    the sender was refused, which is the same for every message; smtplib has reset the
    session after a refusal, so the connection goes on)."""
    if isinstance(error, smtplib.SMTPSenderRefused):
        return None
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return min(code for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return int(error.smtp_code)
    return None


def _envelope(sender: str) -> str:
    """The bare address of a sender written ``Name <address>``."""
    match = re.search(r"<([^<>]+)>\s*$", sender)
    return match.group(1) if match else sender


def _close(connection: smtplib.SMTP) -> None:
    try:
        connection.quit()
    except (OSError, smtplib.SMTPException):
        connection.close()


def _describe(error: BaseException) -> str:
    """The error as one line for the notification's record (never the SMTP password)."""
    text = " ".join(str(error).split()) or type(error).__name__
    return f"{type(error).__name__}: {text}"[:500]
