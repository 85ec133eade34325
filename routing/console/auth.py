"""Console logins: users with a username and a scrypt password hash, mapped to a backend role
(operator, staff, supervisor) and, for staff, a department; server-side sessions.

The session cookie (`console_session`, HttpOnly, SameSite=Lax, Secure in production) holds a
random token; the database keeps its SHA-256, a CSRF token that every form posts back, and the
expiry (CONSOLE_SESSION_HOURS, 12 by default). Logging out deletes the row.

Development (ROUTING_DEV_TOKENS=1, never in production): users `operator`, `staff` (department
ROUTING_DEV_STAFF_DEPARTMENT) and `supervisor` with the password `dev-password` are created at
start-up if missing. Otherwise: `python -m routing.cli create-user`.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Optional

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from routing.auth import Actor
from routing.errors import Invalid
from routing.models import ConsoleSession, ConsoleUser, Department
from routing.settings import Settings
from routing.timeutil import utcnow

CONSOLE_ROLES = ("operator", "staff", "supervisor")
COOKIE = "console_session"
LOGIN_CSRF_COOKIE = "console_login_csrf"
DEV_PASSWORD = "dev-password"
DEV_USERS = (("operator", "开发坐席", "operator"), ("staff", "开发部门人员", "staff"),
             ("supervisor", "开发督办", "supervisor"))
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2 ** 14, 8, 1
MIN_PASSWORD = 8


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32)
    b64 = lambda b: base64.b64encode(b).decode("ascii")  # noqa: E731
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${b64(salt)}${b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r),
                                p=int(p), dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def session_hours() -> float:
    try:
        return float(os.environ.get("CONSOLE_SESSION_HOURS") or 12)
    except ValueError:
        return 12.0


def create_user(session: Session, username: str, password: str, role: str, department_code: Optional[str] = None,
                display_name: Optional[str] = None) -> ConsoleUser:
    """Create the user, or update the password, role and department of an existing one."""
    username = (username or "").strip()
    if not username or len(username) > 64 or any(ch.isspace() for ch in username):
        raise Invalid("用户名不能为空、不能含空格 / a username without blanks is required", "bad_username")
    if role not in CONSOLE_ROLES:
        raise Invalid(f"未知角色 / unknown role: {role} (one of {', '.join(CONSOLE_ROLES)})", "unknown_role")
    if len(password or "") < MIN_PASSWORD:
        raise Invalid(f"密码至少 {MIN_PASSWORD} 位 / the password needs {MIN_PASSWORD}+ characters", "weak_password")
    dept = None
    if department_code:
        dept = session.execute(select(Department).where(Department.code == department_code)).scalar_one_or_none()
        if dept is None:
            raise Invalid(f"未知部门 / unknown department: {department_code}", "unknown_department")
    if role == "staff" and dept is None:
        raise Invalid("部门人员必须指定部门 / a staff user needs a department", "department_required")
    user = session.execute(select(ConsoleUser).where(ConsoleUser.username == username)).scalar_one_or_none()
    if user is None:
        user = ConsoleUser(username=username, created_at=utcnow())
        session.add(user)
    user.display_name = (display_name or user.display_name or username).strip()[:100]
    user.password_hash = hash_password(password)
    user.role = role
    user.department = dept
    user.active = True
    session.flush()
    return user


def bootstrap_console_users(session: Session, settings: Settings) -> int:
    """The development users (only with ROUTING_DEV_TOKENS=1 outside production), if missing."""
    if not settings.dev_tokens or settings.production:
        return 0
    count = 0
    for username, display, role in DEV_USERS:
        exists = session.execute(select(ConsoleUser.id).where(ConsoleUser.username == username)).scalar_one_or_none()
        if exists is not None:
            continue
        dept = settings.dev_staff_department if role == "staff" else None
        create_user(session, username, DEV_PASSWORD, role, dept, display)
        count += 1
    return count


@dataclass
class ConsoleLogin:
    user: ConsoleUser
    session_row: ConsoleSession

    @property
    def actor(self) -> Actor:
        return actor_of(self.user)

    @property
    def csrf(self) -> str:
        return self.session_row.csrf_token


def actor_of(user: ConsoleUser) -> Actor:
    return Actor(name=f"{user.display_name}（{user.username}）", role=user.role, department_id=user.department_id)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def authenticate_user(session: Session, username: str, password: str) -> Optional[ConsoleUser]:
    user = session.execute(select(ConsoleUser).where(ConsoleUser.username == (username or "").strip())).scalar_one_or_none()
    if user is None:
        verify_password(password or "", hash_password("timing-equaliser"))  # same work for unknown users
        return None
    if not user.active or not verify_password(password or "", user.password_hash):
        return None
    return user


def start_session(session: Session, user: ConsoleUser) -> str:
    """A new session row; returns the cookie value."""
    now = utcnow()
    session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at < now))
    token = secrets.token_urlsafe(32)
    session.add(ConsoleSession(token_hash=_hash(token), csrf_token=secrets.token_urlsafe(24), user=user,
                               created_at=now, expires_at=now + timedelta(hours=session_hours())))
    user.last_login_at = now
    session.flush()
    return token


def load_session(session: Session, token: Optional[str]) -> Optional[ConsoleLogin]:
    if not token:
        return None
    row = session.execute(select(ConsoleSession).where(ConsoleSession.token_hash == _hash(token))).scalar_one_or_none()
    if row is None or row.expires_at < utcnow() or not row.user.active:
        return None
    return ConsoleLogin(row.user, row)


def end_session(session: Session, token: Optional[str]) -> None:
    if token:
        session.execute(delete(ConsoleSession).where(ConsoleSession.token_hash == _hash(token)))
