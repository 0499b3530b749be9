"""Who is calling: a browser session (cookie + CSRF) or a bearer token.

`current_actor()` gives the engine `Actor` of the request, with its source address,
or raises `Unauthenticated` (401). Views never look at credentials themselves.
"""
from __future__ import annotations

from flask import Flask, current_app, g, request, session

from engine.audit import Actor
from engine.errors import Unauthenticated
from engine.services import auth as auth_service

SESSION_USER_KEY = "isoflow_user_id"


def runtime():
    return current_app.extensions["isoflow"].runtime


def source_address() -> str | None:
    return (request.remote_addr or None) and request.remote_addr[:64]


def bearer_token() -> str | None:
    header = request.headers.get("Authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("the Authorization header must be 'Bearer <token>'",
                              "tiêu đề Authorization phải có dạng 'Bearer <token>'", code="bad_authorization",
                              hint="issue a token with POST /api/auth/tokens")
    return token.strip()


def current_actor() -> Actor:
    """The authenticated actor of this request (cached per request)."""
    actor = g.get("isoflow_actor")
    if actor is not None:
        return actor
    token = bearer_token()
    if token is not None:
        unit = _request_unit(None) if g.get("isoflow_one_read") else None
        actor = auth_service.token_actor(runtime(), token, source_address(), unit=unit)
        if unit is not None:
            unit.actor = actor
    elif session.get(SESSION_USER_KEY) is not None:
        user_id = int(session[SESSION_USER_KEY])
        unit = _request_unit(user_id) if g.get("isoflow_one_read") else None
        try:
            actor = auth_service.session_actor(runtime(), user_id, source_address(), unit=unit)
        except Unauthenticated:
            session.clear()
            raise
        if unit is not None:
            unit.actor = actor
    else:
        raise Unauthenticated("log in first", "bạn cần đăng nhập", code="unauthenticated",
                              hint="POST /api/auth/login for a browser session, or send 'Authorization: Bearer <token>'")
    g.isoflow_actor = actor
    return actor


def serve_reads_in_one_unit() -> None:
    """For this request (a web page, an API read), authentication and every view read
    from one read-only unit: one connection, one snapshot (`request_unit`)."""
    g.isoflow_one_read = True


def read_unit():
    """For an API read served from the primary (a user's lists, a dossier): the token
    or session check and the view share one read-only unit, so the request checks out
    one connection and runs one transaction. Reports keep `runtime()` (a replica when
    configured)."""
    serve_reads_in_one_unit()
    return request_unit()


def request_unit():
    """The request's read-only unit of work (opened on first use, closed at teardown),
    for the authenticated actor."""
    unit = g.get("isoflow_unit")
    if unit is None:
        actor = current_actor()
        unit = g.get("isoflow_unit") or _request_unit(actor.user_id)
        unit.actor = actor
    return unit


def _request_unit(user_id: int | None):
    unit = g.get("isoflow_unit")
    if unit is None:
        unit = runtime().read(Actor(user_id, "request", source_address()))
        unit.__enter__()
        g.isoflow_unit = unit
    return unit


def _close_request_unit(exc: BaseException | None = None) -> None:
    unit = g.pop("isoflow_unit", None)
    if unit is not None:
        unit.__exit__(None, None, None)


def optional_actor() -> Actor | None:
    try:
        return current_actor()
    except Unauthenticated:
        return None


def start_session(user_id: int) -> None:
    session.clear()  # a fresh session on login (no fixation of a pre-login session)
    session.permanent = True
    session[SESSION_USER_KEY] = user_id
    g.pop("isoflow_actor", None)


def end_session() -> None:
    session.clear()
    g.pop("isoflow_actor", None)


def register(app: Flask) -> None:
    app.teardown_request(_close_request_unit)

    @app.context_processor
    def _actor_in_templates():
        return {"isoflow_actor": optional_actor}
