"""The API's request and response shapes (marshmallow): what the OpenAPI document
describes and what every request is checked against. Unknown fields are refused."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from engine.runtime.queries import ID_MAX

#: At most this many cases a page (the UI shows 50).
MAX_PAGE = 200


class Strict(Schema):
    class Meta:
        unknown = RAISE


class LabelSchema(Strict):
    id = fields.String(required=True, metadata={"description": "Indonesian"})
    en = fields.String(required=True, metadata={"description": "English"})


class GrantSchema(Strict):
    role = fields.String(required=True)
    region = fields.String(allow_none=True, required=True, metadata={"description": "null: all"})


class WhoAmISchema(Strict):
    name = fields.String(required=True)
    grants = fields.List(fields.Nested(GrantSchema), required=True)


class CaseSchema(Strict):
    """A case as its reader may see it (personal data masked unless their role may)."""

    id = fields.Integer(required=True)
    program = fields.String(required=True)
    definition_version = fields.Integer(required=True)
    definition_sha256 = fields.String(required=True)
    subject = fields.String(required=True, metadata={"description": "region code"})
    subject_name = fields.String(required=True)
    year = fields.Integer(required=True)
    state = fields.String(required=True)
    state_label = fields.Nested(LabelSchema, required=True)
    final = fields.Boolean(required=True)
    version = fields.Integer(
        required=True, metadata={"description": "send it back as If-Match when firing"}
    )
    data = fields.Dict(required=True, metadata={"description": "the form values so far"})
    created_at = fields.String(required=True)
    created_by = fields.String(required=True)
    updated_at = fields.String(required=True)
    due_at = fields.String(allow_none=True, required=True)
    overdue = fields.Boolean(required=True)


class CaseViewSchema(CaseSchema):
    """A case with its ledger and its links to other cases."""

    ledger = fields.Dict(required=True)
    links = fields.Dict(keys=fields.String(), values=fields.List(fields.Dict()), required=True)


class CasePageSchema(Strict):
    items = fields.List(fields.Nested(CaseSchema), required=True)
    next_cursor = fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "pass as ?cursor= for the next page; null on the last"},
    )


class CaseQuerySchema(Strict):
    """The case list's filters: those of the UI's list."""

    program = fields.String(validate=validate.Length(max=100))
    state = fields.String(validate=validate.Length(max=100))
    year = fields.Integer(validate=validate.Range(2000, 2100))
    region = fields.String(
        validate=validate.Length(max=100),
        metadata={"description": "within this region, any level"},
    )
    q = fields.String(
        validate=validate.Length(max=100),
        metadata={"description": "a case number, part of the subject's name, or its code"},
    )
    overdue = fields.Boolean(metadata={"description": "only cases past their deadline"})
    sort = fields.String(
        validate=validate.Length(max=40),
        metadata={"description": "a column, '-column' descending (default: by id)"},
    )
    cursor = fields.String(validate=validate.Length(max=2000))
    limit = fields.Integer(load_default=50, validate=validate.Range(1, MAX_PAGE))


class StartSchema(Strict):
    program = fields.String(required=True, validate=validate.Length(1, 100))
    subject = fields.String(
        required=True, validate=validate.Length(1, 100), metadata={"description": "region code"}
    )
    year = fields.Integer(required=True, validate=validate.Range(2000, 2100))
    values = fields.Dict(
        keys=fields.String(), load_default=dict, metadata={"description": "start form values"}
    )


class FireSchema(Strict):
    values = fields.Dict(
        keys=fields.String(),
        load_default=dict,
        metadata={
            "description": "the transition's form values; document fields are sent as "
            "files in a multipart/form-data request instead"
        },
    )


class GuardSchema(Strict):
    guard = fields.String(required=True)
    args = fields.Dict(required=True)
    ok = fields.Boolean(allow_none=True, required=True, metadata={"description": "null: waits"})
    message = fields.Nested(LabelSchema, allow_none=True, required=True)


class FormItemSchema(Strict):
    field = fields.String(required=True)
    required = fields.Boolean(required=True)


class TriggerSchema(Strict):
    trigger = fields.String(required=True)
    label = fields.Nested(LabelSchema, required=True)
    dest = fields.String(required=True)
    allowed = fields.Boolean(required=True, metadata={"description": "may be fired now"})
    permitted = fields.Boolean(
        required=True, metadata={"description": "the token's role and region allow it"}
    )
    reasons = fields.List(fields.String(), required=True)
    guards = fields.List(
        fields.Nested(GuardSchema),
        required=True,
        metadata={"description": "each guard's result (empty unless permitted)"},
    )
    form = fields.List(fields.Nested(FormItemSchema), required=True)


class TriggersQuerySchema(Strict):
    values = fields.String(
        validate=validate.Length(max=20000),
        metadata={"description": "JSON object of form values to check the guards against"},
    )


class RecordSchema(Strict):
    """One history record (payloads masked like the case)."""

    case_id = fields.Integer(required=True)
    seq = fields.Integer(required=True)
    kind = fields.String(required=True)
    trigger = fields.String(required=True)
    source = fields.String(allow_none=True, required=True)
    dest = fields.String(required=True)
    actor = fields.String(required=True)
    role = fields.String(allow_none=True, required=True)
    at = fields.String(required=True)
    program = fields.String(required=True)
    definition_version = fields.Integer(required=True)
    definition_sha256 = fields.String(required=True)
    payload = fields.Dict(required=True)
    guards = fields.List(fields.Dict(), required=True)
    documents = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    rule = fields.String(allow_none=True, required=True)
    effects = fields.Dict(allow_none=True, required=True)
    prev_hash = fields.String(allow_none=True, required=True)
    hash = fields.String(required=True)


class DocumentSchema(Strict):
    field = fields.String(required=True)
    sha256 = fields.String(required=True)
    filename = fields.String(required=True)
    size = fields.Integer(required=True)
    media_type = fields.String(required=True)
    current = fields.Boolean(
        required=True, metadata={"description": "the field's value now (else an earlier one)"}
    )


class VersionSchema(Strict):
    program = fields.String(required=True)
    version = fields.Integer(required=True)
    sha256 = fields.String(required=True)
    status = fields.String(required=True)
    source_name = fields.String(required=True)
    published_at = fields.String(allow_none=True, required=True)
    published_by = fields.String(allow_none=True, required=True)
    change_note = fields.String(allow_none=True, required=True)


class DefinitionSchema(VersionSchema):
    title = fields.Nested(LabelSchema, required=True)
    subject = fields.String(required=True, metadata={"description": "the level cases are about"})
    states = fields.List(fields.Dict(), required=True)
    transitions = fields.List(fields.Dict(), required=True)
    fields_ = fields.Dict(data_key="fields", required=True)
    roles = fields.Dict(required=True)
    source = fields.String(required=True, metadata={"description": "the YAML text"})


class VersionQuerySchema(Strict):
    version = fields.Integer(
        validate=validate.Range(1, ID_MAX), metadata={"description": "default: the published"}
    )


class RegionSchema(Strict):
    code = fields.String(required=True)
    level = fields.String(required=True)
    name = fields.String(required=True)
    parent_code = fields.String(allow_none=True, required=True)
    demo = fields.Boolean(required=True)
    contact = fields.String(
        allow_none=True, required=True, metadata={"description": "the office's contact point"}
    )


class RegionQuerySchema(Strict):
    level = fields.String(validate=validate.Length(max=20))
    parent = fields.String(validate=validate.Length(max=100))
    q = fields.String(validate=validate.Length(max=100))
    after = fields.String(validate=validate.Length(max=100), metadata={"description": "code"})
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 1000))


class RegionPageSchema(Strict):
    items = fields.List(fields.Nested(RegionSchema), required=True)
    next_after = fields.String(allow_none=True, required=True)
