"""The public page for residents, without signing in: kota → kecamatan → kelurahan → RT,
then an RT's year with each case's money, decisions (by role) and public documents; a
short URL and a QR code per RT and year, and a poster of both for the notice board.

Light pages for a cheap phone: no script, one small stylesheet, Indonesian unless the
URL says ``?lang=en``. They never touch the session, so no response sets a cookie and
any cache may keep them for five minutes. What they show comes from
:class:`engine.runtime.public.Public`, which picks every value from what is public.
"""

from __future__ import annotations

import datetime as dt
import io
import mimetypes
from typing import Any

import segno
from flask import Blueprint, Response, current_app, request, url_for
from flask_babel import format_date

from admin.auth import current_language, engine, shown
from admin.documents import send_document
from admin.formatting import WITA
from engine.errors import InvalidQuery, NotFound

blueprint = Blueprint("public", __name__)
#: How long a browser or a shared cache may keep a public response.
CACHE_SECONDS = 300
#: Error correction of the printed QR code: level M survives a notice board's wear.
QR_ERROR = "m"
QR_SCALE = 8


def short_url(code: str, year: int) -> str:
    """The absolute short URL of an RT's year: what its QR code holds."""
    return url_for("public.short", code=code, year=year, _external=True)


def qr_code(code: str, year: int) -> segno.QRCode:
    return segno.make(short_url(code, year), error=QR_ERROR)


@blueprint.get("/public/")
def index() -> Response:
    return _page("public_index.html", page=engine().public.regions())


@blueprint.get("/public/<code>/")
def region(code: str) -> Response:
    return _page("public_region.html", page=engine().public.regions(code))


@blueprint.get("/public/<code>/<int:year>")
def rt_year(code: str, year: int) -> Response:
    return _year_page(code, year)


@blueprint.get("/p/<code>/<int:year>")
def short(code: str, year: int) -> Response:
    """The page a QR code opens, served at once (no redirect: one round trip less on a
    slow connection); its canonical URL is the long one."""
    return _year_page(code, year)


@blueprint.get("/public/<code>/<int:year>/poster")
def poster(code: str, year: int) -> Response:
    page = engine().public.rt_year(code, year)
    return _page("public_poster.html", page=page, short_url=short_url(code, year))


@blueprint.get("/public/<code>/<int:year>/qr.svg")
def qr_svg(code: str, year: int) -> Response:
    engine().public.rt_year(code, year)  # no code for a page that does not exist
    svg = io.BytesIO()
    # dark modules on a white square: readable on a screen in dark mode as on paper
    qr_code(code, year).save(svg, kind="svg", scale=QR_SCALE, light="#fff", xmldecl=False, nl=False)
    return Response(svg.getvalue(), mimetype="image/svg+xml")


@blueprint.get("/public/cases/<int:case_id>/documents/<sha256>")
def document(case_id: int, sha256: str) -> Any:
    """A public document of the case, under a name made of its field and the case
    number (the uploaded file's name may name a person)."""
    found = engine().public.document(case_id, sha256)
    extension = mimetypes.guess_extension(found.media_type) or ""
    response = send_document(found.sha256, f"{found.field}-{case_id}{extension}", found.media_type)
    # immutable (named by its content), public like the page that links it: cacheable too
    response.cache_control.private = response.cache_control.no_cache = None
    return response


@blueprint.get("/public/<path:anything>")
def unknown(anything: str) -> Response:
    """Any other URL under /public/: the public "not found" page, in the public layout."""
    raise NotFound("no such public page")


@blueprint.errorhandler(NotFound)
@blueprint.errorhandler(404)
def not_found(error: Exception) -> Response:
    """An unknown region, year, case or document, or a number no row can have: the public
    "not found" page (the engine's message names what was asked for; it is not echoed)."""
    return _page("public_error.html", status=404)


@blueprint.errorhandler(InvalidQuery)
def invalid(error: InvalidQuery) -> Response:
    """A malformed URL (an overlong parameter, a NUL character), and what is wrong with it
    (the message names the parameter, never echoes its value)."""
    return _page("public_error.html", status=400, message=shown(error))


@blueprint.after_request
def cacheable(response: Response) -> Response:
    """Public pages are the same for everyone: any cache may keep a found one a while."""
    if response.status_code == 200:
        response.cache_control.public = True
        response.cache_control.max_age = CACHE_SECONDS
    return response


def _year_page(code: str, year: int) -> Response:
    page = engine().public.rt_year(code, year)
    canonical = url_for("public.rt_year", code=code, year=year, _external=True)
    return _page("public_year.html", page=page, canonical=canonical)


def _page(template: str, status: int = 200, **context: Any) -> Response:
    """A public page rendered with ``context`` and the page helpers only: not through
    ``render_template``, whose context processors hand every template the signed-in user
    and a CSRF form (and making that form starts a session, which is a cookie)."""
    language = current_language()
    body = current_app.jinja_env.get_template(f"rukun/{template}").render(
        status=status,
        language=language,
        other_language="en" if language == "id" else "id",
        link=_link,
        here=_here,
        day=_day,
        kilobytes=_kilobytes,
        **context,
    )
    return Response(body, status, mimetype="text/html")


def _link(endpoint: str, **values: Any) -> str:
    """The URL of a public page in the current language (Indonesian needs no parameter)."""
    return _in_language(endpoint, current_language(), values)


def _here(language: str) -> str:
    """This page in ``language`` (the short URL's at its long one)."""
    endpoint = request.endpoint or "public.index"
    endpoint = "public.rt_year" if endpoint == "public.short" else endpoint
    return _in_language(endpoint, language, dict(request.view_args or {}))


def _in_language(endpoint: str, language: str, values: dict[str, Any]) -> str:
    if language != "id":
        values["lang"] = language
    return url_for(endpoint, **values)


def _day(moment: dt.datetime) -> str:
    """The date in Central Indonesian Time (WITA), as the page's language writes it."""
    return str(format_date(moment.astimezone(WITA).date(), "medium"))


def _kilobytes(size: int) -> int:
    return max(1, round(size / 1024))
