"""The watching half of the SQLite store: leases on queries (who watches what, until when).

A base of :class:`twitterstream.store.sqlite.SQLiteStore` on the same connections. A query is watched while
one of its leases (one per holder: the page views, each web process's live streams, a wall) is unexpired.
What a new query asks (is it watched? since when? how many are?) is answered from the indexes, without
reading every lease: its cost does not grow with the queries watched.
"""

from __future__ import annotations

import time

from twitterstream.store.base import Watch
from twitterstream.store.sqlite_db import SQLiteDatabase

LEASES_SCHEMA = """
CREATE TABLE IF NOT EXISTS leases (
    query_key TEXT NOT NULL,
    holder TEXT NOT NULL,
    query_text TEXT NOT NULL,
    viewers INTEGER NOT NULL,
    since REAL NOT NULL,
    expires_at REAL NOT NULL,
    PRIMARY KEY (query_key, holder)
);
CREATE INDEX IF NOT EXISTS leases_by_expiry ON leases (expires_at, query_key);
"""


class SQLiteLeases(SQLiteDatabase):
    """Leases on the connections of the SQLite store."""

    def watch(self, query_key: str, query_text: str, holder: str, viewers: int, ttl: float) -> None:
        now = time.time()
        with self._write() as conn:
            row = conn.execute(
                "SELECT MIN(since) FROM leases WHERE query_key = ? AND expires_at > ?", (query_key, now)
            ).fetchone()
            since = row[0] if row and row[0] is not None else now
            conn.execute(
                "INSERT INTO leases (query_key, holder, query_text, viewers, since, expires_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (query_key, holder) DO UPDATE SET "
                "query_text = excluded.query_text, viewers = excluded.viewers, expires_at = excluded.expires_at, "
                "since = CASE WHEN leases.expires_at > ? THEN leases.since ELSE excluded.since END",
                (query_key, holder, query_text, viewers, since, now + ttl, now),
            )

    def watched(self) -> list[Watch]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT query_key, MAX(query_text), SUM(viewers), MIN(since), MAX(expires_at) FROM leases "
                "WHERE expires_at > ? GROUP BY query_key ORDER BY SUM(viewers) DESC, MIN(since)",
                (time.time(),),
            ).fetchall()
        return [Watch(key, text, int(viewers), since, expires) for key, text, viewers, since, expires in rows]

    def watched_since(self, query_key: str) -> float | None:
        with self._read() as conn:
            row = conn.execute(
                "SELECT MIN(since) FROM leases WHERE query_key = ? AND expires_at > ?", (query_key, time.time())
            ).fetchone()
        return float(row[0]) if row and row[0] is not None else None

    def watched_count(self) -> int:
        with self._read() as conn:
            row = conn.execute(
                "SELECT COUNT(DISTINCT query_key) FROM leases WHERE expires_at > ?", (time.time(),)
            ).fetchone()
        return int(row[0])
