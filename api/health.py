"""Probes for process managers and load balancers."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from api.errors import problem_response
from engine.adapters.db.migrate import current_revision, head_revision

blueprint = Blueprint("isoflow_health", __name__)


@blueprint.get("/healthz")
def healthz():
    """The process is up and serving requests."""
    return jsonify(status="ok")


@blueprint.get("/readyz")
def readyz():
    """The database is reachable and its schema is at the latest migration."""
    db = current_app.extensions["isoflow"].runtime.db
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        current = current_revision(db.engine)
    except Exception as exc:  # any driver error means "not ready"; say which
        return problem_response(503, code="database_unreachable", message_en=f"database unreachable: {type(exc).__name__}",
                                message_vi="không kết nối được cơ sở dữ liệu", hint="check ISOFLOW_DATABASE_URL")
    head = head_revision(db.url)
    if current != head:
        return problem_response(503, code="migrations_pending",
                                message_en=f"database schema is at {current}, expected {head}",
                                message_vi=f"lược đồ cơ sở dữ liệu ở phiên bản {current}, cần {head}",
                                hint="run: isoflow db upgrade", details={"current": current, "head": head})
    return jsonify(status="ready", revision=current)
