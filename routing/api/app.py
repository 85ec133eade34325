"""The FastAPI application: `create_app()`; served by `python -m routing`."""
from __future__ import annotations

import json
import logging
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Dict, Optional

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from routing.api import errors, joint, meta, open311, reporter, staff, tickets
from routing.triage import api as triage_api
from routing.auth import bootstrap_tokens
from routing.console import routes as console
from routing.console.auth import bootstrap_console_users
from routing.db import make_engine, make_session_factory, session_scope
from routing.escalation import EscalationLoop
from routing.settings import Settings, get_settings

log = logging.getLogger("routing.api")


class BodyLimitMiddleware:
    """Refuse request bodies over the limit with 413 before they reach a handler."""

    def __init__(self, app: ASGIApp, limit: int, upload_limit: int):
        self.app, self.limit, self.upload_limit = app, limit, upload_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.upload_limit if scope["path"].endswith("/attachments") else self.limit
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > limit
            except ValueError:
                too_big = True
            if too_big:
                await self._refuse(scope, send, limit)
                return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge()
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await self._refuse(scope, send, limit)

    async def _refuse(self, scope: Scope, send: Send, limit: int) -> None:
        message = f"请求体超过 {limit} 字节 / request body larger than {limit} bytes"
        if scope["path"].startswith("/open311/"):
            body: Any = [{"code": 413, "description": message}]
        else:
            body = {"error": "too_large", "message": message}
        raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]})
        await send({"type": "http.response.body", "body": raw})


class _TooLarge(Exception):
    pass


def create_app(settings: Optional[Settings] = None) -> FastAPI:
    settings = settings or get_settings()
    settings.check()
    engine = make_engine(settings.database_url)
    factory = make_session_factory(engine)
    loop = EscalationLoop(factory, settings, settings.escalation_interval_s)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with session_scope(factory) as session:
            count = bootstrap_tokens(session, settings)
            users = bootstrap_console_users(session, settings)
        if count:
            log.info("bootstrapped %d API tokens from the environment", count)
        if users:
            log.info("created %d development console users (password: see docs/console.md)", users)
        loop.start()
        try:
            yield
        finally:
            loop.stop()
            engine.dispose()

    app = FastAPI(
        title="Routing backend / 工单分拨系统",
        version="1.0.0",
        description="Tickets from the petition intake bot and the 12345 hotline: routing, SLA, lifecycle, "
                    "reporter follow-up, statistics; Open311 GeoReport v2 under /open311/v2/.",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = factory
    app.state.escalation_loop = loop
    errors.install(app)
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_body_bytes,
                       upload_limit=settings.max_attachment_bytes + 64 * 1024)

    @app.get("/healthz", tags=["health"])
    def healthz() -> Dict[str, Any]:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ok", "database": engine.dialect.name}

    app.include_router(meta.router, tags=["catalogue"])
    # before the tickets router: /api/tickets/{number}/assists must not match /{number}/{action}
    app.include_router(joint.router, tags=["joint handling"])
    app.include_router(staff.router, tags=["grid staff"])
    app.include_router(tickets.router, tags=["tickets"])
    app.include_router(reporter.router, tags=["reporter"])
    app.include_router(open311.router)
    app.include_router(triage_api.router, tags=["triage"])
    # the operator console at / (docs/console.md)
    app.mount("/static/console", StaticFiles(directory=str(console.STATIC_DIR)), name="console-static")
    app.include_router(console.router)
    return app
