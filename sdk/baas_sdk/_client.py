"""``Client`` and ``AsyncClient``: thin facades over ``BaseClient`` that differ only
in how they perform I/O. Pass ``transport=`` to run over ``httpx2.ASGITransport``
(in process) or ``httpx2.MockTransport`` (tests) instead of the network.

``send`` is where a signed-in session stays usable: it refreshes the access token before
a request when it expires within ``refresh_margin`` seconds, and once more after a 401
``token_expired``/``invalid_token``. Refreshes are serialized by a lock (a
``threading.RLock``, an ``asyncio.Lock``) and skipped when another caller already rotated
the tokens, because the server revokes the whole session when a refresh token is reused.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self, TypeVar, overload

import httpx2
import pydantic

from ._admin import AdminClient, AsyncAdminClient
from ._auth import AsyncAuth, Auth, refresh_call
from ._core import BaseClient, Call, project_info_call, translate_transport_errors
from ._document_types import Document, model_decoder
from ._documents import AsyncCollection, Collection
from ._exceptions import BaasError
from ._models import Session
from ._session import DEFAULT_REFRESH_MARGIN, Clock, OnChange, SessionStore

T = TypeVar("T")
M = TypeVar("M", bound=pydantic.BaseModel)


class Client(BaseClient):
    """Synchronous client. Use as a context manager, or call ``close()``."""

    def __init__(
        self,
        url: str,
        project: str | None = None,
        api_key: str | None = None,
        token: str | None = None,
        timeout: float = 10.0,
        transport: httpx2.BaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
        *,
        session_store: SessionStore | None = None,
        refresh_margin: float = DEFAULT_REFRESH_MARGIN,
        on_change: OnChange | None = None,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(
            url, project=project, api_key=api_key, token=token, timeout=timeout,
            headers=headers, session_store=session_store, refresh_margin=refresh_margin,
            on_change=on_change, clock=clock,
        )
        self._http = httpx2.Client(base_url=self.url, timeout=timeout, transport=transport)
        # Reentrant: an on_change callback that sends a request cannot deadlock.
        self._refresh_lock = threading.RLock()
        self.admin = AdminClient(self)
        self.auth = Auth(self)

    def send(self, call: Call[T]) -> T:
        """Send one operation and return its parsed answer, or raise a ``BaasError``."""
        stale = self.stale_token(call)
        if stale is not None:
            try:
                self._refresh(stale)
            except BaasError:
                if not self.token_still_valid():
                    raise
        sent = self.session_token(call)
        response = self._request(call)
        retry = self.retry_token(sent, response)
        if retry is not None:
            self._refresh(retry)
            response = self._request(call)
        return self.handle_response(call, response)

    def _request(self, call: Call[Any]) -> httpx2.Response:
        with translate_transport_errors(self.url):
            return self._http.request(**self.request_kwargs(call))

    def _refresh(self, seen: str | None) -> Session | None:
        with self._refresh_lock:
            session = self.begin_refresh(seen)
            if session is None:
                return self.session
            call = refresh_call(self.require_project(), session.refresh_token)
            return self.finish_refresh(call, self._request(call))

    def refresh_session(self) -> Session:
        """Spend the refresh token now (``client.auth.refresh()``)."""
        session = self._refresh(None) if self.session is not None else None
        if session is None:
            raise BaasError("not signed in")
        return session

    def project_info(self) -> dict[str, Any]:
        """The configured project and the kind of key used (``caller.kind``)."""
        return self.send(project_info_call(self.require_project()))

    @overload
    def collection(self, name: str, *, model: None = None) -> Collection[Document]: ...
    @overload
    def collection(self, name: str, *, model: type[M]) -> Collection[M]: ...
    def collection(
        self, name: str, *, model: type[M] | None = None
    ) -> Collection[Document] | Collection[M]:
        """A collection's documents: ``Document``s, or instances of the pydantic ``model``."""
        if model is None:
            return Collection(self, name, Document)
        return Collection(self, name, model_decoder(model))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncClient(BaseClient):
    """Asynchronous client. Use with ``async with``, or call ``aclose()``."""

    def __init__(
        self,
        url: str,
        project: str | None = None,
        api_key: str | None = None,
        token: str | None = None,
        timeout: float = 10.0,
        transport: httpx2.AsyncBaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
        *,
        session_store: SessionStore | None = None,
        refresh_margin: float = DEFAULT_REFRESH_MARGIN,
        on_change: OnChange | None = None,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(
            url, project=project, api_key=api_key, token=token, timeout=timeout,
            headers=headers, session_store=session_store, refresh_margin=refresh_margin,
            on_change=on_change, clock=clock,
        )
        self._http = httpx2.AsyncClient(base_url=self.url, timeout=timeout, transport=transport)
        self._refresh_lock = asyncio.Lock()
        self.admin = AsyncAdminClient(self)
        self.auth = AsyncAuth(self)

    async def send(self, call: Call[T]) -> T:
        """Send one operation and return its parsed answer, or raise a ``BaasError``."""
        stale = self.stale_token(call)
        if stale is not None:
            try:
                await self._refresh(stale)
            except BaasError:
                if not self.token_still_valid():
                    raise
        sent = self.session_token(call)
        response = await self._request(call)
        retry = self.retry_token(sent, response)
        if retry is not None:
            await self._refresh(retry)
            response = await self._request(call)
        return self.handle_response(call, response)

    async def _request(self, call: Call[Any]) -> httpx2.Response:
        with translate_transport_errors(self.url):
            return await self._http.request(**self.request_kwargs(call))

    async def _refresh(self, seen: str | None) -> Session | None:
        async with self._refresh_lock:
            session = self.begin_refresh(seen)
            if session is None:
                return self.session
            call = refresh_call(self.require_project(), session.refresh_token)
            return self.finish_refresh(call, await self._request(call))

    async def refresh_session(self) -> Session:
        """Spend the refresh token now (``client.auth.refresh()``)."""
        session = await self._refresh(None) if self.session is not None else None
        if session is None:
            raise BaasError("not signed in")
        return session

    async def project_info(self) -> dict[str, Any]:
        """The configured project and the kind of key used (``caller.kind``)."""
        return await self.send(project_info_call(self.require_project()))

    @overload
    def collection(self, name: str, *, model: None = None) -> AsyncCollection[Document]: ...
    @overload
    def collection(self, name: str, *, model: type[M]) -> AsyncCollection[M]: ...
    def collection(
        self, name: str, *, model: type[M] | None = None
    ) -> AsyncCollection[Document] | AsyncCollection[M]:
        """A collection's documents: ``Document``s, or instances of the pydantic ``model``."""
        if model is None:
            return AsyncCollection(self, name, Document)
        return AsyncCollection(self, name, model_decoder(model))

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
