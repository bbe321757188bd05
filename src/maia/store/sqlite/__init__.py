from maia.store.sqlite.store import DATABASE_FILE, SQLiteStore

__all__ = ["DATABASE_FILE", "SQLiteStore"]
