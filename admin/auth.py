"""Login, logout and the UI language: Flask-Login sessions over Argon2-hashed passwords."""

from __future__ import annotations

import math
from typing import Any

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext, lazy_gettext
from flask_login import (
    LoginManager,
    UserMixin,
    current_user,
    login_required,
    login_user,
    logout_user,
)
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired

from engine.errors import NotFound, RukunError
from engine.runtime import Rukun

blueprint = Blueprint("auth", __name__)
LANGUAGES = ("id", "en")


def engine() -> Rukun:
    rukun: Rukun = current_app.extensions["rukun"]
    return rukun


class Operator(UserMixin):
    """The signed-in user: a name and the roles they hold (scope is checked by the engine).
    The session keeps ``<credential stamp>:<name>``, so a new password ends other sessions."""

    def __init__(self, name: str, roles: set[str], stamp: str) -> None:
        self.id = f"{stamp}:{name}"
        self.name = name
        self.roles = roles


class LoginForm(FlaskForm):
    name = StringField(lazy_gettext("Nama pengguna"), validators=[DataRequired()])
    password = PasswordField(lazy_gettext("Kata sandi"), validators=[DataRequired()])


class PostForm(FlaskForm):
    """An empty form: carries the CSRF token of buttons that POST (logout, language)."""


def current_language() -> str:
    """The signed-in user's choice (kept in the session); on the public pages, which keep
    no session, the ``lang`` query parameter (``?lang=en``)."""
    if request.blueprint == "public":
        language = request.args.get("lang", "id")
    else:
        language = session.get("lang", "id")
    return language if language in LANGUAGES else "id"


def shown(error: RukunError) -> str:
    """An engine error's message in the UI's language."""
    return error.text(current_language())


def operator(name: str) -> Operator | None:
    """The active user ``name`` with their roles and current credential stamp."""
    stamp = engine().users.credential_stamp(name)
    if stamp is None:
        return None
    with engine().context.sessions() as db:
        try:
            actor = engine().context.actor(db, name)
        except NotFound:
            return None
    return Operator(actor.name, actor.roles(), stamp)


def load_operator(session_id: str) -> Operator | None:
    """The user of a session, if it was made with their current password."""
    stamp, _, name = session_id.partition(":")
    found = operator(name)
    return found if found is not None and found.id == f"{stamp}:{name}" else None


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> Any:
    form = LoginForm()
    if form.validate_on_submit():
        name = form.name.data.strip() if form.name.data else ""
        result = engine().sign_in.attempt(
            name,
            form.password.data or "",
            request.remote_addr,
            user_agent=request.user_agent.string,
        )
        if result.throttled:
            minutes = math.ceil(result.retry_after / 60)
            flash(
                gettext(
                    "Terlalu banyak percobaan gagal. Coba lagi dalam %(minutes)s menit.",
                    minutes=minutes,
                ),
                "error",
            )
            page = render_template("rukun/login.html", form=form)
            return page, 429, {"Retry-After": str(result.retry_after)}
        if result.ok:
            signed_in = operator(name)
            if signed_in is not None:
                login_user(signed_in)
                target = request.args.get("next", "")
                return redirect(
                    target if target.startswith("/") and not target.startswith("//") else "/"
                )
        flash(gettext("Nama pengguna atau kata sandi salah."), "error")
        return render_template("rukun/login.html", form=form), 401
    return render_template("rukun/login.html", form=form)


@blueprint.route("/logout", methods=["POST"])
@login_required
def logout() -> Response:
    logout_user()  # CSRFProtect has checked the token of every POST already
    return redirect(url_for("auth.login"))


@blueprint.route("/language/<code>", methods=["POST"])
def language(code: str) -> Response:
    if code in LANGUAGES:
        session["lang"] = code
    return redirect(request.referrer or "/")


def init_app(app: Flask) -> None:
    manager = LoginManager(app)
    manager.login_view = "auth.login"
    manager.login_message = lazy_gettext("Silakan masuk terlebih dahulu.")
    manager.user_loader(load_operator)
    app.register_blueprint(blueprint)

    @app.context_processor
    def globals_for_templates() -> dict[str, Any]:
        return {"post_form": PostForm(), "language": current_language(), "user": current_user}
