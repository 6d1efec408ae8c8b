"""The operator screens: my work (inbox), the case list, a case with its history, and the
transition forms generated from the YAML. Every read and write goes through the engine,
which checks role and region scope."""

from __future__ import annotations

import csv
import datetime as dt
import io
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from flask import (
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    stream_with_context,
    url_for,
)
from flask_admin import AdminIndexView, BaseView, expose
from flask_babel import gettext
from flask_login import current_user
from werkzeug.utils import secure_filename

from admin.audit_views import SCREEN_ROLES
from admin.auth import engine, shown
from admin.documents import safe_filename, send_document
from admin.forms import form_values, guard_title, option_view
from admin.parameters import int_arg
from engine.diagram import render_svg, workflow_graph
from engine.errors import Conflict, InvalidData, NotFound, TransitionRefused
from engine.language import Definition
from engine.language.roles import BUILTIN_ROLES, SUBJECTS
from engine.runtime.access import Grant
from engine.runtime.case_views import TriggerOption
from engine.runtime.cases import starter_roles
from engine.runtime.queries import DEFAULT_SORT

PAGE_SIZE = 50
#: A preview is shown in the browser's PDF viewer, which a ``sandbox`` policy (as stored
#: documents get) would block; it is our own rendering, and it loads nothing.
PREVIEW_POLICY = "default-src 'none'; frame-ancestors 'none'"


class SignedIn:
    """Mixin: every screen needs a signed-in user; others go to the login page."""

    def is_accessible(self) -> bool:
        return bool(current_user.is_authenticated)

    def inaccessible_callback(self, name: str, **kwargs: Any) -> Any:
        return redirect(url_for("auth.login", next=request.path))


def _definition(case: dict[str, Any]) -> Definition:
    return engine().definitions.get(case["program"], case["definition_version"])[1]


class InboxView(SignedIn, AdminIndexView):
    """Cases where the signed-in user can act now, overdue first, then oldest; the engine
    selects them in SQL and pages them by cursor."""

    @expose("/")
    def index(self) -> Any:
        cursor = request.args.get("cursor") or None
        page = engine().cases.inbox(current_user.name, limit=PAGE_SIZE, cursor=cursor)
        return self.render(
            "rukun/inbox.html", cases=page.rows, next_cursor=page.next_cursor, paged=bool(cursor)
        )


