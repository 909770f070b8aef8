"""Every error the API returns: `{"error": {"code", "message"}}` with its HTTP status.

One table maps the library's error tree to statuses; anything unexpected becomes a 500
with a fixed message (the traceback goes to the server log, never to the client).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ragstream.errors import (
    ConfigError,
    GenerationError,
    IndexError_,
    LoaderError,
    RagstreamError,
    StoreError,
)

log = logging.getLogger("ragstream.api")

# Most specific first: the first matching class decides the status.
LIBRARY_STATUS: tuple[tuple[type[RagstreamError], int, str], ...] = (
    (GenerationError, 503, "llm_unavailable"),
    (StoreError, 503, "store_unavailable"),
    (IndexError_, 409, "index_mismatch"),
    (LoaderError, 400, "bad_document"),
    (ConfigError, 400, "bad_setting"),
    (RagstreamError, 400, "bad_request"),
)
HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
    503: "unavailable",
}


class ApiError(Exception):
    """Raised by the doors for a response other than 2xx."""

    def __init__(self, status: int, message: str, code: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or HTTP_CODES.get(status, "error")
        self.message = message
        self.extra = extra
        self.headers: dict[str, str] = {}


def library_error(exc: RagstreamError) -> ApiError:
    for cls, status, code in LIBRARY_STATUS:
        if isinstance(exc, cls):
            return ApiError(status, str(exc), code)
    raise AssertionError("unreachable: RagstreamError is in the table")


def error_body(status: int, code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


def error_response(error: ApiError) -> JSONResponse:
    body = error_body(error.status, error.code, error.message, **error.extra)
    return JSONResponse(body, status_code=error.status, headers=error.headers or None)


def validation_message(exc: RequestValidationError) -> str:
    """One line naming the first bad field, e.g. `body.k: Input should be ...`."""
    parts = []
    for err in exc.errors()[:3]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def install(app: FastAPI) -> None:
    async def on_api(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return error_response(exc)

    async def on_library(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RagstreamError)
        return error_response(library_error(exc))

    async def on_validation(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return error_response(ApiError(422, validation_message(exc)))

    async def on_http(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        error = ApiError(exc.status_code, str(exc.detail))
        error.headers = dict(exc.headers or {})
        return error_response(error)

    async def on_other(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=exc)
        return error_response(ApiError(500, "internal error; see the server log", "internal"))

    app.add_exception_handler(ApiError, on_api)
    app.add_exception_handler(RagstreamError, on_library)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(Exception, on_other)
