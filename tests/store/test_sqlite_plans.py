"""Declared indexes are SQLite expression indexes the planner really uses."""

from __future__ import annotations

from pathlib import Path

from baas.store import And, Cmp, IndexSpec, eq
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
        # Sorted by the index: no temporary B-tree for ORDER BY on the indexed field.
        assert "USE TEMP B-TREE FOR ORDER BY" not in by_owner.replace(
            "USE TEMP B-TREE FOR RIGHT PART OF ORDER BY", ""), by_owner
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
