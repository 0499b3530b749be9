"""The flask-smorest `Api`: OpenAPI 3 at /api/openapi.json, Swagger UI at /api/docs
(its assets served from the swagger-ui-bundle package, so no CDN is needed), and every
error response documented as problem+json."""
from __future__ import annotations

import http
from pathlib import Path

from flask import Blueprint, Flask, render_template_string, send_from_directory, url_for
from flask_smorest import Api
from flask_smorest.spec import prepare_response
from swagger_ui_bundle import swagger_ui_path

from api import errors
from api.schemas import ProblemSchema

API_PREFIX = "/api"
ERROR_STATUSES = (400, 401, 403, 404, 405, 409, 413, 415, 422, 429)
OWN_ASSETS = Path(__file__).parent / "docs_assets"
SWAGGER_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<link href="{{ assets }}swagger-ui.css" rel="stylesheet"></head>
<body><div id="swagger-ui-container" data-spec-url="{{ spec_url }}"></div>
<script src="{{ assets }}swagger-ui-bundle.js"></script>
<script src="{{ assets }}isoflow/swagger-init.js"></script>
</body></html>
"""


class IsoflowApi(Api):
    ERROR_SCHEMA = ProblemSchema

    def handle_http_exception(self, error):  # problem+json instead of smorest's own payload
        return errors.from_http_exception(error)

    def _openapi_swagger_ui(self):
        """Swagger UI without flask-smorest's inline script (the CSP forbids inline scripts)."""
        spec_url = url_for(f"{self._make_doc_blueprint_name()}.openapi_json")
        return render_template_string(SWAGGER_PAGE, title=self.spec.title, spec_url=spec_url,
                                      assets=self._swagger_ui_url)

    def _register_responses(self):
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, errors.PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Error (problem+json, RFC 9457)", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, errors.PROBLEM_JSON)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


def build_api(app: Flask) -> IsoflowApi:
    cfg = app.config
    cfg.setdefault("API_TITLE", "isoflow")
    cfg.setdefault("API_VERSION", "1")
    cfg.setdefault("OPENAPI_VERSION", "3.0.3")
    cfg.setdefault("OPENAPI_URL_PREFIX", API_PREFIX)
    cfg.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    cfg.setdefault("OPENAPI_SWAGGER_UI_PATH", "docs")
    cfg.setdefault("OPENAPI_SWAGGER_UI_URL", f"{API_PREFIX}/docs-assets/")
    cfg.setdefault("API_SPEC_OPTIONS", {
        "info": {"description": (
            "ISO 9001 administrative procedures of commune People's Committees. "
            "Authenticate with a browser session (POST /api/auth/login; unsafe methods then need the "
            "X-CSRFToken header from GET /api/auth/csrf) or a bearer token (POST /api/auth/tokens). "
            "Errors are problem+json (RFC 9457) with messages in Vietnamese and English.")},
        "components": {"securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "session": {"type": "apiKey", "in": "cookie", "name": cfg.get("SESSION_COOKIE_NAME", "isoflow_session")},
        }},
        "security": [{"bearer": []}, {"session": []}],
    })
    assets = Blueprint("isoflow_docs_assets", __name__)

    @assets.get(f"{API_PREFIX}/docs-assets/<path:filename>")
    def docs_asset(filename: str):
        return send_from_directory(swagger_ui_path, filename, max_age=86400)

    @assets.get(f"{API_PREFIX}/docs-assets/isoflow/<path:filename>")
    def own_docs_asset(filename: str):
        return send_from_directory(OWN_ASSETS, filename, max_age=3600)

    app.register_blueprint(assets)
    return IsoflowApi(app)
