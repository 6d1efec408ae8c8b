"""The API's routes: each reads its request through a schema, calls the service layer as
the token's user and answers through a schema (so the OpenAPI document says what it
sends). The engine decides who may see or do what."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

from flask import Response, request, url_for
from flask_smorest import Blueprint
from marshmallow import RAISE, ValidationError
from werkzeug.exceptions import BadRequest, HTTPException, UnsupportedMediaType
from werkzeug.utils import secure_filename

from admin.api import access, problems
from admin.api.schemas import (
    CasePageSchema,
    CaseQuerySchema,
    CaseViewSchema,
    DefinitionSchema,
    DocumentSchema,
    FireSchema,
    RecordSchema,
    RegionPageSchema,
    RegionQuerySchema,
    StartSchema,
    TriggerSchema,
    TriggersQuerySchema,
    VersionQuerySchema,
    VersionSchema,
    WhoAmISchema,
)
from admin.auth import engine
from admin.documents import send_document
from engine.errors import InvalidData, InvalidQuery, NotFound, RukunError
from engine.language import Definition
from engine.runtime.idempotency import Once, check_key, fingerprint

blueprint = Blueprint(
    "api",
    __name__,
    url_prefix="/api/v1",
    description="Cases and their transitions, history and documents; definitions; regions",
)
#: ``If-Match`` as the API takes it: one strong entity tag holding a case's version, or *.
ENTITY_TAG = re.compile(r'^\s*(?:"(?P<version>\d{1,10})"|(?P<any>\*))\s*$')
SHA256 = re.compile(r"^[0-9a-f]{64}$")
PRECONDITION = {
    "description": 'the case\'s version as its ETag gave it ("3"), or * to fire on any version',
    "required": True,
}
IDEMPOTENCY = {
    "description": "a key of your choosing (a UUID): a retry with the same key within a day"
    " returns the first answer without firing again",
    "required": False,
}


@blueprint.before_request
def authenticate() -> None:
    access.authenticate()


@blueprint.after_request
def rate_headers(response: Response) -> Response:
    return access.rate_headers(response)


@blueprint.errorhandler(RukunError)
def engine_error(error: RukunError) -> Response:
    return problems.from_engine(error)


@blueprint.errorhandler(HTTPException)
def http_error(error: HTTPException) -> Response:
    return problems.from_http(error)


def _etag(version: int) -> dict[str, str]:
    """The headers naming a case's version (what ``If-Match`` sends back)."""
    return {"ETag": f'"{version}"'}


# ---------------------------------------------------------------------------------- cases


@blueprint.route("/me")
@blueprint.response(200, WhoAmISchema)
def me() -> dict[str, Any]:
    """The token's user and their roles, each with its region (null: everywhere)."""
    name = access.user()
    with engine().context.sessions() as session:
        actor = engine().context.actor(session, name)
    grants = [{"role": g.role, "region": g.region_code} for g in actor.grants]
    return {"name": name, "grants": grants}


@blueprint.route("/cases")
@blueprint.arguments(CaseQuerySchema, location="query", as_kwargs=True, unknown=RAISE)
@blueprint.response(200, CasePageSchema)
def list_cases(**query: Any) -> tuple[dict[str, Any], int, dict[str, str]]:
    """Cases within the token's region scope, with the filters of the case list, a page at
    a time (keyset paging: follow ``next_cursor`` or the ``Link: rel="next"`` header)."""
    search = query.pop("q", None)
    page = engine().cases.page(viewer=access.user(), search=search, **query)
    headers = {}
    if page.next_cursor:
        args = {k: v for k, v in request.args.items() if k != "cursor"}
        link = url_for(".list_cases", _external=True, **args, cursor=page.next_cursor)
        headers["Link"] = f'<{link}>; rel="next"'
    return {"items": page.rows, "next_cursor": page.next_cursor}, 200, headers


