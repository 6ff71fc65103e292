"""`baas serve`: the start-up banner and uvicorn, in one process or several workers."""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import signal
import sys
from collections.abc import Mapping
from typing import Any

import uvicorn
from starlette.applications import Starlette
from uvicorn.supervisors import Multiprocess

from baas import logs
from baas.app import create_app
from baas.core.errors import ApiError
from baas.core.messaging.mail import Mailer
from baas.core.platform import Platform
from baas.core.tenancy import bootstrap
from baas.settings import Settings, SettingsError, load_settings, unknown_env
from baas.transport import ServerConfig, TransportLimits

log = logging.getLogger("baas.server")
STARTUP_FAILURE = 3  # uvicorn's exit status for a worker that could not start
FAST = {"loop": "uvloop", "http": "httptools"}
PORTABLE = {"loop": "asyncio", "http": "h11"}


def _importable(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def server_choice(settings: Settings) -> tuple[str, str, list[str]]:
    """The event loop and HTTP parser to run, and the fast ones "auto" did not find.
    One named explicitly but not installed is a settings error."""
    chosen: dict[str, str] = {}
    missing: list[str] = []
    for kind, wanted in (("loop", settings.loop), ("http", settings.http)):
        fast = FAST[kind]
        if wanted == "auto":
            chosen[kind] = fast if _importable(fast) else PORTABLE[kind]
            if chosen[kind] != fast:
                missing.append(fast)
        elif wanted == fast and not _importable(fast):
            raise SettingsError(f"BAAS_{kind.upper()}: {fast} is not installed "
                                f"(pip install {fast}), or use auto")
        else:
            chosen[kind] = wanted
    return chosen["loop"], chosen["http"], missing


def banner(settings: Settings) -> str:
    if settings.engine == "sqlite":
        where = f"SQLite files under {settings.data_dir.resolve() / 'db'}"
    else:
        where = f"MongoDB ({settings.mongodb_url.split('@')[-1] if settings.mongodb_url else ''})"
    loop, http, missing = server_choice(settings)
    processes = ("1 worker process" if settings.workers == 1
                 else f"{settings.workers} worker processes")
    hint = f" (faster: pip install {' '.join(missing)})" if missing else ""
    lines = [
        f"baas is starting on {settings.base_url}",
        f"  engine:    {settings.engine}",
        f"  data:      {where}",
        f"  server:    {loop} + {http}, {processes}{hint}",
        f"  mail:      {Mailer(settings).describe()}",
        f"  API docs:  {settings.base_url}/docs",
        "  next:      baas admin create --email you@example.com   (once)",
        f"             baas login --url {settings.base_url} --email you@example.com",
        "             baas projects create demo",
    ]
    for name in unknown_env():
        lines.append(f"  warning:   {name} is not a known setting (see docs/configuration.md)")
    return "\n".join(lines)


def serve(settings: Settings, worker_env: Mapping[str, str] | None = None) -> None:
    """Run the server until SIGINT/SIGTERM. With several workers, ``worker_env`` holds
    the BAAS_* variables (and BAAS_CONFIG_FILE) that give each worker, which loads its
    settings itself, the settings the command line gave this process."""
    logs.configure(settings.log_level, settings.log_format)
    loop, http, _ = server_choice(settings)
    print(banner(settings), file=sys.stderr, flush=True)
    os.makedirs(settings.data_dir, exist_ok=True)
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "access_log": False,  # our middleware logs every request with its id
        "proxy_headers": False,
        "server_header": False,
        "timeout_graceful_shutdown": 10,
        "loop": loop,
        "http": http,  # our guarded protocol for this parser (baas.transport)
        "limits": transport_limits(settings),
    }
    if settings.workers == 1:
        app = create_app(settings)
        # uvicorn re-raises the signal that stopped it once it has shut down gracefully;
        # these handlers turn that into a normal exit (status 0) instead of a kill.
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: None)
        server = uvicorn.Server(ServerConfig(app, **options))
        try:
            server.run()
        except KeyboardInterrupt:
            pass
        if not server.started:
            sys.exit(STARTUP_FAILURE)
    else:
        os.environ.update(worker_env or {})
        prepare(settings)
        if not run_workers(settings.workers, options):
            log.error("a worker process failed to start; see the messages above")
            sys.exit(STARTUP_FAILURE)
    log.info("stopped cleanly", extra={"data": where_data(settings)})


def transport_limits(settings: Settings) -> TransportLimits:
    return TransportLimits(
        header_timeout=settings.header_timeout, body_timeout=settings.body_timeout,
        body_min_rate=settings.body_min_rate, keep_alive_timeout=settings.keep_alive_timeout,
        max_header_bytes=settings.max_header_bytes, max_header_count=settings.max_header_count,
        max_concurrent_requests=settings.max_concurrent_requests)


def prepare(settings: Settings) -> None:
    """Open and close the platform once before the workers start, so the data folder
    and the master key file exist and every database is migrated (the workers then
    only read each migration record). A bad setting (e.g. the master key) is a
    SettingsError; anything else that stops start-up exits with uvicorn's start-up
    failure status."""

    async def _once() -> None:
        platform = Platform(settings)
        try:
            await platform.open(background=False)
        finally:
            await platform.close()

    try:
        asyncio.run(_once())
    except SettingsError:
        raise
    except Exception as exc:
        log.error("start-up failed", exc_info=True)
        print(f"error: start-up failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        sys.exit(STARTUP_FAILURE)


def run_workers(workers: int, options: dict[str, Any]) -> bool:
    """uvicorn's supervisor: it binds the socket, starts the workers (spawned: each
    imports ``worker_app``), restarts any that dies, and on SIGINT or SIGTERM stops
    them all and returns. False when a worker could not start."""
    config = ServerConfig("baas.server:worker_app", factory=True, workers=workers, **options)
    sock = config.bind_socket()  # exits with a message when the port is taken
    supervisor = Multiprocess(config, sockets=[sock])
    try:
        supervisor.run()
    finally:
        sock.close()
    return not any(getattr(process, "exitcode", None) == STARTUP_FAILURE
                   for process in supervisor.processes)


def worker_app() -> Starlette:
    """The app of one worker process (uvicorn's factory): settings from the
    environment and config file, as the parent set them up."""
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        sys.exit(STARTUP_FAILURE)  # the supervisor stops instead of restarting us
    logs.configure(settings.log_level, settings.log_format)
    return create_app(settings)


def where_data(settings: Settings) -> str:
    return str(settings.data_dir.resolve()) if settings.engine == "sqlite" else "mongodb"


class AdminRefused(Exception):
    """``create_admin`` was refused (a bad email, a weak password, a taken address)."""


def create_admin(settings: Settings, email: str, password: str) -> dict[str, Any]:
    """Create a platform admin straight in the store (``baas admin create``); the CLI's
    entry point, so it needs nothing of the core but this."""
    try:
        return asyncio.run(bootstrap.create_admin(settings, email, password))
    except ApiError as exc:
        raise AdminRefused(exc.message) from None
