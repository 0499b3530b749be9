"""Authentication: browser sessions (login/logout, CSRF token), bearer tokens, who am I."""
from __future__ import annotations

from datetime import timedelta

from flask_smorest import Blueprint
from flask_wtf.csrf import generate_csrf
from marshmallow import RAISE, fields, validate

from api.auth import (
    current_actor,
    end_session,
    optional_actor,
    runtime,
    source_address,
    start_session,
)
from api.schemas import Instant, PageArgs, PageOf, Schema, page_of
from engine.audit import Actor
from engine.services import auth as auth_service
from engine.services import people

blp = Blueprint("auth", __name__, url_prefix="/api/auth", description="Sessions, CSRF and bearer tokens")


class LoginSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(1, 64))
    password = fields.String(required=True, validate=validate.Length(1, 1024), load_only=True)


class CsrfSchema(Schema):
    csrf_token = fields.String(required=True, metadata={"description": "send as the X-CSRFToken header"})


class RoleSchema(Schema):
    unit_code = fields.String(required=True)
    unit_name = fields.String(required=True)
    role = fields.String(required=True)
    role_name_vi = fields.String(required=True)
    role_name_en = fields.String(required=True)
    delegated_from = fields.String(allow_none=True, metadata={"description": "username acted for, when delegated"})


class MeSchema(Schema):
    user_id = fields.Integer(required=True)
    username = fields.String(required=True)
    full_name = fields.String(required=True)
    home_unit_code = fields.String(allow_none=True)
    roles = fields.List(fields.Nested(RoleSchema), required=True)
    csrf_token = fields.String(metadata={"description": "present for browser sessions"})


class TokenRequestSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(1, 64))
    password = fields.String(required=True, validate=validate.Length(1, 1024), load_only=True)
    name = fields.String(required=True, validate=validate.Length(1, 100),
                         metadata={"description": "what the token is for, e.g. 'national portal sync'"})
    expires_in_days = fields.Integer(load_default=30, validate=validate.Range(1, 366))


class TokenSchema(Schema):
    token_id = fields.Integer(required=True)
    name = fields.String(required=True)
    created_at = Instant(required=True)
    expires_at = Instant(required=True)
    revoked_at = Instant(allow_none=True)
    last_used_at = Instant(allow_none=True)


class IssuedTokenSchema(Schema):
    token_id = fields.Integer(required=True)
    token = fields.String(required=True, metadata={"description": "shown once; send as 'Authorization: Bearer <token>'"})
    name = fields.String(required=True)
    expires_at = Instant(required=True)


def _me(user_id: int, with_csrf: bool) -> dict:
    me = people.whoami(runtime(), current_actor())
    out = {
        "user_id": me.user_id, "username": me.username, "full_name": me.full_name,
        "home_unit_code": me.home_unit_code,
        "roles": [r.__dict__ for r in me.roles],
    }
    if with_csrf:
        out["csrf_token"] = generate_csrf()
    return out


@blp.get("/csrf")
@blp.response(200, CsrfSchema)
@blp.doc(security=[])
def csrf_token():
    """A CSRF token for this browser session (send it as X-CSRFToken on POST/PUT/PATCH/DELETE)."""
    return {"csrf_token": generate_csrf()}


@blp.post("/login")
@blp.arguments(LoginSchema)
@blp.response(200, MeSchema)
@blp.doc(security=[])
def login(body):
    """Open a browser session. Failed logins are audited and throttled per username and address."""
    user = auth_service.login(runtime(), username=body["username"], password=body["password"],
                              source_address=source_address(), via="session")
    start_session(user.user_id)
    return _me(user.user_id, with_csrf=True)


@blp.post("/logout")
@blp.response(204)
def logout():
    """Close the browser session."""
    actor = optional_actor()
    if actor is not None:
        auth_service.log_logout(runtime(), actor)
    end_session()


@blp.get("/me")
@blp.response(200, MeSchema)
def me():
    """The calling user and the roles valid today (own and delegated), per org unit."""
    actor = current_actor()
    return _me(actor.user_id, with_csrf=False)


@blp.post("/tokens")
@blp.arguments(TokenRequestSchema)
@blp.response(201, IssuedTokenSchema)
@blp.doc(security=[])
def issue_token(body):
    """Issue a bearer token for an API client (password grant; throttled like a login)."""
    user = auth_service.login(runtime(), username=body["username"], password=body["password"],
                              source_address=source_address(), via="token")
    actor = Actor(user.user_id, user.username, source_address())
    issued = auth_service.issue_token(runtime(), actor, name=body["name"],
                                      lifetime=timedelta(days=body["expires_in_days"]))
    return issued.__dict__


@blp.get("/tokens")
@blp.arguments(PageArgs, location="query", unknown=RAISE)
@blp.response(200, PageOf(TokenSchema, "TokenPage"))
def list_tokens(args):
    """The calling user's tokens, oldest first (never their secrets)."""
    tokens = auth_service.list_tokens(runtime(), current_actor())
    return page_of(tokens[args["offset"]:args["offset"] + args["limit"]], args["limit"], args["offset"], len(tokens))


@blp.delete("/tokens/<int(min=1, max=2147483647):token_id>")
@blp.response(200, TokenSchema)
def revoke_token(token_id: int):
    """Revoke one of the calling user's tokens."""
    return auth_service.revoke_token(runtime(), current_actor(), token_id).__dict__


def setup(extension) -> None:
    extension.exempt_from_csrf(issue_token)
    extension.allow_anonymous(login)
