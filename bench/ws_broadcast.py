"""Baseline W: bare ``websockets`` broadcast to N clients (deliveries per second).

A bare websockets 17 server (new asyncio API) in this process, N client connections in
a separate process (so the receiving side does not share this event loop), M JSON text
messages of ``size`` bytes sent with ``websockets.asyncio.server.broadcast``, one per
event loop turn. No HTTP framework, auth, rules or store: it is the ceiling for a
realtime fan-out on this machine with the same library, the same client and the same
wire settings (permessage-deflate unless ``--compression none``).

    python -m bench.ws_broadcast [--clients N] [--messages M] [--size BYTES]
                                 [--timeout S] [--compression deflate|none]

Prints one JSON line ``{"name": "W", "ops", "seconds", "rate", "extra"}``: ops = N*M
deliveries, seconds = from the first broadcast to the last client's last receipt.

``--client-mode --url URL`` is the client side (spawned by the above; usable against any
server that sends each of its clients M messages). It prints JSON events, one a line:
``{"event": "connected"}`` once all N are open, then ``{"event": "done", ...}``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import resource
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any, Literal

from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, broadcast, serve

from bench.args import Parser, bounded_int, seconds

Compression = Literal["deflate", "none"]

HOST = "127.0.0.1"
PAD_ALPHABET = string.ascii_letters + string.digits
CONNECT_CONCURRENCY = 100  # handshakes in flight at once from the client process
CLOSE_SECONDS = 5.0  # bound on closing connections and on the client exiting
EXTRA_FDS = 64
LINE_LIMIT = 64 * 1024 * 1024  # the "done" event lists every client's count
REPO_ROOT = Path(__file__).resolve().parent.parent


class BenchError(Exception):
    """A failed measurement; the message is the one-line reason."""


def _raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            raise BenchError(f"need {needed} file descriptors, hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def _compression(name: Compression) -> Literal["deflate"] | None:
    return "deflate" if name == "deflate" else None


def _message(seq: int, size: int) -> str:
    """A realtime-like event of exactly ``size`` bytes (or the smallest possible).

    The padding is pseudo-random letters and digits, not one repeated byte, so that
    permessage-deflate does the work it would do on real documents."""
    base = json.dumps({"type": "event", "seq": seq, "pad": ""}, separators=(",", ":"))
    rng = random.Random(seq)
    pad = "".join(rng.choices(PAD_ALPHABET, k=max(0, size - len(base))))
    return json.dumps({"type": "event", "seq": seq, "pad": pad}, separators=(",", ":"))


# --- client process -------------------------------------------------------------------

def _emit(event: dict[str, Any]) -> None:
    print(json.dumps(event), flush=True)


async def _close_all(connections: list[ClientConnection]) -> None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(CLOSE_SECONDS):
            await asyncio.gather(*(c.close() for c in connections), return_exceptions=True)


async def _client(url: str, clients: int, messages: int, limit_s: float,
                  compression: Compression) -> int:
    """Open ``clients`` connections, count ``messages`` on each; exit 0 if all arrived."""
    _raise_fd_limit(clients + EXTRA_FDS)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_s
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def open_one() -> ClientConnection:
        async with gate:
            return await connect(url, compression=_compression(compression),
                                 open_timeout=max(0.1, deadline - loop.time()))

    opened = await asyncio.gather(*(open_one() for _ in range(clients)),
                                  return_exceptions=True)
    connections = [c for c in opened if isinstance(c, ClientConnection)]
    try:
        failures = [c for c in opened if isinstance(c, BaseException)]
        if failures:
            reason = f"{len(failures)} of {clients} connections failed: {failures[0]!r}"
            _emit({"event": "error", "reason": reason})
            return 1

        counts = [0] * clients
        last_at = [0.0] * clients

        async def receive(i: int, ws: ClientConnection) -> None:
            message: str | bytes = b""
            while counts[i] < messages:
                message = await ws.recv()
                counts[i] += 1
            last_at[i] = time.monotonic()
            if json.loads(message).get("seq") != messages - 1:
                raise BenchError(f"client {i}: last message is not seq {messages - 1}")

        tasks = [asyncio.create_task(receive(i, ws)) for i, ws in enumerate(connections)]
        _emit({"event": "connected", "clients": clients})
        done, pending = await asyncio.wait(tasks, timeout=max(0.0, deadline - loop.time()))
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        errors = [t.exception() for t in done if t.exception() is not None]
        complete = not pending and not errors
        event: dict[str, Any] = {"event": "done", "complete": complete, "counts": counts}
        if complete:
            event["first_last_at"] = min(last_at)
            event["last_last_at"] = max(last_at)
        elif errors:
            event["reason"] = f"{len(errors)} clients failed: {errors[0]!r}"
        else:
            event["reason"] = (f"timed out after {limit_s}s: {len(pending)} of {clients} "
                               f"clients incomplete, {sum(counts)} of {clients * messages} "
                               f"messages arrived")
        _emit(event)
        return 0 if complete else 1
    finally:
        await _close_all(connections)


# --- server side (this process) -------------------------------------------------------

def _stderr_tail(errors: IO[bytes]) -> str:
    errors.seek(0)
    lines = [ln.strip() for ln in errors.read().decode(errors="replace").splitlines()]
    lines = [ln for ln in lines if ln]
    return lines[-1] if lines else ""


async def _next_event(proc: asyncio.subprocess.Process, errors: IO[bytes], deadline: float,
                      expected: str) -> dict[str, Any]:
    """The client's next JSON event, which must be ``expected``."""
    assert proc.stdout is not None
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(max(0.0, deadline - loop.time())):
            line = await proc.stdout.readline()
    except TimeoutError:
        raise BenchError(f"timed out waiting for the clients ({expected})") from None
    if not line:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CLOSE_SECONDS):
                await proc.wait()
        tail = _stderr_tail(errors) or "no output"
        raise BenchError(f"client process exited ({proc.returncode}) before {expected}: {tail}")
    event: dict[str, Any] = json.loads(line)
    if event.get("event") != expected or (expected == "done" and not event.get("complete")):
        raise BenchError(f"client process: {event.get('reason') or event}")
    return event


