"""Org units, users, role assignments (rotation), delegation (leave) and deactivation."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import RAISE, fields, validate

from api.auth import current_actor, runtime
from api.schemas import Day, Instant, PageArgs, PageMeta, PageOf, Schema, page_of, whole_list
from engine.domain.roles import ROLES
from engine.services import people

blp = Blueprint("people", __name__, url_prefix="/api", description="Org units, users, roles and delegation")

CODE = validate.Regexp(r"^[A-Za-z0-9_-]{1,32}$", error="letters, digits, '-' or '_' (at most 32)")
ID = validate.Range(1, 2**31 - 1)


class UnitSchema(Schema):
    unit_id = fields.Integer(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    parent_code = fields.String(allow_none=True)
    category = fields.String(required=True)
    address = fields.String(required=True)
    active = fields.Boolean(required=True)


class UnitCreateSchema(Schema):
    code = fields.String(required=True, validate=CODE)
    name = fields.String(required=True, validate=validate.Length(1, 200))
    parent_code = fields.String(required=True, validate=CODE)
    category = fields.String(load_default="normal", validate=validate.OneOf(["normal", "mountainous"]))
    address = fields.String(load_default="", validate=validate.Length(0, 300))


class AssignmentSchema(Schema):
    assignment_id = fields.Integer(required=True)
    user_id = fields.Integer(required=True)
    username = fields.String(required=True)
    unit_code = fields.String(required=True)
    role = fields.String(required=True)
    valid_from = Day(required=True)
    valid_to = Day(allow_none=True)
    valid_today = fields.Boolean(required=True)


class DelegationSchema(Schema):
    delegation_id = fields.Integer(required=True)
    principal_id = fields.Integer(required=True)
    principal_username = fields.String(required=True)
    delegate_id = fields.Integer(required=True)
    delegate_username = fields.String(required=True)
    valid_from = Day(required=True)
    valid_to = Day(required=True)
    reason = fields.String(required=True)
    revoked = fields.Boolean(required=True)


class UserSchema(Schema):
    user_id = fields.Integer(required=True)
    username = fields.String(required=True)
    full_name = fields.String(required=True)
    email = fields.String(allow_none=True)
    active = fields.Boolean(required=True)
    home_unit_code = fields.String(allow_none=True)
    assignments = fields.List(fields.Nested(AssignmentSchema), required=True)
    delegations = fields.List(fields.Nested(DelegationSchema), required=True)


class UserPageSchema(Schema):
    items = fields.List(fields.Nested(UserSchema), required=True)
    page = fields.Nested(PageMeta, required=True)


class UserListArgs(PageArgs):
    unit_code = fields.String(validate=CODE)
    q = fields.String(validate=validate.Length(1, 100), metadata={"description": "part of username or full name"})
    active = fields.Boolean()


class UserCreateSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(1, 64))
    full_name = fields.String(required=True, validate=validate.Length(1, 200))
    password = fields.String(required=True, load_only=True, validate=validate.Length(1, 1024))
    home_unit_code = fields.String(required=True, validate=CODE)
    email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(0, 254))


class AssignmentCreateSchema(Schema):
    unit_code = fields.String(required=True, validate=CODE)
    role = fields.String(required=True, validate=validate.OneOf(sorted(ROLES)))
    valid_from = Day(required=True)
    valid_to = Day(load_default=None, allow_none=True, metadata={"description": "last day held; empty = open"})


class AssignmentEndSchema(Schema):
    valid_to = Day(required=True, metadata={"description": "last day the role is held"})


class DelegationCreateSchema(Schema):
    principal_id = fields.Integer(required=True, validate=ID, metadata={"description": "the user on leave"})
    delegate_id = fields.Integer(required=True, validate=ID, metadata={"description": "who acts for them"})
    valid_from = Day(required=True)
    valid_to = Day(required=True)
    reason = fields.String(load_default="", validate=validate.Length(0, 300))


class DeactivateSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(1, 1000))


class OpenTaskSchema(Schema):
    task_id = fields.Integer(required=True)
    dossier_code = fields.String(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True)
    unit_code = fields.String(required=True)
    due_at = Instant(allow_none=True)


class DeactivationSchema(Schema):
    user_id = fields.Integer(required=True)
    revoked_tokens = fields.Integer(required=True)
    open_tasks = fields.List(fields.Nested(OpenTaskSchema), required=True,
                             metadata={"description": "reassign each with POST /api/tasks/{task_id}/reassign"})


@blp.get("/org-units")
@blp.arguments(PageArgs, location="query", unknown=RAISE)
@blp.response(200, PageOf(UnitSchema, "UnitPage"))
def list_units(args):
    """The org units the caller holds a role in (a province role covers its communes):
    the province first, then communes by code."""
    units = people.list_units(runtime(), current_actor())
    return page_of(units[args["offset"]:args["offset"] + args["limit"]], args["limit"], args["offset"], len(units))


@blp.post("/org-units")
@blp.arguments(UnitCreateSchema)
@blp.response(201, UnitSchema)
def create_unit(body):
    """Add a commune to a province (users.manage in the province; audited)."""
    return people.create_unit(runtime(), current_actor(), **body)


@blp.get("/users")
@blp.arguments(UserListArgs, location="query", unknown=RAISE)
@blp.response(200, UserPageSchema)
def list_users(args):
    """Users of the units whose people the caller reads (users.view: the unit's staff, the
    province administration; not the ISO consultant, who gets 403), by username."""
    limit, offset = args.pop("limit"), args.pop("offset")
    items, total = people.list_users(runtime(), current_actor(), unit_code=args.get("unit_code"),
                                     query=args.get("q"), active=args.get("active"), limit=limit, offset=offset)
    return {"items": items, "page": {"limit": limit, "offset": offset, "total": total}}


@blp.post("/users")
@blp.arguments(UserCreateSchema)
@blp.response(201, UserSchema)
def create_user(body):
    """Create a user in a unit (users.manage there; audited). The password is stored as an argon2id hash."""
    return people.create_user(runtime(), current_actor(), **body)


@blp.get("/users/<int(min=1, max=2147483647):user_id>")
@blp.response(200, UserSchema)
def get_user(user_id: int):
    """A user with their role assignments (those held in units the caller reads) and delegations."""
    return people.get_user(runtime(), current_actor(), user_id)


@blp.post("/users/<int(min=1, max=2147483647):user_id>/assignments")
@blp.arguments(AssignmentCreateSchema)
@blp.response(201, AssignmentSchema)
def assign_role(body, user_id: int):
    """Give a user a role in a unit for a period (rotation; audited)."""
    return people.assign_role(runtime(), current_actor(), user_id=user_id, **body)


@blp.post("/assignments/<int(min=1, max=2147483647):assignment_id>/end")
@blp.arguments(AssignmentEndSchema)
@blp.response(200, AssignmentSchema)
def end_assignment(body, assignment_id: int):
    """End a role assignment on a day (rotation; audited)."""
    return people.end_assignment(runtime(), current_actor(), assignment_id, body["valid_to"])


@blp.post("/delegations")
@blp.arguments(DelegationCreateSchema)
@blp.response(201, DelegationSchema)
def create_delegation(body):
    """Let a colleague act for a user during leave (the user themselves, or a manager; audited)."""
    return people.delegate(runtime(), current_actor(), **body)


@blp.post("/delegations/<int(min=1, max=2147483647):delegation_id>/revoke")
@blp.response(200, DelegationSchema)
def revoke_delegation(delegation_id: int):
    """End a delegation now (audited)."""
    return people.revoke_delegation(runtime(), current_actor(), delegation_id)


@blp.get("/users/<int(min=1, max=2147483647):user_id>/open-tasks")
@blp.response(200, PageOf(OpenTaskSchema, "OpenTaskPage"))
def open_tasks(user_id: int):
    """Open steps assigned to a user, by due instant (to reassign during leave or after
    departure): only the steps of communes whose dossiers the caller may view."""
    return whole_list(people.open_tasks_of(runtime(), current_actor(), user_id))


@blp.post("/users/<int(min=1, max=2147483647):user_id>/deactivate")
@blp.arguments(DeactivateSchema)
@blp.response(200, DeactivationSchema)
def deactivate(body, user_id: int):
    """Deactivate a user: sessions and tokens stop working; their open tasks are listed for reassignment."""
    return people.deactivate_user(runtime(), current_actor(), user_id, body["reason"])
