"""Who an API request acts as, and how often a token may call.

The API trusts only ``Authorization: Bearer <token>``: it never reads the session cookie,
so a page in a browser that is signed in to the UI cannot make it act (and the API needs
no CSRF token: a cross-site request cannot set that header without the server's CORS
consent, which the API never gives). Each token has its own budget of requests
(``RUKUN_API_RATE_LIMIT``), counted by :mod:`limits` in ``RUKUN_API_RATE_STORAGE``."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from flask import Flask, Response, current_app, g, request
from limits import RateLimitItem, parse_many, storage, strategies
from werkzeug.exceptions import TooManyRequests

from admin.auth import engine
from engine.errors import InvalidData, Unauthenticated
from engine.runtime.tokens import digest

MISSING = "send the API token as the header 'Authorization: Bearer <token>'"


@dataclass
class RateLimit:
    """The budgets every token has, and where the counts are kept."""

    items: list[RateLimitItem]
    window: strategies.MovingWindowRateLimiter

    @classmethod
    def from_settings(cls, text: str, storage_url: str) -> RateLimit:
        try:
            items = parse_many(text)
        except ValueError as exc:
            raise InvalidData(f"RUKUN_API_RATE_LIMIT {text!r}: {exc}") from exc
        return cls(
            items, strategies.MovingWindowRateLimiter(storage.storage_from_string(storage_url))
        )

    def hit(self, key: str) -> None:
        """Count a request of token ``key``; 429 with ``Retry-After`` when a budget is
        spent (the request is then not counted)."""
        for item in self.items:
            if not self.window.test(item, key):
                reset = self.window.get_window_stats(item, key).reset_time
                wait = max(1, math.ceil(reset - time.time()))
                error = TooManyRequests(f"this token may make {item} requests; retry later")
                error.data = {"headers": {"Retry-After": str(wait)}}  # type: ignore[attr-defined]
                raise error
        for item in self.items:
            self.window.hit(item, key)
        tightest = self.items[0]
        stats = self.window.get_window_stats(tightest, key)
        g.api_rate = (
            tightest.amount,
            stats.remaining,
            max(0, math.ceil(stats.reset_time - time.time())),
        )


def init_app(app: Flask) -> None:
    settings = app.extensions["rukun"].context.settings
    app.extensions["rukun_api_rate"] = RateLimit.from_settings(
        settings.api_rate_limit, settings.api_rate_storage
    )


def authenticate() -> None:
    """The request's user (``g.api_user``) from its bearer token, and its rate counted;
    :class:`Unauthenticated` (401) without a live token."""
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        raise Unauthenticated(MISSING)
    g.api_user = engine().tokens.authenticate(secret)
    key = digest(secret)[:32]  # the token's own: its budget, whoever holds it
    current_app.extensions["rukun_api_rate"].hit(key)


def user() -> str:
    """The name of the user the current API request acts as."""
    name: str = g.api_user
    return name


def rate_headers(response: Response) -> Response:
    """The token's budget on every answer it gets (IETF RateLimit header fields)."""
    rate = g.get("api_rate")
    if rate is not None:
        limit, remaining, reset = rate
        response.headers["RateLimit-Limit"] = str(limit)
        response.headers["RateLimit-Remaining"] = str(remaining)
        response.headers["RateLimit-Reset"] = str(reset)
    return response