@blueprint.route("/cases", methods=["POST"])
@blueprint.arguments(StartSchema)
@blueprint.response(201, CaseViewSchema)
def start_case(body: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
    """Open a case of a program about a region (the roles that act first, in scope)."""
    name = access.user()
    # the case as show() gives it, read in the start's own transaction
    view = engine().cases.start(
        body["program"], body["subject"], body["year"], name, body["values"]
    )
    location = url_for(".get_case", case_id=view["id"], _external=True)
    return view, 201, {**_etag(view["version"]), "Location": location}


@blueprint.route("/cases/<int:case_id>")
@blueprint.response(200, CaseViewSchema, headers={"ETag": {"schema": {"type": "string"}}})
@blueprint.alt_response(304, description="Not modified (If-None-Match held the version)")
def get_case(case_id: int) -> Any:
    """One case with its ledger and links; its version is the ETag to fire with."""
    view = engine().cases.show(case_id, access.user())
    headers = _etag(view["version"])
    if request.headers.get("If-None-Match", "").strip() == headers["ETag"]:
        return Response(status=304, headers=headers)
    return view, 200, headers


@blueprint.route("/cases/<int:case_id>/triggers")
@blueprint.arguments(TriggersQuerySchema, location="query", unknown=RAISE)
@blueprint.response(200, TriggerSchema(many=True))
def triggers(query: dict[str, Any], case_id: int) -> list[dict[str, Any]]:
    """The transitions out of the case's state: whether the token's user may fire each
    now, and why not (role, scope, each guard's result; ``values`` checks form input)."""
    rukun = engine()
    name = access.user()
    rukun.cases.show(case_id, name)  # outside the scope: 403
    values = _object(query.get("values"), "values") if "values" in query else {}
    options = []
    for option in rukun.cases.triggers(case_id, name, values):
        shown = option.to_json()
        if not option.permitted:  # guard results are for those who may fire it
            shown["guards"] = []
        options.append(shown)
    return options


@blueprint.route("/cases/<int:case_id>/history")
@blueprint.response(200, RecordSchema(many=True))
def history(case_id: int) -> list[dict[str, Any]]:
    """The case's history, oldest first, payloads masked like the case."""
    return engine().cases.history(case_id, access.user())


@blueprint.route("/cases/<int:case_id>/transitions/<trigger>", methods=["POST"])
@blueprint.doc(
    parameters=[
        {"in": "header", "name": "If-Match", "schema": {"type": "string"}, **PRECONDITION},
        {"in": "header", "name": "Idempotency-Key", "schema": {"type": "string"}, **IDEMPOTENCY},
    ],
    requestBody={
        "required": False,
        "content": {
            "application/json": {"schema": "FireSchema"},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "values": {"type": "string", "description": "the values, as JSON"}
                    },
                    "additionalProperties": {"type": "string", "format": "binary"},
                    "description": "each document field a file part named after it",
                }
            },
        },
    },
)
@blueprint.response(200, CaseViewSchema, headers={"ETag": {"schema": {"type": "string"}}})
def fire(case_id: int, trigger: str) -> tuple[dict[str, Any], int, dict[str, str]]:
    """Fire a transition: all of it happens or nothing does. ``If-Match`` must name the
    case's version (409 if it moved since); with an ``Idempotency-Key`` a retry gets the
    first answer back (``Idempotent-Replayed: true``) instead of firing twice."""
    expected = _if_match()
    values, uploads = _fire_body()
    rukun = engine()
    name = access.user()
    with tempfile.TemporaryDirectory(prefix="rukun-api-") as tmp:
        files: dict[str, Path] = {}
        for number, (field, upload) in enumerate(uploads.items()):
            # the part's name is the client's: it names the field, never a path
            path = Path(tmp) / str(number) / (secure_filename(upload.filename or "") or "file")
            path.parent.mkdir()
            upload.save(path)
            files[field] = path
        once = None
        key = request.headers.get("Idempotency-Key")
        if key is not None:
            digest = fingerprint(case_id, trigger, values, files, expected)
            once = Once(name, check_key(key), digest)
        case = rukun.cases.fire(
            case_id, trigger, name, values, files, expected, view=True, once=once
        )
    headers = _etag(case["version"])
    if once is not None and once.replayed:
        headers["Idempotent-Replayed"] = "true"
    return case, 200, headers


@blueprint.route("/cases/<int:case_id>/documents")
@blueprint.response(200, DocumentSchema(many=True))
def documents(case_id: int) -> list[dict[str, Any]]:
    """Every document the case's history names: each field's current one and earlier."""
    return engine().cases.documents(case_id, access.user())


@blueprint.route("/cases/<int:case_id>/documents/<sha256>")
@blueprint.response(
    200,
    content_type="application/octet-stream",
    description="the file, as an attachment",
)
def document(case_id: int, sha256: str) -> Any:
    """One document of the case, by its sha256 (only a document this case names)."""
    if not SHA256.match(sha256):
        raise NotFound(f"case {case_id} has no document {sha256[:64]}")
    found = engine().cases.document(case_id, sha256, access.user())
    return send_document(sha256, found["filename"], found["media_type"])


# ---------------------------------------------------------------------- definitions, regions


@blueprint.route("/definitions")
@blueprint.response(200, VersionSchema(many=True))
def definitions() -> list[dict[str, Any]]:
    """Every stored version of every program, by program and version."""
    return engine().definitions.list()


