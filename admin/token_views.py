"""The API tokens screen: the signed-in user's tokens (an admin's: everyone's), made with
the secret shown once, revoked. Every read and write goes through ``engine().tokens``,
which lets only the token's user or an admin act; its refusals are shown on the page with
what was typed kept."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext, lazy_gettext
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField

from admin.auth import engine, shown
from admin.views import SignedIn
from engine.errors import Forbidden, InvalidData, NotFound
from engine.runtime.tokens import ADMIN_ROLES, DEFAULT_DAYS, MAX_NAME

#: The lifetimes the form offers, in days; or none at all (valid until revoked).
LIFETIMES = (30, DEFAULT_DAYS, 365)
NO_EXPIRY = "never"
#: The refusals of making a token that the page shows with the input kept.
REFUSED = (InvalidData, NotFound, Forbidden)
#: Where the usage example sends its request (the JSON API's case list).
EXAMPLE_PATH = "api/v1/cases"


class TokenForm(FlaskForm):
    """A new token: its label, its lifetime and (admins only) whose it is."""

    name = StringField(lazy_gettext("Nama token"))
    days = SelectField(lazy_gettext("Masa berlaku"), default=str(DEFAULT_DAYS))
    user = StringField(lazy_gettext("Untuk pengguna"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.days.choices = [
            (str(days), gettext("%(days)s hari", days=days)) for days in LIFETIMES
        ] + [(NO_EXPIRY, gettext("Tanpa kedaluwarsa"))]

    def lifetime(self) -> int | None:
        """The lifetime in days (None: until revoked); the engine checks its range."""
        value = (self.days.data or "").strip()
        if value == NO_EXPIRY:
            return None
        try:
            return int(value)
        except ValueError:
            raise InvalidData(gettext("Pilih masa berlaku dari daftar.")) from None


def _is_admin() -> bool:
    return bool(set(ADMIN_ROLES) & current_user.roles)


class TokensView(SignedIn, BaseView):
    """Everyone's own API tokens; an admin sees and may filter everyone's."""

    @expose("/")
    def index(self) -> Any:
        return self._page(TokenForm())

    def _page(self, form: TokenForm, status: int = 200, error: str | None = None) -> Any:
        admin = _is_admin()
        chosen = request.args.get("user", "").strip()
        filter_error = None
        tokens: list[dict[str, Any]] = []
        try:
            tokens = engine().tokens.list(
                chosen or (None if admin else current_user.name), by=current_user.name
            )
        except NotFound as refused:
            filter_error = shown(refused)
        page = self.render(
            "rukun/tokens.html",
            tokens=tokens,
            admin=admin,
            chosen=chosen,
            filter_error=filter_error,
            form=form,
            error=error,
            max_name=MAX_NAME,
        )
        return page, status

    @expose("/create", methods=["POST"])
    def create(self) -> Any:
        form = TokenForm()
        owner = (form.user.data or "").strip() or current_user.name
        try:
            made = engine().tokens.create(
                owner, form.name.data, form.lifetime(), by=current_user.name
            )
        except REFUSED as refused:
            return self._page(form, refused.http_status, shown(refused))
        page = self.render(
            "rukun/tokens_created.html",
            token=made,
            example_url=request.url_root + EXAMPLE_PATH,
        )
        # the secret is in this page only: no browser or proxy may keep it
        return page, 200, {"Cache-Control": "no-store"}

    @expose("/<int:token_id>/revoke", methods=["POST"])
    def revoke(self, token_id: int) -> Any:
        try:
            revoked = engine().tokens.revoke(token_id, by=current_user.name)
        except Forbidden:
            # the engine's message names the token's user: not for someone who may not see it
            message = gettext("Hanya pemilik token atau admin yang boleh mencabutnya.")
            return render_template("rukun/error.html", message=message), 403
        flash(
            gettext(
                "Token %(name)s (%(prefix)s…) dicabut.",
                name=revoked["name"],
                prefix=revoked["prefix"],
            ),
            "success",
        )
        return redirect(url_for(".index", user=request.form.get("user") or None))
