"""FastAPI dependencies: database session, settings and the authenticated actor."""
from __future__ import annotations

from typing import Iterator, Optional

from fastapi import Request
from sqlalchemy.orm import Session

from routing.auth import Actor, authenticate
from routing.errors import Unauthorized
from routing.settings import Settings


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_session(request: Request) -> Iterator[Session]:
    session: Session = request.app.state.session_factory()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


def bearer_token(request: Request) -> Optional[str]:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthorized("Authorization 头应为 Bearer <token> / expected Authorization: Bearer <token>",
                           "bad_authorization")
    return value.strip()


def current_actor(request: Request, session: Session) -> Actor:
    actor = authenticate(session, bearer_token(request))
    session.rollback()  # end the read transaction (SQLite: release the write lock early)
    return actor
