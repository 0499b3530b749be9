"""The HTTP edge of isoflow: a Flask app factory and the `IsoFlow` extension.

`create_app(config)` builds a stand-alone application; another Flask application can
mount the engine with `IsoFlow(app)` or `IsoFlow().init_app(app)`. Either way the
runtime is `current_app.extensions["isoflow"].runtime`, the REST API lives under
`/api/...` (OpenAPI 3 at `/api/openapi.json`, docs at `/api/docs`); `create_app` also
mounts the web pages (`api.web`) at `/`.
"""
from __future__ import annotations

from typing import Any, Mapping

from flask import Flask

from api.extension import IsoFlow
from engine.runtime import Runtime

__all__ = ["IsoFlow", "create_app"]


def create_app(config: Mapping[str, Any] | None = None, *, runtime: Runtime | None = None) -> Flask:
    """Build the application.

    `config` keys (all optional): DATABASE_URL (default $ISOFLOW_DATABASE_URL),
    SECRET_KEY (default $ISOFLOW_SECRET_KEY), TESTING, PUBLIC_LOOKUP_LIMITS
    (e.g. "10/minute;100/hour"), PROXY_FIX_X_FOR (number of trusted proxies), and any
    Flask or flask-smorest setting. A `runtime` may be injected (tests pass one with a
    FixedClock); otherwise one is built from DATABASE_URL.
    """
    app = Flask("isoflow")
    if config:
        app.config.update(config)
    IsoFlow(app, runtime=runtime)
    from api.web import register as register_web_pages  # the pages need the extension's runtime and CSRF

    register_web_pages(app)
    return app
