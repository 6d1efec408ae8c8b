"""HTTP hardening of the operator UI: session cookies, idle sign-out, trusted proxies and
the security headers of every response.

The headers are a handful of constant strings set in one ``after_request`` hook; a view
that needs its own policy (a stored document, an SVG chart) sets the header itself and the
hook leaves it alone.
"""

from __future__ import annotations

import secrets
import time
from datetime import timedelta
from typing import Any

from flask import Flask, current_app, flash, g, has_request_context, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext
from flask_login import logout_user
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response

from engine.settings import Settings

#: The session key holding when the session was last used (Unix seconds), and how often
#: it is written again at most (seconds).
LAST_SEEN = "_seen"
SEEN_EVERY = 60
#: The session cookie outlives the idle limit by this much, so that a user coming back
#: late is told they were signed out for being idle (the server enforces the limit).
COOKIE_GRACE = timedelta(hours=12)
#: No script but our own files; no inline script or style attribute. Inline <style> needs
#: the page's nonce (only the studio's code editor injects one).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'{nonce}; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
#: A stored document is data, never a page: nothing loads, scripts never run.
DOCUMENT_POLICY = "default-src 'none'; sandbox; frame-ancestors 'none'"
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",  # the language switch returns to the referring page
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}
HSTS = "max-age=31536000"
STATIC_ENDPOINTS = frozenset({"static", "admin.static"})
#: Blueprints that never use the session: nothing of theirs reads or rewrites the cookie
#: (the API acts on bearer tokens alone; the public pages are for anyone).
SESSIONLESS = frozenset({"api", "api-docs", "public"})
#: … and the URLs under the API's prefix that none of its routes matches.
SESSIONLESS_PATHS = ("/api/",)


def session_config(settings: Settings) -> dict[str, Any]:
    """Flask configuration for the installation's cookie, idle and CSRF settings."""
    return {
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": settings.secure_cookies,
        "PERMANENT_SESSION_LIFETIME": timedelta(minutes=settings.idle_minutes) + COOKIE_GRACE,
        # the cookie is sent again only when the session changed (see sign_out_when_idle)
        "SESSION_REFRESH_EACH_REQUEST": False,
        "WTF_CSRF_TIME_LIMIT": settings.csrf_minutes * 60,
        "RUKUN_IDLE_SECONDS": settings.idle_minutes * 60,
        "RUKUN_PROXY_COUNT": settings.proxy_count,
        "RUKUN_HSTS": settings.secure_cookies,
    }


class SessionCookies(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, marked ``Secure`` also on any request that came over
    HTTPS (directly, or through a trusted proxy's ``X-Forwarded-Proto``)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return super().get_cookie_secure(app) or (has_request_context() and request.is_secure)


def init_app(app: Flask) -> None:
    """Install the session interface, the proxy fix, the idle limit and the headers."""
    app.session_interface = SessionCookies()
    hops = int(app.config["RUKUN_PROXY_COUNT"])
    if hops:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops
        )
    app.before_request(sign_out_when_idle)
    app.after_request(security_headers)
    app.jinja_env.globals["csp_nonce"] = csp_nonce


def sign_out_when_idle() -> None:
    """Sign out a session unused for longer than the idle limit (the login page then says
    why); every other request counts as use."""
    if (
        request.endpoint in STATIC_ENDPOINTS
        or request.blueprint in SESSIONLESS
        or request.path.startswith(SESSIONLESS_PATHS)
    ):
        return
    now = int(time.time())
    seen = session.get(LAST_SEEN)
    limit = int(current_app.config["RUKUN_IDLE_SECONDS"])
    # Flask-Login's key for the signed-in user: read as is, so no request loads the user
    # from the database just for this check
    if "_user_id" in session and (not isinstance(seen, int) or now - seen > limit):
        logout_user()
        message = gettext(
            "Anda dikeluarkan karena tidak aktif selama %(minutes)s menit. Silakan masuk lagi.",
            minutes=max(1, limit // 60),
        )
        flash(message)
    # The session is a cookie: a response that rewrites it can undo what a concurrent one
    # wrote (a live guard check answering after a form's "saved" message would drop the
    # message). So it is rewritten only when something changed, and its "last used" time
    # at most once a minute (the idle limit is kept to within that minute).
    if not session.permanent:
        session.permanent = True
    if not isinstance(seen, int) or now - seen >= SEEN_EVERY:
        session[LAST_SEEN] = now


def csp_nonce() -> str:
    """This response's nonce for an inline ``<style>`` that a script of ours injects."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    nonce: str = g.csp_nonce
    return nonce


def security_headers(response: Response) -> Response:
    """The headers of every response; a policy the view set itself is kept."""
    nonce = f" 'nonce-{g.csp_nonce}'" if "csp_nonce" in g else ""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY.format(nonce=nonce))
    for name, value in HEADERS.items():
        headers.setdefault(name, value)
    if current_app.config["RUKUN_HSTS"]:
        headers.setdefault("Strict-Transport-Security", HSTS)
    return response
