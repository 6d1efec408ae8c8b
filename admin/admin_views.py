"""Admin-only screens: users and their role grants, regions, the sign-in log (definitions:
the studio).

They read and write only through the engine (``engine().users``, ``.regions``,
``.definitions``), so the engine's checks apply (role level against region level, password
length, unknown role, CSV all or nothing); its refusals are shown on the page with what was
typed kept. A generated password is shown once, in the response to the POST that made it."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext
from flask_login import current_user
from werkzeug.utils import secure_filename

from admin.auth import current_language, engine, shown
from admin.parameters import int_arg
from engine.errors import Conflict, InvalidData, NotFound
from engine.language.roles import BUILTIN_ROLES, LEVELS
from engine.runtime.regions import RegionRow
from engine.runtime.sign_in import OUTCOMES
from engine.runtime.users import generate_password

#: The refusals an admin can fix by changing the input; shown on the page, never a traceback.
FIXABLE = (InvalidData, NotFound, Conflict)
PAGE_SIZE = 50
#: ``Regions.upsert`` reports ``source:line: reason``; one region from the form has line 1.
FORM_SOURCE = "form"


class AdminOnly:
    """Mixin: admins only. Others signed in get the 403 page, anonymous users the login."""

    def is_accessible(self) -> bool:
        return bool(current_user.is_authenticated and "admin" in current_user.roles)

    def inaccessible_callback(self, name: str, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.path))
        abort(403)


def _field(name: str) -> str:
    return request.form.get(name, "").strip()


def _no_store(page: Any, status: int = 200) -> Any:
    """A response that browsers and proxies must not keep (it shows a password)."""
    return page, status, {"Cache-Control": "no-store"}


class UsersView(AdminOnly, BaseView):
    """Users with their grants; create, reset a password, (de)activate, grant and revoke."""

    @expose("/")
    def index(self) -> Any:
        return self._page()

    def _page(
        self,
        status: int = 200,
        error: str | None = None,
        form: dict[str, str] | None = None,
        new_password: tuple[str, str] | None = None,
    ) -> Any:
        search = request.values.get("q", "").strip()
        users = engine().users.list(search=search or None)
        roles = engine().users.known_roles()
        labels = {
            name: spec.label.get(current_language()) if spec.label else name
            for name, spec in BUILTIN_ROLES.items()
        }
        page = self.render(
            "rukun/admin_users.html",
            users=users,
            roles=roles,
            role_labels=labels,
            search=search,
            error=error,
            form=form or {},
            new_password=new_password,
        )
        return _no_store(page, status)

    def _refused(self, error: InvalidData | NotFound | Conflict, form: dict[str, str]) -> Any:
        return self._page(error.http_status, shown(error), form)

    @expose("/create", methods=["POST"])
    def create(self) -> Any:
        form = {
            "action": "create",
            "name": _field("name"),
            "role": _field("role"),
            "regions": _field("regions"),
            "email": _field("email"),
        }
        typed = request.form.get("password", "")
        password = typed or generate_password()
        regions = [code for code in re.split(r"[\s,;]+", form["regions"]) if code]
        try:
            engine().users.add(
                form["name"],
                form["role"],
                regions,
                password,
                by=current_user.name,
                email=form["email"] or None,
            )
        except FIXABLE as error:
            return self._refused(error, form)
        flash(gettext("Pengguna %(name)s dibuat.", name=form["name"]), "success")
        return self._page(new_password=None if typed else (form["name"], password))

    @expose("/email", methods=["POST"])
    def email(self) -> Any:
        """Set (or, empty, remove) the address a user's notification e-mails go to."""
        form = {"action": "email", "name": _field("name"), "email": _field("email")}
        try:
            engine().users.set_email(form["name"], form["email"], by=current_user.name)
        except FIXABLE as error:
            return self._refused(error, form)
        flash(gettext("E-mail %(name)s disimpan.", name=form["name"]), "success")
        return redirect(url_for(".index", q=request.form.get("q") or None))

    @expose("/password", methods=["POST"])
    def password(self) -> Any:
        name = _field("name")
        typed = request.form.get("password", "")
        password = typed or generate_password()
        try:
            engine().users.set_password(name, password)
        except FIXABLE as error:
            return self._refused(error, {"action": "password", "name": name})
        flash(gettext("Kata sandi %(name)s diganti.", name=name), "success")
        return self._page(new_password=None if typed else (name, password))

    @expose("/deactivate", methods=["POST"])
    def deactivate(self) -> Any:
        return self._set_active(False)

    @expose("/activate", methods=["POST"])
    def activate(self) -> Any:
        return self._set_active(True)

    def _set_active(self, active: bool) -> Any:
        name = _field("name")
        try:
            engine().users.set_active(name, active, by=current_user.name)
        except FIXABLE as error:
            return self._refused(error, {"action": "active", "name": name})
        if active:
            flash(gettext("Pengguna %(name)s diaktifkan.", name=name), "success")
        else:
            flash(gettext("Pengguna %(name)s dinonaktifkan.", name=name), "success")
        return redirect(url_for(".index", q=request.form.get("q") or None))

    @expose("/grant", methods=["POST"])
    def grant(self) -> Any:
        form = {"action": "grant", "name": _field("name"), "role": _field("role")}
        form["region"] = _field("region")
        try:
            engine().users.grant(
                form["name"], form["role"], form["region"] or None, by=current_user.name
            )
        except FIXABLE as error:
            return self._refused(error, form)
        flash(gettext("Peran ditambahkan untuk %(name)s.", name=form["name"]), "success")
        return redirect(url_for(".index", q=request.form.get("q") or None))

    @expose("/revoke", methods=["POST"])
    def revoke(self) -> Any:
        name, role, region = _field("name"), _field("role"), _field("region")
        try:
            engine().users.revoke(name, role, region or None, by=current_user.name)
        except FIXABLE as error:
            return self._refused(error, {"action": "revoke", "name": name})
        flash(gettext("Peran dicabut dari %(name)s.", name=name), "success")
        return redirect(url_for(".index", q=request.form.get("q") or None))


