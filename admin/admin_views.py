"""Admin-only, read-only screens over users, role grants, regions and definition versions.
Changes go through `rukun user add`, `rukun region import` and `rukun workflow publish`,
which run the engine's checks; these screens only show."""

from __future__ import annotations

from typing import Any

from flask import abort
from flask_admin.contrib.sqla import ModelView
from flask_login import current_user


class ReadOnlyAdminView(ModelView):
    can_create = False
    can_edit = False
    can_delete = False
    can_view_details = True
    page_size = 50

    def is_accessible(self) -> bool:
        return bool(current_user.is_authenticated and "admin" in current_user.roles)

    def inaccessible_callback(self, name: str, **kwargs: Any) -> Any:
        abort(403)


class UserView(ReadOnlyAdminView):
    column_list = ("name", "active", "created_at")
    column_exclude_list = ("password_hash",)
    column_details_exclude_list = ("password_hash",)
    column_searchable_list = ("name",)


class GrantView(ReadOnlyAdminView):
    column_list = ("user.name", "role", "region_code")
    column_filters = ("role", "region_code")


class RegionView(ReadOnlyAdminView):
    column_list = ("code", "level", "name", "parent_code", "is_demo")
    column_searchable_list = ("code", "name")
    column_filters = ("level", "is_demo")
    column_default_sort = "code"


class DefinitionView(ReadOnlyAdminView):
    column_list = ("program", "version", "status", "sha256", "published_at", "published_by")
    column_details_exclude_list = ()
    column_filters = ("program", "status")
