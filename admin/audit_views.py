"""The auditors' screens ("Audit"): search cases across the reader's scope, replay any case
with a time slider (state, data and ledger at each step), its verification, every document
version ever attached; verify a whole program with progress; take and publish anchors;
oversight statistics with charts, tables and CSV. Read-only: nothing here fires or edits a
case. Role and scope are checked by the engine (``engine().audit``, ``Oversight``)."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterator
from typing import Any

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    request,
    send_file,
    stream_template,
    stream_with_context,
    url_for,
)
from flask_admin import BaseView, babel, expose
from flask_admin import helpers as h
from flask_babel import gettext
from flask_login import current_user

from admin.admin_views import AdminOnly
from admin.auth import current_language, engine
from admin.documents import send_document
from admin.parameters import int_arg
from engine.audit import charts
from engine.audit.export import Exporter
from engine.audit.service import AUDIT_ROLES
from engine.audit.statistics import OVERSIGHT_ROLES, Oversight, table_csv
from engine.audit.vocabulary import TABLES
from engine.errors import InvalidQuery, NotFound
from engine.text import Label

#: Everyone who may open the audit screens: auditors, program officers, admins, and the
#: city-level roles that read the oversight statistics.
SCREEN_ROLES = tuple(dict.fromkeys((*AUDIT_ROLES, *OVERSIGHT_ROLES)))
SEARCH_LIMIT = 50
#: Charts are pygal SVG with their own inline style and no script.
SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
EXPORT_TYPES = {
    "csv": "text/csv",
    "jsonl": "application/x-ndjson",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
#: Divergences a replay finds and verification does not look for: guards evaluated again,
#: roles against the grant log, transitions against the pinned definition.
REPLAY_ONLY = ("guards", "role", "trigger", "dest", "definition")


class AuditReaders(AdminOnly):
    def is_accessible(self) -> bool:
        return bool(current_user.is_authenticated and set(SCREEN_ROLES) & current_user.roles)


def _programs() -> list[str]:
    return sorted({row["program"] for row in engine().definitions.list()})


class AuditView(AuditReaders, BaseView):
    @expose("/")
    def index(self) -> Any:
        rukun = engine()
        filters = {
            "program": request.args.get("program", ""),
            "year": request.args.get("year", ""),
            "q": request.args.get("q", "").strip(),
        }
        page = rukun.cases.page(
            program=filters["program"] or None,
            year=int_arg("year"),
            search=filters["q"] or None,
            viewer=current_user.name,
            limit=SEARCH_LIMIT,
            sort="-updated_at",
        )
        auditor = bool(set(AUDIT_ROLES) & current_user.roles)
        return self.render(
            "rukun/audit_index.html",
            cases=page.rows,
            problems=rukun.audit.problems_by_case([c["id"] for c in page.rows]),
            filters=filters,
            programs=_programs(),
            anchors=rukun.audit.anchors(5),
            auditor=auditor,
        )

    @expose("/cases/<int:case_id>")
    def case(self, case_id: int) -> Any:
        rukun = engine()
        history = rukun.cases.history(case_id, current_user.name)
        step = int_arg("step") or len(history)
        step = min(max(step, 1), len(history)) if history else 0
        at = dt.datetime.fromisoformat(history[step - 1]["at"]) if step < len(history) else None
        replay = rukun.audit.replay(case_id, at, current_user.name)
        findings = rukun.cases.verify(case_id)
        # what only a replay can tell (verification already compares the rows)
        replayed_only = [d for d in replay["divergences"] if d["field"] in REPLAY_ONLY]
        return self.render(
            "rukun/audit_case.html",
            case=rukun.cases.show(case_id, current_user.name),
            replay=replay,
            history=history,
            step=step,
            findings=findings,
            divergences=replayed_only,
            bundle_url=url_for(".bundle", case_id=case_id),
            documents=_documents(history),
            auditor=bool(set(AUDIT_ROLES) & current_user.roles),
        )

    @expose("/cases/<int:case_id>/documents/<sha256>")
    def document(self, case_id: int, sha256: str) -> Any:
        """Any document version ever attached to the case (the history says which), as an
        attachment, for a reader who may see the case."""
        history = engine().cases.history(case_id, current_user.name)
        known = {d["sha256"]: d for d in _documents(history)}
        if sha256 not in known:
            abort(404)
        return send_document(sha256, known[sha256]["filename"], "application/octet-stream")

    @expose("/verify")
    def verify(self) -> Any:
        """Verify a program (or everything), streamed: findings and progress appear as the
        check goes through the cases."""
        program = request.args.get("program") or None
        if program is not None and program not in _programs():
            raise NotFound(gettext("Program %(program)s tidak ada", program=program))
        rukun = engine()
        progress: list[tuple[int, int]] = []
        verifier = rukun.audit.verifier(  # only the cases within the reader's scope
            program=program,
            progress=lambda done, total: progress.append((done, total)),
            viewer=current_user.name,
        )

        def events() -> Iterator[dict[str, Any]]:
            shown = 0
            for finding in verifier.run():
                yield {"finding": str(finding)}
                while shown < len(progress):
                    yield {"progress": progress[shown]}
                    shown += 1
            for item in progress[shown:]:
                yield {"progress": item}
            yield {"summary": verifier.summary}

        return self.stream("rukun/audit_verify.html", program=program, events=events())

    def stream(self, template: str, **kwargs: Any) -> Any:
        """Like Flask-Admin's ``render``, but sent while it renders (a long verification
        shows its progress): the same template arguments, streamed."""
        admin = self.admin
        assert admin is not None
        kwargs.update(
            admin_view=self,
            admin_base_template=admin.theme.base_template,
            admin_csp_nonce_attribute="",
            _gettext=babel.gettext,
            _ngettext=babel.ngettext,
            h=h,
            get_url=self.get_url,
            config=current_app.config,
            theme=admin.theme,
            **self._template_args,
        )
        return Response(stream_with_context(stream_template(template, **kwargs)))

    @expose("/export")
    def export(self) -> Any:
        """Histories of a program (a year, a region) within the reader's scope, as a file:
        JSON Lines, CSV or Excel; personal data masked unless the reader's role may see it."""
        fmt = request.args.get("format", "csv")
        if fmt not in EXPORT_TYPES:
            raise InvalidQuery(gettext("Format ekspor tidak dikenal: %(format)s", format=fmt))
        program = request.args.get("program") or None
        year = int_arg("year")
        # streamed to disk, then sent from there; send_file closes (and so deletes) it
        spool = tempfile.TemporaryFile()  # noqa: SIM115
        Exporter(engine().context).export(
            current_user.name,
            fmt,
            spool,
            program=program,
            year=year,
            region=request.args.get("region") or None,
        )
        spool.seek(0)
        name = "-".join(str(p) for p in ("rukun", program or "all", year) if p)
        return send_file(
            spool,
            mimetype=EXPORT_TYPES[fmt],
            as_attachment=True,
            download_name=f"{name}-history.{fmt}",
        )

    @expose("/cases/<int:case_id>/bundle")
    def bundle(self, case_id: int) -> Any:
        """The case's evidence bundle (zip), for an auditor who may see the case."""
        spool = tempfile.TemporaryFile()  # noqa: SIM115 (send_file closes it)
        Exporter(engine().context).bundle(current_user.name, case_id, spool)
        spool.seek(0)
        return send_file(
            spool,
            mimetype="application/zip",
            as_attachment=True,
            download_name=f"rukun-case-{case_id}-evidence.zip",
        )

    @expose("/anchor", methods=["POST"])
    def anchor(self) -> Any:
        rukun = engine()
        rukun.audit.require_auditor(
            current_user.name, Label(id="mengambil jangkar", en="take an anchor")
        )
        taken = rukun.audit.anchor(current_user.name)
        flash(gettext("Jangkar %(digest)s disimpan.", digest=taken["digest"]), "success")
        return redirect(url_for(".index"))

    def _figures(self) -> dict[str, Any]:
        program = request.args.get("program") or (_programs() or [""])[0]
        return Oversight(engine().context).figures(
            current_user.name,
            program,
            year=int_arg("year"),
            region=request.args.get("region") or None,
        )

    @expose("/statistics")
    def statistics(self) -> Any:
        figures = self._figures()
        return self.render(
            "rukun/audit_statistics.html",
            figures=figures,
            programs=_programs(),
            tables=TABLES,
            charts=charts.CHART_TABLES,
            titles=charts.TITLES,
            query={k: v for k, v in request.args.items() if k in ("program", "year", "region")},
        )

    @expose("/statistics/<chart>.svg")
    def chart(self, chart: str) -> Any:
        """A chart as SVG for an <img>: pygal's styles are inline, nothing else may load."""
        if chart not in charts.CHART_TABLES:
            abort(404)
        svg = getattr(charts, chart)(self._figures(), current_language())
        return Response(
            svg,
            mimetype="image/svg+xml",
            headers={"Content-Security-Policy": SVG_POLICY},
        )

    @expose("/statistics.csv")
    def statistics_csv(self) -> Any:
        name = request.args.get("table", "states")
        figures = self._figures()
        return Response(
            table_csv(figures, name),
            mimetype="text/csv",
            headers={
                "Content-Disposition": f'attachment; filename="{figures["program"]}-{name}.csv"'
            },
        )


def _documents(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every document ever attached, oldest first: field, sha256, file name, the record."""
    found: dict[str, dict[str, Any]] = {}
    for record in history:
        for field, sha256 in (record["documents"] or {}).items():
            if sha256 in found:
                continue
            value = (record["payload"] or {}).get(field)
            filename = value.get("filename") if isinstance(value, dict) else None
            found[sha256] = {
                "field": field,
                "sha256": sha256,
                "filename": filename,
                "seq": record["seq"],
                "at": record["at"],
                "actor": record["actor"],
            }
    return list(found.values())
