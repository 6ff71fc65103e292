"""Declared indexes are SQLite expression indexes the planner really uses."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from baas.store import And, Cmp, IndexSpec, eq, matches, sort_documents
from baas.store.sqlite import SQLiteEngine


async def test_planner_uses_declared_indexes(tmp_path: Path) -> None:
    engine = SQLiteEngine(tmp_path)
    await engine.open()
    try:
        db = engine.database("proj")
        coll = db.collection("posts")
        await coll.ensure_index(IndexSpec((("owner", 1), ("created_at", 1))))
        await coll.ensure_index(IndexSpec((("email", 1),), unique=True))
        for i in range(200):
            await coll.insert({"id": f"p{i:03d}", "owner": f"u{i % 5}", "email": f"{i}@x",
                               "created_at": f"2026-01-01T00:00:{i % 60:02d}.000000Z"})

        def plan(flt, sort=(), cursor=None, limit=20) -> str:
            sql, params, _ = coll.select_sql(flt, sort, limit, cursor, 0)
            return " | ".join(db.explain(sql, params))

        by_email = plan(eq("email", "7@x"))
        assert "USING INDEX" in by_email and "uniq_email_a" in by_email, by_email
        by_owner = plan(eq("owner", "u1"), sort=[("created_at", 1)])
        assert "ix_owner_a_created_at_a" in by_owner, by_owner
        # Sorted by the index, the id tie-breaker included: no temporary B-tree.
        assert "TEMP B-TREE" not in by_owner, by_owner
        page = await coll.find(eq("owner", "u1"), sort=[("created_at", 1)], limit=5)
        keyset = plan(eq("owner", "u1"), sort=[("created_at", 1)], cursor=page.next_cursor)
        assert "ix_owner_a_created_at_a" in keyset, keyset
        ranged = plan(And((eq("owner", "u2"), Cmp(">", "created_at", "2026-01-01T00:00:30"))))
        assert "ix_owner_a_created_at_a" in ranged, ranged
        by_id = plan(eq("id", "p001"))
        assert "PRIMARY KEY" in by_id or "sqlite_autoindex" in by_id, by_id
        unindexed = plan(eq("title", "x"))
        # No declared index helps: a full scan (in id order), as expected.
        assert "SCAN" in unindexed and "ix_" not in unindexed and "uniq_" not in unindexed
    finally:
        await engine.close()


def _plan(db: Any, coll: Any, flt: Any, sort: Any = (), cursor: str | None = None,
          limit: int = 20) -> str:
    sql, params, _ = coll.select_sql(flt, sort, limit, cursor, 0)
    return " | ".join(db.explain(sql, params))


@pytest.mark.parametrize("direction", [1, -1])
async def test_filtered_sorted_keyset_pages_seek_in_one_index(tmp_path: Path,
                                                              direction: int) -> None:
    """A filtered, sorted, keyset-paged list runs on the declared compound index: a
    seek on the filter and past the cursor, in index order (no scan, no temp B-tree,
    the id tie-breaker included), in both directions and across value types."""
    engine = SQLiteEngine(tmp_path)
    await engine.open()
    try:
        db = engine.database("proj")
        coll = db.collection("posts")
        name = f"ix_owner_a_score_{'a' if direction == 1 else 'd'}"
        await coll.ensure_index(IndexSpec((("owner", 1), ("score", direction))))
        values: list[Any] = [None, -2, 0.5, 7, "a", "B", True, False, [1], {"k": 1}]
        for i in range(400):
            doc = {"id": f"p{i:03d}", "owner": f"u{i % 4}", "title": f"t{i}"}
            if i % 11:
                doc["score"] = values[i % len(values)]
            await coll.insert(doc)
        owner = And((eq("owner", "u1"), Cmp("!=", "title", "t5")))
        sort = [("score", direction)]
        seen: list[str] = []
        cursor = None
        while True:
            plan = _plan(db, coll, owner, sort, cursor)
            assert f"SEARCH c_posts USING INDEX posts__{name} (<expr>=?" in plan, plan
            assert "TEMP B-TREE" not in plan and "SCAN" not in plan, plan
            if cursor is not None:  # the cursor is a seek, not a filter
                assert f"<expr>{'>' if direction == 1 else '<'}?)" in plan, plan
            page = await coll.find(owner, sort=sort, limit=7, cursor=cursor)
            seen += [d["id"] for d in page.items]
            cursor = page.next_cursor
            if cursor is None:
                break
        everything = (await coll.find()).items
        want = sort_documents([d for d in everything if matches(owner, d)], sort)
        assert seen == [d["id"] for d in want] and len(seen) == 99
        ranged = _plan(db, coll, And((eq("owner", "u2"), Cmp(">", "score", 0))), sort)
        assert f"posts__{name} (<expr>=? AND <expr>>? AND <expr><?)" in ranged, ranged
        texts = _plan(db, coll, And((eq("owner", "u2"), Cmp("<=", "score", "b"))), sort)
        assert f"posts__{name} (<expr>=? AND <expr>>? AND <expr><?)" in texts, texts
        nulls = _plan(db, coll, And((eq("owner", "u3"), eq("score", None))), sort)
        assert f"posts__{name} (<expr>=? AND <expr>=?)" in nulls, nulls
    finally:
        await engine.close()


async def test_indexes_of_older_files_are_recreated(tmp_path: Path) -> None:
    """A declared index built on another expression (an older version's) is rebuilt
    on the current key when the file is opened, so queries use it again."""
    engine = SQLiteEngine(tmp_path)
    await engine.open()
    db = engine.database("proj")
    coll = db.collection("posts")
    spec = IndexSpec((("owner", 1),))
    await coll.ensure_index(spec)
    await coll.insert({"id": "a", "owner": "u1"})

    def downgrade(conn: sqlite3.Connection) -> None:
        conn.execute('DROP INDEX "posts__ix_owner_a"')
        conn.execute("CREATE INDEX \"posts__ix_owner_a\" ON \"c_posts\" "
                     "(json_extract(doc, '$.owner') ASC)")

    await db.write(downgrade)
    assert "posts__ix_owner_a" not in _plan(db, coll, eq("owner", "u1"))
    await engine.close()
    engine = SQLiteEngine(tmp_path)
    await engine.open()
    try:
        db = engine.database("proj")
        coll = db.collection("posts")
        assert (await coll.find(eq("owner", "u1"))).items[0]["id"] == "a"
        assert "USING INDEX posts__ix_owner_a" in _plan(db, coll, eq("owner", "u1"))
        assert await coll.indexes() == [spec]
    finally:
        await engine.close()
