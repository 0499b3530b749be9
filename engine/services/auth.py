"""Who is calling: password logins (throttled and audited) and API bearer tokens.

Login throttling reads the event log itself: every failed login is an audited event
(`auth.login_failed`), so counting the recent ones per username and per source
address gives a limit that holds across worker processes and restarts, uses the
injected clock, and needs no extra table. Throttled attempts are refused before any
password is checked and are not logged again (a flood must not grow the log).
"""
from __future__ import annotations

from contextlib import nullcontext

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select, update

from engine.audit import Actor
from engine.adapters.db.direct import DirectStatement
from engine.adapters.db.models import ApiToken, Event, User
from engine.errors import InvalidInput, NotFound, Problem, TooManyAttempts, Unauthenticated
from engine.security import dummy_password_hash, new_token, token_digest, verify_password

LOGIN_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_USERNAME = 5
MAX_FAILURES_PER_ADDRESS = 30
LOGIN_FAILED = "auth.login_failed"
MAX_TOKEN_LIFETIME = timedelta(days=366)
# Writing last_used_at on every request would turn each read into a write.
TOKEN_USE_RESOLUTION = timedelta(minutes=5)


@dataclass(frozen=True)
class LoggedIn:
    user_id: int
    username: str
    full_name: str


@dataclass(frozen=True)
class IssuedToken:
    token_id: int
    token: str  # shown once; only its digest is stored
    name: str
    expires_at: datetime


@dataclass(frozen=True)
class TokenView:
    token_id: int
    name: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


def _bad_credentials() -> Unauthenticated:
    return Unauthenticated("wrong username or password", "sai tên đăng nhập hoặc mật khẩu",
                           code="bad_credentials", hint="check the keyboard layout (Telex/VNI) and caps lock")


def login(rt, *, username: str, password: str, source_address: str | None, via: str = "session") -> LoggedIn:
    """Check a username and password; every outcome is an audited event."""
    username = (username or "").strip()
    problems = []
    if not username:
        problems.append(Problem("required", "Phải nhập tên đăng nhập.", "The username is required.", field="username"))
    if not password:
        problems.append(Problem("required", "Phải nhập mật khẩu.", "The password is required.", field="password"))
    if problems:
        raise InvalidInput("username and password are required", "phải nhập tên đăng nhập và mật khẩu",
                           problems=problems)
    anonymous = Actor(None, "anonymous", source_address)
    with rt.unit_of_work(anonymous) as uow:
        s = uow.session
        _check_throttle(s, uow.now, username, source_address)
        user = s.scalar(select(User).where(User.username == username))
        ok = verify_password(user.password_hash if user is not None else dummy_password_hash(), password)
        if user is None or not ok or not user.active:
            reason = "unknown_user" if user is None else ("bad_password" if not ok else "inactive")
            uow.log(LOGIN_FAILED, "login", username.lower()[:64], org_unit_id=user.home_org_unit_id if user else None,
                    after={"username": username[:64], "reason": reason, "via": via})
            uow.commit()
            raise _bad_credentials()
        uow.actor = Actor(user.id, user.username, source_address)
        uow.log("auth.login", "user", user.id, org_unit_id=user.home_org_unit_id, after={"via": via})
        uow.commit()
        return LoggedIn(user.id, user.username, user.full_name)


def _check_throttle(session, now: datetime, username: str, source_address: str | None) -> None:
    since = now - LOGIN_WINDOW
    recent = select(func.count(), func.min(Event.at)).where(Event.kind == LOGIN_FAILED, Event.at > since)
    count, oldest = session.execute(recent.where(Event.entity_type == "login",
                                                 Event.entity_id == username.lower()[:64])).one()
    limit = MAX_FAILURES_PER_USERNAME
    if count < limit and source_address:
        count, oldest = session.execute(recent.where(Event.source_address == source_address)).one()
        limit = MAX_FAILURES_PER_ADDRESS
    if count >= limit:
        retry = int(((oldest + LOGIN_WINDOW) - now).total_seconds()) + 1 if oldest else int(LOGIN_WINDOW.total_seconds())
        raise TooManyAttempts(
            f"too many failed logins; try again in {retry} seconds",
            f"đăng nhập sai quá nhiều lần; hãy thử lại sau {retry} giây",
            retry_after=retry, hint="ask the administrator to reset the password if you forgot it")


# Checked on every request: statements built once, run on a plain connection.
_SESSION_USER = select(User.username, User.active).where(User.id == bindparam("user_id"))
_TOKEN_OWNER = DirectStatement(
    select(ApiToken.id, ApiToken.user_id, ApiToken.expires_at, ApiToken.revoked_at, ApiToken.last_used_at,
           User.username, User.active)
    .join(User, User.id == ApiToken.user_id).where(ApiToken.token_hash == bindparam("digest"))
)
_TOKEN_USED = update(ApiToken).where(ApiToken.id == bindparam("token_id")).values(last_used_at=bindparam("now"))


