"""The scenarios, each beside the baseline it is judged against (measured in this run)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import httpx2

from bench import profile, seed, wrk
from bench.measure import Result, Sample, module_once, repeat, wrk_once
from bench.servers import Service, cpu_seconds

CONCURRENCY = (1, 64)


@dataclass
class Row:
    """A scenario's medians, the target it is held to, and how the target is made."""

    result: Result
    target: float | None = None
    basis: str = ""
    note: str = ""

    @property
    def ratio(self) -> float | None:
        return self.result.rate / self.target if self.target else None


@dataclass
class Ctx:
    server: Service
    seeded: seed.Seeded
    work: Path  # files wrk reads (ids, bodies, tokens)
    seconds: float
    warmup: float
    log: Callable[[str], None]
    store_args: list[str]  # engine arguments for bench.bare_store
    baselines: dict[str, Result] = field(default_factory=dict)  # "R_star@64" -> result
    rows: list[Row] = field(default_factory=list)
    profile_dir: Path | None = None  # --profile: py-spy during one extra run

    def repeat(self, name: str, concurrency: int | None, once: Callable[[float], Sample]
               ) -> Result:
        return repeat(name, concurrency, once, self.seconds, self.warmup, self.log)

    def scenario(self, name: str, concurrency: int, once: Callable[[float], Sample]) -> Result:
        """A server scenario: measured, then (with --profile) sampled in one more run."""
        result = self.repeat(name, concurrency, once)
        if self.profile_dir is not None:
            slug = "".join(ch if ch.isalnum() else "-" for ch in name) + f"-c{concurrency}"
            raw = self.profile_dir / f"{slug}.raw"
            spy = profile.start(self.server.pid, self.seconds, raw)
            once(self.seconds)
            spy.wait(timeout=self.seconds + 60)
            summary = self.profile_dir / f"{slug}.txt"
            summary.write_text(f"{name} c={concurrency}\n" + profile.summarize(raw))
            self.log(f"    profile: {summary}")
        return result

    def baseline(self, key: str, once: Callable[[float], Sample], concurrency: int | None
                 ) -> Result:
        found = self.baselines[key] = self.repeat(key.split("@")[0], concurrency, once)
        return found

    def user_headers(self) -> dict[str, str]:
        """A fresh access token for ann: a whole run can outlast one."""
        ann = self.seeded.users[0]
        asyncio.run(_relogin(self.seeded, ann))
        return {"apikey": self.seeded.pk, "token": ann.access_token}

    def file(self, name: str, text: str) -> str:
        path = self.work / name
        path.write_text(text)
        return str(path)


async def _relogin(seeded: seed.Seeded, user: seed.User) -> None:
    async with httpx2.AsyncClient(base_url=seeded.url, timeout=60) as client:
        await seed.login(client, seeded, user)


def combined(first: float, second: float) -> float:
    """Requests per second of a server that did both costs in series: 1/(1/a + 1/b)."""
    return 1 / (1 / first + 1 / second)


def server_target(ctx: Ctx, store_key: str, concurrency: int, share: float = 0.7
                  ) -> tuple[float, str]:
    r_star = ctx.baselines[f"R_star@{concurrency}"].rate
    store = ctx.baselines[f"{store_key}@{concurrency}"].rate
    return share * combined(r_star, store), f"70% of 1/(1/R_star + 1/{store_key})"


# -- baselines --------------------------------------------------------------------


def bare_starlette(ctx: Ctx, bare: Service) -> None:
    for c in CONCURRENCY:
        ctx.baseline(f"R_star@{c}", wrk_once(bare.url, c, {"path": "/json"}, bare.pid), c)


