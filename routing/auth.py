"""API tokens and roles.

Tokens are random strings shown once; the database keeps only their SHA-256. Roles:
  intake      the bot's action server: creates tickets, reporter follow-up
  operator    hotline operators: everything on every ticket
  staff       department staff: sees and works only its own department's tickets
  supervisor  reads everything, statistics and warnings; changes nothing
  grid_staff  internal (no token has it): a grid worker acting through routing.grid
What each role may do is the `ROLE_PERMISSIONS` table.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Dict, FrozenSet, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from routing.errors import Forbidden, Invalid, Unauthorized
from routing.models import ApiToken, Department
from routing.settings import DEV_TOKENS, ROLES, Settings
from routing.timeutil import utcnow

TOKEN_PREFIX = "rt_"

ROLE_PERMISSIONS: Dict[str, FrozenSet[str]] = {
    "intake": frozenset({"create", "reporter"}),
    "operator": frozenset(
        {"create", "reporter", "read_all", "dispatch", "accept", "progress", "return", "escalate",
         "resolve", "close", "merge", "reopen", "attach", "stats"}
    ),
    "staff": frozenset({"read_department", "accept", "progress", "return", "escalate", "resolve", "attach", "stats"}),
    "supervisor": frozenset({"read_all", "stats"}),
    # Internal, never a token role (settings.ROLES): a grid worker (网格员) acting through the
    # bot's intake token or an operator; routing.grid scopes every call to the worker's grids.
    "grid_staff": frozenset({"create", "read_department", "dispatch", "accept", "progress", "escalate",
                             "resolve", "close", "attach"}),
}


@dataclass(frozen=True)
class Actor:
    name: str
    role: str
    department_id: Optional[int] = None
    token_id: Optional[int] = None

    def can(self, permission: str) -> bool:
        return permission in ROLE_PERMISSIONS.get(self.role, frozenset())

    def require(self, permission: str) -> None:
        if not self.can(permission):
            raise Forbidden(f"角色 {self.role} 无权执行此操作 / role {self.role} may not {permission}")

    @property
    def scope(self) -> str:
        return f"token:{self.token_id}" if self.token_id is not None else f"actor:{self.name}"


SYSTEM = Actor(name="system", role="operator")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def _department(session: Session, code: Optional[str]) -> Optional[Department]:
    if not code:
        return None
    dept = session.execute(select(Department).where(Department.code == code)).scalar_one_or_none()
    if dept is None:
        raise Invalid(f"未知部门 / unknown department: {code}", "unknown_department")
    return dept


def store_token(
    session: Session, token: str, role: str, department_code: Optional[str] = None, name: Optional[str] = None
) -> ApiToken:
    """Save (or update) the hash of `token` with its role and department."""
    if role not in ROLES:
        raise Invalid(f"未知角色 / unknown role: {role} (one of {', '.join(ROLES)})", "unknown_role")
    dept = _department(session, department_code)
    if role == "staff" and dept is None:
        raise Invalid("部门人员令牌必须指定部门 / a staff token needs a department", "department_required")
    digest = hash_token(token)
    row = session.execute(select(ApiToken).where(ApiToken.token_hash == digest)).scalar_one_or_none()
    if row is None:
        row = ApiToken(token_hash=digest, prefix=token[:8], created_at=utcnow())
        session.add(row)
    row.role = role
    row.department = dept
    row.name = name or f"{role}{'@' + dept.code if dept else ''}"
    row.revoked_at = None
    session.flush()
    return row


def create_token(session: Session, role: str, department_code: Optional[str] = None, name: Optional[str] = None) -> str:
    token = new_token()
    store_token(session, token, role, department_code, name)
    return token


def bootstrap_tokens(session: Session, settings: Settings) -> int:
    """Store the tokens configured in the environment (dev tokens only outside production)."""
    settings.check()
    count = 0
    if settings.dev_tokens and not settings.production:
        for role, token in DEV_TOKENS.items():
            dept = settings.dev_staff_department if role == "staff" else None
            store_token(session, token, role, dept, name=f"dev-{role}")
            count += 1
    for tok in settings.bootstrap_tokens:
        store_token(session, tok.token, tok.role, tok.department_code, name=f"bootstrap-{tok.role}")
        count += 1
    return count


def authenticate(session: Session, token: Optional[str]) -> Actor:
    if not token:
        raise Unauthorized("缺少访问令牌 / missing bearer token", "missing_token")
    row = session.execute(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).scalar_one_or_none()
    if row is None or row.revoked_at is not None:
        raise Unauthorized("访问令牌无效 / invalid or revoked token", "invalid_token")
    return Actor(name=row.name, role=row.role, department_id=row.department_id, token_id=row.id)
