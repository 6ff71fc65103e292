"""The SDK's session handling without a network: the stores, the refresh decisions
(with an injected clock) and the headers a request carries."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
from baas_sdk import (
    APIError,
    BaasError,
    Client,
    FileStore,
    MemoryStore,
    Session,
    SessionStore,
    User,
)
from baas_sdk._auth import sign_in_call, update_call
from baas_sdk._core import Call, parse_json
from baas_sdk._models import AuthAnswer
from baas_sdk._session import (
    SessionState,
    dump_session,
    effective_margin,
    ends_session,
    expiry,
    load_session,
    needs_refresh,
    refresh_now,
    retry_after_refresh,
)

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
USER = {"id": "usr_1", "email": "a@example.com", "email_verified": False,
        "anonymous": False, "disabled": False, "data": {}, "created_at": "2030-01-01T00:00:00Z",
        "updated_at": "2030-01-01T00:00:00Z", "last_sign_in_at": None}


def make_session(access: str = "at_1", refresh: str = "rt_1", *, expires_in: int = 900,
                 received_at: datetime | None = T0, sid: str = "ses_1") -> Session:
    return Session(access_token=access, refresh_token=refresh, expires_in=expires_in,
                   expires_at=T0 + timedelta(seconds=expires_in), session_id=sid,
                   user=User.model_validate(USER), received_at=received_at)


def no_network(request: httpx2.Request) -> httpx2.Response:
    raise AssertionError(f"unexpected request {request.method} {request.url}")


# -- stores -------------------------------------------------------------------------


def test_stores_satisfy_the_protocol() -> None:
    assert isinstance(MemoryStore(), SessionStore)
    assert isinstance(FileStore("x.json"), SessionStore)


def test_memory_store_copies() -> None:
    store = MemoryStore()
    assert store.load() is None
    data = {"a": {"b": 1}}
    store.save(data)
    data["a"]["b"] = 2
    loaded = store.load()
    assert loaded == {"a": {"b": 1}}
    assert loaded is not None
    loaded["a"]["b"] = 3
    assert store.load() == {"a": {"b": 1}}
    store.clear()
    assert store.load() is None


def test_file_store_round_trip_with_owner_only_permissions(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "session.json"
    store = FileStore(path)
    assert store.load() is None
    store.save({"token": "secret"})
    assert json.loads(path.read_text()) == {"token": "secret"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    store.save({"token": "newer"})  # replaces, keeps the mode
    assert store.load() == {"token": "newer"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert os.listdir(path.parent) == ["session.json"]  # no temporary file left behind
    store.clear()
    assert not path.exists()
    store.clear()  # clearing twice is fine


def test_file_store_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "session.json"
    store = FileStore(path)
    store.save({"token": "old"})

    def crash(*args: Any, **kwargs: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(json, "dump", crash)
    with pytest.raises(OSError, match="disk full"):
        store.save({"token": "new"})
    monkeypatch.undo()
    assert store.load() == {"token": "old"}
    assert os.listdir(tmp_path) == ["session.json"]


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '"text"', "", "\xff"])
def test_corrupt_file_loads_as_signed_out(tmp_path: Path, content: str) -> None:
    path = tmp_path / "session.json"
    path.write_text(content, encoding="latin-1")
    assert FileStore(path).load() is None
    with Client("http://baas.test", project="p", api_key="pk_1", session_store=FileStore(path),
                transport=httpx2.MockTransport(no_network)) as client:
        assert client.session is None and client.auth.user is None


def test_unreadable_path_loads_as_signed_out(tmp_path: Path) -> None:
    assert FileStore(tmp_path).load() is None  # a directory, not a file


# -- what is stored -----------------------------------------------------------------


def test_dump_and_load_session() -> None:
    session = make_session()
    data = dump_session(session, "myapp")
    assert json.loads(json.dumps(data)) == data  # plain JSON
    assert data["version"] == 1 and data["project"] == "myapp"
    assert load_session(data, "myapp") == session
    assert load_session(data, "other") is None  # another project's session is ignored
    assert load_session({**data, "version": 99}, "myapp") is None
    assert load_session({**data, "session": {"access_token": "x"}}, "myapp") is None
    assert load_session(None, "myapp") is None


def test_session_repr_hides_tokens() -> None:
    text = repr(make_session("at_secret", "rt_secret"))
    assert "at_secret" not in text and "rt_secret" not in text and "ses_1" in text


def test_naive_timestamps_are_utc() -> None:
    session = Session.model_validate({
        "access_token": "a", "refresh_token": "r", "expires_in": 900,
        "expires_at": "2030-01-01T12:15:00", "session_id": "s"})
    assert session.expires_at == T0 + timedelta(minutes=15)
    assert session.token_type == "bearer" and session.user is None


def test_user_keeps_unknown_fields() -> None:
    user = User.model_validate({**USER, "app_metadata": {"plan": "pro"}})
    assert user.model_dump()["app_metadata"] == {"plan": "pro"}


# -- refresh decisions --------------------------------------------------------------


def test_expiry_uses_the_client_clock_when_known() -> None:
    # The server's clock is an hour off: the client's own receipt time decides.
    skewed = make_session().model_copy(update={"expires_at": T0 - timedelta(hours=1)})
    assert expiry(skewed) == T0 + timedelta(seconds=900)
    assert expiry(skewed.model_copy(update={"received_at": None})) == T0 - timedelta(hours=1)


@pytest.mark.parametrize(
    ("elapsed", "margin", "expected"),
    [
        (0, 60, False),
        (839, 60, False),
        (840, 60, True),   # within the margin
        (900, 60, True),   # expired
        (5000, 60, True),
        (899, 0, False),
        (449, 10_000, False),  # the margin is capped at half the token's life
        (450, 10_000, True),
    ],
)
def test_needs_refresh(elapsed: int, margin: float, expected: bool) -> None:
    now = T0 + timedelta(seconds=elapsed)
    assert needs_refresh(make_session(), now, margin) is expected


def test_short_lived_tokens_do_not_refresh_on_every_request() -> None:
    session = make_session(expires_in=60)
    assert effective_margin(session, 60) == 30
    assert not needs_refresh(session, T0 + timedelta(seconds=29), 60)
    assert needs_refresh(session, T0 + timedelta(seconds=30), 60)


def err(status: int, code: str) -> APIError:
    return APIError("m", status=status, code=code)


def test_which_errors_refresh_and_which_end_the_session() -> None:
    assert retry_after_refresh(err(401, "token_expired"))
    assert retry_after_refresh(err(401, "invalid_token"))
    assert not retry_after_refresh(err(401, "invalid_key"))
    assert not retry_after_refresh(err(403, "token_expired"))
    for status, code in [(401, "invalid_refresh_token"), (401, "refresh_token_reused"),
                         (401, "session_expired"), (403, "user_disabled")]:
        assert ends_session(err(status, code))
    assert not ends_session(err(401, "invalid_key"))  # a key problem: the session may live
    assert not ends_session(err(429, "rate_limited"))
    assert not ends_session(err(500, "internal"))


def test_refresh_now() -> None:
    current = make_session("at_1", "rt_1")
    later = T0 + timedelta(seconds=10)
    # Nobody rotated: spend the refresh token.
    assert refresh_now(current, "at_1", None, later, 60) == (True, None)
    assert refresh_now(current, None, current, later, 60) == (True, None)
    # Signed out meanwhile: nothing to refresh.
    assert refresh_now(None, "at_1", None, later, 60) == (False, None)
    # Another caller in this process already rotated the token the caller saw.
    assert refresh_now(current, "at_0", None, later, 60) == (False, None)
    # Another client sharing the store rotated: adopt its tokens, spend nothing.
    newer = make_session("at_2", "rt_2", received_at=T0 + timedelta(seconds=5))
    assert refresh_now(current, "at_1", newer, later, 60) == (False, newer)
    # ... unless those are stale too.
    assert refresh_now(current, "at_1", newer, T0 + timedelta(seconds=890), 60) == (True, newer)
    # Older, identical or another session's tokens in the store are not adopted.
    older = make_session("at_0", "rt_0", received_at=T0 - timedelta(seconds=5))
    other = make_session("at_9", "rt_9", sid="ses_9", received_at=T0 + timedelta(seconds=5))
    for stored in (older, current, other):
        assert refresh_now(current, "at_1", stored, later, 60) == (True, None)


def test_session_state_keeps_store_and_callback_in_step() -> None:
    events: list[tuple[str, str | None]] = []
    store = MemoryStore()
    state = SessionState(store, "myapp", lambda: T0,
                         lambda event, s: events.append((event, s and s.access_token)))
    assert state.session is None
    answer = AuthAnswer.model_validate({"user": USER, "session": {
        "access_token": "at_1", "refresh_token": "rt_1", "expires_in": 900,
        "expires_at": "2030-01-01T12:15:00Z", "token_type": "bearer", "session_id": "ses_1"}})
    session = state.adopt(answer, "signed_in")
    assert session.received_at == T0 and session.user and session.user.id == "usr_1"
    assert load_session(store.load(), "myapp") == session
    assert SessionState(store, "myapp").session == session  # what a restart sees
    assert SessionState(store, "other").session is None
    state.set_user(User.model_validate({**USER, "data": {"n": 1}}))
    assert state.session and state.session.user and state.session.user.data == {"n": 1}
    state.set_user(User.model_validate({**USER, "id": "usr_2"}))  # someone else: ignored
    assert state.session.user.id == "usr_1"
    state.clear()
    assert state.session is None and store.load() is None
    assert events == [("signed_in", "at_1"), ("user_updated", "at_1"), ("signed_out", None)]


# -- headers ------------------------------------------------------------------------


def client_with(session: Session | None, **kwargs: Any) -> Client:
    store = MemoryStore()
    if session is not None:
        store.save(dump_session(session, "myapp"))
    return Client("http://baas.test", project="myapp", api_key="pk_1", session_store=store,
                  transport=httpx2.MockTransport(no_network), clock=lambda: T0, **kwargs)


def headers_of(client: Client, call: Call[Any]) -> dict[str, str]:
    return dict(client.request_kwargs(call)["headers"])


def test_session_token_goes_in_authorization_and_key_in_apikey() -> None:
    with client_with(make_session("at_live")) as client:
        assert client.auth.session is not None and client.auth.user is not None
        headers = headers_of(client, Call("GET", "/x", parse_json))
        assert headers["Authorization"] == "Bearer at_live"
        assert headers["apikey"] == "pk_1"
        # Signing in or redeeming a token never carries the user's access token.
        signin = headers_of(client, sign_in_call("myapp", "a@example.com", "pw"))
        assert signin["Authorization"] == "Bearer pk_1" and signin["apikey"] == "pk_1"


def test_explicit_token_wins_over_the_session() -> None:
    with client_with(make_session("at_live"), token="jwt_from_elsewhere") as client:
        headers = headers_of(client, Call("GET", "/x", parse_json))
        assert headers["Authorization"] == "Bearer jwt_from_elsewhere"
        assert client.stale_token(Call("GET", "/x", parse_json)) is None  # not ours to refresh


def test_signed_out_sends_the_key_only() -> None:
    with client_with(None) as client:
        headers = headers_of(client, Call("GET", "/x", parse_json))
        assert headers["Authorization"] == "Bearer pk_1" and headers["apikey"] == "pk_1"


def test_stale_and_retry_tokens() -> None:
    call: Call[Any] = Call("GET", "/x", parse_json)
    with client_with(make_session("at_1"), refresh_margin=60) as client:
        assert client.stale_token(call) is None
        client.auth_state.clock = lambda: T0 + timedelta(seconds=850)
        assert client.stale_token(call) == "at_1"
        assert client.stale_token(sign_in_call("myapp", "e", "p")) is None
        expired = httpx2.Response(401, json={"error": {"code": "token_expired"}})
        assert client.retry_token("at_1", expired) == "at_1"
        assert client.retry_token(None, expired) is None
        bad_key = httpx2.Response(401, json={"error": {"code": "invalid_key"}})
        assert client.retry_token("at_1", bad_key) is None
        assert client.retry_token("at_1", httpx2.Response(200, json={})) is None


def test_update_needs_a_field_and_sends_only_the_given_ones() -> None:
    with pytest.raises(BaasError):
        update_call("myapp")
    assert update_call("myapp", data={"a": 1}).json == {"data": {"a": 1}}
    call = update_call("myapp", email="e@x.io", password="pw", current_password="old")
    assert call.json == {"email": "e@x.io", "password": "pw", "current_password": "old"}


def test_sign_out_scope_is_checked() -> None:
    with client_with(make_session()) as client, pytest.raises(BaasError, match="scope"):
        client.auth.sign_out("everywhere")  # type: ignore[arg-type]


def test_refresh_when_signed_out_is_an_error() -> None:
    with client_with(None) as client, pytest.raises(BaasError, match="not signed in"):
        client.auth.refresh()
