"""The studio screens ("Alur kerja / Workflows") for program officers and admins: programs
with their versions, drafts in an editor that validates as the officer types and previews
the diagram, form edits, diff, a "try it" simulation, impact on running cases, publishing
with a change note and the migration of running cases. Every read and write goes through
``engine().studio``, which checks role and region grant in the service layer."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from pathlib import Path
from typing import Any

from flask import (
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_admin import BaseView, expose
from flask_babel import gettext
from flask_login import current_user

from admin.admin_views import AdminOnly
from admin.auth import current_language, engine, shown
from admin.formatting import label
from admin.parameters import int_arg
from admin.studio_forms import edit_from_form
from engine.diagram import render_svg, workflow_graph
from engine.errors import Conflict, DefinitionError, InvalidData, NotFound
from engine.language import Definition, TransitionSpec
from engine.language.model import LEDGER_TOTALS
from engine.language.roles import SUBJECTS
from engine.studio.access import STUDIO_ROLES
from engine.studio.catalogue import guard_catalogue
from engine.studio.diff import summary_lines, text_diff
from engine.studio.drafts import MAX_DRAFT_BYTES, DraftConflict
from engine.studio.migration import Selection
from engine.studio.outline import outline
from engine.studio.simulation import parse_steps

#: Built by `npm run build` in admin/frontend (CodeMirror 6 from the npm registry).
EDITOR_BUNDLE = "build/studio.js"
#: Step rows the "try it" form offers (more with ?rows=N).
STEP_ROWS = 6
MAX_STEP_ROWS = 40


class StudioOnly(AdminOnly):
    """Mixin: program officers and admins; the engine then checks each program's grant."""

    def is_accessible(self) -> bool:
        return bool(current_user.is_authenticated and set(STUDIO_ROLES) & current_user.roles)


def _yaml_download(text: str, filename: str) -> Response:
    return Response(
        text,
        mimetype="application/yaml",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "X-Content-Type-Options": "nosniff",
        },
    )


def _source_name(draft: dict[str, Any]) -> str:
    """The name problems in a draft's text are reported under."""
    return f"{draft['program']}.yaml"


def _editor_bundle() -> str | None:
    """The code editor's script (built from admin/frontend with npm), if it was built: the
    editor page is a plain form without it."""
    static = current_app.static_folder
    if static is None or not (Path(static) / EDITOR_BUNDLE).is_file():
        return None
    return url_for("static", filename=EDITOR_BUNDLE)


def _diagram(definition: Any) -> str | None:
    if definition is None:
        return None
    return render_svg(workflow_graph(definition, current_language(), rankdir="TB"))