@blueprint.route("/definitions/<program>")
@blueprint.arguments(VersionQuerySchema, location="query", unknown=RAISE)
@blueprint.response(200, DefinitionSchema)
def definition(query: dict[str, Any], program: str) -> dict[str, Any]:
    """A program's published version (or ``version``): its states, transitions with who
    may fire them and their forms, fields, roles and YAML source."""
    from engine.runtime.definitions import version_json

    row, parsed = engine().definitions.get(program, query.get("version"))
    return {**version_json(row), **definition_json(parsed), "source": row.source}


@blueprint.route("/regions")
@blueprint.arguments(RegionQuerySchema, location="query", as_kwargs=True, unknown=RAISE)
@blueprint.response(200, RegionPageSchema)
def regions(
    limit: int,
    level: str | None = None,
    parent: str | None = None,
    q: str | None = None,
    after: str | None = None,
) -> dict[str, Any]:
    """Regions by code, a page at a time (pass ``next_after`` as ``after``)."""
    rows = engine().regions.list(level, parent, search=q, after=after, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": rows, "next_after": rows[-1]["code"] if more else None}


# ---------------------------------------------------------------------------------- helpers


def definition_json(definition: Definition) -> dict[str, Any]:
    """What an app needs to drive a program: its states, transitions, fields and roles."""
    return {
        "title": definition.title.to_json(),
        "subject": definition.subject,
        "states": [
            {
                "name": s.name,
                "label": s.label.to_json(),
                "initial": s.initial,
                "final": s.final,
                "deadline_days": (s.deadline.days or s.deadline.working_days)
                if s.deadline
                else None,
            }
            for s in definition.states
        ],
        "transitions": [
            {
                "trigger": t.trigger,
                "label": t.label.to_json(),
                "sources": ["*"] if t.any_source else list(t.sources),
                "dest": t.dest,
                "roles": list(t.roles),
                "form": [{"field": f.field, "required": f.required} for f in t.form],
                "guards": [g.name for g in t.guards],
            }
            for t in definition.transitions
        ],
        "fields_": {
            name: {
                "type": spec.type,
                "label": spec.label.to_json(),
                "personal": spec.pii,
                **({"choices": [c.value for c in spec.choices]} if spec.choices else {}),
            }
            for name, spec in definition.fields.items()
        },
        "roles": {name: role.label.to_json() for name, role in definition.roles.items()},
    }


def _if_match() -> int | None:
    """The version ``If-Match`` names (None for ``*``); 428 without it, 400 if malformed."""
    header = request.headers.get("If-Match")
    if header is None:
        raise PreconditionRequired()
    match = ENTITY_TAG.match(header)
    if match is None:
        raise InvalidQuery('If-Match must be the case\'s ETag, such as "3" (with the quotes), or *')
    return None if match["any"] else int(match["version"])


class PreconditionRequired(HTTPException):
    code = 428
    description = (
        'send the case\'s version as If-Match: "<version>" (from its ETag), or * to fire'
        " whatever its version: a firing must not overwrite a change you have not seen"
    )


def _fire_body() -> tuple[dict[str, Any], dict[str, Any]]:
    """The values and files of a firing: a JSON body, or multipart/form-data with the
    values as JSON in the part ``values`` and each document as a file part; or none."""
    mimetype = request.mimetype
    if mimetype == "multipart/form-data":
        values = _object(request.form.get("values", "{}"), "values")
        unexpected = sorted(set(request.form) - {"values"})
        if unexpected:
            raise InvalidData(
                "a multipart firing has the part 'values' and files only",
                {name: ["unknown part"] for name in unexpected},
            )
        return values, {k: v for k, v in request.files.items() if v.filename}
    if not request.get_data(cache=True) and mimetype in ("", "application/json"):
        return {}, {}
    if mimetype != "application/json":
        raise UnsupportedMediaType("send application/json or multipart/form-data")
    body = request.get_json(silent=True)
    if body is None:
        raise BadRequest("the body is not valid JSON")
    try:
        loaded = FireSchema().load(body)
    except ValidationError as exc:
        raise InvalidData("the request does not match the API: see errors", _errors(exc)) from exc
    return dict(loaded["values"]), {}


def _object(text: str | None, name: str) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError as exc:
        raise InvalidQuery(f"{name} is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise InvalidQuery(f"{name} must be a JSON object")
    return value


def _errors(exc: ValidationError) -> dict[str, Any]:
    messages = exc.messages
    return messages if isinstance(messages, dict) else {"_schema": messages}
