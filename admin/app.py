"""Application factory: wires the engine, login, CSRF, translations and the screens."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask, render_template
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme
from flask_babel import Babel, gettext, lazy_gettext
from flask_wtf.csrf import CSRFError, CSRFProtect

from admin import admin_views, audit_views, auth, studio_views, views
from admin.formatting import register_filters
from engine.errors import RukunError
from engine.runtime import Rukun

LANGUAGES = ("id", "en")
#: Indonesian is the source language; translations/en holds the English catalogue.
TRANSLATIONS = Path(__file__).parent / "translations"


def create_app(rukun: Rukun | None = None, config: dict[str, Any] | None = None) -> Flask:
    """A Flask app for ``rukun`` (default: from RUKUN_* settings).

    ``RUKUN_SECRET_KEY`` signs sessions; without it a random key is made per process (fine
    for the demo: sessions end when the server stops).
    """
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=os.environ.get("RUKUN_SECRET_KEY") or secrets.token_hex(32),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,
        BABEL_DEFAULT_LOCALE="id",
        BABEL_DEFAULT_TIMEZONE="Asia/Makassar",
        BABEL_TRANSLATION_DIRECTORIES=str(TRANSLATIONS),
        MAX_CONTENT_LENGTH=64 * 1024 * 1024,
    )
    app.config.update(config or {})
    app.extensions["rukun"] = rukun or Rukun()
    CSRFProtect(app)
    Babel(app, locale_selector=auth.current_language)
    auth.init_app(app)
    register_filters(app)
    inbox = views.InboxView(name=lazy_gettext("Tugas saya"), url="/")
    theme = Bootstrap4Theme(base_template="rukun/base.html")
    admin = Admin(app, name="Rukun", index_view=inbox, theme=theme)
    admin.add_view(views.CasesView(name=lazy_gettext("Kasus"), endpoint="cases", url="/cases"))
    admin.add_view(
        studio_views.StudioView(
            name=lazy_gettext("Alur kerja"), endpoint="definitions", url="/definitions"
        )
    )
    admin.add_view(
        audit_views.AuditView(name=lazy_gettext("Audit"), endpoint="audit", url="/audit")
    )
    category = lazy_gettext("Administrasi")
    for view, endpoint, name in (
        (admin_views.UsersView, "admin_users", lazy_gettext("Pengguna dan peran")),
        (admin_views.RegionsView, "admin_regions", lazy_gettext("Wilayah")),
    ):
        url = "/admin/" + endpoint.removeprefix("admin_")
        admin.add_view(view(name=name, category=category, endpoint=endpoint, url=url))
    _error_pages(app)
    return app


def _error_pages(app: Flask) -> None:
    @app.errorhandler(RukunError)
    def rukun_error(error: RukunError) -> tuple[str, int]:
        return render_template("rukun/error.html", message=error.message), error.http_status

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> tuple[str, int]:
        message = gettext("Formulir kedaluwarsa atau tidak sah (CSRF); muat ulang halaman.")
        return render_template("rukun/error.html", message=message), 400

    for status, message in (
        (403, "Anda tidak berhak membuka halaman ini."),
        (404, "Halaman tidak ditemukan."),
    ):

        def page(error: Any, message: str = message, status: int = status) -> tuple[str, int]:
            return render_template("rukun/error.html", message=message), status

        app.register_error_handler(status, page)