class CasesView(SignedIn, BaseView):
    @expose("/")
    def index(self) -> Any:
        filters = _list_filters()
        sort = request.args.get("sort") or DEFAULT_SORT
        cursor = request.args.get("cursor") or None
        after = int_arg("after")
        page = engine().cases.page(
            **filters,
            overdue=bool(request.args.get("overdue")),
            viewer=current_user.name,
            limit=PAGE_SIZE,
            after_id=after,
            sort=sort,
            cursor=cursor,
        )
        # the query string of this list (filters and sort) without its page
        query = {
            key: value
            for key in ("program", "state", "year", "region", "q", "overdue", "sort")
            if (value := request.args.get(key))
        }
        published = _published()
        with engine().context.sessions() as session:
            grants = engine().context.actor(session, current_user.name).grants
        return self.render(
            "rukun/cases.html",
            cases=page.rows,
            next_cursor=page.next_cursor,
            paged=bool(cursor or after),
            query=query,
            sort=sort,
            choices=_filter_choices(published, grants),
            starts=_startable(published, grants),
            bulk_choices=_bulk_options(page.rows),
            filters=filters,
            current_year=dt.date.today().year,
            program=filters["program"],
            state=filters["state"],
        )

    @expose("/export.csv")
    def export(self) -> Any:
        """The filtered list as CSV, every page of it, within the user's region scope."""
        filters = _list_filters()
        sort = request.args.get("sort") or DEFAULT_SORT
        overdue = bool(request.args.get("overdue"))
        viewer = current_user.name
        lang = _lang()
        rukun = engine()

        def page(cursor: str | None) -> Any:
            return rukun.cases.page(
                **filters, overdue=overdue, viewer=viewer, limit=500, sort=sort, cursor=cursor
            )

        # the first page before the response starts: a refused filter is still an error page
        first = page(None)

        def rows() -> Iterator[str]:
            out = io.StringIO()
            writer = csv.writer(out)
            writer.writerow(EXPORT_COLUMNS)
            current = first
            while True:
                for case in current.rows:
                    writer.writerow(
                        [
                            case["id"],
                            case["program"],
                            case["subject"],
                            case["subject_name"],
                            case["year"],
                            case["state"],
                            case["state_label"][lang],
                            case["version"],
                            case["updated_at"],
                            case["due_at"] or "",
                            "1" if case["overdue"] else "0",
                        ]
                    )
                yield out.getvalue()
                out.seek(0)
                out.truncate()
                if current.next_cursor is None:
                    return
                current = page(current.next_cursor)

        stamp = dt.date.today().isoformat()
        return Response(
            stream_with_context(rows()),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="rukun-cases-{stamp}.csv"'},
        )

    @expose("/start", methods=["POST"])
    def start(self) -> Any:
        """Open a case (the engine checks the role may start it and the subject is in scope)."""
        program = request.form.get("program", "").strip()
        subject = request.form.get("subject", "").strip()
        year = request.form.get("year", type=int)
        if not program or not subject or year is None:
            flash(gettext("Isi program, kode wilayah subjek dan tahun."), "error")
            return redirect(url_for(".index"))
        try:
            case = engine().cases.start(program, subject, year, current_user.name)
        except (InvalidData, NotFound) as error:
            flash(shown(error), "error")
            return redirect(url_for(".index"))
        return redirect(url_for(".detail", case_id=case["id"]))

    @expose("/bulk", methods=["POST"])
    def bulk(self) -> Any:
        """One trigger fired on many selected cases; each succeeds or fails on its own."""
        trigger = request.form.get("trigger", "").strip()
        case_ids = [int(v) for v in request.form.getlist("case_id") if v.isdigit()]
        if not trigger or not case_ids:
            flash(gettext("Pilih kasus dan tindakan."), "error")
            return redirect(url_for(".index"))
        results = engine().cases.fire_many(case_ids, trigger, current_user.name)
        for result in results:
            error = result["error"]
            if error is not None:
                guards = [
                    g["message"][_lang()]
                    for g in error.get("guards", [])
                    if g.get("ok") is False and g.get("message")
                ]
                result["reason"] = "; ".join(guards) or error["text"][_lang()]
        if request.accept_mimetypes.best == "application/json":  # a chunk sent by the page
            rows = render_template("rukun/_bulk_rows.html", results=results)
            return jsonify(
                {
                    "results": [
                        {k: r.get(k) for k in ("case_id", "ok", "state", "reason")} for r in results
                    ],
                    "html": rows,
                }
            )
        return self.render("rukun/bulk.html", trigger=trigger, results=results)

    def render(self, template: str, **kwargs: Any) -> Any:
        kwargs.setdefault("guard_title", lambda name: guard_title(name, _lang()))
        kwargs.setdefault("role_title", _role_title)
        return super().render(template, **kwargs)

    @expose("/<int:case_id>")
    def detail(self, case_id: int) -> Any:
        return self._detail(case_id)

    def _detail(
        self,
        case_id: int,
        trigger: str | None = None,
        values: dict[str, Any] | None = None,
        status: int = 200,
        problems: list[str] | None = None,
    ) -> Any:
        rukun = engine()
        case = rukun.cases.show(case_id, current_user.name)  # Forbidden outside the scope
        definition = _definition(case)
        options = rukun.cases.triggers(case_id, current_user.name, values or {})
        history = rukun.cases.history(case_id, current_user.name)
        taken = [(r["source"], r["dest"]) for r in history if r["source"]]
        diagram = render_svg(workflow_graph(definition, _lang(), case["state"], taken))
        paperwork = _paperwork(case, rukun.paperwork.templates(case_id, current_user.name))
        page = self.render(
            "rukun/case.html",
            case=case,
            definition=definition,
            options=options,
            checks={o.trigger: option_view(o, definition, _lang()) for o in options},
            candidates=_candidates(definition, options, case_id),
            max_upload_mb=max(1, rukun.context.documents.max_bytes // (1024 * 1024)),
            history=history,
            open_trigger=trigger,
            values=values or {},
            problems=problems or [],
            diagram=diagram,
            path=_main_path(definition, history),
            may_audit=bool(set(SCREEN_ROLES) & current_user.roles),
            paperwork=paperwork,
        )
        return page, status

    @expose("/<int:case_id>/fire/<trigger>", methods=["POST"])
    def fire(self, case_id: int, trigger: str) -> Any:
        rukun = engine()
        case = rukun.cases.show(case_id, current_user.name)
        definition = _definition(case)
        transition = definition.transition(trigger, case["state"])
        if transition is None:
            flash(gettext("Kasus ini sudah berubah; muat ulang halaman."), "error")
            return redirect(url_for(".detail", case_id=case_id)), 409
        values, uploads = form_values(
            definition, transition.form_fields, request.form, request.files
        )
        expected = request.form.get("expected_version", type=int)
        with tempfile.TemporaryDirectory() as tmp:
            files = {}
            for name, upload in uploads.items():
                path = Path(tmp) / (secure_filename(upload.filename or name) or name)
                upload.save(path)
                files[name] = path
            try:
                rukun.cases.fire(case_id, trigger, current_user.name, values, files, expected)
            except TransitionRefused as refused:
                problems = [
                    g["message"][_lang()]
                    for g in refused.guards
                    if g["ok"] is not True and g["message"]
                ]
                return self._detail(case_id, trigger, values, 422, problems)
            except InvalidData as invalid:
                return self._detail(case_id, trigger, values, 422, [shown(invalid)])
            except Conflict as conflict:
                message = "Kasus ini sudah diubah orang lain; muat ulang halaman. (%(reason)s)"
                flash(gettext(message, reason=shown(conflict)), "error")
                return self._detail(case_id, None, None, 409)
        flash(gettext("Berhasil disimpan."), "success")
        return redirect(url_for(".detail", case_id=case_id))

    @expose("/<int:case_id>/check/<trigger>", methods=["POST"])
    def check(self, case_id: int, trigger: str) -> Any:
        """The guards of ``trigger`` evaluated on what the form holds now (nothing is saved):
        the page calls this as the user types, so failures show before submitting."""
        rukun = engine()
        case = rukun.cases.show(case_id, current_user.name)  # Forbidden outside the scope
        definition = _definition(case)
        transition = definition.transition(trigger, case["state"])
        expected = request.form.get("expected_version", type=int)
        if transition is None or (expected is not None and expected != case["version"]):
            message = gettext("Kasus ini sudah berubah; muat ulang halaman.")
            return jsonify({"stale": True, "message": message}), 409
        values, _uploads = form_values(definition, transition.form_fields, request.form, {})
        options = rukun.cases.triggers(case_id, current_user.name, values)
        option = next(o for o in options if o.trigger == trigger)
        if not option.permitted:  # guard results are for those who may fire the trigger
            abort(403)
        view = option_view(option, definition, _lang())
        return jsonify({**view, "html": render_template("rukun/_checks.html", check=view)})

    @expose("/<int:case_id>/documents/<sha256>")
    def document(self, case_id: int, sha256: str) -> Any:
        """A document of a case the user may see (the engine checks the scope)."""
        case = engine().cases.show(case_id, current_user.name)
        documents = [
            v for v in case["data"].values() if isinstance(v, dict) and v.get("sha256") == sha256
        ]
        if not documents:
            abort(404)
        document = documents[0]
        return send_document(sha256, document.get("filename"), document.get("media_type"))

    @expose("/<int:case_id>/paperwork/<template>")
    def paperwork(self, case_id: int, template: str) -> Any:
        """Template ``template`` rendered against the case as it is now, to read before a step
        generates it; nothing is stored. The engine checks the scope (403) and the name (404);
        a template that fails to render is the error page (422)."""
        pdf, filename = engine().paperwork.preview(case_id, template, current_user.name)
        response = send_file(
            io.BytesIO(pdf),
            mimetype="application/pdf",
            download_name=safe_filename(filename, "pratinjau.pdf"),
            as_attachment=False,
        )
        response.headers["Content-Security-Policy"] = PREVIEW_POLICY
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.cache_control.no_store = True
        return response


def _paperwork(case: dict[str, Any], templates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The official paperwork panel: each template of the case's program, in the UI's
    language, with the steps that generate it and the document each has filed in the case's
    data once it ran (``None`` before)."""
    language = _lang()
    return [
        {
            "name": template["name"],
            "title": template["title"][language],
            "steps": [
                {
                    "trigger": step["trigger"],
                    "label": step["label"][language],
                    "field": step["field"],
                    "document": _filed(case["data"].get(step["field"])),
                }
                for step in template["generated_by"]
            ],
        }
        for template in templates
    ]


def _filed(value: Any) -> dict[str, Any] | None:
    """A document field's value if it names a stored file."""
    return value if isinstance(value, dict) and value.get("sha256") else None


def _role_title(definition: Definition, role: str) -> str:
    spec = definition.roles.get(role) or BUILTIN_ROLES.get(role)
    return spec.label.get(_lang()) if spec is not None else role


#: Columns of the case list export (values as stored: codes, UTC times).
EXPORT_COLUMNS = (
    "id",
    "program",
    "subject",
    "subject_name",
    "year",
    "state",
    "state_label",
    "version",
    "updated_at",
    "due_at",
    "overdue",
)


def _list_filters() -> dict[str, Any]:
    """The case list's filters from the query string, as :meth:`Cases.page` takes them."""
    return {
        "program": request.args.get("program") or None,
        "state": request.args.get("state") or None,
        "year": int_arg("year"),
        "region": request.args.get("region") or None,
        "search": request.args.get("q") or None,
    }


def _published() -> list[tuple[str, Definition]]:
    """Each program's published definition, by program."""
    rukun = engine()
    programs = {row["program"] for row in rukun.definitions.list() if row["status"] == "published"}
    return [(program, rukun.definitions.get(program)[1]) for program in sorted(programs)]


def _filter_choices(
    published: list[tuple[str, Definition]], grants: Sequence[Grant]
) -> dict[str, Any]:
    """What the case list's filters offer: published programs by title, each program's states
    by label, and the kota / kecamatan / kelurahan inside the user's region scope."""
    programs = [
        (
            program,
            definition.title.get(_lang()),
            [(state.name, state.label.get(_lang())) for state in definition.states],
        )
        for program, definition in published
    ]
    codes = [g.region_code for g in grants]
    regions = [
        region
        for level in ("kota", "kecamatan", "kelurahan")
        for region in engine().regions.within(codes, level)
    ]
    regions.sort(key=lambda region: region["code"])
    return {"programs": programs, "regions": regions}


def _startable(
    published: list[tuple[str, Definition]], grants: Sequence[Grant]
) -> list[dict[str, Any]]:
    """The programs the signed-in user may open a case of, each with the subjects (RTs,
    groups) inside the regions where the user holds a starting role."""
    found = []
    for program, definition in published:
        roles = set(starter_roles(definition))
        codes = [g.region_code for g in grants if g.role in roles]
        if codes:
            subjects = engine().regions.within(codes, SUBJECTS[definition.subject])
            found.append({"program": program, "title": definition.title, "subjects": subjects})
    return found


def _bulk_options(cases: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Triggers the signed-in user's roles can fire from the states of ``cases`` (a page of
    the list), for the bulk action menu; scope and guards are checked per case on firing."""
    found: dict[str, str] = {}
    seen: set[tuple[str, int, str]] = set()
    for case in cases:
        key = (case["program"], case["definition_version"], case["state"])
        if case["final"] or key in seen:
            continue
        seen.add(key)
        for transition in _definition(case).transitions_from(case["state"]):
            if set(transition.roles) & current_user.roles and not transition.any_source:
                found.setdefault(transition.trigger, transition.label.get(_lang()))
    return sorted(found.items(), key=lambda item: item[1])


def _candidates(
    definition: Definition, options: list[TriggerOption], case_id: int
) -> dict[str, list[dict[str, Any]]]:
    """For each ``cases`` field on a form the user may submit: the cases of its program the
    user can see (the engine checks the scope), to pick from."""
    found: dict[str, list[dict[str, Any]]] = {}
    for option in options:
        if not option.permitted:
            continue
        for item in option.form:
            name = item.field
            spec = definition.fields[name]
            if spec.type == "cases" and name not in found:
                rows = engine().cases.list(
                    program=spec.program, viewer=current_user.name, limit=200
                )
                found[name] = [row for row in rows if row["id"] != case_id]
    return found


def _lang() -> str:
    from admin.auth import current_language

    return current_language()


def _main_path(definition: Definition, history: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """The stepper: states from the initial one, each with done / current / next."""
    reached = [r["dest"] for r in history]
    current = reached[-1] if reached else definition.initial_state.name
    steps = []
    for state in definition.states:
        if state.final and state.name != current and state.name not in reached:
            continue
        status = (
            "current" if state.name == current else ("done" if state.name in reached else "next")
        )
        steps.append((state.name, state.label.get(_lang()), status))
    return steps
