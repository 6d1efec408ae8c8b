"""The REST API under ``/api/v1`` (flask-smorest over marshmallow schemas), its OpenAPI
document at ``/api/v1/openapi.json``, bearer-token access and problem+json errors.

The API is a thin edge over the same service layer as the screens: every route acts as
the token's user, and the engine checks that user's role and region scope (docs/api.md)."""

from __future__ import annotations

import http
from typing import Any

from flask import Flask, request
from flask_smorest import Api
from flask_wtf.csrf import CSRFProtect

from admin.api import access, problems
from admin.api.routes import blueprint

TITLE = "Rukun API"
VERSION = "1"
PREFIX = "/api/v1"
#: Blueprints whose requests never use the session (no cookie read or written).
BLUEPRINTS = ("api", "api-docs")


class RukunApi(Api):
    """flask-smorest's Api, with its errors as problem+json and kept to the API's own
    routes (its default handler would answer every error of the screens as JSON)."""

    def _register_error_handlers(self) -> None:
        pass

    def _register_responses(self) -> None:
        from flask_smorest.spec import prepare_response

        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = "Problem"
            prepare_response(response, self.spec, problems.MEDIA_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        default = {"description": "A problem (RFC 9457)", "schema": "Problem"}
        prepare_response(default, self.spec, problems.MEDIA_TYPE)
        self.spec.components.response("DEFAULT_ERROR", default, lazy=True)


def init_app(app: Flask, csrf: CSRFProtect) -> Api:
    app.config.update(
        API_TITLE=TITLE,
        API_VERSION=VERSION,
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=PREFIX,
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "info": {
                "description": "Cases, transitions, history, documents, definitions and "
                "regions of Rukun. Every request carries 'Authorization: Bearer <token>' "
                "(`rukun token create USER`); errors are application/problem+json."
            },
            "security": [{"bearer": []}],
            "components": {
                "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            },
        },
    )
    access.init_app(app)
    api = RukunApi(app)
    api.spec.components.schema("Problem", _PROBLEM_SCHEMA)
    api.register_blueprint(blueprint)
    csrf.exempt(blueprint)  # bearer tokens only: see admin.api.access
    return api


_PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status", "detail", "kind"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "kind": {"type": "string", "description": "the engine's kind of refusal"},
        "guards": {"type": "array", "items": {"type": "object"}},
        "errors": {"type": "object"},
        "problems": {"type": "array", "items": {"type": "object"}},
    },
}


def is_api_request() -> bool:
    """The request is for the API (its routes, its document, or an unknown URL under
    its prefix): answered as problem+json, without the session."""
    return request.blueprint in BLUEPRINTS or request.path.startswith(PREFIX + "/")
