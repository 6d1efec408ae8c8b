"""The key that signs the UI's session cookies and CSRF tokens, shared by every worker.

``RUKUN_SECRET_KEY`` wins. Otherwise the key lives in a file (``Settings.secret_key_file``)
made once with mode 0600: whichever worker starts first writes it, the others and every
restart read it, so a session signed by one process is valid in all of them.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

from engine.errors import InvalidData
from engine.settings import Settings

#: Shorter keys in a key file are refused: someone typed a password there by hand.
MINIMUM_KEY_LENGTH = 32


def secret_key(settings: Settings) -> str:
    """``RUKUN_SECRET_KEY``, else the key file's key (made now if there is none yet), else
    (an in-memory database: no file to share) a key for this process only."""
    if settings.secret_key:
        return settings.secret_key
    if settings.secret_key_file is None:
        return secrets.token_hex(32)
    return _read_or_create(settings.secret_key_file)


def _read_or_create(path: Path) -> str:
    if path.exists():
        return _read(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written in full under a temporary name, then linked into place: os.link fails if the
    # name exists, so of workers starting together exactly one key wins, and no worker can
    # read a half-written file.
    candidate = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            file.write(secrets.token_hex(32) + "\n")
            file.flush()
            os.fsync(file.fileno())
        with contextlib.suppress(FileExistsError):  # another worker won: use its key
            os.link(candidate, path)
    finally:
        candidate.unlink(missing_ok=True)
    return _read(path)


def _read(path: Path) -> str:
    """The key in ``path``; refused if others than its owner may read or change the file."""
    if os.name == "posix":
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise InvalidData(
                f"{path}: the secret key file is readable or writable by others (mode "
                f"{mode:04o}); anyone who can read it can sign in as any user. "
                f"Run: chmod 600 {path}"
            )
    key = path.read_text(encoding="utf-8").strip()
    if len(key) < MINIMUM_KEY_LENGTH:
        raise InvalidData(
            f"{path}: the secret key file holds {len(key)} characters, expected at least "
            f"{MINIMUM_KEY_LENGTH}; delete it to have a new key made (this signs everyone out)"
        )
    return key
