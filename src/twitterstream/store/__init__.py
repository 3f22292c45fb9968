"""Storage and fan-out: SQLite by default, Redis for several processes."""

from __future__ import annotations

from pathlib import Path

from twitterstream.store.base import (
    Event,
    EventKind,
    PageMark,
    Store,
    StoreUnavailable,
    UnknownPost,
    Watch,
    cursor_order,
)

__all__ = [
    "Event",
    "EventKind",
    "PageMark",
    "Store",
    "StoreUnavailable",
    "UnknownPost",
    "Watch",
    "cursor_order",
    "default_sqlite_file",
    "open_store",
    "sqlite_path",
]


def default_sqlite_file(source: str) -> str:
    """The SQLite file's name in the instance folder when ``DATABASE_URL`` is not set.

    Replayed posts (``make demo``, a capture) get a file of their own: the demo's synthetic posts, their
    pace and their links to posts that do not exist never show in a live run, whatever ran before.
    """
    return "twitterstream-replay.sqlite3" if source == "replay" else "twitterstream.sqlite3"


def open_store(database_url: str, instance_path: str | Path, source: str = "") -> Store:
    """Open the store named by ``DATABASE_URL`` (empty: SQLite in the instance folder, one file for
    replayed posts and one for live ones: see :func:`default_sqlite_file`)."""
    if database_url.startswith(("redis://", "rediss://")):
        from twitterstream.store.redis import RedisStore

        return RedisStore(database_url)
    from twitterstream.store.sqlite import SQLiteStore

    return SQLiteStore(sqlite_path(database_url, instance_path, source))


def sqlite_path(database_url: str, instance_path: str | Path, source: str = "") -> Path:
    """The SQLite file that ``DATABASE_URL`` names (empty: :func:`default_sqlite_file` in the instance folder)."""
    path = database_url.removeprefix("sqlite://").removeprefix("/") if database_url else ""
    if not path:
        return Path(instance_path) / default_sqlite_file(source)
    # sqlite:///relative.db and sqlite:////absolute/path.db, as SQLAlchemy spells them
    return Path(path)
