"""The one error hierarchy of Rukun; raised deep, translated once at the edge (CLI, web)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from engine.text import Label


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a definition file, pointing at its source position."""

    path: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.message}"


class RukunError(Exception):
    """Base of every error the engine raises on purpose; ``exit_code`` is the CLI status.

    ``message`` is English (the CLI, the API and the logs speak it); an error that can reach
    the operator UI is raised with a :class:`Label`, so the UI shows it in its own language
    (:meth:`text`)."""

    exit_code = 1
    http_status = 400
    kind = "error"

    def __init__(self, message: str | Label) -> None:
        self.label = message if isinstance(message, Label) else None
        text = message.en if isinstance(message, Label) else message
        super().__init__(text)
        self.message = text

    def text(self, lang: str = "id") -> str:
        """The message in ``lang`` (``id`` or ``en``); English where it has no other."""
        return self.label.get(lang) if self.label is not None else self.message

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "message": self.message, "text": self._texts()}

    def _texts(self) -> dict[str, str]:
        return {"id": self.text("id"), "en": self.message}


class DefinitionError(RukunError):
    """A workflow definition is invalid; carries every problem found, sorted by position."""

    kind = "invalid_definition"

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: list[Problem] = sorted(set(problems))
        super().__init__("\n".join(str(p) for p in self.problems) or "invalid definition")

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "message": self.message,
            "text": self._texts(),
            "problems": [
                {"path": p.path, "line": p.line, "col": p.col, "message": p.message}
                for p in self.problems
            ],
        }


class InvalidData(RukunError):
    """Input data (form values, CSV rows, command arguments) is not acceptable."""

    kind = "invalid_data"
    http_status = 422

    def __init__(self, message: str | Label, errors: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or {}

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "message": self.message,
            "text": self._texts(),
            "errors": self.errors,
        }


class InvalidQuery(InvalidData):
    """A request's own parameter is malformed (a page cursor, a sort, a filter value): the
    request cannot be answered as asked, so the web answers 400, not 422."""

    kind = "invalid_query"
    http_status = 400


class TransitionRefused(RukunError):
    """At least one guard did not hold; the case and its history are unchanged."""

    kind = "refused"
    http_status = 422

    def __init__(self, message: str | Label, guards: Sequence[dict[str, Any]]) -> None:
        super().__init__(message)
        self.guards = list(guards)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "message": self.message,
            "text": self._texts(),
            "guards": self.guards,
        }


class Forbidden(RukunError):
    """The actor's role or region scope does not allow this."""

    exit_code = 3
    http_status = 403
    kind = "forbidden"


class Unauthenticated(RukunError):
    """A request carries no credential the engine accepts: an unknown, expired or revoked
    API token, or one of a user who is no longer active."""

    exit_code = 6
    http_status = 401
    kind = "unauthenticated"


class Conflict(RukunError):
    """The case changed underneath the caller (stale version, concurrent firing, moved state)."""

    exit_code = 4
    http_status = 409
    kind = "conflict"


class NotFound(RukunError):
    """A case, user, program, region or trigger does not exist."""

    exit_code = 5
    http_status = 404
    kind = "not_found"
