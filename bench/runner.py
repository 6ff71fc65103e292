"""``python -m bench``: start the servers on loopback, seed, measure, print the tables.

  python -m bench                           # embedded SQLite, every scenario
  python -m bench --engine mongodb          # MongoDB: the nx-27017 stand-in it starts
  python -m bench --mongodb-url mongodb://127.0.0.1:27017/   # a real MongoDB
  python -m bench --only get,list --seconds 3 --workers 2

Each measurement is a warm-up then three timed runs; the tables show medians, each
scenario beside the baseline measured in this run and the target made from it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from bench import report, scenarios, seed, wrk
from bench.scenarios import Ctx
from bench.servers import baas_env, baas_server, bare_server, mongo_standin

GROUPS = ("get", "create", "list", "login", "refresh", "updates", "ws")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engine", choices=["sqlite", "mongodb"], default="sqlite",
                        help="sqlite (default) or mongodb (the nx-27017 stand-in unless "
                        "--mongodb-url is given)")
    parser.add_argument("--mongodb-url", help="a MongoDB to run the mongodb engine against")
    parser.add_argument("--seconds", type=float, default=5, help="length of a timed run")
    parser.add_argument("--warmup", type=float, default=2, help="length of the warm-up run")
    parser.add_argument("--sizes", default="10000,100000",
                        help="collection sizes for the list scenarios (comma separated)")
    parser.add_argument("--only", default=",".join(GROUPS),
                        help=f"scenario groups to run, from {','.join(GROUPS)}")
    parser.add_argument("--workers", type=int, default=1, help="baas serve --workers")
    parser.add_argument("--loop", default="auto", choices=["auto", "asyncio", "uvloop"])
    parser.add_argument("--http", default="auto", choices=["auto", "h11", "httptools"])
    parser.add_argument("--ws-clients", type=int, default=1000,
                        help="clients of the bare websockets broadcast baseline W")
    parser.add_argument("--json", type=Path, help="write every number to this JSON file")
    parser.add_argument("--markdown", type=Path, help="write the tables to this Markdown file")
    parser.add_argument("--keep", action="store_true", help="keep the data folder and logs")
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="sample the server with py-spy in one extra run of each scenario "
                        "and write the summaries to DIR")
    args = parser.parse_args(argv)
    args.groups = [g.strip() for g in args.only.split(",") if g.strip()]
    unknown = set(args.groups) - set(GROUPS)
    if unknown:
        parser.error(f"unknown group {sorted(unknown)[0]!r}; choose from {', '.join(GROUPS)}")
    args.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if args.mongodb_url:
        args.engine = "mongodb"
    return args


def log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        wrk.wrk_path()
    except wrk.WrkMissing as exc:
        raise SystemExit(str(exc)) from None
    work = Path(tempfile.mkdtemp(prefix="baas-bench-"))
    standin = args.engine == "mongodb" and not args.mongodb_url
    title = (f"{args.engine}{' (nx-27017 stand-in)' if standin else ''}, {args.workers} "
             f"worker{'s' if args.workers > 1 else ''}, {os.cpu_count()} cores")
    started = time.monotonic()
    log(f"baas bench: {title}; work folder {work}")
    try:
        ctx = run(args, work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    report.print_tables(ctx.baselines, ctx.rows, title)
    meta = {"title": title, "argv": sys.argv[1:], "python": platform.python_version(),
            "machine": platform.machine(), "cores": os.cpu_count(),
            "seconds": args.seconds, "minutes": round((time.monotonic() - started) / 60, 1)}
    if args.json:
        report.write_json(args.json, meta, ctx.baselines, ctx.rows)
    if args.markdown:
        args.markdown.write_text(report.markdown(ctx.baselines, ctx.rows, title))
    log(f"done in {meta['minutes']} min")


def run(args: argparse.Namespace, work: Path) -> Ctx:
    groups = set(args.groups)
    with ExitStack() as stack:
        mongodb_url = args.mongodb_url
        prefix = f"bench{int(time.time()) % 10**8}_"  # at most 15 characters
        if args.engine == "mongodb" and not mongodb_url:
            mongo = stack.enter_context(mongo_standin(work / "nx", work / "nx.log").start())
            mongodb_url = f"mongodb://127.0.0.1:{mongo.port}/"
        # R_star first, with nothing else running.
        bare = bare_server(work / "bare.log", args.workers, args.loop, args.http)
        data_dir = work / "data"
        env = baas_env(data_dir, mongodb_url, {"BAAS_MONGODB_DB_PREFIX": prefix}
                       if mongodb_url else {})
        server = baas_server(data_dir, work / "baas.log", env, args.workers, args.loop, args.http)
        store_args = (["--engine", "sqlite", "--data-dir", str(data_dir)] if not mongodb_url else
                      ["--engine", "mongodb", "--mongodb-url", mongodb_url,
                       "--mongodb-db-prefix", prefix])
        ctx = Ctx(server=server, seeded=None, work=work, seconds=args.seconds,  # type: ignore[arg-type]
                  warmup=args.warmup, log=log, store_args=store_args, profile_dir=args.profile)
        if args.profile:
            args.profile.mkdir(parents=True, exist_ok=True)
        log("baseline R_star: bare Starlette")
        with bare.start():
            scenarios.bare_starlette(ctx, bare)
        stack.enter_context(server.start())
        log(f"seeding {server.url} ({', '.join(f'{s:,}' for s in args.sizes)} documents)")
        seed.create_admin(env, data_dir)
        standin = args.engine == "mongodb" and not args.mongodb_url
        ctx.seeded = asyncio.run(seed.setup(server.url, args.sizes, log,
                                            in_flight=1 if standin else 4))
        log("baselines D: the bare engine")
        scenarios.bare_store(ctx, args.sizes)
        if "login" in groups:
            log("baseline H: argon2id verifications on 2 threads")
            scenarios.hasher(ctx)
        log("scenarios")
        if "get" in groups:
            scenarios.get_by_id(ctx, args.sizes[0])
        if "create" in groups:
            scenarios.create(ctx)
        if "list" in groups:
            scenarios.listing(ctx, args.sizes)
        if "login" in groups:
            scenarios.login(ctx)
        if "refresh" in groups:
            scenarios.refresh(ctx)
        if "updates" in groups:
            scenarios.list_under_updates(ctx, args.sizes[0])
        server.stop()
        if "ws" in groups:
            log(f"baseline W: bare websockets broadcast to {args.ws_clients} clients "
                "(the realtime fan-out scenario comes with the realtime issue)")
            scenarios.websocket_broadcast(ctx, args.ws_clients)
        if "Traceback" in (work / "baas.log").read_text(errors="replace"):
            log(f"warning: the server logged a traceback; see {work / 'baas.log'} (--keep)")
        return ctx