def session_actor(rt, user_id: int, source_address: str | None, *, unit=None) -> Actor:
    """The actor of a browser session, as long as the user is still active; read in
    `unit` when given (a page's read unit, so the page is served from one connection)."""
    with (nullcontext(unit) if unit is not None else rt.read(Actor(user_id, "session", source_address))) as reading:
        row = reading.connection.execute(_SESSION_USER, {"user_id": user_id}).one_or_none()
    if row is None or not row.active:
        raise Unauthenticated("your session has ended; log in again", "phiên làm việc đã kết thúc; hãy đăng nhập lại",
                              code="session_ended")
    return Actor(user_id, row.username, source_address)


def issue_token(rt, actor: Actor, *, name: str, lifetime: timedelta) -> IssuedToken:
    """A bearer token for the acting user (an API client acts as that user)."""
    name = (name or "").strip()
    problems = []
    if not name or len(name) > 100:
        problems.append(Problem("bad_name", "Tên token phải có từ 1 đến 100 ký tự.",
                                "The token name must have 1 to 100 characters.", field="name"))
    if lifetime <= timedelta(0) or lifetime > MAX_TOKEN_LIFETIME:
        problems.append(Problem("bad_lifetime", "Thời hạn token phải từ 1 đến 366 ngày.",
                                "The token lifetime must be 1 to 366 days.", field="expires_in_days"))
    if problems:
        raise InvalidInput("the token cannot be issued as asked", "không thể cấp token như yêu cầu", problems=problems)
    if actor.user_id is None:
        raise Unauthenticated("log in first", "hãy đăng nhập trước")
    secret = new_token()
    with rt.unit_of_work(actor) as uow:
        row = ApiToken(user_id=actor.user_id, name=name, token_hash=token_digest(secret), created_at=uow.now,
                       expires_at=uow.now + lifetime)
        uow.session.add(row)
        uow.session.flush()
        uow.log("auth.token_issued", "api_token", row.id, after={"name": name, "expires_at": row.expires_at})
        uow.commit()
        return IssuedToken(row.id, secret, name, row.expires_at)


def token_actor(rt, token: str, source_address: str | None, *, unit=None) -> Actor:
    """The actor a bearer token stands for; expired, revoked or unknown tokens are refused
    alike. Read in `unit` when given (an API read's unit, so the request is served from
    one connection)."""
    refused = Unauthenticated("the access token is invalid, expired or revoked",
                              "token truy cập không hợp lệ, đã hết hạn hoặc đã bị thu hồi", code="bad_token",
                              hint="issue a new token with POST /api/auth/tokens")
    if not token or len(token) > 200:
        raise refused
    caller = Actor(None, "bearer token", source_address)
    if unit is not None:
        now, row = unit.now, _TOKEN_OWNER.first(unit.connection, {"digest": token_digest(token)})
    else:  # one statement alone: a write checks its caller before its own unit of work
        now, row = rt.clock.now(), rt.db.read_one(_TOKEN_OWNER, {"digest": token_digest(token)})
    if row is None or row.revoked_at is not None or row.expires_at <= now or not row.active:
        raise refused
    if row.last_used_at is None or now - row.last_used_at > TOKEN_USE_RESOLUTION:
        # written at most once per resolution, so most requests only read
        with rt.unit_of_work(caller) as uow:
            uow.connection.execute(_TOKEN_USED, {"token_id": row.id, "now": now})
            uow.commit()
    return Actor(row.user_id, row.username, source_address)


def list_tokens(rt, actor: Actor) -> list[TokenView]:
    with rt.read(actor) as unit:
        rows = unit.session.scalars(select(ApiToken).where(ApiToken.user_id == actor.user_id).order_by(ApiToken.id)).all()
        return [TokenView(r.id, r.name, r.created_at, r.expires_at, r.revoked_at, r.last_used_at) for r in rows]


def revoke_token(rt, actor: Actor, token_id: int) -> TokenView:
    """Revoke one of the acting user's own tokens (deactivating a user revokes all of theirs)."""
    with rt.unit_of_work(actor) as uow:
        row = uow.session.get(ApiToken, token_id)
        if row is None or row.user_id != actor.user_id:
            raise NotFound(f"token {token_id} not found", f"không tìm thấy token {token_id}", code="not_found")
        if row.revoked_at is None:
            row.revoked_at = uow.now
            uow.log("auth.token_revoked", "api_token", row.id, before={"revoked_at": None},
                    after={"revoked_at": uow.now})
            uow.commit()
        return TokenView(row.id, row.name, row.created_at, row.expires_at, row.revoked_at, row.last_used_at)


def log_logout(rt, actor: Actor) -> None:
    with rt.unit_of_work(actor) as uow:
        uow.log("auth.logout", "user", actor.user_id or 0)
        uow.commit()
