"""Counting each request against its limits (``baas.core.usage.limiter``), over HTTP.

``routing.guarded`` calls ``count`` once the caller is resolved and ``count_refused``
when its credentials are refused; a route whose request stands for several operations
(``:batch``) spends the rest with ``spend_more``. Only a 429 carries the RateLimit-*
headers: adding them to every answer would cost each request more than the count."""

from __future__ import annotations

from starlette.requests import Request

from baas.api.auth import CALLER, platform_of
from baas.api.clientip import client_ip
from baas.core.callers import Caller
from baas.core.tenancy.keys import ProjectKey
from baas.core.usage.limiter import RateLimited


async def count(request: Request, caller: Caller, cost: int = 1) -> None:
    """Spend ``cost`` of the caller's limits, or raise 429. Admin tokens are not counted;
    secret keys only per key (they are not limited per client address)."""
    key = caller.key
    if key is None or caller.project is None:
        return
    await platform_of(request).limiter.spend(caller.project, key.id, _address(request, key),
                                             cost)


def _address(request: Request, key: ProjectKey) -> str | None:
    """The client address a key's requests count against (none for secret keys)."""
    return None if key.kind == "secret" else client_ip(request)


async def count_refused(request: Request) -> None:
    """A request whose credentials were refused counts against its client address."""
    await platform_of(request).limiter.spend_refused(request.path_params.get("project"),
                                                     client_ip(request))


async def spend_more(request: Request, cost: int) -> None:
    """Spend ``cost`` more for a request that stands for several operations; if that is
    refused, the one its guard spent is given back (a refused request spends nothing)."""
    caller = request.scope.get(CALLER)
    if cost <= 0 or not isinstance(caller, Caller) or caller.key is None:
        return
    try:
        await count(request, caller, cost)
    except RateLimited:
        platform_of(request).limiter.refund(caller.project or "", caller.key.id,
                                            _address(request, caller.key), 1)
        raise
