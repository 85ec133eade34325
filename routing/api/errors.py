"""Exception handlers: every error is {"error": code, "message": "中文 / English"} (the Open311
routes use the GeoReport shape [{"code": status, "description": text}])."""
from __future__ import annotations

import logging
from typing import Any, Dict, List

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from routing.errors import ServiceError
from routing.lifecycle import IllegalTransition

log = logging.getLogger("routing.api")
OPEN311_PREFIX = "/open311/"


def _is_open311(request: Request) -> bool:
    return request.url.path.startswith(OPEN311_PREFIX)


def error_response(request: Request, status: int, code: str, message: str,
                   details: Any = None) -> JSONResponse:
    if _is_open311(request):
        return JSONResponse(status_code=status, content=[{"code": status, "description": message}])
    body: Dict[str, Any] = {"error": code, "message": message}
    if details is not None:
        body["details"] = details
    return JSONResponse(status_code=status, content=body)


_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 413: "too_large", 415: "unsupported_media_type"}
_HTTP_MESSAGES = {404: "资源不存在 / not found", 405: "不支持的请求方法 / method not allowed"}


def _validation_details(exc: RequestValidationError) -> List[Dict[str, Any]]:
    return [{"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in exc.errors()]


def install(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def _service(request: Request, exc: ServiceError) -> JSONResponse:
        return error_response(request, exc.status, exc.code, exc.message, exc.details)

    @app.exception_handler(IllegalTransition)
    async def _illegal(request: Request, exc: IllegalTransition) -> JSONResponse:
        return error_response(request, 409, "illegal_transition", exc.message,
                              {"action": exc.action, "state": exc.state})

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = _validation_details(exc)
        first = details[0] if details else {}
        where = ".".join(str(p) for p in first.get("loc", []))
        message = f"请求参数无效 / invalid request: {where}: {first.get('msg')}"
        status = 400 if _is_open311(request) else 422
        return error_response(request, status, "invalid_request", message, details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "error")
        message = _HTTP_MESSAGES.get(exc.status_code) or str(exc.detail)
        return error_response(request, exc.status_code, code, message)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(request, 500, "internal_error", "服务器内部错误 / internal server error")
