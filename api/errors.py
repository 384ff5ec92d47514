"""One error shape everywhere: ``{"error": {"status", "code", "message", "details"}}``.

Validation errors, unknown routes, wrong methods, oversized bodies, query errors, time-outs
and unexpected failures all answer in this shape, and it is declared in the OpenAPI schema
of every operation. Messages never contain the request's values (they may be personal data).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from corpuscope.errors import CorpuscopeError

log = logging.getLogger("corpuscope.api")


class ErrorDetail(BaseModel):
    status: int
    code: str
    message: str
    details: list[dict[str, Any]] = []


class ErrorBody(BaseModel):
    error: ErrorDetail


_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    408: "request_timeout",
    409: "conflict",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}

#: Declared on every operation, so the OpenAPI schema says what errors look like.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": _CODES[code].replace("_", " ")}
    for code in (401, 404, 409, 413, 422, 500, 503)
}


def error_response(status: int, message: str, details: list | None = None) -> JSONResponse:
    body = ErrorBody(
        error=ErrorDetail(
            status=status,
            code=_CODES.get(status, "error"),
            message=message,
            details=details or [],
        )
    )
    return JSONResponse(body.model_dump(), status_code=status)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every failure into the one shape."""

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"loc": [str(p) for p in e.get("loc", ())], "type": e.get("type"), "msg": e.get("msg")}
            for e in exc.errors()
        ]  # without "input": it may be personal data
        return error_response(422, "the request is not valid", details)

    @app.exception_handler(CorpuscopeError)
    async def corpuscope_error(_: Request, exc: CorpuscopeError) -> JSONResponse:
        return error_response(exc.status, str(exc))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # By type and request id only: a message or traceback may quote personal data.
        request_id = uuid.uuid4().hex[:16]
        route = getattr(request.scope.get("route"), "path", "?")  # the template, not the values
        log.error("internal error %s in %s (request %s)", type(exc).__name__, route, request_id)
        return error_response(500, f"internal error (request {request_id})")
