"""The call centre's screen ("Pusat layanan"): search a case by number, RT, Pokmas or group
name, kelurahan or kecamatan, and read at once where it is stuck, since when, whether it is
overdue, which role must act next and how to reach that office. Read-only: nothing here
fires or edits anything. Role and scope are checked by the engine
(``engine().call_centre``); the menu shows the screen only to those it lets in."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_admin import BaseView, expose
from flask_login import current_user

from admin.admin_views import AdminOnly
from admin.auth import engine, shown
from engine.errors import InvalidQuery
from engine.runtime.call_centre import CALL_CENTRE_ROLES

#: How many cases one search shows (a caller's case is among the first few).
RESULTS = 50


class CallCentreReaders(AdminOnly):
    """Mixin: the call centre and admins; others signed in get the 403 page, anonymous
    users the login."""

    def is_accessible(self) -> bool:
        return bool(current_user.is_authenticated and set(CALL_CENTRE_ROLES) & current_user.roles)


class CallCentreView(CallCentreReaders, BaseView):
    @expose("/")
    def index(self) -> Any:
        q = request.args.get("q", "").strip()
        results: list[dict[str, Any]] = []
        error = None
        try:
            results = engine().call_centre.find(current_user.name, q, limit=RESULTS)
        except InvalidQuery as refused:
            error = shown(refused)
        page = self.render(
            "rukun/call_centre.html",
            q=q,
            results=results,
            error=error,
            full=len(results) >= RESULTS,
        )
        return page, 400 if error else 200