def _flat_params(params: Any, path: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Every scalar param with its path (nested mappings such as quotas by region opened)."""
    rows: list[dict[str, Any]] = []
    for key, value in params.items():
        here = (*path, str(key))
        if isinstance(value, dict):
            rows.extend(_flat_params(value, here))
        else:
            rows.append({"path": list(here), "name": ".".join(here), "value": value})
    return rows


def _label_groups(definition: Definition) -> list[tuple[str, list[tuple[list[Any], Any, str]]]]:
    """What the label forms edit: (group title, [(edit target, label, name)])."""
    shared = Counter(t.trigger for t in definition.transitions)

    def transition_target(t: TransitionSpec) -> list[Any]:
        source = None if t.any_source or shared[t.trigger] == 1 else t.sources[0]
        return ["transition", t.trigger, source]

    return [
        (gettext("Program"), [(["program"], definition.title, definition.program)]),
        (gettext("Tahap"), [(["state", s.name], s.label, s.name) for s in definition.states]),
        (
            gettext("Transisi"),
            [(transition_target(t), t.label, t.trigger) for t in definition.transitions],
        ),
        (
            gettext("Isian"),
            [(["field", f.name], f.label, f.name) for f in definition.fields.values()],
        ),
    ]


def _in_language(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of a try-out or a migration plan with ``error`` (English in the engine) in the
    UI's language, from their ``error_text``."""
    return [{**r, "error": label(r["error_text"])} if r.get("error_text") else r for r in rows]


def _parse_values(text: str, row: int) -> dict[str, Any]:
    """``field = value`` lines of a step row; a value starting with [ or { is JSON."""
    values: dict[str, Any] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            raise InvalidData(
                gettext(
                    "Langkah %(row)s, baris %(line)s: tulis isian = nilai", row=row, line=number
                )
            )
        value = value.strip()
        if value[:1] in ("[", "{"):
            try:
                values[name.strip()] = json.loads(value)
                continue
            except ValueError as exc:
                raise InvalidData(
                    gettext("Langkah %(row)s: JSON tidak sah (%(error)s)", row=row, error=exc)
                ) from exc
        values[name.strip()] = value
    return values


class StudioView(StudioOnly, BaseView):
    # ------------------------------------------------------------------ programs
    @expose("/")
    def index(self) -> Any:
        programs = engine().studio.programs(current_user.name)
        return self.render(
            "rukun/studio_index.html", programs=programs, max_kib=MAX_DRAFT_BYTES // 1024
        )

    @expose("/<program>/")
    def program(self, program: str) -> Any:
        found = engine().studio.program(program, current_user.name)
        return self.render("rukun/studio_program.html", program=found)

    @expose("/<program>/v<int:version>.yaml")
    def version_yaml(self, program: str, version: int) -> Any:
        text = engine().studio.version_source(program, version, current_user.name)
        return _yaml_download(text, f"{program}-v{version}.yaml")

    # ------------------------------------------------------------------ drafts
    @expose("/drafts/new", methods=["POST"])
    def new_draft(self) -> Any:
        program = request.form.get("program", "").strip()
        version = request.form.get("version", type=int)
        title = request.form.get("title", "")
        draft = engine().studio.drafts.create(
            current_user.name, program=program, from_version=version, title=title
        )
        flash(gettext("Draf %(id)s dibuat.", id=draft["id"]), "success")
        return redirect(url_for(".draft", draft_id=draft["id"]))

    @expose("/drafts/upload", methods=["POST"])
    def upload_draft(self) -> Any:
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            flash(gettext("Pilih berkas YAML untuk diunggah."), "error")
            return redirect(url_for(".index"))
        raw = upload.stream.read(MAX_DRAFT_BYTES + 1)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            flash(gettext("Berkas bukan teks UTF-8."), "error")
            return redirect(url_for(".index"))
        try:
            draft = engine().studio.drafts.create(
                current_user.name, text=text, title=request.form.get("title", "")
            )
        except InvalidData as error:
            flash(shown(error), "error")
            return redirect(url_for(".index"))
        flash(gettext("Draf %(id)s dibuat dari berkas.", id=draft["id"]), "success")
        return redirect(url_for(".draft", draft_id=draft["id"]))

    @expose("/drafts/<int:draft_id>/")
    def draft(self, draft_id: int) -> Any:
        return self._editor(engine().studio.drafts.get(draft_id, current_user.name))

    def _editor(
        self,
        draft: dict[str, Any],
        text: str | None = None,
        status: int = 200,
        conflict: DraftConflict | None = None,
        error: str | None = None,
    ) -> Any:
        """The editor with ``text`` (default: the draft as saved) checked and drawn."""
        text = draft["source"] if text is None else text
        check = engine().studio.check(text, _source_name(draft))
        page = self.render(
            "rukun/studio_draft.html",
            draft=draft,
            text=text,
            check=check.to_json(),
            definition=check.definition,
            diagram=_diagram(check.definition),
            conflict=conflict,
            error=error,
            editor_bundle=_editor_bundle(),
        )
        return page, status

    @expose("/drafts/<int:draft_id>/save", methods=["POST"])
    def save(self, draft_id: int) -> Any:
        text = request.form.get("source", "")
        revision = request.form.get("revision", type=int) or 0
        studio = engine().studio
        try:
            studio.drafts.save(draft_id, text, revision, current_user.name)
        except DraftConflict as conflict:
            draft = studio.drafts.get(draft_id, current_user.name)
            return self._editor(draft, text, 409, conflict=conflict)
        except (InvalidData, Conflict) as refused:
            draft = studio.drafts.get(draft_id, current_user.name)
            return self._editor(draft, text, refused.http_status, error=shown(refused))
        flash(gettext("Draf disimpan."), "success")
        return redirect(url_for(".draft", draft_id=draft_id))

    @expose("/drafts/<int:draft_id>/check", methods=["POST"])
    def check(self, draft_id: int) -> Any:
        """The text as typed, validated and drawn (nothing is saved): the editor calls this
        as the officer types."""
        draft = engine().studio.drafts.get(draft_id, current_user.name)
        text = request.form.get("source", "")
        if len(text.encode("utf-8")) > MAX_DRAFT_BYTES:
            message = gettext("Teks terlalu besar untuk sebuah definisi.")
            return jsonify({"valid": False, "problems": [], "error": message}), 413
        check = engine().studio.check(text, _source_name(draft))
        return jsonify({**check.to_json(), "diagram": _diagram(check.definition)})

    @expose("/drafts/<int:draft_id>.yaml")
    def draft_yaml(self, draft_id: int) -> Any:
        draft = engine().studio.drafts.get(draft_id, current_user.name)
        return _yaml_download(draft["source"], f"{draft['program']}-draft-{draft_id}.yaml")

    @expose("/drafts/<int:draft_id>/discard", methods=["POST"])
    def discard(self, draft_id: int) -> Any:
        draft = engine().studio.drafts.discard(draft_id, current_user.name)
        flash(gettext("Draf %(id)s dibuang.", id=draft_id), "success")
        return redirect(url_for(".program", program=draft["program"]))

    @expose("/drafts/<int:draft_id>/publish", methods=["POST"])
    def publish(self, draft_id: int) -> Any:
        studio = engine().studio
        revision = request.form.get("revision", type=int)
        note = request.form.get("note", "")
        try:
            result = studio.drafts.publish(draft_id, current_user.name, note, revision)
        except DraftConflict as conflict:
            draft = studio.drafts.get(draft_id, current_user.name)
            return self._editor(draft, None, 409, conflict=conflict)
        except (InvalidData, DefinitionError, Conflict) as refused:
            draft = studio.drafts.get(draft_id, current_user.name)
            return self._editor(draft, None, refused.http_status, error=shown(refused))
        message = gettext(
            "%(program)s v%(version)s diterbitkan; kasus berjalan tetap pada versinya.",
            program=result.program,
            version=result.version,
        )
        flash(message, "success")
        return redirect(url_for(".migrate", program=result.program, to=result.version))

    @expose("/drafts/<int:draft_id>/form")
    def form(self, draft_id: int) -> Any:
        return self._form(engine().studio.drafts.get(draft_id, current_user.name))

    def _form(self, draft: dict[str, Any], status: int = 200, error: str | None = None) -> Any:
        """The form tab: the common changes as small forms over the parsed draft."""
        definition = outline(draft["source"])  # also while the draft is not valid yet
        check = engine().studio.check(draft["source"], _source_name(draft)).to_json()
        catalogue = guard_catalogue()
        chosen = next((g for g in catalogue if g["name"] == request.args.get("guard")), None)
        page = self.render(
            "rukun/studio_form.html",
            draft=draft,
            definition=definition,
            params=_flat_params(definition.params) if definition else [],
            label_groups=_label_groups(definition) if definition else [],
            shared=Counter(t.trigger for t in definition.transitions) if definition else {},
            catalogue=catalogue,
            chosen=chosen,
            chosen_at=request.args.get("at", ""),
            ledger_totals=LEDGER_TOTALS,
            check=check,
            error=error,
        )
        return page, status

    @expose("/drafts/<int:draft_id>/edit", methods=["POST"])
    def edit(self, draft_id: int) -> Any:
        """One form edit, applied to the revision the officer saw and saved as the next."""
        studio = engine().studio
        revision = request.form.get("revision", type=int) or 0
        section = request.form.get("section", "")
        try:
            studio.drafts.edit(draft_id, edit_from_form(request.form), revision, current_user.name)
        except DraftConflict as conflict:
            draft = studio.drafts.get(draft_id, current_user.name)
            return self._editor(draft, None, 409, conflict=conflict)
        except (InvalidData, Conflict) as refused:
            draft = studio.drafts.get(draft_id, current_user.name)
            return self._form(draft, refused.http_status, shown(refused))
        flash(gettext("Perubahan disimpan ke draf."), "success")
        return redirect(url_for(".form", draft_id=draft_id) + (f"#{section}" if section else ""))

    # ------------------------------------------------------------------ review
    @expose("/drafts/<int:draft_id>/diff")
    def diff(self, draft_id: int) -> Any:
        studio = engine().studio
        draft = studio.drafts.get(draft_id, current_user.name)
        versions = studio.program(draft["program"], current_user.name)["versions"]
        against = int_arg("against") or next(
            (v["version"] for v in versions if v["status"] == "published"), None
        )
        old = engine().definitions.get(draft["program"], against)[0].source
        name = f"{draft['program']} v{against}"
        lines = text_diff(old, draft["source"], name, f"draft {draft_id}")
        summary: list[str] | None = None
        try:
            structural = studio.diff(draft["program"], against, text=draft["source"])
            summary = summary_lines(structural["structural"])
        except DefinitionError:
            structural = None
        return self.render(
            "rukun/studio_diff.html",
            draft=draft,
            versions=versions,
            against=against,
            summary=summary,
            structural=structural["structural"] if structural else None,
            lines=lines,
        )

    @expose("/drafts/<int:draft_id>/try", methods=["GET", "POST"])
    def simulate(self, draft_id: int) -> Any:
        studio = engine().studio
        draft = studio.drafts.get(draft_id, current_user.name)
        check = studio.check(draft["source"], _source_name(draft))
        rows = max(STEP_ROWS, min(int_arg("rows", source=request.values) or 0, MAX_STEP_ROWS))
        form = request.form
        results: list[dict[str, Any]] | None = None
        error = None
        if request.method == "POST" and check.definition is not None:
            try:
                steps = []
                for row in range(rows):
                    trigger = form.get(f"trigger-{row}", "").strip()
                    if not trigger:
                        continue
                    attach = [a.strip() for a in form.get(f"attach-{row}", "").split(",")]
                    steps.append(
                        {
                            "trigger": trigger,
                            "role": form.get(f"role-{row}", "").strip(),
                            "set": _parse_values(form.get(f"values-{row}", ""), row + 1),
                            "attach": [a for a in attach if a],
                        }
                    )
                results = _in_language(
                    studio.simulate(
                        draft["source"],
                        form.get("subject", "").strip(),
                        parse_steps(steps),
                        form.get("year", type=int) or 2026,
                        _source_name(draft),
                    )
                )
            except (InvalidData, NotFound) as refused:
                error = shown(refused)
        definition = check.definition
        subjects = (
            engine().regions.within(list(definition.regions), SUBJECTS[definition.subject])[:500]
            if definition is not None and definition.regions
            else []
        )
        page = self.render(
            "rukun/studio_try.html",
            draft=draft,
            definition=definition,
            rows=rows,
            form=form,
            results=results,
            error=error,
            subjects=subjects,
        )
        return page, 422 if error else 200

    @expose("/drafts/<int:draft_id>/impact")
    def impact(self, draft_id: int) -> Any:
        studio = engine().studio
        draft = studio.drafts.get(draft_id, current_user.name)
        try:
            impact = studio.impact(draft["source"], _source_name(draft))
        except DefinitionError:
            impact = None
        return self.render("rukun/studio_impact.html", draft=draft, impact=impact)

    # ------------------------------------------------------------------ migration
    @expose("/<program>/migrate", methods=["GET", "POST"])
    def migrate(self, program: str) -> Any:
        studio = engine().studio
        overview = studio.program(program, current_user.name)
        to_version = int_arg("to", source=request.values) or overview["published_version"]
        choices = studio.migration_choices(program, to_version, current_user.name)
        form = request.form
        plan = None
        error = None
        applied = False
        if request.method == "POST":
            mapping = {
                key.removeprefix("map-"): value
                for key, value in form.items()
                if key.startswith("map-") and value and value != key.removeprefix("map-")
            }
            case_ids = tuple(
                int(v) for v in form.get("cases", "").replace(",", " ").split() if v.isdigit()
            )
            selection = Selection(
                form.get("from", type=int),
                case_ids,
                tuple(form.getlist("state")),
                form.get("region", "").strip() or None,
            )
            applied = form.get("action") == "apply"
            try:
                plan = studio.migrate(
                    program,
                    to_version,
                    current_user.name,
                    selection,
                    mapping,
                    form.get("note", ""),
                    dry_run=not applied,
                )
            except (InvalidData, NotFound) as refused:
                error = shown(refused)
            if plan is not None:
                plan = dataclasses.replace(plan, rows=_in_language(plan.rows))
            if plan is not None and applied and plan.valid:
                moved = sum(1 for r in plan.rows if r["ok"])
                message = gettext(
                    "%(count)s kasus dipindahkan ke versi %(version)s.",
                    count=moved,
                    version=to_version,
                )
                flash(message, "success")
        status = 422 if error or (plan is not None and not plan.valid) else 200
        if request.method == "POST" and request.accept_mimetypes.best == "application/json":
            # a chunk sent by the page's script (admin/static/rukun.js), for its progress bar
            rows = render_template("rukun/_migration_rows.html", plan=plan, applied=applied)
            return jsonify(
                {
                    "error": error,
                    "valid": bool(plan and plan.valid),
                    "rows": plan.rows if plan else [],
                    "html": rows,
                }
            ), status
        page = self.render(
            "rukun/studio_migrate.html",
            program=overview,
            choices=choices,
            form=form,
            plan=plan,
            error=error,
            applied=applied,
        )
        return page, status
