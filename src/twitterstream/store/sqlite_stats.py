"""The stats half of the SQLite store: per query, per arrival minute counters (see ``store.stats``).

A base of :class:`twitterstream.store.sqlite.SQLiteStore` on the same connections: counters are added in
the transaction that saves the match, so a post is counted exactly when it is stored.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from twitterstream.store.sqlite_db import SQLiteDatabase
from twitterstream.store.stats import KEEP_MINUTES, WindowCounts, counters_of, current_minute

if TYPE_CHECKING:
    from twitterstream.models import Post

STATS_SCHEMA = """
CREATE TABLE IF NOT EXISTS stats (
    query_key TEXT NOT NULL,
    minute INTEGER NOT NULL,
    name TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (query_key, minute, name)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS stats_by_minute ON stats (minute);
"""

_COUNT = (
    "INSERT INTO stats (query_key, minute, name, count) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (query_key, minute, name) DO UPDATE SET count = count + excluded.count"
)


class SQLiteStats(SQLiteDatabase):
    """Stats counters on the connections of the SQLite store."""

    def _count_arrivals(self, conn: sqlite3.Connection, saved: Sequence[tuple[Post, Sequence[str]]]) -> None:
        """Add each post to the current minute's counters of the queries it newly matched (in the caller's
        transaction): the batch is summed first, so each counter it touches is one upsert."""
        counts = Counter((key, name) for post, keys in saved if keys for name in counters_of(post) for key in keys)
        if counts:
            minute = current_minute()
            conn.executemany(_COUNT, [(key, minute, name, n) for (key, name), n in counts.items()])

    def stats(self, query_key: str, minutes: int) -> WindowCounts:
        end = current_minute()
        start = end - minutes + 1
        counts = WindowCounts(minutes, [0] * minutes)
        with self._read() as conn:
            rows = conn.execute(
                "SELECT minute, name, count FROM stats WHERE query_key = ? AND minute BETWEEN ? AND ?",
                (query_key, start, end),
            ).fetchall()
        by_minute: dict[int, dict[str, int]] = {}
        for minute, name, count in rows:
            by_minute.setdefault(minute, {})[name] = count
        for minute, counters in by_minute.items():
            counts.add(minute - start, counters)
        return counts

    def _trim_stats(self, conn: sqlite3.Connection) -> None:
        """Drop counters older than the longest window (in the caller's transaction)."""
        conn.execute("DELETE FROM stats WHERE minute <= ?", (current_minute() - KEEP_MINUTES,))
