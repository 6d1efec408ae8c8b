"""Errors of the API as RFC 9457 problem details (``application/problem+json``).

Every refusal says what kind of problem it is (``kind``, the engine's: ``forbidden``,
``not_found``, ``conflict``, ``refused``, ``invalid_data`` …) and carries the details a
client acts on: each guard's result for a refused transition, each field's errors for
invalid data or a malformed request."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from flask import Response, request
from werkzeug.exceptions import HTTPException

from engine.errors import RukunError

MEDIA_TYPE = "application/problem+json"
#: The ``kind`` of problems that HTTP itself answers (no engine error behind them).
HTTP_KINDS = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    412: "precondition_failed",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_data",
    428: "precondition_required",
    429: "too_many_requests",
    500: "internal_error",
}


def problem_type(kind: str) -> str:
    """The problem's ``type``: a URI naming its kind (stable, for clients to switch on)."""
    return f"urn:rukun:problem:{kind}"


def problem(
    status: int,
    kind: str,
    detail: str,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> Response:
    """A problem+json response."""
    body = {
        "type": problem_type(kind),
        "title": _title(status),
        "status": status,
        "detail": detail,
        "instance": request.path,
        "kind": kind,
        **extensions,
    }
    response = Response(json.dumps(body, ensure_ascii=False), status, mimetype=MEDIA_TYPE)
    response.headers.update(headers or {})
    return response


def from_engine(error: RukunError) -> Response:
    """The engine's refusal, with its details (guards, field errors, definition problems)."""
    details = {k: v for k, v in error.to_json().items() if k not in ("kind", "message")}
    headers = {}
    if error.http_status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="rukun", error="invalid_token"'
    return problem(error.http_status, error.kind, error.message, headers, **details)


def from_http(error: HTTPException) -> Response:
    """An HTTP error (no route, wrong method, a malformed or oversized body, webargs'
    validation of a request), with the field errors webargs found."""
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    extensions: dict[str, Any] = {}
    errors = data.get("errors") or data.get("messages")
    if errors:
        extensions["errors"] = errors
    headers = dict(data.get("headers") or {})
    if status == 405 and error.get_headers():
        headers.update({k: v for k, v in error.get_headers() if k == "Allow"})
    detail = data.get("message") or error.description or _title(status)
    if status == 422 and errors:
        detail = "the request does not match the API: see errors"
    return problem(status, HTTP_KINDS.get(status, "error"), str(detail), headers, **extensions)


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
