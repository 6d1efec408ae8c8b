"""The operator UI: a Flask app (Flask-Admin screens, Flask-Login sessions, CSRF on every
form) that reads and changes cases only through :mod:`engine.runtime`."""

from admin.app import create_app

__all__ = ["create_app"]
