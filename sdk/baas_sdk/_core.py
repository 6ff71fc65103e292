"""The pure core shared by ``Client`` and ``AsyncClient``: configuration, request
building and response parsing. Nothing here performs I/O, so both facades behave the
same by construction and the logic is testable without a network.

An API operation is a ``Call``: what to send plus how to read a successful answer.
Endpoint modules (``_admin.py`` and later auth, collections...) only build ``Call``s;
the facades send them.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx
import pydantic

from ._exceptions import (
    APIError,
    BaasError,
    ConnectError,
    RateLimited,
    ResponseError,
    Timeout,
    TransportError,
    error_class_for,
)

T = TypeVar("T")
M = TypeVar("M", bound=pydantic.BaseModel)

USER_AGENT = "baas-sdk-python/0.1.0"


@dataclass(frozen=True)
class Call(Generic[T]):
    """One API operation: the request to send and the parser of a 2xx answer."""

    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    json: Any = None
    params: Mapping[str, str | int] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


def segment(value: str) -> str:
    """Quote one path segment so ids can never change the route."""
    return quote(value, safe="")


# -- parsers ------------------------------------------------------------------------


def _json_body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ResponseError(
            f"{response.request.method} {response.request.url.path} answered "
            f"{response.status_code} with a body that is not JSON"
        ) from None


def parse_json(response: httpx.Response) -> Any:
    return _json_body(response)


def parse_none(response: httpx.Response) -> None:
    return None


def parse_model(model: type[M]) -> Callable[[httpx.Response], M]:
    def parse(response: httpx.Response) -> M:
        try:
            return model.model_validate(_json_body(response))
        except pydantic.ValidationError as exc:
            raise ResponseError(
                f"unexpected answer from {response.request.url.path}: {exc}"
            ) from None

    return parse


# -- errors -------------------------------------------------------------------------


def _retry_after(value: str | None) -> float | None:
    """Retry-After is either delay-seconds or an HTTP date (RFC 9110 10.2.3)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def error_from_response(response: httpx.Response) -> APIError:
    """Build the typed error for a non-2xx answer, whatever its body looks like."""
    status = response.status_code
    code = f"http_{status}"
    message = f"HTTP {status} {response.reason_phrase}".rstrip()
    details: dict[str, Any] = {}
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        code = str(error.get("code") or code)
        message = str(error.get("message") or message)
        if isinstance(error.get("details"), dict):
            details = error["details"]
    elif body is None and response.text.strip():
        # A proxy's HTML page or a plain-text crash: keep a short excerpt for debugging.
        message = f"{message}: {response.text.strip()[:200]}"
    kwargs: dict[str, Any] = {
        "status": status,
        "code": code,
        "details": details,
        "request_id": response.headers.get("x-request-id"),
    }
    cls = error_class_for(status)
    if cls is RateLimited:
        return RateLimited(
            message, retry_after=_retry_after(response.headers.get("retry-after")), **kwargs
        )
    return cls(message, **kwargs)


@contextlib.contextmanager
def translate_transport_errors(url: str) -> Iterator[None]:
    """The single boundary where httpx exceptions become SDK exceptions."""
    try:
        yield
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        raise ConnectError(f"cannot connect to {url}: {exc}", url=url) from exc
    except httpx.TimeoutException as exc:
        raise Timeout(f"no answer from {url} in time: {exc}") from exc
    except httpx.TransportError as exc:
        raise TransportError(f"request to {url} failed: {exc}") from exc
    except httpx.InvalidURL as exc:
        raise BaasError(f"invalid URL {url!r}: {exc}") from exc


# -- configuration ------------------------------------------------------------------


class BaseClient:
    """Configuration and request preparation; subclasses add the I/O."""

    def __init__(
        self,
        url: str,
        *,
        project: str | None = None,
        api_key: str | None = None,
        token: str | None = None,
        timeout: float = 10.0,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if not url or "://" not in url:
            raise BaasError(f"invalid server URL {url!r}: expected http(s)://host[:port]")
        self.url = url.rstrip("/")
        self.project = project
        self.api_key = api_key
        self.token = token
        self.timeout = timeout
        self.headers: dict[str, str] = dict(headers or {})

    def auth_headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.api_key:
            headers["apikey"] = self.api_key
        bearer = self.token or self.api_key
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        return headers

    def request_kwargs(self, call: Call[Any]) -> dict[str, Any]:
        """Everything ``httpx.Client.request`` needs; later layers win over earlier ones."""
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        headers.update(self.headers)
        headers.update(self.auth_headers())
        headers.update(call.headers)
        kwargs: dict[str, Any] = {
            "method": call.method,
            "url": call.path,
            "headers": headers,
        }
        if call.json is not None:
            kwargs["json"] = call.json
        if call.params:
            kwargs["params"] = dict(call.params)
        return kwargs

    def handle_response(self, call: Call[T], response: httpx.Response) -> T:
        if response.is_success:
            return call.parse(response)
        raise error_from_response(response)

    def require_project(self) -> str:
        if not self.project:
            raise BaasError("no project configured: pass project=... to the client")
        return self.project


def project_info_call(project: str) -> Call[dict[str, Any]]:
    return Call("GET", f"/v1/projects/{segment(project)}", parse_json)
