"""Every error the SDK raises.

    BaasError                      anything raised by baas_sdk
    ├── ResponseError              a 2xx answer the SDK cannot read (not JSON, wrong shape)
    ├── APIError                   the server answered with an error status
    │   ├── BadRequest             400
    │   ├── Unauthorized           401
    │   ├── Forbidden              403
    │   ├── NotFound               404
    │   ├── Conflict               409
    │   ├── PreconditionFailed     412
    │   ├── PayloadTooLarge        413
    │   ├── ValidationError        422
    │   ├── RateLimited            429 (``retry_after`` seconds, or None)
    │   └── ServerError            5xx
    └── TransportError             no usable HTTP answer
        ├── ConnectError           the server could not be reached (includes connect timeouts)
        └── Timeout                the server did not answer in time

httpx2 exceptions never escape: ``_core.translate_transport_errors`` turns them into
``TransportError`` subclasses, and it is the only place that does.
"""

from __future__ import annotations

from typing import Any


class BaasError(Exception):
    """Base class of every error raised by the SDK."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ResponseError(BaasError):
    """A successful answer whose body the SDK could not understand."""


class APIError(BaasError):
    """The server answered with an error: ``{"error": {status, code, message, details}}``."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str,
        details: dict[str, Any] | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.details: dict[str, Any] = details or {}
        self.request_id = request_id

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status}, code={self.code!r}, "
            f"message={self.message!r}, request_id={self.request_id!r})"
        )


class BadRequest(APIError):
    """400: the request is malformed or a field is invalid."""


class Unauthorized(APIError):
    """401: credentials are missing, invalid or expired."""


class Forbidden(APIError):
    """403: the credentials are valid but not allowed to do this."""


class NotFound(APIError):
    """404: the project, key or resource does not exist."""


class Conflict(APIError):
    """409: the resource already exists or the write conflicts."""


class PreconditionFailed(APIError):
    """412: an ``If-Match`` version is stale."""


class PayloadTooLarge(APIError):
    """413: the body is larger than the server accepts."""


class ValidationError(APIError):
    """422: the body is well-formed but semantically invalid."""


class RateLimited(APIError):
    """429: too many requests; ``retry_after`` is the server's hint in seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(APIError):
    """5xx: the server failed; the request may be retried."""


class TransportError(BaasError):
    """No usable HTTP answer was received."""


class ConnectError(TransportError):
    """The server could not be reached; the message names the URL."""

    def __init__(self, message: str, *, url: str) -> None:
        super().__init__(message)
        self.url = url


class Timeout(TransportError):
    """The server did not answer within the configured timeout."""


STATUS_ERRORS: dict[int, type[APIError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    412: PreconditionFailed,
    413: PayloadTooLarge,
    422: ValidationError,
    429: RateLimited,
}


def error_class_for(status: int) -> type[APIError]:
    if status >= 500:
        return ServerError
    return STATUS_ERRORS.get(status, APIError)
