"""The notifications screen and the bell: the signed-in user's own notifications (newest
first, each linking to its case), marked read one by one or all at once, and their choice
of channels per kind. Every read and write goes through ``engine().notifications``, which
knows only the user it is given: here always the signed-in one.

The bell's count is offered to every template (``unread_notifications()``, called by
layout.html) by this view's blueprint, so the screen and its bell come and go together."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from flask_admin import Admin, BaseView, expose
from flask_babel import gettext
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField

from admin.auth import engine
from admin.views import SignedIn
from engine.runtime.notification_rules import CHANNELS, KINDS

#: How many notifications the screen lists.
SHOWN = 100


class PreferencesForm(FlaskForm):
    """One checkbox per kind and channel: ``waiting_in_app``, ``waiting_email``, …"""

    def changes(self) -> dict[str, dict[str, bool]]:
        return {
            kind: {channel: bool(self[f"{kind}_{channel}"].data) for channel in CHANNELS}
            for kind in KINDS
        }


for _kind in KINDS:
    for _channel in CHANNELS:
        setattr(PreferencesForm, f"{_kind}_{_channel}", BooleanField())


def bell() -> dict[str, Any]:
    """For templates: the signed-in user's unread count, read only when a page asks."""

    def unread_notifications() -> int:
        if not current_user.is_authenticated:
            return 0
        return engine().notifications.unread_count(current_user.name)

    return {"unread_notifications": unread_notifications}


class NotificationsView(SignedIn, BaseView):
    """Everyone's own notifications and preferences; no one sees another's."""

    def is_visible(self) -> bool:
        return False  # reached from the bell, not from the menu

    def create_blueprint(self, admin: Admin) -> Blueprint:
        blueprint: Blueprint = super().create_blueprint(admin)
        blueprint.app_context_processor(bell)
        return blueprint

    @expose("/")
    def index(self) -> Any:
        notifications = engine().notifications
        unread_only = bool(request.args.get("unread"))
        chosen = notifications.preferences(current_user.name)
        form = PreferencesForm(
            data={
                f"{kind}_{channel}": value
                for kind, channels in chosen["kinds"].items()
                for channel, value in channels.items()
            }
        )
        return self.render(
            "rukun/notifications.html",
            notifications=notifications.list(
                current_user.name, unread_only=unread_only, limit=SHOWN
            ),
            unread=notifications.unread_count(current_user.name),
            unread_only=unread_only,
            preferences=chosen,
            form=form,
            kinds=KINDS,
        )

    @expose("/read", methods=["POST"])
    def read(self) -> Any:
        """Mark the posted ``id``s read, or every one with ``all``; only the user's own."""
        if request.form.get("all"):
            ids = None
        else:
            ids = [int(value) for value in request.form.getlist("id") if value.isdigit()]
        marked = engine().notifications.mark_read(current_user.name, ids)
        flash(gettext("%(count)s notifikasi ditandai sudah dibaca.", count=marked), "success")
        return redirect(url_for(".index", unread=request.form.get("unread") or None))

    @expose("/preferences", methods=["POST"])
    def save_preferences(self) -> Any:
        form = PreferencesForm()
        # CSRFProtect has refused a POST without a valid token already
        engine().notifications.set_preferences(
            current_user.name, form.changes(), by=current_user.name
        )
        flash(gettext("Pilihan pemberitahuan disimpan."), "success")
        return redirect(url_for(".index"))
