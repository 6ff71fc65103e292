"""uvicorn's configuration with the transport limits, and the guarded protocol chosen by
name. A ``ServerConfig`` pickles (the protocol is named by an import string, the limits
are a frozen dataclass), so the workers of ``baas serve --workers N`` get it whole."""

from __future__ import annotations

from typing import Any

import uvicorn

from baas.transport.gate import RequestGate
from baas.transport.limits import TransportLimits

PROTOCOLS = {
    "h11": "baas.transport.h11_protocol:GuardedH11Protocol",
    "httptools": "baas.transport.httptools_protocol:GuardedHttpToolsProtocol",
}


class ServerConfig(uvicorn.Config):
    def __init__(self, app: Any, *, http: str, limits: TransportLimits,
                 **options: Any) -> None:
        super().__init__(app, http=PROTOCOLS[http], timeout_keep_alive=limits.keep_alive_timeout,
                         h11_max_incomplete_event_size=limits.max_header_bytes, **options)
        self.limits = limits
        self.gated_app: RequestGate | None = None

    def load(self) -> None:
        super().load()
        self.gated_app = RequestGate(self.loaded_app, self.limits.max_concurrent_requests)


def limits_of(config: uvicorn.Config) -> tuple[TransportLimits, RequestGate | None]:
    """A protocol given a plain uvicorn Config (not through baas) gets the defaults."""
    if isinstance(config, ServerConfig):
        return config.limits, config.gated_app
    return TransportLimits(), None
