"""The operator UI: a Flask app (Flask-Admin screens, Flask-Login sessions, CSRF on every
form) that reads and changes cases only through :mod:`engine.runtime`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from admin.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    # Flask and the screens load on first use of create_app, not with the package: `rukun
    # --help` imports admin.cli (the `serve` command) to print its one line of help
    if name == "create_app":
        from admin.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