def bare_store(ctx: Ctx, sizes: list[int]) -> None:
    ann = ctx.seeded.users[0].id
    first = seed.collection_name(sizes[0])
    ids = ctx.file("ids.txt", "\n".join(ctx.seeded.ids[first]))
    common = [*ctx.store_args, "--owner", ann]
    for c in CONCURRENCY:
        conc = ["--concurrency", str(c)]
        ctx.baseline(f"D_find@{c}", module_once("bare_store", [
            *common, *conc, "--collection", first, "--op", "find", "--ids", ids]), c)
        ctx.baseline(f"D_ins@{c}", module_once("bare_store", [
            *common, *conc, "--collection", "posts", "--op", "insert"]), c)
        for size in sizes:
            for op in ("list", "list_count"):
                key = f"D_{op}_{size // 1000}k@{c}"
                ctx.baseline(key, module_once("bare_store", [
                    *common, *conc, "--collection", seed.collection_name(size), "--op", op]), c)


def hasher(ctx: Ctx) -> None:
    ctx.baseline("H", module_once("hasher", ["--threads", "2"], "--duration"), None)


def websocket_broadcast(ctx: Ctx, clients: int) -> None:
    ctx.baseline(f"W@{clients}", module_once("ws_broadcast", [
        "--clients", str(clients), "--messages", "200"], None), clients)


# -- scenarios ----------------------------------------------------------------------


def get_by_id(ctx: Ctx, size: int) -> None:
    name = seed.collection_name(size)
    ids = ctx.file("get-ids.txt", "\n".join(ctx.seeded.ids[name]))
    for c in CONCURRENCY:
        opts = {**ctx.user_headers(), "ids": ids,
                "prefix": ctx.seeded.collection_path(name) + "/"}
        result = ctx.scenario("get by id", c, wrk_once(ctx.server.url, c, opts, ctx.server.pid))
        target, basis = server_target(ctx, "D_find", c)
        ctx.rows.append(Row(result, target, basis, "user token, rule owner = @auth.id"))


def create(ctx: Ctx) -> None:
    text = json.dumps(seed.sample_document(7))
    body = ctx.file("create.json", text)
    for c in CONCURRENCY:
        opts = {**ctx.user_headers(), "method": "POST", "body": body,
                "path": ctx.seeded.collection_path("posts")}
        result = ctx.scenario("create", c, wrk_once(ctx.server.url, c, opts, ctx.server.pid))
        target, basis = server_target(ctx, "D_ins", c)
        ctx.rows.append(Row(result, target, basis, f"{len(text)}-byte body, create rule"))


def list_path(ctx: Ctx, size: int, count: bool) -> str:
    query = {"filter": seed.LIST_FILTER, "sort": seed.LIST_SORT, "limit": seed.LIST_LIMIT}
    if count:
        query["count"] = "true"
    return ctx.seeded.collection_path(seed.collection_name(size)) + "?" + urlencode(query)


def listing(ctx: Ctx, sizes: list[int]) -> None:
    for size in sizes:
        for count in (False, True):
            label = f"list 20 of {size // 1000}k" + (" + count" if count else "")
            key = f"D_list{'_count' if count else ''}_{size // 1000}k"
            for c in CONCURRENCY:
                opts = {**ctx.user_headers(), "path": list_path(ctx, size, count)}
                result = ctx.scenario(label, c, wrk_once(ctx.server.url, c, opts, ctx.server.pid))
                target, basis = server_target(ctx, key, c)
                ctx.rows.append(Row(result, target, basis,
                                    f"filter {seed.LIST_FILTER}, sort {seed.LIST_SORT}"))