class RegionsView(AdminOnly, BaseView):
    """The region tree: search, filter by level and parent, page by code; add or rename one
    region; set the contact of its office; import a CSV (all rows or none)."""

    @expose("/")
    def index(self) -> Any:
        return self._page()

    def _page(
        self,
        status: int = 200,
        error: str | None = None,
        form: dict[str, str] | None = None,
        import_errors: list[str] | None = None,
    ) -> Any:
        filters = {
            "q": request.args.get("q", "").strip(),
            "level": request.args.get("level", "").strip(),
            "parent": request.args.get("parent", "").strip(),
        }
        after = request.args.get("after", "").strip()
        rows: list[dict[str, Any]] = []
        filter_error = None
        try:
            rows = engine().regions.list(
                filters["level"] or None,
                filters["parent"] or None,
                search=filters["q"] or None,
                after=after or None,
                limit=PAGE_SIZE + 1,
            )
        except FIXABLE as refused:
            filter_error = shown(refused)
        page = self.render(
            "rukun/admin_regions.html",
            regions=rows[:PAGE_SIZE],
            more=len(rows) > PAGE_SIZE,
            after=after,
            filters=filters,
            levels=LEVELS,
            filter_error=filter_error,
            error=error,
            form=form or {},
            import_errors=import_errors or [],
        )
        return page, status

    @expose("/save", methods=["POST"])
    def save(self) -> Any:
        form = {
            "code": _field("code"),
            "level": _field("level"),
            "name": _field("name"),
            "parent": _field("parent"),
        }
        row = RegionRow(form["code"], form["level"], form["name"], form["parent"] or None)
        try:
            engine().regions.upsert([(1, row)], FORM_SOURCE)
        except FIXABLE as error:
            message = "\n".join(
                line.removeprefix(f"{FORM_SOURCE}:1: ") for line in shown(error).splitlines()
            )
            return self._page(error.http_status, message, form)
        flash(gettext("Wilayah %(code)s disimpan.", code=form["code"]), "success")
        return redirect(url_for(".index", q=form["code"]))

    @expose("/contact", methods=["POST"])
    def contact(self) -> Any:
        """Set (or, empty, remove) how residents reach one region's office."""
        form = {"contact_code": _field("contact_code"), "contact": _field("contact")}
        code = form["contact_code"]
        try:
            engine().regions.set_contact(code, form["contact"], by=current_user.name)
        except FIXABLE as error:
            return self._page(error.http_status, shown(error), form)
        flash(gettext("Kontak %(code)s disimpan.", code=code), "success")
        return redirect(url_for(".index", q=code))

    @expose("/import", methods=["POST"])
    def import_csv(self) -> Any:
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            return self._page(422, gettext("Pilih berkas CSV untuk diimpor."))
        filename = secure_filename(upload.filename) or "regions.csv"
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / filename
            upload.save(path)
            try:
                count = engine().regions.import_csv(path)
            except FIXABLE as error:
                # the engine names the file by its temporary path; the admin knows its name
                lines = shown(error).replace(str(path), filename).splitlines()
                return self._page(error.http_status, import_errors=lines)
        flash(
            gettext("%(count)s wilayah diimpor dari %(file)s.", count=count, file=filename),
            "success",
        )
        return redirect(url_for(".index"))


class SignInsView(AdminOnly, BaseView):
    """The sign-in log, newest first: filter by name and outcome, page back in time."""

    @expose("/")
    def index(self) -> Any:
        filters = {
            "name": request.args.get("name", "").strip(),
            "outcome": request.args.get("outcome", "").strip(),
        }
        before = int_arg("before")
        rows: list[dict[str, Any]] = []
        filter_error = None
        try:
            rows = engine().sign_in_log.list(
                current_user.name,
                name=filters["name"] or None,
                outcome=filters["outcome"] or None,
                before=before,
                limit=PAGE_SIZE + 1,
            )
        except InvalidData as refused:
            filter_error = shown(refused)
        return self.render(
            "rukun/admin_sign_ins.html",
            attempts=rows[:PAGE_SIZE],
            more=len(rows) > PAGE_SIZE,
            before=before,
            filters=filters,
            kept={key: value for key, value in filters.items() if value},
            outcomes=OUTCOMES,
            filter_error=filter_error,
        )
