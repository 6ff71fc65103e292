"""The embedded engine: one SQLite file per database under the data folder."""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from baas.store.base import DATABASE_RE, InvalidQuery, StoreUnavailable
from baas.store.sqlite.database import SQLiteDatabase


class SQLiteEngine:
    kind = "sqlite"

    def __init__(self, data_dir: Path, readers: int = 4) -> None:
        self.root = Path(data_dir).resolve() / "db"
        # One pool serves every file: the writer lock per file keeps writes serial.
        self._pool = ThreadPoolExecutor(max_workers=readers + 1, thread_name_prefix="sqlite")
        self._databases: dict[str, SQLiteDatabase] = {}

    async def open(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            os.chmod(self.root, 0o700)
        except OSError as exc:
            raise StoreUnavailable(f"cannot use data folder {self.root}: {exc.strerror}") from None

    async def close(self) -> None:
        for db in list(self._databases.values()):
            await db.close()
        self._databases.clear()
        self._pool.shutdown(wait=True)

    async def ping(self) -> None:
        if not self.root.is_dir():
            raise StoreUnavailable(f"data folder {self.root} is missing")
        await self.database("platform").collections()

    def database(self, name: str) -> SQLiteDatabase:
        if not DATABASE_RE.match(name):
            raise InvalidQuery(f"invalid database name {name!r}")
        db = self._databases.get(name)
        if db is None:
            db = self._databases[name] = SQLiteDatabase(name, self.root / f"{name}.db", self._pool)
        return db

    async def drop_database(self, name: str) -> None:
        db = self.database(name)
        # Other processes may hold the file open: empty and mark it first (they notice
        # and reconnect), then unlink it.
        await db.mark_dropped()
        await db.close()
        self._databases.pop(name, None)

        def _remove() -> None:
            for suffix in ("", "-wal", "-shm"):
                try:
                    os.remove(f"{db.path}{suffix}")
                except FileNotFoundError:
                    pass

        await asyncio.get_running_loop().run_in_executor(self._pool, _remove)

    async def databases(self) -> list[str]:
        return sorted(p.stem for p in self.root.glob("*.db"))

    def describe(self) -> str:
        return f"SQLite files in {self.root}"
