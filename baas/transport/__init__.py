"""The HTTP transport of ``baas serve``: uvicorn's HTTP/1.1 protocols (h11 and httptools)
with header and body timeouts, header size and count limits (431) and a limit on requests
in progress (503), enforced while the bytes arrive rather than after the app got them.
See docs/architecture.md, "Transport limits"."""

from baas.transport.config import ServerConfig
from baas.transport.limits import TransportLimits

__all__ = ["ServerConfig", "TransportLimits"]
