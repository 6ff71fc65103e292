"""The pure core shared by ``Client`` and ``AsyncClient``: configuration, request
building and response parsing. Nothing here touches the network (the only side effect is
the ``SessionStore`` the caller supplies), so both facades behave the same by
construction and the logic is testable without a network.

An API operation is a ``Call``: what to send plus how to read a successful answer.
Endpoint modules (``_admin.py``, ``_auth.py``...) only build ``Call``s; the facades send
them. The signed-in session (``_session.py``) is part of the configuration: which token a
request carries, and whether it must be refreshed first, are decided here.
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

import httpx2
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
from ._models import AuthAnswer, Session
from ._session import (
    DEFAULT_REFRESH_MARGIN,
    TOKEN_REFRESHED,
    Clock,
    OnChange,
    SessionState,
    SessionStore,
    ends_session,
    expiry,
    needs_refresh,
    refresh_now,
    retry_after_refresh,
)

T = TypeVar("T")
M = TypeVar("M", bound=pydantic.BaseModel)

USER_AGENT = "baas-sdk-python/0.1.0"


@dataclass(frozen=True)
class Call(Generic[T]):
    """One API operation: the request to send and the parser of a 2xx answer.

    ``with_session=False`` marks operations that must not carry the user's access token
    (signing in, refreshing, redeeming an emailed token): they send the API key only and
    never trigger a refresh.
    """

    method: str
    path: str
    parse: Callable[[httpx2.Response], T]
    json: Any = None
    params: Mapping[str, str | int] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    with_session: bool = True


def segment(value: str) -> str:
    """Quote one path segment so ids can never change the route."""
    return quote(value, safe="")


# -- parsers ------------------------------------------------------------------------


def _json_body(response: httpx2.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ResponseError(
            f"{response.request.method} {response.request.url.path} answered "
            f"{response.status_code} with a body that is not JSON"
        ) from None


def parse_json(response: httpx2.Response) -> Any:
    return _json_body(response)


def parse_none(response: httpx2.Response) -> None:
    return None


def parse_model(model: type[M]) -> Callable[[httpx2.Response], M]:
    def parse(response: httpx2.Response) -> M:
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


def error_from_response(response: httpx2.Response) -> APIError:
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
    """The single boundary where httpx2 exceptions become SDK exceptions."""
    try:
        yield
    except (httpx2.ConnectError, httpx2.ConnectTimeout) as exc:
        raise ConnectError(f"cannot connect to {url}: {exc}", url=url) from exc
    except httpx2.TimeoutException as exc:
        raise Timeout(f"no answer from {url} in time: {exc}") from exc
    except httpx2.TransportError as exc:
        raise TransportError(f"request to {url} failed: {exc}") from exc
    except httpx2.InvalidURL as exc:
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
        session_store: SessionStore | None = None,
        refresh_margin: float = DEFAULT_REFRESH_MARGIN,
        on_change: OnChange | None = None,
        clock: Clock | None = None,
    ) -> None:
        if not url or "://" not in url:
            raise BaasError(f"invalid server URL {url!r}: expected http(s)://host[:port]")
        self.url = url.rstrip("/")
        self.project = project
        self.api_key = api_key
        self.token = token
        self.timeout = timeout
        self.headers: dict[str, str] = dict(headers or {})
        self.refresh_margin = refresh_margin
        # Loads a stored session, so an app stays signed in across restarts.
        self.auth_state = SessionState(session_store, project, clock, on_change)

    # -- credentials ----------------------------------------------------------------

    @property
    def session(self) -> Session | None:
        return self.auth_state.session

    def session_token(self, call: Call[Any] | None = None) -> str | None:
        """The session's access token if this call carries it. An explicit ``token``
        (an admin token, or a JWT obtained elsewhere) wins over the session."""
        if self.token or (call is not None and not call.with_session):
            return None
        session = self.auth_state.session
        return session.access_token if session else None

    def auth_headers(self, call: Call[Any] | None = None) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.api_key:
            headers["apikey"] = self.api_key
        bearer = self.token or self.session_token(call) or self.api_key
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        return headers

    # -- refresh decisions (the facades hold the lock and do the I/O) ----------------

    def stale_token(self, call: Call[Any]) -> str | None:
        """The access token this call would carry when it must be refreshed first."""
        session = self.auth_state.session
        if session is None or self.session_token(call) is None:
            return None
        if not needs_refresh(session, self.auth_state.clock(), self.refresh_margin):
            return None
        return session.access_token

    def token_still_valid(self) -> bool:
        """After an early refresh failed (a 5xx, a network error): the request may still
        go with the current access token when it has not expired yet."""
        session = self.auth_state.session
        return session is not None and self.auth_state.clock() < expiry(session)

    def retry_token(self, sent: str | None, response: httpx2.Response) -> str | None:
        """The access token to refresh when this answer to a request that carried
        ``sent`` is a 401 that a refresh may cure (the caller retries once)."""
        if sent is None or response.status_code != 401:
            return None
        return sent if retry_after_refresh(error_from_response(response)) else None

    def begin_refresh(self, seen: str | None) -> Session | None:
        """Under the refresh lock: the session whose refresh token must be spent now, or
        None when another caller (this process or another one sharing the store) already
        rotated the tokens. ``seen=None`` forces a refresh."""
        state = self.auth_state
        go, adopt = refresh_now(state.session, seen, state.stored(), state.clock(),
                                self.refresh_margin)
        if adopt is not None:
            state.adopt_stored(adopt)
        return state.session if go else None

    def finish_refresh(self, call: Call[AuthAnswer], response: httpx2.Response) -> Session:
        """Adopt the new tokens, or sign out locally when the session is over."""
        if response.is_success:
            return self.auth_state.adopt(call.parse(response), TOKEN_REFRESHED)
        error = error_from_response(response)
        if ends_session(error):
            self.auth_state.clear()
        raise error

    def request_kwargs(self, call: Call[Any]) -> dict[str, Any]:
        """Everything ``httpx2.Client.request`` needs; later layers win over earlier ones."""
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        headers.update(self.headers)
        headers.update(self.auth_headers(call))
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

    def handle_response(self, call: Call[T], response: httpx2.Response) -> T:
        if response.is_success:
            return call.parse(response)
        raise error_from_response(response)

    def require_project(self) -> str:
        if not self.project:
            raise BaasError("no project configured: pass project=... to the client")
        return self.project


def project_info_call(project: str) -> Call[dict[str, Any]]:
    return Call("GET", f"/v1/projects/{segment(project)}", parse_json)
