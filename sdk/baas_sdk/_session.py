"""Where a signed-in session lives and when it must be refreshed.

* ``SessionStore`` is the persistence seam: ``MemoryStore`` (the default, gone with the
  process) and ``FileStore`` (a JSON file, written atomically, mode 0600) ship with the
  SDK; anything with ``load``/``save``/``clear`` works (a keyring, a database row...).
* The functions below decide, from plain values and an injected clock, whether to refresh
  and what a failed request means. They do no I/O, so they are tested without a network.
* ``SessionState`` is the one place that changes the current session: it keeps the
  store and the ``on_change`` callback in step with it.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import pydantic

from ._exceptions import APIError
from ._models import AuthAnswer, Session, User

Clock = Callable[[], datetime]
OnChange = Callable[[str, Session | None], None]

STORE_VERSION = 1
DEFAULT_REFRESH_MARGIN = 60.0

# 401 codes after which one refresh and one retry may succeed.
RETRY_CODES = frozenset({"token_expired", "invalid_token"})
# Answers of P/auth/refresh meaning the session is over: sign out locally.
SESSION_OVER = frozenset({
    (401, "invalid_refresh_token"),  # unknown, revoked (sign-out, password reset), user gone
    (401, "refresh_token_reused"),   # a spent token came back: the server ended the session
    (401, "session_expired"),        # idle or absolute session lifetime reached
    (403, "user_disabled"),          # the server ends the session of a disabled user
})

# Events passed to ``on_change``.
SIGNED_IN = "signed_in"
SIGNED_OUT = "signed_out"
TOKEN_REFRESHED = "token_refreshed"  # noqa: S105 (an event name)
USER_UPDATED = "user_updated"


def utc_now() -> datetime:
    return datetime.now(UTC)


# -- stores -------------------------------------------------------------------------


@runtime_checkable
class SessionStore(Protocol):
    """Persists the session between runs. ``load`` answers None when there is none."""

    def load(self) -> dict[str, Any] | None: ...

    def save(self, data: dict[str, Any]) -> None: ...

    def clear(self) -> None: ...


class MemoryStore:
    """Keeps the session in memory only: signing in again is needed after a restart."""

    def __init__(self) -> None:
        self._data: dict[str, Any] | None = None

    def load(self) -> dict[str, Any] | None:
        return copy.deepcopy(self._data)

    def save(self, data: dict[str, Any]) -> None:
        self._data = copy.deepcopy(data)

    def clear(self) -> None:
        self._data = None


class FileStore:
    """Keeps the session in a JSON file readable by its owner only (mode 0600).

    Writes go to a temporary file in the same directory that then replaces the old one,
    so a crash never leaves half a session behind. A missing, unreadable or corrupt file
    loads as "signed out".
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()

    def load(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def save(self, data: dict[str, Any]) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # mkstemp creates the file with mode 0600, before any secret is written to it.
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp",
                                   dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(data, out, separators=(",", ":"))
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)

    def __repr__(self) -> str:
        return f"FileStore({str(self.path)!r})"


# -- pure decisions -----------------------------------------------------------------


def dump_session(session: Session, project: str | None) -> dict[str, Any]:
    return {"version": STORE_VERSION, "project": project,
            "session": session.model_dump(mode="json")}


def load_session(data: dict[str, Any] | None, project: str | None) -> Session | None:
    """The session in a stored dict, or None when absent, unreadable or another project's."""
    if not isinstance(data, dict) or data.get("version") != STORE_VERSION:
        return None
    if data.get("project") != project:
        return None
    try:
        return Session.model_validate(data.get("session"))
    except pydantic.ValidationError:
        return None


def expiry(session: Session) -> datetime:
    """When the access token expires, on the client's clock when it is known."""
    if session.received_at is not None:
        return session.received_at + timedelta(seconds=session.expires_in)
    return session.expires_at


def effective_margin(session: Session, margin: float) -> float:
    # Never more than half the token's life: a short-lived token (the server allows
    # 60 s) must not make every request refresh.
    return max(0.0, min(margin, session.expires_in / 2))


def needs_refresh(session: Session, now: datetime, margin: float) -> bool:
    """True when the access token is expired or expires within the margin."""
    return now >= expiry(session) - timedelta(seconds=effective_margin(session, margin))


def retry_after_refresh(error: APIError) -> bool:
    """A 401 that a refresh may cure: the access token expired or was not accepted."""
    return error.status == 401 and error.code in RETRY_CODES


def ends_session(error: APIError) -> bool:
    """A failed refresh after which the session cannot be used any more."""
    return (error.status, error.code) in SESSION_OVER


def rotated_elsewhere(current: Session, stored: Session | None) -> bool:
    """The store holds newer tokens of the same session (another client refreshed)."""
    return (
        stored is not None
        and stored.session_id == current.session_id
        and stored.refresh_token != current.refresh_token
        and expiry(stored) > expiry(current)
    )


def refresh_now(current: Session | None, seen: str | None, stored: Session | None,
                now: datetime, margin: float) -> tuple[bool, Session | None]:
    """Under the refresh lock, decide whether to spend the refresh token.

    ``seen`` is the access token the caller found stale (None: refresh unconditionally).
    Answers (refresh?, session to adopt from the store or None). The refresh token is
    spent at most once per rotation: when another caller already replaced the access
    token the caller saw, or the store holds newer tokens, nothing is spent.
    """
    if current is None:
        return False, None
    if seen is not None and current.access_token != seen:
        return False, None
    if stored is not None and rotated_elsewhere(current, stored):
        return needs_refresh(stored, now, margin), stored
    return True, None


# -- state --------------------------------------------------------------------------


class SessionState:
    """The current session, kept in step with the store and reported to ``on_change``."""

    def __init__(self, store: SessionStore | None, project: str | None,
                 clock: Clock | None = None, on_change: OnChange | None = None) -> None:
        self.store: SessionStore = store if store is not None else MemoryStore()
        self.project = project
        self.clock: Clock = clock or utc_now
        self.on_change = on_change
        self.session: Session | None = self.stored()

    def stored(self) -> Session | None:
        return load_session(self.store.load(), self.project)

    def _notify(self, event: str) -> None:
        if self.on_change is not None:
            self.on_change(event, self.session)

    def _set(self, session: Session, event: str, *, save: bool = True) -> Session:
        self.session = session
        if save:
            self.store.save(dump_session(session, self.project))
        self._notify(event)
        return session

    def adopt(self, answer: AuthAnswer, event: str) -> Session:
        """Take the tokens of a sign-in or refresh answer as the current session."""
        session = answer.session.model_copy(
            update={"user": answer.user, "received_at": self.clock()}
        )
        return self._set(session, event)

    def adopt_stored(self, session: Session) -> Session:
        """Take newer tokens another client already saved (nothing to save again)."""
        return self._set(session, TOKEN_REFRESHED, save=False)

    def set_user(self, user: User) -> None:
        """Keep the cached user current after me(), update() or verify()."""
        if self.session is None or self.session.user == user:
            return
        if self.session.user is not None and self.session.user.id != user.id:
            return
        self._set(self.session.model_copy(update={"user": user}), USER_UPDATED)

    def clear(self) -> None:
        self.session = None
        self.store.clear()
        self._notify(SIGNED_OUT)
