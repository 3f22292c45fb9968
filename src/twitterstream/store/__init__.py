"""Storage and fan-out: SQLite by default, Redis for several processes."""

from __future__ import annotations

from pathlib import Path

from twitterstream.store.base import Event, EventKind, Store, StoreUnavailable, Watch, cursor_order

__all__ = ["Event", "EventKind", "Store", "StoreUnavailable", "Watch", "cursor_order", "open_store", "sqlite_path"]


def open_store(database_url: str, instance_path: str | Path) -> Store:
    """Open the store named by ``DATABASE_URL`` (empty: SQLite in the instance folder)."""
    if database_url.startswith(("redis://", "rediss://")):
        from twitterstream.store.redis import RedisStore

        return RedisStore(database_url)
    from twitterstream.store.sqlite import SQLiteStore

    return SQLiteStore(sqlite_path(database_url, instance_path))


def sqlite_path(database_url: str, instance_path: str | Path) -> Path:
    """The SQLite file that ``DATABASE_URL`` names (empty: ``twitterstream.sqlite3`` in the instance folder)."""
    path = database_url.removeprefix("sqlite://").removeprefix("/") if database_url else ""
    if not path:
        return Path(instance_path) / "twitterstream.sqlite3"
    # sqlite:///relative.db and sqlite:////absolute/path.db, as SQLAlchemy spells them
    return Path(path)
