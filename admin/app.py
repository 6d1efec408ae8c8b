"""Application factory: wires the engine, login, CSRF, translations and the screens."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, render_template
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme
from flask_babel import Babel, gettext, lazy_gettext
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from admin import admin_views, api, audit_views, auth, parameters, security, studio_views, views
from admin.api import problems
from admin.auth import shown
from admin.call_centre_views import CallCentreView
from admin.formatting import register_filters
from admin.notification_views import NotificationsView
from admin.public import blueprint as public_pages
from admin.secret_key import secret_key
from admin.token_views import TokensView
from engine.errors import RukunError
from engine.runtime import Rukun

LANGUAGES = ("id", "en")
#: Indonesian is the source language; translations/en holds the English catalogue.
TRANSLATIONS = Path(__file__).parent / "translations"


def create_app(rukun: Rukun | None = None, config: dict[str, Any] | None = None) -> Flask:
    """A Flask app for ``rukun`` (default: from RUKUN_* settings); ``config`` overrides.

    Sessions are signed with ``RUKUN_SECRET_KEY`` or else the installation's key file, so
    every worker process and restart accepts them (:mod:`admin.secret_key`); cookies,
    idle sign-out and headers follow the settings (:mod:`admin.security`).
    """
    rukun = rukun or Rukun()
    config = config or {}
    settings = rukun.context.settings
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=config.get("SECRET_KEY") or secret_key(settings),
        BABEL_DEFAULT_LOCALE="id",
        BABEL_DEFAULT_TIMEZONE="Asia/Makassar",
        BABEL_TRANSLATION_DIRECTORIES=str(TRANSLATIONS),
        MAX_CONTENT_LENGTH=64 * 1024 * 1024,
        **security.session_config(settings),
    )
    app.config.update(config)
    app.extensions["rukun"] = rukun
    security.init_app(app)
    parameters.init_app(app)
    csrf = CSRFProtect(app)
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
    admin.add_view(
        CallCentreView(
            name=lazy_gettext("Pusat layanan"), endpoint="call_centre", url="/call-centre"
        )
    )
    admin.add_view(TokensView(name=lazy_gettext("Token API"), endpoint="tokens", url="/tokens"))
    admin.add_view(
        NotificationsView(
            name=lazy_gettext("Notifikasi"), endpoint="notifications", url="/notifications"
        )
    )
    category = lazy_gettext("Administrasi")
    for view, endpoint, name in (
        (admin_views.UsersView, "admin_users", lazy_gettext("Pengguna dan peran")),
        (admin_views.RegionsView, "admin_regions", lazy_gettext("Wilayah")),
        (admin_views.SignInsView, "admin_sign_ins", lazy_gettext("Riwayat masuk")),
    ):
        url = "/admin/" + endpoint.removeprefix("admin_").replace("_", "-")
        admin.add_view(view(name=name, category=category, endpoint=endpoint, url=url))
    api.init_app(app, csrf)
    app.register_blueprint(public_pages)  # /public/ and /p/: for residents, no sign-in
    _error_pages(app)
    return app


def _error_pages(app: Flask) -> None:
    @app.errorhandler(RukunError)
    def rukun_error(error: RukunError) -> tuple[str, int]:
        return render_template("rukun/error.html", message=shown(error)), error.http_status

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> tuple[str, int]:
        message = gettext("Formulir kedaluwarsa atau tidak sah (CSRF); muat ulang halaman.")
        return render_template("rukun/error.html", message=message), 400

    for status, message in (
        (403, "Anda tidak berhak membuka halaman ini."),
        (404, "Halaman tidak ditemukan."),
    ):

        def page(error: Any, message: str = message, status: int = status) -> Any:
            if api.is_api_request():  # a URL under the API's prefix that it has not
                return problems.from_http(error)
            return render_template("rukun/error.html", message=message), status

        app.register_error_handler(status, page)

    @app.errorhandler(405)
    def method_not_allowed(error: HTTPException) -> Any:
        return problems.from_http(error) if api.is_api_request() else error
