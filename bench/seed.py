"""Seed a running server over its public API: an admin, a project, users, collections
and documents, exactly as an application would (so MongoDB runs seed the same way)."""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2

PROJECT = "bench"
ADMIN_EMAIL = "admin@bench.example"
PASSWORD = "bench password 0123"
USERS = ("ann@bench.example", "bob@bench.example")
BATCH = 100  # operations per :batch request (the API's maximum)

FIELDS: dict[str, Any] = {
    "title": {"type": "string", "required": True, "max_length": 200},
    "body": {"type": "string", "max_length": 2000},
    "status": {"type": "string", "enum": ["open", "closed", "archived"]},
    "score": {"type": "integer", "min": 0, "max": 999},
    "tags": {"type": "array", "max_length": 10},
    "owner": {"type": "string", "server_owned": True, "value": "@auth.id"},
}
RULES = {"list": "owner = @auth.id", "get": "owner = @auth.id", "create": "@auth.id != null",
         "update": "owner = @auth.id", "delete": "owner = @auth.id"}
INDEXES = [{"fields": ["owner", "status", "-score"]}]
# The list scenarios: a filter and a sort the index above serves, under the list rule.
LIST_FILTER = 'status = "open" && score >= 100'
LIST_SORT = "-score"
LIST_LIMIT = 20
WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike "
         "november oscar papa quebec romeo sierra tango uniform victor whiskey").split()


def sample_document(i: int) -> dict[str, Any]:
    """A ~500-byte document (as stored: ~500 bytes of JSON with the system fields)."""
    rnd = random.Random(i)
    return {
        "title": f"Item {i:06d} " + " ".join(rnd.choice(WORDS) for _ in range(4)),
        "body": " ".join(rnd.choice(WORDS) for _ in range(40))[:260],
        "status": ("open", "closed", "archived")[i % 3],
        "score": rnd.randrange(1000),
        "tags": [rnd.choice(WORDS) for _ in range(3)],
    }


def collection_name(size: int) -> str:
    return f"items{size // 1000}k"


@dataclass
class User:
    email: str
    id: str = ""
    access_token: str = ""


@dataclass
class Seeded:
    url: str
    pk: str
    sk: str
    users: list[User]
    ids: dict[str, list[str]] = field(default_factory=dict)  # collection -> ann's ids

    @property
    def project_path(self) -> str:
        return f"/v1/projects/{PROJECT}"

    def collection_path(self, name: str) -> str:
        return f"{self.project_path}/collections/{name}/documents"


def create_admin(env: dict[str, str], data_dir: Path) -> None:
    made = subprocess.run(
        [sys.executable, "-m", "baas_cli.main", "admin", "create", "--email", ADMIN_EMAIL,
         "--password-stdin", "--data-dir", str(data_dir)],
        input=PASSWORD + "\n", env=env, capture_output=True, text=True, timeout=120, check=False)
    if made.returncode != 0:
        raise RuntimeError(f"baas admin create failed: {made.stderr.strip()}")


def expect(answer: httpx2.Response, status: int) -> dict[str, Any]:
    if answer.status_code != status:
        raise RuntimeError(f"{answer.request.method} {answer.request.url.path}: "
                           f"{answer.status_code} {answer.text[:300]}")
    return dict(answer.json()) if answer.content else {}


async def login(client: httpx2.AsyncClient, seeded: Seeded, user: User) -> dict[str, Any]:
    body = expect(await client.post(f"{seeded.project_path}/auth/login",
                                    json={"email": user.email, "password": PASSWORD},
                                    headers={"apikey": seeded.pk}), 200)
    user.id = body["user"]["id"]
    user.access_token = body["session"]["access_token"]
    return body


async def setup(url: str, sizes: list[int], log: Any = print, in_flight: int = 4) -> Seeded:
    """``in_flight`` batches at a time (1 on the nx-27017 stand-in, which fails
    concurrent transactions: see docs/architecture.md, stand-in deviations)."""
    async with httpx2.AsyncClient(base_url=url, timeout=120) as client:
        token = expect(await client.post("/v1/admin/login", json={
            "email": ADMIN_EMAIL, "password": PASSWORD}), 200)["token"]
        made = expect(await client.post("/v1/admin/projects", json={"id": PROJECT},
                                        headers={"Authorization": f"Bearer {token}"}), 201)
        keys = {k["kind"]: k["secret"] for k in made["keys"]}
        seeded = Seeded(url, keys["publishable"], keys["secret"], [User(e) for e in USERS])
        secret = {"Authorization": f"Bearer {seeded.sk}"}
        for name in [collection_name(s) for s in sizes] + ["posts"]:
            expect(await client.post(f"{seeded.project_path}/collections", headers=secret, json={
                "name": name, "schema": {"fields": FIELDS}, "rules": RULES,
                "indexes": INDEXES}), 201)
        for user in seeded.users:
            expect(await client.post(f"{seeded.project_path}/users", headers=secret, json={
                "email": user.email, "password": PASSWORD, "email_verified": True}), 201)
            await login(client, seeded, user)
        for size in sizes:
            await _fill(client, seeded, collection_name(size), size, log, in_flight)
        await _wait_indexes(client, seeded, [collection_name(s) for s in sizes] + ["posts"])
        return seeded


async def _fill(client: httpx2.AsyncClient, seeded: Seeded, name: str, size: int,
                log: Any, in_flight: int) -> None:
    """``size`` documents, alternately ann's and bob's, 100 per batch."""
    path = seeded.collection_path(name) + ":batch"
    seeded.ids[name] = []
    todo = list(range(0, size, BATCH))
    done = 0
    started = time.monotonic()

    async def one(start: int) -> None:
        nonlocal done
        user = seeded.users[(start // BATCH) % 2]
        ops = [{"op": "create", "data": sample_document(i)}
               for i in range(start, min(start + BATCH, size))]
        body = expect(await client.post(path, json={"operations": ops}, headers={
            "apikey": seeded.pk, "Authorization": f"Bearer {user.access_token}"}), 200)
        if user is seeded.users[0]:
            seeded.ids[name].extend(r["id"] for r in body["results"])
        done += len(ops)

    while todo:
        group, todo = todo[:in_flight], todo[in_flight:]
        await asyncio.gather(*(one(start) for start in group))
        if done % 10_000 < BATCH * in_flight or not todo:
            log(f"  seeded {name}: {done:,}/{size:,} ({time.monotonic() - started:.0f} s)")


async def _wait_indexes(client: httpx2.AsyncClient, seeded: Seeded, names: list[str]) -> None:
    deadline = time.monotonic() + 300
    for name in names:
        while True:
            body = expect(await client.get(f"{seeded.project_path}/collections/{name}",
                                           headers={"Authorization": f"Bearer {seeded.sk}"}), 200)
            states = {i.get("status") for i in body.get("indexes", [])}
            if states <= {"ready"}:
                break
            if "failed" in states or time.monotonic() > deadline:
                raise RuntimeError(f"indexes of {name} not ready: {body.get('indexes')}")
            await asyncio.sleep(0.2)