async def _stop(proc: asyncio.subprocess.Process, grace: float) -> None:
    """Wait up to ``grace`` seconds for the client process, then kill it."""
    if proc.returncode is None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                await proc.wait()
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()


async def measure(clients: int, messages: int, size: int, limit_s: float,
                  compression: Compression) -> dict[str, Any]:
    """Run the measurement and return the result object (raises BenchError on failure)."""
    _raise_fd_limit(clients + EXTRA_FDS)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_s
    connected: set[ServerConnection] = set()

    async def handler(ws: ServerConnection) -> None:
        connected.add(ws)
        try:
            await ws.wait_closed()
        finally:
            connected.discard(ws)

    async with serve(handler, HOST, 0, compression=_compression(compression),
                     close_timeout=CLOSE_SECONDS, backlog=min(max(clients, 100), 4096)) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        with tempfile.TemporaryFile() as errors:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bench.ws_broadcast", "--client-mode",
                "--url", f"ws://{HOST}:{port}/", "--clients", str(clients),
                "--messages", str(messages),
                # a little less, so that on a timeout the clients report their counts first
                "--timeout", f"{max(0.1, deadline - loop.time() - 1.0):.3f}",
                "--compression", compression,
                cwd=REPO_ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors,
                limit=LINE_LIMIT,
            )
            ok = False
            try:
                await _next_event(proc, errors, deadline, "connected")
                while len(connected) < clients:  # the handlers may trail the handshakes
                    if loop.time() > deadline:
                        raise BenchError(f"only {len(connected)} of {clients} connected")
                    await asyncio.sleep(0.01)
                payloads = [_message(seq, size) for seq in range(messages)]
                # time.monotonic() is CLOCK_MONOTONIC on Linux: one system-wide clock, so
                # the client process's receipt times are comparable with these.
                first_sent = last_sent = time.monotonic()
                for seq, payload in enumerate(payloads):
                    if loop.time() > deadline:
                        raise BenchError(f"timed out broadcasting ({seq} of {messages} sent)")
                    last_sent = time.monotonic()
                    broadcast(connected, payload)
                    await asyncio.sleep(0)  # let the loop flush the write buffers
                all_sent = time.monotonic()
                done = await _next_event(proc, errors, deadline, "done")
                ok = True
            finally:
                await _stop(proc, CLOSE_SECONDS if ok else 0.0)

    ops = clients * messages
    seconds = float(done["last_last_at"]) - first_sent
    return {
        "name": "W",
        "ops": ops,
        "seconds": round(seconds, 6),
        "rate": round(ops / seconds, 3),
        "extra": {
            "clients": clients,
            "messages": messages,
            "size": len(payloads[-1].encode()),
            "compression": compression,
            "broadcast_seconds": round(all_sent - first_sent, 6),
            "last_message_latency_min": round(float(done["first_last_at"]) - last_sent, 6),
            "last_message_latency_max": round(float(done["last_last_at"]) - last_sent, 6),
        },
    }


# --- command line ---------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="python -m bench.ws_broadcast", description=__doc__,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=bounded_int(1, 20_000), default=100)
    parser.add_argument("--messages", type=bounded_int(1, 1_000_000), default=200)
    parser.add_argument("--size", type=bounded_int(1, 512 * 1024), default=200,
                        help="bytes per message (default 200)")
    parser.add_argument("--timeout", type=seconds, default=60.0,
                        help="seconds for the whole run (default 60)")
    parser.add_argument("--compression", choices=["deflate", "none"], default="deflate",
                        help="permessage-deflate, as websockets and uvicorn default to")
    parser.add_argument("--client-mode", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        if args.client_mode:
            if not args.url:
                parser.error("--client-mode needs --url")
            return asyncio.run(_client(args.url, args.clients, args.messages, args.timeout,
                                       args.compression))
        result = asyncio.run(measure(args.clients, args.messages, args.size, args.timeout,
                                     args.compression))
    except Exception as exc:
        reason = str(exc) if isinstance(exc, BenchError) else f"{type(exc).__name__}: {exc}"
        print(f"bench.ws_broadcast: {reason}".replace("\n", " "), file=sys.stderr)
        return 1
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
