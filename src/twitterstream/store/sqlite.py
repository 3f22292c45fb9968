"""SQLite store: the default, embedded, zero set-up.

The tables and queries of posts, matches, the live channel and state; connections, the native thread under
gevent and errors in words are in ``sqlite_db``, leases in ``sqlite_leases``, moderation in
``sqlite_moderation``. The live channel is the ``events`` table:
waiters in this process are woken at once by a condition variable, and waiters in other processes
(``twitterstream web`` beside ``twitterstream ingest`` on one file) notice new rows by polling every quarter second.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import orjson
from limits.storage import Storage

from twitterstream.models import Post
from twitterstream.store import sqlite_limits
from twitterstream.store.base import Event, EventKind, PageMark, Store
from twitterstream.store.sqlite_db import Offload, SQLiteDatabase
from twitterstream.store.sqlite_leases import LEASES_SCHEMA, SQLiteLeases
from twitterstream.store.sqlite_moderation import MODERATION_SCHEMA, SQLiteModeration
from twitterstream.store.sqlite_stats import STATS_SCHEMA, SQLiteStats

#: Queries trimmed in one write transaction (the lock is held for a batch, then let go).
TRIM_BATCH = 50

_SCHEMA = """
CREATE TABLE IF NOT EXISTS posts (
    key TEXT PRIMARY KEY,
    record BLOB NOT NULL,
    created_at REAL NOT NULL,
    stored_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS matches (
    query_key TEXT NOT NULL,
    post_key TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (query_key, post_key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS matches_newest ON matches (query_key, created_at DESC);
CREATE INDEX IF NOT EXISTS matches_by_post ON matches (post_key);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    query_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    post_key TEXT NOT NULL,
    post_id TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_query ON events (query_key, seq);
CREATE TABLE IF NOT EXISTS state (name TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS locks (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at REAL NOT NULL);
"""

_POLL_SECONDS = 0.25
#: Match rows per INSERT statement (three bound parameters each; SQLite allows 32,766 since 3.32).
_MATCH_ROWS_PER_INSERT = 300


class SQLiteStore(SQLiteModeration, SQLiteStats, SQLiteLeases, Store):
    """A :class:`Store` in one SQLite file."""

    def __init__(self, path: str | Path, pool_size: int = 4, offload: Offload | None = None) -> None:
        """``offload`` runs the ingester's transactions (default: on gevent's native pool under gevent)."""
        schema = _SCHEMA + LEASES_SCHEMA + MODERATION_SCHEMA + sqlite_limits.SCHEMA + STATS_SCHEMA
        SQLiteDatabase.__init__(self, path, schema, pool_size, offload)

    # -- posts ----------------------------------------------------------------------------------
    def save_post(self, post: Post, query_keys: Iterable[str]) -> list[str]:
        return self.save_matches([(post, list(query_keys))])[0]

    def save_matches(self, matches: Sequence[tuple[Post, Sequence[str]]]) -> list[list[str]]:
        now = time.time()
        batch = [(post, list(dict.fromkeys(keys)), post.created_at.timestamp()) for post, keys in matches]
        post_rows = [(post.key, orjson.dumps(post.to_record()), created, now) for post, _, created in batch]
        match_rows = [(key, post.key, created) for post, keys, created in batch for key in keys]

        def work(conn: sqlite3.Connection) -> list[list[str]]:
            conn.executemany(
                "INSERT OR IGNORE INTO posts (key, record, created_at, stored_at) VALUES (?, ?, ?, ?)", post_rows
            )
            inserted: set[tuple[str, str]] = set()
            for start in range(0, len(match_rows), _MATCH_ROWS_PER_INSERT):
                chunk = match_rows[start : start + _MATCH_ROWS_PER_INSERT]
                inserted.update(
                    conn.execute(
                        "INSERT OR IGNORE INTO matches (query_key, post_key, created_at) VALUES "
                        + ",".join(["(?, ?, ?)"] * len(chunk))
                        + " RETURNING query_key, post_key",
                        [value for row in chunk for value in row],
                    )
                )
            # In the order handed over: the first of a pair's copies in the batch is the one that was stored.
            results: list[list[str]] = []
            events = []
            for post, keys, _ in batch:
                newly = []
                for key in keys:
                    if (key, post.key) in inserted:
                        inserted.discard((key, post.key))
                        newly.append(key)
                        events.append((key, post.key, post.id, now))
                results.append(newly)
            conn.executemany(
                "INSERT INTO events (query_key, kind, post_key, post_id, at) VALUES (?, 'post', ?, ?, ?)", events
            )
            self._count_arrivals(conn, [(post, newly) for (post, _, _), newly in zip(batch, results, strict=True)])
            return results

        results = self._transaction(work)
        if any(results):
            self._notify()
        return results

    def set_embed(self, post_key: str, embed_html: str) -> list[str]:
        with self._write() as conn:
            row = conn.execute("SELECT record FROM posts WHERE key = ?", (post_key,)).fetchone()
            if row is None:
                return []
            record = orjson.loads(row[0])
            record["embed_html"] = embed_html
            conn.execute("UPDATE posts SET record = ? WHERE key = ?", (orjson.dumps(record), post_key))
            keys = self._publish_for_post(conn, post_key, record["id"], EventKind.EMBED)
        if keys:
            self._notify()
        return keys

    def delete_post(self, post_key: str) -> list[str]:
        with self._write() as conn:
            row = conn.execute("SELECT record FROM posts WHERE key = ?", (post_key,)).fetchone()
            if row is None:
                return []
            keys = self._publish_for_post(conn, post_key, orjson.loads(row[0])["id"], EventKind.DELETE)
            conn.execute("DELETE FROM matches WHERE post_key = ?", (post_key,))
            conn.execute("DELETE FROM posts WHERE key = ?", (post_key,))
        if keys:
            self._notify()
        return keys

    def _publish_for_post(self, conn: sqlite3.Connection, post_key: str, post_id: str, kind: EventKind) -> list[str]:
        keys = [r[0] for r in conn.execute("SELECT query_key FROM matches WHERE post_key = ?", (post_key,))]
        now = time.time()
        conn.executemany(
            "INSERT INTO events (query_key, kind, post_key, post_id, at) VALUES (?, ?, ?, ?, ?)",
            [(key, kind, post_key, post_id, now) for key in keys],
        )
        return keys

    def get_post(self, post_key: str) -> Post | None:
        with self._read() as conn:
            row = conn.execute("SELECT record FROM posts WHERE key = ?", (post_key,)).fetchone()
        return Post.from_record(orjson.loads(row[0])) if row else None

    def latest(self, query_key: str, limit: int = 10) -> list[Post]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT p.record FROM matches m JOIN posts p ON p.key = m.post_key "
                "WHERE m.query_key = ? ORDER BY m.created_at DESC, m.post_key DESC LIMIT ?",
                (query_key, limit),
            ).fetchall()
        return [Post.from_record(orjson.loads(r[0])) for r in rows]

    # -- paging --------------------------------------------------------------------------------------
    def page_mark(self, query_key: str, post_id: str) -> PageMark | None:
        # A post key is "source:id" (a source name has no colon; an id may: Bluesky's "did:plc:.../rkey").
        with self._read() as conn:
            row = conn.execute(
                "SELECT created_at, post_key FROM matches WHERE query_key = ? "
                "AND substr(post_key, instr(post_key, ':') + 1) = ? ORDER BY created_at DESC, post_key DESC LIMIT 1",
                (query_key, post_id),
            ).fetchone()
        return PageMark(row[0], row[1]) if row else None

    def posts_page(
        self,
        query_key: str,
        limit: int,
        after: PageMark | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> tuple[list[Post], PageMark | None]:
        where = ["m.query_key = ?"]
        params: list[Any] = [query_key]
        if after is not None:  # (created_at, post_key) below the mark, in latest()'s order
            where.append("m.created_at <= ? AND (m.created_at < ? OR m.post_key < ?)")
            params += [after.at, after.at, after.post_key]
        if since is not None:
            where.append("m.created_at >= ?")
            params.append(since.timestamp())
        if until is not None:
            where.append("m.created_at < ?")
            params.append(until.timestamp())
        with self._read() as conn:
            rows = conn.execute(
                "SELECT m.created_at, m.post_key, p.record FROM matches m JOIN posts p ON p.key = m.post_key "
                f"WHERE {' AND '.join(where)} ORDER BY m.created_at DESC, m.post_key DESC LIMIT ?",
                (*params, limit),
            ).fetchall()
        if not rows:
            return [], None
        posts = [Post.from_record(orjson.loads(record)) for _, _, record in rows]
        return posts, PageMark(rows[-1][0], rows[-1][1])

    # -- live channel -----------------------------------------------------------------------------
    def head_cursor(self, query_key: str) -> str:
        with self._read() as conn:
            row = conn.execute("SELECT MAX(seq) FROM events WHERE query_key = ?", (query_key,)).fetchone()
        return str(row[0] or 0)

    def events_after(self, query_key: str, cursor: str, limit: int = 500) -> list[Event]:
        return self._events_after({query_key: cursor}, limit)

    def find_post_event(self, query_key: str, post_id: str) -> str | None:
        with self._read() as conn:
            row = conn.execute(
                "SELECT MAX(seq) FROM events WHERE query_key = ? AND kind = 'post' AND post_id = ?",
                (query_key, post_id),
            ).fetchone()
        return str(row[0]) if row and row[0] is not None else None

    def pace(self, query_key: str, buckets: int, bucket_seconds: float = 60.0) -> list[int]:
        now = time.time()
        start = now - buckets * bucket_seconds
        counts = [0] * buckets
        with self._read() as conn:
            rows = conn.execute(
                "SELECT CAST((at - ?) / ? AS INTEGER), COUNT(*) FROM events "
                "WHERE query_key = ? AND kind = 'post' AND at >= ? GROUP BY 1",
                (start, bucket_seconds, query_key, start),
            ).fetchall()
        for bucket, count in rows:
            counts[min(max(int(bucket), 0), buckets - 1)] += count
        return counts

    def wait_for_events(self, cursors: Mapping[str, str], timeout: float) -> list[Event]:
        deadline = time.monotonic() + timeout
        while True:
            with self._changed:
                generation = self._generation
            events = self._events_after(cursors, 2000) if cursors else []
            remaining = deadline - time.monotonic()
            if events or remaining <= 0:
                return events
            with self._changed:
                if self._generation == generation:
                    self._changed.wait(min(remaining, _POLL_SECONDS))

    def _events_after(self, cursors: Mapping[str, str], limit: int) -> list[Event]:
        if not cursors:
            return []
        floor = min(int(c.partition("-")[0] or 0) for c in cursors.values())
        keys = list(cursors)
        events: list[Event] = []
        with self._read() as conn:
            for start in range(0, len(keys), 500):  # SQLite caps bound parameters
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = conn.execute(
                    f"SELECT e.seq, e.query_key, e.kind, e.post_key, p.record FROM events e "
                    f"LEFT JOIN posts p ON p.key = e.post_key "
                    f"WHERE e.seq > ? AND e.query_key IN ({marks}) ORDER BY e.seq LIMIT ?",
                    (floor, *chunk, limit),
                ).fetchall()
                for seq, key, kind, post_key, record in rows:
                    if seq <= int(cursors[key] or 0):
                        continue
                    post = Post.from_record(orjson.loads(record)) if record is not None else None
                    events.append(Event(str(seq), key, EventKind(kind), post_key, post))
        events.sort(key=lambda e: int(e.cursor))
        return events

    # -- state and lock ---------------------------------------------------------------------------
    def get_state(self, name: str) -> Any:
        with self._read() as conn:
            row = conn.execute("SELECT value FROM state WHERE name = ?", (name,)).fetchone()
        return orjson.loads(row[0]) if row else None

    def set_state(self, name: str, value: Any) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO state (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (name, orjson.dumps(value)),
            )

    def state_setdefault(self, name: str, value: Any) -> Any:
        with self._write() as conn:
            conn.execute("INSERT OR IGNORE INTO state (name, value) VALUES (?, ?)", (name, orjson.dumps(value)))
            row = conn.execute("SELECT value FROM state WHERE name = ?", (name,)).fetchone()
        return orjson.loads(row[0])

    def acquire_lock(self, name: str, holder: str, ttl: float) -> bool:
        now = time.time()
        with self._write() as conn:
            row = conn.execute("SELECT holder, expires_at FROM locks WHERE name = ?", (name,)).fetchone()
            if row and row[0] != holder and row[1] > now:
                return False
            conn.execute(
                "INSERT INTO locks (name, holder, expires_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
                "holder = excluded.holder, expires_at = excluded.expires_at",
                (name, holder, now + ttl),
            )
        return True

    def release_lock(self, name: str, holder: str) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM locks WHERE name = ? AND holder = ?", (name, holder))

    # -- per-client limits -------------------------------------------------------------------------
    def rate_limit_storage(self) -> Storage:
        return sqlite_limits.SQLiteRateStorage(self._write, self._read)

    def take_stream_place(self, client: str, place: str, most: int, ttl: float) -> bool:
        with self._write() as conn:
            return sqlite_limits.take_place(conn, client, place, most, ttl)

    def release_stream_place(self, client: str, place: str) -> None:
        with self._write() as conn:
            sqlite_limits.release_place(conn, client, place)

    def renew_stream_places(self, places: Sequence[tuple[str, str]], ttl: float) -> None:
        if places:
            with self._write() as conn:
                sqlite_limits.renew_places(conn, places, ttl)

    # -- housekeeping -------------------------------------------------------------------------------
    def trim(self, keep_per_query: int, keep_seconds: float) -> None:
        """Drop what is past keeping, a few queries per transaction: one transaction over every match held
        the write lock for seconds on a large store (3.9 s for 462,000 matches), stalling the ingester."""
        cutoff = time.time() - keep_seconds

        def expire(conn: sqlite3.Connection) -> list[tuple[str, int, bool]]:
            conn.execute("DELETE FROM leases WHERE expires_at < ?", (cutoff,))
            conn.execute("DELETE FROM events WHERE at < ?", (cutoff,))
            self._trim_stats(conn)
            watched = {row[0] for row in conn.execute("SELECT DISTINCT query_key FROM leases")}
            counts = conn.execute("SELECT query_key, COUNT(*) FROM matches GROUP BY query_key").fetchall()
            return [(key, count, key in watched) for key, count in counts]

        excess = [
            (key, watched) for key, count, watched in self._transaction(expire) if not watched or count > keep_per_query
        ]
        for start in range(0, len(excess), TRIM_BATCH):
            batch = excess[start : start + TRIM_BATCH]
            self._transaction(partial(_trim_matches, queries=batch, keep=keep_per_query))
        self._transaction(
            lambda conn: conn.execute(
                "DELETE FROM posts WHERE stored_at < ? AND NOT EXISTS "
                "(SELECT 1 FROM matches WHERE matches.post_key = posts.key)",
                (cutoff,),
            )
        )


def _trim_matches(conn: sqlite3.Connection, queries: Sequence[tuple[str, bool]], keep: int) -> None:
    """Drop every match of the unwatched queries, and all but the newest ``keep`` of the watched ones (in
    the order of :meth:`SQLiteStore.latest`)."""
    for query_key, watched in queries:
        if not watched:  # unless watched again since the count: a page may be showing it already
            conn.execute(
                "DELETE FROM matches WHERE query_key = ? AND NOT EXISTS (SELECT 1 FROM leases WHERE query_key = ?)",
                (query_key, query_key),
            )
            continue
        oldest_kept = conn.execute(
            "SELECT created_at, post_key FROM matches WHERE query_key = ? "
            "ORDER BY created_at DESC, post_key DESC LIMIT 1 OFFSET ?",
            (query_key, keep - 1),
        ).fetchone()
        if oldest_kept is not None:
            conn.execute(
                "DELETE FROM matches WHERE query_key = ? AND (created_at < ? OR (created_at = ? AND post_key < ?))",
                (query_key, oldest_kept[0], oldest_kept[0], oldest_kept[1]),
            )
