"""``client.auth`` edge cases that a real server does not produce on demand (a 500 on
sign-out, a refresh that fails with 5xx, a 401 that survives a refresh), over
``httpx2.MockTransport`` scripted with the documented answers."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import pytest
from baas_sdk import (
    AsyncClient,
    Client,
    ConnectError,
    Forbidden,
    MemoryStore,
    RateLimited,
    ServerError,
    Unauthorized,
)
from baas_sdk._session import dump_session, load_session

from tests.sdk.test_sdk_auth_core import T0, USER, make_session

URL = "http://baas.test"
P = "/v1/projects/myapp/auth"
Reply = httpx2.Response | Callable[[httpx2.Request], httpx2.Response]


def error(status: int, code: str) -> httpx2.Response:
    return httpx2.Response(status, json={"error": {"status": status, "code": code,
                                                   "message": code, "details": {}}})


def auth_answer(n: int, **user: Any) -> httpx2.Response:
    return httpx2.Response(200, json={"user": {**USER, **user}, "session": {
        "access_token": f"at_{n}", "refresh_token": f"rt_{n}", "expires_in": 900,
        "expires_at": "2030-01-01T12:15:00Z", "token_type": "bearer", "session_id": "ses_1"}})


class Script:
    """Answers each ``METHOD path`` from a queue (the last answer repeats)."""

    def __init__(self, routes: dict[str, Reply | list[Reply]] | None = None) -> None:
        self.routes = {k: v if isinstance(v, list) else [v] for k, v in (routes or {}).items()}
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        key = f"{request.method} {request.url.path.removeprefix(P)}"
        queue = self.routes[key]
        reply = queue.pop(0) if len(queue) > 1 else queue[0]
        if callable(reply):
            return reply(request)
        # A fresh response each time: httpx2 binds a response to the client that read it.
        return httpx2.Response(reply.status_code, headers=reply.headers, content=reply.content)

    def calls(self, key: str) -> list[httpx2.Request]:
        method, path = key.split(" ")
        return [r for r in self.requests
                if r.method == method and r.url.path == P + path]


def signed_in_store(**session: Any) -> MemoryStore:
    store = MemoryStore()
    store.save(dump_session(make_session(**session), "myapp"))
    return store


def client(script: Script, store: MemoryStore | None = None, **kwargs: Any) -> Client:
    return Client(URL, project="myapp", api_key="pk_1", transport=httpx2.MockTransport(script),
                  session_store=store if store is not None else signed_in_store(),
                  clock=lambda: T0, **kwargs)


def aclient(script: Script, store: MemoryStore | None = None, **kwargs: Any) -> AsyncClient:
    return AsyncClient(URL, project="myapp", api_key="pk_1",
                       transport=httpx2.MockTransport(script),
                       session_store=store if store is not None else signed_in_store(),
                       clock=lambda: T0, **kwargs)


ME = httpx2.Response(200, json=USER)


def test_refresh_request_carries_the_key_and_the_refresh_token_only() -> None:
    script = Script({"GET /me": [error(401, "token_expired"), ME],
                     "POST /refresh": auth_answer(2)})
    with client(script) as c:
        assert c.auth.me().id == "usr_1"
        assert c.session is not None and c.session.access_token == "at_2"
    refresh = script.calls("POST /refresh")[0]
    assert json.loads(refresh.content) == {"refresh_token": "rt_1"}
    assert refresh.headers["authorization"] == "Bearer pk_1"
    assert refresh.headers["apikey"] == "pk_1"
    assert [r.headers["authorization"] for r in script.calls("GET /me")] == [
        "Bearer at_1", "Bearer at_2"]


def test_a_401_is_retried_once_only() -> None:
    script = Script({"GET /me": error(401, "token_expired"), "POST /refresh": auth_answer(2)})
    with client(script) as c, pytest.raises(Unauthorized) as info:
        c.auth.me()
    assert info.value.code == "token_expired"
    assert len(script.calls("GET /me")) == 2 and len(script.calls("POST /refresh")) == 1


async def test_a_401_is_retried_once_only_async() -> None:
    script = Script({"GET /me": error(401, "invalid_token"), "POST /refresh": auth_answer(2)})
    async with aclient(script) as c:
        with pytest.raises(Unauthorized):
            await c.auth.me()
    assert len(script.calls("GET /me")) == 2 and len(script.calls("POST /refresh")) == 1


@pytest.mark.parametrize("code", ["invalid_key", "invalid_credentials", "missing_api_key"])
def test_other_401s_are_not_retried(code: str) -> None:
    script = Script({"GET /me": error(401, code)})
    with client(script) as c, pytest.raises(Unauthorized):
        c.auth.me()
    assert len(script.requests) == 1
    assert c.session is not None  # a key problem does not sign the user out


def test_an_explicit_token_is_never_refreshed() -> None:
    script = Script({"GET /me": error(401, "token_expired")})
    with client(script, token="jwt_from_elsewhere") as c, pytest.raises(Unauthorized):
        c.auth.me()
    assert len(script.requests) == 1


@pytest.mark.parametrize(("reply", "raised"), [
    (error(500, "internal"), ServerError),
    (error(429, "rate_limited"), RateLimited),
])
def test_a_refresh_that_fails_for_another_reason_keeps_the_session(
        reply: httpx2.Response, raised: type[Exception]) -> None:
    store = signed_in_store(received_at=T0 - timedelta(hours=1))
    script = Script({"POST /refresh": reply})
    with client(script, store) as c, pytest.raises(raised):
        c.auth.me()
    assert c.session is not None and c.session.refresh_token == "rt_1"
    assert load_session(store.load(), "myapp") == c.session


@pytest.mark.parametrize("reply", [error(503, "unavailable"), error(429, "rate_limited")])
async def test_an_early_refresh_that_fails_still_sends_a_valid_token(
        reply: httpx2.Response) -> None:
    store = signed_in_store(received_at=T0 - timedelta(seconds=870))  # 30 s left
    script = Script({"POST /refresh": reply, "GET /me": ME})
    async with aclient(script, store) as c:
        assert (await c.auth.me()).id == "usr_1"
        assert c.session is not None and c.session.access_token == "at_1"
    assert [r.url.path for r in script.requests] == [P + "/refresh", P + "/me"]


@pytest.mark.parametrize(("reply", "raised"), [
    (error(401, "invalid_refresh_token"), Unauthorized),
    (error(401, "session_expired"), Unauthorized),
    (error(403, "user_disabled"), Forbidden),
])
async def test_a_refresh_that_ends_the_session_signs_out(
        reply: httpx2.Response, raised: type[Exception]) -> None:
    store = signed_in_store(received_at=T0 - timedelta(hours=1))
    events: list[str] = []
    script = Script({"POST /refresh": reply})
    async with aclient(script, store, on_change=lambda e, s: events.append(e)) as c:
        with pytest.raises(raised):
            await c.auth.me()
        assert c.session is None and store.load() is None
        assert events == ["signed_out"]
        assert script.calls("GET /me") == []  # never sent with the stale token


@pytest.mark.parametrize("reply", [error(401, "invalid_token"), error(404, "not_found"),
                                   httpx2.Response(204)])
def test_sign_out_forgets_the_session_when_the_server_is_done_with_it(
        reply: httpx2.Response) -> None:
    store = signed_in_store()
    script = Script({"POST /logout": reply,
                     "POST /refresh": error(401, "invalid_refresh_token")})
    with client(script, store) as c:
        c.auth.sign_out(scope="global")
        assert c.session is None and store.load() is None
    assert json.loads(script.calls("POST /logout")[0].content) == {"scope": "global"}


def test_sign_out_keeps_the_session_when_the_server_cannot_be_told() -> None:
    def down(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("refused")

    for reply, raised in ((error(503, "unavailable"), ServerError), (down, ConnectError)):
        with client(Script({"POST /logout": reply})) as c, pytest.raises(raised):
            c.auth.sign_out()
        assert c.session is not None  # try again later


def test_anonymous_upgrade_refreshes_so_the_token_carries_the_new_role() -> None:
    store = MemoryStore()
    script = Script({"POST /anonymous": auth_answer(1, anonymous=True, email=None),
                     "PATCH /me": httpx2.Response(200, json={**USER, "anonymous": False}),
                     "POST /refresh": auth_answer(2)})
    with client(script, store) as c:
        c.auth.sign_in_anonymously()
        assert c.auth.user is not None and c.auth.user.anonymous
        user = c.auth.update(email="a@example.com", password="pw pw pw pw")
        assert not user.anonymous and c.session is not None
        assert c.session.access_token == "at_2"
        c.auth.update(data={"x": 1})  # no longer anonymous: no refresh
    assert len(script.calls("POST /refresh")) == 1
    assert script.calls("POST /anonymous")[0].content == b"{}"


def test_revoking_the_current_session_or_deleting_the_account_signs_out() -> None:
    script = Script({"DELETE /sessions/ses_2": httpx2.Response(204),
                     "DELETE /sessions/ses_1": httpx2.Response(204),
                     "DELETE /me": httpx2.Response(204)})
    with client(script) as c:
        c.auth.revoke_session("ses_2")
        assert c.session is not None
        c.auth.revoke_session("ses_1")
        assert c.session is None
    with client(script) as c:
        c.auth.delete_account()
        assert c.session is None


def test_verify_updates_the_cached_user_only_when_it_is_the_same_user() -> None:
    script = Script({"POST /verify/confirm": [
        httpx2.Response(200, json={**USER, "id": "usr_other", "email_verified": True}),
        httpx2.Response(200, json={**USER, "email_verified": True})]})
    with client(script) as c:
        assert c.auth.verify("tok_a").id == "usr_other"
        assert c.auth.user is not None and not c.auth.user.email_verified
        assert c.auth.verify("tok_b").email_verified
        assert c.auth.user.email_verified
    # The emailed token is the credential: the user's access token is not sent.
    assert script.requests[0].headers["authorization"] == "Bearer pk_1"


def test_stored_session_of_a_past_run_is_refreshed_before_use() -> None:
    past = datetime(2020, 1, 1, tzinfo=UTC)
    store = signed_in_store(received_at=past)
    script = Script({"POST /refresh": auth_answer(2), "GET /me": ME})
    with client(script, store) as c:
        c.auth.me()
    assert [r.url.path for r in script.requests] == [P + "/refresh", P + "/me"]
    assert script.requests[1].headers["authorization"] == "Bearer at_2"
