"""Per-client limits in the SQLite file: rate counts for the ``limits`` library, and open-stream places.

Both live in the store's own file and go through its connections, so that every process on one file
(``twitterstream web`` with several gunicorn workers beside ``twitterstream ingest``) shares them.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager

from limits.storage import Storage

from twitterstream.store.base import StoreUnavailable

SCHEMA = """
CREATE TABLE IF NOT EXISTS rate_counts (key TEXT PRIMARY KEY, count INTEGER NOT NULL, expires_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS rate_counts_expiry ON rate_counts (expires_at);
CREATE TABLE IF NOT EXISTS stream_places (
    client TEXT NOT NULL,
    place TEXT NOT NULL,
    expires_at REAL NOT NULL,
    PRIMARY KEY (client, place)
) WITHOUT ROWID;
"""

Connect = Callable[[], AbstractContextManager[sqlite3.Connection]]


class SQLiteRateStorage(Storage):
    """A fixed-window ``limits`` storage in the store's SQLite file (``limits`` has none of its own).

    ``write`` and ``read`` are the store's connection context managers: a write runs in one transaction
    under the store's write lock, and any SQLite error leaves as :class:`StoreUnavailable` in words.
    """

    STORAGE_SCHEME = None  # made by SQLiteStore.rate_limit_storage, never from a URI

    def __init__(self, write: Connect, read: Connect) -> None:
        super().__init__()
        self._write = write
        self._read = read

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return StoreUnavailable

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        with self._write() as conn:
            conn.execute("DELETE FROM rate_counts WHERE expires_at <= ?", (now,))  # a window that ended starts anew
            row = conn.execute(
                "INSERT INTO rate_counts (key, count, expires_at) VALUES (?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET count = count + excluded.count RETURNING count",
                (key, amount, now + expiry),
            ).fetchone()
        return int(row[0])

    def get(self, key: str) -> int:
        with self._read() as conn:
            row = conn.execute(
                "SELECT count FROM rate_counts WHERE key = ? AND expires_at > ?", (key, time.time())
            ).fetchone()
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        now = time.time()
        with self._read() as conn:
            row = conn.execute(
                "SELECT expires_at FROM rate_counts WHERE key = ? AND expires_at > ?", (key, now)
            ).fetchone()
        return float(row[0]) if row else now

    def check(self) -> bool:
        try:
            with self._read() as conn:
                conn.execute("SELECT 1 FROM rate_counts LIMIT 1").fetchone()
        except StoreUnavailable:
            return False
        return True

    def reset(self) -> int | None:
        with self._write() as conn:
            return conn.execute("DELETE FROM rate_counts").rowcount

    def clear(self, key: str) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM rate_counts WHERE key = ?", (key,))


def take_place(conn: sqlite3.Connection, client: str, place: str, most: int, ttl: float) -> bool:
    """:meth:`Store.take_stream_place` inside the caller's write transaction."""
    now = time.time()
    conn.execute("DELETE FROM stream_places WHERE client = ? AND expires_at <= ?", (client, now))
    (held,) = conn.execute(
        "SELECT COUNT(*) FROM stream_places WHERE client = ? AND place != ?", (client, place)
    ).fetchone()
    if held >= most:
        return False
    conn.execute(
        "INSERT INTO stream_places (client, place, expires_at) VALUES (?, ?, ?) "
        "ON CONFLICT (client, place) DO UPDATE SET expires_at = excluded.expires_at",
        (client, place, now + ttl),
    )
    return True


def release_place(conn: sqlite3.Connection, client: str, place: str) -> None:
    conn.execute("DELETE FROM stream_places WHERE client = ? AND place = ?", (client, place))


def renew_places(conn: sqlite3.Connection, places: Sequence[tuple[str, str]], ttl: float) -> None:
    until = time.time() + ttl
    conn.executemany(
        "UPDATE stream_places SET expires_at = ? WHERE client = ? AND place = ?",
        [(until, client, place) for client, place in places],
    )