def login(ctx: Ctx) -> None:
    """Logins at c=10 saturate the hasher; /health is timed (c=1) at the same time."""
    body = ctx.file("login.json", json.dumps({"email": seed.USERS[0], "password": seed.PASSWORD}))
    opts = {"apikey": ctx.seeded.pk, "method": "POST", "body": body,
            "path": ctx.seeded.project_path + "/auth/login"}

    def once(seconds: float) -> Sample:
        before = cpu_seconds(ctx.server.pid)
        logins = wrk.start(ctx.server.url, 10, seconds, opts)
        # A paced probe (about 200/s): it measures latency without taking the CPU the
        # hashing threads need.
        health = wrk.run(ctx.server.url, 1, seconds, {"path": "/health", "delay": "5"})
        got = wrk.finish(logins, seconds)
        cpu = (cpu_seconds(ctx.server.pid) - before) / max(got.requests, 1) * 1e6
        return Sample(rate=got.rate, p50_ms=got.p50_ms, p99_ms=got.p99_ms, cpu_us=cpu,
                      errors=got.errors + health.errors,
                      extra={"health_p99_ms": health.p99_ms, "health_rate": health.rate})

    result = ctx.scenario("login", 10, once)
    health_p99 = result.median_extra("health_p99_ms")
    ok = "meets" if health_p99 < 10 else "MISSES"
    ctx.rows.append(Row(result, 0.9 * ctx.baselines["H"].rate, "90% of H",
                        f"/health p99 during logins {health_p99:.2f} ms ({ok} < 10 ms)"))


def refresh(ctx: Ctx) -> None:
    """Each request spends the refresh token the previous answer on its connection gave."""
    for c in CONCURRENCY:
        def tokens(c: int = c) -> dict[str, str]:
            fresh = asyncio.run(_anonymous_sessions(ctx.seeded, c))
            return {"apikey": ctx.seeded.pk, "method": "POST", "mode": "refresh",
                    "path": ctx.seeded.project_path + "/auth/refresh",
                    "tokens": ctx.file(f"tokens-{c}.txt", "\n".join(fresh))}

        result = ctx.scenario("token refresh", c, wrk_once(ctx.server.url, c, tokens,
                                                          ctx.server.pid))
        r_star = ctx.baselines[f"R_star@{c}"].rate
        ctx.rows.append(Row(result, None, f"R_star {r_star:,.0f}/s",
                            "rotating refresh token, one session per connection"))


async def _anonymous_sessions(seeded: seed.Seeded, count: int) -> list[str]:
    async with httpx2.AsyncClient(base_url=seeded.url, timeout=60) as client:
        tokens = []
        for _ in range(count):
            answer = await client.post(seeded.project_path + "/auth/anonymous",
                                       headers={"apikey": seeded.pk})
            tokens.append(seed.expect(answer, 201)["session"]["refresh_token"])
        return tokens


def list_under_updates(ctx: Ctx, size: int) -> None:
    """A list (c=1) while 300 connections update random documents of the same collection."""
    name = seed.collection_name(size)
    ids = ctx.file("update-ids.txt", "\n".join(ctx.seeded.ids[name]))

    def once(seconds: float) -> Sample:
        headers = ctx.user_headers()
        writers = wrk.start(ctx.server.url, 300, seconds, {
            **headers, "method": "PATCH", "mode": "patch", "ids": ids,
            "prefix": ctx.seeded.collection_path(name) + "/"})
        got = wrk.run(ctx.server.url, 1, seconds, {**headers,
                                                   "path": list_path(ctx, size, False)})
        updates = wrk.finish(writers, seconds)
        return Sample(rate=got.rate, p50_ms=got.p50_ms, p99_ms=got.p99_ms,
                      errors=got.errors + updates.errors,
                      extra={"update_rate": updates.rate, "update_p99_ms": updates.p99_ms})

    result = ctx.scenario(f"list 20 of {size // 1000}k under 300 updaters", 1, once)
    alone = next((r.result for r in ctx.rows
                  if r.result.name == f"list 20 of {size // 1000}k" and r.result.concurrency == 1),
                 None)
    note = (f"updates {result.median_extra('update_rate'):,.0f}/s alongside, "
            f"their p99 {result.median_extra('update_p99_ms'):.0f} ms")
    if alone is not None:
        note += f"; the same list alone: {alone.rate:,.0f}/s, p99 {alone.p99_ms:.1f} ms"
    ctx.rows.append(Row(result, None, "", note))
