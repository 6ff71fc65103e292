"""``python -m bench.transport``: what the transport limits cost per request, alone.

Drives uvicorn's HTTP protocol in this process, with no socket and a trivial app, so the
protocol's own CPU time per request is what is measured: uvicorn's plain protocol and
baas's guarded one (``baas.transport``) by turns (ABBA, several rounds), for httptools and
h11, on one keep-alive connection, one GET of a ~500-byte answer at a time. Much less
noisy than wrk on a shared machine; the difference is an upper bound on what the limits
add to any request (a real request also pays for the socket, the app and the store).

  python -m bench.transport                 # 20,000 requests a turn, 4 rounds
  python -m bench.transport --requests 50000 --rounds 6
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import statistics
import time
from typing import Any

import uvicorn
from uvicorn.server import ServerState

from baas.transport import ServerConfig, TransportLimits

REQUEST = (b"GET /v1/projects/bench/collections/items/documents/019a0000000000 HTTP/1.1\r\n"
           b"Host: 127.0.0.1:8080\r\nUser-Agent: bench\r\nAccept: */*\r\n"
           b"Authorization: Bearer " + b"t" * 300 + b"\r\napikey: pk_" + b"k" * 40 + b"\r\n\r\n")
BODY = b'{"id":"019a0000000000","title":"' + b"x" * 460 + b'"}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})


class NullTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.closing = False
        self.written = 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8080), "peername": ("127.0.0.1", 50000)}.get(
            name, default)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += len(data)

    def close(self) -> None:
        self.closing = True

    def is_closing(self) -> bool:
        return self.closing

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def config_for(http: str, guarded: bool) -> uvicorn.Config:
    config: uvicorn.Config
    if guarded:
        config = ServerConfig(app, http=http, limits=TransportLimits(), log_level="warning")
    else:
        config = uvicorn.Config(app, http=http, log_level="warning")
    config.load()
    return config


async def turn(config: uvicorn.Config, requests: int) -> float:
    """Process CPU seconds per request over ``requests`` requests on one connection."""
    state = ServerState()
    protocol: Any = config.http_protocol_class(  # type: ignore[call-arg]
        config=config, server_state=state, app_state={})
    transport = NullTransport()
    protocol.connection_made(transport)
    start = time.process_time()
    for _ in range(requests):
        protocol.data_received(REQUEST)
        await asyncio.gather(*state.tasks)  # the one request's cycle
    spent = time.process_time() - start
    assert transport.written > requests * len(BODY) and not transport.closing
    protocol.connection_lost(None)
    return spent / requests


async def measure(http: str, requests: int, rounds: int) -> None:
    plain, guarded = config_for(http, False), config_for(http, True)
    times: dict[str, list[float]] = {"plain": [], "guarded": []}
    await turn(plain, requests // 4)  # warm-up
    await turn(guarded, requests // 4)
    for n in range(rounds):
        order = ("plain", "guarded") if n % 2 == 0 else ("guarded", "plain")  # ABBA
        for name in order:
            times[name].append(await turn(plain if name == "plain" else guarded, requests))
    a, b = (statistics.median(times[k]) * 1e6 for k in ("plain", "guarded"))
    runs = {k: ", ".join(f"{t * 1e6:.1f}" for t in v) for k, v in times.items()}
    print(f"{http:9} uvicorn {a:6.1f} µs/req  guarded {b:6.1f} µs/req  "
          f"+{b - a:.1f} µs ({100 * (b - a) / a:+.0f}%)   runs: plain {runs['plain']}; "
          f"guarded {runs['guarded']}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    parsers = ["httptools", "h11"] if importlib.util.find_spec("httptools") else ["h11"]
    for http in parsers:
        asyncio.run(measure(http, args.requests, args.rounds))


if __name__ == "__main__":
    main()
