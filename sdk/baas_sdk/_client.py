"""``Client`` and ``AsyncClient``: thin facades over ``BaseClient`` that differ only
in how they perform I/O. Pass ``transport=`` to run over ``httpx.ASGITransport``
(in process) or ``httpx.MockTransport`` (tests) instead of the network.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

from ._admin import AdminClient, AsyncAdminClient
from ._core import BaseClient, Call, project_info_call, translate_transport_errors

T = TypeVar("T")


class Client(BaseClient):
    """Synchronous client. Use as a context manager, or call ``close()``."""

    def __init__(
        self,
        url: str,
        project: str | None = None,
        api_key: str | None = None,
        token: str | None = None,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(
            url, project=project, api_key=api_key, token=token, timeout=timeout, headers=headers
        )
        self._http = httpx.Client(base_url=self.url, timeout=timeout, transport=transport)
        self.admin = AdminClient(self)

    def send(self, call: Call[T]) -> T:
        """Send one operation and return its parsed answer, or raise a ``BaasError``."""
        with translate_transport_errors(self.url):
            response = self._http.request(**self.request_kwargs(call))
        return self.handle_response(call, response)

    def project_info(self) -> dict[str, Any]:
        """The configured project and the kind of key used (``caller.kind``)."""
        return self.send(project_info_call(self.require_project()))

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
        transport: httpx.AsyncBaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(
            url, project=project, api_key=api_key, token=token, timeout=timeout, headers=headers
        )
        self._http = httpx.AsyncClient(base_url=self.url, timeout=timeout, transport=transport)
        self.admin = AsyncAdminClient(self)

    async def send(self, call: Call[T]) -> T:
        """Send one operation and return its parsed answer, or raise a ``BaasError``."""
        with translate_transport_errors(self.url):
            response = await self._http.request(**self.request_kwargs(call))
        return self.handle_response(call, response)

    async def project_info(self) -> dict[str, Any]:
        """The configured project and the kind of key used (``caller.kind``)."""
        return await self.send(project_info_call(self.require_project()))

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
