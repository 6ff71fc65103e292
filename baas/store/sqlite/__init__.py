from baas.store.sqlite.engine import SQLiteEngine

__all__ = ["SQLiteEngine"]
