"""The SDK's pure core and error mapping, over httpx2.MockTransport (a transport seam,
not a mock of our code). End-to-end tests against a real server live elsewhere."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import baas_sdk
import httpx2
import pytest
from baas_sdk import (
    APIError,
    AsyncClient,
    BaasError,
    BadRequest,
    Client,
    Conflict,
    ConnectError,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    RateLimited,
    ResponseError,
    ServerError,
    Timeout,
    TransportError,
    Unauthorized,
    ValidationError,
)

URL = "http://baas.test"

PROJECT = {
    "id": "myapp",
    "name": "My App",
    "created_at": "2025-01-01T00:00:00Z",
    "updated_at": "2025-01-01T00:00:00Z",
}


def key(kind: str = "publishable", **extra: Any) -> dict[str, Any]:
    return {
        "id": f"key_{kind}",
        "project": "myapp",
        "kind": kind,
        "name": "default",
        "prefix": "pk_abcd" if kind == "publishable" else "sk_abcd",
        "created_at": "2025-01-01T00:00:00Z",
        "expires_at": None,
        "revoked_at": None,
        **extra,
    }


def error_body(status: int, code: str, message: str, **details: Any) -> dict[str, Any]:
    return {"error": {"status": status, "code": code, "message": message, "details": details}}


Handler = Callable[[httpx2.Request], httpx2.Response]


class Recorder:
    """A MockTransport handler that records requests and answers from a fixed response."""

    def __init__(self, response: httpx2.Response | Handler) -> None:
        self.response = response
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        if isinstance(self.response, httpx2.Response):
            return self.response
        return self.response(request)

    @property
    def last(self) -> httpx2.Request:
        return self.requests[-1]


def sync_client(handler: Handler, **kwargs: Any) -> Client:
    return Client(URL, transport=httpx2.MockTransport(handler), **kwargs)


def async_client(handler: Handler, **kwargs: Any) -> AsyncClient:
    return AsyncClient(URL, transport=httpx2.MockTransport(handler), **kwargs)


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- public surface -----------------------------------------------------------------


def test_public_api() -> None:
    assert sorted(baas_sdk.__all__) == sorted(
        [
            "APIError", "AdminClient", "AdminToken", "ApiKey", "AsyncAdminClient",
            "AsyncAuth", "AsyncClient", "Auth", "BaasError", "BadRequest", "Client",
            "Conflict", "ConnectError", "CreatedProject", "FileStore", "Forbidden",
            "MemoryStore", "NotFound", "Page", "PayloadTooLarge", "PreconditionFailed",
            "Project", "RateLimited", "ResponseError", "ServerError", "Session",
            "SessionInfo", "SessionStore", "SigningKey", "SigningKeyRotation", "Timeout",
            "TransportError", "Unauthorized",
            "User", "ValidationError", "__version__",
            "AsyncCollection", "BatchOp", "BatchResult", "Collection", "Document",
            "DocumentPage", "ops", "CollectionDef", "CollectionRules", "IndexDef", "RuleCheck",
            # The admin handles and the operation names the CLI needs (typed, not private).
            "Users", "AsyncUsers", "Collections", "AsyncCollections", "OPERATIONS",
            "Operation",
            # Usage plans: what client.admin.projects/keys.limits() return.
            "Limits", "KeyLimits", "KeyUsage", "ProjectLimits",
        ]
    )
    for name in baas_sdk.__all__:
        assert hasattr(baas_sdk, name)


def test_sdk_imports_nothing_from_the_server() -> None:
    code = (
        "import sys, baas_sdk; "
        "print(sorted(m for m in sys.modules if m == 'baas' or m.startswith('baas.')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_hierarchy() -> None:
    assert issubclass(APIError, BaasError)
    assert issubclass(TransportError, BaasError)
    assert issubclass(ConnectError, TransportError)
    assert issubclass(Timeout, TransportError)
    assert issubclass(ResponseError, BaasError)


# -- error mapping ------------------------------------------------------------------

STATUS_CASES = [
    (400, BadRequest),
    (401, Unauthorized),
    (403, Forbidden),
    (404, NotFound),
    (409, Conflict),
    (412, PreconditionFailed),
    (413, PayloadTooLarge),
    (422, ValidationError),
    (429, RateLimited),
    (500, ServerError),
    (502, ServerError),
    (503, ServerError),
    (405, APIError),
    (418, APIError),
    (302, APIError),
]


@pytest.mark.parametrize(("status", "cls"), STATUS_CASES)
def test_status_maps_to_exception(status: int, cls: type[APIError]) -> None:
    body = error_body(status, "some_code", "something went wrong", field="id")
    handler = Recorder(httpx2.Response(status, json=body, headers={"X-Request-Id": "req-1"}))
    with sync_client(handler) as client, pytest.raises(cls) as info:
        client.admin.projects.get("myapp")
    err = info.value
    assert type(err) is cls
    assert (err.status, err.code, err.message) == (status, "some_code", "something went wrong")
    assert err.details == {"field": "id"}
    assert err.request_id == "req-1"
    assert str(err) == "something went wrong"


@pytest.mark.parametrize(("status", "cls"), STATUS_CASES)
async def test_status_maps_to_exception_async(status: int, cls: type[APIError]) -> None:
    handler = Recorder(httpx2.Response(status, json=error_body(status, "c", "m")))
    async with async_client(handler) as client:
        with pytest.raises(cls) as info:
            await client.admin.projects.get("myapp")
    assert type(info.value) is cls
    assert info.value.request_id is None


@pytest.mark.parametrize(
    ("status", "cls", "body"),
    [
        (502, ServerError, b"<html><body>Bad Gateway</body></html>"),
        (404, NotFound, b""),
        (429, RateLimited, b"slow down"),
        (400, BadRequest, b'{"not": "an error envelope"}'),
        (500, ServerError, b"\xff\xfe garbage"),
    ],
)
def test_non_json_error_body(status: int, cls: type[APIError], body: bytes) -> None:
    response = httpx2.Response(
        status, content=body, headers={"X-Request-Id": "r2", "Content-Type": "text/html"}
    )
    with sync_client(Recorder(response)) as client, pytest.raises(cls) as info:
        client.admin.projects.list()
    err = info.value
    assert err.code == f"http_{status}"
    assert err.status == status
    assert err.request_id == "r2"
    assert err.message.startswith(f"HTTP {status}")


@pytest.mark.parametrize(
    ("header", "expected"), [("7", 7.0), ("0.5", 0.5), (None, None), ("soon", None)]
)
def test_rate_limited_retry_after(header: str | None, expected: float | None) -> None:
    headers = {"Retry-After": header} if header else {}
    response = httpx2.Response(429, json=error_body(429, "rate_limited", "slow"), headers=headers)
    with sync_client(Recorder(response)) as client, pytest.raises(RateLimited) as info:
        client.admin.projects.list()
    assert info.value.retry_after == expected


def test_retry_after_http_date_in_the_past_is_zero() -> None:
    response = httpx2.Response(
        429, json=error_body(429, "rate_limited", "slow"),
        headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"},
    )
    with sync_client(Recorder(response)) as client, pytest.raises(RateLimited) as info:
        client.admin.projects.list()
    assert info.value.retry_after == 0.0


def test_success_body_not_json_raises_response_error() -> None:
    with sync_client(Recorder(httpx2.Response(200, content=b"<html>"))) as client:
        with pytest.raises(ResponseError):
            client.admin.projects.get("myapp")


def test_success_body_wrong_shape_raises_response_error() -> None:
    with sync_client(Recorder(httpx2.Response(200, json={"id": 3}))) as client:
        with pytest.raises(ResponseError):
            client.admin.projects.get("myapp")


# -- transport errors ---------------------------------------------------------------


def test_connect_error_on_refused_port() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    with Client(url, timeout=2.0) as client, pytest.raises(ConnectError) as info:
        client.admin.projects.list()
    assert url in str(info.value)
    assert info.value.url == url
    assert not isinstance(info.value.__cause__, BaasError)


async def test_connect_error_on_refused_port_async() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    async with AsyncClient(url, timeout=2.0) as client:
        with pytest.raises(ConnectError, match=url):
            await client.admin.login("a@example.com", "pw")


@pytest.mark.parametrize(
    ("exc", "cls"),
    [
        (httpx2.ReadTimeout("slow"), Timeout),
        (httpx2.ConnectTimeout("slow connect"), ConnectError),
        (httpx2.ConnectError("refused"), ConnectError),
        (httpx2.RemoteProtocolError("bad"), TransportError),
        (httpx2.ReadError("reset"), TransportError),
    ],
)
def test_httpx_errors_are_translated(exc: Exception, cls: type[BaasError]) -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        raise exc

    with sync_client(handler) as client, pytest.raises(cls) as info:
        client.admin.projects.list()
    assert type(info.value) is cls
    assert URL in str(info.value)


async def test_httpx_timeout_translated_async() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ReadTimeout("slow")

    async with async_client(handler) as client:
        with pytest.raises(Timeout):
            await client.admin.projects.list()


def test_invalid_url_rejected() -> None:
    with pytest.raises(BaasError):
        Client("localhost:8080")


# -- headers ------------------------------------------------------------------------


def test_api_key_sends_apikey_and_bearer() -> None:
    body = {"id": "myapp", "name": "My App", "caller": {"kind": "publishable"}}
    handler = Recorder(httpx2.Response(200, json=body))
    with sync_client(handler, project="myapp", api_key="pk_123") as client:
        assert client.project_info() == body
    request = handler.last
    assert request.method == "GET"
    assert request.url.path == "/v1/projects/myapp"
    assert request.headers["apikey"] == "pk_123"
    assert request.headers["authorization"] == "Bearer pk_123"


def test_token_wins_authorization_and_key_stays_in_apikey() -> None:
    handler = Recorder(httpx2.Response(200, json={"id": "p"}))
    with sync_client(handler, project="p", api_key="pk_1", token="jwt") as client:
        client.project_info()
    assert handler.last.headers["authorization"] == "Bearer jwt"
    assert handler.last.headers["apikey"] == "pk_1"


def test_no_credentials_no_auth_headers_and_custom_headers_merged() -> None:
    handler = Recorder(httpx2.Response(200, json={"items": [], "next_cursor": None}))
    with sync_client(handler, headers={"X-Trace": "t1"}) as client:
        assert client.admin.projects.list() == []
    assert "authorization" not in handler.last.headers
    assert "apikey" not in handler.last.headers
    assert handler.last.headers["x-trace"] == "t1"


def test_project_info_needs_a_project() -> None:
    with sync_client(Recorder(httpx2.Response(200, json={}))) as client:
        with pytest.raises(BaasError, match="no project"):
            client.project_info()


async def test_project_info_async() -> None:
    body = {"id": "myapp", "name": "My App", "caller": {"kind": "secret"}}
    handler = Recorder(httpx2.Response(200, json=body))
    async with async_client(handler, project="myapp", api_key="sk_1") as client:
        assert (await client.project_info())["caller"]["kind"] == "secret"
    assert handler.last.headers["apikey"] == "sk_1"


# -- admin operations ---------------------------------------------------------------


def admin_server(request: httpx2.Request) -> httpx2.Response:
    """A tiny stand-in answering admin routes with the documented shapes."""
    path, method = request.url.path, request.method
    if path == "/v1/admin/login":
        body = json.loads(request.content)
        assert body == {"email": "a@example.com", "password": "pw"}
        return httpx2.Response(200, json={
            "token": "adm_tok", "token_type": "bearer", "expires_at": "2030-01-01T00:00:00Z",
            "admin": {"id": "a1", "email": "a@example.com"},
        })
    if request.headers.get("authorization") != "Bearer adm_tok":
        return httpx2.Response(401, json=error_body(401, "unauthorized", "log in first"))
    if path == "/v1/admin/projects" and method == "GET":
        cursor = request.url.params.get("cursor")
        if cursor is None:
            return httpx2.Response(200, json={"items": [PROJECT], "next_cursor": "c2"})
        return httpx2.Response(200, json={"items": [{**PROJECT, "id": "other"}],
                                         "next_cursor": None})
    if path == "/v1/admin/projects" and method == "POST":
        assert json.loads(request.content) == {"id": "myapp", "name": "My App"}
        return httpx2.Response(201, json={"project": PROJECT, "keys": [
            key("publishable", secret="pk_s"), key("secret", secret="sk_s")]})
    if path == "/v1/admin/projects/my%2Fapp":
        return httpx2.Response(404, json=error_body(404, "project_not_found", "nope"))
    if path == "/v1/admin/projects/myapp":
        if method == "DELETE":
            return httpx2.Response(204)
        if method == "PATCH":
            return httpx2.Response(200, json={**PROJECT, **json.loads(request.content)})
        return httpx2.Response(200, json=PROJECT)
    if path == "/v1/admin/projects/myapp/keys" and method == "GET":
        return httpx2.Response(200, json={"items": [key()], "next_cursor": None})
    if path == "/v1/admin/projects/myapp/keys" and method == "POST":
        body = json.loads(request.content)
        assert body == {"kind": "secret", "name": "ci", "expires_at": "2030-01-01T00:00:00Z"}
        return httpx2.Response(201, json=key("secret", secret="sk_new", name="ci"))
    if path == "/v1/admin/projects/myapp/keys/key_secret" and method == "DELETE":
        return httpx2.Response(200, json=key("secret", revoked_at="2025-02-01T00:00:00Z"))
    return httpx2.Response(404, json=error_body(404, "not_found", "no route"))


def test_admin_flow_sync() -> None:
    with sync_client(admin_server) as client:
        with pytest.raises(Unauthorized):
            client.admin.projects.list()
        token = client.admin.login("a@example.com", "pw")
        assert token.token == "adm_tok" and token.admin["email"] == "a@example.com"
        assert client.token == "adm_tok"
        assert [p.id for p in client.admin.projects.list()] == ["myapp", "other"]
        created = client.admin.projects.create("myapp", name="My App")
        assert created.project.id == "myapp"
        assert [(k.kind, k.secret) for k in created.keys] == [
            ("publishable", "pk_s"), ("secret", "sk_s")]
        assert client.admin.projects.get("myapp").name == "My App"
        assert client.admin.projects.update("myapp", name="Renamed").name == "Renamed"
        client.admin.projects.delete("myapp")
        with pytest.raises(NotFound):
            client.admin.projects.get("my/app")  # quoted: never reaches another route
        assert [k.kind for k in client.admin.keys.list("myapp")] == ["publishable"]
        new = client.admin.keys.create(
            "myapp", "secret", name="ci", expires_at="2030-01-01T00:00:00Z")
        assert new.secret == "sk_new"
        assert client.admin.keys.revoke("myapp", "key_secret").revoked_at is not None


async def test_admin_flow_async() -> None:
    async with async_client(admin_server) as client:
        await client.admin.login("a@example.com", "pw")
        assert [p.id for p in await client.admin.projects.list()] == ["myapp", "other"]
        created = await client.admin.projects.create("myapp", name="My App")
        assert len(created.keys) == 2
        assert (await client.admin.projects.get("myapp")).id == "myapp"
        assert (await client.admin.projects.update("myapp", name="X")).name == "X"
        await client.admin.projects.delete("myapp")
        assert len(await client.admin.keys.list("myapp")) == 1
        new = await client.admin.keys.create(
            "myapp", "secret", name="ci", expires_at="2030-01-01T00:00:00Z")
        assert new.kind == "secret"
        revoked = await client.admin.keys.revoke("myapp", "key_secret")
        assert revoked.revoked_at == "2025-02-01T00:00:00Z"


def test_models_keep_unknown_fields() -> None:
    body = {**PROJECT, "settings": {"x": 1}}
    with sync_client(Recorder(httpx2.Response(200, json=body))) as client:
        project = client.admin.projects.get("myapp")
    assert project.model_dump()["settings"] == {"x": 1}
