"""Checking a definition's document templates (``templates``) and what each transition
generates from them (``generates``): the templates' Jinja and the names they read, with the
line and column inside the YAML file (see :mod:`engine.paperwork.checks`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from engine.errors import Problem
from engine.guards.registry import hint
from engine.language.checking import CheckerBase, humanize
from engine.language.model import FieldSpec, FormItem, Generates, TemplateSpec
from engine.language.source import Path

TEMPLATE_KEYS = ("title", "html", "filename")
GENERATES_KEYS = ("template", "field")
FILENAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")


class PaperworkChecks(CheckerBase):
    """``templates`` and the ``generates`` of transitions."""

    def templates(
        self, raw: Any, fields: Mapping[str, FieldSpec], params: Mapping[str, Any]
    ) -> dict[str, TemplateSpec]:
        declared = self.mapping(raw, ("templates",), "templates") if raw is not None else {}
        result: dict[str, TemplateSpec] = {}
        for name, body in (declared or {}).items():
            path: Path = ("templates", name)
            if self.name(name, path, "template name") is None:
                continue
            spec = self.mapping(body, path, f"template '{name}'")
            if spec is None:
                continue
            self.keys(spec, TEMPLATE_KEYS, path, f"template '{name}'")
            html = spec.get("html")
            if not isinstance(html, str) or not html.strip():
                self.err(
                    path if "html" not in spec else (*path, "html"), "template needs 'html' text"
                )
                continue
            from engine.paperwork.checks import check_template  # Jinja: only for templates

            for problem in check_template(html, fields, params):
                line, col = self.pos.inside((*path, "html"), problem.line)
                col += problem.column if (*path, "html") in self.pos.blocks else 0
                self.problems.append(Problem(self.pos.source, line, col, problem.message))
            filename = spec.get("filename", name.replace("_", "-"))
            if not isinstance(filename, str) or not FILENAME.match(filename):
                self.err(
                    (*path, "filename"),
                    "filename must be lower-case letters, digits and '-' (at most 80), "
                    f"got {filename!r}",
                )
                filename = name.replace("_", "-")
            title = self.label(spec.get("title"), (*path, "title"), humanize(name))
            result[name] = TemplateSpec(name, title or humanize(name), html, filename)
        return result

    def generates(
        self,
        raw: Any,
        path: Path,
        templates: Mapping[str, TemplateSpec],
        fields: Mapping[str, FieldSpec],
        form: tuple[FormItem, ...],
    ) -> tuple[Generates, ...]:
        if raw is None:
            return ()
        items = self.sequence(raw, path, "generates") or []
        result: list[Generates] = []
        for j, item in enumerate(items):
            where: Path = (*path, j)
            body = self.mapping(item, where, "a generated document")
            if body is None:
                continue
            self.keys(body, GENERATES_KEYS, where, "generated document")
            template, field = body.get("template"), body.get("field")
            ok = True
            if template not in templates:
                self.err(
                    (*where, "template") if "template" in body else where,
                    f"unknown template {template!r}{hint(str(template), list(templates))}"
                    if "template" in body
                    else "a generated document needs 'template'",
                )
                ok = False
            spec = fields.get(field) if isinstance(field, str) else None
            if spec is None or spec.type != "document":
                documents = [n for n, f in fields.items() if f.type == "document"]
                self.err(
                    (*where, "field") if "field" in body else where,
                    (
                        f"field {field!r} is not a declared document field"
                        f"{hint(str(field), documents)}"
                    )
                    if "field" in body
                    else "a generated document needs 'field' (a document field)",
                )
                ok = False
            elif any(i.field == field for i in form):
                self.err(
                    (*where, "field"),
                    f"field '{field}' is generated here, so it cannot also be in the form",
                )
                ok = False
            elif any(g.field == field for g in result):
                self.err((*where, "field"), f"field '{field}' is generated twice")
                ok = False
            if ok:
                result.append(Generates(str(template), str(field)))
        return tuple(result)
