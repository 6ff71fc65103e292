"""End to end: the SDK's ``client.auth`` against a real ``baas serve`` process over real
sockets, on both engines, sync and async: sign-up to sign-out, a session that survives a
restart of the client, automatic refresh (ahead of expiry and after a 401), concurrent
requests that spend the refresh token once, anonymous upgrade and the emailed flows."""

from __future__ import annotations

import asyncio
import base64
import email
import email.policy
import json
import os
import re
import stat
import subprocess
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from baas_sdk import (
    AsyncClient,
    BadRequest,
    Client,
    Conflict,
    FileStore,
    MemoryStore,
    NotFound,
    Session,
    Unauthorized,
)

from tests.conftest import ENGINES
from tests.e2e.test_serve_and_cli import BAAS, Server

PASSWORD = "correct horse battery"
NEW_PASSWORD = "another long passphrase"
ADMIN_PASSWORD = "a long admin password"


class Clock:
    """The client's clock, movable: the server keeps real time."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.offset)


class Events(list[str]):
    def __call__(self, event: str, session: Session | None) -> None:
        self.append(event)


@dataclass
class App:
    server: Server
    project: str
    pk: str

    def client(self, **kwargs: Any) -> Client:
        return Client(self.server.url, project=self.project, api_key=self.pk, **kwargs)

    def aclient(self, **kwargs: Any) -> AsyncClient:
        return AsyncClient(self.server.url, project=self.project, api_key=self.pk, **kwargs)

    def mail_token(self, to: str, page: str, timeout: float = 10.0) -> str:
        """The token in the newest mail to ``to`` linking to ``page`` (the outbox)."""
        outbox = self.server.data_dir / "outbox"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for path in sorted(outbox.glob("*.eml"), reverse=True) if outbox.exists() else []:
                message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
                body = message.get_body(("plain",))
                text = body.get_content() if body is not None else ""  # type: ignore[attr-defined]
                found = re.search(rf"/{re.escape(page)}\?token=([^\s\"&<>]+)", text)
                if message["To"] == to and found:
                    return unquote(found.group(1))
            time.sleep(0.05)
        raise AssertionError(f"no {page} mail to {to}")


@pytest.fixture(scope="module", params=ENGINES)
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
        ) -> Iterator[App]:
    tmp = tmp_path_factory.mktemp(f"auth-{request.param}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BAAS_")}
    env.update({"BAAS_LOG_FORMAT": "json", "BAAS_CLI_CONFIG": str(tmp / "cli.json"),
                "BAAS_ARGON2_TIME_COST": "1", "BAAS_AUTH_IP_LIMIT": "100000"})
    if request.param == "mongodb":
        env["BAAS_MONGODB_URL"] = request.getfixturevalue("mongo_url")
        env["BAAS_MONGODB_DB_PREFIX"] = "s" + uuid.uuid4().hex[:8] + "_"
    server = Server(env, tmp / "data")
    made = subprocess.run([BAAS, "admin", "create", "--email", "ops@example.com",
                           "--password-stdin", "--data-dir", str(server.data_dir)],
                          env=env, input=ADMIN_PASSWORD + "\n", capture_output=True,
                          text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    server.start()
    try:
        with Client(server.url) as admin:
            admin.admin.login("ops@example.com", ADMIN_PASSWORD)
            created = admin.admin.projects.create("authapp", name="Auth App")
        pk = next(k.secret for k in created.keys if k.kind == "publishable")
        assert pk is not None
        yield App(server, "authapp", pk)
        assert "Traceback" not in server.output()
    finally:
        if server.proc is not None:
            server.proc.kill()
            server.proc.wait()


def new_email() -> str:
    return f"u{uuid.uuid4().hex[:12]}@example.com"


def jwt_claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def stored(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text())["session"])


# -- sign-up to sign-out ------------------------------------------------------------


def test_sign_up_me_update_sign_out_sign_in(app: App) -> None:
    address, events = new_email(), Events()
    with app.client(on_change=events) as client:
        assert client.auth.user is None
        session = client.auth.sign_up(address, PASSWORD, data={"name": "Ann"})
        assert session.user is not None and session.user.email == address
        assert client.auth.user == session.user and client.auth.session == session
        assert session.expires_in == 900 and session.expires_at > datetime.now(UTC)
        claims = jwt_claims(session.access_token)
        assert (claims["sub"], claims["sid"], claims["role"]) == (
            session.user.id, session.session_id, "authenticated")
        assert client.auth.me().id == session.user.id
        updated = client.auth.update(data={"plan": "pro"})
        assert updated.data == {"name": "Ann", "plan": "pro"}  # the server merges keys
        assert client.auth.user is not None and client.auth.user.data == updated.data
        with pytest.raises(Conflict) as taken:
            client.auth.sign_up(address.upper(), PASSWORD)
        assert taken.value.code == "email_taken" and client.session == client.auth.session

        client.auth.sign_out()
        assert client.session is None and client.auth.user is None
        with pytest.raises(Unauthorized) as missing:
            client.auth.me()
        assert missing.value.code == "missing_credentials"
        client.auth.sign_out()  # signed out already: nothing to do
        with pytest.raises(Unauthorized) as wrong:
            client.auth.sign_in(address, "not the password")
        assert wrong.value.code == "invalid_credentials" and client.session is None

        again = client.auth.sign_in(address, PASSWORD)
        assert again.session_id != session.session_id
        assert [s.id for s in client.auth.sessions()] == [again.session_id]
    assert events == ["signed_in", "user_updated", "signed_out", "signed_in"]


async def test_async_sign_up_update_sign_out_sign_in(app: App) -> None:
    address = new_email()
    async with app.aclient() as client:
        session = await client.auth.sign_up(address, PASSWORD)
        assert (await client.auth.me()).email == address
        assert (await client.auth.update(data={"n": 1})).data == {"n": 1}
        await client.auth.sign_out(scope="global")
        assert client.session is None
        with pytest.raises(Unauthorized):
            await client.auth.me()
        again = await client.auth.sign_in(address, PASSWORD)
        assert again.user is not None and session.user is not None
        assert again.user.id == session.user.id
        await client.auth.delete_account()
        assert client.session is None
        with pytest.raises(Unauthorized):
            await client.auth.sign_in(address, PASSWORD)


# -- persistence --------------------------------------------------------------------


async def test_file_store_keeps_the_app_signed_in_across_restarts(
        app: App, tmp_path: Path) -> None:
    path, address = tmp_path / "app" / "session.json", new_email()
    with app.client(session_store=FileStore(path)) as first:
        session = first.auth.sign_up(address, PASSWORD)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stored(path)["refresh_token"] == session.refresh_token

    with app.client(session_store=FileStore(path)) as restarted:  # a new process, say
        assert restarted.auth.user is not None and restarted.auth.user.email == address
        assert restarted.auth.me().email == address
    async with app.aclient(session_store=FileStore(path)) as restarted_async:
        assert (await restarted_async.auth.me()).email == address
        await restarted_async.auth.sign_out()
    assert not path.exists()
    with app.client(session_store=FileStore(path)) as after:
        assert after.session is None


# -- automatic refresh --------------------------------------------------------------


def test_refreshes_ahead_of_expiry_and_persists_the_new_tokens(
        app: App, tmp_path: Path) -> None:
    path, clock, events = tmp_path / "s.json", Clock(), Events()
    with app.client(session_store=FileStore(path), clock=clock, on_change=events) as client:
        first = client.auth.sign_up(new_email(), PASSWORD)
        client.auth.me()
        assert events.count("token_refreshed") == 0
        clock.offset = first.expires_in - 30  # within the 60 s margin
        client.auth.me()
        second = client.session
        assert second is not None and events.count("token_refreshed") == 1
        assert second.session_id == first.session_id
        assert second.refresh_token != first.refresh_token
        assert second.access_token != first.access_token
        assert stored(path)["refresh_token"] == second.refresh_token
        client.auth.me()  # the new token is fresh: no second refresh
        assert events.count("token_refreshed") == 1

        # A copy of the old tokens spends a refresh token again: the server ends the
        # whole session, and both copies find themselves signed out.
        copy = MemoryStore()
        copy.save({"version": 1, "project": app.project,
                   "session": first.model_dump(mode="json")})
        with app.client(session_store=copy) as stale:
            with pytest.raises(Unauthorized) as reused:
                stale.auth.refresh()
            assert reused.value.code == "refresh_token_reused"
            assert stale.session is None and copy.load() is None
        with pytest.raises(Unauthorized) as ended:
            client.auth.me()  # 401 invalid_token, then the refresh fails too
        assert ended.value.code == "invalid_refresh_token"
        assert client.session is None and not path.exists()
        assert events[-1] == "signed_out"


def test_a_rejected_access_token_is_refreshed_once_and_retried(
        app: App, tmp_path: Path) -> None:
    path, events = tmp_path / "s.json", Events()
    with app.client(session_store=FileStore(path)) as client:
        session = client.auth.sign_up(new_email(), PASSWORD)
    data = json.loads(path.read_text())
    data["session"]["access_token"] = session.access_token[:-6] + "AAAAAA"  # bad signature
    path.write_text(json.dumps(data))
    with app.client(session_store=FileStore(path), on_change=events) as client:
        assert client.auth.me().id == session.user.id  # type: ignore[union-attr]
        assert events == ["token_refreshed"]
        assert stored(path)["access_token"] not in (session.access_token,
                                                    data["session"]["access_token"])


async def test_concurrent_async_requests_spend_the_refresh_token_once(app: App) -> None:
    clock, events = Clock(), Events()
    async with app.aclient(clock=clock, on_change=events) as client:
        first = await client.auth.sign_up(new_email(), PASSWORD)
        clock.offset = 3600  # expired, by the client's clock
        users = await asyncio.gather(*(client.auth.me() for _ in range(12)))
        assert {u.id for u in users} == {first.user.id}  # type: ignore[union-attr]
        assert events.count("token_refreshed") == 1
        # Reusing a spent token would have ended the session; it is alive and refreshes.
        await client.auth.refresh()
        assert len(await client.auth.sessions()) == 1

    # The 401 path: every request is rejected, one refresh serves them all.
    store = MemoryStore()
    async with app.aclient(session_store=store) as client:
        await client.auth.sign_up(new_email(), PASSWORD)
    data = store.load()
    assert data is not None
    data["session"]["access_token"] = "not-a-jwt"
    store.save(data)
    events = Events()
    async with app.aclient(session_store=store, on_change=events) as client:
        await asyncio.gather(*(client.auth.me() for _ in range(8)))
        assert events.count("token_refreshed") == 1
        await client.auth.refresh()


def test_concurrent_threads_spend_the_refresh_token_once(app: App) -> None:
    clock, events = Clock(), Events()
    with app.client(clock=clock, on_change=events) as client:
        client.auth.sign_up(new_email(), PASSWORD)
        clock.offset = 3600
        with ThreadPoolExecutor(max_workers=8) as pool:
            users = list(pool.map(lambda _: client.auth.me(), range(16)))
        assert len({u.id for u in users}) == 1
        assert events.count("token_refreshed") == 1
        client.auth.refresh()
        client.auth.me()


def test_clients_sharing_a_file_store_do_not_spend_the_same_token(
        app: App, tmp_path: Path) -> None:
    # Two clients (two processes of one app, say) share a session through the store.
    # Spending the same refresh token twice would make the server end the session.
    path, clock = tmp_path / "shared.json", Clock()
    one_events, two_events = Events(), Events()
    with app.client(session_store=FileStore(path), clock=clock, on_change=one_events) as one:
        one.auth.sign_up(new_email(), PASSWORD)
        with app.client(session_store=FileStore(path), clock=clock,
                        on_change=two_events) as two:
            clock.offset = 3600
            one.auth.me()  # refreshes and saves the new tokens
            two.auth.me()  # takes them from the store instead of spending its stale copy
            assert one.session is not None and two.session is not None
            assert two.session.refresh_token == one.session.refresh_token
            two.auth.refresh()  # now one holds a spent refresh token
            clock.offset = 7200
            one.auth.me()  # stale: refreshes with two's newer tokens, not its spent one
            two.auth.me()
            assert one.session.refresh_token == two.session.refresh_token
            assert stored(path)["refresh_token"] == one.session.refresh_token
    # one: its own refresh, then two's tokens taken from the store and refreshed.
    assert one_events == ["signed_in", "token_refreshed", "token_refreshed", "token_refreshed"]
    assert two_events == ["token_refreshed", "token_refreshed", "token_refreshed"]


# -- anonymous users, sessions, password and emailed flows --------------------------


async def test_anonymous_upgrade_keeps_the_id_and_sessions(app: App) -> None:
    address = new_email()
    async with app.aclient() as client:
        guest = await client.auth.sign_in_anonymously(data={"cart": [1]})
        assert guest.user is not None and guest.user.anonymous and guest.user.email is None
        assert jwt_claims(guest.access_token)["role"] == "anonymous"
        with pytest.raises(BadRequest) as no_email:
            await client.auth.request_verification()
        assert no_email.value.code == "no_email"
        user = await client.auth.update(email=address, password=PASSWORD)
        assert user.id == guest.user.id and not user.anonymous and user.email == address
        assert user.data == {"cart": [1]}
        session = client.session
        assert session is not None and session.session_id == guest.session_id
        assert jwt_claims(session.access_token)["role"] == "authenticated"  # refreshed

        async with app.aclient() as laptop:
            other = await laptop.auth.sign_in(address, PASSWORD)
            listed = await client.auth.sessions()
            assert {s.id: s.current for s in listed} == {
                guest.session_id: True, other.session_id: False}
            await client.auth.revoke_session(other.session_id)
            with pytest.raises(NotFound) as unknown:
                await client.auth.revoke_session("ses_unknown")
            assert unknown.value.code == "session_not_found"
            with pytest.raises(Unauthorized):
                await laptop.auth.me()  # its session ended: the refresh fails too
            assert laptop.session is None
        assert [s.id for s in await client.auth.sessions()] == [guest.session_id]


def test_password_change_verification_and_reset(app: App) -> None:
    address = new_email()
    with app.client() as client, app.client() as phone:
        client.auth.sign_up(address, PASSWORD)
        phone.auth.sign_in(address, PASSWORD)
        with pytest.raises(BadRequest) as needs:
            client.auth.update(password=NEW_PASSWORD)
        assert needs.value.code == "current_password_required"
        with pytest.raises(Unauthorized) as wrong:
            client.auth.update(password=NEW_PASSWORD, current_password="wrong password")
        assert wrong.value.code == "invalid_credentials" and client.session is not None
        client.auth.update(password=NEW_PASSWORD, current_password=PASSWORD)
        assert client.auth.me().email == address  # this session stays
        with pytest.raises(Unauthorized):
            phone.auth.me()  # the other one ended
        assert phone.session is None

        client.auth.request_verification()
        verified = client.auth.verify(app.mail_token(address, "auth/verify/confirm"))
        assert verified.email_verified
        assert client.auth.user is not None and client.auth.user.email_verified
        with pytest.raises(Conflict):
            client.auth.request_verification()

        client.auth.forgot_password(address)
        client.auth.forgot_password("nobody-" + address)  # same answer for unknown emails
        token = app.mail_token(address, "auth/password/reset")
        client.auth.reset_password(token, PASSWORD)
        with pytest.raises(BadRequest) as used:
            client.auth.reset_password(token, PASSWORD)
        assert used.value.code == "invalid_token"
        with pytest.raises(Unauthorized):
            client.auth.me()  # the reset ended every session
        assert client.session is None
        assert client.auth.sign_in(address, PASSWORD).user is not None
