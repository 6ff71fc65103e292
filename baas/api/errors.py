"""Every failure becomes the one JSON error shape, with the request id."""

from __future__ import annotations

import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from baas.api.http import JSONResponse
from baas.api.slashes import slash_redirect
from baas.core.errors import ApiError
from baas.store import InvalidQuery, StoreUnavailable

log = logging.getLogger("baas.errors")
ERROR_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}

HTTP_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "route_not_found",
    405: "method_not_allowed", 413: "payload_too_large", 415: "unsupported_media_type",
    429: "rate_limited", 503: "unavailable",
}


def request_id(request: Request) -> str:
    return str(request.scope.get("state", {}).get("request_id", ""))


def error_json(rid: str, status: int, code: str, message: str,
               details: dict[str, Any] | None = None,
               headers: dict[str, str] | None = None) -> JSONResponse:
    """The one error shape (docs/api.md), for handlers and pure ASGI middleware alike."""
    body = {"error": {"status": status, "code": code, "message": message,
                      "details": details or {}}}
    # The headers every response carries (``middleware._response_headers``) are set here
    # too: a 500 is answered outside the middleware, a 413 by it.
    return JSONResponse(body, status_code=status, headers={
        "X-Request-Id": rid, **ERROR_HEADERS, **(headers or {})})


def error_response(request: Request, status: int, code: str, message: str,
                   details: dict[str, Any] | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    return error_json(request_id(request), status, code, message, details, headers)


async def api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(request, exc.status, exc.code, exc.message, exc.details, exc.headers)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404 and (redirect := slash_redirect(request)) is not None:
        return redirect
    if exc.status_code == 404:
        message = f"no route {request.url.path}; see /docs for the API"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
    else:
        message = str(exc.detail)
    code = HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
    return error_response(request, exc.status_code, code, message,
                          headers=dict(exc.headers or {}))


async def store_unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.error("store unavailable", extra={"request_id": request_id(request), "error": str(exc)})
    return error_response(request, 503, "store_unavailable",
                          "the database is unavailable; try again shortly",
                          headers={"Retry-After": "5"})


async def invalid_query(request: Request, exc: Exception) -> JSONResponse:
    return error_response(request, 400, "invalid_query", str(exc))


async def client_gone(request: Request, exc: Exception) -> JSONResponse:
    """The client closed the connection before its body was complete: nobody reads the
    answer, and it is the client's doing, not a fault of the server."""
    log.info("client disconnected", extra={"request_id": request_id(request)})
    return error_response(request, 400, "bad_request",
                          "the connection closed before the request body was complete")


async def server_error(request: Request, exc: Exception) -> JSONResponse:
    rid = request_id(request)
    log.error("unhandled error", exc_info=exc, extra={"request_id": rid})
    return error_response(
        request, 500, "internal_error",
        f"something went wrong on the server; quote request id {rid} when reporting it",
        details={"request_id": rid},
    )


HANDLERS = {
    ApiError: api_error,
    HTTPException: http_error,
    StoreUnavailable: store_unavailable,
    InvalidQuery: invalid_query,
    ClientDisconnect: client_gone,
    Exception: server_error,
}
