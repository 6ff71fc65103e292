"""Baseline ``R_star``: a bare Starlette JSON endpoint under the server's uvicorn settings
and its HTTP protocol with the transport limits (``--plain``: uvicorn's own protocol).

It answers the same ~500-byte document a get-by-id returns, so the difference between
the two is everything baas does per request (credentials, rules, the store).
"""

from __future__ import annotations

import argparse
import importlib.util

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from uvicorn.supervisors import Multiprocess

from baas.transport import ServerConfig, TransportLimits
from bench.seed import sample_document

DOCUMENT = {"id": "019a0000000000000000000000", "created_at": "2026-11-21T10:00:00.000Z",
            "updated_at": "2026-11-21T10:00:00.000Z", "version": 1,
            **sample_document(42), "owner": "u_0000000000000000"}


async def document(request: Request) -> JSONResponse:
    return JSONResponse(DOCUMENT)


app = Starlette(routes=[Route("/json", document)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--loop", default="auto")
    parser.add_argument("--http", default="auto")
    parser.add_argument("--plain", action="store_true",
                        help="uvicorn's own HTTP protocol, without baas's transport limits "
                             "(to measure what they cost)")
    args = parser.parse_args()
    # The options baas.server passes to uvicorn, so only the application differs.
    options = {"host": "127.0.0.1", "port": args.port, "workers": args.workers,
               "loop": args.loop, "log_level": "warning", "access_log": False,
               "proxy_headers": False, "server_header": False}
    if args.plain:
        uvicorn.run("bench.bare_app:app", http=args.http, **options)
        return
    http = args.http if args.http != "auto" else (
        "httptools" if importlib.util.find_spec("httptools") else "h11")
    config = ServerConfig("bench.bare_app:app", http=http, limits=TransportLimits(), **options)
    if args.workers > 1:
        sock = config.bind_socket()
        Multiprocess(config, sockets=[sock]).run()
    else:
        uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
