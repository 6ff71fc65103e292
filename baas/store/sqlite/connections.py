"""Connections to one SQLite file: opening one, and the per-thread readers.

Readers are read-only connections, one per pool thread, so reads run concurrently
under WAL. A read may carry a time limit (SQLite's progress handler looks at the
clock), and notices a file another process dropped (see ``Dropped``): the readers
then reconnect to the path.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from baas.store.base import QueryTimeout, StoreUnavailable

T = TypeVar("T")
PROGRESS_STEPS = 1000  # SQLite VM instructions between two looks at the clock
DROPPED = "_dropped"  # table marking a file another process dropped (then unlinked)
NO_TABLE = "no such table: "


class Dropped(Exception):
    """The file was dropped by another process: reconnect to the path and retry."""


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
    conn.execute("PRAGMA busy_timeout = 10000")
    deadline = time.monotonic() + 10
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            break
        except sqlite3.OperationalError as exc:
            # Another process is opening the same new file: SQLite answers "locked"
            # at once there instead of waiting the busy timeout, so wait here.
            if "locked" not in str(exc) or time.monotonic() > deadline:
                conn.close()
                raise
            time.sleep(0.005)
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def timed(conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], T],
          max_time_ms: int) -> T:
    """Run ``fn``, stopping it with QueryTimeout after ``max_time_ms`` (the
    connection stays usable)."""
    deadline = time.monotonic() + max(max_time_ms, 0) / 1000
    expired = False

    def progress() -> int:
        nonlocal expired
        expired = time.monotonic() >= deadline
        return 1 if expired else 0

    conn.set_progress_handler(progress, PROGRESS_STEPS)
    try:
        return fn(conn)
    except sqlite3.OperationalError:
        if expired:
            raise QueryTimeout(f"the query ran longer than {max_time_ms} ms") from None
        raise
    finally:
        conn.set_progress_handler(None, 0)


class Readers:
    """The read-only connections to one file, one per thread. ``generation`` moves
    when the file was found dropped: each thread then reconnects at its next read."""

    def __init__(self, name: str, path: Path, schema: str) -> None:
        self.name = name
        self.path = path
        self.schema = schema  # run on reconnecting: the path may hold a new, empty file
        self.generation = 0
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._guard = threading.Lock()

    def connection(self) -> sqlite3.Connection:
        """This thread's reader, connected anew when the generation moved."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None or self._local.generation != self.generation:
            generation = self.generation
            if conn is not None:
                with self._guard:
                    self._conns.remove(conn)
                conn.close()
            conn = connect(self.path)
            if generation:
                conn.executescript(self.schema)
            conn.execute("PRAGMA query_only = 1")
            self._local.conn = conn
            self._local.generation = generation
            with self._guard:
                self._conns.append(conn)
        return conn

    def found_dropped(self, conn: sqlite3.Connection) -> bool:
        """Whether this connection's file was dropped; if so, readers reconnect."""
        row = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                           (DROPPED,)).fetchone()
        if row is not None:
            self.generation += 1
        return row is not None

    def run(self, fn: Callable[[sqlite3.Connection], T], max_time_ms: int | None,
            table: str | None, absent: Any) -> T:
        """Run ``fn`` on this thread's reader (see ``SQLiteDatabase.read``)."""
        for attempt in (1, 2):
            conn = self.connection()
            try:
                return fn(conn) if max_time_ms is None else timed(conn, fn, max_time_ms)
            except Dropped:
                if attempt == 1:
                    self.generation += 1
                    continue
                raise StoreUnavailable(f"database {self.name!r} has been dropped") from None
            except sqlite3.OperationalError as exc:
                message = str(exc)
                if not message.startswith(NO_TABLE):
                    raise
                if attempt == 1 and self.found_dropped(conn):
                    continue
                if table is not None and message in (NO_TABLE + table,
                                                     NO_TABLE + "main." + table):
                    return absent  # type: ignore[no-any-return]
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        with self._guard:
            for conn in self._conns:
                conn.close()
            self._conns.clear()
        self._local = threading.local()
