"""The client's address, believing X-Forwarded-For only from configured proxies.

The header is read right to left: each hop was appended by the proxy in front of
it, so the first address that is not a trusted proxy is the client. From a peer
that is not a trusted proxy the header is ignored, so a client cannot spoof it.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from starlette.requests import Request

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_HOPS = 32


@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in proxies)


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_ip(request: Request) -> str:
    cached = request.scope.get("baas.client_ip")
    if isinstance(cached, str):
        return cached
    peer = request.client.host if request.client else "unknown"
    networks = _networks(tuple(request.app.state.settings.trusted_proxies))
    address = peer
    if networks and _trusted(peer, networks):
        hops = [hop.strip() for line in request.headers.getlist("x-forwarded-for")
                for hop in line.split(",")][-MAX_HOPS:]
        for hop in reversed(hops):
            try:
                address = str(ipaddress.ip_address(hop))
            except ValueError:
                break  # garbage: stop believing, keep the last good address
            if not _trusted(address, networks):
                break
    request.scope["baas.client_ip"] = address
    return address
