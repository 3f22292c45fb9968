"""The moderation half of the SQLite store: walls, marks (hidden, approved, pinned...), the audit log.

A base of :class:`twitterstream.store.sqlite.SQLiteStore` on the same connections, so a change
here and the events it publishes commit together, and waiters are woken as for a new post.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import orjson

from twitterstream.models import Post
from twitterstream.store.base import EventKind
from twitterstream.store.sqlite_db import SQLiteDatabase

MODERATION_SCHEMA = """
CREATE TABLE IF NOT EXISTS walls (slug TEXT PRIMARY KEY, record BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS marks (
    scope TEXT NOT NULL,
    kind TEXT NOT NULL,
    post_key TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (scope, kind, post_key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY AUTOINCREMENT, record BLOB NOT NULL);
"""

#: Audit entries kept (the oldest go first).
AUDIT_KEEP = 10_000


class SQLiteModeration(SQLiteDatabase):
    """Moderation storage on the connections of the SQLite store."""

    def publish(self, post_key: str, kind: EventKind, query_keys: Iterable[str] | None = None) -> list[str]:
        wanted = None if query_keys is None else set(query_keys)
        with self._write() as conn:
            row = conn.execute("SELECT record FROM posts WHERE key = ?", (post_key,)).fetchone()
            if row is None:
                return []
            post_id = orjson.loads(row[0])["id"]
            keys = [
                r[0]
                for r in conn.execute(
                    "SELECT query_key FROM matches WHERE post_key = ? ORDER BY query_key", (post_key,)
                )
                if wanted is None or r[0] in wanted
            ]
            now = time.time()
            conn.executemany(
                "INSERT INTO events (query_key, kind, post_key, post_id, at) VALUES (?, ?, ?, ?, ?)",
                [(key, str(kind), post_key, post_id, now) for key in keys],
            )
        if keys:
            self._notify()
        return keys

    def matched_posts(self) -> list[Post]:
        with self._read() as conn:
            rows = conn.execute("SELECT record FROM posts WHERE key IN (SELECT post_key FROM matches)").fetchall()
        return [Post.from_record(orjson.loads(r[0])) for r in rows]

    def put_wall(self, slug: str, record: Mapping[str, Any]) -> bool:
        with self._write() as conn:
            existed = conn.execute("SELECT 1 FROM walls WHERE slug = ?", (slug,)).fetchone() is not None
            conn.execute(
                "INSERT INTO walls (slug, record) VALUES (?, ?) "
                "ON CONFLICT (slug) DO UPDATE SET record = excluded.record",
                (slug, orjson.dumps(dict(record))),
            )
        return not existed

    def get_wall(self, slug: str) -> dict[str, Any] | None:
        with self._read() as conn:
            row = conn.execute("SELECT record FROM walls WHERE slug = ?", (slug,)).fetchone()
        return dict(orjson.loads(row[0])) if row else None

    def walls(self) -> list[dict[str, Any]]:
        with self._read() as conn:
            rows = conn.execute("SELECT record FROM walls ORDER BY slug").fetchall()
        return [dict(orjson.loads(r[0])) for r in rows]

    def delete_wall(self, slug: str) -> bool:
        with self._write() as conn:
            gone = conn.execute("DELETE FROM walls WHERE slug = ?", (slug,)).rowcount > 0
            conn.execute("DELETE FROM marks WHERE scope = ?", (slug,))
        return gone

    def set_mark(self, scope: str, kind: str, post_key: str, on: bool) -> bool:
        with self._write() as conn:
            if on:
                sql = "INSERT OR IGNORE INTO marks (scope, kind, post_key, at) VALUES (?, ?, ?, ?)"
                return conn.execute(sql, (scope, kind, post_key, time.time())).rowcount > 0
            sql = "DELETE FROM marks WHERE scope = ? AND kind = ? AND post_key = ?"
            return conn.execute(sql, (scope, kind, post_key)).rowcount > 0

    def marks(self, scope: str, kind: str) -> list[str]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT post_key FROM marks WHERE scope = ? AND kind = ? ORDER BY at, post_key", (scope, kind)
            ).fetchall()
        return [r[0] for r in rows]

    def marked(self, scope: str, kind: str, post_keys: Iterable[str]) -> set[str]:
        found: set[str] = set()
        with self._read() as conn:
            for chunk in _chunks(list(dict.fromkeys(post_keys)), 500):  # SQLite caps bound parameters
                marks = ",".join("?" * len(chunk))
                rows = conn.execute(
                    f"SELECT post_key FROM marks WHERE scope = ? AND kind = ? AND post_key IN ({marks})",
                    (scope, kind, *chunk),
                )
                found.update(r[0] for r in rows)
        return found

    def add_audit(self, entry: Mapping[str, Any]) -> None:
        with self._write() as conn:
            cursor = conn.execute("INSERT INTO audit (record) VALUES (?)", (orjson.dumps(dict(entry)),))
            if cursor.lastrowid and cursor.lastrowid % 100 == 0:  # now and then, not on every write
                conn.execute("DELETE FROM audit WHERE seq <= ?", (cursor.lastrowid - AUDIT_KEEP,))

    def audit_log(self, limit: int = 100) -> list[dict[str, Any]]:
        with self._read() as conn:
            rows = conn.execute("SELECT record FROM audit ORDER BY seq DESC LIMIT ?", (limit,)).fetchall()
        return [dict(orjson.loads(r[0])) for r in rows]


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
