"""``python -m bench.slow_clients``: the slowloris of issue 12 against ``baas serve``.

N sockets each send a request line, then one more header line every ``--interval``
seconds and never finish; meanwhile a prober sends ``GET /health`` on fresh connections.
Printed: how many slow sockets are still open over time and how long they lived, and how
the probes fared. Before the transport limits every slow socket stayed open; with them
each is answered 408 and closed after ``BAAS_HEADER_TIMEOUT``.

  python -m bench.slow_clients                      # 300 sockets, a line every 5 s, 45 s
  python -m bench.slow_clients --sockets 1000 --interval 1 --seconds 20 --http h11
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from bench.servers import baas_env, baas_server


async def slow_socket(port: int, interval: float, stop: float, lived: list[float]) -> None:
    start = time.monotonic()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        lived.append(0.0)
        return
    writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n")
    try:
        while time.monotonic() < stop:
            try:
                if await asyncio.wait_for(reader.read(65536), interval) == b"":
                    break  # the server closed it
            except TimeoutError:
                writer.write(b"X-Slow: 1\r\n")
                await writer.drain()
            else:
                continue  # the 408; the close follows
    except OSError:
        pass
    lived.append(time.monotonic() - start)
    writer.close()


async def probe(port: int, stop: float, latencies: list[float], failures: list[str]) -> None:
    while time.monotonic() < stop:
        start = time.monotonic()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answer = await asyncio.wait_for(reader.read(), 10)
            writer.close()
            if answer.startswith(b"HTTP/1.1 200"):
                latencies.append(time.monotonic() - start)
            else:
                failures.append(answer[:40].decode("latin-1"))
        except (TimeoutError, OSError) as exc:
            failures.append(type(exc).__name__)
        await asyncio.sleep(0.1)


async def attack(port: int, sockets: int, interval: float, seconds: float) -> None:
    stop = time.monotonic() + seconds
    lived: list[float] = []
    latencies: list[float] = []
    failures: list[str] = []
    tasks = [asyncio.create_task(slow_socket(port, interval, stop, lived))
             for _ in range(sockets)]
    prober = asyncio.create_task(probe(port, stop, latencies, failures))
    started = time.monotonic()
    while time.monotonic() < stop:
        await asyncio.sleep(min(5.0, seconds))
        print(f"  t={time.monotonic() - started:5.1f} s: {sockets - len(lived)} of {sockets} "
              "slow sockets open", flush=True)
    await asyncio.gather(*tasks, prober)
    cut = sorted(t for t in lived if t < seconds - 0.5)
    print(f"slow sockets closed by the server: {len(cut)} of {sockets}"
          + (f", after {min(cut):.1f}-{max(cut):.1f} s (median {statistics.median(cut):.1f})"
             if cut else ""))
    if latencies:
        ms = sorted(x * 1000 for x in latencies)
        print(f"probes: {len(ms)} answered 200, p50 {ms[len(ms) // 2]:.1f} ms, "
              f"max {ms[-1]:.1f} ms; {len(failures)} failed {sorted(set(failures))[:3]}")
    else:
        print(f"probes: none answered; {len(failures)} failed {sorted(set(failures))[:3]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sockets", type=int, default=300)
    parser.add_argument("--interval", type=float, default=5.0,
                        help="seconds between the header lines of each slow socket")
    parser.add_argument("--seconds", type=float, default=45.0)
    parser.add_argument("--header-timeout", default=None,
                        help="BAAS_HEADER_TIMEOUT of the server (default: its default)")
    parser.add_argument("--loop", default="auto")
    parser.add_argument("--http", default="auto")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="baas-slow-") as work:
        extra = {"BAAS_HEADER_TIMEOUT": args.header_timeout} if args.header_timeout else {}
        env = baas_env(Path(work) / "data", None, extra)
        with baas_server(Path(work) / "data", Path(work) / "serve.log", env,
                         loop=args.loop, http=args.http).start() as server:
            print(f"{args.sockets} slow sockets, a header line every {args.interval:g} s, "
                  f"for {args.seconds:g} s, against {server.url}")
            asyncio.run(attack(server.port, args.sockets, args.interval, args.seconds))


if __name__ == "__main__":
    main()
