"""`IsoFlow`: the Flask extension that mounts the engine on an application."""
from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from typing import Callable

from flask import Flask, request, session
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from api.auth import SESSION_USER_KEY, current_actor
from engine.config import Settings, secure_cookies_from_env
from engine.runtime import Runtime

log = logging.getLogger("isoflow.api")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
API_PREFIX = "/api"
SESSION_LIFETIME = timedelta(hours=9)  # one working day
MAX_BODY_BYTES = 8 * 1024 * 1024  # the largest BPMN upload; larger bodies answer 413 unread
def _default(cfg, key: str, value) -> None:
    if key not in cfg or cfg[key] == Flask.default_config.get(key):
        cfg[key] = value


class IsoFlow:
    """Mount the engine: runtime, REST API, authentication, CSRF and problem+json errors."""

    def __init__(self, app: Flask | None = None, *, runtime: Runtime | None = None) -> None:
        self.runtime: Runtime | None = runtime
        self.api = None
        self.csrf = CSRFProtect()
        self.csrf_exempt_endpoints: set[str] = set()
        self.anonymous_endpoints: set[str] = set()
        self.public_lookup_limiter = None
        if app is not None:
            self.init_app(app, runtime=runtime)

    def init_app(self, app: Flask, *, runtime: Runtime | None = None) -> None:
        from api import auth, edge, errors, health
        from api.openapi import build_api
        from api.resources import register_resources
        from engine.services.throttle import RateLimiter

        self._configure(app)
        edge.register(app)  # first: the bounded <int> converter must exist before any route
        if runtime is not None:
            self.runtime = runtime
        if self.runtime is None:
            settings = Settings.from_env()
            url = app.config.get("DATABASE_URL") or settings.database_url
            self.runtime = Runtime.from_settings(
                Settings(database_url=url, bpmn_dir=settings.bpmn_dir, trusted_scripts=settings.trusted_scripts,
                         secret_key=app.config.get("SECRET_KEY"),
                         read_database_url=app.config.get("READ_DATABASE_URL") or settings.read_database_url))
        app.extensions["isoflow"] = self
        self.public_lookup_limiter = RateLimiter(app.config["PUBLIC_LOOKUP_LIMITS"])
        self.csrf.init_app(app)
        app.before_request(self._protect_from_csrf)
        errors.register(app)
        auth.register(app)
        app.register_blueprint(health.blueprint)
        self.api = build_api(app)
        register_resources(self.api, self)
        if app.config.get("PROXY_FIX_X_FOR"):
            app.wsgi_app = ProxyFix(app.wsgi_app, x_for=int(app.config["PROXY_FIX_X_FOR"]))

    def _configure(self, app: Flask) -> None:
        settings = Settings.from_env()
        cfg = app.config
        if not cfg.get("SECRET_KEY"):
            cfg["SECRET_KEY"] = settings.secret_key or secrets.token_hex(32)
            if not settings.secret_key and not cfg.get("TESTING"):
                log.warning("ISOFLOW_SECRET_KEY is not set: sessions end when this process restarts")
        # Flask fills these keys with its own defaults, so `setdefault` would never apply
        # ours: a value still equal to Flask's default is replaced, one the application
        # chose is kept.
        _default(cfg, "SESSION_COOKIE_NAME", "isoflow_session")
        _default(cfg, "SESSION_COOKIE_HTTPONLY", True)
        _default(cfg, "SESSION_COOKIE_SAMESITE", "Lax")
        _default(cfg, "SESSION_COOKIE_SECURE", secure_cookies_from_env())
        _default(cfg, "PERMANENT_SESSION_LIFETIME", SESSION_LIFETIME)
        _default(cfg, "MAX_CONTENT_LENGTH", MAX_BODY_BYTES)
        # CSRF is checked by `_protect_from_csrf` (browser sessions only, not bearer tokens).
        cfg.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
        cfg.setdefault("WTF_CSRF_TIME_LIMIT", None)  # valid as long as the session
        cfg.setdefault("WTF_CSRF_SSL_STRICT", False)  # SameSite cookies already bind the origin
        cfg.setdefault("PUBLIC_LOOKUP_LIMITS", "10/minute;60/hour")

    def exempt_from_csrf(self, view: Callable) -> Callable:
        """Mark a view that authenticates by itself (password grant, public lookup)."""
        self.csrf_exempt_endpoints.add(f"{view.__module__}.{view.__qualname__}")
        return view

    def allow_anonymous(self, view: Callable) -> Callable:
        """Mark an API view anyone may call unsafely without a session (login): it still
        checks CSRF, and an anonymous call is not answered 401 beforehand."""
        self.anonymous_endpoints.add(f"{view.__module__}.{view.__qualname__}")
        return view

    def _protect_from_csrf(self) -> None:
        if request.method in SAFE_METHODS or request.routing_exception is not None:
            return  # reads, and unknown paths or methods (404/405 come first)
        view = request.url_rule and request.endpoint and _view_name()
        if view in self.csrf_exempt_endpoints:
            return
        if "Authorization" in request.headers:
            current_actor()  # a valid bearer token, or 401: only then is CSRF moot (no cookie to ride on)
            return
        if (request.path.startswith(API_PREFIX) and view not in self.anonymous_endpoints
                and session.get(SESSION_USER_KEY) is None):
            current_actor()  # nobody is logged in: 401 with WWW-Authenticate, as for reads
        self.csrf.protect()


def _view_name() -> str | None:
    from flask import current_app

    function = current_app.view_functions.get(request.endpoint)
    if function is None:
        return None
    function = getattr(function, "view_class", function)
    return f"{function.__module__}.{function.__qualname__}"
